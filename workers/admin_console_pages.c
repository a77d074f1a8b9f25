/*
 * The admin console's pages (GET): users (search, pages, create), a user
 * (profile form, disable/enable, sign out everywhere, delete, sessions,
 * passkeys, roles), applications (database and configured ones, create), an
 * application (settings, secret rotation, delete, roles), signing keys
 * (rotate, revoke). A page that needs several store answers builds its HTML
 * in c->page across chained calls. See admin_console.c for the POSTs.
 */
#include "workers/admin_console.h"
#include "proto/base64url.h"
#include "workers/oidc_clients.h"
#include "workers/store_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void when(struct evbuffer *b, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char out[32];
	if (t > 0 && gmtime_r(&tt, &tm) && strftime(out, sizeof(out), "%Y-%m-%d %H:%M UTC", &tm))
		evbuffer_add_printf(b, "%s", out);
	else
		evbuffer_add_printf(b, "-");
}

/* <a href="/admin/<kind>/<id>">text</a>, both escaped. */
static void link_to(struct evbuffer *b, const char *kind, const char *id, const char *text)
{
	evbuffer_add_printf(b, "<a href=\"/admin/%s/", kind);
	html_text(b, id);
	evbuffer_add_printf(b, "\">");
	html_text(b, text && *text ? text : id);
	evbuffer_add_printf(b, "</a>");
}

/* A one-button POST form to the path made of fmt and its arguments;
 * destructive ones get a confirmation page first. */
static void button(struct evbuffer *b, struct admin_call *c, const char *label, bool danger, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void button(struct evbuffer *b, struct admin_call *c, const char *label, bool danger, const char *fmt, ...)
{
	char action[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(action, sizeof(action), fmt, ap);
	va_end(ap);
	html_form(b, c, action, "inline");
	evbuffer_add_printf(b, "<button type=\"submit\" class=\"inline%s\">%s</button></form>", danger ? " danger" : "", label);
}

static struct evbuffer *page_of(struct admin_call *c)
{
	if (!c->page)
		c->page = evbuffer_new();
	return c->page;
}

/* Hands c->html to console_page. */
static void finish(struct admin_call *c, const char *title)
{
	struct evbuffer *b = c->page;
	c->page = NULL;
	console_page(c, 200, title, b);
}

/* ---- users ---- */

static void users_listed(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);
	const char *q = form_get(&c->form, "q");

	evbuffer_add_printf(b, "<form method=\"get\" action=\"/admin/users\" class=\"row\"><label>Search email or name"
			       "<input name=\"q\" type=\"search\" value=\"");
	html_text(b, q ? q : "");
	evbuffer_add_printf(b, "\"></label><button type=\"submit\">Search</button></form>");
	evbuffer_add_printf(b, "<table><thead><tr><th>Email</th><th>Name</th><th>Admin</th><th>Status</th></tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		evbuffer_add_printf(b, "<tr><td data-label=\"Email\">");
		link_to(b, "users", store_text(r, i, ADMIN_USER_ROW_ID), store_text(r, i, ADMIN_USER_ROW_EMAIL));
		evbuffer_add_printf(b, "</td><td data-label=\"Name\">");
		html_text(b, store_text(r, i, ADMIN_USER_ROW_NAME));
		evbuffer_add_printf(b, "</td><td data-label=\"Admin\">%s</td><td data-label=\"Status\">%s</td></tr>",
		    store_bool(r, i, ADMIN_USER_ROW_IS_ADMIN) ? "yes" : "no",
		    store_bool(r, i, ADMIN_USER_ROW_DISABLED) ? "<strong class=\"error\">disabled</strong>" : "active");
	}
	evbuffer_add_printf(b, "</tbody></table>");
	if (r->n_rows == 50) {
		char raw[400], cursor[600];
		int n = snprintf(raw, sizeof(raw), "%s~%s", store_text(r, 49, ADMIN_USER_ROW_PAGE_KEY),
		    store_text(r, 49, ADMIN_USER_ROW_EMAIL_NORMALIZED));
		if (n > 0 && (size_t)n < sizeof(raw)) {
			base64url_encode((const uint8_t *)raw, (size_t)n, cursor);
			evbuffer_add_printf(b, "<p><a href=\"/admin/users?cursor=%s\">Next page</a></p>", cursor);
		}
	}
	evbuffer_add_printf(b, "<h2>New account</h2>");
	html_form(b, c, "/admin/users/create", NULL);
	evbuffer_add_printf(b, "<label>Email<input name=\"email\" type=\"email\" required></label>"
			       "<label>Name<input name=\"name\"></label>"
			       "<label>Password (optional: 8 characters or more)<input name=\"password\" type=\"password\" "
			       "autocomplete=\"new-password\"></label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"admin\">Admin</label>"
			       "<button type=\"submit\">Create account</button></form>");
	finish(c, "Users");
}

void console_users(struct admin_call *c)
{
	const char *q = form_get(&c->form, "q"), *cursor = form_get(&c->form, "cursor");
	char raw[400], *tilde = NULL;
	long n;

	if (q && strlen(q) > 254)
		q = NULL;
	if (cursor && (n = base64url_decode(cursor, strlen(cursor), (uint8_t *)raw, sizeof(raw) - 1)) > 0 &&
	    !memchr(raw, '\0', (size_t)n)) {
		raw[n] = '\0';
		tilde = strchr(raw, '~');
		if (tilde && (tilde - raw != 27 || strspn(raw, "0123456789-:.TZ") != 27))
			tilde = NULL;
	}
	if (tilde)
		*tilde++ = '\0';
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USERS_LIST, users_listed, q && *q ? STORE_V_TEXT(q) : STORE_V_NULL,
	    tilde ? STORE_V_TEXT(raw) : STORE_V_NULL, tilde ? STORE_V_TEXT(tilde) : STORE_V_NULL, STORE_V_INT(50));
}

static void user_roles_done(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);
	char action[400];

	evbuffer_add_printf(b, "<h2>Roles</h2><table><thead><tr><th>Application</th><th>Role</th><th></th></tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		const char *app = store_text(r, i, USER_APP_ROLE_CLIENT_ID), *role = store_text(r, i, USER_APP_ROLE_ROLE);
		evbuffer_add_printf(b, "<tr><td data-label=\"Application\">");
		link_to(b, "clients", app, app);
		evbuffer_add_printf(b, "</td><td data-label=\"Role\">");
		html_text(b, role);
		evbuffer_add_printf(b, "</td><td>");
		button(b, c, "Take away", false, "/admin/users/%s/roles/%s/%s/remove", c->path.seg[1], app, role);
		evbuffer_add_printf(b, "</td></tr>");
	}
	evbuffer_add_printf(b, "</tbody></table>");
	snprintf(action, sizeof(action), "/admin/users/%s/roles/grant", c->path.seg[1]);
	html_form(b, c, action, "row");
	evbuffer_add_printf(b, "<label>Application (client id)<input name=\"app\" required></label>"
			       "<label>Role<input name=\"role\" required></label><button type=\"submit\">Give role</button></form>");
	finish(c, "Account");
}

static void user_passkeys_done(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);

	evbuffer_add_printf(b, "<h2>Passkeys</h2>");
	if (r->n_rows == 0)
		evbuffer_add_printf(b, "<p class=\"muted\">None.</p>");
	evbuffer_add_printf(b, "<ul class=\"passkeys\">");
	for (unsigned i = 0; i < r->n_rows; i++) {
		evbuffer_add_printf(b, "<li>");
		html_text(b, *store_text(r, i, PASSKEY_NAME) ? store_text(r, i, PASSKEY_NAME) : "Passkey");
		evbuffer_add_printf(b, " <small>added ");
		when(b, store_int(r, i, PASSKEY_CREATED_AT));
		evbuffer_add_printf(b, "</small>");
		button(b, c, "Delete", true, "/admin/users/%s/passkeys/%s/delete", c->path.seg[1], store_text(r, i, PASSKEY_ID));
		evbuffer_add_printf(b, "</li>");
	}
	evbuffer_add_printf(b, "</ul>");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLES, user_roles_done, STORE_V_TEXT(c->path.seg[1]));
}

static void user_sessions_done(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);

	evbuffer_add_printf(b, "<h2>Sessions</h2><table><thead><tr><th>Last seen</th><th>IP</th><th>Browser</th><th></th>"
			       "</tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		evbuffer_add_printf(b, "<tr><td data-label=\"Last seen\">");
		when(b, store_int(r, i, OWN_SESSION_LAST_SEEN_AT));
		evbuffer_add_printf(b, "</td><td data-label=\"IP\">");
		html_text(b, store_text(r, i, OWN_SESSION_IP));
		evbuffer_add_printf(b, "</td><td data-label=\"Browser\">");
		html_text(b, store_text(r, i, OWN_SESSION_USER_AGENT));
		evbuffer_add_printf(b, "</td><td>");
		button(b, c, "Revoke", false, "/admin/users/%s/sessions/%s/revoke", c->path.seg[1], store_text(r, i, OWN_SESSION_ID));
		evbuffer_add_printf(b, "</td></tr>");
	}
	evbuffer_add_printf(b, "</tbody></table>");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_PASSKEYS, user_passkeys_done, STORE_V_TEXT(c->path.seg[1]));
}

static void user_found(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b;
	char action[300];
	const char *id = c->path.seg[1];

	if (r->n_rows != 1) {
		admin_fail(c, 404, "not_found", "No such account.");
		return;
	}
	b = page_of(c);
	bool disabled = store_bool(r, 0, ADMIN_USER_ROW_DISABLED);
	evbuffer_add_printf(b, "<p><a href=\"/admin/users\">&larr; Users</a></p><p><strong>");
	html_text(b, store_text(r, 0, ADMIN_USER_ROW_EMAIL));
	evbuffer_add_printf(b, "</strong> %s<br><small class=\"muted\">id ", disabled ? "<strong class=\"error\">disabled</strong>" : "");
	html_text(b, id);
	evbuffer_add_printf(b, ", since ");
	when(b, store_int(r, 0, ADMIN_USER_ROW_CREATED_UNIX));
	evbuffer_add_printf(b, "</small></p>");
	snprintf(action, sizeof(action), "/admin/users/%s/update", id);
	html_form(b, c, action, NULL);
	evbuffer_add_printf(b, "<label>Name<input name=\"name\" value=\"");
	html_text(b, store_text(r, 0, ADMIN_USER_ROW_NAME));
	evbuffer_add_printf(b, "\"></label><label>Groups (comma separated)<input name=\"groups\" value=\"");
	html_text(b, store_text(r, 0, ADMIN_USER_ROW_GROUPS));
	evbuffer_add_printf(b, "\"></label><label class=\"checkbox\"><input type=\"checkbox\" name=\"admin\"%s>Admin</label>"
			       "<button type=\"submit\">Save</button></form><h2>Actions</h2><div class=\"actions\">",
	    store_bool(r, 0, ADMIN_USER_ROW_IS_ADMIN) ? " checked" : "");
	button(b, c, disabled ? "Enable" : "Disable", !disabled, "/admin/users/%s/%s", id, disabled ? "enable" : "disable");
	button(b, c, "Sign out everywhere", false, "/admin/users/%s/revoke-sessions", id);
	button(b, c, "Turn off second factor", false, "/admin/users/%s/second-factor-off", id);
	button(b, c, "Delete account", true, "/admin/users/%s/delete", id);
	evbuffer_add_printf(b, "</div>");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_SESSIONS, user_sessions_done, STORE_V_TEXT(id));
}

void console_user(struct admin_call *c)
{
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_GET, user_found, STORE_V_TEXT(c->path.seg[1]));
}

/* ---- applications ---- */

static void clients_listed(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);
	const struct oidc_client *k;

	evbuffer_add_printf(b, "<table><thead><tr><th>Application</th><th>Name</th><th>Kind</th></tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		evbuffer_add_printf(b, "<tr><td data-label=\"Application\">");
		link_to(b, "clients", store_text(r, i, ADMIN_CLIENT_ID), store_text(r, i, ADMIN_CLIENT_ID));
		evbuffer_add_printf(b, "</td><td data-label=\"Name\">");
		html_text(b, store_text(r, i, ADMIN_CLIENT_NAME));
		evbuffer_add_printf(b, "</td><td data-label=\"Kind\">%s%s</td></tr>",
		    store_bool(r, i, ADMIN_CLIENT_PUBLIC) ? "public" : "confidential",
		    store_bool(r, i, ADMIN_CLIENT_ADMIN) ? ", admin" : "");
	}
	for (size_t i = 0; (k = oidc_registry_config_client(i)); i++) {
		evbuffer_add_printf(b, "<tr><td data-label=\"Application\">");
		link_to(b, "clients", k->client_id, k->client_id);
		evbuffer_add_printf(b, "</td><td data-label=\"Name\">");
		html_text(b, k->name ? k->name : "");
		evbuffer_add_printf(b, "</td><td data-label=\"Kind\">configured (read-only)</td></tr>");
	}
	evbuffer_add_printf(b, "</tbody></table><h2>New application</h2>");
	html_form(b, c, "/admin/clients/create", NULL);
	evbuffer_add_printf(b, "<label>Client id<input name=\"client_id\" required pattern=\"[A-Za-z0-9._~\\-]{1,128}\"></label>"
			       "<label>Name<input name=\"name\" required></label>"
			       "<label>Redirect URIs (one per line)<textarea name=\"redirect_uris\" rows=\"3\" required></textarea></label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"public\">Public (no secret, PKCE)</label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"client_credentials\">Machine tokens (client_credentials)</label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"skip_consent\">Skip consent</label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"admin\">Admin client (scope admin)</label>"
			       "<button type=\"submit\">Create application</button></form>");
	finish(c, "Applications");
}

void console_clients(struct admin_call *c)
{
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENTS_LIST, clients_listed, STORE_V_NULL, STORE_V_INT(100));
}

static void roles_done(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);
	char action[400];
	const char *id = c->path.seg[1];

	evbuffer_add_printf(b, "<h2>Roles</h2><table><thead><tr><th>Role</th><th>Permissions</th><th>Users</th><th></th>"
			       "</tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		evbuffer_add_printf(b, "<tr><td data-label=\"Role\"><strong>");
		html_text(b, store_text(r, i, APP_ROLE_NAME));
		evbuffer_add_printf(b, "</strong><br><small class=\"muted\">");
		html_text(b, store_text(r, i, APP_ROLE_DESCRIPTION));
		evbuffer_add_printf(b, "</small></td><td data-label=\"Permissions\">");
		html_text(b, store_text(r, i, APP_ROLE_PERMISSIONS));
		evbuffer_add_printf(b, "</td><td data-label=\"Users\">%lld</td><td>", (long long)store_int(r, i, APP_ROLE_MEMBERS));
		button(b, c, "Delete", true, "/admin/clients/%s/roles/%s/delete", id, store_text(r, i, APP_ROLE_NAME));
		evbuffer_add_printf(b, "</td></tr>");
	}
	evbuffer_add_printf(b, "</tbody></table><h3>Add or change a role</h3>");
	snprintf(action, sizeof(action), "/admin/clients/%s/roles/put", id);
	html_form(b, c, action, NULL);
	evbuffer_add_printf(b, "<label>Role name<input name=\"name\" required pattern=\"[a-z0-9][a-z0-9._:\\-]{0,63}\"></label>"
			       "<label>Description<input name=\"description\" maxlength=\"200\"></label>"
			       "<label>Permissions (spaces, commas or lines)<textarea name=\"permissions\" rows=\"3\"></textarea></label>"
			       "<button type=\"submit\">Save role</button></form>");
	finish(c, "Application");
}

static void client_found(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b;
	char action[300];
	const char *id = c->path.seg[1];

	if (r->n_rows != 1) {
		admin_fail(c, 404, "not_found", "No such application.");
		return;
	}
	b = page_of(c);
	evbuffer_add_printf(b, "<p><a href=\"/admin/clients\">&larr; Applications</a></p><p><strong>");
	html_text(b, id);
	evbuffer_add_printf(b, "</strong> <small class=\"muted\">%s, grants ", store_bool(r, 0, ADMIN_CLIENT_PUBLIC) ? "public" : "confidential");
	html_text(b, store_text(r, 0, ADMIN_CLIENT_GRANT_TYPES));
	evbuffer_add_printf(b, "</small></p>");
	snprintf(action, sizeof(action), "/admin/clients/%s/update", id);
	html_form(b, c, action, NULL);
	evbuffer_add_printf(b, "<label>Name<input name=\"name\" required value=\"");
	html_text(b, store_text(r, 0, ADMIN_CLIENT_NAME));
	evbuffer_add_printf(b, "\"></label><label>Redirect URIs (one per line)<textarea name=\"redirect_uris\" rows=\"3\">");
	const char *uris = store_text(r, 0, ADMIN_CLIENT_REDIRECT_URIS);
	for (const char *p = uris; *p; p++)
		evbuffer_add_printf(b, "%s", *p == ' ' ? "\n" : (char[]){ *p, 0 });
	evbuffer_add_printf(b, "</textarea></label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"skip_consent\"%s>Skip consent</label>"
			       "<label class=\"checkbox\"><input type=\"checkbox\" name=\"admin\"%s>Admin client (scope admin)</label>"
			       "<button type=\"submit\">Save</button></form><h2>Actions</h2><div class=\"actions\">",
	    store_bool(r, 0, ADMIN_CLIENT_SKIP_CONSENT) ? " checked" : "", store_bool(r, 0, ADMIN_CLIENT_ADMIN) ? " checked" : "");
	if (!store_bool(r, 0, ADMIN_CLIENT_PUBLIC)) {
		button(b, c, "New client secret", true, "/admin/clients/%s/rotate-secret", id);
	}
	button(b, c, "Delete application", true, "/admin/clients/%s/delete", id);
	evbuffer_add_printf(b, "</div>");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLES_LIST, roles_done, STORE_V_TEXT(id));
}

void console_client(struct admin_call *c)
{
	const char *id = c->path.seg[1];

	if (oidc_registry_is_config_client(id)) {
		struct evbuffer *b = page_of(c);
		evbuffer_add_printf(b, "<p><a href=\"/admin/clients\">&larr; Applications</a></p><p><strong>");
		html_text(b, id);
		evbuffer_add_printf(b, "</strong> <small class=\"muted\">configured in OIDC_CLIENTS / OIDC_CLIENTS_FILE: "
				       "its settings are read-only here; its roles are managed below.</small></p>");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLES_LIST, roles_done, STORE_V_TEXT(id));
		return;
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_GET, client_found, STORE_V_TEXT(id));
}

/* ---- keys ---- */

static void keys_listed(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = page_of(c);

	evbuffer_add_printf(b, "<table><thead><tr><th>Key id</th><th>Alg</th><th>State</th><th>Created</th><th></th>"
			       "</tr></thead><tbody>");
	for (unsigned i = 0; i < r->n_rows; i++) {
		const char *kid = store_text(r, i, ADMIN_KEY_KID), *state = store_text(r, i, ADMIN_KEY_STATE);
		evbuffer_add_printf(b, "<tr><td data-label=\"Key id\"><code>");
		html_text(b, kid);
		evbuffer_add_printf(b, "</code></td><td data-label=\"Alg\">");
		html_text(b, store_text(r, i, ADMIN_KEY_ALG));
		evbuffer_add_printf(b, "</td><td data-label=\"State\">");
		html_text(b, state);
		evbuffer_add_printf(b, "</td><td data-label=\"Created\">");
		when(b, store_int(r, i, ADMIN_KEY_CREATED_UNIX));
		evbuffer_add_printf(b, "</td><td>");
		if (!strcmp(state, "active") || !strcmp(state, "retiring")) {
			button(b, c, "Revoke", true, "/admin/keys/%s/revoke", kid);
		}
		evbuffer_add_printf(b, "</td></tr>");
	}
	evbuffer_add_printf(b, "</tbody></table><h2>Rotate</h2>");
	html_form(b, c, "/admin/keys/rotate", "row");
	evbuffer_add_printf(b, "<label>Algorithm<select name=\"alg\"><option value=\"\">all</option><option>RS256</option>"
			       "<option>ES256</option><option>EdDSA</option></select></label>"
			       "<button type=\"submit\">Rotate</button></form>");
	finish(c, "Signing keys");
}

void console_keys(struct admin_call *c)
{
	admin_store_call(c, STORE_OP_ADMIN_KEYS_LIST, keys_listed, NULL, 0);
}
