/*
 * Parsers for application/x-www-form-urlencoded bodies, URL query strings and
 * Cookie headers, plus the matching percent-encoder. Called by the HTTP
 * workers for every request that carries parameters or cookies, so inputs
 * are hostile: strict escapes, UTF-8 only, no NUL, fixed limits. Fuzzed.
 */
#include "proto/form.h"
#include "proto/hex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past
 * U+10FFFF. NUL is refused too since the results are used as C strings. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t extra;
		unsigned char low = 0x80, high = 0xbf;	/* bounds of the 2nd byte */
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			if (c == 0xe0) low = 0xa0;	/* overlong */
			if (c == 0xed) high = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			if (c == 0xf0) low = 0x90;	/* overlong */
			if (c == 0xf4) high = 0x8f;	/* > U+10FFFF */
		} else {
			return false;	/* continuation byte, C0/C1 overlong, F5+ */
		}
		if (len - i <= extra)
			return false;
		if (s[i + 1] < low || s[i + 1] > high)
			return false;
		for (size_t k = 2; k <= extra; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += extra + 1;
	}
	return true;
}

/* Percent-decodes in[0..len) into out (NUL-terminated); returns the decoded
 * length or -1 on a bad escape or bad decoded bytes. out needs len + 1. */
static long decode_component(const char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			out[o++] = ' ';
		} else if (c == '%') {
			if (len - i < 3)
				return -1;
			int high = hex_value((unsigned char)in[i + 1]);
			int low = hex_value((unsigned char)in[i + 2]);
			if (high < 0 || low < 0)
				return -1;
			out[o++] = (char)(high << 4 | low);
			i += 2;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	if (!utf8_valid((const unsigned char *)out, o))
		return -1;
	return (long)o;
}

enum form_result form_parse(const char *in, size_t len, size_t max_len, struct form *out)
{
	memset(out, 0, sizeof(*out));
	if (len > max_len)
		return FORM_ERR_TOO_LONG;
	if (len == 0)
		return FORM_OK;

	/* Each decoded string is no longer than its source; a segment without
	 * '=' needs one more byte than it has (name NUL + empty value NUL),
	 * and there are at most FORM_MAX_FIELDS segments. */
	size_t arena_size = len + FORM_MAX_FIELDS + 1;
	out->arena = malloc(arena_size);
	if (out->arena == NULL)	/* no result of its own: callers answer 400/413 alike */
		return FORM_ERR_TOO_LONG;
	out->arena_size = arena_size;
	char *cursor = out->arena;
	enum form_result result = FORM_OK;

	size_t start = 0;
	while (start <= len) {
		const char *segment = in + start;
		const char *amp = start < len ? memchr(segment, '&', len - start) : NULL;
		size_t seg_len = amp ? (size_t)(amp - segment) : len - start;
		start += seg_len + 1;
		if (seg_len == 0)
			continue;	/* "a=1&&b=2", leading or trailing '&' */
		if (out->n == FORM_MAX_FIELDS) {
			result = FORM_ERR_TOO_MANY;
			goto fail;
		}

		const char *equals = memchr(segment, '=', seg_len);
		size_t name_len = equals ? (size_t)(equals - segment) : seg_len;
		const char *value = equals ? equals + 1 : segment + seg_len;
		size_t value_len = equals ? seg_len - name_len - 1 : 0;

		struct form_field *field = &out->fields[out->n];
		field->name = cursor;
		long n = decode_component(segment, name_len, cursor);
		if (n <= 0) {	/* an empty name is not a parameter */
			result = FORM_ERR_SYNTAX;
			goto fail;
		}
		cursor += n + 1;
		field->value = cursor;
		n = decode_component(value, value_len, cursor);
		if (n < 0) {
			result = FORM_ERR_SYNTAX;
			goto fail;
		}
		cursor += n + 1;

		for (size_t i = 0; i < out->n; i++) {
			if (strcmp(out->fields[i].name, field->name) == 0) {
				result = FORM_ERR_DUPLICATE;
				goto fail;
			}
		}
		out->n++;
	}
	return FORM_OK;

fail:
	form_free(out);
	return result;
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	return NULL;
}

void form_free(struct form *f)
{
	if (f->arena)
		explicit_bzero(f->arena, f->arena_size);
	free(f->arena);
	memset(f, 0, sizeof(*f));
}

/* RFC 7230 tchar, which RFC 6265 uses for cookie names. */
static bool is_token_char(unsigned char c)
{
	if (c >= '0' && c <= '9') return true;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 6265 cookie-octet: printable US-ASCII except space " , ; \ */
static bool is_cookie_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
	       (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* The whole header is checked, not just up to the match, so a malformed
 * header is reported the same way wherever the damage is. */
int cookie_find(const char *header, size_t len, const char *name, const char **value, size_t *value_len)
{
	size_t want = strlen(name);
	int found = 0;
	size_t i = 0;

	/* Other applications on the same domain set sloppy cookies: a malformed
	 * pair is skipped, not allowed to hide ours. Control bytes refuse the lot. */
	for (size_t k = 0; k < len; k++)
		if (((unsigned char)header[k] < 0x20 && header[k] != '\t') || header[k] == 0x7f)
			return -1;
	while (i < len) {
		while (i < len && is_space(header[i]))
			i++;
		if (i < len && header[i] == ';') {	/* empty pair: "a=b;; c=d", trailing ';' */
			i++;
			continue;
		}
		if (i == len)
			break;

		size_t name_start = i;
		while (i < len && is_token_char((unsigned char)header[i]))
			i++;
		size_t name_end = i;
		while (i < len && is_space(header[i]))
			i++;
		if (name_end == name_start || i == len || header[i] != '=')
			goto skip_pair;
		i++;
		while (i < len && is_space(header[i]))
			i++;

		size_t value_start = i, value_end;
		if (i < len && header[i] == '"') {
			value_start = ++i;
			while (i < len && is_cookie_octet((unsigned char)header[i]))
				i++;
			if (i == len || header[i] != '"')
				goto skip_pair;
			value_end = i++;
		} else {
			while (i < len && is_cookie_octet((unsigned char)header[i]))
				i++;
			value_end = i;
		}

		while (i < len && is_space(header[i]))
			i++;
		if (i < len && header[i] != ';')
			goto skip_pair;
		if (i < len)
			i++;

		if (!found && name_end - name_start == want &&
		    memcmp(header + name_start, name, want) == 0) {
			*value = header + value_start;
			*value_len = value_end - value_start;
			found = 1;
		}
		continue;
skip_pair:
		while (i < len && header[i] != ';')
			i++;
		if (i < len)
			i++;
	}
	return found;
}

long url_encode(const char *in, size_t len, char *out, size_t out_cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool unreserved = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
				  c == '-' || c == '.' || c == '_' || c == '~';
		size_t need = unreserved ? 1 : 3;
		if (out_cap - o < need + 1)	/* keep room for the NUL */
			return -1;
		if (unreserved) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (out_cap - o < 1)
		return -1;
	out[o] = '\0';
	return (long)o;
}
