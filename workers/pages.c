/* Template rendering for the server-rendered pages (see pages.h). */
#include "workers/pages.h"
#include "common/embedded.h"
#include "common/log.h"
#include "workers/auth_passkey.h"
#include "workers/auth_siwe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

size_t html_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; in && *in; in++) {
		const char *rep = NULL;
		switch (*in) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		size_t n = rep ? strlen(rep) : 1;
		if (o + n + 1 > cap)
			break;
		if (rep)
			memcpy(out + o, rep, n);
		else
			out[o] = *in;
		o += n;
	}
	if (cap)
		out[o] = '\0';
	return o;
}

void page_error_paragraph(const char *error, char *out, size_t cap)
{
	char esc[400];
	out[0] = '\0';
	if (!error || !*error)
		return;
	html_escape(error, esc, sizeof(esc));
	snprintf(out, cap, "<p class=\"error\" role=\"alert\">%s</p>", esc);
}

static const char *var_value(const struct page_var *vars, const char *name, size_t len)
{
	for (; vars && vars->name; vars++)
		if (strlen(vars->name) == len && memcmp(vars->name, name, len) == 0)
			return vars->value ? vars->value : "";
	/* Slots a feature fills on every page that has them (its buttons). */
	const char *feature = passkey_page_fragment(name, len);
	if (!feature)
		feature = siwe_page_fragment(name, len);
	return feature ? feature : "";
}

/* Expand {{x}} (escaped) and {{{x}}} (raw) from tmpl into out. */
static void expand(struct evbuffer *out, const char *tmpl, const struct page_var *vars)
{
	const char *p = tmpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			evbuffer_add(out, p, strlen(p));
			return;
		}
		evbuffer_add(out, p, (size_t)(open - p));
		bool raw = open[2] == '{';
		const char *name = open + (raw ? 3 : 2);
		const char *close = strstr(name, raw ? "}}}" : "}}");
		if (!close) {
			evbuffer_add(out, open, strlen(open));
			return;
		}
		const char *value = var_value(vars, name, (size_t)(close - name));
		if (raw) {
			evbuffer_add(out, value, strlen(value));
		} else {
			size_t cap = strlen(value) * 6 + 1;
			char *esc = malloc(cap);
			if (esc) {
				size_t n = html_escape(value, esc, cap);
				evbuffer_add(out, esc, n);
				free(esc);
			}
		}
		p = close + (raw ? 3 : 2);
	}
}

/* Pages whose form POST can end in a redirect to a relying party: sign-in
 * and sign-up (rd= leads on to /oauth2/authorize), consent, RP-initiated
 * logout. Chrome checks form-action against every hop of the redirect chain
 * after a POST, so any form-action would block a native app's private-use
 * scheme (Immich mobile's app.immich:///oauth-callback); these pages go
 * without it. Everything else (no inline script, no framing) still applies. */
static bool form_may_reach_client(const char *page)
{
	static const char *const pages[] = { "login.html", "signup.html", "consent.html", "logout.html",
		"two_factor.html", NULL };
	for (const char *const *p = pages; *p; p++)
		if (!strcmp(page, *p))
			return true;
	return false;
}

static const char *page_csp(const char *page)
{
	if (form_may_reach_client(page))
		return "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";
	return "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none';"
	       " form-action 'self' https: http:; base-uri 'none'";
}

void page_reply(struct http_exchange *ex, int status, const char *title, const char *page, const struct page_var *vars)
{
	const struct embedded_file *layout = embedded_find(web_files, "layout.html");
	const struct embedded_file *body = embedded_find(web_files, page);
	struct evbuffer *content = evbuffer_new(), *html = evbuffer_new();

	if (!layout || !body || !content || !html) {
		log_errorx("page %s missing from the build", page);
		http_reply_error(ex, 500, "server_error", "page missing");
		goto out;
	}
	expand(content, body->data, vars);
	evbuffer_add(content, "", 1);
	const char *content_str = (const char *)evbuffer_pullup(content, -1);
	struct page_var outer[] = { { "title", title }, { "content", content_str }, { NULL, NULL } };
	expand(html, layout->data, outer);
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply_header(ex, "X-Frame-Options", "DENY");
	http_reply_header(ex, "X-Content-Type-Options", "nosniff");
	http_reply_header(ex, "Referrer-Policy", "same-origin");
	http_reply_header(ex, "Content-Security-Policy", page_csp(page));
	size_t len = evbuffer_get_length(html);
	http_reply(ex, status, "text/html; charset=utf-8", (const char *)evbuffer_pullup(html, -1), len);
out:
	if (content)
		evbuffer_free(content);
	if (html)
		evbuffer_free(html);
}

void page_message(struct http_exchange *ex, int status, const char *title, const char *message, const char *link,
    const char *link_text)
{
	struct page_var vars[] = { { "kind", status >= 400 ? "error" : "notice" }, { "message", message },
		{ "link", link ? link : "/login" }, { "link_text", link_text ? link_text : "Back to sign in" },
		{ NULL, NULL } };
	page_reply(ex, status, title, "message.html", vars);
}

void handle_static(struct http_exchange *ex)
{
	const char *name = ex->req.path.p + strlen("/static/");
	size_t len = ex->req.path.len - strlen("/static/");
	char file[64];
	const struct embedded_file *f;

	if (len == 0 || len >= sizeof(file) || memchr(name, '/', len)) {
		http_reply_error(ex, 404, "not_found", "no such file");
		return;
	}
	memcpy(file, name, len);
	file[len] = '\0';
	f = embedded_find(web_files, file);
	if (!f || (!strstr(file, ".css") && !strstr(file, ".js"))) {
		http_reply_error(ex, 404, "not_found", "no such file");
		return;
	}
	http_reply_header(ex, "Cache-Control", "public, max-age=3600");
	http_reply_header(ex, "X-Content-Type-Options", "nosniff");
	http_reply(ex, 200, strstr(file, ".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8", f->data,
	    f->len);
}
