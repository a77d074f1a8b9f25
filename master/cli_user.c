/*
 * `dreamauth user add|list|disable|enable`: account administration from the
 * command line (called from master/main.c). Works whether or not the server
 * runs: with DATABASE_URL it just connects; in embedded mode it starts the
 * private cluster itself, unless a running server already owns it, in which
 * case it connects to that cluster's socket. Disabling a user revokes their
 * sessions and NOTIFYs every instance so cached sessions die at once.
 */
#include "master/cli.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "common/password_hash.h"
#include "common/secure.h"
#include "kdf/kdf.h"
#include "master/master.h"
#include "master/pg_embedded.h"
#include "proto/email.h"
#include "workers/session.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD_MIN_CHARS 8
#define NAME_MAX_BYTES 80
#define GROUPS_MAX_BYTES 150	/* the session cache keeps 160 bytes of groups */

static void user_usage(void)
{
	fprintf(stderr,
	    "usage: dreamauth user add <email> [--admin] [--name NAME] [--groups a,b]   (password on stdin)\n"
	    "       dreamauth user list\n"
	    "       dreamauth user disable <email>\n"
	    "       dreamauth user enable <email>\n");
}

/* Embedded mode: is a server already running the cluster under DATA_DIR/pg? */
static bool embedded_cluster_running(void)
{
	char path[PATH_MAX], line[32];
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/pg/postmaster.pid", cfg.data_dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	pid = strtol(line, NULL, 10);
	if (pid <= 0)
		return false;
	/* EPERM: alive, owned by the postgres user. */
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Connection for the command; *pg_pid is an embedded cluster we started (else 0). */
PGconn *cli_connect(int *pg_pid)
{
	PGconn *db;
	int applied = 0;

	*pg_pid = 0;
	if (cfg.embedded_pg) {
		char *abs = realpath(cfg.data_dir, NULL);
		if (abs && embedded_cluster_running()) {
			free(cfg.data_dir);
			cfg.data_dir = abs;
			if (!cfg.pg_bin)
				cfg.pg_bin = pg_embedded_find_bin();
			/* Only builds the URL (the cluster exists): no second postgres. */
			if (!cfg.pg_bin || pg_embedded_prepare(cfg.data_dir, cfg.pg_bin, &cfg.database_url) < 0)
				return NULL;
		} else {
			free(abs);
			if (master_prepare_database(pg_pid) < 0)
				return NULL;
		}
	}
	db = db_connect(cfg.database_url, 10000);
	if (!db)
		return NULL;
	if (cfg.auto_migrate && migrate_run(db, cfg.migration_lock_key, cfg.migration_lock_timeout_ms, &applied) < 0) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

/* One line from stdin without its line end, malloc'd; NULL on EOF/error. */
static char *read_password(size_t *len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*len = (size_t)n;
	return line;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t chars = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return chars;
}

static bool groups_valid(const char *groups)
{
	if (strlen(groups) > GROUPS_MAX_BYTES)
		return false;
	for (const char *p = groups; *p; p++) {
		unsigned char c = (unsigned char)*p;
		/* Groups travel in X-Auth-Groups and tokens: printable ASCII, no separators. */
		if (c <= 0x20 || c >= 0x7f || strchr("\"\\;<>{}", c))
			return false;
		if (c == ',' && (p == groups || p[1] == '\0' || p[1] == ','))
			return false;	/* no empty group */
	}
	return true;
}

static int user_add(int argc, char **argv)
{
	const char *email = NULL, *name = "", *groups = "";
	bool admin = false;
	char normalized[EMAIL_MAX_LEN + 1];
	char *password, *phc;
	size_t password_len = 0;
	int pg_pid, rc = 1;
	PGconn *db;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--admin")) {
			admin = true;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--groups") && i + 1 < argc) {
			groups = argv[++i];
		} else if (argv[i][0] != '-' && !email) {
			email = argv[i];
		} else {
			user_usage();
			return 2;
		}
	}
	if (!email) {
		user_usage();
		return 2;
	}
	if (email_normalize(email, strlen(email), normalized, sizeof(normalized)) < 0) {
		fprintf(stderr, "dreamauth: not a valid email address: %s\n", email);
		return 1;
	}
	if (strlen(name) > NAME_MAX_BYTES || strpbrk(name, "\r\n\t<>")) {
		fprintf(stderr, "dreamauth: --name is longer than %d bytes or has characters that are not allowed\n",
		    NAME_MAX_BYTES);
		return 1;
	}
	if (!groups_valid(groups)) {
		fprintf(stderr, "dreamauth: --groups: comma-separated names of printable ASCII, at most %d bytes\n",
		    GROUPS_MAX_BYTES);
		return 1;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password (echoed; pipe it in to avoid that): ");
	password = read_password(&password_len);
	if (!password || utf8_chars(password, password_len) < PASSWORD_MIN_CHARS || password_len > KDF_MAX_PASSWORD) {
		fprintf(stderr, "dreamauth: the password (one line on stdin) must have %d to %d characters\n",
		    PASSWORD_MIN_CHARS, KDF_MAX_PASSWORD);
		if (password) {
			secure_wipe(password, password_len);
			free(password);
		}
		return 1;
	}
	phc = password_hash_argon2id(password, password_len);
	secure_wipe(password, password_len);
	free(password);
	if (!phc) {
		fprintf(stderr, "dreamauth: hashing the password failed\n");
		return 1;
	}
	db = cli_connect(&pg_pid);
	if (db) {
		const char *params[] = { email, normalized, name, phc,
			admin || config_is_admin_email(normalized) ? "true" : "false", groups };
		PGresult *r = db_query(db,
		    "INSERT INTO users (email, email_normalized, name, password_hash, is_admin, groups)"
		    " VALUES ($1, $2, $3, $4, $5, coalesce(string_to_array(nullif($6, ''), ','), '{}'))"
		    " ON CONFLICT (email_normalized) DO NOTHING RETURNING id",
		    6, params);
		if (r && PQntuples(r) == 1) {
			printf("%s\n", PQgetvalue(r, 0, 0));
			rc = 0;
		} else if (r) {
			fprintf(stderr, "dreamauth: a user with email %s already exists\n", normalized);
		}
		if (r)
			PQclear(r);
		PQfinish(db);
	}
	free(phc);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

/* Display width of UTF-8 text (code points; good enough for aligning columns). */
static int text_width(const char *s)
{
	return (int)utf8_chars(s, strlen(s));
}

static int user_list(void)
{
	static const char *const titles[] = { "ID", "EMAIL", "NAME", "ADMIN", "DISABLED", "GROUPS", "CREATED" };
	enum { COLS = 7 };
	int width[COLS], pg_pid;
	PGconn *db = cli_connect(&pg_pid);
	PGresult *r;

	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	r = db_query(db,
	    "SELECT id, email, name, CASE WHEN is_admin THEN 'yes' ELSE 'no' END,"
	    " CASE WHEN disabled THEN 'yes' ELSE 'no' END, array_to_string(groups, ','),"
	    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z'"
	    " FROM users ORDER BY created_at, email_normalized",
	    0, NULL);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	if (!r)
		return 1;
	for (int c = 0; c < COLS; c++) {
		width[c] = text_width(titles[c]);
		for (int i = 0; i < PQntuples(r); i++)
			if (text_width(PQgetvalue(r, i, c)) > width[c])
				width[c] = text_width(PQgetvalue(r, i, c));
	}
	for (int i = -1; i < PQntuples(r); i++) {
		for (int c = 0; c < COLS; c++) {
			const char *v = i < 0 ? titles[c] : PQgetvalue(r, i, c);
			if (c == COLS - 1)
				printf("%s\n", v);
			else
				printf("%s%*s  ", v, width[c] - text_width(v), "");
		}
	}
	PQclear(r);
	return 0;
}

static int user_set_disabled(const char *email, bool disabled)
{
	char normalized[EMAIL_MAX_LEN + 1], payload[64];
	int pg_pid, rc = 1;
	PGconn *db;
	PGresult *r;

	if (email_normalize(email, strlen(email), normalized, sizeof(normalized)) < 0) {
		fprintf(stderr, "dreamauth: not a valid email address: %s\n", email);
		return 1;
	}
	db = cli_connect(&pg_pid);
	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	/* One transaction: the NOTIFY goes out at commit, so an instance that
	 * drops its cached sessions and reloads from the database sees the change. */
	if (!db_exec(db, "BEGIN", 0, NULL))
		goto out;
	const char *params[] = { normalized, disabled ? "true" : "false" };
	r = db_query(db, "UPDATE users SET disabled = $2::boolean, updated_at = now() WHERE email_normalized = $1"
			 " RETURNING id", 2, params);
	if (!r || PQntuples(r) != 1) {
		if (r) {
			fprintf(stderr, "dreamauth: no user with email %s\n", normalized);
			PQclear(r);
		}
		db_exec(db, "ROLLBACK", 0, NULL);
		goto out;
	}
	snprintf(payload, sizeof(payload), "user:%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (disabled) {
		const char *revoke[] = { payload + 5 };
		const char *notify[] = { SESSION_NOTIFY_CHANNEL, payload };
		if (!db_exec(db, "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", 1,
		        revoke) ||
		    !db_exec(db, "SELECT pg_notify($1, $2)", 2, notify)) {
			db_exec(db, "ROLLBACK", 0, NULL);
			goto out;
		}
	}
	if (!db_exec(db, "COMMIT", 0, NULL))
		goto out;
	printf("%s %s\n", normalized, disabled ? "disabled; sessions revoked" : "enabled");
	rc = 0;
out:
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

int cli_user(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (!sub) {
		user_usage();
		return 2;
	}
	if (!strcmp(sub, "add"))
		return user_add(argc - 1, argv + 1);
	if (!strcmp(sub, "list") && argc == 1)
		return user_list();
	if ((!strcmp(sub, "disable") || !strcmp(sub, "enable")) && argc == 2)
		return user_set_disabled(argv[1], !strcmp(sub, "disable"));
	user_usage();
	return 2;
}
