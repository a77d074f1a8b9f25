/*
 * `dreamauth smtp test <address>`: one message straight to the relay of
 * the SMTP_* settings, now, from this process (not through the outbox), so
 * an operator sees at once whether host, port, TLS mode, credentials and
 * sender work. Exit status 0 when the relay accepted it, 1 otherwise.
 */
#include "master/cli.h"
#include "common/config.h"
#include "mail/smtp_send.h"
#include "proto/mail_message.h"

#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

int cli_smtp(int argc, char **argv)
{
	char err[600];
	int rc;

	if (argc != 2 || strcmp(argv[0], "test") != 0) {
		fprintf(stderr, "usage: dreamauth smtp test <address>\n");
		return 2;
	}
	if (!cfg.smtp_host) {
		fprintf(stderr, "dreamauth: SMTP_HOST is not set: this server sends no email\n");
		return 1;
	}
	if (!mail_address_ok(argv[1])) {
		fprintf(stderr, "dreamauth: \"%s\" is not an address a message can go to\n", argv[1]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = smtp_send_test(argv[1], err, sizeof(err));
	curl_global_cleanup();
	if (rc < 0) {
		fprintf(stderr, "dreamauth: sending to %s through %s:%d failed: %s\n", argv[1], cfg.smtp_host, cfg.smtp_port,
		    err);
		return 1;
	}
	printf("sent a test message to %s through %s:%d (%s)\n", argv[1], cfg.smtp_host, cfg.smtp_port,
	    cfg.smtp_tls == CONFIG_SMTP_TLS ? "smtps" : cfg.smtp_tls == CONFIG_SMTP_NONE ? "plain, loopback" : "STARTTLS");
	return 0;
}
