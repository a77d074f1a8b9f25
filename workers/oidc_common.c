/* Shared helpers of the OIDC provider endpoints (see oidc.h). */
#include "workers/oidc.h"
#include "common/config.h"
#include "proto/eth_address.h"
#include "proto/oidc_clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool oidc_enabled(struct http_exchange *ex)
{
	if (cfg.enable_oidc_provider)
		return true;
	http_reply_error(ex, 404, "not_found", "the OpenID Connect provider is disabled (ENABLE_OIDC_PROVIDER)");
	return false;
}

/* Every shape carrying a user starts with the same columns, made by one macro
 * (proto/store_ops.h): they are read here by the OAUTH_USERINFO names. */
_Static_assert(OAUTH_ISSUED_USER_ID == 0 && OAUTH_REFRESHED_USER_ID == 0 && OAUTH_USERINFO_USER_ID == 0,
    "the user columns come first");
_Static_assert((int)OAUTH_ISSUED_USER_APP_PERMISSIONS == (int)OAUTH_USERINFO_USER_APP_PERMISSIONS &&
    (int)OAUTH_REFRESHED_USER_APP_PERMISSIONS == (int)OAUTH_USERINFO_USER_APP_PERMISSIONS, "the same user columns");

/* A JSON array of strings in a cell (NULL: none) as an owned array. */
static json_t *string_array_cell(const struct store_reply *r, unsigned col)
{
	json_t *a = store_is_null(r, 0, col) ? NULL : json_loads(store_text(r, 0, col), 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

int oidc_user_from_reply(const struct store_reply *r, struct oidc_user *u)
{
	json_error_t err;

	memset(u, 0, sizeof(*u));
	if (r->n_rows < 1 || store_is_null(r, 0, OAUTH_USERINFO_USER_ID) || store_bool(r, 0, OAUTH_USERINFO_USER_DISABLED))
		return 0;
	snprintf(u->id, sizeof(u->id), "%s", store_text(r, 0, OAUTH_USERINFO_USER_ID));
	snprintf(u->email, sizeof(u->email), "%s", store_text(r, 0, OAUTH_USERINFO_USER_EMAIL));
	snprintf(u->name, sizeof(u->name), "%s", store_text(r, 0, OAUTH_USERINFO_USER_NAME));
	u->email_verified = store_bool(r, 0, OAUTH_USERINFO_USER_EMAIL_VERIFIED);
	u->groups = json_loads(store_text(r, 0, OAUTH_USERINFO_USER_GROUPS), 0, &err);
	uint8_t address[ETH_ADDRESS_LEN];
	const char *wallet = store_text(r, 0, OAUTH_USERINFO_USER_WALLET);
	if (eth_address_decode(wallet, strlen(wallet), address))
		eth_address_encode(address, u->wallet);	/* stored lower-case; claimed in EIP-55 */
	if (!json_is_array(u->groups)) {
		json_decref(u->groups);
		u->groups = json_array();
	}
	u->roles = string_array_cell(r, OAUTH_USERINFO_USER_APP_ROLES);
	u->permissions = string_array_cell(r, OAUTH_USERINFO_USER_APP_PERMISSIONS);
	return 1;
}

void oidc_user_free(struct oidc_user *u)
{
	json_decref(u->groups);
	json_decref(u->roles);
	json_decref(u->permissions);
	u->groups = u->roles = u->permissions = NULL;
}

void oidc_user_app_claims(json_t *claims, const struct oidc_user *u)
{
	json_object_set_new(claims, "roles", u->roles ? json_incref(u->roles) : json_array());
	json_object_set_new(claims, "permissions", u->permissions ? json_incref(u->permissions) : json_array());
}

void oidc_user_claims(json_t *claims, const struct oidc_user *u, unsigned scopes)
{
	if (scopes & OIDC_SCOPE_PROFILE) {
		json_object_set_new(claims, "name", json_string(u->name[0] ? u->name : u->email));
		json_object_set_new(claims, "preferred_username", json_string(u->email));
	}
	if (scopes & OIDC_SCOPE_EMAIL) {
		json_object_set_new(claims, "email", json_string(u->email));
		json_object_set_new(claims, "email_verified", json_boolean(u->email_verified));
	}
	if (scopes & OIDC_SCOPE_GROUPS)
		json_object_set_new(claims, "groups", u->groups ? json_incref(u->groups) : json_array());
	if ((scopes & OIDC_SCOPE_WALLET) && u->wallet[0])
		json_object_set_new(claims, "wallet_address", json_string(u->wallet));
	if (scopes & OIDC_SCOPE_ROLES)
		oidc_user_app_claims(claims, u);
}

void oidc_token_hash_param(const char *token, char out[OIDC_HASH_PARAM_LEN])
{
	secure_sha256_param(token, strlen(token), out);
}

const char *oidc_alg(const char *client_choice)
{
	return client_choice && *client_choice ? client_choice : cfg.signing_alg;
}

void oidc_reply_error(struct http_exchange *ex, int status, const char *error, const char *description)
{
	http_reply_header(ex, "Pragma", "no-cache");
	http_reply_error(ex, status, error, description);
}

void oidc_reply_store_unavailable(struct http_exchange *ex, const char *description)
{
	http_reply_header(ex, "Retry-After", "1");
	oidc_reply_error(ex, 503, "temporarily_unavailable", description);
}
