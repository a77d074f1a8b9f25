/*
 * Compact JWS / JWT (RFC 7515, 7519) parsing and verification, and JWK
 * public-key import/export (RFC 7517, 7518, 8037). Pure: bytes in, verdict out.
 * Algorithms: RS256, ES256, EdDSA (Ed25519). "none" and anything else refused.
 */
#ifndef DREAMAUTH_JWS_H
#define DREAMAUTH_JWS_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <jansson.h>

#define JWS_MAX_LEN 16384

enum jws_alg { JWS_ALG_NONE = 0, JWS_ALG_RS256, JWS_ALG_ES256, JWS_ALG_EDDSA };

enum jws_alg jws_alg_from_name(const char *name);	/* JWS_ALG_NONE if unknown */
const char *jws_alg_name(enum jws_alg alg);

struct jws_parsed {
	json_t *header;		/* owned */
	json_t *payload;	/* owned; JSON object */
	enum jws_alg alg;
	const char *kid;	/* inside header, may be NULL */
	const char *typ;	/* inside header, may be NULL */
	uint8_t *signature;	/* owned, raw bytes (ES256: R||S, 64 bytes) */
	size_t signature_len;
	size_t signing_input_len;	/* length of "b64(header).b64(payload)" prefix of the input */
};

/* Parse (no signature check). 0 ok, -1 malformed (3 parts, strict base64url,
 * header and payload JSON objects, known alg, bounded size). */
int jws_parse(const char *compact, size_t len, struct jws_parsed *out);
void jws_parsed_free(struct jws_parsed *p);
/* Verify the signature of a parsed JWS over compact[0..signing_input_len) with
 * key (must match alg). 0 valid, -1 invalid. */
int jws_verify(const struct jws_parsed *p, const char *compact, EVP_PKEY *key);

/* Sign: builds header {"alg","kid","typ"} and returns a malloc'd compact JWS,
 * or NULL. ES256 signatures are converted from DER to R||S. */
char *jws_sign(EVP_PKEY *key, enum jws_alg alg, const char *kid, const char *typ, const char *payload_json);

/* A prepared signer for one key, for the signer process's hot path: the
 * OpenSSL contexts are set up once. Holds its own reference to key. NULL if
 * key does not fit alg or kid is not a plain token (base64url, etc.). */
struct jws_signer;
struct jws_signer *jws_signer_new(EVP_PKEY *key, enum jws_alg alg, const char *kid);
/* Like jws_sign, but payload_json is NOT re-parsed: the caller must already
 * know it is one JSON object (the signer's token policy parses it). typ must
 * be a plain token or NULL. */
char *jws_signer_sign(struct jws_signer *s, const char *typ, const char *payload_json, size_t payload_len);
void jws_signer_free(struct jws_signer *s);

/* Public JWK (kty, kid, alg, use:"sig", n/e, crv/x/y, crv/x) for key. New reference. */
json_t *jwk_from_public_key(EVP_PKEY *key, enum jws_alg alg, const char *kid);
/* EVP_PKEY (public) from a JWK object; NULL on anything malformed. */
EVP_PKEY *jwk_to_public_key(const json_t *jwk, enum jws_alg *alg_out);
/* RFC 7638 thumbprint as base64url (43 chars + NUL). 0 ok. */
int jwk_thumbprint(const json_t *jwk, char out[44]);
#endif
