/*
 * The two WebAuthn relying-party ceremonies (§7.1 registration, §7.2
 * authentication) assembled from the parsers beside this file, and the
 * error texts (see webauthn.h). Called by the passkey HTTP handlers, which
 * own challenges, credential storage and user lookup; fuzzed through
 * fuzz/fuzz_webauthn_attestation.c. Steps run in the specification's order,
 * so the error reported is the first step that fails.
 */
#include "proto/webauthn.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#define DETAIL_MAX 96

static const char *const error_texts[WEBAUTHN_ERR_COUNT] = {
	[WEBAUTHN_OK] = "ok",
	[WEBAUTHN_ERR_ARGUMENT] = "invalid verification input",
	[WEBAUTHN_ERR_INTERNAL] = "internal error",
	[WEBAUTHN_ERR_CLIENT_DATA_TOO_LARGE] = "clientDataJSON too large",
	[WEBAUTHN_ERR_CLIENT_DATA_MALFORMED] = "clientDataJSON is not a UTF-8 JSON object without duplicate keys",
	[WEBAUTHN_ERR_CLIENT_DATA_MEMBER] = "clientDataJSON member missing or of the wrong type",
	[WEBAUTHN_ERR_TYPE_MISMATCH] = "wrong clientDataJSON type",
	[WEBAUTHN_ERR_CHALLENGE_MISMATCH] = "challenge mismatch",
	[WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED] = "origin not allowed",
	[WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED] = "cross-origin use not allowed",
	[WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED] = "top origin not allowed",
	[WEBAUTHN_ERR_AUTH_DATA_MALFORMED] = "malformed authenticator data",
	[WEBAUTHN_ERR_AUTH_DATA_TRAILING] = "trailing bytes after authenticator data",
	[WEBAUTHN_ERR_FLAGS_INCONSISTENT] = "inconsistent flags: backed up but not backup eligible",
	[WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH] = "credential id empty or longer than 1023 bytes",
	[WEBAUTHN_ERR_EXTENSIONS_MALFORMED] = "malformed authenticator extension outputs",
	[WEBAUTHN_ERR_ATTESTED_DATA_MISSING] = "attested credential data missing",
	[WEBAUTHN_ERR_ATTESTED_DATA_UNEXPECTED] = "unexpected attested credential data in an assertion",
	[WEBAUTHN_ERR_RP_ID_HASH_MISMATCH] = "rpIdHash mismatch",
	[WEBAUTHN_ERR_USER_NOT_PRESENT] = "user presence required",
	[WEBAUTHN_ERR_USER_NOT_VERIFIED] = "user verification required",
	[WEBAUTHN_ERR_COSE_KEY_MALFORMED] = "malformed COSE public key",
	[WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM] = "unsupported algorithm",
	[WEBAUTHN_ERR_COSE_KEY_INVALID] = "invalid public key",
	[WEBAUTHN_ERR_ALGORITHM_NOT_ALLOWED] = "algorithm not allowed",
	[WEBAUTHN_ERR_ATTESTATION_MALFORMED] = "malformed attestation object",
	[WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED] = "unsupported attestation format",
	[WEBAUTHN_ERR_ATTESTATION_STATEMENT] = "invalid attestation statement",
	[WEBAUTHN_ERR_ATTESTATION_SIGNATURE] = "bad attestation signature",
	[WEBAUTHN_ERR_ATTESTATION_CERTIFICATE] = "attestation certificate does not meet requirements",
	[WEBAUTHN_ERR_ATTESTATION_AAGUID_MISMATCH] = "attestation certificate AAGUID mismatch",
	[WEBAUTHN_ERR_ATTESTATION_CHAIN] = "attestation certificate chain does not verify",
	[WEBAUTHN_ERR_ATTESTATION_UNTRUSTED] = "attestation not trusted",
	[WEBAUTHN_ERR_BAD_SIGNATURE] = "bad signature",
	[WEBAUTHN_ERR_STORED_KEY_INVALID] = "stored credential public key invalid",
};

const char *webauthn_error_text(enum webauthn_error err)
{
	if ((unsigned)err >= WEBAUTHN_ERR_COUNT || !error_texts[err])
		return "unknown error";
	return error_texts[err];
}

/* Keeps a detail for the error message: cut short and reduced to printable
 * ASCII, since it may come from the client. */
static void note_detail(char detail[DETAIL_MAX + 1], const char *text)
{
	size_t n = 0;

	for (; text && text[n] && n < DETAIL_MAX; n++)
		detail[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
	detail[n] = '\0';
}

/* "<text>" or "<text>: <detail>". */
static void describe(char *err, size_t errlen, enum webauthn_error rc, const char *detail)
{
	if (!err || errlen == 0)
		return;
	if (rc != WEBAUTHN_OK && detail && detail[0])
		snprintf(err, errlen, "%s: %s", webauthn_error_text(rc), detail);
	else
		snprintf(err, errlen, "%s", webauthn_error_text(rc));
}

/* --- shared steps ------------------------------------------------------- */

/* The client's value a clientDataJSON error is about, if any. */
static const char *client_data_culprit(const struct webauthn_client_data *cd, enum webauthn_error rc)
{
	switch (rc) {
	case WEBAUTHN_ERR_TYPE_MISMATCH: return cd->type;
	case WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED: return cd->origin;
	case WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED: return cd->top_origin;
	default: return NULL;
	}
}

/* clientDataJSON: parsed, checked against expectations, hashed. */
static enum webauthn_error client_data_step(const uint8_t *json, size_t len, enum webauthn_ceremony ceremony,
    const struct webauthn_expectations *expect, uint8_t hash[WEBAUTHN_CLIENT_DATA_HASH_LEN],
    char detail[DETAIL_MAX + 1])
{
	struct webauthn_client_data cd;
	enum webauthn_error rc = webauthn_client_data_parse(json, len, &cd);

	if (rc != WEBAUTHN_OK)
		return rc;
	rc = webauthn_client_data_verify(&cd, ceremony, expect);
	note_detail(detail, client_data_culprit(&cd, rc));
	webauthn_client_data_free(&cd);
	if (rc == WEBAUTHN_OK)
		SHA256(json, len, hash);
	return rc;
}

/* rpIdHash, then UP always, then UV when required. */
static enum webauthn_error auth_data_step(const struct webauthn_auth_data *ad, const struct webauthn_expectations *expect)
{
	uint8_t expected[WEBAUTHN_RP_ID_HASH_LEN];

	SHA256((const uint8_t *)expect->rp_id, strlen(expect->rp_id), expected);
	if (CRYPTO_memcmp(ad->rp_id_hash, expected, sizeof(expected)) != 0)
		return WEBAUTHN_ERR_RP_ID_HASH_MISMATCH;
	if (!(ad->flags & WEBAUTHN_FLAG_UP))
		return WEBAUTHN_ERR_USER_NOT_PRESENT;
	if (expect->require_user_verification && !(ad->flags & WEBAUTHN_FLAG_UV))
		return WEBAUTHN_ERR_USER_NOT_VERIFIED;
	return WEBAUTHN_OK;
}

static bool expectations_present(const struct webauthn_expectations *e)
{
	return e->rp_id && e->rp_id[0] && e->challenge && e->origins && e->origin_count > 0;
}

/* --- registration ------------------------------------------------------- */

struct registration {
	const struct webauthn_registration_input *in;
	uint8_t client_data_hash[WEBAUTHN_CLIENT_DATA_HASH_LEN];
	struct webauthn_attestation_object object;
	struct webauthn_auth_data auth_data;
	EVP_PKEY *key;
	int64_t alg;
	enum webauthn_attestation_type type;
	char detail[DETAIL_MAX + 1];
};

static bool alg_allowed(const struct webauthn_registration_input *in, int64_t alg)
{
	if (!in->allowed_algs || in->allowed_alg_count == 0)
		return true;
	for (size_t i = 0; i < in->allowed_alg_count; i++)
		if (in->allowed_algs[i] == alg)
			return true;
	return false;
}

/* Attestation object, its authenticator data, and the credential key. */
static enum webauthn_error credential_step(struct registration *r)
{
	enum webauthn_error rc;

	rc = webauthn_attestation_object_parse(r->in->attestation_object, r->in->attestation_object_len, &r->object);
	if (rc == WEBAUTHN_OK)
		rc = webauthn_auth_data_parse(r->object.auth_data, r->object.auth_data_len, &r->auth_data);
	if (rc == WEBAUTHN_OK)
		rc = auth_data_step(&r->auth_data, &r->in->expect);
	if (rc == WEBAUTHN_OK && !(r->auth_data.flags & WEBAUTHN_FLAG_AT))
		rc = WEBAUTHN_ERR_ATTESTED_DATA_MISSING;
	if (rc == WEBAUTHN_OK)
		rc = cose_key_import(r->auth_data.public_key, r->auth_data.public_key_len, &r->alg, &r->key);
	if (rc == WEBAUTHN_OK && !alg_allowed(r->in, r->alg)) {
		rc = WEBAUTHN_ERR_ALGORITHM_NOT_ALLOWED;
		note_detail(r->detail, cose_alg_name(r->alg));
	}
	return rc;
}

/* The format's verification procedure, then the relying party's policy on
 * what it proved (§7.1: trust anchors, "assess the attestation
 * trustworthiness"). */
static enum webauthn_error attestation_step(struct registration *r)
{
	struct webauthn_attestation_check check = {
		.object = &r->object, .auth_data = &r->auth_data, .credential_key = r->key,
		.credential_alg = r->alg, .client_data_hash = r->client_data_hash,
		.trust_anchors = r->in->trust_anchors, .verify_time = r->in->verify_time,
	};
	bool lenient = r->in->policy == WEBAUTHN_POLICY_ACCEPT_UNVERIFIED;
	enum webauthn_error rc = webauthn_attestation_verify(&check, &r->type);

	if (rc == WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED || rc == WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM) {
		note_detail(r->detail, r->object.fmt);
		if (!lenient)
			return rc;
		r->type = WEBAUTHN_ATTESTATION_UNVERIFIED;
		return WEBAUTHN_OK;
	}
	if (rc == WEBAUTHN_OK && !lenient && r->type != WEBAUTHN_ATTESTATION_BASIC) {
		note_detail(r->detail, webauthn_attestation_type_name(r->type));
		return WEBAUTHN_ERR_ATTESTATION_UNTRUSTED;
	}
	return rc;
}

static void fill_credential(const struct registration *r, struct webauthn_credential *out)
{
	const struct webauthn_auth_data *ad = &r->auth_data;

	memcpy(out->id, ad->credential_id, ad->credential_id_len);
	out->id_len = ad->credential_id_len;
	memcpy(out->public_key, ad->public_key, ad->public_key_len);
	out->public_key_len = ad->public_key_len;
	out->alg = r->alg;
	out->sign_count = ad->sign_count;
	out->user_verified = ad->flags & WEBAUTHN_FLAG_UV;
	out->backup_eligible = ad->flags & WEBAUTHN_FLAG_BE;
	out->backup_state = ad->flags & WEBAUTHN_FLAG_BS;
	memcpy(out->aaguid, ad->aaguid, WEBAUTHN_AAGUID_LEN);
	memcpy(out->fmt, r->object.fmt, sizeof(out->fmt));
	out->attestation_type = r->type;
	out->extensions = ad->extensions;
	out->extensions_len = ad->extensions_len;
}

static bool registration_input_usable(const struct webauthn_registration_input *in)
{
	return in && in->client_data_json && in->attestation_object && expectations_present(&in->expect) &&
	       (in->policy == WEBAUTHN_POLICY_ACCEPT_UNVERIFIED || in->policy == WEBAUTHN_POLICY_REQUIRE_TRUSTED);
}

enum webauthn_error webauthn_verify_registration(const struct webauthn_registration_input *in,
    struct webauthn_credential *out, char *err, size_t errlen)
{
	struct registration r = { .in = in };
	enum webauthn_error rc = WEBAUTHN_ERR_ARGUMENT;

	if (out)
		memset(out, 0, sizeof(*out));
	if (out && registration_input_usable(in)) {
		rc = client_data_step(in->client_data_json, in->client_data_json_len, WEBAUTHN_CEREMONY_CREATE,
		    &in->expect, r.client_data_hash, r.detail);
		if (rc == WEBAUTHN_OK)
			rc = credential_step(&r);
		if (rc == WEBAUTHN_OK)
			rc = attestation_step(&r);
		if (rc == WEBAUTHN_OK)
			fill_credential(&r, out);
	}
	EVP_PKEY_free(r.key);
	webauthn_attestation_object_free(&r.object);
	ERR_clear_error();
	describe(err, errlen, rc, r.detail);
	return rc;
}

/* --- authentication ----------------------------------------------------- */

/* §6.1.1 signature counter: when either side is in use (nonzero), the new
 * value must exceed the stored one. */
static bool counter_regressed(uint32_t stored, uint32_t received)
{
	return (stored != 0 || received != 0) && received <= stored;
}

static void fill_assertion_result(const struct webauthn_assertion_input *in, const struct webauthn_auth_data *ad,
    struct webauthn_assertion_result *out)
{
	out->sign_count = ad->sign_count;
	out->user_verified = ad->flags & WEBAUTHN_FLAG_UV;
	out->backup_eligible = ad->flags & WEBAUTHN_FLAG_BE;
	out->backup_state = ad->flags & WEBAUTHN_FLAG_BS;
	out->counter_regressed = counter_regressed(in->stored.sign_count, ad->sign_count);
	out->backup_eligibility_changed = out->backup_eligible != in->stored.backup_eligible;
	out->extensions = ad->extensions;
	out->extensions_len = ad->extensions_len;
}

/* Authenticator data checks, then the signature with the stored key. */
static enum webauthn_error assertion_step(const struct webauthn_assertion_input *in,
    const uint8_t hash[WEBAUTHN_CLIENT_DATA_HASH_LEN], struct webauthn_auth_data *ad)
{
	EVP_PKEY *key = NULL;
	enum webauthn_error rc;

	rc = webauthn_auth_data_parse(in->authenticator_data, in->authenticator_data_len, ad);
	if (rc == WEBAUTHN_OK)
		rc = auth_data_step(ad, &in->expect);
	/* No attestation object is taken with an assertion, so AT must be clear. */
	if (rc == WEBAUTHN_OK && (ad->flags & WEBAUTHN_FLAG_AT))
		rc = WEBAUTHN_ERR_ATTESTED_DATA_UNEXPECTED;
	if (rc == WEBAUTHN_OK)
		rc = cose_key_load_stored(in->stored.public_key, in->stored.public_key_len, in->stored.alg, &key);
	if (rc == WEBAUTHN_OK && in->signature_len > WEBAUTHN_SIGNATURE_MAX)
		rc = WEBAUTHN_ERR_BAD_SIGNATURE;
	if (rc == WEBAUTHN_OK)
		rc = webauthn_signature_check(key, in->stored.alg, in->authenticator_data, in->authenticator_data_len,
		    hash, WEBAUTHN_CLIENT_DATA_HASH_LEN, in->signature, in->signature_len);
	EVP_PKEY_free(key);
	return rc;
}

static bool assertion_input_usable(const struct webauthn_assertion_input *in)
{
	return in && in->client_data_json && in->authenticator_data && in->signature && in->stored.public_key &&
	       expectations_present(&in->expect);
}

enum webauthn_error webauthn_verify_assertion(const struct webauthn_assertion_input *in,
    struct webauthn_assertion_result *out, char *err, size_t errlen)
{
	uint8_t hash[WEBAUTHN_CLIENT_DATA_HASH_LEN];
	struct webauthn_auth_data ad;
	enum webauthn_error rc = WEBAUTHN_ERR_ARGUMENT;
	char detail[DETAIL_MAX + 1] = "";

	if (out)
		memset(out, 0, sizeof(*out));
	if (out && assertion_input_usable(in)) {
		rc = client_data_step(in->client_data_json, in->client_data_json_len, WEBAUTHN_CEREMONY_GET,
		    &in->expect, hash, detail);
		if (rc == WEBAUTHN_OK)
			rc = assertion_step(in, hash, &ad);
		if (rc == WEBAUTHN_OK)
			fill_assertion_result(in, &ad, out);
	}
	ERR_clear_error();
	describe(err, errlen, rc, detail);
	return rc;
}
