/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4) of the
 * counters every worker keeps in its slot of the shared region
 * (shm/metrics.h), summed here: a scrape reads shared memory and asks no
 * other process anything.
 *
 * Open to the networks in METRICS_ALLOW (the client's address as the
 * server sees it: with TRUST_PROXY, X-Forwarded-For's), else to
 * "Authorization: Bearer <METRICS_TOKEN>" (compared in constant time); 401
 * when a token would do, 403 when no token is configured.
 */
#include "workers/handlers.h"
#include "workers/metrics_hooks.h"
#include "workers/router.h"
#include "workers/worker_ctx.h"
#include "common/config.h"
#include "common/secure.h"
#include "proto/store_wire.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DREAMAUTH_BUILD_VERSION "0.1.0"

struct metrics_worker *metrics_self;

/* Bearer METRICS_TOKEN: both sides hashed first, so the comparison takes
 * the same time whatever the length of what was sent. */
static bool token_ok(const struct http_exchange *ex)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	uint8_t want[SHA256_LEN], got[SHA256_LEN];

	if (!cfg.metrics_token || !auth || auth->len <= 7 || strncasecmp(auth->p, "Bearer ", 7) != 0)
		return false;
	secure_sha256(cfg.metrics_token, strlen(cfg.metrics_token), want);
	secure_sha256(auth->p + 7, auth->len - 7, got);
	return secure_equal(want, got, SHA256_LEN);
}

static void family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void seconds(struct evbuffer *b, uint64_t ns)
{
	evbuffer_add_printf(b, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
}

/* name_bucket{labels,le=...}, name_sum, name_count; labels like
 * route="/x" (no trailing comma). */
static void histogram(struct evbuffer *b, const char *name, const char *labels, const struct metrics_histogram *h)
{
	for (int i = 0; i < METRICS_BUCKETS; i++)
		evbuffer_add_printf(b, "%s_bucket{%s,le=\"%s\"} %" PRIu64 "\n", name, labels, metrics_bucket_text[i],
		    metrics_histogram_cumulative(h, i));
	uint64_t count = metrics_histogram_cumulative(h, METRICS_BUCKETS);
	evbuffer_add_printf(b, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n%s_sum{%s} ", name, labels, count, name, labels);
	seconds(b, h->sum_ns);
	evbuffer_add_printf(b, "\n%s_count{%s} %" PRIu64 "\n", name, labels, count);
}

static void http_series(struct evbuffer *b, const struct metrics_worker *s)
{
	char labels[160];

	family(b, "dreamauth_http_requests_total", "counter", "HTTP responses by route pattern and status.");
	for (int r = 0; r < METRICS_ROUTES; r++) {
		const char *route = router_route_name(r);
		for (int i = 0; route && i < METRICS_STATUSES; i++) {
			if (!s->requests[r][i])
				continue;
			char status[8];
			if (i < METRICS_STATUSES - 1)
				snprintf(status, sizeof(status), "%d", metrics_status_codes[i]);
			else
				snprintf(status, sizeof(status), "other");
			evbuffer_add_printf(b, "dreamauth_http_requests_total{route=\"%s\",status=\"%s\"} %" PRIu64 "\n", route,
			    status, (uint64_t)s->requests[r][i]);
		}
	}
	family(b, "dreamauth_http_request_duration_seconds", "histogram",
	    "Time from a complete request to its response, by route pattern.");
	for (int r = 0; r < METRICS_ROUTES; r++) {
		const char *route = router_route_name(r);
		if (!route || !metrics_histogram_cumulative(&s->duration[r], METRICS_BUCKETS))
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", route);
		histogram(b, "dreamauth_http_request_duration_seconds", labels, &s->duration[r]);
	}
}

static void auth_series(struct evbuffer *b, const struct metrics_worker *s)
{
	family(b, "dreamauth_sign_ins_total", "counter", "Sign-ins by method and result.");
	for (int m = 0; m < METRICS_METHODS; m++)
		for (int ok = 1; ok >= 0; ok--)
			evbuffer_add_printf(b, "dreamauth_sign_ins_total{method=\"%s\",result=\"%s\"} %" PRIu64 "\n",
			    metrics_method_names[m], ok ? "success" : "failure", (uint64_t)s->sign_ins[m][ok]);
	family(b, "dreamauth_session_cache_hits_total", "counter",
	    "Session lookups answered from shared memory (sessions and known-unknown tokens).");
	evbuffer_add_printf(b, "dreamauth_session_cache_hits_total %" PRIu64 "\n", (uint64_t)s->session_cache[1]);
	family(b, "dreamauth_session_cache_misses_total", "counter", "Session lookups that asked the store.");
	evbuffer_add_printf(b, "dreamauth_session_cache_misses_total %" PRIu64 "\n", (uint64_t)s->session_cache[0]);
}

static void actor_series(struct evbuffer *b, const struct metrics_worker *s)
{
	static const char *const store_kinds[METRICS_STORE_STATUSES] = { "ok", "conflict", "error", "busy",
		"unavailable", "refused", "timeout", "too_large" };
	char labels[64];

	family(b, "dreamauth_queue_depth", "gauge", "Requests the workers await from each actor (signer, kdf, store).");
	for (int a = 0; a < METRICS_ACTORS; a++)
		evbuffer_add_printf(b, "dreamauth_queue_depth{actor=\"%s\"} %" PRId64 "\n", metrics_actor_names[a],
		    (int64_t)s->ipc_in_flight[a]);
	family(b, "dreamauth_actor_request_duration_seconds", "histogram",
	    "Round trip of a worker's request to an actor, measured in the worker (timeouts included).");
	for (int a = 0; a < METRICS_ACTORS; a++) {
		snprintf(labels, sizeof(labels), "actor=\"%s\"", metrics_actor_names[a]);
		histogram(b, "dreamauth_actor_request_duration_seconds", labels, &s->ipc[a]);
	}
	family(b, "dreamauth_store_errors_total", "counter",
	    "Store answers that were not a result, by kind (timeout: the deadline passed).");
	for (int i = STORE_ERROR; i < METRICS_STORE_STATUSES; i++)
		evbuffer_add_printf(b, "dreamauth_store_errors_total{kind=\"%s\"} %" PRIu64 "\n", store_kinds[i],
		    (uint64_t)s->store_replies[i]);
}

static void process_series(struct evbuffer *b, const struct shm_region *shm)
{
	family(b, "dreamauth_process_restarts_total", "counter", "Child processes restarted by the master, by role.");
	for (int r = 0; r < METRICS_ROLES; r++)
		evbuffer_add_printf(b, "dreamauth_process_restarts_total{role=\"%s\"} %" PRIu64 "\n", metrics_role_names[r],
		    (uint64_t)atomic_load(&shm->metrics->restarts[r]));
	family(b, "dreamauth_workers_ready", "gauge", "HTTP workers serving.");
	evbuffer_add_printf(b, "dreamauth_workers_ready %d\n", shm_workers_ready(shm));
	family(b, "dreamauth_process_start_time_seconds", "gauge", "When the master started, in Unix seconds.");
	evbuffer_add_printf(b, "dreamauth_process_start_time_seconds %" PRId64 "\n",
	    (int64_t)atomic_load(&shm->status->started_at));
	family(b, "dreamauth_build_info", "gauge", "The running version (always 1).");
	evbuffer_add_printf(b, "dreamauth_build_info{version=\"%s\"} 1\n", DREAMAUTH_BUILD_VERSION);
}

void handle_metrics(struct http_exchange *ex)
{
	static struct metrics_worker sum;	/* 20 KiB: not on the stack */
	bool alive[SHM_MAX_WORKERS];
	const struct shm_region *shm = worker->shm;
	int n = atomic_load(&shm->status->workers_configured);

	if (!cidr_list_contains(&cfg.metrics_allow, ex->client_ip) && !token_ok(ex)) {
		if (cfg.metrics_token) {
			http_reply_header(ex, "WWW-Authenticate", "Bearer realm=\"metrics\"");
			http_reply_error(ex, 401, "unauthorized", "a Bearer token is required for /metrics from this address");
		} else {
			http_reply_error(ex, 403, "forbidden", "/metrics is not open to this address (METRICS_ALLOW)");
		}
		return;
	}
	if (n > SHM_MAX_WORKERS)
		n = SHM_MAX_WORKERS;
	for (int i = 0; i < n; i++)
		alive[i] = atomic_load(&shm->status->worker_pid[i]) != 0;
	metrics_sum(shm->metrics, n, alive, &sum);

	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	http_series(b, &sum);
	auth_series(b, &sum);
	actor_series(b, &sum);
	process_series(b, shm);
	size_t len = evbuffer_get_length(b);
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply(ex, 200, "text/plain; version=0.0.4; charset=utf-8", (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}
