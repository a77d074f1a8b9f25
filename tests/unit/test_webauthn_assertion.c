/*
 * Unit tests for webauthn_verify_assertion (proto/webauthn_verify.c,
 * webauthn_signature.c): assertions signed in the test with ES256, EdDSA
 * and RS256 credentials; tampered signatures and authenticator data, other
 * keys, raw instead of DER ECDSA signatures; rpIdHash, UP, UV, type,
 * challenge and origin refusals; the signature counter rule and the backup
 * flags as reported outputs; stored keys that do not load. Also the W3C
 * WebAuthn L3 §16 authentication vectors.
 */
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

static const uint8_t challenge[32] = "assertion challenge, 32 bytes..";
static const char *const origins[] = { T_ORIGIN };
static const char *const top_origins[] = { "https://example.com" };
static EVP_PKEY *cred_ec, *cred_ed, *cred_rsa, *other_ec;

/* One assertion; zero fields take defaults (cred_ec, UP, count 0). */
struct assertion {
	EVP_PKEY *key;			/* signs */
	EVP_PKEY *stored_key;		/* registered; defaults to key */
	uint8_t flags;
	uint32_t sign_count;
	const char *rp_id;
	const char *type, *origin;
	const uint8_t *challenge;
	const struct tbuf *extensions;
	bool with_attested_data;
	bool tamper_signature, tamper_auth_data;
	uint32_t stored_count;
	bool stored_be, stored_bs;
};

struct assertion_bytes {
	struct tbuf client_data, auth_data, signature, stored;
	int64_t alg;
};

static void assertion_bytes_free(struct assertion_bytes *b)
{
	tbuf_free(&b->client_data);
	tbuf_free(&b->auth_data);
	tbuf_free(&b->signature);
	tbuf_free(&b->stored);
}

static struct assertion_bytes build(const struct assertion *a)
{
	static const uint8_t cred_id[16] = "credential id 1";
	EVP_PKEY *key = a->key ? a->key : cred_ec;
	EVP_PKEY *stored = a->stored_key ? a->stored_key : key;
	struct assertion_bytes b = { .alg = t_alg_of(stored) };
	uint8_t hash[32];

	b.stored = t_cose_key(stored, b.alg);
	b.client_data = t_client_data(a->type ? a->type : "webauthn.get", a->challenge ? a->challenge : challenge, 32,
	    a->origin ? a->origin : T_ORIGIN, NULL);
	SHA256(b.client_data.data, b.client_data.len, hash);
	b.auth_data = t_auth_data_build(&(struct t_auth_data){ .rp_id = a->rp_id ? a->rp_id : T_RP_ID,
		.flags = a->flags ? a->flags : UP, .sign_count = a->sign_count,
		.cred_id = a->with_attested_data ? cred_id : NULL, .cred_id_len = sizeof(cred_id),
		.cose = b.stored.data, .cose_len = a->with_attested_data ? b.stored.len : 0,
		.extensions = a->extensions ? a->extensions->data : NULL,
		.extensions_len = a->extensions ? a->extensions->len : 0 });
	b.signature = t_sign(key, b.auth_data.data, b.auth_data.len, hash, 32);
	if (a->tamper_signature)
		b.signature.data[b.signature.len - 1] ^= 0x01;
	if (a->tamper_auth_data)
		b.auth_data.data[36] ^= 0x01;
	return b;
}

static struct webauthn_assertion_input input_for(const struct assertion *a, const struct assertion_bytes *b)
{
	return (struct webauthn_assertion_input){
		.client_data_json = b->client_data.data, .client_data_json_len = b->client_data.len,
		.authenticator_data = b->auth_data.data, .authenticator_data_len = b->auth_data.len,
		.signature = b->signature.data, .signature_len = b->signature.len,
		.expect = { .challenge = challenge, .challenge_len = sizeof(challenge), .rp_id = T_RP_ID,
			.origins = origins, .origin_count = 1, .top_origins = top_origins, .top_origin_count = 1 },
		.stored = { .public_key = b->stored.data, .public_key_len = b->stored.len, .alg = b->alg,
			.sign_count = a->stored_count, .backup_eligible = a->stored_be, .backup_state = a->stored_bs },
	};
}

static enum webauthn_error run(const struct assertion *a, bool require_uv, struct webauthn_assertion_result *out)
{
	struct assertion_bytes b = build(a);
	struct webauthn_assertion_input in = input_for(a, &b);
	struct webauthn_assertion_result scratch;
	enum webauthn_error rc;
	char err[128];

	in.expect.require_user_verification = require_uv;
	rc = webauthn_verify_assertion(&in, out ? out : &scratch, err, sizeof(err));
	CHECK(strncmp(err, webauthn_error_text(rc), strlen(webauthn_error_text(rc))) == 0);
	assertion_bytes_free(&b);
	return rc;
}

static void test_each_algorithm(void)
{
	EVP_PKEY *keys[] = { cred_ec, cred_ed, cred_rsa };

	for (size_t i = 0; i < 3; i++) {
		struct assertion a = { .key = keys[i], .flags = UP | UV, .sign_count = 3, .stored_count = 2 };
		struct webauthn_assertion_result res;

		CHECK_EQ_INT(run(&a, true, &res), WEBAUTHN_OK);
		CHECK_EQ_INT(res.sign_count, 3);
		CHECK(res.user_verified && !res.counter_regressed && !res.backup_eligible && !res.backup_state);
		CHECK(!res.backup_eligibility_changed && res.extensions == NULL);
		a.tamper_signature = true;
		CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_BAD_SIGNATURE);
		a.tamper_signature = false;
		a.tamper_auth_data = true;
		CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_BAD_SIGNATURE);
		a.tamper_auth_data = false;
		/* Signed by another key than the stored one. */
		a.stored_key = keys[(i + 1) % 3];
		CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_BAD_SIGNATURE);
	}
	{
		struct assertion a = { .key = other_ec, .stored_key = cred_ec };

		CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_BAD_SIGNATURE);
	}
}

static void test_signature_encodings(void)
{
	struct assertion a = { 0 };
	struct assertion_bytes b = build(&a);
	struct webauthn_assertion_input in = input_for(&a, &b);
	struct webauthn_assertion_result res;
	const unsigned char *p = b.signature.data;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)b.signature.len);
	const BIGNUM *r, *s;
	uint8_t raw[64], padded[80];

	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_OK);
	/* The same signature as raw r || s (the JOSE form) is not accepted. */
	ECDSA_SIG_get0(sig, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	in.signature = raw;
	in.signature_len = 64;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_BAD_SIGNATURE);
	/* DER with a trailing byte, truncated DER, nothing. */
	memcpy(padded, b.signature.data, b.signature.len);
	padded[b.signature.len] = 0;
	in.signature = padded;
	in.signature_len = b.signature.len + 1;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_BAD_SIGNATURE);
	in.signature_len = b.signature.len - 1;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_BAD_SIGNATURE);
	in.signature_len = 0;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_BAD_SIGNATURE);
	ECDSA_SIG_free(sig);
	assertion_bytes_free(&b);
}

static void test_refusals(void)
{
	static const uint8_t replayed[32] = "registration challenge, 32 byte";
	struct assertion a = { .rp_id = "example.com" };

	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_RP_ID_HASH_MISMATCH);
	a = (struct assertion){ .flags = UV };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_USER_NOT_PRESENT);
	a = (struct assertion){ .flags = UP };
	CHECK_EQ_INT(run(&a, true, NULL), WEBAUTHN_ERR_USER_NOT_VERIFIED);
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_OK);
	a = (struct assertion){ .type = "webauthn.create" };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_TYPE_MISMATCH);
	a = (struct assertion){ .challenge = replayed };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	a = (struct assertion){ .origin = "https://example.org.evil.example" };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	a = (struct assertion){ .flags = UP | BS };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_FLAGS_INCONSISTENT);
	a = (struct assertion){ .flags = UP | AT, .with_attested_data = true };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_ATTESTED_DATA_UNEXPECTED);
	a = (struct assertion){ .flags = UP, .with_attested_data = true };
	CHECK_EQ_INT(run(&a, false, NULL), WEBAUTHN_ERR_AUTH_DATA_TRAILING);
}

static void test_sign_counter(void)
{
	static const struct {
		uint32_t stored, received;
		bool regressed;
	} cases[] = {
		{ 0, 0, false }, { 0, 1, false }, { 5, 6, false }, { 5, 0x7fffffff, false },
		{ 5, 5, true }, { 5, 4, true }, { 5, 0, true }, { 0xffffffff, 0xffffffff, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct assertion a = { .stored_count = cases[i].stored, .sign_count = cases[i].received };
		struct webauthn_assertion_result res;

		/* A regression is reported, never a failure: the caller decides. */
		CHECK_EQ_INT(run(&a, false, &res), WEBAUTHN_OK);
		CHECK_EQ_INT(res.counter_regressed, cases[i].regressed);
		CHECK_EQ_INT(res.sign_count, cases[i].received);
	}
}

static void test_backup_flags(void)
{
	struct assertion a = { .flags = UP | BE | BS, .stored_be = true, .stored_bs = false };
	struct webauthn_assertion_result res;

	CHECK_EQ_INT(run(&a, false, &res), WEBAUTHN_OK);
	CHECK(res.backup_eligible && res.backup_state && !res.backup_eligibility_changed);
	a = (struct assertion){ .flags = UP, .stored_be = true };
	CHECK_EQ_INT(run(&a, false, &res), WEBAUTHN_OK);
	CHECK(!res.backup_eligible && res.backup_eligibility_changed);
}

static void test_extensions_reported(void)
{
	cbor_item_t *map = cbor_new_definite_map(1);
	struct tbuf ext;
	struct assertion a = { .flags = UP | ED };
	struct assertion_bytes b;
	struct webauthn_assertion_input in;
	struct webauthn_assertion_result res;

	t_map_put(map, cbor_build_string("uvm"), cbor_new_definite_array(0));
	ext = t_cbor_encode(map);
	a.extensions = &ext;
	b = build(&a);
	in = input_for(&a, &b);
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_OK);
	CHECK(res.extensions == b.auth_data.data + 37 && res.extensions_len == ext.len);
	assertion_bytes_free(&b);
	tbuf_free(&ext);
}

static void test_stored_key_problems(void)
{
	struct assertion a = { 0 };
	struct assertion_bytes b = build(&a);
	struct webauthn_assertion_input in = input_for(&a, &b);
	struct webauthn_assertion_result res;
	char err[96];

	in.stored.alg = COSE_ALG_EDDSA;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, err, sizeof(err)), WEBAUTHN_ERR_STORED_KEY_INVALID);
	CHECK_EQ_STR(err, "stored credential public key invalid");
	in = input_for(&a, &b);
	in.stored.public_key_len = 10;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_STORED_KEY_INVALID);
	in = input_for(&a, &b);
	in.stored.public_key = NULL;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_ARGUMENT);
	in = input_for(&a, &b);
	CHECK_EQ_INT(webauthn_verify_assertion(&in, NULL, NULL, 0), WEBAUTHN_ERR_ARGUMENT);
	in.signature_len = WEBAUTHN_SIGNATURE_MAX + 1;
	CHECK_EQ_INT(webauthn_verify_assertion(&in, &res, NULL, 0), WEBAUTHN_ERR_BAD_SIGNATURE);
	assertion_bytes_free(&b);
}

/* --- W3C WebAuthn Level 3 §16 authentication vectors ------------------------- */

struct spec_assertion {
	const char *challenge, *auth_data, *client_data, *signature, *public_key;
	bool cross_origin;
};

static const struct spec_assertion spec_assertions[] = {
	{ /* §16.2 none, ES256 */
	  "39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408",
	  "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
	  "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a55"
	  "58543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c65"
	  "2e6f7267222c2263726f73734f726967696e223a66616c73657d",
	  "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11"
	  "a1dd5d78c6e486013f937295ea13653e331e87",
	  "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66"
	  "334b03458abf879717c12cc68ed73290af2e2664796b9220", false },
	{ /* §16.3 packed self attestation, ES256 */
	  "4478a10b1352348dd160c1353b0d469b5db19eb91c27f7dfa6fed39fe26af20b",
	  "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50900000000",
	  "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a225248696843784e534e493352594d45314f"
	  "7731476d3132786e726b634a5f6666707637546e2d4a71386773222c226f726967696e223a2268747470733a2f2f6578616d706c65"
	  "2e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e"
	  "206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572"
	  "652c207375636820617320746869733a206754623533727a36456853576f6d58477a696d433151227d",
	  "304402203310b9431903c401f1be2bdc8d23a4007682dbbddcf846994947b7f465daf84002204e94dd00047b316061b3b99772b7ef"
	  "d95994a83ef584b3b6b825ea3550251b66",
	  "a5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b"
	  "8834d233a2d34f61f13bfd44119c325d5896e183fee484f2", false },
	{ /* §16.7 packed attestation, ES256 */
	  "b1106fa46a57bef1781511c0557dc898a03413d5f0f17d244630c194c7e1adb5",
	  "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50d00000000",
	  "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2273524276704770587676463446524841"
	  "565833496d4b4130453958773858306b526a44426c4d6668726255222c226f726967696e223a2268747470733a2f2f6578616d70"
	  "6c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e744461746"
	  "14a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e2074686520"
	  "6675747572652c207375636820617320746869733a20415a4d77794d78496244382d756775464e7036723851227d",
	  "30450220694969d3ee928de6f02ef23a9c644d7d779916451734a94b432542f498a1ebe90221008b0819c824218a97152cd099c55b"
	  "fb1477b29d900a49a64018314f9bfccda163",
	  "a50102032620012158201cf27f25da591208a4239c2e324f104f585525479a29edeedd830f48e77aeae522582059e4b7da6c0106e2"
	  "06ce390c93ab98a15a5ec3887e57f0cc2bece803b920c423", false },
	{ /* §16.4 none, ES256, crossOrigin */
	  "876aa517ba83fdee65fcffdbca4c84eeae5d54f8041a1fc85c991e5bbb273137",
	  "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50500000000",
	  "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a226832716c463771445f65356c5f505f6279"
	  "6b7945377135645650674547685f49584a6b655737736e4d5463222c226f726967696e223a2268747470733a2f2f6578616d706c65"
	  "2e6f7267222c2263726f73734f726967696e223a747275652c22657874726144617461223a22636c69656e74446174614a534f4e20"
	  "6d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e2074686520667574757265"
	  "2c207375636820617320746869733a2039327063545644304162792d713464746d6a36656667227d",
	  "3046022100eb12fcf23b12764c0f122e22371fab92e283879fd798f38ee1841c951b6e40e7022100c76237ff9db77b3c56f30837cd"
	  "a6a09acfa2e915544e609c0733b1184036d1cf",
	  "a501020326200121582022200a473f90b11078851550d03b4e44a2279f8c4eca27b3153dedfe03e4e97d225820cbd0be95e746ad6f"
	  "5a8191be11756e4c0420e72f65b466d39bc56b8b123a9c6e", true },
	{ /* §16.5 none, ES256, topOrigin */
	  "d54a5c8ca4b62a8e3bb321e3b2bc73856f85a10150db2939ac195739eb1ea066",
	  "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50500000000",
	  "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a22315570636a4b53324b6f34377379486a73"
	  "72787a68572d466f51465132796b3572426c584f6573656f4759222c226f726967696e223a2268747470733a2f2f6578616d706c65"
	  "2e6f7267222c2263726f73734f726967696e223a747275652c22746f704f726967696e223a2268747470733a2f2f6578616d706c65"
	  "2e636f6d222c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e646564207769"
	  "7468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a205569"
	  "466f4a4d56525148444146574669347678557051227d",
	  "3045022100b5a70c81780d5fcc9a4f2ae9caae99058f8accaf58b91fb59329646c28ac6ffc022012e101c165db3c8e9957f0c54dd6"
	  "ca9b56bc3bd2f280bd2faa6c1d02c6e5c171",
	  "a5010203262001215820a1c47c1d82da4ebe82cd72207102b380670701993bc35398ae2e5726427fe01d22582086c1080d82987028"
	  "c7f54ecb1b01185de243b359294a0ed210cd47480f0adc88", true },
};

static enum webauthn_error run_spec(const struct spec_assertion *v, bool allow_cross_origin, bool tamper)
{
	struct tbuf ch = tbuf_hex(v->challenge), ad = tbuf_hex(v->auth_data), cd = tbuf_hex(v->client_data);
	struct tbuf sig = tbuf_hex(v->signature), key = tbuf_hex(v->public_key);
	struct webauthn_assertion_input in = {
		.client_data_json = cd.data, .client_data_json_len = cd.len,
		.authenticator_data = ad.data, .authenticator_data_len = ad.len,
		.signature = sig.data, .signature_len = sig.len,
		.expect = { .challenge = ch.data, .challenge_len = ch.len, .rp_id = T_RP_ID, .origins = origins,
			.origin_count = 1, .allow_cross_origin = allow_cross_origin, .top_origins = top_origins,
			.top_origin_count = 1 },
		.stored = { .public_key = key.data, .public_key_len = key.len, .alg = COSE_ALG_ES256 },
	};
	struct webauthn_assertion_result res;
	enum webauthn_error rc;

	if (tamper)
		sig.data[10] ^= 0x40;
	rc = webauthn_verify_assertion(&in, &res, NULL, 0);
	CHECK(rc != WEBAUTHN_OK || (res.sign_count == 0 && !res.counter_regressed));
	tbuf_free(&ch);
	tbuf_free(&ad);
	tbuf_free(&cd);
	tbuf_free(&sig);
	tbuf_free(&key);
	return rc;
}

static void test_spec_vectors(void)
{
	for (size_t i = 0; i < sizeof(spec_assertions) / sizeof(spec_assertions[0]); i++) {
		const struct spec_assertion *v = &spec_assertions[i];

		CHECK_EQ_INT(run_spec(v, v->cross_origin, false), WEBAUTHN_OK);
		CHECK_EQ_INT(run_spec(v, v->cross_origin, true), WEBAUTHN_ERR_BAD_SIGNATURE);
		if (v->cross_origin)
			CHECK_EQ_INT(run_spec(v, false, false), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
	}
}

int main(void)
{
	cred_ec = t_ec_key("assertion p-256");
	cred_ed = t_ed_key("assertion ed25519");
	cred_rsa = t_rsa_key();
	other_ec = t_ec_key("assertion other");
	test_each_algorithm();
	test_signature_encodings();
	test_refusals();
	test_sign_counter();
	test_backup_flags();
	test_extensions_reported();
	test_stored_key_problems();
	test_spec_vectors();
	EVP_PKEY_free(cred_ec);
	EVP_PKEY_free(cred_ed);
	EVP_PKEY_free(cred_rsa);
	EVP_PKEY_free(other_ec);
	return CHECK_DONE();
}
