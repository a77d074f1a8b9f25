/*
 * Unit tests for proto/form.c: urlencoded bodies and query strings, Cookie
 * headers, and url_encode. Run by CTest.
 */
#include "proto/form.h"
#include "tests/unit/check.h"

#include <stdlib.h>

static enum form_result parse(const char *s, struct form *f)
{
	return form_parse(s, strlen(s), 4096, f);
}

/* Parses s and expects result; the form is always left freeable. */
static void expect_result(const char *s, enum form_result expected)
{
	struct form f;
	enum form_result r = parse(s, &f);
	if (r != expected)
		fprintf(stderr, "input \"%s\"\n", s);
	CHECK_EQ_INT(r, expected);
	if (r != FORM_OK)
		CHECK(f.n == 0 && f.arena == NULL);
	form_free(&f);
}

static void test_form_basic(void)
{
	struct form f;
	const char *body = "grant_type=authorization_code&code=Spl%78Ox%2Bq&redirect_uri=https%3A%2F%2Fc.example%2Fcb%3Fa%3D1&x=a+b%20c";
	CHECK_EQ_INT(parse(body, &f), FORM_OK);
	CHECK_EQ_INT(f.n, 4);
	CHECK_EQ_STR(form_get(&f, "grant_type"), "authorization_code");
	CHECK_EQ_STR(form_get(&f, "code"), "SplxOx+q");
	CHECK_EQ_STR(form_get(&f, "redirect_uri"), "https://c.example/cb?a=1");
	CHECK_EQ_STR(form_get(&f, "x"), "a b c");
	CHECK(form_get(&f, "missing") == NULL);
	CHECK(form_get(&f, "Code") == NULL);	/* names are case-sensitive */
	form_free(&f);
	CHECK(f.n == 0 && f.arena == NULL);
	form_free(&f);	/* twice is harmless */

	/* '=' optional, empty values, empty segments skipped */
	CHECK_EQ_INT(parse("&&flag&a=&b==c&&&c=d&", &f), FORM_OK);
	CHECK_EQ_INT(f.n, 4);
	CHECK_EQ_STR(form_get(&f, "flag"), "");
	CHECK_EQ_STR(form_get(&f, "a"), "");
	CHECK_EQ_STR(form_get(&f, "b"), "=c");
	CHECK_EQ_STR(form_get(&f, "c"), "d");
	form_free(&f);

	/* query strings use the same rules */
	CHECK_EQ_INT(parse("response_type=code&scope=openid+profile&state=%2F%3F", &f), FORM_OK);
	CHECK_EQ_STR(form_get(&f, "scope"), "openid profile");
	CHECK_EQ_STR(form_get(&f, "state"), "/?");
	form_free(&f);

	/* empty input and only separators */
	CHECK_EQ_INT(form_parse(NULL, 0, 4096, &f), FORM_OK);
	CHECK_EQ_INT(f.n, 0);
	CHECK(form_get(&f, "a") == NULL);
	form_free(&f);
	CHECK_EQ_INT(parse("&&&", &f), FORM_OK);
	CHECK_EQ_INT(f.n, 0);
	form_free(&f);

	/* length is honoured: bytes after len are not read */
	CHECK_EQ_INT(form_parse("a=1&b=2", 3, 4096, &f), FORM_OK);
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_STR(form_get(&f, "a"), "1");
	form_free(&f);

	/* a '+' escaped stays a plus, an escaped '&' or '=' is data */
	CHECK_EQ_INT(parse("a%26b=c%3Dd&p=%2B", &f), FORM_OK);
	CHECK_EQ_STR(form_get(&f, "a&b"), "c=d");
	CHECK_EQ_STR(form_get(&f, "p"), "+");
	form_free(&f);
}

static void test_form_unicode(void)
{
	struct form f;
	/* valid multibyte: 2, 3 and 4 bytes, escaped and raw */
	CHECK_EQ_INT(parse("n=%C3%A9&m=%E2%82%AC&e=%F0%9F%98%80&r=\xc3\xa9t\xc3\xa9&max=%F4%8F%BF%BF", &f), FORM_OK);
	CHECK_EQ_STR(form_get(&f, "n"), "\xc3\xa9");
	CHECK_EQ_STR(form_get(&f, "m"), "\xe2\x82\xac");
	CHECK_EQ_STR(form_get(&f, "e"), "\xf0\x9f\x98\x80");
	CHECK_EQ_STR(form_get(&f, "r"), "\xc3\xa9t\xc3\xa9");
	CHECK_EQ_STR(form_get(&f, "max"), "\xf4\x8f\xbf\xbf");
	form_free(&f);
	CHECK_EQ_INT(parse("%C3%A9=1", &f), FORM_OK);	/* in names too */
	CHECK_EQ_STR(form_get(&f, "\xc3\xa9"), "1");
	form_free(&f);
	/* edges that are valid */
	expect_result("a=%ED%9F%BF", FORM_OK);	/* U+D7FF, just below surrogates */
	expect_result("a=%EE%80%80", FORM_OK);	/* U+E000, just above */
	expect_result("a=%E0%A0%80", FORM_OK);	/* smallest 3-byte */
	expect_result("a=%F0%90%80%80", FORM_OK);	/* smallest 4-byte */
	expect_result("a=%C2%80", FORM_OK);	/* smallest 2-byte */

	/* overlongs */
	expect_result("a=%C0%AF", FORM_ERR_SYNTAX);
	expect_result("a=%C1%BF", FORM_ERR_SYNTAX);
	expect_result("a=%E0%80%AF", FORM_ERR_SYNTAX);
	expect_result("a=%F0%80%80%AF", FORM_ERR_SYNTAX);
	/* surrogates, lone and paired */
	expect_result("a=%ED%A0%80", FORM_ERR_SYNTAX);
	expect_result("a=%ED%BF%BF", FORM_ERR_SYNTAX);
	expect_result("a=%ED%A0%BD%ED%B8%80", FORM_ERR_SYNTAX);
	/* past U+10FFFF, F5+ lead bytes */
	expect_result("a=%F4%90%80%80", FORM_ERR_SYNTAX);
	expect_result("a=%F5%80%80%80", FORM_ERR_SYNTAX);
	expect_result("a=%FF", FORM_ERR_SYNTAX);
	/* stray continuation, truncated sequences (also split by '=' or '&') */
	expect_result("a=%80", FORM_ERR_SYNTAX);
	expect_result("a=%C3", FORM_ERR_SYNTAX);
	expect_result("a=%E2%82", FORM_ERR_SYNTAX);
	expect_result("a=%F0%9F%98", FORM_ERR_SYNTAX);
	expect_result("a=%C3x", FORM_ERR_SYNTAX);
	expect_result("a%C3=%A9", FORM_ERR_SYNTAX);
	expect_result("a=%C3&%A9", FORM_ERR_SYNTAX);
	expect_result("a=\xc3", FORM_ERR_SYNTAX);	/* raw bytes are checked too */
	expect_result("a=\xed\xa0\x80", FORM_ERR_SYNTAX);
	/* NUL, escaped or raw */
	expect_result("a=%00", FORM_ERR_SYNTAX);
	expect_result("a%00=1", FORM_ERR_SYNTAX);
	struct form g;
	CHECK_EQ_INT(form_parse("a=b\0c", 5, 4096, &g), FORM_ERR_SYNTAX);
	form_free(&g);
}

static void test_form_errors(void)
{
	/* bad escapes */
	expect_result("a=%G1", FORM_ERR_SYNTAX);
	expect_result("a=%1G", FORM_ERR_SYNTAX);
	expect_result("a=%4", FORM_ERR_SYNTAX);
	expect_result("a=%", FORM_ERR_SYNTAX);
	expect_result("a=%%41", FORM_ERR_SYNTAX);
	expect_result("a=% 1", FORM_ERR_SYNTAX);
	expect_result("a=%+1", FORM_ERR_SYNTAX);
	expect_result("%4=1", FORM_ERR_SYNTAX);
	expect_result("a=%4&b=1", FORM_ERR_SYNTAX);	/* a '&' does not complete an escape */
	expect_result("a=%41", FORM_OK);
	expect_result("a=%4a%4A", FORM_OK);	/* either case */
	/* empty names */
	expect_result("=v", FORM_ERR_SYNTAX);
	expect_result("a=1&=", FORM_ERR_SYNTAX);

	/* duplicates, including ones that only match after decoding */
	expect_result("a=1&a=2", FORM_ERR_DUPLICATE);
	expect_result("a=1&a", FORM_ERR_DUPLICATE);
	expect_result("a=1&%61=1", FORM_ERR_DUPLICATE);
	expect_result("a+b=1&a%20b=2", FORM_ERR_DUPLICATE);
	expect_result("a=1&A=2", FORM_OK);

	/* FORM_MAX_FIELDS fields pass, one more fails; empty segments don't count */
	char buf[4096];
	size_t o = 0;
	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "k%d=v%d&&", i, i);
	struct form f;
	CHECK_EQ_INT(form_parse(buf, o, sizeof(buf), &f), FORM_OK);
	CHECK_EQ_INT(f.n, FORM_MAX_FIELDS);
	CHECK_EQ_STR(form_get(&f, "k63"), "v63");
	form_free(&f);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "last");
	CHECK_EQ_INT(form_parse(buf, o, sizeof(buf), &f), FORM_ERR_TOO_MANY);
	CHECK(f.n == 0 && f.arena == NULL);
	form_free(&f);

	/* arena sizing worst case: FORM_MAX_FIELDS one-byte names without '=' */
	o = 0;
	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%c", i ? "&" : "", i < 26 ? 'a' + i : i < 52 ? 'A' + i - 26 : '0' + i - 52);
	CHECK_EQ_INT(form_parse(buf, o, sizeof(buf), &f), FORM_OK);
	CHECK_EQ_INT(f.n, FORM_MAX_FIELDS);
	CHECK_EQ_STR(form_get(&f, "z"), "");
	form_free(&f);

	/* too long: len > max_len, exactly max_len is fine */
	CHECK_EQ_INT(form_parse("a=12345", 7, 6, &f), FORM_ERR_TOO_LONG);
	form_free(&f);
	CHECK_EQ_INT(form_parse("a=12345", 7, 7, &f), FORM_OK);
	CHECK_EQ_STR(form_get(&f, "a"), "12345");
	form_free(&f);
}

static int find(const char *header, const char *name, const char **value, size_t *len)
{
	return cookie_find(header, strlen(header), name, value, len);
}

static void expect_cookie(const char *header, const char *name, int result, const char *value)
{
	const char *v = NULL;
	size_t len = 0;
	int r = find(header, name, &v, &len);
	if (r != result)
		fprintf(stderr, "cookie header \"%s\" name \"%s\"\n", header, name);
	CHECK_EQ_INT(r, result);
	if (r == 1 && value != NULL) {
		CHECK_EQ_INT(len, strlen(value));
		CHECK(v != NULL && memcmp(v, value, len) == 0);
		CHECK(v >= header && v + len <= header + strlen(header));
	}
}

static void test_cookies(void)
{
	const char *h = "sid=abc123; theme=dark; __Host-da_session=Zm9v-_YmFy";
	expect_cookie(h, "sid", 1, "abc123");
	expect_cookie(h, "theme", 1, "dark");
	expect_cookie(h, "__Host-da_session", 1, "Zm9v-_YmFy");
	expect_cookie(h, "missing", 0, NULL);
	expect_cookie(h, "Sid", 0, NULL);	/* case-sensitive */
	expect_cookie(h, "si", 0, NULL);	/* no prefix matches */
	expect_cookie(h, "sid=abc123", 0, NULL);

	/* quoted values: DQUOTEs stripped */
	expect_cookie("a=\"quoted\"; b=2", "a", 1, "quoted");
	expect_cookie("a=\"\"", "a", 1, "");
	expect_cookie("a=\"x", "a", 0, NULL);
	expect_cookie("a=x\"", "a", 0, NULL);
	expect_cookie("a=\"x\"y", "a", 0, NULL);
	expect_cookie("a=\"x y\"", "a", 0, NULL);

	/* empty values */
	expect_cookie("a=; b=2", "a", 1, "");
	expect_cookie("a=", "a", 1, "");
	expect_cookie("b=2; a=", "a", 1, "");

	/* first occurrence wins */
	expect_cookie("sid=first; other=1; sid=second", "sid", 1, "first");

	/* base64 padding and other octets allowed in values */
	expect_cookie("t=YWJj==; u=!#$%&'()*+-./:<>?@[]^_`{|}~", "t", 1, "YWJj==");
	expect_cookie("t=YWJj==; u=!#$%&'()*+-./:<>?@[]^_`{|}~", "u", 1, "!#$%&'()*+-./:<>?@[]^_`{|}~");

	/* lenient spaces: none, many, tabs, around '=', trailing ';' */
	expect_cookie("a=1;b=2", "b", 1, "2");
	expect_cookie("  a=1 ;\tb=2  ;  ", "b", 1, "2");
	expect_cookie("a = 1", "a", 1, "1");
	expect_cookie("a=1;; b=2", "b", 1, "2");

	/* absent from empty headers */
	expect_cookie("", "a", 0, NULL);
	expect_cookie("   ", "a", 0, NULL);
	expect_cookie(";", "a", 0, NULL);

	/* malformed anywhere in the header */
	expect_cookie("a", "a", 0, NULL);
	expect_cookie("a=1; b", "a", 1, "1");
	expect_cookie("=1", "a", 0, NULL);
	expect_cookie("a=1; =2", "a", 1, "1");
	expect_cookie("a b=1", "a", 0, NULL);
	expect_cookie("a(b)=1", "a(b)", 0, NULL);
	expect_cookie("a=1 2", "a", 0, NULL);
	/* a sloppy cookie of another application does not hide ours */
	expect_cookie("prefs={\"x\": 1, \"y\": [2]}; sid=abc; t=a b", "sid", 1, "abc");
	expect_cookie("a=1 2; a=3", "a", 1, "3");
	expect_cookie("a=1,b=2", "a", 0, NULL);
	expect_cookie("a=x\\y", "a", 0, NULL);
	expect_cookie("a=\xc3\xa9", "a", 0, NULL);
	expect_cookie("a=1\r\nb=2", "a", -1, NULL);

	/* the length is honoured, embedded NUL is malformed */
	const char *v;
	size_t len;
	CHECK_EQ_INT(cookie_find("a=1; b=2", 3, "b", &v, &len), 0);
	CHECK_EQ_INT(cookie_find("a=1; b=2", 3, "a", &v, &len), 1);
	CHECK_EQ_INT(cookie_find("a=1\0; b=2", 9, "b", &v, &len), -1);
	CHECK_EQ_INT(cookie_find(NULL, 0, "b", &v, &len), 0);
}

static void test_url_encode(void)
{
	char out[256];
	CHECK_EQ_INT(url_encode("AZaz09-._~", 10, out, sizeof(out)), 10);
	CHECK_EQ_STR(out, "AZaz09-._~");
	CHECK_EQ_INT(url_encode("a b&c=d/+%", 10, out, sizeof(out)), 22);
	CHECK_EQ_STR(out, "a%20b%26c%3Dd%2F%2B%25");
	CHECK_EQ_INT(url_encode("\xc3\xa9\x01\xff", 4, out, sizeof(out)), 12);
	CHECK_EQ_STR(out, "%C3%A9%01%FF");
	CHECK_EQ_INT(url_encode("", 0, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "");

	/* capacity: output plus NUL must fit */
	CHECK_EQ_INT(url_encode("abc", 3, out, 3), -1);
	CHECK_EQ_INT(url_encode("abc", 3, out, 4), 3);
	CHECK_EQ_INT(url_encode(" ", 1, out, 3), -1);
	CHECK_EQ_INT(url_encode(" ", 1, out, 4), 3);
	CHECK_EQ_INT(url_encode("", 0, out, 0), -1);

	/* round trip through form_parse, including every non-NUL byte that
	 * forms valid UTF-8 */
	const char *values[] = {
		"https://client.example/cb?x=1&y=2#frag",
		"a+b c%20d",
		"\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9",
		"=&;\"'<>\\",
		"",
	};
	char body[1024];
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		size_t o = 0;
		memcpy(body, "name=", 5);
		o = 5;
		long n = url_encode(values[i], strlen(values[i]), body + o, sizeof(body) - o);
		CHECK(n >= 0);
		o += (size_t)n;
		struct form f;
		CHECK_EQ_INT(form_parse(body, o, sizeof(body), &f), FORM_OK);
		CHECK_EQ_STR(form_get(&f, "name"), values[i]);
		form_free(&f);
	}
	char all[128];
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	long n = url_encode(all, 127, body, sizeof(body));
	CHECK(n > 0);
	struct form f;
	char named[1100];
	int len = snprintf(named, sizeof(named), "k=%s", body);
	CHECK_EQ_INT(form_parse(named, (size_t)len, sizeof(named), &f), FORM_OK);
	const char *got = form_get(&f, "k");
	CHECK(got != NULL && strlen(got) == 127 && memcmp(got, all, 127) == 0);
	form_free(&f);
}

int main(void)
{
	test_form_basic();
	test_form_unicode();
	test_form_errors();
	test_cookies();
	test_url_encode();
	return CHECK_DONE();
}
