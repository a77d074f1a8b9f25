/*
 * WebAuthn signature checks (§6.5.5 signature formats): assertion signatures
 * and packed / fido-u2f attestation signatures. Called by webauthn_verify.c
 * and webauthn_attestation.c. ES256 signatures arrive DER-encoded (OpenSSL
 * itself refuses a non-canonical or padded DER ECDSA-Sig-Value), EdDSA ones
 * as 64 raw bytes over the message itself, RS256 ones as PKCS#1 v1.5
 * blocks of the modulus size.
 */
#include "proto/webauthn.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096
#define ES256_DER_MAX 72	/* SEQUENCE of two INTEGERs of at most 33 bytes */
#define EDDSA_SIG_LEN 64

static bool key_is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t group_len = 0;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &group_len) != 1)
		return false;
	return strcmp(group, "prime256v1") == 0;
}

bool webauthn_key_fits_alg(EVP_PKEY *key, int64_t alg)
{
	if (!key)
		return false;
	switch (alg) {
	case COSE_ALG_ES256:
		return key_is_p256(key);
	case COSE_ALG_EDDSA:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
	case COSE_ALG_RS256:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= RSA_MIN_BITS &&
		       EVP_PKEY_get_bits(key) <= RSA_MAX_BITS;
	default:
		return false;
	}
}

/* Signature sizes the algorithm can produce, checked before OpenSSL sees them. */
static bool signature_size_plausible(EVP_PKEY *key, int64_t alg, size_t sig_len)
{
	switch (alg) {
	case COSE_ALG_ES256:
		return sig_len >= 8 && sig_len <= ES256_DER_MAX;
	case COSE_ALG_EDDSA:
		return sig_len == EDDSA_SIG_LEN;
	default:
		return sig_len == (size_t)EVP_PKEY_get_size(key);
	}
}

/* One verification over msg: one-shot for Ed25519 (PureEdDSA takes no
 * digest), SHA-256 otherwise; RSA keys get PKCS#1 v1.5 padding, the default. */
static bool signature_valid(EVP_PKEY *key, int64_t alg, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = alg == COSE_ALG_EDDSA ? NULL : EVP_sha256();
	bool ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

enum webauthn_error webauthn_signature_check(EVP_PKEY *key, int64_t alg, const uint8_t *data, size_t data_len,
    const uint8_t *suffix, size_t suffix_len, const uint8_t *sig, size_t sig_len)
{
	uint8_t *msg;
	bool ok;

	if (!key || !data || (!suffix && suffix_len) || !sig)
		return WEBAUTHN_ERR_ARGUMENT;
	if (!webauthn_key_fits_alg(key, alg) || !signature_size_plausible(key, alg, sig_len))
		return WEBAUTHN_ERR_BAD_SIGNATURE;
	/* Ed25519 signs the whole message in one pass, so it is joined first. */
	msg = malloc(data_len + suffix_len + 1);
	if (!msg)
		return WEBAUTHN_ERR_INTERNAL;
	memcpy(msg, data, data_len);
	if (suffix_len)
		memcpy(msg + data_len, suffix, suffix_len);
	ok = signature_valid(key, alg, msg, data_len + suffix_len, sig, sig_len);
	free(msg);
	return ok ? WEBAUTHN_OK : WEBAUTHN_ERR_BAD_SIGNATURE;
}
