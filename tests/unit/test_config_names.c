/*
 * common/config_names.c: every name config_load looks up is in
 * config_setting_names (so a check after a failed load still knows it);
 * ignored and misspelt names are reported once each, with the closest real
 * name; names read elsewhere and ours are not reported.
 */
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdlib.h>

static char lines[16][400];
static int n_lines;

static void collect(const char *line, void *arg)
{
	(void)arg;
	if (n_lines < 16)
		snprintf(lines[n_lines++], sizeof(lines[0]), "%s", line);
}

static bool reported(const char *needle)
{
	for (int i = 0; i < n_lines; i++)
		if (strstr(lines[i], needle))
			return true;
	return false;
}

int main(void)
{
	char err[512];
	/* Settings that make config_load read its optional branches too. */
	setenv("PASSKEY_ATTESTATION", "direct", 1);
	setenv("ADMIN_EMAIL", "Boss@Example.com", 1);
	setenv("ADMIN_EMAILS", "a@example.com", 1);
	setenv("HOST", "127.0.0.1", 1);
	setenv("PORT", "3555", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK(config_name_recorded_known());
	/* circle-rd's ADMIN_EMAIL joins ADMIN_EMAILS; HOST and PORT make LISTEN. */
	CHECK(config_is_admin_email("boss@example.com"));
	CHECK(config_is_admin_email("a@example.com"));
	CHECK_EQ_STR(cfg.listen[0], "127.0.0.1:3555");
	config_free();
	/* circle-rd's APP_NAME names the TOTP issuer unless TOTP_ISSUER does;
	 * one that cannot be an issuer (a ':') leaves the default. */
	setenv("APP_NAME", "Circle Auth", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.totp_issuer, "Circle Auth");
	config_free();
	setenv("APP_NAME", "Circle: Auth", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.totp_issuer, "localhost");
	config_free();
	setenv("TOTP_ISSUER", "Issuer", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.totp_issuer, "Issuer");
	config_free();
	unsetenv("TOTP_ISSUER");
	unsetenv("APP_NAME");
	setenv("HOST", "::", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.listen[0], "[::]:3555");
	config_free();

	char *env[] = { "PATH=/usr/bin", "AUTH_URL=https://a.example", "BETTER_AUTH_URL=https://a.example",
		"OIDC_CLIENTS=[]", "SMTP_HOST=mail", "APP_NAME=x", "NODE_ENV=production", "POSTGRES_PASSWORD=secret-value",
		"BETTER_AUTH_MIGRATION_LOCK_TIMEOUT=5", "ENABLE_PASSKEY=true", "OIDC_CLIENT=[]", "SESSION_TTL=5",
		"DREAMAUTH_WHATEVER=1", "HOME=/root", "HTTP_PROXY=http://p", "=odd", "NOEQUALS", NULL };
	CHECK_EQ_INT(config_check_names(env, collect, NULL), 7);
	for (int i = 0; i < n_lines; i++)
		printf("  %s\n", lines[i]);
	CHECK(reported("NODE_ENV is ignored: not a Node.js program"));
	CHECK(reported("POSTGRES_PASSWORD is ignored"));
	CHECK(!reported("secret-value"));
	CHECK(reported("BETTER_AUTH_MIGRATION_LOCK_TIMEOUT is not a setting (did you mean BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS?)") ||
	    reported("BETTER_AUTH_MIGRATION_LOCK_TIMEOUT is not a setting (did you mean MIGRATION_LOCK_TIMEOUT_MS?)"));
	CHECK(reported("ENABLE_PASSKEY is not a setting (did you mean ENABLE_PASSKEYS?)"));
	CHECK(reported("OIDC_CLIENT is not a setting (did you mean OIDC_CLIENTS?)"));
	CHECK(reported("SESSION_TTL is not a setting"));
	CHECK(reported("DREAMAUTH_WHATEVER is not a setting: ignored"));
	CHECK(!reported("SMTP_HOST") && !reported("APP_NAME") && !reported("AUTH_URL ") && !reported("HTTP_PROXY") &&
	    !reported("HOME") && !reported("PATH"));
	return CHECK_DONE();
}
