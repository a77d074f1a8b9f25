/*
 * libFuzzer target for redirect_target_allowed / redirect_url_host
 * (proto/redirect.c), with a fixed issuer and cookie domain. The invariant is
 * the security property itself: whatever is allowed is either a path on our
 * own origin or an http(s) URL whose host is the issuer or inside the cookie
 * domain, with no userinfo and no bytes a browser could reinterpret.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/redirect.h"
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ISSUER_HOST "auth.example.com"
#define COOKIE_DOMAIN ".example.com"
#define COOKIE_BASE "example.com"

static bool has_prefix_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static void check_allowed(const char *url, size_t len, bool allow_http)
{
	char host[2100];
	size_t authority, end;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		assert(c > 0x20 && c < 0x7f && c != '\\');
	}
	if (url[0] == '/') {
		assert(len == 1 || (url[1] != '/' && url[1] != '\\'));
		assert(redirect_url_host(url, len, host, sizeof(host)) == -1);
		return;
	}
	if (has_prefix_nocase(url, len, "https://"))
		authority = 8;
	else {
		assert(allow_http && has_prefix_nocase(url, len, "http://"));
		authority = 7;
	}
	/* No userinfo: nothing before the host but the scheme. */
	for (end = authority; end < len && url[end] != '/' && url[end] != '?' && url[end] != '#'; end++)
		assert(url[end] != '@');
	assert(redirect_url_host(url, len, host, sizeof(host)) == 0);
	assert(strcmp(host, ISSUER_HOST) == 0 || strcmp(host, COOKIE_BASE) == 0 ||
	    ends_with(host, COOKIE_DOMAIN));
	/* The host we compared is what the URL really starts with. */
	assert(strncasecmp(url + authority, host, strlen(host)) == 0);
	assert(authority + strlen(host) == end || url[authority + strlen(host)] == ':');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *url = (const char *)data;
	char host[2100];

	for (int allow_http = 0; allow_http <= 1; allow_http++)
		if (redirect_target_allowed(url, size, ISSUER_HOST, COOKIE_DOMAIN, allow_http))
			check_allowed(url, size, allow_http);
	/* Also exercise the host extractor on everything, and with a tiny buffer. */
	if (redirect_url_host(url, size, host, sizeof(host)) == 0)
		assert(strlen(host) > 0 && strlen(host) < size);
	(void)redirect_url_host(url, size, host, 4);
	return 0;
}
