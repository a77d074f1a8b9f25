/*
 * TOTP (RFC 6238, HMAC-SHA-1, 30-second steps from the Unix epoch) through
 * liboath: the one place codes are computed and compared (the store checks
 * codes with it; the unit tests run RFC 6238's Appendix B through it).
 */
#ifndef DREAMAUTH_TOTP_H
#define DREAMAUTH_TOTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20	/* bytes, as RFC 4226 recommends (160 bits) */
#define TOTP_STEP 30		/* seconds */
#define TOTP_DIGITS 6
#define TOTP_WINDOW 1		/* steps accepted either side of now (clock drift) */
#define TOTP_BASE32_LEN 33	/* 20 bytes in base32, no padding, + NUL */

/* Does code (digits ASCII digits) match secret at a step within window of
 * now's? true with *step the matching step (T = floor(unix / 30)). The
 * comparison is constant-time per candidate. */
bool totp_check(const uint8_t *secret, size_t len, int64_t now, unsigned digits, unsigned window, const char *code,
    uint64_t *step);
/* The code at time now, for tests and tools (out: digits + 1 bytes). 0 ok. */
int totp_code(const uint8_t *secret, size_t len, int64_t now, unsigned digits, char *out);
/* secret as base32 (RFC 4648) without padding, as authenticator apps take
 * it. 0 ok. */
int totp_base32(const uint8_t *secret, size_t len, char *out, size_t cap);
/* The otpauth:// URI (Key Uri Format) of an enrollment: issuer and account
 * label, the secret in base32, SHA1, 6 digits, 30 s. 0 ok, -1 too long. */
int totp_uri(const char *issuer, const char *account, const char *base32, char *out, size_t cap);
#endif
