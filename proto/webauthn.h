/*
 * WebAuthn Level 3 relying-party verification core (issue 10, passkeys):
 * §7.1 "Registering a New Credential" and §7.2 "Verifying an Authentication
 * Assertion", over bytes the HTTP layer has already base64url-decoded. Pure:
 * no I/O, no globals, no database; the caller supplies what it issued
 * (challenge, RP ID, origins) and what it stored (credential public key,
 * signature counter), and stores what comes back.
 *
 * Pieces, one file each, usable on their own (and fuzzed on their own):
 *   webauthn_client_data.c  clientDataJSON (§5.8.1) and its checks
 *   webauthn_auth_data.c    authenticator data (§6.1, §6.5.1)
 *   cose_key.c              COSE_Key (RFC 9052 §7, RFC 9053, RFC 8230) -> EVP_PKEY
 *   webauthn_signature.c    ES256 / EdDSA / RS256 signature checks
 *   webauthn_attestation.c  attestation object, "none", "packed", "fido-u2f" (§8)
 *   webauthn_certificate.c  attestation certificates and their chains
 *   webauthn_verify.c       the two ceremonies, webauthn_error_text()
 *
 * Algorithms: ES256 (-7, P-256), EdDSA (-8, Ed25519), RS256 (-257, RSA
 * 2048..4096 bits). Attestation formats verified: none, packed (self and
 * x5c), fido-u2f; any other format is reported as unsupported and the
 * caller's policy decides.
 */
#ifndef DREAMAUTH_WEBAUTHN_H
#define DREAMAUTH_WEBAUTHN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define WEBAUTHN_CLIENT_DATA_MAX 16384		/* bytes of clientDataJSON */
#define WEBAUTHN_ATTESTATION_OBJECT_MAX 65536	/* bytes of attestationObject */
#define WEBAUTHN_AUTH_DATA_MAX 65536		/* bytes of authenticatorData */
#define WEBAUTHN_SIGNATURE_MAX 1024		/* bytes of an assertion signature */
#define WEBAUTHN_CHALLENGE_MIN 16		/* §13.4.3: at least 16 random bytes */
#define WEBAUTHN_CHALLENGE_MAX 64
#define WEBAUTHN_RP_ID_HASH_LEN 32
#define WEBAUTHN_CLIENT_DATA_HASH_LEN 32
#define WEBAUTHN_AAGUID_LEN 16
#define WEBAUTHN_CREDENTIAL_ID_MAX 1023	/* §6.5.1: credentialIdLength <= 1023 */
#define WEBAUTHN_COSE_KEY_MAX 1024		/* an RSA-4096 COSE_Key is ~530 bytes */
#define WEBAUTHN_FMT_MAX 32			/* §8.1: format identifiers <= 32 octets */

/* Every way a verification can fail; webauthn_error_text() names each. */
enum webauthn_error {
	WEBAUTHN_OK = 0,
	WEBAUTHN_ERR_ARGUMENT,			/* the caller's inputs are unusable */
	WEBAUTHN_ERR_INTERNAL,			/* allocation or OpenSSL failure */
	WEBAUTHN_ERR_CLIENT_DATA_TOO_LARGE,
	WEBAUTHN_ERR_CLIENT_DATA_MALFORMED,	/* not UTF-8 JSON, not an object, duplicate keys */
	WEBAUTHN_ERR_CLIENT_DATA_MEMBER,	/* member missing or of the wrong type */
	WEBAUTHN_ERR_TYPE_MISMATCH,		/* "webauthn.create" where "webauthn.get" was due, ... */
	WEBAUTHN_ERR_CHALLENGE_MISMATCH,
	WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED,
	WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED,
	WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED,
	WEBAUTHN_ERR_AUTH_DATA_MALFORMED,	/* truncated, bad CBOR inside, ED without data */
	WEBAUTHN_ERR_AUTH_DATA_TRAILING,	/* bytes after the last declared part */
	WEBAUTHN_ERR_FLAGS_INCONSISTENT,	/* BS without BE */
	WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH,	/* empty or longer than 1023 bytes */
	WEBAUTHN_ERR_EXTENSIONS_MALFORMED,
	WEBAUTHN_ERR_ATTESTED_DATA_MISSING,	/* registration without AT */
	WEBAUTHN_ERR_ATTESTED_DATA_UNEXPECTED,	/* assertion with AT */
	WEBAUTHN_ERR_RP_ID_HASH_MISMATCH,
	WEBAUTHN_ERR_USER_NOT_PRESENT,
	WEBAUTHN_ERR_USER_NOT_VERIFIED,
	WEBAUTHN_ERR_COSE_KEY_MALFORMED,	/* not a COSE_Key map, missing or extra parameters */
	WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM,
	WEBAUTHN_ERR_COSE_KEY_INVALID,		/* kty/crv/alg disagree, point off curve, RSA too small */
	WEBAUTHN_ERR_ALGORITHM_NOT_ALLOWED,	/* not among the caller's pubKeyCredParams */
	WEBAUTHN_ERR_ATTESTATION_MALFORMED,
	WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED,
	WEBAUTHN_ERR_ATTESTATION_STATEMENT,	/* attStmt does not fit its format's syntax */
	WEBAUTHN_ERR_ATTESTATION_SIGNATURE,
	WEBAUTHN_ERR_ATTESTATION_CERTIFICATE,	/* leaf fails §8.2.1 (or is not P-256 for fido-u2f) */
	WEBAUTHN_ERR_ATTESTATION_AAGUID_MISMATCH,
	WEBAUTHN_ERR_ATTESTATION_CHAIN,		/* x5c does not chain, or a certificate is expired */
	WEBAUTHN_ERR_ATTESTATION_UNTRUSTED,	/* valid, but the policy wants a trusted chain */
	WEBAUTHN_ERR_BAD_SIGNATURE,
	WEBAUTHN_ERR_STORED_KEY_INVALID,
	WEBAUTHN_ERR_COUNT
};

/* Short English sentence for err (never NULL). */
const char *webauthn_error_text(enum webauthn_error err);

/* --- COSE keys (cose_key.c) --------------------------------------------- */

enum cose_alg { COSE_ALG_ES256 = -7, COSE_ALG_EDDSA = -8, COSE_ALG_RS256 = -257 };

/* "ES256", "EdDSA", "RS256", or NULL for any other value. */
const char *cose_alg_name(int64_t alg);

/* A public key from a COSE_Key that fills cose[0..len) exactly: ES256 (kty
 * EC2, crv P-256, 32-byte x and y, on the curve), EdDSA (kty OKP, crv
 * Ed25519, 32-byte x) or RS256 (kty RSA, n of 2048..4096 bits, e). "alg" is
 * required; any parameter beyond kty, alg and the key type's own is refused
 * (§6.5.1: no other OPTIONAL parameters), as are repeated labels. */
enum webauthn_error cose_key_import(const uint8_t *cose, size_t len, int64_t *alg_out, EVP_PKEY **key_out);

/* Storage: a credential is kept as its COSE_Key bytes as received plus the
 * algorithm. This reloads it and insists the algorithm is still the one
 * stored (WEBAUTHN_ERR_STORED_KEY_INVALID otherwise). */
enum webauthn_error cose_key_load_stored(const uint8_t *cose, size_t len, int64_t stored_alg, EVP_PKEY **key_out);

/* --- signatures (webauthn_signature.c) ---------------------------------- */

/* True if key is the kind alg needs: P-256 for ES256, Ed25519 for EdDSA,
 * RSA of 2048..4096 bits for RS256. */
bool webauthn_key_fits_alg(EVP_PKEY *key, int64_t alg);

/* Checks sig over data || suffix (suffix may be NULL with suffix_len 0):
 * ES256 as a DER ECDSA-Sig-Value, EdDSA as 64 raw bytes, RS256 as PKCS#1
 * v1.5 with SHA-256. WEBAUTHN_OK or WEBAUTHN_ERR_BAD_SIGNATURE. */
enum webauthn_error webauthn_signature_check(EVP_PKEY *key, int64_t alg, const uint8_t *data, size_t data_len,
    const uint8_t *suffix, size_t suffix_len, const uint8_t *sig, size_t sig_len);

/* --- client data (webauthn_client_data.c) ------------------------------- */

enum webauthn_ceremony { WEBAUTHN_CEREMONY_CREATE, WEBAUTHN_CEREMONY_GET };

struct webauthn_client_data {
	json_t *root;		/* owned; the strings below live inside it */
	const char *type;
	const char *challenge;	/* base64url text as sent */
	const char *origin;
	const char *top_origin;	/* NULL when absent */
	bool cross_origin;	/* false when absent */
};

/* What the relying party issued for this ceremony and what it accepts. */
struct webauthn_expectations {
	const uint8_t *challenge;	/* the bytes sent in the options */
	size_t challenge_len;		/* WEBAUTHN_CHALLENGE_MIN..MAX */
	const char *rp_id;		/* e.g. "auth.example.com" */
	const char *const *origins;	/* exact origins, e.g. "https://auth.example.com" */
	size_t origin_count;
	bool allow_cross_origin;	/* accept crossOrigin: true (a cross-origin iframe) */
	const char *const *top_origins;	/* pages that may frame us, when cross-origin */
	size_t top_origin_count;
	bool require_user_verification;
};

/* Parses clientDataJSON: at most WEBAUTHN_CLIENT_DATA_MAX bytes, valid UTF-8
 * (a leading byte order mark is skipped, as UTF-8 decode does), one JSON
 * object without duplicate keys, with string type, challenge and origin,
 * optional boolean crossOrigin and string topOrigin. Unknown members are
 * ignored (§5.8.1). On success free with webauthn_client_data_free. */
enum webauthn_error webauthn_client_data_parse(const uint8_t *json, size_t len, struct webauthn_client_data *out);
void webauthn_client_data_free(struct webauthn_client_data *cd);

/* The clientDataJSON steps of §7.1/§7.2: type, challenge (compared in
 * constant time with the base64url encoding of the issued bytes), origin
 * (exact match against the list), crossOrigin (refused unless allowed),
 * topOrigin (only with crossOrigin, and then must be listed). */
enum webauthn_error webauthn_client_data_verify(const struct webauthn_client_data *cd, enum webauthn_ceremony ceremony,
    const struct webauthn_expectations *expect);

/* --- authenticator data (webauthn_auth_data.c) -------------------------- */

#define WEBAUTHN_FLAG_UP 0x01	/* user present */
#define WEBAUTHN_FLAG_UV 0x04	/* user verified */
#define WEBAUTHN_FLAG_BE 0x08	/* backup eligible */
#define WEBAUTHN_FLAG_BS 0x10	/* backed up */
#define WEBAUTHN_FLAG_AT 0x40	/* attested credential data included */
#define WEBAUTHN_FLAG_ED 0x80	/* extension data included */

/* Parsed authenticator data. Pointers point into the parsed buffer. */
struct webauthn_auth_data {
	uint8_t rp_id_hash[WEBAUTHN_RP_ID_HASH_LEN];
	uint8_t flags;			/* WEBAUTHN_FLAG_* (RFU bits kept, not judged) */
	uint32_t sign_count;
	/* With WEBAUTHN_FLAG_AT: */
	uint8_t aaguid[WEBAUTHN_AAGUID_LEN];
	const uint8_t *credential_id;	/* 1..1023 bytes */
	size_t credential_id_len;
	const uint8_t *public_key;	/* the COSE_Key, exactly its encoded bytes */
	size_t public_key_len;
	/* With WEBAUTHN_FLAG_ED: a CBOR map from extension identifiers to outputs. */
	const uint8_t *extensions;
	size_t extensions_len;
};

/* Parses authenticator data (§6.1): 37 fixed bytes, then attested credential
 * data when AT (AAGUID, credentialIdLength <= 1023, credential ID, one COSE
 * key whose exact CBOR length is measured), then an extensions map when ED;
 * nothing may follow. BS without BE is refused. The COSE key is only
 * delimited here; cose_key_import() judges it. */
enum webauthn_error webauthn_auth_data_parse(const uint8_t *data, size_t len, struct webauthn_auth_data *out);

/* An extension or attestation format identifier (§8.1, §9.1): 1..32 bytes
 * of printable ASCII other than '"' and '\'. */
bool webauthn_identifier_valid(const uint8_t *s, size_t len);

/* --- attestation (webauthn_attestation.c, webauthn_certificate.c) ------- */

enum webauthn_attestation_type {
	WEBAUTHN_ATTESTATION_NONE,	/* fmt "none" */
	WEBAUTHN_ATTESTATION_SELF,	/* packed, signed with the credential key */
	WEBAUTHN_ATTESTATION_BASIC,	/* x5c signature valid, chain ends in a trust anchor */
	WEBAUTHN_ATTESTATION_UNTRUSTED,	/* x5c signature valid, no trust anchor reached */
	WEBAUTHN_ATTESTATION_UNVERIFIED	/* unsupported format, accepted by policy as is */
};

/* "none", "self", "basic", "untrusted", "unverified". */
const char *webauthn_attestation_type_name(enum webauthn_attestation_type type);

enum webauthn_attestation_policy {
	/* None, self, untrusted chains and unsupported formats are accepted (and
	 * reported); a statement that is present but wrong still fails. */
	WEBAUTHN_POLICY_ACCEPT_UNVERIFIED,
	/* Only a verified x5c chain to one of the caller's trust anchors. */
	WEBAUTHN_POLICY_REQUIRE_TRUSTED
};

/* A decoded attestation object (§6.5.4): a CBOR map with text keys "fmt"
 * (text), "attStmt" (map with text keys) and "authData" (bytes). */
struct webauthn_attestation_object {
	cbor_item_t *root;		/* owned */
	char fmt[WEBAUTHN_FMT_MAX + 1];	/* printable ASCII without '"' and '\' */
	const cbor_item_t *att_stmt;	/* inside root */
	const uint8_t *auth_data;	/* inside the parsed buffer */
	size_t auth_data_len;
};

/* At most WEBAUTHN_ATTESTATION_OBJECT_MAX bytes, one CBOR item, nothing
 * after it. On success free with webauthn_attestation_object_free. */
enum webauthn_error webauthn_attestation_object_parse(const uint8_t *data, size_t len,
    struct webauthn_attestation_object *out);
void webauthn_attestation_object_free(struct webauthn_attestation_object *obj);

/* Everything an attestation statement format's verification procedure takes. */
struct webauthn_attestation_check {
	const struct webauthn_attestation_object *object;
	const struct webauthn_auth_data *auth_data;	/* parsed object->auth_data, with AT */
	EVP_PKEY *credential_key;			/* imported from auth_data->public_key */
	int64_t credential_alg;
	const uint8_t *client_data_hash;		/* SHA-256(clientDataJSON), 32 bytes */
	X509_STORE *trust_anchors;			/* optional, borrowed */
	int64_t verify_time;				/* certificate validity instant; 0 = now */
};

/* Runs the verification procedure of the object's format: "none", "packed"
 * or "fido-u2f". *type gets what it proved. Other formats give
 * WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED (their statement unexamined). */
enum webauthn_error webauthn_attestation_verify(const struct webauthn_attestation_check *check,
    enum webauthn_attestation_type *type);

/* A trust store holding the certificates of a PEM text (one or more), for
 * webauthn_registration_input.trust_anchors; NULL if none parse. */
X509_STORE *webauthn_trust_anchors_from_pem(const char *pem, size_t len);

/* --- the ceremonies (webauthn_verify.c) --------------------------------- */

struct webauthn_registration_input {
	const uint8_t *client_data_json;
	size_t client_data_json_len;
	const uint8_t *attestation_object;
	size_t attestation_object_len;
	struct webauthn_expectations expect;
	const int64_t *allowed_algs;	/* pubKeyCredParams algs; NULL/0 = all supported */
	size_t allowed_alg_count;
	enum webauthn_attestation_policy policy;
	X509_STORE *trust_anchors;	/* optional, borrowed */
	int64_t verify_time;		/* for certificate validity; 0 = now */
};

/* The credential record to store (§7.1) and what was learnt on the way. */
struct webauthn_credential {
	uint8_t id[WEBAUTHN_CREDENTIAL_ID_MAX];
	size_t id_len;
	uint8_t public_key[WEBAUTHN_COSE_KEY_MAX];	/* COSE_Key bytes as received */
	size_t public_key_len;
	int64_t alg;					/* enum cose_alg */
	uint32_t sign_count;
	bool user_verified;
	bool backup_eligible;
	bool backup_state;
	uint8_t aaguid[WEBAUTHN_AAGUID_LEN];
	char fmt[WEBAUTHN_FMT_MAX + 1];
	enum webauthn_attestation_type attestation_type;
	/* Authenticator extension outputs (CBOR map) inside in->attestation_object,
	 * or NULL; valid as long as that buffer is. */
	const uint8_t *extensions;
	size_t extensions_len;
};

/* §7.1 from clientDataJSON to the credential ID length check; the caller
 * still makes sure the credential ID is not registered yet. WEBAUTHN_OK fills
 * *out; otherwise *out is zeroed and err (if errlen > 0) gets
 * webauthn_error_text() plus a detail. */
enum webauthn_error webauthn_verify_registration(const struct webauthn_registration_input *in,
    struct webauthn_credential *out, char *err, size_t errlen);

/* What the relying party stored at registration (and updated since). */
struct webauthn_stored_credential {
	const uint8_t *public_key;	/* COSE_Key bytes */
	size_t public_key_len;
	int64_t alg;
	uint32_t sign_count;
	bool backup_eligible;
	bool backup_state;
};

struct webauthn_assertion_input {
	const uint8_t *client_data_json;
	size_t client_data_json_len;
	const uint8_t *authenticator_data;
	size_t authenticator_data_len;
	const uint8_t *signature;
	size_t signature_len;
	struct webauthn_expectations expect;
	struct webauthn_stored_credential stored;
};

struct webauthn_assertion_result {
	uint32_t sign_count;		/* store it */
	bool user_verified;
	bool backup_eligible;
	bool backup_state;		/* store it */
	/* §6.1.1: a counter in use (either side nonzero) did not increase; the
	 * authenticator may be cloned. Not a failure: log it, decide by policy. */
	bool counter_regressed;
	/* BE differs from the stored value, which §6.1.3 says never happens. */
	bool backup_eligibility_changed;
	const uint8_t *extensions;	/* inside in->authenticator_data, or NULL */
	size_t extensions_len;
};

/* §7.2 from clientDataJSON to the signature counter, for a credential the
 * caller has already looked up by its ID (and whose user handle it has
 * checked). WEBAUTHN_OK fills *out; errors as for registration. */
enum webauthn_error webauthn_verify_assertion(const struct webauthn_assertion_input *in,
    struct webauthn_assertion_result *out, char *err, size_t errlen);
#endif
