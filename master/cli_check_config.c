/*
 * `dreamauth check-config [--strict]`: validates the environment and the
 * OIDC client lists as `serve` would read them, without starting anything:
 * no database connection, no embedded cluster, no listening socket. Names
 * each problem on its own line (stderr), then a summary (stdout). Exit 0
 * when `serve` would start, 1 when it would not (or, with --strict, when a
 * setting is ignored: misspelt, or meaningless here), 2 on bad usage.
 *
 * config_load stops at its first bad variable; to name every one, each
 * round unsets the variable the last error named (or, for a required one
 * that is missing, sets a stand-in) and loads again; an error naming a
 * variable already reported ends the rounds: it is a consequence.
 */
#include "common/config.h"
#include "common/log.h"
#include "master/cli.h"
#include "proto/oidc_clients.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

struct tally {
	int errors, warnings;
};

static void problem(struct tally *t, bool error, const char *what)
{
	fprintf(stderr, "%s: %s\n", error ? "error" : "warning", what);
	if (error)
		t->errors++;
	else
		t->warnings++;
}

static void name_warning(const char *line, void *arg)
{
	problem(arg, false, line);
}

/* The variable an error line starts with ("AUTH_URL: ..."), or "". */
static void error_variable(const char *err, char *out, size_t cap)
{
	size_t n = 0;
	while (err[n] && (isupper((unsigned char)err[n]) || isdigit((unsigned char)err[n]) || err[n] == '_'))
		n++;
	if (n == 0 || err[n] != ':' || n >= cap)
		n = 0;
	memcpy(out, err, n);
	out[n] = '\0';
}

static bool load_environment(struct tally *t)
{
	char reported[16][64];
	int n_reported = 0;

	for (;;) {
		char err[512], name[64];
		config_free();
		if (config_load(err, sizeof(err)) == 0)
			return true;
		error_variable(err, name, sizeof(name));
		for (int i = 0; i < n_reported; i++)
			if (!strcmp(reported[i], name))
				return false;	/* a consequence of one already named */
		problem(t, true, err);
		if (!*name || n_reported == 16)
			return false;
		snprintf(reported[n_reported++], sizeof(reported[0]), "%s", name);
		if (getenv(name)) {
			unsetenv(name);
		} else if (!strcmp(name, "AUTH_SECRET")) {
			/* Required and missing: a stand-in (never used, this process
			 * serves nothing) lets the rest of the settings be checked. */
			setenv(name, "check-config-stand-in-0123456789abcdef", 1);
		} else {
			return false;
		}
	}
}

static char *read_text(const char *path, size_t *len, struct tally *t)
{
	char line[600];
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(OIDC_CLIENTS_MAX_TEXT + 2) : NULL;

	if (!buf) {
		snprintf(line, sizeof(line), "OIDC_CLIENTS_FILE %s: %s", path, f ? "out of memory" : strerror(errno));
		problem(t, true, line);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, OIDC_CLIENTS_MAX_TEXT + 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* One client list: its problems, and its client ids into ids (for the
 * duplicate check across the two sources). */
static void check_clients(const char *source, const char *text, size_t len, bool require_pkce, struct tally *t,
    char ids[][OIDC_CLIENT_ID_MAX + 1], size_t *n_ids)
{
	struct oidc_client *clients;
	size_t n;
	char err[400], warn[1024], line[1600];

	if (oidc_clients_parse_warn(text, len, require_pkce, &clients, &n, err, sizeof(err), warn, sizeof(warn)) < 0) {
		snprintf(line, sizeof(line), "%s: %s", source, err);
		problem(t, true, line);
		return;
	}
	if (*warn) {
		snprintf(line, sizeof(line), "%s: %s", source, warn);
		problem(t, false, line);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < *n_ids; k++) {
			if (!strcmp(ids[k], clients[i].client_id)) {
				snprintf(line, sizeof(line), "%s: client \"%s\" is also defined in OIDC_CLIENTS", source,
				    clients[i].client_id);
				problem(t, true, line);
			}
		}
		if (*n_ids < OIDC_MAX_CLIENTS)
			snprintf(ids[(*n_ids)++], OIDC_CLIENT_ID_MAX + 1, "%s", clients[i].client_id);
	}
	printf("%s: %zu client(s)\n", source, n);
	oidc_clients_free(clients, n);
}

int cli_check_config(int argc, char **argv)
{
	static char ids[OIDC_MAX_CLIENTS][OIDC_CLIENT_ID_MAX + 1];
	struct tally t = { 0, 0 };
	bool strict = false, loaded;
	const char *inline_clients, *file;
	size_t n_ids = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--strict")) {
			strict = true;
		} else {
			fprintf(stderr, "dreamauth: check-config: unknown option \"%s\"\nusage: dreamauth check-config [--strict]\n",
			    argv[i]);
			return 2;
		}
	}
	log_init("check-config", LOG_LEVEL_WARN);
	loaded = load_environment(&t);
	/* The lists as serve reads them; checked even with the provider off
	 * (they would be refused the day it is switched on). */
	inline_clients = getenv("OIDC_CLIENTS");
	file = getenv("OIDC_CLIENTS_FILE");
	if (inline_clients && *inline_clients)
		check_clients("OIDC_CLIENTS", inline_clients, strlen(inline_clients), loaded ? cfg.oidc_require_pkce : true, &t,
		    ids, &n_ids);
	if (file && *file) {
		size_t len;
		char *text = read_text(file, &len, &t), source[300];
		snprintf(source, sizeof(source), "OIDC_CLIENTS_FILE %s", file);
		if (text)
			check_clients(source, text, len, loaded ? cfg.oidc_require_pkce : true, &t, ids, &n_ids);
		free(text);
	}
	if (loaded && !cfg.enable_oidc_provider && n_ids)
		problem(&t, false, "OIDC clients are configured but ENABLE_OIDC_PROVIDER is not true: they are not used");
	config_check_names(environ, name_warning, &t);
	if (t.errors || (strict && t.warnings)) {
		printf("configuration: %d error(s), %d warning(s)%s\n", t.errors, t.warnings,
		    strict && !t.errors ? " (--strict)" : "");
		return 1;
	}
	printf("configuration OK, %d warning(s)\n", t.warnings);
	config_free();
	return 0;
}
