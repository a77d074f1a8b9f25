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
#include "workers/worker.h"

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

static void end_session(struct http_exchange *ex, const char *params, size_t len, bool confirmed)
{
	struct form q;
	struct oidc_client *client = NULL;
	json_t *hint = NULL;
	const char *hint_text, *client_id, *redirect, *state, *hint_sub = NULL;
	struct session_entry s;
	uint8_t key[32];
	bool db_error = false;

	if (form_parse(params ? params : "", len, LOGOUT_MAX_PARAMS, &q) != FORM_OK) {
		page_message(ex, 400, "Sign out", "The sign-out request is malformed.", NULL, NULL);
		return;
	}
	hint_text = form_get(&q, "id_token_hint");
	client_id = form_get(&q, "client_id");
	redirect = form_get(&q, "post_logout_redirect_uri");
	state = form_get(&q, "state");
	if (state && strlen(state) > 1024) {
		page_message(ex, 400, "Sign out", "The state parameter is too long.", NULL, NULL);
		goto out;
	}
	if (hint_text) {
		hint = jwt_local_verify_any_age(hint_text, strlen(hint_text), "JWT");
		json_t *aud = hint ? json_object_get(hint, "aud") : NULL;
		const char *hint_aud = json_is_array(aud) ? json_string_value(json_array_get(aud, 0)) : json_string_value(aud);
		if (!hint || !hint_aud || (client_id && strcmp(client_id, hint_aud) != 0)) {
			page_message(ex, 400, "Sign out", "The id_token_hint is not valid for this server or client.", NULL, NULL);
			goto out;
		}
		client_id = hint_aud;
		hint_sub = json_string_value(json_object_get(hint, "sub"));
	}
	if (client_id) {
		client = oidc_client_find(client_id, &db_error);
		if (!client) {
			page_message(ex, db_error ? 503 : 400, "Sign out",
			    db_error ? "The service is temporarily unavailable." : "The application is not registered.", NULL, NULL);
			goto out;
		}
	}
	if (redirect && (!client || !oidc_client_post_logout_ok(client, redirect))) {
		page_message(ex, 400, "Sign out", "post_logout_redirect_uri is not registered for this application.", NULL,
		    NULL);
		goto out;
	}
	int rc = session_from_request(ex, &s, key);
	if (rc < 0) {
		page_message(ex, 503, "Sign out", "The session store is unavailable; please try again.", NULL, NULL);
		goto out;
	}
	if (rc == 1 && !confirmed && !(hint_sub && !strcmp(hint_sub, s.user_id))) {
		char csrf[CSRF_TOKEN_LEN], suffix[300] = "";
		char *request = malloc(len + 1);
		if (!request) {
			page_message(ex, 503, "Sign out", "Out of memory.", NULL, NULL);
			goto out;
		}
		if (len)
			memcpy(request, params, len);
		request[len] = '\0';
		if (client) {
			snprintf(suffix, sizeof(suffix), " (requested by %s)", client->name);
		}
		csrf_issue(ex, csrf);
		struct page_var vars[] = { { "email", s.email }, { "client_suffix", suffix }, { "csrf", csrf },
			{ "request", request }, { NULL, NULL } };
		page_reply(ex, 200, "Sign out", "logout.html", vars);
		free(request);
		goto out;
	}
	if (rc == 1) {
		session_revoke_key(key);
		log_info("end_session: user %s signed out%s%s", s.user_id, client ? " by " : "", client ? client->client_id : "");
	}
	session_cookie_clear(ex);
	finish(ex, redirect, state);
out:
	oidc_client_release(client);
	json_decref(hint);
	form_free(&q);
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
