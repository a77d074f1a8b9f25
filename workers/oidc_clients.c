/* OIDC client registry: configuration, file and database clients (see oidc_clients.h). */
#include "workers/oidc_clients.h"
#include "workers/store_client.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "workers/worker_ctx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One loaded generation of configuration clients. */
struct client_set {
	struct oidc_client **items;
	size_t n;
};

static struct client_set current;
static struct stat file_seen;	/* identity of the file we last tried */
static bool file_seen_valid;

static void set_release(struct client_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		oidc_client_release(s->items[i]);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

/* Appends the clients parsed from text to s (taking each into its own allocation). */
static int set_add_text(struct client_set *s, const char *text, size_t len, const char *origin, char *err,
    size_t errlen)
{
	struct oidc_client *parsed;
	size_t n;
	char why[400];

	if (oidc_clients_parse(text, len, cfg.oidc_require_pkce, &parsed, &n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", origin, why);
		return -1;
	}
	struct oidc_client **grown = realloc(s->items, (s->n + n + 1) * sizeof(*grown));
	if (!grown) {
		oidc_clients_free(parsed, n);
		snprintf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	s->items = grown;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s->n; k++) {
			if (!strcmp(s->items[k]->client_id, parsed[i].client_id)) {
				snprintf(err, errlen, "%s: client \"%s\" is also defined elsewhere", origin, parsed[i].client_id);
				oidc_clients_free(parsed, n);
				return -1;
			}
		}
		struct oidc_client *c = malloc(sizeof(*c));
		if (!c) {
			oidc_clients_free(parsed, n);
			snprintf(err, errlen, "%s: out of memory", origin);
			return -1;
		}
		*c = parsed[i];
		memset(&parsed[i], 0, sizeof(parsed[i]));
		c->refs = 1;
		s->items[s->n++] = c;
	}
	oidc_clients_free(parsed, n);
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "OIDC_CLIENTS_FILE %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(OIDC_CLIENTS_MAX_TEXT + 2);
	n = buf ? fread(buf, 1, OIDC_CLIENTS_MAX_TEXT + 1, f) : 0;
	if (!buf || ferror(f)) {
		snprintf(err, errlen, "OIDC_CLIENTS_FILE %s: cannot read", path);
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int load_all(struct client_set *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (cfg.oidc_clients && set_add_text(s, cfg.oidc_clients, strlen(cfg.oidc_clients), "OIDC_CLIENTS", err, errlen) < 0)
		goto fail;
	if (cfg.oidc_clients_file) {
		size_t len;
		char origin[300];
		char *text = read_file(cfg.oidc_clients_file, &len, err, errlen);
		if (!text)
			goto fail;
		snprintf(origin, sizeof(origin), "OIDC_CLIENTS_FILE %s", cfg.oidc_clients_file);
		int rc = set_add_text(s, text, len, origin, err, errlen);
		free(text);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	set_release(s);
	return -1;
}

static void remember_file(void)
{
	file_seen_valid = cfg.oidc_clients_file && stat(cfg.oidc_clients_file, &file_seen) == 0;
}

int oidc_registry_init(char *err, size_t errlen)
{
	struct client_set s;
	remember_file();
	if (load_all(&s, err, errlen) < 0)
		return -1;
	set_release(&current);
	current = s;
	return 0;
}

/* A worker forked after start-up (a restart after a crash) inherits the
 * list the master read at start-up, which the file may have left behind
 * long ago: it reads the file itself before its first use of the list, and
 * keeps the inherited list only if the file is bad now. */
static void load_own_copy(void)
{
	struct client_set s;
	char err[512];

	/* worker_ctx is fresh in each worker process: a flag there, not a
	 * getpid() per lookup (a system call on every token request). */
	if (!worker || worker->clients_loaded || !cfg.enable_oidc_provider || !cfg.oidc_clients_file)
		return;
	remember_file();
	worker->clients_loaded = true;
	if (load_all(&s, err, sizeof(err)) < 0) {
		log_errorx("OIDC clients file unreadable at worker start, using the %zu from server start-up: %s", current.n,
		    err);
		return;
	}
	set_release(&current);
	current = s;
	log_debug("OIDC clients loaded at worker start: %zu from configuration", current.n);
}

void oidc_registry_reload(const char *why)
{
	struct client_set s;
	char err[512];

	if (!cfg.enable_oidc_provider)
		return;
	remember_file();
	if (worker)
		worker->clients_loaded = true;
	if (load_all(&s, err, sizeof(err)) < 0) {
		/* Every worker keeps its clients; one of them says why, once per change. */
		if (!worker || worker->slot == 0)
			log_errorx("OIDC clients not reloaded (%s), keeping the previous %zu: %s", why, current.n, err);
		return;
	}
	set_release(&current);
	current = s;
	if (!worker || worker->slot == 0)
		log_info("OIDC clients reloaded (%s): %zu from configuration", why, current.n);
}

void oidc_registry_poll(void)
{
	struct stat st;
	if (!cfg.enable_oidc_provider || !cfg.oidc_clients_file)
		return;
	load_own_copy();
	if (stat(cfg.oidc_clients_file, &st) != 0) {
		if (file_seen_valid)
			oidc_registry_reload("file disappeared");
		return;
	}
	if (file_seen_valid && st.st_ino == file_seen.st_ino && st.st_dev == file_seen.st_dev &&
	    st.st_size == file_seen.st_size && st.st_mtim.tv_sec == file_seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == file_seen.st_mtim.tv_nsec && st.st_ctim.tv_sec == file_seen.st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == file_seen.st_ctim.tv_nsec)
		return;
	oidc_registry_reload("file changed");
}

size_t oidc_registry_size(void)
{
	return current.n;
}

void oidc_client_release(struct oidc_client *c)
{
	if (!c || --c->refs > 0)
		return;
	oidc_client_clear(c);
	free(c);
}

/* text[] literal "{a,b}" from PostgreSQL → malloc'd array of strings. */
static char **pg_text_array(const char *lit, size_t *n_out)
{
	size_t cap = 4, n = 0;
	char **out = calloc(cap, sizeof(char *));
	const char *p = lit;

	*n_out = 0;
	if (!out || *p != '{')
		goto fail;
	p++;
	while (*p && *p != '}') {
		char buf[OIDC_MAX_URI_LEN + 1];
		size_t o = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (o + 1 < sizeof(buf))
					buf[o++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != '}') {
				if (o + 1 < sizeof(buf))
					buf[o++] = *p;
				p++;
			}
		}
		buf[o] = '\0';
		if (n + 1 >= cap) {
			char **g = realloc(out, (cap *= 2) * sizeof(char *));
			if (!g)
				goto fail;
			out = g;
		}
		if (!(out[n] = strdup(buf)))
			goto fail;
		n++;
		if (*p == ',')
			p++;
	}
	*n_out = n;
	return out;
fail:
	for (size_t i = 0; out && i < n; i++)
		free(out[i]);
	free(out);
	return NULL;
}

static unsigned bits_from_array(const char *lit, bool grants)
{
	size_t n;
	unsigned bits = 0;
	char **items = pg_text_array(lit, &n);
	for (size_t i = 0; items && i < n; i++) {
		unsigned b = 0;
		if (grants) {
			if (!strcmp(items[i], "authorization_code"))
				b = OIDC_GRANT_CODE;
			else if (!strcmp(items[i], "refresh_token"))
				b = OIDC_GRANT_REFRESH;
			else if (!strcmp(items[i], "client_credentials"))
				b = OIDC_GRANT_CLIENT_CREDENTIALS;
		} else if (oidc_scope_parse(items[i], strlen(items[i]), &b) < 0) {
			b = 0;
		}
		bits |= b;
		free(items[i]);
	}
	free(items);
	return bits;
}

/* A STORE_SHAPE_CLIENT row as a client (one reference), or NULL. */
static struct oidc_client *client_from_row(const char *client_id, const struct store_reply *r)
{
	struct oidc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->refs = 1;
	c->from_db = true;
	c->client_id = strdup(client_id);
	c->name = strdup(store_text(r, 0, CLIENT_NAME));
	const char *hex = store_text(r, 0, CLIENT_SECRET_HEX);
	if (strlen(hex) == 64 && !store_bool(r, 0, CLIENT_PUBLIC)) {
		for (int i = 0; i < 32; i++) {
			unsigned v;
			sscanf(hex + 2 * i, "%2x", &v);
			c->secret_hash[i] = (uint8_t)v;
		}
		c->has_secret = true;
	}
	c->redirect_uris = pg_text_array(store_text(r, 0, CLIENT_REDIRECT_URIS), &c->n_redirect_uris);
	c->post_logout_uris = pg_text_array(store_text(r, 0, CLIENT_POST_LOGOUT_URIS), &c->n_post_logout_uris);
	c->grants = bits_from_array(store_text(r, 0, CLIENT_GRANT_TYPES), true);
	c->scopes = bits_from_array(store_text(r, 0, CLIENT_SCOPES), false) & OIDC_SCOPE_ALL;
	/* Scope admin (the admin API) only for a client flagged admin (migrations/013). */
	if (store_bool(r, 0, CLIENT_ADMIN))
		c->scopes |= OIDC_SCOPE_ADMIN;
	c->skip_consent = store_bool(r, 0, CLIENT_SKIP_CONSENT);
	c->require_pkce = (store_bool(r, 0, CLIENT_REQUIRE_PKCE) && cfg.oidc_require_pkce) || !c->has_secret;
	const char *alg = store_text(r, 0, CLIENT_ID_TOKEN_ALG);
	snprintf(c->id_token_alg, sizeof(c->id_token_alg), "%s", oidc_alg_valid(alg) ? alg : "");
	if (!c->has_secret)
		c->grants &= ~(unsigned)OIDC_GRANT_CLIENT_CREDENTIALS;
	if (!c->client_id || !c->name || !c->redirect_uris || !c->post_logout_uris) {
		oidc_client_release(c);
		return NULL;
	}
	return c;
}

struct client_lookup {
	char client_id[OIDC_CLIENT_ID_MAX + 1];
	oidc_client_found_fn done;
	void *arg;
};

static void db_client_loaded(const struct store_reply *r, void *arg)
{
	struct client_lookup *l = arg;
	struct oidc_client *c = NULL;

	if (store_failed(r))
		l->done(NULL, -1, l->arg);
	else if (r->n_rows != 1 || !(c = client_from_row(l->client_id, r)))
		l->done(NULL, 0, l->arg);
	else
		l->done(c, 1, l->arg);
	free(l);
}

void oidc_client_find(const char *client_id, oidc_client_found_fn done, void *arg)
{
	struct client_lookup *l;

	if (!client_id || !oidc_client_id_valid(client_id, strlen(client_id)) || strlen(client_id) > OIDC_CLIENT_ID_MAX) {
		done(NULL, 0, arg);
		return;
	}
	load_own_copy();
	for (size_t i = 0; i < current.n; i++) {
		if (!strcmp(current.items[i]->client_id, client_id)) {
			current.items[i]->refs++;
			done(current.items[i], 1, arg);
			return;
		}
	}
	if (!worker || !(l = calloc(1, sizeof(*l)))) {
		done(NULL, worker ? -1 : 0, arg);
		return;
	}
	snprintf(l->client_id, sizeof(l->client_id), "%s", client_id);
	l->done = done;
	l->arg = arg;
	STORE_CALL(STORE_OP_CLIENT_FIND, db_client_loaded, l, STORE_V_TEXT(client_id));
}

bool oidc_client_redirect_ok(const struct oidc_client *c, const char *uri)
{
	for (size_t i = 0; uri && i < c->n_redirect_uris; i++)
		if (!strcmp(c->redirect_uris[i], uri))
			return true;
	return false;
}

bool oidc_client_post_logout_ok(const struct oidc_client *c, const char *uri)
{
	for (size_t i = 0; uri && i < c->n_post_logout_uris; i++)
		if (!strcmp(c->post_logout_uris[i], uri))
			return true;
	return false;
}

bool oidc_client_secret_ok(const struct oidc_client *c, const char *secret)
{
	uint8_t h[SHA256_LEN];
	if (!c->has_secret || !secret)
		return false;
	secure_sha256(secret, strlen(secret), h);
	return secure_equal(h, c->secret_hash, SHA256_LEN);
}

/* The admin API lists configuration clients read-only (workers/admin_api_apps.c). */
const struct oidc_client *oidc_registry_config_client(size_t i)
{
	load_own_copy();
	return i < current.n ? current.items[i] : NULL;
}

bool oidc_registry_is_config_client(const char *client_id)
{
	load_own_copy();
	for (size_t i = 0; client_id && i < current.n; i++)
		if (!strcmp(current.items[i]->client_id, client_id))
			return true;
	return false;
}
