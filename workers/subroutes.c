/* Route tables of a feature (see subroutes.h). */
#include "workers/subroutes.h"

void subroute_dispatch(struct http_exchange *ex, const struct subroute *routes, size_t n, bool enabled)
{
	for (size_t i = 0; enabled && i < n; i++) {
		if (!http_str_eq(ex->req.path, routes[i].path))
			continue;
		if (!(routes[i].methods & (1u << ex->req.method))) {
			http_reply_header(ex, "Allow", routes[i].allow);
			http_reply_error(ex, 405, "method_not_allowed", "method not allowed on this path");
			return;
		}
		routes[i].handler(ex);
		return;
	}
	http_reply_error(ex, 404, "not_found", "no such endpoint");
}
