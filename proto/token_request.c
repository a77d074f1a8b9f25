/* Token endpoint request parsing and validation (see token_request.h). Pure. */
#include "proto/token_request.h"
#include "proto/base64url.h"

#include <string.h>
#include <strings.h>

#define CRED_MAX 512
#define TOKEN_PARAM_MAX 4096

static bool unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	    c == '_' || c == '~';
}

bool pkce_verifier_valid(const char *v, size_t len)
{
	if (len < 43 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!unreserved(v[i]))
			return false;
	return true;
}

bool pkce_challenge_valid(const char *v, size_t len)
{
	if (len != 43)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!unreserved(v[i]) || v[i] == '.' || v[i] == '~')
			return false;
	return true;
}

static bool scheme_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
	    c == '.';
}

bool resource_indicator_valid(const char *uri)
{
	size_t len = strlen(uri), i = 0;

	if (len == 0 || len > RESOURCE_INDICATOR_MAX)
		return false;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1) */
	if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')))
		return false;
	while (++i < len && uri[i] != ':')
		if (!scheme_char(uri[i]))
			return false;
	if (i == len || i + 1 == len)
		return false;	/* no scheme, or nothing after it */
	for (; i < len; i++)
		if (uri[i] <= ' ' || uri[i] > '~' || strchr("#\"<>\\^`{|}", uri[i]))
			return false;
	return true;
}

/* Decodes one %XX-encoded component of Basic credentials (RFC 6749 §2.3.1
 * form-encodes id and secret before base64). Returns length or -1. */
static long form_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '%') {
			int v = 0;
			if (i + 2 >= len)
				return -1;
			for (int k = 1; k <= 2; k++) {
				char h = in[i + k];
				v <<= 4;
				if (h >= '0' && h <= '9')
					v |= h - '0';
				else if (h >= 'a' && h <= 'f')
					v |= h - 'a' + 10;
				else if (h >= 'A' && h <= 'F')
					v |= h - 'A' + 10;
				else
					return -1;
			}
			c = (char)v;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || (unsigned char)c < 0x20 || c == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

static int err(const char **error, const char **description, const char *e, const char *d)
{
	*error = e;
	*description = d;
	return -1;
}

/* Authorization: Basic base64(urlencode(id) ":" urlencode(secret)) */
static int parse_basic(const char *h, size_t len, struct token_request *r, const char **error, const char **description)
{
	uint8_t raw[2 * CRED_MAX * 3 + 2];
	const char *colon;
	long n, idn, sn;

	if (len < 6 || strncasecmp(h, "Basic ", 6) != 0)
		return err(error, description, "invalid_client", "only HTTP Basic client authentication is accepted here");
	h += 6;
	len -= 6;
	while (len && *h == ' ')
		h++, len--;
	n = base64_std_decode(h, len, raw, sizeof(raw) - 1);
	if (n <= 0)
		return err(error, description, "invalid_client", "malformed Basic credentials");
	raw[n] = '\0';
	colon = memchr(raw, ':', (size_t)n);
	if (!colon)
		return err(error, description, "invalid_client", "malformed Basic credentials");
	idn = form_decode((const char *)raw, (size_t)(colon - (const char *)raw), r->basic, CRED_MAX);
	if (idn <= 0)
		return err(error, description, "invalid_client", "malformed client id in Basic credentials");
	sn = form_decode(colon + 1, (size_t)n - (size_t)(colon + 1 - (const char *)raw), r->basic + idn + 1, CRED_MAX);
	if (sn < 0)
		return err(error, description, "invalid_client", "malformed client secret in Basic credentials");
	r->client_id = r->basic;
	r->client_secret = r->basic + idn + 1;
	r->auth = CLIENT_AUTH_BASIC;
	return 0;
}

static bool field_ok(const char *v, size_t max)
{
	return v && *v && strlen(v) <= max;
}

int token_request_parse(enum token_endpoint ep, const char *body, size_t body_len, const char *authorization,
    size_t auth_len, struct token_request *out, const char **error, const char **description)
{
	struct token_request *r = out;
	const char *grant, *form_id, *form_secret;

	memset(r, 0, sizeof(*r));
	switch (form_parse(body ? body : "", body ? body_len : 0, TOKEN_REQUEST_MAX_BODY, &r->form)) {
	case FORM_OK: break;
	case FORM_ERR_DUPLICATE: return err(error, description, "invalid_request", "a parameter is repeated");
	case FORM_ERR_TOO_LONG: return err(error, description, "invalid_request", "the request body is too large");
	default: return err(error, description, "invalid_request", "malformed form body");
	}
	if (authorization && parse_basic(authorization, auth_len, r, error, description) < 0)
		goto fail;
	form_id = form_get(&r->form, "client_id");
	form_secret = form_get(&r->form, "client_secret");
	if (r->auth == CLIENT_AUTH_BASIC) {
		/* RFC 6749 §2.3: one authentication method per request. */
		if (form_secret) {
			err(error, description, "invalid_request", "use either Basic or client_secret, not both");
			goto fail;
		}
		if (form_id && strcmp(form_id, r->client_id) != 0) {
			err(error, description, "invalid_request", "client_id does not match the Basic credentials");
			goto fail;
		}
	} else {
		if (form_id && !field_ok(form_id, CRED_MAX)) {
			err(error, description, "invalid_request", "malformed client_id");
			goto fail;
		}
		if (form_secret && (!form_id || strlen(form_secret) > CRED_MAX)) {
			err(error, description, "invalid_request", "client_secret needs a client_id");
			goto fail;
		}
		r->client_id = form_id;
		r->client_secret = form_secret;
		r->auth = form_secret ? CLIENT_AUTH_POST : CLIENT_AUTH_NONE;
	}
	if (!r->client_id) {
		err(error, description, "invalid_client", "client authentication is required");
		goto fail;
	}

	if (ep != TOKEN_EP_TOKEN) {
		r->token = form_get(&r->form, "token");
		r->token_type_hint = form_get(&r->form, "token_type_hint");
		if (!field_ok(r->token, TOKEN_PARAM_MAX)) {
			err(error, description, "invalid_request", "token is required");
			goto fail;
		}
		if (r->token_type_hint && strlen(r->token_type_hint) > 64) {
			err(error, description, "invalid_request", "malformed token_type_hint");
			goto fail;
		}
		return 0;
	}

	grant = form_get(&r->form, "grant_type");
	if (!grant || !*grant) {
		err(error, description, "invalid_request", "grant_type is required");
		goto fail;
	}
	if (!strcmp(grant, "authorization_code"))
		r->grant = GRANT_AUTHORIZATION_CODE;
	else if (!strcmp(grant, "refresh_token"))
		r->grant = GRANT_REFRESH_TOKEN;
	else if (!strcmp(grant, "client_credentials"))
		r->grant = GRANT_CLIENT_CREDENTIALS;
	else {
		err(error, description, "unsupported_grant_type", "grant_type is not supported");
		goto fail;
	}
	r->code = form_get(&r->form, "code");
	r->redirect_uri = form_get(&r->form, "redirect_uri");
	r->code_verifier = form_get(&r->form, "code_verifier");
	r->refresh_token = form_get(&r->form, "refresh_token");
	r->scope = form_get(&r->form, "scope");
	r->resource = form_get(&r->form, "resource");
	if (r->resource && !resource_indicator_valid(r->resource)) {
		err(error, description, "invalid_target", "resource must be an absolute URI without a fragment");
		goto fail;
	}
	if (r->scope && strlen(r->scope) > 1024) {
		err(error, description, "invalid_scope", "scope is too long");
		goto fail;
	}
	if (r->code_verifier && !pkce_verifier_valid(r->code_verifier, strlen(r->code_verifier))) {
		err(error, description, "invalid_request", "code_verifier must be 43-128 unreserved characters");
		goto fail;
	}
	switch (r->grant) {
	case GRANT_AUTHORIZATION_CODE:
		if (!field_ok(r->code, 256)) {
			err(error, description, "invalid_request", "code is required");
			goto fail;
		}
		if (!field_ok(r->redirect_uri, 2048)) {
			err(error, description, "invalid_request", "redirect_uri is required");
			goto fail;
		}
		break;
	case GRANT_REFRESH_TOKEN:
		if (!field_ok(r->refresh_token, 256)) {
			err(error, description, "invalid_request", "refresh_token is required");
			goto fail;
		}
		break;
	case GRANT_CLIENT_CREDENTIALS:
		if (r->auth == CLIENT_AUTH_NONE) {
			err(error, description, "invalid_client", "client_credentials needs client authentication");
			goto fail;
		}
		break;
	default:
		break;
	}
	return 0;
fail:
	token_request_free(r);
	return -1;
}

void token_request_free(struct token_request *r)
{
	form_free(&r->form);
	memset(r, 0, sizeof(*r));
}
