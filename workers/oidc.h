/*
 * Shared pieces of the OpenID Connect provider endpoints
 * (oidc_authorize.c, oidc_token.c, oidc_userinfo.c, oidc_logout.c):
 * the ENABLE_OIDC_PROVIDER gate, user claims by scope, hashing of opaque
 * tokens for storage, revocation of token families.
 */
#ifndef DREAMAUTH_WORKERS_OIDC_H
#define DREAMAUTH_WORKERS_OIDC_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "common/secure.h"
#include "proto/token_request.h"
#include "workers/http_server.h"
#include "workers/oidc_clients.h"

#define OIDC_REFRESH_TTL (30 * 86400)

/* false (and a 404 already sent) when ENABLE_OIDC_PROVIDER is off. */
bool oidc_enabled(struct http_exchange *ex);

struct oidc_user {
	char id[40];
	char email[256];
	char name[256];
	bool email_verified;
	bool disabled;
	json_t *groups;		/* owned JSON array of strings */
};
/* 1 loaded, 0 no such user, -1 database error. */
int oidc_user_load(const char *user_id, struct oidc_user *u);
void oidc_user_free(struct oidc_user *u);
/* Adds profile/email/groups claims as the scope bits allow. */
void oidc_user_claims(json_t *claims, const struct oidc_user *u, unsigned scopes);

/* "\\x<64 hex>" (a bytea text parameter) of SHA-256(token). */
#define OIDC_HASH_PARAM_LEN (2 + 64 + 1)
void oidc_token_hash_param(const char *token, char out[OIDC_HASH_PARAM_LEN]);

/* Revoke every refresh and access token of a family / issued from a code. */
void oidc_revoke_family(const char *family_id);
void oidc_revoke_code_tokens(const char *code_hash_param);

/* The alg to sign with: the client's choice, else SIGNING_ALG. */
const char *oidc_alg(const char *client_choice);

/* OAuth error JSON with Cache-Control: no-store (token-style endpoints). */
void oidc_reply_error(struct http_exchange *ex, int status, const char *error, const char *description);

/* Token-style endpoints (oidc_token.c): parse the form + Basic header
 * (-1: already answered), then authenticate the client (NULL: answered with
 * 401 invalid_client or 503). allow_public: auth method none is acceptable. */
int oidc_parse_token_request(struct http_exchange *ex, enum token_endpoint ep, struct token_request *tr);
struct oidc_client *oidc_authenticate_client(struct http_exchange *ex, const struct token_request *tr,
    bool allow_public);
#endif
