/*
 * libFuzzer target for proto/cors_origin.c. Invariants: whatever is accepted
 * comes out canonical (lower case, http or https, no path, no userinfo, no
 * default port), parsing the canonical form again gives itself, and the list
 * parser never returns more than asked or a non-canonical entry.
 */
#undef NDEBUG
#include "proto/cors_origin.h"
#include <assert.h>
#include <stdint.h>
#include <string.h>

static void check_canonical(const char *o)
{
	char again[CORS_ORIGIN_MAX];
	size_t len = strlen(o);
	const char *auth;

	assert(!strncmp(o, "https://", 8) || !strncmp(o, "http://", 7));
	auth = strstr(o, "://") + 3;
	assert(*auth);
	for (const char *p = auth; *p; p++) {
		assert(*p > 0x20 && *p < 0x7f);
		assert(!(*p >= 'A' && *p <= 'Z'));
		assert(*p != '/' && *p != '@' && *p != '?' && *p != '#' && *p != '\\' && *p != ',');
	}
	assert(!(len > 4 && !strcmp(o + len - 4, ":443") && !strncmp(o, "https", 5)));
	assert(cors_origin_parse(o, len, again, sizeof(again)));
	assert(!strcmp(again, o));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[CORS_ORIGIN_MAX], err[200];
	char list[4][CORS_ORIGIN_MAX];
	size_t n = 99;

	if (cors_origin_parse((const char *)data, size, out, sizeof(out)))
		check_canonical(out);
	if (cors_origin_of_url((const char *)data, size, out, sizeof(out)))
		check_canonical(out);
	if (cors_origin_list_parse((const char *)data, size, list, 4, &n, err, sizeof(err)) == 0) {
		assert(n >= 1 && n <= 4);
		for (size_t i = 0; i < n; i++)
			check_canonical(list[i]);
	} else {
		for (const char *p = err; *p; p++)
			assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	}
	return 0;
}
