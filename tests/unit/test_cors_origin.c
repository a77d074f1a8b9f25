/*
 * proto/cors_origin: origins as browsers send them are accepted and put in
 * canonical form; everything a browser would never send (paths, userinfo,
 * "*", "null", odd ports, controls) is refused, so CORS_ORIGINS cannot hold
 * an entry that silently matches nothing or too much.
 */
#include "proto/cors_origin.h"
#include "tests/unit/check.h"

static void origin_is(const char *in, size_t len, const char *want, int line)
{
	char out[CORS_ORIGIN_MAX];
	bool ok = cors_origin_parse(in, len, out, sizeof(out));
	if (want ? ok && !strcmp(out, want) : !ok && out[0] == '\0') {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: cors_origin_parse(\"%.*s\") = %d \"%s\", expected %s\n", __FILE__, line, (int)len, in, ok,
	    out, want ? want : "refusal");
}
#define OK(lit, want) origin_is((lit), sizeof(lit) - 1, (want), __LINE__)
#define BAD(lit) origin_is((lit), sizeof(lit) - 1, NULL, __LINE__)

static void url_origin_is(const char *in, const char *want, int line)
{
	char out[CORS_ORIGIN_MAX];
	bool ok = cors_origin_of_url(in, strlen(in), out, sizeof(out));
	if (want ? ok && !strcmp(out, want) : !ok) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: cors_origin_of_url(\"%s\") = %d \"%s\", expected %s\n", __FILE__, line, in, ok, out,
	    want ? want : "refusal");
}

int main(void)
{
	char list[8][CORS_ORIGIN_MAX], err[256];
	size_t n;

	OK("https://app.example.com", "https://app.example.com");
	OK("http://localhost:5173", "http://localhost:5173");
	OK("HTTPS://App.Example.COM", "https://app.example.com");
	OK("https://app.example.com:443", "https://app.example.com");	/* default port dropped */
	OK("http://app.example.com:80", "http://app.example.com");
	OK("http://app.example.com:443", "http://app.example.com:443");	/* not the default for http */
	OK("https://app.example.com:8443", "https://app.example.com:8443");
	OK("http://127.0.0.1:3000", "http://127.0.0.1:3000");
	OK("http://[::1]:3000", "http://[::1]:3000");
	OK("https://[2001:DB8::1]", "https://[2001:db8::1]");
	OK("https://xn--bcher-kva.example", "https://xn--bcher-kva.example");

	BAD("");
	BAD("*");
	BAD("null");
	BAD("app.example.com");				/* no scheme */
	BAD("https://");
	BAD("https://app.example.com/");		/* a path, even "/" */
	BAD("https://app.example.com/callback");
	BAD("https://app.example.com?x=1");
	BAD("https://app.example.com#x");
	BAD("https://user@app.example.com");
	BAD("https://user:pw@app.example.com");
	BAD("ftp://app.example.com");
	BAD("javascript://app.example.com");
	BAD("https://app.example.com:");
	BAD("https://app.example.com:0");
	BAD("https://app.example.com:65536");
	BAD("https://app.example.com:08443");		/* leading zero: a browser never sends it */
	BAD("https://app.example.com:123456");
	BAD("https://app.example.com:80a");
	BAD("https://app..example.com");
	BAD("https://.example.com");
	BAD("https://example.com.");
	BAD("https://app example.com");
	BAD(" https://app.example.com");
	BAD("https://app.example.com ");
	BAD("https://app.example.com\r\nX: y");
	BAD("https://app.example.com\0.evil.com");
	BAD("https://app.ex\xc3\xa4mple.com");
	BAD("https://app_example.com");
	BAD("https://[::1");
	BAD("https://[::1]x");
	BAD("https://[zz::1]");
	BAD("https://[]");
	BAD("https://app.example.com,https://b.example.com");
	BAD("https://app.example.com\\@evil.com");
	{
		char big[CORS_ORIGIN_MAX + 10];
		memset(big, 'a', sizeof(big));
		memcpy(big, "https://", 8);
		origin_is(big, sizeof(big), NULL, __LINE__);
	}

	/* Origins of redirect URIs: scheme://host[:port], path dropped. */
	url_origin_is("https://app.example.com/callback?x=1", "https://app.example.com", __LINE__);
	url_origin_is("http://localhost:5173/auth/callback", "http://localhost:5173", __LINE__);
	url_origin_is("https://APP.example.com:443/cb", "https://app.example.com", __LINE__);
	url_origin_is("https://app.example.com", "https://app.example.com", __LINE__);
	url_origin_is("http://[::1]:8080/cb", "http://[::1]:8080", __LINE__);
	url_origin_is("app.immich:///oauth-callback", NULL, __LINE__);	/* private-use scheme: no web origin */
	url_origin_is("com.example.app:/cb", NULL, __LINE__);
	url_origin_is("https://user@app.example.com/cb", NULL, __LINE__);
	url_origin_is("https:///cb", NULL, __LINE__);

	/* CORS_ORIGINS */
	CHECK_EQ_INT(cors_origin_list_parse("https://a.example, http://localhost:5173 ,https://A.example:443", 63, list, 8,
	    &n, err, sizeof(err)), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(list[0], "https://a.example");
	CHECK_EQ_STR(list[1], "http://localhost:5173");
	CHECK_EQ_INT(cors_origin_list_parse("https://a.example", 17, list, 8, &n, err, sizeof(err)), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(cors_origin_list_parse("*", 1, list, 8, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "\"*\"") != NULL);
	CHECK_EQ_INT(cors_origin_list_parse("https://a.example,", 18, list, 8, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "item 2") != NULL);
	CHECK_EQ_INT(cors_origin_list_parse("https://a.example/,https://b.example", 36, list, 8, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "https://a.example/") != NULL);
	CHECK_EQ_INT(cors_origin_list_parse("https://a.example\x1b[31m", 22, list, 8, &n, err, sizeof(err)), -1);
	CHECK(strchr(err, 0x1b) == NULL);	/* the log line stays one printable line */
	CHECK_EQ_INT(cors_origin_list_parse("", 0, list, 8, &n, err, sizeof(err)), -1);
	CHECK_EQ_INT(cors_origin_list_parse("https://a.x,https://b.x,https://c.x", 35, list, 2, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than 2") != NULL);
	return CHECK_DONE();
}
