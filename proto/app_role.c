/* Role and permission names (see app_role.h). */
#include "proto/app_role.h"

#include <string.h>

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool app_role_name_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > APP_ROLE_NAME_MAX || !lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!lower_alnum(s[i]) && (!s[i] || !strchr("._:-", s[i])))
			return false;
	return true;
}

bool app_permission_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > APP_PERMISSION_MAX || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!alnum(s[i]) && (!s[i] || !strchr("._:/*-", s[i])))
			return false;
	return true;
}

static bool separator(char c)
{
	return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Is in[start..start+n) already among the comma-joined items of out[0..used)? */
static bool already_listed(const char *out, size_t used, const char *item, size_t n)
{
	size_t i = 0;
	while (i < used) {
		const char *comma = memchr(out + i, ',', used - i);
		size_t end = comma ? (size_t)(comma - out) : used;
		if (end - i == n && memcmp(out + i, item, n) == 0)
			return true;
		i = end + 1;
	}
	return false;
}

int app_permissions_normalize(const char *in, size_t len, char *out, size_t cap)
{
	size_t used = 0, i = 0;
	int count = 0;

	if (!out || cap == 0)
		return -1;
	out[0] = '\0';
	while (i < len) {
		while (i < len && separator(in[i]))
			i++;
		size_t start = i;
		while (i < len && !separator(in[i]))
			i++;
		size_t n = i - start;
		if (n == 0)
			continue;
		if (!app_permission_valid(in + start, n))
			return -1;
		if (already_listed(out, used, in + start, n))
			continue;
		if (++count > APP_ROLE_MAX_PERMISSIONS || used + (used ? 1 : 0) + n + 1 > cap)
			return -1;
		if (used)
			out[used++] = ',';
		memcpy(out + used, in + start, n);
		used += n;
		out[used] = '\0';
	}
	return count;
}
