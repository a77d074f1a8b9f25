/*
 * application/x-www-form-urlencoded bodies and URL query strings, and Cookie
 * headers. Pure parsers with fixed limits; output strings are NUL-terminated
 * copies in a caller-owned arena so handlers can use them as C strings.
 */
#ifndef DREAMAUTH_FORM_H
#define DREAMAUTH_FORM_H
#include <stddef.h>
#include <stdbool.h>

#define FORM_MAX_FIELDS 64

struct form_field {
	char *name;	/* percent-decoded, NUL-terminated, no embedded NUL */
	char *value;
};

struct form {
	struct form_field fields[FORM_MAX_FIELDS];
	size_t n;
	char *arena;	/* owned; zeroed and freed by form_free (it may hold a password) */
	size_t arena_size;
};

enum form_result {
	FORM_OK = 0,
	FORM_ERR_SYNTAX = -1,		/* bad percent escape, NUL byte, invalid UTF-8 */
	FORM_ERR_TOO_MANY = -2,		/* more than FORM_MAX_FIELDS */
	FORM_ERR_DUPLICATE = -3,	/* a name given twice (RFC 6749 §3.1 forbids it for OAuth params) */
	FORM_ERR_TOO_LONG = -4,		/* input longer than max_len */
};

/* '+' means space in both forms and queries. Duplicate names are an error. */
enum form_result form_parse(const char *in, size_t len, size_t max_len, struct form *out);
const char *form_get(const struct form *f, const char *name);	/* NULL if absent */
void form_free(struct form *f);

/* Cookie header (RFC 6265 §4.2.1, lenient on spaces): finds the value of
 * cookie `name`. Returns 1 found (value points into header, *value_len set),
 * 0 absent, -1 if the header holds control bytes. Malformed pairs (other
 * applications set sloppy cookies) are skipped. The first occurrence wins. */
int cookie_find(const char *header, size_t len, const char *name, const char **value, size_t *value_len);

/* Percent-encode for a query component (RFC 3986 unreserved kept). Returns
 * bytes written excluding NUL, or -1 if out_cap is too small. */
long url_encode(const char *in, size_t len, char *out, size_t out_cap);
#endif
