/* Small JSON helpers shared by worker handlers (see json_util.h). */
#include "workers/json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

json_t *json_csv_array(const char *csv)
{
	json_t *a = json_array();
	const char *p = csv;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p = end ? end + 1 : NULL;
	}
	return a;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->failed || n >= w->cap - w->len) {	/* keep room for the NUL */
		w->failed = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* A JSON string: '"' and '\' escaped, control characters as \u00XX,
 * everything else (UTF-8 checked by utf8proc) as it is. */
static void put_string(struct json_writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	if (!s) {	/* a missing value is a bug upstream: write nothing half-done */
		w->failed = true;
		return;
	}
	put(w, "\"", 1);
	while (*p && !w->failed) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		put(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p++ };
			put(w, esc, 2);
		} else if (*p < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			put(w, esc, 6);
			p++;
		} else {
			utf8proc_int32_t cp;
			utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
			if (n <= 0) {
				w->failed = true;
				return;
			}
			put(w, (const char *)p, (size_t)n);
			p += n;
		}
	}
	put(w, "\"", 1);
}

static void put_key(struct json_writer *w, const char *key)
{
	if (!w->empty)
		put(w, ",", 1);
	w->empty = false;
	put_string(w, key);
	put(w, ":", 1);
}

void json_writer_init(struct json_writer *w, char *buf, size_t cap)
{
	*w = (struct json_writer){ .buf = buf, .cap = cap, .empty = true, .failed = cap < 3 };
	put(w, "{", 1);
}

void json_writer_string(struct json_writer *w, const char *key, const char *value)
{
	put_key(w, key);
	put_string(w, value);
}

void json_writer_int(struct json_writer *w, const char *key, long long value)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", value);
	put_key(w, key);
	put(w, digits, (size_t)n);
}

void json_writer_value(struct json_writer *w, const char *key, const json_t *value)
{
	char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!text) {
		w->failed = true;
		return;
	}
	put_key(w, key);
	put(w, text, strlen(text));
	free(text);
}

void json_writer_members(struct json_writer *w, const json_t *object)
{
	const char *key;
	const json_t *value;
	if (!json_is_object(object)) {
		w->failed = true;
		return;
	}
	json_object_foreach((json_t *)object, key, value)
		json_writer_value(w, key, value);
}

const char *json_writer_finish(struct json_writer *w)
{
	put(w, "}", 1);
	if (w->failed)
		return NULL;
	w->buf[w->len] = '\0';
	return w->buf;
}
