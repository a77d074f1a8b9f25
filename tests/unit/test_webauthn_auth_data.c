/*
 * Unit tests for proto/webauthn_auth_data.c: the fixed part, flags (BS
 * without BE), attested credential data (credential ID bounds, COSE key
 * delimited by its CBOR length), extension outputs, truncation at every
 * length and trailing bytes, plus the authenticator data of a W3C test
 * vector. Writes fuzz/corpus/fuzz_webauthn_auth_data seeds when
 * DREAMAUTH_WEBAUTHN_CORPUS is set.
 */
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

/* W3C WebAuthn L3 §16.2: the authData inside the none/ES256 attestation object. */
static const char spec_auth_data[] =
	"bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b559000000008446ccb9ab1db374750b2367ff6f3a1f"
	"0020f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d"
	"23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e"
	"2664796b9220";

/* ... and the authenticatorData of the same credential's assertion. */
static const char spec_assertion_auth_data[] =
	"bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000";

static const uint8_t aaguid[16] = { 0xf8, 0xa0, 0x11, 0xf3, 0x8c, 0x0a, 0x4d, 0x15, 0x80, 0x06, 0x17, 0x11, 0x1f, 0x9e,
	0xdc, 0x7d };
static uint8_t cred_id[1024];
static struct tbuf cose, extensions;

static enum webauthn_error parse(const struct tbuf *b, struct webauthn_auth_data *ad)
{
	return webauthn_auth_data_parse(b->data, b->len, ad);
}

static struct tbuf build(uint8_t flags, size_t id_len, bool with_key, bool with_extensions)
{
	struct t_auth_data t = {
		.rp_id = T_RP_ID, .flags = flags, .sign_count = 0x01020304, .aaguid = aaguid,
		.cred_id = id_len || with_key ? cred_id : NULL, .cred_id_len = id_len,
		.cose = with_key ? cose.data : NULL, .cose_len = with_key ? cose.len : 0,
		.extensions = with_extensions ? extensions.data : NULL, .extensions_len = with_extensions ? extensions.len : 0,
	};
	return t_auth_data_build(&t);
}

/* Parses b with its last byte missing, then with one byte too many. */
static void check_exact_length(const struct tbuf *b, enum webauthn_error short_rc)
{
	struct webauthn_auth_data ad;
	struct tbuf longer = { malloc(b->len + 1), b->len + 1 };

	CHECK_EQ_INT(webauthn_auth_data_parse(b->data, b->len - 1, &ad), short_rc);
	memcpy(longer.data, b->data, b->len);
	longer.data[b->len] = 0x00;
	CHECK_EQ_INT(parse(&longer, &ad), WEBAUTHN_ERR_AUTH_DATA_TRAILING);
	tbuf_free(&longer);
}

static void test_fixed_part(void)
{
	struct tbuf b = build(UP | UV, 0, false, false);
	struct webauthn_auth_data ad;
	uint8_t hash[32];

	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	SHA256((const uint8_t *)T_RP_ID, strlen(T_RP_ID), hash);
	CHECK(memcmp(ad.rp_id_hash, hash, 32) == 0);
	CHECK_EQ_INT(ad.flags, UP | UV);
	CHECK_EQ_INT(ad.sign_count, 0x01020304);
	CHECK(ad.credential_id == NULL && ad.public_key == NULL && ad.extensions == NULL);
	check_exact_length(&b, WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	CHECK_EQ_INT(webauthn_auth_data_parse(b.data, 0, &ad), WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	CHECK_EQ_INT(webauthn_auth_data_parse(NULL, 37, &ad), WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	t_write_seed("fuzz_webauthn_auth_data", "assertion_up_uv", b.data, b.len);
	tbuf_free(&b);
	/* Reserved bits are carried, not judged. */
	b = build(UP | 0x02 | 0x20, 0, false, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK_EQ_INT(ad.flags, UP | 0x02 | 0x20);
	tbuf_free(&b);
}

static void test_backup_flags(void)
{
	static const struct {
		uint8_t flags;
		enum webauthn_error rc;
	} cases[] = {
		{ UP, WEBAUTHN_OK }, { UP | BE, WEBAUTHN_OK }, { UP | BE | BS, WEBAUTHN_OK },
		{ UP | BS, WEBAUTHN_ERR_FLAGS_INCONSISTENT }, { BS, WEBAUTHN_ERR_FLAGS_INCONSISTENT },
	};
	struct webauthn_auth_data ad;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tbuf b = build(cases[i].flags, 0, false, false);

		CHECK_EQ_INT(parse(&b, &ad), cases[i].rc);
		tbuf_free(&b);
	}
}

static void test_attested_credential(void)
{
	struct tbuf b = build(UP | AT, 64, true, false);
	struct webauthn_auth_data ad;

	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK(memcmp(ad.aaguid, aaguid, 16) == 0);
	CHECK(ad.credential_id == b.data + 37 + 18 && ad.credential_id_len == 64);
	CHECK(ad.public_key == b.data + 37 + 18 + 64 && ad.public_key_len == cose.len);
	check_exact_length(&b, WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	t_write_seed("fuzz_webauthn_auth_data", "registration_es256", b.data, b.len);
	/* Every shorter prefix is refused, never read past. */
	for (size_t len = 0; len < b.len; len++)
		CHECK(webauthn_auth_data_parse(b.data, len, &ad) != WEBAUTHN_OK);
	tbuf_free(&b);
	/* AT set, nothing after the fixed part. */
	b = build(UP | AT, 0, false, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	tbuf_free(&b);
	/* Attested data present, AT clear: those bytes are trailing. */
	b = build(UP, 64, true, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_AUTH_DATA_TRAILING);
	tbuf_free(&b);
}

static void test_credential_id_bounds(void)
{
	struct webauthn_auth_data ad;
	struct tbuf b;

	b = build(UP | AT, 1023, true, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK_EQ_INT(ad.credential_id_len, 1023);
	tbuf_free(&b);
	b = build(UP | AT, 1024, true, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH);
	tbuf_free(&b);
	b = build(UP | AT, 0, true, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH);
	tbuf_free(&b);
	/* A length pointing past the end. */
	b = build(UP | AT, 16, false, false);
	b.data[37 + 17] = 17;
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	tbuf_free(&b);
}

static void test_public_key_delimiting(void)
{
	static const char *const not_keys[] = { "8401020304", "bf0102ff", "a301", "1b00", "f820" };
	struct webauthn_auth_data ad;

	for (size_t i = 0; i < sizeof(not_keys) / sizeof(not_keys[0]); i++) {
		struct tbuf key = tbuf_hex(not_keys[i]);
		struct t_auth_data t = { .rp_id = T_RP_ID, .flags = UP | AT, .cred_id = cred_id, .cred_id_len = 16,
			.cose = key.data, .cose_len = key.len };
		struct tbuf b = t_auth_data_build(&t);

		CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
		tbuf_free(&b);
		tbuf_free(&key);
	}
}

static void test_extensions(void)
{
	static const char *const bad_maps[] = {
		"a1016178",			/* integer identifier */
		"a2616101616102",		/* "a" twice */
		"80",				/* not a map */
		"a1782161616161616161616161616161616161616161616161616161616161616161616101",	/* 33 bytes */
		"a1622061f5",			/* identifier with a space */
		"bf6161f5ff",			/* indefinite map */
	};
	struct webauthn_auth_data ad;
	struct tbuf b = build(UP | ED, 0, false, true);

	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK(ad.extensions == b.data + 37 && ad.extensions_len == extensions.len);
	check_exact_length(&b, WEBAUTHN_ERR_EXTENSIONS_MALFORMED);
	t_write_seed("fuzz_webauthn_auth_data", "assertion_extensions", b.data, b.len);
	tbuf_free(&b);
	b = build(UP | AT | ED, 32, true, true);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK(ad.public_key_len == cose.len && ad.extensions_len == extensions.len);
	CHECK(ad.extensions == ad.public_key + ad.public_key_len);
	t_write_seed("fuzz_webauthn_auth_data", "registration_extensions", b.data, b.len);
	tbuf_free(&b);
	b = build(UP | ED, 0, false, false);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_AUTH_DATA_MALFORMED);
	tbuf_free(&b);
	b = build(UP, 0, false, true);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_AUTH_DATA_TRAILING);
	tbuf_free(&b);
	for (size_t i = 0; i < sizeof(bad_maps) / sizeof(bad_maps[0]); i++) {
		struct tbuf map = tbuf_hex(bad_maps[i]);
		struct t_auth_data t = { .rp_id = T_RP_ID, .flags = UP | ED, .extensions = map.data,
			.extensions_len = map.len };

		b = t_auth_data_build(&t);
		CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_ERR_EXTENSIONS_MALFORMED);
		tbuf_free(&b);
		tbuf_free(&map);
	}
}

static void test_spec_vector(void)
{
	struct tbuf b = tbuf_hex(spec_auth_data);
	struct webauthn_auth_data ad;
	int64_t alg = 0;
	EVP_PKEY *key = NULL;

	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK_EQ_INT(ad.flags, UP | BE | BS | AT);
	CHECK_EQ_INT(ad.sign_count, 0);
	CHECK_EQ_INT(ad.credential_id_len, 32);
	CHECK_EQ_INT(ad.aaguid[0], 0x84);
	CHECK_EQ_INT(ad.public_key_len, 77);
	CHECK_EQ_INT(cose_key_import(ad.public_key, ad.public_key_len, &alg, &key), WEBAUTHN_OK);
	CHECK_EQ_INT(alg, COSE_ALG_ES256);
	EVP_PKEY_free(key);
	t_write_seed("fuzz_webauthn_auth_data", "spec_none_es256", b.data, b.len);
	tbuf_free(&b);
	/* §16.2's assertion: fuzz/fuzz_webauthn_auth_data.c verifies it whole. */
	b = tbuf_hex(spec_assertion_auth_data);
	CHECK_EQ_INT(parse(&b, &ad), WEBAUTHN_OK);
	CHECK_EQ_INT(ad.flags, UP | BE | BS);
	t_write_seed("fuzz_webauthn_auth_data", "spec_none_es256_assertion", b.data, b.len);
	tbuf_free(&b);
}

int main(void)
{
	EVP_PKEY *key = t_ec_key("auth data");
	cbor_item_t *ext = cbor_new_definite_map(2);

	for (size_t i = 0; i < sizeof(cred_id); i++)
		cred_id[i] = (uint8_t)(i * 7 + 1);
	cose = t_cose_key(key, COSE_ALG_ES256);
	t_map_put(ext, cbor_build_string("credProtect"), t_cbor_int(2));
	t_map_put(ext, cbor_build_string("hmac-secret"), cbor_build_bool(true));
	extensions = t_cbor_encode(ext);
	test_fixed_part();
	test_backup_flags();
	test_attested_credential();
	test_credential_id_bounds();
	test_public_key_delimiting();
	test_extensions();
	test_spec_vector();
	tbuf_free(&cose);
	tbuf_free(&extensions);
	EVP_PKEY_free(key);
	return CHECK_DONE();
}
