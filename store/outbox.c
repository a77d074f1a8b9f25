/*
 * The mailer's side of the outbox (proto/store_ops.h STORE_OPS_MAILER;
 * migrations/011): claim the next due message under a lease, mark it
 * delivered, or count a failure and schedule the retry. Claims skip rows
 * another mailer holds (FOR UPDATE SKIP LOCKED), so instances share the
 * outbox; a lease that runs out (the mailer died mid-delivery) makes the
 * message due again: at-least-once delivery.
 *
 * Bodies carry links and codes in clear (the tokens' hashes are all the
 * other tables keep): a message done with, delivered or given up, has its
 * subject and bodies erased in the same statement, so a database dump holds
 * only what is still waiting to go out.
 */
#include "store/store_run.h"
#include "common/config.h"
#include "common/log.h"

#include <stdlib.h>

#define ERASE_CONTENT "subject = '', body_text = '', body_html = ''"

void store_outbox_claim(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value give_up[] = { STORE_V_INT(cfg.smtp_max_attempts) };
	/* A message whose deliveries keep dying with the mailer (its lease ran
	 * out SMTP_MAX_ATTEMPTS times) is given up rather than crash it forever. */
	PGresult *g = store_query_values(db,
	    "UPDATE outbox SET failed_at = now(), last_error = coalesce(last_error, 'lease expired'), " ERASE_CONTENT
	    " WHERE delivered_at IS NULL AND failed_at IS NULL AND attempts >= $1::int AND locked_until <= now()"
	    " RETURNING id",
	    give_up, 1);
	for (int i = 0; g && i < PQntuples(g); i++)
		log_errorx("outbox message %s given up after %d attempts", PQgetvalue(g, i, 0), cfg.smtp_max_attempts);
	PQclear(g);
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH c AS (SELECT id FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL"
	        "   AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until <= now())"
	        "   ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	        " UPDATE outbox o SET attempts = o.attempts + 1,"
	        "   locked_until = now() + make_interval(secs => $1::int)"
	        " FROM c WHERE o.id = c.id"
	        " RETURNING o.id, o.recipient, o.subject, o.body_text, o.body_html,"
	        "   floor(extract(epoch FROM o.created_at))::bigint AS created_unix, o.attempts",
	        req));
}

void store_outbox_delivered(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH d AS (UPDATE outbox SET delivered_at = now(), locked_until = NULL, last_error = NULL, " ERASE_CONTENT
	        "   WHERE id = $1::bigint AND delivered_at IS NULL RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM d",
	        req));
}

void store_outbox_failed(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value v[] = { req->args[0], req->args[1], STORE_V_INT(cfg.smtp_retry_base),
		STORE_V_INT(cfg.smtp_max_attempts) };
	store_result_take(res, db, req,
	    store_query_values(db,
	        "WITH f AS (UPDATE outbox SET last_error = left($2, 500), locked_until = NULL,"
	        "   next_attempt_at = now() + make_interval(secs => least($3::bigint * power(2, least(attempts - 1, 20))::bigint,"
	        "     86400)::int),"
	        "   failed_at = CASE WHEN attempts >= $4::int THEN now() END,"
	        "   subject = CASE WHEN attempts >= $4::int THEN '' ELSE subject END,"
	        "   body_text = CASE WHEN attempts >= $4::int THEN '' ELSE body_text END,"
	        "   body_html = CASE WHEN attempts >= $4::int THEN '' ELSE body_html END"
	        "   WHERE id = $1::bigint AND delivered_at IS NULL RETURNING failed_at IS NOT NULL AS gave_up)"
	        " SELECT count(*) FILTER (WHERE gave_up)::bigint AS n FROM f",
	        v, 4));
	if (res->reply.status == STORE_OK && res->reply.n_rows == 1 && store_int(&res->reply, 0, COUNT_N) > 0)
		log_errorx("outbox message %lld given up after %d attempts: %s", (long long)req->args[0].i,
		    cfg.smtp_max_attempts, req->args[1].text);
}
