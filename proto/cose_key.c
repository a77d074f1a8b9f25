/*
 * COSE_Key (RFC 9052 §7) to OpenSSL public key, for WebAuthn credential
 * public keys (see cose_key_import in webauthn.h). Called by
 * webauthn_verify.c at registration (the key inside authenticator data) and
 * at every assertion (the stored key); fuzzed by fuzz/fuzz_cose_key.c.
 *
 * Labels (RFC 9052 §7.1, RFC 9053 §7, RFC 8230 §4): 1 kty, 3 alg; EC2 and
 * OKP: -1 crv, -2 x, -3 y (EC2 only); RSA: -1 n, -2 e. Only the three
 * algorithm/key-type/curve triples of webauthn.h are accepted. OpenSSL
 * validates EC points (on the curve, not at infinity) and Ed25519 keys;
 * RSA moduli get deterministic sanity checks only, as in proto/jws.c.
 */
#include "proto/webauthn.h"
#include "proto/cbor_strict.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#define COSE_LABEL_KTY 1
#define COSE_LABEL_ALG 3
#define COSE_LABEL_CRV (-1)	/* EC2, OKP */
#define COSE_LABEL_X (-2)	/* EC2, OKP */
#define COSE_LABEL_Y (-3)	/* EC2 */
#define COSE_LABEL_N (-1)	/* RSA */
#define COSE_LABEL_E (-2)	/* RSA */

#define COSE_KTY_OKP 1
#define COSE_KTY_EC2 2
#define COSE_KTY_RSA 3
#define COSE_CRV_P256 1
#define COSE_CRV_ED25519 6

#define EC_COORD_LEN 32
#define ED25519_KEY_LEN 32
#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 512
#define RSA_E_MAX_BYTES 4
#define COSE_KEY_MAX_PAIRS 8

const char *cose_alg_name(int64_t alg)
{
	switch (alg) {
	case COSE_ALG_ES256: return "ES256";
	case COSE_ALG_EDDSA: return "EdDSA";
	case COSE_ALG_RS256: return "RS256";
	default: return NULL;
	}
}

/* Byte string value under label, or NULL when absent or another type. */
static const uint8_t *bytes_param(const cbor_item_t *map, int64_t label, size_t *len)
{
	const cbor_item_t *v = cbor_strict_map_get_int(map, label);

	if (!v || !cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return NULL;
	*len = cbor_bytestring_length(v);
	return cbor_bytestring_handle(v);
}

/* Integer value under label; false when absent or another type. */
static bool int_param(const cbor_item_t *map, int64_t label, int64_t *out)
{
	return cbor_strict_int_value(cbor_strict_map_get_int(map, label), out);
}

/* True if every label of map is one the key type allows: kty, alg, and the
 * labels from -1 down to -last_label. */
static bool only_labels_up_to(const cbor_item_t *map, int64_t last_label)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	int64_t label;

	for (size_t i = 0; i < cbor_map_size(map); i++) {
		if (!cbor_strict_int_value(pairs[i].key, &label))
			return false;
		if (label != COSE_LABEL_KTY && label != COSE_LABEL_ALG && (label > -1 || label < last_label))
			return false;
	}
	return true;
}

/* Builds a public key of type name from params; with check, OpenSSL then
 * validates it (EC: on the curve and in the right subgroup). */
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

/* ES256: kty EC2, crv P-256, uncompressed point from 32-byte x and y (a
 * boolean y, RFC 9053's compressed form, is refused by §5.8.5). */
static enum webauthn_error ec2_key(const cbor_item_t *map, EVP_PKEY **key_out)
{
	uint8_t point[1 + 2 * EC_COORD_LEN];
	const uint8_t *x, *y;
	size_t x_len = 0, y_len = 0;
	OSSL_PARAM params[3];
	int64_t crv;

	if (!only_labels_up_to(map, COSE_LABEL_Y))
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	x = bytes_param(map, COSE_LABEL_X, &x_len);
	y = bytes_param(map, COSE_LABEL_Y, &y_len);
	if (!int_param(map, COSE_LABEL_CRV, &crv) || !x || !y)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	if (crv != COSE_CRV_P256 || x_len != EC_COORD_LEN || y_len != EC_COORD_LEN)
		return WEBAUTHN_ERR_COSE_KEY_INVALID;
	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(point + 1, x, EC_COORD_LEN);
	memcpy(point + 1 + EC_COORD_LEN, y, EC_COORD_LEN);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	*key_out = pkey_from_params("EC", params, true);
	return *key_out ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
}

/* EdDSA: kty OKP, crv Ed25519, 32-byte x. */
static enum webauthn_error okp_key(const cbor_item_t *map, EVP_PKEY **key_out)
{
	OSSL_PARAM params[2];
	const uint8_t *x;
	size_t x_len = 0;
	int64_t crv;

	if (!only_labels_up_to(map, COSE_LABEL_X))
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	x = bytes_param(map, COSE_LABEL_X, &x_len);
	if (!int_param(map, COSE_LABEL_CRV, &crv) || !x)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	if (crv != COSE_CRV_ED25519 || x_len != ED25519_KEY_LEN)
		return WEBAUTHN_ERR_COSE_KEY_INVALID;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)x, x_len);
	params[1] = OSSL_PARAM_construct_end();
	*key_out = pkey_from_params("ED25519", params, true);
	return *key_out ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
}

/* Modulus 2048..4096 bits and odd; exponent odd, above 1, at most 4 bytes. */
static bool rsa_numbers_plausible(const BIGNUM *n, const BIGNUM *e)
{
	return BN_num_bits(n) >= RSA_MIN_BITS && BN_num_bytes(n) <= RSA_MAX_BYTES && BN_is_odd(n) &&
	       BN_is_odd(e) && !BN_is_one(e) && BN_num_bytes(e) <= RSA_E_MAX_BYTES;
}

static EVP_PKEY *rsa_from_numbers(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
		params = OSSL_PARAM_BLD_to_param(bld);
	/* No EVP_PKEY_public_check: for RSA it runs Miller-Rabin with random
	 * bases, so a verdict on a malformed modulus would not be repeatable. */
	if (params)
		pkey = pkey_from_params("RSA", params, false);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* RS256: kty RSA, n and e as unsigned big-endian byte strings. */
static enum webauthn_error rsa_key(const cbor_item_t *map, EVP_PKEY **key_out)
{
	const uint8_t *n_raw, *e_raw;
	size_t n_len = 0, e_len = 0;
	BIGNUM *n = NULL, *e = NULL;
	enum webauthn_error rc = WEBAUTHN_ERR_COSE_KEY_INVALID;

	if (!only_labels_up_to(map, COSE_LABEL_E))
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	n_raw = bytes_param(map, COSE_LABEL_N, &n_len);
	e_raw = bytes_param(map, COSE_LABEL_E, &e_len);
	if (!n_raw || !e_raw)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	if (n_len == 0 || n_len > RSA_MAX_BYTES + 1 || e_len == 0 || e_len > RSA_E_MAX_BYTES)
		return WEBAUTHN_ERR_COSE_KEY_INVALID;
	n = BN_bin2bn(n_raw, (int)n_len, NULL);
	e = BN_bin2bn(e_raw, (int)e_len, NULL);
	if (!n || !e)
		rc = WEBAUTHN_ERR_INTERNAL;
	else if (rsa_numbers_plausible(n, e))
		rc = (*key_out = rsa_from_numbers(n, e)) ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
	BN_free(n);
	BN_free(e);
	return rc;
}

/* Dispatches on alg, then insists kty is the one alg implies. */
static enum webauthn_error key_for_alg(const cbor_item_t *map, int64_t alg, int64_t kty, EVP_PKEY **key_out)
{
	switch (alg) {
	case COSE_ALG_ES256:
		return kty == COSE_KTY_EC2 ? ec2_key(map, key_out) : WEBAUTHN_ERR_COSE_KEY_INVALID;
	case COSE_ALG_EDDSA:
		return kty == COSE_KTY_OKP ? okp_key(map, key_out) : WEBAUTHN_ERR_COSE_KEY_INVALID;
	case COSE_ALG_RS256:
		return kty == COSE_KTY_RSA ? rsa_key(map, key_out) : WEBAUTHN_ERR_COSE_KEY_INVALID;
	default:
		return WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM;
	}
}

enum webauthn_error cose_key_import(const uint8_t *cose, size_t len, int64_t *alg_out, EVP_PKEY **key_out)
{
	enum webauthn_error rc = WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	cbor_item_t *map;
	int64_t kty, alg;

	if (!key_out)
		return WEBAUTHN_ERR_ARGUMENT;
	*key_out = NULL;
	if (!cose || len == 0 || len > WEBAUTHN_COSE_KEY_MAX)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	map = cbor_strict_load_exact(cose, len);
	/* Labels are integers or text (RFC 9052 §7); none may repeat. */
	if (!map || !cbor_strict_map_keys_valid(map, COSE_KEY_MAX_PAIRS, true, true))
		goto out;
	if (!int_param(map, COSE_LABEL_KTY, &kty) || !int_param(map, COSE_LABEL_ALG, &alg))
		goto out;
	rc = key_for_alg(map, alg, kty, key_out);
	if (rc == WEBAUTHN_OK && alg_out)
		*alg_out = alg;
out:
	if (map)
		cbor_decref(&map);
	return rc;
}

enum webauthn_error cose_key_load_stored(const uint8_t *cose, size_t len, int64_t stored_alg, EVP_PKEY **key_out)
{
	int64_t alg = 0;
	enum webauthn_error rc = cose_key_import(cose, len, &alg, key_out);

	if (rc == WEBAUTHN_OK && alg == stored_alg)
		return WEBAUTHN_OK;
	if (key_out) {
		EVP_PKEY_free(*key_out);
		*key_out = NULL;
	}
	return rc == WEBAUTHN_ERR_ARGUMENT ? rc : WEBAUTHN_ERR_STORED_KEY_INVALID;
}
