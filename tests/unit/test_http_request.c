/*
 * Unit tests for proto/http_request.c: request-head parsing, the refusal
 * (smuggling) cases with their exact status, limits, the chunked decoder,
 * and a differential run against nodejs http-parser: what we accept it must
 * accept and read the same way; where it accepts and we refuse, the case
 * must be on the explicit list of ambiguous-framing refusals.
 */
#include "proto/http_request.h"
#include "tests/unit/check.h"
/* http-parser has its own enum http_method: rename it on the way in. */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method
#include <stdint.h>
#include <stdlib.h>

static const struct http_limits limits = {
	.max_head = 16384, .max_target = 8192, .max_headers = 64, .max_body = 1 << 20,
};

static enum http_parse_result parse_with(const char *s, size_t len, const struct http_limits *l,
    struct http_request *r, int *status)
{
	return http_request_parse(s, len, l, r, status);
}

static enum http_parse_result parse(const char *s, struct http_request *r, int *status)
{
	return parse_with(s, strlen(s), &limits, r, status);
}

/* Copies an http_str into a NUL-terminated scratch buffer for CHECK_EQ_STR. */
static const char *cstr(struct http_str s)
{
	static char scratch[4][1024];
	static int next;
	char *b = scratch[next++ & 3];
	size_t n = s.len < sizeof scratch[0] - 1 ? s.len : sizeof scratch[0] - 1;
	if (n)
		memcpy(b, s.p, n);
	b[n] = '\0';
	return b;
}

static const char *header(const struct http_request *r, const char *name)
{
	const struct http_str *v = http_request_header(r, name);
	return v ? cstr(*v) : NULL;
}

/* ---- valid requests ---- */

static void test_valid_get(void)
{
	const char *s =
		"GET /auth/verify?rd=%2Fapp&x=1 HTTP/1.1\r\n"
		"Host: auth.example.com\r\n"
		"User-Agent:\tcurl/8.0  \r\n"
		"Cookie: da_session=abc.def; theme=dark\r\n"
		"X-Forwarded-Uri: /app?a=b\r\n"
		"X-Empty:\r\n"
		"X-Obs-Text: caf\xc3\xa9\r\n"
		"\r\n";
	struct http_request r;
	int status = -7;
	CHECK_EQ_INT(parse(s, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_INT(status, 0);
	CHECK_EQ_INT(r.method, HTTP_METHOD_GET);
	CHECK_EQ_STR(cstr(r.method_str), "GET");
	CHECK_EQ_STR(cstr(r.target), "/auth/verify?rd=%2Fapp&x=1");
	CHECK_EQ_STR(cstr(r.path), "/auth/verify");
	CHECK_EQ_STR(cstr(r.query), "rd=%2Fapp&x=1");
	CHECK_EQ_INT(r.version_minor, 1);
	CHECK_EQ_INT(r.n_headers, 6);
	CHECK_EQ_STR(cstr(r.headers[0].name), "Host");
	CHECK_EQ_STR(header(&r, "host"), "auth.example.com");
	CHECK_EQ_STR(header(&r, "USER-AGENT"), "curl/8.0");
	CHECK_EQ_STR(header(&r, "cookie"), "da_session=abc.def; theme=dark");
	CHECK_EQ_STR(header(&r, "x-empty"), "");
	CHECK_EQ_STR(header(&r, "x-obs-text"), "caf\xc3\xa9");
	CHECK(http_request_header(&r, "x-missing") == NULL);
	CHECK(http_request_header(&r, "Hos") == NULL);
	CHECK_EQ_INT(r.head_len, strlen(s));
	CHECK(!r.has_content_length);
	CHECK(!r.chunked);
	CHECK(r.keep_alive);
	CHECK(!r.expect_continue);

	/* no query: path is the whole target, query empty; '?' alone gives an empty query */
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.path), "/");
	CHECK_EQ_INT(r.query.len, 0);
	CHECK_EQ_INT(parse("GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n", &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.path), "/a");
	CHECK_EQ_STR(cstr(r.query), "b?c");
	CHECK_EQ_INT(parse("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.path), "/a");
	CHECK_EQ_INT(r.query.len, 0);
}

static void test_methods(void)
{
	static const struct { const char *name; enum http_method m; } cases[] = {
		{ "GET", HTTP_METHOD_GET }, { "HEAD", HTTP_METHOD_HEAD }, { "POST", HTTP_METHOD_POST },
		{ "PUT", HTTP_METHOD_PUT }, { "DELETE", HTTP_METHOD_DELETE },
		{ "OPTIONS", HTTP_METHOD_OPTIONS }, { "PATCH", HTTP_METHOD_PATCH },
		{ "PROPFIND", HTTP_METHOD_OTHER }, { "get", HTTP_METHOD_OTHER }, { "GETX", HTTP_METHOD_OTHER },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].name);
		struct http_request r;
		int status;
		CHECK_EQ_INT(parse(buf, &r, &status), HTTP_PARSE_OK);
		CHECK_EQ_INT(r.method, cases[i].m);
		CHECK_EQ_STR(cstr(r.method_str), cases[i].name);
	}
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.target), "*");
	CHECK_EQ_STR(cstr(r.path), "*");
}

static void test_keep_alive_matrix(void)
{
	static const struct { const char *version, *connection; bool keep_alive; } cases[] = {
		{ "1.1", NULL, true },
		{ "1.1", "close", false },
		{ "1.1", "Close", false },
		{ "1.1", "keep-alive", true },
		{ "1.1", "keep-alive, close", false },
		{ "1.1", "foo, CLOSE ,bar", false },
		{ "1.1", "closed", true },
		{ "1.1", "x-close-y", true },
		{ "1.0", NULL, false },
		{ "1.0", "keep-alive", true },
		{ "1.0", "Keep-Alive", true },
		{ "1.0", "close", false },
		{ "1.0", "keep-alive, close", false },	/* close wins (http-parser says keep-alive here) */
		{ "1.0", "te, keep-alive", true },
		{ "1.0", "keep-alive ,  te", true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "GET / HTTP/%s\r\nHost: h\r\n%s%s%s\r\n", cases[i].version,
		    cases[i].connection ? "Connection: " : "", cases[i].connection ? cases[i].connection : "",
		    cases[i].connection ? "\r\n" : "");
		struct http_request r;
		int status;
		CHECK_EQ_INT(parse(buf, &r, &status), HTTP_PARSE_OK);
		if (r.keep_alive != cases[i].keep_alive)
			fprintf(stderr, "keep-alive case %zu (%s)\n", i, buf);
		CHECK_EQ_INT(r.keep_alive, cases[i].keep_alive);
	}
	/* two Connection headers combine */
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
	    &r, &status), HTTP_PARSE_OK);
	CHECK(!r.keep_alive);
}

static void test_expect_and_lengths(void)
{
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n",
	    &r, &status), HTTP_PARSE_OK);
	CHECK(r.expect_continue);
	CHECK(r.has_content_length);
	CHECK_EQ_INT(r.content_length, 10);
	CHECK_EQ_INT(parse("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
	    &r, &status), HTTP_PARSE_OK);
	CHECK(!r.expect_continue);	/* ignored from HTTP/1.0 */
	CHECK(r.has_content_length);
	CHECK_EQ_INT(r.content_length, 0);
	CHECK_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", &r, &status),
	    HTTP_PARSE_OK);
	CHECK_EQ_INT(r.content_length, 1048576);
	CHECK_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length:   007  \r\n\r\n", &r, &status),
	    HTTP_PARSE_OK);
	CHECK_EQ_INT(r.content_length, 7);
	CHECK_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", &r, &status),
	    HTTP_PARSE_OK);
	CHECK(r.chunked);
	CHECK(!r.has_content_length);
	CHECK_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  chunked  \r\n\r\n", &r, &status),
	    HTTP_PARSE_OK);
	CHECK(r.chunked);
}

static void test_leading_empty_lines(void)
{
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.method_str), "GET");
	CHECK_EQ_INT(parse("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 400);
	CHECK_EQ_INT(parse("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 400);
	CHECK_EQ_INT(parse("\r\n", &r, &status), HTTP_PARSE_INCOMPLETE);
	CHECK_EQ_INT(parse("\r", &r, &status), HTTP_PARSE_INCOMPLETE);
}

static void test_pipelined(void)
{
	const char *s =
		"GET /first HTTP/1.1\r\nHost: h\r\n\r\n"
		"POST /second HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
		"GET /third HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	size_t len = strlen(s), off = 0;
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse_with(s, len, &limits, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.target), "/first");
	off += r.head_len;
	CHECK_EQ_INT(parse_with(s + off, len - off, &limits, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.target), "/second");
	CHECK_EQ_INT(r.content_length, 3);
	CHECK(memcmp(s + off + r.head_len, "abc", 3) == 0);
	off += r.head_len + 3;
	CHECK_EQ_INT(parse_with(s + off, len - off, &limits, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_STR(cstr(r.target), "/third");
	CHECK(!r.keep_alive);
	CHECK_EQ_INT(off + r.head_len, len);
}

/* Every strict prefix of a valid request is INCOMPLETE, and the parse never
 * reads past the prefix (checked with a heap copy of exactly that length). */
static void test_every_prefix_incomplete(void)
{
	static const char *const requests[] = {
		"GET /auth?x=1 HTTP/1.1\r\nHost: a.example\r\nCookie: s=1\r\nX-Tab:\tv \t\r\n\r\n",
		"\r\nPOST /p HTTP/1.0\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
		size_t len = strlen(requests[i]);
		int bad = 0;
		for (size_t n = 0; n < len; n++) {
			char *copy = malloc(n ? n : 1);
			memcpy(copy, requests[i], n);
			struct http_request r;
			int status;
			if (parse_with(copy, n, &limits, &r, &status) != HTTP_PARSE_INCOMPLETE) {
				fprintf(stderr, "request %zu prefix %zu not INCOMPLETE (status %d)\n", i, n, status);
				bad++;
			}
			free(copy);
		}
		CHECK_EQ_INT(bad, 0);
		struct http_request r;
		int status;
		CHECK_EQ_INT(parse_with(requests[i], len, &limits, &r, &status), HTTP_PARSE_OK);
		CHECK_EQ_INT(r.head_len, len);
	}
}

/* ---- refusals ---- */

struct refusal {
	const char *name;
	const char *request;
	size_t len;	/* 0: strlen */
	int status;
};

#define R(name, request, status) { name, request, sizeof(request) - 1, status }
static const struct refusal refusals[] = {
	/* request line */
	R("bad method char", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("absolute-form", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("authority-form", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 400),
	R("asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("CTL in target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("fragment in target", "GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400),
	R("HTTP/0.9", "GET /\r\n\r\n", 400),
	R("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
	R("version with space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400),
	R("three-digit version", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400),
	R("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505),
	R("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
	R("HTTP/0.9 line", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505),
	R("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),	/* '*' is OPTIONS only */
	R("request line bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
	R("request line bare CR", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400),
	/* header syntax */
	R("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
	R("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400),
	R("empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400),
	R("no colon", "GET / HTTP/1.1\r\nHost: h\r\nX-Foo\r\n\r\n", 400),
	R("bad name char", "GET / HTTP/1.1\r\nHost: h\r\nX(a): v\r\n\r\n", 400),
	R("obs-fold space", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400),
	R("obs-fold tab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 400),
	R("whitespace before first header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400),
	R("header bare LF", "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n", 400),
	R("header bare CR", "GET / HTTP/1.1\r\nHost: h\rX-A: b\r\n\r\n", 400),
	R("final bare LF", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400),
	R("final LF LF", "GET / HTTP/1.1\nHost: h\n\n", 400),
	R("final bare CR", "GET / HTTP/1.1\r\nHost: h\r\n\rX", 400),
	R("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 400),
	R("CTL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x0b\r\n\r\n", 400),
	R("DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400),
	R("ESC in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: \x1b[31m\r\n\r\n", 400),
	/* Host */
	R("HTTP/1.1 no Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
	R("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	R("two equal Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400),
	R("two Host on 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	R("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	R("Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	R("Host with at", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
	/* Content-Length */
	R("CL negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
	R("CL plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400),
	R("CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400),
	R("CL empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400),
	R("CL inner space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400),
	R("CL comma list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400),
	R("CL duplicate equal", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
	R("CL duplicate differ", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", 400),
	R("CL too large", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413),
	R("CL overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
	R("CL 2^64", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", 413),
	/* Transfer-Encoding */
	R("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	R("TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
	R("TE gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
	R("TE gzip, chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
	R("TE identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 501),
	R("TE chunked, gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
	R("TE chunked, chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
	R("TE two headers", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	R("TE garbage", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400),
	R("TE empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400),
	R("TE chunked junk", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400),
	R("TE xchunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 501),
	R("TE leading comma", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n", 400),
	R("TE vertical tab", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0b" "chunked\r\n\r\n", 400),
	R("TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	R("TE name space", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
	/* Connection */
	R("Connection garbage", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close;x\r\n\r\n", 400),
	R("Connection empty", "GET / HTTP/1.1\r\nHost: h\r\nConnection: \r\n\r\n", 400),
	R("Connection empty element", "GET / HTTP/1.1\r\nHost: h\r\nConnection: te,,close\r\n\r\n", 400),
	R("Connection leading comma", "GET / HTTP/1.0\r\nConnection: ,keep-alive\r\n\r\n", 400),
	R("Connection tab", "GET / HTTP/1.1\r\nHost: h\r\nConnection: te,\tclose\r\n\r\n", 400),
	R("TE leading tab", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\r\n\r\n", 400),
	R("TE trailing tab", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t\r\n\r\n", 400),
	R("Connection trailing tab", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\t\r\n\r\n", 400),
	R("CL trailing tab", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\t\r\n\r\n", 400),
};
#undef R

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		struct http_request r;
		int status = 0;
		enum http_parse_result res = parse_with(refusals[i].request, refusals[i].len, &limits, &r, &status);
		if (res != HTTP_PARSE_ERROR || status != refusals[i].status)
			fprintf(stderr, "refusal \"%s\": result %d status %d, expected status %d\n",
			    refusals[i].name, res, status, refusals[i].status);
		CHECK_EQ_INT(res, HTTP_PARSE_ERROR);
		CHECK_EQ_INT(status, refusals[i].status);
	}
}

/* Errors visible in a partial buffer are reported without waiting for more. */
static void test_early_errors(void)
{
	struct http_request r;
	int status;
	CHECK_EQ_INT(parse("G\x01", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 400);
	CHECK_EQ_INT(parse("GET /\x80", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTX", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTP/1,", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTP/1.1\n", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nA b", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\n ", &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n", &r, &status),
	    HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 400);
	CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nX: \x7f", &r, &status), HTTP_PARSE_ERROR);
}

/* ---- limits ---- */

static void test_limits(void)
{
	struct http_limits small = { .max_head = 256, .max_target = 32, .max_headers = 3, .max_body = 100 };
	struct http_request r;
	int status;
	char buf[1024];

	/* target exactly max_target is fine, one more is 414, even before the line ends */
	snprintf(buf, sizeof buf, "GET /%031d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	CHECK_EQ_INT(parse_with(buf, strlen(buf), &small, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_INT(r.target.len, 32);
	snprintf(buf, sizeof buf, "GET /%032d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	CHECK_EQ_INT(parse_with(buf, strlen(buf), &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 414);
	CHECK_EQ_INT(parse_with(buf, 4 + 33, &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 414);
	CHECK_EQ_INT(parse_with(buf, 4 + 32, &small, &r, &status), HTTP_PARSE_INCOMPLETE);

	/* headers: 3 fine, 4 is 431 */
	const char *three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
	CHECK_EQ_INT(parse_with(three, strlen(three), &small, &r, &status), HTTP_PARSE_OK);
	const char *four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	CHECK_EQ_INT(parse_with(four, strlen(four), &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 431);

	/* max_headers above HTTP_MAX_HEADERS is clamped, not overflowed */
	struct http_limits wide = limits;
	wide.max_headers = 1000;
	size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\n");
	static char many[8192];
	memcpy(many, buf, n);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
	CHECK_EQ_INT(parse_with(many, n, &wide, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 431);

	/* head: exactly max_head is fine; longer without CRLFCRLF is 431 */
	size_t head = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	while (head < small.max_head - 4)
		buf[head++] = 'v';
	memcpy(buf + head, "\r\n\r\n", 4);
	head += 4;
	CHECK_EQ_INT(head, small.max_head);
	CHECK_EQ_INT(parse_with(buf, head, &small, &r, &status), HTTP_PARSE_OK);
	CHECK_EQ_INT(r.head_len, small.max_head);
	memcpy(buf + head - 4, "v\r\n\r\n", 5);
	CHECK_EQ_INT(parse_with(buf, head + 1, &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 431);
	CHECK_EQ_INT(parse_with(buf, small.max_head, &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 431);
	CHECK_EQ_INT(parse_with(buf, small.max_head - 1, &small, &r, &status), HTTP_PARSE_INCOMPLETE);

	/* body */
	const char *at = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n";
	CHECK_EQ_INT(parse_with(at, strlen(at), &small, &r, &status), HTTP_PARSE_OK);
	const char *over = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n";
	CHECK_EQ_INT(parse_with(over, strlen(over), &small, &r, &status), HTTP_PARSE_ERROR);
	CHECK_EQ_INT(status, 413);
}

static void test_str_helpers(void)
{
	struct http_str s = { "Chunked", 7 };
	CHECK(http_str_eq(s, "Chunked"));
	CHECK(!http_str_eq(s, "chunked"));
	CHECK(http_str_caseeq(s, "chunked"));
	CHECK(http_str_caseeq(s, "CHUNKED"));
	CHECK(!http_str_caseeq(s, "chunke"));
	CHECK(!http_str_caseeq(s, "chunkeds"));
	struct http_str empty = { NULL, 0 };
	CHECK(http_str_eq(empty, ""));
	CHECK(http_str_caseeq(empty, ""));
	CHECK(!http_str_eq(empty, "a"));
}

/* ---- chunked ---- */

static int decode_all(const char *in, size_t len, uint64_t max_body, char *out, size_t cap,
    size_t *out_len, size_t *consumed)
{
	struct http_chunked c;
	http_chunked_init(&c, max_body);
	*out_len = 0;
	return http_chunked_decode(&c, in, len, consumed, out, cap, out_len);
}

static void test_chunked(void)
{
	char out[256];
	size_t out_len, consumed;
	const char *body = "5\r\nhello\r\n7;ext=\"v\";x\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\nY: \r\n\r\nNEXT";
	size_t body_len = strlen(body);
	CHECK_EQ_INT(decode_all(body, body_len, 1000, out, sizeof out, &out_len, &consumed), 1);
	CHECK_EQ_INT(out_len, 22);
	CHECK(memcmp(out, "hello, world0123456789", 22) == 0);
	CHECK_EQ_INT(consumed, body_len - 4);

	CHECK_EQ_INT(decode_all("0\r\n\r\n", 5, 0, out, sizeof out, &out_len, &consumed), 1);
	CHECK_EQ_INT(out_len, 0);
	CHECK_EQ_INT(consumed, 5);
	CHECK_EQ_INT(decode_all("00000\r\n\r\n", 9, 0, out, sizeof out, &out_len, &consumed), 1);
	CHECK_EQ_INT(decode_all("aB\r\n", 4, 1000, out, sizeof out, &out_len, &consumed), 0);

	/* split at every position, one byte at a time */
	{
		struct http_chunked c;
		http_chunked_init(&c, 1000);
		out_len = 0;
		int res = 0;
		size_t fed = 0;
		for (size_t i = 0; i < body_len - 4 && res == 0; i++) {
			res = http_chunked_decode(&c, body + i, 1, &consumed, out, sizeof out, &out_len);
			fed += consumed;
		}
		CHECK_EQ_INT(res, 1);
		CHECK_EQ_INT(fed, body_len - 4);
		CHECK_EQ_INT(out_len, 22);
		CHECK(memcmp(out, "hello, world0123456789", 22) == 0);
		/* after the end: still done, nothing consumed */
		CHECK_EQ_INT(http_chunked_decode(&c, "5\r\n", 3, &consumed, out, sizeof out, &out_len), 1);
		CHECK_EQ_INT(consumed, 0);
	}
	/* two halves at every split point */
	{
		int bad = 0;
		for (size_t split = 0; split <= body_len - 4; split++) {
			struct http_chunked c;
			http_chunked_init(&c, 1000);
			out_len = 0;
			int a = http_chunked_decode(&c, body, split, &consumed, out, sizeof out, &out_len);
			size_t first = consumed;
			int b = http_chunked_decode(&c, body + first, body_len - first, &consumed, out, sizeof out, &out_len);
			if (a != (split == body_len - 4 ? 1 : 0) || first != split || b != 1 || out_len != 22 ||
			    first + consumed != body_len - 4)
				bad++;
		}
		CHECK_EQ_INT(bad, 0);
	}
	/* in place, as workers/http_server.c decodes: out is in itself, so each
	 * chunk's bytes move back over its size line (overlapping copies; ASan
	 * reported memcpy-param-overlap here) */
	{
		char buf[256];
		memcpy(buf, body, body_len);
		CHECK_EQ_INT(decode_all(buf, body_len, 1000, buf, body_len, &out_len, &consumed), 1);
		CHECK_EQ_INT(out_len, 22);
		CHECK(memcmp(buf, "hello, world0123456789", 22) == 0);
		CHECK_EQ_INT(consumed, body_len - 4);
		/* a chunk much longer than its size line: the copy overlaps itself */
		const char *grant = "1d\r\ngrant_type=client_credentials\r\n0\r\n\r\n";
		size_t grant_len = strlen(grant);
		memcpy(buf, grant, grant_len);
		CHECK_EQ_INT(decode_all(buf, grant_len, 1000, buf, grant_len, &out_len, &consumed), 1);
		CHECK_EQ_INT(out_len, 29);
		CHECK(memcmp(buf, "grant_type=client_credentials", 29) == 0);
	}
	/* a small output buffer: 0 with consumed < in_len, then resume */
	{
		struct http_chunked c;
		http_chunked_init(&c, 1000);
		char small[4];
		char all[64];
		size_t all_len = 0, off = 0;
		int res = 0, rounds = 0;
		while (res == 0 && rounds++ < 100) {
			size_t small_len = 0;
			res = http_chunked_decode(&c, body + off, body_len - off, &consumed, small, sizeof small, &small_len);
			off += consumed;
			memcpy(all + all_len, small, small_len);
			all_len += small_len;
		}
		CHECK_EQ_INT(res, 1);
		CHECK_EQ_INT(all_len, 22);
		CHECK(memcmp(all, "hello, world0123456789", 22) == 0);
		CHECK_EQ_INT(off, body_len - 4);
	}

	static const struct { const char *name, *in; int expect; } bad[] = {
		{ "empty size", "\r\n", -1 },
		{ "size bare LF", "5\nhello\r\n0\r\n\r\n", -1 },
		{ "data bare LF", "5\r\nhello\n0\r\n\r\n", -1 },
		{ "data no CRLF", "5\r\nhelloX\r\n0\r\n\r\n", -1 },
		{ "data too long", "5\r\nhello!\r\n0\r\n\r\n", -1 },
		{ "space before CR", "5 \r\nhello\r\n0\r\n\r\n", -1 },
		{ "space before ext", "5 ;a\r\nhello\r\n0\r\n\r\n", -1 },
		{ "negative", "-5\r\nhello\r\n0\r\n\r\n", -1 },
		{ "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", -1 },
		{ "size CR CR", "5\r\rhello\r\n0\r\n\r\n", -1 },
		{ "ext with LF", "5;a\nb\r\nhello\r\n0\r\n\r\n", -1 },
		{ "ext with NUL", "5;a\0\r\nhello\r\n", -1 },
		{ "17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", -1 },
		{ "final bare LF", "0\r\n\n", -1 },
		{ "trailer bare LF", "0\r\nX: y\n\r\n", -1 },
		{ "trailer obs-fold", "0\r\nX: y\r\n z\r\n\r\n", -1 },
		{ "trailer no colon", "0\r\nXy\r\n\r\n", -1 },
		{ "trailer CTL", "0\r\nX: \x01\r\n\r\n", -1 },
		{ "trailer space name", "0\r\nX : y\r\n\r\n", -1 },
		{ "over max_body", "3e9\r\n", -2 },
		{ "total over max_body", "3e8\r\n", -2 },	/* checked with 999 bytes already read below */
		{ "overflow", "ffffffffffffffff\r\n", -2 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_chunked c;
		http_chunked_init(&c, 1000);
		if (strcmp(bad[i].name, "total over max_body") == 0) {
			static char first[1100];
			int n = snprintf(first, sizeof first, "3e7\r\n");
			memset(first + n, 'x', 999);
			memcpy(first + n + 999, "\r\n", 2);
			static char sink[1000];
			size_t sink_len = 0;
			CHECK_EQ_INT(http_chunked_decode(&c, first, (size_t)n + 1001, &consumed, sink, sizeof sink, &sink_len), 0);
			CHECK_EQ_INT(sink_len, 999);
			/* 999 + 1 fits exactly; 999 + 2 does not */
			CHECK_EQ_INT(http_chunked_decode(&c, "2\r\n", 3, &consumed, sink, sizeof sink, &sink_len), -2);
			continue;
		}
		out_len = 0;
		int res = http_chunked_decode(&c, bad[i].in, strlen(bad[i].in) + (strstr(bad[i].name, "NUL") ? 3 : 0),
		    &consumed, out, sizeof out, &out_len);
		if (res != bad[i].expect)
			fprintf(stderr, "chunked \"%s\": %d, expected %d\n", bad[i].name, res, bad[i].expect);
		CHECK_EQ_INT(res, bad[i].expect);
		/* errors are sticky */
		CHECK_EQ_INT(http_chunked_decode(&c, "0\r\n\r\n", 5, &consumed, out, sizeof out, &out_len), bad[i].expect);
	}
	/* exactly max_body is fine */
	{
		char in[2000];
		int n = snprintf(in, sizeof in, "3e8\r\n");
		memset(in + n, 'y', 1000);
		memcpy(in + n + 1000, "\r\n0\r\n\r\n", 7);
		static char sink[1000];
		size_t sink_len = 0;
		CHECK_EQ_INT(decode_all(in, (size_t)n + 1007, 1000, sink, sizeof sink, &sink_len, &consumed), 1);
		CHECK_EQ_INT(sink_len, 1000);
	}
	/* a long chunk extension and long trailers are bounded */
	{
		char in[20000];
		int n = snprintf(in, sizeof in, "1;");
		memset(in + n, 'e', 300);
		memcpy(in + n + 300, "\r\nx\r\n0\r\n\r\n", 10);
		CHECK_EQ_INT(decode_all(in, (size_t)n + 310, 1000, out, sizeof out, &out_len, &consumed), -1);
		n = snprintf(in, sizeof in, "0\r\n");
		for (int i = 0; i < 1000; i++)
			n += snprintf(in + n, sizeof in - (size_t)n, "X-%d: vvvvvvvvvv\r\n", i);
		CHECK_EQ_INT(decode_all(in, (size_t)n, 1000, out, sizeof out, &out_len, &consumed), -1);
		/* The bound is exact: "X:", the value and its CR count, 8192 in all
		 * pass and one byte more does not; a name alone is bounded too. */
		for (int extra = 0; extra <= 1; extra++) {
			n = snprintf(in, sizeof in, "0\r\nX:");
			memset(in + n, 'v', (size_t)(8189 + extra));
			n += 8189 + extra;
			n += snprintf(in + n, sizeof in - (size_t)n, "\r\n\r\n");
			CHECK_EQ_INT(decode_all(in, (size_t)n, 1000, out, sizeof out, &out_len, &consumed), extra ? -1 : 1);
		}
		n = snprintf(in, sizeof in, "0\r\n");
		memset(in + n, 'X', 9000);
		n += 9000;
		CHECK_EQ_INT(decode_all(in, (size_t)n, 1000, out, sizeof out, &out_len, &consumed), -1);
	}
}

/* ---- differential against nodejs http-parser ---- */

#define HP_MAX_HEADERS 80
struct hp_result {
	bool headers_done;
	char url[9000];
	size_t url_len;
	struct { char name[256], value[4096]; size_t name_len, value_len; } headers[HP_MAX_HEADERS];
	size_t n_headers;
	bool in_value;
	bool keep_alive, chunked;
	uint64_t content_length;
	const char *method;
	int version_minor;
};

static void append(char *dst, size_t *dst_len, size_t cap, const char *src, size_t len)
{
	if (*dst_len + len > cap)
		len = cap - *dst_len;
	memcpy(dst + *dst_len, src, len);
	*dst_len += len;
}

static int hp_on_url(http_parser *p, const char *at, size_t len)
{
	struct hp_result *res = p->data;
	append(res->url, &res->url_len, sizeof res->url, at, len);
	return 0;
}

static int hp_on_field(http_parser *p, const char *at, size_t len)
{
	struct hp_result *res = p->data;
	if (res->n_headers == 0 || res->in_value) {
		if (res->n_headers == HP_MAX_HEADERS)
			return 1;
		res->n_headers++;
		res->headers[res->n_headers - 1].name_len = 0;
		res->headers[res->n_headers - 1].value_len = 0;
		res->in_value = false;
	}
	append(res->headers[res->n_headers - 1].name, &res->headers[res->n_headers - 1].name_len,
	    sizeof res->headers[0].name, at, len);
	return 0;
}

static int hp_on_value(http_parser *p, const char *at, size_t len)
{
	struct hp_result *res = p->data;
	res->in_value = true;
	append(res->headers[res->n_headers - 1].value, &res->headers[res->n_headers - 1].value_len,
	    sizeof res->headers[0].value, at, len);
	return 0;
}

static int hp_on_headers_complete(http_parser *p)
{
	struct hp_result *res = p->data;
	res->headers_done = true;
	res->keep_alive = http_should_keep_alive(p);
	res->chunked = (p->flags & F_CHUNKED) != 0;
	res->content_length = p->content_length;
	res->method = http_method_str((enum http_parser_method)p->method);
	res->version_minor = p->http_minor;
	return 0;
}

/* Runs http-parser over buf; true if it got through the head without error. */
static bool hp_parse(const char *buf, size_t len, struct hp_result *res)
{
	static http_parser_settings settings = {
		.on_url = hp_on_url, .on_header_field = hp_on_field,
		.on_header_value = hp_on_value, .on_headers_complete = hp_on_headers_complete,
	};
	http_parser parser;
	memset(res, 0, sizeof *res);
	http_parser_init(&parser, HTTP_REQUEST);
	parser.data = res;
	http_parser_execute(&parser, &settings, buf, len);
	return res->headers_done && HTTP_PARSER_ERRNO(&parser) == HPE_OK;
}

/* http-parser keeps trailing whitespace of a value; RFC 9110 5.5 strips it. */
static size_t trimmed_len(const char *v, size_t len)
{
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len;
}

static int differences;

/* Both must accept and agree on every field. */
static void compare(const char *what, const char *buf, size_t len)
{
	static struct hp_result hp;
	struct http_request r;
	int status;
	enum http_parse_result ours = http_request_parse(buf, len, &limits, &r, &status);
	bool theirs = hp_parse(buf, len, &hp);
	const char *problem = NULL;
	if (ours != HTTP_PARSE_OK)
		problem = "we refuse";
	else if (!theirs)
		problem = "http-parser refuses";
	else if (strcmp(hp.method, cstr(r.method_str)) != 0)
		problem = "method";
	else if (hp.url_len != r.target.len || memcmp(hp.url, r.target.p, r.target.len) != 0)
		problem = "url";
	else if (hp.n_headers != r.n_headers)
		problem = "header count";
	else if (hp.keep_alive != r.keep_alive && !(r.version_minor == 0 && !r.keep_alive))
		problem = "keep-alive";	/* 1.0 "keep-alive, close": http-parser keeps alive, we close */
	else if (hp.chunked != r.chunked)
		problem = "chunked";
	else if (hp.version_minor != r.version_minor)
		problem = "version";
	else if (r.has_content_length ? hp.content_length != r.content_length : hp.content_length != UINT64_MAX)
		problem = "content-length";
	for (size_t i = 0; !problem && i < r.n_headers; i++) {
		if (hp.headers[i].name_len != r.headers[i].name.len ||
		    memcmp(hp.headers[i].name, r.headers[i].name.p, r.headers[i].name.len) != 0)
			problem = "header name";
		else if (trimmed_len(hp.headers[i].value, hp.headers[i].value_len) != r.headers[i].value.len ||
		    memcmp(hp.headers[i].value, r.headers[i].value.p, r.headers[i].value.len) != 0)
			problem = "header value";
	}
	if (problem) {
		differences++;
		fprintf(stderr, "differential %s: %s (status %d): %.*s\n", what, problem, status, (int)len, buf);
	}
	CHECK(problem == NULL);
}

static const char *const corpus[] = {
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /auth HTTP/1.1\r\nHost: auth.example.com\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Proto: https\r\n"
		"X-Forwarded-Host: app.example.com\r\nX-Forwarded-Uri: /dashboard?tab=1\r\nX-Forwarded-For: 203.0.113.7\r\n"
		"Cookie: da_session=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2ln; theme=dark\r\nAccept: */*\r\n\r\n",
	"GET /auth?rd=https%3A%2F%2Fapp.example.com%2F HTTP/1.1\r\nHost: auth.example.com:8443\r\n\r\n",
	"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nUser-Agent: kube-probe/1.29\r\n\r\n",
	"POST /login HTTP/1.1\r\nHost: auth\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\n",
	"POST /token HTTP/1.1\r\nHost: auth\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n",
	"PUT /api/users/42 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n\r\n",
	"DELETE /api/sessions/abc HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"OPTIONS /api HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n",
	"PATCH /api/users/42 HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nContent-Type: application/merge-patch+json\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, close\r\nTE: trailers\r\n\r\n",
	"GET /a/b/c;p=1/d.e?x=%20&y=a+b&z HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /~user/!$&'()*+,;=:@ HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /?q=\"<>\"|{}^`\\ HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET //double//slash HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nhost: lower.example\r\n\r\n",
	"GET / HTTP/1.1\r\nHOST: UPPER.EXAMPLE\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Tab:\tvalue\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Spaces:    value   with  inner   \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Empty-Spaces:   \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xc3\xa9 \xff\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n!#$%&'*+-.^_`|~09AZaz: token-chars\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Colons: a:b::c\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0000\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:   chunked   \r\nContent-Type: text/plain\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection:  close  \r\n\r\n",
	"POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\n",
	"\r\nGET /after-crlf HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /sse HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
		"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
		"Accept-Encoding: gzip, deflate, br\r\nSec-Fetch-Dest: document\r\nUpgrade-Insecure-Requests: 1\r\n\r\n",
	"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: id.example.org\r\nAccept: application/json\r\n\r\n",
	"GET /authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&scope=openid%20email"
		"&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256 HTTP/1.1\r\n"
		"Host: id.example.org\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Long: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\t\tccc\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: xn--caf-dma.example\r\nX-Request-Id: 0af7651916cd43dd8448eb211c80319c\r\n\r\n",
};

/* Our refusals where http-parser 2.9.4 accepts: each is ambiguous framing or
 * a spec violation another hop could read differently. Nothing else may
 * appear here. */
static const char *const stricter_than_http_parser[] = {
	"bad method char",		/* none in practice: http-parser refuses unknown methods */
	"absolute-form", "authority-form", "asterisk with GET",	/* forms we do not serve */
	"non-ASCII in target", "DEL in target", "fragment in target",
	"HTTP/1.2", "HTTP/2.0", "HTTP/0.9 line", "three-digit version",
	"header bare LF", "header bare CR", "request line bare LF", "final bare LF", "final LF LF",
	"obs-fold space", "obs-fold tab", "whitespace before first header",
	"HTTP/1.1 no Host", "two Host", "two equal Host", "two Host on 1.0",
	"Host with space", "Host with slash", "Host with at",
	"CL too large", "CL comma list",
	"TE gzip", "TE gzip, chunked", "TE identity", "TE chunked, gzip", "TE chunked, chunked",
	"TE two headers", "TE garbage", "TE empty", "TE chunked junk", "TE xchunked", "TE leading comma",
	"TE on HTTP/1.0", "TE vertical tab",
	"Connection garbage", "Connection empty", "Connection empty element", "Connection leading comma",
	"Connection tab", "Connection trailing tab", "TE leading tab", "TE trailing tab",
	"two spaces after method", "HTTP/0.9",	/* request-line shapes a proxy may split differently */
	"TE name space",	/* the classic "Transfer-Encoding : chunked" smuggle */
	"empty header name", "tab before colon", "final bare CR", "DEL in value", "ESC in value",
	"CTL in value", "request line bare CR", "version with space", "space before colon",
};

static bool listed(const char *name)
{
	for (size_t i = 0; i < sizeof stricter_than_http_parser / sizeof stricter_than_http_parser[0]; i++)
		if (strcmp(stricter_than_http_parser[i], name) == 0)
			return true;
	return false;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random valid request from the common grammar both parsers share. */
static size_t random_request(char *buf, size_t cap)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };
	static const char path_chars[] = "abcxyzABC019-._~!$&'()*+,;=:@/%";
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_!#$%&'*+.^`|~";
	static const char value_chars[] = "abcdefghijklmnopqrstuvwxyzABC0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t";
	size_t n = 0;
	n += (size_t)snprintf(buf + n, cap - n, "%s /", methods[rng() % 7]);
	for (size_t i = rng() % 40; i; i--)
		buf[n++] = path_chars[rng() % (sizeof path_chars - 1)];
	if (rng() % 2) {
		buf[n++] = '?';
		for (size_t i = rng() % 40; i; i--)
			buf[n++] = path_chars[rng() % (sizeof path_chars - 1)];
	}
	bool v10 = rng() % 5 == 0;
	n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.%d\r\n", v10 ? 0 : 1);
	size_t headers = rng() % 20, host_at = rng() % (headers + 1);
	for (size_t h = 0; h <= headers; h++) {
		if (h == host_at && (!v10 || rng() % 2)) {
			n += (size_t)snprintf(buf + n, cap - n, "Host:%sexample.com:%u\r\n", rng() % 2 ? " " : "",
			    (unsigned)(rng() % 65536));
			continue;
		}
		switch (rng() % 8) {
		case 0:
			n += (size_t)snprintf(buf + n, cap - n, "Connection: %s\r\n",
			    rng() % 2 ? "close" : "keep-alive");
			continue;
		case 1:
			n += (size_t)snprintf(buf + n, cap - n, "X-Forwarded-For: 10.%u.%u.%u\r\n",
			    (unsigned)(rng() % 256), (unsigned)(rng() % 256), (unsigned)(rng() % 256));
			continue;
		default:
			break;
		}
		/* X- prefix keeps random names off the framing headers */
		buf[n++] = 'X';
		buf[n++] = '-';
		for (size_t i = 1 + rng() % 20; i; i--)
			buf[n++] = name_chars[rng() % (sizeof name_chars - 1)];
		buf[n++] = ':';
		for (size_t i = rng() % 3; i; i--)
			buf[n++] = rng() % 2 ? ' ' : '\t';
		for (size_t i = rng() % 80; i; i--)
			buf[n++] = value_chars[rng() % (sizeof value_chars - 1)];
		/* a value must not start with OWS we did not mean as OWS: fine, both trim it */
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	if (rng() % 3 == 0)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %u\r\n", (unsigned)(rng() % 100000));
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	return n;
}

/* Header names upper-cased (0) or lower-cased (2), or SP added around
 * every value (1). HTAB is covered by the corpus and the refusals: around
 * framing headers http-parser misreads it, so it is refused there. */
static size_t vary(const char *in, char *out, size_t cap, int how)
{
	size_t n = 0;
	bool in_name = false, line_start = false, request_line = true;
	while (in[0] == '\r' && in[1] == '\n') {
		out[n++] = *in++;
		out[n++] = *in++;
	}
	for (const char *p = in; *p && n + 8 < cap; p++) {
		if (line_start && *p != '\r')
			in_name = true;
		line_start = false;
		if (in_name && *p == ':') {
			in_name = false;
			out[n++] = ':';
			if (how == 1) {
				out[n++] = ' ';
				out[n++] = ' ';
			}
			continue;
		}
		if (*p == '\r' && how == 1 && !request_line && p[-1] != '\n')
			out[n++] = ' ';
		if (*p == '\n') {
			line_start = true;
			request_line = false;
		}
		char c = *p;
		if (in_name && how == 0 && c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (in_name && how == 2 && c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

static void test_differential(void)
{
	static char buf[20000];
	for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
		compare("corpus", corpus[i], strlen(corpus[i]));
		for (int how = 0; how < 3; how++) {
			size_t n = vary(corpus[i], buf, sizeof buf, how);
			compare(how == 0 ? "upper-case names" : how == 1 ? "added OWS" : "lower-case names", buf, n);
		}
	}
	for (int i = 0; i < 3000; i++) {
		size_t n = random_request(buf, sizeof buf);
		compare("random", buf, n);
	}

	/* Single-byte mutations of the corpus: whatever we still accept,
	 * http-parser must accept and read identically. Mutations that yield a
	 * method http-parser does not know are skipped (it refuses those). */
	static const unsigned char replacements[] = {
		0, '\t', ' ', '\n', '\r', ':', ',', ';', '"', '#', '?', '/', 0x7f, 0x80, 0xff, 'A', 'z', '0', '-',
	};
	size_t accepted = 0, tried = 0;
	for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
		size_t len = strlen(corpus[i]);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t k = 0; k < sizeof replacements; k++) {
				memcpy(buf, corpus[i], len);
				buf[pos] = (char)replacements[k];
				struct http_request r;
				int status;
				tried++;
				if (http_request_parse(buf, len, &limits, &r, &status) != HTTP_PARSE_OK)
					continue;
				if (r.method == HTTP_METHOD_OTHER)
					continue;
				/* http-parser reads a 1.0 "keep-alive, close" as keep-alive; we close */
				accepted++;
				compare("mutation", buf, len);
			}
		}
	}
	printf("differential: %zu mutations tried, %zu accepted by us and compared\n", tried, accepted);

	/* Refusals: where http-parser accepts, the case must be on the list. */
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		static struct hp_result hp;
		bool theirs = hp_parse(refusals[i].request, refusals[i].len, &hp);
		if (theirs && !listed(refusals[i].name)) {
			fprintf(stderr, "http-parser accepts \"%s\", which is not on the stricter list\n", refusals[i].name);
			differences++;
		}
		CHECK(!theirs || listed(refusals[i].name));
	}
	CHECK_EQ_INT(differences, 0);
}

int main(void)
{
	test_valid_get();
	test_methods();
	test_keep_alive_matrix();
	test_expect_and_lengths();
	test_leading_empty_lines();
	test_pipelined();
	test_every_prefix_incomplete();
	test_refusals();
	test_early_errors();
	test_limits();
	test_str_helpers();
	test_chunked();
	test_differential();
	return CHECK_DONE();
}
