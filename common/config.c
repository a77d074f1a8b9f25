/*
 * Environment → struct config. Dream Auth's variable names and aliases; one
 * error line naming the variable on a bad value. Values of secrets are never
 * echoed back in errors.
 */
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/redirect.h"
#include "proto/token_request.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct config cfg;

/* The variable the last env_first value came from (name or its alias), so
 * an error names what the operator actually set. */
static const char *env_source;

static const char *env_first(const char *name, const char *alias)
{
	config_note_read(name);
	if (alias)
		config_note_read(alias);
	const char *v = getenv(name);
	env_source = name;
	if ((!v || !*v) && alias) {
		v = getenv(alias);
		env_source = alias;
	}
	return (v && *v) ? v : NULL;
}

int config_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_bool(const char *name, const char *alias, bool def, bool *out, char *err, size_t errlen)
{
	const char *v = env_first(name, alias);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
		*out = false;
	else
		return config_error(err, errlen, "%s: expected true or false, got \"%s\"", env_source, v);
	return 0;
}

static int parse_int_alias(const char *name, const char *alias, long def, long min, long max, long *out, char *err,
    size_t errlen)
{
	const char *v = env_first(name, alias);
	char *end;
	long n;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < min || n > max)
		return config_error(err, errlen, "%s: expected an integer in [%ld, %ld], got \"%s\"", env_source, min, max, v);
	*out = n;
	return 0;
}

static int parse_int(const char *name, long def, long min, long max, long *out, char *err, size_t errlen)
{
	return parse_int_alias(name, NULL, def, min, max, out, err, errlen);
}

const char *config_env(const char *name)
{
	return env_first(name, NULL);
}

int config_bool(const char *name, bool def, bool *out, char *err, size_t errlen)
{
	return parse_bool(name, NULL, def, out, err, errlen);
}

int config_int(const char *name, long def, long min, long max, long *out, char *err, size_t errlen)
{
	return parse_int(name, def, min, max, out, err, errlen);
}

static char *dup_or_null(const char *v)
{
	return v ? strdup(v) : NULL;
}

static int parse_listen(char *err, size_t errlen)
{
	const char *v = env_first("LISTEN", NULL);
	char *copy, *save = NULL, buf[64];

	if (!v) {
		/* PORT and HOST: the names Dream Auth's and circle-rd's images use. */
		const char *port = env_first("PORT", NULL), *host = env_first("HOST", NULL);
		bool v6 = host && strchr(host, ':') && host[0] != '[';
		snprintf(buf, sizeof(buf), "%s%s%s:%s", v6 ? "[" : "", host ? host : "0.0.0.0", v6 ? "]" : "",
		    port ? port : "3000");
		v = buf;
	}
	copy = strdup(v);
	cfg.n_listen = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');
		char *end;
		long port;
		while (*tok == ' ')
			tok++;
		if (!colon || colon == tok || cfg.n_listen >= CONFIG_MAX_LISTEN) {
			config_error(err, errlen, "LISTEN: expected host:port[,host:port] (at most %d), got \"%s\"",
			    CONFIG_MAX_LISTEN, v);
			free(copy);
			return -1;
		}
		port = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || port < 0 || port > 65535) {
			config_error(err, errlen, "LISTEN: bad port in \"%s\"", tok);
			free(copy);
			return -1;
		}
		cfg.listen[cfg.n_listen++] = strdup(tok);
	}
	free(copy);
	if (cfg.n_listen == 0)
		return config_error(err, errlen, "LISTEN: no address given");
	return 0;
}

bool config_is_local_http(const char *url)
{
	if (strncasecmp(url, "http://", 7) != 0)
		return false;
	url += 7;
	/* The whole host, not a prefix: http://localhost.evil.com is not local. */
	const char *bracket = url[0] == '[' ? strchr(url, ']') : NULL;	/* an IPv6 literal */
	size_t n = bracket ? (size_t)(bracket - url) + 1 : strcspn(url, ":/");
	return (url[n] == ':' || url[n] == '/' || url[n] == '\0') && host_is_loopback(url, n);
}

static int parse_issuer(char *err, size_t errlen)
{
	const char *v = env_first("AUTH_URL", "BETTER_AUTH_URL");
	char buf[256];
	size_t len;

	if (!v) {
		/* The issuer is what clients see; default to the first listen port on localhost. */
		const char *colon = strrchr(cfg.listen[0], ':');
		snprintf(buf, sizeof(buf), "http://localhost:%s", colon + 1);
		v = buf;
	}
	const char *source = env_source;
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return config_error(err, errlen, "%s: must start with https:// (or http:// for localhost), got \"%s\"", source,
		    v);
	if (strchr(v, '?') || strchr(v, '#') || strchr(v, ' '))
		return config_error(err, errlen, "%s: must not contain a query, fragment or space", source);
	cfg.issuer = strdup(v);
	len = strlen(cfg.issuer);
	while (len > 8 && cfg.issuer[len - 1] == '/')
		cfg.issuer[--len] = '\0';
	cfg.issuer_is_local_http = config_is_local_http(cfg.issuer);
	if (!strncmp(cfg.issuer, "http://", 7) && !cfg.issuer_is_local_http)
		log_warnx("AUTH_URL is plain http on a non-local host: cookies are still marked Secure, browsers will drop them");
	return 0;
}

/* SIWE messages name the site they are for by its origin (URI) and authority
 * (domain): AUTH_URL's, without its path. Scheme and host are compared
 * without regard to case, so they are kept lower-cased. */
static int derive_siwe_origin(char *err, size_t errlen)
{
	const char *authority = strstr(cfg.issuer, "://") + 3;
	size_t len = (size_t)(authority - cfg.issuer) + strcspn(authority, "/");

	cfg.siwe_origin = strndup(cfg.issuer, len);
	if (!cfg.siwe_origin)
		return config_error(err, errlen, "out of memory");
	for (char *p = cfg.siwe_origin; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cfg.siwe_domain = strstr(cfg.siwe_origin, "://") + 3;
	if (!*cfg.siwe_domain || strchr(cfg.siwe_domain, '@'))
		return config_error(err, errlen, "AUTH_URL: no host, or a user name in it");
	return 0;
}

/* SIWE_CHAIN_IDS: comma-separated decimal EIP-155 chain IDs (1 Ethereum
 * mainnet, 10 OP Mainnet, 8453 Base, 11155111 Sepolia, ...). */
static int parse_siwe_chain_ids(char *err, size_t errlen)
{
	const char *text = env_first("SIWE_CHAIN_IDS", NULL);
	const char *p = text ? text : "1";

	cfg.n_siwe_chain_ids = 0;
	for (;;) {
		char *end;
		while (*p == ' ')
			p++;
		errno = 0;
		unsigned long long id = strtoull(p, &end, 10);
		bool digits = end != p && *p >= '0' && *p <= '9';
		while (*end == ' ')
			end++;
		if (!digits || errno || id == 0 || id > INT64_MAX || (*end && *end != ',') ||
		    cfg.n_siwe_chain_ids == CONFIG_MAX_SIWE_CHAINS)
			return config_error(err, errlen,
			    "SIWE_CHAIN_IDS: expected up to %d comma-separated chain IDs (1 to 2^63-1), got \"%s\"",
			    CONFIG_MAX_SIWE_CHAINS, text ? text : "1");
		cfg.siwe_chain_ids[cfg.n_siwe_chain_ids++] = id;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

bool config_siwe_chain_allowed(uint64_t chain_id)
{
	for (int i = 0; i < cfg.n_siwe_chain_ids; i++)
		if (cfg.siwe_chain_ids[i] == chain_id)
			return true;
	return false;
}

/* Bearer tokens at /api/verify must name this audience (an RFC 8707
 * resource the token endpoint puts in aud): a token a relying party got for
 * itself must not open every app behind forward-auth. */
static int parse_forward_auth(char *err, size_t errlen)
{
	const char *v = env_first("FORWARD_AUTH_AUDIENCE", NULL);
	char buf[300];

	if (!v) {
		snprintf(buf, sizeof(buf), "%s/api/verify", cfg.issuer);
		v = buf;
	}
	if (!resource_indicator_valid(v))
		return config_error(err, errlen, "FORWARD_AUTH_AUDIENCE: expected an absolute URI without a fragment, "
		    "such as https://apps.example.com");
	cfg.forward_auth_audience = strdup(v);
	return parse_bool("FORWARD_AUTH_ALLOW_MACHINE_TOKENS", NULL, false, &cfg.forward_auth_allow_machine_tokens, err,
	    errlen);
}

/* The embedded cluster execs PG_BIN/initdb (first start) and PG_BIN/postgres
 * (every start and restart); a bad directory would otherwise show up as a
 * postgres child restarted in a loop. */
static int check_pg_bin(const char *dir, char *err, size_t errlen)
{
	static const char *const programs[] = { "postgres", "initdb" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, programs[i]) >= sizeof(path))
			return config_error(err, errlen, "PG_BIN: path too long");
		if (access(path, X_OK) != 0)
			return config_error(err, errlen, "PG_BIN: %s is not executable (%s); expected PostgreSQL's bin directory",
			    path, strerror(errno));
	}
	return 0;
}

static char *lowercase_list(const char *v)
{
	char *out = strdup(v ? v : "");
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static int parse_log_level(char *err, size_t errlen)
{
	const char *v = env_first("LOG_LEVEL", NULL);
	if (!v || !strcasecmp(v, "info"))
		cfg.log_level = LOG_LEVEL_INFO;
	else if (!strcasecmp(v, "debug"))
		cfg.log_level = LOG_LEVEL_DEBUG;
	else if (!strcasecmp(v, "warn"))
		cfg.log_level = LOG_LEVEL_WARN;
	else if (!strcasecmp(v, "error"))
		cfg.log_level = LOG_LEVEL_ERROR;
	else
		return config_error(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", v);
	return 0;
}

void config_free(void)
{
	char **strings[] = { &cfg.data_dir, &cfg.database_url, &cfg.pg_bin, &cfg.migration_lock_key, &cfg.auth_secret,
		&cfg.issuer, &cfg.cookie_domain, &cfg.cookie_name, &cfg.oidc_clients, &cfg.oidc_clients_file,
		&cfg.admin_emails, &cfg.signing_alg, &cfg.run_user, &cfg.service_user, &cfg.forward_auth_audience,
		&cfg.siwe_origin };
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	for (int i = 0; i < cfg.n_listen; i++)
		free(cfg.listen[i]);
	config_free_passkeys();
	config_free_cors();
	config_free_mail();
	config_free_two_factor();
	config_free_observe();
	memset(&cfg, 0, sizeof(cfg));
}

/* SERVICE_USER: the store and the signer (database credentials, private
 * keys) run under it, apart from RUN_USER's HTTP workers. A name, or
 * "uid:gid". Unset: the user "dreamauth" if it exists (scripts/install-deps.sh
 * creates it), else uid/gid 61000, which no file of ours belongs to. */
static int parse_service_user(char *err, size_t errlen)
{
	const char *v = env_first("SERVICE_USER", NULL);
	unsigned uid, gid;
	char tail;

	if (!v)
		v = getpwnam("dreamauth") ? "dreamauth" : "61000:61000";
	cfg.service_user = strdup(v);
	if (!cfg.service_user)
		return config_error(err, errlen, "out of memory");
	if (sscanf(v, "%u:%u%c", &uid, &gid, &tail) == 2)
		return uid == 0 || gid == 0 ? config_error(err, errlen, "SERVICE_USER: must not be root") : 0;
	if (geteuid() == 0 && !getpwnam(v))
		return config_error(err, errlen, "SERVICE_USER: no such user \"%s\"", v);
	if (geteuid() == 0 && strcmp(v, cfg.run_user) == 0)
		return config_error(err, errlen, "SERVICE_USER: must differ from RUN_USER (\"%s\")", v);
	return 0;
}

int config_load(char *err, size_t errlen)
{
	long n, cores = sysconf(_SC_NPROCESSORS_ONLN);
	const char *v;

	if (cores < 1)
		cores = 1;
	if (parse_log_level(err, errlen) || parse_listen(err, errlen))
		return -1;
	if (parse_int("WORKERS", cores, 1, 64, &n, err, errlen))
		return -1;
	cfg.workers = (int)n;
	if (parse_int("KDF_THREADS", cores, 1, 64, &n, err, errlen))
		return -1;
	cfg.kdf_threads = (int)n;
	if (parse_int("DB_STATEMENT_TIMEOUT_MS", 5000, 0, 3600000, &n, err, errlen))
		return -1;
	cfg.db_statement_timeout_ms = (int)n;
	if (parse_int("DB_POOL_SIZE", 4, 1, 64, &n, err, errlen))
		return -1;
	cfg.db_pool_size = (int)n;
	if (parse_int("DB_QUEUE_SIZE", 1024, 1, 1000000, &n, err, errlen))
		return -1;
	cfg.db_queue_size = (int)n;
	if (parse_int("REVOCATION_LISTENER_GRACE", 60, 0, 86400, &n, err, errlen))
		return -1;
	cfg.revocation_listener_grace = (int)n;
	if (parse_int("HTTP_REQUEST_TIMEOUT", 20, 1, 600, &n, err, errlen))
		return -1;
	cfg.http_request_timeout_s = (int)n;
	v = env_first("KDF_PRIORITY", NULL);
	if (!v || !strcasecmp(v, "idle"))
		cfg.kdf_idle = true;
	else if (!strcasecmp(v, "low"))
		cfg.kdf_idle = false;
	else
		return config_error(err, errlen, "KDF_PRIORITY: expected idle or low, got \"%s\"", v);

	/* As root the embedded cluster runs as postgres, which must be able to reach
	 * the data directory: /var/lib is the place for that, not a home directory. */
	v = env_first("DATA_DIR", NULL);
	cfg.data_dir = strdup(v ? v : geteuid() == 0 ? "/var/lib/dreamauth" : "./data");
	cfg.database_url = dup_or_null(env_first("DATABASE_URL", NULL));
	cfg.embedded_pg = cfg.database_url == NULL;
	if (cfg.database_url && strncmp(cfg.database_url, "postgres://", 11) && strncmp(cfg.database_url, "postgresql://", 13))
		return config_error(err, errlen, "DATABASE_URL: expected a postgres:// or postgresql:// URL");
	cfg.pg_bin = dup_or_null(env_first("PG_BIN", NULL));
	if (cfg.embedded_pg && cfg.pg_bin && check_pg_bin(cfg.pg_bin, err, errlen) < 0)
		return -1;
	/* The embedded database is ours to manage: migrate it by default. */
	if (parse_bool("AUTO_MIGRATE", "BETTER_AUTH_AUTO_MIGRATE", cfg.embedded_pg, &cfg.auto_migrate, err, errlen))
		return -1;
	v = env_first("MIGRATION_LOCK_KEY", "BETTER_AUTH_MIGRATION_LOCK_KEY");
	cfg.migration_lock_key = strdup(v ? v : "dreamauth:migrations");
	if (parse_int_alias("MIGRATION_LOCK_TIMEOUT_MS", "BETTER_AUTH_MIGRATION_LOCK_TIMEOUT_MS", 600000, 1000, 3600000, &n,
	        err, errlen))
		return -1;
	cfg.migration_lock_timeout_ms = (int)n;

	v = env_first("AUTH_SECRET", "BETTER_AUTH_SECRET");
	if (v && strlen(v) < 32)
		return config_error(err, errlen, "%s: must be at least 32 characters (it is %zu)", env_source, strlen(v));
	cfg.auth_secret = dup_or_null(v);	/* NULL: embedded mode generates one, see master */
	if (!cfg.auth_secret && !cfg.embedded_pg)
		return config_error(err, errlen, "AUTH_SECRET: required when DATABASE_URL is set (at least 32 random characters)");
	if (parse_issuer(err, errlen) || parse_forward_auth(err, errlen))
		return -1;
	cfg.cookie_domain = dup_or_null(env_first("COOKIE_DOMAIN", NULL));
	if (cfg.cookie_domain && strpbrk(cfg.cookie_domain, ";, \t\"="))
		return config_error(err, errlen, "COOKIE_DOMAIN: not a domain: \"%s\"", cfg.cookie_domain);
	v = env_first("SESSION_COOKIE_NAME", NULL);
	cfg.cookie_name = strdup(v ? v : "dreamauth_session");
	if (strpbrk(cfg.cookie_name, ";, \t\"=()<>@:\\/[]?{}"))
		return config_error(err, errlen, "SESSION_COOKIE_NAME: not a cookie token");

	if (parse_bool("ENABLE_REGISTRATION", NULL, false, &cfg.enable_registration, err, errlen) ||
	    parse_bool("ENABLE_PASSKEYS", NULL, true, &cfg.enable_passkeys, err, errlen) ||
	    parse_bool("ENABLE_SIWE", NULL, true, &cfg.enable_siwe, err, errlen) ||
	    parse_bool("ENABLE_OIDC_PROVIDER", NULL, false, &cfg.enable_oidc_provider, err, errlen) ||
	    parse_bool("OIDC_REQUIRE_PKCE", NULL, true, &cfg.oidc_require_pkce, err, errlen) ||
	    parse_bool("TRUST_PROXY", NULL, false, &cfg.trust_proxy, err, errlen) ||
	    parse_bool("SECCOMP", NULL, true, &cfg.seccomp, err, errlen))
		return -1;
	if (config_load_passkeys(err, errlen) || config_load_cors(err, errlen) || config_load_two_factor(err, errlen) ||
	    config_load_observe(err, errlen))
		return -1;
	if (derive_siwe_origin(err, errlen) || parse_siwe_chain_ids(err, errlen))
		return -1;
	if (parse_int("SIWE_CLOCK_SKEW", 60, 0, 3600, &n, err, errlen))
		return -1;
	cfg.siwe_clock_skew = (int)n;
	if (parse_int("OIDC_CODE_TTL", 60, 1, 600, &n, err, errlen))
		return -1;
	cfg.oidc_code_ttl = (int)n;
	if (parse_int("OIDC_ACCESS_TOKEN_TTL", 3600, 60, 86400, &n, err, errlen))
		return -1;
	cfg.oidc_access_token_ttl = (int)n;
	cfg.oidc_clients = dup_or_null(env_first("OIDC_CLIENTS", NULL));
	cfg.oidc_clients_file = dup_or_null(env_first("OIDC_CLIENTS_FILE", NULL));
	v = env_first("ADMIN_EMAILS", NULL);
	{
		/* circle-rd's ADMIN_EMAIL (one superadmin) joins the list. */
		const char *one = env_first("ADMIN_EMAIL", NULL);
		char *both = NULL;
		if (one && asprintf(&both, "%s%s%s", v ? v : "", v ? "," : "", one) < 0)
			return config_error(err, errlen, "out of memory");
		cfg.admin_emails = lowercase_list(both ? both : v);
		free(both);
	}
	if (config_load_mail(err, errlen))
		return -1;
	/* ADMIN_EMAILS is granted when an address is verified (by its link or
	 * an emailed code), never at sign-up: without SMTP nobody verifies. */
	if (cfg.admin_emails && *cfg.admin_emails && !cfg.smtp_host)
		log_warnx("ADMIN_EMAILS is set but SMTP_HOST is not: an address becomes admin only once verified, "
		    "which needs email; create admins with `dreamauth user add --admin`");
	v = env_first("SIGNING_ALG", NULL);
	cfg.signing_alg = strdup(v ? v : "RS256");
	if (strcmp(cfg.signing_alg, "RS256") && strcmp(cfg.signing_alg, "ES256") && strcmp(cfg.signing_alg, "EdDSA"))
		return config_error(err, errlen, "SIGNING_ALG: expected RS256, ES256 or EdDSA, got \"%s\"", cfg.signing_alg);

	/* Minimums of 2 s exist for tests of expiry; production values are days. */
	if (parse_int("SESSION_IDLE_TTL", 7 * 86400, 2, 365L * 86400, &n, err, errlen))
		return -1;
	cfg.session_idle_ttl = (int)n;
	if (parse_int("SESSION_ABSOLUTE_TTL", 30 * 86400, 2, 3650L * 86400, &n, err, errlen))
		return -1;
	cfg.session_absolute_ttl = (int)n;
	if (parse_int("ARGON2_MEMORY_KIB", 19456, 8, 4 * 1024 * 1024, &n, err, errlen))
		return -1;
	cfg.argon2_m_kib = (uint32_t)n;
	if (parse_int("ARGON2_ITERATIONS", 2, 1, 100, &n, err, errlen))
		return -1;
	cfg.argon2_t = (uint32_t)n;
	if (parse_int("ARGON2_PARALLELISM", 1, 1, 16, &n, err, errlen))
		return -1;
	cfg.argon2_p = (uint32_t)n;
	if (parse_int("LOGIN_MAX_ATTEMPTS", 10, 1, 100000, &n, err, errlen))
		return -1;
	cfg.login_max_attempts = (int)n;
	if (parse_int("LOGIN_IP_MAX_ATTEMPTS", 50, 1, 1000000, &n, err, errlen))
		return -1;
	cfg.login_ip_max_attempts = (int)n;
	if (parse_int("LOGIN_WINDOW", 900, 1, 86400, &n, err, errlen))
		return -1;
	cfg.login_window = (int)n;
	if (parse_int("CLIENT_AUTH_MAX_ATTEMPTS", 10, 1, 100000, &n, err, errlen))
		return -1;
	cfg.client_auth_max_attempts = (int)n;
	if (parse_int("CLIENT_AUTH_IP_MAX_ATTEMPTS", 50, 1, 1000000, &n, err, errlen))
		return -1;
	cfg.client_auth_ip_max_attempts = (int)n;
	if (parse_int("SESSION_CACHE_ENTRIES", 65536, 64, 1L << 24, &n, err, errlen))
		return -1;
	cfg.cache_entries = (size_t)n;
	if (parse_int("REVOKED_TOKEN_ENTRIES", 16384, 64, 1L << 24, &n, err, errlen))
		return -1;
	cfg.revoked_token_entries = (size_t)n;
	v = env_first("RUN_USER", NULL);
	cfg.run_user = strdup(v ? v : "nobody");
	/* Checked here, once: each child would otherwise fail its privdrop and
	 * be restarted forever. */
	if (geteuid() == 0 && !getpwnam(cfg.run_user))
		return config_error(err, errlen, "RUN_USER: no such user \"%s\" (children drop to it when started as root)",
		    cfg.run_user);
	return parse_service_user(err, errlen);
}

static const char *const secret_variables[] = { "AUTH_SECRET", "BETTER_AUTH_SECRET", "DATABASE_URL", "SMTP_PASS",
	"ADMIN_PASSWORD", "METRICS_TOKEN", NULL };

void config_wipe_secret_values(char **env)
{
	for (; env && *env; env++)
		for (int i = 0; secret_variables[i]; i++) {
			size_t n = strlen(secret_variables[i]);
			if (!strncmp(*env, secret_variables[i], n) && (*env)[n] == '=')
				secure_wipe(*env + n + 1, strlen(*env + n + 1));
		}
}

void config_scrub_environment(void)
{
	extern char **environ;
	config_wipe_secret_values(environ);
	for (int i = 0; secret_variables[i]; i++)
		unsetenv(secret_variables[i]);
}

static void wipe_string(char *s)
{
	if (s)
		secure_wipe(s, strlen(s));
}

void config_forget_auth_secret(void)
{
	wipe_string(cfg.auth_secret);
}

void config_forget_database_url(void)
{
	wipe_string(cfg.database_url);
}

bool config_is_admin_email(const char *email)
{
	size_t len = strlen(email);
	const char *p = cfg.admin_emails;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n == len && strncasecmp(p, email, len) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}
