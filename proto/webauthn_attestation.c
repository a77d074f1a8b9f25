/*
 * Attestation objects (WebAuthn §6.5.4) and the verification procedures of
 * three attestation statement formats: "none" (§8.7), "packed" (§8.2, self
 * attestation and x5c) and "fido-u2f" (§8.6). Every other format (tpm,
 * android-key, android-safetynet, apple, ...) is reported as unsupported so
 * that the caller's policy decides. Called by webauthn_verify.c at
 * registration; fuzzed by fuzz/fuzz_webauthn_attestation.c.
 *
 * Statements are checked against their CDDL exactly: a key the format does
 * not define, or a "none" statement that is not empty, is an error.
 */
#include "proto/webauthn.h"
#include "proto/cbor_strict.h"
#include "proto/webauthn_certificate.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#define ATTESTATION_OBJECT_MAX_PAIRS 16
#define ATT_STMT_MAX_PAIRS 16
#define U2F_PUBLIC_KEY_LEN 65	/* 0x04 || x || y */

enum webauthn_error webauthn_attestation_object_parse(const uint8_t *data, size_t len,
    struct webauthn_attestation_object *out)
{
	const cbor_item_t *fmt, *auth_data;

	if (!out)
		return WEBAUTHN_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (!data || len == 0 || len > WEBAUTHN_ATTESTATION_OBJECT_MAX)
		return WEBAUTHN_ERR_ATTESTATION_MALFORMED;
	out->root = cbor_strict_load_exact(data, len);
	if (!out->root || !cbor_strict_map_keys_valid(out->root, ATTESTATION_OBJECT_MAX_PAIRS, false, true))
		goto malformed;
	fmt = cbor_strict_map_get_text(out->root, "fmt");
	out->att_stmt = cbor_strict_map_get_text(out->root, "attStmt");
	auth_data = cbor_strict_map_get_text(out->root, "authData");
	if (!fmt || !cbor_isa_string(fmt) || !webauthn_identifier_valid(cbor_string_handle(fmt), cbor_string_length(fmt)))
		goto malformed;
	memcpy(out->fmt, cbor_string_handle(fmt), cbor_string_length(fmt));
	if (!out->att_stmt || !cbor_strict_map_keys_valid(out->att_stmt, ATT_STMT_MAX_PAIRS, false, true))
		goto malformed;
	/* authData as a span of data itself, so callers may keep pointers into it. */
	if (!auth_data || !cbor_isa_bytestring(auth_data) ||
	    cbor_strict_map_find_bytes(data, len, "authData", &out->auth_data, &out->auth_data_len) < 0 ||
	    out->auth_data_len != cbor_bytestring_length(auth_data))
		goto malformed;
	return WEBAUTHN_OK;
malformed:
	webauthn_attestation_object_free(out);
	return WEBAUTHN_ERR_ATTESTATION_MALFORMED;
}

void webauthn_attestation_object_free(struct webauthn_attestation_object *obj)
{
	if (!obj)
		return;
	if (obj->root)
		cbor_decref(&obj->root);
	memset(obj, 0, sizeof(*obj));
}

const char *webauthn_attestation_type_name(enum webauthn_attestation_type type)
{
	switch (type) {
	case WEBAUTHN_ATTESTATION_NONE: return "none";
	case WEBAUTHN_ATTESTATION_SELF: return "self";
	case WEBAUTHN_ATTESTATION_BASIC: return "basic";
	case WEBAUTHN_ATTESTATION_UNTRUSTED: return "untrusted";
	case WEBAUTHN_ATTESTATION_UNVERIFIED: return "unverified";
	default: return "unknown";
	}
}

/* True if every key of the statement is one of the NULL-terminated names. */
static bool statement_keys_within(const cbor_item_t *stmt, const char *const *names)
{
	struct cbor_pair *pairs = cbor_map_handle(stmt);

	for (size_t i = 0; i < cbor_map_size(stmt); i++) {
		bool known = false;

		for (const char *const *name = names; *name && !known; name++)
			known = cbor_strict_text_equals(pairs[i].key, *name);
		if (!known)
			return false;
	}
	return true;
}

/* A byte string member of the statement, or NULL. */
static const uint8_t *statement_bytes(const cbor_item_t *stmt, const char *key, size_t *len)
{
	const cbor_item_t *v = cbor_strict_map_get_text(stmt, key);

	if (!v || !cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return NULL;
	*len = cbor_bytestring_length(v);
	return cbor_bytestring_handle(v);
}

/* §8.7: the statement is the empty map; nothing is proved. */
static enum webauthn_error verify_none(const struct webauthn_attestation_check *check,
    enum webauthn_attestation_type *type)
{
	if (cbor_map_size(check->object->att_stmt) != 0)
		return WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	*type = WEBAUTHN_ATTESTATION_NONE;
	return WEBAUTHN_OK;
}

/* sig over authenticatorData || clientDataHash, mapping a bad signature to
 * the attestation error. */
static enum webauthn_error attestation_signature_check(const struct webauthn_attestation_check *check, EVP_PKEY *key,
    int64_t alg, const uint8_t *sig, size_t sig_len)
{
	enum webauthn_error rc = webauthn_signature_check(key, alg, check->object->auth_data,
	    check->object->auth_data_len, check->client_data_hash, WEBAUTHN_CLIENT_DATA_HASH_LEN, sig, sig_len);

	return rc == WEBAUTHN_ERR_BAD_SIGNATURE ? WEBAUTHN_ERR_ATTESTATION_SIGNATURE : rc;
}

/* §8.2 without x5c: self attestation, signed by the credential key itself. */
static enum webauthn_error verify_packed_self(const struct webauthn_attestation_check *check, int64_t alg,
    const uint8_t *sig, size_t sig_len, enum webauthn_attestation_type *type)
{
	enum webauthn_error rc;

	if (alg != check->credential_alg)
		return WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	rc = attestation_signature_check(check, check->credential_key, alg, sig, sig_len);
	if (rc == WEBAUTHN_OK)
		*type = WEBAUTHN_ATTESTATION_SELF;
	return rc;
}

/* §8.2 with x5c: the attestation certificate's key signed; the certificate
 * meets §8.2.1 and carries no other AAGUID; then its chain is judged. */
static enum webauthn_error verify_packed_x5c(const struct webauthn_attestation_check *check, int64_t alg,
    const uint8_t *sig, size_t sig_len, const cbor_item_t *x5c, enum webauthn_attestation_type *type)
{
	STACK_OF(X509) *certs = webauthn_x5c_parse(x5c);
	EVP_PKEY *leaf_key;
	enum webauthn_error rc;

	if (!certs)
		return WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	leaf_key = X509_get0_pubkey(sk_X509_value(certs, 0));
	if (!cose_alg_name(alg))
		rc = WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM;
	else if (!webauthn_key_fits_alg(leaf_key, alg))
		rc = WEBAUTHN_ERR_ATTESTATION_CERTIFICATE;
	else
		rc = attestation_signature_check(check, leaf_key, alg, sig, sig_len);
	if (rc == WEBAUTHN_OK)
		rc = webauthn_packed_certificate_check(sk_X509_value(certs, 0), check->auth_data->aaguid);
	if (rc == WEBAUTHN_OK)
		rc = webauthn_x5c_chain_check(certs, check->trust_anchors, check->verify_time, type);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static enum webauthn_error verify_packed(const struct webauthn_attestation_check *check,
    enum webauthn_attestation_type *type)
{
	static const char *const keys[] = { "alg", "sig", "x5c", NULL };
	const cbor_item_t *stmt = check->object->att_stmt;
	const cbor_item_t *x5c = cbor_strict_map_get_text(stmt, "x5c");
	const uint8_t *sig;
	size_t sig_len = 0;
	int64_t alg;

	sig = statement_bytes(stmt, "sig", &sig_len);
	if (!statement_keys_within(stmt, keys) || !sig ||
	    !cbor_strict_int_value(cbor_strict_map_get_text(stmt, "alg"), &alg))
		return WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	if (x5c)
		return verify_packed_x5c(check, alg, sig, sig_len, x5c, type);
	return verify_packed_self(check, alg, sig, sig_len, type);
}

/* 0x04 || x || y of the credential key, the U2F "user public key". */
static bool u2f_public_key(EVP_PKEY *key, uint8_t out[U2F_PUBLIC_KEY_LEN])
{
	size_t n = 0;

	return EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out, U2F_PUBLIC_KEY_LEN, &n) == 1 &&
	       n == U2F_PUBLIC_KEY_LEN && out[0] == 0x04;
}

/* verificationData = 0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F,
 * checked with the certificate key (§8.6 verification procedure). */
static enum webauthn_error u2f_signature_check(const struct webauthn_attestation_check *check, EVP_PKEY *cert_key,
    const uint8_t *sig, size_t sig_len)
{
	const struct webauthn_auth_data *ad = check->auth_data;
	uint8_t head[1 + WEBAUTHN_RP_ID_HASH_LEN + WEBAUTHN_CLIENT_DATA_HASH_LEN];
	uint8_t tail[WEBAUTHN_CREDENTIAL_ID_MAX + U2F_PUBLIC_KEY_LEN];
	enum webauthn_error rc;

	head[0] = 0x00;
	memcpy(head + 1, ad->rp_id_hash, WEBAUTHN_RP_ID_HASH_LEN);
	memcpy(head + 1 + WEBAUTHN_RP_ID_HASH_LEN, check->client_data_hash, WEBAUTHN_CLIENT_DATA_HASH_LEN);
	memcpy(tail, ad->credential_id, ad->credential_id_len);
	if (!u2f_public_key(check->credential_key, tail + ad->credential_id_len))
		return WEBAUTHN_ERR_INTERNAL;
	rc = webauthn_signature_check(cert_key, COSE_ALG_ES256, head, sizeof(head), tail,
	    ad->credential_id_len + U2F_PUBLIC_KEY_LEN, sig, sig_len);
	return rc == WEBAUTHN_ERR_BAD_SIGNATURE ? WEBAUTHN_ERR_ATTESTATION_SIGNATURE : rc;
}

/* §8.6: exactly one certificate, a P-256 key in it, an ES256 credential. */
static enum webauthn_error verify_fido_u2f(const struct webauthn_attestation_check *check,
    enum webauthn_attestation_type *type)
{
	static const char *const keys[] = { "x5c", "sig", NULL };
	const cbor_item_t *stmt = check->object->att_stmt;
	const cbor_item_t *x5c = cbor_strict_map_get_text(stmt, "x5c");
	STACK_OF(X509) *certs = NULL;
	const uint8_t *sig;
	size_t sig_len = 0;
	enum webauthn_error rc;

	sig = statement_bytes(stmt, "sig", &sig_len);
	if (!statement_keys_within(stmt, keys) || !sig || !x5c || !cbor_isa_array(x5c) ||
	    cbor_array_size(x5c) != 1 || !(certs = webauthn_x5c_parse(x5c)))
		return WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	if (!webauthn_key_fits_alg(X509_get0_pubkey(sk_X509_value(certs, 0)), COSE_ALG_ES256))
		rc = WEBAUTHN_ERR_ATTESTATION_CERTIFICATE;
	else if (check->credential_alg != COSE_ALG_ES256)
		rc = WEBAUTHN_ERR_ATTESTATION_STATEMENT;
	else
		rc = u2f_signature_check(check, X509_get0_pubkey(sk_X509_value(certs, 0)), sig, sig_len);
	if (rc == WEBAUTHN_OK)
		rc = webauthn_x5c_chain_check(certs, check->trust_anchors, check->verify_time, type);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static bool check_usable(const struct webauthn_attestation_check *c)
{
	return c && c->object && c->object->root && c->object->att_stmt && c->auth_data &&
	       c->auth_data->credential_id && c->auth_data->public_key && c->credential_key && c->client_data_hash;
}

enum webauthn_error webauthn_attestation_verify(const struct webauthn_attestation_check *check,
    enum webauthn_attestation_type *type)
{
	const char *fmt;
	enum webauthn_error rc;

	if (!check_usable(check) || !type)
		return WEBAUTHN_ERR_ARGUMENT;
	fmt = check->object->fmt;
	/* Identifiers match case-sensitively (§8.1). */
	if (strcmp(fmt, "none") == 0)
		rc = verify_none(check, type);
	else if (strcmp(fmt, "packed") == 0)
		rc = verify_packed(check, type);
	else if (strcmp(fmt, "fido-u2f") == 0)
		rc = verify_fido_u2f(check, type);
	else
		rc = WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED;
	ERR_clear_error();
	return rc;
}
