/* Admin requests in flight (see admin_call.h). */
#include "workers/admin_call.h"
#include "master/user_opts.h"
#include "workers/jwt_local.h"
#include "workers/pages.h"
#include "workers/store_client.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin_call *admin_call_new(struct http_exchange *ex, const struct admin_caller *caller, bool html)
{
	struct admin_call *c = calloc(1, sizeof(*c));
	if (!c) {
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	c->ex = ex;
	c->caller = *caller;
	c->html = html;
	return c;
}

void admin_call_free(struct admin_call *c)
{
	if (!c)
		return;
	json_decref(c->body);
	json_decref(c->kept);
	if (c->has_form)
		form_free(&c->form);
	if (c->page)
		evbuffer_free(c->page);
	secure_wipe(c, sizeof(*c));
	free(c);
}

void admin_reply_json(struct http_exchange *ex, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply_json(ex, status, text ? text : "{}");
	free(text);
}

void admin_fail(struct admin_call *c, int status, const char *error, const char *description)
{
	if (status == 503)
		http_reply_header(c->ex, "Retry-After", "1");
	if (c->html)
		page_message(c->ex, status, status == 404 ? "Not found" : "Not done", description, "/admin", "Admin");
	else
		http_reply_error(c->ex, status, error, description);
}

static void admin_stored(const struct store_reply *r, void *arg)
{
	struct admin_call *c = arg;

	if (r->status == STORE_REFUSED)
		admin_fail(c, 403, "forbidden", "the caller is not an admin (any more)");
	else if (store_failed(r))
		admin_fail(c, 503, "temporarily_unavailable", "the store is unavailable; try again");
	else {
		c->chained = false;
		c->done(c, r);
		if (c->chained)
			return;
	}
	admin_call_free(c);
}

void admin_store_call(struct admin_call *c, uint32_t op, admin_done_fn done, const struct store_value *args,
    unsigned n_args)
{
	struct store_value all[STORE_MAX_ARGS];

	c->done = done;
	c->chained = true;
	all[0] = STORE_V_TEXT(c->caller.proof);
	for (unsigned i = 0; i < n_args && i + 1 < STORE_MAX_ARGS; i++)
		all[i + 1] = args[i];
	/* with the request's client IP and user agent for the audit log (the
	 * store names the actor itself, from the proof) */
	store_call_from(c->ex, NULL, op, all, n_args + 1, admin_stored, c);
}

bool admin_groups_from_json(const json_t *a, char *out, size_t cap)
{
	size_t i, o = 0;
	json_t *g;

	out[0] = '\0';
	if (!json_is_array(a) || json_array_size(a) > 32)
		return false;
	json_array_foreach(a, i, g) {
		const char *s = json_string_value(g);
		size_t n = s ? strlen(s) : 0;
		/* one name each: a comma would smuggle in a second group */
		if (!n || strchr(s, ',') || o + n + 2 > cap)
			return false;
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "," : "", s);
	}
	return user_groups_valid(out);
}

int admin_token_leeway(void)
{
	return JWT_LEEWAY;
}
