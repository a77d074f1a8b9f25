/*
 * `dreamauth client add|list|remove`: OIDC clients kept in the database
 * (oauth_clients), next to those from OIDC_CLIENTS / OIDC_CLIENTS_FILE.
 * `client add` generates a 256-bit secret, stores only its SHA-256 and
 * prints the secret once. Redirect URIs follow the same rules as the
 * configuration (proto/oidc_clients.c).
 *
 * The SQL is the store's (store/clients.c), run here synchronously through
 * store_exec; the connection is every command's (cli_connect), which uses a
 * running server's embedded cluster rather than starting a second one.
 */
#include "master/cli.h"
#include "common/config.h"
#include "common/secure.h"
#include "master/master.h"
#include "proto/oidc_clients.h"
#include "store/store_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URIS OIDC_MAX_URIS
/* Rows per `client list` page; halved while a page does not fit a reply. */
#define LIST_PAGE_ROWS 64

/* A list joined with spaces, as CLIENT_ADD takes it (valid URIs have none);
 * false when it does not fit one store argument. */
static bool join_uris(char *const *items, int n, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%s%s", i ? " " : "", items[i]);
		if (w < 0 || (size_t)w >= cap - o)
			return false;
		o += (size_t)w;
	}
	return true;
}

static int usage(void)
{
	fprintf(stderr, "usage: dreamauth client add <client_id> --redirect-uri URL [...] [--admin] | client list | client remove <client_id>\n");
	return 2;
}

/* A failure the database did not already explain in the log. */
static void report_failure(int status)
{
	if (status != STORE_ERROR && status != STORE_UNAVAILABLE)
		fprintf(stderr, "dreamauth: %s\n", store_status_text(status));
}

/* `client add --admin`: the flag (migrations/013), after the add. */
static bool flag_admin(PGconn *db, const char *id)
{
	struct store_reply reply;
	const struct store_value args[] = { STORE_V_TEXT(id), STORE_V_BOOL(true) };
	bool ok = store_exec(db, STORE_OP_CLIENT_ADMIN_FLAG, args, 2, &reply) == STORE_OK &&
	    store_int(&reply, 0, COUNT_N) == 1;
	store_reply_free(&reply);
	return ok;
}

struct client_options {
	const char *id, *name, *alg;
	char *redirects[MAX_URIS], *logouts[MAX_URIS];
	int n_redirect, n_logout;
	bool is_public, skip_consent, client_credentials;
	bool admin;	/* may get scope admin by client_credentials (the admin API) */
};

/* 0, or the exit code after saying what is wrong. */
static int parse_add_options(int argc, char **argv, struct client_options *o)
{
	memset(o, 0, sizeof(*o));
	/* The default is the server's, as for configured clients. */
	o->alg = cfg.signing_alg ? cfg.signing_alg : "RS256";
	if (argc < 1)
		return usage();
	o->id = argv[0];
	if (!oidc_client_id_valid(o->id, strlen(o->id))) {
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
			if ((logout ? o->n_logout : o->n_redirect) >= MAX_URIS) {
				fprintf(stderr, "dreamauth: at most %d URLs per kind\n", MAX_URIS);
				return 2;
			}
			if (logout)
				o->logouts[o->n_logout++] = argv[++i];
			else
				o->redirects[o->n_redirect++] = argv[++i];
		} else if (!strcmp(a, "--name") && v) {
			o->name = argv[++i];
		} else if (!strcmp(a, "--id-token-alg") && v) {
			o->alg = argv[++i];
			if (!oidc_alg_valid(o->alg)) {
				fprintf(stderr, "dreamauth: --id-token-alg must be RS256, ES256 or EdDSA\n");
				return 2;
			}
		} else if (!strcmp(a, "--grant") && v && !strcmp(v, "client_credentials")) {
			o->client_credentials = true;
			i++;
		} else if (!strcmp(a, "--public")) {
			o->is_public = true;
		} else if (!strcmp(a, "--skip-consent")) {
			o->skip_consent = true;
		} else if (!strcmp(a, "--admin")) {
			o->admin = o->client_credentials = true;	/* admin tokens come by client_credentials */
		} else {
			fprintf(stderr, "dreamauth: unknown or incomplete option \"%s\"\n", a);
			return usage();
		}
	}
	if (o->n_redirect == 0) {
		fprintf(stderr, "dreamauth: at least one --redirect-uri is required\n");
		return 2;
	}
	if (o->is_public && o->client_credentials) {
		fprintf(stderr, "dreamauth: a public client cannot use client_credentials (nor be --admin)\n");
		return 2;
	}
	return 0;
}

static int client_add(int argc, char **argv)
{
	static char redirects[STORE_MAX_TEXT + 1], logouts[STORE_MAX_TEXT + 1];
	struct client_options o;
	struct store_reply reply;
	char secret[TOKEN_STR_LEN], hash_param[2 + 64 + 1];
	int pg_pid = 0, rc = parse_add_options(argc, argv, &o);

	if (rc)
		return rc;
	if (!join_uris(o.redirects, o.n_redirect, redirects, sizeof(redirects)) ||
	    !join_uris(o.logouts, o.n_logout, logouts, sizeof(logouts))) {
		fprintf(stderr, "dreamauth: the URLs of one kind are longer than %d bytes together\n", STORE_MAX_TEXT);
		return 2;
	}
	secure_token(secret);
	secure_sha256_param(secret, strlen(secret), hash_param);

	PGconn *db = cli_connect(&pg_pid);
	if (!db) {
		secure_wipe(secret, sizeof(secret));
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	const struct store_value args[] = { STORE_V_TEXT(o.id), o.is_public ? STORE_V_NULL : STORE_V_TEXT(hash_param),
		STORE_V_TEXT(o.name ? o.name : o.id), STORE_V_TEXT(redirects), STORE_V_TEXT(logouts),
		STORE_V_BOOL(o.client_credentials), STORE_V_BOOL(o.is_public), STORE_V_BOOL(o.skip_consent),
		STORE_V_TEXT(o.alg) };
	rc = 1;
	if (store_exec(db, STORE_OP_CLIENT_ADD, args, sizeof(args) / sizeof(args[0]), &reply) != STORE_OK) {
		report_failure(reply.status);
	} else if (store_int(&reply, 0, COUNT_N) != 1) {
		fprintf(stderr, "dreamauth: client \"%s\" already exists\n", o.id);
	} else if (o.admin && !flag_admin(db, o.id)) {
		fprintf(stderr, "dreamauth: client \"%s\" added, but not flagged admin; run the command again after "
				"dreamauth client remove %s\n", o.id, o.id);
	} else {
		printf("client_id: %s\n", o.id);
		if (!o.is_public)
			printf("client_secret: %s\n(shown once: it is stored only as a hash)\n", secret);
		else
			printf("public client: no secret; PKCE S256 is required\n");
		rc = 0;
	}
	store_reply_free(&reply);
	secure_wipe(secret, sizeof(secret));
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

static void print_clients(const struct store_reply *r)
{
	for (unsigned i = 0; i < r->n_rows; i++)
		printf("%s\t%s\t%s%s\t%s\t%s\n", store_text(r, i, CLIENT_SUMMARY_ID), store_text(r, i, CLIENT_SUMMARY_NAME),
		    store_bool(r, i, CLIENT_SUMMARY_PUBLIC) ? "public" : "confidential",
		    store_bool(r, i, CLIENT_SUMMARY_SKIP_CONSENT) ? ",skip-consent" : "",
		    store_text(r, i, CLIENT_SUMMARY_GRANT_TYPES), store_text(r, i, CLIENT_SUMMARY_REDIRECT_URIS));
}

/* Page by page (a store reply holds a bounded number of rows and bytes),
 * each after the last client_id printed. */
static int list_all(PGconn *db)
{
	char *after = NULL;
	int64_t limit = LIST_PAGE_ROWS;
	int rc = -1;

	while (rc < 0) {
		struct store_reply page;
		const struct store_value args[] = { after ? STORE_V_TEXT(after) : STORE_V_NULL, STORE_V_INT(limit) };
		int status = store_exec(db, STORE_OP_CLIENT_LIST, args, 2, &page);

		if (status == STORE_TOO_LARGE && limit > 1) {
			limit /= 2;
		} else if (status != STORE_OK) {
			report_failure(status);
			rc = 1;
		} else {
			print_clients(&page);
			free(after);
			after = page.n_rows < limit ? NULL : strdup(store_text(&page, page.n_rows - 1, CLIENT_SUMMARY_ID));
			if (page.n_rows < limit)
				rc = 0;
			else if (!after)
				rc = 1;	/* out of memory */
		}
		store_reply_free(&page);
	}
	free(after);
	return rc;
}

static int client_list(void)
{
	int pg_pid = 0, rc = 1;
	PGconn *db = cli_connect(&pg_pid);

	if (db) {
		rc = list_all(db);
		PQfinish(db);
	}
	master_stop_embedded_pg(pg_pid);
	return rc;
}

static int client_remove(const char *id)
{
	int pg_pid = 0, rc = 1;
	struct store_reply reply;
	PGconn *db = cli_connect(&pg_pid);

	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	const struct store_value args[] = { STORE_V_TEXT(id) };
	if (store_exec(db, STORE_OP_CLIENT_REMOVE, args, 1, &reply) != STORE_OK) {
		report_failure(reply.status);
	} else if (store_int(&reply, 0, COUNT_N) == 1) {
		printf("removed client %s\n", id);
		rc = 0;
	} else {
		fprintf(stderr, "dreamauth: no database client \"%s\"\n", id);
	}
	store_reply_free(&reply);
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
