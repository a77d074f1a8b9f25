/* CIDR lists (see cidr.h). Addresses are read by inet_pton, which touches
 * nothing outside its arguments. */
#include "proto/cidr.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* One "address[/prefix]" of exactly len bytes. */
static bool parse_entry(const char *p, size_t len, struct cidr *out)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(p, '/', len);
	size_t addr_len = slash ? (size_t)(slash - p) : len;
	unsigned prefix = 0, max;

	if (addr_len == 0 || addr_len >= INET6_ADDRSTRLEN)
		return false;
	memcpy(text, p, addr_len);
	text[addr_len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = 6;
		max = 128;
	} else {
		return false;
	}
	if (!slash) {
		out->prefix = (uint8_t)max;
		return true;
	}
	const char *d = slash + 1, *end = p + len;
	if (d == end || end - d > 3)
		return false;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9')
			return false;
		prefix = prefix * 10 + (unsigned)(*d - '0');
	}
	if (prefix > max || (slash[1] == '0' && len - addr_len > 2))	/* no leading zeros: "/08" */
		return false;
	out->prefix = (uint8_t)prefix;
	/* host bits must be zero */
	for (unsigned bit = prefix; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80u >> (bit % 8)))
			return false;
	return true;
}

int cidr_list_parse(const char *text, size_t len, struct cidr_list *out, size_t *bad)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	*bad = 0;
	if (len > CIDR_TEXT_MAX)
		return -1;
	while (i < len && is_space(text[i]))
		i++;
	if (i == len)
		return 0;	/* nothing but spaces: the empty list */
	for (;;) {
		while (i < len && is_space(text[i]))
			i++;
		size_t start = i, end;
		while (i < len && text[i] != ',')
			i++;
		end = i;
		while (end > start && is_space(text[end - 1]))
			end--;
		/* every entry between commas must be an address: "a,,b" and "a," are typos */
		if (out->n == CIDR_LIST_MAX || !parse_entry(text + start, end - start, &out->entries[out->n])) {
			*bad = start;
			return -1;
		}
		out->n++;
		if (i == len)
			return 0;
		i++;	/* the comma */
	}
}

static bool prefix_matches(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ net[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool cidr_list_contains(const struct cidr_list *list, const char *address)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t v4[4], v6[16];
	bool is4 = inet_pton(AF_INET, address, v4) == 1, is6 = !is4 && inet_pton(AF_INET6, address, v6) == 1;

	if (is6 && memcmp(v6, mapped, sizeof(mapped)) == 0) {
		memcpy(v4, v6 + 12, 4);
		is4 = true;
	}
	for (int i = 0; i < list->n; i++) {
		const struct cidr *c = &list->entries[i];
		if ((c->family == 4 && is4 && prefix_matches(v4, c->addr, c->prefix)) ||
		    (c->family == 6 && is6 && prefix_matches(v6, c->addr, c->prefix)))
			return true;
	}
	return false;
}
