/*
 * Embedded PostgreSQL: a private cluster in DATA_DIR/pg reachable only over
 * a unix socket in DATA_DIR/run, with scram password auth and a generated
 * password kept in DATA_DIR/pg.password (0600). initdb and postgres refuse
 * to run as root, so when we are root they run as the "postgres" user via
 * fork + setgroups/setgid/setuid + execv (no shell, nothing to quote).
 *
 * The superuser (postgres) is for this file only: pg_embedded_provision
 * creates an unprivileged login role APP_ROLE owning the database and its
 * objects, with its own generated password in DATA_DIR/pg.app_password
 * (0600), and hands back a URL for that role, which is what every other
 * process (workers, signer, migrations, CLI) connects with. A compromised
 * worker thus cannot COPY ... TO PROGRAM or read other files as postgres.
 *
 * The URLs built here contain passwords: never log them.
 */
#include "master/pg_embedded.h"
#include "common/db.h"
#include "common/log.h"
#include "common/secure.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_ROOT "/usr/lib/postgresql"
#define SOCKET_NAME "/.s.PGSQL.5432"
#define UNIX_PATH_LIMIT 108	/* sizeof(sockaddr_un.sun_path) */
#define APP_ROLE "dreamauth"	/* an SQL identifier: no quoting needed */
#define APP_PASSWORD_FILE "pg.app_password"
#define APP_DATABASE "postgres"	/* where the schema has always lived */

struct run_as {
	bool drop;	/* we are root: become uid/gid first */
	uid_t uid;
	gid_t gid;
};

static int postgres_user(struct run_as *who)
{
	struct passwd *pw;

	who->drop = geteuid() == 0;
	who->uid = geteuid();
	who->gid = getegid();
	if (!who->drop)
		return 0;
	pw = getpwnam("postgres");
	if (!pw) {
		log_errorx("embedded PostgreSQL: running as root needs a \"postgres\" user (initdb refuses root)");
		return -1;
	}
	who->uid = pw->pw_uid;
	who->gid = pw->pw_gid;
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		fatal("asprintf");
	return p;
}

/* Absolute data dir, created if missing. As root the postgres user must be
 * able to traverse it: o+x without o+r lets it pass but not list. */
static char *absolute_data_dir(const char *data_dir, bool root)
{
	char resolved[PATH_MAX];
	char *p;

	if (mkdir(data_dir, root ? 0711 : 0700) != 0 && errno != EEXIST) {
		log_warn("embedded PostgreSQL: mkdir %s", data_dir);
		return NULL;
	}
	if (!realpath(data_dir, resolved)) {
		log_warn("embedded PostgreSQL: realpath %s", data_dir);
		return NULL;
	}
	if (!(p = strdup(resolved)))
		fatal("strdup");
	return p;
}

static int make_owned_dir(const char *path, mode_t mode, const struct run_as *who)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		log_warn("embedded PostgreSQL: mkdir %s", path);
		return -1;
	}
	if (who->drop && chown(path, who->uid, who->gid) != 0) {
		log_warn("embedded PostgreSQL: chown %s", path);
		return -1;
	}
	/* postgres insists on 0700/0750 for its data dir; mkdir obeys umask. */
	if (chmod(path, mode) != 0) {
		log_warn("embedded PostgreSQL: chmod %s", path);
		return -1;
	}
	return 0;
}

/* Child side of fork: become the postgres user, reset what exec would
 * otherwise inherit, and check the directory is reachable. Returns only on
 * failure (the caller then _exits). */
static void child_setup(const struct run_as *who, const char *must_reach)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (who->drop) {
		if (setgroups(0, NULL) != 0 || setgid(who->gid) != 0 || setuid(who->uid) != 0) {
			fprintf(stderr, "embedded PostgreSQL: cannot switch to the postgres user: %s\n", strerror(errno));
			_exit(126);
		}
		if (setuid(0) == 0)
			_exit(126);	/* the drop did not stick */
	}
	if (chdir(must_reach) != 0) {
		fprintf(stderr, "embedded PostgreSQL: %s is not reachable as uid %d: %s "
		    "(every parent directory must be searchable by the postgres user)\n",
		    must_reach, (int)getuid(), strerror(errno));
		_exit(126);
	}
}

static void close_inherited_fds(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep)
				close(fd);
		return;
	}
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (fd > 2 && fd != keep && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

static int wait_child(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_warn("embedded PostgreSQL: waitpid %s", what);
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_errorx("embedded PostgreSQL: %s exited with status %d", what, WEXITSTATUS(status));
	else
		log_errorx("embedded PostgreSQL: %s killed by signal %d", what, WTERMSIG(status));
	return -1;
}

static int run_initdb(const char *pg_bin, const char *pg_dir, const struct run_as *who, const char *password)
{
	char *initdb = path_join(pg_bin, "initdb");
	pid_t pid;

	log_info("embedded PostgreSQL: first run, initdb %s", pg_dir);
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		free(initdb);
		return -1;
	}
	if (pid == 0) {
		int p[2];
		char pwfile[32], dir_arg[PATH_MAX + 8];

		child_setup(who, pg_dir);
		/* The password reaches initdb through a pipe created after the
		 * uid switch (so postgres may open /dev/fd/N): it never
		 * touches the disk beyond our own 0600 file. */
		if (pipe(p) != 0 || write(p[1], password, strlen(password)) != (ssize_t)strlen(password) ||
		    write(p[1], "\n", 1) != 1) {
			fprintf(stderr, "embedded PostgreSQL: password pipe: %s\n", strerror(errno));
			_exit(126);
		}
		close(p[1]);
		close_inherited_fds(p[0]);
		snprintf(pwfile, sizeof(pwfile), "--pwfile=/dev/fd/%d", p[0]);
		snprintf(dir_arg, sizeof(dir_arg), "%s", pg_dir);
		/* argv[0] is the full path: initdb finds postgres beside itself
		 * through it, and PATH need not hold PG_BIN (a container's does
		 * not: "could not find a "initdb" to execute"). */
		char *const argv[] = {
			initdb, "-D", dir_arg, "-U", "postgres", pwfile,
			"--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
			"-E", "UTF8", "--locale=C", "--no-instructions", NULL
		};
		execv(initdb, argv);
		fprintf(stderr, "embedded PostgreSQL: exec %s: %s\n", initdb, strerror(errno));
		_exit(127);
	}
	free(initdb);
	return wait_child(pid, "initdb");
}

/* Write via a temporary and rename, so a crash never leaves half a file. */
static int write_password_file(const char *path, const char *password)
{
	char *tmp;
	int fd, rc = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		fatal("asprintf");
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("embedded PostgreSQL: create %s", tmp);
		free(tmp);
		return -1;
	}
	if (fchmod(fd, 0600) == 0 && write(fd, password, strlen(password)) == (ssize_t)strlen(password) &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0)
		rc = 0;
	else
		log_warn("embedded PostgreSQL: write %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0) {
		log_warn("embedded PostgreSQL: rename %s", tmp);
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int read_password_file(const char *path, char out[TOKEN_STR_LEN])
{
	char buf[TOKEN_STR_LEN + 8];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		log_warn("embedded PostgreSQL: cluster exists but cannot open %s", path);
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		log_warnx("embedded PostgreSQL: %s was readable by others; resetting it to 0600", path);
		if (fchmod(fd, 0600) != 0)
			log_warn("fchmod %s", path);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		log_errorx("embedded PostgreSQL: %s is empty", path);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) != TOKEN_STR_LEN - 1) {
		log_errorx("embedded PostgreSQL: %s does not hold a generated password", path);
		secure_wipe(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, TOKEN_STR_LEN);
	secure_wipe(buf, sizeof(buf));
	return 0;
}

/* RFC 3986 unreserved characters stay; '/' is allowed in the query part. */
static void percent_encode(const char *in, bool keep_slash, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
}

/* postgresql://user:password@/APP_DATABASE?host=run_dir (malloc'd). */
static char *socket_url(const char *user, const char *password, const char *run_dir)
{
	char *enc_pw = malloc(3 * strlen(password) + 1), *enc_dir = malloc(3 * strlen(run_dir) + 1), *url;

	if (!enc_pw || !enc_dir)
		fatal("malloc");
	percent_encode(password, false, enc_pw);
	percent_encode(run_dir, true, enc_dir);
	if (asprintf(&url, "postgresql://%s:%s@/" APP_DATABASE "?host=%s", user, enc_pw, enc_dir) < 0)
		fatal("asprintf");
	secure_wipe(enc_pw, strlen(enc_pw));
	free(enc_pw);
	free(enc_dir);
	return url;
}

/* The cluster's layout under DATA_DIR, shared by prepare and spawn: dir
 * itself, dir/pg (the cluster) and dir/run (its socket), all owned by the
 * caller; who is the postgres user. -1: already logged, nothing allocated. */
static int cluster_dirs(const char *data_dir, struct run_as *who, char **dir, char **pg_dir, char **run_dir)
{
	if (postgres_user(who) < 0)
		return -1;
	if (!(*dir = absolute_data_dir(data_dir, who->drop)))
		return -1;
	*pg_dir = path_join(*dir, "pg");
	*run_dir = path_join(*dir, "run");
	return 0;
}

int pg_embedded_prepare(const char *data_dir, const char *pg_bin, char **url)
{
	struct run_as who;
	char password[TOKEN_STR_LEN];
	char *dir = NULL, *pg_dir = NULL, *run_dir = NULL, *pw_path = NULL, *version = NULL;
	struct stat st;
	int rc = -1;

	*url = NULL;
	if (cluster_dirs(data_dir, &who, &dir, &pg_dir, &run_dir) < 0)
		return -1;
	pw_path = path_join(dir, "pg.password");
	version = path_join(pg_dir, "PG_VERSION");

	if (strlen(run_dir) + strlen(SOCKET_NAME) >= UNIX_PATH_LIMIT) {
		log_errorx("embedded PostgreSQL: socket path %s%s is too long for a unix socket; use a shorter DATA_DIR",
		    run_dir, SOCKET_NAME);
		goto out;
	}
	if (make_owned_dir(run_dir, 0755, &who) < 0)
		goto out;

	if (stat(version, &st) == 0) {
		if (read_password_file(pw_path, password) < 0)
			goto out;
		log_info("embedded PostgreSQL: using existing cluster %s", pg_dir);
	} else {
		/* Password first: a crash after initdb but before writing it
		 * would leave a cluster nobody can log into. Without
		 * PG_VERSION any earlier password is unused, so replace it. */
		secure_token(password);
		if (write_password_file(pw_path, password) < 0)
			goto out;
		if (make_owned_dir(pg_dir, 0700, &who) < 0)
			goto out;
		if (run_initdb(pg_bin, pg_dir, &who, password) < 0) {
			log_errorx("embedded PostgreSQL: initdb failed; if %s is not empty, remove it and retry", pg_dir);
			goto out;
		}
	}

	*url = socket_url("postgres", password, run_dir);
	rc = 0;
out:
	secure_wipe(password, sizeof(password));
	free(dir);
	free(pg_dir);
	free(run_dir);
	free(pw_path);
	free(version);
	return rc;
}

pid_t pg_embedded_spawn(const char *data_dir, const char *pg_bin)
{
	struct run_as who;
	char *dir, *pg_dir, *run_dir, *postgres;
	pid_t parent = getpid(), pid;

	if (cluster_dirs(data_dir, &who, &dir, &pg_dir, &run_dir) < 0)
		return -1;
	postgres = path_join(pg_bin, "postgres");
	pid = fork();
	if (pid < 0)
		log_warn("embedded PostgreSQL: fork");
	if (pid == 0) {
		child_setup(&who, pg_dir);
		/* If the master dies without stopping us, shut down fast rather
		 * than keep the data directory locked (set after the uid
		 * switch, which clears it). */
		prctl(PR_SET_PDEATHSIG, SIGINT);
		if (getppid() != parent)
			_exit(0);
		close_inherited_fds(-1);
		char *const argv[] = {
			postgres, "-D", pg_dir, "-k", run_dir,
			"-c", "listen_addresses=", "-c", "unix_socket_permissions=0777", NULL
		};
		execv(postgres, argv);
		fprintf(stderr, "embedded PostgreSQL: exec %s: %s\n", postgres, strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		log_info("embedded PostgreSQL: started pid %d (socket in %s)", (int)pid, run_dir);
	free(dir);
	free(pg_dir);
	free(run_dir);
	free(postgres);
	return pid;
}

int pg_embedded_wait_ready(const char *url, int timeout_ms)
{
	struct timespec start, now, pause = { 0, 100 * 1000000L };

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		PGPing ping = PQping(url);
		long elapsed;

		if (ping == PQPING_OK)
			return 0;
		if (ping == PQPING_NO_ATTEMPT) {
			log_errorx("embedded PostgreSQL: connection URL is invalid");
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms) {
			log_errorx("embedded PostgreSQL: not ready after %d ms", timeout_ms);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

/* The app role's password: generated and stored on first use, which is also
 * the first start of a data dir made by a version without the role. */
static int app_password(const char *dir, char out[TOKEN_STR_LEN])
{
	char *path = path_join(dir, APP_PASSWORD_FILE);
	int rc;

	if (access(path, F_OK) == 0) {
		rc = read_password_file(path, out);
	} else if (errno != ENOENT) {
		log_warn("embedded PostgreSQL: %s", path);
		rc = -1;
	} else {
		secure_token(out);
		rc = write_password_file(path, out);
	}
	free(path);
	return rc;
}

/* Idempotent, in one transaction: the role exists, unprivileged, with this
 * password; it owns the database, the public schema and everything in it
 * (objects an older version created as postgres, extension members aside).
 * Sequences owned by a column and triggers follow their table. */
static const char create_role_sql[] =
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" APP_ROLE "') THEN"
    " CREATE ROLE " APP_ROLE "; END IF; END $$";
#define ALTER_ROLE_SQL "ALTER ROLE " APP_ROLE " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION" \
    " NOBYPASSRLS NOINHERIT CONNECTION LIMIT -1 PASSWORD %s"
static const char ownership_sql[] =
    "ALTER DATABASE " APP_DATABASE " OWNER TO " APP_ROLE ";"
    "ALTER SCHEMA public OWNER TO " APP_ROLE ";"
    "DO $$ DECLARE r record; BEGIN"
    " FOR r IN SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c"
    "  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    "  AND c.relowner <> '" APP_ROLE "'::regrole AND NOT EXISTS (SELECT FROM pg_depend d"
    "  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') LOOP"
    "  EXECUTE format('ALTER %s %s OWNER TO " APP_ROLE "', CASE r.relkind WHEN 'v' THEN 'VIEW'"
    "   WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.obj);"
    " END LOOP;"
    " FOR r IN SELECT c.oid::regclass AS obj FROM pg_class c"
    "  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'"
    "  AND c.relowner <> '" APP_ROLE "'::regrole AND NOT EXISTS (SELECT FROM pg_depend d"
    "  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') LOOP"
    "  EXECUTE format('ALTER SEQUENCE %s OWNER TO " APP_ROLE "', r.obj);"
    " END LOOP;"
    " FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p"
    "  WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> '" APP_ROLE "'::regrole"
    "  AND NOT EXISTS (SELECT FROM pg_depend d"
    "  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP"
    "  EXECUTE format('ALTER ROUTINE %s OWNER TO " APP_ROLE "', r.obj);"
    " END LOOP;"
    " FOR r IN SELECT t.oid::regtype AS obj, t.typtype FROM pg_type t"
    "  WHERE t.typnamespace = 'public'::regnamespace AND t.typowner <> '" APP_ROLE "'::regrole"
    "  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND"
    "   (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))"
    "  AND NOT EXISTS (SELECT FROM pg_depend d"
    "  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') LOOP"
    "  EXECUTE format('ALTER %s %s OWNER TO " APP_ROLE "',"
    "   CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.obj);"
    " END LOOP;"
    " END $$";

static bool exec_ok(PGconn *db, const char *sql, const char *what)
{
	PGresult *res = PQexec(db, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_errorx("embedded PostgreSQL: %s: %s", what, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* As the superuser: run the statements above with the role's SCRAM verifier (the
 * plain password never reaches the server, nor its logs). */
static int provision_role(const char *superuser_url, const char *password)
{
	PGconn *db = db_connect(superuser_url, 5000);
	char *verifier = NULL, *literal = NULL, *sql = NULL;
	int rc = -1;

	if (!db)
		return -1;
	if (!(verifier = PQencryptPasswordConn(db, password, APP_ROLE, "scram-sha-256"))) {
		log_errorx("embedded PostgreSQL: cannot hash the %s password: %s", APP_ROLE, PQerrorMessage(db));
		goto out;
	}
	if (!(literal = PQescapeLiteral(db, verifier, strlen(verifier))))
		goto out;
	if (asprintf(&sql, ALTER_ROLE_SQL, literal) < 0)
		fatal("asprintf");
	if (exec_ok(db, "BEGIN", "BEGIN") && exec_ok(db, create_role_sql, "creating the " APP_ROLE " role") &&
	    exec_ok(db, sql, "setting the " APP_ROLE " role's password") &&
	    exec_ok(db, ownership_sql, "giving the " APP_ROLE " role its objects") && exec_ok(db, "COMMIT", "COMMIT"))
		rc = 0;
out:
	free(sql);
	PQfreemem(literal);
	PQfreemem(verifier);
	PQfinish(db);
	return rc;
}

/* Belt and braces: the URL we hand out really is not a superuser's. */
static int check_unprivileged(const char *url)
{
	PGconn *db = db_connect(url, 5000);
	PGresult *res;
	int rc = -1;

	if (!db)
		return -1;
	res = PQexec(db, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "f"))
		rc = 0;
	else
		log_errorx("embedded PostgreSQL: the %s role is a superuser or unreadable; refusing to use it", APP_ROLE);
	PQclear(res);
	PQfinish(db);
	return rc;
}

int pg_embedded_provision(const char *data_dir, char **url)
{
	struct run_as who;
	char password[TOKEN_STR_LEN];
	char *dir, *pg_dir, *run_dir, *app_url = NULL;
	int rc = -1;

	if (cluster_dirs(data_dir, &who, &dir, &pg_dir, &run_dir) < 0)
		return -1;
	if (app_password(dir, password) < 0 || provision_role(*url, password) < 0)
		goto out;
	app_url = socket_url(APP_ROLE, password, run_dir);
	if (check_unprivileged(app_url) < 0)
		goto out;
	secure_wipe(*url, strlen(*url));
	free(*url);
	*url = app_url;
	app_url = NULL;
	rc = 0;
out:
	if (app_url) {
		secure_wipe(app_url, strlen(app_url));
		free(app_url);
	}
	secure_wipe(password, sizeof(password));
	free(dir);
	free(pg_dir);
	free(run_dir);
	return rc;
}

/* "15" -> 15, "9.6" -> 906; -1 if not a version directory name. */
static long version_rank(const char *name)
{
	char *end;
	long major, minor = 0;

	if (!isdigit((unsigned char)name[0]))
		return -1;
	major = strtol(name, &end, 10);
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		minor = strtol(end + 1, &end, 10);
	}
	if (*end || major > 100000 || minor > 99)
		return -1;
	return major * 100 + minor;
}

char *pg_embedded_find_bin(void)
{
	DIR *d = opendir(PG_ROOT);
	struct dirent *e;
	long best_rank = -1;
	char *best = NULL;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		long rank = version_rank(e->d_name);
		char *bin, *postgres;

		if (rank <= best_rank)
			continue;
		if (asprintf(&bin, "%s/%s/bin", PG_ROOT, e->d_name) < 0)
			fatal("asprintf");
		postgres = path_join(bin, "postgres");
		if (access(postgres, X_OK) == 0) {
			free(best);
			best = bin;
			best_rank = rank;
		} else {
			free(bin);
		}
		free(postgres);
	}
	closedir(d);
	return best;
}
