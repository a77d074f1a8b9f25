/*
 * Email address validation and normalization (see email.h for the accepted
 * subset). Called by the sign-up / sign-in handlers before an address is
 * stored, compared or written to a log; fuzzed by fuzz/fuzz_email.c.
 *
 * The trimmed input is put in Unicode NFC (utf8proc) first, so the composed
 * and the decomposed spelling of "josé" are one address, not two look-alike
 * accounts. Then one pass over it: strict UTF-8 decoding (no overlongs, no
 * surrogates, nothing above U+10FFFF), then a per-character check that
 * depends on whether we are in the local part or the domain.
 */
#include "proto/email.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

/* Canonical composition; unassigned code points refused, because their
 * normalization could change with a later Unicode version and split an
 * account in two. */
#define EMAIL_NFC_OPTIONS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_REJECTNA)
/* A canonical decomposition is at most 4 code points per code point. */
#define EMAIL_NFC_CODEPOINTS (4 * EMAIL_MAX_LEN + 1)

#define EMAIL_LOCAL_MAX 64
#define DNS_LABEL_MAX 63

static bool ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Decodes one UTF-8 sequence at s[0..len); returns its length (1-4) and the
 * code point in *cp, or 0 if the bytes are not well-formed UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, or > U+10FFFF */
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need;
}

/* Non-ASCII code points that render as nothing or as a space, or that
 * reorder text: they make two different addresses look alike in logs and UI. */
static bool unicode_refused(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) ||	/* C1 controls, no-break space */
	    cp == 0xad ||			/* soft hyphen */
	    cp == 0x061c || cp == 0x1680 || cp == 0x180e ||
	    (cp >= 0x2000 && cp <= 0x200f) ||	/* spaces, zero-width, LRM/RLM */
	    (cp >= 0x2028 && cp <= 0x202f) ||	/* line/para separators, bidi embeddings */
	    (cp >= 0x205f && cp <= 0x206f) ||	/* word joiner, bidi isolates */
	    cp == 0x3000 || cp == 0xfeff ||
	    (cp >= 0xfff0 && cp <= 0xffff) ||	/* specials, noncharacters */
	    (cp >= 0xe0000 && cp <= 0xe007f);	/* tag characters */
}

/* RFC 5322 atext: what may appear unquoted in a local part besides '.'. */
static bool local_ascii_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '/': case '=': case '?': case '^': case '_':
	case '`': case '{': case '|': case '}': case '~':
		return true;
	default:
		return false;
	}
}

static bool domain_ascii_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Checks one domain label s[0..len): non-empty, no edge hyphen, and when pure
 * ASCII, within the DNS label limit. */
static bool label_ok(const unsigned char *s, size_t len, bool ascii_only)
{
	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	return !ascii_only || len <= DNS_LABEL_MAX;
}

/* NFC of s[0..len) into out (cap bytes, NUL-terminated); its length, or -1
 * if s is not valid UTF-8, holds an unassigned code point, or the result does
 * not fit. */
static long to_nfc(const unsigned char *s, size_t len, char *out, size_t cap)
{
	utf8proc_int32_t cps[EMAIL_NFC_CODEPOINTS];
	utf8proc_ssize_t n = utf8proc_decompose(s, (utf8proc_ssize_t)len, cps, EMAIL_NFC_CODEPOINTS, EMAIL_NFC_OPTIONS);

	/* < the capacity, not <=: reencode needs a spare byte for its NUL. */
	if (n < 0 || n >= EMAIL_NFC_CODEPOINTS)
		return -1;
	n = utf8proc_reencode(cps, n, EMAIL_NFC_OPTIONS);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	memcpy(out, cps, (size_t)n + 1);
	return (long)n;
}

/* Checks the address s[0..end) (trimmed, in NFC) and writes it with ASCII
 * letters lower-cased into out; 0 or -1. */
static int check_and_lower(const unsigned char *s, size_t end, char *out)
{
	const size_t start = 0;
	size_t at = 0, label_start, i;
	bool label_ascii = true, label_digits = true;

	if (end > EMAIL_MAX_LEN)
		return -1;

	/* Find the single '@'; any other '@' is refused by the character checks. */
	for (i = start; i < end && s[i] != '@'; i++)
		;
	if (i == end)
		return -1;
	at = i;
	if (at == start || at - start > EMAIL_LOCAL_MAX || at + 1 == end)
		return -1;

	/* Local part: dot-atom (no leading, trailing or doubled dots) of atext
	 * plus UTF-8 (RFC 6531). Quoted local parts are refused outright. */
	if (s[start] == '.' || s[at - 1] == '.')
		return -1;
	for (i = start; i < at;) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, at - i, &cp);

		if (n == 0)
			return -1;
		if (n == 1) {
			if (s[i] == '.') {
				if (s[i + 1] == '.')
					return -1;
			} else if (!local_ascii_ok(s[i])) {
				return -1;
			}
		} else if (unicode_refused(cp)) {
			return -1;
		}
		i += n;
	}

	/* Domain: dot-separated labels of letters, digits, '-' or UTF-8 (IDN,
	 * kept as U-labels). At least two labels; an all-digit last label would
	 * make it an IPv4 address, which we do not accept. */
	label_start = at + 1;
	for (i = at + 1; i <= end;) {
		if (i == end || s[i] == '.') {
			if (!label_ok(s + label_start, i - label_start, label_ascii))
				return -1;
			if (i == end) {
				if (label_start == at + 1 || label_digits)
					return -1;
				break;
			}
			i++;
			label_start = i;
			label_ascii = label_digits = true;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(s + i, end - i, &cp);

		if (n == 0)
			return -1;
		if (n == 1) {
			if (!domain_ascii_ok(s[i]))
				return -1;
			if (s[i] < '0' || s[i] > '9')
				label_digits = false;
		} else {
			if (unicode_refused(cp))
				return -1;
			label_ascii = label_digits = false;
		}
		i += n;
	}

	for (i = start; i < end; i++)
		out[i - start] = (char)ascii_lower(s[i]);
	out[end - start] = '\0';
	return 0;
}

int email_normalize(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t start = 0, end = len;
	char nfc[EMAIL_MAX_LEN + 1], again[EMAIL_MAX_LEN + 1];
	long nfc_len;

	if (!in || !out || cap < EMAIL_MAX_LEN + 1)
		return -1;
	while (start < end && ascii_space(s[start]))
		start++;
	while (end > start && ascii_space(s[end - 1]))
		end--;
	if (end - start > EMAIL_MAX_LEN)
		return -1;
	/* NFC may also turn a character into ASCII (KELVIN SIGN into 'K'), so
	 * the checks run on its result. */
	nfc_len = to_nfc(s + start, end - start, nfc, sizeof(nfc));
	if (nfc_len < 0 || check_and_lower((const unsigned char *)nfc, (size_t)nfc_len, out) < 0)
		return -1;
	/* Lower-casing can make a new composition possible ('W' + ring above has
	 * no precomposed form, 'w' + ring above has): refuse the few addresses
	 * whose normalized form would not be NFC itself. */
	if (to_nfc((const unsigned char *)out, (size_t)nfc_len, again, sizeof(again)) != nfc_len ||
	    memcmp(again, out, (size_t)nfc_len) != 0)
		return -1;
	return 0;
}
