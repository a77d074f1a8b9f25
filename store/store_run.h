/*
 * Running one store operation on a database connection: the dispatch from an
 * operation (proto/store_ops.h) to the function of its domain (a file in store/),
 * and the helpers those functions share. The store actor's threads call
 * store_run for each worker request; the CLI calls store_exec directly, so
 * the SQL of every table exists once, here.
 */
#ifndef DREAMAUTH_STORE_RUN_H
#define DREAMAUTH_STORE_RUN_H
#include <stdbool.h>
#include <libpq-fe.h>
#include "proto/store_wire.h"

struct shm_region;

/* What an operation produced: a reply whose cells may point into pg. */
struct store_result {
	struct store_reply reply;
	PGresult *pg;
};

typedef void (*store_op_fn)(PGconn *db, const struct store_request *req, struct store_result *res);

/* Runs req on db into res (status set; free with store_result_clear). */
void store_run(PGconn *db, const struct store_request *req, struct store_result *res);
void store_result_clear(struct store_result *res);

/* Synchronously, for the CLI and tests: runs op with args and leaves an
 * owned copy of the reply in *out (free with store_reply_free). Returns
 * out->status. */
int store_exec(PGconn *db, uint32_t op, const struct store_value *args, unsigned n_args, struct store_reply *out);

/* The shared-memory region the store writes revocations into; NULL in the
 * CLI (no cache to update there: running instances hear the NOTIFY). */
extern struct shm_region *store_shm;

/* ---- for the operation functions ---- */

/* Runs sql with the request's arguments as $1..$n (text; NULL for NULL). */
PGresult *store_query(PGconn *db, const char *sql, const struct store_request *req);
/* Same with explicit values (for statements that take other arguments). */
PGresult *store_query_values(PGconn *db, const char *sql, const struct store_value *values, unsigned n);
/* Takes r (NULL = the query failed) as the result of req's operation: its
 * columns are found by their names in the operation's shape. */
void store_result_take(struct store_result *res, PGconn *db, const struct store_request *req, PGresult *r);
/* The status for a failed statement: CONFLICT for a unique violation,
 * UNAVAILABLE for a lost connection, else ERROR. */
int store_failure_status(PGconn *db);
/* Runs statements in a transaction: BEGIN, then the caller's work, then
 * store_commit (COMMIT, or ROLLBACK when ok is false). */
bool store_begin(PGconn *db);
bool store_commit(PGconn *db, bool ok);
/* store_commit, then the answer: r (from the transaction's last statement)
 * when it committed; else r is freed and the status is the failure's. A
 * unique violation is answered CONFLICT when conflict_is_callers (a taken
 * id: the caller's doing, read before the ROLLBACK clears it), else ERROR (a
 * race the transaction lost, or no unique constraint the caller can hit). */
void store_commit_take(struct store_result *res, PGconn *db, const struct store_request *req, bool ok, PGresult *r,
    bool conflict_is_callers);
/* One statement of a transaction with explicit values: false (the
 * transaction is lost) on failure; the result is left in *out (cleared when
 * out is NULL). */
bool store_step(PGconn *db, const char *sql, const struct store_value *values, unsigned n, PGresult **out);
/* A boolean cell that is there and true. */
bool store_cell_true(PGresult *r, int row, int col);
/* Logs a revocation and NOTIFYs every instance, inside the caller's
 * transaction (migrations/007: revocation_log and its trigger). */
bool store_log_revocation(PGconn *db, const char *payload);
/* store_log_revocation of "user:<id>": every instance drops the user's
 * cached sessions at COMMIT and reloads what is left from the database. */
bool store_log_user_changed(PGconn *db, const char *user_id);
#endif
