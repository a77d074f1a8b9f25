/*
 * Attestation certificates (WebAuthn §8.2.1, §8.6) for the attestation
 * statement formats in webauthn_attestation.c, its only caller: decoding x5c,
 * the packed leaf requirements, and chain checks. Pure.
 */
#ifndef DREAMAUTH_WEBAUTHN_CERTIFICATE_H
#define DREAMAUTH_WEBAUTHN_CERTIFICATE_H
#include "proto/webauthn.h"

#define WEBAUTHN_X5C_MAX 8		/* certificates in one x5c */
#define WEBAUTHN_CERTIFICATE_MAX 8192	/* DER bytes of one certificate */

/* The certificates of an x5c array (1..WEBAUTHN_X5C_MAX byte strings, each
 * exactly one DER certificate), leaf first; NULL if any is not. Free with
 * sk_X509_pop_free(certs, X509_free). */
STACK_OF(X509) *webauthn_x5c_parse(const cbor_item_t *x5c);

/* §8.2.1: version 3; subject with C, O, CN and OU "Authenticator
 * Attestation"; Basic Constraints present with CA false; an id-fido-gen-ce-
 * aaguid extension, if present, not critical and equal to aaguid.
 * WEBAUTHN_ERR_ATTESTATION_CERTIFICATE or _AAGUID_MISMATCH otherwise. */
enum webauthn_error webauthn_packed_certificate_check(X509 *leaf, const uint8_t aaguid[WEBAUTHN_AAGUID_LEN]);

/* The leaf certs[0] through the rest of certs: BASIC if it verifies up to
 * one of anchors (when given), else UNTRUSTED if certs at least chain among
 * themselves (each signed by the next, all valid at verify_time), else
 * WEBAUTHN_ERR_ATTESTATION_CHAIN. */
enum webauthn_error webauthn_x5c_chain_check(STACK_OF(X509) *certs, X509_STORE *anchors, int64_t verify_time,
    enum webauthn_attestation_type *type);
#endif
