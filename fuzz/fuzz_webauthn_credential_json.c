/*
 * libFuzzer target for proto/webauthn_credential_json.c: each input is a
 * request body, parsed with json_loadb, then read as a registration and as
 * an assertion. A refusal must give one of the known reasons and hold no
 * buffer; an acceptance must hold every member of its shape within its
 * maximum and none of the other shape's, transports only distinct known
 * values, and the decoded id / clientDataJSON must re-encode to the text
 * received (strict base64url, '=' padding stripped). Both readings must agree
 * on what they share. Links only da_proto. Seeds:
 * fuzz/corpus/fuzz_webauthn_credential_json/ (written by
 * tests/unit/test_webauthn_credential_json.c).
 */
#include "proto/base64url.h"
#include "proto/webauthn_credential_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const reasons[] = {
	"the body must be {\"response\": <the credential's JSON>}",
	"the credential's type must be \"public-key\"",
	"the credential's id and rawId must be one base64url string",
	"a member is missing or not a string",
	"a member is empty or too long",
	"a member is not base64url",
	"response.transports must be an array of strings",
	"out of memory",
	NULL,
};

static void check_len(const uint8_t *p, size_t len, size_t max)
{
	if (!p || len == 0 || len > max)
		abort();
}

static void check_absent(const uint8_t *p, size_t len)
{
	if (p || len)
		abort();
}

/* The member's text without trailing '=' must be the encoding of bytes. */
static void check_reencodes(const json_t *obj, const char *key, const uint8_t *bytes, size_t len)
{
	const json_t *v = json_object_get(obj, key);
	size_t n;
	char *text;

	if (!json_is_string(v))
		abort();
	n = json_string_length(v);
	while (n && json_string_value(v)[n - 1] == '=')
		n--;
	text = malloc(BASE64URL_ENCODED_LEN(len) + 1);
	if (!text)
		abort();
	if (base64url_encode(bytes, len, text) != n || memcmp(text, json_string_value(v), n) != 0)
		abort();
	free(text);
}

static void check_transports(const char *t)
{
	static const char *const known[] = { "usb", "nfc", "ble", "smart-card", "hybrid", "internal" };
	bool seen[6] = { false };
	size_t count = 0;

	if (strnlen(t, WEBAUTHN_TRANSPORTS_TEXT_MAX) >= WEBAUTHN_TRANSPORTS_TEXT_MAX)
		abort();
	while (*t) {
		size_t len = strcspn(t, ",");
		size_t k;

		for (k = 0; k < 6; k++)
			if (strlen(known[k]) == len && !memcmp(t, known[k], len))
				break;
		if (k == 6 || seen[k] || ++count > WEBAUTHN_TRANSPORTS_MAX)
			abort();
		seen[k] = true;
		t += len;
		if (*t == ',' && !*++t)
			abort(); /* no trailing comma */
	}
}

/* Returns whether accepted; the result stays in *c for the caller to free. */
static bool one(const json_t *root, enum webauthn_credential_kind kind, struct webauthn_credential_json *c)
{
	const char *why = webauthn_credential_json_parse(root, kind, c);

	if (why) {
		const char *const *r;

		for (r = reasons; *r && strcmp(*r, why) != 0; r++)
			;
		if (!*r)
			abort();
		check_absent(c->client_data, c->client_data_len);
		check_absent(c->attestation_object, c->attestation_object_len);
		check_absent(c->auth_data, c->auth_data_len);
		check_absent(c->signature, c->signature_len);
		check_absent(c->user_handle, c->user_handle_len);
		if (c->id_len || c->transports[0])
			abort();
		return false;
	}
	const json_t *cred = json_object_get(root, "response");
	const json_t *response = json_object_get(cred, "response");

	if (c->id_len == 0 || c->id_len > WEBAUTHN_CREDENTIAL_ID_MAX)
		abort();
	check_reencodes(cred, "id", c->id, c->id_len);
	check_len(c->client_data, c->client_data_len, WEBAUTHN_CLIENT_DATA_MAX);
	check_reencodes(response, "clientDataJSON", c->client_data, c->client_data_len);
	if (kind == WEBAUTHN_CREDENTIAL_REGISTRATION) {
		check_len(c->attestation_object, c->attestation_object_len, WEBAUTHN_ATTESTATION_OBJECT_MAX);
		check_reencodes(response, "attestationObject", c->attestation_object, c->attestation_object_len);
		check_transports(c->transports);
		check_absent(c->auth_data, c->auth_data_len);
		check_absent(c->signature, c->signature_len);
		check_absent(c->user_handle, c->user_handle_len);
	} else {
		check_len(c->auth_data, c->auth_data_len, WEBAUTHN_AUTH_DATA_MAX);
		check_len(c->signature, c->signature_len, WEBAUTHN_SIGNATURE_MAX);
		check_reencodes(response, "signature", c->signature, c->signature_len);
		if (c->user_handle)
			check_len(c->user_handle, c->user_handle_len, WEBAUTHN_USER_HANDLE_MAX);
		else if (c->user_handle_len)
			abort();
		check_absent(c->attestation_object, c->attestation_object_len);
		if (c->transports[0])
			abort();
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webauthn_credential_json reg, asr;
	json_error_t err;
	json_t *root = json_loadb((const char *)data, size, 0, &err);

	if (!root)
		return 0;
	bool reg_ok = one(root, WEBAUTHN_CREDENTIAL_REGISTRATION, &reg);
	bool asr_ok = one(root, WEBAUTHN_CREDENTIAL_ASSERTION, &asr);
	if (reg_ok && asr_ok &&
	    (reg.id_len != asr.id_len || memcmp(reg.id, asr.id, reg.id_len) != 0 ||
	        reg.client_data_len != asr.client_data_len ||
	        memcmp(reg.client_data, asr.client_data, reg.client_data_len) != 0))
		abort();
	webauthn_credential_json_free(&reg);
	webauthn_credential_json_free(&asr);
	webauthn_credential_json_free(&reg); /* twice is harmless */
	json_decref(root);
	return 0;
}
