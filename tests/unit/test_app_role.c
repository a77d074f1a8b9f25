/* Unit tests for proto/app_role.c: role and permission names, and the
 * permission lists the admin API and console accept. */
#include "proto/app_role.h"
#include "tests/unit/check.h"

static bool role(const char *s)
{
	return app_role_name_valid(s, strlen(s));
}

static bool perm(const char *s)
{
	return app_permission_valid(s, strlen(s));
}

static void test_role_names(void)
{
	CHECK(role("editor"));
	CHECK(role("billing.admin"));
	CHECK(role("team:ops-2"));
	CHECK(role("0day"));
	char max[APP_ROLE_NAME_MAX + 2];
	memset(max, 'r', APP_ROLE_NAME_MAX);
	max[APP_ROLE_NAME_MAX] = '\0';
	CHECK(role(max));
	max[APP_ROLE_NAME_MAX] = 'r';
	max[APP_ROLE_NAME_MAX + 1] = '\0';
	CHECK(!role(max));
	CHECK(!role(""));
	CHECK(!role("Editor"));		/* lower case only: one spelling per role */
	CHECK(!role("-x"));
	CHECK(!role(".x"));
	CHECK(!role("a,b"));		/* X-Auth-Roles is comma-joined */
	CHECK(!role("a b"));
	CHECK(!role("a\r\nX-Evil: 1"));
	CHECK(!role("é"));
	CHECK(!app_role_name_valid("ab\0c", 4));
	CHECK(!app_role_name_valid(NULL, 0));
}

static void test_permission_names(void)
{
	CHECK(perm("posts:write"));
	CHECK(perm("api/*"));
	CHECK(perm("Read.All"));
	CHECK(!perm("*"));		/* must start with a letter or digit */
	CHECK(!perm("a b"));
	CHECK(!perm("a,b"));
	CHECK(!perm("a\"b"));
	CHECK(!perm("a\nb"));
	char big[APP_PERMISSION_MAX + 2];
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(!perm(big));
	big[APP_PERMISSION_MAX] = '\0';
	CHECK(perm(big));
}

static void test_normalize(void)
{
	char out[256];
	const char *in = " posts:read, posts:write\nposts:read\r\n\tapi/* ";
	CHECK_EQ_INT(app_permissions_normalize(in, strlen(in), out, sizeof(out)), 3);
	CHECK_EQ_STR(out, "posts:read,posts:write,api/*");
	CHECK_EQ_INT(app_permissions_normalize("", 0, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(app_permissions_normalize(" , ,", 4, out, sizeof(out)), 0);
	CHECK_EQ_INT(app_permissions_normalize("ok,b@d", 6, out, sizeof(out)), -1);
	CHECK_EQ_INT(app_permissions_normalize("abc,def", 7, out, 5), -1);	/* does not fit */
	/* at most APP_ROLE_MAX_PERMISSIONS distinct ones */
	char many[2048] = "";
	size_t o = 0;
	for (int i = 0; i <= APP_ROLE_MAX_PERMISSIONS; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "p%d,", i);
	char big[4096];
	CHECK_EQ_INT(app_permissions_normalize(many, o, big, sizeof(big)), -1);
	CHECK_EQ_INT(app_permissions_normalize(many, o - 4, big, sizeof(big)), APP_ROLE_MAX_PERMISSIONS);
}

int main(void)
{
	test_role_names();
	test_permission_names();
	test_normalize();
	return CHECK_DONE();
}
