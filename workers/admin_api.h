/* Parts of the admin API shared between its files (workers/admin_api*.c). */
#ifndef DREAMAUTH_ADMIN_API_H
#define DREAMAUTH_ADMIN_API_H
#include <stdbool.h>
#include <jansson.h>
#include "workers/admin_call.h"

/* Clients, roles, keys: false when it handled c (answered or in flight), true
 * when the path is not one of theirs. */
bool admin_api_apps(struct admin_call *c);
json_t *admin_user_json(const struct store_reply *r, unsigned i);
json_t *admin_client_json(const struct store_reply *r, unsigned i);
json_t *admin_role_json(const struct store_reply *r, unsigned i);
/* A COUNT answer: 200 {"status":"ok"}, or 404 with c->text when 0. */
void admin_counted(struct admin_call *c, const struct store_reply *r);
#endif
