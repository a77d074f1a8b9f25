/* Unit tests for proto/admin_path.c: the segments of admin API paths. */
#include "proto/admin_path.h"
#include "tests/unit/check.h"

static int split(const char *path, struct admin_path *p)
{
	return admin_path_split(path, strlen(path), "/api/admin/", p);
}

int main(void)
{
	struct admin_path p;

	CHECK_EQ_INT(split("/api/admin", &p), 0);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(split("/api/admin/", &p), 0);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(split("/api/admin/users", &p), 0);
	CHECK_EQ_INT(p.n, 1);
	CHECK(admin_path_is(&p, 0, "users"));
	CHECK(!admin_path_is(&p, 1, "users"));
	CHECK_EQ_INT(split("/api/admin/users/0b4e1d3a-4b1c-4d6e-9f00-0123456789ab/sessions/s1/", &p), 0);
	CHECK_EQ_INT(p.n, 4);
	CHECK_EQ_STR(p.seg[1], "0b4e1d3a-4b1c-4d6e-9f00-0123456789ab");
	CHECK_EQ_STR(p.seg[3], "s1");
	CHECK_EQ_INT(split("/api/admin/clients/my.app~1/roles/team:ops", &p), 0);
	CHECK_EQ_STR(p.seg[3], "team:ops");
	/* refused */
	CHECK_EQ_INT(split("/api/adminx", &p), -1);
	CHECK_EQ_INT(split("/api/admin//users", &p), -1);
	CHECK_EQ_INT(split("/api/admin/users//", &p), -1);
	CHECK_EQ_INT(split("/api/admin/../etc", &p), -1);
	CHECK_EQ_INT(split("/api/admin/users/.", &p), -1);
	CHECK_EQ_INT(split("/api/admin/users/a%2Fb", &p), -1);
	CHECK_EQ_INT(split("/api/admin/users/a b", &p), -1);
	CHECK_EQ_INT(split("/api/admin/a/b/c/d/e/f/g", &p), -1);
	CHECK_EQ_INT(admin_path_split("/api/admin/ab\0c", 15, "/api/admin/", &p), -1);
	char big[300] = "/api/admin/";
	memset(big + 11, 'x', 129);
	big[140] = '\0';
	CHECK_EQ_INT(split(big, &p), -1);
	big[139] = '\0';
	CHECK_EQ_INT(split(big, &p), 0);
	CHECK_EQ_INT(admin_path_split("/admin/users", 12, "/admin/", &p), 0);
	CHECK_EQ_INT(p.n, 1);
	return CHECK_DONE();
}
