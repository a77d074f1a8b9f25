/*
 * `dreamauth client add|list|remove`: OIDC clients kept in the database
 * (oauth_clients), next to those from OIDC_CLIENTS / OIDC_CLIENTS_FILE.
 * `client add` generates a 256-bit secret, stores only its SHA-256 and
 * prints the secret once. Redirect URIs follow the same rules as the
 * configuration (proto/oidc_clients.c).
 */
#include "master/cli.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/secure.h"
#include "master/master.h"
#include "proto/oidc_clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URIS OIDC_MAX_URIS

/* {"a","b"} as a PostgreSQL text[] literal (values are validated URLs: no quotes or backslashes). */
static void pg_array(char *const *items, int n, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "{");
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", i ? "," : "", items[i]);
	if (o < cap)
		snprintf(out + o, cap - o, "}");
}

static int usage(void)
{
	fprintf(stderr, "usage: dreamauth client add <client_id> --redirect-uri URL [...] | client list | client remove <client_id>\n");
	return 2;
}

static PGconn *open_db(int *pg_pid)
{
	if (master_prepare_database(pg_pid) < 0)
		return NULL;
	PGconn *db = db_connect(cfg.database_url, 30000);
	if (!db)
		master_stop_embedded_pg(*pg_pid);
	return db;
}

static int client_add(int argc, char **argv)
{
	char *redirects[MAX_URIS], *logouts[MAX_URIS];
	int n_redirect = 0, n_logout = 0, pg_pid = 0;
	/* The default is the server's, as for configured clients. */
	const char *id, *name = NULL, *alg = cfg.signing_alg ? cfg.signing_alg : "RS256";
	bool is_public = false, skip_consent = false, cc = false;

	if (argc < 1)
		return usage();
	id = argv[0];
	if (!oidc_client_id_valid(id, strlen(id))) {
		fprintf(stderr, "dreamauth: client id must be 1-%d characters of A-Z a-z 0-9 . _ ~ -\n", OIDC_CLIENT_ID_MAX);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((!strcmp(a, "--redirect-uri") || !strcmp(a, "--post-logout-redirect-uri")) && v) {
			bool logout = a[2] == 'p';
			if (!oidc_redirect_uri_valid(v, strlen(v))) {
				fprintf(stderr, "dreamauth: %s must be an absolute https URL (http only for localhost), no fragment\n", a);
				return 2;
			}
			if ((logout ? n_logout : n_redirect) >= MAX_URIS) {
				fprintf(stderr, "dreamauth: at most %d URLs per kind\n", MAX_URIS);
				return 2;
			}
			if (logout)
				logouts[n_logout++] = argv[++i];
			else
				redirects[n_redirect++] = argv[++i];
		} else if (!strcmp(a, "--name") && v) {
			name = argv[++i];
		} else if (!strcmp(a, "--id-token-alg") && v) {
			alg = argv[++i];
			if (!oidc_alg_valid(alg)) {
				fprintf(stderr, "dreamauth: --id-token-alg must be RS256, ES256 or EdDSA\n");
				return 2;
			}
		} else if (!strcmp(a, "--grant") && v && !strcmp(v, "client_credentials")) {
			cc = true;
			i++;
		} else if (!strcmp(a, "--public")) {
			is_public = true;
		} else if (!strcmp(a, "--skip-consent")) {
			skip_consent = true;
		} else {
			fprintf(stderr, "dreamauth: unknown or incomplete option \"%s\"\n", a);
			return usage();
		}
	}
	if (n_redirect == 0) {
		fprintf(stderr, "dreamauth: at least one --redirect-uri is required\n");
		return 2;
	}
	if (is_public && cc) {
		fprintf(stderr, "dreamauth: a public client cannot use client_credentials\n");
		return 2;
	}
	char redirect_lit[MAX_URIS * (OIDC_MAX_URI_LEN + 4) + 4], logout_lit[MAX_URIS * (OIDC_MAX_URI_LEN + 4) + 4];
	char secret[TOKEN_STR_LEN], hash_param[2 + 64 + 1];
	uint8_t hash[SHA256_LEN];
	pg_array(redirects, n_redirect, redirect_lit, sizeof(redirect_lit));
	pg_array(logouts, n_logout, logout_lit, sizeof(logout_lit));
	secure_token(secret);
	secure_sha256(secret, strlen(secret), hash);
	hash_param[0] = '\\';
	hash_param[1] = 'x';
	secure_hex(hash, sizeof(hash), hash_param + 2);

	PGconn *db = open_db(&pg_pid);
	if (!db)
		return 1;
	const char *params[] = { id, is_public ? NULL : hash_param, name ? name : id, redirect_lit, logout_lit,
		cc ? "{authorization_code,refresh_token,client_credentials}" : "{authorization_code,refresh_token}",
		is_public ? "true" : "false", skip_consent ? "true" : "false", alg };
	PGresult *r = db_query(db,
	    "INSERT INTO oauth_clients (client_id, secret_hash, name, redirect_uris, post_logout_redirect_uris, grant_types,"
	    " public, skip_consent, id_token_alg) VALUES ($1, $2::bytea, $3, $4::text[], $5::text[], $6::text[],"
	    " $7::boolean, $8::boolean, $9) ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
	    9, params);
	int rc = 0;
	if (!r) {
		rc = 1;
	} else if (PQntuples(r) != 1) {
		fprintf(stderr, "dreamauth: client \"%s\" already exists\n", id);
		rc = 1;
	} else {
		printf("client_id: %s\n", id);
		if (!is_public)
			printf("client_secret: %s\n(shown once: it is stored only as a hash)\n", secret);
		else
			printf("public client: no secret; PKCE S256 is required\n");
	}
	if (r)
		PQclear(r);
	secure_wipe(secret, sizeof(secret));
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

static int client_list(void)
{
	int pg_pid = 0;
	PGconn *db = open_db(&pg_pid);
	if (!db)
		return 1;
	PGresult *r = db_query(db,
	    "SELECT client_id, name, public, skip_consent, array_to_string(redirect_uris, ' '),"
	    " array_to_string(grant_types, ',') FROM oauth_clients ORDER BY client_id",
	    0, NULL);
	if (r) {
		for (int i = 0; i < PQntuples(r); i++)
			printf("%s\t%s\t%s%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			    PQgetvalue(r, i, 2)[0] == 't' ? "public" : "confidential",
			    PQgetvalue(r, i, 3)[0] == 't' ? ",skip-consent" : "", PQgetvalue(r, i, 5), PQgetvalue(r, i, 4));
		PQclear(r);
	}
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return r ? 0 : 1;
}

static int client_remove(const char *id)
{
	int pg_pid = 0, rc = 1;
	PGconn *db = open_db(&pg_pid);
	if (!db)
		return 1;
	const char *params[] = { id };
	PGresult *r = db_query(db, "DELETE FROM oauth_clients WHERE client_id = $1 RETURNING client_id", 1, params);
	if (r && PQntuples(r) == 1) {
		/* Its outstanding grants go with it. */
		db_exec(db, "UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL", 1,
		    params);
		db_exec(db, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL", 1,
		    params);
		db_exec(db, "DELETE FROM oauth_codes WHERE client_id = $1", 1, params);
		printf("removed client %s\n", id);
		rc = 0;
	} else if (r) {
		fprintf(stderr, "dreamauth: no database client \"%s\"\n", id);
	}
	if (r)
		PQclear(r);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

int cli_client(int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "add"))
		return client_add(argc - 1, argv + 1);
	if (argc == 1 && !strcmp(argv[0], "list"))
		return client_list();
	if (argc == 2 && !strcmp(argv[0], "remove"))
		return client_remove(argv[1]);
	return usage();
}
