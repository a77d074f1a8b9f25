/*
 * What a worker counts for GET /metrics, into its own slot of the shared
 * metrics table (shm/metrics.h): a few relaxed loads and stores, no lock.
 * metrics_self is set by worker_main; NULL (tests, the CLI) counts nothing.
 */
#ifndef DREAMAUTH_METRICS_HOOKS_H
#define DREAMAUTH_METRICS_HOOKS_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <event2/event.h>
#include "shm/metrics.h"

extern struct metrics_worker *metrics_self;

static inline uint64_t metrics_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* When the event loop woke up for what it is running now (its cached
 * time: no clock read), in wall-clock nanoseconds: a request's start. */
static inline uint64_t metrics_loop_time_ns(struct event_base *base)
{
	struct timeval tv;
	if (event_base_gettimeofday_cached(base, &tv) < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000u;
}

/* A response: its route id (workers/router.c), status, and the request's
 * start (metrics_loop_time_ns: since its bytes were read, parsing
 * included), or 0 for a request that never reached a handler (no latency
 * observed). One clock read per request, the reply's. */
static inline void metrics_http(int route, int status, uint64_t started_ns)
{
	if (!metrics_self)
		return;
	if (route < 0 || route >= METRICS_ROUTES)
		route = METRICS_ROUTE_OTHER;
	metrics_add(&metrics_self->requests[route][metrics_status_index(status)], 1);
	if (started_ns) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);	/* the clock libevent's cache follows */
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		metrics_observe(&metrics_self->duration[route], now > started_ns ? now - started_ns : 0);
	}
}

static inline void metrics_sign_in(const char *method, bool ok)
{
	if (metrics_self)
		metrics_add(&metrics_self->sign_ins[metrics_method_of(method)][ok ? 1 : 0], 1);
}

static inline void metrics_session_cache(bool hit)
{
	if (metrics_self)
		metrics_add(&metrics_self->session_cache[hit ? 1 : 0], 1);
}

/* An IPC call to an actor ended (answered, timed out or lost). */
static inline void metrics_ipc_done(int actor, uint64_t started_ns, int in_flight)
{
	if (!metrics_self || actor < 0 || actor >= METRICS_ACTORS)
		return;
	metrics_observe(&metrics_self->ipc[actor], metrics_now_ns() - started_ns);
	atomic_store_explicit(&metrics_self->ipc_in_flight[actor], in_flight, memory_order_relaxed);
}

static inline void metrics_ipc_started(int actor, int in_flight)
{
	if (metrics_self && actor >= 0 && actor < METRICS_ACTORS)
		atomic_store_explicit(&metrics_self->ipc_in_flight[actor], in_flight, memory_order_relaxed);
}

static inline void metrics_store_reply(int status)
{
	if (metrics_self && status >= 0 && status < METRICS_STORE_STATUSES)
		metrics_add(&metrics_self->store_replies[status], 1);
}
#endif
