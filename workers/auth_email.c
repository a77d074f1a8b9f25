/*
 * The flows that need email, on BetterAuth's paths (workers/auth_email.h):
 * verification links, password reset (JSON and the /forgot-password,
 * /reset-password forms), and emailed one-time codes (the emailOTP
 * plugin). The store makes every token and code, keeps only hashes and
 * queues the message in the same transaction (store/mail_flows.c); this
 * file checks input, counts requests per address and per IP, and maps the
 * store's outcome words to answers. Asking for mail answers the same
 * whether or not an account uses the address, and as fast: the answer goes
 * out before the store's work (which differs: a known address gets a token
 * and a message queued), so its timing tells nothing either; a store that
 * cannot take the request then costs a mail that never comes (logged), which
 * the user asks for again. With SMTP_HOST unset every path answers 501
 * email_disabled.
 */
#include "workers/auth_email.h"
#include "workers/handlers.h"
#include "common/config.h"
#include "common/log.h"
#include "kdf/kdf.h"
#include "master/user_opts.h"
#include "proto/email.h"
#include "proto/form.h"
#include "proto/forwarded.h"
#include "proto/json_body.h"
#include "proto/redirect.h"
#include "shm/rate_limit.h"
#include "workers/audit.h"
#include "workers/auth_passkey.h"
#include "workers/csrf.h"
#include "workers/pages.h"
#include "workers/retry_after.h"
#include "workers/session.h"
#include "workers/store_client.h"
#include "workers/subroutes.h"
#include "workers/two_factor.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX_LEN 128
/* Access tokens verify until exp + this (workers/jwt_local.h): a reset
 * revokes those too. */
#define TOKEN_LEEWAY_S 60
#define RESET_ANSWER "If this email exists in our system, check your email for the reset link"

struct mail_req {
	struct http_exchange *ex;
	bool form;
	char email[EMAIL_MAX_LEN + 1];		/* normalized */
	char email_raw[EMAIL_MAX_LEN + 1];
	char type[24];				/* an OTP's purpose */
	char code[8];
	char token_hash[SECURE_SHA256_PARAM_LEN];
	char callback[2049];
	char token[TOKEN_MAX_LEN + 1];		/* a reset form's, to render it again */
	char user_id[40];
	char *password;
	size_t password_len;
	/* attempts reserved (see workers/auth_password.c) */
	char ip_key[96], acct_key[320];
	int64_t counted_at;
	bool ip_reserved, acct_reserved;
	/* the request's client IP and User-Agent for the audit log, kept
	 * for calls made after the answer (ANSWER_THEN_QUEUE) */
	struct store_context ctx;
	char ctx_ip[sizeof(((struct http_exchange *)0)->client_ip)];
	char ctx_ua[STORE_CONTEXT_USER_AGENT_MAX + 1];
};

static struct mail_req *mail_req_new(struct http_exchange *ex)
{
	struct mail_req *r = calloc(1, sizeof(*r));
	if (!r)
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
	else
		r->ex = ex;
	return r;
}

/* Gives back reservations of attempts that did not end as a failure. */
static void mail_req_free(struct mail_req *r)
{
	if (r->ip_reserved)
		rate_limit_refund(worker->shm->limits, r->ip_key, r->counted_at, cfg.login_window);
	if (r->acct_reserved)
		rate_limit_refund(worker->shm->limits, r->acct_key, r->counted_at, cfg.login_window);
	if (r->password) {
		secure_wipe(r->password, r->password_len);
		free(r->password);
	}
	secure_wipe(r->code, sizeof(r->code));
	secure_wipe(r->token, sizeof(r->token));
	free(r);
}

static bool mail_on(struct http_exchange *ex)
{
	if (cfg.smtp_host)
		return true;
	http_reply_error(ex, 501, "email_disabled", "this server sends no email (SMTP_HOST is not set)");
	return false;
}

static const char *issuer_host(void)
{
	return strstr(cfg.issuer, "://") + 3;
}

static bool target_allowed(const char *url)
{
	return redirect_target_allowed(url, strlen(url), issuer_host(), cfg.cookie_domain, cfg.issuer_is_local_http);
}

/* A JSON body from this origin, or the reply is sent and NULL returned. */
static json_t *json_request(struct http_exchange *ex)
{
	const char *why = NULL;
	json_t *json;
	if (!http_exchange_is_json(ex)) {
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json");
		return NULL;
	}
	if (!csrf_origin_ok(ex)) {
		http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
		return NULL;
	}
	json = json_body_parse(ex->body, ex->body_len, &why);
	if (!json)
		http_reply_error(ex, 400, "invalid_request", why ? why : "malformed JSON body");
	return json;
}

/* The address into r (normalized and as typed), or false (nothing sent). */
static bool take_email(struct mail_req *r, const char *email)
{
	size_t n;
	if (!email || strlen(email) > EMAIL_MAX_LEN || email_normalize(email, strlen(email), r->email, sizeof(r->email)) < 0)
		return false;
	n = strlen(r->email);
	/* The placeholder domain of wallet-only accounts is nobody's inbox. */
	if (n >= 15 && strcmp(r->email + n - 15, "@wallet.invalid") == 0)
		return false;
	snprintf(r->email_raw, sizeof(r->email_raw), "%s", email + strspn(email, " \t"));
	r->email_raw[strcspn(r->email_raw, " \t")] = '\0';
	return true;
}

/* Counts a request against key within LOGIN_WINDOW (max); true when
 * refused, with the reply (429 + Retry-After, or 503) sent. */
static bool over_limit(struct http_exchange *ex, const char *key, int max, int64_t now, bool *reserved)
{
	int retry = 0;
	int rc = rate_limit_reserve(worker->shm->limits, key, now, cfg.login_window, max, &retry);
	if (reserved)
		*reserved = rc > 0;
	if (rc > 0)
		return false;
	if (rc < 0) {
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "try again shortly");
		return true;
	}
	http_reply_retry_after(ex, retry);
	http_reply_error(ex, 429, "too_many_requests", "too many requests; try again later");
	return true;
}

/* Mail asked for an address: EMAIL_IP_MAX per IP, EMAIL_MAX_PER_ADDRESS per
 * address (counted whether or not an account uses it: the limit tells
 * nothing). These stay counted: each may send a message. */
static bool mail_limited(struct mail_req *r, const char *kind)
{
	char ip_key[96], addr_key[320];
	int64_t now = now_seconds();
	client_limit_key("mail-ip:", r->ex->client_ip, ip_key, sizeof(ip_key));
	snprintf(addr_key, sizeof(addr_key), "mail-%s:%s", kind, r->email);
	if (over_limit(r->ex, ip_key, cfg.email_ip_max, now, NULL) ||
	    over_limit(r->ex, addr_key, cfg.email_max_per_address, now, NULL)) {
		log_warnx("mail requests throttled for %s from %s", r->email, r->ex->client_ip);
		return true;
	}
	return false;
}

/* Guesses of a code or token: LOGIN_IP_MAX_ATTEMPTS per IP and, for codes,
 * LOGIN_MAX_ATTEMPTS per address; given back unless the guess was wrong. */
static bool guess_limited(struct mail_req *r, const char *kind, bool per_address)
{
	r->counted_at = now_seconds();
	client_limit_key(kind, r->ex->client_ip, r->ip_key, sizeof(r->ip_key));
	if (over_limit(r->ex, r->ip_key, cfg.login_ip_max_attempts, r->counted_at, &r->ip_reserved))
		return true;
	if (!per_address)
		return false;
	snprintf(r->acct_key, sizeof(r->acct_key), "%sacct:%s", kind, r->email);
	return over_limit(r->ex, r->acct_key, cfg.login_max_attempts, r->counted_at, &r->acct_reserved);
}

static void keep_attempts(struct mail_req *r)
{
	r->ip_reserved = r->acct_reserved = false;
}

static void reply_unavailable(struct mail_req *r)
{
	store_reply_unavailable(r->ex);
	mail_req_free(r);
}

/* The answer has gone out already (see the top of this file): only a log
 * line when the store could not take the request. */
static void mail_queued(const struct store_reply *reply, void *arg)
{
	struct mail_req *r = arg;
	if (store_failed(reply))
		log_warnx("could not queue a mail for %s (store status %d): none will come", r->email, (int)reply->status);
	mail_req_free(r);
}

/* Copies r->ex's audit context (store/audit.h) into r, to outlive the exchange. */
static const struct store_context *keep_context(struct mail_req *r)
{
	store_context_from(r->ex, NULL, &r->ctx, r->ctx_ua);
	if (r->ctx.client_ip) {
		snprintf(r->ctx_ip, sizeof(r->ctx_ip), "%s", r->ctx.client_ip);
		r->ctx.client_ip = r->ctx_ip;
	}
	return &r->ctx;
}

/* Answers, then asks the store with the request's audit context: r->ex is
 * gone once the answer is sent. */
#define ANSWER_THEN_QUEUE(r, answer, op, done, arg, ...)                                                \
	do {                                                                                            \
		const struct store_value queue_args_[] = { __VA_ARGS__ };                               \
		const struct store_context *queue_ctx_ = keep_context(r);                               \
		answer;                                                                                 \
		(r)->ex = NULL;                                                                         \
		store_call_context(queue_ctx_, (op), queue_args_, sizeof(queue_args_) / sizeof(queue_args_[0]), \
		    (done), (arg));                                                                     \
	} while (0)

/* ---- verification links ---- */

void handle_send_verification_email(struct http_exchange *ex)
{
	json_t *json;
	struct mail_req *r;

	if (!mail_on(ex) || !(json = json_request(ex)))
		return;
	const char *email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, NULL);
	const char *cb = json_body_string(json, "callbackURL", 2048, NULL);
	if (!(r = mail_req_new(ex))) {
		json_decref(json);
		return;
	}
	if (!take_email(r, email)) {
		http_reply_error(ex, 400, "invalid_email", "enter a valid email address");
	} else if (cb && *cb && !target_allowed(cb)) {
		http_reply_error(ex, 400, "invalid_redirect", "callbackURL must be on this site");
	} else if (!mail_limited(r, "verify")) {
		snprintf(r->callback, sizeof(r->callback), "%s", cb ? cb : "");
		json_decref(json);
		ANSWER_THEN_QUEUE(r, http_reply_json(ex, 200, "{\"status\":true}"), STORE_OP_EMAIL_VERIFICATION_SEND,
		    mail_queued, r, STORE_V_TEXT(r->email), STORE_V_TEXT_OR_NULL(r->callback));
		return;
	}
	json_decref(json);
	mail_req_free(r);
}

static bool wants_html(struct http_exchange *ex)
{
	const struct http_str *accept = http_request_header(&ex->req, "accept");
	return accept && memmem(accept->p, accept->len, "text/html", 9);
}

/* To callbackURL (checked), with ?error= on failure; else a page or JSON. */
static void verify_answer(struct mail_req *r, bool ok, const char *code, const char *message)
{
	struct http_exchange *ex = r->ex;
	if (r->callback[0]) {
		char loc[2200];
		if (ok)
			snprintf(loc, sizeof(loc), "%s", r->callback);
		else
			snprintf(loc, sizeof(loc), "%s%cerror=%s", r->callback, strchr(r->callback, '?') ? '&' : '?', code);
		http_reply_header(ex, "Location", loc);
		http_reply(ex, 302, NULL, NULL, 0);
	} else if (wants_html(ex)) {
		page_message(ex, ok ? 200 : 400, ok ? "Email verified" : "Verification failed", message, ok ? "/account" : "/login",
		    ok ? "Continue" : "Sign in");
	} else if (ok) {
		http_reply_json(ex, 200, "{\"status\":true}");
	} else {
		http_reply_error(ex, 400, code, message);
	}
	mail_req_free(r);
}

static void email_verified(const struct store_reply *reply, void *arg)
{
	struct mail_req *r = arg;
	if (store_failed(reply) || reply->n_rows != 1) {
		reply_unavailable(r);
		return;
	}
	const char *outcome = store_text(reply, 0, MAIL_OUTCOME_RESULT);
	if (!strcmp(outcome, "verified")) {
		log_info("email verified: user %s", store_text(reply, 0, MAIL_OUTCOME_USER_ID));
		verify_answer(r, true, NULL, "Your email address is verified.");
	} else if (!strcmp(outcome, "expired")) {
		verify_answer(r, false, "TOKEN_EXPIRED", "This link has expired; ask for a new one.");
	} else {
		keep_attempts(r);
		verify_answer(r, false, "INVALID_TOKEN", "This link is not valid, or was already used.");
	}
}

void handle_verify_email(struct http_exchange *ex)
{
	struct form q = { 0 };
	struct mail_req *r;

	if (!mail_on(ex))
		return;
	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, 8192, &q) != FORM_OK) {
		http_reply_error(ex, 400, "invalid_request", "malformed query");
		return;
	}
	if (!(r = mail_req_new(ex))) {
		form_free(&q);
		return;
	}
	const char *token = form_get(&q, "token"), *cb = form_get(&q, "callbackURL");
	/* Never bounce to a foreign site, whatever the link says. */
	if (cb && *cb && strlen(cb) < sizeof(r->callback) && target_allowed(cb))
		snprintf(r->callback, sizeof(r->callback), "%s", cb);
	if (!token || !*token || strlen(token) > TOKEN_MAX_LEN) {
		form_free(&q);
		audit_failure(ex, "email_verify", "email_link", NULL, "invalid", NULL);
		verify_answer(r, false, "INVALID_TOKEN", "This link is not valid.");
		return;
	}
	secure_sha256_param(token, strlen(token), r->token_hash);
	form_free(&q);
	if (guess_limited(r, "verify-ip:", false)) {
		mail_req_free(r);
		return;
	}
	STORE_CALL_FROM(r->ex, NULL, STORE_OP_EMAIL_VERIFY, email_verified, r, STORE_V_TEXT(r->token_hash));
}

/* ---- password reset ---- */

static void render_forgot(struct http_exchange *ex, int status, const char *error, const char *email)
{
	char csrf[CSRF_TOKEN_LEN], err[512];
	page_error_paragraph(error, err, sizeof(err));
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "email", email ? email : "" }, { "error", err }, { NULL, NULL } };
	page_reply(ex, status, "Forgot password", "forgot_password.html", vars);
}

static void render_reset(struct http_exchange *ex, int status, const char *error, const char *token)
{
	char csrf[CSRF_TOKEN_LEN], err[512];
	page_error_paragraph(error, err, sizeof(err));
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "token", token ? token : "" }, { "error", err }, { NULL, NULL } };
	page_reply(ex, status, "Choose a new password", "reset_password.html", vars);
}

/* The same answer whether or not the address has an account. */
static void reset_answer(struct http_exchange *ex, bool form)
{
	if (form)
		page_message(ex, 200, "Check your email",
		    "If an account uses this address, we sent it a link to choose a new password.", "/login", "Back to sign in");
	else
		http_reply_json(ex, 200, "{\"status\":true,\"message\":\"" RESET_ANSWER "\"}");
}

/* Reads a form body checked against its CSRF token, or sends the reply. */
static bool read_form(struct http_exchange *ex, struct form *f, void (*rerender)(struct http_exchange *, const struct form *))
{
	if (form_parse(ex->body, ex->body_len, 16384, f) != FORM_OK) {
		http_reply_error(ex, 400, "invalid_request", "malformed form body");
		return false;
	}
	if (!csrf_check(ex, form_get(f, "csrf"))) {
		rerender(ex, f);
		form_free(f);
		return false;
	}
	return true;
}

static void forgot_csrf_failed(struct http_exchange *ex, const struct form *f)
{
	render_forgot(ex, 403, "This form has expired or was already used; please try again.", form_get(f, "email"));
}

void handle_request_password_reset(struct http_exchange *ex)
{
	struct form f = { 0 };
	json_t *json = NULL;
	const char *email, *to = NULL;
	struct mail_req *r;
	bool form = http_exchange_is_form(ex) && ex->req.path.len > 0 && memcmp(ex->req.path.p, "/api/", 5) != 0;

	if (!mail_on(ex))
		return;
	if (form) {
		if (!read_form(ex, &f, forgot_csrf_failed))
			return;
		email = form_get(&f, "email");
	} else {
		if (!(json = json_request(ex)))
			return;
		email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, NULL);
		to = json_body_string(json, "redirectTo", 2048, NULL);
	}
	if (!(r = mail_req_new(ex)))
		goto out;
	r->form = form;
	if (!take_email(r, email)) {
		if (form)
			render_forgot(ex, 400, "Enter a valid email address.", email);
		else
			http_reply_error(ex, 400, "invalid_email", "enter a valid email address");
	} else if (to && *to && !target_allowed(to)) {
		http_reply_error(ex, 400, "invalid_redirect", "redirectTo must be on this site");
	} else if (!mail_limited(r, "reset")) {
		snprintf(r->callback, sizeof(r->callback), "%s", to ? to : "");
		ANSWER_THEN_QUEUE(r, reset_answer(ex, form), STORE_OP_PASSWORD_RESET_REQUEST, mail_queued, r,
		    STORE_V_TEXT(r->email), STORE_V_TEXT_OR_NULL(r->callback));
		r = NULL;
	}
	if (r)
		mail_req_free(r);
out:
	form_free(&f);
	json_decref(json);
}

static void reset_done(const struct store_reply *reply, void *arg)
{
	struct mail_req *r = arg;
	if (reply->status == STORE_TIMEOUT || store_failed(reply) || reply->n_rows != 1) {
		reply_unavailable(r);
		return;
	}
	const char *outcome = store_text(reply, 0, MAIL_OUTCOME_RESULT);
	if (!strcmp(outcome, "reset")) {
		log_info("password reset by email link: user %s; every session and token revoked",
		    store_text(reply, 0, MAIL_OUTCOME_USER_ID));
		if (r->form)
			page_message(r->ex, 200, "Password changed", "Your new password is set. Sign in with it.", "/login",
			    "Sign in");
		else
			http_reply_json(r->ex, 200, "{\"status\":true}");
	} else {
		keep_attempts(r);
		if (r->form)
			page_message(r->ex, 400, "Reset failed", "This link is not valid, has expired or was already used.",
			    "/forgot-password", "Ask for a new link");
		else
			http_reply_error(r->ex, 400, "INVALID_TOKEN", "the token is invalid, expired or already used");
	}
	mail_req_free(r);
}

static void reset_hashed(const struct ipc_msg *reply, void *arg)
{
	struct mail_req *r = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		http_reply_header(r->ex, "Retry-After", "1");
		http_reply_error(r->ex, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		mail_req_free(r);
		return;
	}
	STORE_CALL_FROM(r->ex, NULL, STORE_OP_PASSWORD_RESET, reset_done, r, STORE_V_TEXT(r->token_hash), STORE_V_TEXT(reply->s1),
	    STORE_V_INT(TOKEN_LEEWAY_S));
}

static void reset_csrf_failed(struct http_exchange *ex, const struct form *f)
{
	const char *t = form_get(f, "token");
	render_reset(ex, 403, "This form has expired; please try again.", t && strlen(t) <= TOKEN_MAX_LEN ? t : "");
}

/* Hashes the new password (the kdf), then spends the token and sets it. */
static void hash_then_reset(struct mail_req *r)
{
	struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = r->password, .s1_len = r->password_len };
	if (ipc_client_call(worker->kdf, &req, 30000, reset_hashed, r) < 0) {
		http_reply_header(r->ex, "Retry-After", "1");
		http_reply_error(r->ex, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		mail_req_free(r);
	}
}

void handle_reset_password(struct http_exchange *ex)
{
	struct form f = { 0 };
	json_t *json = NULL;
	const char *token, *password;
	struct mail_req *r = NULL;
	bool form = http_exchange_is_form(ex) && memcmp(ex->req.path.p, "/api/", 5) != 0;

	if (!mail_on(ex))
		return;
	if (form) {
		if (!read_form(ex, &f, reset_csrf_failed))
			return;
		token = form_get(&f, "token");
		password = form_get(&f, "password");
	} else {
		if (!(json = json_request(ex)))
			return;
		token = json_body_string(json, "token", TOKEN_MAX_LEN, NULL);
		password = json_body_string(json, "newPassword", KDF_MAX_PASSWORD, NULL);
	}
	if (!token || !*token || strlen(token) > TOKEN_MAX_LEN) {
		audit_failure(ex, "password_reset", "email_link", NULL, "invalid", NULL);
		if (form)
			page_message(ex, 400, "Reset failed", "This link is not valid.", "/forgot-password", "Ask for a new link");
		else
			http_reply_error(ex, 400, "INVALID_TOKEN", "token is required");
	} else if (!user_password_acceptable(password, password ? strlen(password) : 0)) {
		if (form)
			render_reset(ex, 400, "Use at least 8 characters.", token);
		else
			http_reply_error(ex, 400, "weak_password", "newPassword: use at least 8 characters");
	} else if ((r = mail_req_new(ex))) {
		r->form = form;
		secure_sha256_param(token, strlen(token), r->token_hash);
		r->password_len = strlen(password);
		r->password = malloc(r->password_len + 1);
		if (!r->password) {
			http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
			mail_req_free(r);
		} else if (memcpy(r->password, password, r->password_len + 1), guess_limited(r, "reset-ip:", false)) {
			mail_req_free(r);
		} else {
			hash_then_reset(r);
		}
	}
	form_free(&f);
	json_decref(json);
}

void handle_forgot_password_page(struct http_exchange *ex)
{
	if (!cfg.smtp_host) {
		page_message(ex, 501, "Forgot password", "This server sends no email: ask its operator to reset your password.",
		    "/login", "Back to sign in");
		return;
	}
	render_forgot(ex, 200, NULL, NULL);
}

void handle_reset_password_page(struct http_exchange *ex)
{
	struct form q = { 0 };
	const char *token = NULL;

	if (!cfg.smtp_host) {
		handle_forgot_password_page(ex);
		return;
	}
	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, 4096, &q) == FORM_OK)
		token = form_get(&q, "token");
	if (!token || !*token || strlen(token) > TOKEN_MAX_LEN)
		page_message(ex, 400, "Reset password", "This link is not valid.", "/forgot-password", "Ask for a new link");
	else
		render_reset(ex, 200, NULL, token);
	form_free(&q);
}

/* ---- emailed one-time codes ---- */

static bool otp_type_ok(const char *t)
{
	return t && (!strcmp(t, "sign-in") || !strcmp(t, "email-verification") || !strcmp(t, "forget-password"));
}

static bool otp_code_ok(const char *c)
{
	if (!c || strlen(c) != 6)
		return false;
	for (; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

static void otp_send(struct http_exchange *ex)
{
	json_t *json;
	struct mail_req *r;

	if (!(json = json_request(ex)))
		return;
	const char *email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, NULL);
	const char *type = json_body_string(json, "type", 32, NULL);
	if (!(r = mail_req_new(ex))) {
		json_decref(json);
		return;
	}
	if (!take_email(r, email)) {
		http_reply_error(ex, 400, "invalid_email", "enter a valid email address");
	} else if (!otp_type_ok(type)) {
		http_reply_error(ex, 400, "invalid_type", "type must be sign-in, email-verification or forget-password");
	} else if (!mail_limited(r, "otp")) {
		snprintf(r->type, sizeof(r->type), "%s", type);
		json_decref(json);
		/* Sent or not (no account, registration closed): the same answer. */
		ANSWER_THEN_QUEUE(r, http_reply_json(ex, 200, "{\"success\":true}"), STORE_OP_EMAIL_OTP_SEND, mail_queued, r,
		    STORE_V_TEXT(r->email), STORE_V_TEXT(r->type), STORE_V_BOOL(cfg.enable_registration));
		return;
	}
	json_decref(json);
	mail_req_free(r);
}

static void otp_session_opened(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct mail_req *r = arg;
	if (rc < 0) {
		reply_unavailable(r);
		return;
	}
	log_info("sign-in by email code: user %s from %s", r->user_id, ex->client_ip);
	json_t *o = json_pack("{s:{s:s,s:s,s:s,s:b},s:{s:s,s:I}}", "user", "id", s->user_id, "email", s->email, "name",
	    s->name, "emailVerified", 1, "session", "id", s->session_id, "expires_at", (json_int_t)s->expires_at);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(ex, 200, text ? text : "{}");
	free(text);
	json_decref(o);
	mail_req_free(r);
}

static void otp_second_factor_checked(struct http_exchange *ex, int rc, void *arg)
{
	struct mail_req *r = arg;
	if (rc < 0)
		reply_unavailable(r);
	else if (rc > 0)
		mail_req_free(r);	/* the second-factor step has answered */
	else
		session_create(ex, r->user_id, "otp", otp_session_opened, r);
}

/* The code held: a second factor the account has enrolled (TOTP, a
 * passkey: workers/two_factor_gate.c) comes next, as after a password; the
 * pending sign-in records "otp" as its first factor. */
void email_otp_second_factor(struct http_exchange *ex, const char *user_id, email_otp_gate_fn done, void *arg)
{
	second_factor_gate(ex, user_id, "otp", false, "", done, arg);
}

/* A refused code (the store's outcome word as the reason; never the
 * code): a failed sign-in (also counted in /metrics), or a failed address
 * verification or password reset. Before the answer: it needs r->ex. */
static void otp_refused(struct mail_req *r, const char *user_id, const char *reason)
{
	if (!strcmp(r->type, "sign-in")) {
		audit_sign_in_failed(r->ex, "email_otp", user_id, r->email_raw, reason);
		return;
	}
	json_t *detail = json_object();
	if (detail)
		json_object_set_new(detail, "name", json_string(r->email_raw));
	audit_failure(r->ex, !strcmp(r->type, "forget-password") ? "password_reset" : "email_verify", "email_otp", user_id,
	    reason, detail);
}

static void otp_used(const struct store_reply *reply, void *arg)
{
	struct mail_req *r = arg;
	if (store_failed(reply) || reply->n_rows != 1) {
		reply_unavailable(r);
		return;
	}
	const char *outcome = store_text(reply, 0, MAIL_OUTCOME_RESULT);
	if (!strcmp(outcome, "signed_in") || !strcmp(outcome, "signed_up")) {
		snprintf(r->user_id, sizeof(r->user_id), "%s", store_text(reply, 0, MAIL_OUTCOME_USER_ID));
		if (!strcmp(outcome, "signed_up"))
			log_info("sign-up by email code: user %s", r->user_id);
		rate_limit_reset(worker->shm->limits, r->acct_key);
		r->acct_reserved = false;
		email_otp_second_factor(r->ex, r->user_id, otp_second_factor_checked, r);
		return;
	}
	if (!strcmp(outcome, "verified") || !strcmp(outcome, "reset")) {
		rate_limit_reset(worker->shm->limits, r->acct_key);
		r->acct_reserved = false;
		http_reply_json(r->ex, 200, !strcmp(outcome, "reset") ? "{\"success\":true}" : "{\"status\":true}");
	} else if (!strcmp(outcome, "disabled")) {
		otp_refused(r, store_text(reply, 0, MAIL_OUTCOME_USER_ID), "account_disabled");
		http_reply_error(r->ex, 403, "account_disabled", "this account is disabled");
	} else {
		keep_attempts(r);
		log_info("wrong or dead email code for %s from %s (%s)", r->email, r->ex->client_ip, outcome);
		otp_refused(r, NULL, outcome);
		if (!strcmp(outcome, "expired"))
			http_reply_error(r->ex, 400, "OTP_EXPIRED", "the code has expired; ask for a new one");
		else if (!strcmp(outcome, "too_many_attempts"))
			http_reply_error(r->ex, 403, "TOO_MANY_ATTEMPTS", "too many wrong codes; ask for a new one");
		else
			http_reply_error(r->ex, 400, "INVALID_OTP", "the code is wrong");
	}
	mail_req_free(r);
}

static void otp_use_call(struct mail_req *r, const char *phc)
{
	STORE_CALL_FROM(r->ex, NULL, STORE_OP_EMAIL_OTP_USE, otp_used, r, STORE_V_TEXT(r->email), STORE_V_TEXT(r->email_raw),
	    STORE_V_TEXT(r->type), STORE_V_TEXT(r->code), STORE_V_BOOL(cfg.enable_registration),
	    phc ? STORE_V_TEXT(phc) : STORE_V_NULL, STORE_V_INT(TOKEN_LEEWAY_S));
}

static void otp_reset_hashed(const struct ipc_msg *reply, void *arg)
{
	struct mail_req *r = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		http_reply_header(r->ex, "Retry-After", "1");
		http_reply_error(r->ex, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		mail_req_free(r);
		return;
	}
	otp_use_call(r, reply->s1);
}

/* sign-in/email-otp, email-otp/verify-email, email-otp/reset-password. */
static void otp_use(struct http_exchange *ex, const char *type)
{
	json_t *json;
	struct mail_req *r;
	const char *password = NULL;

	if (!mail_on(ex) || !(json = json_request(ex)))
		return;
	const char *email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, NULL);
	const char *otp = json_body_string(json, "otp", 16, NULL);
	if (!strcmp(type, "forget-password"))
		password = json_body_string(json, "password", KDF_MAX_PASSWORD, NULL);
	if (!(r = mail_req_new(ex))) {
		json_decref(json);
		return;
	}
	snprintf(r->type, sizeof(r->type), "%s", type);
	if (!take_email(r, email)) {
		http_reply_error(ex, 400, "invalid_email", "enter a valid email address");
	} else if (!otp_code_ok(otp)) {
		http_reply_error(ex, 400, "INVALID_OTP", "the code is six digits");
	} else if (!strcmp(type, "forget-password") && !user_password_acceptable(password, password ? strlen(password) : 0)) {
		http_reply_error(ex, 400, "weak_password", "password: use at least 8 characters");
	} else if (!guess_limited(r, "otp-ip:", true)) {
		snprintf(r->code, sizeof(r->code), "%s", otp);
		if (!password) {
			json_decref(json);
			otp_use_call(r, NULL);
			return;
		}
		r->password_len = strlen(password);
		r->password = malloc(r->password_len + 1);
		if (r->password) {
			memcpy(r->password, password, r->password_len + 1);
			json_decref(json);
			struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = r->password, .s1_len = r->password_len };
			if (ipc_client_call(worker->kdf, &req, 30000, otp_reset_hashed, r) == 0)
				return;
			http_reply_header(ex, "Retry-After", "1");
			http_reply_error(ex, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
			mail_req_free(r);
			return;
		}
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
	}
	json_decref(json);
	mail_req_free(r);
}

void handle_sign_in_email_otp(struct http_exchange *ex)
{
	otp_use(ex, "sign-in");
}

static void otp_verify_email(struct http_exchange *ex)
{
	otp_use(ex, "email-verification");
}

static void otp_reset_password(struct http_exchange *ex)
{
	otp_use(ex, "forget-password");
}

void handle_email_otp(struct http_exchange *ex)
{
	static const struct subroute routes[] = {
		{ "/api/auth/email-otp/send-verification-otp", SUBROUTE_METHOD(POST), otp_send, "POST" },
		{ "/api/auth/email-otp/verify-email", SUBROUTE_METHOD(POST), otp_verify_email, "POST" },
		{ "/api/auth/email-otp/reset-password", SUBROUTE_METHOD(POST), otp_reset_password, "POST" },
	};
	if (!mail_on(ex))
		return;
	subroute_dispatch(ex, routes, sizeof(routes) / sizeof(routes[0]), true);
}
