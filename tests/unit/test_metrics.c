/* shm/metrics.c: per-worker slots summed at scrape time, histogram
 * buckets, status and method mapping, in a real shared region with
 * writers in child processes. */
#include "shm/metrics.h"
#include "shm/shm.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void maps_labels(void)
{
	CHECK_EQ_INT(metrics_status_codes[metrics_status_index(200)], 200);
	CHECK_EQ_INT(metrics_status_codes[metrics_status_index(503)], 503);
	CHECK_EQ_INT(metrics_status_index(299), METRICS_STATUSES - 1);	/* other */
	CHECK_EQ_INT(metrics_status_index(-1), METRICS_STATUSES - 1);
	CHECK_EQ_INT(metrics_method_of("passkey"), METRICS_METHOD_PASSKEY);
	CHECK_EQ_INT(metrics_method_of("carrier pigeon"), METRICS_METHOD_OTHER);
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("pwd"), "password");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("pwd,hwk,mfa"), "password");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("hwk,user,mfa"), "passkey");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("eth"), "siwe");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("otp"), "email_otp");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("otp,hwk,mfa"), "email_otp");
	CHECK_EQ_STR(metrics_sign_in_method_of_amr("pwd,otp,mfa"), "password");
	CHECK_EQ_INT(metrics_method_of("email_otp"), METRICS_METHOD_EMAIL_OTP);
	CHECK_EQ_STR(metrics_sign_in_method_of_amr(""), "other");
	/* bucket bounds grow, and their text says the same */
	for (int i = 1; i < METRICS_BUCKETS; i++)
		CHECK(metrics_bucket_ns[i] > metrics_bucket_ns[i - 1]);
	for (int i = 0; i < METRICS_BUCKETS; i++)
		CHECK((uint64_t)(atof(metrics_bucket_text[i]) * 1e9 + 0.5) == metrics_bucket_ns[i]);
}

static void histogram_buckets(void)
{
	struct metrics_histogram h = { 0 };

	metrics_observe(&h, 0);			/* first bucket */
	metrics_observe(&h, 500000);		/* exactly 0.0005 s: le="0.0005" (le is inclusive) */
	metrics_observe(&h, 500001);		/* just above: the next */
	metrics_observe(&h, 20000000000ull);	/* 20 s: only +Inf */
	CHECK_EQ_INT(metrics_histogram_cumulative(&h, 0), 2);
	CHECK_EQ_INT(metrics_histogram_cumulative(&h, 1), 3);
	CHECK_EQ_INT(metrics_histogram_cumulative(&h, METRICS_BUCKETS - 1), 3);
	CHECK_EQ_INT(metrics_histogram_cumulative(&h, METRICS_BUCKETS), 4);
	CHECK_EQ_INT(h.sum_ns, 20000000000ull + 1000001);
}

/* Three processes each count in their own slot of a real shared region;
 * the sum is exact, and a dead worker's gauge is left out. */
static void sums_slots_across_processes(void)
{
	struct shm_region *r = shm_region_create(64, 64, 64, 64);
	static struct metrics_worker sum;
	bool alive[3] = { true, true, false };
	enum { PER = 100000 };

	CHECK(r != NULL);
	if (!r)
		return;
	for (int w = 0; w < 3; w++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct metrics_worker *self = &r->metrics->workers[w];
			for (int i = 0; i < PER; i++) {
				metrics_add(&self->requests[5][metrics_status_index(200)], 1);
				metrics_observe(&self->duration[5], (uint64_t)i * 1000);
			}
			metrics_add(&self->sign_ins[METRICS_METHOD_SIWE][1], (uint64_t)w + 1);
			atomic_store(&self->ipc_in_flight[METRICS_STORE], 7);
			_exit(0);
		}
	}
	for (int w = 0; w < 3; w++)
		wait(NULL);
	metrics_sum(r->metrics, 3, alive, &sum);
	CHECK_EQ_INT(sum.requests[5][metrics_status_index(200)], 3 * PER);
	CHECK_EQ_INT(metrics_histogram_cumulative(&sum.duration[5], METRICS_BUCKETS), 3 * PER);
	CHECK_EQ_INT(sum.sign_ins[METRICS_METHOD_SIWE][1], 1 + 2 + 3);
	CHECK_EQ_INT(sum.ipc_in_flight[METRICS_STORE], 14);	/* the third worker is dead */
	/* buckets never decrease */
	for (int b = 1; b <= METRICS_BUCKETS; b++)
		CHECK(metrics_histogram_cumulative(&sum.duration[5], b) >= metrics_histogram_cumulative(&sum.duration[5], b - 1));
	/* n larger than the table is clamped */
	bool all[SHM_MAX_WORKERS];
	for (int i = 0; i < SHM_MAX_WORKERS; i++)
		all[i] = true;
	metrics_sum(r->metrics, SHM_MAX_WORKERS, all, &sum);
	CHECK_EQ_INT(sum.requests[5][metrics_status_index(200)], 3 * PER);
	shm_region_destroy(r);
}

int main(void)
{
	maps_labels();
	histogram_buckets();
	sums_slots_across_processes();
	return CHECK_DONE();
}
