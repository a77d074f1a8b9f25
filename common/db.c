/*
 * PostgreSQL access over libpq: connect with bounded retry, parameterised
 * statements whose failures are logged by SQLSTATE and primary message only
 * (never parameters, never a password), and one reconnect on a lost link.
 */
#include "common/db.h"

#include <pthread.h>
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_sqlstate[6];

const char *db_last_sqlstate(void)
{
	return last_sqlstate;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Copy src into out with every occurrence of secret replaced by "***";
 * short secrets are left alone (they cannot be told apart from prose). */
static void redact(const char *src, const char *secret, char *out, size_t outlen)
{
	size_t n = 0, slen = secret ? strlen(secret) : 0;

	if (outlen == 0)
		return;
	while (*src && n + 1 < outlen) {
		if (slen >= 4 && strncmp(src, secret, slen) == 0) {
			for (const char *r = "***"; *r && n + 1 < outlen; r++)
				out[n++] = *r;
			src += slen;
			continue;
		}
		out[n++] = *src++;
	}
	out[n] = '\0';
	/* libpq messages end in a newline; the logger makes one line anyway. */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
}

/* Also hide "user:secret@" and "password=secret" when the URL could not be
 * parsed (so the password is unknown) and libpq quotes it back. */
static void redact_url_shapes(char *msg)
{
	char *p;

	for (p = strstr(msg, "://"); p; p = strstr(p + 3, "://")) {
		char *at = strchr(p + 3, '@'), *colon = strchr(p + 3, ':');
		char *end = p + 3 + strcspn(p + 3, "/?# ");
		if (at && colon && colon < at && at < end)
			memset(colon + 1, '*', (size_t)(at - colon - 1));
	}
	for (p = strstr(msg, "password="); p; p = strstr(p + 9, "password=")) {
		for (char *v = p + 9; *v && *v != ' ' && *v != '&'; v++)
			*v = '*';
	}
}

/* "host=... db=..." for logs; false if the URL does not parse. */
static bool describe_target(const char *url, char *out, size_t outlen, char **password)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = NULL, *dbname = NULL;

	*password = NULL;
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!o->val)
				continue;
			if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
				host = o->val;
			else if (strcmp(o->keyword, "dbname") == 0)
				dbname = o->val;
			else if (strcmp(o->keyword, "password") == 0)
				*password = strdup(o->val);
		}
	}
	snprintf(out, outlen, "host=%s db=%s", host ? host : "(default)", dbname ? dbname : "(default)");
	if (!opts)
		return false;
	PQconninfoFree(opts);
	return true;
}

/* Server NOTICEs ("relation already exists, skipping") go through our log
 * format instead of libpq's bare stderr line. */
static void notice_to_log(void *arg, const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	(void)arg;
	if (severity && strcmp(severity, "WARNING") == 0)
		log_warnx("database: %s", primary ? primary : "");
	else
		log_debug("database %s: %s", severity ? severity : "notice", primary ? primary : "");
}

static void set_statement_timeout(PGconn *conn)
{
	char ms[16];
	const char *params[] = { ms };
	PGresult *r;

	if (cfg.db_statement_timeout_ms <= 0)
		return;
	snprintf(ms, sizeof(ms), "%d", cfg.db_statement_timeout_ms);
	r = PQexecParams(conn, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		log_warnx("cannot set statement_timeout: %s", PQerrorMessage(conn));
	PQclear(r);
}

/* Outage logging: the first failure says so once, then one summary a
 * minute while it lasts, and the recovery once (a database outage under load
 * used to log two lines per request). */
static pthread_mutex_t outage_lock = PTHREAD_MUTEX_INITIALIZER;
static bool outage;
static long long outage_started, outage_reported;
static unsigned long outage_failures;

void db_note_reachable(bool reachable)
{
	long long now = now_ms();

	pthread_mutex_lock(&outage_lock);
	if (reachable && outage) {
		log_info("database reachable again after %.1f s (%lu failed attempts)",
		    (double)(now - outage_started) / 1000.0, outage_failures);
		outage = false;
	} else if (!reachable && !outage) {
		log_warnx("database unreachable; retrying with backoff");
		outage = true;
		outage_started = outage_reported = now;
		outage_failures = 1;
	} else if (!reachable) {
		outage_failures++;
		if (now - outage_reported >= 60000) {
			log_warnx("database still unreachable after %.0f s (%lu failed attempts)",
			    (double)(now - outage_started) / 1000.0, outage_failures);
			outage_reported = now;
		}
	}
	pthread_mutex_unlock(&outage_lock);
}

PGconn *db_connect(const char *url, int timeout_ms)
{
	/* expand_dbname lets "url" be a URI or key=value string. Values after it
	 * override the URL's, values before it are defaults the URL may override.
	 * Workers query synchronously, so a database that stops answering
	 * (failover, partition, a held lock) must not freeze an event loop for
	 * minutes: connects give up after 5 s, unacknowledged sends after 10 s,
	 * idle links are probed by keepalives, and statements are cancelled after
	 * DB_STATEMENT_TIMEOUT_MS (set after connecting rather than as a startup
	 * option, which PgBouncer refuses by default). */
	const char *keys[] = { "connect_timeout", "tcp_user_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", "fallback_application_name", NULL };
	const char *values[] = { "5", "10000", "1", "30", "10", "3", url, "dreamauth", NULL };
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	long delay = 100;
	char target[256], msg[512];
	char *password;
	int attempts = 0;

	/* A malformed URL will not get better by waiting. */
	if (!describe_target(url, target, sizeof(target), &password))
		deadline = 0;
	for (;;) {
		PGconn *conn = PQconnectdbParams(keys, values, 1);
		attempts++;
		if (conn && PQstatus(conn) == CONNECTION_OK) {
			PQsetNoticeReceiver(conn, notice_to_log, NULL);
			set_statement_timeout(conn);
			if (attempts > 1)
				log_info("database connected (%s) after %d attempts", target, attempts);
			if (password) {
				secure_wipe(password, strlen(password));
				free(password);
			}
			return conn;
		}
		redact(conn ? PQerrorMessage(conn) : "out of memory", password, msg, sizeof(msg));
		redact_url_shapes(msg);
		PQfinish(conn);
		if (now_ms() + delay > deadline) {
			/* A single attempt is a reconnect with its own backoff: counted, not logged each time. */
			if (timeout_ms > 0)
				log_errorx("database connection failed (%s): %s", target, msg);
			else
				log_debug("database connection failed (%s): %s", target, msg);
			break;
		}
		log_debug("database not reachable yet (%s): %s; retrying in %ld ms", target, msg, delay);
		sleep_ms(delay);
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
	if (password) {
		secure_wipe(password, strlen(password));
		free(password);
	}
	return NULL;
}

static void log_failure(PGconn *db, const PGresult *res, const char *sql, int nparams, const char *const *params)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[512], tmp[512];

	snprintf(last_sqlstate, sizeof(last_sqlstate), "%s", state ? state : "");
	snprintf(msg, sizeof(msg), "%s", primary ? primary : PQerrorMessage(db));
	/* Some messages quote the offending value ("invalid input syntax for
	 * type uuid: ..."); parameters may be secrets, so blank them out. */
	for (int i = 0; i < nparams; i++) {
		if (!params[i])
			continue;
		redact(msg, params[i], tmp, sizeof(tmp));
		memcpy(msg, tmp, sizeof(msg));
	}
	redact(msg, NULL, tmp, sizeof(tmp));
	/* Unique violations are routine (callers branch on them via
	 * db_last_sqlstate), so they do not deserve a warning. */
	if (state && strcmp(state, "23505") == 0)
		log_debug("query failed: %s [SQLSTATE %s] in: %.80s", tmp, state, sql);
	else
		log_warnx("query failed: %s [SQLSTATE %s] in: %.80s", tmp, state ? state : "none", sql);
}

PGresult *db_query(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	for (int attempt = 0;; attempt++) {
		/* A reset loses any open transaction; replaying the statement
		 * in autocommit would silently break atomicity, so only retry
		 * statements that ran outside a transaction. */
		PGTransactionStatusType before = PQtransactionStatus(db);
		PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
		ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			last_sqlstate[0] = '\0';
			return res;
		}
		if (attempt == 0 && PQstatus(db) == CONNECTION_BAD &&
		    (before == PQTRANS_IDLE || before == PQTRANS_UNKNOWN)) {
			PQclear(res);
			PQreset(db);
			if (PQstatus(db) == CONNECTION_OK) {
				set_statement_timeout(db);	/* a new session starts from defaults */
				continue;
			}
			db_note_reachable(false);
			snprintf(last_sqlstate, sizeof(last_sqlstate), "08006");
			return NULL;
		}
		log_failure(db, res, sql, nparams, params);
		PQclear(res);
		return NULL;
	}
}

/*
 * Prepared statements, per connection and thread: the store's statements are
 * large CTEs, and parsing and planning them again on every call was most of
 * PostgreSQL's time on the token endpoint. Keyed by the SQL text (a copy is
 * kept: callers may build the text in a reused buffer) and by the
 * connection's backend pid, so a reconnect (a new backend knows none of
 * them) starts afresh. Past PREPARED_MAX statements, the rest run unprepared.
 */
#define PREPARED_MAX 160

struct prepared_cache {
	PGconn *conn;
	int backend_pid;
	unsigned n;
	uint64_t hash[PREPARED_MAX];
	char *sql[PREPARED_MAX];
};

static _Thread_local struct prepared_cache prepared;

static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

void db_prepared_forget(void)
{
	for (unsigned i = 0; i < prepared.n; i++)
		free(prepared.sql[i]);
	memset(&prepared, 0, sizeof(prepared));
}

/* The statement's name ("s<index>"), preparing it on this connection first
 * if needed; false: run it unprepared. */
static bool prepared_name(PGconn *db, const char *sql, int nparams, char name[16])
{
	uint64_t h = sql_hash(sql);
	int pid = PQbackendPID(db);

	if (prepared.conn != db || prepared.backend_pid != pid) {
		db_prepared_forget();
		prepared.conn = db;
		prepared.backend_pid = pid;
	}
	for (unsigned i = 0; i < prepared.n; i++) {
		if (prepared.hash[i] == h && strcmp(prepared.sql[i], sql) == 0) {
			snprintf(name, 16, "s%u", i);
			return true;
		}
	}
	if (prepared.n == PREPARED_MAX || PQtransactionStatus(db) == PQTRANS_INERROR)
		return false;
	snprintf(name, 16, "s%u", prepared.n);
	PGresult *r = PQprepare(db, name, sql, nparams, NULL);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || !(prepared.sql[prepared.n] = strdup(sql)))
		return false;	/* the unprepared run reports the error */
	prepared.hash[prepared.n++] = h;
	return true;
}

PGresult *db_query_prepared(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	char name[16];

	if (PQstatus(db) != CONNECTION_OK || !prepared_name(db, sql, nparams, name))
		return db_query(db, sql, nparams, params);
	PGresult *res = PQexecPrepared(db, name, nparams, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		last_sqlstate[0] = '\0';
		return res;
	}
	if (PQstatus(db) == CONNECTION_BAD) {
		/* db_query's one reconnect and retry; the cache follows the new backend. */
		PQclear(res);
		return db_query(db, sql, nparams, params);
	}
	log_failure(db, res, sql, nparams, params);
	PQclear(res);
	return NULL;
}

bool db_exec(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_query(db, sql, nparams, params);
	PQclear(res);
	return res != NULL;
}

bool db_ping(PGconn *db)
{
	if (!db)
		return false;
	return db_exec(db, "SELECT 1", 0, NULL);
}
