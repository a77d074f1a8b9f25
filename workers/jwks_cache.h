/* The worker's copy of the signer's public keys (JWKS), kept fresh. */
#ifndef DREAMAUTH_JWKS_CACHE_H
#define DREAMAUTH_JWKS_CACHE_H
#include <stdbool.h>

/* Refresh the cached JWKS from the signer (async); done may be NULL. */
void worker_refresh_jwks(void (*done)(bool ok, void *arg), void *arg);
#endif
