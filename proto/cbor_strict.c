/*
 * Strict CBOR well-formedness walk and libcbor access helpers (see
 * cbor_strict.h). Called by the WebAuthn parsers in proto/ before libcbor is
 * handed any outside bytes; fuzzed through fuzz/fuzz_webauthn_*.c and
 * fuzz/fuzz_cose_key.c.
 *
 * The walk follows RFC 8949 §3 and appendix C, minus what CTAP2 canonical
 * CBOR forbids anyway: indefinite lengths (and so "break"), and the simple
 * values nothing in WebAuthn uses (only false, true, null, undefined and the
 * three float widths pass). Every array or map count must be coverable by the
 * bytes left (an item takes at least one byte), which bounds both libcbor's
 * allocations and the walk's own work by the input length.
 */
#include "proto/cbor_strict.h"

#include <string.h>

struct cbor_cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

static size_t bytes_left(const struct cbor_cursor *c)
{
	return c->len - c->pos;
}

/* Reads an initial byte and its argument. Indefinite lengths, "break" and the
 * reserved additional-information values 28..30 are refused here. */
static int read_head(struct cbor_cursor *c, unsigned *major, unsigned *info, uint64_t *arg)
{
	size_t width;

	if (bytes_left(c) == 0)
		return -1;
	*major = c->data[c->pos] >> 5;
	*info = c->data[c->pos] & 31;
	c->pos++;
	if (*info < 24) {
		*arg = *info;
		return 0;
	}
	if (*info > 27)
		return -1;
	width = (size_t)1 << (*info - 24);
	if (bytes_left(c) < width)
		return -1;
	*arg = 0;
	while (width--)
		*arg = *arg << 8 | c->data[c->pos++];
	return 0;
}

/* Major type 7: false, true, null, undefined, or a float of any width. */
static bool simple_value_allowed(unsigned info)
{
	return (info >= 20 && info <= 23) || (info >= 25 && info <= 27);
}

static int skip_item(struct cbor_cursor *c, int depth);

static int skip_items(struct cbor_cursor *c, uint64_t count, int depth)
{
	if (count > bytes_left(c))
		return -1;
	while (count--)
		if (skip_item(c, depth) < 0)
			return -1;
	return 0;
}

static int skip_item(struct cbor_cursor *c, int depth)
{
	unsigned major, info;
	uint64_t arg;

	if (depth > CBOR_STRICT_MAX_DEPTH || read_head(c, &major, &info, &arg) < 0)
		return -1;
	switch (major) {
	case 0: /* unsigned integer */
	case 1: /* negative integer */
		return 0;
	case 2: /* byte string */
	case 3: /* text string */
		if (arg > bytes_left(c))
			return -1;
		c->pos += (size_t)arg;
		return 0;
	case 4: /* array */
		return skip_items(c, arg, depth + 1);
	case 5: /* map: key and value per pair */
		if (arg > bytes_left(c) / 2)
			return -1;
		return skip_items(c, arg * 2, depth + 1);
	case 6: /* tag and its one item */
		return skip_item(c, depth + 1);
	default:
		return simple_value_allowed(info) ? 0 : -1;
	}
}

int cbor_strict_measure(const uint8_t *data, size_t len, size_t *item_len)
{
	struct cbor_cursor c = { data, len, 0 };

	if (!data || skip_item(&c, 0) < 0)
		return -1;
	if (item_len)
		*item_len = c.pos;
	return 0;
}

cbor_item_t *cbor_strict_load_prefix(const uint8_t *data, size_t len, size_t *item_len)
{
	struct cbor_load_result result;
	cbor_item_t *item;
	size_t n;

	if (cbor_strict_measure(data, len, &n) < 0)
		return NULL;
	item = cbor_load(data, n, &result);
	/* Both readers must agree on where the item ends. */
	if (item && (result.error.code != CBOR_ERR_NONE || result.read != n))
		cbor_decref(&item);
	if (item && item_len)
		*item_len = n;
	return item;
}

cbor_item_t *cbor_strict_load_exact(const uint8_t *data, size_t len)
{
	size_t n = 0;
	cbor_item_t *item = cbor_strict_load_prefix(data, len, &n);

	if (item && n != len)
		cbor_decref(&item);
	return item;
}

/* True if the item at the cursor is the text string key (cursor unmoved). */
static bool text_at_cursor_is(const struct cbor_cursor *c, const char *key)
{
	struct cbor_cursor peek = *c;
	size_t key_len = strlen(key);
	unsigned major, info;
	uint64_t arg;

	return read_head(&peek, &major, &info, &arg) == 0 && major == 3 && arg == key_len &&
	       key_len <= bytes_left(&peek) && memcmp(peek.data + peek.pos, key, key_len) == 0;
}

int cbor_strict_map_find_bytes(const uint8_t *data, size_t len, const char *key, const uint8_t **value,
    size_t *value_len)
{
	struct cbor_cursor c = { data, len, 0 };
	unsigned major, info;
	uint64_t pairs, arg;

	if (!data || read_head(&c, &major, &info, &pairs) < 0 || major != 5)
		return -1;
	while (pairs--) {
		bool wanted = text_at_cursor_is(&c, key);

		if (skip_item(&c, 1) < 0)
			return -1;
		if (!wanted) {
			if (skip_item(&c, 1) < 0)
				return -1;
			continue;
		}
		if (read_head(&c, &major, &info, &arg) < 0 || major != 2 || arg > bytes_left(&c))
			return -1;
		*value = c.data + c.pos;
		*value_len = (size_t)arg;
		return 0;
	}
	return -1;
}

bool cbor_strict_int_value(const cbor_item_t *item, int64_t *out)
{
	uint64_t raw;

	if (!item || !cbor_is_int(item))
		return false;
	raw = cbor_get_int(item);
	if (raw > INT64_MAX)
		return false;
	/* A negative integer n is encoded as -1 - n. */
	*out = cbor_isa_uint(item) ? (int64_t)raw : -1 - (int64_t)raw;
	return true;
}

bool cbor_strict_text_equals(const cbor_item_t *item, const char *text)
{
	size_t n = strlen(text);

	return item && cbor_isa_string(item) && cbor_string_is_definite(item) &&
	       cbor_string_length(item) == n && memcmp(cbor_string_handle(item), text, n) == 0;
}

static bool key_kind_allowed(const cbor_item_t *key, bool int_keys_ok, bool text_keys_ok)
{
	if (cbor_is_int(key))
		return int_keys_ok;
	return text_keys_ok && cbor_isa_string(key) && cbor_string_is_definite(key);
}

/* Same key: same integer (sign included) or the same text bytes. */
static bool keys_equal(const cbor_item_t *a, const cbor_item_t *b)
{
	if (cbor_typeof(a) != cbor_typeof(b))
		return false;
	if (cbor_is_int(a))
		return cbor_get_int(a) == cbor_get_int(b);
	return cbor_string_length(a) == cbor_string_length(b) &&
	       memcmp(cbor_string_handle(a), cbor_string_handle(b), cbor_string_length(a)) == 0;
}

bool cbor_strict_map_keys_valid(const cbor_item_t *map, size_t max_pairs, bool int_keys_ok, bool text_keys_ok)
{
	struct cbor_pair *pairs;
	size_t n;

	if (!map || !cbor_isa_map(map) || !cbor_map_is_definite(map))
		return false;
	n = cbor_map_size(map);
	if (n > max_pairs)
		return false;
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		if (!key_kind_allowed(pairs[i].key, int_keys_ok, text_keys_ok))
			return false;
		for (size_t j = 0; j < i; j++)
			if (keys_equal(pairs[i].key, pairs[j].key))
				return false;
	}
	return true;
}

cbor_item_t *cbor_strict_map_get_int(const cbor_item_t *map, int64_t key)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	int64_t value;

	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (cbor_strict_int_value(pairs[i].key, &value) && value == key)
			return pairs[i].value;
	return NULL;
}

cbor_item_t *cbor_strict_map_get_text(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *pairs = cbor_map_handle(map);

	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (cbor_strict_text_equals(pairs[i].key, key))
			return pairs[i].value;
	return NULL;
}
