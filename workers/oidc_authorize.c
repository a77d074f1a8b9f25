/*
 * GET/POST /oauth2/authorize (OIDC Core §3.1.2) and POST /oauth2/consent.
 * Authorization code flow only: exact redirect_uri match, PKCE S256
 * (required per client, always for public clients; "plain" refused), state
 * and nonce carried, prompt (none, login, consent) and max_age. Without a
 * session the browser goes to /login?rd=<this request>; a signed-in user who
 * must sign in again (prompt=login, max_age) gets the sign-in form here and
 * keeps the session until the new sign-in replaces it. Consent is asked
 * unless the client skips it or the user already granted these scopes
 * (oauth_consents); the consent form carries the whole request back with a
 * CSRF token and is re-validated from scratch. Errors go back to the client
 * only once client_id and redirect_uri are known good; before that they are
 * shown on a page (never an open redirect).
 *
 * Asynchronous: the client lookup, the session and the store each answer in
 * a callback; struct authz carries the request through them and is freed by
 * whichever step replies (every reply below ends with authz_free).
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/log.h"
#include "proto/form.h"
#include "proto/oidc_clients.h"
#include "proto/token_request.h"
#include "workers/acr.h"
#include "workers/csrf.h"
#include "workers/oidc.h"
#include "workers/oidc_clients.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHZ_MAX_PARAMS 8192
#define RD_MAX 2048
/* Added to the request when prompt=login or max_age sends a signed-in user
 * to sign in again: names (by a hash) the session that is not good enough,
 * so the request, coming back after the sign-in, takes only another one. */
#define REAUTH_PARAM "dreamauth_reauth"
#define REAUTH_MARK_LEN (2 * 16 + 1)

/* What storing the code does about consent (CODE_ISSUE's last argument). */
enum consent_step { CONSENT_SKIP, CONSENT_REQUIRE, CONSENT_GRANT };
static const char *const consent_step_names[] = { "skip", "require", "grant" };

struct authz {
	struct http_exchange *ex;
	struct form q;
	struct oidc_client *client;
	const char *redirect_uri, *state, *nonce, *code_challenge;
	unsigned scopes;
	bool prompt_none, prompt_login, prompt_consent;
	long max_age;		/* -1: none */
	bool want_mfa;		/* acr_values asks for two factors (workers/acr.h) */
	const char *reauth_of;	/* REAUTH_PARAM: the session to leave behind, or NULL */
	bool consented;		/* came back from the consent form with "allow" */
	bool denied;		/* ... with "deny" */
	struct session_entry s;	/* the signed-in user's session, once known */
	enum consent_step consent;
	char code[TOKEN_STR_LEN];
};

static void authz_free(struct authz *a)
{
	form_free(&a->q);
	oidc_client_release(a->client);
	secure_wipe(a->code, sizeof(a->code));
	free(a);
}

/* Appends name=value (encoded) to out; false when it does not fit. */
static bool append_param(char *out, size_t cap, size_t *o, const char *name, const char *value)
{
	size_t nlen = strlen(name);
	if (*o + nlen + 2 >= cap)
		return false;
	if (*o)
		out[(*o)++] = '&';
	memcpy(out + *o, name, nlen);
	*o += nlen;
	out[(*o)++] = '=';
	long n = url_encode(value, strlen(value), out + *o, cap - *o);
	if (n < 0)
		return false;
	*o += (size_t)n;
	return true;
}

/* Sends the browser back to the client with error (and state, iss). */
static void error_redirect(struct authz *a, const char *error, const char *description)
{
	struct http_exchange *ex = a->ex;
	char params[4096];
	size_t o = 0;
	size_t base = strlen(a->redirect_uri);
	bool ok = append_param(params, sizeof(params), &o, "error", error) &&
	    append_param(params, sizeof(params), &o, "error_description", description) &&
	    (!a->state || append_param(params, sizeof(params), &o, "state", a->state)) &&
	    append_param(params, sizeof(params), &o, "iss", cfg.issuer);
	char *location = ok ? malloc(base + o + 2) : NULL;
	if (!location) {
		page_message(ex, 400, "Sign-in error", description, NULL, NULL);
	} else {
		sprintf(location, "%s%c%s", a->redirect_uri, strchr(a->redirect_uri, '?') ? '&' : '?', params);
		http_reply_redirect(ex, location);
		free(location);
	}
	authz_free(a);
}

static void error_page(struct authz *a, int status, const char *message)
{
	page_message(a->ex, status, "Sign-in error", message, "/account", "Go to your account");
	authz_free(a);
}

/* The store could not answer (down, busy, past the deadline): try again shortly. */
static void unavailable_page(struct authz *a, const char *message)
{
	http_reply_header(a->ex, "Retry-After", "1");
	error_page(a, 503, message);
}

/* Known scopes as bits; unknown well-formed tokens are ignored (RFC 6749
 * §3.3 lets the server grant less), malformed text is an error. */
static int lenient_scopes(const char *s, unsigned *bits)
{
	*bits = 0;
	for (const char *p = s; *p;) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		unsigned b;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x21 || p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] > 0x7e)
				return -1;
		if (n && oidc_scope_parse(p, n, &b) == 0)
			*bits |= b;
		p = end ? end + 1 : p + n;
	}
	return 0;
}

/* After the client is known: the rest of the request. 0 ok, -1 already
 * answered (a is freed then). */
static int authz_validate(struct authz *a)
{
	const char *v = form_get(&a->q, "redirect_uri");
	if (!v || !oidc_client_redirect_ok(a->client, v)) {
		error_page(a, 400, "The application's redirect_uri is not registered for it; refusing to send you there.");
		return -1;
	}
	a->redirect_uri = v;
	/* From here on the client is trusted to receive errors. */
	a->state = form_get(&a->q, "state");
	if (a->state && strlen(a->state) > 1024) {
		a->state = NULL;
		error_redirect(a, "invalid_request", "state is too long");
		return -1;
	}
	if (form_get(&a->q, "request")) {
		error_redirect(a, "request_not_supported", "request objects are not supported");
		return -1;
	}
	if (form_get(&a->q, "request_uri")) {
		error_redirect(a, "request_uri_not_supported", "request_uri is not supported");
		return -1;
	}
	v = form_get(&a->q, "response_type");
	if (!v || strcmp(v, "code") != 0) {
		error_redirect(a, "unsupported_response_type", "only response_type=code is supported");
		return -1;
	}
	v = form_get(&a->q, "response_mode");
	if (v && strcmp(v, "query") != 0) {
		error_redirect(a, "invalid_request", "only response_mode=query is supported");
		return -1;
	}
	if (!(a->client->grants & OIDC_GRANT_CODE)) {
		error_redirect(a, "unauthorized_client", "this client may not use the authorization code flow");
		return -1;
	}
	v = form_get(&a->q, "scope");
	if (!v || lenient_scopes(v, &a->scopes) < 0 || (a->scopes & ~(unsigned)OIDC_SCOPE_ADMIN) == 0) {
		error_redirect(a, "invalid_scope", "scope must include openid or another supported scope");
		return -1;
	}
	/* Scope admin is a machine's (client_credentials), never a user's
	 * grant: ignored here like a scope we do not know. */
	a->scopes &= ~(unsigned)OIDC_SCOPE_ADMIN;
	if (a->scopes & ~a->client->scopes) {
		error_redirect(a, "invalid_scope", "a requested scope is not allowed for this client");
		return -1;
	}
	a->code_challenge = form_get(&a->q, "code_challenge");
	v = form_get(&a->q, "code_challenge_method");
	if (a->code_challenge || v) {
		if (!v || strcmp(v, "S256") != 0) {
			error_redirect(a, "invalid_request", "code_challenge_method must be S256 (plain is refused)");
			return -1;
		}
		if (!a->code_challenge || !pkce_challenge_valid(a->code_challenge, strlen(a->code_challenge))) {
			error_redirect(a, "invalid_request", "code_challenge must be 43 base64url characters");
			return -1;
		}
	} else if (a->client->require_pkce) {
		error_redirect(a, "invalid_request", "PKCE is required: send code_challenge with method S256");
		return -1;
	}
	a->nonce = form_get(&a->q, "nonce");
	if (a->nonce && strlen(a->nonce) > 512) {
		error_redirect(a, "invalid_request", "nonce is too long");
		return -1;
	}
	v = form_get(&a->q, "prompt");
	if (v) {
		for (const char *p = v; *p;) {
			const char *end = strchr(p, ' ');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			if (n == 4 && !memcmp(p, "none", 4))
				a->prompt_none = true;
			else if (n == 5 && !memcmp(p, "login", 5))
				a->prompt_login = true;
			else if (n == 7 && !memcmp(p, "consent", 7))
				a->prompt_consent = true;
			else if (!(n == 14 && !memcmp(p, "select_account", 14)) && n != 0) {
				error_redirect(a, "invalid_request", "prompt must be none, login, consent or select_account");
				return -1;
			}
			p = end ? end + 1 : p + n;
		}
		if (a->prompt_none && (a->prompt_login || a->prompt_consent)) {
			error_redirect(a, "invalid_request", "prompt=none cannot be combined with other values");
			return -1;
		}
	}
	v = form_get(&a->q, "max_age");
	if (v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 0 || n > 10L * 365 * 86400) {
			error_redirect(a, "invalid_request", "max_age must be a non-negative integer");
			return -1;
		}
		a->max_age = n;
	}
	v = form_get(&a->q, "acr_values");
	if (v && strlen(v) > 512) {
		error_redirect(a, "invalid_request", "acr_values is too long");
		return -1;
	}
	a->want_mfa = v && acr_values_want_mfa(v);
	a->reauth_of = form_get(&a->q, REAUTH_PARAM);
	return 0;
}

/* The request as a query string, without prompt=login, max_age and
 * REAUTH_PARAM when drop_reauth (the user is about to sign in afresh: no
 * loop); then with REAUTH_PARAM=mark when mark is given. */
static bool rebuild_query(const struct authz *a, bool drop_reauth, const char *mark, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < a->q.n; i++) {
		const char *name = a->q.fields[i].name, *value = a->q.fields[i].value;
		char prompt[64] = "";
		if (drop_reauth && (!strcmp(name, "max_age") || !strcmp(name, REAUTH_PARAM)))
			continue;
		if (drop_reauth && !strcmp(name, "prompt")) {
			if (a->prompt_consent)
				snprintf(prompt, sizeof(prompt), "consent");
			if (!*prompt)
				continue;
			value = prompt;
		}
		if (!append_param(out, cap, &o, name, value))
			return false;
	}
	return !mark || append_param(out, cap, &o, REAUTH_PARAM, mark);
}

static void send_to_login(struct authz *a)
{
	char query[AUTHZ_MAX_PARAMS], rd[RD_MAX + 1], encoded[3 * RD_MAX + 1], location[3 * RD_MAX + 64];
	if (!rebuild_query(a, true, NULL, query, sizeof(query)) ||
	    snprintf(rd, sizeof(rd), "/oauth2/authorize?%s", query) >= (int)sizeof(rd) ||
	    url_encode(rd, strlen(rd), encoded, sizeof(encoded)) < 0) {
		error_redirect(a, "invalid_request", "the authorization request is too long");
		return;
	}
	snprintf(location, sizeof(location), "/login?rd=%s", encoded);
	http_reply_redirect(a->ex, location);
	authz_free(a);
}

/* The browser goes back to the client with the code (stored by now). */
static void redirect_with_code(struct authz *a)
{
	char params[4096];
	size_t o = 0;
	bool ok = append_param(params, sizeof(params), &o, "code", a->code) &&
	    (!a->state || append_param(params, sizeof(params), &o, "state", a->state)) &&
	    append_param(params, sizeof(params), &o, "iss", cfg.issuer);
	char *location = ok ? malloc(strlen(a->redirect_uri) + o + 2) : NULL;

	secure_wipe(a->code, sizeof(a->code));
	if (!location) {
		secure_wipe(params, sizeof(params));
		error_page(a, 500, "Could not build the redirect back to the application.");
		return;
	}
	sprintf(location, "%s%c%s", a->redirect_uri, strchr(a->redirect_uri, '?') ? '&' : '?', params);
	secure_wipe(params, sizeof(params));
	log_info("authorization code issued to %s for user %s", a->client->client_id, a->s.user_id);
	http_reply_redirect(a->ex, location);
	secure_wipe(location, strlen(location));
	free(location);
	authz_free(a);
}

static const char *scope_description(unsigned bit)
{
	switch (bit) {
	case OIDC_SCOPE_OPENID: return "Sign you in with your account identifier";
	case OIDC_SCOPE_PROFILE: return "See your name";
	case OIDC_SCOPE_EMAIL: return "See your email address";
	case OIDC_SCOPE_OFFLINE: return "Stay signed in when you are away (refresh tokens)";
	case OIDC_SCOPE_GROUPS: return "See the groups you belong to";
	default: return "";
	}
}

static void render_consent(struct authz *a)
{
	char csrf[CSRF_TOKEN_LEN], request[AUTHZ_MAX_PARAMS], list[1024] = "";
	size_t o = 0;

	if (!rebuild_query(a, false, NULL, request, sizeof(request))) {
		error_redirect(a, "invalid_request", "the authorization request is too long");
		return;
	}
	for (unsigned bit = 1; bit <= OIDC_SCOPE_GROUPS; bit <<= 1)
		if (a->scopes & bit)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "<li>%s</li>", scope_description(bit));
	csrf_issue(a->ex, csrf);
	struct page_var vars[] = { { "client", a->client->name }, { "email", a->s.email }, { "scopes", list },
		{ "csrf", csrf }, { "request", request }, { NULL, NULL } };
	page_reply(a->ex, 200, "Allow access?", "consent.html", vars);
	authz_free(a);
}

/* The store's answer to CODE_ISSUE. A failure reads as the first statement
 * of each kind failing did before: the consent check or the saved decision
 * (a 503 page), or the code itself (an error back to the client). */
static void code_issued(const struct store_reply *r, void *arg)
{
	struct authz *a = arg;

	if (r->status != STORE_OK) {
		if (a->consent == CONSENT_REQUIRE)
			unavailable_page(a, "The service is temporarily unavailable; please try again.");
		else if (a->consent == CONSENT_GRANT)
			unavailable_page(a, "Could not save your decision; please try again.");
		else
			error_redirect(a, "temporarily_unavailable", "could not store the authorization code");
		return;
	}
	if (store_int(r, 0, COUNT_N) == 1) {
		redirect_with_code(a);
		return;
	}
	/* Not stored: the user has not granted these scopes yet. */
	if (a->prompt_none)
		error_redirect(a, "consent_required", "the user has not granted access to this client");
	else
		render_consent(a);
}

/* A new code for the session's user, stored (with the consent step given by
 * a->consent) before the browser sees it. */
static void issue_code(struct authz *a)
{
	char hash[OIDC_HASH_PARAM_LEN], scope[128];
	const struct session_entry *s = &a->s;
	/* The session's auth_time is floored from a timestamp: never later than
	 * now (kept as a guard against clock steps). */
	int64_t auth_time = s->auth_time < now_seconds() ? s->auth_time : now_seconds();

	secure_token(a->code);
	oidc_token_hash_param(a->code, hash);
	oidc_scope_string(a->scopes, scope, sizeof(scope));
	/* nonce and code_challenge as sent: present but empty is not absent. */
	STORE_CALL(STORE_OP_CODE_ISSUE, code_issued, a, STORE_V_TEXT(hash), STORE_V_TEXT(a->client->client_id),
	    STORE_V_TEXT(s->user_id), STORE_V_TEXT(s->session_id), STORE_V_TEXT(a->redirect_uri), STORE_V_TEXT(scope),
	    a->nonce ? STORE_V_TEXT(a->nonce) : STORE_V_NULL,
	    a->code_challenge ? STORE_V_TEXT(a->code_challenge) : STORE_V_NULL,
	    a->code_challenge ? STORE_V_TEXT("S256") : STORE_V_NULL, STORE_V_INT(auth_time), STORE_V_TEXT(s->amr),
	    STORE_V_INT(cfg.oidc_code_ttl), STORE_V_TEXT(consent_step_names[a->consent]));
}

/* REAUTH_PARAM's value for a session: not its id (that stays out of URLs
 * and logs), a short hash of it. */
static void reauth_mark(const struct session_entry *s, char out[REAUTH_MARK_LEN])
{
	uint8_t h[SHA256_LEN];
	secure_sha256(s->session_id, strlen(s->session_id), h);
	secure_hex(h, 16, out);
}

/* prompt=login, a max_age the session is older than, or the request already
 * sent this very session to sign in again and the user came back without.
 * acr_values asking for two factors steps a one-factor session up once: a
 * user who comes back from that sign-in still without a second factor (none
 * enrolled) goes on, and the tokens say acr sfa (acr_values is voluntary,
 * OIDC Core §3.1.2.1). */
static bool needs_fresh_sign_in(const struct authz *a, const struct session_entry *s)
{
	char mark[REAUTH_MARK_LEN];
	if (a->prompt_login || (a->max_age >= 0 && now_seconds() - s->auth_time > a->max_age))
		return true;
	if (a->want_mfa && !a->reauth_of && !amr_is_mfa(s->amr))
		return true;
	if (!a->reauth_of)
		return false;
	reauth_mark(s, mark);
	return secure_str_equal(mark, a->reauth_of);
}

/* Re-authentication of a signed-in user: the sign-in form, right here
 * (/login would wave the live session through), posting to /login with the
 * request marked to come back to. The session stays: a link with
 * prompt=login from any site must not sign the user out of everything. The
 * sign-in sets a new session cookie, as it always does. */
static void render_reauth(struct authz *a)
{
	char query[AUTHZ_MAX_PARAMS], rd[RD_MAX + 1], mark[REAUTH_MARK_LEN], csrf[CSRF_TOKEN_LEN];

	reauth_mark(&a->s, mark);
	if (!rebuild_query(a, true, mark, query, sizeof(query)) ||
	    snprintf(rd, sizeof(rd), "/oauth2/authorize?%s", query) >= (int)sizeof(rd)) {
		error_redirect(a, "invalid_request", "the authorization request is too long");
		return;
	}
	csrf_issue(a->ex, csrf);
	struct page_var vars[] = { { "csrf", csrf }, { "rd", rd }, { "email", a->s.email },
		{ "error", "<p class=\"notice\">Sign in again to continue.</p>" }, { "signup_link", "" }, { NULL, NULL } };
	page_reply(a->ex, 200, "Sign in", "login.html", vars);
	authz_free(a);
}

/* With the session: re-authentication, consent, code. */
static void session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct authz *a = arg;

	if (rc < 0) {
		unavailable_page(a, "The session store is unavailable; please try again.");
		return;
	}
	if (rc == 0 || (!a->consented && needs_fresh_sign_in(a, s))) {
		if (a->prompt_none) {
			error_redirect(a, "login_required", "the user is not signed in");
			return;
		}
		if (rc == 0) {
			send_to_login(a);
			return;
		}
		a->s = *s;
		render_reauth(a);
		return;
	}
	a->s = *s;
	if (a->consented) {
		a->consent = CONSENT_GRANT;
	} else if (a->client->skip_consent) {
		a->consent = CONSENT_SKIP;
	} else if (a->prompt_consent) {
		render_consent(a);	/* asked again whatever was granted before */
		return;
	} else {
		a->consent = CONSENT_REQUIRE;
	}
	issue_code(a);
}

/* With the client: validate the rest, then the user's decision or the session. */
static void client_found(struct oidc_client *c, int rc, void *arg)
{
	struct authz *a = arg;

	a->client = c;
	if (rc < 0) {
		unavailable_page(a, "The service is temporarily unavailable; please try again.");
		return;
	}
	if (rc == 0) {
		error_page(a, 400, "The application that sent you here is not registered (unknown client_id).");
		return;
	}
	if (authz_validate(a) < 0)
		return;
	if (a->denied) {
		error_redirect(a, "access_denied", "the user denied access");
		return;
	}
	session_from_request(a->ex, session_found, a);
}

/* Parses the request (params, len bytes) and carries it through the steps
 * above; whichever replies frees it. decision: NULL from the authorize
 * endpoint, "allow" or "deny" from the consent form. */
static void authorize(struct http_exchange *ex, const char *params, size_t len, const char *decision)
{
	struct authz *a = calloc(1, sizeof(*a));
	const char *client_id;

	if (!a) {
		page_message(ex, 503, "Sign-in error", "Out of memory.", NULL, NULL);
		return;
	}
	a->ex = ex;
	a->max_age = -1;
	a->consented = decision && !strcmp(decision, "allow");
	a->denied = decision && !a->consented;
	if (form_parse(params ? params : "", len, AUTHZ_MAX_PARAMS, &a->q) != FORM_OK) {
		error_page(a, 400, "The sign-in request is malformed (a parameter is repeated or badly encoded).");
		return;
	}
	client_id = form_get(&a->q, "client_id");
	if (!client_id || !*client_id) {
		error_page(a, 400, "The sign-in request names no application (client_id is missing).");
		return;
	}
	oidc_client_find(client_id, client_found, a);
}

void handle_oauth_authorize(struct http_exchange *ex)
{
	if (!oidc_enabled(ex))
		return;
	if (ex->req.method == HTTP_METHOD_POST) {
		if (!http_exchange_is_form(ex)) {
			page_message(ex, 400, "Sign-in error", "The sign-in request must be a form.", NULL, NULL);
			return;
		}
		authorize(ex, ex->body, ex->body_len, NULL);
	} else {
		authorize(ex, ex->req.query.p, ex->req.query.len, NULL);
	}
}

void handle_oauth_consent(struct http_exchange *ex)
{
	struct form f;
	const char *request, *decision;

	if (!oidc_enabled(ex))
		return;
	if (!http_exchange_is_form(ex) || form_parse(ex->body, ex->body_len, 16384, &f) != FORM_OK) {
		page_message(ex, 400, "Allow access?", "The form is malformed.", NULL, NULL);
		return;
	}
	if (!csrf_check(ex, form_get(&f, "csrf"))) {
		form_free(&f);
		page_message(ex, 403, "Allow access?", "This form has expired or was already used; go back to the application and try again.",
		    NULL, NULL);
		return;
	}
	request = form_get(&f, "request");
	decision = form_get(&f, "decision");
	if (!request || !decision || (strcmp(decision, "allow") && strcmp(decision, "deny"))) {
		form_free(&f);
		page_message(ex, 400, "Allow access?", "The form is incomplete.", NULL, NULL);
		return;
	}
	/* The request is copied into the authorization's own form before this one goes. */
	authorize(ex, request, strlen(request), decision);
	form_free(&f);
}
