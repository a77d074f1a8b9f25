/*
 * libFuzzer target for proto/token_request.c: token, introspection and
 * revocation requests (form body + Authorization header) come from any
 * client on the network. Input layout: first byte selects the endpoint,
 * then the Authorization header up to the first '\n' (absent if there is no
 * '\n'), then the body. Checks: success means a known grant with its
 * required parameters and a client_id (and a resource only if it is a valid
 * RFC 8707 indicator); failure leaves nothing to free and names an RFC 6749
 * (or RFC 8707) error.
 */
#include "proto/token_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_request r;
	const char *error = NULL, *description = NULL;
	enum token_endpoint ep;
	char *auth = NULL;
	const char *body;
	size_t body_len, auth_len = 0;

	if (size < 1)
		return 0;
	ep = (enum token_endpoint)(data[0] % 3);
	const uint8_t *nl = memchr(data + 1, '\n', size - 1);
	if (nl) {
		auth_len = (size_t)(nl - (data + 1));
		auth = malloc(auth_len + 1);
		if (!auth)
			return 0;
		memcpy(auth, data + 1, auth_len);
		auth[auth_len] = '\0';
		auth_len = strlen(auth);
		body = (const char *)nl + 1;
		body_len = size - (size_t)(nl + 1 - data);
	} else {
		body = (const char *)data + 1;
		body_len = size - 1;
	}
	if (token_request_parse(ep, body, body_len, auth, auth_len, &r, &error, &description) == 0) {
		if (!r.client_id || !*r.client_id)
			abort();
		if (r.auth == CLIENT_AUTH_NONE && r.client_secret)
			abort();
		if (r.auth != CLIENT_AUTH_NONE && !r.client_secret)
			abort();
		if (ep == TOKEN_EP_TOKEN) {
			if (r.grant == GRANT_AUTHORIZATION_CODE && (!r.code || !r.redirect_uri))
				abort();
			if (r.code_verifier && !pkce_verifier_valid(r.code_verifier, strlen(r.code_verifier)))
				abort();
			if (r.grant == GRANT_REFRESH_TOKEN && !r.refresh_token)
				abort();
			if (r.grant == GRANT_CLIENT_CREDENTIALS && r.auth == CLIENT_AUTH_NONE)
				abort();
			if (r.grant == GRANT_NONE)
				abort();
			if (r.resource && !resource_indicator_valid(r.resource))
				abort();
		} else if (!r.token || !*r.token) {
			abort();
		}
		token_request_free(&r);
	} else {
		if (!error || !description || r.form.arena || r.form.n)
			abort();
		if (strcmp(error, "invalid_request") && strcmp(error, "invalid_client") &&
		    strcmp(error, "unsupported_grant_type") && strcmp(error, "invalid_scope") &&
		    strcmp(error, "invalid_target"))
			abort();
	}
	free(auth);
	return 0;
}
