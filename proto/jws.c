/*
 * Compact JWS (RFC 7515) for RS256, ES256 and EdDSA, and public JWKs
 * (RFC 7517/7518/8037) with RFC 7638 thumbprints. Everything here takes
 * untrusted bytes, so every length is checked before use; only OpenSSL 3 EVP
 * interfaces are used. Lives in proto/, so it must not call common/.
 */
#include "proto/jws.h"
#include "proto/base64url.h"
#include "proto/public_key.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#define RSA_MIN_BITS PUBLIC_KEY_RSA_MIN_BITS
#define RSA_MAX_BYTES PUBLIC_KEY_RSA_MAX_BYTES
#define EC_COORD_LEN PUBLIC_KEY_P256_COORD_LEN
#define ED25519_KEY_LEN PUBLIC_KEY_ED25519_LEN
#define ES256_SIG_LEN 64
#define ES256_DER_MAX 72	/* SEQUENCE of two INTEGERs of up to 33 bytes */
#define EDDSA_SIG_LEN 64

enum jws_alg jws_alg_from_name(const char *name)
{
	if (!name)
		return JWS_ALG_NONE;
	if (strcmp(name, "RS256") == 0)
		return JWS_ALG_RS256;
	if (strcmp(name, "ES256") == 0)
		return JWS_ALG_ES256;
	if (strcmp(name, "EdDSA") == 0)
		return JWS_ALG_EDDSA;
	return JWS_ALG_NONE;
}

const char *jws_alg_name(enum jws_alg alg)
{
	switch (alg) {
	case JWS_ALG_RS256: return "RS256";
	case JWS_ALG_ES256: return "ES256";
	case JWS_ALG_EDDSA: return "EdDSA";
	default: return NULL;
	}
}

/* --- helpers ----------------------------------------------------------- */

/* Decodes base64url text into a fresh buffer; NULL on invalid input. */
static uint8_t *b64_decode_alloc(const char *in, size_t len, size_t *out_len)
{
	size_t cap = len / 4 * 3 + 3;
	uint8_t *buf = malloc(cap ? cap : 1);
	long n;

	if (!buf)
		return NULL;
	n = base64url_decode(in, len, buf, cap);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	*out_len = (size_t)n;
	return buf;
}

/* Encodes bytes as a fresh NUL-terminated base64url string. */
static char *b64_encode_alloc(const uint8_t *in, size_t len)
{
	char *out = malloc(BASE64URL_ENCODED_LEN(len) + 1);
	if (out)
		base64url_encode(in, len, out);
	return out;
}

/* Decodes a base64url JSON member that must be a string. */
static uint8_t *member_decode(const json_t *obj, const char *name, size_t *out_len)
{
	const json_t *v = json_object_get(obj, name);
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	return b64_decode_alloc(s, json_string_length(v), out_len);
}

/* True if key is the kind of key alg needs: RSA >= 2048 bits, P-256, Ed25519. */
static bool key_matches_alg(EVP_PKEY *key, enum jws_alg alg)
{
	char group[32];
	size_t group_len = 0;

	if (!key)
		return false;
	switch (alg) {
	case JWS_ALG_RS256:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= RSA_MIN_BITS;
	case JWS_ALG_ES256:
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
			return false;
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &group_len) != 1)
			return false;
		return strcmp(group, "prime256v1") == 0;
	case JWS_ALG_EDDSA:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
	default:
		return false;
	}
}

/* Raw R||S (32+32) to the DER ECDSA-Sig-Value OpenSSL expects. */
static uint8_t *ecdsa_raw_to_der(const uint8_t *raw, int *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, EC_COORD_LEN, NULL);
	BIGNUM *s = BN_bin2bn(raw + EC_COORD_LEN, EC_COORD_LEN, NULL);
	uint8_t *der = NULL;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	*der_len = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (*der_len <= 0)
		return NULL;
	return der;
}

/* DER ECDSA-Sig-Value to raw R||S, each left-padded to 32 bytes. */
static int ecdsa_der_to_raw(const uint8_t *der, size_t der_len, uint8_t raw[ES256_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, EC_COORD_LEN) == EC_COORD_LEN &&
	    BN_bn2binpad(s, raw + EC_COORD_LEN, EC_COORD_LEN) == EC_COORD_LEN)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/* NULL digest for Ed25519 (one-shot PureEdDSA), SHA-256 otherwise. */
static const EVP_MD *alg_digest(enum jws_alg alg)
{
	return alg == JWS_ALG_EDDSA ? NULL : EVP_sha256();
}

/* --- parse / verify ---------------------------------------------------- */

static json_t *decode_json_object(const char *in, size_t len)
{
	size_t raw_len = 0;
	uint8_t *raw = b64_decode_alloc(in, len, &raw_len);
	json_t *obj;
	json_error_t error;

	if (!raw)
		return NULL;
	/* Duplicate members are refused: two readers could disagree on "alg". */
	obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &error);
	free(raw);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* An optional header member that, when present, must be a string. */
static int optional_string(const json_t *header, const char *name, const char **out)
{
	const json_t *v = json_object_get(header, name);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

int jws_parse(const char *compact, size_t len, struct jws_parsed *out)
{
	const char *dot1, *dot2, *sig_text;
	size_t sig_text_len;

	memset(out, 0, sizeof(*out));
	if (!compact || len == 0 || len > JWS_MAX_LEN)
		return -1;
	dot1 = memchr(compact, '.', len);
	if (!dot1)
		return -1;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - compact));
	if (!dot2)
		return -1;
	sig_text = dot2 + 1;
	sig_text_len = len - (size_t)(sig_text - compact);
	/* Exactly three parts: a fourth dot (JWE has five parts) is refused. */
	if (memchr(sig_text, '.', sig_text_len))
		return -1;

	out->header = decode_json_object(compact, (size_t)(dot1 - compact));
	if (!out->header)
		goto fail;
	out->payload = decode_json_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!out->payload)
		goto fail;

	out->alg = jws_alg_from_name(json_string_value(json_object_get(out->header, "alg")));
	if (out->alg == JWS_ALG_NONE)
		goto fail;
	if (optional_string(out->header, "kid", &out->kid) < 0 ||
	    optional_string(out->header, "typ", &out->typ) < 0)
		goto fail;
	/* We understand no extensions, so any "crit" must be refused (RFC 7515 §4.1.11);
	 * this also refuses unencoded payloads (RFC 7797 "b64"). */
	if (json_object_get(out->header, "crit") || json_object_get(out->header, "b64"))
		goto fail;

	out->signature = b64_decode_alloc(sig_text, sig_text_len, &out->signature_len);
	if (!out->signature)
		goto fail;
	switch (out->alg) {
	case JWS_ALG_RS256:
		if (out->signature_len < RSA_MIN_BITS / 8 || out->signature_len > RSA_MAX_BYTES)
			goto fail;
		break;
	case JWS_ALG_ES256:
		if (out->signature_len != ES256_SIG_LEN)
			goto fail;
		break;
	case JWS_ALG_EDDSA:
		if (out->signature_len != EDDSA_SIG_LEN)
			goto fail;
		break;
	default:
		goto fail;
	}
	out->signing_input_len = (size_t)(dot2 - compact);
	return 0;
fail:
	jws_parsed_free(out);
	return -1;
}

void jws_parsed_free(struct jws_parsed *p)
{
	if (!p)
		return;
	json_decref(p->header);
	json_decref(p->payload);
	free(p->signature);
	memset(p, 0, sizeof(*p));
}

int jws_verify(const struct jws_parsed *p, const char *compact, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	const uint8_t *sig;
	size_t sig_len;
	int der_len = 0, rc = -1;

	if (!p || !compact || !p->signature || !key_matches_alg(key, p->alg))
		return -1;
	sig = p->signature;
	sig_len = p->signature_len;
	switch (p->alg) {
	case JWS_ALG_RS256:
		/* PKCS#1 v1.5 signatures are exactly the modulus size. */
		if (sig_len != (size_t)EVP_PKEY_get_size(key))
			return -1;
		break;
	case JWS_ALG_ES256:
		if (sig_len != ES256_SIG_LEN)
			return -1;
		der = ecdsa_raw_to_der(sig, &der_len);
		if (!der)
			return -1;
		sig = der;
		sig_len = (size_t)der_len;
		break;
	case JWS_ALG_EDDSA:
		if (sig_len != EDDSA_SIG_LEN)
			return -1;
		break;
	default:
		return -1;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit_ex(ctx, NULL, alg_digest(p->alg) ? "SHA256" : NULL, NULL, NULL, key, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)compact, p->signing_input_len) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

/* --- sign -------------------------------------------------------------- */

struct jws_signer {
	EVP_PKEY *key;			/* own reference */
	enum jws_alg alg;
	char kid[128];
	/* RS256/ES256: a context initialised once for EVP_PKEY_sign over a
	 * SHA-256 digest. Setting one up per token (EVP_DigestSignInit) cost
	 * about 2 us of a 25 us ES256 signature in OpenSSL 3.0. */
	EVP_PKEY_CTX *pctx;
	EVP_MD *sha256;
};

/* kid and typ go into the header verbatim: only JSON-safe token characters. */
static bool header_token_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 120)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._~+/=-", *s))
			return false;
	return true;
}

struct jws_signer *jws_signer_new(EVP_PKEY *key, enum jws_alg alg, const char *kid)
{
	struct jws_signer *s;

	if (!key_matches_alg(key, alg) || (kid && !header_token_ok(kid)))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (EVP_PKEY_up_ref(key) != 1) {
		free(s);
		return NULL;
	}
	s->key = key;
	s->alg = alg;
	snprintf(s->kid, sizeof(s->kid), "%s", kid ? kid : "");
	if (alg != JWS_ALG_EDDSA) {
		s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
		if (!s->sha256 || !s->pctx || EVP_PKEY_sign_init(s->pctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(s->pctx, s->sha256) != 1 ||
		    (alg == JWS_ALG_RS256 && EVP_PKEY_CTX_set_rsa_padding(s->pctx, RSA_PKCS1_PADDING) != 1)) {
			jws_signer_free(s);
			return NULL;
		}
	}
	return s;
}

void jws_signer_free(struct jws_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_CTX_free(s->pctx);
	EVP_MD_free(s->sha256);
	EVP_PKEY_free(s->key);
	free(s);
}

/* Signature over input[0..len) in JWS form (ES256: raw R||S). 0 ok. */
static int signer_signature(struct jws_signer *s, const char *input, size_t len, uint8_t *sig, size_t *sig_len)
{
	uint8_t digest[32], der[ES256_DER_MAX];
	size_t der_len = sizeof(der);
	int rc = -1;

	if (s->alg == JWS_ALG_EDDSA) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (ctx && EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, s->key, NULL) == 1 &&
		    EVP_DigestSign(ctx, sig, sig_len, (const unsigned char *)input, len) == 1)
			rc = 0;
		EVP_MD_CTX_free(ctx);
		return rc;
	}
	if (EVP_Digest(input, len, digest, NULL, s->sha256, NULL) != 1)
		return -1;
	if (s->alg == JWS_ALG_RS256)
		return EVP_PKEY_sign(s->pctx, sig, sig_len, digest, sizeof(digest)) == 1 ? 0 : -1;
	if (EVP_PKEY_sign(s->pctx, der, &der_len, digest, sizeof(digest)) != 1 || ecdsa_der_to_raw(der, der_len, sig) != 0)
		return -1;
	*sig_len = ES256_SIG_LEN;
	return 0;
}

char *jws_signer_sign(struct jws_signer *s, const char *typ, const char *payload_json, size_t payload_len)
{
	char header[300];
	uint8_t sig[RSA_MAX_BYTES];
	size_t sig_len = sizeof(sig), input_len, out_len;
	int header_len;
	char *out, *p;

	if (!s || !payload_json || (typ && !header_token_ok(typ)))
		return NULL;
	/* Same member order as before: alg, kid, typ. */
	header_len = snprintf(header, sizeof(header), "{\"alg\":\"%s\"%s%s%s%s%s%s}", jws_alg_name(s->alg),
	    *s->kid ? ",\"kid\":\"" : "", s->kid, *s->kid ? "\"" : "",
	    typ ? ",\"typ\":\"" : "", typ ? typ : "", typ ? "\"" : "");
	if (header_len < 0 || (size_t)header_len >= sizeof(header))
		return NULL;
	input_len = BASE64URL_ENCODED_LEN((size_t)header_len) + 1 + BASE64URL_ENCODED_LEN(payload_len);
	out_len = input_len + 1 + BASE64URL_ENCODED_LEN(sizeof(sig)) + 1;
	out = malloc(out_len);
	if (!out)
		return NULL;
	p = out + base64url_encode((const uint8_t *)header, (size_t)header_len, out);
	*p++ = '.';
	p += base64url_encode((const uint8_t *)payload_json, payload_len, p);
	input_len = (size_t)(p - out);
	if (signer_signature(s, out, input_len, sig, &sig_len) != 0) {
		free(out);
		return NULL;
	}
	*p++ = '.';
	p += base64url_encode(sig, sig_len, p);
	*p = '\0';
	return out;
}

char *jws_sign(EVP_PKEY *key, enum jws_alg alg, const char *kid, const char *typ, const char *payload_json)
{
	json_t *payload;
	struct jws_signer *s;
	char *out = NULL;

	if (!payload_json)
		return NULL;
	/* Only emit tokens our own parser accepts: the payload must be an object. */
	payload = json_loads(payload_json, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(payload) && (s = jws_signer_new(key, alg, kid))) {
		out = jws_signer_sign(s, typ, payload_json, strlen(payload_json));
		jws_signer_free(s);
	}
	json_decref(payload);
	return out;
}

/* --- JWK --------------------------------------------------------------- */

static json_t *b64_json_string(const uint8_t *in, size_t len)
{
	char *text = b64_encode_alloc(in, len);
	json_t *s = text ? json_string(text) : NULL;
	free(text);
	return s;
}

/* Big-endian bytes of a BIGNUM parameter; minimal (RSA) or padded to width. */
static json_t *bn_param_json(EVP_PKEY *key, const char *param, int width)
{
	BIGNUM *bn = NULL;
	uint8_t buf[RSA_MAX_BYTES * 2];
	int len;
	json_t *s = NULL;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return NULL;
	if (width > 0)
		len = BN_num_bytes(bn) <= width ? BN_bn2binpad(bn, buf, width) : -1;
	else
		len = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
	if (len > 0)
		s = b64_json_string(buf, (size_t)len);
	BN_free(bn);
	return s;
}

json_t *jwk_from_public_key(EVP_PKEY *key, enum jws_alg alg, const char *kid)
{
	json_t *jwk;
	uint8_t raw[ED25519_KEY_LEN];
	size_t raw_len = sizeof(raw);
	int ok = 0;

	if (!key_matches_alg(key, alg))
		return NULL;
	jwk = json_object();
	if (!jwk)
		return NULL;
	switch (alg) {
	case JWS_ALG_RS256:
		ok = json_object_set_new(jwk, "kty", json_string("RSA")) == 0 &&
		    json_object_set_new(jwk, "n", bn_param_json(key, OSSL_PKEY_PARAM_RSA_N, 0)) == 0 &&
		    json_object_set_new(jwk, "e", bn_param_json(key, OSSL_PKEY_PARAM_RSA_E, 0)) == 0;
		break;
	case JWS_ALG_ES256:
		ok = json_object_set_new(jwk, "kty", json_string("EC")) == 0 &&
		    json_object_set_new(jwk, "crv", json_string("P-256")) == 0 &&
		    json_object_set_new(jwk, "x", bn_param_json(key, OSSL_PKEY_PARAM_EC_PUB_X, EC_COORD_LEN)) == 0 &&
		    json_object_set_new(jwk, "y", bn_param_json(key, OSSL_PKEY_PARAM_EC_PUB_Y, EC_COORD_LEN)) == 0;
		break;
	case JWS_ALG_EDDSA:
		ok = EVP_PKEY_get_raw_public_key(key, raw, &raw_len) == 1 && raw_len == ED25519_KEY_LEN &&
		    json_object_set_new(jwk, "kty", json_string("OKP")) == 0 &&
		    json_object_set_new(jwk, "crv", json_string("Ed25519")) == 0 &&
		    json_object_set_new(jwk, "x", b64_json_string(raw, raw_len)) == 0;
		break;
	default:
		break;
	}
	if (ok && kid)
		ok = json_object_set_new(jwk, "kid", json_string(kid)) == 0;
	if (ok)
		ok = json_object_set_new(jwk, "alg", json_string(jws_alg_name(alg))) == 0 &&
		    json_object_set_new(jwk, "use", json_string("sig")) == 0;
	if (!ok) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

static EVP_PKEY *rsa_from_jwk(const json_t *jwk)
{
	size_t n_len = 0, e_len = 0;
	uint8_t *n_raw = member_decode(jwk, "n", &n_len);
	uint8_t *e_raw = member_decode(jwk, "e", &e_len);
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pkey = NULL;

	/* Exponent at most 4 bytes (65537 in practice), modulus at most 4096 bits. */
	if (n_raw && e_raw && n_len > 0 && n_len <= RSA_MAX_BYTES + 1 && e_len > 0 &&
	    e_len <= PUBLIC_KEY_RSA_E_MAX_BYTES) {
		n = BN_bin2bn(n_raw, (int)n_len, NULL);
		e = BN_bin2bn(e_raw, (int)e_len, NULL);
		if (n && e)
			pkey = public_key_rsa(n, e);
	}
	BN_free(n);
	BN_free(e);
	free(n_raw);
	free(e_raw);
	return pkey;
}

static EVP_PKEY *ec_from_jwk(const json_t *jwk)
{
	size_t x_len = 0, y_len = 0;
	uint8_t *x = member_decode(jwk, "x", &x_len);
	uint8_t *y = member_decode(jwk, "y", &y_len);
	EVP_PKEY *pkey = NULL;

	/* RFC 7518 §6.2.1.2: coordinates are full-length, never shortened. */
	if (x && y && x_len == EC_COORD_LEN && y_len == EC_COORD_LEN)
		pkey = public_key_p256(x, y);
	free(x);
	free(y);
	return pkey;
}

static EVP_PKEY *okp_from_jwk(const json_t *jwk)
{
	size_t x_len = 0;
	uint8_t *x = member_decode(jwk, "x", &x_len);
	EVP_PKEY *pkey = NULL;

	if (x && x_len == ED25519_KEY_LEN)
		pkey = public_key_ed25519(x);
	free(x);
	return pkey;
}

EVP_PKEY *jwk_to_public_key(const json_t *jwk, enum jws_alg *alg_out)
{
	const char *kty, *crv, *use, *alg_text;
	enum jws_alg alg;
	EVP_PKEY *pkey;

	if (!json_is_object(jwk))
		return NULL;
	kty = json_string_value(json_object_get(jwk, "kty"));
	crv = json_string_value(json_object_get(jwk, "crv"));
	if (!kty)
		return NULL;
	/* A public JWK carrying private members is a publishing mistake: refuse. */
	if (json_object_get(jwk, "d") || json_object_get(jwk, "p") || json_object_get(jwk, "k"))
		return NULL;
	if (strcmp(kty, "RSA") == 0)
		alg = JWS_ALG_RS256;
	else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
		alg = JWS_ALG_ES256;
	else if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0)
		alg = JWS_ALG_EDDSA;
	else
		return NULL;
	/* Optional members, when present, must agree with the key. */
	if (json_object_get(jwk, "use")) {
		use = json_string_value(json_object_get(jwk, "use"));
		if (!use || strcmp(use, "sig") != 0)
			return NULL;
	}
	if (json_object_get(jwk, "alg")) {
		alg_text = json_string_value(json_object_get(jwk, "alg"));
		if (jws_alg_from_name(alg_text) != alg)
			return NULL;
	}
	switch (alg) {
	case JWS_ALG_RS256: pkey = rsa_from_jwk(jwk); break;
	case JWS_ALG_ES256: pkey = ec_from_jwk(jwk); break;
	case JWS_ALG_EDDSA: pkey = okp_from_jwk(jwk); break;
	default: pkey = NULL; break;
	}
	if (pkey && !key_matches_alg(pkey, alg)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	if (pkey && alg_out)
		*alg_out = alg;
	return pkey;
}

/* A thumbprint member: a string of base64url or curve-name characters only,
 * so the canonical JSON needs no escaping. */
static const char *plain_member(const json_t *jwk, const char *name)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	if (!s || !*s)
		return NULL;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '_'))
			return NULL;
	return s;
}

int jwk_thumbprint(const json_t *jwk, char out[44])
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *a, *b, *c;
	char *canonical = NULL;
	int len = -1;
	uint8_t digest[32];
	unsigned int digest_len = 0;

	if (!kty)
		return -1;
	/* RFC 7638 §3.2: required members only, lexicographic order, no whitespace. */
	if (strcmp(kty, "RSA") == 0) {
		a = plain_member(jwk, "e");
		b = plain_member(jwk, "n");
		if (a && b) {
			size_t cap = strlen(a) + strlen(b) + 32;
			canonical = malloc(cap);
			if (canonical)
				len = snprintf(canonical, cap, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
		}
	} else if (strcmp(kty, "EC") == 0) {
		a = plain_member(jwk, "crv");
		b = plain_member(jwk, "x");
		c = plain_member(jwk, "y");
		if (a && b && c) {
			size_t cap = strlen(a) + strlen(b) + strlen(c) + 40;
			canonical = malloc(cap);
			if (canonical)
				len = snprintf(canonical, cap, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", a, b, c);
		}
	} else if (strcmp(kty, "OKP") == 0) {
		a = plain_member(jwk, "crv");
		b = plain_member(jwk, "x");
		if (a && b) {
			size_t cap = strlen(a) + strlen(b) + 32;
			canonical = malloc(cap);
			if (canonical)
				len = snprintf(canonical, cap, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", a, b);
		}
	}
	if (!canonical || len < 0) {
		free(canonical);
		return -1;
	}
	if (EVP_Digest(canonical, (size_t)len, digest, &digest_len, EVP_sha256(), NULL) != 1 || digest_len != 32) {
		free(canonical);
		return -1;
	}
	free(canonical);
	base64url_encode(digest, sizeof(digest), out);
	return 0;
}
