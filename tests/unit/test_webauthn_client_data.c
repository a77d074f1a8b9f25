/*
 * Unit tests for proto/webauthn_client_data.c: clientDataJSON parsing
 * (members, unknown members, byte order mark, size cap, invalid UTF-8,
 * duplicate keys, wrong types) and the ceremony checks (type, challenge,
 * origin list, crossOrigin, topOrigin), including the W3C test vectors'
 * clientDataJSON. Writes fuzz/corpus/fuzz_webauthn_client_data seeds when
 * DREAMAUTH_WEBAUTHN_CORPUS is set.
 */
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

static const uint8_t challenge[32] = {
	0x00, 0xc3, 0x0f, 0xb7, 0x85, 0x31, 0xc4, 0x64, 0xd2, 0xb6, 0x77, 0x1d, 0xab, 0x8d, 0x7b, 0x60,
	0x3c, 0x01, 0x16, 0x2f, 0x2f, 0xa4, 0x86, 0xbe, 0xa7, 0x0f, 0x28, 0x3a, 0xe5, 0x56, 0xe1, 0x30,
};
static const char *const origins[] = { "https://login.example.org", T_ORIGIN };
static const char *const top_origins[] = { "https://example.com" };

/* W3C WebAuthn L3 §16.2 (none, ES256) registration clientDataJSON, whose
 * challenge is the one above; it carries an unknown "extraData" member. */
static const char spec_none_create[] =
	"7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a22414d4d507434557878475453746e6364"
	"7134313759447742466938767049612d7077386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578616d706c652e"
	"6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d"
	"617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c2073"
	"75636820617320746869733a20426b5165446a646354427258426941774a544c453551227d";

static struct webauthn_expectations expectations(void)
{
	return (struct webauthn_expectations){
		.challenge = challenge, .challenge_len = sizeof(challenge), .rp_id = T_RP_ID,
		.origins = origins, .origin_count = 2, .top_origins = top_origins, .top_origin_count = 1,
	};
}

static enum webauthn_error parse_text(const char *text, struct webauthn_client_data *cd)
{
	return webauthn_client_data_parse((const uint8_t *)text, strlen(text), cd);
}

/* Parses and verifies text as a "create" against e. */
static enum webauthn_error check_text(const char *text, const struct webauthn_expectations *e)
{
	struct webauthn_client_data cd;
	enum webauthn_error rc = parse_text(text, &cd);

	if (rc == WEBAUTHN_OK)
		rc = webauthn_client_data_verify(&cd, WEBAUTHN_CEREMONY_CREATE, e);
	webauthn_client_data_free(&cd);
	return rc;
}

/* A well-formed "create" with this origin and tail. */
static enum webauthn_error check_built(const char *origin, const char *tail, const struct webauthn_expectations *e)
{
	struct tbuf b = t_client_data("webauthn.create", challenge, sizeof(challenge), origin, tail);
	enum webauthn_error rc = check_text((const char *)b.data, e);

	tbuf_free(&b);
	return rc;
}

static void test_parse_members(void)
{
	struct tbuf b = t_client_data("webauthn.get", challenge, sizeof(challenge), T_ORIGIN, ",\"extra\":[1,{\"a\":2}]");
	struct webauthn_client_data cd;

	CHECK_EQ_INT(webauthn_client_data_parse(b.data, b.len, &cd), WEBAUTHN_OK);
	CHECK_EQ_STR(cd.type, "webauthn.get");
	CHECK_EQ_STR(cd.challenge, "AMMPt4UxxGTStncdq417YDwBFi8vpIa-pw8oOuVW4TA");
	CHECK_EQ_STR(cd.origin, T_ORIGIN);
	CHECK(!cd.cross_origin && cd.top_origin == NULL);
	webauthn_client_data_free(&cd);
	CHECK(cd.root == NULL);
	t_write_seed("fuzz_webauthn_client_data", "get_unknown_members", b.data, b.len);
	tbuf_free(&b);

	CHECK_EQ_INT(parse_text("{\"type\":\"t\",\"challenge\":\"c\",\"origin\":\"o\",\"crossOrigin\":true,"
	    "\"topOrigin\":\"https://example.com\"}", &cd), WEBAUTHN_OK);
	CHECK(cd.cross_origin);
	CHECK_EQ_STR(cd.top_origin, "https://example.com");
	webauthn_client_data_free(&cd);
}

static void test_parse_refusals(void)
{
	static const struct {
		const char *text;
		enum webauthn_error rc;
	} cases[] = {
		{ "", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "[]", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\"} x", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\\u0000d\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"\\ud800\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"\xff\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"\xc0\xaf\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"\xed\xa0\x80\"}", WEBAUTHN_ERR_CLIENT_DATA_MALFORMED },
		{ "{\"challenge\":\"b\",\"origin\":\"c\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"origin\":\"c\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"challenge\":\"b\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"challenge\":42,\"origin\":\"c\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":null,\"challenge\":\"b\",\"origin\":\"c\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\",\"crossOrigin\":\"false\"}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\",\"crossOrigin\":0}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
		{ "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\",\"topOrigin\":5}", WEBAUTHN_ERR_CLIENT_DATA_MEMBER },
	};
	static const char small_object[] = "{\"type\":\"a\",\"challenge\":\"b\",\"origin\":\"c\"}";
	struct webauthn_client_data cd;
	char *big;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ_INT(parse_text(cases[i].text, &cd), cases[i].rc);
		CHECK(cd.root == NULL);
	}
	/* The size cap, just over and just under. */
	big = malloc(WEBAUTHN_CLIENT_DATA_MAX + 2);
	memset(big, ' ', WEBAUTHN_CLIENT_DATA_MAX + 1);
	memcpy(big, small_object, strlen(small_object));
	CHECK_EQ_INT(webauthn_client_data_parse((const uint8_t *)big, WEBAUTHN_CLIENT_DATA_MAX + 1, &cd),
	    WEBAUTHN_ERR_CLIENT_DATA_TOO_LARGE);
	CHECK_EQ_INT(webauthn_client_data_parse((const uint8_t *)big, WEBAUTHN_CLIENT_DATA_MAX, &cd), WEBAUTHN_OK);
	webauthn_client_data_free(&cd);
	free(big);
	CHECK_EQ_INT(webauthn_client_data_parse(NULL, 0, &cd), WEBAUTHN_ERR_ARGUMENT);
}

static void test_byte_order_mark(void)
{
	struct tbuf plain = t_client_data("webauthn.create", challenge, sizeof(challenge), T_ORIGIN, NULL);
	uint8_t *with_bom = malloc(plain.len + 6);
	struct webauthn_client_data cd;
	struct webauthn_expectations e = expectations();

	memcpy(with_bom, "\xef\xbb\xbf", 3);
	memcpy(with_bom + 3, plain.data, plain.len);
	CHECK_EQ_INT(webauthn_client_data_parse(with_bom, plain.len + 3, &cd), WEBAUTHN_OK);
	CHECK_EQ_INT(webauthn_client_data_verify(&cd, WEBAUTHN_CEREMONY_CREATE, &e), WEBAUTHN_OK);
	webauthn_client_data_free(&cd);
	/* Only one is stripped. */
	memcpy(with_bom, "\xef\xbb\xbf\xef\xbb\xbf", 6);
	memcpy(with_bom + 6, plain.data, plain.len);
	CHECK_EQ_INT(webauthn_client_data_parse(with_bom, plain.len + 6, &cd), WEBAUTHN_ERR_CLIENT_DATA_MALFORMED);
	free(with_bom);
	tbuf_free(&plain);
}

static void test_type_and_challenge(void)
{
	struct webauthn_expectations e = expectations();
	struct tbuf get = t_client_data("webauthn.get", challenge, sizeof(challenge), T_ORIGIN, NULL);
	uint8_t other[32];
	struct tbuf b;
	char text[512];

	CHECK_EQ_INT(check_built(T_ORIGIN, NULL, &e), WEBAUTHN_OK);
	CHECK_EQ_INT(check_text((const char *)get.data, &e), WEBAUTHN_ERR_TYPE_MISMATCH);
	tbuf_free(&get);
	CHECK_EQ_INT(check_text("{\"type\":\"webauthn.Create\",\"challenge\":\"x\",\"origin\":\"y\"}", &e),
	    WEBAUTHN_ERR_TYPE_MISMATCH);
	CHECK_EQ_INT(check_text("{\"type\":\"payment.get\",\"challenge\":\"x\",\"origin\":\"y\"}", &e),
	    WEBAUTHN_ERR_TYPE_MISMATCH);
	/* Another challenge, one bit off. */
	memcpy(other, challenge, sizeof(other));
	other[31] ^= 1;
	b = t_client_data("webauthn.create", other, sizeof(other), T_ORIGIN, NULL);
	CHECK_EQ_INT(check_text((const char *)b.data, &e), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	tbuf_free(&b);
	/* A prefix of the right challenge; the right one padded, or in base64. */
	b = t_client_data("webauthn.create", challenge, sizeof(challenge) - 1, T_ORIGIN, NULL);
	CHECK_EQ_INT(check_text((const char *)b.data, &e), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	tbuf_free(&b);
	snprintf(text, sizeof(text), "{\"type\":\"webauthn.create\",\"challenge\":\"%s=\",\"origin\":\"%s\"}",
	    "AMMPt4UxxGTStncdq417YDwBFi8vpIa-pw8oOuVW4TA", T_ORIGIN);
	CHECK_EQ_INT(check_text(text, &e), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	snprintf(text, sizeof(text), "{\"type\":\"webauthn.create\",\"challenge\":\"%s\",\"origin\":\"%s\"}",
	    "AMMPt4UxxGTStncdq417YDwBFi8vpIa+pw8oOuVW4TA", T_ORIGIN);
	CHECK_EQ_INT(check_text(text, &e), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	snprintf(text, sizeof(text), "{\"type\":\"webauthn.create\",\"challenge\":\"%s\",\"origin\":\"%s\"}",
	    "AMMPt4UxxGTStncdq417YDwBFi8vpIa-pw8oOuVW4TA", T_ORIGIN);
	CHECK_EQ_INT(check_text(text, &e), WEBAUTHN_OK);
}

static void test_origins(void)
{
	struct webauthn_expectations e = expectations();

	CHECK_EQ_INT(check_built("https://login.example.org", NULL, &e), WEBAUTHN_OK);
	CHECK_EQ_INT(check_built("https://example.org/", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built("HTTPS://example.org", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built("http://example.org", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built("https://example.org:443", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built("https://evil.example.org", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built("", NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	e.origin_count = 1;
	CHECK_EQ_INT(check_built(T_ORIGIN, NULL, &e), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
}

static void test_cross_origin(void)
{
	struct webauthn_expectations e = expectations();
	static const char top[] = ",\"crossOrigin\":true,\"topOrigin\":\"https://example.com\"";
	static const char other_top[] = ",\"crossOrigin\":true,\"topOrigin\":\"https://evil.example\"";
	static const char top_only[] = ",\"topOrigin\":\"https://example.com\"";

	CHECK_EQ_INT(check_built(T_ORIGIN, "", &e), WEBAUTHN_OK);	/* crossOrigin absent */
	CHECK_EQ_INT(check_built(T_ORIGIN, ",\"crossOrigin\":true", &e), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built(T_ORIGIN, top, &e), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_INT(check_built(T_ORIGIN, top_only, &e), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
	e.allow_cross_origin = true;
	CHECK_EQ_INT(check_built(T_ORIGIN, ",\"crossOrigin\":true", &e), WEBAUTHN_OK);
	CHECK_EQ_INT(check_built(T_ORIGIN, top, &e), WEBAUTHN_OK);
	CHECK_EQ_INT(check_built(T_ORIGIN, top_only, &e), WEBAUTHN_OK);
	CHECK_EQ_INT(check_built(T_ORIGIN, other_top, &e), WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED);
	e.top_origin_count = 0;
	CHECK_EQ_INT(check_built(T_ORIGIN, top, &e), WEBAUTHN_ERR_TOP_ORIGIN_NOT_ALLOWED);
}

static void test_expectations_checked(void)
{
	struct webauthn_expectations e = expectations();

	e.challenge_len = WEBAUTHN_CHALLENGE_MIN - 1;
	CHECK_EQ_INT(check_built(T_ORIGIN, NULL, &e), WEBAUTHN_ERR_ARGUMENT);
	e = expectations();
	e.challenge_len = WEBAUTHN_CHALLENGE_MAX + 1;
	CHECK_EQ_INT(check_built(T_ORIGIN, NULL, &e), WEBAUTHN_ERR_ARGUMENT);
	e = expectations();
	e.origin_count = 0;
	CHECK_EQ_INT(check_built(T_ORIGIN, NULL, &e), WEBAUTHN_ERR_ARGUMENT);
	CHECK_EQ_INT(webauthn_client_data_verify(NULL, WEBAUTHN_CEREMONY_GET, &e), WEBAUTHN_ERR_ARGUMENT);
}

static void test_spec_vector(void)
{
	struct tbuf b = tbuf_hex(spec_none_create);
	struct webauthn_expectations e = expectations();
	struct webauthn_client_data cd;

	CHECK_EQ_INT(webauthn_client_data_parse(b.data, b.len, &cd), WEBAUTHN_OK);
	CHECK_EQ_INT(webauthn_client_data_verify(&cd, WEBAUTHN_CEREMONY_CREATE, &e), WEBAUTHN_OK);
	CHECK_EQ_INT(webauthn_client_data_verify(&cd, WEBAUTHN_CEREMONY_GET, &e), WEBAUTHN_ERR_TYPE_MISMATCH);
	webauthn_client_data_free(&cd);
	t_write_seed("fuzz_webauthn_client_data", "spec_none_es256_create", b.data, b.len);
	tbuf_free(&b);
}

static void write_seeds(void)
{
	struct tbuf b = t_client_data("webauthn.create", challenge, sizeof(challenge), T_ORIGIN,
	    ",\"crossOrigin\":true,\"topOrigin\":\"https://example.com\"");

	t_write_seed("fuzz_webauthn_client_data", "create_top_origin", b.data, b.len);
	tbuf_free(&b);
	b = t_client_data("webauthn.get", challenge, sizeof(challenge), "https://login.example.org", "");
	t_write_seed("fuzz_webauthn_client_data", "get_no_cross_origin", b.data, b.len);
	tbuf_free(&b);
}

int main(void)
{
	test_parse_members();
	test_parse_refusals();
	test_byte_order_mark();
	test_type_and_challenge();
	test_origins();
	test_cross_origin();
	test_expectations_checked();
	test_spec_vector();
	write_seeds();
	return CHECK_DONE();
}
