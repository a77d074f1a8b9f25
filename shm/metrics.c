/* The metrics tables' constants and their summation (see metrics.h). */
#include "shm/metrics.h"

#include <string.h>

const uint64_t metrics_bucket_ns[METRICS_BUCKETS] = { 500000ull, 1000000ull, 2500000ull, 5000000ull, 10000000ull,
	25000000ull, 50000000ull, 100000000ull, 250000000ull, 500000000ull, 1000000000ull, 2500000000ull,
	5000000000ull, 10000000000ull };
const char *const metrics_bucket_text[METRICS_BUCKETS] = { "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };

const int metrics_status_codes[METRICS_STATUSES - 1] = { 200, 201, 204, 301, 302, 303, 304, 307, 400, 401, 403, 404,
	405, 409, 413, 415, 429, 431, 500, 502, 503, 504 };

int metrics_status_index(int status)
{
	for (int i = 0; i < METRICS_STATUSES - 1; i++)
		if (metrics_status_codes[i] == status)
			return i;
	return METRICS_STATUSES - 1;
}

const char *const metrics_method_names[METRICS_METHODS] = { "password", "passkey", "siwe", "email_otp", "other" };

enum metrics_method metrics_method_of(const char *name)
{
	for (int i = 0; i < METRICS_METHOD_OTHER; i++)
		if (strcmp(metrics_method_names[i], name) == 0)
			return (enum metrics_method)i;
	return METRICS_METHOD_OTHER;
}

const char *metrics_sign_in_method_of_amr(const char *amr)
{
	if (strstr(amr, "eth"))
		return "siwe";
	if (strstr(amr, "pwd"))
		return "password";	/* maybe with a passkey as second factor (the amr says) */
	/* An emailed code as the first factor (workers/auth_email.c): "otp"
	 * first; a TOTP second factor comes after the first factor's word. */
	if (!strncmp(amr, "otp", 3) && (amr[3] == '\0' || amr[3] == ','))
		return "email_otp";
	if (strstr(amr, "hwk") || strstr(amr, "swk"))
		return "passkey";
	return "other";
}

const char *const metrics_actor_names[METRICS_ACTORS] = { "signer", "kdf", "store" };
const char *const metrics_role_names[METRICS_ROLES] = { "worker", "signer", "kdf", "store", "postgres", "mailer" };

static void add_histogram(struct metrics_histogram *to, const struct metrics_histogram *from)
{
	for (int b = 0; b <= METRICS_BUCKETS; b++)
		to->bucket[b] += atomic_load_explicit(&from->bucket[b], memory_order_relaxed);
	to->sum_ns += atomic_load_explicit(&from->sum_ns, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_sum(const struct metrics *m, int n, const bool *alive, struct metrics_worker *out)
{
	memset(out, 0, sizeof(*out));
	if (n > SHM_MAX_WORKERS)
		n = SHM_MAX_WORKERS;
	for (int w = 0; w < n; w++) {
		const struct metrics_worker *s = &m->workers[w];
		for (int r = 0; r < METRICS_ROUTES; r++) {
			for (int i = 0; i < METRICS_STATUSES; i++)
				out->requests[r][i] += load(&s->requests[r][i]);
			add_histogram(&out->duration[r], &s->duration[r]);
		}
		for (int i = 0; i < METRICS_METHODS; i++)
			for (int ok = 0; ok < 2; ok++)
				out->sign_ins[i][ok] += load(&s->sign_ins[i][ok]);
		for (int i = 0; i < 2; i++)
			out->session_cache[i] += load(&s->session_cache[i]);
		for (int a = 0; a < METRICS_ACTORS; a++) {
			add_histogram(&out->ipc[a], &s->ipc[a]);
			if (alive[w])
				out->ipc_in_flight[a] += atomic_load_explicit(&s->ipc_in_flight[a], memory_order_relaxed);
		}
		for (int i = 0; i < METRICS_STORE_STATUSES; i++)
			out->store_replies[i] += load(&s->store_replies[i]);
	}
}

uint64_t metrics_histogram_cumulative(const struct metrics_histogram *h, int b)
{
	uint64_t n = 0;
	for (int i = 0; i <= b && i <= METRICS_BUCKETS; i++)
		n += load(&h->bucket[i]);
	return n;
}
