/*
 * libFuzzer target for proto/app_role.c: an accepted role or permission
 * name never holds a byte that could split a header or a list; a normalized
 * permission list is comma-joined valid permissions, fits its buffer, and
 * normalizing it again is the identity.
 */
#include "proto/app_role.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char out[1024], again[1024];

	if (app_role_name_valid(s, size) && (size > APP_ROLE_NAME_MAX || memchr(s, ',', size) || memchr(s, ' ', size) ||
	                                        memchr(s, '\n', size) || memchr(s, '\0', size)))
		abort();
	if (app_permission_valid(s, size) && (size > APP_PERMISSION_MAX || memchr(s, ',', size) || memchr(s, '\r', size) ||
	                                         memchr(s, '\0', size)))
		abort();
	int n = app_permissions_normalize(s, size, out, sizeof(out));
	if (n < 0)
		return 0;
	size_t len = strlen(out);
	if (n > APP_ROLE_MAX_PERMISSIONS || len >= sizeof(out))
		abort();
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i == len || out[i] == ',') {
			if (len && !app_permission_valid(out + start, i - start))
				abort();
			start = i + 1;
		}
	}
	if (app_permissions_normalize(out, len, again, sizeof(again)) != n || strcmp(out, again) != 0)
		abort();
	return 0;
}
