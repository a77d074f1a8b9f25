/*
 * libFuzzer target for proto/webauthn_auth_data.c: each input is
 * authenticator data. An accepted one must account for every byte (37 +
 * attested credential data + extensions), keep its pointers inside the
 * input, respect the credential ID bound and the BE/BS rule; its COSE key
 * is then imported. The input also goes through webauthn_verify_assertion
 * as the authenticatorData of the W3C §16.2 assertion (fixed clientDataJSON,
 * signature and stored key), so the seed holding that vector's own
 * authenticator data verifies end to end. Links only da_proto. Seeds:
 * fuzz/corpus/fuzz_webauthn_auth_data/ (written by
 * tests/unit/test_webauthn_auth_data.c).
 */
#include "proto/webauthn.h"

#include <stdlib.h>
#include <string.h>

/* W3C WebAuthn L3 §16.2 (none, ES256), authentication. */
static const uint8_t spec_challenge[32] = {
	0x39, 0xc0, 0xe7, 0x52, 0x14, 0x17, 0xba, 0x54, 0xd4, 0x3e, 0x8d, 0xc9, 0x51, 0x74, 0xf4, 0x23,
	0xde, 0xe9, 0xbf, 0x3c, 0xd8, 0x04, 0xff, 0x6d, 0x65, 0xc8, 0x57, 0xc9, 0xab, 0xf4, 0xd4, 0x08,
};
static const char spec_client_data[] =
	"{\"type\":\"webauthn.get\",\"challenge\":\"OcDnUhQXulTUPo3JUXT0I97pvzzYBP9tZchXyav01Ag\","
	"\"origin\":\"https://example.org\",\"crossOrigin\":false}";
static const uint8_t spec_signature[] = {
	0x30, 0x46, 0x02, 0x21, 0x00, 0xf5, 0x0a, 0x4e, 0x2e, 0x44, 0x09, 0x24, 0x9c, 0x4a, 0x85, 0x3b, 0xa3, 0x61,
	0x28, 0x2f, 0x09, 0x84, 0x1d, 0xf4, 0xdd, 0x45, 0x47, 0xa1, 0x3a, 0x87, 0x78, 0x02, 0x18, 0xde, 0xff, 0xcd,
	0x38, 0x02, 0x21, 0x00, 0x84, 0x80, 0xac, 0x0f, 0x0b, 0x93, 0x53, 0x81, 0x74, 0xf5, 0x75, 0xbf, 0x11, 0xa1,
	0xdd, 0x5d, 0x78, 0xc6, 0xe4, 0x86, 0x01, 0x3f, 0x93, 0x72, 0x95, 0xea, 0x13, 0x65, 0x3e, 0x33, 0x1e, 0x87,
};
static const uint8_t spec_public_key[] = {
	0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20, 0xaf, 0xef, 0xa1, 0x6f, 0x97, 0xca, 0x9b, 0x2d,
	0x23, 0xeb, 0x86, 0xcc, 0xb6, 0x40, 0x98, 0xd2, 0x0d, 0xb9, 0x08, 0x56, 0x06, 0x2e, 0xb2, 0x49, 0xc3, 0x3a,
	0x9b, 0x67, 0x2f, 0x26, 0xdf, 0x61, 0x22, 0x58, 0x20, 0x93, 0x0a, 0x56, 0xb8, 0x7a, 0x2f, 0xca, 0x66, 0x33,
	0x4b, 0x03, 0x45, 0x8a, 0xbf, 0x87, 0x97, 0x17, 0xc1, 0x2c, 0xc6, 0x8e, 0xd7, 0x32, 0x90, 0xaf, 0x2e, 0x26,
	0x64, 0x79, 0x6b, 0x92, 0x20,
};
static const char *const origins[] = { "https://example.org" };

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static void check_parsed(const uint8_t *data, size_t size, const struct webauthn_auth_data *ad)
{
	size_t accounted = 37;
	EVP_PKEY *key = NULL;

	if ((ad->flags & WEBAUTHN_FLAG_BS) && !(ad->flags & WEBAUTHN_FLAG_BE))
		abort();
	if (ad->flags & WEBAUTHN_FLAG_AT) {
		if (ad->credential_id_len < 1 || ad->credential_id_len > WEBAUTHN_CREDENTIAL_ID_MAX ||
		    !inside(ad->credential_id, ad->credential_id_len, data, size) || ad->public_key_len == 0 ||
		    ad->public_key != ad->credential_id + ad->credential_id_len ||
		    !inside(ad->public_key, ad->public_key_len, data, size))
			abort();
		accounted += 18 + ad->credential_id_len + ad->public_key_len;
		(void)cose_key_import(ad->public_key, ad->public_key_len, NULL, &key);
		EVP_PKEY_free(key);
	} else if (ad->credential_id || ad->public_key) {
		abort();
	}
	if (ad->flags & WEBAUTHN_FLAG_ED) {
		if (ad->extensions != data + accounted || !inside(ad->extensions, ad->extensions_len, data, size))
			abort();
		accounted += ad->extensions_len;
	} else if (ad->extensions) {
		abort();
	}
	if (accounted != size || memcmp(ad->rp_id_hash, data, 32) != 0)
		abort();
}

static void verify_as_spec_assertion(const uint8_t *data, size_t size)
{
	struct webauthn_assertion_input in = {
		.client_data_json = (const uint8_t *)spec_client_data, .client_data_json_len = strlen(spec_client_data),
		.authenticator_data = data, .authenticator_data_len = size,
		.signature = spec_signature, .signature_len = sizeof(spec_signature),
		.expect = { .challenge = spec_challenge, .challenge_len = sizeof(spec_challenge), .rp_id = "example.org",
			.origins = origins, .origin_count = 1 },
		.stored = { .public_key = spec_public_key, .public_key_len = sizeof(spec_public_key),
			.alg = COSE_ALG_ES256 },
	};
	struct webauthn_assertion_result res;
	char err[128];

	if (webauthn_verify_assertion(&in, &res, err, sizeof(err)) == WEBAUTHN_OK &&
	    (size != 37 || res.sign_count != 0 || res.counter_regressed))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webauthn_auth_data ad;

	if (webauthn_auth_data_parse(data, size, &ad) == WEBAUTHN_OK)
		check_parsed(data, size, &ad);
	verify_as_spec_assertion(data, size);
	return 0;
}
