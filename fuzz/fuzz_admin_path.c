/*
 * libFuzzer target for proto/admin_path.c: whatever the path, a split that
 * succeeds gives at most ADMIN_PATH_MAX_SEGMENTS non-empty segments of
 * allowed bytes (never "." or ".."), whose slash-joined form under the
 * prefix is the input (less one trailing slash).
 */
#include "proto/admin_path.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_path p;
	char joined[2048];
	size_t o;

	if (admin_path_split((const char *)data, size, "/api/admin/", &p) < 0)
		return 0;
	if (p.n > ADMIN_PATH_MAX_SEGMENTS)
		abort();
	o = (size_t)snprintf(joined, sizeof(joined), "/api/admin");
	for (size_t i = 0; i < p.n; i++) {
		size_t n = strlen(p.seg[i]);
		if (n == 0 || n > ADMIN_PATH_SEGMENT_MAX || !strcmp(p.seg[i], ".") || !strcmp(p.seg[i], "..") ||
		    strspn(p.seg[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:-") != n)
			abort();
		o += (size_t)snprintf(joined + o, sizeof(joined) - o, "/%s", p.seg[i]);
	}
	size_t len = size;
	if (len > 10 && data[len - 1] == '/' && p.n > 0)
		len--;
	if (p.n > 0 && (o != len || memcmp(joined, data, len) != 0))
		abort();
	return 0;
}
