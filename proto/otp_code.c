/* Second-factor codes as typed (see otp_code.h). */
#include "proto/otp_code.h"

#include <string.h>

/* 32 symbols: digits 2-9 and letters without I and O (no 0/O, 1/I/L mix-ups
 * for the digits that are left). */
static const char recovery_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

int otp_code_parse(const char *in, size_t len, char out[OTP_CODE_DIGITS + 1])
{
	size_t n = 0;
	if (!in || len > OTP_CODE_INPUT_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ')
			continue;
		if (in[i] < '0' || in[i] > '9' || n == OTP_CODE_DIGITS)
			return -1;
		out[n++] = in[i];
	}
	out[n] = '\0';
	return n == OTP_CODE_DIGITS ? 0 : -1;
}

int recovery_code_parse(const char *in, size_t len, char out[RECOVERY_CODE_CHARS + 1])
{
	size_t n = 0;
	if (!in || len > OTP_CODE_INPUT_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '\0' || !strchr(recovery_alphabet, c) || n == RECOVERY_CODE_CHARS)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == RECOVERY_CODE_CHARS ? 0 : -1;
}

void recovery_code_format(const uint8_t random[RECOVERY_CODE_RANDOM_BYTES], char out[RECOVERY_CODE_TEXT_LEN])
{
	size_t o = 0;
	for (size_t i = 0; i < RECOVERY_CODE_CHARS; i++) {
		if (i == RECOVERY_CODE_CHARS / 2)
			out[o++] = '-';
		out[o++] = recovery_alphabet[random[i] & 31];
	}
	out[o] = '\0';
}
