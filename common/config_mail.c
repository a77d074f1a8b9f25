/*
 * Email settings (circle-rd's names), parsed once with the rest of the
 * configuration (common/config.c calls config_load_mail after AUTH_URL and
 * ENABLE_REGISTRATION):
 *
 *   SMTP_HOST        the relay; unset: no email is sent, and the flows that
 *                    need it answer 501 email_disabled
 *   SMTP_PORT        default 587 (starttls), 465 (tls), 25 (none)
 *   SMTP_USER, SMTP_PASS   AUTH (PLAIN/LOGIN, whatever libcurl and the
 *                    server agree on); SMTP_PASS lives only in the master
 *                    (which forks) and the mailer
 *   SMTP_FROM        the From: header, "Name <addr>" or "addr"; required
 *                    with SMTP_HOST
 *   SMTP_TLS         starttls (default: STARTTLS required) | tls (SMTPS) |
 *                    none (plain text: only to a loopback relay)
 *   SMTP_CA_FILE     PEM roots to verify the relay with (default: system's)
 *   SMTP_TIMEOUT     seconds per delivery (default 30)
 *   SMTP_MAX_ATTEMPTS  deliveries tried before a message is given up (10)
 *   SMTP_RETRY_BASE  seconds before the first retry, doubling (30)
 *   SMTP_POLL_INTERVAL seconds between outbox polls (5; a NOTIFY wakes it)
 *   APP_NAME         the name in mail (default AUTH_URL's host)
 *   REQUIRE_EMAIL_VERIFICATION  password sign-in refused (403
 *                    EMAIL_NOT_VERIFIED) until the address is verified
 *   EMAIL_VERIFICATION_TTL, PASSWORD_RESET_TTL, EMAIL_OTP_TTL  seconds
 *   EMAIL_OTP_MAX_ATTEMPTS  wrong codes before a code is dead (3)
 *   EMAIL_MAX_PER_ADDRESS, EMAIL_IP_MAX  mails asked per address / per IP
 *                    per LOGIN_WINDOW (5, 20)
 */
#include "common/config.h"
#include "common/secure.h"
#include "proto/mail_message.h"
#include "proto/redirect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* config_int into an int field */
static int int_setting(const char *name, long def, long min, long max, int *out, char *err, size_t errlen)
{
	long n;
	if (config_int(name, def, min, max, &n, err, errlen) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

static int parse_smtp(char *err, size_t errlen)
{
	const char *v = config_env("SMTP_HOST");
	char addr[MAIL_ADDR_MAX + 1];

	if (!v)
		return 0;
	if (strpbrk(v, "/@?#: \t\r\n") && !(v[0] == '[' && v[strlen(v) - 1] == ']'))
		return config_error(err, errlen, "SMTP_HOST: expected a host name or address, got \"%s\"", v);
	cfg.smtp_host = strdup(v);
	v = config_env("SMTP_TLS");
	if (!v || !strcasecmp(v, "starttls"))
		cfg.smtp_tls = CONFIG_SMTP_STARTTLS;
	else if (!strcasecmp(v, "tls") || !strcasecmp(v, "smtps"))
		cfg.smtp_tls = CONFIG_SMTP_TLS;
	else if (!strcasecmp(v, "none"))
		cfg.smtp_tls = CONFIG_SMTP_NONE;
	else
		return config_error(err, errlen, "SMTP_TLS: expected starttls, tls or none, got \"%s\"", v);
	/* A password in clear text over a network is never what anyone wants. */
	if (cfg.smtp_tls == CONFIG_SMTP_NONE && !host_is_loopback(cfg.smtp_host, strlen(cfg.smtp_host)))
		return config_error(err, errlen, "SMTP_TLS: none is allowed only for a loopback SMTP_HOST");
	if (int_setting("SMTP_PORT", cfg.smtp_tls == CONFIG_SMTP_TLS ? 465 : cfg.smtp_tls == CONFIG_SMTP_NONE ? 25 : 587,
	        1, 65535, &cfg.smtp_port, err, errlen))
		return -1;
	v = config_env("SMTP_USER");
	cfg.smtp_user = v ? strdup(v) : NULL;
	v = config_env("SMTP_PASS");
	cfg.smtp_pass = v ? strdup(v) : NULL;
	if (!cfg.smtp_user != !cfg.smtp_pass)
		return config_error(err, errlen, "SMTP_USER and SMTP_PASS: set both or neither");
	v = config_env("SMTP_FROM");
	if (!v)
		return config_error(err, errlen, "SMTP_FROM: required with SMTP_HOST (e.g. \"Example <auth@example.com>\")");
	if (mail_from_address(v, addr, sizeof(addr)) < 0 || !mail_header_value_ok(v))
		return config_error(err, errlen, "SMTP_FROM: expected \"Name <addr@host>\" or \"addr@host\"");
	cfg.smtp_from = strdup(v);
	v = config_env("SMTP_CA_FILE");
	cfg.smtp_ca_file = v ? strdup(v) : NULL;
	return 0;
}

int config_load_mail(char *err, size_t errlen)
{
	const char *v;

	if (parse_smtp(err, errlen) || int_setting("SMTP_TIMEOUT", 30, 1, 600, &cfg.smtp_timeout, err, errlen) ||
	    int_setting("SMTP_MAX_ATTEMPTS", 10, 1, 100, &cfg.smtp_max_attempts, err, errlen) ||
	    int_setting("SMTP_RETRY_BASE", 30, 1, 86400, &cfg.smtp_retry_base, err, errlen) ||
	    int_setting("SMTP_POLL_INTERVAL", 5, 1, 3600, &cfg.smtp_poll_interval, err, errlen) ||
	    config_bool("REQUIRE_EMAIL_VERIFICATION", false, &cfg.require_email_verification, err, errlen) ||
	    int_setting("EMAIL_VERIFICATION_TTL", 86400, 2, 30L * 86400, &cfg.email_verification_ttl, err, errlen) ||
	    int_setting("PASSWORD_RESET_TTL", 3600, 2, 86400, &cfg.password_reset_ttl, err, errlen) ||
	    int_setting("EMAIL_OTP_TTL", 300, 2, 3600, &cfg.email_otp_ttl, err, errlen) ||
	    int_setting("EMAIL_OTP_MAX_ATTEMPTS", 3, 1, 10, &cfg.email_otp_max_attempts, err, errlen) ||
	    int_setting("EMAIL_MAX_PER_ADDRESS", 5, 1, 10000, &cfg.email_max_per_address, err, errlen) ||
	    int_setting("EMAIL_IP_MAX", 20, 1, 1000000, &cfg.email_ip_max, err, errlen))
		return -1;
	if (cfg.require_email_verification && !cfg.smtp_host)
		return config_error(err, errlen, "REQUIRE_EMAIL_VERIFICATION: needs SMTP_HOST (nobody could ever verify)");
	v = config_env("APP_NAME");
	if (v && (strlen(v) > 100 || !mail_header_value_ok(v)))
		return config_error(err, errlen, "APP_NAME: at most 100 bytes, no control characters");
	if (!v)
		v = strstr(cfg.issuer, "://") + 3;
	cfg.app_name = strdup(v);
	return cfg.app_name ? 0 : config_error(err, errlen, "out of memory");
}

void config_forget_smtp_pass(void)
{
	if (cfg.smtp_pass)
		secure_wipe(cfg.smtp_pass, strlen(cfg.smtp_pass));
}

void config_free_mail(void)
{
	config_forget_smtp_pass();
	char **strings[] = { &cfg.smtp_host, &cfg.smtp_user, &cfg.smtp_pass, &cfg.smtp_from, &cfg.smtp_ca_file,
		&cfg.app_name };
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}
