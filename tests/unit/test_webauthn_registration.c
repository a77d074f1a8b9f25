/*
 * Unit tests for webauthn_verify_registration (proto/webauthn_verify.c,
 * webauthn_attestation.c, webauthn_certificate.c): ceremonies produced by
 * the test's own authenticator (tests/unit/webauthn_test_util.h) for
 * "none", "packed" self attestation with ES256/EdDSA/RS256 credentials,
 * "packed" with x5c chains (a CA and intermediate made here), "fido-u2f",
 * and formats left unsupported; the attestation policies and trust anchors;
 * and one refusal per rule. Also the W3C WebAuthn L3 §16 test vectors.
 * Writes fuzz/corpus/fuzz_webauthn_attestation seeds when
 * DREAMAUTH_WEBAUTHN_CORPUS is set.
 */
#include "tests/unit/check.h"
#include "tests/unit/webauthn_test_util.h"

#include <openssl/pem.h>

static const uint8_t challenge[32] = "registration challenge, 32 byte";
static const uint8_t aaguid[16] = { 0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1,
	0x54, 0xa8 };
static const char *const origins[] = { T_ORIGIN };
static const char *const top_origins[] = { "https://example.com" };

/* Keys: three credentials; the attestation CA, an intermediate, leaves. */
static EVP_PKEY *cred_ec, *cred_ed, *cred_rsa, *ca_key, *mid_key, *leaf_key, *other_key;
static X509 *ca, *mid, *leaf, *leaf_via_mid;

enum stmt_kind { STMT_EMPTY, STMT_SELF, STMT_X5C, STMT_U2F, STMT_GIVEN };

/* One registration as an authenticator would answer it; zero fields take
 * the defaults (ES256 credential, UP|AT, 32-byte ID, "none"). */
struct reg {
	EVP_PKEY *cred;
	int64_t alg;			/* label in the COSE key */
	uint8_t flags;
	uint32_t sign_count;
	const char *rp_id;
	size_t cred_id_len;
	const char *fmt;
	enum stmt_kind stmt;
	int64_t stmt_alg;		/* packed "alg" when not the signer's own */
	X509 *x5c[3];
	size_t x5c_len;
	EVP_PKEY *signer;		/* x5c / u2f signing key */
	cbor_item_t *given_stmt;
	const struct tbuf *extensions;
	bool tamper_signature;
	bool tamper_auth_data;		/* after signing */
	const char *type, *origin, *tail;
	const uint8_t *challenge;
};

struct built {
	struct tbuf client_data, attestation_object, cose, auth_data;
};

static void built_free(struct built *b)
{
	tbuf_free(&b->client_data);
	tbuf_free(&b->attestation_object);
	tbuf_free(&b->cose);
	tbuf_free(&b->auth_data);
}

static struct tbuf u2f_signature(const struct reg *r, const struct tbuf *auth_data, const uint8_t hash[32],
    const uint8_t *cred_id, size_t cred_id_len)
{
	uint8_t data[1 + 32 + 32 + 1023 + 65], pub[65];
	size_t n = sizeof(pub), len = 0;

	EVP_PKEY_get_octet_string_param(r->cred, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
	data[len++] = 0x00;
	memcpy(data + len, auth_data->data, 32);
	len += 32;
	memcpy(data + len, hash, 32);
	len += 32;
	memcpy(data + len, cred_id, cred_id_len);
	len += cred_id_len;
	memcpy(data + len, pub, 65);
	len += 65;
	return t_sign(r->signer, data, len, NULL, 0);
}

static cbor_item_t *statement(const struct reg *r, const struct tbuf *auth_data, const uint8_t hash[32],
    const uint8_t *cred_id)
{
	struct tbuf sig = { NULL, 0 };
	cbor_item_t *stmt;

	switch (r->stmt) {
	case STMT_EMPTY:
		return cbor_new_definite_map(0);
	case STMT_GIVEN:
		return r->given_stmt;
	case STMT_U2F:
		sig = u2f_signature(r, auth_data, hash, cred_id, r->cred_id_len ? r->cred_id_len : 32);
		break;
	default:
		sig = t_sign(r->stmt == STMT_SELF ? r->cred : r->signer, auth_data->data, auth_data->len, hash, 32);
	}
	if (r->tamper_signature)
		sig.data[sig.len / 2] ^= 0x01;
	if (r->stmt == STMT_U2F) {
		stmt = cbor_new_definite_map(2);
		t_map_put(stmt, cbor_build_string("sig"), t_cbor_bytes(sig.data, sig.len));
	} else {
		int64_t alg = r->stmt_alg ? r->stmt_alg : r->stmt == STMT_SELF ? r->alg : t_alg_of(r->signer);

		stmt = t_stmt_alg_sig(alg, &sig);
	}
	if (r->x5c_len)
		t_map_put(stmt, cbor_build_string("x5c"), t_x5c(r->x5c, r->x5c_len));
	tbuf_free(&sig);
	return stmt;
}

static struct built build(const struct reg *r)
{
	static uint8_t cred_id[1024];
	struct built b;
	uint8_t hash[32];
	EVP_PKEY *cred = r->cred ? r->cred : cred_ec;
	struct reg filled = *r;
	struct t_auth_data t;

	for (size_t i = 0; i < sizeof(cred_id); i++)
		cred_id[i] = (uint8_t)(0xa5 ^ i);
	filled.cred = cred;
	filled.alg = r->alg ? r->alg : t_alg_of(cred);
	b.client_data = t_client_data(r->type ? r->type : "webauthn.create", r->challenge ? r->challenge : challenge, 32,
	    r->origin ? r->origin : T_ORIGIN, r->tail);
	SHA256(b.client_data.data, b.client_data.len, hash);
	b.cose = t_cose_key(cred, filled.alg);
	t = (struct t_auth_data){ .rp_id = r->rp_id ? r->rp_id : T_RP_ID, .flags = r->flags ? r->flags : UP | AT,
		.sign_count = r->sign_count, .aaguid = aaguid, .cred_id = cred_id,
		.cred_id_len = r->cred_id_len ? r->cred_id_len : 32, .cose = b.cose.data, .cose_len = b.cose.len,
		.extensions = r->extensions ? r->extensions->data : NULL,
		.extensions_len = r->extensions ? r->extensions->len : 0 };
	b.auth_data = t_auth_data_build(&t);
	{
		cbor_item_t *stmt = statement(&filled, &b.auth_data, hash, cred_id);

		if (r->tamper_auth_data)
			b.auth_data.data[36] ^= 0x01;
		b.attestation_object = t_attestation_object(r->fmt ? r->fmt : "none", stmt, &b.auth_data);
	}
	return b;
}

static struct webauthn_registration_input input_for(const struct built *b)
{
	return (struct webauthn_registration_input){
		.client_data_json = b->client_data.data, .client_data_json_len = b->client_data.len,
		.attestation_object = b->attestation_object.data, .attestation_object_len = b->attestation_object.len,
		.expect = { .challenge = challenge, .challenge_len = sizeof(challenge), .rp_id = T_RP_ID,
			.origins = origins, .origin_count = 1, .top_origins = top_origins, .top_origin_count = 1 },
		.policy = WEBAUTHN_POLICY_ACCEPT_UNVERIFIED, .verify_time = T_NOW,
	};
}

/* Builds r, verifies it with in's defaults adjusted by adjust (may be NULL). */
static enum webauthn_error run(const struct reg *r, void (*adjust)(struct webauthn_registration_input *),
    struct webauthn_credential *out)
{
	struct built b = build(r);
	struct webauthn_registration_input in = input_for(&b);
	struct webauthn_credential scratch;
	enum webauthn_error rc;
	char err[160];

	if (adjust)
		adjust(&in);
	rc = webauthn_verify_registration(&in, out ? out : &scratch, err, sizeof(err));
	if (rc == WEBAUTHN_OK)
		CHECK_EQ_STR(err, "ok");
	else
		CHECK(strncmp(err, webauthn_error_text(rc), strlen(webauthn_error_text(rc))) == 0);
	X509_STORE_free(in.trust_anchors);
	built_free(&b);
	return rc;
}

static void with_anchors(struct webauthn_registration_input *in)
{
	in->trust_anchors = t_store_of(ca);
}

static void require_trusted(struct webauthn_registration_input *in)
{
	in->policy = WEBAUTHN_POLICY_REQUIRE_TRUSTED;
}

static void require_trusted_with_anchors(struct webauthn_registration_input *in)
{
	with_anchors(in);
	require_trusted(in);
}

static void require_uv(struct webauthn_registration_input *in)
{
	in->expect.require_user_verification = true;
}

static void es256_only(struct webauthn_registration_input *in)
{
	static const int64_t algs[] = { COSE_ALG_ES256 };

	in->allowed_algs = algs;
	in->allowed_alg_count = 1;
}

static void far_future(struct webauthn_registration_input *in)
{
	in->verify_time = T_NOT_AFTER + 86400;
}

/* --- accepted registrations --------------------------------------------------- */

static void test_none(void)
{
	struct reg r = { .flags = UP | UV | BE | AT, .sign_count = 7 };
	struct built b = build(&r);
	struct webauthn_registration_input in = input_for(&b);
	struct webauthn_credential cred;
	char err[128];

	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_NONE);
	CHECK_EQ_STR(cred.fmt, "none");
	CHECK_EQ_INT(cred.id_len, 32);
	CHECK_EQ_INT(cred.id[0], 0xa5);
	CHECK(cred.public_key_len == b.cose.len && memcmp(cred.public_key, b.cose.data, b.cose.len) == 0);
	CHECK_EQ_INT(cred.alg, COSE_ALG_ES256);
	CHECK_EQ_INT(cred.sign_count, 7);
	CHECK(cred.user_verified && cred.backup_eligible && !cred.backup_state);
	CHECK(memcmp(cred.aaguid, aaguid, 16) == 0);
	CHECK(cred.extensions == NULL);
	t_write_seed("fuzz_webauthn_attestation", "none_es256", b.attestation_object.data, b.attestation_object.len);
	/* The policy that wants a trusted chain refuses it. */
	in.policy = WEBAUTHN_POLICY_REQUIRE_TRUSTED;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_ATTESTATION_UNTRUSTED);
	CHECK_EQ_STR(err, "attestation not trusted: none");
	CHECK_EQ_INT(cred.id_len, 0);
	built_free(&b);
}

static void test_packed_self(void)
{
	EVP_PKEY *creds[] = { cred_ec, cred_ed, cred_rsa };
	static const char *const seeds[] = { "packed_self_es256", "packed_self_eddsa", "packed_self_rs256" };

	for (size_t i = 0; i < 3; i++) {
		struct reg r = { .cred = creds[i], .fmt = "packed", .stmt = STMT_SELF };
		struct webauthn_credential cred;
		struct built b;

		CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
		CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_SELF);
		CHECK_EQ_INT(cred.alg, t_alg_of(creds[i]));
		CHECK_EQ_INT(run(&r, require_trusted, NULL), WEBAUTHN_ERR_ATTESTATION_UNTRUSTED);
		r.tamper_signature = true;
		CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_SIGNATURE);
		r.tamper_signature = false;
		r.tamper_auth_data = true;
		CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_SIGNATURE);
		r.tamper_auth_data = false;
		b = build(&r);
		t_write_seed("fuzz_webauthn_attestation", seeds[i], b.attestation_object.data, b.attestation_object.len);
		built_free(&b);
	}
}

static void test_packed_x5c(void)
{
	struct reg r = { .fmt = "packed", .stmt = STMT_X5C, .signer = leaf_key, .x5c = { leaf }, .x5c_len = 1 };
	struct webauthn_credential cred;
	struct built b;

	CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNTRUSTED);
	CHECK_EQ_INT(run(&r, with_anchors, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_BASIC);
	CHECK_EQ_INT(run(&r, require_trusted_with_anchors, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_BASIC);
	CHECK_EQ_INT(run(&r, require_trusted, NULL), WEBAUTHN_ERR_ATTESTATION_UNTRUSTED);
	b = build(&r);
	t_write_seed("fuzz_webauthn_attestation", "packed_x5c_es256", b.attestation_object.data, b.attestation_object.len);
	built_free(&b);
	/* With the root in x5c too, and through an intermediate. */
	r.x5c[1] = ca;
	r.x5c_len = 2;
	CHECK_EQ_INT(run(&r, require_trusted_with_anchors, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNTRUSTED);
	r.x5c[0] = leaf_via_mid;
	r.x5c[1] = mid;
	CHECK_EQ_INT(run(&r, require_trusted_with_anchors, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_BASIC);
	b = build(&r);
	t_write_seed("fuzz_webauthn_attestation", "packed_x5c_chain", b.attestation_object.data, b.attestation_object.len);
	built_free(&b);
	/* Leaf signed by the intermediate, which x5c leaves out: no chain. */
	r.x5c_len = 1;
	CHECK_EQ_INT(run(&r, with_anchors, NULL), WEBAUTHN_OK);
	CHECK_EQ_INT(run(&r, require_trusted_with_anchors, NULL), WEBAUTHN_ERR_ATTESTATION_UNTRUSTED);
	/* x5c that does not chain: the leaf with an unrelated certificate. */
	r.x5c[0] = leaf;
	r.x5c[1] = mid;
	r.x5c_len = 2;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_CHAIN);
	/* Expired at verification time. */
	r.x5c_len = 1;
	CHECK_EQ_INT(run(&r, far_future, NULL), WEBAUTHN_ERR_ATTESTATION_CHAIN);
	/* Signed by a key other than the certificate's. */
	r.signer = other_key;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_SIGNATURE);
	r.signer = leaf_key;
	r.tamper_signature = true;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_SIGNATURE);
}

/* A leaf for leaf_key issued by ca, with spec's fields changed. */
static X509 *leaf_with(const struct t_cert *changes)
{
	struct t_cert s = *changes;

	s.key = leaf_key;
	s.issuer = ca;
	s.signer = ca_key;
	s.serial = 77;
	return t_cert_make(&s);
}

static enum webauthn_error packed_with_leaf(X509 *cert)
{
	struct reg r = { .fmt = "packed", .stmt = STMT_X5C, .signer = leaf_key, .x5c = { cert }, .x5c_len = 1 };
	enum webauthn_error rc = run(&r, with_anchors, NULL);

	X509_free(cert);
	return rc;
}

static void test_packed_certificate_requirements(void)
{
	static const uint8_t other_aaguid[16] = { 1 };
	struct t_cert good = { .c = "AA", .o = "W3C", .ou = "Authenticator Attestation", .cn = "leaf", .ca = 0 };
	struct t_cert s;

	CHECK_EQ_INT(packed_with_leaf(leaf_with(&good)), WEBAUTHN_OK);
	s = good, s.ou = NULL;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.ou = "Authenticator Attestation CA";
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.c = NULL;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.o = NULL;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.cn = NULL;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.ca = 1;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.ca = -1;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.version = 1;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	s = good, s.aaguid = aaguid;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_OK);
	s = good, s.aaguid = other_aaguid;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_AAGUID_MISMATCH);
	s = good, s.aaguid = aaguid, s.aaguid_critical = true;
	CHECK_EQ_INT(packed_with_leaf(leaf_with(&s)), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
}

static void test_packed_statement_syntax(void)
{
	struct reg r = { .fmt = "packed", .stmt = STMT_SELF };
	struct tbuf sig = tbuf_copy("not a signature", 15);
	cbor_item_t *stmt;

	/* alg other than the credential's. */
	r.stmt_alg = COSE_ALG_RS256;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	/* An unknown member; sig missing; alg as text; x5c with garbage. */
	r = (struct reg){ .fmt = "packed", .stmt = STMT_GIVEN };
	r.given_stmt = t_stmt_alg_sig(COSE_ALG_ES256, &sig);
	t_map_put(r.given_stmt, cbor_build_string("ecdaaKeyId"), t_cbor_bytes(sig.data, sig.len));
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	r.given_stmt = cbor_new_definite_map(1);
	t_map_put(r.given_stmt, cbor_build_string("alg"), t_cbor_int(COSE_ALG_ES256));
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	r.given_stmt = cbor_new_definite_map(2);
	t_map_put(r.given_stmt, cbor_build_string("alg"), cbor_build_string("ES256"));
	t_map_put(r.given_stmt, cbor_build_string("sig"), t_cbor_bytes(sig.data, sig.len));
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	r.given_stmt = t_stmt_alg_sig(COSE_ALG_ES256, &sig);
	stmt = cbor_new_definite_array(1);
	cbor_array_push(stmt, cbor_move(t_cbor_bytes(sig.data, sig.len)));
	t_map_put(r.given_stmt, cbor_build_string("x5c"), stmt);
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	r.given_stmt = t_stmt_alg_sig(COSE_ALG_ES256, &sig);
	t_map_put(r.given_stmt, cbor_build_string("x5c"), cbor_new_definite_array(0));
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	/* "none" must carry the empty map. */
	r = (struct reg){ .fmt = "none", .stmt = STMT_GIVEN, .given_stmt = t_stmt_alg_sig(COSE_ALG_ES256, &sig) };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	tbuf_free(&sig);
}

static void test_fido_u2f(void)
{
	struct reg r = { .fmt = "fido-u2f", .stmt = STMT_U2F, .signer = other_key, .x5c_len = 1 };
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	X509 *u2f_cert, *cert_384, *cert_ed;
	struct webauthn_credential cred;
	struct built b;

	u2f_cert = t_cert_make(&(struct t_cert){ .cn = "U2F", .key = other_key, .issuer = ca, .signer = ca_key,
		.ca = -1, .serial = 5 });
	cert_384 = t_cert_make(&(struct t_cert){ .cn = "U2F", .key = p384, .signer = p384, .ca = -1 });
	cert_ed = t_cert_make(&(struct t_cert){ .cn = "U2F", .key = cred_ed, .signer = cred_ed, .ca = -1 });
	r.x5c[0] = u2f_cert;
	CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNTRUSTED);
	CHECK_EQ_STR(cred.fmt, "fido-u2f");
	CHECK_EQ_INT(run(&r, require_trusted_with_anchors, &cred), WEBAUTHN_OK);
	CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_BASIC);
	b = build(&r);
	t_write_seed("fuzz_webauthn_attestation", "fido_u2f", b.attestation_object.data, b.attestation_object.len);
	built_free(&b);
	r.tamper_signature = true;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_SIGNATURE);
	r.tamper_signature = false;
	/* The credential's ID and key are in what was signed. */
	r.cred_id_len = 33;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_OK);
	r.tamper_auth_data = true;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_OK);	/* signCount is not in U2F's signed data */
	r.tamper_auth_data = false;
	/* Two certificates; a P-384 or an Ed25519 certificate; an EdDSA credential. */
	r.x5c[1] = ca;
	r.x5c_len = 2;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
	r.x5c_len = 1;
	r.x5c[0] = cert_384;
	r.signer = p384;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	r.x5c[0] = cert_ed;
	r.signer = other_key;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_CERTIFICATE);
	r.x5c[0] = u2f_cert;
	r.cred = cred_ed;
	r.stmt = STMT_EMPTY;	/* no U2F signature can be made over an Ed25519 key */
	r.given_stmt = NULL;
	{
		struct tbuf sig = tbuf_copy("sig", 3);
		cbor_item_t *stmt = cbor_new_definite_map(2);

		t_map_put(stmt, cbor_build_string("sig"), t_cbor_bytes(sig.data, sig.len));
		t_map_put(stmt, cbor_build_string("x5c"), t_x5c(&u2f_cert, 1));
		r.stmt = STMT_GIVEN;
		r.given_stmt = stmt;
		CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_ATTESTATION_STATEMENT);
		tbuf_free(&sig);
	}
	X509_free(u2f_cert);
	X509_free(cert_384);
	X509_free(cert_ed);
	EVP_PKEY_free(p384);
}

static void test_unsupported_formats(void)
{
	static const char *const formats[] = { "tpm", "android-key", "android-safetynet", "apple", "com.example.fmt" };

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct reg r = { .fmt = formats[i], .stmt = STMT_GIVEN };
		struct webauthn_credential cred;

		r.given_stmt = cbor_new_definite_map(1);
		t_map_put(r.given_stmt, cbor_build_string("ver"), cbor_build_string("2.0"));
		CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
		CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNVERIFIED);
		CHECK_EQ_STR(cred.fmt, formats[i]);
		r.given_stmt = cbor_new_definite_map(0);
		CHECK_EQ_INT(run(&r, require_trusted_with_anchors, NULL), WEBAUTHN_ERR_ATTESTATION_FORMAT_UNSUPPORTED);
	}
	/* Identifiers match case-sensitively: "Packed" is not "packed". */
	{
		struct reg r = { .fmt = "Packed", .stmt = STMT_SELF };
		struct webauthn_credential cred;

		CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
		CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNVERIFIED);
	}
	/* A packed x5c signature in an algorithm this build does not verify. */
	{
		struct reg r = { .fmt = "packed", .stmt = STMT_X5C, .signer = leaf_key, .x5c = { leaf }, .x5c_len = 1,
			.stmt_alg = -35 };
		struct webauthn_credential cred;

		CHECK_EQ_INT(run(&r, NULL, &cred), WEBAUTHN_OK);
		CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_UNVERIFIED);
		CHECK_EQ_INT(run(&r, require_trusted_with_anchors, NULL), WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM);
	}
}

static void test_extensions_and_flags(void)
{
	cbor_item_t *map = cbor_new_definite_map(1);
	struct tbuf ext;
	struct reg r = { .flags = UP | AT | ED };
	struct built b;
	struct webauthn_registration_input in;
	struct webauthn_credential cred;

	t_map_put(map, cbor_build_string("credProtect"), t_cbor_int(2));
	ext = t_cbor_encode(map);
	r.extensions = &ext;
	b = build(&r);
	in = input_for(&b);
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_OK);
	CHECK(cred.extensions && cred.extensions_len == ext.len && memcmp(cred.extensions, ext.data, ext.len) == 0);
	CHECK(cred.extensions > b.attestation_object.data &&
	      cred.extensions + cred.extensions_len <= b.attestation_object.data + b.attestation_object.len);
	t_write_seed("fuzz_webauthn_attestation", "none_extensions", b.attestation_object.data, b.attestation_object.len);
	built_free(&b);
	tbuf_free(&ext);

	r = (struct reg){ .flags = UP | AT | BE | BS };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_OK);
	r.flags = UP | AT | BS;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_FLAGS_INCONSISTENT);
	r.flags = AT;
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_USER_NOT_PRESENT);
	r.flags = UP | AT;
	CHECK_EQ_INT(run(&r, require_uv, NULL), WEBAUTHN_ERR_USER_NOT_VERIFIED);
	r.flags = UP | UV | AT;
	CHECK_EQ_INT(run(&r, require_uv, NULL), WEBAUTHN_OK);
}

/* --- refusals, one per rule ------------------------------------------------------ */

static void test_client_data_refusals(void)
{
	static const uint8_t other[32] = "an earlier challenge, replayed.";
	struct reg r = { 0 };
	char err[160];
	struct built b;
	struct webauthn_registration_input in;
	struct webauthn_credential cred;

	r.type = "webauthn.get";
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_TYPE_MISMATCH);
	r = (struct reg){ .challenge = other };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_CHALLENGE_MISMATCH);
	r = (struct reg){ .tail = ",\"crossOrigin\":true" };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
	/* The origin is named in the message, made printable. */
	r = (struct reg){ .origin = "https://evil.example\\u0007" };
	b = build(&r);
	in = input_for(&b);
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_ORIGIN_NOT_ALLOWED);
	CHECK_EQ_STR(err, "origin not allowed: https://evil.example?");
	built_free(&b);
	/* Not JSON. */
	r = (struct reg){ 0 };
	b = build(&r);
	in = input_for(&b);
	in.client_data_json_len--;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_CLIENT_DATA_MALFORMED);
	built_free(&b);
}

static void test_auth_data_refusals(void)
{
	struct reg r = { .rp_id = "evil.example" };
	EVP_PKEY *es384 = EVP_EC_gen("P-384");

	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_RP_ID_HASH_MISMATCH);
	r = (struct reg){ .flags = UP };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_AUTH_DATA_TRAILING);
	r = (struct reg){ .cred_id_len = 1024 };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH);
	r = (struct reg){ .cred_id_len = 1023 };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_OK);
	/* A key in an algorithm this build does not support, or labelled wrongly. */
	r = (struct reg){ .alg = -35 };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_UNSUPPORTED_ALGORITHM);
	r = (struct reg){ .cred = es384 };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_COSE_KEY_INVALID);
	r = (struct reg){ .cred = cred_ed, .alg = COSE_ALG_ES256 };
	CHECK_EQ_INT(run(&r, NULL, NULL), WEBAUTHN_ERR_COSE_KEY_INVALID);
	/* Supported, but not among the options' pubKeyCredParams. */
	r = (struct reg){ .cred = cred_ed };
	CHECK_EQ_INT(run(&r, es256_only, NULL), WEBAUTHN_ERR_ALGORITHM_NOT_ALLOWED);
	r = (struct reg){ .cred = cred_ec };
	CHECK_EQ_INT(run(&r, es256_only, NULL), WEBAUTHN_OK);
	EVP_PKEY_free(es384);
}

/* authData without AT: no credential can come out of it. */
static void test_attested_data_missing(void)
{
	struct t_auth_data t = { .rp_id = T_RP_ID, .flags = UP };
	struct tbuf auth_data = t_auth_data_build(&t);
	struct built b = { .client_data = t_client_data("webauthn.create", challenge, 32, T_ORIGIN, NULL) };
	struct webauthn_registration_input in;
	struct webauthn_credential cred;

	b.attestation_object = t_attestation_object("none", cbor_new_definite_map(0), &auth_data);
	in = input_for(&b);
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTED_DATA_MISSING);
	tbuf_free(&auth_data);
	built_free(&b);
}

static void test_attestation_object_refusals(void)
{
	struct reg r = { 0 };
	struct built b = build(&r);
	struct webauthn_registration_input in = input_for(&b);
	struct webauthn_credential cred;
	struct tbuf bad;
	cbor_item_t *map;
	static const char *const not_objects[] = {
		"", "a0", "80", "a163666d746464656e6f6e65",	/* empty, {}, [], {"fmt": "none"} */
		"bf63666d74646e6f6e65ff",			/* indefinite map */
	};

	/* Truncated, and one byte too long. */
	in.attestation_object_len--;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
	bad = tbuf_copy(b.attestation_object.data, b.attestation_object.len + 1);
	in = input_for(&b);
	in.attestation_object = bad.data;
	in.attestation_object_len = bad.len;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
	tbuf_free(&bad);
	for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
		bad = tbuf_hex(not_objects[i]);
		in.attestation_object = bad.data;
		in.attestation_object_len = bad.len;
		CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
		tbuf_free(&bad);
	}
	/* fmt that is no identifier; authData as text; "fmt" twice. */
	map = cbor_new_definite_map(3);
	t_map_put(map, cbor_build_string("fmt"), cbor_build_string("no ne"));
	t_map_put(map, cbor_build_string("attStmt"), cbor_new_definite_map(0));
	t_map_put(map, cbor_build_string("authData"), t_cbor_bytes(b.auth_data.data, b.auth_data.len));
	bad = t_cbor_encode(map);
	in.attestation_object = bad.data;
	in.attestation_object_len = bad.len;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
	tbuf_free(&bad);
	map = cbor_new_definite_map(3);
	t_map_put(map, cbor_build_string("fmt"), cbor_build_string("none"));
	t_map_put(map, cbor_build_string("attStmt"), cbor_new_definite_map(0));
	t_map_put(map, cbor_build_string("authData"), cbor_build_string("authenticator data"));
	bad = t_cbor_encode(map);
	in.attestation_object = bad.data;
	in.attestation_object_len = bad.len;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
	tbuf_free(&bad);
	map = cbor_new_definite_map(4);
	t_map_put(map, cbor_build_string("fmt"), cbor_build_string("none"));
	t_map_put(map, cbor_build_string("fmt"), cbor_build_string("packed"));
	t_map_put(map, cbor_build_string("attStmt"), cbor_new_definite_map(0));
	t_map_put(map, cbor_build_string("authData"), t_cbor_bytes(b.auth_data.data, b.auth_data.len));
	bad = t_cbor_encode(map);
	in.attestation_object = bad.data;
	in.attestation_object_len = bad.len;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_ATTESTATION_MALFORMED);
	tbuf_free(&bad);
	/* Truncated authData inside a well-formed object. */
	{
		struct tbuf shorter = { b.auth_data.data, b.auth_data.len - 1 };

		bad = t_attestation_object("none", cbor_new_definite_map(0), &shorter);
		in.attestation_object = bad.data;
		in.attestation_object_len = bad.len;
		CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, NULL, 0), WEBAUTHN_ERR_COSE_KEY_MALFORMED);
		tbuf_free(&bad);
	}
	built_free(&b);
}

static void test_arguments(void)
{
	struct reg r = { 0 };
	struct built b = build(&r);
	struct webauthn_registration_input in = input_for(&b);
	struct webauthn_credential cred;
	char err[64];

	CHECK_EQ_INT(webauthn_verify_registration(NULL, &cred, err, sizeof(err)), WEBAUTHN_ERR_ARGUMENT);
	CHECK_EQ_INT(webauthn_verify_registration(&in, NULL, err, sizeof(err)), WEBAUTHN_ERR_ARGUMENT);
	in.expect.rp_id = NULL;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_ARGUMENT);
	in = input_for(&b);
	in.policy = (enum webauthn_attestation_policy)7;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_ARGUMENT);
	in = input_for(&b);
	in.expect.challenge_len = 8;
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, sizeof(err)), WEBAUTHN_ERR_ARGUMENT);
	/* A short err buffer is filled, truncated, terminated. */
	in = input_for(&b);
	in.expect.rp_id = "other.example";
	CHECK_EQ_INT(webauthn_verify_registration(&in, &cred, err, 5), WEBAUTHN_ERR_RP_ID_HASH_MISMATCH);
	CHECK_EQ_STR(err, "rpId");
	for (int e = 0; e <= WEBAUTHN_ERR_COUNT; e++)
		CHECK(webauthn_error_text((enum webauthn_error)e) != NULL);
	CHECK_EQ_STR(webauthn_error_text(WEBAUTHN_ERR_COUNT), "unknown error");
	CHECK_EQ_STR(webauthn_attestation_type_name(WEBAUTHN_ATTESTATION_BASIC), "basic");
	built_free(&b);
}

static void test_trust_anchors_from_pem(void)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	X509_STORE *store;

	PEM_write_bio_X509(bio, mid);
	PEM_write_bio_X509(bio, ca);
	len = BIO_get_mem_data(bio, &pem);
	store = webauthn_trust_anchors_from_pem(pem, (size_t)len);
	CHECK(store != NULL);
	X509_STORE_free(store);
	CHECK(webauthn_trust_anchors_from_pem(pem, 30) == NULL);
	CHECK(webauthn_trust_anchors_from_pem("no certificates here", 20) == NULL);
	BIO_free(bio);
}

/* --- W3C WebAuthn Level 3 §16 test vectors ------------------------------------------ */

/* §16.1 attestation root certificate (DER). */
static const char spec_ca_cert[] =
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

struct spec_registration {
	const char *name, *challenge, *client_data, *attestation_object, *credential_id;
	enum webauthn_attestation_type type;	/* without trust anchors */
	bool cross_origin;
	int64_t alg;				/* 0 for ES256 */
};

static const struct spec_registration spec_registrations[] = {
	{ "spec_none_es256", "00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a22414d4d50743455787847545374"
	  "6e63647134313759447742466938767049612d7077386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578"
	  "616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e744461"
	  "74614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865"
	  "206675747572652c207375636820617320746869733a20426b5165446a646354427258426941774a544c453551227d",
	  "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd4"
	  "6592a5e0f01452b2e4b559000000008446ccb9ab1db374750b2367ff6f3a1f0020f91f391db4c9b2fde0ea70189cba3fb63f579b"
	  "a6122b33ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f"
	  "26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220",
	  "f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4", WEBAUTHN_ATTESTATION_NONE, false, 0 },
	{ "spec_packed_self_es256", "7869c2b772d4b58eba9378cf8f29e26cf935aa77df0da89fa99c0bdc0a76f7e5",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a2265476e4374334c55745936366b"
	  "336a506a796e6962506b31716e666644616966715a774c33417032392d55222c226f726967696e223a2268747470733a2f2f6578"
	  "616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e744461"
	  "74614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865"
	  "206675747572652c207375636820617320746869733a205539685458764b453255526b4d6e625f307859485667227d",
	  "a363666d74667061636b65646761747453746d74a263616c672663736967584630440220067a20754ab925005dbf378097c92120"
	  "031581c73228d1fb4f5b881bcd7da98302207fc7b147558c7c0eba3af18bd9d121fa3d3a26d17fe3f220272178f473b6006d6861"
	  "7574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b55d00000000df850e09db6a"
	  "fbdfab51697791506cfc0020455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58ca501020326200121"
	  "5820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f"
	  "61f13bfd44119c325d5896e183fee484f2",
	  "455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58c", WEBAUTHN_ATTESTATION_SELF, false, 0 },
	{ "spec_packed_es256", "c1184a5fddf8045e13dc47f54b61f5a656b666b59018f16d870e9256e9952012",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a227752684b58393334424634543345"
	  "663153324831706c61325a725751475046746877365356756d56494249222c226f726967696e223a2268747470733a2f2f6578616d"
	  "706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a"
	  "534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e2074686520667574"
	  "7572652c207375636820617320746869733a20396138624e596a4b436757724258552d66436c316167227d",
	  "a363666d74667061636b65646761747453746d74a363616c6726637369675847304502203f19ec4b229f46ab8c45eff29b904ff1"
	  "0c0390dc40bf1216f04a78f4ceba3425022100fe7041a32759aff05a0f9f26c70a999c7a284451ba89234a1d3483c25e21925b6378"
	  "35638159022530820221308201c8a00302010202110088c220f83c8ef1feafe94deae45faad0300a06082a8648ce3d040302306231"
	  "1e301c06035504030c15576562417574686e207465737420766563746f7273310c300a060355040a0c03573343312530230603550"
	  "40b0c1c41757468656e74696361746f72204174746573746174696f6e204341310b30090603550406130241413020170d32343031"
	  "30313030303030305a180f33303234303130313030303030305a305f311e301c06035504030c15576562417574686e2074657374"
	  "20766563746f7273310c300a060355040a0c0357334331223020060355040b0c1941757468656e74696361746f72204174746573"
	  "746174696f6e310b30090603550406130241413059301306072a8648ce3d020106082a8648ce3d03010703420004a91ba4389409dd"
	  "38a428141940ca8feb1ac0d7b4350558104a3777a49322f3798440f378b3398ab2d3bb7bf91322c92eb23556f59ad0a836fec4c766"
	  "3b0e4dc3a360305e300c0603551d130101ff04023000300e0603551d0f0101ff040403020780301d0603551d0e04160414a589ba72"
	  "d060842ab11f74fb246bdedab16f9b9b301f0603551d2304183016801445aff715b0dd786741fee996ebc16547a3931b1e300a0608"
	  "2a8648ce3d040302034700304402201726b9d85ecd8a5ed51163722ca3a20886fd9b242a0aa0453d442116075defd502207ef471e5"
	  "30ac87961a88a7f0d0c17b091ffc6b9238d30f79f635b417be5910e768617574684461746158a4bfabc37432958b063360d3ad6461"
	  "c9c4735ae7f8edd46592a5e0f01452b2e4b54d00000000876ca4f52071c3e9b25509ef2cdf7ed60020c9a6f5b3462d02873fea0c56"
	  "862234f99f081728084e511bb7760201a89054a5a50102032620012158201cf27f25da591208a4239c2e324f104f585525479a29ed"
	  "eedd830f48e77aeae522582059e4b7da6c0106e206ce390c93ab98a15a5ec3887e57f0cc2bece803b920c423",
	  "c9a6f5b3462d02873fea0c56862234f99f081728084e511bb7760201a89054a5", WEBAUTHN_ATTESTATION_UNTRUSTED, false, 0 },
	{ "spec_none_es256_cross_origin", "3be5aacd03537142472340ab5969f240f1d87716e20b6807ac230655fa4b3b49",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a224f2d57717a514e546355"
	  "4a484930437257576e7951504859647862694332674872434d475666704c4f306b222c226f726967696e223a2268747470"
	  "733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22657874726144617461223a22"
	  "636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669"
	  "656c647320696e20746865206675747572652c207375636820617320746869733a207a5a7175457444523944577170573574"
	  "425754467567227d",
	  "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd4"
	  "6592a5e0f01452b2e4b54500000000883f4f6014f19c09d87aa38123be48d000206e1050c0d2ca2f07c755cb2c66a74c64fa4306"
	  "5c18f938354d9915db2bd5ce57a501020326200121582022200a473f90b11078851550d03b4e44a2279f8c4eca27b3153dedfe03"
	  "e4e97d225820cbd0be95e746ad6f5a8191be11756e4c0420e72f65b466d39bc56b8b123a9c6e",
	  "6e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57", WEBAUTHN_ATTESTATION_NONE, true, 0 },
	{ "spec_none_es256_top_origin", "4e1f4c6198699e33c14f192153f49d7e0e8e3577d5ac416c5f3adc92a41f27e5",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a225468394d595a68706e6a5042"
	  "54786b68555f53646667364f4e58665672454673587a72636b7151664a2d55222c226f726967696e223a2268747470733a2f2f"
	  "6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22746f704f726967696e223a226874747073"
	  "3a2f2f6578616d706c652e636f6d227d",
	  "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd4"
	  "6592a5e0f01452b2e4b5410000000097586fd09799a76401c200455099ef2a0020b8ad59b996047ab18e2ceb57206c362da57458"
	  "793481f4a8ebf101c7ca7cc0f1a5010203262001215820a1c47c1d82da4ebe82cd72207102b380670701993bc35398ae2e572642"
	  "7fe01d22582086c1080d82987028c7f54ecb1b01185de243b359294a0ed210cd47480f0adc88",
	  "b8ad59b996047ab18e2ceb57206c362da57458793481f4a8ebf101c7ca7cc0f1", WEBAUTHN_ATTESTATION_NONE, true, 0 },
	/* §16 packed attestation of an RS256 credential (a draft's edition of the
	 * vectors: its clientDataJSON has no extraData), the RSA key being the
	 * Mersenne-prime one tests/unit/webauthn_test_util.h also builds. */
	{ "spec_packed_rs256_draft", "bea8f0770009bd57f2c0df6fea9f743a27e4b61bbe923c862c7aad7a9fc8e4a6",
	  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a2276716a776477414a7656667977"
	  "4e3976367039304f69666b7468752d6b6a79474c48717465705f49354b59222c226f726967696e223a2268747470733a2f2f6578"
	  "616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
	  "a363666d74667061636b65646761747453746d74a363616c672663736967584730450221008b8c5c6ea8c142c032e0be69e1353d"
	  "44461c5c9109941cdda951b976eb95b6b302204d52f406c19e254b3ff9589bd18070fb055ac8db12fdd0a6734bea9d7168e90063"
	  "7835638159022630820222308201c7a00302010202101f6fb7a5ece81b45896b983a995da5f3300a06082a8648ce3d0403023062"
	  "311e301c06035504030c15576562417574686e207465737420766563746f7273310c300a060355040a0c03573343312530230603"
	  "55040b0c1c41757468656e74696361746f72204174746573746174696f6e204341310b30090603550406130241413020170d3234"
	  "303130313030303030305a180f33303234303130313030303030305a305f311e301c06035504030c15576562417574686e207465"
	  "737420766563746f7273310c300a060355040a0c0357334331223020060355040b0c1941757468656e74696361746f7220417474"
	  "6573746174696f6e310b30090603550406130241413059301306072a8648ce3d020106082a8648ce3d03010703420004b7b36b75"
	  "42a11120b443c794d0c99fdc25a06b76586413d81e086163ef6fe147a557afc34e2861d9057d6d465d4705a0310550bdeeb5f35e"
	  "e35b9425ab859981a360305e300c0603551d130101ff04023000300e0603551d0f0101ff040403020780301d0603551d0e041604"
	  "14fb37b647bccfb9e54d989eaaacc1633868703fb3301f0603551d2304183016801445aff715b0dd786741fee996ebc16547a393"
	  "1b1e300a06082a8648ce3d0403020349003046022100b86bc129d92afca7d9869a39f70f139a305b4073a39eb654d81424bed575"
	  "7d91022100cf9f7c60cab7c4a7d3e7f0020f281a93d4fd0a9f95121b989f56932a68885fba68617574684461746159021bbfabc3"
	  "7432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b55d00000000428f8878298b9862a36ad8c7527bfef20020"
	  "992a18acc83f67533600c1138a4b4c4bd236de13629cf025ed17cb00b00b74dfa4010303390100205901b403ffffffffffffffff"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	  "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7ffffffff"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	  "ffffffffffffff800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "00000000000000000000012143010001",
	  "992a18acc83f67533600c1138a4b4c4bd236de13629cf025ed17cb00b00b74df", WEBAUTHN_ATTESTATION_UNTRUSTED, false,
	  COSE_ALG_RS256 },
};

static void allow_cross_origin(struct webauthn_registration_input *in)
{
	in->expect.allow_cross_origin = true;
}

static enum webauthn_error run_spec(const struct spec_registration *v, X509_STORE *anchors, bool cross_origin,
    struct webauthn_credential *cred)
{
	struct tbuf ch = tbuf_hex(v->challenge), cd = tbuf_hex(v->client_data), ao = tbuf_hex(v->attestation_object);
	struct webauthn_registration_input in = {
		.client_data_json = cd.data, .client_data_json_len = cd.len,
		.attestation_object = ao.data, .attestation_object_len = ao.len,
		.expect = { .challenge = ch.data, .challenge_len = ch.len, .rp_id = T_RP_ID, .origins = origins,
			.origin_count = 1, .top_origins = top_origins, .top_origin_count = 1 },
		.policy = WEBAUTHN_POLICY_ACCEPT_UNVERIFIED, .trust_anchors = anchors,
	};
	enum webauthn_error rc;

	if (cross_origin)
		allow_cross_origin(&in);
	rc = webauthn_verify_registration(&in, cred, NULL, 0);
	if (rc == WEBAUTHN_OK && !anchors)
		t_write_seed("fuzz_webauthn_attestation", v->name, ao.data, ao.len);
	tbuf_free(&ch);
	tbuf_free(&cd);
	tbuf_free(&ao);
	return rc;
}

static void test_spec_vectors(void)
{
	struct tbuf ca_der = tbuf_hex(spec_ca_cert);
	const unsigned char *p = ca_der.data;
	X509 *spec_ca = d2i_X509(NULL, &p, (long)ca_der.len);
	X509_STORE *anchors = t_store_of(spec_ca);
	struct webauthn_credential cred;

	for (size_t i = 0; i < sizeof(spec_registrations) / sizeof(spec_registrations[0]); i++) {
		const struct spec_registration *v = &spec_registrations[i];
		struct tbuf id = tbuf_hex(v->credential_id);

		CHECK_EQ_INT(run_spec(v, NULL, v->cross_origin, &cred), WEBAUTHN_OK);
		CHECK_EQ_INT(cred.attestation_type, v->type);
		CHECK(cred.id_len == id.len && memcmp(cred.id, id.data, id.len) == 0);
		CHECK_EQ_INT(cred.alg, v->alg ? v->alg : COSE_ALG_ES256);
		if (v->cross_origin)
			CHECK_EQ_INT(run_spec(v, NULL, false, &cred), WEBAUTHN_ERR_CROSS_ORIGIN_NOT_ALLOWED);
		if (v->type == WEBAUTHN_ATTESTATION_UNTRUSTED) {
			CHECK_EQ_INT(run_spec(v, anchors, false, &cred), WEBAUTHN_OK);
			CHECK_EQ_INT(cred.attestation_type, WEBAUTHN_ATTESTATION_BASIC);
		}
		tbuf_free(&id);
	}
	X509_STORE_free(anchors);
	X509_free(spec_ca);
	tbuf_free(&ca_der);
}

/* The test root below encodes to exactly these bytes on every run (an
 * Ed25519 key from a fixed seed signs deterministically). fuzz/
 * fuzz_webauthn_attestation.c trusts the same bytes, so the x5c seeds this
 * test writes reach its "basic" path; keep the two in step. */
static const char test_root_der[] =
	"308201a030820152a003020102020101300506032b6570306e310b300906035504061302414131183016060355040a0c0f647265"
	"616d6175746820746573747331253023060355040b0c1c41757468656e74696361746f72204174746573746174696f6e20434131"
	"1e301c06035504030c1554657374204174746573746174696f6e20526f6f743020170d3234303130313030303030305a180f3231"
	"3030303130313030303030305a306e310b300906035504061302414131183016060355040a0c0f647265616d6175746820746573"
	"747331253023060355040b0c1c41757468656e74696361746f72204174746573746174696f6e204341311e301c06035504030c15"
	"54657374204174746573746174696f6e20526f6f74302a300506032b6570032100b1a4ad1a513cddc49d0da389204d16bab8db30"
	"888746ba59a40394e98395f9daa3133011300f0603551d130101ff040530030101ff300506032b6570034100ee24d41ba4a1fee6"
	"e216d8a66aace04f736a97d8d84c0339508c2d5352eb8a700bb695375b2bafa50895d6e8899120cf66d60963802c398f494b413e"
	"5d9d310e";

static void test_root_is_deterministic(void)
{
	struct tbuf expected = tbuf_hex(test_root_der);
	unsigned char *der = NULL;
	int len = i2d_X509(ca, &der);

	CHECK(len == (int)expected.len && memcmp(der, expected.data, expected.len) == 0);
	OPENSSL_free(der);
	tbuf_free(&expected);
}

static void make_certificates(void)
{
	ca = t_cert_make(&(struct t_cert){ .c = "AA", .o = "dreamauth tests", .ou = "Authenticator Attestation CA",
		.cn = "Test Attestation Root", .key = ca_key, .signer = ca_key, .ca = 1, .serial = 1 });
	mid = t_cert_make(&(struct t_cert){ .c = "AA", .o = "dreamauth tests", .ou = "Authenticator Attestation CA",
		.cn = "Test Attestation Intermediate", .key = mid_key, .issuer = ca, .signer = ca_key, .ca = 1, .serial = 2 });
	leaf = t_cert_make(&(struct t_cert){ .c = "AA", .o = "dreamauth tests", .ou = "Authenticator Attestation",
		.cn = "Test Authenticator", .key = leaf_key, .issuer = ca, .signer = ca_key, .ca = 0, .aaguid = aaguid,
		.serial = 3 });
	leaf_via_mid = t_cert_make(&(struct t_cert){ .c = "AA", .o = "dreamauth tests", .ou = "Authenticator Attestation",
		.cn = "Test Authenticator", .key = leaf_key, .issuer = mid, .signer = mid_key, .ca = 0, .serial = 4 });
}

int main(void)
{
	cred_ec = t_ec_key("credential p-256");
	cred_ed = t_ed_key("credential ed25519");
	cred_rsa = t_rsa_key();
	ca_key = t_ed_key("attestation root");
	mid_key = t_ed_key("attestation intermediate");
	leaf_key = t_ec_key("attestation leaf");
	other_key = t_ec_key("someone else");
	make_certificates();

	test_root_is_deterministic();
	test_none();
	test_packed_self();
	test_packed_x5c();
	test_packed_certificate_requirements();
	test_packed_statement_syntax();
	test_fido_u2f();
	test_unsupported_formats();
	test_extensions_and_flags();
	test_client_data_refusals();
	test_auth_data_refusals();
	test_attested_data_missing();
	test_attestation_object_refusals();
	test_arguments();
	test_trust_anchors_from_pem();
	test_spec_vectors();

	X509_free(ca);
	X509_free(mid);
	X509_free(leaf);
	X509_free(leaf_via_mid);
	EVP_PKEY_free(cred_ec);
	EVP_PKEY_free(cred_ed);
	EVP_PKEY_free(cred_rsa);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(mid_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	return CHECK_DONE();
}
