/* Role checks at /api/verify (see verify_roles.h). */
#include "workers/verify_roles.h"
#include "proto/app_role.h"
#include "proto/form.h"
#include "proto/oidc_clients.h"
#include "workers/store_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct roles_check {
	struct http_exchange *ex;
	char role[APP_ROLE_NAME_MAX + 1];	/* "" none required */
};

bool verify_roles_requested(const struct http_exchange *ex)
{
	const struct http_str q = ex->req.query;
	/* A cheap look before any parse: the hot path without app= pays nothing. */
	return q.len >= 4 && (memcmp(q.p, "app=", 4) == 0 || memmem(q.p, q.len, "&app=", 5) != NULL);
}

/* Is role one of the comma-separated roles? */
static bool has_role(const char *roles, const char *role)
{
	size_t n = strlen(role);
	for (const char *p = roles; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, role, n) == 0)
			return true;
		p = end ? end + 1 : p + len;
	}
	return false;
}

static void access_read(const struct store_reply *r, void *arg)
{
	struct roles_check *k = arg;
	struct http_exchange *ex = k->ex;

	if (store_failed(r) || r->n_rows != 1) {
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "role store unavailable");
	} else if (k->role[0] && !has_role(store_text(r, 0, APP_ACCESS_ROLES), k->role)) {
		http_reply_error(ex, 403, "forbidden", "this account does not have the role this app requires");
	} else {
		http_reply_header(ex, "X-Auth-Roles", store_text(r, 0, APP_ACCESS_ROLES));
		http_reply_header(ex, "X-Auth-Permissions", store_text(r, 0, APP_ACCESS_PERMISSIONS));
		http_reply(ex, 200, NULL, NULL, 0);
	}
	free(k);
}

void verify_roles_answer(struct http_exchange *ex, const char *user_id)
{
	struct form f;
	const char *app, *role;
	struct roles_check *k;

	if (form_parse(ex->req.query.p, ex->req.query.len, 2048, &f) != FORM_OK) {
		http_reply_error(ex, 400, "invalid_request", "malformed query string");
		return;
	}
	app = form_get(&f, "app");
	role = form_get(&f, "role");
	if (!app || !oidc_client_id_valid(app, strlen(app)) || (role && !app_role_name_valid(role, strlen(role)))) {
		form_free(&f);
		http_reply_error(ex, 400, "invalid_request", "app must be a client id and role a role name");
		return;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		form_free(&f);
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	k->ex = ex;
	snprintf(k->role, sizeof(k->role), "%s", role ? role : "");
	STORE_CALL(STORE_OP_APP_ACCESS, access_read, k, STORE_V_TEXT(user_id), STORE_V_TEXT(app));
	form_free(&f);	/* the request was encoded when it was sent */
}
