/*
 * The browser's credential JSON (PublicKeyCredential.toJSON(), WebAuthn L3
 * §5.1.8/§5.1.9) as posted to the two verify endpoints: the request body
 * {"response": {id, rawId, type, response: {...}}} (already parsed, e.g. by
 * json_body_parse), its base64url members decoded into byte buffers under
 * fixed maxima. Pure: no I/O, no globals; only what the body holds is read.
 *
 * Both ceremonies: type "public-key"; id a base64url string, rawId absent or
 * the same string; response an object; response.clientDataJSON.
 * Registration (AuthenticatorAttestationResponse): attestationObject, and
 * transports (absent, or an array of at most 16 strings; the known
 * AuthenticatorTransport values kept, comma-joined, unknown ones dropped per
 * §5.8.4). Assertion (AuthenticatorAssertionResponse): authenticatorData,
 * signature, and userHandle (absent, null or "" for none).
 * Members of the other response shape are not read.
 *
 * base64url members: trailing '=' padding tolerated; missing, non-string,
 * empty, over-long or malformed ones are refused.
 */
#ifndef DREAMAUTH_WEBAUTHN_CREDENTIAL_JSON_H
#define DREAMAUTH_WEBAUTHN_CREDENTIAL_JSON_H
#include "proto/webauthn.h"

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define WEBAUTHN_USER_HANDLE_MAX 64	/* §5.4.3: at most 64 bytes */
#define WEBAUTHN_TRANSPORTS_MAX 8	/* distinct known transports kept */
#define WEBAUTHN_TRANSPORTS_LIST_MAX 16	/* array entries accepted */
#define WEBAUTHN_TRANSPORTS_TEXT_MAX 128	/* the comma-joined text, with its NUL */

enum webauthn_credential_kind {
	WEBAUTHN_CREDENTIAL_REGISTRATION,	/* navigator.credentials.create() */
	WEBAUTHN_CREDENTIAL_ASSERTION,		/* navigator.credentials.get() */
};

struct webauthn_credential_json {
	uint8_t id[WEBAUTHN_CREDENTIAL_ID_MAX];		/* the decoded id (== rawId) */
	size_t id_len;					/* 1..WEBAUTHN_CREDENTIAL_ID_MAX */
	uint8_t *client_data;				/* 1..WEBAUTHN_CLIENT_DATA_MAX bytes */
	size_t client_data_len;
	/* registration only (NULL / "" for an assertion) */
	uint8_t *attestation_object;			/* 1..WEBAUTHN_ATTESTATION_OBJECT_MAX */
	size_t attestation_object_len;
	char transports[WEBAUTHN_TRANSPORTS_TEXT_MAX];	/* e.g. "usb,nfc"; "" when none */
	/* assertion only (NULL for a registration) */
	uint8_t *auth_data;				/* 1..WEBAUTHN_AUTH_DATA_MAX */
	size_t auth_data_len;
	uint8_t *signature;				/* 1..WEBAUTHN_SIGNATURE_MAX */
	size_t signature_len;
	uint8_t *user_handle;				/* NULL when none; else 1..USER_HANDLE_MAX */
	size_t user_handle_len;
};

/* Fills *out from body (the request's root object). NULL on success (free
 * *out with webauthn_credential_json_free), else a static English reason, the
 * text the endpoints send as error_description, with *out left holding no
 * allocation (freeing it again is harmless). */
const char *webauthn_credential_json_parse(const json_t *body, enum webauthn_credential_kind kind,
    struct webauthn_credential_json *out);
/* Frees the buffers and zeroes *c. */
void webauthn_credential_json_free(struct webauthn_credential_json *c);
#endif
