/*
 * libFuzzer target for attestation objects: webauthn_verify_registration
 * (proto/webauthn_verify.c, webauthn_attestation.c, webauthn_certificate.c,
 * and everything under them) with the input as attestationObject and every
 * other input fixed: the clientDataJSON, challenge, RP ID and origin that
 * tests/unit/test_webauthn_registration.c signs its seeds with, and as
 * trust anchors the W3C §16.1 root and that test's deterministic root. Both
 * policies run; an accepted registration must describe a credential that
 * lies inside the input and whose key loads back from the stored bytes.
 * Links only da_proto. Seeds: fuzz/corpus/fuzz_webauthn_attestation/.
 */
#include "proto/webauthn.h"
#include "proto/hex.h"

#include <stdlib.h>
#include <string.h>

#define VERIFY_TIME 1750000000	/* 2025-06-15, as in the unit test */

static const uint8_t challenge[32] = "registration challenge, 32 byte";
static const char client_data[] =
	"{\"type\":\"webauthn.create\",\"challenge\":\"cmVnaXN0cmF0aW9uIGNoYWxsZW5nZSwgMzIgYnl0ZQA\","
	"\"origin\":\"https://example.org\",\"crossOrigin\":false}";
static const char *const origins[] = { "https://example.org" };

/* W3C WebAuthn L3 §16.1 attestation root. */
static const char spec_root[] =
	"30820207308201ada003020102021100ed7f905d8bd0b414d1784913170a90b6300a06082a8648ce3d0403023062311e301c0603"
	"5504030c15576562417574686e207465737420766563746f7273310c300a060355040a0c0357334331253023060355040b0c1c4175"
	"7468656e74696361746f72204174746573746174696f6e204341310b30090603550406130241413020170d32343031303130303030"
	"30305a180f33303234303130313030303030305a3062311e301c06035504030c15576562417574686e207465737420766563746f72"
	"73310c300a060355040a0c0357334331253023060355040b0c1c41757468656e74696361746f72204174746573746174696f6e2043"
	"41310b30090603550406130241413059301306072a8648ce3d020106082a8648ce3d030107034200043269300e5ff7b699015f70cf"
	"80a8763bf705bc2e2af0c1b39cff718b7c35880ca30f319078d91b03389a006fdfc8a1dcd84edfa07d30aa13474a248a0dab5baaa3"
	"423040300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020106301d0603551d0e0416041445aff715b0dd"
	"786741fee996ebc16547a3931b1e300a06082a8648ce3d04030203480030450220483063b6bb08dcc83da33a02c11d2f4220317689"
	"3554d138c614a36908724cc8022100f5ef2c912d4500b3e2f5b591d0622491e9f220dfd1f9734ec484bb7e90887663";
/* The root of tests/unit/test_webauthn_registration.c (test_root_der there). */
static const char test_root[] =
	"308201a030820152a003020102020101300506032b6570306e310b300906035504061302414131183016060355040a0c0f647265"
	"616d6175746820746573747331253023060355040b0c1c41757468656e74696361746f72204174746573746174696f6e20434131"
	"1e301c06035504030c1554657374204174746573746174696f6e20526f6f743020170d3234303130313030303030305a180f3231"
	"3030303130313030303030305a306e310b300906035504061302414131183016060355040a0c0f647265616d6175746820746573"
	"747331253023060355040b0c1c41757468656e74696361746f72204174746573746174696f6e204341311e301c06035504030c15"
	"54657374204174746573746174696f6e20526f6f74302a300506032b6570032100b1a4ad1a513cddc49d0da389204d16bab8db30"
	"888746ba59a40394e98395f9daa3133011300f0603551d130101ff040530030101ff300506032b6570034100ee24d41ba4a1fee6"
	"e216d8a66aace04f736a97d8d84c0339508c2d5352eb8a700bb695375b2bafa50895d6e8899120cf66d60963802c398f494b413e"
	"5d9d310e";

static X509_STORE *anchors;

static X509 *certificate_from_hex(const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *der = malloc(n);
	const unsigned char *p = der;
	X509 *cert;

	for (size_t i = 0; i < n; i++)
		der[i] = (uint8_t)(hex_value((unsigned char)hex[2 * i]) << 4 | hex_value((unsigned char)hex[2 * i + 1]));
	cert = d2i_X509(NULL, &p, (long)n);
	free(der);
	return cert;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	X509 *roots[] = { certificate_from_hex(spec_root), certificate_from_hex(test_root) };

	anchors = X509_STORE_new();
	for (size_t i = 0; i < 2; i++) {
		if (!roots[i] || X509_STORE_add_cert(anchors, roots[i]) != 1)
			abort();
		X509_free(roots[i]);
	}
	return 0;
}

static void check_credential(const uint8_t *data, size_t size, const struct webauthn_credential *cred)
{
	EVP_PKEY *key = NULL;

	if (cred->id_len < 1 || cred->id_len > WEBAUTHN_CREDENTIAL_ID_MAX || !memmem(data, size, cred->id, cred->id_len))
		abort();
	if (!memmem(data, size, cred->public_key, cred->public_key_len) ||
	    cose_key_load_stored(cred->public_key, cred->public_key_len, cred->alg, &key) != WEBAUTHN_OK)
		abort();
	EVP_PKEY_free(key);
	if (cred->extensions && (cred->extensions < data || cred->extensions + cred->extensions_len > data + size))
		abort();
	if (!webauthn_identifier_valid((const uint8_t *)cred->fmt, strlen(cred->fmt)))
		abort();
}

static void verify(const uint8_t *data, size_t size, enum webauthn_attestation_policy policy)
{
	struct webauthn_registration_input in = {
		.client_data_json = (const uint8_t *)client_data, .client_data_json_len = strlen(client_data),
		.attestation_object = data, .attestation_object_len = size,
		.expect = { .challenge = challenge, .challenge_len = sizeof(challenge), .rp_id = "example.org",
			.origins = origins, .origin_count = 1 },
		.policy = policy, .trust_anchors = anchors, .verify_time = VERIFY_TIME,
	};
	struct webauthn_credential cred;
	char err[160];

	if (webauthn_verify_registration(&in, &cred, err, sizeof(err)) != WEBAUTHN_OK)
		return;
	check_credential(data, size, &cred);
	if (policy == WEBAUTHN_POLICY_REQUIRE_TRUSTED && cred.attestation_type != WEBAUTHN_ATTESTATION_BASIC)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify(data, size, WEBAUTHN_POLICY_ACCEPT_UNVERIFIED);
	verify(data, size, WEBAUTHN_POLICY_REQUIRE_TRUSTED);
	return 0;
}
