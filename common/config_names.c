/*
 * Which environment variables mean something (see config.h,
 * config_check_names). Every name config_load looks up is recorded as it
 * is looked up (config_note_read), so the list cannot drift from the code.
 * Names other deployments document (Dream Auth, circle-rd's auth-service)
 * that have no meaning here are named once at start with the reason, and a
 * name that looks like one of ours but is not (BETTER_AUTH_..., OIDC_...,
 * a misspelling) is named once too, with the closest real name.
 */
#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_READ 256
static const char *read_names[MAX_READ];
static size_t n_read;

void config_note_read(const char *name)
{
	for (size_t i = 0; i < n_read; i++)
		if (!strcmp(read_names[i], name))
			return;
	if (n_read < MAX_READ)
		read_names[n_read++] = name;	/* string literals: nothing to free */
}

/* Every setting config_load reads. A unit test (tests/unit/test_config_names.c)
 * loads a full configuration and fails when config_load looked up a name
 * missing here; the list is what makes a check after a failed load (which
 * stopped before reading the rest) complete. */
const char *const config_setting_names[] = {
	"ADMIN_EMAIL", "ADMIN_EMAILS", "ARGON2_ITERATIONS", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM", "AUTH_SECRET",
	"AUTH_URL", "AUTO_MIGRATE", "BETTER_AUTH_AUTO_MIGRATE", "BETTER_AUTH_MIGRATION_LOCK_KEY",
	"BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS", "BETTER_AUTH_SECRET", "BETTER_AUTH_URL",
	"CLIENT_AUTH_IP_MAX_ATTEMPTS", "CLIENT_AUTH_MAX_ATTEMPTS", "COOKIE_DOMAIN", "CORS_ORIGINS", "DATABASE_URL",
	"DATA_DIR", "DB_POOL_SIZE", "DB_QUEUE_SIZE", "DB_STATEMENT_TIMEOUT_MS", "ENABLE_OIDC_PROVIDER",
	"ENABLE_PASSKEYS", "ENABLE_REGISTRATION", "ENABLE_SIWE", "FORWARD_AUTH_ALLOW_MACHINE_TOKENS",
	"FORWARD_AUTH_AUDIENCE", "HOST", "HTTP_REQUEST_TIMEOUT", "KDF_PRIORITY", "KDF_THREADS", "LISTEN",
	"LOGIN_IP_MAX_ATTEMPTS", "LOGIN_MAX_ATTEMPTS", "LOGIN_WINDOW", "LOG_LEVEL", "MIGRATION_LOCK_KEY",
	"MIGRATION_LOCK_TIMEOUT_MS", "OIDC_ACCESS_TOKEN_TTL", "OIDC_CLIENTS", "OIDC_CLIENTS_FILE", "OIDC_CODE_TTL",
	"OIDC_REQUIRE_PKCE", "PASSKEY_ATTESTATION", "PASSKEY_ATTESTATION_REQUIRE_TRUSTED", "PASSKEY_ORIGINS",
	"PASSKEY_RP_ID", "PASSKEY_TRUST_ANCHORS_FILE", "PASSKEY_USER_VERIFICATION", "PG_BIN", "PORT",
	"REVOCATION_LISTENER_GRACE", "REVOKED_TOKEN_ENTRIES", "RUN_USER", "SECCOMP", "SERVICE_USER",
	"SESSION_ABSOLUTE_TTL", "SESSION_CACHE_ENTRIES", "SESSION_COOKIE_NAME", "SESSION_IDLE_TTL", "SIGNING_ALG",
	"SIWE_CHAIN_IDS", "SIWE_CLOCK_SKEW", "TRUST_PROXY", "WORKERS",
	"TOTP_ISSUER", "APP_NAME", "FORWARD_AUTH_AMR_HEADER", "FORWARD_AUTH_REQUIRE_MFA",
	/* mail (common/config_mail.c) */
	"SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASS", "SMTP_FROM", "SMTP_TLS", "SMTP_CA_FILE", "SMTP_MAX_ATTEMPTS",
	"SMTP_POLL_INTERVAL", "SMTP_RETRY_BASE", "SMTP_TIMEOUT", "REQUIRE_EMAIL_VERIFICATION", "EMAIL_IP_MAX",
	"EMAIL_MAX_PER_ADDRESS", "EMAIL_OTP_MAX_ATTEMPTS", "EMAIL_OTP_TTL", "EMAIL_VERIFICATION_TTL", "PASSWORD_RESET_TTL",
	/* audit and metrics (common/config_observe.c) */
	"AUDIT_LOG", "AUDIT_RETENTION_DAYS", "METRICS_ALLOW", "METRICS_TOKEN", NULL };

/* Documented by Dream Auth or circle-rd's auth-service; no meaning here. */
static const struct {
	const char *name, *why;
} ignored[] = {
	{ "POSTGRES_USER", "the database container's setting; dreamauth reads DATABASE_URL" },
	{ "POSTGRES_PASSWORD", "the database container's setting; dreamauth reads DATABASE_URL" },
	{ "POSTGRES_DB", "the database container's setting; dreamauth reads DATABASE_URL" },
	{ "POSTGRES_PORT", "the database container's setting; dreamauth reads DATABASE_URL" },
	{ "ADMIN_PASSWORD", "no account is created from the environment: `dreamauth user add --admin` (password on stdin)" },
	{ "APP_LOGO_URL", "the pages carry no logo" },
	{ "NODE_ENV", "not a Node.js program" },
	{ "BETTER_AUTH_TRUSTED_ORIGINS", "use CORS_ORIGINS (first-party web origins) and PASSKEY_ORIGINS" },
};

/* Prefixes of this project's names (and of Dream Auth's): a variable that
 * starts with one but is not ours is most likely a misspelling. */
static const char *const prefixes[] = { "BETTER_AUTH_", "DREAMAUTH_", "AUTH_", "OIDC_", "PASSKEY_", "SIWE_", "ENABLE_",
	"SESSION_", "LOGIN_", "ARGON2_", "FORWARD_AUTH_", "MIGRATION_", "DB_", "KDF_", "CORS_", "COOKIE_", "CLIENT_AUTH_",
	"REVOKED_", "REVOCATION_", "SIGNING_", "ADMIN_", "DATABASE_", "AUTO_MIGRATE", "SMTP_", "EMAIL_", "TOTP_", "AUDIT_",
	"METRICS_", NULL };

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static bool listed(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

bool config_name_recorded_known(void)
{
	for (size_t i = 0; i < n_read; i++)
		if (!listed(config_setting_names, read_names[i]))
			return false;
	return true;
}

int config_check_names(char **env, config_name_fn report, void *arg)
{
	int problems = 0;

	for (; env && *env; env++) {
		char name[128], text[400];
		size_t len = strcspn(*env, "=");
		bool ours = false;

		if (len == 0 || len >= sizeof(name))
			continue;
		memcpy(name, *env, len);
		name[len] = '\0';
		bool read = false;
		for (size_t i = 0; i < n_read; i++)
			read |= !strcmp(read_names[i], name);
		if (read || listed(config_setting_names, name))
			continue;
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			if (!strcmp(ignored[i].name, name)) {
				snprintf(text, sizeof(text), "%s is ignored: %s", name, ignored[i].why);
				report(text, arg);
				problems++;
				ours = true;
			}
		}
		for (const char *const *p = prefixes; !ours && *p; p++) {
			if (strncmp(name, *p, strlen(*p)) != 0)
				continue;
			const char *best = NULL;
			size_t best_d = 4;
			for (const char *const *k = config_setting_names; *k; k++) {
				size_t d = edit_distance(name, *k);
				if (d < best_d) {
					best_d = d;
					best = *k;
				}
			}
			if (best)
				snprintf(text, sizeof(text), "%s is not a setting (did you mean %s?): ignored", name, best);
			else
				snprintf(text, sizeof(text), "%s is not a setting: ignored", name);
			report(text, arg);
			problems++;
			ours = true;
		}
	}
	return problems;
}
