/*
 * Unit tests for proto/webauthn_credential_json.c: the credential JSON the
 * browser posts to verify-registration and verify-authentication. Valid
 * registration and assertion envelopes (rawId absent, '=' padding, members
 * at their maxima, transports kept / deduplicated / unknown ones dropped,
 * userHandle absent, null or ""), then each refusal with the exact text the
 * endpoints send: the body shape, type, id/rawId, missing / non-string /
 * empty / oversized / non-base64url members, transports that are not an
 * array of at most 16 strings. Members of the other ceremony's shape are not
 * read. Writes fuzz/corpus/fuzz_webauthn_credential_json seeds when
 * DREAMAUTH_WEBAUTHN_CORPUS is set.
 */
#include "proto/webauthn_credential_json.h"
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

#define REG WEBAUTHN_CREDENTIAL_REGISTRATION
#define ASR WEBAUTHN_CREDENTIAL_ASSERTION

#define WHY_SHAPE "the body must be {\"response\": <the credential's JSON>}"
#define WHY_TYPE "the credential's type must be \"public-key\""
#define WHY_ID "the credential's id and rawId must be one base64url string"
#define WHY_MISSING "a member is missing or not a string"
#define WHY_LONG "a member is empty or too long"
#define WHY_B64 "a member is not base64url"
#define WHY_TRANSPORTS "response.transports must be an array of strings"

static const uint8_t cred_id[16] = "credential id 1";
static const uint8_t challenge[32] = "credential json challenge, 32 b";
static const uint8_t attestation[] = { 0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e' };
static const uint8_t auth_data[37] = { 0x74, 0xa6, 0xea, 0x92, [32] = 0x05, [36] = 0x07 };
static const uint8_t signature[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02 };
static const uint8_t user_handle[16] = { 0x01, 0x93, 0x4f, 0x2a, 0x7c, 0x11, 0x70, 0x00, 0x80, 0x00, 0, 0, 0, 0, 0, 1 };

/* A base64url string of bytes (new reference). */
static json_t *b64(const void *data, size_t len)
{
	char *text = malloc(BASE64URL_ENCODED_LEN(len) + 1);
	json_t *s;

	base64url_encode(data, len, text);
	s = json_string(text);
	free(text);
	return s;
}

/* n bytes of a filler, base64url (new reference). */
static json_t *b64_filler(size_t n)
{
	uint8_t *bytes = malloc(n ? n : 1);
	json_t *s;

	for (size_t i = 0; i < n; i++)
		bytes[i] = (uint8_t)(i * 7 + 1);
	s = b64(bytes, n);
	free(bytes);
	return s;
}

static struct tbuf client_data(const char *type)
{
	return t_client_data(type, challenge, sizeof(challenge), T_ORIGIN, NULL);
}

/* {"response": {id, rawId, type, response: {clientDataJSON, ...}}} of a valid
 * registration (transports usb, internal) or assertion (with a userHandle). */
static json_t *valid_body(enum webauthn_credential_kind kind)
{
	struct tbuf cd = client_data(kind == REG ? "webauthn.create" : "webauthn.get");
	json_t *response = json_object();

	json_object_set_new(response, "clientDataJSON", b64(cd.data, cd.len));
	if (kind == REG) {
		json_object_set_new(response, "attestationObject", b64(attestation, sizeof(attestation)));
		json_object_set_new(response, "transports", json_pack("[ss]", "usb", "internal"));
	} else {
		json_object_set_new(response, "authenticatorData", b64(auth_data, sizeof(auth_data)));
		json_object_set_new(response, "signature", b64(signature, sizeof(signature)));
		json_object_set_new(response, "userHandle", b64(user_handle, sizeof(user_handle)));
	}
	tbuf_free(&cd);
	return json_pack("{s:{s:o,s:o,s:s,s:o,s:s}}", "response", "id", b64(cred_id, sizeof(cred_id)), "rawId",
	    b64(cred_id, sizeof(cred_id)), "type", "public-key", "response", response, "authenticatorAttachment",
	    "platform");
}

static json_t *cred_of(json_t *body)
{
	return json_object_get(body, "response");
}

static json_t *response_of(json_t *body)
{
	return json_object_get(cred_of(body), "response");
}

static bool all_null(const struct webauthn_credential_json *c)
{
	return !c->client_data && !c->attestation_object && !c->auth_data && !c->signature && !c->user_handle &&
	       c->id_len == 0 && c->client_data_len == 0 && c->transports[0] == '\0';
}

/* Parses body (and drops it): the reason must be want, and nothing is held. */
static void expect_refused(json_t *body, enum webauthn_credential_kind kind, const char *want, int line)
{
	struct webauthn_credential_json c;
	const char *why = webauthn_credential_json_parse(body, kind, &c);

	if (why && !strcmp(why, want) && all_null(&c)) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, line, why ? why : "(accepted)", want);
	}
	webauthn_credential_json_free(&c);
	json_decref(body);
}
#define REFUSED(body, kind, want) expect_refused((body), (kind), (want), __LINE__)

/* Parses body (and drops it); must be accepted. */
static bool accepted(json_t *body, enum webauthn_credential_kind kind, struct webauthn_credential_json *c, int line)
{
	const char *why = webauthn_credential_json_parse(body, kind, c);

	json_decref(body);
	if (!why)
		return true;
	fprintf(stderr, "%s:%d: refused: %s\n", __FILE__, line, why);
	return false;
}
#define ACCEPTED(body, kind, c) accepted((body), (kind), (c), __LINE__)

static json_t *with_response_member(enum webauthn_credential_kind kind, const char *key, json_t *value)
{
	json_t *body = valid_body(kind);

	if (value)
		json_object_set_new(response_of(body), key, value);
	else
		json_object_del(response_of(body), key);
	return body;
}

static json_t *with_cred_member(enum webauthn_credential_kind kind, const char *key, json_t *value)
{
	json_t *body = valid_body(kind);

	if (value)
		json_object_set_new(cred_of(body), key, value);
	else
		json_object_del(cred_of(body), key);
	return body;
}

static void write_seed(const char *name, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	t_write_seed("fuzz_webauthn_credential_json", name, text, strlen(text));
	free(text);
	json_decref(body);
}

static void test_valid_registration(void)
{
	struct webauthn_credential_json c;
	struct tbuf cd = client_data("webauthn.create");

	CHECK(ACCEPTED(valid_body(REG), REG, &c));
	CHECK_EQ_INT(c.id_len, sizeof(cred_id));
	CHECK(!memcmp(c.id, cred_id, sizeof(cred_id)));
	CHECK(c.client_data_len == cd.len && !memcmp(c.client_data, cd.data, cd.len));
	CHECK(c.attestation_object_len == sizeof(attestation) &&
	      !memcmp(c.attestation_object, attestation, sizeof(attestation)));
	CHECK_EQ_STR(c.transports, "usb,internal");
	CHECK(!c.auth_data && !c.signature && !c.user_handle);
	webauthn_credential_json_free(&c);
	CHECK(all_null(&c));
	webauthn_credential_json_free(&c); /* twice is harmless */

	/* rawId absent; no transports; '=' padding tolerated */
	json_t *body = valid_body(REG);
	json_object_del(cred_of(body), "rawId");
	json_object_del(response_of(body), "transports");
	json_object_set_new(response_of(body), "attestationObject", json_string("o2NmbXRkbm9uZQ=="));
	CHECK(ACCEPTED(body, REG, &c));
	CHECK_EQ_STR(c.transports, "");
	CHECK(c.attestation_object_len == sizeof(attestation) &&
	      !memcmp(c.attestation_object, attestation, sizeof(attestation)));
	webauthn_credential_json_free(&c);

	/* unknown transports dropped (§5.8.4), duplicates once, the list order kept */
	CHECK(ACCEPTED(with_response_member(REG, "transports",
	                   json_pack("[sssssssss]", "hybrid", "carrier-pigeon", "usb", "hybrid", "nfc", "ble",
	                       "smart-card", "internal", "USB")),
	    REG, &c));
	CHECK_EQ_STR(c.transports, "hybrid,usb,nfc,ble,smart-card,internal");
	webauthn_credential_json_free(&c);
	CHECK(ACCEPTED(with_response_member(REG, "transports", json_array()), REG, &c));
	CHECK_EQ_STR(c.transports, "");
	webauthn_credential_json_free(&c);

	/* members at their maxima */
	body = with_cred_member(REG, "id", b64_filler(WEBAUTHN_CREDENTIAL_ID_MAX));
	json_object_del(cred_of(body), "rawId");
	json_object_set_new(response_of(body), "clientDataJSON", b64_filler(WEBAUTHN_CLIENT_DATA_MAX));
	json_object_set_new(response_of(body), "attestationObject", b64_filler(WEBAUTHN_ATTESTATION_OBJECT_MAX));
	CHECK(ACCEPTED(body, REG, &c));
	CHECK_EQ_INT(c.id_len, WEBAUTHN_CREDENTIAL_ID_MAX);
	CHECK_EQ_INT(c.client_data_len, WEBAUTHN_CLIENT_DATA_MAX);
	CHECK_EQ_INT(c.attestation_object_len, WEBAUTHN_ATTESTATION_OBJECT_MAX);
	webauthn_credential_json_free(&c);

	/* an assertion's members are not read */
	CHECK(ACCEPTED(with_response_member(REG, "userHandle", json_integer(3)), REG, &c));
	webauthn_credential_json_free(&c);
	tbuf_free(&cd);
}

static void test_valid_assertion(void)
{
	struct webauthn_credential_json c;
	struct tbuf cd = client_data("webauthn.get");

	CHECK(ACCEPTED(valid_body(ASR), ASR, &c));
	CHECK(c.id_len == sizeof(cred_id) && !memcmp(c.id, cred_id, sizeof(cred_id)));
	CHECK(c.client_data_len == cd.len && !memcmp(c.client_data, cd.data, cd.len));
	CHECK(c.auth_data_len == sizeof(auth_data) && !memcmp(c.auth_data, auth_data, sizeof(auth_data)));
	CHECK(c.signature_len == sizeof(signature) && !memcmp(c.signature, signature, sizeof(signature)));
	CHECK(c.user_handle_len == sizeof(user_handle) && !memcmp(c.user_handle, user_handle, sizeof(user_handle)));
	CHECK(!c.attestation_object && c.transports[0] == '\0');
	webauthn_credential_json_free(&c);

	/* no user handle: absent, null, "" */
	CHECK(ACCEPTED(with_response_member(ASR, "userHandle", NULL), ASR, &c));
	CHECK(!c.user_handle && c.user_handle_len == 0 && c.signature);
	webauthn_credential_json_free(&c);
	CHECK(ACCEPTED(with_response_member(ASR, "userHandle", json_null()), ASR, &c));
	CHECK(!c.user_handle);
	webauthn_credential_json_free(&c);
	CHECK(ACCEPTED(with_response_member(ASR, "userHandle", json_string("")), ASR, &c));
	CHECK(!c.user_handle);
	webauthn_credential_json_free(&c);

	/* maxima */
	json_t *body = with_response_member(ASR, "userHandle", b64_filler(WEBAUTHN_USER_HANDLE_MAX));
	json_object_set_new(response_of(body), "signature", b64_filler(WEBAUTHN_SIGNATURE_MAX));
	json_object_set_new(response_of(body), "authenticatorData", b64_filler(WEBAUTHN_AUTH_DATA_MAX));
	CHECK(ACCEPTED(body, ASR, &c));
	CHECK_EQ_INT(c.user_handle_len, WEBAUTHN_USER_HANDLE_MAX);
	CHECK_EQ_INT(c.signature_len, WEBAUTHN_SIGNATURE_MAX);
	CHECK_EQ_INT(c.auth_data_len, WEBAUTHN_AUTH_DATA_MAX);
	webauthn_credential_json_free(&c);

	/* a registration's members are not read */
	CHECK(ACCEPTED(with_response_member(ASR, "transports", json_string("usb")), ASR, &c));
	CHECK_EQ_STR(c.transports, "");
	webauthn_credential_json_free(&c);
	tbuf_free(&cd);
}

static void test_envelope_refusals(void)
{
	for (int k = 0; k < 2; k++) {
		enum webauthn_credential_kind kind = k ? ASR : REG;
		json_t *body;

		/* the body's shape */
		REFUSED(json_object(), kind, WHY_SHAPE);
		REFUSED(json_pack("{s:s}", "response", "x"), kind, WHY_SHAPE);
		REFUSED(json_pack("[]"), kind, WHY_SHAPE);
		REFUSED(with_cred_member(kind, "response", NULL), kind, WHY_SHAPE);
		REFUSED(with_cred_member(kind, "response", json_string("{}")), kind, WHY_SHAPE);
		REFUSED(with_cred_member(kind, "response", json_null()), kind, WHY_SHAPE);
		CHECK(webauthn_credential_json_parse(NULL, kind, &(struct webauthn_credential_json){ 0 }) != NULL);

		/* type */
		REFUSED(with_cred_member(kind, "type", NULL), kind, WHY_TYPE);
		REFUSED(with_cred_member(kind, "type", json_string("password")), kind, WHY_TYPE);
		REFUSED(with_cred_member(kind, "type", json_string("public-key ")), kind, WHY_TYPE);
		REFUSED(with_cred_member(kind, "type", json_integer(1)), kind, WHY_TYPE);

		/* id and rawId */
		REFUSED(with_cred_member(kind, "id", NULL), kind, WHY_ID);
		REFUSED(with_cred_member(kind, "id", json_integer(5)), kind, WHY_ID);
		REFUSED(with_cred_member(kind, "rawId", json_string("Y3JlZGVudGlhbCBpZCAyAA")), kind, WHY_ID);
		REFUSED(with_cred_member(kind, "rawId", json_null()), kind, WHY_ID);
		body = with_cred_member(kind, "rawId", json_string("Y3JlZGVudGlhbCBpZCAxAA=="));
		REFUSED(body, kind, WHY_ID); /* one string: padding on one side only differs */

		/* the id's bytes */
		body = with_cred_member(kind, "id", json_string("Y3JlZGVudGlhbCBpZCAxAA+/"));
		json_object_del(cred_of(body), "rawId");
		REFUSED(body, kind, WHY_B64);
		body = with_cred_member(kind, "id", json_string("Y3JlZ GVudGlh"));
		json_object_del(cred_of(body), "rawId");
		REFUSED(body, kind, WHY_B64);
		body = with_cred_member(kind, "id", json_string("Y3JlZGVudGlhbCBpZCAxAB")); /* non-canonical trailing bits */
		json_object_del(cred_of(body), "rawId");
		REFUSED(body, kind, WHY_B64);
		body = with_cred_member(kind, "id", json_string(""));
		json_object_set_new(cred_of(body), "rawId", json_string(""));
		REFUSED(body, kind, WHY_LONG);
		body = with_cred_member(kind, "id", json_string("=="));
		json_object_del(cred_of(body), "rawId");
		REFUSED(body, kind, WHY_LONG);
		body = with_cred_member(kind, "id", b64_filler(WEBAUTHN_CREDENTIAL_ID_MAX + 1));
		json_object_del(cred_of(body), "rawId");
		REFUSED(body, kind, WHY_LONG);

		/* clientDataJSON, common to both */
		REFUSED(with_response_member(kind, "clientDataJSON", NULL), kind, WHY_MISSING);
		REFUSED(with_response_member(kind, "clientDataJSON", json_pack("{}")), kind, WHY_MISSING);
		REFUSED(with_response_member(kind, "clientDataJSON", json_string("")), kind, WHY_LONG);
		REFUSED(with_response_member(kind, "clientDataJSON", json_string("eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0$")), kind,
		    WHY_B64);
		REFUSED(with_response_member(kind, "clientDataJSON", b64_filler(WEBAUTHN_CLIENT_DATA_MAX + 1)), kind,
		    WHY_LONG);
	}
}

static void test_registration_refusals(void)
{
	REFUSED(with_response_member(REG, "attestationObject", NULL), REG, WHY_MISSING);
	REFUSED(with_response_member(REG, "attestationObject", json_true()), REG, WHY_MISSING);
	REFUSED(with_response_member(REG, "attestationObject", json_string("o2NmbXRkbm9uZQ=!")), REG, WHY_B64);
	REFUSED(with_response_member(REG, "attestationObject", json_string("===")), REG, WHY_LONG);
	REFUSED(with_response_member(REG, "attestationObject", b64_filler(WEBAUTHN_ATTESTATION_OBJECT_MAX + 1)), REG,
	    WHY_LONG);
	/* an assertion body is not a registration */
	REFUSED(valid_body(ASR), REG, WHY_MISSING);

	/* transports: an array of at most 16 strings */
	REFUSED(with_response_member(REG, "transports", json_string("usb")), REG, WHY_TRANSPORTS);
	REFUSED(with_response_member(REG, "transports", json_null()), REG, WHY_TRANSPORTS);
	REFUSED(with_response_member(REG, "transports", json_pack("{s:s}", "0", "usb")), REG, WHY_TRANSPORTS);
	REFUSED(with_response_member(REG, "transports", json_pack("[si]", "usb", 1)), REG, WHY_TRANSPORTS);
	REFUSED(with_response_member(REG, "transports", json_pack("[s[s]]", "usb", "nfc")), REG, WHY_TRANSPORTS);
	json_t *many = json_array();
	for (int i = 0; i < WEBAUTHN_TRANSPORTS_LIST_MAX; i++)
		json_array_append_new(many, json_string("usb"));
	struct webauthn_credential_json c;
	CHECK(ACCEPTED(with_response_member(REG, "transports", json_incref(many)), REG, &c));
	CHECK_EQ_STR(c.transports, "usb");
	webauthn_credential_json_free(&c);
	json_array_append_new(many, json_string("usb"));
	REFUSED(with_response_member(REG, "transports", many), REG, WHY_TRANSPORTS);
}

static void test_assertion_refusals(void)
{
	REFUSED(with_response_member(ASR, "authenticatorData", NULL), ASR, WHY_MISSING);
	REFUSED(with_response_member(ASR, "authenticatorData", json_string("dKbqkgUAAAAH*")), ASR, WHY_B64);
	REFUSED(with_response_member(ASR, "authenticatorData", b64_filler(WEBAUTHN_AUTH_DATA_MAX + 1)), ASR, WHY_LONG);
	REFUSED(with_response_member(ASR, "signature", NULL), ASR, WHY_MISSING);
	REFUSED(with_response_member(ASR, "signature", json_integer(0)), ASR, WHY_MISSING);
	REFUSED(with_response_member(ASR, "signature", json_string("")), ASR, WHY_LONG);
	REFUSED(with_response_member(ASR, "signature", json_string("MAYCAQECAQI=x")), ASR, WHY_B64);
	REFUSED(with_response_member(ASR, "signature", b64_filler(WEBAUTHN_SIGNATURE_MAX + 1)), ASR, WHY_LONG);
	REFUSED(with_response_member(ASR, "userHandle", json_integer(16)), ASR, WHY_MISSING);
	REFUSED(with_response_member(ASR, "userHandle", json_false()), ASR, WHY_MISSING);
	REFUSED(with_response_member(ASR, "userHandle", json_string("=")), ASR, WHY_LONG);
	REFUSED(with_response_member(ASR, "userHandle", json_string("AZNPKnwRcACAAAAAAAAAAQ.")), ASR, WHY_B64);
	REFUSED(with_response_member(ASR, "userHandle", b64_filler(WEBAUTHN_USER_HANDLE_MAX + 1)), ASR, WHY_LONG);
	/* a registration body is not an assertion */
	REFUSED(valid_body(REG), ASR, WHY_MISSING);
}

static void write_seeds(void)
{
	json_t *body;

	write_seed("registration", valid_body(REG));
	write_seed("assertion", valid_body(ASR));
	write_seed("assertion_no_user_handle", with_response_member(ASR, "userHandle", json_null()));
	body = with_response_member(REG, "transports", json_pack("[sss]", "hybrid", "internal", "future-transport"));
	json_object_del(cred_of(body), "rawId");
	json_object_set_new(body, "name", json_string("Work laptop"));
	json_object_set_new(body, "callback", json_string("/account"));
	write_seed("registration_named", body);
	body = valid_body(ASR);
	json_object_set_new(response_of(body), "attestationObject", b64(attestation, sizeof(attestation)));
	json_object_set_new(response_of(body), "transports", json_pack("[s]", "nfc"));
	write_seed("both_shapes", body);
}

int main(void)
{
	test_valid_registration();
	test_valid_assertion();
	test_envelope_refusals();
	test_registration_refusals();
	test_assertion_refusals();
	write_seeds();
	return CHECK_DONE();
}
