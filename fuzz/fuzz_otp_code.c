/*
 * libFuzzer target for the second-factor code parsers (proto/otp_code.c):
 * accepted TOTP codes are exactly 6 ASCII digits; accepted recovery codes are
 * 10 characters of the alphabet, upper case, and a fixed point (parsing the
 * canonical form, or its display form, gives it back).
 */
#undef NDEBUG
#include "proto/otp_code.h"
#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char code[OTP_CODE_DIGITS + 1], rc[RECOVERY_CODE_CHARS + 1], again[RECOVERY_CODE_CHARS + 1];

	memset(code, 'X', sizeof(code));
	if (otp_code_parse((const char *)data, size, code) == 0) {
		assert(strnlen(code, sizeof(code)) == OTP_CODE_DIGITS);
		for (size_t i = 0; i < OTP_CODE_DIGITS; i++)
			assert(code[i] >= '0' && code[i] <= '9');
		assert(size <= OTP_CODE_INPUT_MAX);
	}
	memset(rc, 'X', sizeof(rc));
	if (recovery_code_parse((const char *)data, size, rc) == 0) {
		assert(strnlen(rc, sizeof(rc)) == RECOVERY_CODE_CHARS);
		for (size_t i = 0; i < RECOVERY_CODE_CHARS; i++)
			assert(strchr("23456789ABCDEFGHJKLMNPQRSTUVWXYZ", rc[i]) && rc[i]);
		assert(recovery_code_parse(rc, strlen(rc), again) == 0 && strcmp(rc, again) == 0);
	}
	if (size >= RECOVERY_CODE_RANDOM_BYTES) {
		char text[RECOVERY_CODE_TEXT_LEN];
		recovery_code_format(data, text);
		assert(strlen(text) == RECOVERY_CODE_TEXT_LEN - 1 && text[5] == '-');
		assert(recovery_code_parse(text, strlen(text), again) == 0);
	}
	return 0;
}
