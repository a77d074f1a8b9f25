/*
 * Pure checks and option parsing for `dreamauth user ...` (master/cli_user.c):
 * no I/O, so they are unit-tested (tests/unit/test_user_opts.c).
 */
#ifndef DREAMAUTH_USER_OPTS_H
#define DREAMAUTH_USER_OPTS_H
#include <stdbool.h>
#include <stddef.h>

#define USER_PASSWORD_MIN_CHARS 8
#define USER_NAME_MAX_BYTES 80	/* DISPLAY_NAME_MAX_BYTES */
#define USER_GROUPS_MAX_BYTES 150	/* the session cache keeps 160 bytes of groups */

/* Code points in UTF-8 text (continuation bytes are not counted). */
size_t user_utf8_chars(const char *s, size_t len);

/* USER_PASSWORD_MIN_CHARS characters up to KDF_MAX_PASSWORD bytes. */
bool user_password_acceptable(const char *pw, size_t len);

/* A storable display name (proto/display_name.h): at most USER_NAME_MAX_BYTES,
 * UTF-8 without control or format characters, no angle brackets. */
bool user_name_valid(const char *name);

/* Comma-separated names of printable ASCII without separators or quotes, no
 * empty name, at most USER_GROUPS_MAX_BYTES; "" (no groups) is valid. */
bool user_groups_valid(const char *groups);

/* `user set <email> [--admin | --no-admin] [--name NAME] [--groups a,b | --no-groups]` */
enum user_admin_change { USER_ADMIN_KEEP, USER_ADMIN_GRANT, USER_ADMIN_REVOKE };
struct user_set_opts {
	const char *email;
	enum user_admin_change admin;
	const char *name;	/* NULL: keep */
	const char *groups;	/* NULL: keep; "" with clear_groups: none */
	bool clear_groups;
};

/* 0, or -1 when the arguments are not a well-formed command (usage error):
 * no email, an unknown or repeated option, a missing value, contradictory
 * options (--admin with --no-admin, --groups with --no-groups), or no change
 * at all. Values are not checked here (see user_name_valid, user_groups_valid). */
int user_set_parse(int argc, char *const *argv, struct user_set_opts *out);
#endif
