/*
 * GET/POST /oauth2/end_session — OpenID Connect RP-Initiated Logout 1.0.
 * id_token_hint (signature and issuer checked; expiry tolerated, as the spec
 * asks), post_logout_redirect_uri (must be registered for the client the
 * hint or client_id names; otherwise no redirect at all), state. The
 * dreamauth session is ended at once when the hint names the signed-in user;
 * otherwise the user confirms on a page (CSRF-protected form), so a stray
 * link cannot sign anyone out.
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/log.h"
#include "proto/form.h"
#include "workers/csrf.h"
#include "workers/jwt_local.h"
#include "workers/oidc.h"
#include "workers/oidc_clients.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGOUT_MAX_PARAMS 8192

static void finish(struct http_exchange *ex, const char *redirect, const char *state)
{
	if (!redirect) {
		page_message(ex, 200, "Signed out", "You are signed out.", "/login", "Sign in again");
		return;
	}
	char encoded[3 * 1024 + 1];
	size_t n = strlen(redirect) + 16 + 3 * 1024;
	char *location = malloc(n);
	if (!location || (state && url_encode(state, strlen(state), encoded, sizeof(encoded)) < 0)) {
		free(location);
		page_message(ex, 200, "Signed out", "You are signed out.", "/login", "Sign in again");
		return;
	}
	if (state)
		snprintf(location, n, "%s%cstate=%s", redirect, strchr(redirect, '?') ? '&' : '?', encoded);
	else
		snprintf(location, n, "%s", redirect);
	http_reply_redirect(ex, location);
	free(location);
}

/* One sign-out request through its steps (client lookup, session,
 * revocation); whichever step replies frees it. */
struct logout {
	struct http_exchange *ex;
	struct form q;
	char *request;		/* the parameters as received, for the confirmation form */
	bool confirmed;		/* came from our confirmation form */
	json_t *hint;		/* the verified id_token_hint's claims, or NULL */
	const char *redirect, *state, *hint_sub;
	struct oidc_client *client;
	char user_id[40];	/* whose session is being ended */
};

static void logout_free(struct logout *lo)
{
	oidc_client_release(lo->client);
	json_decref(lo->hint);
	form_free(&lo->q);
	free(lo->request);
	free(lo);
}

static void logout_page(struct logout *lo, int status, const char *message)
{
	page_message(lo->ex, status, "Sign out", message, NULL, NULL);
	logout_free(lo);
}

/* The store could not answer (down, busy, past the deadline): try again shortly. */
static void logout_unavailable(struct logout *lo, const char *message)
{
	http_reply_header(lo->ex, "Retry-After", "1");
	logout_page(lo, 503, message);
}

static void signed_out(struct logout *lo)
{
	session_cookie_clear(lo->ex);
	finish(lo->ex, lo->redirect, lo->state);
	logout_free(lo);
}

static void session_revoked(struct http_exchange *ex, int rc, void *arg)
{
	struct logout *lo = arg;

	/* As before the store: the cookie goes whatever the database said. */
	if (rc < 0)
		log_warnx("end_session: the session of user %s could not be revoked in the store", lo->user_id);
	log_info("end_session: user %s signed out%s%s", lo->user_id, lo->client ? " by " : "",
	    lo->client ? lo->client->client_id : "");
	signed_out(lo);
}

/* A signed-in user whom the hint does not name confirms first: a stray link
 * must not sign anyone out. */
static void ask_to_confirm(struct logout *lo, const struct session_entry *s)
{
	char csrf[CSRF_TOKEN_LEN], suffix[300] = "";

	if (lo->client)
		snprintf(suffix, sizeof(suffix), " (requested by %s)", lo->client->name);
	csrf_issue(lo->ex, csrf);
	struct page_var vars[] = { { "email", s->email }, { "client_suffix", suffix }, { "csrf", csrf },
		{ "request", lo->request }, { NULL, NULL } };
	page_reply(lo->ex, 200, "Sign out", "logout.html", vars);
	logout_free(lo);
}

static void session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct logout *lo = arg;

	if (rc < 0) {
		logout_unavailable(lo, "The session store is unavailable; please try again.");
		return;
	}
	if (rc == 0) {
		signed_out(lo);
		return;
	}
	if (!lo->confirmed && !(lo->hint_sub && !strcmp(lo->hint_sub, s->user_id))) {
		ask_to_confirm(lo, s);
		return;
	}
	snprintf(lo->user_id, sizeof(lo->user_id), "%s", s->user_id);
	session_revoke_key(ex, s->key, session_revoked, lo);
}

static void client_found(struct oidc_client *c, int rc, void *arg)
{
	struct logout *lo = arg;

	lo->client = c;
	if (rc < 0) {
		logout_unavailable(lo, "The service is temporarily unavailable.");
		return;
	}
	if (rc == 0) {
		logout_page(lo, 400, "The application is not registered.");
		return;
	}
	if (lo->redirect && !oidc_client_post_logout_ok(c, lo->redirect)) {
		logout_page(lo, 400, "post_logout_redirect_uri is not registered for this application.");
		return;
	}
	session_from_request(lo->ex, session_found, lo);
}

static void end_session(struct http_exchange *ex, const char *params, size_t len, bool confirmed)
{
	struct logout *lo = calloc(1, sizeof(*lo));
	const char *hint_text, *client_id;

	if (!lo || !(lo->request = malloc(len + 1))) {
		free(lo);
		page_message(ex, 503, "Sign out", "Out of memory.", NULL, NULL);
		return;
	}
	lo->ex = ex;
	lo->confirmed = confirmed;
	if (len)
		memcpy(lo->request, params, len);
	lo->request[len] = '\0';
	if (form_parse(lo->request, len, LOGOUT_MAX_PARAMS, &lo->q) != FORM_OK) {
		logout_page(lo, 400, "The sign-out request is malformed.");
		return;
	}
	hint_text = form_get(&lo->q, "id_token_hint");
	client_id = form_get(&lo->q, "client_id");
	lo->redirect = form_get(&lo->q, "post_logout_redirect_uri");
	lo->state = form_get(&lo->q, "state");
	if (lo->state && strlen(lo->state) > 1024) {
		logout_page(lo, 400, "The state parameter is too long.");
		return;
	}
	if (hint_text) {
		lo->hint = jwt_local_verify_any_age(hint_text, strlen(hint_text), "JWT");
		json_t *aud = lo->hint ? json_object_get(lo->hint, "aud") : NULL;
		const char *hint_aud = json_is_array(aud) ? json_string_value(json_array_get(aud, 0)) : json_string_value(aud);
		if (!lo->hint || !hint_aud || (client_id && strcmp(client_id, hint_aud) != 0)) {
			logout_page(lo, 400, "The id_token_hint is not valid for this server or client.");
			return;
		}
		client_id = hint_aud;
		lo->hint_sub = json_string_value(json_object_get(lo->hint, "sub"));
	}
	if (client_id) {
		oidc_client_find(client_id, client_found, lo);
		return;
	}
	if (lo->redirect) {
		logout_page(lo, 400, "post_logout_redirect_uri is not registered for this application.");
		return;
	}
	session_from_request(ex, session_found, lo);
}

void handle_oauth_end_session(struct http_exchange *ex)
{
	if (!oidc_enabled(ex))
		return;
	if (ex->req.method != HTTP_METHOD_POST) {
		end_session(ex, ex->req.query.p, ex->req.query.len, false);
		return;
	}
	if (!http_exchange_is_form(ex)) {
		page_message(ex, 400, "Sign out", "The sign-out request must be a form.", NULL, NULL);
		return;
	}
	struct form f;
	if (form_parse(ex->body, ex->body_len, 16384, &f) != FORM_OK) {
		page_message(ex, 400, "Sign out", "The sign-out request is malformed.", NULL, NULL);
		return;
	}
	const char *request = form_get(&f, "request");
	if (form_get(&f, "csrf") || request) {
		/* Our confirmation form. */
		if (!request || !csrf_check(ex, form_get(&f, "csrf"))) {
			form_free(&f);
			page_message(ex, 403, "Sign out", "This form has expired; please try again.", NULL, NULL);
			return;
		}
		char *copy = strdup(request);
		form_free(&f);
		if (!copy) {
			page_message(ex, 503, "Sign out", "Out of memory.", NULL, NULL);
			return;
		}
		end_session(ex, copy, strlen(copy), true);
		free(copy);
		return;
	}
	form_free(&f);
	end_session(ex, ex->body, ex->body_len, false);
}
