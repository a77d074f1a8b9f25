/* The revocation listener thread of the store actor (see listener.h). */
#include "store/listener.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "proto/revoke_notice.h"
#include "shm/revoked_tokens.h"
#include "shm/session_cache.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOTIFY_CHANNEL "dreamauth_revoke"
/* migrations/011: a message was queued; the mailer wakes (mail/mailer.c). */
#define OUTBOX_CHANNEL "dreamauth_outbox"
/* A transaction holds its seq from INSERT to COMMIT, so numbers can become
 * visible out of order: a catch-up also re-reads everything logged in this
 * window before the outage (re-applying a revocation is harmless). */
#define CATCH_UP_MARGIN_S 60
#define LOG_RETENTION "1 day"
/* Access tokens pass for JWT_LEEWAY after exp (workers/jwt_local.h). */
#define TOKEN_LEEWAY_S 60

static struct shm_region *shm;
static pthread_t thread;
static _Atomic int stopping;
static PGconn *conn;

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

static void apply(const struct revoke_notice *n)
{
	switch (n->kind) {
	case REVOKE_NOTICE_SESSION_KEY: session_cache_remove(shm->sessions, n->key); break;
	case REVOKE_NOTICE_SESSION_ID: session_cache_remove_session_id(shm->sessions, n->session_id); break;
	case REVOKE_NOTICE_USER: session_cache_remove_user_except(shm->sessions, n->user_id, NULL); break;
	case REVOKE_NOTICE_USER_EXCEPT: session_cache_remove_user_except(shm->sessions, n->user_id, n->session_id); break;
	case REVOKE_NOTICE_ALL: session_cache_clear(shm->sessions); break;
	case REVOKE_NOTICE_ACCESS_TOKEN: {
		int64_t until = n->exp > INT64_MAX - TOKEN_LEEWAY_S - 1 ? INT64_MAX : n->exp + TOKEN_LEEWAY_S + 1;
		revoked_tokens_add(shm->revoked, n->jti, strlen(n->jti), now_seconds(), until);
		break;
	}
	case REVOKE_NOTICE_INVALID: log_debug("ignoring an unknown revocation notice"); break;
	}
}

static void note_seq(int64_t seq)
{
	int64_t seen = atomic_load(&shm->status->revocation_seq);
	while (seq > seen && !atomic_compare_exchange_weak(&shm->status->revocation_seq, &seen, seq))
		;
}

/* A logged notice ("<seq> <payload>") or, from an older instance, a bare one. */
static void apply_payload(const char *payload)
{
	struct revoke_notice n;
	int64_t seq;

	if (revoke_notice_parse_logged(payload, strlen(payload), &seq, &n) != REVOKE_NOTICE_INVALID) {
		apply(&n);
		note_seq(seq);
	} else if (revoke_notice_parse(payload, strlen(payload), &n) != REVOKE_NOTICE_INVALID) {
		apply(&n);
	}
}

static bool exec_ok(PGresult *r, ExecStatusType want, const char *what)
{
	bool ok = PQresultStatus(r) == want;
	if (!ok)
		log_warnx("revocation listener: %s: %s", what, PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

/* Every revoked access token that could still pass, into the shared table. */
static bool load_revoked_tokens(void)
{
	char leeway[16];
	const char *params[] = { leeway };
	snprintf(leeway, sizeof(leeway), "%d", TOKEN_LEEWAY_S);
	PGresult *r = PQexecParams(conn,
	    "SELECT jti, floor(extract(epoch FROM expires_at))::bigint AS exp FROM oauth_access_tokens"
	    " WHERE revoked_at IS NOT NULL AND expires_at > now() - make_interval(secs => $1::int)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return exec_ok(r, PGRES_TUPLES_OK, "loading revoked access tokens");
	int jti = PQfnumber(r, "jti"), exp = PQfnumber(r, "exp");
	for (int i = 0; i < PQntuples(r); i++) {
		struct revoke_notice n = { .kind = REVOKE_NOTICE_ACCESS_TOKEN };
		const char *v = PQgetvalue(r, i, jti);
		if (!revoke_notice_jti_valid(v, strlen(v)))
			continue;
		snprintf(n.jti, sizeof(n.jti), "%s", v);
		n.exp = strtoll(PQgetvalue(r, i, exp), NULL, 10);
		apply(&n);
	}
	PQclear(r);
	revoked_tokens_set_complete(shm->revoked, true);
	return true;
}

/* After LISTEN: apply what was logged since the last seq we applied (and the
 * margin before the outage). With nothing to start from — this region is
 * new — or a gap the log no longer covers, clear the cache instead. */
static bool catch_up(void)
{
	char last[24], since[24];
	int64_t seen = atomic_load(&shm->status->revocation_seq);
	int64_t down = atomic_load(&shm->status->listener_down_since);
	const char *params[] = { last, since };
	PGresult *r;

	snprintf(last, sizeof(last), "%lld", (long long)seen);
	snprintf(since, sizeof(since), "%lld", (long long)(down ? down : now_seconds()) - CATCH_UP_MARGIN_S);
	r = PQexecParams(conn,
	    "SELECT coalesce(min(seq), 0) AS first, coalesce(max(seq), 0) AS last FROM revocation_log", 0, NULL, NULL,
	    NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return exec_ok(r, PGRES_TUPLES_OK, "reading the revocation log");
	int64_t first = strtoll(PQgetvalue(r, 0, 0), NULL, 10), newest = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	bool synced = atomic_load(&shm->status->revocations_synced);
	if (!synced || seen > newest || first > seen + 1) {
		if (synced)
			log_warnx("revocation log does not cover the outage; session cache cleared");
		session_cache_clear(shm->sessions);
		atomic_store(&shm->status->revocation_seq, newest);	/* may go down: another database */
		atomic_store(&shm->status->revocations_synced, 1);
		return true;
	}
	r = PQexecParams(conn,
	    "SELECT seq, payload FROM revocation_log WHERE seq > $1::bigint OR created_at >= to_timestamp($2::bigint)"
	    " ORDER BY seq",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return exec_ok(r, PGRES_TUPLES_OK, "catching up with the revocation log");
	int seq = PQfnumber(r, "seq"), payload = PQfnumber(r, "payload"), n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		struct revoke_notice notice;
		const char *p = PQgetvalue(r, i, payload);
		if (revoke_notice_parse(p, strlen(p), &notice) != REVOKE_NOTICE_INVALID)
			apply(&notice);
		note_seq(strtoll(PQgetvalue(r, i, seq), NULL, 10));
	}
	PQclear(r);
	if (n)
		log_info("revocation listener caught up: %d revocations since #%s", n, last);
	return true;
}

static bool connect_and_listen(void)
{
	conn = db_connect(cfg.database_url, 0);
	if (!conn)
		return false;
	if (!exec_ok(PQexec(conn, "SET application_name = 'dreamauth revocation listener'; LISTEN " NOTIFY_CHANNEL
	                                "; LISTEN " OUTBOX_CHANNEL),
	        PGRES_COMMAND_OK, "LISTEN") ||
	    !load_revoked_tokens() || !catch_up()) {
		PQfinish(conn);
		conn = NULL;
		return false;
	}
	atomic_store(&shm->status->revocations_listening, 1);
	atomic_fetch_add(&shm->status->outbox_wakeups, 1);	/* what was queued while we were away */
	return true;
}

static void lost(void)
{
	shm_revocations_listener_down(shm->status, now_seconds());
	/* The grace covers sessions; access tokens follow the same rule. */
	if (cfg.revocation_listener_grace <= 0)
		revoked_tokens_set_complete(shm->revoked, false);
	if (conn)
		PQfinish(conn);
	conn = NULL;
}

static void drain_notifications(void)
{
	PGnotify *n;
	while ((n = PQnotifies(conn)) != NULL) {
		if (!strcmp(n->relname, OUTBOX_CHANNEL))
			atomic_fetch_add(&shm->status->outbox_wakeups, 1);
		else
			apply_payload(n->extra);
		PQfreemem(n);
	}
}

static void trim_log(void)
{
	PGresult *r = PQexec(conn, "DELETE FROM revocation_log WHERE created_at < now() - interval '" LOG_RETENTION "'");
	exec_ok(r, PGRES_COMMAND_OK, "trimming the revocation log");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void *listener_main(void *arg)
{
	int backoff = 0;
	int64_t last_trim = 0;
	bool was_up = false;
	(void)arg;

	while (!atomic_load(&stopping)) {
		if (!conn) {
			if (!connect_and_listen()) {
				backoff = backoff ? backoff * 2 : 250;
				backoff = backoff > 5000 ? 5000 : backoff;
				for (int waited = 0; waited < backoff && !atomic_load(&stopping); waited += 100)
					sleep_ms(100);
				continue;
			}
			if (was_up)
				log_info("revocation listener reconnected");
			was_up = true;
			backoff = 0;
		}
		struct pollfd p = { .fd = PQsocket(conn), .events = POLLIN };
		/* A statement that failed on a broken link (the trim) leaves it
		 * CONNECTION_BAD with no socket to poll: that is a loss too. */
		if (PQstatus(conn) != CONNECTION_OK || p.fd < 0 ||
		    (poll(&p, 1, 1000) > 0 && !PQconsumeInput(conn))) {
			log_warnx("revocation listener lost its connection; reconnecting");
			lost();
			continue;
		}
		drain_notifications();
		if (now_seconds() - last_trim > 3600) {
			last_trim = now_seconds();
			trim_log();
		}
	}
	if (conn)
		PQfinish(conn);
	conn = NULL;
	return NULL;
}

int store_listener_start(struct shm_region *region)
{
	shm = region;
	if (pthread_create(&thread, NULL, listener_main, NULL) != 0) {
		log_warnx("cannot start the revocation listener thread");
		return -1;
	}
	return 0;
}

void store_listener_stop(void)
{
	atomic_store(&stopping, 1);
	pthread_join(thread, NULL);
}
