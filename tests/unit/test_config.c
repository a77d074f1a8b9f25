/* Environment parsing: defaults, aliases, and one clear error per bad value. */
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

static int load(char *err, size_t len)
{
	config_free();
	return config_load(err, len);
}

static void clear_env(void)
{
	static const char *vars[] = { "DATABASE_URL", "AUTH_SECRET", "BETTER_AUTH_SECRET", "AUTH_URL", "BETTER_AUTH_URL",
		"LISTEN", "PORT", "WORKERS", "ENABLE_REGISTRATION", "AUTO_MIGRATE", "BETTER_AUTH_AUTO_MIGRATE",
		"COOKIE_DOMAIN", "ADMIN_EMAILS", "SIGNING_ALG", "LOG_LEVEL", "CLIENT_AUTH_MAX_ATTEMPTS",
		"CLIENT_AUTH_IP_MAX_ATTEMPTS", "REVOKED_TOKEN_ENTRIES", "KDF_PRIORITY", "DB_STATEMENT_TIMEOUT_MS", "SECCOMP", "RUN_USER", "PG_BIN", "HTTP_REQUEST_TIMEOUT",
		"FORWARD_AUTH_AUDIENCE", "FORWARD_AUTH_ALLOW_MACHINE_TOKENS",
		"ENABLE_SIWE", "SIWE_CHAIN_IDS", "SIWE_CLOCK_SKEW", "TOTP_ISSUER", "FORWARD_AUTH_AMR_HEADER",
		"FORWARD_AUTH_REQUIRE_MFA", NULL };
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);
}

int main(void)
{
	char err[256];
	const char *secret = "0123456789abcdef0123456789abcdef-secret";

	clear_env();
	/* embedded default: no DATABASE_URL, no secret needed yet */
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(cfg.embedded_pg);
	CHECK(cfg.auto_migrate);
	CHECK_EQ_STR(cfg.listen[0], "0.0.0.0:3000");
	CHECK_EQ_STR(cfg.issuer, "http://localhost:3000");
	CHECK(cfg.issuer_is_local_http);
	CHECK(!cfg.enable_registration);
	CHECK(cfg.oidc_require_pkce);
	CHECK_EQ_INT(cfg.argon2_m_kib, 19456);
	CHECK_EQ_INT(cfg.client_auth_max_attempts, 10);
	CHECK_EQ_INT(cfg.client_auth_ip_max_attempts, 50);
	CHECK_EQ_INT(cfg.revoked_token_entries, 16384);
	CHECK(cfg.kdf_idle);
	CHECK_EQ_INT(cfg.db_statement_timeout_ms, 5000);
	CHECK_EQ_INT(cfg.http_request_timeout_s, 20);
	/* SIWE: mainnet only, a minute of skew, the issuer's origin */
	CHECK(cfg.enable_siwe);
	CHECK_EQ_INT(cfg.n_siwe_chain_ids, 1);
	CHECK(config_siwe_chain_allowed(1));
	CHECK(!config_siwe_chain_allowed(5));
	CHECK_EQ_INT(cfg.siwe_clock_skew, 60);
	CHECK_EQ_STR(cfg.siwe_origin, "http://localhost:3000");
	CHECK_EQ_STR(cfg.siwe_domain, "localhost:3000");
	setenv("SIWE_CHAIN_IDS", "1, 10,8453 ,11155111", 1);
	setenv("SIWE_CLOCK_SKEW", "0", 1);
	setenv("AUTH_URL", "https://Auth.Example.com:8443/idp/", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.n_siwe_chain_ids, 4);
	CHECK(config_siwe_chain_allowed(8453) && config_siwe_chain_allowed(11155111) && config_siwe_chain_allowed(10));
	CHECK(!config_siwe_chain_allowed(1337));
	CHECK_EQ_INT(cfg.siwe_clock_skew, 0);
	CHECK_EQ_STR(cfg.siwe_origin, "https://auth.example.com:8443");
	CHECK_EQ_STR(cfg.siwe_domain, "auth.example.com:8443");
	unsetenv("AUTH_URL");
	const char *bad_chains[] = { "", "0", "1,", ",1", "1,,2", "-1", "0x1", "1 2", "9223372036854775808",
		"18446744073709551617", NULL };
	for (int i = 0; bad_chains[i]; i++) {
		setenv("SIWE_CHAIN_IDS", bad_chains[i], 1);
		int rc = load(err, sizeof(err));
		/* "" is unset (the default) */
		CHECK_EQ_INT(rc, bad_chains[i][0] ? -1 : 0);
		if (bad_chains[i][0])
			CHECK(strncmp(err, "SIWE_CHAIN_IDS", 14) == 0);
	}
	setenv("SIWE_CHAIN_IDS", "9223372036854775807", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(config_siwe_chain_allowed(INT64_MAX));
	unsetenv("SIWE_CHAIN_IDS");
	setenv("SIWE_CLOCK_SKEW", "3601", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "SIWE_CLOCK_SKEW", 15) == 0);
	unsetenv("SIWE_CLOCK_SKEW");
	setenv("ENABLE_SIWE", "false", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(!cfg.enable_siwe);
	unsetenv("ENABLE_SIWE");
	/* forward-auth: Bearer tokens need this aud; machine tokens are refused */
	CHECK_EQ_STR(cfg.forward_auth_audience, "http://localhost:3000/api/verify");
	CHECK(!cfg.forward_auth_allow_machine_tokens);
	setenv("FORWARD_AUTH_AUDIENCE", "https://apps.example.com", 1);
	setenv("FORWARD_AUTH_ALLOW_MACHINE_TOKENS", "true", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.forward_auth_audience, "https://apps.example.com");
	CHECK(cfg.forward_auth_allow_machine_tokens);
	setenv("FORWARD_AUTH_AUDIENCE", "apps.example.com", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "FORWARD_AUTH_AUDIENCE", 21) == 0);
	unsetenv("FORWARD_AUTH_AUDIENCE");
	setenv("FORWARD_AUTH_ALLOW_MACHINE_TOKENS", "maybe", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "FORWARD_AUTH_ALLOW_MACHINE_TOKENS", 33) == 0);
	unsetenv("FORWARD_AUTH_ALLOW_MACHINE_TOKENS");
	/* second factors: the issuer apps show defaults to AUTH_URL's host */
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.totp_issuer, "localhost");
	CHECK(cfg.forward_auth_amr_header);
	CHECK(!cfg.forward_auth_require_mfa);
	setenv("TOTP_ISSUER", "Example Corp", 1);
	setenv("FORWARD_AUTH_AMR_HEADER", "false", 1);
	setenv("FORWARD_AUTH_REQUIRE_MFA", "true", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.totp_issuer, "Example Corp");
	CHECK(!cfg.forward_auth_amr_header);
	CHECK(cfg.forward_auth_require_mfa);
	setenv("TOTP_ISSUER", "Example:Corp", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "TOTP_ISSUER", 11) == 0);
	setenv("TOTP_ISSUER", "Example", 1);
	setenv("FORWARD_AUTH_REQUIRE_MFA", "sometimes", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "FORWARD_AUTH_REQUIRE_MFA", 24) == 0);
	unsetenv("TOTP_ISSUER");
	unsetenv("FORWARD_AUTH_AMR_HEADER");
	unsetenv("FORWARD_AUTH_REQUIRE_MFA");
	setenv("HTTP_REQUEST_TIMEOUT", "0", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "HTTP_REQUEST_TIMEOUT", 20) == 0);
	setenv("HTTP_REQUEST_TIMEOUT", "3", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.http_request_timeout_s, 3);
	unsetenv("HTTP_REQUEST_TIMEOUT");
	setenv("DB_STATEMENT_TIMEOUT_MS", "-1", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "DB_STATEMENT_TIMEOUT_MS", 23) == 0);
	unsetenv("DB_STATEMENT_TIMEOUT_MS");
	setenv("KDF_PRIORITY", "realtime", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "KDF_PRIORITY", 12) == 0);
	setenv("KDF_PRIORITY", "LOW", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(!cfg.kdf_idle);
	unsetenv("KDF_PRIORITY");
	setenv("CLIENT_AUTH_MAX_ATTEMPTS", "0", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "CLIENT_AUTH_MAX_ATTEMPTS", 24) == 0);
	setenv("CLIENT_AUTH_MAX_ATTEMPTS", "3", 1);
	setenv("CLIENT_AUTH_IP_MAX_ATTEMPTS", "many", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "CLIENT_AUTH_IP_MAX_ATTEMPTS", 27) == 0);
	setenv("CLIENT_AUTH_IP_MAX_ATTEMPTS", "7", 1);
	setenv("REVOKED_TOKEN_ENTRIES", "63", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "REVOKED_TOKEN_ENTRIES", 21) == 0);
	setenv("REVOKED_TOKEN_ENTRIES", "1000", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.client_auth_max_attempts, 3);
	CHECK_EQ_INT(cfg.client_auth_ip_max_attempts, 7);
	CHECK_EQ_INT(cfg.revoked_token_entries, 1000);
	CHECK(cfg.seccomp);	/* the actors' syscall filters are on unless turned off */

	/* Cookies lose Secure only for an exactly local host, not a prefix of one. */
	CHECK(config_is_local_http("http://localhost"));
	CHECK(config_is_local_http("http://localhost:3000"));
	CHECK(config_is_local_http("http://LocalHost/auth"));
	CHECK(config_is_local_http("http://127.0.0.1:8080/"));
	CHECK(config_is_local_http("http://[::1]:3000"));
	CHECK(!config_is_local_http("http://localhost.evil.com"));
	CHECK(!config_is_local_http("http://[::1]x"));
	CHECK(!config_is_local_http("http://[::1"));
	CHECK(!config_is_local_http("https://localhost"));
	CHECK(!config_is_local_http("http://localhost.evil.com:3000/"));
	CHECK(!config_is_local_http("http://localhostevil.com"));
	CHECK(!config_is_local_http("http://127.0.0.1.nip.io"));
	CHECK(!config_is_local_http("http://localhost@evil.com"));
	CHECK(!config_is_local_http("http://[::1].evil.com"));
	CHECK(!config_is_local_http("https://localhost"));
	CHECK(!config_is_local_http("http://example.com/localhost"));
	setenv("AUTH_URL", "http://localhost.evil.com:3000", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(!cfg.issuer_is_local_http);
	setenv("AUTH_URL", "http://127.0.0.1:3000/", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(cfg.issuer_is_local_http);
	unsetenv("AUTH_URL");

	/* RUN_USER must exist when started as root: checked once, not in every child. */
	setenv("RUN_USER", "no-such-user-dreamauth", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), geteuid() == 0 ? -1 : 0);
	if (geteuid() == 0) {
		CHECK(strncmp(err, "RUN_USER", 8) == 0);
		CHECK(strstr(err, "no-such-user-dreamauth") != NULL);
		CHECK(strchr(err, '\n') == NULL);
	}
	setenv("RUN_USER", "nobody", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	unsetenv("RUN_USER");

	/* PG_BIN (embedded mode) must hold executable postgres and initdb. */
	{
		char tmpl[] = "/tmp/da_pgbin.XXXXXX", path[64];
		const char *dir = mkdtemp(tmpl);
		FILE *f;

		CHECK(dir != NULL);
		setenv("PG_BIN", "/nonexistent/bin", 1);
		CHECK_EQ_INT(load(err, sizeof(err)), -1);
		CHECK(strncmp(err, "PG_BIN", 6) == 0 && strstr(err, "/nonexistent/bin/postgres"));
		setenv("PG_BIN", dir, 1);
		snprintf(path, sizeof(path), "%s/postgres", dir);
		if ((f = fopen(path, "w")))
			fclose(f);
		CHECK(chmod(path, 0755) == 0);
		CHECK_EQ_INT(load(err, sizeof(err)), -1);	/* initdb missing */
		CHECK(strncmp(err, "PG_BIN", 6) == 0 && strstr(err, "initdb"));
		snprintf(path, sizeof(path), "%s/initdb", dir);
		if ((f = fopen(path, "w")))
			fclose(f);
		CHECK(chmod(path, 0644) == 0);
		CHECK_EQ_INT(load(err, sizeof(err)), -1);	/* not executable */
		CHECK(chmod(path, 0755) == 0);
		CHECK_EQ_INT(load(err, sizeof(err)), 0);
		CHECK_EQ_STR(cfg.pg_bin, dir);
		/* With DATABASE_URL, PG_BIN is unused and not checked. */
		setenv("PG_BIN", "/nonexistent/bin", 1);
		setenv("DATABASE_URL", "postgres://u@db/x", 1);
		setenv("AUTH_SECRET", secret, 1);
		CHECK_EQ_INT(load(err, sizeof(err)), 0);
		unsetenv("DATABASE_URL");
		unsetenv("AUTH_SECRET");
		unsetenv("PG_BIN");
		unlink(path);
		snprintf(path, sizeof(path), "%s/postgres", dir);
		unlink(path);
		rmdir(dir);
	}

	/* external database needs a secret */
	setenv("DATABASE_URL", "postgres://u@db/x", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "AUTH_SECRET", 11) == 0);
	/* alias, and a short secret is named but not echoed */
	setenv("BETTER_AUTH_SECRET", "short", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strstr(err, "AUTH_SECRET") != NULL);
	CHECK(strstr(err, "short") == NULL);
	setenv("BETTER_AUTH_SECRET", secret, 1);
	setenv("BETTER_AUTH_URL", "https://auth.example.com/", 1);
	setenv("BETTER_AUTH_AUTO_MIGRATE", "true", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.issuer, "https://auth.example.com");
	CHECK(!cfg.issuer_is_local_http);
	CHECK(cfg.auto_migrate);
	CHECK(!cfg.embedded_pg);

	setenv("WORKERS", "0", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "WORKERS", 7) == 0);
	setenv("WORKERS", "2x", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	setenv("WORKERS", "3", 1);
	setenv("LISTEN", "127.0.0.1:99999", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "LISTEN", 6) == 0);
	setenv("LISTEN", "127.0.0.1:8080,[::1]:8080", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.n_listen, 2);
	CHECK_EQ_INT(cfg.workers, 3);
	setenv("ENABLE_REGISTRATION", "perhaps", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "ENABLE_REGISTRATION", 19) == 0);
	setenv("ENABLE_REGISTRATION", "yes", 1);
	setenv("SECCOMP", "sometimes", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "SECCOMP", 7) == 0);
	setenv("SECCOMP", "false", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(!cfg.seccomp);
	setenv("SECCOMP", "on", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(cfg.seccomp);
	setenv("COOKIE_DOMAIN", ".example.com; Secure", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "COOKIE_DOMAIN", 13) == 0);
	setenv("COOKIE_DOMAIN", ".example.com", 1);
	setenv("SIGNING_ALG", "HS256", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	setenv("SIGNING_ALG", "ES256", 1);
	setenv("AUTH_URL", "javascript:alert(1)", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "AUTH_URL", 8) == 0);
	unsetenv("AUTH_URL");
	setenv("DATABASE_URL", "mysql://x", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "DATABASE_URL", 12) == 0);
	setenv("DATABASE_URL", "postgresql://u@db/x", 1);
	setenv("ADMIN_EMAILS", " Root@Example.com , ops@example.com", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(cfg.enable_registration);
	CHECK(config_is_admin_email("root@example.com"));
	CHECK(config_is_admin_email("OPS@example.com"));
	CHECK(!config_is_admin_email("root@example.co"));
	CHECK(!config_is_admin_email("oot@example.com"));
	config_free();
	return CHECK_DONE();
}
