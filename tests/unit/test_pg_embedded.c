/*
 * Embedded PostgreSQL end to end: initdb in a temporary DATA_DIR, spawn,
 * connect over the unix socket with the generated password, stop, and start
 * again on the existing cluster without a second initdb. The first start
 * creates objects as the superuser, as versions before the unprivileged
 * owner role did; the second provisions that role (the upgrade path) and
 * checks it owns everything, is no superuser, and can run the migrations.
 */
#include "check.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "master/pg_embedded.h"

#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static char *read_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *one_value(PGconn *db, const char *sql)
{
	static char buf[256];
	PGresult *res = db_query(db, sql, 0, NULL);

	buf[0] = '\0';
	if (res && PQntuples(res) == 1)
		snprintf(buf, sizeof(buf), "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	else
		snprintf(buf, sizeof(buf), "(error)");
	PQclear(res);
	return buf;
}

static void stop(pid_t pid)
{
	int status = 0;

	/* SIGINT = fast shutdown, as the master will do. */
	CHECK(kill(pid, SIGINT) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const char *count_not_owned =
    "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    "  AND relowner <> 'dreamauth'::regrole)"
    " + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    "  AND proowner <> 'dreamauth'::regrole)"
    " + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace"
    "  AND typowner <> 'dreamauth'::regrole)";

/* What every process gets in embedded mode: no superuser, but the owner of
 * the database and of what is in it, able to migrate. */
static void check_app_connection(const char *url, bool first)
{
	PGconn *db = db_connect(url, 5000);
	int applied = -1;

	CHECK(db != NULL);
	if (!db)
		return;
	CHECK_EQ_STR(one_value(db, "SELECT current_user"), "dreamauth");
	CHECK_EQ_STR(one_value(db, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f");
	CHECK_EQ_STR(one_value(db, "SELECT rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls "
	    "FROM pg_roles WHERE rolname = current_user"), "f");
	CHECK_EQ_STR(one_value(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"),
	    "dreamauth");
	CHECK_EQ_STR(one_value(db, count_not_owned), "0");
	/* The superuser's escape hatches are closed. */
	CHECK(!db_exec(db, "COPY (SELECT 1) TO PROGRAM 'true'", 0, NULL));
	CHECK(!db_exec(db, "CREATE ROLE intruder SUPERUSER", 0, NULL));
	CHECK(!db_exec(db, "ALTER ROLE dreamauth SUPERUSER", 0, NULL));
	/* The old objects are usable: insert through the serial and the trigger. */
	CHECK(db_exec(db, "INSERT INTO old_serial (n) VALUES (1)", 0, NULL));
	CHECK(db_exec(db, "SELECT nextval('old_free_seq')", 0, NULL));
	/* Migrations (tables, a plpgsql function, triggers) run as the owner. */
	CHECK_EQ_INT(migrate_run(db, "test-pg-embedded", 5000, &applied), 0);
	CHECK(first ? applied > 0 : applied == 0);
	CHECK_EQ_STR(one_value(db, "SELECT count(*) > 0 FROM pg_trigger WHERE NOT tgisinternal"
	    " AND tgrelid = 'oauth_access_tokens'::regclass"), "t");
	CHECK_EQ_STR(one_value(db, count_not_owned), "0");
	PQfinish(db);
}

/* *url is the superuser's: provision (twice: it must be idempotent). */
static void check_owner_role(const char *dir, char **url)
{
	char path[512], data[512], *again = NULL, *first = NULL;
	struct stat st;

	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(path, sizeof(path), "%s/data/pg.app_password", dir);
	CHECK(stat(path, &st) != 0);	/* the older version had none */
	CHECK_EQ_INT(pg_embedded_provision(data, url), 0);
	CHECK(strncmp(*url, "postgresql://dreamauth:", 23) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid());
	check_app_connection(*url, true);
	first = strdup(*url);

	char *pg_bin = pg_embedded_find_bin();
	CHECK_EQ_INT(pg_embedded_prepare(data, pg_bin, &again), 0);
	free(pg_bin);
	CHECK(again && strncmp(again, "postgresql://postgres:", 22) == 0);
	if (again) {
		CHECK_EQ_INT(pg_embedded_provision(data, &again), 0);
		CHECK(first && strcmp(again, first) == 0);	/* same stored password */
		check_app_connection(again, false);
	}
	/* A wrong password for the role is refused. */
	snprintf(path, sizeof(path), "postgresql://dreamauth:wrong@/postgres?host=%s/data/run", dir);
	PGconn *db = db_connect(path, 0);
	CHECK(db == NULL);
	PQfinish(db);
	free(again);
	free(first);
}

int main(void)
{
	char tmpl[] = "/tmp/da_pg_test.XXXXXX", path[512], saved_pw[128];
	char *bin, *url = NULL, *url2 = NULL;
	const char *dir, *pw;
	struct stat st;
	PGconn *db;
	pid_t pid;

	log_init("test_pg_embedded", LOG_LEVEL_DEBUG);
	bin = pg_embedded_find_bin();
	CHECK(bin != NULL);
	if (!bin)
		return CHECK_DONE();
	printf("using %s\n", bin);
	CHECK(strncmp(bin, "/usr/lib/postgresql/", 20) == 0 && strstr(bin, "/bin"));

	dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (!dir)
		return CHECK_DONE();
	/* mkdtemp makes 0700; the postgres user must traverse it when we are root. */
	CHECK(chmod(dir, 0711) == 0);
	snprintf(path, sizeof(path), "%s/data", dir);

	/* First start: initdb. */
	CHECK_EQ_INT(pg_embedded_prepare(path, bin, &url), 0);
	CHECK(url != NULL);
	if (!url)
		goto cleanup;
	CHECK(strncmp(url, "postgresql://postgres:", 22) == 0);
	CHECK(strstr(url, "?host=/tmp/da_pg_test.") != NULL);

	snprintf(path, sizeof(path), "%s/data/pg.password", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(st.st_uid == geteuid());
	pw = read_file(path);
	CHECK(pw && strlen(pw) == 44 && pw[43] == '\n');	/* 43 chars of base64url + newline */
	snprintf(saved_pw, sizeof(saved_pw), "%s", pw ? pw : "");
	CHECK(strstr(url, (saved_pw[43] = '\0', saved_pw)) != NULL);
	snprintf(path, sizeof(path), "%s/data/run", dir);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755);
	snprintf(path, sizeof(path), "%s/data/pg/PG_VERSION", dir);
	CHECK(stat(path, &st) == 0);
	if (geteuid() == 0)
		CHECK(st.st_uid != 0);	/* the cluster belongs to postgres */

	snprintf(path, sizeof(path), "%s/data", dir);
	pid = pg_embedded_spawn(path, bin);
	CHECK(pid > 0);
	if (pid <= 0)
		goto cleanup;
	CHECK_EQ_INT(pg_embedded_wait_ready(url, 20000), 0);
	snprintf(path, sizeof(path), "%s/data/run/.s.PGSQL.5432", dir);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));

	db = db_connect(url, 5000);
	CHECK(db != NULL);
	if (db) {
		CHECK_EQ_STR(one_value(db, "SELECT 1"), "1");
		CHECK_EQ_STR(one_value(db, "SHOW listen_addresses"), "");
		CHECK_EQ_STR(one_value(db, "SELECT inet_server_addr()"), "(null)");	/* unix socket */
		CHECK_EQ_STR(one_value(db, "SHOW password_encryption"), "scram-sha-256");
		CHECK_EQ_STR(one_value(db, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"),
		    "dreamauth");
		CHECK_EQ_STR(one_value(db, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'postgres'"),
		    "UTF8");
		/* What an older version left behind, all owned by postgres. */
		CHECK(db_exec(db, "CREATE TABLE first_run_marker (x int)", 0, NULL));
		CHECK(db_exec(db, "CREATE TABLE old_serial (id serial PRIMARY KEY, n int)", 0, NULL));
		CHECK(db_exec(db, "CREATE SEQUENCE old_free_seq", 0, NULL));
		CHECK(db_exec(db, "CREATE VIEW old_view AS SELECT x FROM first_run_marker", 0, NULL));
		CHECK(db_exec(db, "CREATE TYPE old_enum AS ENUM ('a', 'b')", 0, NULL));
		CHECK(db_exec(db, "CREATE FUNCTION old_fn() RETURNS trigger LANGUAGE plpgsql AS "
		    "$$ BEGIN RETURN NEW; END $$", 0, NULL));
		CHECK(db_exec(db, "CREATE TRIGGER old_trg BEFORE INSERT ON old_serial FOR EACH ROW EXECUTE FUNCTION old_fn()",
		    0, NULL));
		PQfinish(db);
	}
	/* Password auth is enforced: a wrong password is refused. */
	{
		char bad[1024];
		snprintf(bad, sizeof(bad), "postgresql://postgres:wrong@/postgres?host=%s/data/run", dir);
		db = db_connect(bad, 0);
		CHECK(db == NULL);
		PQfinish(db);
	}
	stop(pid);

	/* Second start: existing cluster, same password, no initdb. */
	snprintf(path, sizeof(path), "%s/data", dir);
	CHECK_EQ_INT(pg_embedded_prepare(path, bin, &url2), 0);
	CHECK(url2 && strcmp(url, url2) == 0);
	snprintf(path, sizeof(path), "%s/data/pg.password", dir);
	pw = read_file(path);
	CHECK(pw && strncmp(pw, saved_pw, 43) == 0);
	snprintf(path, sizeof(path), "%s/data", dir);
	pid = pg_embedded_spawn(path, bin);
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK_EQ_INT(pg_embedded_wait_ready(url2 ? url2 : url, 20000), 0);
		if (url2)
			check_owner_role(dir, &url2);
		stop(pid);
	}

cleanup:
	free(url);
	free(url2);
	free(bin);
	CHECK(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
	return CHECK_DONE();
}
