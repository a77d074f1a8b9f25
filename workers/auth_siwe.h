/*
 * Sign-In With Ethereum (workers/auth_siwe.c): what the pages and the router
 * need besides the handlers (declared in handlers.h).
 */
#ifndef DREAMAUTH_AUTH_SIWE_H
#define DREAMAUTH_AUTH_SIWE_H
#include <stddef.h>
#include <stdint.h>
#include "proto/siwe.h"

/* Single use, and only this long (seconds): a message must be signed and
 * sent within it. */
#define SIWE_NONCE_TTL 300
/* Alphanumeric characters (EIP-4361 asks for at least 8): 62^24, about
 * 2^143 possibilities. */
#define SIWE_NONCE_LEN 24

/* The HTML of a page slot that belongs to SIWE ("siwe_login" on the sign-in
 * page, "siwe_account" on the account page): "" when ENABLE_SIWE=false, NULL
 * for a name that is not SIWE's. For workers/pages.c. */
const char *siwe_page_fragment(const char *name, size_t len);

/* The checks of a parsed message against this server and the clock: scheme,
 * domain, URI, chain, nonce shape, issued-at / expiration-time / not-before
 * with SIWE_CLOCK_SKEW. NULL when it passes; else the error code, with a
 * sentence in *why (static or in why_buf). */
const char *siwe_message_refusal(const struct siwe_message *m, int64_t now, const char **why, char *why_buf,
    size_t why_cap);
#endif
