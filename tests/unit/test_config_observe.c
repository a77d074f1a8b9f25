/* The audit and metrics settings (common/config_observe.c): defaults, one
 * clear error per bad value, and METRICS_TOKEN among the secrets. */
#include "common/config.h"
#include "tests/unit/check.h"
#include "tests/unit/config_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vars[] = { "AUDIT_LOG", "AUDIT_RETENTION_DAYS", "METRICS_ALLOW", "METRICS_TOKEN",
	"DATABASE_URL", "LISTEN", "PORT", NULL };

#define ERR_STARTS(prefix) CHECK(strncmp(err, prefix, strlen(prefix)) == 0)

int main(void)
{
	char err[512];

	setenv("AUTH_SECRET", "0123456789abcdef0123456789abcdef", 1);
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), NULL), 0);
	CHECK(!cfg.audit_log_stdout);
	CHECK_EQ_INT(cfg.audit_retention_days, 90);
	CHECK_EQ_INT(cfg.metrics_allow.n, 2);
	CHECK(cidr_list_contains(&cfg.metrics_allow, "127.0.0.1"));
	CHECK(cidr_list_contains(&cfg.metrics_allow, "::1"));
	CHECK(!cidr_list_contains(&cfg.metrics_allow, "10.0.0.1"));
	CHECK(cfg.metrics_token == NULL);

	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "AUDIT_LOG=stdout", "AUDIT_RETENTION_DAYS=0", "METRICS_ALLOW=10.0.0.0/8",
	                 "METRICS_TOKEN=abcdefghijklmnopqrstuvwxyz", NULL),
	    0);
	CHECK(cfg.audit_log_stdout);
	CHECK_EQ_INT(cfg.audit_retention_days, 0);
	CHECK(cidr_list_contains(&cfg.metrics_allow, "10.9.8.7"));
	CHECK(!cidr_list_contains(&cfg.metrics_allow, "127.0.0.1"));
	CHECK_EQ_STR(cfg.metrics_token, "abcdefghijklmnopqrstuvwxyz");
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "METRICS_ALLOW=", NULL), 0);	/* token only */
	CHECK_EQ_INT(cfg.metrics_allow.n, 0);

	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "AUDIT_LOG=syslog", NULL), -1);
	ERR_STARTS("AUDIT_LOG:");
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "AUDIT_RETENTION_DAYS=-1", NULL), -1);
	ERR_STARTS("AUDIT_RETENTION_DAYS:");
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "AUDIT_RETENTION_DAYS=9x", NULL), -1);
	ERR_STARTS("AUDIT_RETENTION_DAYS:");
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "METRICS_ALLOW=10.0.0.0/8,bogus", NULL), -1);
	ERR_STARTS("METRICS_ALLOW:");
	CHECK(strstr(err, "bogus") != NULL);
	/* a short token is refused, and the error never echoes it */
	CHECK_EQ_INT(config_test_load_only(vars, err, sizeof(err), "METRICS_TOKEN=short-secret", NULL), -1);
	ERR_STARTS("METRICS_TOKEN:");
	CHECK(strstr(err, "short-secret") == NULL);

	/* METRICS_TOKEN leaves the environment with the other secrets */
	char entry[] = "METRICS_TOKEN=abcdefghijklmnopqrstuvwxyz";
	char *env[] = { entry, NULL };
	config_wipe_secret_values(env);
	CHECK(strstr(entry, "abcdef") == NULL);
	config_free();
	return CHECK_DONE();
}
