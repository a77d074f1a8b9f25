/* Building an email (proto/mail_message.c): headers, RFC 2047, MIME parts,
 * and refusal of header values that could inject headers. */
#include "proto/mail_message.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

static const char *B = "0123456789abcdef0123456789abcdef";

static long build(struct mail_message *m, char *out, size_t cap)
{
	return mail_message_build(m, out, cap);
}

/* base64 decoding of one line-wrapped part, for checking round trips. */
static size_t b64dec(const char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		const char *p = in[i] ? strchr(t, in[i]) : NULL;
		if (!p)
			continue;
		v = v << 6 | (unsigned)(p - t);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(v >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return o;
}

static void test_header_values(void)
{
	CHECK(mail_header_value_ok("Verify your email for Example"));
	CHECK(mail_header_value_ok("Grüße"));
	CHECK(!mail_header_value_ok("x\r\nBcc: victim@example.com"));
	CHECK(!mail_header_value_ok("x\nBcc: a@b"));
	CHECK(!mail_header_value_ok("x\rB"));
	CHECK(!mail_header_value_ok("tab\there"));
	CHECK(!mail_header_value_ok("\xff\xfe"));
	CHECK(!mail_header_value_ok("a\xe2\x80\xae" "b"));	/* RIGHT-TO-LEFT OVERRIDE */
	char *long_v = malloc(1000);
	memset(long_v, 'a', 999);
	long_v[999] = '\0';
	CHECK(!mail_header_value_ok(long_v));
	long_v[998] = '\0';
	CHECK(mail_header_value_ok(long_v));
	free(long_v);

	CHECK(mail_address_ok("a@b.c"));
	CHECK(mail_address_ok("Ann@Example.com"));
	CHECK(!mail_address_ok("a@b.c\r\nRCPT TO:<x@y>"));
	CHECK(!mail_address_ok("<a@b.c>"));
	CHECK(!mail_address_ok("a b@c.d"));
	CHECK(!mail_address_ok("a@b@c"));
	CHECK(!mail_address_ok("@b.c"));
	CHECK(!mail_address_ok("a@"));
	CHECK(!mail_address_ok("a,b@c.d"));

	char addr[MAIL_ADDR_MAX + 1];
	CHECK_EQ_INT(mail_from_address("Dream Auth <auth@example.com>", addr, sizeof(addr)), 0);
	CHECK_EQ_STR(addr, "auth@example.com");
	CHECK_EQ_INT(mail_from_address("auth@example.com", addr, sizeof(addr)), 0);
	CHECK_EQ_STR(addr, "auth@example.com");
	CHECK_EQ_INT(mail_from_address("X <auth@example.com> trailing", addr, sizeof(addr)), -1);
	CHECK_EQ_INT(mail_from_address("X <auth@example.com\r\n>", addr, sizeof(addr)), -1);
	CHECK_EQ_INT(mail_from_address("X <not an address>", addr, sizeof(addr)), -1);
}

static void test_encoded_words(void)
{
	char out[2048], dec[2048];
	CHECK_EQ_INT(mail_header_encode("plain ascii", out, sizeof(out)), 11);
	CHECK_EQ_STR(out, "plain ascii");
	long n = mail_header_encode("Grüße from Zürich", out, sizeof(out));
	CHECK(n > 0);
	CHECK(strncmp(out, "=?UTF-8?B?", 10) == 0);
	b64dec(out + 10, strlen(out) - 12, dec);
	CHECK_EQ_STR(dec, "Grüße from Zürich");
	/* long: several words, each <= 75 bytes, folded with CRLF SP, no
	 * character split across words */
	char longv[400] = "";
	for (int i = 0; i < 40; i++)
		strcat(longv, "é€");
	n = mail_header_encode(longv, out, sizeof(out));
	CHECK(n > 0);
	char joined[2048] = "", *save = NULL;
	int words = 0;
	for (char *w = strtok_r(out, "\r\n ", &save); w; w = strtok_r(NULL, "\r\n ", &save)) {
		CHECK(strlen(w) <= 75);
		CHECK(strncmp(w, "=?UTF-8?B?", 10) == 0 && strcmp(w + strlen(w) - 2, "?=") == 0);
		size_t k = b64dec(w + 10, strlen(w) - 12, dec);
		/* each word decodes to whole characters: no dangling lead byte */
		CHECK(k > 0 && ((unsigned char)dec[k - 1] & 0xc0) == 0x80);
		strcat(joined, dec);
		words++;
	}
	CHECK(words > 1);
	CHECK_EQ_STR(joined, longv);
	CHECK_EQ_INT(mail_header_encode("bad\r\nBcc: x@y", out, sizeof(out)), -1);
	CHECK_EQ_INT(mail_header_encode("Grüße", out, 8), -1);	/* does not fit */
	/* plain ASCII too long for one header line (fuzz_mail_message found a
	 * 1000-octet Subject line): folded encoded words instead */
	char ascii[1001];
	memset(ascii, ')', 990);
	ascii[990] = '\0';
	char big[4096];
	n = mail_header_encode(ascii, big, sizeof(big));
	CHECK(n > 0 && strncmp(big, "=?UTF-8?B?", 10) == 0);
	for (char *line = big, *eol; line; line = eol ? eol + 2 : NULL) {
		eol = strstr(line, "\r\n");
		CHECK((eol ? (size_t)(eol - line) : strlen(line)) <= 76);
	}
	memset(ascii, 'a', 600);
	ascii[600] = '\0';
	CHECK_EQ_INT(mail_header_encode(ascii, big, sizeof(big)), 600);	/* still plain */
}

static void test_message(void)
{
	char *out = malloc(MAIL_MESSAGE_MAX), dec[MAIL_BODY_MAX + 1];
	struct mail_message m = { .from = "Dream Auth <auth@example.com>", .to = "ann@example.com",
		.subject = "Vérifiez", .text = "line one\n.\nline three\r\n.. dots\n", .html = "<p>hi & bye</p>",
		.date = 1700000000, .message_id = "outbox-42.1700000000", .boundary = B };
	long n = build(&m, out, MAIL_MESSAGE_MAX);
	CHECK(n > 0);
	CHECK(strstr(out, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n") == out);
	CHECK(strstr(out, "\r\nMessage-ID: <outbox-42.1700000000@example.com>\r\n"));
	CHECK(strstr(out, "\r\nFrom: Dream Auth <auth@example.com>\r\n"));
	CHECK(strstr(out, "\r\nTo: <ann@example.com>\r\n"));
	CHECK(strstr(out, "\r\nSubject: =?UTF-8?B?"));
	CHECK(strstr(out, "\r\nMIME-Version: 1.0\r\n"));
	CHECK(strstr(out, "multipart/alternative; boundary=\"0123456789abcdef0123456789abcdef\""));
	CHECK(strstr(out, "\r\n--0123456789abcdef0123456789abcdef--\r\n"));
	/* every line ends with CRLF, none longer than 998, no bare CR or LF,
	 * no line is a lone "." (nothing can end DATA early) */
	const char *line = out;
	bool crlf_only = true, short_lines = true, no_dot = true;
	for (const char *p = out; *p; p++) {
		if (*p == '\r' && p[1] != '\n')
			crlf_only = false;
		if (*p == '\n' && (p == out || p[-1] != '\r'))
			crlf_only = false;
		if (*p == '\n') {
			if (p - line > 1000)
				short_lines = false;
			if (p - line == 2 && line[0] == '.')
				no_dot = false;
			line = p + 1;
		}
	}
	CHECK(crlf_only);
	CHECK(short_lines);
	CHECK(no_dot);
	/* the text part decodes to the body exactly */
	const char *t = strstr(out, "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	CHECK(t != NULL);
	if (t) {
		t = strstr(t, "\r\n\r\n") + 4;
		const char *end = strstr(t, "\r\n--");
		b64dec(t, (size_t)(end - t), dec);
		CHECK_EQ_STR(dec, m.text);
	}

	/* a non-ASCII display name is encoded, the address kept */
	struct mail_message named = m;
	named.from = "Société Générale <auth@example.com>";
	CHECK(build(&named, out, MAIL_MESSAGE_MAX) > 0);
	CHECK(strstr(out, "\r\nFrom: =?UTF-8?B?U29jacOpdMOpIEfDqW7DqXJhbGU=?= <auth@example.com>\r\n") != NULL);

	/* header injection refused, never cleaned */
	struct mail_message bad = m;
	bad.to = "ann@example.com\r\nBcc: all@example.com";
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	bad = m;
	bad.subject = "Hello\r\nBcc: all@example.com";
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	bad = m;
	bad.from = "X <a@b.c>\nBcc: y@z";
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	bad = m;
	bad.boundary = "short";
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	bad = m;
	bad.message_id = "a>b";
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	/* oversized body refused; too small a buffer refused */
	char *big = malloc(MAIL_BODY_MAX + 2);
	memset(big, 'x', MAIL_BODY_MAX + 1);
	big[MAIL_BODY_MAX + 1] = '\0';
	bad = m;
	bad.html = big;
	CHECK_EQ_INT(build(&bad, out, MAIL_MESSAGE_MAX), -1);
	big[MAIL_BODY_MAX] = '\0';
	CHECK(build(&bad, out, MAIL_MESSAGE_MAX) > 0);
	CHECK_EQ_INT(build(&m, out, 200), -1);
	free(big);
	free(out);
}

int main(void)
{
	test_header_values();
	test_encoded_words();
	test_message();
	return CHECK_DONE();
}
