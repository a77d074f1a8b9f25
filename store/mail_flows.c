/*
 * Email flows (proto/store_ops.h STORE_OPS_MAIL): verification links,
 * password reset links, emailed one-time codes. Each token or code is made
 * here, kept only as a hash, and put into the outbox (migrations/011) in
 * the transaction of its cause, so a message is never lost nor sent for
 * something that did not commit; the mailer delivers it later. Tokens: 256
 * random bits, stored as SHA-256. Codes: 6 digits, stored as HMAC-SHA-256
 * under a key only the store holds (store/mail_flows.h).
 *
 * Outcomes are words the worker maps to answers: a token or code unknown,
 * expired or already used gives nothing away beyond that.
 */
#include "store/mail_flows.h"
#include "store/store_run.h"
#include "store/oauth_tokens.h"
#include "store/admin_actor.h"
#include "store/audit.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/secure.h"
#include "mail/mail_compose.h"
#include "shm/shm.h"
#include "shm/session_cache.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t otp_key[32];
static bool otp_key_ready;

int store_mail_keys_init(const char *auth_secret)
{
	if (!auth_secret ||
	    secure_hkdf_sha256(auth_secret, strlen(auth_secret), "dreamauth/v1", "email-otp", otp_key, sizeof(otp_key)) < 0)
		return -1;
	otp_key_ready = true;
	return 0;
}

/* ---- helpers ---- */

/* The code's keyed hash, bound to its address and purpose. */
static void otp_hash_hex(const char *email, const char *purpose, const char *code, char out[2 + 64 + 1])
{
	char msg[400];
	uint8_t h[SHA256_LEN];
	int n = snprintf(msg, sizeof(msg), "%s\n%s\n%s", purpose, email, code);
	secure_hmac_sha256(otp_key, sizeof(otp_key), msg, (size_t)(n < 0 ? 0 : n), h);
	secure_wipe(msg, sizeof(msg));
	out[0] = '\\';
	out[1] = 'x';
	secure_hex(h, sizeof(h), out + 2);
}

/* Six uniformly random digits (rejection sampling: no modulo bias). */
static void otp_generate(char out[7])
{
	uint32_t v;
	do
		secure_random(&v, sizeof(v));
	while (v >= 4294000000u);	/* 4294000000 = 4294 * 10^6 */
	snprintf(out, 7, "%06u", v % 1000000u);
}

static void human_ttl(int s, char *out, size_t cap)
{
	if (s % 3600 == 0)
		snprintf(out, cap, "%d hour%s", s / 3600, s == 3600 ? "" : "s");
	else if (s % 60 == 0)
		snprintf(out, cap, "%d minute%s", s / 60, s == 60 ? "" : "s");
	else
		snprintf(out, cap, "%d seconds", s);
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static void url_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* Renders web/mail_<tmpl>.* and inserts the message, inside the caller's transaction. */
static bool queue_mail(PGconn *db, const char *to, const char *tmpl, const struct mail_var *vars)
{
	struct mail_composed m;
	if (mail_compose(tmpl, vars, &m) < 0) {
		log_warnx("mail template %s: cannot render", tmpl);
		return false;
	}
	const struct store_value v[] = { STORE_V_TEXT(to), STORE_V_TEXT(m.subject), STORE_V_TEXT(m.text),
		STORE_V_TEXT(m.html) };
	bool ok = store_step(db,
	    "INSERT INTO outbox (recipient, subject, body_text, body_html) VALUES ($1, $2, $3, $4)", v, 4, NULL);
	mail_composed_free(&m);
	return ok;
}

/* For an address without an account: the same work as a real message
 * (a token made and hashed, the templates rendered, the outbox insert), then
 * undone, so the store's load (which the answer's timing could feel on a
 * busy machine) does not tell known from unknown addresses. A rolled-back
 * insert NOTIFYs nobody. */
static bool decoy_mail(PGconn *db, const char *tmpl)
{
	char tok[TOKEN_STR_LEN], hex[2 + 64 + 1], link[600];
	secure_token(tok);
	secure_sha256_param(tok, strlen(tok), hex);
	snprintf(link, sizeof(link), "%s/reset-password?token=%s", cfg.issuer, tok);
	const struct mail_var vars[] = { { "link", link }, { "email", "nobody@invalid" }, { "ttl", "1 hour" },
		{ "code", "000000" }, { "purpose", "sign in" }, { NULL, NULL } };
	return db_exec(db, "SAVEPOINT decoy", 0, NULL) && queue_mail(db, "nobody@invalid", tmpl, vars) &&
	    db_exec(db, "ROLLBACK TO SAVEPOINT decoy", 0, NULL);
}

/* A new single-use token for user_id, its hash stored; the token into tok. */
static bool token_insert(PGconn *db, const char *purpose, const char *user_id, const char *email_normalized, int ttl,
    char tok[TOKEN_STR_LEN])
{
	char hex[2 + 64 + 1];
	secure_token(tok);
	secure_sha256_param(tok, strlen(tok), hex);
	const struct store_value v[] = { STORE_V_TEXT(hex), STORE_V_TEXT(purpose), STORE_V_TEXT(user_id),
		STORE_V_TEXT(email_normalized), STORE_V_INT(ttl) };
	return store_step(db,
	    "INSERT INTO email_tokens (token_hash, purpose, user_id, email_normalized, expires_at)"
	    " VALUES ($1::bytea, $2, $3::uuid, $4, now() + make_interval(secs => $5::int))",
	    v, 5, NULL);
}

static void answer_count(struct store_result *res, PGconn *db, const struct store_request *req, bool ok, int64_t n)
{
	PGresult *r = NULL;
	const struct store_value v[] = { STORE_V_INT(n) };
	if (ok)
		ok = store_step(db, "SELECT $1::bigint AS n", v, 1, &r);
	store_commit_take(res, db, req, ok, r, false);
}

/* Commits what was done (an attempt counted, a code spent) with the outcome. */
static void answer_outcome(struct store_result *res, PGconn *db, const struct store_request *req, bool ok,
    const char *outcome, const char *user_id, const char *email)
{
	PGresult *r = NULL;
	const struct store_value v[] = { STORE_V_TEXT(outcome), user_id ? STORE_V_TEXT(user_id) : STORE_V_NULL,
		email ? STORE_V_TEXT(email) : STORE_V_NULL };
	if (ok)
		ok = store_step(db, "SELECT $1::text AS outcome, $2::text AS user_id, $3::text AS email", v, 3, &r);
	store_commit_take(res, db, req, ok, r, false);
}

/* After answer_outcome, for an outcome that changed the user (address
 * verified, password reset, a code spent on the user): once committed, this
 * instance's session cache forgets the user now, the others on NOTIFY. */
static void forget_cached_sessions(const struct store_result *res)
{
	if (res->reply.status == STORE_OK && store_shm)
		session_cache_remove_user_except(store_shm->sessions, store_text(&res->reply, 0, MAIL_OUTCOME_USER_ID), NULL);
}

/* ---- audit (store/audit.h): methods "email_link" and "email_otp" ---- */

#define EMAIL_DETAIL_MAX 700

/* A detail object (json_pack's format) as text in buf; "{}" if it does not fit. */
static const char *json_detail(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *d = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	size_t n = d ? json_dumpb(d, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
	json_decref(d);
	if (n == 0 || n >= cap)
		n = (size_t)snprintf(buf, cap, "{}");
	buf[n] = '\0';
	return buf;
}

/* A refused link or code, in the transaction that decided it (an attempt
 * counted, a code killed): reason the outcome word, never the token. */
static bool audit_refused(PGconn *db, const struct store_request *req, const char *event, const char *method,
    const char *user_id, const char *reason, const char *name)
{
	char detail[EMAIL_DETAIL_MAX];
	struct audit_event ev = audit_event_for(req, event, method, user_id);
	ev.result = "failure";
	ev.target_type = user_id ? "user" : NULL;
	ev.target_id = user_id;
	ev.detail = name ? json_detail(detail, sizeof(detail), "{s:s,s:s}", "name", name, "reason", reason) :
	                   json_detail(detail, sizeof(detail), "{s:s}", "reason", reason);
	return store_audit_record(db, &ev);
}

/* A refused link (t: the TOKEN_SELECT row, if any), with the token's user. */
static bool audit_link_refused(PGconn *db, const struct store_request *req, const char *event, PGresult *t,
    const char *outcome)
{
	return audit_refused(db, req, event, "email_link", PQntuples(t) == 1 ? PQgetvalue(t, 0, 0) : NULL, outcome, NULL);
}

/* The verification link to user's address, inside the caller's transaction. */
static bool queue_verification(PGconn *db, const char *user_id, const char *email, const char *email_normalized,
    const char *callback)
{
	char tok[TOKEN_STR_LEN], cb[3 * 2048 + 1] = "", link[8000], ttl[32];
	if (!token_insert(db, "verify", user_id, email_normalized, cfg.email_verification_ttl, tok))
		return false;
	if (callback && *callback)
		url_encode(callback, cb, sizeof(cb));
	snprintf(link, sizeof(link), "%s/api/auth/verify-email?token=%s%s%s", cfg.issuer, tok, *cb ? "&callbackURL=" : "",
	    cb);
	human_ttl(cfg.email_verification_ttl, ttl, sizeof(ttl));
	const struct mail_var vars[] = { { "link", link }, { "email", email }, { "ttl", ttl }, { NULL, NULL } };
	bool ok = queue_mail(db, email, "verify", vars);
	secure_wipe(tok, sizeof(tok));
	secure_wipe(link, sizeof(link));
	return ok;
}

/* The address is proven: verified, and admin when ADMIN_EMAILS names it
 * (an admin set by the CLI stays admin). Instances re-read the user. */
static bool mark_verified(PGconn *db, const char *user_id, const char *email_normalized)
{
	const struct store_value v[] = { STORE_V_TEXT(user_id), STORE_V_BOOL(config_is_admin_email(email_normalized)) };
	if (!store_step(db,
	        "UPDATE users SET email_verified = true, is_admin = is_admin OR $2::boolean, updated_at = now()"
	        " WHERE id = $1::uuid",
	        v, 2, NULL) ||
	    !store_log_user_changed(db, user_id))
		return false;
	return true;
}

static bool mail_enabled(struct store_result *res)
{
	if (cfg.smtp_host)
		return true;
	res->reply.status = STORE_REFUSED;
	return false;
}

/* ---- sign-up with its verification link ---- */

void store_user_sign_up_verify(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r = NULL;
	bool ok;

	if (!mail_enabled(res))
		return;
	/* ADMIN_EMAILS waits for the verification: is_admin (arg 5) is not used. */
	const struct store_value v[] = { req->args[0], req->args[1], req->args[2], req->args[3] };
	ok = store_begin(db) &&
	    store_step(db,
	        "INSERT INTO users (email, email_normalized, name, password_hash) VALUES ($1, $2, $3, $4)"
	        " ON CONFLICT (email_normalized) DO NOTHING RETURNING id::text AS id",
	        v, 4, &r);
	if (ok && PQntuples(r) == 1) {
		const char *id = PQgetvalue(r, 0, 0);
		char detail[EMAIL_DETAIL_MAX];
		/* As USER_SIGN_UP's (store/users.c): the address, never an admin yet. */
		ok = queue_verification(db, id, req->args[0].text, req->args[1].text,
		         req->args[5].kind == STORE_TEXT ? req->args[5].text : NULL) &&
		    store_audit(db, req, "sign_up", "password", id, "user", id,
		        json_detail(detail, sizeof(detail), "{s:s,s:b}", "email", req->args[0].text, "admin", 0));
	}
	store_commit_take(res, db, req, ok, r, false);
	if (res->reply.status == STORE_OK && res->reply.n_rows == 0)
		res->reply.status = STORE_CONFLICT;
}

/* ---- verification links ---- */

void store_email_verification_send(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *u = NULL;
	bool ok;
	int64_t n = 0;

	if (!mail_enabled(res))
		return;
	ok = store_begin(db) &&
	    store_step(db,
	        "SELECT id::text AS id, email FROM users WHERE email_normalized = $1 AND NOT email_verified"
	        " AND NOT disabled",
	        req->args, 1, &u);
	if (ok && PQntuples(u) == 1) {
		ok = queue_verification(db, PQgetvalue(u, 0, 0), PQgetvalue(u, 0, 1), req->args[0].text,
		         req->args[1].kind == STORE_TEXT ? req->args[1].text : NULL) &&
		    store_audit(db, req, "email_verification_request", "email_link", PQgetvalue(u, 0, 0), "user",
		        PQgetvalue(u, 0, 0), NULL);
		n = 1;
	} else if (ok) {
		ok = decoy_mail(db, "verify");
	}
	PQclear(u);
	answer_count(res, db, req, ok, n);
}

/* A token row, locked: its user, address then and now, and its state. */
#define TOKEN_SELECT                                                                                      \
	"SELECT t.user_id::text AS user_id, t.email_normalized AS token_email, u.email_normalized AS email,"   \
	" u.disabled, t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired"                        \
	" FROM email_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1::bytea AND t.purpose = "

/* invalid, used or expired; NULL when the token can be spent (and is, now). */
static const char *token_take(PGconn *db, PGresult *t, const struct store_value *hash, bool *ok)
{
	if (PQntuples(t) != 1)
		return "invalid";
	if (store_cell_true(t, 0, 4))
		return "used";
	if (store_cell_true(t, 0, 5))
		return "expired";
	*ok = store_step(db, "UPDATE email_tokens SET used_at = now() WHERE token_hash = $1::bytea", hash, 1, NULL);
	return NULL;
}

void store_email_verify(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *t = NULL;
	const char *outcome = "invalid", *user = NULL, *email = NULL;
	bool ok = store_begin(db) && store_step(db, TOKEN_SELECT "'verify' FOR UPDATE OF t", req->args, 1, &t);

	if (ok) {
		outcome = token_take(db, t, req->args, &ok);
		/* The link proves the address it was sent to, not a later one. */
		if (!outcome && strcmp(PQgetvalue(t, 0, 1), PQgetvalue(t, 0, 2)) != 0)
			outcome = "invalid";
		if (!outcome && ok) {
			user = PQgetvalue(t, 0, 0);
			email = PQgetvalue(t, 0, 2);
			ok = mark_verified(db, user, email) &&
			    store_audit(db, req, "email_verify", "email_link", user, "user", user, NULL);
			outcome = "verified";
		}
		if (outcome && strcmp(outcome, "verified") && ok)
			ok = audit_link_refused(db, req, "email_verify", t, outcome);
	}
	answer_outcome(res, db, req, ok, outcome ? outcome : "invalid", user, email);
	PQclear(t);
	if (user)
		forget_cached_sessions(res);
}

/* ---- password reset ---- */

/* A reset link to the user's address, inside the caller's transaction.
 * redirect_to (may be NULL) was checked by the worker (same site or under
 * COOKIE_DOMAIN): the page there takes ?token=. */
static bool queue_reset(PGconn *db, const char *user_id, const char *email, const char *email_normalized,
    const char *redirect_to)
{
	char tok[TOKEN_STR_LEN], link[4400], ttl[32];
	bool ok = token_insert(db, "reset", user_id, email_normalized, cfg.password_reset_ttl, tok);
	if (redirect_to && *redirect_to)
		snprintf(link, sizeof(link), "%s%stoken=%s", redirect_to, strchr(redirect_to, '?') ? "&" : "?", tok);
	else
		snprintf(link, sizeof(link), "%s/reset-password?token=%s", cfg.issuer, tok);
	human_ttl(cfg.password_reset_ttl, ttl, sizeof(ttl));
	const struct mail_var vars[] = { { "link", link }, { "email", email }, { "ttl", ttl }, { NULL, NULL } };
	ok = ok && queue_mail(db, email, "reset", vars);
	secure_wipe(tok, sizeof(tok));
	secure_wipe(link, sizeof(link));
	return ok;
}

void store_password_reset_request(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *u = NULL;
	bool ok;
	int64_t n = 0;

	if (!mail_enabled(res))
		return;
	ok = store_begin(db) &&
	    store_step(db, "SELECT id::text AS id, email FROM users WHERE email_normalized = $1 AND NOT disabled",
	        req->args, 1, &u);
	if (ok && PQntuples(u) == 1) {
		ok = queue_reset(db, PQgetvalue(u, 0, 0), PQgetvalue(u, 0, 1), req->args[0].text,
		         req->args[1].kind == STORE_TEXT ? req->args[1].text : NULL) &&
		    store_audit(db, req, "password_reset_request", "email_link", PQgetvalue(u, 0, 0), "user",
		        PQgetvalue(u, 0, 0), NULL);
		n = 1;
	} else if (ok) {
		/* No account (or a disabled one): a failure with the address asked
		 * for. The answer went out before this (workers/auth_email.c), so
		 * the row costs the caller no time either way. */
		ok = decoy_mail(db, "reset") &&
		    audit_refused(db, req, "password_reset_request", "email_link", NULL, "unknown_account", req->args[0].text);
	}
	PQclear(u);
	answer_count(res, db, req, ok, n);
}

/* An admin sends a user a reset link (the admin API's hook): the admin
 * proof checked in this transaction (store/admin_actor.h), the link queued,
 * the action audited, all or nothing. n = 0: no such user, or disabled. */
void store_admin_password_reset_send(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char actor[ADMIN_ACTOR_MAX];
	PGresult *u = NULL;
	bool ok;
	int64_t n = 0;

	if (!mail_enabled(res) || !admin_begin(db, req, res, actor))
		return;
	ok = store_step(db,
	    "SELECT id::text AS id, email, email_normalized FROM users WHERE id::text = $1 AND NOT disabled",
	    &req->args[1], 1, &u);
	if (ok && PQntuples(u) == 1) {
		ok = queue_reset(db, PQgetvalue(u, 0, 0), PQgetvalue(u, 0, 1), PQgetvalue(u, 0, 2), NULL) &&
		    store_audit_admin(db, req, actor, "admin.user.password_reset", PQgetvalue(u, 0, 0));
		n = 1;
	}
	PQclear(u);
	answer_count(res, db, req, ok, n);
}

/* Inside the caller's transaction: the new hash, and the end of everything
 * the old password let anyone obtain (as `dreamauth user passwd`,
 * store/users_admin.c): sessions, refresh families, access tokens that
 * still verify. Other reset links of the user die too. The audit row
 * (event password_reset, method: how the reset was proven) counts what was
 * revoked. */
static bool reset_password(PGconn *db, const struct store_request *req, const char *method, const char *user_id,
    const struct store_value *hash, const struct store_value *leeway)
{
	const struct store_value v[] = { STORE_V_TEXT(user_id), *hash };
	const struct store_value u[] = { STORE_V_TEXT(user_id) };
	const struct store_value l[] = { STORE_V_TEXT(user_id), *leeway };
	PGresult *c = NULL;
	char detail[EMAIL_DETAIL_MAX];
	bool ok = store_oauth_families_revoke(db, STORE_OAUTH_USER, user_id) &&
	    store_step(db, "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid", v, 2, NULL) &&
	    store_step(db,
	        "UPDATE email_tokens SET used_at = now() WHERE user_id = $1::uuid AND purpose = 'reset' AND used_at IS NULL",
	        u, 1, NULL) &&
	    store_step(db,
	        "WITH s AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid AND revoked_at IS NULL"
	        "   AND expires_at > now() RETURNING 1),"
	        " r AS (UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE user_id = $1::uuid AND revoked_at IS NULL"
	        "   AND used_at IS NULL AND expires_at > now() RETURNING 1),"
	        " a AS (UPDATE oauth_access_tokens SET revoked_at = now() WHERE user_id = $1::uuid AND revoked_at IS NULL"
	        "   AND expires_at > now() - make_interval(secs => $2::int) RETURNING 1)"
	        " SELECT (SELECT count(*) FROM s) AS sessions, (SELECT count(*) FROM r) AS refresh_tokens,"
	        " (SELECT count(*) FROM a) AS access_tokens",
	        l, 2, &c) &&
	    store_log_user_changed(db, user_id);
	if (ok)
		ok = store_audit(db, req, "password_reset", method, user_id, "user", user_id,
		    json_detail(detail, sizeof(detail), "{s:I,s:I,s:I}", "sessions", (json_int_t)atoll(PQgetvalue(c, 0, 0)),
		        "refresh_tokens", (json_int_t)atoll(PQgetvalue(c, 0, 1)), "access_tokens",
		        (json_int_t)atoll(PQgetvalue(c, 0, 2))));
	PQclear(c);
	return ok;
}

void store_password_reset(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *t = NULL;
	const char *outcome = "invalid", *user = NULL;
	bool ok = store_begin(db) && store_step(db, TOKEN_SELECT "'reset' FOR UPDATE OF t", req->args, 1, &t);

	if (ok) {
		outcome = token_take(db, t, req->args, &ok);
		if (!outcome && store_cell_true(t, 0, 3))
			outcome = "invalid";	/* disabled meanwhile */
		if (!outcome && ok) {
			user = PQgetvalue(t, 0, 0);
			ok = reset_password(db, req, "email_link", user, &req->args[1], &req->args[2]);
			outcome = "reset";
		}
		if (outcome && strcmp(outcome, "reset") && ok)
			ok = audit_link_refused(db, req, "password_reset", t, outcome);
	}
	answer_outcome(res, db, req, ok, outcome ? outcome : "invalid", user, NULL);
	PQclear(t);
	if (user)
		forget_cached_sessions(res);
}

/* ---- emailed one-time codes ---- */

static const char *otp_purpose_text(const char *type)
{
	if (!strcmp(type, "sign-in"))
		return "sign in";
	if (!strcmp(type, "email-verification"))
		return "verify your email address";
	return "reset your password";
}

void store_email_otp_send(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const char *email = req->args[0].text, *type = req->args[1].text;
	PGresult *u = NULL;
	bool ok, send = false;
	int64_t n = 0;

	if (!mail_enabled(res))
		return;
	if (!otp_key_ready || (strcmp(type, "sign-in") && strcmp(type, "email-verification") &&
	                          strcmp(type, "forget-password"))) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	ok = store_begin(db) &&
	    store_step(db, "SELECT email, disabled, id::text AS id FROM users WHERE email_normalized = $1", req->args, 1,
	        &u);
	if (ok)
		send = PQntuples(u) == 1 ? !store_cell_true(u, 0, 1) : !strcmp(type, "sign-in") && req->args[2].i;
	if (ok && send) {
		char code[7], hash[2 + 64 + 1], ttl[32];
		const char *to = PQntuples(u) == 1 ? PQgetvalue(u, 0, 0) : email;
		otp_generate(code);
		otp_hash_hex(email, type, code, hash);
		const struct store_value sup[] = { req->args[0], req->args[1] };
		const struct store_value ins[] = { req->args[0], req->args[1], STORE_V_TEXT(hash),
			STORE_V_INT(cfg.email_otp_ttl) };
		human_ttl(cfg.email_otp_ttl, ttl, sizeof(ttl));
		const struct mail_var vars[] = { { "code", code }, { "purpose", otp_purpose_text(type) }, { "ttl", ttl },
			{ NULL, NULL } };
		/* One live code per address and purpose: a new one ends the last. */
		ok = store_step(db,
		         "UPDATE email_otps SET used_at = now() WHERE email_normalized = $1 AND purpose = $2"
		         " AND used_at IS NULL",
		         sup, 2, NULL) &&
		    store_step(db,
		        "INSERT INTO email_otps (email_normalized, purpose, code_hash, expires_at)"
		        " VALUES ($1, $2, $3::bytea, now() + make_interval(secs => $4::int))",
		        ins, 4, NULL) &&
		    queue_mail(db, to, "otp", vars);
		secure_wipe(code, sizeof(code));
		/* Who the code is for: the account, or the address a sign-up by code would take. */
		const char *user = PQntuples(u) == 1 ? PQgetvalue(u, 0, 2) : NULL;
		char detail[EMAIL_DETAIL_MAX];
		ok = ok &&
		    store_audit(db, req, "email_otp_request", "email_otp", user, user ? "user" : NULL, user,
		        user ? json_detail(detail, sizeof(detail), "{s:s}", "type", type) :
		               json_detail(detail, sizeof(detail), "{s:s,s:s}", "type", type, "name", email));
		n = 1;
	} else if (ok) {
		ok = decoy_mail(db, "otp");
	}
	PQclear(u);
	answer_count(res, db, req, ok, n);
}

/* The code matched: what its purpose does. */
static const char *otp_act(PGconn *db, const struct store_request *req, bool *ok, char user_id[40])
{
	const char *email_normalized = req->args[0].text, *type = req->args[2].text;
	PGresult *u = NULL;
	const char *outcome;

	*ok = store_step(db, "SELECT id::text AS id, disabled FROM users WHERE email_normalized = $1 FOR UPDATE",
	    req->args, 1, &u);
	if (!*ok)
		return "invalid";
	if (PQntuples(u) == 0) {
		PQclear(u);
		if (strcmp(type, "sign-in") || !req->args[4].i)
			return "invalid";
		/* Sign-up by code: the address is proven by the code itself. */
		const struct store_value v[] = { req->args[1], req->args[0],
			STORE_V_BOOL(config_is_admin_email(email_normalized)) };
		*ok = store_step(db,
		    "INSERT INTO users (email, email_normalized, email_verified, is_admin) VALUES ($1, $2, true, $3::boolean)"
		    " RETURNING id::text AS id",
		    v, 3, &u);
		if (*ok) {
			char detail[EMAIL_DETAIL_MAX];
			snprintf(user_id, 40, "%s", PQgetvalue(u, 0, 0));
			*ok = store_audit(db, req, "sign_up", "email_otp", user_id, "user", user_id,
			    json_detail(detail, sizeof(detail), "{s:s,s:b}", "email", req->args[1].text, "admin",
			        config_is_admin_email(email_normalized)));
		}
		PQclear(u);
		return "signed_up";
	}
	snprintf(user_id, 40, "%s", PQgetvalue(u, 0, 0));
	bool disabled = store_cell_true(u, 0, 1);
	PQclear(u);
	if (disabled)
		return "disabled";
	if (!strcmp(type, "forget-password")) {
		if (req->args[5].kind != STORE_TEXT)
			return "invalid";
		*ok = reset_password(db, req, "email_otp", user_id, &req->args[5], &req->args[6]) &&
		    mark_verified(db, user_id, email_normalized);
		outcome = "reset";
	} else {
		/* A sign-in is recorded with its session (store/sessions.c), after
		 * any second factor. */
		*ok = mark_verified(db, user_id, email_normalized) &&
		    (!strcmp(type, "sign-in") || store_audit(db, req, "email_verify", "email_otp", user_id, "user", user_id, NULL));
		outcome = strcmp(type, "sign-in") ? "verified" : "signed_in";
	}
	return outcome;
}

void store_email_otp_use(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const char *email = req->args[0].text, *type = req->args[2].text, *code = req->args[3].text;
	char hash[2 + 64 + 1], user_id[40] = "";
	const char *outcome = "invalid";
	PGresult *c = NULL;
	bool ok;

	if (!mail_enabled(res))
		return;
	if (!otp_key_ready) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	const struct store_value sel[] = { req->args[0], req->args[2] };
	ok = store_begin(db) &&
	    store_step(db,
	        "SELECT id, encode(code_hash, 'hex') AS code_hash, attempts, expires_at <= now() AS expired"
	        " FROM email_otps WHERE email_normalized = $1 AND purpose = $2 AND used_at IS NULL"
	        " ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
	        sel, 2, &c);
	if (ok && PQntuples(c) == 1) {
		const struct store_value id[] = { STORE_V_TEXT(PQgetvalue(c, 0, 0)) };
		int attempts = atoi(PQgetvalue(c, 0, 2));
		otp_hash_hex(email, type, code, hash);
		if (store_cell_true(c, 0, 3)) {
			outcome = "expired";
			ok = store_step(db, "UPDATE email_otps SET used_at = now() WHERE id = $1::bigint", id, 1, NULL);
		} else if (attempts >= cfg.email_otp_max_attempts) {
			outcome = "too_many_attempts";
			ok = store_step(db, "UPDATE email_otps SET used_at = now() WHERE id = $1::bigint", id, 1, NULL);
		} else if (!secure_equal(hash + 2, PQgetvalue(c, 0, 1), 64)) {
			/* A wrong code counts; the last allowed one kills the code. */
			const struct store_value v[] = { id[0], STORE_V_INT(cfg.email_otp_max_attempts) };
			ok = store_step(db,
			    "UPDATE email_otps SET attempts = attempts + 1,"
			    " used_at = CASE WHEN attempts + 1 >= $2::int THEN now() END WHERE id = $1::bigint",
			    v, 2, NULL);
			outcome = attempts + 1 >= cfg.email_otp_max_attempts ? "too_many_attempts" : "invalid";
		} else {
			ok = store_step(db, "UPDATE email_otps SET used_at = now() WHERE id = $1::bigint", id, 1, NULL);
			if (ok)
				outcome = otp_act(db, req, &ok, user_id);
		}
	}
	PQclear(c);
	answer_outcome(res, db, req, ok, outcome, *user_id ? user_id : NULL, NULL);
	if (*user_id)
		forget_cached_sessions(res);
}
