/* OIDC client configuration parser (see oidc_clients.h). Pure. */
#include "proto/oidc_clients.h"
#include "proto/redirect.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/sha.h>

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "openid", OIDC_SCOPE_OPENID }, { "profile", OIDC_SCOPE_PROFILE }, { "email", OIDC_SCOPE_EMAIL },
	{ "offline_access", OIDC_SCOPE_OFFLINE }, { "groups", OIDC_SCOPE_GROUPS },
	{ "wallet", OIDC_SCOPE_WALLET }, { "roles", OIDC_SCOPE_ROLES }, { "admin", OIDC_SCOPE_ADMIN },
};

static const struct {
	const char *name;
	unsigned bit;
} grant_names[] = {
	{ "authorization_code", OIDC_GRANT_CODE }, { "refresh_token", OIDC_GRANT_REFRESH },
	{ "client_credentials", OIDC_GRANT_CLIENT_CREDENTIALS },
};

int oidc_scope_parse(const char *s, size_t len, unsigned *bits)
{
	size_t i = 0;
	*bits = 0;
	while (i < len) {
		size_t start, n;
		bool known = false;
		if (s[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		n = i - start;
		for (size_t k = 0; k < sizeof(scope_names) / sizeof(scope_names[0]); k++) {
			if (strlen(scope_names[k].name) == n && memcmp(scope_names[k].name, s + start, n) == 0) {
				*bits |= scope_names[k].bit;
				known = true;
			}
		}
		if (!known)
			return -1;
	}
	return 0;
}

char *oidc_scope_string(unsigned bits, char *out, size_t cap)
{
	size_t o = 0;
	if (cap)
		out[0] = '\0';
	for (size_t k = 0; k < sizeof(scope_names) / sizeof(scope_names[0]); k++) {
		if (!(bits & scope_names[k].bit))
			continue;
		int n = snprintf(out + o, cap - o, "%s%s", o ? " " : "", scope_names[k].name);
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return out;
}

bool oidc_client_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > OIDC_CLIENT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		        c == '.' || c == '_' || c == '~'))
			return false;
	}
	return true;
}

bool oidc_alg_valid(const char *alg)
{
	return !strcmp(alg, "RS256") || !strcmp(alg, "ES256") || !strcmp(alg, "EdDSA");
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* RFC 8252 §7.1 private-use scheme for native apps, such as Immich's
 * "app.immich:///oauth-callback": a reverse-domain scheme (so it has a dot,
 * which also keeps out javascript:, data:, vbscript: and file:) and a
 * non-empty rest. Registered URIs are matched exactly, and public clients
 * must use PKCE, so an app claiming the same scheme cannot use the code. */
static bool private_use_uri_valid(const char *uri, size_t len)
{
	const char *colon = memchr(uri, ':', len);
	size_t scheme_len;
	bool dot = false;

	if (!colon)
		return false;
	scheme_len = (size_t)(colon - uri);
	if (scheme_len < 3 || scheme_len + 1 >= len || !isalpha((unsigned char)uri[0]) || uri[scheme_len - 1] == '.')
		return false;
	for (size_t i = 0; i < scheme_len; i++) {
		char c = uri[i];
		if (c == '.') {
			if (uri[i - 1] == '.')
				return false;
			dot = true;
		} else if (!isalnum((unsigned char)c) && c != '+' && c != '-') {
			return false;
		}
	}
	return dot;
}

bool oidc_redirect_uri_valid(const char *uri, size_t len)
{
	const char *p, *end = uri + len, *host, *host_end;
	bool https;

	if (len == 0 || len > OIDC_MAX_URI_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];
		/* No controls, spaces, fragments, backslashes or non-ASCII bytes. */
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == '\\' || c == '"' || c == '<' || c == '>')
			return false;
	}
	if (len > 8 && !strncasecmp(uri, "https://", 8)) {
		https = true;
		p = uri + 8;
	} else if (len > 7 && !strncasecmp(uri, "http://", 7)) {
		https = false;
		p = uri + 7;
	} else if (len >= 4 && !strncasecmp(uri, "http", 4) && (len == 4 || uri[4] == ':' || uri[4] == 's' || uri[4] == 'S')) {
		return false;	/* a mangled http(s) URL, not an app's scheme */
	} else {
		return private_use_uri_valid(uri, len);
	}
	host = p;
	host_end = p;
	while (host_end < end && *host_end != '/' && *host_end != '?')
		host_end++;
	/* host_end .. is the path+query; host .. host_end is the authority. */
	if (memchr(host, '@', (size_t)(host_end - host)))
		return false;
	const char *port = NULL;
	if (host < host_end && *host == '[') {
		/* Only the IPv6 loopback literal: nothing else needs brackets here. */
		if ((size_t)(host_end - host) < 5 || memcmp(host, "[::1]", 5) != 0)
			return false;
		port = host + 5;
		if (port < host_end && *port != ':')
			return false;
		if (port == host_end)
			port = NULL;
	} else {
		const char *c = host;
		while (c < host_end && *c != ':') {
			if (!host_char(*c))
				return false;
			c++;
		}
		if (c == host)
			return false;
		if (c < host_end)
			port = c;
	}
	if (port) {
		size_t digits = (size_t)(host_end - port - 1);
		if (digits == 0 || digits > 5)
			return false;
		for (const char *d = port + 1; d < host_end; d++)
			if (*d < '0' || *d > '9')
				return false;
	}
	if (!https) {
		if (!host_is_loopback(host, (size_t)((port ? port : host_end) - host)))
			return false;
	}
	return true;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Field names and JSON error context come from the input: keep the log line one line. */
	for (char *p = err; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

void oidc_client_clear(struct oidc_client *c)
{
	free(c->client_id);
	free(c->name);
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		free(c->redirect_uris[i]);
	free(c->redirect_uris);
	for (size_t i = 0; i < c->n_post_logout_uris; i++)
		free(c->post_logout_uris[i]);
	free(c->post_logout_uris);
	memset(c, 0, sizeof(*c));
}

void oidc_clients_free(struct oidc_client *clients, size_t n)
{
	for (size_t i = 0; clients && i < n; i++)
		oidc_client_clear(&clients[i]);
	free(clients);
}

static int uri_list(json_t *v, const char *id, const char *key, char ***out, size_t *n_out, bool required, char *err,
    size_t errlen)
{
	size_t i;
	json_t *u;

	if (!v) {
		if (required)
			return fail(err, errlen, "client \"%s\": %s is required", id, key);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > OIDC_MAX_URIS || (required && json_array_size(v) == 0))
		return fail(err, errlen, "client \"%s\": %s must be an array of 1 to %d URLs", id, key, OIDC_MAX_URIS);
	*out = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return fail(err, errlen, "out of memory");
	json_array_foreach(v, i, u) {
		const char *s = json_string_value(u);
		if (!s || !oidc_redirect_uri_valid(s, json_string_length(u)) || strlen(s) != json_string_length(u))
			return fail(err, errlen,
			    "client \"%s\": %s[%zu] must be an absolute https URL (http only for localhost) or an app's "
			    "reverse-domain scheme (com.example.app:/callback), without fragment",
			    id, key, i);
		for (size_t k = 0; k < *n_out; k++)
			if (!strcmp((*out)[k], s))
				return fail(err, errlen, "client \"%s\": %s[%zu] is listed twice", id, key, i);
		(*out)[*n_out] = strdup(s);
		if (!(*out)[*n_out])
			return fail(err, errlen, "out of memory");
		(*n_out)++;
	}
	return 0;
}

static int bool_field(json_t *o, const char *key, bool def, bool *out, const char *id, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return fail(err, errlen, "client \"%s\": %s must be true or false", id, key);
	*out = json_is_true(v);
	return 0;
}

static int alg_field(json_t *o, const char *key, char out[8], const char *id, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v) || !oidc_alg_valid(json_string_value(v)))
		return fail(err, errlen, "client \"%s\": %s must be RS256, ES256 or EdDSA", id, key);
	snprintf(out, 8, "%s", json_string_value(v));
	return 0;
}

static const char *const known_keys[] = { "clientId", "clientSecret", "name", "redirectURLs", "postLogoutRedirectURLs",
	"skipConsent", "public", "requirePKCE", "idTokenSignedResponseAlg", "accessTokenSignedResponseAlg", "grantTypes",
	"scopes", NULL };

static int parse_one(json_t *o, size_t index, bool default_require_pkce, struct oidc_client *c, char *err,
    size_t errlen)
{
	const char *key, *id;
	json_t *v;
	bool is_public = false;

	if (!json_is_object(o))
		return fail(err, errlen, "client #%zu: expected an object", index);
	v = json_object_get(o, "clientId");
	id = json_string_value(v);
	if (!id || strlen(id) != json_string_length(v) || !oidc_client_id_valid(id, strlen(id)))
		return fail(err, errlen, "client #%zu: clientId must be 1-%d characters of A-Z a-z 0-9 . _ ~ -", index,
		    OIDC_CLIENT_ID_MAX);
	json_object_foreach(o, key, v) {
		bool known = false;
		for (const char *const *k = known_keys; *k; k++)
			known |= !strcmp(*k, key);
		if (!known)
			return fail(err, errlen, "client \"%s\": unknown field \"%.64s\"", id, key);
	}
	c->client_id = strdup(id);
	if (!c->client_id)
		return fail(err, errlen, "out of memory");

	v = json_object_get(o, "name");
	if (v && (!json_is_string(v) || json_string_length(v) > 200 || strlen(json_string_value(v)) != json_string_length(v)))
		return fail(err, errlen, "client \"%s\": name must be a string of at most 200 bytes", id);
	c->name = strdup(v ? json_string_value(v) : id);
	if (!c->name)
		return fail(err, errlen, "out of memory");

	if (bool_field(o, "public", false, &is_public, id, err, errlen) ||
	    bool_field(o, "skipConsent", false, &c->skip_consent, id, err, errlen) ||
	    bool_field(o, "requirePKCE", default_require_pkce, &c->require_pkce, id, err, errlen))
		return -1;
	v = json_object_get(o, "clientSecret");
	if (v) {
		size_t slen = json_string_length(v);
		if (!json_is_string(v) || slen < OIDC_SECRET_MIN || slen > OIDC_SECRET_MAX)
			return fail(err, errlen, "client \"%s\": clientSecret must be a string of %d-%d characters", id,
			    OIDC_SECRET_MIN, OIDC_SECRET_MAX);
		if (is_public)
			return fail(err, errlen, "client \"%s\": a public client has no clientSecret", id);
		SHA256((const unsigned char *)json_string_value(v), slen, c->secret_hash);
		c->has_secret = true;
	} else if (!is_public) {
		return fail(err, errlen, "client \"%s\": clientSecret is required (or set \"public\": true)", id);
	}
	/* Public clients cannot keep a secret: PKCE is their only proof. */
	if (!c->has_secret)
		c->require_pkce = true;

	if (uri_list(json_object_get(o, "redirectURLs"), id, "redirectURLs", &c->redirect_uris, &c->n_redirect_uris, true,
	        err, errlen) ||
	    uri_list(json_object_get(o, "postLogoutRedirectURLs"), id, "postLogoutRedirectURLs", &c->post_logout_uris,
	        &c->n_post_logout_uris, false, err, errlen))
		return -1;
	if (alg_field(o, "idTokenSignedResponseAlg", c->id_token_alg, id, err, errlen) ||
	    alg_field(o, "accessTokenSignedResponseAlg", c->access_token_alg, id, err, errlen))
		return -1;

	c->grants = OIDC_GRANT_CODE | OIDC_GRANT_REFRESH;
	v = json_object_get(o, "grantTypes");
	if (v) {
		size_t i;
		json_t *g;
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 3)
			return fail(err, errlen, "client \"%s\": grantTypes must be a non-empty array", id);
		c->grants = 0;
		json_array_foreach(v, i, g) {
			unsigned bit = 0;
			for (size_t k = 0; k < sizeof(grant_names) / sizeof(grant_names[0]); k++)
				if (json_is_string(g) && !strcmp(json_string_value(g), grant_names[k].name))
					bit = grant_names[k].bit;
			if (!bit)
				return fail(err, errlen,
				    "client \"%s\": grantTypes[%zu] must be authorization_code, refresh_token or client_credentials",
				    id, i);
			c->grants |= bit;
		}
	}
	if ((c->grants & OIDC_GRANT_CLIENT_CREDENTIALS) && !c->has_secret)
		return fail(err, errlen, "client \"%s\": a public client cannot use client_credentials", id);

	c->scopes = OIDC_SCOPE_ALL;
	v = json_object_get(o, "scopes");
	if (v) {
		size_t i;
		json_t *s;
		if (!json_is_array(v) || json_array_size(v) > 16)
			return fail(err, errlen, "client \"%s\": scopes must be an array", id);
		c->scopes = 0;
		json_array_foreach(v, i, s) {
			unsigned bits;
			const char *name = json_string_value(s);
			if (!name || !*name || strchr(name, ' ') || oidc_scope_parse(name, strlen(name), &bits) < 0 ||
			    (bits & ~OIDC_SCOPE_ALL))
				return fail(err, errlen,
				    "client \"%s\": scopes[%zu] must be openid, profile, email, offline_access, groups, "
				    "wallet or roles (admin clients are made with dreamauth client add --admin)", id, i);
			c->scopes |= bits;
		}
	}
	return 0;
}

int oidc_clients_parse(const char *text, size_t len, bool default_require_pkce, struct oidc_client **out,
    size_t *n_out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct oidc_client *clients = NULL;
	size_t n = 0, i;
	json_t *o;

	*out = NULL;
	*n_out = 0;
	if (len > OIDC_CLIENTS_MAX_TEXT)
		return fail(err, errlen, "client list is larger than %d bytes", OIDC_CLIENTS_MAX_TEXT);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, "not valid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_array(root) || json_array_size(root) > OIDC_MAX_CLIENTS) {
		json_decref(root);
		return fail(err, errlen, "expected a JSON array of at most %d clients", OIDC_MAX_CLIENTS);
	}
	clients = calloc(json_array_size(root) + 1, sizeof(*clients));
	if (!clients) {
		json_decref(root);
		return fail(err, errlen, "out of memory");
	}
	json_array_foreach(root, i, o) {
		int rc = parse_one(o, i, default_require_pkce, &clients[n], err, errlen);
		n++;
		if (rc < 0)
			goto bad;
		for (size_t k = 0; k + 1 < n; k++) {
			if (!strcmp(clients[k].client_id, clients[n - 1].client_id)) {
				fail(err, errlen, "client \"%s\" is defined twice", clients[k].client_id);
				goto bad;
			}
		}
	}
	json_decref(root);
	*out = clients;
	*n_out = n;
	return 0;
bad:
	json_decref(root);
	oidc_clients_free(clients, n);
	return -1;
}
