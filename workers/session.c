/* Sessions: the store actor + the shared-memory cache (see session.h). */
#include "workers/session.h"
#include "workers/metrics_hooks.h"
#include "common/config.h"
#include "common/log.h"
#include "proto/form.h"
#include "shm/shm.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* last_seen_at is written at most this often per session (idle expiry needs
 * no more), and well within the idle TTL: the database copy must not look idle
 * while the session is in use, or a cache miss would end a live session. */
#define SESSION_TOUCH_INTERVAL 60

static int64_t touch_interval(void)
{
	int64_t quarter = cfg.session_idle_ttl / 4;
	return quarter < 1 ? 1 : quarter < SESSION_TOUCH_INTERVAL ? quarter : SESSION_TOUCH_INTERVAL;
}

void session_key_hex(const uint8_t key[32], char out[2 + 64 + 1])
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

/* A STORE_SHAPE_SESSION row into a cache entry. 1 live, 0 idle-expired. */
static int entry_from_row(const struct store_reply *r, const uint8_t key[32], struct session_entry *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key, key, 32);
	copy_field(out->session_id, sizeof(out->session_id), store_text(r, 0, SESSION_ID));
	copy_field(out->user_id, sizeof(out->user_id), store_text(r, 0, SESSION_USER_ID));
	copy_field(out->email, sizeof(out->email), store_text(r, 0, SESSION_EMAIL));
	copy_field(out->name, sizeof(out->name), store_text(r, 0, SESSION_NAME));
	copy_groups(out->groups, sizeof(out->groups), store_text(r, 0, SESSION_GROUPS));
	copy_field(out->amr, sizeof(out->amr), store_text(r, 0, SESSION_AMR));
	out->auth_time = store_int(r, 0, SESSION_AUTH_TIME);
	out->expires_at = store_int(r, 0, SESSION_EXPIRES_AT);
	int64_t last_seen = store_int(r, 0, SESSION_LAST_SEEN);
	out->idle_expires_at = last_seen + cfg.session_idle_ttl;
	out->db_touched_at = last_seen;
	if (store_bool(r, 0, SESSION_IS_ADMIN))
		out->flags |= SESSION_FLAG_ADMIN;
	return out->idle_expires_at > now_seconds();
}

/* Cached copies are trusted while the store's revocation listener is up,
 * and for REVOCATION_LISTENER_GRACE seconds after it went down (a database
 * restart): revocations made meanwhile reach the cache when the listener
 * catches up. Otherwise every lookup asks the store. */
static bool session_cache_trusted(void)
{
	return shm_revocations_trusted(worker->shm->status, now_seconds(), cfg.revocation_listener_grace);
}

/* ---- sliding the idle expiry ---- */

struct touch {
	uint8_t key[32];
};

static void touched(const struct store_reply *r, void *arg)
{
	struct touch *t = arg;
	/* The write doubles as a check that the session still stands: a
	 * revocation whose notice this instance missed ends the cached copy
	 * within a touch interval. A store failure keeps it; the next interval
	 * tries again. */
	if (r->status == STORE_OK && store_int(r, 0, COUNT_N) == 0)
		session_cache_remove(worker->shm->sessions, t->key);
	free(t);
}

/* In the cache always; in the database once a touch interval, without
 * waiting for it (a cached session is answered at once). */
static void session_touch(struct session_entry *e)
{
	int64_t now = now_seconds();

	if (now - e->db_touched_at >= touch_interval()) {
		struct touch *t = malloc(sizeof(*t));
		if (t) {
			char hex[67];
			memcpy(t->key, e->key, 32);
			session_key_hex(e->key, hex);
			STORE_CALL(STORE_OP_SESSION_TOUCH, touched, t, STORE_V_TEXT(hex));
		}
		e->db_touched_at = now;
	}
	e->idle_expires_at = now + cfg.session_idle_ttl;
	session_cache_touch(worker->shm->sessions, e->key, e->idle_expires_at, e->db_touched_at);
}

/* ---- lookups ---- */

struct lookup {
	struct http_exchange *ex;
	session_done_fn done;
	void *arg;
	uint8_t key[32];
	uint64_t removals;
	uint64_t inserts;	/* the key's negative-cache generation when asked */
};

static void loaded(const struct store_reply *r, void *arg)
{
	struct lookup *l = arg;
	struct session_entry e;

	if (store_failed(r)) {
		l->done(l->ex, -1, NULL, l->arg);
	} else if (r->n_rows != 1 || !entry_from_row(r, l->key, &e)) {
		/* Unknown (or ended): remembered briefly, so a stream of bogus
		 * cookies costs one store call each per few seconds, not one per
		 * request. Refused if the session was created meanwhile. */
		session_cache_note_unknown(worker->shm->sessions, l->key, now_seconds(), l->inserts);
		l->done(l->ex, 0, NULL, l->arg);
	} else {
		session_cache_insert_if_unchanged(worker->shm->sessions, &e, l->removals);
		session_touch(&e);
		l->done(l->ex, 1, &e, l->arg);
	}
	free(l);
}

static bool token_shape_ok(const char *token, size_t len)
{
	/* Our tokens are 43 base64url characters; anything else cannot match. */
	if (len != TOKEN_STR_LEN - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

void session_lookup_token(struct http_exchange *ex, const char *token, size_t len, session_done_fn done, void *arg)
{
	struct session_entry e;
	uint8_t key[32];
	char hex[67];

	if (!token_shape_ok(token, len)) {
		done(ex, 0, NULL, arg);
		return;
	}
	secure_sha256(token, len, key);
	if (session_cache_trusted() && session_cache_lookup(worker->shm->sessions, key, now_seconds(), &e) == 1) {
		metrics_session_cache(true);
		session_touch(&e);
		done(ex, 1, &e, arg);
		return;
	}
	if (session_cache_known_unknown(worker->shm->sessions, key, now_seconds())) {
		metrics_session_cache(true);	/* answered without the store: a hit of the negative cache */
		done(ex, 0, NULL, arg);
		return;
	}
	metrics_session_cache(false);
	struct lookup *l = calloc(1, sizeof(*l));
	if (!l) {
		done(ex, -1, NULL, arg);
		return;
	}
	*l = (struct lookup){ .ex = ex, .done = done, .arg = arg };
	memcpy(l->key, key, 32);
	/* Before asking: a revocation that starts meanwhile keeps the answer
	 * out of the cache, a creation keeps a "not found" out of the negative cache. */
	l->removals = session_cache_removals(worker->shm->sessions);
	l->inserts = session_cache_insert_generation(worker->shm->sessions, key);
	session_key_hex(key, hex);
	STORE_CALL(STORE_OP_SESSION_LOAD, loaded, l, STORE_V_TEXT(hex));
}

void session_from_request(struct http_exchange *ex, session_done_fn done, void *arg)
{
	const struct http_str *cookie = http_request_header(&ex->req, "cookie");
	const char *value;
	size_t value_len;

	if (!cookie || cookie_find(cookie->p, cookie->len, cfg.cookie_name, &value, &value_len) != 1) {
		done(ex, 0, NULL, arg);
		return;
	}
	session_lookup_token(ex, value, value_len, done, arg);
}

/* ---- creation ---- */

struct creation {
	struct lookup l;
	char token[TOKEN_STR_LEN];
};

static void created(const struct store_reply *r, void *arg)
{
	struct creation *c = arg;
	struct session_entry e;

	/* The reply is what the caller answers with: without it there is no session to report. */
	if (store_failed(r) || r->n_rows != 1 || !entry_from_row(r, c->l.key, &e)) {
		c->l.done(c->l.ex, -1, NULL, c->l.arg);
	} else {
		e.db_touched_at = now_seconds();
		session_cache_insert_if_unchanged(worker->shm->sessions, &e, c->l.removals);
		session_cookie_set(c->l.ex, c->token);
		metrics_sign_in(metrics_sign_in_method_of_amr(e.amr), true);
		c->l.done(c->l.ex, 1, &e, c->l.arg);
	}
	secure_wipe(c->token, sizeof(c->token));
	free(c);
}

void session_create(struct http_exchange *ex, const char *user_id, const char *amr, session_done_fn done, void *arg)
{
	const struct http_str *ua = http_request_header(&ex->req, "user-agent");
	char ua_buf[256], hex[67];
	struct creation *c = calloc(1, sizeof(*c));

	if (!c) {
		done(ex, -1, NULL, arg);
		return;
	}
	c->l = (struct lookup){ .ex = ex, .done = done, .arg = arg };
	secure_token(c->token);
	secure_sha256(c->token, strlen(c->token), c->l.key);
	session_key_hex(c->l.key, hex);
	/* Printable ASCII only: a user agent is shown on the account page. */
	size_t n = ua ? (ua->len < 255 ? ua->len : 255) : 0;
	for (size_t i = 0; i < n; i++)
		ua_buf[i] = ua->p[i] >= 0x20 && ua->p[i] < 0x7f ? ua->p[i] : '?';
	ua_buf[n] = '\0';
	/* Before the INSERT: a "revoke all of this user's sessions" that commits
	 * after it must not find the new session missing from the cache yet. */
	c->l.removals = session_cache_removals(worker->shm->sessions);
	STORE_CALL(STORE_OP_SESSION_CREATE, created, c, STORE_V_TEXT(hex), STORE_V_TEXT(user_id), STORE_V_TEXT(amr),
	    STORE_V_TEXT(ex->client_ip), STORE_V_TEXT(ua_buf), STORE_V_INT(cfg.session_absolute_ttl));
}

/* ---- revocation ---- */

struct revocation {
	struct http_exchange *ex;
	session_revoked_fn done;
	void *arg;
};

static void revoked(const struct store_reply *r, void *arg)
{
	struct revocation *v = arg;
	v->done(v->ex, store_failed(r) ? -1 : (int)store_int(r, 0, COUNT_N), v->arg);
	free(v);
}

static struct revocation *revocation_new(struct http_exchange *ex, session_revoked_fn done, void *arg)
{
	struct revocation *v = calloc(1, sizeof(*v));
	if (!v) {
		done(ex, -1, arg);
		return NULL;
	}
	*v = (struct revocation){ .ex = ex, .done = done, .arg = arg };
	return v;
}

void session_revoke_key(struct http_exchange *ex, const uint8_t key[32], session_revoked_fn done, void *arg)
{
	struct revocation *v = revocation_new(ex, done, arg);
	char hex[67];
	if (!v)
		return;
	session_key_hex(key, hex);
	STORE_CALL_FROM(ex, NULL, STORE_OP_SESSION_REVOKE_KEY, revoked, v, STORE_V_TEXT(hex));
}

void session_revoke_id(struct http_exchange *ex, const char *user_id, const char *session_id, session_revoked_fn done,
    void *arg)
{
	struct revocation *v = revocation_new(ex, done, arg);
	if (v)
		STORE_CALL_FROM(ex, NULL, STORE_OP_SESSION_REVOKE_ID, revoked, v, STORE_V_TEXT(user_id), STORE_V_TEXT(session_id));
}

void session_revoke_user(struct http_exchange *ex, const char *user_id, const char *except_session_id,
    session_revoked_fn done, void *arg)
{
	struct revocation *v = revocation_new(ex, done, arg);
	if (v)
		STORE_CALL_FROM(ex, NULL, STORE_OP_SESSION_REVOKE_USER, revoked, v, STORE_V_TEXT(user_id),
		    STORE_V_TEXT_OR_NULL(except_session_id));
}
