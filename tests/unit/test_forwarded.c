/* X-Forwarded-For: only the right-most (proxy-appended) address counts. */
#include "proto/forwarded.h"
#include "tests/unit/check.h"

static const char *client(const char *v)
{
	static char out[64];
	return forwarded_for_client(v, strlen(v), out, sizeof(out)) == 0 ? out : NULL;
}

int main(void)
{
	CHECK_EQ_STR(client("203.0.113.7"), "203.0.113.7");
	CHECK_EQ_STR(client("1.2.3.4, 203.0.113.7"), "203.0.113.7");
	CHECK_EQ_STR(client("forged, 10.0.0.1,203.0.113.9 "), "203.0.113.9");
	CHECK_EQ_STR(client("2001:DB8::1"), "2001:db8::1");
	CHECK(client("") == NULL);
	CHECK(client("1.2.3.4, ") == NULL);
	CHECK(client("203.0.113.7, not-an-ip") == NULL);
	CHECK(client("203.0.113.7:443") == NULL);
	CHECK(client("[2001:db8::1]") == NULL);
	CHECK(client("1.2.3.4\r\nX: y") == NULL);
	CHECK(client("999.1.1.1") == NULL);
	CHECK(client("1.2.3.4 5") == NULL);
	char longv[200];
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	CHECK(client(longv) == NULL);
	return CHECK_DONE();
}
