/*
 * CIDR lists: "10.0.0.0/8, 192.168.1.7, ::1/128" (METRICS_ALLOW), and
 * whether an address is in one. Pure: no I/O, fuzzed (fuzz/fuzz_cidr.c).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 entries.
 */
#ifndef DREAMAUTH_CIDR_H
#define DREAMAUTH_CIDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIDR_LIST_MAX 32
#define CIDR_TEXT_MAX 4096

struct cidr {
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix;		/* 0..32 or 0..128 */
	uint8_t addr[16];	/* network bytes, host bits zero */
};

struct cidr_list {
	struct cidr entries[CIDR_LIST_MAX];
	int n;
};

/* Parses a comma-separated list (spaces around entries allowed; an address
 * without /n is a single host; "" is the empty list). 0, or -1 with *bad
 * pointing at the offending entry's first byte. Host bits set under the
 * prefix are refused (10.0.0.1/8 is most likely a typo). */
int cidr_list_parse(const char *text, size_t len, struct cidr_list *out, size_t *bad);
/* Is the textual address (as inet_ntop writes it) in the list? false for
 * anything that is not an address ("local" for a unix socket). */
bool cidr_list_contains(const struct cidr_list *list, const char *address);
#endif
