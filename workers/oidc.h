/*
 * Shared pieces of the OpenID Connect provider endpoints
 * (oidc_authorize.c, oidc_token.c, oidc_userinfo.c, oidc_logout.c):
 * the ENABLE_OIDC_PROVIDER gate, user claims by scope, hashing of opaque
 * tokens for storage, client authentication at the token-style endpoints.
 */
#ifndef DREAMAUTH_WORKERS_OIDC_H
#define DREAMAUTH_WORKERS_OIDC_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "common/secure.h"
#include "proto/store_wire.h"
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
	json_t *groups;		/* owned JSON array of strings */
	char wallet[43];	/* EIP-55 address of the most recently used wallet, or "" */
	json_t *roles;		/* owned JSON arrays of strings: the user's roles in the */
	json_t *permissions;	/* application the reply was read for (migrations/013) */
};
/* The user in columns 0..5 of a store reply's first row (the shapes built
 * with STORE_COLS_OAUTH_USER, proto/store_ops.h). 1 loaded (free with
 * oidc_user_free), 0 no such user or disabled (nothing to free). */
int oidc_user_from_reply(const struct store_reply *r, struct oidc_user *u);
void oidc_user_free(struct oidc_user *u);
/* Adds profile/email/groups claims as the scope bits allow (roles and
 * permissions with the scope roles). */
void oidc_user_claims(json_t *claims, const struct oidc_user *u, unsigned scopes);
/* roles and permissions, whatever the scope: the access token and userinfo. */
void oidc_user_app_claims(json_t *claims, const struct oidc_user *u);

/* "\\x<64 hex>" (a bytea text parameter) of SHA-256(token). */
#define OIDC_HASH_PARAM_LEN (2 + 64 + 1)
void oidc_token_hash_param(const char *token, char out[OIDC_HASH_PARAM_LEN]);

/* The alg to sign with: the client's choice, else SIGNING_ALG. */
const char *oidc_alg(const char *client_choice);

/* OAuth error JSON with Cache-Control: no-store (token-style endpoints). */
void oidc_reply_error(struct http_exchange *ex, int status, const char *error, const char *description);
/* 503 temporarily_unavailable with Retry-After: 1, for a failed store call. */
void oidc_reply_store_unavailable(struct http_exchange *ex, const char *description);

/* Token-style endpoints (oidc_token.c): parse the form + Basic header
 * (-1: already answered), then authenticate the client. */
int oidc_parse_token_request(struct http_exchange *ex, enum token_endpoint ep, struct token_request *tr);
/* client: a new reference (release it), or NULL when the request has been
 * answered already (401 invalid_client, 429 over the failure limits, 503). */
typedef void (*oidc_client_authenticated_fn)(struct http_exchange *ex, struct oidc_client *client, void *arg);
/* allow_public: auth method none is acceptable. tr must stay valid until done
 * is called, which may happen before this returns (a configured client). */
void oidc_authenticate_client(struct http_exchange *ex, const struct token_request *tr, bool allow_public,
    oidc_client_authenticated_fn done, void *arg);

/* A request to a token-style endpoint while it waits on the store: the
 * parsed request, its client once authenticated, and what its handler needs
 * next. */
struct oidc_token_call {
	struct http_exchange *ex;
	struct token_request tr;
	struct oidc_client *client;	/* a reference, once authenticated */
	char hash[OIDC_HASH_PARAM_LEN];	/* of the presented code or opaque token */
	json_t *claims;			/* a verified access token's (owned), or NULL */
};
/* The gate (oidc_enabled) and the parsed request; NULL: answered already. */
struct oidc_token_call *oidc_token_call_new(struct http_exchange *ex, enum token_endpoint ep);
/* Releases the client and the claims, frees the request. */
void oidc_token_call_free(struct oidc_token_call *call);
#endif
