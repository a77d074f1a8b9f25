/*
 * Signing keys as the admin API lists them (STORE_OPS_ADMIN): kid, alg and
 * state only, never key material (the sealed private half is not even
 * selected). Rotation and revocation need the key-encryption key, so they run
 * in the signer (signer/signer_admin.c), not here. States as
 * `dreamauth keys list` names them (signer/keystore.h).
 */
#include "store/admin_actor.h"

void store_admin_keys_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT kid, alg, CASE WHEN state = 'current' THEN 'active'"
	    "   WHEN state = 'standby' AND (publish_until IS NULL OR publish_until > now()) THEN 'retiring'"
	    "   WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'retired' END AS state,"
	    " floor(extract(epoch FROM created_at))::bigint AS created_unix,"
	    " floor(extract(epoch FROM publish_until))::bigint AS publish_until,"
	    " floor(extract(epoch FROM revoked_at))::bigint AS revoked_unix"
	    " FROM signing_keys ORDER BY created_at DESC, kid LIMIT 200",
	    NULL, NULL, false);
}
