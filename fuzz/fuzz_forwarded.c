/* libFuzzer target: X-Forwarded-For parsing (proto/forwarded.c). */
#undef NDEBUG
#include "proto/forwarded.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	unsigned char addr[16];
	if (forwarded_for_client((const char *)data, size, out, sizeof(out)) == 0) {
		/* Whatever is accepted is a clean address that parses again. */
		assert(strlen(out) < 46);
		assert(inet_pton(AF_INET, out, addr) == 1 || inet_pton(AF_INET6, out, addr) == 1);
		/* Its limit key is the address, or an IPv6 /64 that parses back. */
		char key[96];
		assert(client_limit_key("ip:", out, key, sizeof(key)) == 0);
		assert(strncmp(key, "ip:", 3) == 0);
		char *slash = strchr(key, '/');
		if (slash) {
			assert(strcmp(slash, "/64") == 0);
			*slash = '\0';
			assert(inet_pton(AF_INET6, key + 3, addr) == 1);
			for (int i = 8; i < 16; i++)
				assert(addr[i] == 0);
		} else {
			assert(inet_pton(AF_INET, key + 3, addr) == 1 || inet_pton(AF_INET6, key + 3, addr) == 1);
		}
	}
	return 0;
}
