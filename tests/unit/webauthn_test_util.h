/*
 * Shared by the WebAuthn unit tests (test_webauthn_*.c, test_cose_key.c): an
 * authenticator written independently of proto/ — deterministic keys
 * (P-256 and Ed25519 from hashed labels, RSA from Mersenne primes as in the
 * specification's own test vectors), COSE keys, authenticator data,
 * clientDataJSON, attestation objects built with libcbor, signatures, and
 * attestation certificates with a CA made on the spot. Also writes fuzz
 * seeds when DREAMAUTH_WEBAUTHN_CORPUS names fuzz/corpus/.
 * Include after tests/unit/check.h.
 */
#ifndef DREAMAUTH_WEBAUTHN_TEST_UTIL_H
#define DREAMAUTH_WEBAUTHN_TEST_UTIL_H
#include "proto/webauthn.h"
#include "proto/base64url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

/* The authenticator-data flags, short. */
#define UP WEBAUTHN_FLAG_UP
#define UV WEBAUTHN_FLAG_UV
#define BE WEBAUTHN_FLAG_BE
#define BS WEBAUTHN_FLAG_BS
#define AT WEBAUTHN_FLAG_AT
#define ED WEBAUTHN_FLAG_ED

#define T_RP_ID "example.org"
#define T_ORIGIN "https://example.org"
#define T_NOT_BEFORE 1704067200L	/* 2024-01-01 */
#define T_NOT_AFTER 4102444800L		/* 2100-01-01 */
#define T_NOW 1750000000L		/* 2025-06-15, inside both */

/* A malloc'd byte string. */
struct tbuf {
	uint8_t *data;
	size_t len;
};

static inline void tbuf_free(struct tbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static inline struct tbuf tbuf_copy(const void *data, size_t len)
{
	struct tbuf b = { malloc(len ? len : 1), len };

	memcpy(b.data, data, len);
	return b;
}

/* Hex text to bytes (exit 2 on a typo in a vector). */
static inline struct tbuf tbuf_hex(const char *hex)
{
	size_t n = strlen(hex) / 2;
	struct tbuf b = { malloc(n ? n : 1), n };

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, "bad hex in test vector\n");
			exit(2);
		}
		b.data[i] = (uint8_t)v;
	}
	return b;
}

/* --- keys ---------------------------------------------------------------- */

/* A key pair of type name from the parameters in bld, which it frees. */
static inline EVP_PKEY *t_keypair_from(const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY *key = NULL;

	EVP_PKEY_fromdata_init(ctx);
	EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* P-256 key whose private scalar is SHA-256(label). */
static inline EVP_PKEY *t_ec_key(const char *label)
{
	uint8_t seed[32], pub[65];
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *point = EC_POINT_new(group);
	BIGNUM *priv;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *key;

	SHA256((const uint8_t *)label, strlen(label), seed);
	priv = BN_bin2bn(seed, 32, NULL);
	EC_POINT_mul(group, point, priv, NULL, NULL, NULL);
	EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	key = t_keypair_from("EC", bld);
	BN_free(priv);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return key;
}

/* Ed25519 key whose seed is SHA-256(label). */
static inline EVP_PKEY *t_ed_key(const char *label)
{
	uint8_t seed[32];

	SHA256((const uint8_t *)label, strlen(label), seed);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
}

/* 2^exponent - 1. */
static inline BIGNUM *t_mersenne(int exponent)
{
	BIGNUM *m = BN_new();

	BN_set_bit(m, exponent);
	BN_sub_word(m, 1);
	return m;
}

/* RSA key with p = 2^1279 - 1, q = 2^2203 - 1 (a 3482-bit modulus), e = 65537. */
static inline EVP_PKEY *t_rsa_key(void)
{
	BIGNUM *p = t_mersenne(1279), *q = t_mersenne(2203), *n = BN_new(), *e = BN_new();
	BIGNUM *p1 = BN_dup(p), *q1 = BN_dup(q), *phi = BN_new(), *d = BN_new();
	BIGNUM *dp = BN_new(), *dq = BN_new(), *qinv = BN_new();
	BN_CTX *bn = BN_CTX_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *key;

	BN_set_word(e, 65537);
	BN_mul(n, p, q, bn);
	BN_sub_word(p1, 1);
	BN_sub_word(q1, 1);
	BN_mul(phi, p1, q1, bn);
	BN_mod_inverse(d, e, phi, bn);
	BN_mod(dp, d, p1, bn);
	BN_mod(dq, d, q1, bn);
	BN_mod_inverse(qinv, q, p, bn);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv);
	key = t_keypair_from("RSA", bld);
	BN_CTX_free(bn);
	BN_free(p), BN_free(q), BN_free(n), BN_free(e), BN_free(p1), BN_free(q1);
	BN_free(phi), BN_free(d), BN_free(dp), BN_free(dq), BN_free(qinv);
	return key;
}

/* --- CBOR ---------------------------------------------------------------- */

/* An integer item in its shortest encoding (libcbor keeps the width given). */
static inline cbor_item_t *t_cbor_int(int64_t v)
{
	uint64_t m = v < 0 ? (uint64_t)(-1 - v) : (uint64_t)v;
	bool neg = v < 0;

	if (m <= 0xff)
		return neg ? cbor_build_negint8((uint8_t)m) : cbor_build_uint8((uint8_t)m);
	if (m <= 0xffff)
		return neg ? cbor_build_negint16((uint16_t)m) : cbor_build_uint16((uint16_t)m);
	if (m <= 0xffffffff)
		return neg ? cbor_build_negint32((uint32_t)m) : cbor_build_uint32((uint32_t)m);
	return neg ? cbor_build_negint64(m) : cbor_build_uint64(m);
}

/* map[key] = value, taking over the caller's references. */
static inline void t_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
	cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(key), .value = cbor_move(value) });
}

static inline cbor_item_t *t_cbor_bytes(const uint8_t *data, size_t len)
{
	return cbor_build_bytestring(data, len);
}

/* Serializes item and drops the caller's reference to it. */
static inline struct tbuf t_cbor_encode(cbor_item_t *item)
{
	struct tbuf b = { NULL, 0 };
	size_t cap = 0;

	b.len = cbor_serialize_alloc(item, &b.data, &cap);
	cbor_decref(&item);
	return b;
}

/* --- COSE keys ------------------------------------------------------------ */

static inline struct tbuf t_bn_param(EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	struct tbuf b;

	EVP_PKEY_get_bn_param(key, name, &bn);
	b.len = (size_t)BN_num_bytes(bn);
	b.data = malloc(b.len);
	BN_bn2bin(bn, b.data);
	BN_free(bn);
	return b;
}

/* The COSE_Key map (canonical order) of key's public half, labelled with alg. */
static inline cbor_item_t *t_cose_map(EVP_PKEY *key, int64_t alg)
{
	cbor_item_t *map = cbor_new_definite_map(5);
	uint8_t pub[65];
	size_t n = sizeof(pub);

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
		EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
		t_map_put(map, t_cbor_int(1), t_cbor_int(2));
		t_map_put(map, t_cbor_int(3), t_cbor_int(alg));
		t_map_put(map, t_cbor_int(-1), t_cbor_int(1));
		t_map_put(map, t_cbor_int(-2), t_cbor_bytes(pub + 1, 32));
		t_map_put(map, t_cbor_int(-3), t_cbor_bytes(pub + 33, 32));
	} else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		EVP_PKEY_get_raw_public_key(key, pub, &n);
		t_map_put(map, t_cbor_int(1), t_cbor_int(1));
		t_map_put(map, t_cbor_int(3), t_cbor_int(alg));
		t_map_put(map, t_cbor_int(-1), t_cbor_int(6));
		t_map_put(map, t_cbor_int(-2), t_cbor_bytes(pub, n));
	} else {
		struct tbuf mod = t_bn_param(key, OSSL_PKEY_PARAM_RSA_N), exp = t_bn_param(key, OSSL_PKEY_PARAM_RSA_E);

		t_map_put(map, t_cbor_int(1), t_cbor_int(3));
		t_map_put(map, t_cbor_int(3), t_cbor_int(alg));
		t_map_put(map, t_cbor_int(-1), t_cbor_bytes(mod.data, mod.len));
		t_map_put(map, t_cbor_int(-2), t_cbor_bytes(exp.data, exp.len));
		tbuf_free(&mod);
		tbuf_free(&exp);
	}
	return map;
}

static inline struct tbuf t_cose_key(EVP_PKEY *key, int64_t alg)
{
	return t_cbor_encode(t_cose_map(key, alg));
}

static inline int64_t t_alg_of(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC: return COSE_ALG_ES256;
	case EVP_PKEY_ED25519: return COSE_ALG_EDDSA;
	default: return COSE_ALG_RS256;
	}
}

/* --- signatures ------------------------------------------------------------ */

/* Signature of a || b in the WebAuthn format for key (DER for ECDSA). */
static inline struct tbuf t_sign(EVP_PKEY *key, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	uint8_t *msg = malloc(a_len + b_len + 1);
	struct tbuf sig = { NULL, 0 };

	memcpy(msg, a, a_len);
	if (b_len)
		memcpy(msg + a_len, b, b_len);
	EVP_DigestSignInit(ctx, NULL, md, NULL, key);
	EVP_DigestSign(ctx, NULL, &sig.len, msg, a_len + b_len);
	sig.data = malloc(sig.len);
	EVP_DigestSign(ctx, sig.data, &sig.len, msg, a_len + b_len);
	EVP_MD_CTX_free(ctx);
	free(msg);
	return sig;
}

/* --- clientDataJSON and authenticator data -------------------------------- */

/* {"type":..,"challenge":b64url(challenge),"origin":..<tail>}; tail is
 * appended as is (e.g. ",\"crossOrigin\":false"). */
static inline struct tbuf t_client_data(const char *type, const uint8_t *challenge, size_t challenge_len,
    const char *origin, const char *tail)
{
	char b64[BASE64URL_ENCODED_LEN(256) + 1];
	char *text = malloc(4096);
	int n;

	base64url_encode(challenge, challenge_len, b64);
	n = snprintf(text, 4096, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s}", type, b64, origin,
	    tail ? tail : ",\"crossOrigin\":false");
	return (struct tbuf){ (uint8_t *)text, (size_t)n };
}

struct t_auth_data {
	const char *rp_id;		/* hashed into rpIdHash */
	uint8_t flags;
	uint32_t sign_count;
	const uint8_t *aaguid;		/* attested credential data when cred_id set */
	const uint8_t *cred_id;
	size_t cred_id_len;		/* written as credentialIdLength */
	const uint8_t *cose;
	size_t cose_len;
	const uint8_t *extensions;	/* CBOR map, appended when set */
	size_t extensions_len;
};

static inline struct tbuf t_auth_data_build(const struct t_auth_data *t)
{
	static const uint8_t zero_aaguid[16];
	size_t cap = 37 + 18 + t->cred_id_len + t->cose_len + t->extensions_len;
	struct tbuf b = { malloc(cap), 0 };

	SHA256((const uint8_t *)t->rp_id, strlen(t->rp_id), b.data);
	b.data[32] = t->flags;
	for (int i = 0; i < 4; i++)
		b.data[33 + i] = (uint8_t)(t->sign_count >> (24 - 8 * i));
	b.len = 37;
	if (t->cred_id) {
		memcpy(b.data + b.len, t->aaguid ? t->aaguid : zero_aaguid, 16);
		b.data[b.len + 16] = (uint8_t)(t->cred_id_len >> 8);
		b.data[b.len + 17] = (uint8_t)t->cred_id_len;
		memcpy(b.data + b.len + 18, t->cred_id, t->cred_id_len);
		if (t->cose_len)
			memcpy(b.data + b.len + 18 + t->cred_id_len, t->cose, t->cose_len);
		b.len += 18 + t->cred_id_len + t->cose_len;
	}
	if (t->extensions) {
		memcpy(b.data + b.len, t->extensions, t->extensions_len);
		b.len += t->extensions_len;
	}
	return b;
}

/* --- attestation objects ----------------------------------------------------- */

/* {"fmt": fmt, "attStmt": stmt, "authData": auth_data}; takes stmt over. */
static inline struct tbuf t_attestation_object(const char *fmt, cbor_item_t *stmt, const struct tbuf *auth_data)
{
	cbor_item_t *map = cbor_new_definite_map(3);

	t_map_put(map, cbor_build_string("fmt"), cbor_build_string(fmt));
	t_map_put(map, cbor_build_string("attStmt"), stmt);
	t_map_put(map, cbor_build_string("authData"), t_cbor_bytes(auth_data->data, auth_data->len));
	return t_cbor_encode(map);
}

static inline cbor_item_t *t_stmt_alg_sig(int64_t alg, const struct tbuf *sig)
{
	cbor_item_t *stmt = cbor_new_definite_map(3);

	t_map_put(stmt, cbor_build_string("alg"), t_cbor_int(alg));
	t_map_put(stmt, cbor_build_string("sig"), t_cbor_bytes(sig->data, sig->len));
	return stmt;
}

/* x5c array of the DER certificates. */
static inline cbor_item_t *t_x5c(X509 *const *certs, size_t n)
{
	cbor_item_t *array = cbor_new_definite_array(n);

	for (size_t i = 0; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(certs[i], &der);

		cbor_array_push(array, cbor_move(t_cbor_bytes(der, (size_t)len)));
		OPENSSL_free(der);
	}
	return array;
}

/* --- certificates ------------------------------------------------------------ */

struct t_cert {
	const char *c, *o, *ou, *cn;	/* subject parts; NULL leaves one out */
	EVP_PKEY *key;			/* subject public key */
	X509 *issuer;			/* NULL: self-signed with signer */
	EVP_PKEY *signer;
	int ca;				/* 1 CA:TRUE, 0 CA:FALSE, -1 no Basic Constraints */
	const uint8_t *aaguid;		/* id-fido-gen-ce-aaguid value, if set */
	bool aaguid_critical;
	long serial;
	long version;			/* 0 means 3 */
	long not_after;			/* 0 means T_NOT_AFTER */
};

static inline void t_name_add(X509_NAME *name, const char *field, const char *value, int type)
{
	if (value)
		X509_NAME_add_entry_by_txt(name, field, type, (const unsigned char *)value, -1, -1, 0);
}

static inline void t_add_aaguid_extension(X509 *x, const uint8_t *aaguid, bool critical)
{
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
	unsigned char *der = NULL;
	int len;
	X509_EXTENSION *ext;

	ASN1_OCTET_STRING_set(inner, aaguid, 16);
	len = i2d_ASN1_OCTET_STRING(inner, &der);
	ASN1_OCTET_STRING_set(outer, der, len);
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, outer);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
}

static inline void t_add_basic_constraints(X509 *x, int ca)
{
	X509_EXTENSION *ext;

	if (ca < 0)
		return;
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

static inline X509 *t_cert_make(const struct t_cert *s)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, (s->version ? s->version : 3) - 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial ? s->serial : 1);
	t_name_add(name, "C", s->c, MBSTRING_ASC);
	t_name_add(name, "O", s->o, MBSTRING_UTF8);
	t_name_add(name, "OU", s->ou, MBSTRING_UTF8);
	t_name_add(name, "CN", s->cn, MBSTRING_UTF8);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : name);
	ASN1_TIME_set(X509_getm_notBefore(x), T_NOT_BEFORE);
	ASN1_TIME_set(X509_getm_notAfter(x), s->not_after ? s->not_after : T_NOT_AFTER);
	X509_set_pubkey(x, s->key);
	t_add_basic_constraints(x, s->ca);
	if (s->aaguid)
		t_add_aaguid_extension(x, s->aaguid, s->aaguid_critical);
	X509_sign(x, s->signer, EVP_PKEY_get_base_id(s->signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256());
	X509_NAME_free(name);
	return x;
}

/* A trust store holding cert. */
static inline X509_STORE *t_store_of(X509 *cert)
{
	X509_STORE *store = X509_STORE_new();

	X509_STORE_add_cert(store, cert);
	return store;
}

/* --- fuzz seeds ----------------------------------------------------------------- */

/* Writes data to $DREAMAUTH_WEBAUTHN_CORPUS/<target>/<name> when that
 * variable is set (the directories must exist): the seed corpora in
 * fuzz/corpus/ are this output. */
static inline void t_write_seed(const char *target, const char *name, const void *data, size_t len)
{
	const char *dir = getenv("DREAMAUTH_WEBAUTHN_CORPUS");
	char path[1024];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}
#endif
