/* /.well-known/openid-configuration and /jwks. */
#ifndef DREAMAUTH_DISCOVERY_H
#define DREAMAUTH_DISCOVERY_H
#include "workers/http_server.h"
char *discovery_build_json(void);	/* malloc'd, built once per worker */
void handle_discovery(struct http_exchange *ex);
void handle_jwks(struct http_exchange *ex);
#endif
