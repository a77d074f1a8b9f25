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
	    "  check-config [--strict]       validate the environment and the OIDC clients without\n"
	    "                                starting anything; names each problem; exit 0 or 1\n"
	    "                                (--strict: ignored settings count as problems)\n"
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

/* Commands that take no arguments of their own; the others parse theirs
 * (master/cli_*.c, check-config below) and answer usage + 2 to a bad one.
 * A new command goes in one of these lists (tests/integration/config.test.mjs
 * checks that every command in the usage text is known). */
static bool command_known(const char *cmd, int n_args)
{
	static const char *const bare[] = { "serve", "migrate", "version", NULL };
	static const char *const with_args[] = { "user", "client", "keys", "check-config", "smtp", "audit", NULL };
	for (const char *const *c = bare; *c; c++)
		if (!strcmp(*c, cmd))
			return n_args == 0;
	for (const char *const *c = with_args; *c; c++)
		if (!strcmp(*c, cmd))
			return true;
	return false;
}

static void warn_name(const char *line, void *arg)
{
	(void)arg;
	log_warnx("%s", line);
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
	if (!strcmp(cmd, "--version") && argc == 2)
		cmd = "version";
	/* Before the configuration: `serve --bogus` must not start a server,
	 * and a typo must not be blamed on the environment. */
	if (!command_known(cmd, argc - 2)) {
		if (command_known(cmd, 0))
			fprintf(stderr, "dreamauth: %s takes no arguments (got \"%s\")\n", cmd, argv[2]);
		else
			fprintf(stderr, "dreamauth: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "version")) {
		printf("dreamauth %s\n", DREAMAUTH_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "check-config"))
		return cli_check_config(argc - 2, argv + 2);
	int loaded = config_load(err, sizeof(err));
	/* Once, at start: settings that are set but mean nothing here. */
	if (loaded == 0 && !strcmp(cmd, "serve")) {
		extern char **environ;
		config_check_names(environ, warn_name, NULL);
	}
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
	usage(stderr);	/* not reached: command_known */
	return 2;
}
