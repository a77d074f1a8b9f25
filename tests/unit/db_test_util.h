/*
 * Shared by the unit tests that need a real PostgreSQL (test_migrate.c,
 * the test_store_*.c, test_signer_actor.c): the server named by DREAMAUTH_TEST_DATABASE_URL (the
 * test fails, never silently passes, without it), a URL for another database
 * on that server, and a fresh database of the test's own (named after the
 * test and its pid, migrated with the embedded migrations) dropped at the end;
 * bytea parameters (one-byte fills, token hashes) as the store takes them.
 * Include after tests/unit/check.h.
 */
#ifndef DREAMAUTH_DB_TEST_UTIL_H
#define DREAMAUTH_DB_TEST_UTIL_H
#include "common/db.h"
#include "common/migrate.h"
#include "common/secure.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DREAMAUTH_TEST_DATABASE_URL; exit 1 with why when it is not set. */
static inline const char *test_db_base_url(const char *test)
{
	const char *url = getenv("DREAMAUTH_TEST_DATABASE_URL");

	if (!url || !*url) {
		fprintf(stderr, "%s: DREAMAUTH_TEST_DATABASE_URL is not set; it must point at a PostgreSQL server where "
		    "this user may CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres)\n", test);
		exit(1);
	}
	return url;
}

/* base with its dbname replaced, as a key=value conninfo string (malloc'd). */
static inline char *test_db_url_for(const char *base, const char *dbname)
{
	PQconninfoOption *opts = PQconninfoParse(base, NULL);
	size_t cap = 1024, len = 0;
	char *out = malloc(cap);

	if (!opts || !out)
		abort();
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
		if (!v)
			continue;
		if (len + strlen(o->keyword) + 2 * strlen(v) + 8 >= cap) {
			cap = (len + strlen(o->keyword) + 2 * strlen(v) + 8) * 2;
			if (!(out = realloc(out, cap)))
				abort();
		}
		len += (size_t)sprintf(out + len, "%s='", o->keyword);
		for (; *v; v++) {
			if (*v == '\'' || *v == '\\')
				out[len++] = '\\';
			out[len++] = *v;
		}
		len += (size_t)sprintf(out + len, "' ");
	}
	PQconninfoFree(opts);
	return out;
}

/* Runs sql (several statements allowed: the simple query protocol); exit 1
 * when it fails. */
static inline void test_db_exec(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "failed: %s: %s", sql, PQerrorMessage(conn));
		exit(1);
	}
	PQclear(r);
}

/* The first cell of a query's first row ("" if none, "<null>" for NULL), in a
 * static buffer: for a test's checks of what its operations left behind. */
static inline const char *test_db_scalar(PGconn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *test_db_scalar(PGconn *conn, const char *fmt, ...)
{
	static char buf[4096];
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = db_query(conn, sql, 0, NULL);
	buf[0] = '\0';
	if (r && PQntuples(r) > 0)
		snprintf(buf, sizeof(buf), "%s", PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

struct test_db {
	PGconn *admin;	/* on DREAMAUTH_TEST_DATABASE_URL: CREATE and DROP DATABASE */
	char name[64];	/* <test>_<pid> */
	char *url;	/* the fresh database's (key=value conninfo) */
	PGconn *db;	/* on it, migrated */
};

static inline bool test_db_admin_exec(struct test_db *t, const char *fmt)
{
	char sql[160];

	snprintf(sql, sizeof(sql), fmt, t->name);
	if (db_exec(t->admin, sql, 0, NULL))
		return true;
	fprintf(stderr, "failed: %s\n", sql);
	return false;
}

/* Drops the database (connecting again for that when the caller closed
 * t->admin, e.g. before a fork). */
static inline void test_db_drop(struct test_db *t)
{
	PQfinish(t->db);
	t->db = NULL;
	free(t->url);
	t->url = NULL;
	if (!t->admin)
		t->admin = db_connect(getenv("DREAMAUTH_TEST_DATABASE_URL"), 5000);
	if (t->admin)
		test_db_admin_exec(t, "DROP DATABASE IF EXISTS %s WITH (FORCE)");
	PQfinish(t->admin);
	t->admin = NULL;
}

/*
 * A fresh database "<test>_<pid>" on DREAMAUTH_TEST_DATABASE_URL's server,
 * migrated, connected in t->db; exit 1 (dropping what was made) when any of
 * that fails. test_db_drop at the end.
 */
static inline void test_db_create(struct test_db *t, const char *test)
{
	const char *base = test_db_base_url(test);
	int applied = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s_%d", test, (int)getpid());
	if (!(t->admin = db_connect(base, 5000))) {
		fprintf(stderr, "%s: cannot connect to DREAMAUTH_TEST_DATABASE_URL\n", test);
		exit(1);
	}
	if (!test_db_admin_exec(t, "DROP DATABASE IF EXISTS %s WITH (FORCE)") ||
	    !test_db_admin_exec(t, "CREATE DATABASE %s")) {
		PQfinish(t->admin);
		exit(1);
	}
	t->url = test_db_url_for(base, t->name);
	t->db = db_connect(t->url, 5000);
	if (!t->db || migrate_run(t->db, t->name, 10000, &applied) != 0) {
		fprintf(stderr, "%s: cannot migrate %s\n", test, t->name);
		test_db_drop(t);
		exit(1);
	}
}
/* "\x" + n (at most 64) bytes of b in hex: a bytea parameter (a hash, a
 * credential ID) made of one byte, from a ring of 16 buffers so that one
 * call can take several. */
static inline const char *test_db_bytea_of(unsigned b, int n)
{
	static char out[16][2 + 2 * 64 + 1];
	static int next;
	char *h = out[next++ % 16];
	h[0] = '\\';
	h[1] = 'x';
	for (int i = 0; i < n && i < 64; i++)
		snprintf(h + 2 + 2 * i, 3, "%02x", b & 0xff);
	return h;
}

/* "\x" + hex SHA-256 of token: how a token travels to the store. */
static inline void test_db_token_hash(const char *token, char out[SECURE_SHA256_PARAM_LEN])
{
	secure_sha256_param(token, strlen(token), out);
}
#endif
