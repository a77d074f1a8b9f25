/* Web origins for CORS (see cors_origin.h). Pure. */
#include "proto/cors_origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool host_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool v6_byte(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* host[len]: DNS name or IPv4 (labels of [a-z0-9-], no empty label) or
 * [IPv6]. */
static bool host_valid(const char *h, size_t len)
{
	if (len == 0 || len > 253 + 2)
		return false;
	if (h[0] == '[') {
		if (len < 4 || h[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (!v6_byte(h[i]))
				return false;
		return memchr(h, ':', len) != NULL;
	}
	if (len > 253 || h[0] == '.' || h[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!host_byte(h[i]))
			return false;
		if (h[i] == '.' && h[i + 1] == '.')
			return false;
	}
	return true;
}

/* Parses scheme://authority where authority ends at end; writes canonical. */
static bool authority_canonical(const char *s, const char *end, char *out, size_t cap)
{
	bool https;
	const char *p, *host, *host_end, *port = NULL;
	unsigned long portnum = 0;

	if ((size_t)(end - s) > 8 && !strncasecmp(s, "https://", 8)) {
		https = true;
		p = s + 8;
	} else if ((size_t)(end - s) > 7 && !strncasecmp(s, "http://", 7)) {
		https = false;
		p = s + 7;
	} else {
		return false;
	}
	host = p;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close)
			return false;
		host_end = close + 1;
	} else {
		host_end = host;
		while (host_end < end && *host_end != ':')
			host_end++;
	}
	if (!host_valid(host, (size_t)(host_end - host)))
		return false;
	if (host_end < end) {
		if (*host_end != ':')
			return false;
		port = host_end + 1;
		if (port == end || end - port > 5 || *port == '0')
			return false;
		for (const char *d = port; d < end; d++) {
			if (*d < '0' || *d > '9')
				return false;
			portnum = portnum * 10 + (unsigned long)(*d - '0');
		}
		if (portnum == 0 || portnum > 65535)
			return false;
		if (portnum == (https ? 443u : 80u))
			port = NULL;	/* the browser leaves the default port out */
	}
	int n = port ? snprintf(out, cap, "%s://%.*s:%lu", https ? "https" : "http", (int)(host_end - host), host, portnum)
		     : snprintf(out, cap, "%s://%.*s", https ? "https" : "http", (int)(host_end - host), host);
	if (n < 0 || (size_t)n >= cap)
		return false;
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return true;
}

bool cors_origin_parse(const char *s, size_t len, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	if (len == 0 || len >= CORS_ORIGIN_MAX || cap < CORS_ORIGIN_MAX)
		return false;
	/* authority_canonical admits only [a-z0-9.-] hosts, [hex:.] literals
	 * and digits after the colon: a path, query, userinfo, space or control
	 * byte anywhere after "://" makes it fail. */
	if (!authority_canonical(s, s + len, out, cap)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool cors_origin_of_url(const char *url, size_t len, char *out, size_t cap)
{
	const char *p, *end = url + len;

	if (cap)
		out[0] = '\0';
	if (cap < CORS_ORIGIN_MAX)
		return false;
	if (len > 8 && !strncasecmp(url, "https://", 8))
		p = url + 8;
	else if (len > 7 && !strncasecmp(url, "http://", 7))
		p = url + 7;
	else
		return false;
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	if ((size_t)(p - url) >= CORS_ORIGIN_MAX)
		return false;
	for (const char *c = url; c < p; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '@' || *c == '\\')
			return false;
	if (!authority_canonical(url, p, out, cap)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

int cors_origin_list_parse(const char *s, size_t len, char (*out)[CORS_ORIGIN_MAX], size_t max, size_t *n,
    char *err, size_t errlen)
{
	size_t i = 0;

	*n = 0;
	while (i <= len) {
		size_t start = i, end;
		char canon[CORS_ORIGIN_MAX];
		bool dup = false;

		while (i < len && s[i] != ',')
			i++;
		end = i;
		while (start < end && s[start] == ' ')
			start++;
		while (end > start && s[end - 1] == ' ')
			end--;
		if (end - start == 1 && s[start] == '*') {
			snprintf(err, errlen, "\"*\" is not allowed: list each origin (https://app.example.com); "
			    "discovery and JWKS are open to every origin anyway");
			return -1;
		}
		if (!cors_origin_parse(s + start, end - start, canon, sizeof(canon))) {
			/* The bad item, made printable, so the operator sees which one. */
			char shown[80];
			size_t k, m = end - start < sizeof(shown) - 1 ? end - start : sizeof(shown) - 1;
			for (k = 0; k < m; k++) {
				unsigned char c = (unsigned char)s[start + k];
				shown[k] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
			}
			shown[k] = '\0';
			snprintf(err, errlen, "item %zu \"%s\" is not an origin: expected scheme://host[:port] with http or "
			    "https and nothing after (no path, not even \"/\")", *n + 1, shown);
			return -1;
		}
		for (size_t k = 0; k < *n; k++)
			dup |= !strcmp(out[k], canon);
		if (!dup) {
			if (*n == max) {
				snprintf(err, errlen, "more than %zu origins", max);
				return -1;
			}
			memcpy(out[(*n)++], canon, CORS_ORIGIN_MAX);
		}
		i++;	/* past the comma (or the end) */
	}
	return 0;
}
