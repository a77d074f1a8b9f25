/*
 * The one way every CLI command (user, client, keys, migrate) reaches the
 * database: DATABASE_URL, or in embedded mode the running server's cluster
 * (no second postgres is started while one runs) or, when none runs, the
 * cluster started for the command. Then the store's functions run on it
 * synchronously (store_exec).
 */
#include "master/cli.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "master/master.h"
#include "master/pg_embedded.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Embedded mode: is a server already running the cluster under DATA_DIR/pg? */
static bool embedded_cluster_running(void)
{
	char path[PATH_MAX], line[32];
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/pg/postmaster.pid", cfg.data_dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	pid = strtol(line, NULL, 10);
	if (pid <= 0)
		return false;
	/* EPERM: alive, owned by the postgres user. */
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Connection for the command; *pg_pid is an embedded cluster we started (else 0). */
PGconn *cli_connect(int *pg_pid)
{
	PGconn *db;
	int applied = 0;

	*pg_pid = 0;
	if (cfg.embedded_pg) {
		char *abs = realpath(cfg.data_dir, NULL);
		if (abs && embedded_cluster_running()) {
			free(cfg.data_dir);
			cfg.data_dir = abs;
			if (!cfg.pg_bin)
				cfg.pg_bin = pg_embedded_find_bin();
			/* Only builds the URL (the cluster exists): no second postgres.
			 * Then the unprivileged role, as the server uses: what the
			 * command writes (or migrates) belongs to it, not to postgres. */
			if (!cfg.pg_bin || pg_embedded_prepare(cfg.data_dir, cfg.pg_bin, &cfg.database_url) < 0 ||
			    pg_embedded_provision(cfg.data_dir, &cfg.database_url) < 0)
				return NULL;
		} else {
			free(abs);
			if (master_prepare_database(pg_pid) < 0)
				return NULL;
		}
	}
	db = db_connect(cfg.database_url, 10000);
	if (!db)
		return NULL;
	if (cfg.auto_migrate && migrate_run(db, cfg.migration_lock_key, cfg.migration_lock_timeout_ms, &applied) < 0) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

