/*
 * The signed-in user's own view: /api/auth/me (Better Auth's get-session
 * shape), their sessions (list, revoke one), and the /account page.
 */
#include "workers/handlers.h"
#include "common/db.h"
#include "proto/json_body.h"
#include "workers/csrf.h"
#include "workers/json_util.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 with a session, else the reply is already sent. */
static int require_session(struct http_exchange *ex, struct session_entry *s)
{
	int rc = session_from_request(ex, s, NULL);
	if (rc == 1)
		return 1;
	if (rc < 0)
		http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
	else
		http_reply_error(ex, 401, "unauthorized", "no valid session");
	return 0;
}

void handle_me(struct http_exchange *ex)
{
	struct session_entry s;
	if (!require_session(ex, &s))
		return;
	json_t *o = json_pack("{s:{s:s,s:s,s:s,s:o,s:b},s:{s:s,s:I,s:I,s:s}}",
	    "user", "id", s.user_id, "email", s.email, "name", s.name, "groups", json_csv_array(s.groups), "isAdmin",
	    (s.flags & SESSION_FLAG_ADMIN) != 0,
	    "session", "id", s.session_id, "expiresAt", (json_int_t)s.expires_at, "authTime", (json_int_t)s.auth_time,
	    "amr", s.amr);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(ex, 200, text ? text : "{}");
	free(text);
	json_decref(o);
}

static PGresult *own_sessions(const char *user_id)
{
	const char *params[] = { user_id };
	return db_query(worker->db,
	    "SELECT id, floor(extract(epoch from created_at))::bigint, floor(extract(epoch from last_seen_at))::bigint,"
	    " coalesce(ip, ''), coalesce(user_agent, '') FROM sessions"
	    " WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC LIMIT 100",
	    1, params);
}

void handle_sessions_list(struct http_exchange *ex)
{
	struct session_entry s;
	if (!require_session(ex, &s))
		return;
	PGresult *r = own_sessions(s.user_id);
	if (!r) {
		http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
		return;
	}
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:s,s:s,s:b}", "id", PQgetvalue(r, i, 0), "createdAt",
		    (json_int_t)strtoll(PQgetvalue(r, i, 1), NULL, 10), "lastSeenAt",
		    (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10), "ip", PQgetvalue(r, i, 3), "userAgent",
		    PQgetvalue(r, i, 4), "current", strcmp(PQgetvalue(r, i, 0), s.session_id) == 0));
	PQclear(r);
	json_t *o = json_pack("{s:o}", "sessions", list);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(ex, 200, text ? text : "{}");
	free(text);
	json_decref(o);
}

void handle_sessions_revoke(struct http_exchange *ex)
{
	struct session_entry s;
	const char *why = NULL;
	if (!require_session(ex, &s))
		return;
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
	int rc = session_revoke_id(s.user_id, id);
	json_decref(json);
	if (rc < 0)
		http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
	else if (rc == 0)
		http_reply_error(ex, 404, "not_found", "no such session");
	else
		http_reply_json(ex, 200, "{\"status\":\"ok\"}");
}

void handle_account_page(struct http_exchange *ex)
{
	struct session_entry s;
	char csrf[CSRF_TOKEN_LEN], name_suffix[128] = "";
	int rc = session_from_request(ex, &s, NULL);
	if (rc != 1) {
		http_reply_redirect(ex, "/login");
		return;
	}
	PGresult *r = own_sessions(s.user_id);
	struct evbuffer *list = evbuffer_new();
	for (int i = 0; r && i < PQntuples(r); i++) {
		char ip[128], ua[600];
		html_escape(PQgetvalue(r, i, 3), ip, sizeof(ip));
		html_escape(PQgetvalue(r, i, 4), ua, sizeof(ua));
		evbuffer_add_printf(list, "<li>%s %s%s</li>", ip, ua,
		    strcmp(PQgetvalue(r, i, 0), s.session_id) == 0 ? " <em>(this one)</em>" : "");
	}
	if (r)
		PQclear(r);
	evbuffer_add(list, "", 1);
	if (s.name[0])
		snprintf(name_suffix, sizeof(name_suffix), " (%s)", s.name);
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "email", s.email }, { "name_suffix", name_suffix },
		{ "sessions", (const char *)evbuffer_pullup(list, -1) }, { "csrf", csrf }, { NULL, NULL } };
	page_reply(ex, 200, "Your account", "account.html", vars);
	evbuffer_free(list);
}

void handle_root(struct http_exchange *ex)
{
	http_reply_redirect(ex, "/account");
}
