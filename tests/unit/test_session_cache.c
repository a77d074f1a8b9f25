/*
 * Session cache: basic operations, TTLs, eviction, statistics, sharing across
 * forked processes without torn reads, recovery when a process dies holding
 * a set lock, the shm region layout, the negative cache (and the rule that
 * no session is refused because of a miss noted before its insert, checked
 * with the race interleaved by hand and with processes racing), and an
 * informational lookup timing.
 *
 * Keys that share their first 8 bytes land in the same set (the set index
 * comes from those bytes); the eviction tests rely on that.
 */
#include "shm/revoked_tokens.h"
#include "shm/session_cache.h"
#include "shm/shm.h"
#include "tests/unit/check.h"
#include "tests/unit/shm_test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN 4
#define CHILD_OPS 200000
#define SHARED_KEYS 2048

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform-looking key for n; with same_set, the first 8 bytes are fixed. */
static void make_key(uint64_t n, bool same_set, uint8_t key[32])
{
	uint64_t state = n * 7919 + 1;

	for (int i = 0; i < 4; i++) {
		uint64_t word = splitmix64(&state);
		memcpy(key + 8 * i, &word, 8);
	}
	if (same_set)
		memset(key, 0xa5, 8);
}

static struct session_cache *new_cache(size_t entries, size_t *size_out)
{
	size_t size = session_cache_size(entries);
	struct session_cache *c = session_cache_init(map_shared(size), entries);

	if (!c) {
		fprintf(stderr, "session_cache_init failed\n");
		exit(2);
	}
	*size_out = size;
	return c;
}

static void hex(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* Identity fields come from the key bytes, the rest from (writer, seq):
 * a reader that sees a mix of two writes finds the fields disagree. */
static void make_entry(const uint8_t key[32], int64_t now, int writer, uint32_t seq, struct session_entry *e)
{
	char user[17], session[17];

	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, 32);
	hex(key + 16, 8, user);
	hex(key + 24, 8, session);
	snprintf(e->user_id, sizeof(e->user_id), "u-%s", user);
	snprintf(e->session_id, sizeof(e->session_id), "s-%s", session);
	snprintf(e->email, sizeof(e->email), "%s@example.test", user);
	snprintf(e->name, sizeof(e->name), "writer %d seq %" PRIu32, writer, seq);
	snprintf(e->groups, sizeof(e->groups), "admins,w%d-%" PRIu32, writer, seq);
	snprintf(e->amr, sizeof(e->amr), "pwd,%d", writer);
	e->auth_time = (int64_t)writer * 1000000000 + seq;
	e->expires_at = now + 3600;
	e->idle_expires_at = now + 600;
	e->db_touched_at = now;
}

static bool entry_consistent(const uint8_t key[32], const struct session_entry *e)
{
	struct session_entry expect;
	int writer = (int)(e->auth_time / 1000000000);
	uint32_t seq = (uint32_t)(e->auth_time % 1000000000);

	make_entry(key, 0, writer, seq, &expect);
	return memcmp(e->key, key, 32) == 0 &&
	    strcmp(e->user_id, expect.user_id) == 0 &&
	    strcmp(e->session_id, expect.session_id) == 0 &&
	    strcmp(e->email, expect.email) == 0 &&
	    strcmp(e->name, expect.name) == 0 &&
	    strcmp(e->groups, expect.groups) == 0 &&
	    strcmp(e->amr, expect.amr) == 0;
}

static void test_basic(void)
{
	size_t size;
	struct session_cache *c = new_cache(100, &size);
	struct session_entry e, out;
	struct session_cache_stats st;
	uint8_t key[32], other[32];
	int64_t now = time(NULL);

	CHECK_EQ_INT(session_cache_size(1), session_cache_size(64));
	CHECK_EQ_INT(session_cache_size(100), session_cache_size(128));
	CHECK(session_cache_size(129) > session_cache_size(128));
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.capacity, 128);

	make_key(1, false, key);
	make_key(2, false, other);
	make_entry(key, now, 1, 1, &e);
	session_cache_insert(c, &e);
	memset(&out, 0, sizeof(out));
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	CHECK(memcmp(&out, &e, sizeof(e)) == 0);
	CHECK(entry_consistent(key, &out));
	CHECK_EQ_INT(session_cache_lookup(c, other, now, &out), 0);

	/* Re-insert replaces in place. */
	make_entry(key, now, 1, 2, &e);
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	CHECK_EQ_STR(out.name, "writer 1 seq 2");

	/* Over-long strings are stored terminated. */
	memset(e.email, 'x', sizeof(e.email));
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	CHECK_EQ_INT(strlen(out.email), sizeof(out.email) - 1);

	CHECK(session_cache_remove(c, key));
	CHECK(!session_cache_remove(c, key));
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 0);

	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.hits, 3);
	CHECK_EQ_INT(st.misses, 2);
	CHECK_EQ_INT(st.inserts, 3);
	CHECK_EQ_INT(st.evictions, 0);
	CHECK_EQ_INT(st.expired, 0);
	CHECK_EQ_INT(st.owner_dead_recoveries, 0);
	munmap(c, size);
}

static void test_ttl_and_touch(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);
	struct session_entry e, out;
	struct session_cache_stats st;
	uint8_t absolute[32], idle[32], touched[32], missing[32];
	int64_t now = time(NULL);

	make_key(10, false, absolute);
	make_entry(absolute, now, 1, 1, &e);
	e.expires_at = now + 100;
	e.idle_expires_at = now + 1000;
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, absolute, now + 99, &out), 1);
	CHECK_EQ_INT(session_cache_lookup(c, absolute, now + 100, &out), 0);
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.expired, 1);
	/* Dropped, not just hidden: even an earlier "now" misses. */
	CHECK_EQ_INT(session_cache_lookup(c, absolute, now, &out), 0);
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.expired, 1);

	make_key(11, false, idle);
	make_entry(idle, now, 1, 1, &e);
	e.idle_expires_at = now + 10;
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, idle, now + 9, &out), 1);
	CHECK_EQ_INT(session_cache_lookup(c, idle, now + 11, &out), 0);

	make_key(12, false, touched);
	make_entry(touched, now, 1, 1, &e);
	e.idle_expires_at = now + 10;
	session_cache_insert(c, &e);
	session_cache_touch(c, touched, now + 100, now + 5);
	CHECK_EQ_INT(session_cache_lookup(c, touched, now + 50, &out), 1);
	CHECK_EQ_INT(out.idle_expires_at, now + 100);
	CHECK_EQ_INT(out.db_touched_at, now + 5);
	CHECK_EQ_INT(session_cache_lookup(c, touched, now + 100, &out), 0);

	make_key(13, false, missing);
	session_cache_touch(c, missing, now + 100, now);	/* no-op */
	CHECK_EQ_INT(session_cache_lookup(c, missing, now, &out), 0);

	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.expired, 3);
	munmap(c, size);
}

static void test_remove_user_and_clear(void)
{
	size_t size;
	struct session_cache *c = new_cache(256, &size);
	struct session_entry e, out;
	uint8_t key[32];
	int64_t now = time(NULL);

	for (int i = 0; i < 5; i++) {
		make_key(100 + i, false, key);
		make_entry(key, now, 1, i, &e);
		strcpy(e.user_id, i < 3 ? "user-a" : "user-b");
		snprintf(e.session_id, sizeof(e.session_id), "session-%d", i);
		session_cache_insert(c, &e);
	}
	CHECK_EQ_INT(session_cache_remove_user(c, "user-a"), 3);
	CHECK_EQ_INT(session_cache_remove_user(c, "user-a"), 0);
	CHECK_EQ_INT(session_cache_remove_user(c, ""), 0);
	for (int i = 0; i < 5; i++) {
		make_key(100 + i, false, key);
		CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), i < 3 ? 0 : 1);
	}
	CHECK_EQ_INT(session_cache_remove_session_id(c, "session-3"), 1);
	make_key(103, false, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 0);
	make_key(104, false, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);

	for (int i = 0; i < 100; i++) {
		make_key(1000 + i, false, key);
		make_entry(key, now, 1, i, &e);
		session_cache_insert(c, &e);
	}
	session_cache_clear(c);
	int hits = 0;
	for (int i = 0; i < 100; i++) {
		make_key(1000 + i, false, key);
		hits += session_cache_lookup(c, key, now, &out);
	}
	CHECK_EQ_INT(hits, 0);
	munmap(c, size);
}

/* A copy read from the database before a removal started must not be cached
 * after it: every kind of removal (even of other entries) invalidates it. */
static void test_insert_if_unchanged(void)
{
	size_t size;
	struct session_cache *c = new_cache(256, &size);
	struct session_entry e, other_e, out;
	uint8_t key[32], other[32];
	int64_t now = time(NULL);
	uint64_t since;

	make_key(7, false, key);
	make_key(8, false, other);
	make_entry(key, now, 1, 1, &e);
	make_entry(other, now, 1, 2, &other_e);
	strcpy(other_e.user_id, "someone-else");

	since = session_cache_removals(c);
	CHECK(session_cache_insert_if_unchanged(c, &e, since));
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);

	for (int kind = 0; kind < 5; kind++) {
		CHECK(session_cache_remove(c, key) || kind > 0);
		session_cache_insert(c, &other_e);
		since = session_cache_removals(c);	/* "before the query" */
		switch (kind) {	/* a removal lands while the query runs */
		case 0: session_cache_remove(c, other); break;
		case 1: session_cache_remove_user(c, "someone-else"); break;
		case 2: session_cache_remove_user_except(c, "nobody", NULL); break;
		case 3: session_cache_remove_session_id(c, "no-such-session"); break;
		case 4: session_cache_clear(c); break;
		}
		CHECK(!session_cache_insert_if_unchanged(c, &e, since));
		CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 0);
	}
	since = session_cache_removals(c);
	CHECK(session_cache_insert_if_unchanged(c, &e, since));
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	munmap(c, size);
}

static void test_eviction(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);
	struct session_entry e, out;
	struct session_cache_stats st;
	uint8_t key[32];
	int64_t now = time(NULL);
	int hits = 0;

	/* Twenty keys into one 8-way set: eight survive, twelve are evicted. */
	for (int i = 0; i < 20; i++) {
		make_key(i, true, key);
		make_entry(key, now, 1, i, &e);
		session_cache_insert(c, &e);
	}
	for (int i = 0; i < 20; i++) {
		make_key(i, true, key);
		hits += session_cache_lookup(c, key, now, &out);
	}
	CHECK_EQ_INT(hits, 8);
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.evictions, 12);
	CHECK_EQ_INT(st.capacity, 64);
	munmap(c, size);

	/* Second chance: a key that was just read survives the next eviction. */
	c = new_cache(64, &size);
	for (int i = 0; i < 8; i++) {
		make_key(i, true, key);
		make_entry(key, now, 1, i, &e);
		session_cache_insert(c, &e);
	}
	make_key(0, true, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	make_key(8, true, key);
	make_entry(key, now, 1, 8, &e);
	session_cache_insert(c, &e);
	make_key(0, true, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);
	make_key(1, true, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 0);
	munmap(c, size);

	/* An expired entry is replaced before any live one. */
	c = new_cache(64, &size);
	for (int i = 0; i < 8; i++) {
		make_key(i, true, key);
		make_entry(key, now, 1, i, &e);
		if (i == 5)
			e.expires_at = now - 1;
		session_cache_insert(c, &e);
	}
	make_key(8, true, key);
	make_entry(key, now, 1, 8, &e);
	session_cache_insert(c, &e);
	hits = 0;
	for (int i = 0; i <= 8; i++) {
		make_key(i, true, key);
		hits += session_cache_lookup(c, key, now - 10, &out);
	}
	CHECK_EQ_INT(hits, 8);
	make_key(5, true, key);
	CHECK_EQ_INT(session_cache_lookup(c, key, now - 10, &out), 0);
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.evictions, 0);
	CHECK_EQ_INT(st.expired, 1);
	munmap(c, size);
}

struct child_report {
	uint64_t lookups, hits;
};

static int child_workload(struct session_cache *c, int writer, int start_fd, int report_fd)
{
	struct child_report report = { 0, 0 };
	struct session_entry e, out;
	uint64_t state = (uint64_t)writer * 1000003;
	uint8_t key[32];
	int64_t now = time(NULL);
	char go;
	int torn = 0;

	/* Start together so the processes really overlap. */
	if (read(start_fd, &go, 1) < 0)
		return 3;
	for (uint32_t op = 0; op < CHILD_OPS; op++) {
		uint64_t r = splitmix64(&state);
		unsigned kind = (unsigned)(r % 10);

		make_key((r >> 8) % SHARED_KEYS, false, key);
		if (kind < 5) {
			report.lookups++;
			if (session_cache_lookup(c, key, now, &out)) {
				report.hits++;
				if (!entry_consistent(key, &out) && torn++ < 5)
					fprintf(stderr, "child %d: torn entry: %s / %s / %s\n",
					    writer, out.user_id, out.name, out.groups);
			}
		} else if (kind < 8) {
			make_entry(key, now, writer, op, &e);
			session_cache_insert(c, &e);
		} else if (kind < 9) {
			session_cache_remove(c, key);
		} else {
			session_cache_touch(c, key, now + 600, now);
		}
	}
	if (write(report_fd, &report, sizeof(report)) != (ssize_t)sizeof(report))
		return 3;
	return torn ? 1 : 0;
}

static void test_processes(void)
{
	size_t size;
	struct session_cache *c = new_cache(512, &size);
	struct session_cache_stats before, after;
	struct child_report total = { 0, 0 }, report;
	int start[2], reports[2];
	pid_t pids[CHILDREN];

	if (pipe(start) != 0 || pipe(reports) != 0) {
		perror("pipe");
		exit(2);
	}
	session_cache_get_stats(c, &before);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(start[1]);
			_exit(child_workload(c, i + 1, start[0], reports[1]));
		}
	}
	close(start[0]);
	close(start[1]);	/* EOF releases every child at once */
	close(reports[1]);
	wait_children(pids, CHILDREN);
	int reported = 0;
	while (read(reports[0], &report, sizeof(report)) == (ssize_t)sizeof(report)) {
		total.lookups += report.lookups;
		total.hits += report.hits;
		reported++;
	}
	close(reports[0]);
	CHECK_EQ_INT(reported, CHILDREN);
	session_cache_get_stats(c, &after);
	/* Counters are bumped under the set lock: none lost across processes. */
	CHECK_EQ_INT(after.hits - before.hits, total.hits);
	CHECK_EQ_INT(after.misses - before.misses, total.lookups - total.hits);
	CHECK(total.hits > 0 && total.hits < total.lookups);
	CHECK(after.evictions > 0);
	printf("processes: %d x %d ops, %" PRIu64 " lookups, %" PRIu64 " hits, %" PRIu64 " evictions\n",
	    CHILDREN, CHILD_OPS, total.lookups, total.hits, after.evictions);
	munmap(c, size);
}

static void test_owner_dead(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);
	struct session_entry e, out;
	struct session_cache_stats st;
	uint8_t first[32], second[32];
	int64_t now = time(NULL);
	int status, ready[2];
	pid_t pid;
	char byte;

	make_key(1, true, first);
	make_key(2, true, second);
	make_entry(first, now, 1, 1, &e);
	session_cache_insert(c, &e);

	/* A process exits while holding the set lock. */
	pid = fork();
	if (pid == 0) {
		session_cache_debug_lock_set_for_key(c, first);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	alarm(10);	/* a hang below becomes a failure, not a stuck test run */
	CHECK_EQ_INT(session_cache_lookup(c, first, now, &out), 0);	/* set wiped */
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.owner_dead_recoveries, 1);
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, first, now, &out), 1);
	CHECK(entry_consistent(first, &out));
	alarm(0);

	/* A process is SIGKILLed while holding it. */
	if (pipe(ready) != 0) {
		perror("pipe");
		exit(2);
	}
	pid = fork();
	if (pid == 0) {
		session_cache_debug_lock_set_for_key(c, first);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	CHECK(read(ready[0], &byte, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	alarm(10);
	make_entry(second, now, 2, 2, &e);
	session_cache_insert(c, &e);
	CHECK_EQ_INT(session_cache_lookup(c, second, now, &out), 1);
	CHECK_EQ_INT(session_cache_lookup(c, first, now, &out), 0);
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.owner_dead_recoveries, 2);
	alarm(0);
	munmap(c, size);
}

static void test_region(void)
{
	struct shm_region *r = shm_region_create(1000, 1000, 1000, 1000);
	struct session_entry e, out;
	struct session_cache_stats st;
	uint8_t key[32];
	int64_t now = time(NULL);
	int status;

	errno = 0;
	CHECK(shm_region_create(SIZE_MAX, 64, 64, 64) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(shm_region_create(64, 64, 64, SIZE_MAX) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(r->size % (size_t)sysconf(_SC_PAGESIZE) == 0);
	CHECK((void *)r->status == r->base);
	CHECK((uintptr_t)r->sessions % 64 == 0 && (uintptr_t)r->limits % 64 == 0 && (uintptr_t)r->nonces % 64 == 0);
	CHECK((uintptr_t)r->revoked % 64 == 0 && (char *)r->revoked > (char *)r->nonces);
	CHECK((char *)r->revoked + revoked_tokens_size(1000) <= (char *)r->base + r->size);
	session_cache_get_stats(r->sessions, &st);
	CHECK_EQ_INT(st.capacity, 1024);

	CHECK_EQ_INT(shm_workers_alive(r), 0);
	atomic_store(&r->status->workers_configured, 4);
	atomic_store(&r->status->worker_pid[0], 100);
	atomic_store(&r->status->worker_pid[2], 102);
	atomic_store(&r->status->worker_pid[5], 105);	/* beyond workers_configured */
	CHECK_EQ_INT(shm_workers_alive(r), 2);
	/* Forked is not ready: only slots that reported ready count as serving. */
	CHECK_EQ_INT(shm_workers_ready(r), 0);
	atomic_store(&r->status->worker_ready[2], 1);
	atomic_store(&r->status->worker_ready[5], 1);	/* beyond workers_configured */
	CHECK_EQ_INT(shm_workers_ready(r), 1);

	/* What a child writes, the parent reads. */
	make_key(42, false, key);
	if (fork() == 0) {
		make_entry(key, now, 3, 3, &e);
		session_cache_insert(r->sessions, &e);
		_exit(0);
	}
	wait(&status);
	CHECK_EQ_INT(session_cache_lookup(r->sessions, key, now, &out), 1);
	shm_region_destroy(r);
	shm_region_destroy(NULL);
}

/* ---- negative cache ---- */

static void test_unknown_basics(void)
{
	size_t size;
	struct session_cache *c = new_cache(256, &size);
	struct session_cache_stats st;
	uint8_t key[32], other[32];
	int64_t now = time(NULL);

	make_key(500, false, key);
	make_key(501, false, other);
	CHECK(!session_cache_known_unknown(c, key, now));
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	CHECK(session_cache_known_unknown(c, key, now));
	CHECK(session_cache_known_unknown(c, key, now + SESSION_CACHE_NEGATIVE_TTL - 1));
	CHECK(!session_cache_known_unknown(c, other, now));
	/* Expired: no answer, and dropped (an earlier "now" misses too). */
	CHECK(!session_cache_known_unknown(c, key, now + SESSION_CACHE_NEGATIVE_TTL));
	CHECK(!session_cache_known_unknown(c, key, now));
	/* Noting again restarts the TTL from the new now. */
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	CHECK(session_cache_note_unknown(c, key, now + 3, session_cache_insert_generation(c, key)));
	CHECK(session_cache_known_unknown(c, key, now + 3 + SESSION_CACHE_NEGATIVE_TTL - 1));
	session_cache_get_stats(c, &st);
	CHECK_EQ_INT(st.unknown_hits, 3);
	CHECK_EQ_INT(st.hits + st.misses, 0);	/* the positive side is not involved */

	session_cache_clear(c);
	CHECK(!session_cache_known_unknown(c, key, now));
	munmap(c, size);
}

/* Every insert drops the key's negative entry, even one the removal counter
 * refuses to cache (the database found the session all the same). */
static void test_unknown_dropped_by_insert(void)
{
	size_t size;
	struct session_cache *c = new_cache(256, &size);
	struct session_entry e, out;
	uint8_t key[32];
	int64_t now = time(NULL);
	uint64_t removals;

	make_key(600, false, key);
	make_entry(key, now, 1, 1, &e);
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	session_cache_insert(c, &e);
	CHECK(!session_cache_known_unknown(c, key, now));
	CHECK_EQ_INT(session_cache_lookup(c, key, now, &out), 1);

	CHECK(session_cache_remove(c, key));
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	removals = session_cache_removals(c);
	session_cache_clear(c);	/* so the insert below is refused */
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	CHECK(!session_cache_insert_if_unchanged(c, &e, removals));
	CHECK(!session_cache_known_unknown(c, key, now));
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	CHECK(session_cache_insert_if_unchanged(c, &e, session_cache_removals(c)));
	CHECK(!session_cache_known_unknown(c, key, now));
	munmap(c, size);
}

/*
 * The race, in the order that matters: worker A reads the generation and
 * asks the database (not found); worker B creates the session and inserts
 * it; A's note arrives after. It must not be recorded, whether B is another
 * process or not. The other order (A's note first, then B's insert) must
 * end with the entry dropped. An insert of another set leaves A's note be.
 */
static void test_unknown_race_orderings(void)
{
	size_t size;
	struct session_cache *c = new_cache(256, &size);
	struct session_entry e;
	uint8_t key[32], far[32];
	int64_t now = time(NULL);
	uint64_t since;
	int status;
	pid_t pid;

	make_key(700, false, key);
	make_entry(key, now, 1, 1, &e);
	since = session_cache_insert_generation(c, key);	/* A: before the query */
	session_cache_insert(c, &e);				/* B: created */
	CHECK(!session_cache_note_unknown(c, key, now, since));	/* A: not found, too late */
	CHECK(!session_cache_known_unknown(c, key, now));

	CHECK(session_cache_remove(c, key));
	since = session_cache_insert_generation(c, key);
	pid = fork();
	if (pid == 0) {
		session_cache_insert(c, &e);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!session_cache_note_unknown(c, key, now, since));
	CHECK(!session_cache_known_unknown(c, key, now));

	CHECK(session_cache_remove(c, key));
	since = session_cache_insert_generation(c, key);
	CHECK(session_cache_note_unknown(c, key, now, since));	/* A first */
	CHECK(session_cache_known_unknown(c, key, now));
	session_cache_insert(c, &e);				/* then B */
	CHECK(!session_cache_known_unknown(c, key, now));

	/* Keys of other sets: an insert there does not cost A its note. */
	CHECK(session_cache_remove(c, key));
	memcpy(far, key, 32);
	far[0] ^= 1;
	since = session_cache_insert_generation(c, key);
	make_entry(far, now, 1, 2, &e);
	session_cache_insert(c, &e);
	CHECK(session_cache_note_unknown(c, key, now, since));
	CHECK(session_cache_known_unknown(c, key, now));
	munmap(c, size);
}

/* A full set evicts the live entry expiring soonest. */
static void test_unknown_eviction(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);
	uint8_t key[32];
	int64_t now = time(NULL);
	int known = 0;

	/* Nine keys of one set; the fourth noted a second earlier than the rest. */
	for (int i = 0; i < 9; i++) {
		make_key(800 + i, true, key);
		CHECK(session_cache_note_unknown(c, key, i == 3 ? now - 1 : now,
		    session_cache_insert_generation(c, key)));
	}
	make_key(803, true, key);
	CHECK(!session_cache_known_unknown(c, key, now));
	for (int i = 0; i < 9; i++) {
		make_key(800 + i, true, key);
		known += i != 3 && session_cache_known_unknown(c, key, now);
	}
	CHECK_EQ_INT(known, 8);
	munmap(c, size);
}

/* A process dies holding a negative set's lock: the set is wiped, and a
 * note read before the death is refused (the dead one may have been in
 * the middle of an insert). */
static void test_unknown_owner_dead(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);
	uint8_t key[32];
	int64_t now = time(NULL);
	uint64_t since;
	int status;
	pid_t pid;

	make_key(900, false, key);
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	since = session_cache_insert_generation(c, key);
	pid = fork();
	if (pid == 0) {
		session_cache_debug_lock_unknown_set_for_key(c, key);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	alarm(10);
	CHECK(!session_cache_known_unknown(c, key, now));
	CHECK(!session_cache_note_unknown(c, key, now, since));
	CHECK(session_cache_note_unknown(c, key, now, session_cache_insert_generation(c, key)));
	CHECK(session_cache_known_unknown(c, key, now));
	alarm(0);
	munmap(c, size);
}

#define RACE_KEYS 4000
#define RACE_PROBERS 3

/* The flow of workers/session.c, against a pretend database of one flag a
 * key: probers keep asking about keys not created yet (noting the misses),
 * while the creator commits each key and inserts it. Once a key is
 * inserted, no prober may make it "known unknown". */
struct race_shared {
	_Atomic int created[RACE_KEYS];	/* the database: 1 once committed */
	_Atomic int refused;		/* creator saw its own key refused */
	_Atomic int creating;		/* the creator's progress */
};

static void race_prober(struct session_cache *c, struct race_shared *db, int start_fd)
{
	uint8_t key[32];
	int64_t now = time(NULL);
	char go;

	if (read(start_fd, &go, 1) < 0)
		_exit(3);
	while (atomic_load(&db->creating) < RACE_KEYS) {
		/* The key being created, and the next few. */
		int k = atomic_load(&db->creating) + (int)(random() % 3);

		if (k >= RACE_KEYS)
			continue;
		make_key((uint64_t)k, false, key);
		uint64_t since = session_cache_insert_generation(c, key);
		if (!atomic_load(&db->created[k]))	/* the query */
			session_cache_note_unknown(c, key, now, since);
	}
	_exit(0);
}

static void race_creator(struct session_cache *c, struct race_shared *db, int start_fd)
{
	struct session_entry e;
	uint8_t key[32];
	int64_t now = time(NULL);
	char go;

	if (read(start_fd, &go, 1) < 0)
		_exit(3);
	for (int k = 0; k < RACE_KEYS; k++) {
		make_key((uint64_t)k, false, key);
		make_entry(key, now, 9, (uint32_t)k, &e);
		atomic_store(&db->created[k], 1);	/* commit, then cache */
		session_cache_insert(c, &e);
		if (session_cache_known_unknown(c, key, now))
			atomic_fetch_add(&db->refused, 1);
		atomic_store(&db->creating, k + 1);
	}
	_exit(0);
}

static void test_unknown_race_processes(void)
{
	size_t size;
	struct session_cache *c = new_cache(64, &size);	/* small: sets shared */
	struct race_shared *db = map_shared(sizeof(*db));
	pid_t pids[RACE_PROBERS + 1];
	int start[2], late = 0;
	uint8_t key[32];
	int64_t now = time(NULL);

	if (pipe(start) != 0)
		exit(2);
	for (int i = 0; i <= RACE_PROBERS; i++) {
		if ((pids[i] = fork()) == 0) {
			close(start[1]);
			srandom((unsigned)getpid());
			if (i == 0)
				race_creator(c, db, start[0]);
			race_prober(c, db, start[0]);
		}
	}
	close(start[0]);
	close(start[1]);
	wait_children(pids, RACE_PROBERS + 1);
	CHECK_EQ_INT(atomic_load(&db->refused), 0);
	for (int k = 0; k < RACE_KEYS; k++) {
		make_key((uint64_t)k, false, key);
		late += session_cache_known_unknown(c, key, now);
	}
	CHECK_EQ_INT(late, 0);
	printf("unknown race: %d keys created under %d probing processes: %d refused at once, %d later\n",
	    RACE_KEYS, RACE_PROBERS, atomic_load(&db->refused), late);
	munmap(db, sizeof(*db));
	munmap(c, size);
}

static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* Informational only: no assertion on timing. Time-bounded so it stays
 * short under valgrind and sanitizers. */
static void bench_lookup(void)
{
	enum { ENTRIES = 65536, FILL = 49152 };
	size_t size;
	struct session_cache *c = new_cache(ENTRIES, &size);
	struct session_entry e, out;
	struct timespec t0, t1;
	uint8_t (*keys)[32] = malloc((size_t)FILL * 32);
	int64_t now = time(NULL);
	size_t present = 0;
	uint64_t done = 0, state = 7;
	volatile int sink = 0;

	if (!keys)
		exit(2);
	for (uint32_t i = 0; i < FILL; i++) {
		make_key(1000000 + i, false, keys[present]);
		make_entry(keys[present], now, 1, i, &e);
		session_cache_insert(c, &e);
		present++;
	}
	/* Keep only the keys that survived set overflow, so every lookup hits. */
	size_t kept = 0;
	for (size_t i = 0; i < present; i++)
		if (session_cache_lookup(c, keys[i], now, &out))
			memmove(keys[kept++], keys[i], 32);

	for (int pass = 0; pass < 2; pass++) {
		done = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			for (int i = 0; i < 4096; i++) {
				/* pass 0: random keys over the whole table; pass 1: one hot key */
				size_t at = pass == 0 ? (size_t)(splitmix64(&state) % kept) : 0;
				sink += session_cache_lookup(c, keys[at], now, &out);
			}
			done += 4096;
			clock_gettime(CLOCK_MONOTONIC, &t1);
		} while (elapsed_ns(&t0, &t1) < 3e8);
		printf("bench: session_cache_lookup hit, %s, %d-entry table: %.0f ns/lookup (%" PRIu64 " lookups)\n",
		    pass == 0 ? "random key" : "same key", ENTRIES, elapsed_ns(&t0, &t1) / (double)done, done);
	}
	CHECK(sink > 0);
	free(keys);
	munmap(c, size);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);	/* no buffered output duplicated by fork */
	test_basic();
	test_ttl_and_touch();
	test_remove_user_and_clear();
	test_insert_if_unchanged();
	test_eviction();
	test_processes();
	test_owner_dead();
	test_region();
	test_unknown_basics();
	test_unknown_dropped_by_insert();
	test_unknown_race_orderings();
	test_unknown_eviction();
	test_unknown_owner_dead();
	test_unknown_race_processes();
	bench_lookup();
	return CHECK_DONE();
}
