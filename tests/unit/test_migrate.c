/*
 * Migrations against a real PostgreSQL (DREAMAUTH_TEST_DATABASE_URL): fresh
 * databases per run, first/second run, four racing processes, and the
 * additive-only checker.
 */
#include "check.h"
#include "db_test_util.h"
#include "common/db.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/migrate.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RACERS 4
#define LOCK_KEY "dreamauth-test-migrations"

static const char *base_url;

static int embedded_count(void)
{
	int n = 0;
	for (const struct embedded_file *f = migrations_files; f->name; f++)
		n++;
	return n;
}

static void admin_exec(PGconn *admin, const char *fmt, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof(sql), fmt, name);
	if (!db_exec(admin, sql, 0, NULL)) {
		fprintf(stderr, "failed: %s\n", sql);
		exit(1);
	}
}

static long long scalar(PGconn *db, const char *sql)
{
	PGresult *res = db_query(db, sql, 0, NULL);
	long long v = -1;
	if (res && PQntuples(res) == 1)
		v = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void test_checker(void)
{
	CHECK(migrate_destructive_statement("CREATE TABLE t (a int);") == NULL);
	CHECK(migrate_destructive_statement("ALTER TABLE t ADD COLUMN b int;") == NULL);
	CHECK_EQ_STR(migrate_destructive_statement("drop table users;"), "DROP TABLE");
	CHECK_EQ_STR(migrate_destructive_statement("DROP TABLE IF EXISTS users;"), "DROP TABLE");
	CHECK_EQ_STR(migrate_destructive_statement("Drop\n\t  Table x"), "DROP TABLE");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE users DROP COLUMN name;"), "DROP COLUMN");
	CHECK_EQ_STR(migrate_destructive_statement("alter table users drop column if exists name"), "DROP COLUMN");
	CHECK_EQ_STR(migrate_destructive_statement("TRUNCATE sessions;"), "TRUNCATE");
	CHECK_EQ_STR(migrate_destructive_statement("truncate table sessions"), "TRUNCATE");
	/* A trigger on the event is no truncation (migrations/014). */
	CHECK(migrate_destructive_statement("CREATE TRIGGER t BEFORE TRUNCATE ON a FOR EACH STATEMENT") == NULL);
	CHECK(migrate_destructive_statement("CREATE TRIGGER t BEFORE UPDATE OR DELETE OR TRUNCATE ON a") == NULL);
	CHECK_EQ_STR(migrate_destructive_statement("GRANT TRUNCATE ON a TO b"), "TRUNCATE");
	/* Dynamic SQL in a string or dollar-quoted body still counts. */
	CHECK_EQ_STR(migrate_destructive_statement("DO $$ BEGIN EXECUTE 'drop table x'; END $$;"), "DROP TABLE");
	/* Any DROP, RENAME, data change or column type change. */
	CHECK_EQ_STR(migrate_destructive_statement("DROP TABLESPACE ts;"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("DROP INDEX foo_idx;"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("drop function f();"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t DROP CONSTRAINT t_pkey;"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t ALTER COLUMN c DROP DEFAULT;"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t ALTER COLUMN c DROP NOT NULL;"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("DROP"), "DROP");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE users RENAME TO people;"), "RENAME");
	CHECK_EQ_STR(migrate_destructive_statement("alter table users rename column name to n;"), "RENAME");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER INDEX a RENAME TO b"), "RENAME");
	CHECK_EQ_STR(migrate_destructive_statement("DELETE FROM sessions;"), "DELETE");
	CHECK_EQ_STR(migrate_destructive_statement("CREATE TABLE a (b int); delete from a where b = 1"), "DELETE");
	CHECK_EQ_STR(migrate_destructive_statement("UPDATE users SET name = '';"), "UPDATE");
	CHECK_EQ_STR(migrate_destructive_statement("WITH x AS (SELECT 1) UPDATE users SET admin = true"), "UPDATE");
	CHECK_EQ_STR(migrate_destructive_statement("DO $$ BEGIN EXECUTE 'UPDATE users SET x = 1'; END $$"), "UPDATE");
	CHECK_EQ_STR(migrate_destructive_statement("CREATE RULE r AS ON DELETE TO t DO INSTEAD DELETE FROM u"), "DELETE");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t ALTER COLUMN c TYPE smallint;"), "ALTER COLUMN TYPE");
	CHECK_EQ_STR(migrate_destructive_statement("alter table t alter c type varchar(3)"), "ALTER COLUMN TYPE");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t ALTER COLUMN c SET DATA TYPE int"), "ALTER COLUMN TYPE");
	CHECK_EQ_STR(migrate_destructive_statement("ALTER TABLE t ADD COLUMN x int, ALTER y TYPE text"), "ALTER COLUMN TYPE");
	/* Words must match whole, and DELETE/UPDATE as events are fine. */
	CHECK(migrate_destructive_statement("CREATE TABLE truncated_log (dropped_table text, drop_column int,"
	    " renamed bool, updated_at timestamptz, deleted boolean, type text);") == NULL);
	CHECK(migrate_destructive_statement("CREATE TABLE s (u uuid REFERENCES users (id) ON DELETE CASCADE"
	    " ON UPDATE RESTRICT);") == NULL);
	CHECK(migrate_destructive_statement("CREATE TRIGGER t AFTER UPDATE OF a ON x FOR EACH ROW EXECUTE FUNCTION f();")
	    == NULL);
	CHECK(migrate_destructive_statement("CREATE TRIGGER t BEFORE INSERT OR UPDATE OR DELETE ON x"
	    " FOR EACH ROW EXECUTE FUNCTION f();") == NULL);
	CHECK(migrate_destructive_statement("CREATE TRIGGER t INSTEAD OF DELETE ON v FOR EACH ROW EXECUTE FUNCTION f();")
	    == NULL);
	CHECK(migrate_destructive_statement("SELECT 1 FROM t FOR UPDATE; SELECT 1 FROM t FOR NO KEY UPDATE") == NULL);
	CHECK(migrate_destructive_statement("ALTER TYPE mood ADD VALUE 'meh'; ALTER TABLE t ADD COLUMN type text;")
	    == NULL);
	CHECK(migrate_destructive_statement("ALTER TABLE t ALTER COLUMN c SET DEFAULT 0") == NULL);
	CHECK(migrate_destructive_statement("-- UPDATE users SET x = 1; DELETE FROM y; RENAME\nSELECT 1") == NULL);
	/* Comments are not executed. */
	CHECK(migrate_destructive_statement("-- never DROP TABLE here\nCREATE TABLE a (b int);") == NULL);
	CHECK(migrate_destructive_statement("/* TRUNCATE /* nested */ DROP TABLE */ SELECT 1;") == NULL);
	CHECK(migrate_destructive_statement("") == NULL);
	/* Every shipped migration passes its own rule. */
	for (const struct embedded_file *f = migrations_files; f->name; f++)
		CHECK(migrate_destructive_statement(f->data) == NULL);
}

static void test_sequential(PGconn *admin)
{
	char name[64], *url;
	PGconn *db, *holder;
	int applied = -1, n = embedded_count();
	struct timespec t0, t1;
	long elapsed_ms;

	snprintf(name, sizeof(name), "mig_test_%d", (int)getpid());
	admin_exec(admin, "CREATE DATABASE %s", name);
	url = test_db_url_for(base_url, name);
	db = db_connect(url, 2000);
	CHECK(db != NULL);
	if (!db)
		goto out;

	CHECK(n >= 1);
	CHECK_EQ_INT(migrate_pending(db), n);
	CHECK_EQ_INT(migrate_run(db, LOCK_KEY, 5000, &applied), 0);
	CHECK_EQ_INT(applied, n);
	CHECK_EQ_INT(migrate_pending(db), 0);
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM schema_migrations"), n);
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM schema_migrations WHERE version = '001_init'"), 1);
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN"
	    " ('users','sessions','oauth_clients','oauth_codes','oauth_refresh_tokens',"
	    "'oauth_access_tokens','oauth_consents')"), 7);
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'signing_keys'")
	    , embedded_find(migrations_files, "002_signing_keys.sql") ? 1 : 0);
	/* Session settings were restored after the bounded lock wait. */
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_settings WHERE name IN ('lock_timeout','statement_timeout')"
	    " AND setting = '0'"), 2);
	/* The schema works: defaults and cascades. */
	CHECK(db_exec(db, "INSERT INTO users (email, email_normalized) VALUES ('A@x.org', 'a@x.org')", 0, NULL));
	CHECK(db_exec(db, "INSERT INTO sessions (token_hash, user_id, expires_at, auth_time)"
	    " SELECT '\\x01', id, now() + interval '1 day', now() FROM users", 0, NULL));
	CHECK(!db_exec(db, "INSERT INTO users (email, email_normalized) VALUES ('a@x.org', 'a@x.org')", 0, NULL));
	CHECK_EQ_STR(db_last_sqlstate(), "23505");
	CHECK(db_exec(db, "DELETE FROM users", 0, NULL));
	CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM sessions"), 0);

	/* Second run is the lock-free fast path: with another session holding
	 * the lock and a 200 ms limit, any lock attempt would fail. */
	holder = db_connect(url, 2000);
	CHECK(holder != NULL);
	if (holder) {
		const char *key[1] = { LOCK_KEY };
		CHECK(db_exec(holder, "SELECT pg_advisory_lock(hashtextextended($1, 0))", 1, key));
		applied = -1;
		CHECK_EQ_INT(migrate_run(db, LOCK_KEY, 200, &applied), 0);
		CHECK_EQ_INT(applied, 0);

		/* A pending migration with the lock held elsewhere: the wait is
		 * bounded by lock_timeout and fails cleanly. */
		CHECK(db_exec(db, "DELETE FROM schema_migrations WHERE version = '001_init'", 0, NULL));
		CHECK_EQ_INT(migrate_pending(db), 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_EQ_INT(migrate_run(db, LOCK_KEY, 300, &applied), -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		CHECK(elapsed_ms >= 250 && elapsed_ms < 3000);
		CHECK(db_ping(db));
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_settings WHERE name = 'lock_timeout' AND setting = '0'"), 1);
		PQfinish(holder);

		/* Re-applying 001 over existing tables fails inside its
		 * transaction: nothing recorded, nothing half done. */
		CHECK_EQ_INT(migrate_run(db, LOCK_KEY, 2000, &applied), -1);
		CHECK_EQ_INT(applied, 0);
		CHECK_EQ_INT(migrate_pending(db), 1);
		/* The lock was released after the failure. */
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), 0);
		CHECK(db_exec(db, "INSERT INTO schema_migrations (version) VALUES ('001_init')", 0, NULL));
	}
	CHECK_EQ_INT(migrate_pending(db), 0);
	PQfinish(db);
out:
	free(url);
	admin_exec(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
}

static int racer(const char *url, int barrier_fd)
{
	PGconn *db = db_connect(url, 5000);
	int applied = 0;
	char c;

	if (!db)
		return 100;
	/* Everyone is connected; EOF on the pipe starts all at once. */
	if (read(barrier_fd, &c, 1) != 0)
		return 101;
	if (migrate_run(db, LOCK_KEY, 30000, &applied) != 0)
		return 102;
	PQfinish(db);
	return applied;
}

static void test_concurrent(PGconn *admin)
{
	char name[64], *url;
	pid_t pids[RACERS];
	int barrier[2], total = 0, n = embedded_count();
	PGconn *db;

	snprintf(name, sizeof(name), "mig_test_%d_race", (int)getpid());
	admin_exec(admin, "CREATE DATABASE %s", name);
	url = test_db_url_for(base_url, name);
	if (pipe(barrier) != 0)
		abort();
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(barrier[1]);
			_exit(racer(url, barrier[0]));
		}
		CHECK(pids[i] > 0);
	}
	close(barrier[0]);
	usleep(300 * 1000);	/* let the racers connect */
	close(barrier[1]);
	for (int i = 0; i < RACERS; i++) {
		int status = 0;
		if (pids[i] <= 0)
			continue;
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) <= n);
		if (WIFEXITED(status) && WEXITSTATUS(status) <= n)
			total += WEXITSTATUS(status);
		else
			fprintf(stderr, "racer %d exit status %d\n", i, WEXITSTATUS(status));
	}
	CHECK_EQ_INT(total, n);

	db = db_connect(url, 2000);
	CHECK(db != NULL);
	if (db) {
		CHECK_EQ_INT(migrate_pending(db), 0);
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM schema_migrations"), n);
		CHECK_EQ_INT(scalar(db, "SELECT count(DISTINCT version) FROM schema_migrations"), n);
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_class WHERE relname = 'users' AND relkind = 'r'"), 1);
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_class WHERE relname = 'sessions_user_id_idx'"), 1);
		CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_class WHERE relname = 'oauth_refresh_tokens'"), 1);
		PQfinish(db);
	}
	free(url);
	admin_exec(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
}

/* Captures what the logger writes to stderr while fn runs. */
static void capture_stderr(void (*fn)(void), char *out, size_t outlen)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	fputs(out, stderr);
}

static void connect_with_secret(void)
{
	/* Refused port and a malformed option: both fail, neither may echo
	 * the password. */
	PQfinish(db_connect("postgresql://u:SuperSecretPw123@127.0.0.1:1/x", 0));
	PQfinish(db_connect("postgresql://u:SuperSecretPw123@127.0.0.1:1/x?sslmode=bogus", 0));
	PQfinish(db_connect("host=127.0.0.1 port=1 password=SuperSecretPw123 sslmode=bogus", 250));
}

static void query_with_secret(void)
{
	PGconn *db = db_connect(base_url, 2000);
	const char *params[1] = { "SuperSecretPw123" };
	if (db)
		CHECK(!db_exec(db, "SELECT $1::uuid", 1, params));
	PQfinish(db);
}

static void test_redaction(void)
{
	char out[8192];

	capture_stderr(connect_with_secret, out, sizeof(out));
	CHECK(strstr(out, "database connection failed (host=127.0.0.1") != NULL);
	CHECK(strstr(out, "SuperSecretPw123") == NULL);
	capture_stderr(query_with_secret, out, sizeof(out));
	CHECK(strstr(out, "22P02") != NULL);
	CHECK(strstr(out, "SuperSecretPw123") == NULL);
}

/* A killed backend is replaced transparently outside a transaction, but
 * never inside one (the replay would run in autocommit). */
static void test_reconnect(void)
{
	PGconn *db = db_connect(base_url, 2000), *killer = db_connect(base_url, 2000);
	char pid[16];

	CHECK(db && killer);
	if (!db || !killer)
		goto out;
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db));
	{
		const char *params[1] = { pid };
		CHECK(db_exec(killer, "SELECT pg_terminate_backend($1::int, 5000)", 1, params));
		CHECK(db_ping(db));
		CHECK(PQbackendPID(db) != atoi(pid));

		snprintf(pid, sizeof(pid), "%d", PQbackendPID(db));
		CHECK(db_exec(db, "BEGIN", 0, NULL));
		CHECK(db_exec(killer, "SELECT pg_terminate_backend($1::int, 5000)", 1, params));
		CHECK(!db_exec(db, "SELECT 1", 0, NULL));
		CHECK(PQstatus(db) == CONNECTION_BAD);
		CHECK(db_ping(db));	/* next statement outside a transaction reconnects */
	}
out:
	PQfinish(db);
	PQfinish(killer);
}

int main(void)
{
	PGconn *admin;

	log_init("test_migrate", LOG_LEVEL_DEBUG);
	test_checker();
	base_url = test_db_base_url("test_migrate");
	admin = db_connect(base_url, 5000);
	if (!admin) {
		fprintf(stderr, "test_migrate: cannot connect to DREAMAUTH_TEST_DATABASE_URL\n");
		return 1;
	}
	test_redaction();
	test_reconnect();
	test_sequential(admin);
	test_concurrent(admin);
	PQfinish(admin);
	return CHECK_DONE();
}
