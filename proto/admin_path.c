/* Admin request paths (see admin_path.h). */
#include "proto/admin_path.h"

#include <string.h>

static bool segment_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	    c == '~' || c == ':' || c == '-';
}

int admin_path_split(const char *path, size_t len, const char *prefix, struct admin_path *out)
{
	size_t plen = strlen(prefix), i;

	memset(out, 0, sizeof(*out));
	if (!path || plen == 0 || prefix[plen - 1] != '/')
		return -1;
	if (len == plen - 1 && memcmp(path, prefix, len) == 0)
		return 0;
	if (len < plen || memcmp(path, prefix, plen) != 0)
		return -1;
	i = plen;
	while (i < len) {
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		size_t n = i - start;
		if (n == 0 || n > ADMIN_PATH_SEGMENT_MAX || out->n == ADMIN_PATH_MAX_SEGMENTS)
			return -1;
		for (size_t k = start; k < i; k++)
			if (!segment_byte(path[k]))
				return -1;
		if ((n == 1 && path[start] == '.') || (n == 2 && path[start] == '.' && path[start + 1] == '.'))
			return -1;
		memcpy(out->seg[out->n], path + start, n);
		out->seg[out->n][n] = '\0';
		out->n++;
		if (i < len)
			i++;	/* the slash; a trailing one ends the loop */
	}
	return 0;
}

bool admin_path_is(const struct admin_path *p, size_t i, const char *word)
{
	return i < p->n && strcmp(p->seg[i], word) == 0;
}
