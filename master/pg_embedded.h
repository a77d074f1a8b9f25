/*
 * Embedded default: a private PostgreSQL cluster under DATA_DIR/pg, unix
 * socket only (DATA_DIR/run), password auth with a generated password kept in
 * DATA_DIR/pg.password (0600) for the superuser, which only the master uses,
 * and an unprivileged owner role for everything else. Run as the postgres user when we are root,
 * because initdb and postgres refuse root.
 */
#ifndef DREAMAUTH_PG_EMBEDDED_H
#define DREAMAUTH_PG_EMBEDDED_H
#include <sys/types.h>

/* initdb on first run; builds the connection URL (malloc'd) into *url. 0/-1. */
int pg_embedded_prepare(const char *data_dir, const char *pg_bin, char **url);
/* fork+exec postgres in the foreground (supervised by master). pid or -1. */
pid_t pg_embedded_spawn(const char *data_dir, const char *pg_bin);
/* Wait until the server accepts connections. 0 ready, -1 timeout. */
int pg_embedded_wait_ready(const char *url, int timeout_ms);
/* With the server up and *url the superuser's (from prepare): create or
 * update the unprivileged role that owns the database and its objects, and
 * replace *url (wiped) with that role's URL. Idempotent; run on every start.
 * 0/-1 (logged; *url unchanged). */
int pg_embedded_provision(const char *data_dir, char **url);
/* Newest /usr/lib/postgresql/N/bin, or NULL. malloc'd. */
char *pg_embedded_find_bin(void);
#endif
