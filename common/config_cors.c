/*
 * CORS_ORIGINS (circle-rd auth-service's name): the first-party origins —
 * web apps of the same operator, such as https://app.example.com — that may
 * call the account API (/api/auth/...) with the session cookie, and the OAuth
 * endpoints. Parsed strictly by proto/cors_origin.c; "*" is refused (a
 * wildcard cannot carry credentials, and the public documents are open to
 * every origin anyway). AUTH_URL's own origin is always first-party.
 */
#include "common/config.h"
#include "proto/cors_origin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int config_load_cors(char *err, size_t errlen)
{
	static char parsed[CORS_ORIGINS_MAX][CORS_ORIGIN_MAX];
	const char *v = getenv("CORS_ORIGINS");
	char why[300], own[CORS_ORIGIN_MAX];
	size_t n = 0;

	config_note_read("CORS_ORIGINS");
	if (!cors_origin_of_url(cfg.issuer, strlen(cfg.issuer), own, sizeof(own))) {
		snprintf(err, errlen, "AUTH_URL: its origin (scheme://host[:port]) is not one a browser sends");
		return -1;
	}
	cfg.issuer_origin = strdup(own);
	if (v && *v && cors_origin_list_parse(v, strlen(v), parsed, CORS_ORIGINS_MAX, &n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "CORS_ORIGINS: %s", why);
		return -1;
	}
	cfg.cors_origins = calloc(n + 1, sizeof(char *));
	if (!cfg.issuer_origin || !cfg.cors_origins) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!(cfg.cors_origins[cfg.n_cors_origins++] = strdup(parsed[i]))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}

void config_free_cors(void)
{
	for (int i = 0; i < cfg.n_cors_origins; i++)
		free(cfg.cors_origins[i]);
	free(cfg.cors_origins);
	free(cfg.issuer_origin);
	cfg.cors_origins = NULL;
	cfg.n_cors_origins = 0;
	cfg.issuer_origin = NULL;
}

bool config_origin_first_party(const char *origin)
{
	if (cfg.issuer_origin && !strcmp(origin, cfg.issuer_origin))
		return true;
	for (int i = 0; i < cfg.n_cors_origins; i++)
		if (!strcmp(origin, cfg.cors_origins[i]))
			return true;
	return false;
}
