/*
 * The audit and metrics settings, parsed once with the rest of the
 * configuration (common/config.c calls config_load_observe):
 *
 *   AUDIT_LOG             off (default) | stdout: each audit event also as a
 *                         JSON line on standard output
 *   AUDIT_RETENTION_DAYS  audit rows older than this are deleted (default 90;
 *                         0 keeps them forever)
 *   METRICS_ALLOW         networks that may read /metrics without a token
 *                         (CIDR list, default 127.0.0.1/32,::1/128; "" none)
 *   METRICS_TOKEN         a bearer token that may read /metrics from anywhere
 *                         (a secret: at least 16 characters, never logged)
 */
#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int config_load_observe(char *err, size_t errlen)
{
	const char *v = config_env("AUDIT_LOG");
	char *end;
	size_t bad;

	if (!v || !strcasecmp(v, "off") || !strcasecmp(v, "none"))
		cfg.audit_log_stdout = false;
	else if (!strcasecmp(v, "stdout"))
		cfg.audit_log_stdout = true;
	else
		return config_error(err, errlen, "AUDIT_LOG: expected off or stdout, got \"%s\"", v);

	v = config_env("AUDIT_RETENTION_DAYS");
	cfg.audit_retention_days = 90;
	if (v) {
		long n = strtol(v, &end, 10);
		if (*end || end == v || n < 0 || n > 36500)
			return config_error(err, errlen, "AUDIT_RETENTION_DAYS: expected 0 (keep forever) to 36500, got \"%s\"",
			    v);
		cfg.audit_retention_days = (int)n;
	}

	/* Unset: loopback only. Set to "" (or spaces): no network, token only. */
	config_note_read("METRICS_ALLOW");
	v = getenv("METRICS_ALLOW");
	if (!v)
		v = "127.0.0.1/32,::1/128";
	if (cidr_list_parse(v, strlen(v), &cfg.metrics_allow, &bad) < 0)
		return config_error(err, errlen,
		    "METRICS_ALLOW: expected a comma-separated list of networks (10.0.0.0/8, ::1/128), wrong at \"%.40s\"",
		    v + (bad < strlen(v) ? bad : strlen(v)));

	v = config_env("METRICS_TOKEN");
	free(cfg.metrics_token);
	cfg.metrics_token = NULL;
	if (v) {
		if (strlen(v) < 16 || strlen(v) > 512)
			return config_error(err, errlen, "METRICS_TOKEN: expected 16 to 512 characters");
		cfg.metrics_token = strdup(v);
		if (!cfg.metrics_token)
			return config_error(err, errlen, "METRICS_TOKEN: out of memory");
	}
	return 0;
}

void config_free_observe(void)
{
	free(cfg.metrics_token);
	cfg.metrics_token = NULL;
}
