/* OpenSSL 3 public keys from their raw numbers: see proto/public_key.h. */
#include "proto/public_key.h"

#include <stdbool.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

/* Builds a public key of type name from params; with check, OpenSSL then
 * validates it (EC: point on the curve, in the right subgroup). */
static EVP_PKEY *pkey_from_params(const char *name, OSSL_PARAM *params, bool check_key)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto fail;
	if (check_key) {
		check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (!check || EVP_PKEY_public_check(check) != 1)
			goto fail;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
fail:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

EVP_PKEY *public_key_p256(const uint8_t *x, const uint8_t *y)
{
	uint8_t point[1 + 2 * PUBLIC_KEY_P256_COORD_LEN];
	OSSL_PARAM params[3];

	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(point + 1, x, PUBLIC_KEY_P256_COORD_LEN);
	memcpy(point + 1 + PUBLIC_KEY_P256_COORD_LEN, y, PUBLIC_KEY_P256_COORD_LEN);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	return pkey_from_params("EC", params, true);
}

EVP_PKEY *public_key_ed25519(const uint8_t *x)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)x, PUBLIC_KEY_ED25519_LEN);
	params[1] = OSSL_PARAM_construct_end();
	return pkey_from_params("ED25519", params, true);
}

EVP_PKEY *public_key_rsa(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if (BN_num_bits(n) < PUBLIC_KEY_RSA_MIN_BITS || BN_num_bytes(n) > PUBLIC_KEY_RSA_MAX_BYTES || !BN_is_odd(n) ||
	    !BN_is_odd(e) || BN_is_one(e) || BN_num_bytes(e) > PUBLIC_KEY_RSA_E_MAX_BYTES)
		return NULL;
	bld = OSSL_PARAM_BLD_new();
	if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		pkey = pkey_from_params("RSA", params, false);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}
