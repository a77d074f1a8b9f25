/* Unit tests for proto/cidr.c: METRICS_ALLOW's CIDR lists. */
#include "proto/cidr.h"
#include "tests/unit/check.h"

#include <string.h>

static int parse(const char *text, struct cidr_list *l)
{
	size_t bad;
	return cidr_list_parse(text, strlen(text), l, &bad);
}

static void parses_lists(void)
{
	struct cidr_list l;
	size_t bad = 99;

	CHECK_EQ_INT(parse("127.0.0.1/32,::1/128", &l), 0);
	CHECK_EQ_INT(l.n, 2);
	CHECK_EQ_INT(l.entries[0].family, 4);
	CHECK_EQ_INT(l.entries[0].prefix, 32);
	CHECK_EQ_INT(l.entries[1].family, 6);
	CHECK_EQ_INT(parse(" 10.0.0.0/8 , 192.168.1.7 ,fd00::/8 ", &l), 0);
	CHECK_EQ_INT(l.n, 3);
	CHECK_EQ_INT(l.entries[1].prefix, 32);	/* a host */
	CHECK_EQ_INT(parse("", &l), 0);
	CHECK_EQ_INT(l.n, 0);
	CHECK_EQ_INT(parse("   ", &l), 0);
	CHECK_EQ_INT(l.n, 0);
	CHECK_EQ_INT(parse("0.0.0.0/0", &l), 0);
	/* refusals, with where */
	CHECK_EQ_INT(cidr_list_parse("10.0.0.0/8,nope", 15, &l, &bad), -1);
	CHECK_EQ_INT(bad, 11);
	CHECK_EQ_INT(parse("10.0.0.1/8", &l), -1);	/* host bits set */
	CHECK_EQ_INT(parse("10.0.0.0/33", &l), -1);
	CHECK_EQ_INT(parse("::/129", &l), -1);
	CHECK_EQ_INT(parse("10.0.0.0/", &l), -1);
	CHECK_EQ_INT(parse("10.0.0.0/08", &l), -1);
	CHECK_EQ_INT(parse("10.0.0.0/-8", &l), -1);
	CHECK_EQ_INT(parse("10.0.0.0/8,", &l), -1);
	CHECK_EQ_INT(parse("10.0.0.0/8,,::1", &l), -1);
	CHECK_EQ_INT(parse(",", &l), -1);
	CHECK_EQ_INT(parse("/8", &l), -1);
	CHECK_EQ_INT(parse("010.0.0.0/8", &l), -1);	/* inet_pton refuses octal-looking octets */
	CHECK_EQ_INT(parse("1.2.3.4 5", &l), -1);
	CHECK_EQ_INT(cidr_list_parse("1.2.3.4\0/8", 10, &l, &bad), -1);	/* an inner NUL */
	/* at most CIDR_LIST_MAX entries */
	char many[CIDR_LIST_MAX * 10 + 16] = "";
	for (int i = 0; i <= CIDR_LIST_MAX; i++)
		strcat(many, i ? ",10.0.0.1" : "10.0.0.1");
	CHECK_EQ_INT(parse(many, &l), -1);
}

static void matches_addresses(void)
{
	struct cidr_list l;

	CHECK_EQ_INT(parse("127.0.0.1/32, ::1/128, 10.1.0.0/16, fd00:ab::/32, 172.16.0.0/12", &l), 0);
	CHECK(cidr_list_contains(&l, "127.0.0.1"));
	CHECK(!cidr_list_contains(&l, "127.0.0.2"));
	CHECK(cidr_list_contains(&l, "::1"));
	CHECK(!cidr_list_contains(&l, "::2"));
	CHECK(cidr_list_contains(&l, "10.1.255.3"));
	CHECK(!cidr_list_contains(&l, "10.2.0.1"));
	CHECK(cidr_list_contains(&l, "172.31.0.1"));	/* a /12: partial byte */
	CHECK(!cidr_list_contains(&l, "172.32.0.1"));
	CHECK(cidr_list_contains(&l, "fd00:ab:1::5"));
	CHECK(!cidr_list_contains(&l, "fd00:ac::5"));
	CHECK(cidr_list_contains(&l, "::ffff:10.1.2.3"));	/* IPv4-mapped */
	CHECK(!cidr_list_contains(&l, "local"));
	CHECK(!cidr_list_contains(&l, ""));
	CHECK_EQ_INT(parse("", &l), 0);
	CHECK(!cidr_list_contains(&l, "127.0.0.1"));
	CHECK_EQ_INT(parse("0.0.0.0/0", &l), 0);
	CHECK(cidr_list_contains(&l, "203.0.113.9"));
	CHECK(!cidr_list_contains(&l, "2001:db8::1"));
}

int main(void)
{
	parses_lists();
	matches_addresses();
	return CHECK_DONE();
}
