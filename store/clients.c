/*
 * OAuth clients registered in the database (table oauth_clients): the
 * workers' lookup, and `dreamauth client add|list|remove` (master/cli_client.c
 * runs these through store_exec).
 */
#include "store/store_run.h"
#include "store/audit.h"
#include "store/oauth_tokens.h"

#include <string.h>

void store_client_find(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT name, encode(secret_hash, 'hex') AS secret_hex, redirect_uris::text AS redirect_uris,"
	        " post_logout_redirect_uris::text AS post_logout_redirect_uris, grant_types::text AS grant_types,"
	        " scopes::text AS scopes, public, skip_consent, require_pkce, id_token_alg, admin"
	        " FROM oauth_clients WHERE client_id = $1",
	        req));
}

/* The URI lists arrive space separated (a valid redirect URI has no space);
 * an empty list is an empty array. */
void store_client_add(PGconn *db, const struct store_request *req, struct store_result *res)
{
	bool ok = store_begin(db);
	PGresult *r = !ok ? NULL :
	    store_query(db,
	        "WITH added AS (INSERT INTO oauth_clients (client_id, secret_hash, name, redirect_uris,"
	        " post_logout_redirect_uris, grant_types, public, skip_consent, id_token_alg)"
	        " VALUES ($1, $2::bytea, $3, string_to_array($4, ' '), string_to_array($5, ' '),"
	        " CASE WHEN $6::boolean THEN '{authorization_code,refresh_token,client_credentials}'::text[]"
	        " ELSE '{authorization_code,refresh_token}'::text[] END, $7::boolean, $8::boolean, $9)"
	        " ON CONFLICT (client_id) DO NOTHING RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM added",
	        req);
	char detail[600];

	ok = r != NULL;
	/* never the secret (args[1] is its hash; not even that) */
	if (ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0)
		ok = store_audit(db, req, "client_add", NULL, NULL, "client", req->args[0].text,
		    audit_detail(detail, sizeof(detail), "name", req->args[2].text, "redirect_uris", req->args[3].text,
		        "public", req->args[6].i ? "true" : "false", NULL));
	store_commit_take(res, db, req, ok, r, true);
}

void store_client_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT client_id, name, public, skip_consent, array_to_string(redirect_uris, ' ') AS redirect_uris,"
	        " array_to_string(grant_types, ',') AS grant_types FROM oauth_clients"
	        " WHERE $1::text IS NULL OR client_id > $1 ORDER BY client_id LIMIT $2::int",
	        req));
}

/* The client and what it was granted, in one transaction: its refresh and
 * access tokens revoked (each access token's revocation is logged, and so
 * announced to every instance, by the trigger on oauth_access_tokens), its
 * unused codes deleted. */
void store_client_remove(PGconn *db, const struct store_request *req, struct store_result *res)
{
	static const char *const then[] = {
		"UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
		"UPDATE oauth_access_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
		"DELETE FROM oauth_codes WHERE client_id = $1",
		"DELETE FROM app_roles WHERE client_id = $1",	/* migrations/013: its roles go with it */
	};
	PGresult *r = NULL;
	bool ok = store_begin(db) &&
	    (r = store_query(db,
	         "WITH removed AS (DELETE FROM oauth_clients WHERE client_id = $1 RETURNING 1)"
	         " SELECT count(*)::bigint AS n FROM removed",
	         req)) != NULL;

	/* Nothing removed: nothing else to do (a configuration client's tokens
	 * stay). Else its refresh families first, under their locks: a rotation
	 * committing meanwhile cannot leave a live pair behind. */
	bool removed = ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	if (removed)
		ok = store_oauth_families_revoke(db, STORE_OAUTH_CLIENT, req->args[0].text);
	for (size_t i = 0; ok && removed && i < sizeof(then) / sizeof(then[0]); i++) {
		PGresult *step = store_query(db, then[i], req);
		ok = step != NULL;
		PQclear(step);
	}
	if (ok && removed)
		ok = store_audit(db, req, "client_remove", NULL, NULL, "client", req->args[0].text, NULL);
	store_commit_take(res, db, req, ok, r, true);
}
