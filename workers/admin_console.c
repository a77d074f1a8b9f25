/*
 * The admin console, /admin: server-rendered pages for users, applications
 * (OIDC clients and their roles) and signing keys, working without
 * JavaScript and on a phone (web/style.css). Only for an admin's session:
 * others get a 403 page, strangers a redirect to /login?rd=. Every change is
 * a POST form with a single-use CSRF token (workers/csrf.h); a destructive
 * one (delete, rotate a secret, revoke a key, ...) first answers a
 * confirmation page whose form repeats it with confirm=yes. Then it runs the
 * same store operation as the JSON API (the store re-checks the caller) and
 * redirects back with a short notice (?msg=, from a fixed list). This file:
 * the dispatch, the HTML helpers and the page shell; the pages are in
 * admin_console_pages.c, the changes in admin_console_actions.c.
 */
#include "workers/handlers.h"
#include "workers/admin_console.h"
#include "workers/csrf.h"
#include "workers/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- HTML helpers ---- */

void html_text(struct evbuffer *b, const char *s)
{
	size_t cap = strlen(s ? s : "") * 6 + 1;
	char *e = malloc(cap);
	if (e) {
		size_t n = html_escape(s ? s : "", e, cap);
		evbuffer_add(b, e, n);
		free(e);
	}
}

void html_form(struct evbuffer *b, struct admin_call *c, const char *action, const char *cls)
{
	char csrf[CSRF_TOKEN_LEN];
	csrf_issue(c->ex, csrf);
	evbuffer_add_printf(b, "<form method=\"post\" class=\"%s\" action=\"", cls ? cls : "");
	html_text(b, action);
	evbuffer_add_printf(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">", csrf);
}

static const struct {
	const char *code, *text;
} notices[] = {
	{ "saved", "Saved." }, { "created", "Created." }, { "deleted", "Deleted." }, { "disabled", "Account disabled; its sessions and tokens are revoked." },
	{ "enabled", "Account enabled." }, { "signed_out", "Every session and token of this account is revoked." },
	{ "revoked", "Revoked." }, { "granted", "Role given." }, { "removed", "Role taken away." },
	{ "rotated", "Rotated." }, { "none", "Nothing changed: not found, or already so." },
};

void console_page(struct admin_call *c, int status, const char *title, struct evbuffer *b)
{
	struct evbuffer *flash = evbuffer_new();
	const char *msg = c->has_form ? form_get(&c->form, "msg") : NULL;

	for (size_t i = 0; msg && flash && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (!strcmp(msg, notices[i].code))
			evbuffer_add_printf(flash, "<p class=\"notice\" role=\"status\">%s</p>", notices[i].text);
	evbuffer_add(flash, "", 1);
	evbuffer_add(b, "", 1);
	struct page_var vars[] = { { "who", c->caller.name }, { "flash", (const char *)evbuffer_pullup(flash, -1) },
		{ "body", (const char *)evbuffer_pullup(b, -1) }, { NULL, NULL } };
	http_reply_header(c->ex, "Cache-Control", "no-store");
	page_reply(c->ex, status, title, "admin.html", vars);
	evbuffer_free(flash);
	evbuffer_free(b);
}

/* ---- dispatch ---- */

static void console_post(struct admin_call *c)
{
	if (!http_exchange_is_form(c->ex) ||
	    form_parse(c->ex->body, c->ex->body_len, 64 * 1024, &c->form) != FORM_OK) {
		admin_fail(c, 400, "invalid_request", "Send the form.");
		admin_call_free(c);
		return;
	}
	c->has_form = true;
	if (!csrf_check(c->ex, form_get(&c->form, "csrf"))) {
		admin_fail(c, 403, "forbidden", "The form expired or came from elsewhere; reload the page and try again.");
		admin_call_free(c);
		return;
	}
	if (admin_path_is(&c->path, 0, "users") && c->path.n == 2 && admin_path_is(&c->path, 1, "create"))
		console_user_create(c);
	else if (admin_path_is(&c->path, 0, "users") && c->path.n >= 3)
		console_user_post(c);
	else if (admin_path_is(&c->path, 0, "clients") && c->path.n >= 2)
		console_client_post(c);
	else if (admin_path_is(&c->path, 0, "keys"))
		console_keys_post(c);
	else {
		admin_fail(c, 404, "not_found", "No such action.");
		admin_call_free(c);
	}
}

/* A page holds several forms, each with its own token, all bound to the
 * browser's CSRF cookie: a browser without one yet (signed in through the
 * JSON API) gets it first, then comes back. */
static bool has_csrf_cookie(struct http_exchange *ex)
{
	const struct http_str *cookie = http_request_header(&ex->req, "cookie");
	const char *v;
	size_t len;
	return cookie && cookie_find(cookie->p, cookie->len, CSRF_COOKIE, &v, &len) == 1;
}

static void console_get(struct admin_call *c)
{
	const struct admin_path *p = &c->path;

	if (!has_csrf_cookie(c->ex)) {
		char token[CSRF_TOKEN_LEN], again[600];
		csrf_issue(c->ex, token);	/* sets the cookie */
		snprintf(again, sizeof(again), "%.*s", (int)(c->ex->req.target.len < 590 ? c->ex->req.target.len : 590),
		    c->ex->req.target.p);
		http_reply_redirect(c->ex, again);
		admin_call_free(c);
		return;
	}

	if (form_parse(c->ex->req.query.p, c->ex->req.query.len, 4096, &c->form) != FORM_OK) {
		admin_fail(c, 400, "invalid_request", "Malformed query.");
		admin_call_free(c);
		return;
	}
	c->has_form = true;
	if (p->n == 0) {
		http_reply_redirect(c->ex, "/admin/users");
		admin_call_free(c);
	} else if (admin_path_is(p, 0, "users") && p->n == 1)
		console_users(c);
	else if (admin_path_is(p, 0, "users") && p->n == 2)
		console_user(c);
	else if (admin_path_is(p, 0, "clients") && p->n == 1)
		console_clients(c);
	else if (admin_path_is(p, 0, "clients") && p->n == 2)
		console_client(c);
	else if (admin_path_is(p, 0, "keys") && p->n == 1)
		console_keys(c);
	else {
		admin_fail(c, 404, "not_found", "No such page.");
		admin_call_free(c);
	}
}

static void console_authenticated(struct http_exchange *ex, const struct admin_caller *caller, void *arg)
{
	struct admin_call *c = admin_call_new(ex, caller, true);
	(void)arg;
	if (!c)
		return;
	if (admin_path_split(ex->req.path.p, ex->req.path.len, "/admin/", &c->path) < 0) {
		admin_fail(c, 404, "not_found", "No such page.");
		admin_call_free(c);
		return;
	}
	if (ex->req.method == HTTP_METHOD_GET || ex->req.method == HTTP_METHOD_HEAD)
		console_get(c);
	else if (ex->req.method == HTTP_METHOD_POST)
		console_post(c);
	else {
		http_reply_header(ex, "Allow", "GET, HEAD, POST");
		admin_fail(c, 405, "method_not_allowed", "Method not allowed.");
		admin_call_free(c);
	}
}

void handle_admin_console(struct http_exchange *ex)
{
	admin_authenticate(ex, true, console_authenticated, NULL);
}
