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
		/* Per-IP limit keys: IPv4 as it is, IPv6 by its /64, v4-mapped as IPv4. */
	char key[96];
	CHECK(client_limit_key("ip:", "203.0.113.7", key, sizeof(key)) == 0);
	CHECK_EQ_STR(key, "ip:203.0.113.7");
	CHECK(client_limit_key("ip:", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", key, sizeof(key)) == 0);
	CHECK_EQ_STR(key, "ip:2001:db8:1:2::/64");
	char other[96];
	CHECK(client_limit_key("ip:", "2001:db8:1:2::1", other, sizeof(other)) == 0);
	CHECK_EQ_STR(other, key);	/* the same subscriber, another address */
	CHECK(client_limit_key("ip:", "2001:db8:1:3::1", other, sizeof(other)) == 0);
	CHECK_EQ_STR(other, "ip:2001:db8:1:3::/64");	/* the next /64 is someone else */
	CHECK(client_limit_key("client-ip:", "::ffff:198.51.100.4", key, sizeof(key)) == 0);
	CHECK_EQ_STR(key, "client-ip:198.51.100.4");
	CHECK(client_limit_key("ip:", "local", key, sizeof(key)) == 0);
	CHECK_EQ_STR(key, "ip:local");
	CHECK(client_limit_key("ip:", "2001:db8::1", key, 8) == -1);	/* out too short */
	return CHECK_DONE();
}
