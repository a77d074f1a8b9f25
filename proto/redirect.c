/*
 * Redirect target (rd=, return URL) validation against open redirects; the
 * rules are in redirect.h. Called by the sign-in / sign-out handlers before
 * they answer with a Location header; fuzzed by fuzz/fuzz_redirect.c.
 *
 * The parser is deliberately narrower than the WHATWG URL parser: anything a
 * browser might read differently from us (backslashes, missing or extra
 * slashes, userinfo, encoded or non-ASCII hosts) is refused rather than
 * interpreted.
 */
#include "proto/redirect.h"
#include "proto/hex.h"
#include <string.h>
#include <strings.h>

#define REDIRECT_MAX_LEN 2048
#define PORT_MAX_DIGITS 5
#define PORT_MAX 65535

struct absolute_url {
	bool https;
	const char *host;	/* points into the URL, not NUL-terminated */
	size_t host_len;
};

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool equal_nocase(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static bool prefix_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && equal_nocase(s, prefix, n);
}

/* Decodes the escape at s[i] == '%'; -1 if it is not "%XX". */
static int percent_byte(const char *s, size_t len, size_t i)
{
	int high, low;

	if (i + 2 >= len)
		return -1;
	high = hex_value(s[i + 1]);
	low = hex_value(s[i + 2]);
	return high < 0 || low < 0 ? -1 : high << 4 | low;
}

/* Every byte visible ASCII, no backslash; every escape well-formed and not
 * hiding a control byte or backslash (those end up in headers or get
 * "repaired" into slashes by some servers after decoding). */
static bool bytes_safe(const char *url, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return false;
		if (c == '%') {
			int b = percent_byte(url, len, i);

			if (b < 0 || b < 0x20 || b == 0x7f || b == '\\')
				return false;
			i += 2;
		}
	}
	return true;
}

/* host: [A-Za-z0-9.-]+ as dot-separated non-empty labels. */
static bool host_syntax_ok(const char *host, size_t len)
{
	if (len == 0 || host[0] == '.' || host[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (c == '.' && host[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.'))
			return false;
	}
	return true;
}

static bool port_syntax_ok(const char *port, size_t len)
{
	unsigned long value = 0;

	if (len == 0 || len > PORT_MAX_DIGITS)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (port[i] < '0' || port[i] > '9')
			return false;
		value = value * 10 + (unsigned long)(port[i] - '0');
	}
	return value >= 1 && value <= PORT_MAX;
}

/* Parses "http(s)://host[:port][/?#...]" after bytes_safe() passed. */
static bool parse_absolute(const char *url, size_t len, struct absolute_url *parsed)
{
	size_t start, end, colon;

	if (prefix_nocase(url, len, "https://")) {
		parsed->https = true;
		start = strlen("https://");
	} else if (prefix_nocase(url, len, "http://")) {
		parsed->https = false;
		start = strlen("http://");
	} else {
		return false;
	}
	for (end = start; end < len && url[end] != '/' && url[end] != '?' && url[end] != '#'; end++)
		if (url[end] == '@')
			return false; /* userinfo: the classic "trusted@evil" trick */
	for (colon = start; colon < end && url[colon] != ':'; colon++)
		;
	if (!host_syntax_ok(url + start, colon - start))
		return false;
	if (colon < end && !port_syntax_ok(url + colon + 1, end - colon - 1))
		return false;
	parsed->host = url + start;
	parsed->host_len = colon - start;
	return true;
}

static bool host_allowed(const char *host, size_t host_len, const char *issuer_host, const char *cookie_domain)
{
	if (issuer_host) {
		const char *colon = strchr(issuer_host, ':');
		size_t issuer_len = colon ? (size_t)(colon - issuer_host) : strlen(issuer_host);

		if (issuer_len > 0 && issuer_len == host_len && equal_nocase(host, issuer_host, host_len))
			return true;
	}
	if (cookie_domain) {
		const char *domain = cookie_domain[0] == '.' ? cookie_domain + 1 : cookie_domain;
		size_t domain_len = strlen(domain);

		/* An empty domain would otherwise match every host. */
		if (domain_len == 0)
			return false;
		if (host_len == domain_len && equal_nocase(host, domain, domain_len))
			return true;
		if (host_len > domain_len && host[host_len - domain_len - 1] == '.' &&
		    equal_nocase(host + host_len - domain_len, domain, domain_len))
			return true;
	}
	return false;
}

bool redirect_target_allowed(const char *url, size_t len, const char *issuer_host, const char *cookie_domain,
    bool allow_http)
{
	struct absolute_url parsed;

	if (!url || len == 0 || len > REDIRECT_MAX_LEN || !bytes_safe(url, len))
		return false;
	if (url[0] == '/') {
		/* "//host" is scheme-relative; "/%2fhost" becomes it after a decode. */
		if (len > 1 && url[1] == '/')
			return false;
		if (len > 1 && url[1] == '%' && percent_byte(url, len, 1) == '/')
			return false;
		return true;
	}
	if (!parse_absolute(url, len, &parsed))
		return false;
	if (!parsed.https && !allow_http)
		return false;
	return host_allowed(parsed.host, parsed.host_len, issuer_host, cookie_domain);
}

/* Returns 0 with the lower-cased host in out, or -1. */
int redirect_url_host(const char *url, size_t len, char *out, size_t cap)
{
	struct absolute_url parsed;

	if (!url || !out || len == 0 || len > REDIRECT_MAX_LEN || !bytes_safe(url, len))
		return -1;
	if (!parse_absolute(url, len, &parsed) || parsed.host_len + 1 > cap)
		return -1;
	for (size_t i = 0; i < parsed.host_len; i++)
		out[i] = ascii_lower(parsed.host[i]);
	out[parsed.host_len] = '\0';
	return 0;
}

bool host_is_loopback(const char *host, size_t len)
{
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) || (len == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
	    (len == 5 && memcmp(host, "[::1]", 5) == 0);
}
