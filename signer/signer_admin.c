/* Key rotation and revocation for the admin API (see signer_admin.h). */
#include "signer/signer_admin.h"
#include "common/config.h"
#include "common/log.h"
#include "signer/keystore.h"
#include "store/audit.h"
#include "signer/token_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

/* The audit record of a key change, after the keystore's transaction
 * committed (store/audit.h); a failure to record is logged there. */
static void signer_audit(PGconn *db, const char *actor, const char *event, const char *target)
{
	store_audit_admin(db, NULL, actor, event, target);
}

/* As master/cli_keys.c: a retiring key stays published until every token it
 * signed has expired. */
static int publish_seconds(void)
{
	int ttl = cfg.oidc_access_token_ttl > TOKEN_MAX_LIFETIME_LOGOUT ? cfg.oidc_access_token_ttl
									: TOKEN_MAX_LIFETIME_LOGOUT;
	return ttl + KEYSTORE_RETIRE_MARGIN;
}

/* "user:<id>" / "client:<id>", or false when the proof names no live admin. */
static bool admin_actor(PGconn *db, const char *proof, char *actor, size_t cap)
{
	const char *params[1] = { proof };
	PGresult *r = PQexecParams(db, "SELECT dreamauth_admin_actor($1)", 1, NULL, params, NULL, NULL, 0);
	bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);

	if (ok)
		snprintf(actor, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok;
}

static int rotate(PGconn *db, const uint8_t kek[32], const char *only, const char *actor, char **json)
{
	static const enum jws_alg all[] = { JWS_ALG_RS256, JWS_ALG_ES256, JWS_ALG_EDDSA };
	struct key_rotation rot[3];
	int n = 0, rc;

	memset(rot, 0, sizeof(rot));
	for (size_t a = 0; a < sizeof(all) / sizeof(all[0]); a++)
		if (!*only || jws_alg_from_name(only) == all[a])
			rot[n++].alg = all[a];
	if (n == 0)
		return SIGNER_ADMIN_BAD_REQUEST;
	keystore_expire(db);
	rc = keystore_rotate(db, kek, rot, n, publish_seconds());
	if (rc != 0)
		return rc;
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(list, json_pack("{s:s,s:s,s:s?,s:I}", "alg", jws_alg_name(rot[i].alg), "kid",
		    rot[i].new_kid, "retiring", rot[i].old_kid[0] ? rot[i].old_kid : NULL, "retiringUntil",
		    (json_int_t)rot[i].old_until));
		signer_audit(db, actor, "admin.key.rotate", rot[i].new_kid);
	}
	json_t *o = json_pack("{s:o}", "rotated", list);
	*json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return 0;
}

static int revoke(PGconn *db, const uint8_t kek[32], const char *kid, const char *actor, char **json)
{
	char new_kid[44] = "";
	enum jws_alg alg = JWS_ALG_NONE;
	int rc;

	if (!keystore_kid_valid(kid))
		return KEYSTORE_NOT_FOUND;
	rc = keystore_revoke(db, kek, kid, new_kid, &alg);
	if (rc != 0)
		return rc;
	signer_audit(db, actor, "admin.key.revoke", kid);
	json_t *o = json_pack("{s:s,s:s?,s:s?}", "revoked", kid, "alg", jws_alg_name(alg),
	    "active", new_kid[0] ? new_kid : NULL);
	*json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return 0;
}

int signer_admin_keys(PGconn *db, const uint8_t kek[32], const struct ipc_msg *m, char **json)
{
	char actor[160];

	*json = NULL;
	if (!db || PQstatus(db) != CONNECTION_OK)
		return KEYSTORE_ERROR;
	if (!m->s1 || !m->s2 || !admin_actor(db, m->s2, actor, sizeof(actor))) {
		log_warnx("refused a key change: the caller is not a live admin");
		return SIGNER_ADMIN_FORBIDDEN;
	}
	switch (m->kind) {
	case IPC_KEYS_ROTATE: return rotate(db, kek, m->s1, actor, json);
	case IPC_KEYS_REVOKE: return revoke(db, kek, m->s1, actor, json);
	default: return SIGNER_ADMIN_BAD_REQUEST;
	}
}
