/*
 * Maps method + path to a handler. Exact matches only; unknown paths get a
 * JSON 404, known paths with the wrong method a 405 with Allow.
 */
#include "workers/router.h"
#include "workers/worker_ctx.h"
#include "workers/discovery.h"
#include "workers/handlers.h"
#include "workers/pages.h"
#include "workers/cors.h"
#include "workers/two_factor.h"
#include "shm/metrics.h"

#include <stdbool.h>
#include <string.h>

struct route {
	const char *path;
	unsigned methods;	/* bit per enum http_method */
	http_handler_fn handler;
	const char *allow;
};

#define M(m) (1u << HTTP_METHOD_##m)

static const struct route routes[] = {
	{ "/api/health", M(GET) | M(HEAD), handle_health, "GET, HEAD" },
	{ "/api/health/live", M(GET) | M(HEAD), handle_live, "GET, HEAD" },
	/* circle-rd's auth-service answers its health check at /health. */
	{ "/health", M(GET) | M(HEAD), handle_health, "GET, HEAD" },
	{ "/.well-known/openid-configuration", M(GET) | M(HEAD), handle_discovery, "GET, HEAD" },
	{ "/jwks", M(GET) | M(HEAD), handle_jwks, "GET, HEAD" },
	{ "/.well-known/jwks.json", M(GET) | M(HEAD), handle_jwks, "GET, HEAD" },
	{ "/api/verify", M(GET) | M(HEAD) | M(POST) | M(PUT) | M(DELETE) | M(PATCH) | M(OPTIONS), handle_verify,
	    "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS" },
	{ "/api/auth/sign-in/email", M(POST), handle_sign_in, "POST" },
	{ "/api/auth/sign-up/email", M(POST), handle_sign_up, "POST" },
	{ "/api/auth/sign-out", M(POST), handle_sign_out, "POST" },
	{ "/api/auth/change-password", M(POST), handle_change_password, "POST" },
	{ "/api/auth/me", M(GET), handle_me, "GET" },
	{ "/api/auth/get-session", M(GET), handle_me, "GET" },
	{ "/api/auth/sessions", M(GET), handle_sessions_list, "GET" },
	{ "/api/auth/sessions/revoke", M(POST), handle_sessions_revoke, "POST" },
	{ "/login", M(GET) | M(HEAD), handle_login_page, "GET, HEAD, POST" },
	{ "/login", M(POST), handle_sign_in, "GET, HEAD, POST" },
	{ "/signup", M(GET) | M(HEAD), handle_signup_page, "GET, HEAD, POST" },
	{ "/signup", M(POST), handle_sign_up, "GET, HEAD, POST" },
	{ "/logout", M(POST), handle_sign_out, "POST" },
	{ "/account", M(GET) | M(HEAD), handle_account_page, "GET, HEAD" },
	/* No HEAD: a GET here stores a code (and end_session may sign out); a
	 * HEAD probe must not. */
	{ "/oauth2/authorize", M(GET) | M(POST), handle_oauth_authorize, "GET, POST" },
	{ "/oauth2/consent", M(POST), handle_oauth_consent, "POST" },
	{ "/oauth2/token", M(POST), handle_oauth_token, "POST" },
	{ "/oauth2/userinfo", M(GET) | M(HEAD) | M(POST), handle_oauth_userinfo, "GET, HEAD, POST" },
	{ "/oauth2/introspect", M(POST), handle_oauth_introspect, "POST" },
	{ "/oauth2/revoke", M(POST), handle_oauth_revoke, "POST" },
	{ "/oauth2/end_session", M(GET) | M(POST), handle_oauth_end_session, "GET, POST" },
	{ "/", M(GET) | M(HEAD), handle_root, "GET, HEAD" },
	{ "/login/passkey", M(GET) | M(HEAD), handle_passkey_second_factor_page, "GET, HEAD" },
	{ "/static/passkey.js", M(GET) | M(HEAD), handle_passkey_script, "GET, HEAD" },
	{ "/static/siwe.js", M(GET) | M(HEAD), handle_siwe_script, "GET, HEAD" },
	{ "/sdk/dreamauth.js", M(GET) | M(HEAD), handle_sdk_module, "GET, HEAD" },
	{ "/sdk/dreamauth.iife.js", M(GET) | M(HEAD), handle_sdk_script, "GET, HEAD" },
	/* email (workers/auth_email.c) */
	{ "/api/auth/send-verification-email", M(POST), handle_send_verification_email, "POST" },
	{ "/api/auth/verify-email", M(GET), handle_verify_email, "GET" },
	{ "/api/auth/request-password-reset", M(POST), handle_request_password_reset, "POST" },
	{ "/api/auth/forget-password", M(POST), handle_request_password_reset, "POST" },
	{ "/api/auth/reset-password", M(POST), handle_reset_password, "POST" },
	{ "/api/auth/sign-in/email-otp", M(POST), handle_sign_in_email_otp, "POST" },
	{ "/forgot-password", M(GET) | M(HEAD), handle_forgot_password_page, "GET, HEAD, POST" },
	{ "/forgot-password", M(POST), handle_request_password_reset, "GET, HEAD, POST" },
	{ "/reset-password", M(GET) | M(HEAD), handle_reset_password_page, "GET, HEAD, POST" },
	{ "/reset-password", M(POST), handle_reset_password, "GET, HEAD, POST" },
	{ "/login/two-factor", M(GET) | M(HEAD), handle_two_factor_page, "GET, HEAD, POST" },
	{ "/login/two-factor", M(POST), handle_two_factor_form, "GET, HEAD, POST" },
	{ "/metrics", M(GET) | M(HEAD), handle_metrics, "GET, HEAD" },
	{ "/api/admin/audit", M(GET), handle_admin_audit, "GET" },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Route ids for /metrics: a path's first row in the table, then the path
 * prefixes, then "other" (METRICS_ROUTE_OTHER). Bounded: the table's size. */
static const char *const prefix_routes[] = { "/api/auth/passkey/*", "/api/auth/siwe/*", "/static/*",
	"/api/auth/two-factor/*", "/account/two-factor/*", "/api/admin/*", "/admin/*" };
enum { ROUTE_PASSKEY = N_ROUTES, ROUTE_SIWE, ROUTE_STATIC, ROUTE_TWO_FACTOR, ROUTE_ACCOUNT_TWO_FACTOR, ROUTE_ADMIN_API,
	ROUTE_ADMIN_CONSOLE, ROUTE_IDS };
_Static_assert(ROUTE_IDS <= METRICS_ROUTE_OTHER, "more routes than METRICS_ROUTES holds");

/* Worked out once per process: the hot path only indexes. */
static int first_row[N_ROUTES];
static bool first_rows_known;

static int first_row_of(size_t i)
{
	if (!first_rows_known) {
		for (size_t k = 0; k < N_ROUTES; k++) {
			first_row[k] = (int)k;
			for (size_t j = 0; j < k; j++)
				if (strcmp(routes[j].path, routes[k].path) == 0) {
					first_row[k] = (int)j;
					break;
				}
		}
		first_rows_known = true;
	}
	return first_row[i];
}

const char *router_route_name(int id)
{
	if (id >= 0 && (size_t)id < N_ROUTES)
		return first_row_of((size_t)id) == id ? routes[id].path : NULL;
	if (id >= ROUTE_PASSKEY && id < ROUTE_IDS)
		return prefix_routes[id - ROUTE_PASSKEY];
	return id == METRICS_ROUTE_OTHER ? "other" : NULL;
}

void router_dispatch(struct http_exchange *ex)
{
	const struct http_str path = ex->req.path;
	const struct cors_route *cors = cors_route_of(path);

	/* CORS first (workers/cors.h): OPTIONS there is a preflight, and a
	 * refused Origin is answered before any handler can change state. */
	if (cors && ex->req.method == HTTP_METHOD_OPTIONS) {
		cors_preflight(ex, cors);
		return;
	}
	if (cors && !cors_apply(ex, cors))
		return;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		if (!http_str_eq(path, r->path))
			continue;
		/* The same path may appear once per method group (GET page, POST form). */
		if (!(r->methods & (1u << ex->req.method)) && i + 1 < sizeof(routes) / sizeof(routes[0]) &&
		    http_str_eq(path, routes[i + 1].path))
			continue;
		ex->route_id = first_row_of(i);
		if (!(r->methods & (1u << ex->req.method))) {
			http_reply_header(ex, "Allow", r->allow);
			http_reply_error(ex, 405, "method_not_allowed", "method not allowed on this path");
			return;
		}
		r->handler(ex);
		return;
	}
	if (path.len > 18 && memcmp(path.p, "/api/auth/passkey/", 18) == 0) {
		ex->route_id = ROUTE_PASSKEY;
		handle_passkey(ex);
		return;
	}
	if (path.len > 20 && memcmp(path.p, "/api/auth/email-otp/", 20) == 0) {
		handle_email_otp(ex);
		return;
	}
	if (path.len > 21 && memcmp(path.p, "/api/auth/two-factor/", 21) == 0) {
		ex->route_id = ROUTE_TWO_FACTOR;
		handle_two_factor(ex);
		return;
	}
	if (path.len > 20 && memcmp(path.p, "/account/two-factor/", 20) == 0) {
		ex->route_id = ROUTE_ACCOUNT_TWO_FACTOR;
		handle_account_two_factor(ex);
		return;
	}
	/* Administration (issue 12): the JSON API and the console. */
	if (path.len >= 10 && memcmp(path.p, "/api/admin", 10) == 0 && (path.len == 10 || path.p[10] == '/')) {
		ex->route_id = ROUTE_ADMIN_API;
		handle_admin_api(ex);
		return;
	}
	if (path.len >= 6 && memcmp(path.p, "/admin", 6) == 0 && (path.len == 6 || path.p[6] == '/')) {
		ex->route_id = ROUTE_ADMIN_CONSOLE;
		handle_admin_console(ex);
		return;
	}
	if (path.len > 15 && memcmp(path.p, "/api/auth/siwe/", 15) == 0) {
		ex->route_id = ROUTE_SIWE;
		handle_siwe(ex);
		return;
	}
	if (path.len > 8 && memcmp(path.p, "/static/", 8) == 0 && (ex->req.method == HTTP_METHOD_GET ||
	    ex->req.method == HTTP_METHOD_HEAD)) {
		ex->route_id = ROUTE_STATIC;
		handle_static(ex);
		return;
	}
	http_reply_error(ex, 404, "not_found", "no such endpoint");
}
