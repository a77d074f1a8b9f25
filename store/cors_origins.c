/* The redirect URIs of database clients, for the workers' CORS origins
 * (workers/oidc_clients.c). Public information: URIs, no secrets. */
#include "store/store_run.h"

void store_client_redirect_uris(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT DISTINCT u AS uri FROM oauth_clients, unnest(redirect_uris) AS u"
	        " WHERE u ~* '^https?://' ORDER BY u LIMIT $1::int",
	        req));
}
