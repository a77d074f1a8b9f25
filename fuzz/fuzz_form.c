/*
 * libFuzzer target for proto/form.c: request bodies, query strings and
 * Cookie headers come straight from the network. Checks the parser's
 * promises (limits, NUL-free strings, form_get agreement), that url_encode
 * output of every parsed field parses back to the same form, and that
 * cookie_find only ever points inside the header.
 */
#include "proto/form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_LEN 4096

/* Re-encodes every field and checks the result parses to the same form. */
static void check_round_trip(const struct form *f)
{
	/* worst case: every byte escaped, plus '=' and '&' per field */
	static char buf[FUZZ_MAX_LEN * 3 + 2 * FORM_MAX_FIELDS + 1];
	size_t o = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (i > 0)
			buf[o++] = '&';
		long n = url_encode(f->fields[i].name, strlen(f->fields[i].name), buf + o, sizeof(buf) - o);
		if (n < 0)
			abort();
		o += (size_t)n;
		buf[o++] = '=';
		n = url_encode(f->fields[i].value, strlen(f->fields[i].value), buf + o, sizeof(buf) - o);
		if (n < 0)
			abort();
		o += (size_t)n;
	}
	struct form again;
	if (form_parse(buf, o, sizeof(buf), &again) != FORM_OK || again.n != f->n)
		abort();
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(again.fields[i].name, f->fields[i].name) != 0 ||
		    strcmp(again.fields[i].value, f->fields[i].value) != 0)
			abort();
	form_free(&again);
}

static void check_form(const char *in, size_t len)
{
	struct form f;
	enum form_result r = form_parse(in, len, FUZZ_MAX_LEN, &f);
	if (r != FORM_OK) {
		if (f.n != 0 || f.arena != NULL)
			abort();
		if (r == FORM_ERR_TOO_LONG && len <= FUZZ_MAX_LEN)
			abort();
		return;
	}
	if (len > FUZZ_MAX_LEN || f.n > FORM_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		const char *name = f.fields[i].name;
		if (name[0] == '\0' || form_get(&f, name) != f.fields[i].value)
			abort();
		/* decoded strings never grow: bounded by the input */
		if (strlen(name) > len || strlen(f.fields[i].value) > len)
			abort();
	}
	check_round_trip(&f);
	form_free(&f);
}

static void check_cookies(const char *in, size_t len)
{
	static const char *const names[] = { "sid", "a", "__Host-da_session", "theme", "" };
	int malformed = -2;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *value = NULL;
		size_t value_len = 0;
		int r = cookie_find(in, len, names[i], &value, &value_len);
		if (r < -1 || r > 1)
			abort();
		/* malformedness does not depend on the name asked for */
		if ((r == -1) != (malformed == -1) && malformed != -2)
			abort();
		malformed = r == -1 ? -1 : 0;
		if (r == 1 && (value < in || value + value_len > in + len || memchr(value, ';', value_len)))
			abort();
		if (r == 1 && names[i][0] == '\0')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size heap copy so ASan catches any read past len. */
	char *in = malloc(size ? size : 1);
	if (in == NULL)
		return 0;
	if (size)
		memcpy(in, data, size);
	check_form(in, size);
	check_cookies(in, size);
	free(in);
	return 0;
}
