/*
 * Second factors: TOTP (RFC 6238) and recovery codes on BetterAuth's
 * two-factor plugin paths, the gate every first factor passes, the code page
 * of the sign-in, and the account page's forms. Files:
 *
 *   workers/two_factor_gate.c   second_factor_gate (after a first factor),
 *                               checking a code (pending sign-in or signed
 *                               in), the amr of the session it opens
 *   workers/two_factor_api.c    POST /api/auth/two-factor/{enable,
 *                               verify-totp, verify-backup-code, disable,
 *                               generate-backup-codes}, password re-checks
 *   workers/two_factor_pages.c  /login/two-factor, /account/two-factor/...,
 *                               the account page's section
 *   workers/qr_svg.c            the QR code of an enrollment, as SVG
 *
 * Secrets stay in the store (store/two_factor.c): a worker sees a TOTP
 * secret once, in the reply that enrolls it, and never again; codes are
 * checked there.
 */
#ifndef DREAMAUTH_TWO_FACTOR_H
#define DREAMAUTH_TWO_FACTOR_H
#include <stdbool.h>
#include <stddef.h>
#include <event2/buffer.h>
#include "proto/otp_code.h"
#include "proto/store_wire.h"
#include "workers/http_server.h"
#include "workers/session.h"

#define TWO_FACTOR_PENDING_TTL 300	/* seconds a first factor waits for its second */
#define TWO_FACTOR_PENDING_MAX_ATTEMPTS 5	/* wrong codes one pending sign-in may present */
#define TWO_FACTOR_RECOVERY_CODES 10
#define TWO_FACTOR_LIMIT_PREFIX "2fa:"	/* shared-memory counter of code attempts per IP */

/* ---- for the first factors ---- */

/* After a first factor held for user_id (password sign-in, and any other
 * first factor: first_amr is what it puts in amr, e.g. "pwd"): does the
 * account want a second factor? done(ex, rc, arg): rc 0 no, open the
 * session with first_amr; 1 yes, and the reply is sent (the pending cookie,
 * then a 303 to the code page for a form, or {"twoFactorRedirect": true,
 * "twoFactorMethods": [...]} for JSON); -1 the store could not tell
 * (nothing sent). rd: where to go after. */
typedef void (*second_factor_gate_fn)(struct http_exchange *ex, int rc, void *arg);
void second_factor_gate(struct http_exchange *ex, const char *user_id, const char *first_amr, bool form,
    const char *rd, second_factor_gate_fn done, void *arg);

/* The amr of a session opened with first then second (RFC 8176 values,
 * comma separated, no repeats), with "mfa" when both are given. */
void two_factor_amr(const char *first, const char *second, char *out, size_t cap);

/* ---- shared by the two-factor files ---- */

enum two_factor_kind { TWO_FACTOR_TOTP, TWO_FACTOR_RECOVERY };

/* What a code check came to (two_factor_check's callback):
 * TF_SIGNED_IN     a pending sign-in finished: the session is open (s)
 * TF_CONFIRMED     a signed-in user's code held (confirmed: it turned the
 *                  enrollment on)
 * TF_REFUSED       a refusal (status, error code and message given)
 * TF_UNAVAILABLE   the store or the session could not answer */
enum two_factor_verdict { TF_SIGNED_IN, TF_CONFIRMED, TF_REFUSED, TF_UNAVAILABLE };
struct two_factor_outcome {
	enum two_factor_verdict verdict;
	int status;
	const char *error, *message;
	bool confirmed;
	const struct session_entry *s;
};
typedef void (*two_factor_check_fn)(struct http_exchange *ex, const struct two_factor_outcome *o, void *arg);

/* Checks code (as typed) of kind: against the pending sign-in in the
 * browser's cookie when it has one, else for the signed-in user_id (NULL:
 * none). Counts the attempt per IP first (429 refusals), and opens the
 * session when a pending sign-in is finished. done is called once. */
void two_factor_check(struct http_exchange *ex, enum two_factor_kind kind, const char *code, const char *user_id,
    two_factor_check_fn done, void *arg);

/* Ten new recovery codes for display, and their hashes as the store takes
 * them (hex SHA-256 of the canonical form, comma separated). */
struct recovery_codes {
	char text[TWO_FACTOR_RECOVERY_CODES][RECOVERY_CODE_TEXT_LEN];
	char hashes[TWO_FACTOR_RECOVERY_CODES * 65];
};
void recovery_codes_new(struct recovery_codes *c);
/* The hex SHA-256 of a canonical recovery code (out: 65 bytes). */
void recovery_code_hash(const char canonical[RECOVERY_CODE_CHARS + 1], char out[65]);

/* Re-checks the signed-in user's password (kdf) before a change to their
 * second factors, counted per account like sign-in. done(ex, rc, arg): 1
 * right, 0 wrong (or no password), -1 unavailable, -2 throttled (a
 * Retry-After header is set). */
typedef void (*password_recheck_fn)(struct http_exchange *ex, int rc, void *arg);
void two_factor_password_recheck(struct http_exchange *ex, const char *user_id, const char *password,
    password_recheck_fn done, void *arg);

/* The enrollment's otpauth:// URI from the store's base32 secret; 0 ok. */
int two_factor_totp_uri(const char *email, const char *base32, char *out, size_t cap);

/* The account page's two-factor section (status: TWO_FACTOR_STATUS's reply,
 * NULL when the store failed), with forms carrying csrf. */
void two_factor_account_html(const struct store_reply *status, const char *csrf, struct evbuffer *out);

/* ---- handlers ---- */

void handle_two_factor(struct http_exchange *ex);	/* /api/auth/two-factor/... */
void handle_two_factor_page(struct http_exchange *ex);	/* GET /login/two-factor */
void handle_two_factor_form(struct http_exchange *ex);	/* POST /login/two-factor */
void handle_account_two_factor(struct http_exchange *ex);	/* POST /account/two-factor/... */

/* handlers of two_factor_api.c used by its routes */
void two_factor_enable(struct http_exchange *ex);
void two_factor_verify_totp(struct http_exchange *ex);
void two_factor_verify_backup_code(struct http_exchange *ex);
void two_factor_disable(struct http_exchange *ex);
void two_factor_generate_backup_codes(struct http_exchange *ex);
#endif
