/*
 * Counters and histograms for GET /metrics, in the shared region (shm.c):
 * one slot per worker, written only by that worker with relaxed atomic
 * loads and stores (a single writer needs no read-modify-write, so the hot
 * path takes no lock and no locked instruction), summed by whichever worker
 * answers a scrape. The master writes the process restarts. Counters live
 * as long as the region, so a restarted worker goes on counting in its slot
 * and every counter only grows.
 */
#ifndef DREAMAUTH_SHM_METRICS_H
#define DREAMAUTH_SHM_METRICS_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "shm/shm.h"

#define METRICS_ROUTES 64		/* route ids (workers/router.c); the last is "other" */
#define METRICS_ROUTE_OTHER (METRICS_ROUTES - 1)
#define METRICS_BUCKETS 14		/* finite buckets; [METRICS_BUCKETS] counts the rest (+Inf) */

/* Upper bounds of the latency buckets, in nanoseconds and as printed. */
extern const uint64_t metrics_bucket_ns[METRICS_BUCKETS];
extern const char *const metrics_bucket_text[METRICS_BUCKETS];

/* Response statuses with a series of their own; others count as "other". */
#define METRICS_STATUSES 23
extern const int metrics_status_codes[METRICS_STATUSES - 1];
int metrics_status_index(int status);

enum metrics_method { METRICS_METHOD_PASSWORD, METRICS_METHOD_PASSKEY, METRICS_METHOD_SIWE, METRICS_METHOD_EMAIL_OTP,
	METRICS_METHOD_OTHER,
	METRICS_METHODS };
extern const char *const metrics_method_names[METRICS_METHODS];
enum metrics_method metrics_method_of(const char *name);
/* A session's amr (RFC 8176 values we write: "pwd", "hwk", "eth", ...) ->
 * the sign-in method named in metrics and the audit log. */
const char *metrics_sign_in_method_of_amr(const char *amr);

enum metrics_actor { METRICS_SIGNER, METRICS_KDF, METRICS_STORE, METRICS_ACTORS };
extern const char *const metrics_actor_names[METRICS_ACTORS];

#define METRICS_STORE_STATUSES 8	/* enum store_status */
#define METRICS_ROLES 6			/* worker, signer, kdf, store, postgres, mailer (master.c's roles) */
extern const char *const metrics_role_names[METRICS_ROLES];

struct metrics_histogram {
	_Atomic uint64_t bucket[METRICS_BUCKETS + 1];	/* not cumulative; the last is above every bound */
	_Atomic uint64_t sum_ns;
};

struct metrics_worker {
	_Atomic uint64_t requests[METRICS_ROUTES][METRICS_STATUSES];
	struct metrics_histogram duration[METRICS_ROUTES];
	_Atomic uint64_t sign_ins[METRICS_METHODS][2];		/* [method][ok] */
	_Atomic uint64_t session_cache[2];			/* [hit] */
	struct metrics_histogram ipc[METRICS_ACTORS];		/* a call's round trip, answered or not */
	_Atomic int64_t ipc_in_flight[METRICS_ACTORS];		/* a gauge: calls awaiting an answer */
	_Atomic uint64_t store_replies[METRICS_STORE_STATUSES];	/* by status, as the worker saw them */
} __attribute__((aligned(64)));

struct metrics {
	struct metrics_worker workers[SHM_MAX_WORKERS];
	_Atomic uint64_t restarts[METRICS_ROLES];
};

/* ---- writing (one writer per slot) ---- */

static inline void metrics_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void metrics_observe(struct metrics_histogram *h, uint64_t ns)
{
	int b = 0;
	while (b < METRICS_BUCKETS && ns > metrics_bucket_ns[b])
		b++;
	metrics_add(&h->bucket[b], 1);
	metrics_add(&h->sum_ns, ns);
}

/* ---- reading ---- */

/* The sum over worker slots 0..n-1 into out (zeroed first); gauges only
 * over the slots whose alive[i] is true (a dead worker's calls are gone). */
void metrics_sum(const struct metrics *m, int n, const bool *alive, struct metrics_worker *out);
/* Cumulative count of histogram h up to bucket b (b = METRICS_BUCKETS: all). */
uint64_t metrics_histogram_cumulative(const struct metrics_histogram *h, int b);
#endif
