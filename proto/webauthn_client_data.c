/*
 * clientDataJSON (WebAuthn §5.8.1 CollectedClientData): parsing, and the
 * checks §7.1 and §7.2 make on it (see webauthn.h). Called by
 * webauthn_verify.c for both ceremonies; fuzzed by
 * fuzz/fuzz_webauthn_client_data.c.
 *
 * Parsing goes through proto/json_body.c (jansson: UTF-8 validated, no
 * duplicate keys, no NUL in strings, bounded depth) under a tighter size cap.
 * The challenge is compared the way the specification words it: the issued
 * bytes are base64url-encoded and the two strings compared, here in constant
 * time.
 */
#include "proto/webauthn.h"
#include "proto/base64url.h"
#include "proto/json_body.h"

#include <string.h>
#include <openssl/crypto.h>

#define TYPE_MAX 64
#define CHALLENGE_TEXT_MAX 1024
#define ORIGIN_MAX 2048

static const uint8_t utf8_bom[] = { 0xef, 0xbb, 0xbf };

/* A required string member, or NULL (missing, wrong type, NUL inside, too long). */
static const char *required_string(const json_t *root, const char *key, size_t max_len)
{
	return json_body_string(root, key, max_len, NULL);
}

/* An optional string member: 0 with *out NULL when absent, -1 when present
 * but not an acceptable string. */
static int optional_string(const json_t *root, const char *key, size_t max_len, const char **out)
{
	bool present = false;

	*out = json_body_string(root, key, max_len, &present);
	return present && !*out ? -1 : 0;
}

static enum webauthn_error read_members(struct webauthn_client_data *cd)
{
	cd->type = required_string(cd->root, "type", TYPE_MAX);
	cd->challenge = required_string(cd->root, "challenge", CHALLENGE_TEXT_MAX);
	cd->origin = required_string(cd->root, "origin", ORIGIN_MAX);
	if (!cd->type || !cd->challenge || !cd->origin)
		return WEBAUTHN_ERR_CLIENT_DATA_MEMBER;
	if (json_body_bool(cd->root, "crossOrigin", false, &cd->cross_origin) < 0)
		return WEBAUTHN_ERR_CLIENT_DATA_MEMBER;
	if (optional_string(cd->root, "topOrigin", ORIGIN_MAX, &cd->top_origin) < 0)
		return WEBAUTHN_ERR_CLIENT_DATA_MEMBER;
	return WEBAUTHN_OK;
}

enum webauthn_error webauthn_client_data_parse(const uint8_t *json, size_t len, struct webauthn_client_data *out)
{
	enum webauthn_error rc;

	if (!out)
		return WEBAUTHN_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (!json)
		return WEBAUTHN_ERR_ARGUMENT;
	if (len > WEBAUTHN_CLIENT_DATA_MAX)
		return WEBAUTHN_ERR_CLIENT_DATA_TOO_LARGE;
	/* "UTF-8 decode" strips a leading byte order mark (§7.1, §7.2). */
	if (len >= sizeof(utf8_bom) && memcmp(json, utf8_bom, sizeof(utf8_bom)) == 0) {
		json += sizeof(utf8_bom);
		len -= sizeof(utf8_bom);
	}
	out->root = json_body_parse((const char *)json, len, NULL);
	if (!out->root)
		return WEBAUTHN_ERR_CLIENT_DATA_MALFORMED;
	rc = read_members(out);
	if (rc != WEBAUTHN_OK)
		webauthn_client_data_free(out);
	return rc;
}

void webauthn_client_data_free(struct webauthn_client_data *cd)
{
	if (!cd)
		return;
	json_decref(cd->root);
	memset(cd, 0, sizeof(*cd));
}

static bool string_listed(const char *s, const char *const *list, size_t count)
{
	for (size_t i = 0; list && i < count; i++)
		if (list[i] && strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Constant-time: equal lengths and equal bytes of the encoded challenge. */
static bool challenge_matches(const char *sent, const uint8_t *issued, size_t issued_len)
{
	char expected[BASE64URL_ENCODED_LEN(WEBAUTHN_CHALLENGE_MAX) + 1];
	size_t expected_len = base64url_encode(issued, issued_len, expected);
	size_t sent_len = strlen(sent);

	return sent_len == expected_len && CRYPTO_memcmp(sent, expected, expected_len) == 0;
}

static bool expectations_usable(const struct webauthn_expectations *e)
{
	return e && e->challenge && e->challenge_len >= WEBAUTHN_CHALLENGE_MIN &&
	       e->challenge_len <= WEBAUTHN_CHALLENGE_MAX && e->origins && e->origin_count > 0;
}

/* Cross-origin use (§5.8.1 crossOrigin, topOrigin): a topOrigin means the
 * ceremony ran in a frame, so it needs the same permission as crossOrigin,
 * and the framing page must be one the relying party lists. */
static enum webauthn_error framing_allowed(const struct webauthn_client_data *cd,
    const struct webauthn_expectations *expect)
{
	if ((cd->cross_origin || cd->top_origin) && !expect->allow_cross_origin)
		return WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED;
	if (cd->top_origin && !string_listed(cd->top_origin, expect->top_origins, expect->top_origin_count))
		return WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED;
	return WEBAUTHN_OK;
}

enum webauthn_error webauthn_client_data_verify(const struct webauthn_client_data *cd, enum webauthn_ceremony ceremony,
    const struct webauthn_expectations *expect)
{
	const char *type = ceremony == WEBAUTHN_CEREMONY_CREATE ? "webauthn.create" : "webauthn.get";

	if (!cd || !cd->root || !expectations_usable(expect))
		return WEBAUTHN_ERR_ARGUMENT;
	if (strcmp(cd->type, type) != 0)
		return WEBAUTHN_ERR_TYPE_MISMATCH;
	if (!challenge_matches(cd->challenge, expect->challenge, expect->challenge_len))
		return WEBAUTHN_ERR_CHALLENGE_MISMATCH;
	if (!string_listed(cd->origin, expect->origins, expect->origin_count))
		return WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED;
	return framing_allowed(cd, expect);
}
