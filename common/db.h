/* PostgreSQL access over libpq: connect with retry, parameterised queries
 * that log failures without leaking parameters, reconnect on a lost link. */
#ifndef DREAMAUTH_DB_H
#define DREAMAUTH_DB_H
#include <stdbool.h>
#include <libpq-fe.h>

/* Connect; retries for up to timeout_ms (0 = once). NULL on failure (logged). */
PGconn *db_connect(const char *url, int timeout_ms);
/* Run a parameterised statement (text params). Returns a result with status
 * COMMAND_OK or TUPLES_OK, else logs the server message and returns NULL.
 * If the connection is broken, resets it once and retries. */
PGresult *db_query(PGconn *db, const char *sql, int nparams, const char *const *params);
/* Same, through a statement prepared once per connection (and thread): for
 * the store's frequent, large statements. The reconnect behaves as db_query's. */
PGresult *db_query_prepared(PGconn *db, const char *sql, int nparams, const char *const *params);
/* Frees this thread's record of prepared statements (a thread that ends). */
void db_prepared_forget(void);
/* Same, returns true on success and discards the result. */
bool db_exec(PGconn *db, const char *sql, int nparams, const char *const *params);
bool db_ping(PGconn *db);
/* Reports a connection attempt's outcome for outage logging: the loss and
 * the recovery once each, a summary a minute in between. */
void db_note_reachable(bool reachable);
/* SQLSTATE of this thread's last failed db_query ("" after a success),
 * e.g. "23505" for a unique violation. */
const char *db_last_sqlstate(void);
#endif
