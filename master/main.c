/*
 * dreamauth: command-line entry. `serve` runs the daemon (master/master.c);
 * the other commands are one-shot administration in the auth-mini spirit.
 */
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "proc/privdrop.h"
#include "common/secure.h"
#include "master/cli.h"
#include "store/audit.h"
#include "master/master.h"
#include "workers/oidc_clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DREAMAUTH_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
	    "usage: dreamauth <command> [args]\n"
	    "\n"
	    "  serve                         run the identity provider\n"
	    "  migrate                       apply database migrations and exit\n"
	    "  user add <email> [--admin] [--name NAME] [--groups a,b]\n"
	    "                                (password: one line on stdin)\n"
	    "  user list\n"
	    "  user disable <email>\n"
	    "  user enable <email>\n"
	    "  user passwd <email>           new password (one line on stdin); revokes the user's\n"
	    "                                sessions and OAuth refresh/access tokens everywhere\n"
	    "  user set <email> [--admin | --no-admin] [--name NAME] [--groups a,b | --no-groups]\n"
	    "                                change the profile; running servers see it at once\n"
	    "  client add <client_id> --redirect-uri URL [--redirect-uri URL ...] [--name NAME]\n"
	    "             [--post-logout-redirect-uri URL] [--public] [--skip-consent]\n"
	    "             [--grant client_credentials] [--id-token-alg RS256|ES256|EdDSA]\n"
	    "                                (prints the generated secret once)\n"
	    "  client list\n"
	    "  client remove <client_id>\n"
	    "  keys list                     signing keys: kid, alg, state, until when published\n"
	    "  keys rotate [--alg RS256|ES256|EdDSA]\n"
	    "                                new signing key(s); the old ones retire once their tokens expired\n"
	    "  keys revoke <kid>             unpublish a (leaked) key at once; replaced if it was active\n"
	    "  smtp test <address>           send one test message now with the SMTP_* settings\n"
	    "  audit [--since UNIX] [--until UNIX] [--actor ID] [--target ID] [--event NAME] [--limit N]\n"
	    "                                the audit log, newest first, one JSON object a line\n"
	    "  version\n"
	    "\n"
	    "Configuration comes from the environment; see README.md.\n");
}

/* Through the CLI's one way in (master/cli_db.c): on a running embedded
 * cluster, its database, never a second postgres. */
static int cmd_migrate(void)
{
	int pg_pid, applied = 0, rc;
	cfg.auto_migrate = false;	/* this command migrates, and reports what it did */
	PGconn *db = cli_connect(&pg_pid);
	rc = db ? migrate_run(db, cfg.migration_lock_key, cfg.migration_lock_timeout_ms, &applied) : -1;
	if (rc == 0)
		log_info("%d migration(s) applied; schema up to date", applied);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char err[512];
	const char *cmd = argc > 1 ? argv[1] : NULL;

	secure_free_library_memory();	/* before libevent or jansson allocate */
	proctitle_init(argc, argv);
	log_init("master", LOG_LEVEL_INFO);
	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("dreamauth %s\n", DREAMAUTH_VERSION);
		return 0;
	}
	int loaded = config_load(err, sizeof(err));
	/* From here on cfg holds the secrets; the environment does not. */
	config_scrub_environment();
	if (loaded < 0) {
		log_errorx("configuration: %s", err);
		return 1;
	}
	log_init(strcmp(cmd, "serve") ? "cli" : "master", (enum log_level)cfg.log_level);
	if (!strcmp(cmd, "serve")) {
		/* A bad client list stops start-up with one clear line, not a half-working provider. */
		if (cfg.enable_oidc_provider && oidc_registry_init(err, sizeof(err)) < 0) {
			log_errorx("OIDC clients: %s", err);
			return 1;
		}
		return master_serve();
	}
	/* A command's stdout is its answer: its audit lines (AUDIT_LOG=stdout)
	 * go with its log, on stderr. */
	store_audit_lines_to(stderr);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate();
	if (!strcmp(cmd, "audit"))
		return cli_audit(argc - 2, argv + 2);
	if (!strcmp(cmd, "user"))
		return cli_user(argc - 2, argv + 2);
	if (!strcmp(cmd, "client"))
		return cli_client(argc - 2, argv + 2);
	if (!strcmp(cmd, "keys"))
		return cli_keys(argc - 2, argv + 2);
	if (!strcmp(cmd, "smtp"))
		return cli_smtp(argc - 2, argv + 2);
	fprintf(stderr, "dreamauth: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
