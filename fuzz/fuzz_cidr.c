/* libFuzzer target: CIDR lists (proto/cidr.c, METRICS_ALLOW). */
#undef NDEBUG
#include "proto/cidr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr_list l;
	size_t bad;
	char text[INET6_ADDRSTRLEN];

	if (cidr_list_parse((const char *)data, size, &l, &bad) < 0) {
		assert(bad <= size);
		return 0;
	}
	assert(l.n >= 0 && l.n <= CIDR_LIST_MAX);
	for (int i = 0; i < l.n; i++) {
		const struct cidr *c = &l.entries[i];
		assert(c->family == 4 || c->family == 6);
		assert(c->prefix <= (c->family == 4 ? 32 : 128));
		/* every network contains its own first address */
		assert(inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, text, sizeof(text)));
		assert(cidr_list_contains(&l, text));
	}
	/* the input itself, as an address, never crashes the matcher */
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		(void)cidr_list_contains(&l, text);
	}
	return 0;
}
