/*
 * Authenticator data (WebAuthn §6.1) and attested credential data (§6.5.1):
 * a byte layout with two CBOR parts whose lengths are only known by walking
 * them (see webauthn_auth_data_parse in webauthn.h). Called by
 * webauthn_verify.c for both ceremonies; fuzzed by
 * fuzz/fuzz_webauthn_auth_data.c.
 *
 *   rpIdHash 32 | flags 1 | signCount 4 (big-endian)
 *   [AT] aaguid 16 | credentialIdLength 2 (big-endian) | credentialId L | COSE_Key
 *   [ED] extensions: CBOR map, text identifiers -> outputs
 */
#include "proto/webauthn.h"
#include "proto/cbor_strict.h"

#include <string.h>

#define AUTH_DATA_FIXED_LEN 37
#define ATTESTED_FIXED_LEN (WEBAUTHN_AAGUID_LEN + 2)
#define EXTENSIONS_MAX_PAIRS 64
#define IDENTIFIER_MAX 32
#define CBOR_MAJOR_MAP 5

struct byte_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

static size_t bytes_left(const struct byte_reader *r)
{
	return r->len - r->pos;
}

static const uint8_t *take(struct byte_reader *r, size_t n)
{
	const uint8_t *at = r->data + r->pos;

	r->pos += n;
	return at;
}

bool webauthn_identifier_valid(const uint8_t *s, size_t len)
{
	if (len == 0 || len > IDENTIFIER_MAX)
		return false;
	/* VCHAR (0x21..0x7e) without '"' and '\' (§8.1, §9.1). */
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool extension_keys_are_identifiers(const cbor_item_t *map)
{
	struct cbor_pair *pairs = cbor_map_handle(map);

	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (!webauthn_identifier_valid(cbor_string_handle(pairs[i].key), cbor_string_length(pairs[i].key)))
			return false;
	return true;
}

/* The COSE_Key: one well-formed CBOR map; its encoded length is measured
 * here, its content judged later by cose_key_import(). */
static enum webauthn_error read_public_key(struct byte_reader *r, struct webauthn_auth_data *out)
{
	size_t n;

	if (bytes_left(r) == 0)
		return WEBAUTHN_ERR_AUTH_DATA_MALFORMED;
	if (r->data[r->pos] >> 5 != CBOR_MAJOR_MAP || cbor_strict_measure(r->data + r->pos, bytes_left(r), &n) < 0)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	if (n > WEBAUTHN_COSE_KEY_MAX)
		return WEBAUTHN_ERR_COSE_KEY_MALFORMED;
	out->public_key_len = n;
	out->public_key = take(r, n);
	return WEBAUTHN_OK;
}

static enum webauthn_error read_attested_credential(struct byte_reader *r, struct webauthn_auth_data *out)
{
	const uint8_t *head;
	size_t id_len;

	if (bytes_left(r) < ATTESTED_FIXED_LEN)
		return WEBAUTHN_ERR_AUTH_DATA_MALFORMED;
	head = take(r, ATTESTED_FIXED_LEN);
	memcpy(out->aaguid, head, WEBAUTHN_AAGUID_LEN);
	id_len = (size_t)head[WEBAUTHN_AAGUID_LEN] << 8 | head[WEBAUTHN_AAGUID_LEN + 1];
	if (id_len == 0 || id_len > WEBAUTHN_CREDENTIAL_ID_MAX)
		return WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH;
	if (bytes_left(r) < id_len)
		return WEBAUTHN_ERR_AUTH_DATA_MALFORMED;
	out->credential_id_len = id_len;
	out->credential_id = take(r, id_len);
	return read_public_key(r, out);
}

/* Extension outputs: a map keyed by extension identifiers (§9.1), each at
 * most once. The outputs themselves are the caller's to interpret. */
static enum webauthn_error read_extensions(struct byte_reader *r, struct webauthn_auth_data *out)
{
	cbor_item_t *map;
	size_t n = 0;
	bool ok;

	if (bytes_left(r) == 0)
		return WEBAUTHN_ERR_AUTH_DATA_MALFORMED;
	map = cbor_strict_load_prefix(r->data + r->pos, bytes_left(r), &n);
	if (!map)
		return WEBAUTHN_ERR_EXTENSIONS_MALFORMED;
	ok = cbor_strict_map_keys_valid(map, EXTENSIONS_MAX_PAIRS, false, true) && extension_keys_are_identifiers(map);
	cbor_decref(&map);
	if (!ok)
		return WEBAUTHN_ERR_EXTENSIONS_MALFORMED;
	out->extensions_len = n;
	out->extensions = take(r, n);
	return WEBAUTHN_OK;
}

static void read_fixed_part(struct byte_reader *r, struct webauthn_auth_data *out)
{
	const uint8_t *fixed = take(r, AUTH_DATA_FIXED_LEN);

	memcpy(out->rp_id_hash, fixed, WEBAUTHN_RP_ID_HASH_LEN);
	out->flags = fixed[32];
	out->sign_count = (uint32_t)fixed[33] << 24 | (uint32_t)fixed[34] << 16 | (uint32_t)fixed[35] << 8 | fixed[36];
}

enum webauthn_error webauthn_auth_data_parse(const uint8_t *data, size_t len, struct webauthn_auth_data *out)
{
	struct byte_reader r = { data, len, 0 };
	enum webauthn_error rc = WEBAUTHN_OK;

	if (!out)
		return WEBAUTHN_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (!data || len < AUTH_DATA_FIXED_LEN || len > WEBAUTHN_AUTH_DATA_MAX)
		return WEBAUTHN_ERR_AUTH_DATA_MALFORMED;
	read_fixed_part(&r, out);
	/* §6.1.3: "backed up" without "backup eligible" is not allowed. */
	if ((out->flags & WEBAUTHN_FLAG_BS) && !(out->flags & WEBAUTHN_FLAG_BE))
		rc = WEBAUTHN_ERR_FLAGS_INCONSISTENT;
	if (rc == WEBAUTHN_OK && (out->flags & WEBAUTHN_FLAG_AT))
		rc = read_attested_credential(&r, out);
	if (rc == WEBAUTHN_OK && (out->flags & WEBAUTHN_FLAG_ED))
		rc = read_extensions(&r, out);
	if (rc == WEBAUTHN_OK && bytes_left(&r) != 0)
		rc = WEBAUTHN_ERR_AUTH_DATA_TRAILING;
	if (rc != WEBAUTHN_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
