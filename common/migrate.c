/*
 * Schema migrations from the SQL files compiled into the binary.
 *
 * Double-checked locking: a lock-free read of schema_migrations answers the
 * common "already up to date" case without ever touching a lock; otherwise a
 * session advisory lock (hashtextextended(lock_key, 0)) serialises instances
 * and the applied set is read again under it. Each file runs in its own
 * transaction together with its bookkeeping row, so a crash leaves either all
 * of a migration or none of it. Files that could destroy or rewrite data
 * (DROP, RENAME, TRUNCATE, DELETE, UPDATE, ALTER COLUMN ... TYPE) are refused.
 */
#include "common/migrate.h"
#include "common/db.h"
#include "common/embedded.h"
#include "common/log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_MAX 128

/* ---- SQL text scanning (pure) ---- */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '"' || c == '$';
}

/* Next word of sql after *pos, skipping comments; quoted identifiers and
 * schema-qualified names stay one word. String literal contents are scanned
 * as words too: EXECUTE 'DROP TABLE x' must not slip through. */
static bool next_word(const char *sql, size_t *pos, char *word, size_t wordlen)
{
	size_t i = *pos, n = 0;

	for (;;) {
		if (!sql[i])
			return false;
		if (sql[i] == '-' && sql[i + 1] == '-') {
			while (sql[i] && sql[i] != '\n')
				i++;
		} else if (sql[i] == '/' && sql[i + 1] == '*') {
			/* PostgreSQL block comments nest. */
			int depth = 0;
			do {
				if (sql[i] == '/' && sql[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (sql[i] == '*' && sql[i + 1] == '/') {
					depth--;
					i += 2;
				} else {
					i++;
				}
			} while (sql[i] && depth > 0);
		} else if (ident_char(sql[i])) {
			break;
		} else {
			i++;
		}
	}
	while (sql[i] && ident_char(sql[i])) {
		if (n + 1 < wordlen)
			word[n++] = sql[i];
		i++;
	}
	word[n] = '\0';
	*pos = i;
	return true;
}

static bool word_is(const char *word, const char *keyword)
{
	return strcasecmp(word, keyword) == 0;
}

/* DELETE, UPDATE and TRUNCATE also name events, not statements: ON
 * DELETE/UPDATE of a foreign key, BEFORE/AFTER/INSTEAD OF [... OR]
 * UPDATE/TRUNCATE of a trigger (migrations/014 guards a table with one), FOR
 * [NO KEY] UPDATE of a row lock. Anything else (a DELETE or UPDATE statement,
 * a GRANT of them) is refused: a backfill would need an explicit exception. */
static bool names_an_event(const char *prev)
{
	static const char *const before_event[] = { "ON", "BEFORE", "AFTER", "OF", "OR", "FOR", "KEY" };

	for (size_t i = 0; i < sizeof(before_event) / sizeof(before_event[0]); i++)
		if (word_is(prev, before_event[i]))
			return true;
	return false;
}

/* ALTER [COLUMN] c TYPE t, ALTER [COLUMN] c SET DATA TYPE t: a rewrite that
 * can truncate or fail on existing rows. w[0] is the word before TYPE. */
static bool alters_column_type(char w[3][128])
{
	return word_is(w[1], "ALTER") || (word_is(w[2], "ALTER") && word_is(w[1], "COLUMN")) ||
	    (word_is(w[1], "SET") && word_is(w[0], "DATA"));
}

const char *migrate_destructive_statement(const char *sql)
{
	char word[128], prev[3][128] = { "", "", "" };	/* prev[0] is the latest */
	size_t pos = 0;

	while (next_word(sql, &pos, word, sizeof(word))) {
		if (word_is(word, "TRUNCATE") && !names_an_event(prev[0]))
			return "TRUNCATE";
		if (word_is(word, "RENAME"))
			return "RENAME";
		if (word_is(word, "DROP")) {
			/* DROP anything: a table, column, index, constraint, default, ... */
			if (!next_word(sql, &pos, word, sizeof(word)))
				return "DROP";
			return word_is(word, "TABLE") ? "DROP TABLE" : word_is(word, "COLUMN") ? "DROP COLUMN" : "DROP";
		}
		if ((word_is(word, "DELETE") || word_is(word, "UPDATE")) && !names_an_event(prev[0]))
			return word_is(word, "DELETE") ? "DELETE" : "UPDATE";
		if (word_is(word, "TYPE") && alters_column_type(prev))
			return "ALTER COLUMN TYPE";
		memmove(prev[1], prev[0], sizeof(prev[0]) * 2);
		snprintf(prev[0], sizeof(prev[0]), "%s", word);
	}
	return NULL;
}

/* "tables users, sessions; indexes sessions_user_id_idx" for the audit log. */
static void created_objects(const char *sql, char *out, size_t outlen)
{
	char tables[512] = "", indexes[512] = "", word[128];
	size_t pos = 0;

	while (next_word(sql, &pos, word, sizeof(word))) {
		bool is_index = false;
		char *list;

		if (!word_is(word, "CREATE"))
			continue;
		if (!next_word(sql, &pos, word, sizeof(word)))
			break;
		/* CREATE [UNIQUE] INDEX [CONCURRENTLY] / CREATE [UNLOGGED|TEMP] TABLE */
		while (word_is(word, "UNIQUE") || word_is(word, "UNLOGGED") || word_is(word, "TEMP") ||
		    word_is(word, "TEMPORARY") || word_is(word, "GLOBAL") || word_is(word, "LOCAL")) {
			if (!next_word(sql, &pos, word, sizeof(word)))
				return;
		}
		if (word_is(word, "INDEX"))
			is_index = true;
		else if (!word_is(word, "TABLE"))
			continue;
		if (!next_word(sql, &pos, word, sizeof(word)))
			break;
		if (is_index && word_is(word, "CONCURRENTLY") && !next_word(sql, &pos, word, sizeof(word)))
			break;
		if (word_is(word, "IF")) {	/* IF NOT EXISTS */
			for (int k = 0; k < 3; k++)
				if (!next_word(sql, &pos, word, sizeof(word)))
					goto done;
		}
		if (is_index && word_is(word, "ON"))
			snprintf(word, sizeof(word), "(unnamed)");
		list = is_index ? indexes : tables;
		if (strlen(list) + strlen(word) + 3 < sizeof(tables)) {
			if (*list)
				strcat(list, ", ");
			strcat(list, word);
		}
	}
done:
	snprintf(out, outlen, "tables: %s; indexes: %s", *tables ? tables : "none", *indexes ? indexes : "none");
}

/* ---- database side ---- */

static void version_of(const char *file_name, char *out, size_t outlen)
{
	size_t n = strlen(file_name);
	if (n > 4 && strcmp(file_name + n - 4, ".sql") == 0)
		n -= 4;
	snprintf(out, outlen, "%.*s", (int)n, file_name);
}

struct applied {
	char **versions;
	int count;
};

static void applied_free(struct applied *a)
{
	for (int i = 0; i < a->count; i++)
		free(a->versions[i]);
	free(a->versions);
	a->versions = NULL;
	a->count = 0;
}

static bool applied_has(const struct applied *a, const char *version)
{
	for (int i = 0; i < a->count; i++)
		if (strcmp(a->versions[i], version) == 0)
			return true;
	return false;
}

static void log_result_error(const char *what, PGconn *db, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	log_errorx("%s: %s [SQLSTATE %s]", what, primary ? primary : PQerrorMessage(db), state ? state : "none");
}

/* Statements run while holding the advisory lock go straight to libpq:
 * db_query's silent reconnect would drop the session lock and continue
 * unprotected. */
static bool run(PGconn *db, const char *what, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		log_result_error(what, db, res);
	PQclear(res);
	return ok;
}

/* Applied versions; a missing table means none. 0 or -1. */
static int read_applied(PGconn *db, struct applied *a)
{
	PGresult *res;
	bool exists;

	a->versions = NULL;
	a->count = 0;
	res = PQexec(db, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_result_error("reading schema_migrations", db, res);
		PQclear(res);
		return -1;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return 0;
	res = PQexec(db, "SELECT version FROM schema_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_result_error("reading schema_migrations", db, res);
		PQclear(res);
		return -1;
	}
	a->count = PQntuples(res);
	a->versions = calloc((size_t)a->count + 1, sizeof(*a->versions));
	if (!a->versions)
		fatal("calloc");
	for (int i = 0; i < a->count; i++) {
		a->versions[i] = strdup(PQgetvalue(res, i, 0));
		if (!a->versions[i])
			fatal("strdup");
	}
	PQclear(res);
	return 0;
}

static int count_missing(const struct applied *a)
{
	char version[VERSION_MAX];
	int missing = 0;

	for (const struct embedded_file *f = migrations_files; f->name; f++) {
		version_of(f->name, version, sizeof(version));
		if (!applied_has(a, version))
			missing++;
	}
	return missing;
}

int migrate_pending(PGconn *db)
{
	struct applied a;
	int missing;

	if (read_applied(db, &a) < 0)
		return -1;
	missing = count_missing(&a);
	applied_free(&a);
	return missing;
}

static int apply_one(PGconn *db, const struct embedded_file *f, const char *version)
{
	const char *params[1] = { version };
	char objects[900];
	PGresult *res;
	ExecStatusType st;

	created_objects(f->data, objects, sizeof(objects));
	log_info("applying migration %s (%s)", version, objects);
	if (!run(db, "BEGIN", "BEGIN", 0, NULL))
		return -1;
	/* PQexec, not PQexecParams: a file holds several statements. */
	res = PQexec(db, f->data);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char what[VERSION_MAX + 32];
		snprintf(what, sizeof(what), "migration %s failed", version);
		log_result_error(what, db, res);
		PQclear(res);
		PQclear(PQexec(db, "ROLLBACK"));
		return -1;
	}
	PQclear(res);
	/* A COMMIT inside the file would end our transaction early and record
	 * the version outside it. */
	if (PQtransactionStatus(db) != PQTRANS_INTRANS) {
		log_errorx("migration %s ended the transaction itself (COMMIT/ROLLBACK in file); refusing", version);
		PQclear(PQexec(db, "ROLLBACK"));
		return -1;
	}
	if (!run(db, "recording migration", "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params) ||
	    !run(db, "COMMIT", "COMMIT", 0, NULL)) {
		PQclear(PQexec(db, "ROLLBACK"));
		return -1;
	}
	log_info("applied migration %s", version);
	return 0;
}

/* Under the lock: create the bookkeeping table, re-read, apply what is missing. */
static int migrate_locked(PGconn *db, int *applied)
{
	struct applied a;
	char version[VERSION_MAX];
	int rc = 0;

	if (!run(db, "creating schema_migrations",
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version text PRIMARY KEY,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL))
		return -1;
	if (read_applied(db, &a) < 0)
		return -1;
	/* Refuse before applying anything, so a bad file never leaves the
	 * schema half way between two releases. */
	for (const struct embedded_file *f = migrations_files; f->name; f++) {
		const char *bad;
		version_of(f->name, version, sizeof(version));
		if (applied_has(&a, version))
			continue;
		if ((bad = migrate_destructive_statement(f->data))) {
			log_errorx("migration %s contains %s; migrations are additive only, refusing to migrate",
			    version, bad);
			applied_free(&a);
			return -1;
		}
	}
	for (const struct embedded_file *f = migrations_files; f->name; f++) {
		version_of(f->name, version, sizeof(version));
		if (applied_has(&a, version))
			continue;
		if (apply_one(db, f, version) < 0) {
			rc = -1;
			break;
		}
		(*applied)++;
	}
	for (int i = 0; i < a.count; i++) {
		char name[VERSION_MAX + 8];
		snprintf(name, sizeof(name), "%s.sql", a.versions[i]);
		if (!embedded_find(migrations_files, name))
			log_warnx("database has migration %s unknown to this binary (newer release?)",
			    a.versions[i]);
	}
	applied_free(&a);
	return rc;
}

/* Back to the session defaults (RESET honours connection options). */
static bool reset_timeouts(PGconn *db)
{
	PGresult *res = PQexec(db, "RESET lock_timeout; RESET statement_timeout");
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_result_error("resetting timeouts", db, res);
	PQclear(res);
	return ok;
}

int migrate_run(PGconn *db, const char *lock_key, int lock_timeout_ms, int *applied)
{
	struct applied a;
	char timeout[32];
	char statement_timeout[32];
	const char *timeout_params[2] = { timeout, statement_timeout };
	const char *key_params[1] = { lock_key };
	int missing, rc;

	*applied = 0;
	/* (a) Without a lock: the usual case on every start. */
	if (read_applied(db, &a) < 0)
		return -1;
	missing = count_missing(&a);
	applied_free(&a);
	if (missing == 0) {
		log_debug("schema up to date");
		return 0;
	}

	/* (b) Bounded wait: pg_advisory_lock honours lock_timeout (SQLSTATE
	 * 55P03); statement_timeout bounds it too in case lock_timeout is
	 * overridden by a pooler. 0 means wait forever, as in PostgreSQL. */
	snprintf(timeout, sizeof(timeout), "%dms", lock_timeout_ms > 0 ? lock_timeout_ms : 0);
	/* statement_timeout a little later, so the usual failure is the more
	 * telling 55P03 "lock timeout" rather than a generic cancel. */
	snprintf(statement_timeout, sizeof(statement_timeout), "%dms", lock_timeout_ms > 0 ? lock_timeout_ms + 1000 : 0);
	if (!run(db, "setting migration lock timeout",
	    "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
	    2, timeout_params))
		return -1;
	log_info("%d migration(s) pending; waiting for migration lock \"%s\" (up to %d ms)",
	    missing, lock_key, lock_timeout_ms);
	if (!run(db, "taking migration lock",
	    "SELECT pg_advisory_lock(hashtextextended($1, 0))", 1, key_params)) {
		log_errorx("could not take migration lock \"%s\" within %d ms; another instance may be migrating",
		    lock_key, lock_timeout_ms);
		reset_timeouts(db);
		return -1;
	}
	/* The migration bodies run with the session's own timeouts. */
	if (!reset_timeouts(db)) {
		PQclear(PQexecParams(db, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, NULL,
		    key_params, NULL, NULL, 0));
		return -1;
	}

	/* (c)+(d) */
	rc = migrate_locked(db, applied);

	/* (e) A lost connection releases the lock by itself. */
	if (!run(db, "releasing migration lock", "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, key_params))
		log_warnx("migration lock not released explicitly; it ends with the session");
	if (rc == 0)
		log_info("schema migrated: %d migration(s) applied", *applied);
	return rc;
}
