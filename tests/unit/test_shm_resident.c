/*
 * Idle memory of the shared tables: creating them, clearing them, reading
 * their statistics and missing in them must leave nearly all of their pages
 * untouched (never allocated), and a session that lands in the cache must
 * cost only the pages of its own set. Residency is read with mincore(2),
 * which for a shared anonymous mapping reports the pages that exist.
 *
 * With the locks among the entries, initialising them alone faulted in
 * nearly every page of the 46 MB default session cache: this is the test
 * that keeps the per-process-tree PSS of an idle server small.
 */
#include "shm/rate_limit.h"
#include "shm/revoked_tokens.h"
#include "shm/session_cache.h"
#include "shm/shm.h"
#include "tests/unit/check.h"
#include "tests/unit/shm_test_util.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SESSIONS 65536
#define DEFAULT_COUNTERS 65536
#define DEFAULT_REVOKED 16384

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Pages of [base, base + size) that exist now; base is page aligned. */
static size_t resident_pages(void *base, size_t size)
{
	size_t pages = (size + page_size() - 1) / page_size(), n = 0;
	unsigned char *vec = malloc(pages);

	if (!vec || mincore(base, size, vec) != 0) {
		perror("mincore");
		exit(2);
	}
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

static void report(const char *what, size_t resident, size_t size)
{
	printf("%s: %zu of %zu pages resident (%.1f KiB of %.1f MiB)\n", what, resident,
	    (size + page_size() - 1) / page_size(), (double)(resident * page_size()) / 1024,
	    (double)size / (1024 * 1024));
}

static void key_for(uint64_t n, uint8_t key[32])
{
	for (int i = 0; i < 4; i++) {
		uint64_t word = (n + 1) * 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		memcpy(key + 8 * i, &word, 8);
	}
}

/* What the server does to an idle cache: init, the listener's clear, a
 * revocation scan, statistics, a few misses. */
static void test_idle_session_cache(void)
{
	size_t size = session_cache_size(DEFAULT_SESSIONS), resident;
	void *mem = map_shared(size);
	struct session_cache *c = session_cache_init(mem, DEFAULT_SESSIONS);
	struct session_cache_stats st;
	struct session_entry out;
	uint8_t key[32];

	CHECK(c != NULL);
	if (!c)
		return;
	session_cache_clear(c);
	session_cache_remove_user(c, "nobody");
	session_cache_get_stats(c, &st);
	for (int i = 0; i < 100; i++) {
		key_for((uint64_t)i, key);
		CHECK_EQ_INT(session_cache_lookup(c, key, time(NULL), &out), 0);
	}
	resident = resident_pages(mem, size);
	report("session cache, idle", resident, size);
	/* The dense per-set heads are 1/40 of the default table. */
	CHECK(resident * page_size() <= size / 16);
	munmap(mem, size);
}

/* A session costs the pages of its set's slots, a few at most. */
static void test_one_session_touches_its_set(void)
{
	size_t size = session_cache_size(DEFAULT_SESSIONS), before, after;
	void *mem = map_shared(size);
	struct session_cache *c = session_cache_init(mem, DEFAULT_SESSIONS);
	struct session_entry e;

	CHECK(c != NULL);
	if (!c)
		return;
	memset(&e, 0, sizeof(e));
	key_for(12345, e.key);
	strcpy(e.user_id, "someone");
	e.expires_at = e.idle_expires_at = time(NULL) + 600;
	before = resident_pages(mem, size);
	session_cache_insert(c, &e);
	session_cache_clear(c);
	after = resident_pages(mem, size);
	printf("session cache: one insert and a clear made %zu more pages resident\n", after - before);
	CHECK(after - before <= 3);
	munmap(mem, size);
}

static void test_idle_counters(void)
{
	size_t rate_size = rate_limit_size(DEFAULT_COUNTERS), nonce_size = nonce_table_size(DEFAULT_COUNTERS);
	size_t revoked_size = revoked_tokens_size(DEFAULT_REVOKED), resident;
	void *rate_mem = map_shared(rate_size), *nonce_mem = map_shared(nonce_size);
	void *revoked_mem = map_shared(revoked_size);
	struct revoked_tokens *revoked;

	CHECK(rate_limit_init(rate_mem, DEFAULT_COUNTERS) != NULL);
	CHECK(nonce_table_init(nonce_mem, DEFAULT_COUNTERS) != NULL);
	CHECK((revoked = revoked_tokens_init(revoked_mem, DEFAULT_REVOKED)) != NULL);
	if (revoked) {
		CHECK_EQ_INT(revoked_tokens_count(revoked, time(NULL)), 0);
		CHECK_EQ_INT(revoked_tokens_untrusted_sets(revoked, time(NULL)), 0);
	}
	/* Their slots are 6 to 7 times the size of the heads. */
	resident = resident_pages(rate_mem, rate_size);
	report("rate limits, idle", resident, rate_size);
	CHECK(resident * page_size() <= rate_size / 4);
	resident = resident_pages(nonce_mem, nonce_size);
	report("nonces, idle", resident, nonce_size);
	CHECK(resident * page_size() <= nonce_size / 4);
	resident = resident_pages(revoked_mem, revoked_size);
	report("revoked tokens, idle", resident, revoked_size);
	CHECK(resident * page_size() <= revoked_size / 4);
	munmap(rate_mem, rate_size);
	munmap(nonce_mem, nonce_size);
	munmap(revoked_mem, revoked_size);
}

/* The whole region with the server's defaults, as the master makes it. */
static void test_idle_region(void)
{
	struct shm_region *r = shm_region_create(DEFAULT_SESSIONS, DEFAULT_COUNTERS, DEFAULT_COUNTERS, DEFAULT_REVOKED);
	size_t resident;

	CHECK(r != NULL);
	if (!r)
		return;
	session_cache_clear(r->sessions);
	resident = resident_pages(r->base, r->size);
	report("region, idle", resident, r->size);
	CHECK(resident * page_size() <= 3u << 20);
	shm_region_destroy(r);
}

int main(void)
{
	test_idle_session_cache();
	test_one_session_touches_its_set();
	test_idle_counters();
	test_idle_region();
	return CHECK_DONE();
}
