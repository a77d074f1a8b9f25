/*
 * Second factors without JavaScript (see two_factor.h): server-rendered
 * forms with CSRF tokens.
 *
 *   GET  /login/two-factor?rd=          the code page of a pending sign-in:
 *                                       a TOTP code, or a recovery code, or
 *                                       (when the account has one) a passkey
 *   POST /login/two-factor              {csrf, rd, method=totp|recovery, code}
 *   POST /account/two-factor/enable     {csrf, password}: the QR code, the
 *                                       secret as text, the recovery codes
 *                                       (shown once), a confirm field
 *   POST /account/two-factor/confirm    {csrf, code}: turns the TOTP on
 *   POST /account/two-factor/disable    {csrf, password}
 *   POST /account/two-factor/recovery-codes {csrf, password}: new codes
 *
 * and the account page's section (two_factor_account_html).
 */
#include "workers/two_factor.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "kdf/kdf.h"
#include "proto/form.h"
#include "workers/auth_passkey.h"
#include "workers/csrf.h"
#include "workers/pages.h"
#include "workers/qr_svg.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_MAX 4096

/* ---- the code page of a sign-in ---- */

struct code_page {
	struct http_exchange *ex;
	int status;
	char error[200];
	char rd[2049];
	char code[OTP_CODE_INPUT_MAX + 1];
};

static void code_page_free(struct code_page *p)
{
	secure_wipe(p->code, sizeof(p->code));
	free(p);
}

static void code_page_methods(const struct store_reply *r, void *arg)
{
	struct code_page *p = arg;
	struct http_exchange *ex = p->ex;
	const char *target = passkey_after_sign_in_target(p->rd);

	if (store_failed(r)) {
		http_reply_header(ex, "Retry-After", "1");
		page_message(ex, 503, "Sign in", "The service is unavailable; please try again.", NULL, NULL);
	} else if (r->n_rows != 1 || !store_bool(r, 0, TWO_FACTOR_GATE_PENDING)) {
		passkey_pending_cookie_clear(ex);
		page_message(ex, p->status == 200 ? 401 : p->status, "Sign in",
		    p->error[0] ? p->error : "This sign-in has expired; please sign in again.", "/login", "Sign in");
	} else if (!store_bool(r, 0, TWO_FACTOR_GATE_TOTP)) {
		/* Only a passkey can finish this one. */
		char encoded[3 * 2048 + 1], location[3 * 2048 + 32];
		if (url_encode(target, strlen(target), encoded, sizeof(encoded)) < 0)
			snprintf(encoded, sizeof(encoded), "%%2Faccount");
		snprintf(location, sizeof(location), "/login/passkey?rd=%s", encoded);
		http_reply_redirect(ex, location);
	} else {
		char csrf[CSRF_TOKEN_LEN], err_html[512], passkey[3 * 2048 + 200] = "";
		page_error_paragraph(p->error, err_html, sizeof(err_html));
		if (cfg.enable_passkeys && store_bool(r, 0, TWO_FACTOR_GATE_PASSKEY)) {
			char encoded[3 * 2048 + 1];
			if (url_encode(target, strlen(target), encoded, sizeof(encoded)) >= 0)
				snprintf(passkey, sizeof(passkey), "<p><a href=\"/login/passkey?rd=%s\" id=\"use-passkey\">"
				    "Use a passkey instead</a></p>", encoded);
		}
		csrf_issue(ex, csrf);
		struct page_var vars[] = { { "csrf", csrf }, { "rd", target }, { "error", err_html },
			{ "passkey_option", passkey }, { NULL, NULL } };
		page_reply(ex, p->status, "Two-factor authentication", "two_factor.html", vars);
	}
	code_page_free(p);
}

/* The page (with error, when given) for the pending sign-in of this browser. */
static void code_page_render(struct http_exchange *ex, int status, const char *error, const char *rd)
{
	char hash[PASSKEY_HASH_HEX_LEN];
	struct code_page *p;

	if (!passkey_pending_hash(ex, hash)) {
		page_message(ex, 401, "Sign in", error && *error ? error : "No sign-in is waiting for a code; please sign in.",
		    "/login", "Sign in");
		return;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		page_message(ex, 503, "Sign in", "Out of memory.", NULL, NULL);
		return;
	}
	p->ex = ex;
	p->status = status;
	snprintf(p->error, sizeof(p->error), "%s", error ? error : "");
	snprintf(p->rd, sizeof(p->rd), "%s", rd ? rd : "");
	STORE_CALL(STORE_OP_TWO_FACTOR_PENDING, code_page_methods, p, STORE_V_TEXT(hash));
}

void handle_two_factor_page(struct http_exchange *ex)
{
	struct form q = { 0 };
	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, FORM_MAX, &q) != FORM_OK) {
		page_message(ex, 400, "Sign in", "The link you followed is malformed.", "/login", "Sign in");
		return;
	}
	code_page_render(ex, 200, NULL, form_get(&q, "rd"));
	form_free(&q);
}

static void code_form_checked(struct http_exchange *ex, const struct two_factor_outcome *o, void *arg)
{
	struct code_page *p = arg;
	if (o->verdict == TF_SIGNED_IN) {
		http_reply_header(ex, "Location", passkey_after_sign_in_target(p->rd));
		http_reply(ex, 303, NULL, NULL, 0);
	} else if (o->verdict == TF_UNAVAILABLE) {
		http_reply_header(ex, "Retry-After", "1");
		page_message(ex, 503, "Sign in", "The service is unavailable; please try again.", NULL, NULL);
	} else if (!strcmp(o->error, "second_factor_expired") || (o->status == 429 && !strcmp(o->error, "too_many_attempts"))) {
		page_message(ex, o->status, "Sign in", o->message, "/login", "Sign in again");
	} else {
		code_page_render(ex, o->status, o->message, p->rd);
	}
	code_page_free(p);
}

void handle_two_factor_form(struct http_exchange *ex)
{
	struct form f = { 0 };
	if (!http_exchange_is_form(ex) || form_parse(ex->body, ex->body_len, FORM_MAX, &f) != FORM_OK) {
		form_free(&f);
		page_message(ex, 400, "Sign in", "The form is malformed.", "/login", "Sign in");
		return;
	}
	const char *rd = form_get(&f, "rd"), *method = form_get(&f, "method"), *code = form_get(&f, "code");
	if (!csrf_check(ex, form_get(&f, "csrf"))) {
		code_page_render(ex, 403, "This form has expired or was already used; please try again.", rd);
		form_free(&f);
		return;
	}
	struct code_page *p = calloc(1, sizeof(*p));
	if (!p) {
		form_free(&f);
		page_message(ex, 503, "Sign in", "Out of memory.", NULL, NULL);
		return;
	}
	p->ex = ex;
	snprintf(p->rd, sizeof(p->rd), "%s", rd && strlen(rd) < sizeof(p->rd) ? rd : "");
	/* Oversized input is refused by the parsers; it is never copied whole. */
	snprintf(p->code, sizeof(p->code), "%s", code && strlen(code) <= OTP_CODE_INPUT_MAX ? code : "-");
	bool recovery = method && !strcmp(method, "recovery");
	form_free(&f);
	two_factor_check(ex, recovery ? TWO_FACTOR_RECOVERY : TWO_FACTOR_TOTP, p->code, NULL, code_form_checked, p);
}

/* ---- the account page ---- */

void two_factor_account_html(const struct store_reply *status, const char *csrf, struct evbuffer *out)
{
	char token[CSRF_TOKEN_LEN * 6 + 1];
	html_escape(csrf, token, sizeof(token));
	evbuffer_add_printf(out, "<h2>Two-factor authentication</h2>\n");
	if (!status || status->n_rows != 1) {
		evbuffer_add_printf(out, "<p class=\"error\">Unavailable right now.</p>\n");
		return;
	}
	bool on = store_bool(status, 0, TWO_FACTOR_STATUS_TOTP_ENABLED);
	if (on) {
		evbuffer_add_printf(out,
		    "<p id=\"two-factor-state\">On: sign-in asks for a code from your authenticator app."
		    " %lld recovery codes left.</p>\n"
		    "<form method=\"post\" action=\"/account/two-factor/recovery-codes\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
		    "<button type=\"submit\" class=\"secondary\">New recovery codes</button></form>\n"
		    "<form method=\"post\" action=\"/account/two-factor/disable\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
		    "<button type=\"submit\" class=\"secondary\">Turn off two-factor authentication</button></form>\n",
		    (long long)store_int(status, 0, TWO_FACTOR_STATUS_RECOVERY_LEFT), token, token);
		return;
	}
	evbuffer_add_printf(out,
	    "<p id=\"two-factor-state\">Off. Add an authenticator app: sign-in will then ask for one of its codes"
	    " after your password.</p>\n"
	    "<form method=\"post\" action=\"/account/two-factor/enable\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label>Password <input type=\"password\" name=\"password\" id=\"two-factor-password\""
	    " autocomplete=\"current-password\" required></label>"
	    "<button type=\"submit\">Set up an authenticator app</button></form>\n",
	    token);
}

/* ---- the account page's forms ---- */

enum account_action { ACCOUNT_ENABLE, ACCOUNT_CONFIRM, ACCOUNT_DISABLE, ACCOUNT_CODES };

struct account_form {
	struct http_exchange *ex;
	enum account_action action;
	char user_id[40];
	char email[256];
	char *password;
	char code[OTP_CODE_INPUT_MAX + 1];
	struct recovery_codes codes;
};

static void account_form_free(struct account_form *a)
{
	if (a->password) {
		secure_wipe(a->password, strlen(a->password));
		free(a->password);
	}
	secure_wipe(a, sizeof(*a));
	free(a);
}

static void unavailable(struct http_exchange *ex)
{
	http_reply_header(ex, "Retry-After", "1");
	page_message(ex, 503, "Two-factor authentication", "The service is unavailable; please try again.", "/account",
	    "Back");
}

static void codes_html(const struct recovery_codes *codes, struct evbuffer *out)
{
	for (int i = 0; i < TWO_FACTOR_RECOVERY_CODES; i++)
		evbuffer_add_printf(out, "<li><code>%s</code></li>", codes->text[i]);
}

/* The confirm page, with the setup (QR code, secret, codes) the first time. */
static void enroll_page(struct http_exchange *ex, int status, const char *error, const char *setup)
{
	char csrf[CSRF_TOKEN_LEN], err_html[512];
	page_error_paragraph(error, err_html, sizeof(err_html));
	csrf_issue(ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "error", err_html }, { "setup", setup ? setup : "" },
		{ NULL, NULL } };
	page_reply(ex, status, "Set up two-factor authentication", "two_factor_enroll.html", vars);
}

static void account_enrolled(const struct store_reply *r, void *arg)
{
	struct account_form *a = arg;
	struct http_exchange *ex = a->ex;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, TOTP_ENROLLMENT_OUTCOME);
	char uri[1024], secret[64], uri_html[6 * 1024];
	char *svg = NULL;
	struct evbuffer *setup = NULL;

	if (!outcome) {
		unavailable(ex);
	} else if (strcmp(outcome, "enrolled") != 0) {
		page_message(ex, 409, "Two-factor authentication", "Two-factor authentication is already on.", "/account",
		    "Back");
	} else if (snprintf(secret, sizeof(secret), "%s", store_text(r, 0, TOTP_ENROLLMENT_SECRET)) < 0 ||
	    two_factor_totp_uri(a->email, secret, uri, sizeof(uri)) < 0 || !(svg = qr_svg_encode(uri)) ||
	    !(setup = evbuffer_new())) {
		page_message(ex, 500, "Two-factor authentication", "Could not show the setup; please try again.", "/account",
		    "Back");
	} else {
		html_escape(uri, uri_html, sizeof(uri_html));
		evbuffer_add_printf(setup,
		    "<p>Scan this QR code with your authenticator app, or enter the key below by hand.</p>"
		    "<div class=\"qr\">%s</div>"
		    "<p>Key: <code class=\"secret\" id=\"totp-secret\">%s</code></p>"
		    "<p><small>Or open <a href=\"%s\" id=\"totp-uri\">this link</a> on the device with the app.</small></p>"
		    "<h2>Recovery codes</h2><p>Each works once, in place of a code, if you lose the app. Keep them somewhere"
		    " safe: they are shown only now.</p><ul class=\"recovery-codes\" id=\"recovery-codes\">",
		    svg, secret, uri_html);
		codes_html(&a->codes, setup);
		evbuffer_add_printf(setup, "</ul><p>Then enter the code the app shows now.</p>");
		evbuffer_add(setup, "", 1);
		log_info("two-factor: TOTP enrolled (unconfirmed) for user %s", a->user_id);
		enroll_page(ex, 200, NULL, (const char *)evbuffer_pullup(setup, -1));
	}
	secure_wipe(secret, sizeof(secret));
	secure_wipe(uri, sizeof(uri));
	secure_wipe(uri_html, sizeof(uri_html));
	if (setup) {
		size_t len = evbuffer_get_length(setup);
		secure_wipe(evbuffer_pullup(setup, -1), len);
		evbuffer_free(setup);
	}
	if (svg) {
		secure_wipe(svg, strlen(svg));
		free(svg);
	}
	account_form_free(a);
}

static void account_disabled(const struct store_reply *r, void *arg)
{
	struct account_form *a = arg;
	if (store_failed(r)) {
		unavailable(a->ex);
	} else {
		log_info("two-factor: disabled for user %s", a->user_id);
		http_reply_header(a->ex, "Location", "/account");
		http_reply(a->ex, 303, NULL, NULL, 0);
	}
	account_form_free(a);
}

static void account_codes_replaced(const struct store_reply *r, void *arg)
{
	struct account_form *a = arg;
	struct evbuffer *list = NULL;
	if (store_failed(r)) {
		unavailable(a->ex);
	} else if (store_int(r, 0, COUNT_N) != 1) {
		page_message(a->ex, 400, "Recovery codes", "Two-factor authentication is not on.", "/account", "Back");
	} else if (!(list = evbuffer_new())) {
		unavailable(a->ex);
	} else {
		codes_html(&a->codes, list);
		evbuffer_add(list, "", 1);
		log_info("two-factor: recovery codes replaced for user %s", a->user_id);
		struct page_var vars[] = { { "codes", (const char *)evbuffer_pullup(list, -1) }, { NULL, NULL } };
		page_reply(a->ex, 200, "Recovery codes", "two_factor_codes.html", vars);
		secure_wipe(evbuffer_pullup(list, -1), evbuffer_get_length(list));
		evbuffer_free(list);
	}
	account_form_free(a);
}

static void account_password_rechecked(struct http_exchange *ex, int rc, void *arg)
{
	struct account_form *a = arg;
	if (rc != 1) {
		if (rc == 0)
			page_message(ex, 401, "Two-factor authentication", "The password is wrong.", "/account", "Back");
		else if (rc == -2)
			page_message(ex, 429, "Two-factor authentication", "Too many attempts; try again later.", "/account",
			    "Back");
		else
			unavailable(ex);
		account_form_free(a);
		return;
	}
	switch (a->action) {
	case ACCOUNT_ENABLE:
		recovery_codes_new(&a->codes);
		STORE_CALL(STORE_OP_TOTP_ENROLL, account_enrolled, a, STORE_V_TEXT(a->user_id), STORE_V_TEXT(a->codes.hashes));
		break;
	case ACCOUNT_DISABLE:
		STORE_CALL_FROM(a->ex, NULL, STORE_OP_TWO_FACTOR_DISABLE, account_disabled, a, STORE_V_TEXT(a->user_id));
		break;
	case ACCOUNT_CODES:
		recovery_codes_new(&a->codes);
		STORE_CALL_FROM(a->ex, NULL, STORE_OP_RECOVERY_CODES_REPLACE, account_codes_replaced, a, STORE_V_TEXT(a->user_id),
		    STORE_V_TEXT(a->codes.hashes));
		break;
	case ACCOUNT_CONFIRM:
		break;
	}
}

static void account_confirmed(struct http_exchange *ex, const struct two_factor_outcome *o, void *arg)
{
	struct account_form *a = arg;
	if (o->verdict == TF_CONFIRMED) {
		log_info("two-factor: TOTP confirmed for user %s", a->user_id);
		page_message(ex, 200, "Two-factor authentication",
		    "Two-factor authentication is on: sign-in will ask for a code from your app.", "/account",
		    "Back to your account");
	} else if (o->verdict == TF_UNAVAILABLE) {
		unavailable(ex);
	} else if (!strcmp(o->error, "totp_not_enabled")) {
		page_message(ex, 400, "Two-factor authentication", "Set up an authenticator app first.", "/account", "Back");
	} else {
		enroll_page(ex, o->status, o->message, NULL);
	}
	account_form_free(a);
}

static void account_signed_in(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct account_form *a = arg;
	if (rc != 1) {
		if (rc < 0)
			unavailable(ex);
		else
			http_reply_redirect(ex, "/login");
		account_form_free(a);
		return;
	}
	snprintf(a->user_id, sizeof(a->user_id), "%s", s->user_id);
	snprintf(a->email, sizeof(a->email), "%s", s->email);
	if (a->action == ACCOUNT_CONFIRM)
		two_factor_check(ex, TWO_FACTOR_TOTP, a->code, a->user_id, account_confirmed, a);
	else
		two_factor_password_recheck(ex, a->user_id, a->password, account_password_rechecked, a);
}

void handle_account_two_factor(struct http_exchange *ex)
{
	static const struct {
		const char *path;
		enum account_action action;
	} actions[] = { { "/account/two-factor/enable", ACCOUNT_ENABLE }, { "/account/two-factor/confirm", ACCOUNT_CONFIRM },
		{ "/account/two-factor/disable", ACCOUNT_DISABLE },
		{ "/account/two-factor/recovery-codes", ACCOUNT_CODES } };
	struct form f = { 0 };
	struct account_form *a;
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (http_str_eq(ex->req.path, actions[i].path))
			break;
	if (i == sizeof(actions) / sizeof(actions[0])) {
		http_reply_error(ex, 404, "not_found", "no such endpoint");
		return;
	}
	if (ex->req.method != HTTP_METHOD_POST) {
		http_reply_header(ex, "Allow", "POST");
		http_reply_error(ex, 405, "method_not_allowed", "method not allowed on this path");
		return;
	}
	if (!http_exchange_is_form(ex) || form_parse(ex->body, ex->body_len, FORM_MAX, &f) != FORM_OK) {
		form_free(&f);
		page_message(ex, 400, "Two-factor authentication", "The form is malformed.", "/account", "Back");
		return;
	}
	if (!csrf_check(ex, form_get(&f, "csrf"))) {
		form_free(&f);
		page_message(ex, 403, "Two-factor authentication", "This form has expired; please try again.", "/account",
		    "Back");
		return;
	}
	const char *password = form_get(&f, "password"), *code = form_get(&f, "code");
	a = calloc(1, sizeof(*a));
	if (a) {
		a->ex = ex;
		a->action = actions[i].action;
		snprintf(a->code, sizeof(a->code), "%s", code && strlen(code) <= OTP_CODE_INPUT_MAX ? code : "-");
		if (a->action != ACCOUNT_CONFIRM)
			a->password = strdup(password && strlen(password) <= KDF_MAX_PASSWORD ? password : "");
	}
	form_free(&f);
	if (!a || (a->action != ACCOUNT_CONFIRM && !a->password)) {
		if (a)
			account_form_free(a);
		page_message(ex, 503, "Two-factor authentication", "Out of memory.", NULL, NULL);
		return;
	}
	session_from_request(ex, account_signed_in, a);
}
