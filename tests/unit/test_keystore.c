/*
 * Unit tests for the pure part of signer/keystore.c: KEK derivation, key
 * generation, and sealing/opening private keys (AES-256-GCM with kid and alg
 * bound as associated data). The database part is in test_keystore_db.c.
 */
#include "tests/unit/check.h"
#include "signer/keystore.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void test_kek(void)
{
	uint8_t a[32], b[32], c[32];
	CHECK_EQ_INT(keystore_derive_kek("correct horse battery staple", a), 0);
	CHECK_EQ_INT(keystore_derive_kek("correct horse battery staple", b), 0);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK_EQ_INT(keystore_derive_kek("correct horse battery stapler", c), 0);
	CHECK(memcmp(a, c, 32) != 0);
	CHECK_EQ_INT(keystore_derive_kek("", c), -1);
	CHECK_EQ_INT(keystore_derive_kek(NULL, c), -1);
}

/* Signs with one key and verifies with the other: same key pair. */
static bool same_key_pair(EVP_PKEY *signer, EVP_PKEY *verifier, enum jws_alg alg)
{
	char *token = jws_sign(signer, alg, "k", NULL, "{\"x\":1}");
	struct jws_parsed p;
	bool ok = token && jws_parse(token, strlen(token), &p) == 0 && jws_verify(&p, token, verifier) == 0;
	if (token)
		jws_parsed_free(&p);
	free(token);
	return ok;
}

static void test_seal(enum jws_alg alg)
{
	uint8_t kek[32], other_kek[32];
	size_t len = 0, len2 = 0;
	EVP_PKEY *key = keystore_generate(alg), *opened;
	uint8_t *blob, *blob2;

	keystore_derive_kek("secret one", kek);
	keystore_derive_kek("secret two", other_kek);
	CHECK(key != NULL);
	if (!key)
		return;
	blob = keystore_seal(kek, key, "kid-a", alg, &len);
	CHECK(blob != NULL);
	if (!blob) {
		EVP_PKEY_free(key);
		return;
	}
	CHECK(memcmp(blob, "v1", 2) == 0);
	CHECK(len > 2 + 12 + 16 + 32);

	opened = keystore_open(kek, blob, len, "kid-a", alg);
	CHECK(opened != NULL);
	CHECK_EQ_INT(EVP_PKEY_eq(opened, key), 1);
	CHECK(same_key_pair(opened, key, alg));
	CHECK(same_key_pair(key, opened, alg));
	EVP_PKEY_free(opened);

	/* Fresh nonce each time: sealing twice gives different blobs. */
	blob2 = keystore_seal(kek, key, "kid-a", alg, &len2);
	CHECK(blob2 && len2 == len && memcmp(blob, blob2, len) != 0);
	free(blob2);

	/* Wrong KEK, wrong kid, wrong alg (associated data) are refused. */
	CHECK(keystore_open(other_kek, blob, len, "kid-a", alg) == NULL);
	CHECK(keystore_open(kek, blob, len, "kid-b", alg) == NULL);
	CHECK(keystore_open(kek, blob, len, "kid-a", alg == JWS_ALG_ES256 ? JWS_ALG_EDDSA : JWS_ALG_ES256) == NULL);
	CHECK(keystore_open(kek, blob, len, NULL, alg) == NULL);

	/* Any flipped byte (magic, nonce, ciphertext, tag) is refused. */
	int accepted = 0;
	for (size_t i = 0; i < len; i++) {
		blob[i] ^= 0x80;
		opened = keystore_open(kek, blob, len, "kid-a", alg);
		if (opened)
			accepted++;
		EVP_PKEY_free(opened);
		blob[i] ^= 0x80;
	}
	CHECK_EQ_INT(accepted, 0);
	/* Truncated or extended blobs are refused. */
	CHECK(keystore_open(kek, blob, len - 1, "kid-a", alg) == NULL);
	CHECK(keystore_open(kek, blob, 2 + 12 + 16, "kid-a", alg) == NULL);
	CHECK(keystore_open(kek, blob, 0, "kid-a", alg) == NULL);
	CHECK(keystore_open(kek, NULL, len, "kid-a", alg) == NULL);
	/* Still opens after all that. */
	opened = keystore_open(kek, blob, len, "kid-a", alg);
	CHECK(opened != NULL);
	EVP_PKEY_free(opened);

	free(blob);
	EVP_PKEY_free(key);
}

static void test_generate(void)
{
	EVP_PKEY *rsa = keystore_generate(JWS_ALG_RS256);
	EVP_PKEY *ec = keystore_generate(JWS_ALG_ES256);
	EVP_PKEY *ed = keystore_generate(JWS_ALG_EDDSA);
	CHECK(rsa && EVP_PKEY_get_base_id(rsa) == EVP_PKEY_RSA && EVP_PKEY_get_bits(rsa) == 2048);
	CHECK(ec && EVP_PKEY_get_base_id(ec) == EVP_PKEY_EC && EVP_PKEY_get_bits(ec) == 256);
	CHECK(ed && EVP_PKEY_get_base_id(ed) == EVP_PKEY_ED25519);
	CHECK(keystore_generate(JWS_ALG_NONE) == NULL);

	/* A key sealed as one alg but of another type is refused on open. */
	uint8_t kek[32];
	size_t len = 0;
	keystore_derive_kek("s", kek);
	uint8_t *blob = keystore_seal(kek, ec, "k", JWS_ALG_EDDSA, &len);
	CHECK(blob != NULL);
	CHECK(keystore_open(kek, blob, len, "k", JWS_ALG_EDDSA) == NULL);
	free(blob);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

static void test_empty_store(void)
{
	struct keystore ks;
	memset(&ks, 0, sizeof(ks));
	memset(ks.kek, 0xaa, sizeof(ks.kek));
	CHECK(keystore_current(&ks, JWS_ALG_ES256) == NULL);
	char *jwks = keystore_jwks_json(&ks);
	CHECK_EQ_STR(jwks, "{\"keys\":[]}");
	free(jwks);
	CHECK_EQ_INT(keystore_load(&ks, NULL), -1);
	keystore_free(&ks);
	uint8_t zero[32] = { 0 };
	CHECK(memcmp(ks.kek, zero, 32) == 0);
}

/* Kids come from an operator's command line: only our own shape passes. */
static void test_kid_shape(void)
{
	CHECK(keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRik"));
	CHECK(keystore_kid_valid("Tj-d3MrjJXICs4f2klB4TqoubP2MS3TFgHUfUynNd-I"));
	CHECK(!keystore_kid_valid(NULL));
	CHECK(!keystore_kid_valid(""));
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRi"));	/* 42 */
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRikk"));	/* 44 */
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH/VrarRik"));	/* base64, not url */
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRi="));
	CHECK(!keystore_kid_valid("'; DROP TABLE signing_keys; --xxxxxxxxxxxxxx"));
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRi\n"));
	CHECK(!keystore_kid_valid("J8vPZvOywqNt7d1YwwFQM9RXLqTODHbdbEH_VrarRi\xc3"));
}

int main(void)
{
	test_kid_shape();
	test_kek();
	test_generate();
	test_seal(JWS_ALG_RS256);
	test_seal(JWS_ALG_ES256);
	test_seal(JWS_ALG_EDDSA);
	test_empty_store();
	return CHECK_DONE();
}
