/*
 * The route tables of a feature with its own path prefix (passkeys, SIWE):
 * exact paths, the methods each takes, and the Allow header a wrong method
 * gets. workers/router.c sends the whole prefix to the feature's handler.
 */
#ifndef DREAMAUTH_SUBROUTES_H
#define DREAMAUTH_SUBROUTES_H
#include <stdbool.h>
#include <stddef.h>
#include "workers/http_server.h"

#define SUBROUTE_METHOD(m) (1u << HTTP_METHOD_##m)

struct subroute {
	const char *path;
	unsigned methods;	/* SUBROUTE_METHOD(GET) | ... */
	http_handler_fn handler;
	const char *allow;
};

/* The handler of ex's path, 405 + Allow for a wrong method, 404 for a path
 * not in the table or when the feature is off (enabled false). */
void subroute_dispatch(struct http_exchange *ex, const struct subroute *routes, size_t n, bool enabled);
#endif
