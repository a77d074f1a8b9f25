/*
 * One message to the SMTP relay of the settings (SMTP_*), through libcurl's
 * SMTP: smtp:// with STARTTLS required (SMTP_TLS=starttls), smtps://
 * (tls), or plain smtp:// to a loopback relay (none); AUTH with
 * SMTP_USER/SMTP_PASS; the server's certificate verified (SMTP_CA_FILE or
 * the system's roots). Blocking, at most SMTP_TIMEOUT seconds. Used by the
 * mailer process and `dreamauth smtp test`.
 */
#ifndef DREAMAUTH_SMTP_SEND_H
#define DREAMAUTH_SMTP_SEND_H
#include <signal.h>
#include <stddef.h>

/* A flag that aborts a delivery in progress when set (SIGTERM); may be NULL. */
void smtp_set_abort_flag(volatile sig_atomic_t *flag);

/* 0 when the relay accepted the message (250 after DATA); -1 otherwise,
 * with a one-line reason in err (libcurl's, never the password). */
int smtp_send(const char *to, const char *message, size_t len, char *err, size_t errlen);

/* Builds a message from the composed template name (mail/mail_compose.h)
 * and sends it now: `dreamauth smtp test`. */
int smtp_send_test(const char *to, char *err, size_t errlen);
#endif
