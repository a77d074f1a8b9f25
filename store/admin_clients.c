/*
 * OIDC clients (applications) of the database for the admin API and console
 * (STORE_OPS_ADMIN, workers/admin_clients.c), and the CLI's admin flag.
 * Clients from OIDC_CLIENTS / OIDC_CLIENTS_FILE are not here: the worker
 * lists them read-only and refuses changes to them. Workers read a database
 * client at each use (CLIENT_FIND), so a change, a new secret or a deletion
 * takes effect on the next request everywhere. Secrets arrive hashed
 * (SHA-256, hex bytea); the admin API shows a new secret once and never
 * again.
 */
#include "store/admin_actor.h"
#include "store/audit.h"
#include "store/oauth_tokens.h"

#include <string.h>

#define CLIENT_ROW                                                                                      \
	" c.client_id, c.name, array_to_string(c.redirect_uris, ' ') AS redirect_uris,"                 \
	" array_to_string(c.post_logout_redirect_uris, ' ') AS post_logout_redirect_uris,"             \
	" array_to_string(c.grant_types, ',') AS grant_types, array_to_string(c.scopes, ',') AS scopes,"  \
	" c.public, c.skip_consent, c.require_pkce, c.id_token_alg, c.admin,"                          \
	" floor(extract(epoch FROM c.created_at))::bigint AS created_unix"

void store_admin_clients_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT" CLIENT_ROW " FROM oauth_clients c WHERE $1::text IS NULL OR c.client_id > $1"
	    " ORDER BY c.client_id LIMIT least(greatest($2::int, 1), 100)",
	    NULL, NULL, false);
}

void store_admin_client_get(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res, "SELECT" CLIENT_ROW " FROM oauth_clients c WHERE c.client_id = $1", NULL, NULL, false);
}

void store_admin_client_create(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH c AS (INSERT INTO oauth_clients (client_id, secret_hash, name, redirect_uris,"
	    " post_logout_redirect_uris, grant_types, scopes, public, skip_consent, require_pkce, id_token_alg, admin)"
	    " VALUES ($1, $2::bytea, $3, string_to_array($4, ' '), string_to_array($5, ' '), string_to_array($6, ','),"
	    " string_to_array($7, ','), $8, $9, $10, $11, $12)"
	    " ON CONFLICT (client_id) DO NOTHING RETURNING *) SELECT" CLIENT_ROW " FROM c",
	    "admin.client.create", "client_id", true);
}

void store_admin_client_update(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH c AS (UPDATE oauth_clients SET name = coalesce($2, name),"
	    " redirect_uris = coalesce(string_to_array($3, ' '), redirect_uris),"
	    " post_logout_redirect_uris = coalesce(string_to_array($4, ' '), post_logout_redirect_uris),"
	    " grant_types = coalesce(string_to_array($5, ','), grant_types),"
	    " scopes = coalesce(string_to_array($6, ','), scopes), skip_consent = coalesce($7, skip_consent),"
	    " require_pkce = coalesce($8, require_pkce), id_token_alg = coalesce($9, id_token_alg),"
	    " admin = coalesce($10, admin) WHERE client_id = $1 RETURNING *) SELECT" CLIENT_ROW " FROM c",
	    "admin.client.update", "client_id", false);
}

/* A public client has no secret to rotate: no row. */
void store_admin_client_secret(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH c AS (UPDATE oauth_clients SET secret_hash = $2::bytea WHERE client_id = $1 AND NOT public"
	    " RETURNING *) SELECT" CLIENT_ROW " FROM c",
	    "admin.client.secret.rotate", "client_id", false);
}

/* As `dreamauth client remove` (store/clients.c): its refresh families under
 * their locks, then its tokens revoked and codes deleted, and here its roles
 * (and so their assignments) too, in one transaction. */
void store_admin_client_delete(PGconn *db, const struct store_request *req, struct store_result *res)
{
	static const char *const then[] = {
		"UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
		"UPDATE oauth_access_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
		"DELETE FROM oauth_codes WHERE client_id = $1",
		"DELETE FROM app_roles WHERE client_id = $1",
	};
	char actor[ADMIN_ACTOR_MAX];
	PGresult *r;
	bool ok, removed;

	if (!admin_begin(db, req, res, actor))
		return;
	r = admin_query(db, "WITH removed AS (DELETE FROM oauth_clients WHERE client_id = $1 RETURNING 1)"
	                    " SELECT count(*)::bigint AS n FROM removed", req);
	ok = r != NULL;
	removed = ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	if (removed)
		ok = store_oauth_families_revoke(db, STORE_OAUTH_CLIENT, req->args[1].text);
	for (size_t i = 0; ok && removed && i < sizeof(then) / sizeof(then[0]); i++)
		ok = store_step(db, then[i], &req->args[1], 1, NULL);
	if (ok && removed)
		ok = store_audit_admin(db, req, actor, "admin.client.delete", req->args[1].text);
	store_commit_take(res, db, req, ok, r, false);
}

/* `dreamauth client add --admin`: the CLI is the operator already. */
void store_client_admin_flag(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH f AS (UPDATE oauth_clients SET admin = $2 WHERE client_id = $1 RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM f",
	        req));
}
