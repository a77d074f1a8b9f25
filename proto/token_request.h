/*
 * Requests to the token, introspection and revocation endpoints (RFC 6749
 * §4.1.3, §4.4, §6; RFC 7662; RFC 7009): a form body plus an optional
 * Authorization: Basic header → one validated struct. Pure (no lookups):
 * the handlers in workers/oidc_token.c and workers/oidc_userinfo.c check the
 * values against the database. Fuzzed by fuzz/fuzz_token_request.c.
 */
#ifndef DREAMAUTH_TOKEN_REQUEST_H
#define DREAMAUTH_TOKEN_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include "proto/form.h"

#define TOKEN_REQUEST_MAX_BODY 16384

enum token_endpoint { TOKEN_EP_TOKEN, TOKEN_EP_INTROSPECT, TOKEN_EP_REVOKE };

enum token_grant { GRANT_NONE = 0, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_CLIENT_CREDENTIALS };

enum client_auth { CLIENT_AUTH_NONE = 0, CLIENT_AUTH_BASIC, CLIENT_AUTH_POST };

struct token_request {
	enum token_grant grant;
	enum client_auth auth;
	const char *client_id;		/* NUL-terminated; NULL if none given */
	const char *client_secret;	/* NULL for auth none */
	const char *code;
	const char *redirect_uri;
	const char *code_verifier;
	const char *refresh_token;
	const char *scope;
	const char *resource;		/* RFC 8707 resource indicator (absolute URI), NULL if none */
	const char *token;		/* introspect / revoke */
	const char *token_type_hint;
	/* owned storage: */
	struct form form;
	char basic[2 * 512 + 4];	/* decoded Basic credentials: id NUL secret NUL */
};

/* On error: returns -1, sets *error to an RFC 6749 error code
 * ("invalid_request", "unsupported_grant_type", "invalid_client"; RFC 8707's
 * "invalid_target" for a malformed resource) and
 * *description to a constant English sentence. out is left empty (nothing to
 * free). On success returns 0; free with token_request_free. authorization
 * may be NULL (no header). */
int token_request_parse(enum token_endpoint ep, const char *body, size_t body_len, const char *authorization,
    size_t auth_len, struct token_request *out, const char **error, const char **description);
void token_request_free(struct token_request *r);

/* RFC 8707 §2: a resource indicator is an absolute URI (scheme ":" ...)
 * without a fragment; here also printable ASCII without spaces, quotes or
 * angle brackets, 1 to RESOURCE_INDICATOR_MAX bytes. */
#define RESOURCE_INDICATOR_MAX 512
bool resource_indicator_valid(const char *uri);

/* RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~]. */
bool pkce_verifier_valid(const char *v, size_t len);
/* A code_challenge for S256 is 43 base64url characters. */
bool pkce_challenge_valid(const char *v, size_t len);
#endif
