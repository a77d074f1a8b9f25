/* The route table: dispatches an exchange to its handler (workers/router.c). */
#ifndef DREAMAUTH_ROUTER_H
#define DREAMAUTH_ROUTER_H
#include "workers/http_server.h"

void router_dispatch(struct http_exchange *ex);
/* The route label of a route id (ex->route_id) for /metrics: the table's
 * path pattern, or NULL for an id that names no route of its own. */
const char *router_route_name(int id);
#endif
