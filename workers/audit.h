/*
 * Audit events only a worker knows: failures decided here (the kdf said the
 * password is wrong, a signature did not verify, a code was refused). Sent
 * to the store fire-and-forget (STORE_OP_AUDIT_FAILURE) with the request's
 * client IP and User-Agent; successes are recorded by the store operations
 * that make them (store/audit.h). Also counts failed sign-ins for /metrics.
 *
 * Never pass a secret: detail holds what was typed as a name (an email, an
 * address), a reason word, never a password, code or token.
 */
#ifndef DREAMAUTH_WORKERS_AUDIT_H
#define DREAMAUTH_WORKERS_AUDIT_H
#include <jansson.h>
#include "workers/http_server.h"

/* event: "sign_in", "password_change", "second_factor", ...; method:
 * "password", "passkey", "siwe", "totp" ...; actor_user_id when known (else
 * NULL); reason: a short word; detail: more fields (taken over, may be
 * NULL); "reason" is added to it. */
void audit_failure(struct http_exchange *ex, const char *event, const char *method, const char *actor_user_id,
    const char *reason, json_t *detail);
/* A failed sign-in: audit_failure("sign_in", ...) with the name the person
 * typed (an email as typed, a wallet address), when there is one. */
void audit_sign_in_failed(struct http_exchange *ex, const char *method, const char *actor_user_id,
    const char *typed_name, const char *reason);
#endif
