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
#include <stdbool.h>
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
	STORE_SHAPES_USERS_ADMIN(S)     \
	STORE_SHAPES_OAUTH(S)           \
	STORE_SHAPES_CLIENTS(S)         \
	STORE_SHAPES_PASSKEYS(S)        \
	STORE_SHAPES_WALLETS(S)         \
	STORE_SHAPES_TWO_FACTOR(S)      \
	STORE_SHAPES_ADMIN(S)           \
	STORE_SHAPES_MAIL(S)            \
	STORE_SHAPES_AUDIT(S)           \
	STORE_SHAPES_CORS(S)

/* CORS (workers/oidc_clients.c): the web origins of database clients. */
#define STORE_SHAPES_CORS(S) S(CLIENT_REDIRECT, STORE_SHAPE_CLIENT_REDIRECT)
#define STORE_SHAPE_CLIENT_REDIRECT(C) C(CLIENT_REDIRECT_URI, "uri", 't')

#define STORE_SHAPES_ACCOUNTS(S)                        \
	S(USER_CREDENTIALS, STORE_SHAPE_USER_CREDENTIALS) \
	S(NEW_USER, STORE_SHAPE_NEW_USER)                 \
	S(OWN_SESSION, STORE_SHAPE_OWN_SESSION)
#define STORE_SHAPES_OAUTH(S)                                   \
	S(OAUTH_CODE, STORE_SHAPE_OAUTH_CODE)                   \
	S(OAUTH_ISSUED, STORE_SHAPE_OAUTH_ISSUED)               \
	S(OAUTH_REFRESHED, STORE_SHAPE_OAUTH_REFRESHED)         \
	S(OAUTH_USERINFO, STORE_SHAPE_OAUTH_USERINFO)           \
	S(OAUTH_REFRESH_INFO, STORE_SHAPE_OAUTH_REFRESH_INFO)
#define STORE_SHAPES_CLIENTS(S)                 \
	S(CLIENT, STORE_SHAPE_CLIENT)           \
	S(CLIENT_SUMMARY, STORE_SHAPE_CLIENT_SUMMARY)

/* what checking a password needs (workers/auth_password.c); no password
 * reads as "" */
#define STORE_SHAPE_USER_CREDENTIALS(C)                                 \
	C(USER_CREDENTIALS_ID, "id", 't')                               \
	C(USER_CREDENTIALS_PASSWORD_HASH, "password_hash", 't')         \
	C(USER_CREDENTIALS_DISABLED, "disabled", 'b')                   \
	C(USER_CREDENTIALS_EMAIL_VERIFIED, "email_verified", 'b')

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
	C(CLIENT_ID_TOKEN_ALG, "id_token_alg", 't')            \
	C(CLIENT_ADMIN, "admin", 'b')	/* may get scope admin (client_credentials) */

/* a line of `dreamauth client list`; lists joined as the command prints them */
#define STORE_SHAPE_CLIENT_SUMMARY(C)                                   \
	C(CLIENT_SUMMARY_ID, "client_id", 't')                          \
	C(CLIENT_SUMMARY_NAME, "name", 't')                             \
	C(CLIENT_SUMMARY_PUBLIC, "public", 'b')                         \
	C(CLIENT_SUMMARY_SKIP_CONSENT, "skip_consent", 'b')             \
	C(CLIENT_SUMMARY_REDIRECT_URIS, "redirect_uris", 't')   /* space separated */ \
	C(CLIENT_SUMMARY_GRANT_TYPES, "grant_types", 't')       /* comma separated */

/* `dreamauth user ...` (master/cli_user.c, store/users_admin.c) */
#define STORE_SHAPES_USERS_ADMIN(S)                     \
	S(ADMIN_USER, STORE_SHAPE_ADMIN_USER)           \
	S(ADMIN_USER_ROW, STORE_SHAPE_ADMIN_USER_ROW)   \
	S(ADMIN_USER_REVOKED, STORE_SHAPE_ADMIN_USER_REVOKED) \
	S(ADMIN_USER_PROFILE, STORE_SHAPE_ADMIN_USER_PROFILE)

#define STORE_SHAPE_ADMIN_USER(C) C(ADMIN_USER_ID, "id", 't')

/* created_unix: created_at in Unix seconds, for display; page_key: the exact
 * created_at (ISO 8601, UTC, microseconds), for asking the page after it */
#define STORE_SHAPE_ADMIN_USER_ROW(C)                                   \
	C(ADMIN_USER_ROW_ID, "id", 't')                                 \
	C(ADMIN_USER_ROW_EMAIL, "email", 't')                           \
	C(ADMIN_USER_ROW_EMAIL_NORMALIZED, "email_normalized", 't')     \
	C(ADMIN_USER_ROW_NAME, "name", 't')                             \
	C(ADMIN_USER_ROW_IS_ADMIN, "is_admin", 'b')                     \
	C(ADMIN_USER_ROW_DISABLED, "disabled", 'b')                     \
	C(ADMIN_USER_ROW_GROUPS, "groups", 't')                         \
	C(ADMIN_USER_ROW_CREATED_UNIX, "created_unix", 'i')             \
	C(ADMIN_USER_ROW_PAGE_KEY, "page_key", 't')

/* what ended with a disable or a password reset */
#define STORE_SHAPE_ADMIN_USER_REVOKED(C)                               \
	C(ADMIN_USER_REVOKED_ID, "id", 't')                             \
	C(ADMIN_USER_REVOKED_DISABLED, "disabled", 'b')                 \
	C(ADMIN_USER_REVOKED_SESSIONS, "sessions", 'i')                 \
	C(ADMIN_USER_REVOKED_REFRESH_TOKENS, "refresh_tokens", 'i')     \
	C(ADMIN_USER_REVOKED_ACCESS_TOKENS, "access_tokens", 'i')

/* groups comma-separated, "" for none */
#define STORE_SHAPE_ADMIN_USER_PROFILE(C)                               \
	C(ADMIN_USER_PROFILE_ID, "id", 't')                             \
	C(ADMIN_USER_PROFILE_IS_ADMIN, "is_admin", 'b')                 \
	C(ADMIN_USER_PROFILE_NAME, "name", 't')                         \
	C(ADMIN_USER_PROFILE_GROUPS, "groups", 't')

/* Passkeys (store/passkeys.c, workers/auth_passkey.c). Credential IDs and
 * public keys travel as bytea hex ("\x..."). */
#define STORE_SHAPES_PASSKEYS(S)                                \
	S(PASSKEY_OPTIONS, STORE_SHAPE_PASSKEY_OPTIONS)         \
	S(PASSKEY_OUTCOME, STORE_SHAPE_PASSKEY_OUTCOME)         \
	S(PASSKEY_ASSERTION, STORE_SHAPE_PASSKEY_ASSERTION)     \
	S(PASSKEY, STORE_SHAPE_PASSKEY)                         \
	S(PASSKEY_ACCOUNT, STORE_SHAPE_PASSKEY_ACCOUNT)

/* A challenge just issued: the first row says the outcome ("ok" or a
 * refusal) and the ceremony's purpose; every further row is a credential of
 * the user (excludeCredentials, allowCredentials) */
#define STORE_SHAPE_PASSKEY_OPTIONS(C)                                  \
	C(PASSKEY_OPTIONS_OUTCOME, "outcome", 't')                      \
	C(PASSKEY_OPTIONS_PURPOSE, "purpose", 'T')                      \
	C(PASSKEY_OPTIONS_CREDENTIAL_ID, "credential_id", 'T')          \
	C(PASSKEY_OPTIONS_TRANSPORTS, "transports", 'T')

/* what a registration, a sign-in's last step, a deletion or a setting came
 * to: a word (see store/passkeys.c), and the user and passkey it concerned;
 * first_amr: the amr of the first factor a second-factor passkey finished */
#define STORE_SHAPE_PASSKEY_OUTCOME(C)                                  \
	C(PASSKEY_OUTCOME_RESULT, "outcome", 't')                       \
	C(PASSKEY_OUTCOME_USER_ID, "user_id", 'T')                      \
	C(PASSKEY_OUTCOME_PASSKEY_ID, "passkey_id", 'T')                \
	C(PASSKEY_OUTCOME_FIRST_AMR, "first_amr", 'T')	/* a second factor's first one */

/* a sign-in's challenge taken, and the credential it names, to verify the
 * assertion against; pending_hash: the password sign-in a second factor
 * finishes */
#define STORE_SHAPE_PASSKEY_ASSERTION(C)                                \
	C(PASSKEY_ASSERTION_OUTCOME, "outcome", 't')                    \
	C(PASSKEY_ASSERTION_PURPOSE, "purpose", 'T')                    \
	C(PASSKEY_ASSERTION_PASSKEY_ID, "passkey_id", 'T')              \
	C(PASSKEY_ASSERTION_USER_ID, "user_id", 'T')                    \
	C(PASSKEY_ASSERTION_PUBLIC_KEY, "public_key", 'T')              \
	C(PASSKEY_ASSERTION_ALG, "alg", 'I')                            \
	C(PASSKEY_ASSERTION_SIGN_COUNT, "sign_count", 'I')              \
	C(PASSKEY_ASSERTION_BACKUP_ELIGIBLE, "backup_eligible", 'B')    \
	C(PASSKEY_ASSERTION_BACKUP_STATE, "backup_state", 'B')          \
	C(PASSKEY_ASSERTION_PENDING_HASH, "pending_hash", 'T')

/* a passkey of the account page (BetterAuth's Passkey object) */
#define STORE_SHAPE_PASSKEY(C)                                          \
	C(PASSKEY_ID, "id", 't')                                        \
	C(PASSKEY_NAME, "name", 't')                                    \
	C(PASSKEY_CREDENTIAL_ID, "credential_id", 't')                  \
	C(PASSKEY_PUBLIC_KEY, "public_key", 't')                        \
	C(PASSKEY_ALG, "alg", 'i')                                      \
	C(PASSKEY_SIGN_COUNT, "sign_count", 'i')                        \
	C(PASSKEY_TRANSPORTS, "transports", 't')                        \
	C(PASSKEY_AAGUID, "aaguid", 't')                                \
	C(PASSKEY_ATTESTATION_FMT, "attestation_fmt", 't')              \
	C(PASSKEY_ATTESTATION_TYPE, "attestation_type", 't')            \
	C(PASSKEY_BACKUP_ELIGIBLE, "backup_eligible", 'b')              \
	C(PASSKEY_BACKUP_STATE, "backup_state", 'b')                    \
	C(PASSKEY_USER_VERIFIED, "user_verified", 'b')                  \
	C(PASSKEY_CREATED_AT, "created_at", 'i')                        \
	C(PASSKEY_LAST_USED_AT, "last_used_at", 'I')                    \
	C(PASSKEY_COUNTER_REGRESSIONS, "counter_regressions", 'i')

/* how an account signs in, for the account page */
#define STORE_SHAPE_PASSKEY_ACCOUNT(C)                                  \
	C(PASSKEY_ACCOUNT_HAS_PASSWORD, "has_password", 'b')            \
	C(PASSKEY_ACCOUNT_SECOND_FACTOR, "second_factor", 'b')          \
	C(PASSKEY_ACCOUNT_PASSKEYS, "passkeys", 'i')

/* ---- OAuth tokens (store/oauth_tokens.c, workers/oidc_token.c, oidc_userinfo.c) ---- */

/* A user as the token endpoints see it; NULL columns when there is no such
 * user. These columns come FIRST in every shape that carries a user, in this
 * order (workers/oidc_common.c reads them as columns 0..5). groups is a JSON
 * array. P names the shape. */
#define STORE_COLS_OAUTH_USER(C, P)                             \
	C(P##_USER_ID, "user_id", 'T')                          \
	C(P##_USER_EMAIL, "email", 'T')                         \
	C(P##_USER_NAME, "name", 'T')                           \
	C(P##_USER_EMAIL_VERIFIED, "email_verified", 'B')       \
	C(P##_USER_DISABLED, "disabled", 'B')                   \
	C(P##_USER_GROUPS, "groups", 'T')                         \
	C(P##_USER_WALLET, "wallet_address", 'T')               \
	C(P##_USER_APP_ROLES, "app_roles", 'T')                 \
	C(P##_USER_APP_PERMISSIONS, "app_permissions", 'T')

/* an authorization code just spent; replayed: it had been spent before */
#define STORE_SHAPE_OAUTH_CODE(C)                               \
	C(OAUTH_CODE_REPLAYED, "replayed", 'b')                 \
	C(OAUTH_CODE_LIVE, "live", 'b')                         \
	C(OAUTH_CODE_USER_ID, "user_id", 't')                   \
	C(OAUTH_CODE_SESSION_ID, "session_id", 'T')             \
	C(OAUTH_CODE_REDIRECT_URI, "redirect_uri", 't')         \
	C(OAUTH_CODE_SCOPE, "scope", 't')                       \
	C(OAUTH_CODE_NONCE, "nonce", 'T')                       \
	C(OAUTH_CODE_CHALLENGE, "code_challenge", 'T')          \
	C(OAUTH_CODE_AUTH_TIME, "auth_time", 'i')               \
	C(OAUTH_CODE_AMR, "amr", 'T')

/* a code's tokens stored: outcome "issued", "replayed" (the code was
 * replayed meanwhile: nothing stored) or "inactive" (the user is gone or
 * disabled: nothing stored) */
#define STORE_SHAPE_OAUTH_ISSUED(C)                             \
	STORE_COLS_OAUTH_USER(C, OAUTH_ISSUED)                  \
	C(OAUTH_ISSUED_OUTCOME, "outcome", 't')

/* a refresh token rotated: outcome "issued" (the grant columns are set),
 * "invalid" (unknown, or another client's), "reused" (spent before: its
 * family is revoked now), "revoked" (revoked or expired), "scope" (asks for
 * more than was granted) or "inactive" (the user is gone or disabled: the
 * family is revoked). scope: what the new tokens carry. */
#define STORE_SHAPE_OAUTH_REFRESHED(C)                          \
	STORE_COLS_OAUTH_USER(C, OAUTH_REFRESHED)               \
	C(OAUTH_REFRESHED_OUTCOME, "outcome", 't')              \
	C(OAUTH_REFRESHED_FAMILY_ID, "family_id", 'T')          \
	C(OAUTH_REFRESHED_SCOPE, "scope", 'T')                  \
	C(OAUTH_REFRESHED_AUTH_TIME, "auth_time", 'I')          \
	C(OAUTH_REFRESHED_AMR, "amr", 'T')                      \
	C(OAUTH_REFRESHED_SESSION_ID, "session_id", 'T')

/* the user behind an access token, and whether the token is revoked */
#define STORE_SHAPE_OAUTH_USERINFO(C)                           \
	STORE_COLS_OAUTH_USER(C, OAUTH_USERINFO)                \
	C(OAUTH_USERINFO_REVOKED, "revoked", 'b')

/* a live refresh token, for introspection */
#define STORE_SHAPE_OAUTH_REFRESH_INFO(C)                       \
	C(OAUTH_REFRESH_INFO_USER_ID, "user_id", 't')           \
	C(OAUTH_REFRESH_INFO_SCOPE, "scope", 't')               \
	C(OAUTH_REFRESH_INFO_EXP, "exp", 'i')                   \
	C(OAUTH_REFRESH_INFO_IAT, "iat", 'i')

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

/* Email: the flows that send mail (store/mail_flows.c) and the mailer's
 * outbox (store/outbox.c) */
#define STORE_SHAPES_MAIL(S)                            \
	S(MAIL_OUTCOME, STORE_SHAPE_MAIL_OUTCOME)       \
	S(OUTBOX_MESSAGE, STORE_SHAPE_OUTBOX_MESSAGE)

/* what a link or a code came to: a word (see store/mail_flows.c) and the
 * user it concerned */
#define STORE_SHAPE_MAIL_OUTCOME(C)                     \
	C(MAIL_OUTCOME_RESULT, "outcome", 't')          \
	C(MAIL_OUTCOME_USER_ID, "user_id", 'T')         \
	C(MAIL_OUTCOME_EMAIL, "email", 'T')

/* a message claimed for delivery; created_unix and id make its Message-ID */
#define STORE_SHAPE_OUTBOX_MESSAGE(C)                   \
	C(OUTBOX_MESSAGE_ID, "id", 'i')                 \
	C(OUTBOX_MESSAGE_RECIPIENT, "recipient", 't')   \
	C(OUTBOX_MESSAGE_SUBJECT, "subject", 't')       \
	C(OUTBOX_MESSAGE_TEXT, "body_text", 't')        \
	C(OUTBOX_MESSAGE_HTML, "body_html", 't')        \
	C(OUTBOX_MESSAGE_CREATED, "created_unix", 'i')  \
	C(OUTBOX_MESSAGE_ATTEMPTS, "attempts", 'i')

/* Second factors: TOTP, recovery codes, the pending sign-in every second
 * factor finishes (store/two_factor.c, workers/two_factor*.c) */
#define STORE_SHAPES_TWO_FACTOR(S)                              \
	S(TWO_FACTOR_GATE, STORE_SHAPE_TWO_FACTOR_GATE)         \
	S(TOTP_ENROLLMENT, STORE_SHAPE_TOTP_ENROLLMENT)         \
	S(TWO_FACTOR_RESULT, STORE_SHAPE_TWO_FACTOR_RESULT)     \
	S(TWO_FACTOR_STATUS, STORE_SHAPE_TWO_FACTOR_STATUS)

/* a pending sign-in (stored now, or live), and the second factors its
 * account can finish it with */
#define STORE_SHAPE_TWO_FACTOR_GATE(C)                                  \
	C(TWO_FACTOR_GATE_PENDING, "pending", 'b')                      \
	C(TWO_FACTOR_GATE_TOTP, "totp", 'b')                            \
	C(TWO_FACTOR_GATE_PASSKEY, "passkey", 'b')

/* an enrollment started: outcome "enrolled" (secret: its base32, the only
 * time it leaves the store) or "already_enabled" */
#define STORE_SHAPE_TOTP_ENROLLMENT(C)                                  \
	C(TOTP_ENROLLMENT_OUTCOME, "outcome", 't')                      \
	C(TOTP_ENROLLMENT_SECRET, "secret", 'T')

/* a code presented: outcome "ok" (user_id; first_amr of a pending sign-in;
 * confirmed: this code turned a new enrollment on) or a refusal (see
 * store/two_factor.c) */
#define STORE_SHAPE_TWO_FACTOR_RESULT(C)                                \
	C(TWO_FACTOR_RESULT_OUTCOME, "outcome", 't')                    \
	C(TWO_FACTOR_RESULT_USER_ID, "user_id", 'T')                    \
	C(TWO_FACTOR_RESULT_FIRST_AMR, "first_amr", 'T')                \
	C(TWO_FACTOR_RESULT_CONFIRMED, "confirmed", 'b')

/* the account page's view of a user's second factors */
#define STORE_SHAPE_TWO_FACTOR_STATUS(C)                                \
	C(TWO_FACTOR_STATUS_TOTP_ENABLED, "totp_enabled", 'b')          \
	C(TWO_FACTOR_STATUS_TOTP_UNCONFIRMED, "totp_unconfirmed", 'b')  \
	C(TWO_FACTOR_STATUS_RECOVERY_LEFT, "recovery_left", 'i')        \
	C(TWO_FACTOR_STATUS_PASSKEY, "passkey", 'b')

/* ---- administration (issue 12): store/admin_*.c, store/app_roles.c ---- */
#define STORE_SHAPES_ADMIN(S)                           \
	S(ADMIN_CLIENT, STORE_SHAPE_ADMIN_CLIENT)       \
	S(ADMIN_KEY, STORE_SHAPE_ADMIN_KEY)             \
	S(APP_ROLE, STORE_SHAPE_APP_ROLE)               \
	S(USER_APP_ROLE, STORE_SHAPE_USER_APP_ROLE)     \
	S(APP_ACCESS, STORE_SHAPE_APP_ACCESS)

/* a database client as the admin API shows it: URIs space separated, grant
 * types and scopes comma separated; never its secret */
#define STORE_SHAPE_ADMIN_CLIENT(C)                                     \
	C(ADMIN_CLIENT_ID, "client_id", 't')                            \
	C(ADMIN_CLIENT_NAME, "name", 't')                               \
	C(ADMIN_CLIENT_REDIRECT_URIS, "redirect_uris", 't')             \
	C(ADMIN_CLIENT_POST_LOGOUT_URIS, "post_logout_redirect_uris", 't') \
	C(ADMIN_CLIENT_GRANT_TYPES, "grant_types", 't')                 \
	C(ADMIN_CLIENT_SCOPES, "scopes", 't')                           \
	C(ADMIN_CLIENT_PUBLIC, "public", 'b')                           \
	C(ADMIN_CLIENT_SKIP_CONSENT, "skip_consent", 'b')               \
	C(ADMIN_CLIENT_REQUIRE_PKCE, "require_pkce", 'b')               \
	C(ADMIN_CLIENT_ID_TOKEN_ALG, "id_token_alg", 't')               \
	C(ADMIN_CLIENT_ADMIN, "admin", 'b')                             \
	C(ADMIN_CLIENT_CREATED_UNIX, "created_unix", 'i')

/* a signing key without its material; state as `dreamauth keys list` says
 * it: active, retiring, retired, revoked */
#define STORE_SHAPE_ADMIN_KEY(C)                                        \
	C(ADMIN_KEY_KID, "kid", 't')                                    \
	C(ADMIN_KEY_ALG, "alg", 't')                                    \
	C(ADMIN_KEY_STATE, "state", 't')                                \
	C(ADMIN_KEY_CREATED_UNIX, "created_unix", 'i')                  \
	C(ADMIN_KEY_PUBLISH_UNTIL, "publish_until", 'I')                \
	C(ADMIN_KEY_REVOKED_UNIX, "revoked_unix", 'I')

/* a role of an application; permissions comma separated; members: users
 * given it */
#define STORE_SHAPE_APP_ROLE(C)                                         \
	C(APP_ROLE_CLIENT_ID, "client_id", 't')                         \
	C(APP_ROLE_NAME, "name", 't')                                   \
	C(APP_ROLE_DESCRIPTION, "description", 't')                     \
	C(APP_ROLE_PERMISSIONS, "permissions", 't')                     \
	C(APP_ROLE_MEMBERS, "members", 'i')

/* a role a user has in an application */
#define STORE_SHAPE_USER_APP_ROLE(C)                                    \
	C(USER_APP_ROLE_CLIENT_ID, "client_id", 't')                    \
	C(USER_APP_ROLE_ROLE, "role", 't')

/* a user's roles and their permissions in one application, comma separated */
#define STORE_SHAPE_APP_ACCESS(C)                                       \
	C(APP_ACCESS_ROLES, "roles", 't')                               \
	C(APP_ACCESS_PERMISSIONS, "permissions", 't')

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
/* Hashes are SHA-256 of the token text as bytea hex; times Unix seconds.
 * Every operation that revokes access tokens also records them in this
 * instance's shared-memory table before it answers. */
#define STORE_OPS_OAUTH(X)                                                              \
	/* code hash, client_id -> the code, now spent; a replay is marked and   \
	 * revokes what the code gave, in the same transaction. No row: unknown  \
	 * code or another client's */                                           \
	X(OAUTH_CODE_SPEND, store_oauth_code_spend, "tt", OAUTH_CODE)                   \
	/* code hash, client_id, user_id, jti, family_id, scope, exp,             \
	 * refresh hash, auth_time, amr, session_id, refresh exp -> the access    \
	 * (and refresh) token rows, written only while the code is not replayed \
	 * and the user active */                                                \
	X(OAUTH_CODE_ISSUE, store_oauth_code_issue, "ttttTtiTiTTI", OAUTH_ISSUED)       \
	/* presented hash, client_id, asked scope, new jti, new refresh hash,    \
	 * access exp, refresh exp -> spends the presented token and writes the  \
	 * new pair, one transaction under the family's lock */                  \
	X(OAUTH_REFRESH_ROTATE, store_oauth_refresh_rotate, "ttTttii", OAUTH_REFRESHED) \
	/* jti, client_id, scope, exp -> n = 1 stored (a client_credentials      \
	 * token: no user, no family) */                                         \
	X(OAUTH_CLIENT_TOKEN_STORE, store_oauth_client_token_store, "ttti", COUNT)      \
	/* jti -> n = 1 revoked, 0 not */                                        \
	X(OAUTH_ACCESS_TOKEN_REVOKED, store_oauth_access_token_revoked, "t", COUNT)     \
	/* jti, sub -> the user (NULL columns: none) and the token's revocation */ \
	X(OAUTH_USERINFO, store_oauth_userinfo, "tT", OAUTH_USERINFO)                   \
	/* refresh hash, client_id -> the token if live, or no row */            \
	X(OAUTH_REFRESH_DESCRIBE, store_oauth_refresh_describe, "tt", OAUTH_REFRESH_INFO) \
	/* jti, client_id, exp -> n = 1 revoked (now or before), 0 another       \
	 * client's */                                                           \
	X(OAUTH_ACCESS_TOKEN_REVOKE, store_oauth_access_token_revoke, "tti", COUNT)     \
	/* refresh hash, client_id -> n access tokens revoked with its family     \
	 * (RFC 7009 §2.1) */                                                    \
	X(OAUTH_REFRESH_REVOKE, store_oauth_refresh_revoke, "tt", COUNT)
#define STORE_OPS_CLIENTS(X)                                                                    \
	/* client_id -> the client, or no row */                                                \
	X(CLIENT_FIND, store_client_find, "t", CLIENT)                                          \
	/* authorize: code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce,     \
	 * code_challenge, code_challenge_method, auth_time, amr, ttl_s, consent -> n = 1 the    \
	 * code is stored, 0 it is not because consent is missing. consent: "skip" (the client   \
	 * asks none), "require" (store only if oauth_consents covers scope), "grant" (the user  \
	 * just allowed: remember the grant and store the code in one transaction) */           \
	X(CODE_ISSUE, store_code_issue, "ttttttTTTitit", COUNT)

#define STORE_OPS_PASSKEYS(X)                                                                   \
	/* challenge_hash, binding_hash (hex bytea), purpose ("register": user_id adds one;      \
	 * "sign_up": user_id is the new account's id, with email, email_normalized, name,      \
	 * is_admin), ttl_s -> ok and the user's credentials, or no_account, email_taken,       \
	 * too_many_passkeys (nothing stored) */                                                \
	X(PASSKEY_REGISTER_OPTIONS, store_passkey_register_options, "ttttTTTbi", PASSKEY_OPTIONS) \
	/* challenge_hash, binding_hash, email_normalized (allowCredentials for that account;   \
	 * NULL: username-less), pending_hash (a password sign-in awaiting its passkey, or      \
	 * NULL), ttl_s -> ok, purpose authenticate or second_factor, the credentials */        \
	X(PASSKEY_AUTH_OPTIONS, store_passkey_auth_options, "ttTTi", PASSKEY_OPTIONS)           \
	/* challenge_hash, binding_hash, session_user_id, credential_id, public_key (hex        \
	 * bytea), alg, sign_count, transports, aaguid, attestation_fmt, attestation_type,      \
	 * flags (authenticator data), name -> registered or signed_up (user and passkey), or   \
	 * a refusal; takes the challenge whatever the outcome, the rest all-or-nothing */      \
	X(PASSKEY_REGISTER, store_passkey_register, "ttTttiittttit", PASSKEY_OUTCOME)           \
	/* challenge_hash, binding_hash -> n taken (a ceremony that failed before the store) */ \
	X(PASSKEY_CHALLENGE_DISCARD, store_passkey_challenge_discard, "tt", COUNT)              \
	/* challenge_hash, binding_hash, credential_id -> the challenge taken (whatever the     \
	 * outcome) and the credential to verify against, or a refusal */                      \
	X(PASSKEY_ASSERTION_BEGIN, store_passkey_assertion_begin, "ttt", PASSKEY_ASSERTION)     \
	/* passkey_id, user_id, sign_count, backup_state, counter_regressed, pending_hash       \
	 * (second factor, else NULL) -> signed_in, or pending_unknown, credential_unknown */   \
	X(PASSKEY_ASSERTION_FINISH, store_passkey_assertion_finish, "ttibbT", PASSKEY_OUTCOME)  \
	/* user_id -> the user's passkeys, oldest first */                                      \
	X(PASSKEY_LIST, store_passkey_list, "t", PASSKEY)                                       \
	/* user_id, passkey_id, name -> the passkey renamed, or no row */                       \
	X(PASSKEY_RENAME, store_passkey_rename, "ttt", PASSKEY)                                 \
	/* user_id, passkey_id, confirmed -> deleted, deleted_second_factor_off, not_found or   \
	 * last_method (the account's only way in, and not confirmed) */                        \
	X(PASSKEY_DELETE, store_passkey_delete, "ttb", PASSKEY_OUTCOME)                         \
	/* user_id -> password?, second factor on?, passkeys */                                 \
	X(PASSKEY_ACCOUNT, store_passkey_account, "t", PASSKEY_ACCOUNT)                         \
	/* user_id, enabled -> enabled, disabled, no_password or no_passkey */                  \
	X(PASSKEY_SECOND_FACTOR_SET, store_passkey_second_factor_set, "tb", PASSKEY_OUTCOME)    \
	/* after a password held: user_id, token_hash, ttl_s -> n = 1 the account wants its     \
	 * passkey too (the pending sign-in is stored), 0 it does not (nothing stored) */      \
	X(PASSKEY_SECOND_FACTOR_BEGIN, store_passkey_second_factor_begin, "tti", COUNT)

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

/* Second factors (store/two_factor.c). Hashes as hex; a pending sign-in is
 * the SHA-256 of its cookie's token (bytea hex, "\x..."), as passkeys use. */
#define STORE_OPS_TWO_FACTOR(X)                                                                 \
	/* a first factor held: user_id, token_hash, first_amr, ttl_s, passkeys_enabled ->       \
	 * pending (stored: the account has an active TOTP or wants its passkey), and which */   \
	X(TWO_FACTOR_BEGIN, store_two_factor_begin, "tttib", TWO_FACTOR_GATE)                   \
	/* token_hash -> the live pending sign-in's methods (pending false: none) */            \
	X(TWO_FACTOR_PENDING, store_two_factor_pending, "t", TWO_FACTOR_GATE)                   \
	/* user_id, recovery code hashes (10, hex, comma separated) -> a new secret, sealed,    \
	 * unconfirmed, and the codes replaced; or already_enabled (nothing changed) */         \
	X(TOTP_ENROLL, store_totp_enroll, "tt", TOTP_ENROLLMENT)                                \
	/* pending_hash (sign-in) or session user_id (NULL the other), code, pending max        \
	 * attempts, user max failures, failure window_s -> the outcome; the secret opened and  \
	 * the code checked here, the step recorded, all in one transaction */                  \
	X(TOTP_VERIFY, store_totp_verify, "TTtiii", TWO_FACTOR_RESULT)                          \
	/* as TOTP_VERIFY with a recovery code's hash (hex) instead of a code */                \
	X(RECOVERY_CODE_VERIFY, store_recovery_code_verify, "TTtiii", TWO_FACTOR_RESULT)        \
	/* user_id -> n = 1 TOTP and recovery codes removed, 0 there were none */               \
	X(TWO_FACTOR_DISABLE, store_two_factor_disable, "t", COUNT)                             \
	/* user_id, hashes -> n = 1 the codes replaced, 0 no active TOTP (nothing changed) */   \
	X(RECOVERY_CODES_REPLACE, store_recovery_codes_replace, "tt", COUNT)                    \
	/* user_id -> the account's second factors */                                           \
	X(TWO_FACTOR_STATUS, store_two_factor_status, "t", TWO_FACTOR_STATUS)

/* Client administration, for the CLI only (master/cli_client.c). */
#define STORE_OPS_CLIENTS_ADMIN(X)                                                              \
	/* `dreamauth client add`: client_id, secret_hash (hex bytea; NULL for a public         \
	 * client), name, redirect_uris, post_logout_redirect_uris (both space separated),       \
	 * client_credentials, public, skip_consent, id_token_alg -> n = 1 added, 0 the id       \
	 * is taken */                                                                          \
	X(CLIENT_ADD, store_client_add, "tTtttbbbt", COUNT)                                     \
	/* `dreamauth client list`, a page: after_client_id (NULL: from the start), limit ->     \
	 * the clients after it in client_id order */                                           \
	X(CLIENT_LIST, store_client_list, "Ti", CLIENT_SUMMARY)                                 \
	/* `dreamauth client remove`: client_id -> n = 1 removed (its tokens revoked, its        \
	 * codes deleted, in the same transaction), 0 no such database client */                \
	X(CLIENT_REMOVE, store_client_remove, "t", COUNT)

/* Account administration, for the CLI only: refused inside the store actor,
 * so a worker cannot ask for them (store/users_admin.c). Users are named by
 * their normalized email (proto/email.h). Changes that running instances
 * must see log "user:<id>" (revocation_log) in the same transaction. */
#define STORE_OPS_USERS_ADMIN(X)                                                \
	/* email, email_normalized, name, password_hash, is_admin, groups       \
	 * (comma-separated; NULL or "" none) -> the new id, or no row when     \
	 * the email is taken */                                                \
	X(USER_ADMIN_ADD, store_user_admin_add, "ttttbT", ADMIN_USER)           \
	/* after_page_key, after_email_normalized (NULL, NULL: from the start), \
	 * limit (1..100) -> users by created_at, email_normalized */           \
	X(USER_ADMIN_LIST, store_user_admin_list, "TTi", ADMIN_USER_ROW)        \
	/* email_normalized, token_leeway_s -> the user, disabled, and what was \
	 * revoked (sessions, live refresh tokens, access tokens still          \
	 * verifying), or no row; one transaction */                            \
	X(USER_ADMIN_DISABLE, store_user_admin_disable, "ti", ADMIN_USER_REVOKED) \
	/* email_normalized -> the user, or no row (sessions stay revoked) */   \
	X(USER_ADMIN_ENABLE, store_user_admin_enable, "t", ADMIN_USER)          \
	/* email_normalized, password_hash, token_leeway_s -> as DISABLE, the   \
	 * disabled flag unchanged */                                           \
	X(USER_ADMIN_PASSWD, store_user_admin_passwd, "tti", ADMIN_USER_REVOKED) \
	/* email_normalized, is_admin, name, groups (NULL: keep; groups "":     \
	 * none) -> the profile after the change, or no row */                  \
	X(USER_ADMIN_SET, store_user_admin_set, "tBTT", ADMIN_USER_PROFILE)

/* Administration from a worker (the admin API and console, workers/admin_*.c).
 * The worker checks that the caller is an admin; the store does not take its
 * word for it: the FIRST argument of each is the caller's proof (the SHA-256
 * of an admin's session cookie, "session:<hex>", or an admin token's jti,
 * "token:<jti>"), and each operation starts its transaction with
 * dreamauth_admin_actor (migrations/013), answering STORE_REFUSED when the
 * proof names no live admin (store/admin_actor.c). Users and sessions are
 * named by id (uuid text). */
#define STORE_OPS_ADMIN(X)                                                                      \
	/* proof, search (in email and name; NULL: all), after_page_key, after_email_normalized,   \
	 * limit (1..100) -> a page of users by created_at, email */                              \
	X(ADMIN_USERS_LIST, store_admin_users_list, "tTTTi", ADMIN_USER_ROW)                    \
	/* proof, user_id -> the user, or no row */                                             \
	X(ADMIN_USER_GET, store_admin_user_get, "tt", ADMIN_USER_ROW)                           \
	/* proof, email, email_normalized, name, password_hash (NULL: none), is_admin, groups     \
	 * (comma separated) -> the new user, or no row when the email is taken */               \
	X(ADMIN_USER_CREATE, store_admin_user_create, "ttttTbT", ADMIN_USER_ROW)                \
	/* proof, user_id, is_admin, name, groups (NULL: keep) -> the user after, or no row */  \
	X(ADMIN_USER_UPDATE, store_admin_user_update, "ttBTT", ADMIN_USER_ROW)                  \
	/* proof, user_id, disabled, token_leeway_s -> the user and what a disable revoked */   \
	X(ADMIN_USER_DISABLE, store_admin_user_disable, "ttbi", ADMIN_USER_REVOKED)             \
	/* proof, user_id, token_leeway_s -> everything revoked, then the user deleted */      \
	X(ADMIN_USER_DELETE, store_admin_user_delete, "tti", ADMIN_USER_REVOKED)                \
	/* proof, user_id, token_leeway_s -> sessions, refresh and access tokens revoked */     \
	X(ADMIN_USER_SIGN_OUT, store_admin_user_sign_out, "tti", ADMIN_USER_REVOKED)            \
	/* proof, user_id -> the user's live sessions, newest first */                          \
	X(ADMIN_USER_SESSIONS, store_admin_user_sessions, "tt", OWN_SESSION)                    \
	/* proof, user_id, session_id -> n revoked */                                           \
	X(ADMIN_SESSION_REVOKE, store_admin_session_revoke, "ttt", COUNT)                       \
	/* proof, user_id -> the user's passkeys */                                             \
	X(ADMIN_USER_PASSKEYS, store_admin_user_passkeys, "tt", PASSKEY)                        \
	/* proof, user_id, passkey_id -> n deleted (the passkey second factor goes with the      \
	 * last passkey) */                                                                    \
	X(ADMIN_PASSKEY_DELETE, store_admin_passkey_delete, "ttt", COUNT)                       \
	/* proof, user_id -> n second factors removed (passkey step, TOTP, recovery codes):     \
	 * the first factor alone signs in again */                                            \
	X(ADMIN_SECOND_FACTOR_OFF, store_admin_second_factor_off, "tt", COUNT)                  \
	/* proof, after_client_id, limit -> database clients in client_id order */             \
	X(ADMIN_CLIENTS_LIST, store_admin_clients_list, "tTi", ADMIN_CLIENT)                    \
	X(ADMIN_CLIENT_GET, store_admin_client_get, "tt", ADMIN_CLIENT)                         \
	/* proof, client_id, secret_hash (hex bytea; NULL public), name, redirect_uris,           \
	 * post_logout_uris (space separated), grant_types, scopes (comma separated), public,    \
	 * skip_consent, require_pkce, id_token_alg, admin -> the client, or no row: id taken */ \
	X(ADMIN_CLIENT_CREATE, store_admin_client_create, "ttTtttttbbbtb", ADMIN_CLIENT)        \
	/* proof, client_id, then as CREATE without secret and public, each NULL: keep */       \
	X(ADMIN_CLIENT_UPDATE, store_admin_client_update, "ttTTTTTBBTB", ADMIN_CLIENT)          \
	/* proof, client_id, new secret_hash -> the client (its old secret stops at once) */    \
	X(ADMIN_CLIENT_SECRET, store_admin_client_secret, "ttt", ADMIN_CLIENT)                  \
	/* proof, client_id -> n = 1 deleted with its tokens revoked and its roles */           \
	X(ADMIN_CLIENT_DELETE, store_admin_client_delete, "tt", COUNT)                          \
	/* proof -> every signing key, newest first */                                          \
	X(ADMIN_KEYS_LIST, store_admin_keys_list, "t", ADMIN_KEY)                               \
	/* proof, client_id (NULL: every application) -> roles */                              \
	X(ADMIN_ROLES_LIST, store_admin_roles_list, "tT", APP_ROLE)                             \
	/* proof, client_id, name, description, permissions (comma separated) -> the role,     \
	 * created or replaced */                                                              \
	X(ADMIN_ROLE_PUT, store_admin_role_put, "ttttt", APP_ROLE)                              \
	/* proof, client_id, name -> n deleted (its assignments with it) */                     \
	X(ADMIN_ROLE_DELETE, store_admin_role_delete, "ttt", COUNT)                             \
	/* proof, user_id -> the user's roles in every application */                           \
	X(ADMIN_USER_ROLES, store_admin_user_roles, "tt", USER_APP_ROLE)                        \
	/* proof, user_id, client_id, role, granted -> n changed (0: no such user or role, or   \
	 * nothing to change) */                                                               \
	X(ADMIN_USER_ROLE_SET, store_admin_user_role_set, "ttttb", COUNT)

/* Roles at request time (workers/verify.c ?app=&role=): user_id, client_id ->
 * one row, the user's roles and permissions there (both "" for none). */
#define STORE_OPS_APP_ROLES(X) X(APP_ACCESS, store_app_access, "tt", APP_ACCESS)

/* Email flows (store/mail_flows.c). Tokens and codes are made in the store
 * and go only into the outbox: a worker never sees them, and only their
 * hashes are kept. Every message is queued in the transaction of its cause;
 * with SMTP_HOST unset these are refused (STORE_REFUSED). */
#define STORE_OPS_MAIL(X)                                                                       \
	/* USER_SIGN_UP's arguments (is_admin is ignored: ADMIN_EMAILS waits for the     \
	 * verification) and callback_url -> its id, the verification link queued in    \
	 * the same transaction; CONFLICT when the normalized email is taken */         \
	X(USER_SIGN_UP_VERIFY, store_user_sign_up_verify, "ttttbT", NEW_USER)                   \
	/* email_normalized, callback_url -> n = 1 a verification link queued, 0 no such \
	 * unverified account (the worker answers the same) */                          \
	X(EMAIL_VERIFICATION_SEND, store_email_verification_send, "tT", COUNT)                  \
	/* token_hash (hex bytea) -> verified (the address, and ADMIN_EMAILS, granted),  \
	 * invalid, expired or used */                                                  \
	X(EMAIL_VERIFY, store_email_verify, "t", MAIL_OUTCOME)                                  \
	/* email_normalized, redirect_to -> n = 1 a reset link queued, 0 no such         \
	 * account (the worker answers the same) */                                     \
	X(PASSWORD_RESET_REQUEST, store_password_reset_request, "tT", COUNT)                    \
	/* token_hash, password_hash, token_leeway_s -> reset (every session and OAuth   \
	 * token of the user revoked in the same transaction), invalid, expired, used */ \
	X(PASSWORD_RESET, store_password_reset, "tti", MAIL_OUTCOME)                            \
	/* email_normalized, type, allow_sign_up -> n = 1 a code queued, 0 none (no      \
	 * such account, and no sign-up) */                                             \
	X(EMAIL_OTP_SEND, store_email_otp_send, "ttb", COUNT)                                   \
	/* email_normalized, email, type, code, allow_sign_up, password_hash (forget-    \
	 * password), token_leeway_s -> signed_in, signed_up, verified, reset, or        \
	 * invalid, expired, too_many_attempts, disabled */                             \
	X(EMAIL_OTP_USE, store_email_otp_use, "ttttbTi", MAIL_OUTCOME)                         \
	/* the admin API's hook (workers/admin_api.c): proof (as STORE_OPS_ADMIN's),     \
	 * user_id -> n = 1 a reset link queued and audited, 0 no such enabled user */   \
	X(ADMIN_USER_PASSWORD_RESET_SEND, store_admin_password_reset_send, "tt", COUNT)

/* The mailer's outbox (store/outbox.c): refused from workers, and the
 * mailer may ask nothing else. */
#define STORE_OPS_MAILER(X)                                                             \
	/* lease_s -> the next due message (attempts counted, leased), or no row */  \
	X(OUTBOX_CLAIM, store_outbox_claim, "i", OUTBOX_MESSAGE)                        \
	/* id -> n = 1 marked delivered */                                           \
	X(OUTBOX_DELIVERED, store_outbox_delivered, "i", COUNT)                         \
	/* id, error -> n = 1 given up (SMTP_MAX_ATTEMPTS), 0 retried later           \
	 * (SMTP_RETRY_BASE doubling) */                                             \
	X(OUTBOX_FAILED, store_outbox_failed, "it", COUNT)

/* The audit log (store/audit.c, migrations/014). */
#define STORE_SHAPES_AUDIT(S) S(AUDIT_ENTRY, STORE_SHAPE_AUDIT_ENTRY)

/* one row of audit_log; at in ISO 8601 UTC, detail a JSON object as text */
#define STORE_SHAPE_AUDIT_ENTRY(C)                                      \
	C(AUDIT_ENTRY_ID, "id", 'i')                                    \
	C(AUDIT_ENTRY_AT, "at", 't')                                    \
	C(AUDIT_ENTRY_EVENT, "event", 't')                              \
	C(AUDIT_ENTRY_RESULT, "result", 't')                            \
	C(AUDIT_ENTRY_METHOD, "method", 't')                            \
	C(AUDIT_ENTRY_ACTOR_USER_ID, "actor_user_id", 'T')              \
	C(AUDIT_ENTRY_ACTOR_CLIENT_ID, "actor_client_id", 'T')          \
	C(AUDIT_ENTRY_TARGET_TYPE, "target_type", 'T')                  \
	C(AUDIT_ENTRY_TARGET_ID, "target_id", 'T')                      \
	C(AUDIT_ENTRY_CLIENT_IP, "client_ip", 'T')                      \
	C(AUDIT_ENTRY_USER_AGENT, "user_agent", 'T')                    \
	C(AUDIT_ENTRY_DETAIL, "detail", 't')

#define STORE_OPS_AUDIT(X)                                                                      \
	/* a failure only a worker knows (a wrong password, a refused code): event, result      \
	 * (must be "failure": successes are recorded by the operations that make them),         \
	 * method, actor_user_id, target_type, target_id, detail (a JSON object, no secret) ->   \
	 * n = 1; the client IP and user agent come from the request's context */               \
	X(AUDIT_FAILURE, store_audit_failure, "tttTTTT", COUNT)                                 \
	/* GET /api/admin/audit: the caller's admin proof (as STORE_OPS_ADMIN), then as         \
	 * AUDIT_QUERY */                                                                       \
	X(ADMIN_AUDIT_QUERY, store_admin_audit_query, "tIITTTiI", AUDIT_ENTRY)

/* `dreamauth audit` (CLI only): since, until (Unix seconds), actor (user or client
 * id), target_id, event, limit (1..100), cursor (the last id seen) -> entries,
 * newest first */
#define STORE_OPS_AUDIT_CLI(X) X(AUDIT_QUERY, store_audit_query, "IITTTiI", AUDIT_ENTRY)

#define STORE_OPS_CORS(X)                                                               \
	/* limit -> the distinct http(s) redirect URIs of the database's clients          \
	 * (`dreamauth client add`), for the CORS origins a worker allows */             \
	X(CLIENT_REDIRECT_URIS, store_client_redirect_uris, "i", CLIENT_REDIRECT)

/* What a worker may ask the store. */
#define STORE_OPS_WORKER(X)     \
	STORE_OPS_CORE(X)       \
	STORE_OPS_ACCOUNTS(X)   \
	STORE_OPS_OAUTH(X)      \
	STORE_OPS_CLIENTS(X)    \
	STORE_OPS_PASSKEYS(X)   \
	STORE_OPS_WALLETS(X)    \
	STORE_OPS_TWO_FACTOR(X)  \
	STORE_OPS_ADMIN(X)      \
	STORE_OPS_APP_ROLES(X)  \
	STORE_OPS_MAIL(X)       \
	STORE_OPS_AUDIT(X)      \
	STORE_OPS_CORS(X)

/* What only the CLI may run (store_exec): the store actor refuses these from
 * a worker, so a compromised worker cannot make itself an admin or register
 * a client. */
#define STORE_OPS_CLI(X)                \
	STORE_OPS_USERS_ADMIN(X)        \
	STORE_OPS_CLIENTS_ADMIN(X)      \
	STORE_OPS_AUDIT_CLI(X)      \
	STORE_OPS_ADMIN_CLI(X)

/* `dreamauth client add --admin` (master/cli_client.c): client_id, admin ->
 * n = 1 flagged (store/admin_clients.c). */
#define STORE_OPS_ADMIN_CLI(X) X(CLIENT_ADMIN_FLAG, store_client_admin_flag, "tb", COUNT)

#define STORE_OPS(X)            \
	STORE_OPS_WORKER(X)     \
	STORE_OPS_CLI(X)        \
	STORE_OPS_MAILER(X)

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
	bool cli_only;		/* in STORE_OPS_CLI: refused from a worker */
	bool mailer_only;	/* in STORE_OPS_MAILER: only the mailer's link may ask */
};

/* NULL for an unknown operation. */
const struct store_op_spec *store_op_spec(uint32_t op);
#endif
