/* X-Forwarded-For: the address our proxy saw (see forwarded.h). */
#include "proto/forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int forwarded_for_client(const char *value, size_t len, char *out, size_t cap)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t end = len, start;

	while (end > 0 && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	start = end;
	while (start > 0 && value[start - 1] != ',')
		start--;
	while (start < end && (value[start] == ' ' || value[start] == '\t'))
		start++;
	if (end == start || end - start >= sizeof(text))
		return -1;
	memcpy(text, value + start, end - start);
	text[end - start] = '\0';
	if (inet_pton(AF_INET, text, addr) == 1)
		return inet_ntop(AF_INET, addr, out, (socklen_t)cap) ? 0 : -1;
	if (inet_pton(AF_INET6, text, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, (socklen_t)cap) ? 0 : -1;
	return -1;
}

int client_limit_key(const char *prefix, const char *ip, char *out, size_t cap)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char net[INET6_ADDRSTRLEN];
	int n;

	if (inet_pton(AF_INET6, ip, addr) == 1) {
		static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0) {
			if (!inet_ntop(AF_INET, addr + 12, net, sizeof(net)))
				return -1;
		} else {
			memset(addr + 8, 0, 8);	/* one subscriber's /64 */
			if (!inet_ntop(AF_INET6, addr, net, sizeof(net)))
				return -1;
			n = snprintf(out, cap, "%s%s/64", prefix, net);
			return n > 0 && (size_t)n < cap ? 0 : -1;
		}
	} else {
		snprintf(net, sizeof(net), "%s", ip);
	}
	n = snprintf(out, cap, "%s%s", prefix, net);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}
