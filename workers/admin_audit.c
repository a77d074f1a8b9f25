/*
 * GET /api/admin/audit?since=&until=&actor=&target=&event=&limit=&cursor=
 * The audit log, newest first, a page at a time, for an admin (an admin's
 * session or an admin Bearer token: workers/admin_auth.h; the store checks
 * the caller's proof again, STORE_OP_ADMIN_AUDIT_QUERY). since/until are
 * Unix seconds; actor a user id or a client id; target a target id; cursor
 * the next_cursor of the page before. Answer: {"entries":[...],
 * "next_cursor": "..." | null}.
 */
#include "workers/handlers.h"
#include "workers/admin_auth.h"
#include "workers/store_client.h"
#include "proto/form.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 100

struct audit_query {
	struct http_exchange *ex;
	char proof[sizeof(((struct admin_caller *)0)->proof)];
	struct store_value since, until, actor, target, event, cursor;
	int limit;
	char text[4][256];	/* actor, target, event, (spare) */
};

/* Digits only, at most 15 of them: Unix seconds or an id. */
static bool parse_count(const char *v, int64_t *out)
{
	size_t n = strlen(v);
	if (n == 0 || n > 15 || strspn(v, "0123456789") != n)
		return false;
	*out = strtoll(v, NULL, 10);
	return true;
}

static bool event_name_ok(const char *v)
{
	size_t n = strlen(v);
	return n > 0 && n <= 64 && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_.") == n;
}

static json_t *nullable(const struct store_reply *r, unsigned row, unsigned col)
{
	return store_is_null(r, row, col) ? json_null() : json_string(store_text(r, row, col));
}

static void ask(struct audit_query *q);

static void answered(const struct store_reply *r, void *arg)
{
	struct audit_query *q = arg;
	char cursor[24];

	if (r->status == STORE_TOO_LARGE && q->limit > 1) {	/* long user agents: a smaller page */
		q->limit /= 2;
		ask(q);
		return;
	}
	if (r->status == STORE_REFUSED) {	/* the store found no live admin behind the proof */
		http_reply_error(q->ex, 403, "forbidden", "the caller is not an admin (any more)");
		free(q);
		return;
	}
	if (store_failed(r)) {
		store_reply_unavailable(q->ex);
		free(q);
		return;
	}
	json_t *entries = json_array();
	for (unsigned i = 0; i < r->n_rows; i++) {
		json_t *detail = json_loads(store_text(r, i, AUDIT_ENTRY_DETAIL), 0, NULL);
		json_array_append_new(entries,
		    json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
		        (json_int_t)store_int(r, i, AUDIT_ENTRY_ID), "at", store_text(r, i, AUDIT_ENTRY_AT), "event",
		        store_text(r, i, AUDIT_ENTRY_EVENT), "result", store_text(r, i, AUDIT_ENTRY_RESULT), "method",
		        store_text(r, i, AUDIT_ENTRY_METHOD), "actor_user_id", nullable(r, i, AUDIT_ENTRY_ACTOR_USER_ID),
		        "actor_client_id", nullable(r, i, AUDIT_ENTRY_ACTOR_CLIENT_ID), "target_type",
		        nullable(r, i, AUDIT_ENTRY_TARGET_TYPE), "target_id", nullable(r, i, AUDIT_ENTRY_TARGET_ID),
		        "client_ip", nullable(r, i, AUDIT_ENTRY_CLIENT_IP), "user_agent",
		        nullable(r, i, AUDIT_ENTRY_USER_AGENT), "detail", detail ? detail : json_object()));
	}
	/* a full page may have more after it */
	snprintf(cursor, sizeof(cursor), "%lld",
	    r->n_rows ? (long long)store_int(r, r->n_rows - 1, AUDIT_ENTRY_ID) : 0LL);
	json_t *o = json_pack("{s:o,s:o}", "entries", entries, "next_cursor",
	    r->n_rows == (unsigned)q->limit ? json_string(cursor) : json_null());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text)
		http_reply_json(q->ex, 200, text);
	else
		http_reply_error(q->ex, 503, "temporarily_unavailable", "out of memory");
	free(text);
	free(q);
}

static void ask(struct audit_query *q)
{
	STORE_CALL(STORE_OP_ADMIN_AUDIT_QUERY, answered, q, STORE_V_TEXT(q->proof), q->since, q->until, q->actor,
	    q->target, q->event, STORE_V_INT(q->limit), q->cursor);
}

/* One query parameter into a text value (NULL when absent): false when it
 * is present but not acceptable. */
static bool text_param(const struct form *f, const char *name, char *buf, size_t cap, struct store_value *out)
{
	const char *v = form_get(f, name);
	*out = STORE_V_NULL;
	if (!v || !*v)
		return true;
	if (strlen(v) >= cap)
		return false;
	snprintf(buf, cap, "%s", v);
	*out = STORE_V_TEXT(buf);
	return true;
}

static bool count_param(const struct form *f, const char *name, struct store_value *out)
{
	const char *v = form_get(f, name);
	int64_t n;
	*out = STORE_V_NULL;
	if (!v || !*v)
		return true;
	if (!parse_count(v, &n))
		return false;
	*out = STORE_V_INT(n);
	return true;
}

static void admin_known(struct http_exchange *ex, const struct admin_caller *caller, void *arg)
{
	struct form f = { 0 };
	struct audit_query *q;
	const char *bad = NULL;
	int64_t limit = AUDIT_PAGE_DEFAULT;
	(void)arg;

	if (!(q = calloc(1, sizeof(*q)))) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	q->ex = ex;
	snprintf(q->proof, sizeof(q->proof), "%s", caller->proof);
	if (form_parse(ex->req.query.p, ex->req.query.len, 4096, &f) != FORM_OK)
		bad = "the query string is malformed";
	else if (!count_param(&f, "since", &q->since) || !count_param(&f, "until", &q->until))
		bad = "since and until are Unix seconds";
	else if (!count_param(&f, "cursor", &q->cursor))
		bad = "cursor is the next_cursor of a page";
	else if (form_get(&f, "limit") && (!parse_count(form_get(&f, "limit"), &limit) || limit < 1 ||
	             limit > AUDIT_PAGE_MAX))
		bad = "limit is 1 to 100";
	else if (!text_param(&f, "actor", q->text[0], sizeof(q->text[0]), &q->actor) ||
	    !text_param(&f, "target", q->text[1], sizeof(q->text[1]), &q->target))
		bad = "actor and target are at most 255 bytes";
	else if (!text_param(&f, "event", q->text[2], sizeof(q->text[2]), &q->event) ||
	    (q->event.kind == STORE_TEXT && !event_name_ok(q->text[2])))
		bad = "event is an event name (a-z, 0-9, _ and .)";
	form_free(&f);
	if (bad) {
		free(q);
		http_reply_error(ex, 400, "invalid_request", bad);
		return;
	}
	q->limit = (int)limit;
	ask(q);
}

void handle_admin_audit(struct http_exchange *ex)
{
	admin_authenticate(ex, false, admin_known, NULL);
}
