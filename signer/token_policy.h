/*
 * What the signer agrees to sign. A worker asks for a typed token (ID,
 * access, logout) with claims; the signer refuses anything it cannot check:
 * wrong issuer, missing subject or audience, a lifetime longer than the kind
 * allows, an issue time far from now. A compromised worker can thus mint
 * only short-lived tokens for this issuer, never sign arbitrary bytes.
 */
#ifndef DREAMAUTH_TOKEN_POLICY_H
#define DREAMAUTH_TOKEN_POLICY_H
#include <stdint.h>
#include <stddef.h>

#define TOKEN_MAX_LIFETIME_ID 86400
#define TOKEN_MAX_LIFETIME_ACCESS 86400
#define TOKEN_MAX_LIFETIME_LOGOUT 300
#define TOKEN_CLOCK_SKEW 60

/* 0 if claims_json (an object) may be signed as kind for issuer at now;
 * otherwise -1 with a short reason in *why (static string). */
int token_policy_check(int kind, const char *claims_json, size_t len, const char *issuer, int64_t now,
    const char **why);
const char *token_policy_typ(int kind);	/* JOSE "typ": JWT, at+jwt, logout+jwt */
#endif
