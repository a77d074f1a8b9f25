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
 * RSA moduli get deterministic sanity checks only (proto/public_key.c).
 */
#include "proto/webauthn.h"
#include "proto/cbor_strict.h"

#include "proto/public_key.h"

#include <string.h>
#include <openssl/bn.h>

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

#define EC_COORD_LEN PUBLIC_KEY_P256_COORD_LEN
#define ED25519_KEY_LEN PUBLIC_KEY_ED25519_LEN
#define RSA_MAX_BYTES PUBLIC_KEY_RSA_MAX_BYTES
#define RSA_E_MAX_BYTES PUBLIC_KEY_RSA_E_MAX_BYTES
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

/* ES256: kty EC2, crv P-256, uncompressed point from 32-byte x and y (a
 * boolean y, RFC 9053's compressed form, is refused by §5.8.5). */
static enum webauthn_error ec2_key(const cbor_item_t *map, EVP_PKEY **key_out)
{
	const uint8_t *x, *y;
	size_t x_len = 0, y_len = 0;
	int64_t crv;

	if (!only_labels_up_to(map, COSE_LABEL_Y))
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	x = bytes_param(map, COSE_LABEL_X, &x_len);
	y = bytes_param(map, COSE_LABEL_Y, &y_len);
	if (!int_param(map, COSE_LABEL_CRV, &crv) || !x || !y)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	if (crv != COSE_CRV_P256 || x_len != EC_COORD_LEN || y_len != EC_COORD_LEN)
		return WEBAUTHN_ERR_COSE_KEY_INVALID;
	*key_out = public_key_p256(x, y);
	return *key_out ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
}

/* EdDSA: kty OKP, crv Ed25519, 32-byte x. */
static enum webauthn_error okp_key(const cbor_item_t *map, EVP_PKEY **key_out)
{
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
	*key_out = public_key_ed25519(x);
	return *key_out ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
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
	else
		rc = (*key_out = public_key_rsa(n, e)) ? WEBAUTHN_OK : WEBAUTHN_ERR_COSE_KEY_INVALID;
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
