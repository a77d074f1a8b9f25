/* The master process: `dreamauth serve`. */
#ifndef DREAMAUTH_MASTER_H
#define DREAMAUTH_MASTER_H
int master_serve(void);
/* Brings up the database for CLI commands and serve: in embedded mode starts
 * the private cluster (returning its pid in *pg_pid, else 0), loads or
 * creates AUTH_SECRET. 0 ok. */
int master_prepare_database(int *pg_pid);
void master_stop_embedded_pg(int pg_pid);
#endif
