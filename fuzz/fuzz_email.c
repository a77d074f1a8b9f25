/*
 * libFuzzer target for email_normalize (proto/email.c). Checks that accepted
 * output is NUL-terminated, within EMAIL_MAX_LEN, free of the bytes the spec
 * refuses, and a fixed point: normalizing it again gives the same string.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/email.h"
#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[EMAIL_MAX_LEN + 1], again[EMAIL_MAX_LEN + 1];
	size_t len, at_count = 0;

	/* Poison the buffer so a missing terminator would show as length > max. */
	memset(out, 'X', sizeof(out));
	if (email_normalize((const char *)data, size, out, sizeof(out)) != 0)
		return 0;
	len = strnlen(out, sizeof(out));
	assert(len < sizeof(out));
	assert(len <= EMAIL_MAX_LEN);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		assert(c > 0x20 && c != 0x7f);
		assert(!(c >= 'A' && c <= 'Z'));
		assert(c != '"' && c != '\\' && c != '<' && c != '>' && c != ',' && c != ';');
		at_count += c == '@';
	}
	assert(at_count == 1);
	assert(email_normalize(out, len, again, sizeof(again)) == 0);
	assert(strcmp(out, again) == 0);
	return 0;
}
