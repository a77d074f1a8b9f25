/*
 * Per-application roles and permissions (circle-rd auth-service's model):
 * each OIDC client is an application with roles, a role is a set of
 * permission strings, and users are given roles per application
 * (migrations/013: app_roles, app_user_roles). Admin operations re-check
 * their caller (store/admin_actor.h). Nothing is cached: tokens read a
 * user's roles when they are issued (store/oauth_tokens.c), userinfo and
 * /api/verify?app= when asked, so a change reaches the next token, refresh,
 * userinfo and verify at once, without a new sign-in.
 */
#include "store/admin_actor.h"

#include <string.h>

#define ROLE_ROW                                                                                        \
	" r.client_id, r.name, r.description, array_to_string(r.permissions, ',') AS permissions,"      \
	" (SELECT count(*) FROM app_user_roles a WHERE a.client_id = r.client_id AND a.role = r.name) AS members"

void store_admin_roles_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT" ROLE_ROW " FROM app_roles r WHERE $1::text IS NULL OR r.client_id = $1"
	    " ORDER BY r.client_id, r.name LIMIT 256",
	    NULL, NULL, false);
}

void store_admin_role_put(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH r AS (INSERT INTO app_roles (client_id, name, description, permissions)"
	    " VALUES ($1, $2, $3, coalesce(string_to_array(nullif($4, ''), ','), '{}'))"
	    " ON CONFLICT (client_id, name) DO UPDATE SET description = EXCLUDED.description,"
	    " permissions = EXCLUDED.permissions, updated_at = now() RETURNING *)"
	    " SELECT" ROLE_ROW ", r.client_id || '/' || r.name AS target FROM r",
	    "admin.role.put", "target", false);
}

void store_admin_role_delete(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH d AS (DELETE FROM app_roles WHERE client_id = $1 AND name = $2 RETURNING 1)"
	    " SELECT count(*)::bigint AS n, $1 || '/' || $2 AS target FROM d",
	    "admin.role.delete", "target", false);
}

void store_admin_user_roles(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT client_id, role FROM app_user_roles WHERE user_id::text = $1 ORDER BY client_id, role LIMIT 256",
	    NULL, NULL, false);
}

/* granted true: give the role (0: no such user or role, or had it), false:
 * take it away (0: did not have it). */
void store_admin_user_role_set(PGconn *db, const struct store_request *req, struct store_result *res)
{
	bool grant = req->args[4].kind == STORE_BOOL && req->args[4].i;

	if (grant)
		admin_run(db, req, res,
		    "WITH g AS (INSERT INTO app_user_roles (user_id, client_id, role)"
		    " SELECT u.id, r.client_id, r.name FROM users u JOIN app_roles r ON r.client_id = $2 AND r.name = $3"
		    " WHERE u.id::text = $1 AND $4 ON CONFLICT DO NOTHING RETURNING 1)"
		    " SELECT count(*)::bigint AS n, $1 || ' ' || $2 || '/' || $3 AS target FROM g",
		    "admin.user.role.grant", "target", false);
	else
		admin_run(db, req, res,
		    "WITH d AS (DELETE FROM app_user_roles WHERE user_id::text = $1 AND client_id = $2 AND role = $3"
		    " AND NOT $4 RETURNING 1) SELECT count(*)::bigint AS n, $1 || ' ' || $2 || '/' || $3 AS target FROM d",
		    "admin.user.role.revoke", "target", false);
}

/* Not an admin operation: /api/verify?app=&role= for a signed-in user. */
void store_app_access(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT coalesce(string_agg(DISTINCT a.role, ','), '') AS roles,"
	        " coalesce((SELECT string_agg(DISTINCT p, ',') FROM app_user_roles b"
	        "   JOIN app_roles r ON r.client_id = b.client_id AND r.name = b.role, unnest(r.permissions) p"
	        "   WHERE b.user_id::text = $1 AND b.client_id = $2), '') AS permissions"
	        " FROM app_user_roles a WHERE a.user_id::text = $1 AND a.client_id = $2",
	        req));
}
