/*
 * The gate after a first factor, and code checks (see two_factor.h).
 *
 * One pending state serves every second factor: a first factor held, the
 * store keeps the SHA-256 of a random token (passkey_pending_sign_ins, five
 * minutes, bound to the user, with the first factor's amr), and the browser
 * holds the token in an HttpOnly cookie (PASSKEY_PENDING_COOKIE). A TOTP
 * code, a recovery code or a passkey finishes it, once: the store deletes it
 * in the transaction that accepts the second factor. Wrong codes count
 * against the pending state (TWO_FACTOR_PENDING_MAX_ATTEMPTS, then it is
 * gone), the user (LOGIN_MAX_ATTEMPTS per LOGIN_WINDOW, in the database, so
 * every instance sees them) and the client's IP (LOGIN_IP_MAX_ATTEMPTS, in
 * shared memory, before the store is asked).
 *
 * amr (RFC 8176) of a session a second factor opened: the first factor's,
 * then "otp" (a TOTP code, and also a recovery code: both are one-time
 * passwords; RFC 8176 has no value of its own for recovery codes), then
 * "mfa".
 */
#include "workers/two_factor.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/totp.h"
#include "kdf/kdf.h"
#include "proto/form.h"
#include "proto/forwarded.h"
#include "shm/rate_limit.h"
#include "workers/auth_passkey.h"
#include "workers/retry_after.h"
#include "workers/store_client.h"
#include "workers/audit.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- amr ---- */

static bool amr_has(const char *list, const char *word, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && !memcmp(p, word, len))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static void amr_add(char *out, size_t cap, const char *list)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ","), o = strlen(out);
		if (n && !amr_has(out, p, n) && o + n + 2 <= cap)
			snprintf(out + o, cap - o, "%s%.*s", o ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
}

void two_factor_amr(const char *first, const char *second, char *out, size_t cap)
{
	out[0] = '\0';
	amr_add(out, cap, first);
	amr_add(out, cap, second);
	if (second && *second)
		amr_add(out, cap, "mfa");
}

/* ---- the gate ---- */

struct gate {
	struct http_exchange *ex;
	second_factor_gate_fn done;
	void *arg;
	bool form;
	char token[TOKEN_STR_LEN];
	char rd[2049];
};

/* Where the second factor happens (the code page, or the passkey page when
 * a passkey is the account's only second factor), with where to go after. */
static void second_factor_location(const char *page, const char *rd, char *out, size_t cap)
{
	char encoded[3 * 2048 + 1];
	const char *target = passkey_after_sign_in_target(rd);
	if (url_encode(target, strlen(target), encoded, sizeof(encoded)) < 0)
		snprintf(encoded, sizeof(encoded), "%%2Faccount");
	snprintf(out, cap, "%s?rd=%s", page, encoded);
}

static void gate_checked(const struct store_reply *r, void *arg)
{
	struct gate *g = arg;
	struct http_exchange *ex = g->ex;
	int rc = store_failed(r) || r->n_rows != 1 ? -1 : store_bool(r, 0, TWO_FACTOR_GATE_PENDING) ? 1 : 0;

	if (rc == 1) {
		bool totp = store_bool(r, 0, TWO_FACTOR_GATE_TOTP), passkey = store_bool(r, 0, TWO_FACTOR_GATE_PASSKEY);
		char location[3 * 2048 + 64];
		second_factor_location(totp ? "/login/two-factor" : "/login/passkey", g->rd, location, sizeof(location));
		passkey_pending_cookie_set(ex, g->token);
		log_info("sign-in: first factor held, second factor asked (%s%s%s) from %s", totp ? "totp" : "",
		    totp && passkey ? ", " : "", passkey ? "passkey" : "", ex->client_ip);
		if (g->form) {
			http_reply_header(ex, "Location", location);
			http_reply(ex, 303, NULL, NULL, 0);
		} else {
			json_t *methods = json_array();
			if (totp)
				json_array_append_new(methods, json_string("totp"));
			if (passkey)
				json_array_append_new(methods, json_string("passkey"));
			passkey_reply(ex, 200, json_pack("{s:b,s:o,s:s}", "twoFactorRedirect", 1, "twoFactorMethods", methods,
			    "redirect", location));
		}
	}
	secure_wipe(g->token, sizeof(g->token));
	g->done(ex, rc, g->arg);
	free(g);
}

void second_factor_gate(struct http_exchange *ex, const char *user_id, const char *first_amr, bool form,
    const char *rd, second_factor_gate_fn done, void *arg)
{
	char hash[PASSKEY_HASH_HEX_LEN];
	struct gate *g = calloc(1, sizeof(*g));

	if (!g) {
		done(ex, -1, arg);
		return;
	}
	*g = (struct gate){ .ex = ex, .done = done, .arg = arg, .form = form };
	snprintf(g->rd, sizeof(g->rd), "%s", rd ? rd : "");
	secure_token(g->token);
	passkey_hash_hex(g->token, strlen(g->token), hash);
	STORE_CALL(STORE_OP_TWO_FACTOR_BEGIN, gate_checked, g, STORE_V_TEXT(user_id), STORE_V_TEXT(hash),
	    STORE_V_TEXT(first_amr && *first_amr ? first_amr : "pwd"), STORE_V_INT(TWO_FACTOR_PENDING_TTL),
	    STORE_V_BOOL(cfg.enable_passkeys));
}

/* The passkey files' name for the gate, after a password. */
void passkey_after_password(struct http_exchange *ex, const char *user_id, bool form, const char *rd,
    passkey_gate_fn done, void *arg)
{
	second_factor_gate(ex, user_id, "pwd", form, rd, done, arg);
}

/* ---- checking a code ---- */

struct check {
	struct http_exchange *ex;
	enum two_factor_kind kind;
	two_factor_check_fn done;
	void *arg;
	bool pending;
	char code[RECOVERY_CODE_CHARS + 1 > 65 ? RECOVERY_CODE_CHARS + 1 : 65];	/* digits, or a hash */
	char pending_hash[PASSKEY_HASH_HEX_LEN];
	char user_id[40];
	char limit_key[96];
	int64_t counted_at;
	bool reserved;
};

static void check_end(struct check *c, const struct two_factor_outcome *o)
{
	if (c->reserved)
		rate_limit_refund(worker->shm->limits, c->limit_key, c->counted_at, cfg.login_window);
	c->done(c->ex, o, c->arg);
	secure_wipe(c->code, sizeof(c->code));
	free(c);
}

static void check_refused(struct check *c, int status, const char *error, const char *message)
{
	struct two_factor_outcome o = { .verdict = TF_REFUSED, .status = status, .error = error, .message = message };
	check_end(c, &o);
}

static void check_unavailable(struct check *c)
{
	struct two_factor_outcome o = { .verdict = TF_UNAVAILABLE, .status = 503, .error = "temporarily_unavailable",
		.message = "the service is unavailable; try again" };
	check_end(c, &o);
}

static void session_opened(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct check *c = arg;
	if (rc < 0) {
		check_unavailable(c);
		return;
	}
	log_info("sign-in: user %s, second factor (%s) from %s", s->user_id, c->kind == TWO_FACTOR_TOTP ? "totp" :
	    "recovery code", ex->client_ip);
	struct two_factor_outcome o = { .verdict = TF_SIGNED_IN, .status = 200, .s = s };
	check_end(c, &o);
}

static void code_checked(const struct store_reply *r, void *arg)
{
	struct check *c = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, TWO_FACTOR_RESULT_OUTCOME);

	if (!outcome) {
		check_unavailable(c);
	} else if (!strcmp(outcome, "ok")) {
		if (!c->pending) {
			struct two_factor_outcome o = { .verdict = TF_CONFIRMED, .status = 200,
				.confirmed = store_bool(r, 0, TWO_FACTOR_RESULT_CONFIRMED) };
			check_end(c, &o);
			return;
		}
		char amr[32];
		two_factor_amr(store_text(r, 0, TWO_FACTOR_RESULT_FIRST_AMR), "otp", amr, sizeof(amr));
		snprintf(c->user_id, sizeof(c->user_id), "%s", store_text(r, 0, TWO_FACTOR_RESULT_USER_ID));
		passkey_pending_cookie_clear(c->ex);
		session_create(c->ex, c->user_id, amr, session_opened, c);
	} else {
		/* A wrong guess stays counted against the IP. */
		c->reserved = false;
		if (strcmp(outcome, "not_enrolled") != 0) {	/* a refused code: the audit log's */
			const char *uid = store_text(r, 0, TWO_FACTOR_RESULT_USER_ID);
			audit_failure(c->ex, "second_factor", c->kind == TWO_FACTOR_TOTP ? "totp" : "recovery_code",
			    *uid ? uid : c->user_id[0] ? c->user_id : NULL, outcome, NULL);
		}
		if (!strcmp(outcome, "invalid_code") || !strcmp(outcome, "code_reused")) {
			log_info("second factor: wrong %s code (%s) from %s", c->kind == TWO_FACTOR_TOTP ? "TOTP" : "recovery",
			    outcome, c->ex->client_ip);
			check_refused(c, 401, "invalid_code", c->kind == TWO_FACTOR_TOTP ?
			    "the code is wrong or was already used; wait for the next one" :
			    "the recovery code is wrong or was already used");
		} else if (!strcmp(outcome, "too_many_attempts") || !strcmp(outcome, "user_throttled")) {
			log_warnx("second factor: too many wrong codes (%s, from %s)", outcome, c->ex->client_ip);
			if (c->pending && !strcmp(outcome, "too_many_attempts"))	/* the store deleted it */
				passkey_pending_cookie_clear(c->ex);
			check_refused(c, 429, "too_many_attempts", "too many wrong codes; sign in again later");
		} else if (!strcmp(outcome, "not_enrolled")) {
			check_refused(c, 400, "totp_not_enabled", "two-factor authentication is not enabled for this account");
		} else {	/* pending_unknown, pending_expired */
			passkey_pending_cookie_clear(c->ex);
			check_refused(c, 401, "second_factor_expired", "the sign-in has expired; sign in again");
		}
	}
}

void two_factor_check(struct http_exchange *ex, enum two_factor_kind kind, const char *code, const char *user_id,
    two_factor_check_fn done, void *arg)
{
	struct check *c = calloc(1, sizeof(*c));
	char canonical[RECOVERY_CODE_CHARS + 1];
	int retry = 0;

	if (!c) {
		struct two_factor_outcome o = { .verdict = TF_UNAVAILABLE, .status = 503, .error = "temporarily_unavailable",
			.message = "out of memory" };
		done(ex, &o, arg);
		return;
	}
	*c = (struct check){ .ex = ex, .kind = kind, .done = done, .arg = arg };
	bool parsed = kind == TWO_FACTOR_TOTP ? code && otp_code_parse(code, strlen(code), c->code) == 0 :
	    code && recovery_code_parse(code, strlen(code), canonical) == 0;
	if (!parsed) {
		check_refused(c, 400, "invalid_code", kind == TWO_FACTOR_TOTP ? "enter the 6-digit code from your app" :
		    "enter a recovery code (10 letters and digits)");
		return;
	}
	if (kind == TWO_FACTOR_RECOVERY) {
		recovery_code_hash(canonical, c->code);
		secure_wipe(canonical, sizeof(canonical));
	}
	/* A pending sign-in (its cookie) comes first; else the signed-in user's. */
	c->pending = !user_id && passkey_pending_hash(ex, c->pending_hash);
	if (!c->pending && !user_id) {
		check_refused(c, 401, "second_factor_expired", "no sign-in is waiting for a second factor; sign in again");
		return;
	}
	snprintf(c->user_id, sizeof(c->user_id), "%s", user_id ? user_id : "");
	client_limit_key(TWO_FACTOR_LIMIT_PREFIX, ex->client_ip, c->limit_key, sizeof(c->limit_key));
	c->counted_at = now_seconds();
	int rc = rate_limit_reserve(worker->shm->limits, c->limit_key, c->counted_at, cfg.login_window,
	    cfg.login_ip_max_attempts, &retry);
	if (rc <= 0) {
		if (rc < 0) {
			check_unavailable(c);
			return;
		}
		http_reply_retry_after(ex, retry);
		check_refused(c, 429, "too_many_requests", "too many attempts; try again later");
		return;
	}
	c->reserved = true;
	STORE_CALL_FROM(ex, NULL, kind == TWO_FACTOR_TOTP ? STORE_OP_TOTP_VERIFY : STORE_OP_RECOVERY_CODE_VERIFY,
	    code_checked, c,
	    c->pending ? STORE_V_TEXT(c->pending_hash) : STORE_V_NULL, c->pending ? STORE_V_NULL : STORE_V_TEXT(c->user_id),
	    STORE_V_TEXT(c->code), STORE_V_INT(TWO_FACTOR_PENDING_MAX_ATTEMPTS), STORE_V_INT(cfg.login_max_attempts),
	    STORE_V_INT(cfg.login_window));
}

/* ---- recovery codes ---- */

void recovery_code_hash(const char canonical[RECOVERY_CODE_CHARS + 1], char out[65])
{
	uint8_t h[SHA256_LEN];
	secure_sha256(canonical, strlen(canonical), h);
	secure_hex(h, sizeof(h), out);
}

void recovery_codes_new(struct recovery_codes *c)
{
	size_t o = 0;
	for (int i = 0; i < TWO_FACTOR_RECOVERY_CODES; i++) {
		uint8_t rnd[RECOVERY_CODE_RANDOM_BYTES];
		char canonical[RECOVERY_CODE_CHARS + 1], hash[65];
		secure_random(rnd, sizeof(rnd));
		recovery_code_format(rnd, c->text[i]);
		recovery_code_parse(c->text[i], strlen(c->text[i]), canonical);
		recovery_code_hash(canonical, hash);
		o += (size_t)snprintf(c->hashes + o, sizeof(c->hashes) - o, "%s%s", i ? "," : "", hash);
		secure_wipe(rnd, sizeof(rnd));
		secure_wipe(canonical, sizeof(canonical));
	}
}

int two_factor_totp_uri(const char *email, const char *base32, char *out, size_t cap)
{
	return totp_uri(cfg.totp_issuer ? cfg.totp_issuer : "Dream Auth", email, base32, out, cap);
}

/* ---- re-checking the password ---- */

struct recheck {
	struct http_exchange *ex;
	password_recheck_fn done;
	void *arg;
	char *password;
	size_t password_len;
	char key[96];
	int64_t counted_at;
	bool reserved;
};

static void recheck_end(struct recheck *p, int rc)
{
	if (p->reserved)
		rate_limit_refund(worker->shm->limits, p->key, p->counted_at, cfg.login_window);
	p->done(p->ex, rc, p->arg);
	secure_wipe(p->password, p->password_len);
	free(p->password);
	free(p);
}

static void recheck_verified(const struct ipc_msg *reply, void *arg)
{
	struct recheck *p = arg;
	if (!reply || reply->status < 0) {
		recheck_end(p, -1);
		return;
	}
	if (reply->status != 0)
		p->reserved = false;	/* a wrong password stays counted */
	recheck_end(p, reply->status == 0 ? 1 : 0);
}

static void recheck_account_found(const struct store_reply *r, void *arg)
{
	struct recheck *p = arg;
	if (store_failed(r)) {
		recheck_end(p, -1);
		return;
	}
	/* No such user, disabled, or no password: the kdf says no to "" in the same time. */
	const char *phc = r->n_rows == 1 && !store_bool(r, 0, USER_CREDENTIALS_DISABLED) ?
	    store_text(r, 0, USER_CREDENTIALS_PASSWORD_HASH) : "";
	struct ipc_msg req = { .type = IPC_VERIFY_REQ, .s1 = p->password, .s1_len = p->password_len, .s2 = (char *)phc,
		.s2_len = strlen(phc) };
	if (ipc_client_call(worker->kdf, &req, 30000, recheck_verified, p) < 0)
		recheck_end(p, -1);
}

void two_factor_password_recheck(struct http_exchange *ex, const char *user_id, const char *password,
    password_recheck_fn done, void *arg)
{
	struct recheck *p = calloc(1, sizeof(*p));
	int retry = 0;

	if (!p || !password || strlen(password) > KDF_MAX_PASSWORD || !(p->password = strdup(password))) {
		free(p);
		done(ex, password && strlen(password) > KDF_MAX_PASSWORD ? 0 : -1, arg);
		return;
	}
	p->ex = ex;
	p->done = done;
	p->arg = arg;
	p->password_len = strlen(password);
	snprintf(p->key, sizeof(p->key), "2fa-password:%s", user_id);
	p->counted_at = now_seconds();
	int rc = rate_limit_reserve(worker->shm->limits, p->key, p->counted_at, cfg.login_window, cfg.login_max_attempts,
	    &retry);
	if (rc <= 0) {
		if (rc == 0)
			http_reply_retry_after(ex, retry);
		recheck_end(p, rc < 0 ? -1 : -2);
		return;
	}
	p->reserved = true;
	STORE_CALL(STORE_OP_USER_FIND_BY_ID, recheck_account_found, p, STORE_V_TEXT(user_id));
}
