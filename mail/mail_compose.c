/* Rendering a message from its templates (see mail_compose.h). */
#include "mail/mail_compose.h"
#include "common/config.h"
#include "common/embedded.h"
#include "proto/mail_message.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void add_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': add(b, "&amp;", 5); break;
		case '<': add(b, "&lt;", 4); break;
		case '>': add(b, "&gt;", 4); break;
		case '"': add(b, "&quot;", 6); break;
		case '\'': add(b, "&#39;", 5); break;
		default: add(b, s, 1);
		}
	}
}

static const char *lookup(const struct mail_var *vars, const char *name, size_t len)
{
	if (len == 3 && !memcmp(name, "app", 3))
		return cfg.app_name ? cfg.app_name : "";
	if (len == 6 && !memcmp(name, "issuer", 6))
		return cfg.issuer ? cfg.issuer : "";
	for (; vars && vars->name; vars++)
		if (strlen(vars->name) == len && !memcmp(vars->name, name, len))
			return vars->value ? vars->value : "";
	return "";
}

/* tmpl[0..len) with {{var}} expanded into b. */
static void expand(struct buf *b, const char *tmpl, size_t len, const struct mail_var *vars, bool html)
{
	const char *p = tmpl, *end = tmpl + len;
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2);
		const char *close = open ? memmem(open + 2, (size_t)(end - open - 2), "}}", 2) : NULL;
		if (!open || !close) {
			add(b, p, (size_t)(end - p));
			return;
		}
		add(b, p, (size_t)(open - p));
		const char *value = lookup(vars, open + 2, (size_t)(close - open - 2));
		if (html)
			add_escaped(b, value);
		else
			add(b, value, strlen(value));
		p = close + 2;
	}
}

int mail_compose(const char *name, const struct mail_var *vars, struct mail_composed *out)
{
	char file[64];
	const struct embedded_file *txt, *html;
	struct buf subject = { 0 }, text = { 0 }, body = { 0 };
	const char *nl;

	memset(out, 0, sizeof(*out));
	snprintf(file, sizeof(file), "mail_%s.txt", name);
	txt = embedded_find(web_files, file);
	snprintf(file, sizeof(file), "mail_%s.html", name);
	html = embedded_find(web_files, file);
	if (!txt || !html || strncmp(txt->data, "Subject: ", 9) || !(nl = strchr(txt->data, '\n')))
		return -1;
	expand(&subject, txt->data + 9, (size_t)(nl - txt->data - 9), vars, false);
	const char *rest = nl + 1 + (nl[1] == '\n');
	expand(&text, rest, strlen(rest), vars, false);
	expand(&body, html->data, html->len, vars, true);
	if (subject.failed || text.failed || body.failed || !subject.p || !text.p || !body.p ||
	    !mail_header_value_ok(subject.p)) {
		free(subject.p);
		free(text.p);
		free(body.p);
		return -1;
	}
	out->subject = subject.p;
	out->text = text.p;
	out->html = body.p;
	return 0;
}

void mail_composed_free(struct mail_composed *m)
{
	free(m->subject);
	free(m->text);
	free(m->html);
	memset(m, 0, sizeof(*m));
}
