/*
 * Embedded PostgreSQL end to end: initdb in a temporary DATA_DIR, spawn,
 * connect over the unix socket with the generated password, stop, and start
 * again on the existing cluster without a second initdb.
 */
#include "check.h"
#include "common/db.h"
#include "common/log.h"
#include "master/pg_embedded.h"

#include <ftw.h>
#include <signal.h>
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
		CHECK(db_exec(db, "CREATE TABLE first_run_marker (x int)", 0, NULL));
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
		db = db_connect(url2 ? url2 : url, 5000);
		CHECK(db != NULL);
		if (db) {
			CHECK_EQ_STR(one_value(db, "SELECT to_regclass('first_run_marker') IS NOT NULL"), "t");
			PQfinish(db);
		}
		stop(pid);
	}

cleanup:
	free(url);
	free(url2);
	free(bin);
	CHECK(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
	return CHECK_DONE();
}
