/*
 * Email + password accounts: sign-up, sign-in, sign-out, change password,
 * as JSON endpoints (/api/auth/...) and as server-rendered forms (/login,
 * /signup, /logout). Passwords are hashed and verified by the kdf actor
 * (argon2id) so a login storm never blocks this loop. Unknown accounts cost
 * the same hash as known ones. Attempts are counted per IP and per account
 * in shared memory before the password is checked; over the limit answers
 * 429 with Retry-After. The JSON paths (/api/auth/...) take JSON only, so a
 * cross-site form cannot sign a victim in (or up) as someone else.
 *
 * Every step is asynchronous (kdf, store actor, sessions): a request's state
 * lives in a struct auth_request that the last step frees, with its reply.
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/log.h"
#include "proto/forwarded.h"
#include "kdf/kdf.h"
#include "master/user_opts.h"
#include "proto/display_name.h"
#include "proto/email.h"
#include "proto/form.h"
#include "proto/json_body.h"
#include "proto/redirect.h"
#include "shm/rate_limit.h"
#include "workers/auth_passkey.h"
#include "workers/csrf.h"
#include "workers/pages.h"
#include "workers/retry_after.h"
#include "workers/session.h"
#include "workers/audit.h"
#include "workers/store_client.h"
#include "workers/two_factor.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 80

enum auth_flow { FLOW_SIGN_IN, FLOW_SIGN_UP, FLOW_CHANGE_PASSWORD };

struct auth_request {
	struct http_exchange *ex;
	enum auth_flow flow;
	bool form;			/* answer with pages and redirects, not JSON */
	char email[EMAIL_MAX_LEN + 1];	/* normalized */
	char email_raw[EMAIL_MAX_LEN + 1];
	char name[NAME_MAX_BYTES + 1];
	char *password;
	size_t password_len;
	char *new_password;		/* change password */
	size_t new_password_len;
	char rd[2049];
	char user_id[40];
	char session_id[40];
	bool user_ok;			/* exists, enabled, has a password */
	bool email_verified;
	char ip_key[96], account_key[300];
	/* Attempts reserved at counted_at and still to be given back when this
	 * request ends, unless it settles them as a failed guess. */
	int64_t counted_at;
	bool ip_reserved, account_reserved;
};

static void refund_reserved_attempts(struct auth_request *a)
{
	if (a->ip_reserved)
		rate_limit_refund(worker->shm->limits, a->ip_key, a->counted_at, cfg.login_window);
	if (a->account_reserved)
		rate_limit_refund(worker->shm->limits, a->account_key, a->counted_at, cfg.login_window);
	a->ip_reserved = a->account_reserved = false;
}

/* Also gives back attempts that ended without a verdict on the password
 * (database or kdf unavailable, success): only failures stay counted. */
static void auth_request_free(struct auth_request *a)
{
	refund_reserved_attempts(a);
	if (a->password) {
		secure_wipe(a->password, a->password_len);
		free(a->password);
	}
	if (a->new_password) {
		secure_wipe(a->new_password, a->new_password_len);
		free(a->new_password);
	}
	free(a);
}

static char *dup_secret(const char *s, size_t *len)
{
	*len = strlen(s);
	char *p = malloc(*len + 1);
	if (p)
		memcpy(p, s, *len + 1);
	return p;
}

static void trim_ascii_space(char *s)
{
	size_t start = strspn(s, " \t\r\n"), len = strlen(s);
	while (len > start && strchr(" \t\r\n", s[len - 1]))
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

static const char *issuer_host(void)
{
	return strstr(cfg.issuer, "://") + 3;
}

/* A safe place to go after signing in: rd if allowed, else the account page. */
static const char *after_login_target(const char *rd)
{
	if (rd && *rd && redirect_target_allowed(rd, strlen(rd), issuer_host(), cfg.cookie_domain, cfg.issuer_is_local_http))
		return rd;
	return "/account";
}

static void render_login(struct http_exchange *ex, int status, const char *error, const char *email, const char *rd)
{
	char csrf[CSRF_TOKEN_LEN], err_html[512];
	page_error_paragraph(error, err_html, sizeof(err_html));
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "rd", rd ? rd : "" }, { "email", email ? email : "" },
		{ "error", err_html },
		{ "signup_link", cfg.enable_registration ? "<p><a href=\"/signup\">Create an account</a></p>" : "" },
		{ "forgot_link", cfg.smtp_host ? "<p><a href=\"/forgot-password\">Forgot password?</a></p>" : "" },
		{ NULL, NULL } };
	page_reply(ex, status, "Sign in", "login.html", vars);
}

static void render_signup(struct http_exchange *ex, int status, const char *error, const char *email,
    const char *name, const char *rd)
{
	char csrf[CSRF_TOKEN_LEN], err_html[512];
	page_error_paragraph(error, err_html, sizeof(err_html));
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "rd", rd ? rd : "" }, { "email", email ? email : "" },
		{ "name", name ? name : "" }, { "error", err_html }, { NULL, NULL } };
	page_reply(ex, status, "Create account", "signup.html", vars);
}

/* One error, in the flow's own language (JSON or page). */
static void auth_fail(struct auth_request *a, int status, const char *code, const char *message)
{
	struct http_exchange *ex = a->ex;
	if (!a->form)
		http_reply_error(ex, status, code, message);
	else if (a->flow == FLOW_SIGN_UP)
		render_signup(ex, status, message, a->email_raw, a->name, a->rd);
	else
		render_login(ex, status, message, a->email_raw, a->rd);
	auth_request_free(a);
}

/* The store (or the kdf) could not give a verdict: 503, try again shortly. */
static void auth_fail_unavailable(struct auth_request *a, const char *message)
{
	http_reply_header(a->ex, "Retry-After", "1");
	auth_fail(a, 503, "temporarily_unavailable", message);
}

static void user_json_reply(struct auth_request *a, int status, const struct session_entry *s)
{
	json_t *o = json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:I}}", "user", "id", s->user_id, "email", s->email, "name",
	    s->name, "session", "id", s->session_id, "expires_at", (json_int_t)s->expires_at);
	char *text = json_dumps(o, JSON_COMPACT);
	http_reply_json(a->ex, status, text ? text : "{}");
	free(text);
	json_decref(o);
}

static void session_opened(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct auth_request *a = arg;
	if (rc < 0) {
		auth_fail_unavailable(a, "could not create a session; try again");
		return;
	}
	log_info("sign-in: user %s from %s", a->user_id, ex->client_ip);
	if (a->form) {
		http_reply_header(ex, "Location", after_login_target(a->rd));
		http_reply(ex, 303, NULL, NULL, 0);
		auth_request_free(a);
		return;
	}
	user_json_reply(a, a->flow == FLOW_SIGN_UP ? 201 : 200, s);
	auth_request_free(a);
}

/* The account may want a second factor (a TOTP code, a recovery code or its
 * passkey: workers/two_factor_gate.c): then the gate has answered, and the
 * session waits for it. */
static void second_factor_checked(struct http_exchange *ex, int rc, void *arg)
{
	struct auth_request *a = arg;
	if (rc < 0)
		auth_fail_unavailable(a, "sign-in is unavailable; try again");
	else if (rc > 0)
		auth_request_free(a);
	else
		session_create(ex, a->user_id, "pwd", session_opened, a);
}

static void signed_in(struct auth_request *a)
{
	if (a->flow == FLOW_SIGN_IN)
		second_factor_gate(a->ex, a->user_id, "pwd", a->form, a->rd, second_factor_checked, a);
	else
		session_create(a->ex, a->user_id, "pwd", session_opened, a);
}

/* Counts this attempt against the IP and, when count_account, the account
 * (else only checks the account's count), before the password is checked and
 * atomically, so parallel guesses cannot overshoot the limits while the kdf
 * works. true when refused (the reply is sent and a freed). */
static bool attempt_refused(struct auth_request *a, bool count_account)
{
	struct rate_limit *rl = worker->shm->limits;
	int retry_ip = 0, retry_acct = 0, ip, acct = 0;

	a->counted_at = now_seconds();
	ip = rate_limit_reserve(rl, a->ip_key, a->counted_at, cfg.login_window, cfg.login_ip_max_attempts, &retry_ip);
	a->ip_reserved = ip > 0;
	if (ip > 0 && count_account) {
		acct = rate_limit_reserve(rl, a->account_key, a->counted_at, cfg.login_window, cfg.login_max_attempts,
		    &retry_acct);
		a->account_reserved = acct > 0;
	} else if (ip > 0) {
		acct = rate_limit_peek(rl, a->account_key, a->counted_at, cfg.login_window, cfg.login_max_attempts,
		    &retry_acct) < cfg.login_max_attempts;
	}
	if (ip > 0 && acct > 0)
		return false;
	if (ip < 0 || acct < 0) {	/* a counter we cannot reach lets no guess through */
		auth_fail(a, 503, "temporarily_unavailable", "sign-in is unavailable; try again");
		return true;
	}
	http_reply_retry_after(a->ex, retry_ip > retry_acct ? retry_ip : retry_acct);
	log_warnx("sign-in throttled for %s from %s", a->email, a->ex->client_ip);
	if (a->flow == FLOW_SIGN_IN)
		audit_sign_in_failed(a->ex, "password", NULL, a->email_raw, "throttled");
	auth_fail(a, 429, "too_many_requests", "too many attempts; try again later");
	return true;
}

/* A wrong password: the reserved attempts stay counted. */
static void keep_reserved_attempts(struct auth_request *a)
{
	a->ip_reserved = a->account_reserved = false;
}

/* ---- change password: verify current, hash new, store, revoke others ---- */

/* The store changed the hash and revoked the user's other sessions in one
 * transaction (STORE_OP_USER_PASSWORD_CHANGE), or neither. */
static void password_stored(const struct store_reply *reply, void *arg)
{
	struct auth_request *a = arg;
	/* Past the deadline the store may still commit: do not claim it did not. */
	if (reply->status == STORE_TIMEOUT) {
		auth_fail_unavailable(a, "could not confirm the password change; try again");
		return;
	}
	if (reply->status != STORE_OK) {
		auth_fail_unavailable(a, "could not change the password; nothing was changed");
		return;
	}
	log_info("password changed for user %s; other sessions revoked", a->user_id);
	http_reply_json(a->ex, 200, "{\"status\":\"ok\"}");
	auth_request_free(a);
}

static void new_hash_done(const struct ipc_msg *reply, void *arg)
{
	struct auth_request *a = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		auth_fail(a, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		return;
	}
	STORE_CALL_FROM(a->ex, NULL, STORE_OP_USER_PASSWORD_CHANGE, password_stored, a, STORE_V_TEXT(a->user_id), STORE_V_TEXT(reply->s1),
	    STORE_V_TEXT_OR_NULL(a->session_id));
}

/* ---- sign-up: hash, insert ---- */

static void account_created(const struct store_reply *reply, void *arg)
{
	struct auth_request *a = arg;
	if (reply->status == STORE_CONFLICT) {
		auth_fail(a, 409, "user_exists", "an account with this email already exists");
		return;
	}
	if (reply->status != STORE_OK || reply->n_rows != 1) {
		auth_fail_unavailable(a, "could not create the account");
		return;
	}
	snprintf(a->user_id, sizeof(a->user_id), "%s", store_text(reply, 0, NEW_USER_ID));
	log_info("sign-up: user %s", a->user_id);
	/* REQUIRE_EMAIL_VERIFICATION: no session until the link is followed
	 * (BetterAuth answers the user and a null token). */
	if (cfg.require_email_verification) {
		if (a->form) {
			page_message(a->ex, 201, "Check your email",
			    "We sent you a link to verify your address. Follow it, then sign in.", "/login", "Sign in");
		} else {
			json_t *o = json_pack("{s:n,s:{s:s,s:s,s:s,s:b}}", "token", "user", "id", a->user_id, "email",
			    a->email_raw, "name", a->name, "emailVerified", 0);
			char *text = json_dumps(o, JSON_COMPACT);
			http_reply_json(a->ex, 201, text ? text : "{}");
			free(text);
			json_decref(o);
		}
		auth_request_free(a);
		return;
	}
	signed_in(a);
}

static void signup_hash_done(const struct ipc_msg *reply, void *arg)
{
	struct auth_request *a = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		auth_fail(a, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		return;
	}
	/* ADMIN_EMAILS is granted when the address is verified (store/mail_flows.c),
	 * never at sign-up: an address nobody proved is not an admin's. With
	 * SMTP_HOST the verification link is queued with the account. */
	if (cfg.smtp_host)
		STORE_CALL_FROM(a->ex, NULL, STORE_OP_USER_SIGN_UP_VERIFY, account_created, a, STORE_V_TEXT(a->email_raw),
		    STORE_V_TEXT(a->email), STORE_V_TEXT(a->name), STORE_V_TEXT(reply->s1), STORE_V_BOOL(false),
		    STORE_V_TEXT_OR_NULL(a->rd));
	else
		STORE_CALL_FROM(a->ex, NULL, STORE_OP_USER_SIGN_UP, account_created, a, STORE_V_TEXT(a->email_raw), STORE_V_TEXT(a->email),
		    STORE_V_TEXT(a->name), STORE_V_TEXT(reply->s1), STORE_V_BOOL(false));
}

/* ---- sign-in and change password: verify ---- */

static void verify_done(const struct ipc_msg *reply, void *arg)
{
	struct auth_request *a = arg;
	if (!reply || reply->status == -2 || reply->status < 0) {
		http_reply_header(a->ex, "Retry-After", "1");
		auth_fail(a, 503, "temporarily_unavailable", "sign-in is busy; try again");
		return;
	}
	if (reply->status != 0 || !a->user_ok) {
		keep_reserved_attempts(a);
		log_info("sign-in failed for %s from %s", a->email, a->ex->client_ip);
		const char *reason = !a->user_id[0] ? "unknown_account" : !a->user_ok ? "disabled_or_no_password" :
		    "wrong_password";
		if (a->flow == FLOW_CHANGE_PASSWORD)
			audit_failure(a->ex, "password_change", "password", a->user_id, "wrong_password", NULL);
		else
			audit_sign_in_failed(a->ex, "password", a->user_id[0] ? a->user_id : NULL, a->email_raw, reason);
		if (a->flow == FLOW_CHANGE_PASSWORD)
			auth_fail(a, 403, "invalid_password", "the current password is wrong");
		else
			auth_fail(a, 401, "invalid_credentials", "invalid email or password");
		return;
	}
	/* Success clears the account's failures (its own reservation with them);
	 * the IP's reservation is given back when the request ends. */
	rate_limit_reset(worker->shm->limits, a->account_key);
	a->account_reserved = false;
	/* Only after the password held: the answer tells nothing to a guesser. */
	if (a->flow == FLOW_SIGN_IN && cfg.require_email_verification && !a->email_verified) {
		audit_sign_in_failed(a->ex, "password", a->user_id, a->email_raw, "email_not_verified");
		auth_fail(a, 403, "EMAIL_NOT_VERIFIED", "verify your email address first: follow the link we sent you");
		return;
	}
	if (a->flow == FLOW_CHANGE_PASSWORD) {
		struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = a->new_password, .s1_len = a->new_password_len };
		if (ipc_client_call(worker->kdf, &req, 30000, new_hash_done, a) < 0)
			auth_fail(a, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
		return;
	}
	signed_in(a);
}

static void verify_password(struct auth_request *a, const char *phc)
{
	struct ipc_msg req = { .type = IPC_VERIFY_REQ, .s1 = a->password, .s1_len = a->password_len,
		.s2 = (char *)phc, .s2_len = strlen(phc) };
	if (ipc_client_call(worker->kdf, &req, 30000, verify_done, a) < 0) {
		http_reply_header(a->ex, "Retry-After", "1");
		auth_fail(a, 503, "temporarily_unavailable", "sign-in is unavailable; try again");
	}
}

/* The account to check the password against (sign-in by email, change
 * password by id): unknown, disabled or password-less, the kdf burns the
 * same time on "" and says no. */
static void account_found(const struct store_reply *reply, void *arg)
{
	struct auth_request *a = arg;
	const char *phc = "";
	if (store_failed(reply)) {	/* no verdict: not a failed guess */
		auth_fail_unavailable(a, "the account store is unavailable");
		return;
	}
	if (reply->n_rows == 1) {
		snprintf(a->user_id, sizeof(a->user_id), "%s", store_text(reply, 0, USER_CREDENTIALS_ID));
		a->user_ok = !store_bool(reply, 0, USER_CREDENTIALS_DISABLED) &&
		    store_text(reply, 0, USER_CREDENTIALS_PASSWORD_HASH)[0];
		if (a->user_ok)
			phc = store_text(reply, 0, USER_CREDENTIALS_PASSWORD_HASH);
		a->email_verified = store_bool(reply, 0, USER_CREDENTIALS_EMAIL_VERIFIED);
	}
	verify_password(a, phc);
}

/* The JSON account API, as opposed to the server-rendered pages. */
static bool api_path(const struct http_exchange *ex)
{
	static const char prefix[] = "/api/";
	return ex->req.path.len >= sizeof(prefix) - 1 && memcmp(ex->req.path.p, prefix, sizeof(prefix) - 1) == 0;
}

/* Reads email/password/(name, rd, csrf) from a JSON or form body. */
static struct auth_request *auth_request_from_body(struct http_exchange *ex, enum auth_flow flow)
{
	struct auth_request *a = calloc(1, sizeof(*a));
	const char *email = NULL, *password = NULL, *name = NULL, *rd = NULL, *why = NULL;
	bool name_present = false;
	struct form f = { 0 };
	json_t *json = NULL;

	if (!a) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	a->ex = ex;
	a->flow = flow;
	/* Forms only on the page paths, which check their CSRF token: a form
	 * posted to /api/auth/... would carry neither token nor JSON type. */
	if (http_exchange_is_form(ex) && !api_path(ex)) {
		a->form = true;
		if (form_parse(ex->body, ex->body_len, 16384, &f) != FORM_OK) {
			http_reply_error(ex, 400, "invalid_request", "malformed form body");
			goto fail;
		}
		if (a->form && !csrf_check(ex, form_get(&f, "csrf"))) {
			rd = form_get(&f, "rd");
			snprintf(a->rd, sizeof(a->rd), "%s", rd ? rd : "");
			const char *e = form_get(&f, "email");
			snprintf(a->email_raw, sizeof(a->email_raw), "%s", e ? e : "");
			form_free(&f);
			/* Render a fresh form (with a new token) rather than a dead end. */
			auth_fail(a, 403, "invalid_csrf", "this form has expired or was already used; please try again");
			return NULL;
		}
		email = form_get(&f, "email");
		password = form_get(&f, "password");
		name = form_get(&f, "name");
		rd = form_get(&f, "rd");
	} else if (http_exchange_is_json(ex)) {
		if (!csrf_origin_ok(ex)) {
			http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
			goto fail;
		}
		json = json_body_parse(ex->body, ex->body_len, &why);
		if (!json) {
			http_reply_error(ex, 400, "invalid_request", why ? why : "malformed JSON body");
			goto fail;
		}
		email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, NULL);
		password = json_body_string(json, "password", KDF_MAX_PASSWORD, NULL);
		name = json_body_string(json, "name", NAME_MAX_BYTES, &name_present);
		/* Present but too long or not a string: refuse rather than store an empty name. */
		if (!name && name_present) {
			http_reply_error(ex, 400, "invalid_name", "the name is too long or not a string");
			goto fail;
		}
		rd = json_body_string(json, "callbackURL", 2048, NULL);
	} else {
		http_reply_error(ex, 415, "unsupported_media_type",
		    api_path(ex) ? "send application/json" : "send application/json or a form");
		goto fail;
	}
	snprintf(a->rd, sizeof(a->rd), "%s", rd && strlen(rd) < sizeof(a->rd) ? rd : "");
	snprintf(a->email_raw, sizeof(a->email_raw), "%s", email && strlen(email) <= EMAIL_MAX_LEN ? email : "");
	trim_ascii_space(a->email_raw);	/* the display form is stored: no stray spaces */
	snprintf(a->name, sizeof(a->name), "%s", name && strlen(name) <= NAME_MAX_BYTES ? name : "");
	const char *name_problem = name ? display_name_problem(name, strlen(name)) : NULL;
	if (name_problem) {
		auth_fail(a, 400, "invalid_name", name_problem);
		goto fail_freed;
	}
	if (!email || email_normalize(email, strlen(email), a->email, sizeof(a->email)) < 0) {
		auth_fail(a, 400, "invalid_email", "enter a valid email address");
		goto fail_freed;
	}
	/* The placeholder domain of wallet-only accounts (workers/auth_siwe.c):
	 * nobody may claim such an address with a password. */
	size_t email_len = strlen(a->email);
	if (email_len >= 15 && strcmp(a->email + email_len - 15, "@wallet.invalid") == 0) {
		auth_fail(a, 400, "invalid_email", "addresses @wallet.invalid are reserved for wallet accounts");
		goto fail_freed;
	}
	if (!password || !*password) {
		auth_fail(a, 400, "invalid_password", "enter a password");
		goto fail_freed;
	}
	if (strlen(password) > KDF_MAX_PASSWORD) {
		auth_fail(a, 400, "invalid_password", "the password is too long");
		goto fail_freed;
	}
	a->password = dup_secret(password, &a->password_len);
	client_limit_key("ip:", ex->client_ip, a->ip_key, sizeof(a->ip_key));
	snprintf(a->account_key, sizeof(a->account_key), "acct:%s", a->email);
	form_free(&f);
	json_decref(json);
	if (!a->password) {
		auth_fail(a, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	return a;
fail:
	free(a);
	form_free(&f);
	json_decref(json);
	return NULL;
fail_freed:
	form_free(&f);
	json_decref(json);
	return NULL;
}

static void sign_in(struct http_exchange *ex)
{
	struct auth_request *a = auth_request_from_body(ex, FLOW_SIGN_IN);
	if (!a || attempt_refused(a, true))
		return;
	STORE_CALL(STORE_OP_USER_FIND_BY_EMAIL, account_found, a, STORE_V_TEXT(a->email));
}

void handle_sign_in(struct http_exchange *ex)
{
	sign_in(ex);
}

static void sign_up(struct http_exchange *ex)
{
	if (!cfg.enable_registration) {
		if (http_exchange_is_form(ex) && !api_path(ex))
			page_message(ex, 403, "Registration closed", "Registration is disabled on this server.", "/login",
			    "Sign in");
		else
			http_reply_error(ex, 403, "registration_disabled", "registration is disabled");
		return;
	}
	struct auth_request *a = auth_request_from_body(ex, FLOW_SIGN_UP);
	if (!a)
		return;
	if (!user_password_acceptable(a->password, a->password_len)) {
		auth_fail(a, 400, "weak_password", "use at least 8 characters");
		return;
	}
	if (attempt_refused(a, false))
		return;
	/* Sign-ups stay counted like failed sign-ins: it bounds account-creation floods per IP. */
	keep_reserved_attempts(a);
	struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = a->password, .s1_len = a->password_len };
	if (ipc_client_call(worker->kdf, &req, 30000, signup_hash_done, a) < 0)
		auth_fail(a, 503, "temporarily_unavailable", "password hashing is unavailable; try again");
}

void handle_sign_up(struct http_exchange *ex)
{
	sign_up(ex);
}

/* The signed-in user's request: checks the body, then verifies the current
 * password against the stored hash (account_found, verify_done). */
static void change_password_signed_in(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	const char *why = NULL;
	json_t *json;

	if (rc <= 0) {
		if (rc < 0)
			http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, rc < 0 ? 503 : 401, rc < 0 ? "temporarily_unavailable" : "unauthorized",
		    rc < 0 ? "session store unavailable" : "sign in first");
		return;
	}
	if (!http_exchange_is_json(ex) || !csrf_origin_ok(ex)) {
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json from this origin");
		return;
	}
	json = json_body_parse(ex->body, ex->body_len, &why);
	const char *current = json ? json_body_string(json, "currentPassword", KDF_MAX_PASSWORD, NULL) : NULL;
	const char *next = json ? json_body_string(json, "newPassword", KDF_MAX_PASSWORD, NULL) : NULL;
	if (!current || !next || !*current) {
		json_decref(json);
		http_reply_error(ex, 400, "invalid_request", "currentPassword and newPassword are required");
		return;
	}
	if (!user_password_acceptable(next, strlen(next))) {
		json_decref(json);
		http_reply_error(ex, 400, "weak_password", "use at least 8 characters");
		return;
	}
	struct auth_request *a = calloc(1, sizeof(*a));
	if (!a) {
		json_decref(json);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	a->ex = ex;
	a->flow = FLOW_CHANGE_PASSWORD;
	snprintf(a->user_id, sizeof(a->user_id), "%s", s->user_id);
	snprintf(a->session_id, sizeof(a->session_id), "%s", s->session_id);
	/* The same account key as sign-in: the normalized address, not the display one. */
	if (email_normalize(s->email, strlen(s->email), a->email, sizeof(a->email)) < 0)
		snprintf(a->email, sizeof(a->email), "%.*s", (int)sizeof(a->email) - 1, s->email);
	client_limit_key("ip:", ex->client_ip, a->ip_key, sizeof(a->ip_key));
	snprintf(a->account_key, sizeof(a->account_key), "acct:%s", a->email);
	a->password = dup_secret(current, &a->password_len);
	a->new_password = dup_secret(next, &a->new_password_len);
	json_decref(json);
	if (!a->password || !a->new_password) {
		auth_fail(a, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	if (attempt_refused(a, true))
		return;
	STORE_CALL(STORE_OP_USER_FIND_BY_ID, account_found, a, STORE_V_TEXT(a->user_id));
}

void handle_change_password(struct http_exchange *ex)
{
	session_from_request(ex, change_password_signed_in, NULL);
}

/* ---- sign-out ---- */

/* The page form, as opposed to the JSON API (no body, or JSON). */
static bool sign_out_by_form(const struct http_exchange *ex)
{
	return http_exchange_is_form(ex) && !api_path(ex);
}

/* The session is still valid: reporting a sign-out would be a lie. */
static void sign_out_failed(struct http_exchange *ex)
{
	http_reply_header(ex, "Retry-After", "1");
	if (sign_out_by_form(ex))
		page_message(ex, 503, "Sign out", "Could not sign you out; please try again.", "/account", "Back");
	else
		http_reply_error(ex, 503, "temporarily_unavailable", "could not end the session; try again");
}

static void sign_out_reply(struct http_exchange *ex)
{
	session_cookie_clear(ex);
	if (sign_out_by_form(ex)) {
		http_reply_header(ex, "Location", "/login");
		http_reply(ex, 303, NULL, NULL, 0);
	} else {
		http_reply_json(ex, 200, "{\"status\":\"ok\"}");
	}
}

static void session_ended(struct http_exchange *ex, int rc, void *arg)
{
	char *user_id = arg;
	if (rc < 0) {
		sign_out_failed(ex);
	} else {
		log_info("sign-out: user %s", user_id);
		sign_out_reply(ex);
	}
	free(user_id);
}

static void sign_out_session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	if (rc < 0) {
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
		return;
	}
	if (rc == 0) {	/* nothing to end: just the cookie */
		sign_out_reply(ex);
		return;
	}
	/* Still valid in the database: clearing only the cookie would report
	 * a sign-out that did not happen. */
	char *user_id = strdup(s->user_id);	/* for the log line once it is done */
	if (!user_id) {
		sign_out_failed(ex);
		return;
	}
	session_revoke_key(ex, s->key, session_ended, user_id);
}

void handle_sign_out(struct http_exchange *ex)
{
	if (sign_out_by_form(ex)) {
		struct form f = { 0 };
		bool ok = form_parse(ex->body, ex->body_len, 4096, &f) == FORM_OK && csrf_check(ex, form_get(&f, "csrf"));
		form_free(&f);	/* also when the token was refused */
		if (!ok) {
			page_message(ex, 403, "Sign out", "This form has expired; please try again.", "/account", "Back");
			return;
		}
	} else if ((ex->body_len || http_request_header(&ex->req, "content-type")) && !http_exchange_is_json(ex)) {
		/* Nothing, or JSON: what a cross-site form (or a page path without a
		 * token) can send is refused. */
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json or no body");
		return;
	} else if (!csrf_origin_ok(ex)) {
		http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
		return;
	}
	session_from_request(ex, sign_out_session_found, NULL);
}

/* ---- pages ---- */

/* Already signed in: go straight on (rd is the checked target, or NULL). */
static void login_page_session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	char *rd = arg;
	if (rc == 1) {
		http_reply_header(ex, "Location", after_login_target(rd));
		http_reply(ex, 303, NULL, NULL, 0);
	} else {
		render_login(ex, 200, NULL, NULL, rd);
	}
	free(rd);
}

void handle_login_page(struct http_exchange *ex)
{
	struct form q = { 0 };
	const char *rd = NULL;
	char *rd_copy = NULL;

	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, 4096, &q) != FORM_OK) {
		page_message(ex, 400, "Sign in", "The link you followed is malformed.", "/login", "Sign in");
		return;
	}
	rd = form_get(&q, "rd");
	if (rd && !redirect_target_allowed(rd, strlen(rd), issuer_host(), cfg.cookie_domain, cfg.issuer_is_local_http))
		rd = NULL;	/* never bounce to a foreign site */
	if (rd && !(rd_copy = strdup(rd))) {
		form_free(&q);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	form_free(&q);
	session_from_request(ex, login_page_session_found, rd_copy);
}

void handle_signup_page(struct http_exchange *ex)
{
	if (!cfg.enable_registration) {
		page_message(ex, 403, "Registration closed", "Registration is disabled on this server.", "/login", "Sign in");
		return;
	}
	render_signup(ex, 200, NULL, NULL, NULL, NULL);
}
