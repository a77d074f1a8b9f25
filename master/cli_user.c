/*
 * `dreamauth user add|list|disable|enable|passwd|set`: account administration
 * from the command line (called from master/main.c). Works whether or not the
 * server runs: with DATABASE_URL it just connects; in embedded mode it starts
 * the private cluster itself, unless a running server already owns it, in
 * which case it connects to that cluster's socket.
 *
 * The database work is the store's operations (store/users_admin.c, the SQL
 * of each table once), run synchronously with store_exec. Each command is one
 * operation, so what one command changes is one transaction. Every change
 * that running servers must see at once is logged as "user:<id>" in that
 * transaction: each instance drops the user's cached sessions (which hold
 * name, groups and the admin flag) and reads them again from the database on
 * the next request. Disabling a user and resetting a password also revoke the
 * sessions, so that re-read finds nothing, and the user's OAuth refresh and
 * access tokens.
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
#include "store/store_run.h"
#include "workers/jwt_local.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void user_usage(void)
{
	fprintf(stderr,
	    "usage: dreamauth user add <email> [--admin] [--name NAME] [--groups a,b]   (password on stdin)\n"
	    "       dreamauth user list\n"
	    "       dreamauth user disable <email>\n"
	    "       dreamauth user enable <email>\n"
	    "       dreamauth user passwd <email>   (new password on stdin; revokes sessions and tokens)\n"
	    "       dreamauth user set <email> [--admin | --no-admin] [--name NAME] [--groups a,b | --no-groups]\n"
	    "       dreamauth user two-factor-off <email>   (removes TOTP and recovery codes)\n");
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

/* Runs op through the store's function for it (store/users_admin.c). false on
 * a failure: the database's own are logged where they happen; a request the
 * store refused or an answer too large for it would be a bug, said here. */
static bool run_op(PGconn *db, uint32_t op, const struct store_value *args, unsigned n, struct store_reply *reply)
{
	int status = store_exec(db, op, args, n, reply);

	if (status == STORE_OK)
		return true;
	if (status == STORE_REFUSED || status == STORE_TOO_LARGE)
		log_warnx("store %s: %s", store_op_spec(op)->name, store_status_text(status));
	store_reply_free(reply);
	return false;
}

/* Runs an operation on one user (named by its normalized email): true with
 * its row in *reply (free with store_reply_free). false after freeing it: a
 * store error, or no such user (said on stderr). */
static bool run_user_op(PGconn *db, const char *normalized, uint32_t op, const struct store_value *args,
    unsigned n, struct store_reply *reply)
{
	if (!run_op(db, op, args, n, reply))
		return false;
	if (reply->n_rows == 1)
		return true;
	fprintf(stderr, "dreamauth: no user with email %s\n", normalized);
	store_reply_free(reply);
	return false;
}

static int user_add(int argc, char **argv)
{
	const char *email = NULL, *name = "", *groups = "";
	bool admin = false;
	char normalized[EMAIL_MAX_LEN + 1];
	struct store_reply reply;
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
		const struct store_value args[] = { STORE_V_TEXT(email), STORE_V_TEXT(normalized), STORE_V_TEXT(name),
			STORE_V_TEXT(phc), STORE_V_BOOL(admin || config_is_admin_email(normalized)),
			STORE_V_TEXT_OR_NULL(groups) };
		if (run_op(db, STORE_OP_USER_ADMIN_ADD, args, 6, &reply)) {
			if (reply.n_rows == 1) {
				printf("%s\n", store_text(&reply, 0, ADMIN_USER_ID));
				rc = 0;
			} else {
				fprintf(stderr, "dreamauth: a user with email %s already exists\n", normalized);
			}
			store_reply_free(&reply);
		}
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

/* Every user, in pages (a store answer holds at most STORE_MAX_ROWS). */
struct user_pages {
	struct store_reply *page;
	size_t count;
};

static void user_pages_free(struct user_pages *p)
{
	for (size_t i = 0; i < p->count; i++)
		store_reply_free(&p->page[i]);
	free(p->page);
	p->page = NULL;
	p->count = 0;
}

#define USER_LIST_PAGE 100

/* Each page starts after the last row of the one before; a short page is the
 * last. false on a store error (with nothing kept). */
static bool user_pages_read(PGconn *db, struct user_pages *p)
{
	for (;;) {
		const struct store_reply *prev = p->count ? &p->page[p->count - 1] : NULL;
		unsigned last = prev ? prev->n_rows - 1 : 0;
		const struct store_value args[] = {
			prev ? STORE_V_TEXT(store_text(prev, last, ADMIN_USER_ROW_PAGE_KEY)) : STORE_V_NULL,
			prev ? STORE_V_TEXT(store_text(prev, last, ADMIN_USER_ROW_EMAIL_NORMALIZED)) : STORE_V_NULL,
			STORE_V_INT(USER_LIST_PAGE)
		};
		struct store_reply *grown = realloc(p->page, (p->count + 1) * sizeof(*p->page));

		if (!grown) {
			user_pages_free(p);
			return false;
		}
		p->page = grown;
		if (!run_op(db, STORE_OP_USER_ADMIN_LIST, args, 3, &p->page[p->count])) {
			user_pages_free(p);
			return false;
		}
		if (p->page[p->count++].n_rows < USER_LIST_PAGE)
			return true;
	}
}

enum { LIST_COLS = 7 };

/* Row row of page as the listing shows it; created is the buffer for its time. */
static void user_list_cells(const struct store_reply *page, unsigned row, const char *cell[LIST_COLS],
    char created[32])
{
	time_t t = (time_t)store_int(page, row, ADMIN_USER_ROW_CREATED_UNIX);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(created, 32, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(created, 32, "?");
	cell[0] = store_text(page, row, ADMIN_USER_ROW_ID);
	cell[1] = store_text(page, row, ADMIN_USER_ROW_EMAIL);
	cell[2] = store_text(page, row, ADMIN_USER_ROW_NAME);
	cell[3] = store_bool(page, row, ADMIN_USER_ROW_IS_ADMIN) ? "yes" : "no";
	cell[4] = store_bool(page, row, ADMIN_USER_ROW_DISABLED) ? "yes" : "no";
	cell[5] = store_text(page, row, ADMIN_USER_ROW_GROUPS);
	cell[6] = created;
}

static void user_list_print_row(const char *const cell[LIST_COLS], const int width[LIST_COLS])
{
	for (int c = 0; c < LIST_COLS; c++) {
		if (c == LIST_COLS - 1)
			printf("%s\n", cell[c]);
		else
			printf("%s%*s  ", cell[c], width[c] - text_width(cell[c]), "");
	}
}

static int user_list(void)
{
	static const char *const titles[LIST_COLS] = { "ID", "EMAIL", "NAME", "ADMIN", "DISABLED", "GROUPS", "CREATED" };
	struct user_pages pages = { NULL, 0 };
	const char *cell[LIST_COLS];
	char created[32];
	int width[LIST_COLS], pg_pid;
	PGconn *db = cli_connect(&pg_pid);
	bool ok = db && user_pages_read(db, &pages);

	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	if (!ok)
		return 1;
	for (int c = 0; c < LIST_COLS; c++)
		width[c] = text_width(titles[c]);
	for (size_t p = 0; p < pages.count; p++)
		for (unsigned i = 0; i < pages.page[p].n_rows; i++) {
			user_list_cells(&pages.page[p], i, cell, created);
			for (int c = 0; c < LIST_COLS; c++)
				if (text_width(cell[c]) > width[c])
					width[c] = text_width(cell[c]);
		}
	user_list_print_row(titles, width);
	for (size_t p = 0; p < pages.count; p++)
		for (unsigned i = 0; i < pages.page[p].n_rows; i++) {
			user_list_cells(&pages.page[p], i, cell, created);
			user_list_print_row(cell, width);
		}
	user_pages_free(&pages);
	return 0;
}

static int user_set_disabled(const char *email, bool disabled)
{
	char normalized[EMAIL_MAX_LEN + 1];
	struct store_reply r;
	int pg_pid, rc = 1;
	PGconn *db;

	if (!check_email(email, normalized))
		return 1;
	db = cli_connect(&pg_pid);
	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	/* Disabling is one store operation: the flag, every session and token
	 * of the user revoked, the change logged for every instance. */
	const struct store_value args[] = { STORE_V_TEXT(normalized), STORE_V_INT(JWT_LEEWAY) };
	if (run_user_op(db, normalized, disabled ? STORE_OP_USER_ADMIN_DISABLE : STORE_OP_USER_ADMIN_ENABLE, args,
	        disabled ? 2 : 1, &r)) {
		if (disabled)
			printf("%s disabled; revoked %" PRId64 " session(s), %" PRId64 " refresh token(s), %" PRId64
			       " access token(s)\n",
			    normalized, store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS),
			    store_int(&r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS),
			    store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS));
		else
			printf("%s enabled\n", normalized);
		store_reply_free(&r);
		rc = 0;
	}
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

/* A password reset is what follows a compromise: everything the old password
 * let anyone obtain ends with it, in one store operation with the new hash. */
static int user_passwd(const char *email)
{
	char normalized[EMAIL_MAX_LEN + 1];
	struct store_reply r;
	int pg_pid = 0, rc = 1;
	PGconn *db = NULL;
	char *phc;

	if (!check_email(email, normalized))
		return 1;
	if (!(phc = read_password_phc()))
		return 1;
	if (!(db = cli_connect(&pg_pid)))
		goto out;
	const struct store_value args[] = { STORE_V_TEXT(normalized), STORE_V_TEXT(phc), STORE_V_INT(JWT_LEEWAY) };
	if (!run_user_op(db, normalized, STORE_OP_USER_ADMIN_PASSWD, args, 3, &r))
		goto out;
	printf("%s: password changed; revoked %" PRId64 " session(s), %" PRId64 " refresh token(s), %" PRId64
	       " access token(s)%s\n",
	    normalized, store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS), store_int(&r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS),
	    store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS),
	    store_bool(&r, 0, ADMIN_USER_REVOKED_DISABLED) ? " (the account stays disabled)" : "");
	store_reply_free(&r);
	rc = 0;
out:
	free(phc);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}

/* Profile and authorisation fields. Sessions stay valid; the store logs the
 * change, so every instance re-reads them and X-Auth-Groups, /api/auth/me and
 * new tokens carry it from the next request on. */
static int user_set(int argc, char **argv)
{
	struct user_set_opts o;
	char normalized[EMAIL_MAX_LEN + 1];
	struct store_reply r;
	int pg_pid = 0, rc = 1;
	PGconn *db = NULL;

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
	if (!(db = cli_connect(&pg_pid)))
		goto out;
	/* NULL keeps a field; "" is a value (an empty name, no groups). */
	const struct store_value args[] = { STORE_V_TEXT(normalized),
		o.admin == USER_ADMIN_KEEP ? STORE_V_NULL : STORE_V_BOOL(o.admin == USER_ADMIN_GRANT),
		o.name ? STORE_V_TEXT(o.name) : STORE_V_NULL, o.groups ? STORE_V_TEXT(o.groups) : STORE_V_NULL };
	if (!run_user_op(db, normalized, STORE_OP_USER_ADMIN_SET, args, 4, &r))
		goto out;
	printf("%s updated: admin %s, name \"%s\", groups \"%s\"; cached sessions refreshed\n", normalized,
	    store_bool(&r, 0, ADMIN_USER_PROFILE_IS_ADMIN) ? "yes" : "no", store_text(&r, 0, ADMIN_USER_PROFILE_NAME),
	    store_text(&r, 0, ADMIN_USER_PROFILE_GROUPS));
	store_reply_free(&r);
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
	if (!strcmp(sub, "two-factor-off") && argc == 2 && argv[1][0] != '-')
		return cli_user_two_factor_off(argv[1]);
	if (!strcmp(sub, "set"))
		return user_set(argc - 1, argv + 1);
	user_usage();
	return 2;
}
