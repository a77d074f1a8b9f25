/*
 * Rate limits and nonces: window counting, retry_after, reset, rollover,
 * bounded tables, recovery from a dead lock owner, reserve/refund, and
 * forked processes racing for the same counters and nonces.
 *
 * Nonce keys that share their first 8 bytes land in the same set (the set
 * index comes from those bytes); the nonce eviction test relies on that.
 */
#include "shm/rate_limit.h"
#include "common/secure.h"
#include "tests/unit/check.h"
#include "tests/unit/shm_test_util.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 4
#define RACE_NONCES 1000
#define RACE_HITS 10000

static struct rate_limit *new_limits(size_t entries)
{
	struct rate_limit *rl = rate_limit_init(map_shared(rate_limit_size(entries)), entries);

	if (!rl)
		exit(2);
	return rl;
}

static struct nonce_table *new_nonces(size_t entries)
{
	struct nonce_table *t = nonce_table_init(map_shared(nonce_table_size(entries)), entries);

	if (!t)
		exit(2);
	return t;
}

static void nonce_key(int n, uint8_t key[32])
{
	char text[32];

	snprintf(text, sizeof(text), "nonce-%d", n);
	secure_sha256(text, strlen(text), key);
}

/* Start children together: they block reading until the parent closes. */
static void wait_for_start(int fd)
{
	char byte;

	if (read(fd, &byte, 1) < 0)
		_exit(3);
}

static void test_windows(void)
{
	struct rate_limit *rl = new_limits(1024);
	int retry = -1;

	CHECK_EQ_INT(rate_limit_size(1), rate_limit_size(64));
	CHECK_EQ_INT(rate_limit_size(65), rate_limit_size(128));

	/* now 1000, window 60: the window is [960, 1020). */
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1000, 60, 3, &retry), 0);
	CHECK_EQ_INT(retry, 0);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:alice", 1000, 60), 1);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:alice", 1001, 60), 2);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:alice", 1019, 60), 3);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1005, 60, 5, &retry), 3);
	CHECK_EQ_INT(retry, 0);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1000, 60, 3, &retry), 3);
	CHECK_EQ_INT(retry, 20);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1019, 60, 2, &retry), 3);
	CHECK_EQ_INT(retry, 1);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1000, 60, 3, NULL), 3);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:bob", 1000, 60, 3, &retry), 0);

	/* Rollover: a new window starts from zero. */
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1020, 60, 3, &retry), 0);
	CHECK_EQ_INT(retry, 0);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:alice", 1020, 60), 1);
	CHECK_EQ_INT(rate_limit_peek(rl, "login:alice", 1079, 60, 3, &retry), 1);

	/* Reset. */
	CHECK_EQ_INT(rate_limit_hit(rl, "login:carol", 1000, 60), 1);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:carol", 1000, 60), 2);
	rate_limit_reset(rl, "login:carol");
	CHECK_EQ_INT(rate_limit_peek(rl, "login:carol", 1000, 60, 3, &retry), 0);
	CHECK_EQ_INT(rate_limit_hit(rl, "login:carol", 1000, 60), 1);
	rate_limit_reset(rl, "login:nobody");	/* no-op */

	/* Long keys: hashed, distinct from their prefixes. */
	char long_key[600];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	CHECK_EQ_INT(rate_limit_hit(rl, long_key, 1000, 60), 1);
	CHECK_EQ_INT(rate_limit_hit(rl, long_key, 1000, 60), 2);
	long_key[300] = '\0';
	CHECK_EQ_INT(rate_limit_peek(rl, long_key, 1000, 60, 3, NULL), 0);

	/* A nonsensical window does not divide by zero. */
	CHECK_EQ_INT(rate_limit_hit(rl, "zero", 1000, 0), 1);
}

static void test_limits_bounded(void)
{
	struct rate_limit *rl = new_limits(64);
	char key[32];

	/* Far more keys than slots: the table stays usable, and within one
	 * window the busiest counter is never the one evicted. */
	for (int i = 0; i < 10; i++)
		rate_limit_hit(rl, "target", 5000, 600);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "noise-%d", i);
		CHECK_EQ_INT(rate_limit_hit(rl, key, 5000, 600), 1);
	}
	CHECK_EQ_INT(rate_limit_peek(rl, "target", 5000, 600, 5, NULL), 10);
	snprintf(key, sizeof(key), "noise-%d", 1999);
	CHECK_EQ_INT(rate_limit_peek(rl, key, 5000, 600, 5, NULL), 1);

	/* Entries from an older window go before current ones: eight new keys
	 * cannot fill a set, so none of them is pushed out. */
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "late-%d", i);
		rate_limit_hit(rl, key, 6000, 600);
	}
	int still_counted = 0;
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "late-%d", i);
		still_counted += rate_limit_peek(rl, key, 6000, 600, 5, NULL);
	}
	CHECK_EQ_INT(still_counted, 8);
}

static void test_limits_owner_dead(void)
{
	struct rate_limit *rl = new_limits(64);
	int status;
	pid_t pid;

	CHECK_EQ_INT(rate_limit_hit(rl, "victim", 1000, 60), 1);
	pid = fork();
	if (pid == 0) {
		rate_limit_debug_lock_set_for_key(rl, "victim");
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	alarm(10);
	CHECK_EQ_INT(rate_limit_hit(rl, "victim", 1000, 60), 1);	/* set wiped */
	CHECK_EQ_INT(rate_limit_hit(rl, "victim", 1000, 60), 2);
	alarm(0);
}

/* Forks CHILDREN processes that each run body(rl, arg) once released
 * together, and waits for them all. */
static void race_children(struct rate_limit *rl, void (*body)(struct rate_limit *, void *), void *arg)
{
	pid_t pids[CHILDREN];
	int start[2];

	if (pipe(start) != 0)
		exit(2);
	for (int i = 0; i < CHILDREN; i++) {
		if ((pids[i] = fork()) == 0) {
			close(start[1]);
			wait_for_start(start[0]);
			body(rl, arg);
			_exit(0);
		}
	}
	close(start[0]);
	close(start[1]);
	wait_children(pids, CHILDREN);
}

static void hit_shared(struct rate_limit *rl, void *arg)
{
	(void)arg;
	for (int n = 0; n < RACE_HITS; n++)
		rate_limit_hit(rl, "shared", 1000, 60);
}

static void test_limits_processes(void)
{
	struct rate_limit *rl = new_limits(1024);

	race_children(rl, hit_shared, NULL);
	CHECK_EQ_INT(rate_limit_peek(rl, "shared", 1000, 60, 1, NULL), CHILDREN * RACE_HITS);
}

static void test_nonces(void)
{
	struct nonce_table *t = new_nonces(1024);
	uint8_t a[32], b[32];

	CHECK_EQ_INT(nonce_table_size(1), nonce_table_size(64));
	nonce_key(1, a);
	nonce_key(2, b);
	CHECK(nonce_consume(t, a, 1000, 1060));
	CHECK(!nonce_consume(t, a, 1000, 1060));
	CHECK(!nonce_consume(t, a, 1059, 1060));
	CHECK(nonce_consume(t, b, 1000, 1060));
	/* Once expired the key may be used again, once. */
	CHECK(nonce_consume(t, a, 1060, 1120));
	CHECK(!nonce_consume(t, a, 1061, 1120));
	/* Already expired: refused and not recorded. */
	uint8_t late[32];
	nonce_key(3, late);
	CHECK(!nonce_consume(t, late, 2000, 2000));
	CHECK(nonce_consume(t, late, 1000, 2001));
}

static void test_nonce_eviction(void)
{
	struct nonce_table *t = new_nonces(64);
	uint8_t keys[10][32];

	for (int i = 0; i < 10; i++) {
		nonce_key(100 + i, keys[i]);
		memset(keys[i], 0x5a, 8);	/* all in one set */
	}
	/* Full set of live nonces: the soonest-expiring (key 0) goes. */
	for (int i = 0; i < 9; i++)
		CHECK(nonce_consume(t, keys[i], 1000, 2000 + i));
	for (int i = 1; i < 9; i++)
		CHECK(!nonce_consume(t, keys[i], 1000, 2000 + i));
	CHECK(nonce_consume(t, keys[0], 1000, 3000));	/* evicted, so accepted; evicts key 1 */
	/* An expired entry is replaced before a live one. */
	CHECK(nonce_consume(t, keys[9], 2003, 5000));	/* keys 2, 3 expired by 2003 */
	for (int i = 4; i < 9; i++)
		CHECK(!nonce_consume(t, keys[i], 2003, 2000 + i));
	CHECK(!nonce_consume(t, keys[0], 2003, 3000));
}

static void test_nonce_race(void)
{
	struct nonce_table *t = new_nonces(65536);
	_Atomic int *wins = map_shared(sizeof(*wins) * RACE_NONCES);
	uint8_t (*keys)[32] = malloc(sizeof(*keys) * RACE_NONCES);
	pid_t pids[CHILDREN];
	int start[2];

	if (!keys || pipe(start) != 0)
		exit(2);
	for (int n = 0; n < RACE_NONCES; n++)
		nonce_key(n, keys[n]);
	for (int i = 0; i < CHILDREN; i++) {
		if ((pids[i] = fork()) == 0) {
			close(start[1]);
			wait_for_start(start[0]);
			/* Each child starts at a different point so they collide often. */
			for (int step = 0; step < RACE_NONCES; step++) {
				int n = (step + i * RACE_NONCES / CHILDREN) % RACE_NONCES;

				if (i % 2)
					n = RACE_NONCES - 1 - n;
				if (nonce_consume(t, keys[n], 1000, 2000))
					atomic_fetch_add(&wins[n], 1);
			}
			_exit(0);
		}
	}
	close(start[0]);
	close(start[1]);
	wait_children(pids, CHILDREN);
	int exactly_once = 0, total = 0;
	for (int n = 0; n < RACE_NONCES; n++) {
		exactly_once += atomic_load(&wins[n]) == 1;
		total += atomic_load(&wins[n]);
	}
	CHECK_EQ_INT(exactly_once, RACE_NONCES);
	CHECK_EQ_INT(total, RACE_NONCES);
	free(keys);
}

/* reserve: check and count in one step; refund takes one back in its window. */
static void test_reserve_refund(void)
{
	struct rate_limit *rl = new_limits(1024);
	int retry = -1;

	/* Window [960, 1020), max 3. */
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1000, 60, 3, &retry), 1);
	CHECK_EQ_INT(retry, 0);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1001, 60, 3, &retry), 2);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1002, 60, 3, &retry), 3);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1005, 60, 3, &retry), 0);
	CHECK_EQ_INT(retry, 15);
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:a", 1005, 60, 3, NULL), 3);	/* a refusal counts nothing */
	/* Shares its counter with hit and peek. */
	CHECK_EQ_INT(rate_limit_hit(rl, "acct:b", 1000, 60), 1);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:b", 1000, 60, 2, NULL), 2);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:b", 1000, 60, 2, NULL), 0);

	/* Refund: one back, in the window it was counted in only. */
	rate_limit_refund(rl, "acct:a", 1002, 60);
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:a", 1006, 60, 3, NULL), 2);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1006, 60, 3, NULL), 3);
	rate_limit_refund(rl, "acct:a", 950, 60);	/* an older window: nothing */
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:a", 1006, 60, 3, NULL), 3);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1020, 60, 3, NULL), 1);	/* rollover */
	rate_limit_refund(rl, "acct:a", 1019, 60);	/* counted in the ended window: nothing */
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:a", 1020, 60, 3, NULL), 1);
	rate_limit_refund(rl, "acct:a", 1020, 60);
	rate_limit_refund(rl, "acct:a", 1020, 60);	/* never below zero */
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:a", 1020, 60, 3, NULL), 0);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:a", 1020, 60, 3, NULL), 1);
	rate_limit_refund(rl, "acct:nobody", 1000, 60);	/* no-op, and creates nothing */
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:nobody", 1000, 60, 3, NULL), 0);
	/* After a reset the refund does not eat a newer attempt's count below zero. */
	rate_limit_reset(rl, "acct:b");
	rate_limit_refund(rl, "acct:b", 1000, 60);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:b", 1000, 60, 2, NULL), 1);
	/* max 0 refuses everything; a nonsensical window does not divide by zero. */
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:c", 1000, 60, 0, &retry), 0);
	CHECK_EQ_INT(retry, 20);
	CHECK_EQ_INT(rate_limit_reserve(rl, "acct:c", 1000, 0, 1, NULL), 1);
}

enum { RESERVE_MAX = 50, RESERVE_TRIES = 2000 };

static void reserve_victim(struct rate_limit *rl, void *granted)
{
	for (int n = 0; n < RESERVE_TRIES; n++)
		if (rate_limit_reserve(rl, "acct:victim", 1000, 60, RESERVE_MAX, NULL) > 0)
			atomic_fetch_add((atomic_int *)granted, 1);
}

/* Processes racing to reserve against one limit: exactly max get through,
 * however the calls interleave (the concurrent sign-in guesses case). */
static void test_reserve_processes(void)
{
	struct rate_limit *rl = new_limits(1024);
	atomic_int *granted = map_shared(sizeof(*granted));

	atomic_init(granted, 0);
	race_children(rl, reserve_victim, granted);
	CHECK_EQ_INT(atomic_load(granted), RESERVE_MAX);
	CHECK_EQ_INT(rate_limit_peek(rl, "acct:victim", 1000, 60, RESERVE_MAX, NULL), RESERVE_MAX);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);	/* no buffered output duplicated by fork */
	test_windows();
	test_limits_bounded();
	test_limits_owner_dead();
	test_limits_processes();
	test_reserve_refund();
	test_reserve_processes();
	test_nonces();
	test_nonce_eviction();
	test_nonce_race();
	return CHECK_DONE();
}
