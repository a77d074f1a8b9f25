/*
 * The codes a person types for a second factor, as they reach us (JSON
 * strings, form fields): TOTP codes (6 digits; spaces between groups, as
 * apps show "123 456", are dropped) and recovery codes (10 characters of an
 * alphabet without look-alikes, shown as "XXXXX-XXXXX"; case, spaces and
 * hyphens ignored). Pure, no I/O; fuzzed (fuzz/fuzz_otp_code.c).
 */
#ifndef DREAMAUTH_OTP_CODE_H
#define DREAMAUTH_OTP_CODE_H
#include <stddef.h>
#include <stdint.h>

#define OTP_CODE_DIGITS 6
#define OTP_CODE_INPUT_MAX 32		/* longer input is refused unread */
#define RECOVERY_CODE_CHARS 10		/* 50 bits */
#define RECOVERY_CODE_RANDOM_BYTES 10	/* one byte per character (5 bits used) */
#define RECOVERY_CODE_TEXT_LEN (RECOVERY_CODE_CHARS + 2)	/* "XXXXX-XXXXX" + NUL */

/* in (len bytes) -> the 6 digits in out; 0 ok, -1 not a code. */
int otp_code_parse(const char *in, size_t len, char out[OTP_CODE_DIGITS + 1]);
/* in -> the 10 canonical characters (upper case, no separators) in out; 0
 * ok, -1 not a recovery code. */
int recovery_code_parse(const char *in, size_t len, char out[RECOVERY_CODE_CHARS + 1]);
/* A new recovery code for display ("XXXXX-XXXXX") from random bytes. */
void recovery_code_format(const uint8_t random[RECOVERY_CODE_RANDOM_BYTES], char out[RECOVERY_CODE_TEXT_LEN]);
#endif
