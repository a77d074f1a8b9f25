/*
 * libFuzzer target for proto/jws.c. Each input is tried as a compact JWS
 * (parse, then verify against fixed RSA, P-256 and Ed25519 keys, so the
 * signature paths run on seeds signed by those keys) and as a JWK (import,
 * thumbprint, and an export/import round trip that must be stable).
 * Links only da_proto. Seeds: fuzz/corpus/fuzz_jws/.
 */
#include "proto/jws.h"

#include <stdlib.h>
#include <string.h>

/* Public keys of the seed tokens: RFC 7515 A.3 (P-256), RFC 8037 A (Ed25519),
 * and a 2048-bit RSA key made for the corpus. Fixed so runs are reproducible. */
static const char *const fixed_jwks[] = {
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	"{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
	"ktXHtbFz0Aw9g4YIGjWu1YoTxXkO_EwsuYdFDcb5gFIDbTr1Mjpc2Sv-i-NmgQkd6A7cAAKq049vZJ0qEfS9KJ1S"
	"uGRzzXZN7PMe9cgN9rTvrBXZUynw3m_ebixENSpzAzgjiudhTcTyR2ggJXtseM9IdEdu-N6Qn1weNTiF9ru1h9IT"
	"KVZBowwy1iCjZp5h31Z4gecRVrYOBdytRl7-pBL-2JqCajai5RfHzQnCgeHLLVI6E6wa5pbm6SzSSdDjLqzp1ofN"
	"GpCfJacpxcyUkPvlWwpixxSXHXP4YMp9-jK4mUcmED_G7mNByCRrq_Z3EHg8hakp0RCiUTwR7D0bqQ"
	"\"}",
};
#define FIXED_KEYS (sizeof(fixed_jwks) / sizeof(fixed_jwks[0]))
static EVP_PKEY *fixed_keys[FIXED_KEYS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (size_t i = 0; i < FIXED_KEYS; i++) {
		json_t *jwk = json_loads(fixed_jwks[i], 0, NULL);
		fixed_keys[i] = jwk_to_public_key(jwk, NULL);
		json_decref(jwk);
		if (!fixed_keys[i])
			abort();
	}
	return 0;
}

static void fuzz_token(const uint8_t *data, size_t size)
{
	struct jws_parsed p;
	if (jws_parse((const char *)data, size, &p) != 0)
		return;
	/* Parser invariants the verifier and callers rely on. */
	if (!json_is_object(p.header) || !json_is_object(p.payload) || !p.signature ||
	    p.signing_input_len >= size || data[p.signing_input_len] != '.')
		abort();
	for (size_t i = 0; i < FIXED_KEYS; i++)
		(void)jws_verify(&p, (const char *)data, fixed_keys[i]);
	jws_parsed_free(&p);
}

static void fuzz_jwk(const uint8_t *data, size_t size)
{
	json_t *jwk = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	enum jws_alg alg = JWS_ALG_NONE;
	char thumb[44], again_thumb[44];
	EVP_PKEY *key, *again_key;
	json_t *exported;

	if (!jwk)
		return;
	(void)jwk_thumbprint(jwk, thumb);
	key = jwk_to_public_key(jwk, &alg);
	if (key) {
		/* Accepted keys export, re-import to the same key, same thumbprint. */
		exported = jwk_from_public_key(key, alg, "k");
		if (!exported)
			abort();
		again_key = jwk_to_public_key(exported, NULL);
		if (!again_key || EVP_PKEY_eq(key, again_key) != 1)
			abort();
		if (jwk_thumbprint(exported, again_thumb) != 0)
			abort();
		/* Canonical members of the input may still be non-minimal (RSA leading
		 * zeros), so compare thumbprints only between exports. */
		json_t *second = jwk_from_public_key(again_key, alg, NULL);
		if (!second || jwk_thumbprint(second, thumb) != 0 || strcmp(thumb, again_thumb) != 0)
			abort();
		json_decref(second);
		json_decref(exported);
		EVP_PKEY_free(again_key);
		EVP_PKEY_free(key);
	}
	json_decref(jwk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_token(data, size);
	fuzz_jwk(data, size);
	return 0;
}
