/* OAuth clients registered in the database (table oauth_clients). */
#include "store/store_run.h"

void store_client_find(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT name, encode(secret_hash, 'hex') AS secret_hex, redirect_uris::text AS redirect_uris,"
	        " post_logout_redirect_uris::text AS post_logout_redirect_uris, grant_types::text AS grant_types,"
	        " scopes::text AS scopes, public, skip_consent, require_pkce, id_token_alg"
	        " FROM oauth_clients WHERE client_id = $1",
	        req));
}
