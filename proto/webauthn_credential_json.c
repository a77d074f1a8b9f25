/*
 * The browser's credential JSON: see webauthn_credential_json.h. Moved out of
 * workers/passkey_ceremony.c unchanged in behaviour and wording.
 */
#include "proto/webauthn_credential_json.h"
#include "proto/base64url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A base64url member of obj decoded into a fresh buffer (trailing '='
 * padding tolerated: some clients send it). NULL with *why set when it is
 * missing, not a string, malformed, empty or longer than max. */
static uint8_t *b64_member(const json_t *obj, const char *key, size_t max, size_t *len, const char **why)
{
	const json_t *v = json_object_get(obj, key);
	const char *text = json_is_string(v) ? json_string_value(v) : NULL;
	size_t n = text ? json_string_length(v) : 0;
	uint8_t *out;
	long got;

	*len = 0;
	while (n && text[n - 1] == '=')
		n--;
	if (!text || n == 0 || n > BASE64URL_ENCODED_LEN(max)) {
		*why = !text ? "a member is missing or not a string" : "a member is empty or too long";
		return NULL;
	}
	if (!(out = malloc(max ? max : 1))) {
		*why = "out of memory";
		return NULL;
	}
	if ((got = base64url_decode(text, n, out, max)) <= 0) {
		free(out);
		*why = "a member is not base64url";
		return NULL;
	}
	*len = (size_t)got;
	return out;
}

/* The common part of both response shapes: {id, rawId, type, response}.
 * The credential ID into id; the response object, borrowed from body. */
static const json_t *credential_envelope(const json_t *body, uint8_t id[WEBAUTHN_CREDENTIAL_ID_MAX], size_t *id_len,
    const char **why)
{
	const json_t *cred = json_object_get(body, "response");
	const json_t *type = json_object_get(cred, "type");
	const json_t *raw = json_object_get(cred, "rawId");
	const json_t *id_text = json_object_get(cred, "id");
	const json_t *response = json_object_get(cred, "response");
	size_t n;
	uint8_t *bytes;

	if (!json_is_object(cred) || !json_is_object(response)) {
		*why = "the body must be {\"response\": <the credential's JSON>}";
		return NULL;
	}
	if (!json_is_string(type) || strcmp(json_string_value(type), "public-key") != 0) {
		*why = "the credential's type must be \"public-key\"";
		return NULL;
	}
	if (!json_is_string(id_text) || (raw && !json_equal(raw, id_text))) {
		*why = "the credential's id and rawId must be one base64url string";
		return NULL;
	}
	if (!(bytes = b64_member(cred, "id", WEBAUTHN_CREDENTIAL_ID_MAX, &n, why)))
		return NULL;
	memcpy(id, bytes, n);
	*id_len = n;
	free(bytes);
	return response;
}

/* response.transports: the AuthenticatorTransport strings the browser
 * reported, comma-joined; unknown values are dropped (§5.8.4: future ones may
 * appear), a malformed list is refused. */
static bool take_transports(const json_t *response, char *out, size_t cap)
{
	static const char *const known[] = { "usb", "nfc", "ble", "smart-card", "hybrid", "internal", NULL };
	const json_t *list = json_object_get(response, "transports");
	size_t i, n = 0;
	const json_t *t;

	out[0] = '\0';
	if (!list)
		return true;
	if (!json_is_array(list) || json_array_size(list) > WEBAUTHN_TRANSPORTS_LIST_MAX)
		return false;
	json_array_foreach(list, i, t) {
		if (!json_is_string(t))
			return false;
		for (const char *const *k = known; *k; k++)
			if (!strcmp(json_string_value(t), *k) && !strstr(out, *k) && n < WEBAUTHN_TRANSPORTS_MAX) {
				size_t len = strlen(out);
				snprintf(out + len, cap - len, "%s%s", len ? "," : "", *k);
				n++;
			}
	}
	return true;
}

static const char *registration_members(const json_t *response, struct webauthn_credential_json *c)
{
	const char *why = NULL;

	if (!(c->client_data = b64_member(response, "clientDataJSON", WEBAUTHN_CLIENT_DATA_MAX, &c->client_data_len,
	          &why)) ||
	    !(c->attestation_object = b64_member(response, "attestationObject", WEBAUTHN_ATTESTATION_OBJECT_MAX,
	          &c->attestation_object_len, &why)))
		return why;
	if (!take_transports(response, c->transports, sizeof(c->transports)))
		return "response.transports must be an array of strings";
	return NULL;
}

static const char *assertion_members(const json_t *response, struct webauthn_credential_json *c)
{
	const char *why = NULL;

	if (!(c->client_data = b64_member(response, "clientDataJSON", WEBAUTHN_CLIENT_DATA_MAX, &c->client_data_len,
	          &why)) ||
	    !(c->auth_data = b64_member(response, "authenticatorData", WEBAUTHN_AUTH_DATA_MAX, &c->auth_data_len, &why)) ||
	    !(c->signature = b64_member(response, "signature", WEBAUTHN_SIGNATURE_MAX, &c->signature_len, &why)))
		return why;
	/* userHandle: absent, null or "" when the authenticator returns none */
	const json_t *handle = json_object_get(response, "userHandle");
	if (handle && !json_is_null(handle) && !(json_is_string(handle) && json_string_length(handle) == 0) &&
	    !(c->user_handle = b64_member(response, "userHandle", WEBAUTHN_USER_HANDLE_MAX, &c->user_handle_len, &why)))
		return why;
	return NULL;
}

const char *webauthn_credential_json_parse(const json_t *body, enum webauthn_credential_kind kind,
    struct webauthn_credential_json *out)
{
	const char *why = NULL;
	const json_t *response;

	memset(out, 0, sizeof(*out));
	if (!(response = credential_envelope(body, out->id, &out->id_len, &why)))
		goto refused;
	why = kind == WEBAUTHN_CREDENTIAL_REGISTRATION ? registration_members(response, out)
	                                               : assertion_members(response, out);
	if (!why)
		return NULL;
refused:
	webauthn_credential_json_free(out);
	return why ? why : "the credential is malformed";
}

void webauthn_credential_json_free(struct webauthn_credential_json *c)
{
	free(c->client_data);
	free(c->attestation_object);
	free(c->auth_data);
	free(c->signature);
	free(c->user_handle);
	memset(c, 0, sizeof(*c));
}
