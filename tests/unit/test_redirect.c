/*
 * redirect_target_allowed / redirect_url_host: the targets we must allow
 * (relative paths, issuer and cookie-domain hosts), then the open-redirect
 * tricks we must refuse. Run by CTest; needs only da_proto.
 */
#include "proto/redirect.h"
#include "tests/unit/check.h"

#define ISSUER "auth.example.com"
#define COOKIE ".example.com"

static void expect(const char *url, size_t len, const char *issuer, const char *cookie, bool allow_http, bool want,
    int line)
{
	bool got = redirect_target_allowed(url, len, issuer, cookie, allow_http);

	if (got == want) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: redirect_target_allowed(\"%.*s\") = %d, expected %d\n", __FILE__, line, (int)len, url,
	    got, want);
}
/* sizeof - 1 keeps embedded NULs in the literal. */
#define ALLOWED(lit) expect((lit), sizeof(lit) - 1, ISSUER, COOKIE, false, true, __LINE__)
#define REFUSED(lit) expect((lit), sizeof(lit) - 1, ISSUER, COOKIE, false, false, __LINE__)
#define EXPECT(lit, issuer, cookie, allow_http, want) \
	expect((lit), sizeof(lit) - 1, (issuer), (cookie), (allow_http), (want), __LINE__)
#define REFUSED_HTTP(lit) expect((lit), sizeof(lit) - 1, ISSUER, COOKIE, true, false, __LINE__)

static void test_allowed(void)
{
	ALLOWED("/");
	ALLOWED("/app?x=1");
	ALLOWED("/app/x#frag");
	ALLOWED("/caf%C3%A9?q=a%20b");
	ALLOWED("/@evil.com");	/* a path on our host, not userinfo */
	ALLOWED("https://auth.example.com/x");
	ALLOWED("https://auth.example.com");
	ALLOWED("https://AUTH.Example.COM/x");
	ALLOWED("HTTPS://auth.example.com/x");
	ALLOWED("https://auth.example.com:8443/x");
	ALLOWED("https://auth.example.com?x=1");
	ALLOWED("https://auth.example.com#x");
	ALLOWED("https://grafana.example.com/d");
	ALLOWED("https://a.b.example.com/d");
	ALLOWED("https://example.com/");
	ALLOWED("https://grafana.example.com/d?next=https://evil.com");
	ALLOWED("https://grafana.example.com//evil.com");

	/* Issuer only, no cookie domain. */
	EXPECT("https://auth.example.com/x", ISSUER, NULL, false, true);
	EXPECT("https://grafana.example.com/d", ISSUER, NULL, false, false);
	/* Cookie domain given without the leading dot behaves the same. */
	EXPECT("https://grafana.example.com/d", ISSUER, "example.com", false, true);
	EXPECT("https://evilexample.com/d", ISSUER, "example.com", false, false);
	/* An empty cookie domain must not match everything. */
	EXPECT("https://evil.com/", ISSUER, "", false, false);
	EXPECT("https://evil.com/", ISSUER, ".", false, false);
	EXPECT("https://evil.com/", NULL, NULL, false, false);

	/* Local development: http only when allowed; issuer port is ignored. */
	EXPECT("http://localhost:3000/x", "localhost:3000", NULL, true, true);
	EXPECT("http://localhost:3000/x", "localhost:3000", NULL, false, false);
	EXPECT("https://localhost:3000/x", "localhost:3000", NULL, false, true);
	EXPECT("http://evil:3000/x", "localhost:3000", NULL, true, false);
}

static void test_refused(void)
{
	char big[2100];

	REFUSED("");
	REFUSED("//evil.com");
	REFUSED("//evil.com/x");
	REFUSED("/\\evil.com");
	REFUSED("/%2fevil.com");
	REFUSED("/%2Fevil.com");
	REFUSED("/%5cevil.com");
	REFUSED("\\\\evil.com");
	REFUSED("https://evil.com");
	REFUSED("https://evil.com/https://auth.example.com");
	REFUSED("https://example.com.evil.com");
	REFUSED("https://auth.example.com.evil.com/");
	REFUSED("https://evilexample.com");
	REFUSED("https://xexample.com/");
	REFUSED("https://user@example.com");
	REFUSED("https://user:pass@auth.example.com/");
	REFUSED("https://example.com@evil.com");
	REFUSED("https://auth.example.com@evil.com/");
	REFUSED("https://evil.com#@auth.example.com");
	REFUSED("https://evil.com?@auth.example.com");
	REFUSED("javascript:alert(1)");
	REFUSED("JaVaScRiPt:alert(1)");
	REFUSED("javascript://auth.example.com/%0aalert(1)");
	REFUSED("data:text/html,<script>alert(1)</script>");
	REFUSED("vbscript:msgbox(1)");
	REFUSED("ftp://auth.example.com/");
	REFUSED("http://x.example.com");
	REFUSED("http://auth.example.com/");
	REFUSED("https://exa%6dple.com");
	REFUSED("https://%65xample.com/");
	REFUSED("https://example.com\\@evil.com");
	REFUSED("https:\\\\evil.com");
	REFUSED("https://example.com/\tx");
	REFUSED("https://exam\tple.com/");
	REFUSED("https://example.com/\nx");
	REFUSED("/\t/evil.com");
	REFUSED("/ /evil.com");
	REFUSED("/app\r\nSet-Cookie: x=1");
	REFUSED("/%0d%0aSet-Cookie:%20x=1");
	REFUSED("/%0D%0ASet-Cookie");
	REFUSED("/%00");
	REFUSED("/%");
	REFUSED("/%4");
	REFUSED("/%zz");
	REFUSED("/a\0b");
	REFUSED(" /app");
	REFUSED("/app ");
	REFUSED("https:/example.com");
	REFUSED("https:///evil.com");
	REFUSED("https:example.com");
	REFUSED("https//example.com");
	REFUSED("https://");
	REFUSED("https://:443/");
	REFUSED("https://[::1]/");
	REFUSED("https://[2001:db8::1]:443/");
	REFUSED("https://example.com:abc/");
	REFUSED("https://example.com:443x/");
	REFUSED("https://example.com:/");
	REFUSED("https://example.com:0/");
	REFUSED("https://example.com:65536/");
	REFUSED("https://example.com:000443/");
	REFUSED("https://example.com:443:443/");
	REFUSED("https://example.com./");
	REFUSED("https://.example.com/");
	REFUSED("https://grafana..example.com/");
	REFUSED("https://ex\xc3\xa4mple.com/");		/* non-ASCII host */
	REFUSED("https://xn--80ak6aa92e.example.com\xe3\x80\x82" "evil.com/"); /* ideographic full stop */
	REFUSED("/caf\xc3\xa9");
	REFUSED("app/x");
	REFUSED("?x=1");
	REFUSED("#x");
	REFUSED_HTTP("http://evil.com/");
	REFUSED_HTTP("http://example.com@evil.com/");

	/* Length: 2048 allowed, 2049 refused. */
	big[0] = '/';
	memset(big + 1, 'a', 2047);
	CHECK(redirect_target_allowed(big, 2048, ISSUER, COOKIE, false));
	memset(big + 1, 'a', 2048);
	CHECK(!redirect_target_allowed(big, 2049, ISSUER, COOKIE, false));
	CHECK(!redirect_target_allowed(NULL, 0, ISSUER, COOKIE, false));
}

/* redirect_url_host on a literal, length taken from the literal. */
#define HOST_OF(lit, out, cap) redirect_url_host((lit), sizeof(lit) - 1, (out), (cap))

static void test_url_host(void)
{
	char host[64];

	CHECK_EQ_INT(HOST_OF("https://Grafana.Example.com:8443/d?x", host, sizeof(host)), 0);
	CHECK_EQ_STR(host, "grafana.example.com");
	CHECK_EQ_INT(HOST_OF("http://localhost:3000", host, sizeof(host)), 0);
	CHECK_EQ_STR(host, "localhost");
	CHECK_EQ_INT(HOST_OF("https://example.com#x", host, sizeof(host)), 0);
	CHECK_EQ_STR(host, "example.com");
	CHECK_EQ_INT(HOST_OF("/relative", host, sizeof(host)), -1);
	CHECK_EQ_INT(HOST_OF("https://user@example.com/", host, sizeof(host)), -1);
	CHECK_EQ_INT(HOST_OF("https://[::1]/", host, sizeof(host)), -1);
	CHECK_EQ_INT(HOST_OF("javascript:alert(1)", host, sizeof(host)), -1);
	CHECK_EQ_INT(HOST_OF("https:///x", host, sizeof(host)), -1);
	CHECK_EQ_INT(HOST_OF("https://example.com", host, 11), -1);	/* no room for NUL */
	CHECK_EQ_INT(HOST_OF("https://example.com", host, 12), 0);
	CHECK_EQ_STR(host, "example.com");
	CHECK_EQ_INT(HOST_OF("", host, sizeof(host)), -1);
}

int main(void)
{
	test_allowed();
	test_refused();
	test_url_host();
	return CHECK_DONE();
}
