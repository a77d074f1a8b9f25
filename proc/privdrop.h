/* Dropping privileges in a fixed order, as the OpenBSD daemons do. */
#ifndef DREAMAUTH_PRIVDROP_H
#define DREAMAUTH_PRIVDROP_H
/* When running as root: setgroups, setresgid, setresuid to user. Always:
 * PR_SET_NO_NEW_PRIVS and no core dumps (keys and tokens live in memory).
 * Returns 0, or -1 (logged) if the user does not exist or a call fails. */
int privdrop(const char *user);
/* Sets the process title shown by ps: "dreamauth: <role>". */
void proctitle_set(const char *role);
void proctitle_init(int argc, char **argv);
#endif
