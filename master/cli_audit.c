/*
 * `dreamauth audit [--since UNIX] [--until UNIX] [--actor ID] [--target ID]
 * [--event NAME] [--limit N]`: the audit log, newest first, one JSON object
 * a line (as GET /api/admin/audit's entries), through the same store
 * operation (STORE_OP_AUDIT_QUERY). --limit is the number of entries in all
 * (default 100); pages are fetched as they fit.
 */
#include "master/cli.h"
#include "master/master.h"
#include "proto/store_wire.h"
#include "store/store_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: dreamauth audit [--since UNIX] [--until UNIX] [--actor ID] [--target ID] [--event NAME]"
			" [--limit N]\n");
	return 2;
}

static bool number(const char *v, int64_t *out)
{
	size_t n = strlen(v);
	if (n == 0 || n > 15 || strspn(v, "0123456789") != n)
		return false;
	*out = strtoll(v, NULL, 10);
	return true;
}

static json_t *nullable(const struct store_reply *r, unsigned row, unsigned col)
{
	return store_is_null(r, row, col) ? json_null() : json_string(store_text(r, row, col));
}

static void print_entry(const struct store_reply *r, unsigned i)
{
	json_t *detail = json_loads(store_text(r, i, AUDIT_ENTRY_DETAIL), 0, NULL);
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)store_int(r, i, AUDIT_ENTRY_ID), "at", store_text(r, i, AUDIT_ENTRY_AT), "event",
	    store_text(r, i, AUDIT_ENTRY_EVENT), "result", store_text(r, i, AUDIT_ENTRY_RESULT), "method",
	    store_text(r, i, AUDIT_ENTRY_METHOD), "actor_user_id", nullable(r, i, AUDIT_ENTRY_ACTOR_USER_ID),
	    "actor_client_id", nullable(r, i, AUDIT_ENTRY_ACTOR_CLIENT_ID), "target_type",
	    nullable(r, i, AUDIT_ENTRY_TARGET_TYPE), "target_id", nullable(r, i, AUDIT_ENTRY_TARGET_ID), "client_ip",
	    nullable(r, i, AUDIT_ENTRY_CLIENT_IP), "user_agent", nullable(r, i, AUDIT_ENTRY_USER_AGENT), "detail",
	    detail ? detail : json_object());
	/* ASCII only: a terminal shows exactly what is stored */
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

int cli_audit(int argc, char **argv)
{
	struct store_value since = STORE_V_NULL, until = STORE_V_NULL, actor = STORE_V_NULL, target = STORE_V_NULL,
			   event = STORE_V_NULL;
	int64_t total = 100, n, cursor = 0, page = 50;
	int pg_pid, rc = 0;

	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		i++;
		if (!strcmp(opt, "--since") && number(v, &n))
			since = STORE_V_INT(n);
		else if (!strcmp(opt, "--until") && number(v, &n))
			until = STORE_V_INT(n);
		else if (!strcmp(opt, "--actor") && strlen(v) < 256)
			actor = STORE_V_TEXT(v);
		else if (!strcmp(opt, "--target") && strlen(v) < 256)
			target = STORE_V_TEXT(v);
		else if (!strcmp(opt, "--event") && strlen(v) <= 64)
			event = STORE_V_TEXT(v);
		else if (!strcmp(opt, "--limit") && number(v, &total) && total > 0)
			;
		else
			return usage();
	}
	PGconn *db = cli_connect(&pg_pid);
	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	while (total > 0) {
		struct store_reply r;
		int64_t want = total < page ? total : page;
		const struct store_value args[] = { since, until, actor, target, event, STORE_V_INT(want),
			cursor ? STORE_V_INT(cursor) : STORE_V_NULL };
		int status = store_exec(db, STORE_OP_AUDIT_QUERY, args, 7, &r);
		if (status == STORE_TOO_LARGE && page > 1) {
			page /= 2;
			continue;
		}
		if (status != STORE_OK) {
			fprintf(stderr, "dreamauth: could not read the audit log (%s)\n", store_status_text(status));
			rc = 1;
			store_reply_free(&r);
			break;
		}
		for (unsigned i = 0; i < r.n_rows; i++)
			print_entry(&r, i);
		total -= r.n_rows;
		if (r.n_rows)
			cursor = store_int(&r, r.n_rows - 1, AUDIT_ENTRY_ID);
		bool more = r.n_rows == want;
		store_reply_free(&r);
		if (!more)
			break;
	}
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}
