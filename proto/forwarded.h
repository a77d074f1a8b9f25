/* X-Forwarded-For, as set by a trusted reverse proxy (TRUST_PROXY=true). Pure. */
#ifndef DREAMAUTH_FORWARDED_H
#define DREAMAUTH_FORWARDED_H
#include <stddef.h>

/* The client address is the right-most element: the one our own proxy
 * appended (elements further left were supplied by the client and can be
 * forged). Writes it, normalized by inet_pton/inet_ntop, into out (cap >= 46)
 * and returns 0; -1 when that element is not an IPv4 or IPv6 address. */
int forwarded_for_client(const char *value, size_t len, char *out, size_t cap);

/* The key a per-IP attempt limit counts under: prefix + the address, where
 * an IPv6 address stands for its /64 (one subscriber gets a whole /64, so
 * counting single addresses would let them rotate past any limit) and an
 * IPv4-mapped IPv6 address for its IPv4 address. 0, or -1 if out is short. */
int client_limit_key(const char *prefix, const char *ip, char *out, size_t cap);
#endif
