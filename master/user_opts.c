/* Checks and option parsing for `dreamauth user ...` (see user_opts.h). */
#include "master/user_opts.h"
#include "kdf/kdf.h"
#include "proto/display_name.h"

#include <string.h>

size_t user_utf8_chars(const char *s, size_t len)
{
	size_t chars = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return chars;
}

bool user_password_acceptable(const char *pw, size_t len)
{
	return pw && len <= KDF_MAX_PASSWORD && user_utf8_chars(pw, len) >= USER_PASSWORD_MIN_CHARS;
}

_Static_assert(USER_NAME_MAX_BYTES == DISPLAY_NAME_MAX_BYTES, "one limit for names, CLI and sign-up");

bool user_name_valid(const char *name)
{
	return display_name_problem(name, strlen(name)) == NULL;
}

bool user_groups_valid(const char *groups)
{
	if (strlen(groups) > USER_GROUPS_MAX_BYTES)
		return false;
	for (const char *p = groups; *p; p++) {
		unsigned char c = (unsigned char)*p;
		/* Groups travel in X-Auth-Groups and tokens: printable ASCII, no separators. */
		if (c <= 0x20 || c >= 0x7f || strchr("\"\\;<>{}", c))
			return false;
		if (c == ',' && (p == groups || p[1] == '\0' || p[1] == ','))
			return false;	/* no empty group */
	}
	return true;
}

int user_set_parse(int argc, char *const *argv, struct user_set_opts *out)
{
	bool groups_seen = false;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--admin") || !strcmp(a, "--no-admin")) {
			if (out->admin != USER_ADMIN_KEEP)
				return -1;
			out->admin = a[2] == 'a' ? USER_ADMIN_GRANT : USER_ADMIN_REVOKE;
		} else if (!strcmp(a, "--name")) {
			if (out->name || i + 1 >= argc)
				return -1;
			out->name = argv[++i];
		} else if (!strcmp(a, "--groups") || !strcmp(a, "--no-groups")) {
			if (groups_seen)
				return -1;
			groups_seen = true;
			if (a[2] == 'n') {
				out->groups = "";
				out->clear_groups = true;
			} else {
				if (i + 1 >= argc)
					return -1;
				out->groups = argv[++i];
			}
		} else if (a[0] != '-' && !out->email) {
			out->email = a;
		} else {
			return -1;
		}
	}
	if (!out->email || (out->admin == USER_ADMIN_KEEP && !out->name && !groups_seen))
		return -1;
	return 0;
}
