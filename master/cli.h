/* Administration commands (user ..., client ..., keys ...). */
#ifndef DREAMAUTH_CLI_H
#define DREAMAUTH_CLI_H
#include <libpq-fe.h>
int cli_user(int argc, char **argv);
int cli_client(int argc, char **argv);
int cli_keys(int argc, char **argv);
/* `dreamauth check-config [--strict]` (master/cli_check_config.c). */
int cli_check_config(int argc, char **argv);
int cli_smtp(int argc, char **argv);	/* smtp test <address> (master/cli_smtp.c) */
/* `dreamauth user two-factor-off <email>` (master/cli_two_factor.c) */
int cli_user_two_factor_off(const char *email);
int cli_audit(int argc, char **argv);
/* A database connection for a command, whether or not a server runs (see
 * master/cli_db.c); migrates when AUTO_MIGRATE is on. *pg_pid is an
 * embedded cluster started for the command: master_stop_embedded_pg() it
 * afterwards, also when this returns NULL. */
PGconn *cli_connect(int *pg_pid);
#endif
