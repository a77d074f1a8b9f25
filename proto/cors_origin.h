/*
 * Web origins for CORS (RFC 6454 serialization, as browsers send them in the
 * Origin header): "scheme://host[:port]". Pure. Used for the Origin header
 * of a request, for CORS_ORIGINS (the operator's comma-separated list) and
 * to derive a client's origins from its registered redirect URIs.
 *
 * Strict on purpose: an origin that is not exactly what a browser would send
 * can never match one, so it is an error in configuration (one line naming
 * it) rather than an entry that silently allows nothing. Accepted: http or
 * https, a host of [a-z0-9.-] (letters of any case, lower-cased on output)
 * or a bracketed IPv6 literal of hex digits, colons and dots, an optional
 * port 1-65535 without leading zeros. Refused: paths (even "/"), queries,
 * fragments, userinfo, "*", "null", spaces, controls, non-ASCII, empty host
 * labels. The default port (80 for http, 443 for https) is dropped, as a
 * browser does, so "https://a.example:443" and "https://a.example" compare
 * equal.
 */
#ifndef DREAMAUTH_PROTO_CORS_ORIGIN_H
#define DREAMAUTH_PROTO_CORS_ORIGIN_H
#include <stdbool.h>
#include <stddef.h>

#define CORS_ORIGIN_MAX 300	/* scheme + :// + 253-byte host + :65535 fits */
#define CORS_ORIGINS_MAX 64	/* entries in CORS_ORIGINS */

/* s[len] is one origin: its canonical form into out (cap >= CORS_ORIGIN_MAX);
 * false if it is not a valid origin. */
bool cors_origin_parse(const char *s, size_t len, char *out, size_t cap);

/* The origin of an absolute http(s) URL (a redirect URI): scheme://host[:port]
 * of it, canonical, into out; false for other schemes (an app's private-use
 * scheme has no web origin) or a malformed authority. */
bool cors_origin_of_url(const char *url, size_t len, char *out, size_t cap);

/* CORS_ORIGINS: comma-separated origins, spaces around items allowed, empty
 * items (a trailing comma) refused. Canonical forms into out[0..*n) (at most
 * max, duplicates kept once). -1 with one line naming the bad item in err. */
int cors_origin_list_parse(const char *s, size_t len, char (*out)[CORS_ORIGIN_MAX], size_t max, size_t *n,
    char *err, size_t errlen);
#endif
