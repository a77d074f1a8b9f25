/*
 * libFuzzer target for proto/webauthn_client_data.c: each input is a
 * clientDataJSON. Accepted ones must carry the three required strings, and
 * are then checked for both ceremonies against fixed expectations (the
 * challenge of the W3C §16.2 vectors, two origins, one framing origin),
 * with and without cross-origin permission; whatever passes must really
 * carry that challenge and a listed origin. Links only da_proto. Seeds:
 * fuzz/corpus/fuzz_webauthn_client_data/ (written by
 * tests/unit/test_webauthn_client_data.c).
 */
#include "proto/webauthn.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t challenge[32] = {
	0x00, 0xc3, 0x0f, 0xb7, 0x85, 0x31, 0xc4, 0x64, 0xd2, 0xb6, 0x77, 0x1d, 0xab, 0x8d, 0x7b, 0x60,
	0x3c, 0x01, 0x16, 0x2f, 0x2f, 0xa4, 0x86, 0xbe, 0xa7, 0x0f, 0x28, 0x3a, 0xe5, 0x56, 0xe1, 0x30,
};
static const char challenge_b64[] = "AMMPt4UxxGTStncdq417YDwBFi8vpIa-pw8oOuVW4TA";
static const char *const origins[] = { "https://login.example.org", "https://example.org" };
static const char *const top_origins[] = { "https://example.com" };

static void check_verdict(const struct webauthn_client_data *cd, enum webauthn_ceremony ceremony, bool cross)
{
	struct webauthn_expectations e = {
		.challenge = challenge, .challenge_len = sizeof(challenge), .rp_id = "example.org",
		.origins = origins, .origin_count = 2, .allow_cross_origin = cross,
		.top_origins = top_origins, .top_origin_count = 1,
	};

	if (webauthn_client_data_verify(cd, ceremony, &e) != WEBAUTHN_OK)
		return;
	if (strcmp(cd->type, ceremony == WEBAUTHN_CEREMONY_CREATE ? "webauthn.create" : "webauthn.get") != 0)
		abort();
	if (strcmp(cd->challenge, challenge_b64) != 0 ||
	    (strcmp(cd->origin, origins[0]) != 0 && strcmp(cd->origin, origins[1]) != 0))
		abort();
	if (!cross && (cd->cross_origin || cd->top_origin))
		abort();
	if (cd->top_origin && strcmp(cd->top_origin, top_origins[0]) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webauthn_client_data cd;

	if (webauthn_client_data_parse(data, size, &cd) != WEBAUTHN_OK) {
		if (cd.root)
			abort();
		return 0;
	}
	if (!cd.root || !cd.type || !cd.challenge || !cd.origin)
		abort();
	check_verdict(&cd, WEBAUTHN_CEREMONY_CREATE, false);
	check_verdict(&cd, WEBAUTHN_CEREMONY_CREATE, true);
	check_verdict(&cd, WEBAUTHN_CEREMONY_GET, false);
	check_verdict(&cd, WEBAUTHN_CEREMONY_GET, true);
	webauthn_client_data_free(&cd);
	return 0;
}
