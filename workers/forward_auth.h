/*
 * Which Bearer access tokens /api/verify lets through (workers/verify.c),
 * and the RFC 8707 resource indicator at the token endpoint
 * (workers/oidc_token.c) that makes a token one of them. A token a relying
 * party got for itself (aud: its client_id) must not open every app behind
 * forward-auth: only a token whose aud also names FORWARD_AUTH_AUDIENCE does,
 * and a machine token (client_credentials: no user, no auth_time) only with
 * FORWARD_AUTH_ALLOW_MACHINE_TOKENS=true.
 */
#ifndef DREAMAUTH_FORWARD_AUTH_H
#define DREAMAUTH_FORWARD_AUTH_H
#include <stdbool.h>
#include <jansson.h>
#include "workers/http_server.h"
#include "workers/json_util.h"

/* The token endpoint's resource parameter: none, or FORWARD_AUTH_AUDIENCE
 * (the one resource this server issues tokens for). Anything else is
 * answered 400 invalid_target and false returned. */
bool forward_auth_resource_ok(struct http_exchange *ex, const char *resource);

/* Writes a token's aud claim: the client_id, or [client_id,
 * FORWARD_AUTH_AUDIENCE] for an access token asked for with that resource. */
void forward_auth_write_aud(struct json_writer *w, const char *client_id, bool for_forward_auth);

/* Whether the verified claims of an access token may pass /api/verify: aud
 * (a string or an array) contains audience, and a machine token (without
 * auth_time) only if allow_machine. Pure. */
bool forward_auth_claims_acceptable(const json_t *claims, const char *audience, bool allow_machine);
#endif
