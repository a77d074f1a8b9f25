/*
 * OIDC client configuration (OIDC_CLIENTS / OIDC_CLIENTS_FILE, Dream Auth's
 * contract): JSON text → array of validated clients. Pure: bytes in, structs
 * out; the registry (workers/oidc_clients.c) and the CLI call it, and
 * fuzz/fuzz_oidc_clients.c feeds it hostile text.
 *
 * Accepted per client (unknown keys are refused, so a typo cannot silently
 * weaken a client):
 *   clientId (required, [A-Za-z0-9._~-]{1,128}, unique), clientSecret (absent
 *   → public client), name, redirectURLs (required, 1..16), postLogoutRedirectURLs,
 *   skipConsent, public, requirePKCE, idTokenSignedResponseAlg,
 *   accessTokenSignedResponseAlg (RS256 | ES256 | EdDSA), grantTypes
 *   (authorization_code, refresh_token, client_credentials), scopes.
 * Redirect URIs: absolute https://, or http:// only for localhost, 127.0.0.1
 * or [::1]; no fragment, no userinfo, no spaces or control bytes.
 * Secrets are never kept: only their SHA-256.
 */
#ifndef DREAMAUTH_PROTO_OIDC_CLIENTS_H
#define DREAMAUTH_PROTO_OIDC_CLIENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OIDC_MAX_CLIENTS 256
#define OIDC_MAX_URIS 16
#define OIDC_MAX_URI_LEN 2048
#define OIDC_CLIENT_ID_MAX 128
#define OIDC_SECRET_MIN 8
#define OIDC_SECRET_MAX 512
#define OIDC_CLIENTS_MAX_TEXT (1024 * 1024)

/* Scopes we know, as bits. */
enum oidc_scope {
	OIDC_SCOPE_OPENID = 1u << 0,
	OIDC_SCOPE_PROFILE = 1u << 1,
	OIDC_SCOPE_EMAIL = 1u << 2,
	OIDC_SCOPE_OFFLINE = 1u << 3,
	OIDC_SCOPE_GROUPS = 1u << 4,
	OIDC_SCOPE_WALLET = 1u << 5,	/* wallet_address: the account's Ethereum wallet (SIWE) */
	OIDC_SCOPE_ROLES = 1u << 6,	/* roles, permissions in the ID token (migrations/013) */
	/* the admin API (workers/admin_auth.c): only a database client flagged
	 * admin may ask for it, by client_credentials; never in OIDC_SCOPE_ALL */
	OIDC_SCOPE_ADMIN = 1u << 7,
};
/* What a client may ask for unless its configuration narrows it. */
#define OIDC_SCOPE_ALL 0x7fu

enum oidc_grant {
	OIDC_GRANT_CODE = 1u << 0,
	OIDC_GRANT_REFRESH = 1u << 1,
	OIDC_GRANT_CLIENT_CREDENTIALS = 1u << 2,
};

struct oidc_client {
	int refs;			/* owned by the registry; see workers/oidc_clients.h */
	char *client_id;
	char *name;
	bool has_secret;		/* false: public client (auth method none, PKCE) */
	uint8_t secret_hash[32];	/* SHA-256 of the secret */
	char **redirect_uris;
	size_t n_redirect_uris;
	char **post_logout_uris;
	size_t n_post_logout_uris;
	bool skip_consent;
	bool require_pkce;
	char id_token_alg[8];		/* "RS256" | "ES256" | "EdDSA" | "" (server default) */
	char access_token_alg[8];
	unsigned grants;		/* enum oidc_grant bits */
	unsigned scopes;		/* enum oidc_scope bits the client may ask for */
	bool from_db;
};

/* Parse a JSON array of clients. default_require_pkce: OIDC_REQUIRE_PKCE.
 * Returns 0 and a malloc'd array (*out, *n_out), or -1 with one line in err
 * naming the client and field. */
int oidc_clients_parse(const char *text, size_t len, bool default_require_pkce, struct oidc_client **out,
    size_t *n_out, char *err, size_t errlen);
/* Frees the strings inside one client (not the struct itself). */
void oidc_client_clear(struct oidc_client *c);
void oidc_clients_free(struct oidc_client *clients, size_t n);

/* Rules shared with `dreamauth client add`. */
bool oidc_redirect_uri_valid(const char *uri, size_t len);
bool oidc_client_id_valid(const char *id, size_t len);
bool oidc_alg_valid(const char *alg);

/* "openid profile" (space separated) → bits; -1 if a token is unknown or
 * the string is malformed. Empty → 0 bits. Repeats are harmless. */
int oidc_scope_parse(const char *s, size_t len, unsigned *bits);
/* bits → "openid profile ..." (canonical order) into out; returns out. */
char *oidc_scope_string(unsigned bits, char *out, size_t cap);
#endif
