/*
 * The second-factor settings, parsed with the rest of the configuration
 * (common/config.c calls config_load_two_factor after AUTH_URL):
 *
 *   TOTP_ISSUER               the issuer authenticator apps show beside the
 *                             account (otpauth:// URI); default AUTH_URL's host
 *   FORWARD_AUTH_AMR_HEADER   /api/verify adds X-Auth-AMR (the session's or
 *                             token's amr, comma separated); default true
 *   FORWARD_AUTH_REQUIRE_MFA  /api/verify answers 403 mfa_required for a
 *                             session or token without "mfa"; default false
 */
#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISSUER_MAX 64

int config_load_two_factor(char *err, size_t errlen)
{
	const char *v = getenv("TOTP_ISSUER");
	char host[ISSUER_MAX + 1];

	config_note_read("TOTP_ISSUER");
	config_note_read("APP_NAME");
	/* circle-rd's APP_NAME is its TOTP issuer (and display name): used
	 * when it suits an issuer; mail checks it as a name (config_mail.c). */
	if (!v || !*v) {
		const char *app = getenv("APP_NAME");
		bool fits = app && *app && strlen(app) <= ISSUER_MAX;
		for (const unsigned char *p = (const unsigned char *)app; fits && *p; p++)
			fits = *p >= 0x20 && *p != 0x7f && *p != ':';
		v = fits ? app : NULL;
	}
	if (!v || !*v) {
		/* AUTH_URL's host without the port (parse_issuer checked it);
		 * an IPv6 literal has colons: then the product's name. */
		const char *p = strstr(cfg.issuer, "://");
		p = p ? p + 3 : cfg.issuer;
		size_t n = strcspn(p, "/:");
		snprintf(host, sizeof(host), "%.*s", (int)(n < ISSUER_MAX ? n : ISSUER_MAX), p);
		v = host[0] && host[0] != '[' ? host : "Dream Auth";
	}
	/* Shown by apps and part of the URI's label: printable, no ':' (the label's separator). */
	if (strlen(v) > ISSUER_MAX)
		return config_error(err, errlen, "TOTP_ISSUER: at most %d characters", ISSUER_MAX);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == ':')
			return config_error(err, errlen, "TOTP_ISSUER: no control characters or ':'");
	free(cfg.totp_issuer);
	cfg.totp_issuer = strdup(v);
	if (!cfg.totp_issuer)
		return config_error(err, errlen, "out of memory");
	return config_bool("FORWARD_AUTH_AMR_HEADER", true, &cfg.forward_auth_amr_header, err, errlen) ||
	    config_bool("FORWARD_AUTH_REQUIRE_MFA", false, &cfg.forward_auth_require_mfa, err, errlen);
}

void config_free_two_factor(void)
{
	free(cfg.totp_issuer);
	cfg.totp_issuer = NULL;
}
