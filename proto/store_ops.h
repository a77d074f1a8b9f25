/*
 * Every operation the store actor runs, in one list: its name, the store
 * function that runs it (store/), its argument types, and the shape of its
 * result (named, typed columns). The wire codec (proto/store_wire.c) checks
 * each request and reply against this list; the store maps result columns by
 * these names (store/store_result.c); workers read cells by the generated
 * column enums (e.g. store_text(reply, 0, SESSION_EMAIL)).
 *
 * Argument and column types: 't' text, 'i' int64, 'b' bool; upper case
 * ('T', 'I', 'B') may also be NULL. Text that is bytea in SQL travels as
 * PostgreSQL's hex form ("\x…").
 *
 * To add an operation: a shape (if it needs a new one) in STORE_SHAPES, a
 * line in STORE_OPS, and the function in the store file of its domain.
 */
#ifndef DREAMAUTH_STORE_OPS_H
#define DREAMAUTH_STORE_OPS_H
#include <stdint.h>

/* ---- result shapes: C(COLUMN_ENUM, "sql_name", type) ---- */

#define STORE_SHAPE_NONE(C)

#define STORE_SHAPE_COUNT(C) C(COUNT_N, "n", 'i')

/* a session joined with its user (workers/session.c, the cache entry) */
#define STORE_SHAPE_SESSION(C)                  \
	C(SESSION_ID, "session_id", 't')        \
	C(SESSION_USER_ID, "user_id", 't')      \
	C(SESSION_EMAIL, "email", 't')          \
	C(SESSION_NAME, "name", 'T')            \
	C(SESSION_GROUPS, "groups", 'T')        \
	C(SESSION_AMR, "amr", 'T')              \
	C(SESSION_AUTH_TIME, "auth_time", 'i')  \
	C(SESSION_EXPIRES_AT, "expires_at", 'i') \
	C(SESSION_LAST_SEEN, "last_seen", 'i')  \
	C(SESSION_IS_ADMIN, "is_admin", 'b')

/* ---- shapes of the other domains (users, oauth, clients, ...) ---- */

#define STORE_SHAPES(S)                 \
	S(NONE, STORE_SHAPE_NONE)       \
	S(COUNT, STORE_SHAPE_COUNT)     \
	S(SESSION, STORE_SHAPE_SESSION) \
	STORE_SHAPES_ACCOUNTS(S)        \
	STORE_SHAPES_OAUTH(S)           \
	STORE_SHAPES_CLIENTS(S)

#define STORE_SHAPES_ACCOUNTS(S)                        \
	S(USER_CREDENTIALS, STORE_SHAPE_USER_CREDENTIALS) \
	S(NEW_USER, STORE_SHAPE_NEW_USER)                 \
	S(OWN_SESSION, STORE_SHAPE_OWN_SESSION)
#define STORE_SHAPES_OAUTH(S)
#define STORE_SHAPES_CLIENTS(S) S(CLIENT, STORE_SHAPE_CLIENT)

/* what checking a password needs (workers/auth_password.c); no password
 * reads as "" */
#define STORE_SHAPE_USER_CREDENTIALS(C)                                 \
	C(USER_CREDENTIALS_ID, "id", 't')                               \
	C(USER_CREDENTIALS_PASSWORD_HASH, "password_hash", 't')         \
	C(USER_CREDENTIALS_DISABLED, "disabled", 'b')

/* the id of an account just created */
#define STORE_SHAPE_NEW_USER(C) C(NEW_USER_ID, "id", 't')

/* one of the signed-in user's own sessions (workers/account.c); no ip or
 * user agent reads as "" */
#define STORE_SHAPE_OWN_SESSION(C)                                      \
	C(OWN_SESSION_ID, "id", 't')                                    \
	C(OWN_SESSION_CREATED_AT, "created_at", 'i')                    \
	C(OWN_SESSION_LAST_SEEN_AT, "last_seen_at", 'i')                \
	C(OWN_SESSION_IP, "ip", 't')                                    \
	C(OWN_SESSION_USER_AGENT, "user_agent", 't')

/* an oauth_clients row (workers/oidc_clients.c); arrays as PostgreSQL text */
#define STORE_SHAPE_CLIENT(C)                                   \
	C(CLIENT_NAME, "name", 't')                             \
	C(CLIENT_SECRET_HEX, "secret_hex", 'T')                 \
	C(CLIENT_REDIRECT_URIS, "redirect_uris", 't')           \
	C(CLIENT_POST_LOGOUT_URIS, "post_logout_redirect_uris", 't') \
	C(CLIENT_GRANT_TYPES, "grant_types", 't')               \
	C(CLIENT_SCOPES, "scopes", 't')                         \
	C(CLIENT_PUBLIC, "public", 'b')                         \
	C(CLIENT_SKIP_CONSENT, "skip_consent", 'b')             \
	C(CLIENT_REQUIRE_PKCE, "require_pkce", 'b')             \
	C(CLIENT_ID_TOKEN_ALG, "id_token_alg", 't')

/* ---- operations: X(NAME, store_function, "args", SHAPE) ---- */

#define STORE_OPS_CORE(X)                                                       \
	X(PING, store_ping, "", COUNT)                                          \
	/* key (hex bytea) -> the live session, or no row */                    \
	X(SESSION_LOAD, store_session_load, "t", SESSION)                       \
	/* key, user_id, amr, ip, user_agent, absolute_ttl_s -> the new session */ \
	X(SESSION_CREATE, store_session_create, "tttTti", SESSION)              \
	/* key -> n = 1 still live (last_seen_at slid), 0 gone */               \
	X(SESSION_TOUCH, store_session_touch, "t", COUNT)                       \
	/* key -> n revoked */                                                  \
	X(SESSION_REVOKE_KEY, store_session_revoke_key, "t", COUNT)             \
	/* user_id, session_id -> n revoked */                                  \
	X(SESSION_REVOKE_ID, store_session_revoke_id, "tt", COUNT)              \
	/* user_id, except_session_id -> n revoked */                           \
	X(SESSION_REVOKE_USER, store_session_revoke_user, "tT", COUNT)

#define STORE_OPS_ACCOUNTS(X)                                                           \
	/* email_normalized -> the account, or no row */                                \
	X(USER_FIND_BY_EMAIL, store_user_find_by_email, "t", USER_CREDENTIALS)          \
	/* user_id -> the account, or no row */                                         \
	X(USER_FIND_BY_ID, store_user_find_by_id, "t", USER_CREDENTIALS)                \
	/* email, email_normalized, name, password_hash, is_admin -> its id;            \
	 * CONFLICT when the normalized email is taken */                               \
	X(USER_SIGN_UP, store_user_sign_up, "ttttb", NEW_USER)                          \
	/* user_id, password_hash, keep_session_id -> n of the user's other sessions    \
	 * revoked; the new hash and the revocations commit together or not at all */  \
	X(USER_PASSWORD_CHANGE, store_user_password_change, "ttT", COUNT)               \
	/* user_id -> the user's live sessions, newest first, at most 100 */            \
	X(USER_SESSIONS_LIST, store_user_sessions_list, "t", OWN_SESSION)
#define STORE_OPS_OAUTH(X)
#define STORE_OPS_CLIENTS(X)                                            \
	/* client_id -> the client, or no row */                        \
	X(CLIENT_FIND, store_client_find, "t", CLIENT)

#define STORE_OPS(X)            \
	STORE_OPS_CORE(X)       \
	STORE_OPS_ACCOUNTS(X)   \
	STORE_OPS_OAUTH(X)      \
	STORE_OPS_CLIENTS(X)

/* ---- generated ---- */

#define STORE_OP_ENUM_(name, fn, args, shape) STORE_OP_##name,
enum store_op { STORE_OP_NONE = 0, STORE_OPS(STORE_OP_ENUM_) STORE_OP_MAX };
#undef STORE_OP_ENUM_

#define STORE_COL_ENUM_(id, name, type) id,
#define STORE_SHAPE_ENUM_(shape, COLS) enum store_shape_##shape { COLS(STORE_COL_ENUM_) shape##_COLUMNS };
STORE_SHAPES(STORE_SHAPE_ENUM_)
#undef STORE_SHAPE_ENUM_
#undef STORE_COL_ENUM_

struct store_column {
	const char *name;
	char type;
};

struct store_op_spec {
	const char *name;
	const char *args;
	const struct store_column *cols;
	unsigned n_cols;
};

/* NULL for an unknown operation. */
const struct store_op_spec *store_op_spec(uint32_t op);
#endif
