/*
 * `dreamauth keys list|rotate|revoke`: signing-key rotation for operators.
 * Works against the database while servers run, like `dreamauth user`. Keys
 * are made and sealed by the same keystore code the signer uses (this
 * process holds AUTH_SECRET anyway; workers never hold private keys). Each
 * change is one transaction ending in NOTIFY, which every running signer
 * hears and acts on within about a second (signer/signer.c).
 *
 *   rotate   a new key per algorithm signs from now on; the old one retires:
 *            still in /jwks until the tokens it signed have expired
 *            (OIDC_ACCESS_TOKEN_TTL + KEYSTORE_RETIRE_MARGIN), then gone.
 *   revoke   a leaked key leaves /jwks at once, so tokens it signed fail;
 *            if it was signing, a fresh key takes over.
 */
#include "master/cli.h"
#include "store/audit.h"
#include "common/config.h"
#include "common/db.h"
#include "common/secure.h"
#include "master/master.h"
#include "signer/keystore.h"
#include "signer/token_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const enum jws_alg all_algs[] = { JWS_ALG_RS256, JWS_ALG_ES256, JWS_ALG_EDDSA };

static int usage(void)
{
	fprintf(stderr,
	    "usage: dreamauth keys list\n"
	    "       dreamauth keys rotate [--alg RS256|ES256|EdDSA]   (default: all three)\n"
	    "       dreamauth keys revoke <kid>\n");
	return 2;
}

static void format_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "-");
}

/* How long a retiring key stays published: until every token it signed has
 * expired. Tokens live OIDC_ACCESS_TOKEN_TTL (ID tokens too; logout tokens
 * at most TOKEN_MAX_LIFETIME_LOGOUT), plus a margin for clocks. */
static int publish_seconds(void)
{
	int ttl = cfg.oidc_access_token_ttl > TOKEN_MAX_LIFETIME_LOGOUT ? cfg.oidc_access_token_ttl
									: TOKEN_MAX_LIFETIME_LOGOUT;
	return ttl + KEYSTORE_RETIRE_MARGIN;
}

/* Derives the KEK and proves it opens the stored keys (the same load the
 * signer does, creating first keys on an empty table). A key sealed under a
 * different AUTH_SECRET would make every signer fail to reload, and to start. */
static int unlock(PGconn *db, uint8_t kek[32])
{
	struct keystore ks;

	memset(&ks, 0, sizeof(ks));
	if (keystore_derive_kek(cfg.auth_secret, ks.kek) < 0) {
		fprintf(stderr, "dreamauth: AUTH_SECRET is not set\n");
		return -1;
	}
	if (keystore_load(&ks, db) < 0) {
		fprintf(stderr, "dreamauth: cannot open the stored signing keys: is AUTH_SECRET the servers' one, "
				"and the schema migrated? Nothing was changed.\n");
		keystore_free(&ks);
		return -1;
	}
	memcpy(kek, ks.kek, 32);
	keystore_free(&ks);
	return 0;
}

/* What rotate and revoke start with: a connection whose stored keys open
 * under AUTH_SECRET, the KEK in kek. NULL after saying why, with nothing
 * left open. A non-NULL result is ended by keys_session_end. */
static PGconn *keys_session_begin(int *pg_pid, uint8_t kek[32])
{
	PGconn *db = cli_connect(pg_pid);

	if (db && unlock(db, kek) == 0)
		return db;
	secure_wipe(kek, 32);
	PQfinish(db);
	master_stop_embedded_pg(*pg_pid);
	return NULL;
}

static void keys_session_end(PGconn *db, int pg_pid, uint8_t kek[32])
{
	secure_wipe(kek, 32);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
}

static int keys_list(void)
{
	static const char *const titles[] = { "KID", "ALG", "STATE", "CREATED", "JWKS_UNTIL" };
	enum { COLS = 5 };
	struct key_info *list = NULL;
	int pg_pid, n;
	PGconn *db = cli_connect(&pg_pid);

	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	n = keystore_list(db, &list);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	if (n < 0)
		return 1;
	printf("%-43s  %-5s  %-8s  %-20s  %s\n", titles[0], titles[1], titles[2], titles[3], titles[4]);
	for (int i = 0; i < n; i++) {
		struct key_info *k = &list[i];
		char created[32], until[40];
		format_time(k->created_at, created, sizeof(created));
		/* Active and standby keys stay published; a retiring one until
		 * its window ends; retired and revoked ones left at retired_at. */
		if (!strcmp(k->state, "retiring"))
			format_time(k->publish_until, until, sizeof(until));
		else if (!strcmp(k->state, "retired") || !strcmp(k->state, "revoked"))
			format_time(k->retired_at ? k->retired_at : k->publish_until, until, sizeof(until));
		else
			snprintf(until, sizeof(until), "-");
		printf("%-43s  %-5s  %-8s  %-20s  %s\n", keystore_kid_valid(k->kid) ? k->kid : "(malformed kid)", k->alg,
		    k->state, created, until);
	}
	free(list);
	return 0;
}

static int keys_rotate(int argc, char **argv)
{
	struct key_rotation rot[3];
	enum jws_alg only = JWS_ALG_NONE;
	uint8_t kek[32];
	int pg_pid, rc = 1, n = 0, r;
	PGconn *db;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--alg") && i + 1 < argc && only == JWS_ALG_NONE) {
			only = jws_alg_from_name(argv[++i]);
			if (only != JWS_ALG_RS256 && only != JWS_ALG_ES256 && only != JWS_ALG_EDDSA) {
				fprintf(stderr, "dreamauth: --alg must be RS256, ES256 or EdDSA\n");
				return 2;
			}
		} else {
			return usage();
		}
	}
	for (size_t a = 0; a < sizeof(all_algs) / sizeof(all_algs[0]); a++)
		if (only == JWS_ALG_NONE || all_algs[a] == only)
			rot[n++].alg = all_algs[a];
	if (!(db = keys_session_begin(&pg_pid, kek)))
		return 1;
	keystore_expire(db);	/* retiring keys whose window ended no longer count */
	/* All algorithms in one transaction: servers switch them together. */
	r = keystore_rotate(db, kek, rot, n, publish_seconds());
	if (r == KEYSTORE_FULL) {
		fprintf(stderr, "dreamauth: not rotated: at most %d keys can be published and rotating would exceed it; "
				"wait until retiring keys leave the JWKS (see dreamauth keys list) or revoke some\n",
		    KEYSTORE_MAX_KEYS);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "dreamauth: not rotated: the database refused the change (see the log line above)\n");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char until[32], detail[200];
		/* after the keystore's own transaction: the change stands, say so */
		struct audit_event ev = { .event = "key_rotate", .method = "cli", .target_type = "key",
			.target_id = rot[i].new_kid,
			.detail = audit_detail(detail, sizeof(detail), "alg", jws_alg_name(rot[i].alg), "retiring",
			    rot[i].old_kid[0] ? rot[i].old_kid : NULL, NULL) };
		store_audit_record(db, &ev);
		format_time(rot[i].old_until, until, sizeof(until));
		printf("%-5s  active    %s\n", jws_alg_name(rot[i].alg), rot[i].new_kid);
		if (rot[i].old_kid[0])
			printf("%-5s  retiring  %s  (in /jwks until %s)\n", jws_alg_name(rot[i].alg), rot[i].old_kid, until);
	}
	rc = 0;
out:
	keys_session_end(db, pg_pid, kek);
	return rc;
}

static int keys_revoke(const char *kid)
{
	char new_kid[44];
	enum jws_alg alg;
	uint8_t kek[32];
	int pg_pid, rc = 1, r;
	PGconn *db;

	/* Never echoed unless it has the shape of one of our kids: it may be anything. */
	if (!keystore_kid_valid(kid)) {
		fprintf(stderr, "dreamauth: not a key id: a kid is 43 characters of A-Z a-z 0-9 - _ "
				"(see dreamauth keys list)\n");
		return 2;
	}
	if (!(db = keys_session_begin(&pg_pid, kek)))
		return 1;
	r = keystore_revoke(db, kek, kid, new_kid, &alg);
	if (r == KEYSTORE_NOT_FOUND) {
		fprintf(stderr, "dreamauth: no signing key with kid %s\n", kid);
	} else if (r == KEYSTORE_ALREADY_GONE) {
		fprintf(stderr, "dreamauth: key %s is already revoked or retired: it is not in the JWKS\n", kid);
	} else if (r != 0) {
		fprintf(stderr, "dreamauth: %s not revoked: the database refused the change (see the log line above)\n", kid);
	} else {
		char detail[200];
		struct audit_event ev = { .event = "key_revoke", .method = "cli", .target_type = "key", .target_id = kid,
			.detail = audit_detail(detail, sizeof(detail), "alg", jws_alg_name(alg), "replaced_by",
			    new_kid[0] ? new_kid : NULL, NULL) };
		store_audit_record(db, &ev);
		printf("%-5s  revoked   %s  (removed from /jwks; tokens it signed no longer verify)\n",
		    jws_alg_name(alg) ? jws_alg_name(alg) : "?", kid);
		if (new_kid[0])
			printf("%-5s  active    %s\n", jws_alg_name(alg), new_kid);
		rc = 0;
	}
	keys_session_end(db, pg_pid, kek);
	return rc;
}

int cli_keys(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && !strcmp(sub, "list") && argc == 1)
		return keys_list();
	if (sub && !strcmp(sub, "rotate"))
		return keys_rotate(argc - 1, argv + 1);
	if (sub && !strcmp(sub, "revoke") && argc == 2)
		return keys_revoke(argv[1]);
	return usage();
}
