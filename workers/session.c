/* Session store: PostgreSQL + shared-memory cache (see session.h). */
#include "workers/session.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "proto/form.h"
#include "proto/revoke_notice.h"
#include "shm/shm.h"
#include "workers/token_revocation.h"
#include "workers/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

/* last_seen_at is written at most this often per session (idle expiry needs
 * no more), and well within the idle TTL: the database copy must not look idle
 * while the session is in use, or a cache miss would end a live session. */
#define SESSION_TOUCH_INTERVAL 60

static int64_t touch_interval(void)
{
	int64_t quarter = cfg.session_idle_ttl / 4;
	return quarter < 1 ? 1 : quarter < SESSION_TOUCH_INTERVAL ? quarter : SESSION_TOUCH_INTERVAL;
}

static void key_to_bytea(const uint8_t key[32], char out[2 + 64 + 1])
{
	out[0] = '\\';
	out[1] = 'x';
	secure_hex(key, 32, out + 2);
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Groups that do not fit are left out whole: a cut "admins-readonly" must
 * never become "admins". */
static void copy_groups(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);
	if (len < cap) {
		memcpy(dst, src, len + 1);
		return;
	}
	len = cap - 1;
	while (len > 0 && src[len] != ',')
		len--;
	memcpy(dst, src, len);
	dst[len] = '\0';
	log_warnx("a user's groups exceed %zu bytes; the last ones are left out of sessions", cap - 1);
}

static void notify(const char *payload)
{
	const char *params[] = { SESSION_NOTIFY_CHANNEL, payload };
	db_exec(worker->db, "SELECT pg_notify($1, $2)", 2, params);
}

void session_cookie_set(struct http_exchange *ex, const char *token)
{
	char cookie[512];
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s%s%s", cfg.cookie_name,
	    token, cfg.session_absolute_ttl, cfg.issuer_is_local_http ? "" : "; Secure",
	    cfg.cookie_domain ? "; Domain=" : "", cfg.cookie_domain ? cfg.cookie_domain : "");
	http_reply_header(ex, "Set-Cookie", cookie);
}

void session_cookie_clear(struct http_exchange *ex)
{
	char cookie[512];
	snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax%s%s%s", cfg.cookie_name,
	    cfg.issuer_is_local_http ? "" : "; Secure", cfg.cookie_domain ? "; Domain=" : "",
	    cfg.cookie_domain ? cfg.cookie_domain : "");
	http_reply_header(ex, "Set-Cookie", cookie);
}

static int session_load_from_db(const uint8_t key[32], struct session_entry *out)
{
	char hex[67];
	const char *params[] = { hex };
	PGresult *r;

	key_to_bytea(key, hex);
	r = db_query(worker->db,
	    "SELECT s.id, u.id, u.email, u.name, array_to_string(u.groups, ','), s.amr,"
	    " floor(extract(epoch from s.auth_time))::bigint, floor(extract(epoch from s.expires_at))::bigint,"
	    " floor(extract(epoch from s.last_seen_at))::bigint, u.is_admin"
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled",
	    1, params);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->key, key, 32);
	copy_field(out->session_id, sizeof(out->session_id), PQgetvalue(r, 0, 0));
	copy_field(out->user_id, sizeof(out->user_id), PQgetvalue(r, 0, 1));
	copy_field(out->email, sizeof(out->email), PQgetvalue(r, 0, 2));
	copy_field(out->name, sizeof(out->name), PQgetvalue(r, 0, 3));
	copy_groups(out->groups, sizeof(out->groups), PQgetvalue(r, 0, 4));
	copy_field(out->amr, sizeof(out->amr), PQgetvalue(r, 0, 5));
	out->auth_time = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	out->expires_at = strtoll(PQgetvalue(r, 0, 7), NULL, 10);
	int64_t last_seen = strtoll(PQgetvalue(r, 0, 8), NULL, 10);
	out->idle_expires_at = last_seen + cfg.session_idle_ttl;
	out->db_touched_at = last_seen;
	if (PQgetvalue(r, 0, 9)[0] == 't')
		out->flags |= SESSION_FLAG_ADMIN;
	PQclear(r);
	if (out->idle_expires_at <= now_seconds())
		return 0;
	return 1;
}

/* Cached copies are trusted only while worker 1's revocation listener is up
 * and the cache was cleared after it started (see session_listener_start):
 * otherwise another instance's revocation notice may have been lost, so every
 * lookup reads the database (zero staleness, at the cost of one query per
 * request until the listener is back, usually well under a second). */
static bool session_cache_trusted(void)
{
	return atomic_load(&worker->shm->status->revocations_listening) != 0;
}

static void set_listening(bool on)
{
	atomic_store(&worker->shm->status->revocations_listening, on ? 1 : 0);
}

/* Slide the idle expiry: in the cache always, in the database once a minute.
 * The database write doubles as a check that the session still stands, so a
 * revocation whose notice this instance missed ends the cached copy within a
 * touch interval. 1 still valid, 0 gone (dropped from the cache). A database
 * error keeps the session: the cache is sound while the listener is up, and
 * the next touch interval tries again. */
static int session_touch(struct session_entry *e)
{
	int64_t now = now_seconds();
	int64_t idle = now + cfg.session_idle_ttl;
	if (now - e->db_touched_at >= touch_interval()) {
		char hex[67];
		const char *params[] = { hex };
		key_to_bytea(e->key, hex);
		PGresult *r = db_query(worker->db,
		    "UPDATE sessions s SET last_seen_at = now() FROM users u"
		    " WHERE s.token_hash = $1 AND u.id = s.user_id AND s.revoked_at IS NULL AND s.expires_at > now()"
		    " AND NOT u.disabled RETURNING s.id",
		    1, params);
		e->db_touched_at = now;
		if (r) {
			int rows = PQntuples(r);
			PQclear(r);
			if (rows == 0) {
				session_cache_remove(worker->shm->sessions, e->key);
				return 0;
			}
		}
	}
	e->idle_expires_at = idle;
	session_cache_touch(worker->shm->sessions, e->key, idle, e->db_touched_at);
	return 1;
}

int session_lookup_token(const char *token, size_t len, struct session_entry *out, uint8_t key_out[32])
{
	uint8_t key[32];
	int rc;

	/* Our tokens are 43 base64url characters; anything else cannot match. */
	if (len != TOKEN_STR_LEN - 1)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	secure_sha256(token, len, key);
	if (key_out)
		memcpy(key_out, key, 32);
	if (session_cache_trusted() && session_cache_lookup(worker->shm->sessions, key, now_seconds(), out) == 1) {
		if (now_seconds() - out->db_touched_at >= touch_interval())
			return session_touch(out);
		return 1;
	}
	uint64_t removals = session_cache_removals(worker->shm->sessions);
	rc = session_load_from_db(key, out);
	if (rc == 1) {
		if (session_touch(out) == 0)
			return 0;
		session_cache_insert_if_unchanged(worker->shm->sessions, out, removals);
	}
	return rc;
}

int session_from_request(struct http_exchange *ex, struct session_entry *out, uint8_t key_out[32])
{
	const struct http_str *cookie = http_request_header(&ex->req, "cookie");
	const char *value;
	size_t value_len;

	if (!cookie || cookie_find(cookie->p, cookie->len, cfg.cookie_name, &value, &value_len) != 1)
		return 0;
	return session_lookup_token(value, value_len, out, key_out);
}

int session_create(struct http_exchange *ex, const char *user_id, const char *amr, struct session_entry *out)
{
	char token[TOKEN_STR_LEN], hex[67], idle[24], absolute[24];
	uint8_t key[32];
	const struct http_str *ua = http_request_header(&ex->req, "user-agent");
	char ua_buf[256];
	PGresult *r;

	secure_token(token);
	secure_sha256(token, strlen(token), key);
	key_to_bytea(key, hex);
	snprintf(absolute, sizeof(absolute), "%d", cfg.session_absolute_ttl);
	snprintf(idle, sizeof(idle), "%d", cfg.session_idle_ttl);
	snprintf(ua_buf, sizeof(ua_buf), "%.*s", ua ? (int)(ua->len < 255 ? ua->len : 255) : 0, ua ? ua->p : "");
	const char *params[] = { hex, user_id, amr, ex->client_ip, ua_buf, absolute };
	/* Before the INSERT: a "revoke all of this user's sessions" that commits
	 * after it must not find the new session missing from the cache yet. */
	uint64_t removals = session_cache_removals(worker->shm->sessions);
	r = db_query(worker->db,
	    "INSERT INTO sessions (token_hash, user_id, amr, ip, user_agent, auth_time, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5, now(), now() + make_interval(secs => $6::int)) RETURNING id",
	    6, params);
	if (!r || PQntuples(r) != 1) {
		if (r)
			PQclear(r);
		secure_wipe(token, sizeof(token));
		return -1;
	}
	PQclear(r);
	/* *out is what the caller answers with: without it there is no session to report. */
	if (session_load_from_db(key, out) != 1) {
		secure_wipe(token, sizeof(token));
		return -1;
	}
	session_cache_insert_if_unchanged(worker->shm->sessions, out, removals);
	session_cookie_set(ex, token);
	secure_wipe(token, sizeof(token));
	return 0;
}

int session_revoke_key(const uint8_t key[32])
{
	char hex[67], payload[80];
	const char *params[] = { hex };
	key_to_bytea(key, hex);
	if (!db_exec(worker->db, "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
	        1, params))
		return -1;
	session_cache_remove(worker->shm->sessions, key);
	snprintf(payload, sizeof(payload), "key:%s", hex + 2);
	notify(payload);
	return 0;
}

int session_revoke_id(const char *user_id, const char *session_id)
{
	char payload[80];
	const char *params[] = { user_id, session_id };
	PGresult *r = db_query(worker->db,
	    "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id::text = $2 AND revoked_at IS NULL"
	    " RETURNING id",
	    2, params);
	if (!r)
		return -1;
	int n = PQntuples(r);
	PQclear(r);
	if (n == 0)
		return 0;
	session_cache_remove_session_id(worker->shm->sessions, session_id);
	snprintf(payload, sizeof(payload), "session:%s", session_id);
	notify(payload);
	return 1;
}

int session_revoke_user(const char *user_id, const char *except_session_id)
{
	char payload[80];
	const char *params[] = { user_id, except_session_id ? except_session_id : "" };
	if (!db_exec(worker->db,
	        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id::text <> $2 AND revoked_at IS NULL",
	        2, params))
		return -1;
	if (except_session_id)
		snprintf(payload, sizeof(payload), "user-except:%s:%s", user_id, except_session_id);
	else
		snprintf(payload, sizeof(payload), "user:%s", user_id);
	session_cache_remove_user_except(worker->shm->sessions, user_id, except_session_id);
	notify(payload);
	return 0;
}

/* ---- cross-instance revocation: LISTEN on a dedicated connection ---- */

static PGconn *listen_db;
static struct event *listen_ev;

/* Payloads are parsed by proto/revoke_notice.c; unknown kinds are ignored. */
static void apply_notification(const char *payload)
{
	struct revoke_notice n;

	switch (revoke_notice_parse(payload, strlen(payload), &n)) {
	case REVOKE_NOTICE_SESSION_KEY: session_cache_remove(worker->shm->sessions, n.key); break;
	case REVOKE_NOTICE_SESSION_ID: session_cache_remove_session_id(worker->shm->sessions, n.session_id); break;
	case REVOKE_NOTICE_USER: session_cache_remove_user_except(worker->shm->sessions, n.user_id, NULL); break;
	case REVOKE_NOTICE_USER_EXCEPT:
		session_cache_remove_user_except(worker->shm->sessions, n.user_id, n.session_id);
		break;
	case REVOKE_NOTICE_ALL: session_cache_clear(worker->shm->sessions); break;
	case REVOKE_NOTICE_ACCESS_TOKEN: access_token_notice(&n); break;
	case REVOKE_NOTICE_INVALID: log_debug("ignoring an unknown revocation notice"); break;
	}
}

static struct event *listen_retry_ev;
static int listen_retry_ms;

static void listener_drop(void)
{
	set_listening(false);
	if (listen_ev)
		event_free(listen_ev);
	listen_ev = NULL;
	if (listen_db)
		PQfinish(listen_db);
	listen_db = NULL;
}

static void listen_retry_cb(evutil_socket_t fd, short what, void *arg);

/* The listener's connection broke (database restart, failover). This worker
 * keeps serving; the listener reconnects with backoff. Until then the
 * revoked-token table is marked incomplete (misses go to the database), and
 * once back, every cached session is dropped: notices sent meanwhile are
 * lost, so each session is read again from the database once. */
static void listener_lost(void)
{
	struct timeval delay;

	access_tokens_listener_lost();
	listener_drop();
	listen_retry_ms = listen_retry_ms ? listen_retry_ms * 2 : 250;
	if (listen_retry_ms > 5000)
		listen_retry_ms = 5000;
	delay.tv_sec = listen_retry_ms / 1000;
	delay.tv_usec = (listen_retry_ms % 1000) * 1000;
	if (!listen_retry_ev)
		listen_retry_ev = evtimer_new(worker->base, listen_retry_cb, NULL);
	if (!listen_retry_ev || evtimer_add(listen_retry_ev, &delay) < 0) {
		log_warnx("cannot schedule the revocation listener's reconnect; exiting so the master restarts us");
		exit(1);
	}
}

static int listener_connect_once(int timeout_ms);

static void listen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (listener_connect_once(0) < 0 || session_listener_start() < 0) {
		listener_lost();
		return;
	}
	if (!listen_db)
		return;		/* lost again at once: a retry is scheduled */
	listen_retry_ms = 0;
	log_info("revocation listener reconnected; session cache cleared");
}

static void listen_cb(evutil_socket_t fd, short what, void *arg)
{
	PGnotify *n;
	(void)fd;
	(void)what;
	(void)arg;
	if (!PQconsumeInput(listen_db)) {
		log_warnx("revocation listener lost its connection; reconnecting");
		listener_lost();
		return;
	}
	while ((n = PQnotifies(listen_db)) != NULL) {
		apply_notification(n->extra);
		PQfreemem(n);
	}
}

int session_listener_connect(void)
{
	return listener_connect_once(10000);
}

static int listener_connect_once(int timeout_ms)
{
	PGresult *r;
	listen_db = db_connect(cfg.database_url, timeout_ms);
	if (!listen_db)
		return -1;
	/* Named, so operators can tell it apart in pg_stat_activity. */
	r = PQexec(listen_db, "SET application_name = 'dreamauth revocation listener'; LISTEN " SESSION_NOTIFY_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warnx("LISTEN %s: %s", SESSION_NOTIFY_CHANNEL, PQerrorMessage(listen_db));
		PQclear(r);
		PQfinish(listen_db);
		listen_db = NULL;
		return -1;
	}
	PQclear(r);
	return 0;
}

int session_listener_start(void)
{
	if (!listen_db && session_listener_connect() < 0)
		return -1;
	/* After LISTEN, so nothing revoked in between is missed. */
	if (access_tokens_load_revoked(listen_db) < 0) {
		listener_drop();
		return -1;
	}
	listen_ev = event_new(worker->base, PQsocket(listen_db), EV_READ | EV_PERSIST, listen_cb, NULL);
	if (!listen_ev || event_add(listen_ev, NULL) < 0)
		return -1;
	/* Notices sent while no listener was up (this worker restarting, or its
	 * connection lost) are gone: drop every cached session so each is read
	 * again from the database, then trust the cache again. After LISTEN, so
	 * a revocation from here on arrives as a notice; a copy read from the
	 * database before the clear is refused by the removal counter. */
	session_cache_clear(worker->shm->sessions);
	set_listening(true);
	/* Anything that arrived between LISTEN and now. */
	listen_cb(-1, EV_READ, NULL);
	return 0;
}

/* For good: the listener and its pending reconnect, if any. */
void session_listener_stop(void)
{
	listener_drop();
	if (listen_retry_ev)
		event_free(listen_retry_ev);
	listen_retry_ev = NULL;
}
