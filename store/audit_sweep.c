/*
 * AUDIT_RETENTION_DAYS: a thread of the store actor, with its own
 * connection, deletes audit rows older than the retention in batches of
 * 1000 (short transactions, no long lock), at start and then hourly. The
 * table's trigger (migrations/014) refuses every other DELETE: this one sets
 * dreamauth.audit_sweep for its transaction only.
 */
#include "store/audit.h"
#include "store/store_run.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SWEEP_BATCH 1000
#define SWEEP_INTERVAL_S 3600

long store_audit_sweep(PGconn *db, int days)
{
	char days_text[16];
	long total = 0;

	if (days <= 0)
		return 0;
	snprintf(days_text, sizeof(days_text), "%d", days);
	for (;;) {
		const struct store_value v[] = { STORE_V_TEXT(days_text) };
		PGresult *r = NULL;
		bool ok = store_begin(db) && db_exec(db, "SET LOCAL dreamauth.audit_sweep = 'on'", 0, NULL) &&
		    store_step(db,
		        "WITH d AS (DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log"
		        " WHERE at < now() - make_interval(days => $1::int) ORDER BY id LIMIT 1000) RETURNING 1)"
		        " SELECT count(*)::bigint AS n FROM d",
		        v, 1, &r);
		long n = ok && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (!store_commit(db, ok) || n < 0)
			return -1;
		total += n;
		if (n < SWEEP_BATCH)
			return total;
	}
}

static pthread_t sweeper;
static bool sweeper_running, sweeper_stop;
static pthread_mutex_t sweeper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweeper_wake = PTHREAD_COND_INITIALIZER;

/* Sleeps s seconds, or less when asked to stop: true to go on. */
static bool sweeper_sleep(int s)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&sweeper_lock);
	while (!sweeper_stop && pthread_cond_timedwait(&sweeper_wake, &sweeper_lock, &until) != ETIMEDOUT)
		;
	stop = sweeper_stop;
	pthread_mutex_unlock(&sweeper_lock);
	return !stop;
}

static void *sweeper_main(void *arg)
{
	PGconn *db = NULL;
	(void)arg;

	do {
		if (!db || PQstatus(db) != CONNECTION_OK) {
			if (db)
				PQfinish(db);
			db = db_connect(cfg.database_url, 0);
		}
		if (db && PQstatus(db) == CONNECTION_OK) {
			long n = store_audit_sweep(db, cfg.audit_retention_days);
			if (n > 0)
				log_info("audit: deleted %ld entries older than %d days", n, cfg.audit_retention_days);
			else if (n < 0)
				log_warnx("audit: the retention sweep failed; next try in an hour");
		}
	} while (sweeper_sleep(SWEEP_INTERVAL_S));
	if (db)
		PQfinish(db);
	db_prepared_forget();
	return NULL;
}

int store_audit_sweeper_start(void)
{
	if (cfg.audit_retention_days <= 0)
		return 0;
	if (pthread_create(&sweeper, NULL, sweeper_main, NULL) != 0)
		return -1;
	sweeper_running = true;
	return 0;
}

void store_audit_sweeper_stop(void)
{
	if (!sweeper_running)
		return;
	pthread_mutex_lock(&sweeper_lock);
	sweeper_stop = true;
	pthread_cond_signal(&sweeper_wake);
	pthread_mutex_unlock(&sweeper_lock);
	pthread_join(sweeper, NULL);
	sweeper_running = false;
}
