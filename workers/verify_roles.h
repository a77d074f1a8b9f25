/*
 * Role checks at /api/verify (forward-auth) per protected app:
 * /api/verify?app=<client_id>[&role=<role>] (the nginx auth_request target
 * or Traefik forwardAuth address of that host or path). With app=, the
 * user's roles in that application are read from the store at the request
 * (store/app_roles.c: a role given or taken reaches the next request, no
 * new sign-in) and passed as X-Auth-Roles (comma separated) and
 * X-Auth-Permissions; with role= too, a user without that role gets 403.
 * Without app= nothing changes: the cached session answers alone.
 */
#ifndef DREAMAUTH_VERIFY_ROLES_H
#define DREAMAUTH_VERIFY_ROLES_H
#include <stdbool.h>
#include "workers/http_server.h"

/* Does the request ask for an app's roles? */
bool verify_roles_requested(const struct http_exchange *ex);
/* The identity headers are set: add the roles and answer 200, or 403 (role
 * missing), 400 (malformed app or role), 503 (store unavailable). user_id
 * may be a client id (a machine token): it has no roles. */
void verify_roles_answer(struct http_exchange *ex, const char *user_id);
#endif
