/*
 * Schema migrations: numbered SQL files compiled in from migrations/.
 * Double-checked locking as in Dream Auth: read applied versions without a
 * lock and return when up to date; otherwise take a PostgreSQL advisory lock
 * (key from MIGRATION_LOCK_KEY, bounded wait), re-read, apply each missing
 * file in its own transaction, log each, release. Additive only.
 */
#ifndef DREAMAUTH_MIGRATE_H
#define DREAMAUTH_MIGRATE_H
#include <libpq-fe.h>

/* 0 up to date or migrated; -1 error (logged). *applied = number applied here. */
int migrate_run(PGconn *db, const char *lock_key, int lock_timeout_ms, int *applied);
/* Number of embedded migrations not yet applied, or -1 on error. */
int migrate_pending(PGconn *db);
/* NULL if sql is additive; else the offending statement: "DROP TABLE",
 * "DROP COLUMN", "DROP" (any other), "RENAME", "TRUNCATE", "DELETE",
 * "UPDATE" (not ON DELETE/UPDATE of a foreign key, nor a trigger's or row
 * lock's UPDATE), "ALTER COLUMN TYPE". Comments are ignored; string literals
 * are not (EXECUTE 'DROP TABLE ...' counts). Pure, for tests. */
const char *migrate_destructive_statement(const char *sql);
#endif
