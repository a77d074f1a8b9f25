/*
 * The messages the server sends, from templates in web/: mail_<name>.txt
 * (first line "Subject: ...", a blank line, the plain-text body) and
 * mail_<name>.html (the HTML body). {{var}} is replaced: as is in the
 * subject and the text, HTML-escaped in the HTML. "app" (APP_NAME) and
 * "issuer" (AUTH_URL) are always there. Used by the store functions that
 * put a message in the outbox, and by `dreamauth smtp test`.
 */
#ifndef DREAMAUTH_MAIL_COMPOSE_H
#define DREAMAUTH_MAIL_COMPOSE_H

struct mail_var {
	const char *name;
	const char *value;
};

struct mail_composed {
	char *subject, *text, *html;	/* owned: mail_composed_free */
};

/* vars ends with { NULL, NULL }. 0, or -1 (a template missing, no memory, a
 * subject that is not a header value). */
int mail_compose(const char *name, const struct mail_var *vars, struct mail_composed *out);
void mail_composed_free(struct mail_composed *m);
#endif
