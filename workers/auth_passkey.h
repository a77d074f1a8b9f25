/*
 * Passkeys (WebAuthn Level 3) on BetterAuth's passkey plugin paths, split in
 * three files that share this header:
 *
 *   workers/auth_passkey.c      routing, options (challenges), the pages'
 *                               slots and the second-factor page, helpers
 *   workers/passkey_ceremony.c  verify-registration, verify-authentication
 *   workers/passkey_manage.c    list / rename / delete, the second-factor
 *                               setting, and the step after a password
 *
 * Every database step goes through the store (store/passkeys.c); every check
 * of the browser's bytes through proto/webauthn.h.
 */
#ifndef DREAMAUTH_AUTH_PASSKEY_H
#define DREAMAUTH_AUTH_PASSKEY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "workers/http_server.h"
#include "workers/session.h"

#define PASSKEY_CHALLENGE_LEN 32	/* random bytes per challenge */
#define PASSKEY_CHALLENGE_TTL 300	/* seconds a challenge (and the ceremony) lives */
#define PASSKEY_PENDING_TTL 300		/* seconds a password sign-in waits for its passkey */
#define PASSKEY_NAME_MAX 80		/* bytes of a passkey's name */
/* Adding a passkey to an account needs a session this recent (BetterAuth's
 * freshAge): a stolen, older session cookie cannot plant a lasting way in. */
#define PASSKEY_FRESH_SESSION 86400
/* The browser's ceremony cookie: random, HttpOnly, on the passkey API only.
 * Challenges are bound to its hash, so one issued to a browser is refused
 * from any other. */
#define PASSKEY_BINDING_COOKIE "dreamauth_webauthn"
/* A password sign-in waiting for its passkey (the second factor). */
#define PASSKEY_PENDING_COOKIE "dreamauth_2fa"
#define PASSKEY_HASH_HEX_LEN (2 + 64 + 1)	/* "\x" + SHA-256 in hex + NUL */

/* ---- for the other workers' files ---- */

/* The HTML of a page slot that belongs to passkeys ("passkey_login",
 * "passkey_autocomplete", "passkey_signup", "passkey_account"): "" when
 * ENABLE_PASSKEYS=false, NULL for a name that is not passkeys'. For
 * workers/pages.c. */
const char *passkey_page_fragment(const char *name, size_t len);

/* After a password held for user_id: second_factor_gate(ex, user_id, "pwd",
 * ...) of workers/two_factor.h (a TOTP, or a passkey when the account wants
 * one after its password), kept under this name for the passkey files. */
typedef void (*passkey_gate_fn)(struct http_exchange *ex, int rc, void *arg);
void passkey_after_password(struct http_exchange *ex, const char *user_id, bool form, const char *rd,
    passkey_gate_fn done, void *arg);

/* ---- shared by the passkey files ---- */

/* "\x" + hex SHA-256 of data: how the store keeps challenges and tokens. */
void passkey_hash_hex(const void *data, size_t len, char out[PASSKEY_HASH_HEX_LEN]);
/* The hash of this browser's ceremony cookie into out; false when it has
 * none (or a malformed one). */
bool passkey_binding_hash(struct http_exchange *ex, char out[PASSKEY_HASH_HEX_LEN]);
/* The hash of the pending second-factor cookie; false when there is none. */
bool passkey_pending_hash(struct http_exchange *ex, char out[PASSKEY_HASH_HEX_LEN]);
void passkey_pending_cookie_set(struct http_exchange *ex, const char *token);
void passkey_pending_cookie_clear(struct http_exchange *ex);

/* JSON from this origin, or (body_optional) no body at all; false when
 * refused (the reply is sent). */
bool passkey_same_origin_json(struct http_exchange *ex, bool body_optional);
/* The body as a JSON object, or NULL (400 sent). */
json_t *passkey_json_body(struct http_exchange *ex);
/* Replies with o (taking it); 503 when it is NULL (out of memory). */
void passkey_reply(struct http_exchange *ex, int status, json_t *o);
/* A store failure: 503 with Retry-After. */
void passkey_reply_unavailable(struct http_exchange *ex);

/* "\x…" bytea hex -> bytes; -1 when malformed or longer than cap. */
long passkey_unhex(const char *hex, uint8_t *out, size_t cap);
/* bytes -> "\x…" bytea hex (out: 2 * len + 3 bytes). */
void passkey_hex(const uint8_t *in, size_t len, char *out);
/* A uuid's 16 bytes (the WebAuthn user handle) from its text; false when malformed. */
bool passkey_uuid_bytes(const char *text, uint8_t out[16]);
bool passkey_uuid_valid(const char *text);
/* A safe place to go after signing in: rd if allowed, else the account page. */
const char *passkey_after_sign_in_target(const char *rd);
/* A passkey's (or a person's) name: at most PASSKEY_NAME_MAX bytes, no
 * control characters or angle brackets. */
bool passkey_name_valid(const char *name);
/* Gives back the options request this IP was counted for (a ceremony
 * succeeded): only abandoned ceremonies stay counted. */
void passkey_refund_options(struct http_exchange *ex);
/* The amr of a session made with a passkey (RFC 8176): "hwk", plus "user"
 * and "mfa" when the authenticator verified the user; after a password,
 * "pwd" first and always "mfa". */
void passkey_amr(bool user_verified, bool after_password, char *out, size_t cap);
/* {"id", "email", "name"} of a session's user and {"id", "expires_at"} of the
 * session, as password sign-in answers. */
json_t *passkey_session_json(const struct session_entry *s);

/* Handlers in passkey_ceremony.c and passkey_manage.c. */
void passkey_verify_registration(struct http_exchange *ex);
void passkey_verify_authentication(struct http_exchange *ex);
void passkey_list(struct http_exchange *ex);
void passkey_update(struct http_exchange *ex);
void passkey_delete(struct http_exchange *ex);
void passkey_second_factor(struct http_exchange *ex);
#endif
