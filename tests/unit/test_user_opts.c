/* `dreamauth user ...` value checks and `user set` option parsing (master/user_opts.c). */
#include "kdf/kdf.h"
#include "master/user_opts.h"
#include "tests/unit/check.h"

#include <string.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(int argc, char *const *argv, struct user_set_opts *o)
{
	return user_set_parse(argc, argv, o);
}

int main(void)
{
	struct user_set_opts o;
	char big[KDF_MAX_PASSWORD + 2];

	/* passwords: characters, not bytes, for the minimum; bytes for the maximum */
	CHECK(!user_password_acceptable(NULL, 0));
	CHECK(!user_password_acceptable("", 0));
	CHECK(!user_password_acceptable("1234567", 7));
	CHECK(user_password_acceptable("12345678", 8));
	CHECK(!user_password_acceptable("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8));	/* 4 characters in 8 bytes */
	CHECK(user_password_acceptable("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 16));
	memset(big, 'x', sizeof(big));
	CHECK(user_password_acceptable(big, KDF_MAX_PASSWORD));
	CHECK(!user_password_acceptable(big, KDF_MAX_PASSWORD + 1));
	CHECK_EQ_INT((int)user_utf8_chars("a\xe2\x82\xac" "b", 5), 3);

	/* names */
	CHECK(user_name_valid(""));
	CHECK(user_name_valid("Zoë Ops"));
	CHECK(!user_name_valid("a\nb"));
	CHECK(!user_name_valid("a\rb"));
	CHECK(!user_name_valid("<script>"));
	CHECK(!user_name_valid("tab\there"));
	CHECK(!user_name_valid("a\x0b\x1b[31mb\x7f"));
	CHECK(!user_name_valid("evil\xe2\x80\xaegpj.exe"));
	CHECK(!user_name_valid("c1 \xc2\x9b" "31m"));
	CHECK(!user_name_valid("not utf-8 \xff"));
	memset(big, 'n', USER_NAME_MAX_BYTES);
	big[USER_NAME_MAX_BYTES] = '\0';
	CHECK(user_name_valid(big));
	big[USER_NAME_MAX_BYTES] = 'n';
	big[USER_NAME_MAX_BYTES + 1] = '\0';
	CHECK(!user_name_valid(big));

	/* groups */
	CHECK(user_groups_valid(""));
	CHECK(user_groups_valid("admins"));
	CHECK(user_groups_valid("admins,ops,dev-team_2"));
	CHECK(!user_groups_valid(","));
	CHECK(!user_groups_valid("a,,b"));
	CHECK(!user_groups_valid(",a"));
	CHECK(!user_groups_valid("a,"));
	CHECK(!user_groups_valid("a b"));
	CHECK(!user_groups_valid("a;b"));
	CHECK(!user_groups_valid("a\"b"));
	CHECK(!user_groups_valid("a\\b"));
	CHECK(!user_groups_valid("a<b>"));
	CHECK(!user_groups_valid("a{b}"));
	CHECK(!user_groups_valid("caf\xc3\xa9"));
	CHECK(!user_groups_valid("a\x7f"));
	CHECK(!user_groups_valid("a\r\nX-Evil: 1"));
	memset(big, 'g', USER_GROUPS_MAX_BYTES);
	big[USER_GROUPS_MAX_BYTES] = '\0';
	CHECK(user_groups_valid(big));
	big[USER_GROUPS_MAX_BYTES] = 'g';
	big[USER_GROUPS_MAX_BYTES + 1] = '\0';
	CHECK(!user_groups_valid(big));

	/* user set: well-formed commands */
	{
		char *a[] = { "u@example.com", "--admin" };
		CHECK_EQ_INT(parse(ARGC(a), a, &o), 0);
		CHECK_EQ_STR(o.email, "u@example.com");
		CHECK_EQ_INT(o.admin, USER_ADMIN_GRANT);
		CHECK(!o.name && !o.groups && !o.clear_groups);
	}
	{
		char *a[] = { "--no-admin", "--name", "New Name", "u@example.com", "--groups", "a,b" };
		CHECK_EQ_INT(parse(ARGC(a), a, &o), 0);
		CHECK_EQ_STR(o.email, "u@example.com");
		CHECK_EQ_INT(o.admin, USER_ADMIN_REVOKE);
		CHECK_EQ_STR(o.name, "New Name");
		CHECK_EQ_STR(o.groups, "a,b");
		CHECK(!o.clear_groups);
	}
	{
		char *a[] = { "u@example.com", "--no-groups" };
		CHECK_EQ_INT(parse(ARGC(a), a, &o), 0);
		CHECK_EQ_INT(o.admin, USER_ADMIN_KEEP);
		CHECK_EQ_STR(o.groups, "");
		CHECK(o.clear_groups);
	}
	{
		/* An empty value parses (the command rejects it with a clear message). */
		char *a[] = { "u@example.com", "--groups", "" };
		CHECK_EQ_INT(parse(ARGC(a), a, &o), 0);
		CHECK_EQ_STR(o.groups, "");
		CHECK(!o.clear_groups);
		char *b[] = { "u@example.com", "--name", "" };
		CHECK_EQ_INT(parse(ARGC(b), b, &o), 0);
		CHECK_EQ_STR(o.name, "");
	}
	{
		/* A value that looks like an option is still the value. */
		char *a[] = { "u@example.com", "--name", "--admin" };
		CHECK_EQ_INT(parse(ARGC(a), a, &o), 0);
		CHECK_EQ_STR(o.name, "--admin");
		CHECK_EQ_INT(o.admin, USER_ADMIN_KEEP);
	}

	/* user set: usage errors */
	{
		char *none[] = { "u@example.com" };
		CHECK_EQ_INT(parse(ARGC(none), none, &o), -1);
		CHECK_EQ_INT(parse(0, NULL, &o), -1);
		char *no_email[] = { "--admin" };
		CHECK_EQ_INT(parse(ARGC(no_email), no_email, &o), -1);
		char *two_emails[] = { "u@example.com", "v@example.com", "--admin" };
		CHECK_EQ_INT(parse(ARGC(two_emails), two_emails, &o), -1);
		char *both_admin[] = { "u@example.com", "--admin", "--no-admin" };
		CHECK_EQ_INT(parse(ARGC(both_admin), both_admin, &o), -1);
		char *twice_admin[] = { "u@example.com", "--admin", "--admin" };
		CHECK_EQ_INT(parse(ARGC(twice_admin), twice_admin, &o), -1);
		char *both_groups[] = { "u@example.com", "--groups", "a", "--no-groups" };
		CHECK_EQ_INT(parse(ARGC(both_groups), both_groups, &o), -1);
		char *twice_groups[] = { "u@example.com", "--groups", "a", "--groups", "b" };
		CHECK_EQ_INT(parse(ARGC(twice_groups), twice_groups, &o), -1);
		char *twice_name[] = { "u@example.com", "--name", "a", "--name", "b" };
		CHECK_EQ_INT(parse(ARGC(twice_name), twice_name, &o), -1);
		char *missing_name[] = { "u@example.com", "--name" };
		CHECK_EQ_INT(parse(ARGC(missing_name), missing_name, &o), -1);
		char *missing_groups[] = { "u@example.com", "--groups" };
		CHECK_EQ_INT(parse(ARGC(missing_groups), missing_groups, &o), -1);
		char *unknown[] = { "u@example.com", "--frobnicate" };
		CHECK_EQ_INT(parse(ARGC(unknown), unknown, &o), -1);
		char *joined[] = { "u@example.com", "--groups=a" };
		CHECK_EQ_INT(parse(ARGC(joined), joined, &o), -1);
		char *dash[] = { "-", "--admin" };
		CHECK_EQ_INT(parse(ARGC(dash), dash, &o), -1);
	}
	return CHECK_DONE();
}
