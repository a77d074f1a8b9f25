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
	}
	return 0;
}
