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
	STORE_SHAPES_CLIENTS(S)         \
	STORE_SHAPES_WALLETS(S)

#define STORE_SHAPES_ACCOUNTS(S)
#define STORE_SHAPES_OAUTH(S)
#define STORE_SHAPES_CLIENTS(S) S(CLIENT, STORE_SHAPE_CLIENT)

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

/* Sign-In With Ethereum (store/wallets.c, workers/auth_siwe.c) */
#define STORE_SHAPES_WALLETS(S)                         \
	S(SIWE_OUTCOME, STORE_SHAPE_SIWE_OUTCOME)       \
	S(WALLET, STORE_SHAPE_WALLET)

/* what a SIWE sign-in or unlink came to: a word (see store/wallets.c) and,
 * when it signed in, up or linked, the user */
#define STORE_SHAPE_SIWE_OUTCOME(C)                     \
	C(SIWE_OUTCOME_RESULT, "outcome", 't')          \
	C(SIWE_OUTCOME_USER_ID, "user_id", 'T')

/* a wallet of the account page; address in lower-case hex */
#define STORE_SHAPE_WALLET(C)                           \
	C(WALLET_ADDRESS, "address", 't')               \
	C(WALLET_CHAIN_ID, "chain_id", 'i')             \
	C(WALLET_CREATED_AT, "created_at", 'i')         \
	C(WALLET_LAST_USED_AT, "last_used_at", 'I')

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

#define STORE_OPS_ACCOUNTS(X)
#define STORE_OPS_OAUTH(X)
#define STORE_OPS_CLIENTS(X)                                            \
	/* client_id -> the client, or no row */                        \
	X(CLIENT_FIND, store_client_find, "t", CLIENT)

#define STORE_OPS_WALLETS(X)                                                            \
	/* nonce_hash (hex bytea), bound address, bound chain_id, ttl_s -> n = 1 */   \
	X(SIWE_NONCE_ISSUE, store_siwe_nonce_issue, "tTIi", COUNT)                      \
	/* nonce_hash, address, chain_id, link_user_id, allow_sign_up, email,           \
	 * email_normalized, is_admin -> the outcome; consumes the nonce, then signs    \
	 * in, up or links, in one transaction */                                       \
	X(SIWE_SIGN_IN, store_siwe_sign_in, "ttiTbTTb", SIWE_OUTCOME)                   \
	/* user_id -> the user's wallets, oldest first */                               \
	X(WALLET_LIST, store_wallet_list, "t", WALLET)                                  \
	/* user_id, address -> unlinked, not_found or last_method */                    \
	X(WALLET_UNLINK, store_wallet_unlink, "tt", SIWE_OUTCOME)

#define STORE_OPS(X)            \
	STORE_OPS_CORE(X)       \
	STORE_OPS_ACCOUNTS(X)   \
	STORE_OPS_OAUTH(X)      \
	STORE_OPS_CLIENTS(X)    \
	STORE_OPS_WALLETS(X)

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
