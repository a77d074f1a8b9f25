/* Shared helpers of the OIDC provider endpoints (see oidc.h). */
#include "workers/oidc.h"
#include "common/config.h"
#include "common/db.h"
#include "proto/oidc_clients.h"
#include "workers/token_revocation.h"
#include "workers/worker.h"

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

int oidc_user_load(const char *user_id, struct oidc_user *u)
{
	const char *params[] = { user_id };
	PGresult *r;
	json_error_t err;

	memset(u, 0, sizeof(*u));
	r = db_query(worker->db,
	    "SELECT email, name, email_verified, disabled, array_to_json(groups)::text FROM users WHERE id::text = $1", 1,
	    params);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	snprintf(u->id, sizeof(u->id), "%s", user_id);
	snprintf(u->email, sizeof(u->email), "%s", PQgetvalue(r, 0, 0));
	snprintf(u->name, sizeof(u->name), "%s", PQgetvalue(r, 0, 1));
	u->email_verified = PQgetvalue(r, 0, 2)[0] == 't';
	u->disabled = PQgetvalue(r, 0, 3)[0] == 't';
	u->groups = json_loads(PQgetvalue(r, 0, 4), 0, &err);
	if (!json_is_array(u->groups)) {
		json_decref(u->groups);
		u->groups = json_array();
	}
	PQclear(r);
	return 1;
}

void oidc_user_free(struct oidc_user *u)
{
	json_decref(u->groups);
	u->groups = NULL;
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
}

void oidc_token_hash_param(const char *token, char out[OIDC_HASH_PARAM_LEN])
{
	uint8_t h[SHA256_LEN];
	secure_sha256(token, strlen(token), h);
	out[0] = '\\';
	out[1] = 'x';
	secure_hex(h, SHA256_LEN, out + 2);
}

/* The access tokens an UPDATE just revoked come back as (jti, exp) rows:
 * this instance's workers refuse them at once; a trigger (migrations/003)
 * NOTIFYs the other instances in the same transaction. */
static void revoke_access_tokens(const char *sql, const char *param)
{
	const char *params[] = { param };
	PGresult *r = db_query(worker->db, sql, 1, params);
	access_tokens_revoked_rows(r);
	if (r)
		PQclear(r);
}

void oidc_revoke_family(const char *family_id)
{
	revoke_access_tokens(
	    "WITH r AS (UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE family_id = $1::uuid AND revoked_at IS NULL)"
	    " UPDATE oauth_access_tokens SET revoked_at = now() WHERE family_id = $1::uuid AND revoked_at IS NULL"
	    " RETURNING jti, floor(extract(epoch FROM expires_at))::bigint",
	    family_id);
}

void oidc_revoke_code_tokens(const char *code_hash_param)
{
	revoke_access_tokens(
	    "WITH fam AS (SELECT DISTINCT family_id FROM oauth_access_tokens WHERE code_hash = $1::bytea"
	    "   AND family_id IS NOT NULL),"
	    " r AS (UPDATE oauth_refresh_tokens SET revoked_at = now()"
	    "   WHERE family_id IN (SELECT family_id FROM fam) AND revoked_at IS NULL)"
	    " UPDATE oauth_access_tokens SET revoked_at = now()"
	    " WHERE (code_hash = $1::bytea OR family_id IN (SELECT family_id FROM fam)) AND revoked_at IS NULL"
	    " RETURNING jti, floor(extract(epoch FROM expires_at))::bigint",
	    code_hash_param);
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
