/*
 * Unit tests for proto/cose_key.c: COSE_Key import of ES256, EdDSA and
 * RS256 credential keys (keys made in the test, and the COSE example of
 * WebAuthn §6.5.1.1), storage round trips, and refusals: unknown algorithm,
 * kty/crv/alg disagreements, missing and extra parameters, points off the
 * curve, small RSA moduli, duplicate labels, malformed CBOR. Writes
 * fuzz/corpus/fuzz_cose_key seeds when DREAMAUTH_WEBAUTHN_CORPUS is set.
 */
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

/* WebAuthn §6.5.1.1: an ES256 key in CTAP2 canonical CBOR. */
static const char spec_example_es256[] =
	"a501020326200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d"
	"2258201e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c";

static EVP_PKEY *ec, *ed, *rsa;

static enum webauthn_error import_buf(const struct tbuf *b, int64_t *alg)
{
	EVP_PKEY *key = NULL;
	enum webauthn_error rc = cose_key_import(b->data, b->len, alg, &key);

	CHECK((rc == WEBAUTHN_OK) == (key != NULL));
	EVP_PKEY_free(key);
	return rc;
}

/* Imports the encoding of map (consumed). */
static enum webauthn_error import_map(cbor_item_t *map)
{
	struct tbuf b = t_cbor_encode(map);
	enum webauthn_error rc = import_buf(&b, NULL);

	tbuf_free(&b);
	return rc;
}

static void test_round_trips(void)
{
	EVP_PKEY *keys[] = { ec, ed, rsa };
	static const char *const seeds[] = { "es256", "eddsa", "rs256" };

	for (size_t i = 0; i < 3; i++) {
		int64_t alg = t_alg_of(keys[i]), got = 0;
		struct tbuf cose = t_cose_key(keys[i], alg);
		EVP_PKEY *imported = NULL, *reloaded = NULL;

		CHECK_EQ_INT(cose_key_import(cose.data, cose.len, &got, &imported), WEBAUTHN_OK);
		CHECK_EQ_INT(got, alg);
		CHECK(EVP_PKEY_eq(imported, keys[i]) == 1);
		CHECK(webauthn_key_fits_alg(imported, alg));
		/* Stored as bytes plus alg, reloaded to the same key. */
		CHECK_EQ_INT(cose_key_load_stored(cose.data, cose.len, alg, &reloaded), WEBAUTHN_OK);
		CHECK(EVP_PKEY_eq(reloaded, imported) == 1);
		EVP_PKEY_free(reloaded);
		reloaded = NULL;
		CHECK_EQ_INT(cose_key_load_stored(cose.data, cose.len, alg == COSE_ALG_ES256 ? COSE_ALG_RS256 : COSE_ALG_ES256,
		    &reloaded), WEBAUTHN_ERR_STORED_KEY_INVALID);
		CHECK(reloaded == NULL);
		CHECK_EQ_INT(cose_key_load_stored(cose.data, cose.len - 1, alg, &reloaded), WEBAUTHN_ERR_STORED_KEY_INVALID);
		EVP_PKEY_free(imported);
		t_write_seed("fuzz_cose_key", seeds[i], cose.data, cose.len);
		tbuf_free(&cose);
	}
	CHECK_EQ_STR(cose_alg_name(COSE_ALG_ES256), "ES256");
	CHECK_EQ_STR(cose_alg_name(COSE_ALG_EDDSA), "EdDSA");
	CHECK_EQ_STR(cose_alg_name(COSE_ALG_RS256), "RS256");
	CHECK(cose_alg_name(-35) == NULL);
}

static void test_spec_example(void)
{
	struct tbuf b = tbuf_hex(spec_example_es256);
	int64_t alg = 0;

	CHECK_EQ_INT(import_buf(&b, &alg), WEBAUTHN_OK);
	CHECK_EQ_INT(alg, COSE_ALG_ES256);
	t_write_seed("fuzz_cose_key", "spec_example_es256", b.data, b.len);
	/* Anything after the map is not part of the key. */
	b.data = realloc(b.data, b.len + 1);
	b.data[b.len++] = 0x00;
	CHECK_EQ_INT(import_buf(&b, &alg), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	tbuf_free(&b);
}

/* EC2 map with each field overridable: NULL item means "leave out". */
static cbor_item_t *ec2_map(cbor_item_t *kty, cbor_item_t *alg, cbor_item_t *crv, cbor_item_t *x, cbor_item_t *y)
{
	cbor_item_t *map = cbor_new_definite_map(6);

	if (kty)
		t_map_put(map, t_cbor_int(1), kty);
	if (alg)
		t_map_put(map, t_cbor_int(3), alg);
	if (crv)
		t_map_put(map, t_cbor_int(-1), crv);
	if (x)
		t_map_put(map, t_cbor_int(-2), x);
	if (y)
		t_map_put(map, t_cbor_int(-3), y);
	return map;
}

static void test_ec2_refusals(void)
{
	uint8_t pub[65], bad_y[32];
	size_t n = sizeof(pub);
	const uint8_t *x = pub + 1, *y = pub + 33;
	cbor_item_t *map;

	EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
#define X t_cbor_bytes(x, 32)
#define Y t_cbor_bytes(y, 32)
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, Y)), WEBAUTHN_OK);
	/* Missing pieces. */
	CHECK_EQ_INT(import_map(ec2_map(NULL, t_cbor_int(-7), t_cbor_int(1), X, Y)), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), NULL, t_cbor_int(1), X, Y)), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), NULL, X, Y)), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), NULL, Y)), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, NULL)), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	/* Wrong types: text kty, compressed point (boolean y). */
	CHECK_EQ_INT(import_map(ec2_map(cbor_build_string("EC2"), t_cbor_int(-7), t_cbor_int(1), X, Y)),
	    WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, cbor_build_bool(true))),
	    WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	/* Unknown algorithm (ES384), mismatched kty, mismatched crv, short x. */
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-35), t_cbor_int(1), X, Y)),
	    WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-8), t_cbor_int(1), X, Y)), WEBAUTHN_ERR_COSE_KEY_INVALID);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(1), t_cbor_int(-7), t_cbor_int(1), X, Y)), WEBAUTHN_ERR_COSE_KEY_INVALID);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(3), t_cbor_int(-7), t_cbor_int(1), X, Y)), WEBAUTHN_ERR_COSE_KEY_INVALID);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(2), X, Y)), WEBAUTHN_ERR_COSE_KEY_INVALID);
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), t_cbor_bytes(x, 31), Y)),
	    WEBAUTHN_ERR_COSE_KEY_INVALID);
	/* A point off the curve. */
	memcpy(bad_y, y, 32);
	bad_y[31] ^= 1;
	CHECK_EQ_INT(import_map(ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, t_cbor_bytes(bad_y, 32))),
	    WEBAUTHN_ERR_COSE_KEY_INVALID);
	/* Extra parameters: kid, and a private scalar d where none belongs. */
	map = ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, Y);
	t_map_put(map, t_cbor_int(2), t_cbor_bytes((const uint8_t *)"kid", 3));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	map = ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, Y);
	t_map_put(map, t_cbor_int(-4), t_cbor_bytes(x, 32));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	map = ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, Y);
	t_map_put(map, cbor_build_string("note"), t_cbor_int(0));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	/* A repeated label, even with the same value. */
	map = ec2_map(t_cbor_int(2), t_cbor_int(-7), t_cbor_int(1), X, Y);
	t_map_put(map, t_cbor_int(3), t_cbor_int(-7));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
#undef X
#undef Y
}

static void test_okp_and_rsa_refusals(void)
{
	uint8_t raw[32];
	size_t n = sizeof(raw);
	cbor_item_t *map;
	BIGNUM *small_n = BN_new(), *a = t_mersenne(521), *b = t_mersenne(607);
	BN_CTX *bn = BN_CTX_new();
	uint8_t modulus[512];
	int modulus_len;

	EVP_PKEY_get_raw_public_key(ed, raw, &n);
	map = cbor_new_definite_map(4);
	t_map_put(map, t_cbor_int(1), t_cbor_int(1));
	t_map_put(map, t_cbor_int(3), t_cbor_int(-8));
	t_map_put(map, t_cbor_int(-1), t_cbor_int(7));	/* Ed448 */
	t_map_put(map, t_cbor_int(-2), t_cbor_bytes(raw, 32));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_INVALID);
	map = cbor_new_definite_map(4);
	t_map_put(map, t_cbor_int(1), t_cbor_int(1));
	t_map_put(map, t_cbor_int(3), t_cbor_int(-8));
	t_map_put(map, t_cbor_int(-1), t_cbor_int(6));
	t_map_put(map, t_cbor_int(-3), t_cbor_bytes(raw, 32));	/* y has no place in OKP */
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_MALFORMED);

	/* A 1128-bit modulus (2^521-1)(2^607-1): well-formed, too small. */
	BN_mul(small_n, a, b, bn);
	modulus_len = BN_bn2bin(small_n, modulus);
	map = cbor_new_definite_map(4);
	t_map_put(map, t_cbor_int(1), t_cbor_int(3));
	t_map_put(map, t_cbor_int(3), t_cbor_int(-257));
	t_map_put(map, t_cbor_int(-1), t_cbor_bytes(modulus, (size_t)modulus_len));
	t_map_put(map, t_cbor_int(-2), t_cbor_bytes((const uint8_t *)"\x01\x00\x01", 3));
	CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_INVALID);
	/* Even exponent, then exponent 1, on a real modulus. */
	for (int i = 0; i < 2; i++) {
		struct tbuf mod = t_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N);

		map = cbor_new_definite_map(4);
		t_map_put(map, t_cbor_int(1), t_cbor_int(3));
		t_map_put(map, t_cbor_int(3), t_cbor_int(-257));
		t_map_put(map, t_cbor_int(-1), t_cbor_bytes(mod.data, mod.len));
		t_map_put(map, t_cbor_int(-2), t_cbor_bytes((const uint8_t *)(i ? "\x01" : "\x01\x00\x02"), i ? 1 : 3));
		CHECK_EQ_INT(import_map(map), WEBAUTHN_ERR_COSE_KEY_INVALID);
		tbuf_free(&mod);
	}
	BN_free(small_n);
	BN_free(a);
	BN_free(b);
	BN_CTX_free(bn);
}

static void test_malformed_cbor(void)
{
	static const char *const bad[] = {
		"",						/* nothing */
		"a5010203",					/* truncated */
		"8401020326",					/* an array, not a map */
		"bf01020326ff",					/* indefinite-length map */
		"9b00000000ffffffff",				/* absurd array count */
		"a1818181818181818181818181818181818100",	/* nesting */
	};
	EVP_PKEY *key = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tbuf b = tbuf_hex(bad[i]);

		CHECK_EQ_INT(cose_key_import(b.data, b.len, NULL, &key), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
		CHECK(key == NULL);
		tbuf_free(&b);
	}
	CHECK_EQ_INT(cose_key_import(NULL, 0, NULL, &key), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
	CHECK_EQ_INT(cose_key_import((const uint8_t *)"", 0, NULL, NULL), WEBAUTHN_ERR_ARGUMENT);
}

int main(void)
{
	ec = t_ec_key("cose ec");
	ed = t_ed_key("cose ed");
	rsa = t_rsa_key();
	test_round_trips();
	test_spec_example();
	test_ec2_refusals();
	test_okp_and_rsa_refusals();
	test_malformed_cbor();
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	return CHECK_DONE();
}
