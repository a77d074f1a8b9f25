/* The email settings (common/config_mail.c): defaults, TLS modes, refusals. */
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

static int load(char *err, size_t len)
{
	config_free();
	return config_load(err, len);
}

int main(void)
{
	char err[256];
	static const char *vars[] = { "DATABASE_URL", "AUTH_SECRET", "AUTH_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_USER",
		"SMTP_PASS", "SMTP_FROM", "SMTP_TLS", "SMTP_CA_FILE", "REQUIRE_EMAIL_VERIFICATION", "APP_NAME",
		"EMAIL_OTP_TTL", "SMTP_MAX_ATTEMPTS", NULL };
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);

	/* no SMTP_HOST: email off, defaults for the flows */
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK(cfg.smtp_host == NULL);
	CHECK(!cfg.require_email_verification);
	CHECK_EQ_INT(cfg.email_verification_ttl, 86400);
	CHECK_EQ_INT(cfg.password_reset_ttl, 3600);
	CHECK_EQ_INT(cfg.email_otp_ttl, 300);
	CHECK_EQ_INT(cfg.email_otp_max_attempts, 3);
	CHECK_EQ_STR(cfg.app_name, "localhost:3000");
	/* verification required without a way to send: refused */
	setenv("REQUIRE_EMAIL_VERIFICATION", "true", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "REQUIRE_EMAIL_VERIFICATION", 26) == 0);

	setenv("SMTP_HOST", "smtp.example.com", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "SMTP_FROM", 9) == 0);
	setenv("SMTP_FROM", "Example <auth@example.com>", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.smtp_tls, CONFIG_SMTP_STARTTLS);
	CHECK_EQ_INT(cfg.smtp_port, 587);
	CHECK(cfg.require_email_verification);
	setenv("SMTP_TLS", "tls", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.smtp_tls, CONFIG_SMTP_TLS);
	CHECK_EQ_INT(cfg.smtp_port, 465);
	/* plain text only to a loopback relay */
	setenv("SMTP_TLS", "none", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "SMTP_TLS", 8) == 0);
	setenv("SMTP_HOST", "127.0.0.1", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.smtp_port, 25);
	setenv("SMTP_TLS", "ssl3", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	unsetenv("SMTP_TLS");
	/* user and password go together; the password is never in the error */
	setenv("SMTP_USER", "mailer", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	setenv("SMTP_PASS", "s3cr3t-pass", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.smtp_pass, "s3cr3t-pass");
	config_forget_smtp_pass();
	CHECK(cfg.smtp_pass[0] == '\0');
	setenv("SMTP_PORT", "70000", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(!strstr(err, "s3cr3t"));
	unsetenv("SMTP_PORT");
	/* header injection in settings that end up in headers */
	setenv("SMTP_FROM", "Example <auth@example.com>\r\nBcc: x@y.z", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	setenv("SMTP_FROM", "auth@example.com", 1);
	setenv("APP_NAME", "Evil\r\nBcc: x@y.z", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "APP_NAME", 8) == 0);
	setenv("APP_NAME", "Example ID", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.app_name, "Example ID");
	setenv("SMTP_HOST", "smtp.example.com:587", 1);
	CHECK_EQ_INT(load(err, sizeof(err)), -1);
	CHECK(strncmp(err, "SMTP_HOST", 9) == 0);
	config_free();
	return CHECK_DONE();
}
