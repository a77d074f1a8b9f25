/* TOTP through liboath (see totp.h). */
#include "common/totp.h"
#include "common/secure.h"
#include "proto/form.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;

static void oath_start(void)
{
	oath_init();
}

/* liboath hands us each candidate code; 0 means "this is the one". */
static int code_equal(void *handle, const char *candidate)
{
	return secure_str_equal((const char *)handle, candidate) ? 0 : 1;
}

bool totp_check(const uint8_t *secret, size_t len, int64_t now, unsigned digits, unsigned window, const char *code,
    uint64_t *step)
{
	int pos = 0;
	uint64_t counter = 0;
	size_t n = strlen(code);

	if (n != digits || strspn(code, "0123456789") != n || now < 0)
		return false;
	pthread_once(&oath_once, oath_start);
	int rc = oath_totp_validate3_callback((const char *)secret, len, (time_t)now, TOTP_STEP, 0, digits, window, &pos,
	    &counter, code_equal, (void *)code);
	if (rc < 0)
		return false;
	*step = counter;
	return true;
}

int totp_code(const uint8_t *secret, size_t len, int64_t now, unsigned digits, char *out)
{
	pthread_once(&oath_once, oath_start);
	return oath_totp_generate((const char *)secret, len, (time_t)now, TOTP_STEP, 0, digits, out) == OATH_OK ? 0 : -1;
}

int totp_base32(const uint8_t *secret, size_t len, char *out, size_t cap)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t o = 0;
	unsigned buffer = 0, bits = 0;

	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | secret[i];
		bits += 8;
		while (bits >= 5) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits) {
		if (o + 1 >= cap)
			return -1;
		out[o++] = alphabet[(buffer << (5 - bits)) & 31];
	}
	out[o] = '\0';
	return 0;
}

int totp_uri(const char *issuer, const char *account, const char *base32, char *out, size_t cap)
{
	char label_issuer[256], label_account[800], param_issuer[256];
	if (url_encode(issuer, strlen(issuer), label_issuer, sizeof(label_issuer)) < 0 ||
	    url_encode(account, strlen(account), label_account, sizeof(label_account)) < 0 ||
	    url_encode(issuer, strlen(issuer), param_issuer, sizeof(param_issuer)) < 0)
		return -1;
	int n = snprintf(out, cap, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
	    label_issuer, label_account, base32, param_issuer, TOTP_DIGITS, TOTP_STEP);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
