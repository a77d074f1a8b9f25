/*
 * The passkey settings (WebAuthn relying party), parsed once with the rest of
 * the configuration (common/config.c calls config_load_passkeys after
 * AUTH_URL):
 *
 *   PASSKEY_RP_ID             the RP ID; default AUTH_URL's host. AUTH_URL's
 *                             host and every origin must be it or inside it.
 *   PASSKEY_ORIGINS           extra origins accepted in clientDataJSON
 *                             (comma-separated), besides AUTH_URL's own
 *   PASSKEY_USER_VERIFICATION required | preferred (default) | discouraged
 *   PASSKEY_ATTESTATION       none (default) | direct
 *   PASSKEY_ATTESTATION_REQUIRE_TRUSTED, PASSKEY_TRUST_ANCHORS_FILE
 *                             with direct: only authenticators whose
 *                             attestation chains to one of these PEM roots
 *
 * The trust anchors are read here, at start (the workers, which verify, run
 * sandboxed without the file system).
 */
#include "common/config.h"
#include "proto/webauthn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRUST_ANCHORS_MAX (1024 * 1024)

static void lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* host of "scheme://host[:port][/...]", without port or IPv6 brackets, into
 * out; false when there is none. */
static bool url_host(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	size_t n;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close)
			return false;
		p++;
		n = (size_t)(close - p);
	} else {
		n = strcspn(p, ":/");
	}
	if (n == 0 || n >= cap || memchr(p, '@', n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	lowercase(out);
	return true;
}

/* WebAuthn §5.1.4.1 / HTML's "is a registrable domain suffix of or is equal
 * to", without the public suffix list: host is the RP ID or a subdomain of it. */
static bool rp_id_covers(const char *rp_id, const char *host)
{
	size_t r = strlen(rp_id), h = strlen(host);
	return h == r ? strcmp(host, rp_id) == 0 : h > r && host[h - r - 1] == '.' && strcmp(host + h - r, rp_id) == 0;
}

static bool rp_id_valid(const char *rp_id)
{
	size_t len = strlen(rp_id);
	if (len == 0 || len > 253 || rp_id[0] == '.' || rp_id[len - 1] == '.')
		return false;
	for (const char *p = rp_id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* An origin as browsers serialize it (lower case, no path, no trailing
 * slash): https://host[:port], or http:// on localhost. */
static int add_origin(const char *text, size_t len, char *err, size_t errlen)
{
	char origin[300], host[256];

	while (len && (*text == ' ' || *text == '\t'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(origin))
		return config_error(err, errlen, "PASSKEY_ORIGINS: an empty or overlong origin");
	memcpy(origin, text, len);
	origin[len] = '\0';
	lowercase(origin);
	const char *authority = strstr(origin, "://");
	bool https = strncmp(origin, "https://", 8) == 0, local = config_is_local_http(origin);
	if ((!https && !local) || !authority || strchr(authority + 3, '/') || !url_host(origin, host, sizeof(host)))
		return config_error(err, errlen,
		    "PASSKEY_ORIGINS: \"%s\" is not an origin (https://host[:port], or http://localhost[:port]; no path)",
		    origin);
	if (!rp_id_covers(cfg.passkey_rp_id, host))
		return config_error(err, errlen, "PASSKEY_ORIGINS: the host of \"%s\" is not inside the RP ID %s", origin,
		    cfg.passkey_rp_id);
	if (cfg.n_passkey_origins == CONFIG_MAX_PASSKEY_ORIGINS)
		return config_error(err, errlen, "PASSKEY_ORIGINS: at most %d origins", CONFIG_MAX_PASSKEY_ORIGINS - 1);
	for (int i = 0; i < cfg.n_passkey_origins; i++)
		if (!strcmp(cfg.passkey_origins[i], origin))
			return 0;
	if (!(cfg.passkey_origins[cfg.n_passkey_origins] = strdup(origin)))
		return config_error(err, errlen, "out of memory");
	cfg.n_passkey_origins++;
	return 0;
}

static int parse_rp_and_origins(char *err, size_t errlen)
{
	char host[256];
	const char *rp = config_env("PASSKEY_RP_ID");

	if (!url_host(cfg.issuer, host, sizeof(host)))
		return config_error(err, errlen, "AUTH_URL: no host");
	if (!(cfg.passkey_rp_id = strdup(rp ? rp : host)))
		return config_error(err, errlen, "out of memory");
	lowercase(cfg.passkey_rp_id);
	/* Derived from AUTH_URL it is what it is (an IP address makes passkeys
	 * unusable, not the server); set by hand it must be a domain. */
	if (rp && !rp_id_valid(cfg.passkey_rp_id))
		return config_error(err, errlen, "PASSKEY_RP_ID: not a domain name: \"%s\"", cfg.passkey_rp_id);
	if (!rp_id_covers(cfg.passkey_rp_id, host))
		return config_error(err, errlen, "PASSKEY_RP_ID: AUTH_URL's host %s is not %s or inside it", host,
		    cfg.passkey_rp_id);
	/* AUTH_URL's own origin first: scheme://authority, without its path.
	 * Plain http on another host is no secure context: browsers offer no
	 * passkeys there, so it is left out rather than refused (the server
	 * still starts; passkeys need https). */
	const char *authority = strstr(cfg.issuer, "://") + 3;
	bool secure_context = strncmp(cfg.issuer, "https://", 8) == 0 || cfg.issuer_is_local_http;
	if (secure_context &&
	    add_origin(cfg.issuer, (size_t)(authority - cfg.issuer) + strcspn(authority, "/"), err, errlen))
		return -1;
	for (const char *p = config_env("PASSKEY_ORIGINS"); p && *p;) {
		size_t n = strcspn(p, ",");
		if (add_origin(p, n, err, errlen))
			return -1;
		p += n + (p[n] == ',');
	}
	return 0;
}

static int parse_policies(char *err, size_t errlen)
{
	const char *uv = config_env("PASSKEY_USER_VERIFICATION"), *att = config_env("PASSKEY_ATTESTATION"),
		   *trusted = config_env("PASSKEY_ATTESTATION_REQUIRE_TRUSTED");

	if (!uv || !strcasecmp(uv, "preferred"))
		cfg.passkey_user_verification = CONFIG_UV_PREFERRED;
	else if (!strcasecmp(uv, "required"))
		cfg.passkey_user_verification = CONFIG_UV_REQUIRED;
	else if (!strcasecmp(uv, "discouraged"))
		cfg.passkey_user_verification = CONFIG_UV_DISCOURAGED;
	else
		return config_error(err, errlen, "PASSKEY_USER_VERIFICATION: expected required, preferred or discouraged, got \"%s\"",
		    uv);
	if (!att || !strcasecmp(att, "none"))
		cfg.passkey_attestation_direct = false;
	else if (!strcasecmp(att, "direct"))
		cfg.passkey_attestation_direct = true;
	else
		return config_error(err, errlen, "PASSKEY_ATTESTATION: expected none or direct, got \"%s\"", att);
	if (!trusted || !strcasecmp(trusted, "false") || !strcmp(trusted, "0") || !strcasecmp(trusted, "no") ||
	    !strcasecmp(trusted, "off"))
		cfg.passkey_attestation_require_trusted = false;
	else if (!strcasecmp(trusted, "true") || !strcmp(trusted, "1") || !strcasecmp(trusted, "yes") ||
	    !strcasecmp(trusted, "on"))
		cfg.passkey_attestation_require_trusted = true;
	else
		return config_error(err, errlen, "PASSKEY_ATTESTATION_REQUIRE_TRUSTED: expected true or false, got \"%s\"", trusted);
	if (cfg.passkey_attestation_require_trusted && !cfg.passkey_attestation_direct)
		return config_error(err, errlen,
		    "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true needs PASSKEY_ATTESTATION=direct (with none, authenticators "
		    "send no attestation to trust)");
	return 0;
}

/* The PEM roots, read whole and checked to hold at least one certificate. */
static int read_trust_anchors(char *err, size_t errlen)
{
	const char *path = config_env("PASSKEY_TRUST_ANCHORS_FILE");

	if (!path) {
		if (cfg.passkey_attestation_require_trusted)
			return config_error(err, errlen, "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true needs PASSKEY_TRUST_ANCHORS_FILE");
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return config_error(err, errlen, "PASSKEY_TRUST_ANCHORS_FILE: cannot open %s", path);
	char *pem = malloc(TRUST_ANCHORS_MAX + 1);
	size_t len = pem ? fread(pem, 1, TRUST_ANCHORS_MAX + 1, f) : 0;
	fclose(f);
	if (!pem || len == 0 || len > TRUST_ANCHORS_MAX) {
		free(pem);
		return config_error(err, errlen, "PASSKEY_TRUST_ANCHORS_FILE: %s is empty or larger than 1 MiB", path);
	}
	pem[len] = '\0';
	X509_STORE *store = webauthn_trust_anchors_from_pem(pem, len);
	if (!store) {
		free(pem);
		return config_error(err, errlen, "PASSKEY_TRUST_ANCHORS_FILE: no PEM certificate in %s", path);
	}
	X509_STORE_free(store);
	cfg.passkey_trust_anchors_pem = pem;
	return 0;
}

int config_load_passkeys(char *err, size_t errlen)
{
	return parse_rp_and_origins(err, errlen) || parse_policies(err, errlen) || read_trust_anchors(err, errlen) ? -1
	                                                                                                            : 0;
}

void config_free_passkeys(void)
{
	free(cfg.passkey_rp_id);
	cfg.passkey_rp_id = NULL;
	for (int i = 0; i < cfg.n_passkey_origins; i++) {
		free(cfg.passkey_origins[i]);
		cfg.passkey_origins[i] = NULL;
	}
	cfg.n_passkey_origins = 0;
	free(cfg.passkey_trust_anchors_pem);
	cfg.passkey_trust_anchors_pem = NULL;
}
