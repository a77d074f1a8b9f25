/*
 * Configuration from the environment (Dream Auth's names and aliases).
 * Parsed once in the master (or CLI) and inherited by every child through fork;
 * never re-read (SIGHUP reloads only OIDC_CLIENTS_FILE, in the workers).
 */
#ifndef DREAMAUTH_CONFIG_H
#define DREAMAUTH_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/cidr.h"

#define CONFIG_MAX_LISTEN 4
#define CONFIG_MAX_PASSKEY_ORIGINS 16
#define CONFIG_MAX_SIWE_CHAINS 32

struct config {
	/* network */
	char *listen[CONFIG_MAX_LISTEN];	/* "host:port" strings, LISTEN (comma separated) */
	int n_listen;
	int workers;			/* WORKERS, default = cores */
	int kdf_threads;		/* KDF_THREADS, default = cores */
	int db_pool_size;		/* DB_POOL_SIZE: the store's connections, default 4 */
	int db_queue_size;		/* DB_QUEUE_SIZE: requests the store queues before answering busy (1024) */
	int revocation_listener_grace;	/* REVOCATION_LISTENER_GRACE: seconds cached sessions stay trusted
					 * while the revocation listener is down (default 60; 0 = none) */
	int db_statement_timeout_ms;	/* DB_STATEMENT_TIMEOUT_MS, default 5000; 0 = none */
	int http_request_timeout_s;	/* HTTP_REQUEST_TIMEOUT: head within it of its first byte, body again */
	bool kdf_idle;			/* KDF_PRIORITY: idle (default, SCHED_IDLE) or low (nice 10) */

	/* storage */
	char *data_dir;			/* DATA_DIR, default ./data */
	char *database_url;		/* DATABASE_URL; NULL = embedded PostgreSQL */
	bool embedded_pg;
	char *pg_bin;			/* PG_BIN, default: newest /usr/lib/postgresql/N/bin */
	bool auto_migrate;		/* AUTO_MIGRATE | BETTER_AUTH_AUTO_MIGRATE */
	char *migration_lock_key;	/* MIGRATION_LOCK_KEY */
	int migration_lock_timeout_ms;	/* MIGRATION_LOCK_TIMEOUT_MS */

	/* identity */
	char *auth_secret;		/* AUTH_SECRET | BETTER_AUTH_SECRET (>= 32 chars) */
	char *issuer;			/* AUTH_URL | BETTER_AUTH_URL, no trailing slash */
	bool issuer_is_local_http;	/* http://localhost or 127.0.0.1: cookies without Secure */
	char *cookie_domain;		/* COOKIE_DOMAIN, may be NULL */
	char *cookie_name;		/* SESSION_COOKIE_NAME, default dreamauth_session */

	/* features */
	bool enable_registration;
	bool enable_passkeys;
	/* passkeys (common/config_passkeys.c) */
	char *passkey_rp_id;		/* PASSKEY_RP_ID, default AUTH_URL's host */
	char *passkey_origins[CONFIG_MAX_PASSKEY_ORIGINS];	/* AUTH_URL's origin, then PASSKEY_ORIGINS */
	int n_passkey_origins;
	int passkey_user_verification;	/* PASSKEY_USER_VERIFICATION: CONFIG_UV_* (default preferred) */
	bool passkey_attestation_direct;	/* PASSKEY_ATTESTATION: none (false, default) | direct */
	bool passkey_attestation_require_trusted;	/* PASSKEY_ATTESTATION_REQUIRE_TRUSTED */
	char *passkey_trust_anchors_pem;	/* PASSKEY_TRUST_ANCHORS_FILE's text, read at start */
	bool enable_siwe;
	/* second factors (common/config_two_factor.c) */
	char *totp_issuer;		/* TOTP_ISSUER: the name authenticator apps show; default AUTH_URL's host */
	bool forward_auth_amr_header;	/* FORWARD_AUTH_AMR_HEADER: /api/verify sends X-Auth-AMR (default true) */
	bool forward_auth_require_mfa;	/* FORWARD_AUTH_REQUIRE_MFA: /api/verify refuses sessions without mfa */
	/* Sign-In With Ethereum: what a message must say to be ours */
	uint64_t siwe_chain_ids[CONFIG_MAX_SIWE_CHAINS];	/* SIWE_CHAIN_IDS, default "1" */
	int n_siwe_chain_ids;
	int siwe_clock_skew;		/* SIWE_CLOCK_SKEW seconds, default 60 */
	char *siwe_origin;		/* AUTH_URL's origin, lower-cased: scheme://host[:port] (the URI) */
	const char *siwe_domain;	/* inside siwe_origin: host[:port] (the domain) */
	bool enable_oidc_provider;
	char *oidc_clients;		/* JSON text or NULL */
	char *oidc_clients_file;
	bool oidc_require_pkce;
	int oidc_code_ttl;		/* OIDC_CODE_TTL seconds, default 60 */
	int oidc_access_token_ttl;	/* OIDC_ACCESS_TOKEN_TTL seconds (access and ID tokens), default 3600 */
	char *admin_emails;		/* comma separated, lower-cased */
	char *signing_alg;		/* SIGNING_ALG: RS256 (default) | ES256 | EdDSA */
	char *forward_auth_audience;	/* FORWARD_AUTH_AUDIENCE: the aud a Bearer token needs at /api/verify */
	bool forward_auth_allow_machine_tokens;	/* FORWARD_AUTH_ALLOW_MACHINE_TOKENS: client_credentials tokens too */

	/* sessions and passwords */
	int session_idle_ttl;		/* SESSION_IDLE_TTL seconds, default 7 days */
	int session_absolute_ttl;	/* SESSION_ABSOLUTE_TTL seconds, default 30 days */
	uint32_t argon2_m_kib;		/* ARGON2_MEMORY_KIB, default 19456 */
	uint32_t argon2_t;		/* ARGON2_ITERATIONS, default 2 */
	uint32_t argon2_p;		/* ARGON2_PARALLELISM, default 1 */
	int login_max_attempts;		/* LOGIN_MAX_ATTEMPTS per account per window, default 10 */
	int login_ip_max_attempts;	/* LOGIN_IP_MAX_ATTEMPTS per IP per window, default 50 */
	int login_window;		/* LOGIN_WINDOW seconds, default 900 */
	int client_auth_max_attempts;	/* CLIENT_AUTH_MAX_ATTEMPTS per OAuth client per LOGIN_WINDOW, default 10 */
	int client_auth_ip_max_attempts;	/* CLIENT_AUTH_IP_MAX_ATTEMPTS per IP per LOGIN_WINDOW, default 50 */

	/* email (common/config_mail.c); smtp_host NULL: no email */
	char *smtp_host;		/* SMTP_HOST */
	int smtp_port;			/* SMTP_PORT */
	char *smtp_user;		/* SMTP_USER */
	char *smtp_pass;		/* SMTP_PASS: wiped in every child but the mailer */
	char *smtp_from;		/* SMTP_FROM: "Name <addr>" or "addr" */
	int smtp_tls;			/* SMTP_TLS: CONFIG_SMTP_* */
	char *smtp_ca_file;		/* SMTP_CA_FILE */
	int smtp_timeout;		/* SMTP_TIMEOUT seconds per delivery (30) */
	int smtp_max_attempts;		/* SMTP_MAX_ATTEMPTS (10) */
	int smtp_retry_base;		/* SMTP_RETRY_BASE seconds, doubling (30) */
	int smtp_poll_interval;		/* SMTP_POLL_INTERVAL seconds (5) */
	char *app_name;			/* APP_NAME, default AUTH_URL's host */
	bool require_email_verification;	/* REQUIRE_EMAIL_VERIFICATION */
	int email_verification_ttl;	/* EMAIL_VERIFICATION_TTL seconds (86400) */
	int password_reset_ttl;		/* PASSWORD_RESET_TTL seconds (3600) */
	int email_otp_ttl;		/* EMAIL_OTP_TTL seconds (300) */
	int email_otp_max_attempts;	/* EMAIL_OTP_MAX_ATTEMPTS (3) */
	int email_max_per_address;	/* EMAIL_MAX_PER_ADDRESS per LOGIN_WINDOW (5) */
	int email_ip_max;		/* EMAIL_IP_MAX per LOGIN_WINDOW (20) */

	/* runtime */
	size_t cache_entries;		/* SESSION_CACHE_ENTRIES, default 65536 */
	size_t revoked_token_entries;	/* REVOKED_TOKEN_ENTRIES, default 16384 */
	char *service_user;		/* SERVICE_USER: the store and signer (see config.c) */
	char *run_user;			/* RUN_USER: when root, children drop to it (default nobody) */
	bool seccomp;			/* SECCOMP: syscall allowlists for the signer and kdf (default true) */
	bool trust_proxy;		/* TRUST_PROXY: take client IP from X-Forwarded-For */
	/* CORS (common/config_cors.c) */
	char *issuer_origin;		/* AUTH_URL's origin, canonical (proto/cors_origin.h) */
	char **cors_origins;		/* CORS_ORIGINS, canonical: first-party web origins */
	int n_cors_origins;
	int log_level;			/* LOG_LEVEL debug|info|warn|error */

	/* audit log and metrics (common/config_observe.c) */
	bool audit_log_stdout;		/* AUDIT_LOG=stdout: each audit event as a JSON line on stdout */
	int audit_retention_days;	/* AUDIT_RETENTION_DAYS, default 90; 0 = keep forever */
	struct cidr_list metrics_allow;	/* METRICS_ALLOW, default 127.0.0.1/32,::1/128 */
	char *metrics_token;		/* METRICS_TOKEN (a secret), may be NULL */
};

extern struct config cfg;

/* Parse the environment into cfg. On a bad value writes one line naming the
 * variable into err and returns -1. need_secret: serve/migrate need AUTH_SECRET. */
int config_load(char *err, size_t errlen);
/* Secrets leave the processes that do not need them, copies included.
 * config_wipe_secret_values zeroes, in place, the value of every secret
 * variable (AUTH_SECRET, BETTER_AUTH_SECRET, DATABASE_URL, SMTP_PASS, ADMIN_PASSWORD) in an
 * environment array: the kernel's copy that libbsd's setproctitle_init left
 * behind as title space (proc/privdrop.c). config_scrub_environment does so
 * for the process's environment (libbsd's heap copies) and unsets them:
 * after config_load, the master keeps only cfg's copies, and every child
 * forked from it inherits no other. config_forget_auth_secret and
 * config_forget_database_url zero cfg's copies in a child that has no use
 * for them (every child: AUTH_SECRET; the kdf: DATABASE_URL too). */
void config_wipe_secret_values(char **env);
void config_scrub_environment(void);
void config_forget_auth_secret(void);
void config_forget_database_url(void);
/* Frees every string in cfg and zeroes it (tests; config_load after it). */
void config_free(void);
bool config_is_admin_email(const char *email);
/* The passkey settings (common/config_passkeys.c), from config_load once
 * AUTH_URL is known; config_free_passkeys from config_free. */
enum { CONFIG_UV_DISCOURAGED, CONFIG_UV_PREFERRED, CONFIG_UV_REQUIRED };
int config_load_passkeys(char *err, size_t errlen);
void config_free_passkeys(void);
/* The email settings (common/config_mail.c), from config_load after AUTH_URL;
 * config_free_mail from config_free. config_forget_smtp_pass zeroes cfg's
 * SMTP_PASS in every child but the mailer. */
enum { CONFIG_SMTP_STARTTLS, CONFIG_SMTP_TLS, CONFIG_SMTP_NONE };
int config_load_mail(char *err, size_t errlen);
void config_free_mail(void);
void config_forget_smtp_pass(void);
/* The second-factor settings (common/config_two_factor.c), after AUTH_URL. */
int config_load_two_factor(char *err, size_t errlen);
void config_free_two_factor(void);
/* AUDIT_LOG, AUDIT_RETENTION_DAYS, METRICS_ALLOW, METRICS_TOKEN
 * (common/config_observe.c), from config_load; freed by config_free. */
int config_load_observe(char *err, size_t errlen);
void config_free_observe(void);
/* chain_id is in SIWE_CHAIN_IDS. */
bool config_siwe_chain_allowed(uint64_t chain_id);
/* Setting names (common/config_names.c). config_load records each name it
 * looks up; config_check_names then reports, one line each, the variables
 * in env that are ignored: documented by Dream Auth or circle-rd but with no
 * meaning here, or carrying one of our prefixes without being a setting (a
 * misspelling: the closest name is suggested). Returns how many. */
void config_note_read(const char *name);
extern const char *const config_setting_names[];	/* NULL-terminated */
/* Every name recorded so far is in config_setting_names (unit test). */
bool config_name_recorded_known(void);
typedef void (*config_name_fn)(const char *line, void *arg);
int config_check_names(char **env, config_name_fn report, void *arg);
/* The readers every config_load_* file shares (common/config.c): a
 * variable's value (recorded for config_check_names; unset and empty read as
 * NULL), an error line (returns -1), a boolean (true/1/yes/on,
 * false/0/no/off) and an integer in [min, max], each error naming the
 * variable. */
const char *config_env(const char *name);
int config_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int config_bool(const char *name, bool def, bool *out, char *err, size_t errlen);
int config_int(const char *name, long def, long min, long max, long *out, char *err, size_t errlen);
/* CORS_ORIGINS and AUTH_URL's origin (common/config_cors.c), from
 * config_load once AUTH_URL is known. */
int config_load_cors(char *err, size_t errlen);
void config_free_cors(void);
/* origin (canonical) is AUTH_URL's or in CORS_ORIGINS. */
bool config_origin_first_party(const char *origin);
/* http:// URL whose host is exactly localhost, 127.0.0.1 or [::1]. */
bool config_is_local_http(const char *url);
#endif
