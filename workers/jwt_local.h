/* Verifies dreamauth-issued JWTs inside a worker with the public keys from
 * the cached JWKS: no signer round-trip. */
#ifndef DREAMAUTH_JWT_LOCAL_H
#define DREAMAUTH_JWT_LOCAL_H
#include <stddef.h>
#include <jansson.h>

/* Seconds of clock skew allowed on exp and nbf: a token passes until exp + this. */
#define JWT_LEEWAY 60

/* Verify signature, iss, exp/nbf (60 s leeway) and typ (when expected_typ is
 * not NULL). Returns the claims (new reference) or NULL. */
json_t *jwt_local_verify(const char *token, size_t len, const char *expected_typ);
/* Same, but an expired token is still accepted (id_token_hint at logout,
 * OIDC RP-Initiated Logout §2: the hint may have expired). */
json_t *jwt_local_verify_any_age(const char *token, size_t len, const char *expected_typ);
#endif
