/*
 * `dreamauth user add|list|disable|enable|passwd|set`: account administration
 * from the command line (called from master/main.c). Works whether or not the
 * server runs: with DATABASE_URL it just connects; in embedded mode it starts
 * the private cluster itself, unless a running server already owns it, in
 * which case it connects to that cluster's socket.
 *
 * Every change that running servers must see at once ends with a "user:<id>"
 * NOTIFY in the same transaction: each instance drops the user's cached
 * sessions (which hold name, groups and the admin flag) and reads them again
 * from the database on the next request. Disabling a user and resetting a
 * password also revoke the sessions, so that re-read finds nothing; a password
 * reset revokes the user's OAuth refresh and access tokens too.
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
#include "master/user_opts.h"
#include "proto/email.h"
#include "workers/jwt_local.h"
#include "workers/session.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void user_usage(void)
{
	fprintf(stderr,
	    "usage: dreamauth user add <email> [--admin] [--name NAME] [--groups a,b]   (password on stdin)\n"
	    "       dreamauth user list\n"
	    "       dreamauth user disable <email>\n"
	    "       dreamauth user enable <email>\n"
	    "       dreamauth user passwd <email>   (new password on stdin; revokes sessions and tokens)\n"
	    "       dreamauth user set <email> [--admin | --no-admin] [--name NAME] [--groups a,b | --no-groups]\n");
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
			/* Only builds the URL (the cluster exists): no second postgres.
			 * Then the unprivileged role, as the server uses: what the
			 * command writes (or migrates) belongs to it, not to postgres. */
			if (!cfg.pg_bin || pg_embedded_prepare(cfg.data_dir, cfg.pg_bin, &cfg.database_url) < 0 ||
			    pg_embedded_provision(cfg.data_dir, &cfg.database_url) < 0)
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

/* Reads the new password (one line on stdin) and hashes it with the
 * configured argon2id parameters; NULL after saying why. */
static char *read_password_phc(void)
{
	char *password, *phc;
	size_t len = 0;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password (echoed; pipe it in to avoid that): ");
	password = read_password(&len);
	if (!user_password_acceptable(password, len)) {
		fprintf(stderr, "dreamauth: the password (one line on stdin) must have %d to %d characters\n",
		    USER_PASSWORD_MIN_CHARS, KDF_MAX_PASSWORD);
		if (password) {
			secure_wipe(password, len);
			free(password);
		}
		return NULL;
	}
	phc = password_hash_argon2id(password, len);
	secure_wipe(password, len);
	free(password);
	if (!phc)
		fprintf(stderr, "dreamauth: hashing the password failed\n");
	return phc;
}

/* What the check_* below share: ok as it is, or false after saying why on stderr. */
static bool __attribute__((format(printf, 2, 3))) valid_or_say(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	return ok;
}

static bool check_email(const char *email, char normalized[EMAIL_MAX_LEN + 1])
{
	return valid_or_say(email_normalize(email, strlen(email), normalized, EMAIL_MAX_LEN + 1) >= 0,
	    "dreamauth: not a valid email address: %s\n", email);
}

static bool check_name(const char *name)
{
	return valid_or_say(user_name_valid(name),
	    "dreamauth: --name is longer than %d bytes or has characters that are not allowed\n", USER_NAME_MAX_BYTES);
}

static bool check_groups(const char *groups)
{
	return valid_or_say(user_groups_valid(groups),
	    "dreamauth: --groups: comma-separated names of printable ASCII, at most %d bytes\n", USER_GROUPS_MAX_BYTES);
}

/* Inside the caller's transaction: the NOTIFY goes out at COMMIT, so an
 * instance that drops the user's cached sessions and reloads them from the
 * database sees the change. */
static bool notify_user(PGconn *db, const char *user_id)
{
	char payload[80];
	snprintf(payload, sizeof(payload), "user:%s", user_id);
	const char *params[] = { SESSION_NOTIFY_CHANNEL, payload };
	return db_exec(db, "SELECT pg_notify($1, $2)", 2, params);
}

/* Rows an UPDATE changed, or -1. */
static long exec_count(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = db_query(db, sql, nparams, params);
	long n;

	if (!r)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/* Runs an UPDATE ... WHERE email_normalized = $1 RETURNING ... inside the
 * caller's transaction and returns its one row. NULL after rolling back:
 * a store error, or no such user (said on stderr). */
static PGresult *update_user_row(PGconn *db, const char *normalized, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *r = db_query(db, sql, nparams, params);

	if (r && PQntuples(r) == 1)
		return r;
	if (r) {
		fprintf(stderr, "dreamauth: no user with email %s\n", normalized);
		PQclear(r);
	}
	db_exec(db, "ROLLBACK", 0, NULL);
	return NULL;
}

static int user_add(int argc, char **argv)
{
	const char *email = NULL, *name = "", *groups = "";
	bool admin = false;
	char normalized[EMAIL_MAX_LEN + 1];
	char *phc;
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
	if (!check_email(email, normalized) || !check_name(name) || !check_groups(groups))
		return 1;
	if (!(phc = read_password_phc()))
		return 1;
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
	return (int)user_utf8_chars(s, strlen(s));
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

/* What revoke_user_credentials ended, for the operator. */
struct revoked_counts {
	long sessions, refresh, access;
};

/* Everything that lets someone act as the user ends: browser sessions, and
 * the OAuth refresh and access tokens apps hold. Inside the caller's
 * transaction; the 004 trigger announces each revoked access token (jti) and
 * the user NOTIFY drops cached sessions, both at COMMIT. false on failure
 * (the caller rolls back). */
static bool revoke_user_credentials(PGconn *db, const char *user_id, struct revoked_counts *n)
{
	char leeway[16];
	const char *ids[] = { user_id, leeway };

	/* Access tokens verify until exp + JWT_LEEWAY: those are still worth revoking. */
	snprintf(leeway, sizeof(leeway), "%d", JWT_LEEWAY);
	n->sessions = exec_count(db, "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
				 " AND expires_at > now()", 1, ids);
	/* A spent refresh token is dead already (presenting it again revokes its family). */
	n->refresh = exec_count(db, "UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE user_id = $1"
				" AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now()", 1, ids);
	n->access = exec_count(db, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE user_id = $1"
			       " AND revoked_at IS NULL AND expires_at > now() - make_interval(secs => $2::int)", 2, ids);
	return n->sessions >= 0 && n->refresh >= 0 && n->access >= 0 && notify_user(db, user_id);
}

static int user_set_disabled(const char *email, bool disabled)
{
	char normalized[EMAIL_MAX_LEN + 1], user_id[64];
	struct revoked_counts n = { 0, 0, 0 };
	int pg_pid, rc = 1;
	PGconn *db;
	PGresult *r;

	if (!check_email(email, normalized))
		return 1;
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
	r = update_user_row(db, normalized,
	    "UPDATE users SET disabled = $2::boolean, updated_at = now() WHERE email_normalized = $1 RETURNING id", 2,
	    params);
	if (!r)
		goto out;
	snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	/* A disabled user keeps nothing that still works: not a session, not a
	 * token an app holds (Bearer on /api/verify, refresh). */
	if (disabled && !revoke_user_credentials(db, user_id, &n)) {
		db_exec(db, "ROLLBACK", 0, NULL);
		goto out;
	}
	if (!db_exec(db, "COMMIT", 0, NULL))
		goto out;
	if (disabled)
		printf("%s disabled; revoked %ld session(s), %ld refresh token(s), %ld access token(s)\n", normalized,
		    n.sessions, n.refresh, n.access);
	else
		printf("%s enabled\n", normalized);
	rc = 0;
out:
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

/* A password reset is what follows a compromise: everything the old password
 * let anyone obtain ends with it (revoke_user_credentials), in the same
 * transaction as the new hash. */
static int user_passwd(const char *email)
{
	char normalized[EMAIL_MAX_LEN + 1], user_id[64];
	struct revoked_counts n;
	bool disabled;
	int pg_pid = 0, rc = 1;
	PGconn *db = NULL;
	PGresult *r;
	char *phc;

	if (!check_email(email, normalized))
		return 1;
	if (!(phc = read_password_phc()))
		return 1;
	if (!(db = cli_connect(&pg_pid)) || !db_exec(db, "BEGIN", 0, NULL))
		goto out;
	const char *params[] = { normalized, phc };
	r = update_user_row(db, normalized,
	    "UPDATE users SET password_hash = $2, updated_at = now() WHERE email_normalized = $1 RETURNING id, disabled",
	    2, params);
	if (!r)
		goto out;
	snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(r, 0, 0));
	disabled = PQgetvalue(r, 0, 1)[0] == 't';
	PQclear(r);
	if (!revoke_user_credentials(db, user_id, &n)) {
		db_exec(db, "ROLLBACK", 0, NULL);
		goto out;
	}
	if (!db_exec(db, "COMMIT", 0, NULL))
		goto out;
	printf("%s: password changed; revoked %ld session(s), %ld refresh token(s), %ld access token(s)%s\n",
	    normalized, n.sessions, n.refresh, n.access, disabled ? " (the account stays disabled)" : "");
	rc = 0;
out:
	free(phc);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

/* Profile and authorisation fields. Sessions stay valid; the NOTIFY makes every
 * instance re-read them, so X-Auth-Groups, /api/auth/me and new tokens carry
 * the change from the next request on. */
static int user_set(int argc, char **argv)
{
	struct user_set_opts o;
	char normalized[EMAIL_MAX_LEN + 1];
	int pg_pid = 0, rc = 1;
	PGconn *db = NULL;
	PGresult *r;

	if (user_set_parse(argc, argv, &o) < 0) {
		user_usage();
		return 2;
	}
	if (!check_email(o.email, normalized) || (o.name && !check_name(o.name)))
		return 1;
	if (o.groups && !o.clear_groups) {
		if (!o.groups[0]) {
			fprintf(stderr, "dreamauth: --groups needs at least one group; --no-groups removes them all\n");
			return 1;
		}
		if (!check_groups(o.groups))
			return 1;
	}
	if (!(db = cli_connect(&pg_pid)) || !db_exec(db, "BEGIN", 0, NULL))
		goto out;
	const char *params[] = { normalized,
		o.admin == USER_ADMIN_KEEP ? NULL : o.admin == USER_ADMIN_GRANT ? "true" : "false", o.name, o.groups };
	r = update_user_row(db, normalized,
	    "UPDATE users SET is_admin = coalesce($2::boolean, is_admin), name = coalesce($3::text, name),"
	    " groups = CASE WHEN $4::text IS NULL THEN groups"
	    "   ELSE coalesce(string_to_array(nullif($4::text, ''), ','), '{}') END,"
	    " updated_at = now() WHERE email_normalized = $1"
	    " RETURNING id, CASE WHEN is_admin THEN 'yes' ELSE 'no' END, name, array_to_string(groups, ',')",
	    4, params);
	if (!r)
		goto out;
	if (!notify_user(db, PQgetvalue(r, 0, 0)) || !db_exec(db, "COMMIT", 0, NULL)) {
		PQclear(r);
		db_exec(db, "ROLLBACK", 0, NULL);
		goto out;
	}
	printf("%s updated: admin %s, name \"%s\", groups \"%s\"; cached sessions refreshed\n", normalized,
	    PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
	PQclear(r);
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
	if (!strcmp(sub, "passwd") && argc == 2 && argv[1][0] != '-')
		return user_passwd(argv[1]);
	if (!strcmp(sub, "set"))
		return user_set(argc - 1, argv + 1);
	user_usage();
	return 2;
}
