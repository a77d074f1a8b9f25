/* Building an email (see mail_message.h). */
#include "proto/mail_message.h"
#include "proto/text_controls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HEADER_LINE_MAX 998
#define B64_LINE 76
#define ENCODED_WORD_MAX 75
/* Plain ASCII goes out as it is only while its header line stays under
 * RFC 5322's 998 octets with the longest prefix ("From: " name " <" a
 * 320-octet address ">"); longer values become folded encoded words. */
#define PLAIN_HEADER_MAX 600
#define WORD_PREFIX "=?UTF-8?B?"
#define WORD_SUFFIX "?="

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool mail_header_value_ok(const char *v)
{
	size_t len = v ? strlen(v) : 0;
	/* text_is_printable refuses every control character, CR and LF included. */
	return v && len <= HEADER_LINE_MAX && text_is_printable(v, len);
}

bool mail_address_ok(const char *addr)
{
	size_t len = addr ? strlen(addr) : 0;
	const char *at = addr ? strchr(addr, '@') : NULL;
	if (len < 3 || len > MAIL_ADDR_MAX || !at || at == addr || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("\"<>,;\\()[]", *p))
			return false;
	return text_is_printable(addr, len);
}

int mail_from_address(const char *from, char *out, size_t cap)
{
	const char *open, *close;
	size_t n;

	if (!from || !mail_header_value_ok(from))
		return -1;
	open = strrchr(from, '<');
	if (open) {
		close = strchr(open, '>');
		if (!close || close[1] != '\0')
			return -1;
		open++;
		n = (size_t)(close - open);
	} else {
		open = from;
		n = strlen(from);
	}
	if (n + 1 > cap)
		return -1;
	memcpy(out, open, n);
	out[n] = '\0';
	return mail_address_ok(out) ? 0 : -1;
}

/* ---- an output buffer that remembers overflow ---- */

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n > o->cap - o->len - 1) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		o->overflow = true;
	else
		put(o, buf, (size_t)n);
}

static void b64_group(struct out *o, const unsigned char *in, size_t n)
{
	char q[4];
	uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
	q[0] = b64[v >> 18 & 63];
	q[1] = b64[v >> 12 & 63];
	q[2] = n > 1 ? b64[v >> 6 & 63] : '=';
	q[3] = n > 2 ? b64[v & 63] : '=';
	put(o, q, 4);
}

/* base64 of in, in lines of B64_LINE characters ending with CRLF. */
static void put_base64_lines(struct out *o, const char *in, size_t len)
{
	size_t col = 0;
	for (size_t i = 0; i < len; i += 3) {
		b64_group(o, (const unsigned char *)in + i, len - i < 3 ? len - i : 3);
		col += 4;
		if (col >= B64_LINE) {
			puts_(o, "\r\n");
			col = 0;
		}
	}
	if (col)
		puts_(o, "\r\n");
}

static bool plain_ascii(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
			return false;
	return true;
}

/* Bytes of whole UTF-8 characters from s[0..len) that fit max raw bytes. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t n = 0;
	while (n < len) {
		bool printable;
		size_t c = text_next_char(s + n, len - n, &printable);
		if (n + c > max)
			break;
		n += c;
	}
	return n;
}

long mail_header_encode(const char *value, char *out, size_t cap)
{
	struct out o = { out, 0, cap, cap == 0 };
	size_t len, done = 0;
	/* 75 - prefix - suffix = 63 base64 characters: 45 raw bytes at most. */
	const size_t raw_max = (ENCODED_WORD_MAX - strlen(WORD_PREFIX) - strlen(WORD_SUFFIX)) / 4 * 3;

	if (!mail_header_value_ok(value) || cap == 0)
		return -1;
	if (plain_ascii(value) && strlen(value) <= PLAIN_HEADER_MAX) {
		puts_(&o, value);
		return o.overflow ? -1 : (long)o.len;
	}
	len = strlen(value);
	while (done < len) {
		size_t n = utf8_prefix(value + done, len - done, raw_max);
		if (n == 0)
			return -1;
		if (done)
			puts_(&o, "\r\n ");	/* folding: each encoded word on its own line */
		puts_(&o, WORD_PREFIX);
		for (size_t i = 0; i < n; i += 3)
			b64_group(&o, (const unsigned char *)value + done + i, n - i < 3 ? n - i : 3);
		puts_(&o, WORD_SUFFIX);
		done += n;
	}
	return o.overflow ? -1 : (long)o.len;
}

static bool boundary_ok(const char *b)
{
	size_t n = b ? strlen(b) : 0;
	if (n < 16 || n > 60)
		return false;
	for (; *b; b++)
		if (!((*b >= '0' && *b <= '9') || (*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z')))
			return false;
	return true;
}

static bool message_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 200)
		return false;
	for (; *id; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
		        *id == '.' || *id == '-' || *id == '_'))
			return false;
	return true;
}

/* RFC 5322 date, in UTC, without the locale. */
static void put_date(struct out *o, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
		"Nov", "Dec" };
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		o->overflow = true;
		return;
	}
	putf(o, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_part(struct out *o, const char *boundary, const char *type, const char *body)
{
	putf(o, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, type);
	put_base64_lines(o, body, strlen(body));
}

/* From: as configured when it is plain ASCII; a non-ASCII display name as
 * RFC 2047 encoded-words before the <address>. */
static void put_from(struct out *o, const char *from)
{
	const char *open = strrchr(from, '<');
	char name[1024], enc[4096];
	size_t n;

	if (plain_ascii(from) || !open) {
		putf(o, "From: %s\r\n", from);
		return;
	}
	n = (size_t)(open - from);
	while (n && from[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof(name)) {
		putf(o, "From: %s\r\n", open);
		return;
	}
	memcpy(name, from, n);
	name[n] = '\0';
	if (mail_header_encode(name, enc, sizeof(enc)) < 0) {
		o->overflow = true;
		return;
	}
	puts_(o, "From: ");
	puts_(o, enc);
	putf(o, " %s\r\n", open);
}

long mail_message_build(const struct mail_message *m, char *out, size_t cap)
{
	struct out o = { out, 0, cap, cap == 0 };
	char from_addr[MAIL_ADDR_MAX + 1], subject[4096];
	const char *domain;

	if (!m->text || !m->html || strlen(m->text) > MAIL_BODY_MAX || strlen(m->html) > MAIL_BODY_MAX ||
	    mail_from_address(m->from, from_addr, sizeof(from_addr)) < 0 ||
	    !mail_address_ok(m->to) || !mail_header_value_ok(m->to) || !boundary_ok(m->boundary) ||
	    !message_id_ok(m->message_id) || mail_header_encode(m->subject, subject, sizeof(subject)) < 0)
		return -1;
	domain = strchr(from_addr, '@') + 1;
	put_date(&o, m->date);
	putf(&o, "Message-ID: <%s@%s>\r\n", m->message_id, domain);
	put_from(&o, m->from);
	putf(&o, "To: <%s>\r\n", m->to);
	puts_(&o, "Subject: ");
	puts_(&o, subject);
	puts_(&o, "\r\nMIME-Version: 1.0\r\n");
	putf(&o, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n", m->boundary);
	puts_(&o, "Auto-Submitted: auto-generated\r\n\r\n");
	put_part(&o, m->boundary, "text/plain", m->text);
	put_part(&o, m->boundary, "text/html", m->html);
	putf(&o, "--%s--\r\n", m->boundary);
	return o.overflow ? -1 : (long)o.len;
}
