/*
 * Attestation certificates (see webauthn_certificate.h): x5c decoding, the
 * packed attestation certificate requirements of WebAuthn §8.2.1, and chain
 * verification with OpenSSL, against the caller's trust anchors or, failing
 * those, among the x5c certificates themselves. Called by
 * webauthn_attestation.c; webauthn_trust_anchors_from_pem() is for the
 * caller's configuration code.
 */
#include "proto/webauthn_certificate.h"

#include <limits.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define ATTESTATION_OU "Authenticator Attestation"
#define OID_FIDO_GEN_CE_AAGUID "1.3.6.1.4.1.45724.1.1.4"
#define X509_VERSION_3 2

/* One DER certificate filling der[0..len) exactly. */
static X509 *certificate_from_der(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *cert;

	if (len == 0 || len > WEBAUTHN_CERTIFICATE_MAX)
		return NULL;
	cert = d2i_X509(NULL, &p, (long)len);
	if (cert && p != der + len) {
		X509_free(cert);
		cert = NULL;
	}
	return cert;
}

STACK_OF(X509) *webauthn_x5c_parse(const cbor_item_t *x5c)
{
	STACK_OF(X509) *certs;
	size_t n;

	if (!x5c || !cbor_isa_array(x5c) || !cbor_array_is_definite(x5c))
		return NULL;
	n = cbor_array_size(x5c);
	if (n == 0 || n > WEBAUTHN_X5C_MAX || !(certs = sk_X509_new_null()))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cbor_item_t *der = cbor_array_handle(x5c)[i];
		X509 *cert = NULL;

		if (cbor_isa_bytestring(der) && cbor_bytestring_is_definite(der))
			cert = certificate_from_der(cbor_bytestring_handle(der), cbor_bytestring_length(der));
		if (!cert || !sk_X509_push(certs, cert)) {
			X509_free(cert);
			sk_X509_pop_free(certs, X509_free);
			return NULL;
		}
	}
	return certs;
}

/* Exactly one OU in the subject, reading "Authenticator Attestation". */
static bool subject_ou_is_attestation(const X509_NAME *name)
{
	int at = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
	unsigned char *utf8 = NULL;
	bool ok;
	int n;

	if (at < 0 || X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, at) >= 0)
		return false;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
	ok = n == (int)strlen(ATTESTATION_OU) && memcmp(utf8, ATTESTATION_OU, (size_t)n) == 0;
	OPENSSL_free(utf8);
	return ok;
}

static bool subject_meets_requirements(const X509_NAME *name)
{
	return name && X509_NAME_get_index_by_NID(name, NID_countryName, -1) >= 0 &&
	       X509_NAME_get_index_by_NID(name, NID_organizationName, -1) >= 0 &&
	       X509_NAME_get_index_by_NID(name, NID_commonName, -1) >= 0 && subject_ou_is_attestation(name);
}

/* Basic Constraints present (once) with CA false. */
static bool basic_constraints_say_not_ca(X509 *leaf)
{
	int critical = 0;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &critical, NULL);
	bool ok = bc && !bc->ca;

	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

/* The extension's value is an OCTET STRING wrapping a 16-byte OCTET STRING
 * (§8.2.1: "wrapped in two OCTET STRINGS"). */
static enum webauthn_error aaguid_extension_matches(X509_EXTENSION *ext, const uint8_t aaguid[WEBAUTHN_AAGUID_LEN])
{
	const ASN1_OCTET_STRING *outer = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(outer);
	const unsigned char *end = p + ASN1_STRING_length(outer);
	ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(outer));
	enum webauthn_error rc = WEBAUTHN_ERR_ATTESTATION_CERTIFICATE;

	if (inner && p == end && ASN1_STRING_length(inner) == WEBAUTHN_AAGUID_LEN)
		rc = memcmp(ASN1_STRING_get0_data(inner), aaguid, WEBAUTHN_AAGUID_LEN) == 0 ?
		     WEBAUTHN_OK : WEBAUTHN_ERR_ATTESTATION_AAGUID_MISMATCH;
	ASN1_OCTET_STRING_free(inner);
	return rc;
}

/* id-fido-gen-ce-aaguid: optional; if present, once, not critical, equal. */
static enum webauthn_error aaguid_extension_check(X509 *leaf, const uint8_t aaguid[WEBAUTHN_AAGUID_LEN])
{
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_FIDO_GEN_CE_AAGUID, 1);
	enum webauthn_error rc = WEBAUTHN_OK;
	X509_EXTENSION *ext;
	int at;

	if (!oid)
		return WEBAUTHN_ERR_INTERNAL;
	at = X509_get_ext_by_OBJ(leaf, oid, -1);
	if (at >= 0) {
		ext = X509_get_ext(leaf, at);
		if (X509_get_ext_by_OBJ(leaf, oid, at) >= 0 || X509_EXTENSION_get_critical(ext))
			rc = WEBAUTHN_ERR_ATTESTATION_CERTIFICATE;
		else
			rc = aaguid_extension_matches(ext, aaguid);
	}
	ASN1_OBJECT_free(oid);
	return rc;
}

enum webauthn_error webauthn_packed_certificate_check(X509 *leaf, const uint8_t aaguid[WEBAUTHN_AAGUID_LEN])
{
	if (!leaf || !aaguid)
		return WEBAUTHN_ERR_ARGUMENT;
	if (X509_get_version(leaf) != X509_VERSION_3 || !subject_meets_requirements(X509_get_subject_name(leaf)) ||
	    !basic_constraints_say_not_ca(leaf))
		return WEBAUTHN_ERR_ATTESTATION_CERTIFICATE;
	return aaguid_extension_check(leaf, aaguid);
}

/* X509_verify_cert of leaf with certs as untrusted helpers, against store,
 * at verify_time (0: now); partial lets a trusted intermediate end the chain. */
static bool chain_verifies(X509 *leaf, STACK_OF(X509) *certs, X509_STORE *store, int64_t verify_time, bool partial)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = ctx && X509_STORE_CTX_init(ctx, store, leaf, certs) == 1;

	if (ok && verify_time)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)verify_time);
	if (ok && partial)
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	ok = ok && X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	return ok;
}

/* The certificates chain among themselves: the last one is made the only
 * trust anchor, so every signature below it and every validity period is
 * checked, but nothing says the last one deserves trust. */
static bool chain_is_internally_consistent(STACK_OF(X509) *certs, int64_t verify_time)
{
	X509_STORE *store = X509_STORE_new();
	bool ok = store && X509_STORE_add_cert(store, sk_X509_value(certs, sk_X509_num(certs) - 1)) == 1 &&
		  chain_verifies(sk_X509_value(certs, 0), certs, store, verify_time, true);

	X509_STORE_free(store);
	return ok;
}

enum webauthn_error webauthn_x5c_chain_check(STACK_OF(X509) *certs, X509_STORE *anchors, int64_t verify_time,
    enum webauthn_attestation_type *type)
{
	enum webauthn_error rc = WEBAUTHN_ERR_ATTESTATION_CHAIN;

	if (!certs || sk_X509_num(certs) < 1 || !type)
		return WEBAUTHN_ERR_ARGUMENT;
	if (anchors && chain_verifies(sk_X509_value(certs, 0), certs, anchors, verify_time, false)) {
		*type = WEBAUTHN_ATTESTATION_BASIC;
		rc = WEBAUTHN_OK;
	} else if (chain_is_internally_consistent(certs, verify_time)) {
		*type = WEBAUTHN_ATTESTATION_UNTRUSTED;
		rc = WEBAUTHN_OK;
	}
	ERR_clear_error();
	return rc;
}

/* Reads certificates until the text runs out; any other PEM error fails. */
static bool add_pem_certificates(BIO *bio, X509_STORE *store)
{
	int added = 0;
	X509 *cert;

	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, cert) != 1) {
			X509_free(cert);
			return false;
		}
		X509_free(cert);
		added++;
	}
	return added > 0 && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE;
}

X509_STORE *webauthn_trust_anchors_from_pem(const char *pem, size_t len)
{
	X509_STORE *store = NULL;
	BIO *bio;

	if (!pem || len == 0 || len > INT_MAX)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio && (store = X509_STORE_new()) && !add_pem_certificates(bio, store)) {
		X509_STORE_free(store);
		store = NULL;
	}
	BIO_free(bio);
	ERR_clear_error();
	return store;
}
