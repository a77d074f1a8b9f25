/* The route table: dispatches an exchange to its handler (workers/router.c). */
#ifndef DREAMAUTH_ROUTER_H
#define DREAMAUTH_ROUTER_H
#include "workers/http_server.h"

void router_dispatch(struct http_exchange *ex);
#endif
