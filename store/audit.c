/*
 * The audit log's writes (see audit.h): store functions call
 * store_audit_record inside their transaction; the JSON line for
 * AUDIT_LOG=stdout waits in a per-thread list until store_commit says the
 * transaction committed (store_audit_transaction_end). Also the two
 * operations workers may ask: record a failure only a worker knows (a wrong
 * password), and query the log (GET /api/admin/audit).
 */
#include "store/audit.h"
#include "store/store_run.h"
#include "store/admin_actor.h"
#include "common/config.h"
#include "common/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The row as the JSON line says it. */
#define AUDIT_INSERT                                                                                            \
	"INSERT INTO audit_log (event, result, method, actor_user_id, actor_client_id, target_type, target_id,"  \
	" client_ip, user_agent, detail)"                                                                       \
	" VALUES ($1, $2, $3, $4::uuid, $5, $6, $7, $8, $9, coalesce($10::jsonb, '{}'::jsonb))"                 \
	" RETURNING json_build_object('id', id, 'at',"                                                          \
	" to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'event', event, 'result', result," \
	" 'method', method, 'actor_user_id', actor_user_id, 'actor_client_id', actor_client_id,"                \
	" 'target_type', target_type, 'target_id', target_id, 'client_ip', client_ip,"                          \
	" 'user_agent', user_agent, 'detail', detail)::text AS line"

/* Lines of this thread's open transaction. */
struct pending_line {
	char *text;
	struct pending_line *next;
};
static _Thread_local struct pending_line *pending, *pending_last;
static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *audit_out;	/* NULL: stdout */

void store_audit_lines_to(FILE *out)
{
	audit_out = out;
}

bool audit_request_from_cli(const struct store_request *req)
{
	return !req->ctx.client_ip && !req->ctx.user_agent && !req->ctx.actor_user_id;
}

struct audit_event audit_event_for(const struct store_request *req, const char *event, const char *method,
    const char *actor_user_id)
{
	bool from_cli = audit_request_from_cli(req);

	if (!method)	/* an operation run by the CLI, or by an admin for someone else */
		method = from_cli ? "cli" : req->ctx.actor_user_id ? "admin" : NULL;
	return (struct audit_event){
		.event = event,
		.method = method,
		.actor_user_id = req->ctx.actor_user_id ? req->ctx.actor_user_id : actor_user_id,
		.client_ip = req->ctx.client_ip,
		.user_agent = req->ctx.user_agent,
	};
}

/* One line, ASCII only (jansson escapes the rest, and DEL by hand), so a
 * terminal or a log shipper reading it sees exactly one event. */
static char *ascii_line(const char *json_text)
{
	json_t *j = json_loads(json_text, 0, NULL);
	char *out = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!out || !strchr(out, 0x7f))
		return out;
	size_t n = strlen(out), dels = 0;
	for (size_t i = 0; i < n; i++)
		dels += out[i] == 0x7f;
	char *wide = malloc(n + dels * 5 + 1), *o = wide;
	if (wide) {
		for (size_t i = 0; i < n; i++)
			o = out[i] == 0x7f ? memcpy(o, "\\u007f", 6), o + 6 : (*o = out[i], o + 1);
		*o = '\0';
	}
	free(out);
	return wide;
}

static void write_line(const char *line)
{
	size_t n = strlen(line);
	FILE *out = audit_out ? audit_out : stdout;
	pthread_mutex_lock(&stdout_lock);
	fwrite(line, 1, n, out);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&stdout_lock);
}

void store_audit_transaction_end(bool committed)
{
	struct pending_line *p = pending, *next;

	for (; p; p = next) {
		next = p->next;
		if (committed)
			write_line(p->text);
		free(p->text);
		free(p);
	}
	pending = pending_last = NULL;
}

static void keep_line(const char *json_text, bool in_transaction)
{
	char *line = ascii_line(json_text);
	struct pending_line *p;

	if (!line) {
		log_warnx("audit: could not format an event for AUDIT_LOG");
		return;
	}
	if (!in_transaction) {
		write_line(line);
		free(line);
		return;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		free(line);
		return;
	}
	p->text = line;
	if (pending_last)
		pending_last->next = p;
	else
		pending = p;
	pending_last = p;
}

static struct store_value text_or_null(const char *s)
{
	return s ? STORE_V_TEXT(s) : STORE_V_NULL;
}

bool store_audit_record(PGconn *db, const struct audit_event *ev)
{
	const struct store_value values[] = {
		STORE_V_TEXT(ev->event), STORE_V_TEXT(ev->result ? ev->result : "success"),
		STORE_V_TEXT(ev->method ? ev->method : ""), text_or_null(ev->actor_user_id),
		text_or_null(ev->actor_client_id), text_or_null(ev->target_type), text_or_null(ev->target_id),
		text_or_null(ev->client_ip), text_or_null(ev->user_agent), text_or_null(ev->detail),
	};
	bool in_transaction = PQtransactionStatus(db) == PQTRANS_INTRANS;
	PGresult *r = store_query_values(db, AUDIT_INSERT, values, sizeof(values) / sizeof(values[0]));

	if (!r) {
		log_warnx("audit: could not record %s", ev->event);
		return false;
	}
	if (cfg.audit_log_stdout && PQntuples(r) == 1)
		keep_line(PQgetvalue(r, 0, 0), in_transaction);
	PQclear(r);
	return true;
}

bool store_audit(PGconn *db, const struct store_request *req, const char *event, const char *method,
    const char *actor_user_id, const char *target_type, const char *target_id, const char *detail)
{
	struct audit_event ev = audit_event_for(req, event, method, actor_user_id);
	ev.target_type = target_type;
	ev.target_id = target_id;
	ev.detail = detail;
	return store_audit_record(db, &ev);
}

bool store_audit_admin(PGconn *db, const struct store_request *req, const char *actor, const char *event,
    const char *target)
{
	struct audit_event ev = { .event = event, .method = "admin", .target_id = target && *target ? target : NULL,
		.client_ip = req ? req->ctx.client_ip : NULL, .user_agent = req ? req->ctx.user_agent : NULL };
	char type[33] = "";
	const char *dot = strncmp(event, "admin.", 6) == 0 ? strchr(event + 6, '.') : NULL;

	if (actor && strncmp(actor, "user:", 5) == 0)
		ev.actor_user_id = actor + 5;
	else if (actor && strncmp(actor, "client:", 7) == 0)
		ev.actor_client_id = actor + 7;
	/* admin.<type>.<verb>: the target's type */
	if (dot && (size_t)(dot - event - 6) < sizeof(type)) {
		memcpy(type, event + 6, (size_t)(dot - event - 6));
		type[dot - event - 6] = '\0';
		ev.target_type = type;
	}
	return store_audit_record(db, &ev);
}

const char *audit_detail(char *buf, size_t cap, ...)
{
	json_t *o = json_object();
	va_list ap;
	const char *name;

	va_start(ap, cap);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		if (value && o)
			json_object_set_new(o, name, json_string(value));
	}
	va_end(ap);
	size_t n = o ? json_dumpb(o, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
	json_decref(o);
	if (n == 0 || n >= cap)
		return "{}";
	buf[n] = '\0';
	return buf;
}

/* ---- operations ---- */

/* A failure only a worker knows (the kdf said the password is wrong, a code
 * was refused): event, result, method, actor_user_id, target_type,
 * target_id, detail. Successes are recorded by the operations that make
 * them, so a worker may record failures only. */
void store_audit_failure(PGconn *db, const struct store_request *req, struct store_result *res)
{
	struct audit_event ev = audit_event_for(req, req->args[0].text, req->args[2].text,
	    req->args[3].kind == STORE_TEXT ? req->args[3].text : NULL);
	json_t *detail = NULL;

	if (strcmp(req->args[1].text, "failure") != 0) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	if (req->args[6].kind == STORE_TEXT) {
		detail = json_loads(req->args[6].text, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(detail) || req->args[6].len > 2048) {
			json_decref(detail);
			res->reply.status = STORE_REFUSED;
			return;
		}
		json_decref(detail);
		ev.detail = req->args[6].text;
	}
	ev.result = "failure";
	ev.target_type = req->args[4].kind == STORE_TEXT ? req->args[4].text : NULL;
	ev.target_id = req->args[5].kind == STORE_TEXT ? req->args[5].text : NULL;
	if (!store_audit_record(db, &ev)) {
		res->reply.status = store_failure_status(db);
		return;
	}
	store_result_take(res, db, req, store_query_values(db, "SELECT 1::bigint AS n", NULL, 0));
}

/* since, until (Unix seconds), actor (a user id or a client id), target_id,
 * event, limit, cursor (the last id of the page before) -> the entries,
 * newest first. */
#define AUDIT_QUERY_SQL \
	"SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, event, result," \
	" method, actor_user_id::text AS actor_user_id, actor_client_id, target_type, target_id, client_ip," \
	" user_agent, detail::text AS detail FROM audit_log" \
	" WHERE ($1::bigint IS NULL OR at >= to_timestamp($1::bigint))" \
	" AND ($2::bigint IS NULL OR at < to_timestamp($2::bigint))" \
	" AND ($3::text IS NULL OR actor_client_id = $3 OR actor_user_id =" \
	"  CASE WHEN $3 ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN $3::uuid END)" \
	" AND ($4::text IS NULL OR target_id = $4) AND ($5::text IS NULL OR event = $5)" \
	" AND ($7::bigint IS NULL OR id < $7::bigint)" \
	" ORDER BY id DESC LIMIT least(greatest($6::int, 1), 100)"

void store_audit_query(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req, store_query(db, AUDIT_QUERY_SQL, req));
}

/* The same for an admin: the proof checked in the query's transaction. */
void store_admin_audit_query(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char actor[ADMIN_ACTOR_MAX];
	PGresult *r;

	if (!admin_begin(db, req, res, actor))
		return;
	r = admin_query(db, AUDIT_QUERY_SQL, req);
	store_commit_take(res, db, req, r != NULL, r, false);
}
