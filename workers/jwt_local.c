/* Local JWT verification against the worker's cached JWKS (see jwt_local.h). */
#include "workers/jwt_local.h"
#include "common/config.h"
#include "proto/jws.h"
#include "workers/worker_ctx.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* As many as the signer publishes (KEYSTORE_MAX_KEYS in signer/keystore.h). */
#define LOCAL_MAX_KEYS 32

struct local_key {
	char kid[64];
	enum jws_alg alg;
	EVP_PKEY *pkey;
};

static struct local_key keys[LOCAL_MAX_KEYS];
static int n_keys;
static uint64_t keys_version;	/* worker->jwks_version the keys were built from */
static bool keys_built;

static void rebuild_keys(void)
{
	json_error_t err;
	json_t *set, *list;
	size_t i;

	for (int k = 0; k < n_keys; k++)
		EVP_PKEY_free(keys[k].pkey);
	n_keys = 0;
	keys_version = worker->jwks_version;
	keys_built = true;
	if (!worker->jwks_json)
		return;
	set = json_loads(worker->jwks_json, 0, &err);
	list = set ? json_object_get(set, "keys") : NULL;
	for (i = 0; list && i < json_array_size(list) && n_keys < LOCAL_MAX_KEYS; i++) {
		json_t *jwk = json_array_get(list, i);
		const char *kid = json_string_value(json_object_get(jwk, "kid"));
		enum jws_alg alg;
		EVP_PKEY *pkey = jwk_to_public_key(jwk, &alg);
		if (!pkey || !kid || strlen(kid) >= sizeof(keys[0].kid)) {
			EVP_PKEY_free(pkey);
			continue;
		}
		strcpy(keys[n_keys].kid, kid);
		keys[n_keys].alg = alg;
		keys[n_keys].pkey = pkey;
		n_keys++;
	}
	json_decref(set);
}

static json_t *verify(const char *token, size_t len, const char *expected_typ, bool check_exp)
{
	struct jws_parsed p;
	json_t *claims = NULL;
	int64_t now = now_seconds();

	if (!keys_built || keys_version != worker->jwks_version)
		rebuild_keys();
	if (jws_parse(token, len, &p) < 0)
		return NULL;
	if (!p.kid || (expected_typ && (!p.typ || strcasecmp(p.typ, expected_typ) != 0)))
		goto out;
	for (int k = 0; k < n_keys; k++) {
		if (strcmp(keys[k].kid, p.kid) != 0 || keys[k].alg != p.alg)
			continue;
		if (jws_verify(&p, token, keys[k].pkey) != 0)
			goto out;
		json_t *iss = json_object_get(p.payload, "iss");
		json_t *exp = json_object_get(p.payload, "exp");
		json_t *nbf = json_object_get(p.payload, "nbf");
		if (!json_is_string(iss) || strcmp(json_string_value(iss), cfg.issuer) != 0)
			goto out;
		if (!json_is_integer(exp) || (check_exp && json_integer_value(exp) + JWT_LEEWAY < now))
			goto out;
		if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) - JWT_LEEWAY > now))
			goto out;
		claims = json_incref(p.payload);
		break;
	}
out:
	jws_parsed_free(&p);
	return claims;
}

json_t *jwt_local_verify(const char *token, size_t len, const char *expected_typ)
{
	return verify(token, len, expected_typ, true);
}

json_t *jwt_local_verify_any_age(const char *token, size_t len, const char *expected_typ)
{
	return verify(token, len, expected_typ, false);
}
