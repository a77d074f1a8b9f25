/*
 * OpenID Provider metadata (OpenID Connect Discovery 1.0 §3) and the public
 * key set. The metadata lists only what this build really supports.
 * Discovery and /jwks are served whether or not ENABLE_OIDC_PROVIDER is on
 * (other services verify our JWTs with them); when it is off, the /oauth2/ endpoints
 * answer 404 and the document omits those endpoints, so it stays truthful.
 */
#include "workers/discovery.h"
#include "workers/acr.h"
#include "common/config.h"
#include "common/log.h"
#include "workers/jwks_cache.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

static json_t *str_array(const char *const *items)
{
	json_t *a = json_array();
	for (; *items; items++)
		json_array_append_new(a, json_string(*items));
	return a;
}

static char *endpoint(const char *path)
{
	size_t n = strlen(cfg.issuer) + strlen(path) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%s%s", cfg.issuer, path);
	return s;
}

static void set_endpoint(json_t *o, const char *key, const char *path)
{
	char *url = endpoint(path);
	json_object_set_new(o, key, json_string(url));
	free(url);
}

char *discovery_build_json(void)
{
	static const char *const scopes[] = { "openid", "profile", "email", "offline_access", "groups", "wallet", "roles", NULL };
	static const char *const response_types[] = { "code", NULL };
	static const char *const response_modes[] = { "query", NULL };
	static const char *const grant_types[] = { "authorization_code", "refresh_token", "client_credentials", NULL };
	static const char *const subject_types[] = { "public", NULL };
	static const char *const algs[] = { "RS256", "ES256", "EdDSA", NULL };
	/* As oidc_authenticate_client is called: public clients (none) at the
	 * token endpoint and to revoke their own tokens, never to introspect. */
	static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post", "none", NULL };
	static const char *const secret_methods[] = { "client_secret_basic", "client_secret_post", NULL };
	static const char *const pkce[] = { "S256", NULL };
	static const char *const claims[] = { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr",
		"at_hash", "sid", "email", "email_verified", "name", "preferred_username", "groups", "wallet_address", "roles",
		"permissions", NULL };
	static const char *const prompts[] = { "none", "login", "consent", "select_account", NULL };
	static const char *const claim_types[] = { "normal", NULL };
	static const char *const acr_values[] = { ACR_SFA, ACR_MFA, NULL };
	json_t *o = json_object();
	char *text;

	json_object_set_new(o, "issuer", json_string(cfg.issuer));
	if (cfg.enable_oidc_provider) {
		set_endpoint(o, "authorization_endpoint", "/oauth2/authorize");
		set_endpoint(o, "token_endpoint", "/oauth2/token");
		set_endpoint(o, "userinfo_endpoint", "/oauth2/userinfo");
		set_endpoint(o, "introspection_endpoint", "/oauth2/introspect");
		set_endpoint(o, "revocation_endpoint", "/oauth2/revoke");
		set_endpoint(o, "end_session_endpoint", "/oauth2/end_session");
	}
	set_endpoint(o, "jwks_uri", "/jwks");
	json_object_set_new(o, "scopes_supported", str_array(scopes));
	json_object_set_new(o, "response_types_supported", str_array(response_types));
	json_object_set_new(o, "response_modes_supported", str_array(response_modes));
	json_object_set_new(o, "grant_types_supported", str_array(grant_types));
	json_object_set_new(o, "subject_types_supported", str_array(subject_types));
	json_object_set_new(o, "id_token_signing_alg_values_supported", str_array(algs));
	json_object_set_new(o, "token_endpoint_auth_methods_supported", str_array(auth_methods));
	json_object_set_new(o, "introspection_endpoint_auth_methods_supported", str_array(secret_methods));
	json_object_set_new(o, "revocation_endpoint_auth_methods_supported", str_array(auth_methods));
	json_object_set_new(o, "code_challenge_methods_supported", str_array(pkce));
	json_object_set_new(o, "claims_supported", str_array(claims));
	json_object_set_new(o, "prompt_values_supported", str_array(prompts));
	json_object_set_new(o, "acr_values_supported", str_array(acr_values));
	json_object_set_new(o, "claims_parameter_supported", json_false());
	json_object_set_new(o, "request_parameter_supported", json_false());
	json_object_set_new(o, "request_uri_parameter_supported", json_false());
	json_object_set_new(o, "require_request_uri_registration", json_false());
	/* RFC 9207: the authorization response carries iss. */
	json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
	json_object_set_new(o, "claim_types_supported", str_array(claim_types));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

void handle_discovery(struct http_exchange *ex)
{
	http_reply_header(ex, "Access-Control-Allow-Origin", "*");
	http_reply_header(ex, "Cache-Control", "public, max-age=300");
	http_reply(ex, 200, "application/json", worker->discovery_json, strlen(worker->discovery_json));
}

static void jwks_ready(bool ok, void *arg)
{
	struct http_exchange *ex = arg;
	if (!ok || !worker->jwks_json) {
		http_reply_error(ex, 503, "temporarily_unavailable", "signing keys are not available");
		return;
	}
	handle_jwks(ex);
}

void handle_jwks(struct http_exchange *ex)
{
	if (!worker->jwks_json) {
		worker_refresh_jwks(jwks_ready, ex);
		return;
	}
	http_reply_header(ex, "Access-Control-Allow-Origin", "*");
	/* Short: relying parties should notice a revoked key (dreamauth keys revoke) soon. */
	http_reply_header(ex, "Cache-Control", "public, max-age=60");
	http_reply(ex, 200, "application/jwk-set+json", worker->jwks_json, strlen(worker->jwks_json));
}
