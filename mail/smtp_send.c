/* SMTP delivery through libcurl (see smtp_send.h). */
#include "mail/smtp_send.h"
#include "common/config.h"
#include "common/secure.h"
#include "mail/mail_compose.h"
#include "proto/mail_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static volatile sig_atomic_t *abort_flag;

void smtp_set_abort_flag(volatile sig_atomic_t *flag)
{
	abort_flag = flag;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n;
	if (want > u->left)
		want = u->left;
	memcpy(buf, u->p, want);
	u->p += want;
	u->left -= want;
	return want;
}

static int progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg, (void)a, (void)b, (void)c, (void)d;
	return abort_flag && *abort_flag;	/* non-zero aborts the transfer */
}

int smtp_send(const char *to, const char *message, size_t len, char *err, size_t errlen)
{
	char url[300], from[MAIL_ADDR_MAX + 3], rcpt[MAIL_ADDR_MAX + 3], addr[MAIL_ADDR_MAX + 1];
	char curl_err[CURL_ERROR_SIZE] = "";
	struct upload up = { message, len };
	struct curl_slist *rcpts = NULL;
	CURL *c;
	CURLcode rc;

	if (!cfg.smtp_host) {
		snprintf(err, errlen, "SMTP_HOST is not set");
		return -1;
	}
	if (!mail_address_ok(to) || mail_from_address(cfg.smtp_from, addr, sizeof(addr)) < 0) {
		snprintf(err, errlen, "refused: not an address");
		return -1;
	}
	snprintf(url, sizeof(url), "%s://%s:%d", cfg.smtp_tls == CONFIG_SMTP_TLS ? "smtps" : "smtp", cfg.smtp_host,
	    cfg.smtp_port);
	snprintf(from, sizeof(from), "<%s>", addr);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	c = curl_easy_init();
	rcpts = curl_slist_append(NULL, rcpt);
	if (!c || !rcpts) {
		snprintf(err, errlen, "out of memory");
		curl_slist_free_all(rcpts);
		curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, cfg.smtp_tls == CONFIG_SMTP_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg.smtp_ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg.smtp_ca_file);
	if (cfg.smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg.smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg.smtp_pass);
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(cfg.smtp_timeout < 10 ? cfg.smtp_timeout : 10));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg.smtp_timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		/* libcurl's text names the step and the server's code, never the password. */
		snprintf(err, errlen, "%s (SMTP %ld): %s", curl_easy_strerror(rc), code, curl_err[0] ? curl_err : "-");
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
	}
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

int smtp_send_test(const char *to, char *err, size_t errlen)
{
	struct mail_composed m;
	char boundary[33], id[64], *msg;
	uint8_t rnd[16];
	long len;
	int rc;

	if (mail_compose("test", NULL, &m) < 0) {
		snprintf(err, errlen, "cannot render the test message");
		return -1;
	}
	secure_random(rnd, sizeof(rnd));
	secure_hex(rnd, sizeof(rnd), boundary);
	snprintf(id, sizeof(id), "test.%.16s.%lld", boundary, (long long)time(NULL));
	msg = malloc(MAIL_MESSAGE_MAX);
	struct mail_message mm = { .from = cfg.smtp_from, .to = to, .subject = m.subject, .text = m.text, .html = m.html,
		.date = time(NULL), .message_id = id, .boundary = boundary };
	len = msg ? mail_message_build(&mm, msg, MAIL_MESSAGE_MAX) : -1;
	if (len < 0) {
		snprintf(err, errlen, "refused: \"%s\" is not an address a message can go to", to);
		rc = -1;
	} else {
		rc = smtp_send(to, msg, (size_t)len, err, errlen);
	}
	free(msg);
	mail_composed_free(&m);
	return rc;
}
