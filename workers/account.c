/*
 * The signed-in user's own view: /api/auth/me (Better Auth's get-session
 * shape), their sessions (list, revoke one), and the /account page. The
 * session comes from the cache or the store (asynchronously); the list of
 * sessions from the store.
 */
#include "workers/handlers.h"
#include "proto/json_body.h"
#include "workers/csrf.h"
#include "workers/json_util.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/store_client.h"
#include "workers/two_factor.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a JSON endpoint does once the request's session is known. */
typedef void (*signed_in_fn)(struct http_exchange *ex, const struct session_entry *s);

struct signed_in_step {
	signed_in_fn next;
};

static void session_unavailable(struct http_exchange *ex)
{
	http_reply_header(ex, "Retry-After", "1");
	http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
}

static void session_required(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	const struct signed_in_step *step = arg;
	if (rc == 1)
		step->next(ex, s);
	else if (rc < 0)
		session_unavailable(ex);
	else
		http_reply_error(ex, 401, "unauthorized", "no valid session");
}

/* Runs step once the request has a session; else 401, or 503 when the store
 * could not tell. */
static void with_session(struct http_exchange *ex, const struct signed_in_step *step)
{
	session_from_request(ex, session_required, (void *)step);
}

/* ---- /api/auth/me ---- */

static void me_reply(struct http_exchange *ex, const struct session_entry *s)
{
	json_t *o = json_pack("{s:{s:s,s:s,s:s,s:o,s:b},s:{s:s,s:I,s:I,s:s}}",
	    "user", "id", s->user_id, "email", s->email, "name", s->name, "groups", json_csv_array(s->groups), "isAdmin",
	    (s->flags & SESSION_FLAG_ADMIN) != 0,
	    "session", "id", s->session_id, "expiresAt", (json_int_t)s->expires_at, "authTime", (json_int_t)s->auth_time,
	    "amr", s->amr);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(ex, 200, text ? text : "{}");
	free(text);
	json_decref(o);
}

void handle_me(struct http_exchange *ex)
{
	static const struct signed_in_step step = { me_reply };
	with_session(ex, &step);
}

/* ---- the user's sessions (STORE_OP_USER_SESSIONS_LIST) ---- */

/* A listing in progress: the session it was asked from, to mark "current". */
struct listing {
	struct http_exchange *ex;
	struct session_entry s;
};

static struct listing *listing_new(struct http_exchange *ex, const struct session_entry *s)
{
	struct listing *l = malloc(sizeof(*l));
	if (l) {
		l->ex = ex;
		l->s = *s;
	}
	return l;
}

static bool current_session(const struct store_reply *r, unsigned row, const struct session_entry *s)
{
	return strcmp(store_text(r, row, OWN_SESSION_ID), s->session_id) == 0;
}

static void sessions_listed(const struct store_reply *r, void *arg)
{
	struct listing *l = arg;
	if (store_failed(r)) {
		session_unavailable(l->ex);
		free(l);
		return;
	}
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:s,s:s,s:b}", "id", store_text(r, i, OWN_SESSION_ID),
		    "createdAt", (json_int_t)store_int(r, i, OWN_SESSION_CREATED_AT), "lastSeenAt",
		    (json_int_t)store_int(r, i, OWN_SESSION_LAST_SEEN_AT), "ip", store_text(r, i, OWN_SESSION_IP),
		    "userAgent", store_text(r, i, OWN_SESSION_USER_AGENT), "current", current_session(r, i, &l->s)));
	json_t *o = json_pack("{s:o}", "sessions", list);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(l->ex, 200, text ? text : "{}");
	free(text);
	json_decref(o);
	free(l);
}

static void sessions_list(struct http_exchange *ex, const struct session_entry *s)
{
	struct listing *l = listing_new(ex, s);
	if (!l) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	STORE_CALL(STORE_OP_USER_SESSIONS_LIST, sessions_listed, l, STORE_V_TEXT(s->user_id));
}

void handle_sessions_list(struct http_exchange *ex)
{
	static const struct signed_in_step step = { sessions_list };
	with_session(ex, &step);
}

/* ---- revoking one of them ---- */

static void one_session_revoked(struct http_exchange *ex, int rc, void *arg)
{
	if (rc < 0)
		session_unavailable(ex);
	else if (rc == 0)
		http_reply_error(ex, 404, "not_found", "no such session");
	else
		http_reply_json(ex, 200, "{\"status\":\"ok\"}");
}

static void sessions_revoke(struct http_exchange *ex, const struct session_entry *s)
{
	const char *why = NULL;
	if (!http_exchange_is_json(ex) || !csrf_origin_ok(ex)) {
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json from this origin");
		return;
	}
	json_t *json = json_body_parse(ex->body, ex->body_len, &why);
	const char *id = json ? json_body_string(json, "id", 64, NULL) : NULL;
	if (!id) {
		json_decref(json);
		http_reply_error(ex, 400, "invalid_request", "id is required");
		return;
	}
	/* Only the user's own sessions: someone else's id revokes nothing (404). */
	session_revoke_id(ex, s->user_id, id, one_session_revoked, NULL);
	json_decref(json);	/* the request was encoded when it was sent */
}

void handle_sessions_revoke(struct http_exchange *ex)
{
	static const struct signed_in_step step = { sessions_revoke };
	with_session(ex, &step);
}

/* ---- the /account page ---- */

/* The page being built: the sessions' list (HTML), then the second factors. */
struct account_page {
	struct http_exchange *ex;
	struct session_entry s;
	char *sessions;		/* NULL: the store could not list them */
};

static void account_page_reply(struct account_page *p, const struct store_reply *two_factor)
{
	char csrf[CSRF_TOKEN_LEN], name_suffix[128] = "";
	struct evbuffer *section = evbuffer_new();

	if (p->s.name[0])
		snprintf(name_suffix, sizeof(name_suffix), " (%s)", p->s.name);
	csrf_issue(p->ex, csrf);
	if (section) {
		two_factor_account_html(two_factor, csrf, section);
		evbuffer_add(section, "", 1);
	}
	struct page_var vars[] = { { "email", p->s.email }, { "name_suffix", name_suffix },
		{ "sessions", p->sessions ? p->sessions : "" }, { "csrf", csrf },
		{ "two_factor_account", section ? (const char *)evbuffer_pullup(section, -1) : "" }, { NULL, NULL } };
	page_reply(p->ex, 200, "Your account", "account.html", vars);
	if (section)
		evbuffer_free(section);
	free(p->sessions);
	free(p);
}

/* Without the second factors (the store failed) the page still shows. */
static void account_two_factor_status(const struct store_reply *r, void *arg)
{
	account_page_reply(arg, store_failed(r) ? NULL : r);
}

/* Without the list (the store failed) the page still shows, with none. */
static void account_sessions_listed(const struct store_reply *r, void *arg)
{
	struct account_page *p = arg;
	struct evbuffer *list = evbuffer_new();

	for (unsigned i = 0; list && !store_failed(r) && i < r->n_rows; i++) {
		char ip[128], ua[600];
		html_escape(store_text(r, i, OWN_SESSION_IP), ip, sizeof(ip));
		html_escape(store_text(r, i, OWN_SESSION_USER_AGENT), ua, sizeof(ua));
		evbuffer_add_printf(list, "<li>%s %s%s</li>", ip, ua, current_session(r, i, &p->s) ? " <em>(this one)</em>" : "");
	}
	if (list && evbuffer_add(list, "", 1) == 0)
		p->sessions = strdup((const char *)evbuffer_pullup(list, -1));
	if (list)
		evbuffer_free(list);
	STORE_CALL(STORE_OP_TWO_FACTOR_STATUS, account_two_factor_status, p, STORE_V_TEXT(p->s.user_id));
}

static void account_page_session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	if (rc != 1) {
		http_reply_redirect(ex, "/login");
		return;
	}
	struct account_page *p = calloc(1, sizeof(*p));
	if (!p) {
		page_message(ex, 503, "Your account", "Out of memory.", NULL, NULL);
		return;
	}
	p->ex = ex;
	p->s = *s;
	STORE_CALL(STORE_OP_USER_SESSIONS_LIST, account_sessions_listed, p, STORE_V_TEXT(s->user_id));
}

void handle_account_page(struct http_exchange *ex)
{
	session_from_request(ex, account_page_session_found, NULL);
}

void handle_root(struct http_exchange *ex)
{
	http_reply_redirect(ex, "/account");
}
