/*
 * Unit tests for proto/cbor_strict.c, the walk every WebAuthn CBOR input
 * goes through before libcbor: exact item lengths (RFC 8949 appendix A
 * examples), what is refused (indefinite lengths, reserved encodings,
 * counts the input cannot cover, depth), and the map helpers.
 */
#include "tests/unit/check.h"
#include "proto/cbor_strict.h"

#include <stdlib.h>
#include <string.h>

static int measure_hex(const char *hex, size_t *len)
{
	uint8_t buf[256];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		buf[i] = (uint8_t)v;
	}
	return cbor_strict_measure(buf, n, len);
}

static void test_measures_well_formed_items(void)
{
	/* RFC 8949 appendix A examples, each measured alone and with a tail. */
	static const char *const items[] = {
		"00", "17", "1818", "1903e8", "1a000f4240", "1b000000e8d4a51000", "20", "3863", "3903e7",
		"f4", "f5", "f6", "f7", "f93c00", "fa47c35000", "fb3ff199999999999a", "40", "4401020304", "60",
		"6449455446", "80", "83010203", "8301820203820405", "a0", "a201020304", "a26161016162820203",
		"c074323031332d30332d32315432303a30343a30305a", "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
	};
	char with_tail[300];

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		size_t len = 0;

		CHECK_EQ_INT(measure_hex(items[i], &len), 0);
		CHECK_EQ_INT(len, strlen(items[i]) / 2);
		snprintf(with_tail, sizeof(with_tail), "%sffff", items[i]);
		CHECK_EQ_INT(measure_hex(with_tail, &len), 0);
		CHECK_EQ_INT(len, strlen(items[i]) / 2);
	}
}

static void test_refuses_what_webauthn_never_sends(void)
{
	static const char *const refused[] = {
		"",				/* nothing */
		"1c", "1d", "1e", "3c", "5c", "7d", "9e", "bc", "dc", "fc",	/* reserved 28..30 */
		"5f42010243030405ff",		/* indefinite byte string */
		"7f657374726561646d696e67ff",	/* indefinite text string */
		"9fff", "bfff", "ff",		/* indefinite array, map; lone break */
		"1f", "3f", "df",		/* 31 with majors that have no indefinite form */
		"e0", "f3", "f820", "f8ff",	/* simple values nothing here uses */
		"18", "19 03", "1a000f42", "42 01", "6449", "8301 02", "a2010203",	/* truncated */
		"9b00000000ffffffff",		/* array of 4 billion items in 9 bytes */
		"bb00000000ffffffff",		/* map of 4 billion pairs */
		"5b00000000ffffffff00",		/* byte string longer than the input */
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char hex[64];
		size_t len = 0, o = 0;

		/* Spaces in the table are for the reader only. */
		for (const char *p = refused[i]; *p; p++)
			if (*p != ' ')
				hex[o++] = *p;
		hex[o] = '\0';
		if (measure_hex(hex, &len) == 0)
			fprintf(stderr, "accepted: %s\n", refused[i]);
		CHECK(measure_hex(hex, &len) < 0);
	}
}

static void test_nesting_is_bounded(void)
{
	uint8_t deep[64];
	size_t len = 0;

	/* CBOR_STRICT_MAX_DEPTH arrays around 0 pass; one more does not. */
	memset(deep, 0x81, sizeof(deep));
	deep[CBOR_STRICT_MAX_DEPTH] = 0x00;
	CHECK_EQ_INT(cbor_strict_measure(deep, CBOR_STRICT_MAX_DEPTH + 1, &len), 0);
	CHECK_EQ_INT(len, CBOR_STRICT_MAX_DEPTH + 1);
	deep[CBOR_STRICT_MAX_DEPTH] = 0x81;
	deep[CBOR_STRICT_MAX_DEPTH + 1] = 0x00;
	CHECK(cbor_strict_measure(deep, CBOR_STRICT_MAX_DEPTH + 2, &len) < 0);
	/* Tags count as nesting too. */
	memset(deep, 0xc6, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x00;
	CHECK(cbor_strict_measure(deep, sizeof(deep), &len) < 0);
}

static void test_load_and_map_helpers(void)
{
	/* {1: 2, -7: "x", "k": h'0102'} then a trailing 0x00. */
	static const uint8_t map[] = { 0xa3, 0x01, 0x02, 0x26, 0x61, 'x', 0x61, 'k', 0x42, 0x01, 0x02, 0x00 };
	static const uint8_t dup[] = { 0xa2, 0x01, 0x02, 0x01, 0x03 };
	static const uint8_t dup_wide[] = { 0xa2, 0x01, 0x02, 0x18, 0x01, 0x03 };	/* 1 written twice */
	static const uint8_t dup_text[] = { 0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02 };
	static const uint8_t sign_differs[] = { 0xa2, 0x01, 0x02, 0x20, 0x03 };	/* 1 and -1 */
	const uint8_t *value = NULL;
	size_t n = 0, value_len = 0;
	int64_t v = 0;
	cbor_item_t *item;

	CHECK(cbor_strict_load_exact(map, sizeof(map)) == NULL);
	item = cbor_strict_load_prefix(map, sizeof(map), &n);
	CHECK(item != NULL);
	CHECK_EQ_INT(n, sizeof(map) - 1);
	CHECK(cbor_strict_map_keys_valid(item, 3, true, true));
	CHECK(!cbor_strict_map_keys_valid(item, 2, true, true));
	CHECK(!cbor_strict_map_keys_valid(item, 3, false, true));
	CHECK(!cbor_strict_map_keys_valid(item, 3, true, false));
	CHECK(cbor_strict_int_value(cbor_strict_map_get_int(item, 1), &v) && v == 2);
	CHECK(cbor_strict_text_equals(cbor_strict_map_get_int(item, -7), "x"));
	CHECK(cbor_strict_map_get_text(item, "k") != NULL);
	CHECK(cbor_strict_map_get_text(item, "x") == NULL);
	CHECK(cbor_strict_map_get_int(item, 7) == NULL);
	cbor_decref(&item);

	CHECK_EQ_INT(cbor_strict_map_find_bytes(map, sizeof(map) - 1, "k", &value, &value_len), 0);
	CHECK(value == map + 9 && value_len == 2);
	CHECK(cbor_strict_map_find_bytes(map, sizeof(map) - 1, "x", &value, &value_len) < 0);

	item = cbor_strict_load_exact(dup, sizeof(dup));
	CHECK(item && !cbor_strict_map_keys_valid(item, 8, true, true));
	cbor_decref(&item);
	item = cbor_strict_load_exact(dup_wide, sizeof(dup_wide));
	CHECK(item && !cbor_strict_map_keys_valid(item, 8, true, true));
	cbor_decref(&item);
	item = cbor_strict_load_exact(dup_text, sizeof(dup_text));
	CHECK(item && !cbor_strict_map_keys_valid(item, 8, true, true));
	cbor_decref(&item);
	item = cbor_strict_load_exact(sign_differs, sizeof(sign_differs));
	CHECK(item && cbor_strict_map_keys_valid(item, 8, true, true));
	cbor_decref(&item);
}

static void test_integer_range(void)
{
	static const uint8_t min[] = { 0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t below[] = { 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t above[] = { 0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	cbor_item_t *item;
	int64_t v = 0;

	item = cbor_strict_load_exact(min, sizeof(min));
	CHECK(cbor_strict_int_value(item, &v) && v == INT64_MIN);
	cbor_decref(&item);
	item = cbor_strict_load_exact(below, sizeof(below));
	CHECK(item && !cbor_strict_int_value(item, &v));
	cbor_decref(&item);
	item = cbor_strict_load_exact(above, sizeof(above));
	CHECK(item && !cbor_strict_int_value(item, &v));
	cbor_decref(&item);
}

int main(void)
{
	test_measures_well_formed_items();
	test_refuses_what_webauthn_never_sends();
	test_nesting_is_bounded();
	test_load_and_map_helpers();
	test_integer_range();
	return CHECK_DONE();
}
