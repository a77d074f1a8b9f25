/* Administration commands (user ..., client ...). */
#ifndef DREAMAUTH_CLI_H
#define DREAMAUTH_CLI_H
int cli_user(int argc, char **argv);
int cli_client(int argc, char **argv);
#endif
