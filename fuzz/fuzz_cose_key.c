/*
 * libFuzzer target for proto/cose_key.c (and the strict CBOR walk under it):
 * each input is a candidate COSE_Key. An accepted key must name a supported
 * algorithm, fit it, and reload from the same bytes to the same key when
 * stored with that algorithm, and to nothing with another. Links only
 * da_proto. Seeds: fuzz/corpus/fuzz_cose_key/ (written by
 * tests/unit/test_cose_key.c).
 */
#include "proto/webauthn.h"

#include <stdlib.h>

static void check_accepted_key(const uint8_t *data, size_t size, int64_t alg, EVP_PKEY *key)
{
	EVP_PKEY *again = NULL;
	int64_t other_alg = alg == COSE_ALG_ES256 ? COSE_ALG_EDDSA : COSE_ALG_ES256;

	if (!cose_alg_name(alg) || !webauthn_key_fits_alg(key, alg))
		abort();
	if (cose_key_load_stored(data, size, alg, &again) != WEBAUTHN_OK || EVP_PKEY_eq(key, again) != 1)
		abort();
	EVP_PKEY_free(again);
	again = NULL;
	if (cose_key_load_stored(data, size, other_alg, &again) != WEBAUTHN_ERR_STORED_KEY_INVALID || again)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = NULL;
	int64_t alg = 0;
	enum webauthn_error rc = cose_key_import(data, size, &alg, &key);

	if ((rc == WEBAUTHN_OK) != (key != NULL))
		abort();
	if (key)
		check_accepted_key(data, size, alg, key);
	EVP_PKEY_free(key);
	return 0;
}
