/*
 * Revoked access-token table: answers, expiry, the "complete" gate, and the
 * property that matters — a recorded jti is never answered REVOKED_NO before
 * it expires, not when the table overflows, not after a process died holding
 * a set lock, not with several processes adding and checking at once.
 */
#include "shm/revoked_tokens.h"
#include "tests/unit/check.h"
#include "tests/unit/shm_test_util.h"

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define CHILDREN 4
/* Few enough that no set of the 65536-entry table overflows (which would
 * rightly make some misses UNKNOWN): 4000 keys in 8192 sets. */
#define PER_CHILD 1000

static struct revoked_tokens *new_table(size_t entries)
{
	struct revoked_tokens *t = revoked_tokens_init(map_shared(revoked_tokens_size(entries)), entries);

	if (!t)
		exit(2);
	return t;
}

static const char *jti(int n)
{
	static char buf[64];

	/* The shape of real ones: 43 base64url characters. */
	snprintf(buf, sizeof(buf), "jti-%039d", n);
	return buf;
}

static enum revoked_answer check(struct revoked_tokens *t, int n, int64_t now)
{
	const char *j = jti(n);
	return revoked_tokens_check(t, j, strlen(j), now);
}

static void add(struct revoked_tokens *t, int n, int64_t now, int64_t until)
{
	const char *j = jti(n);
	revoked_tokens_add(t, j, strlen(j), now, until);
}

static void test_basics(void)
{
	struct revoked_tokens *t = new_table(1024);

	CHECK_EQ_INT(revoked_tokens_size(1), revoked_tokens_size(64));
	CHECK(revoked_tokens_size(65) > revoked_tokens_size(64));
	CHECK_EQ_INT(revoked_tokens_size(SIZE_MAX), 0);
	CHECK(revoked_tokens_init(NULL, 64) == NULL);

	/* Until worker 1 has loaded the database's list, a miss is no answer. */
	CHECK(!revoked_tokens_complete(t));
	add(t, 1, 1000, 1100);
	CHECK_EQ_INT(check(t, 1, 1000), REVOKED_YES);
	CHECK_EQ_INT(check(t, 2, 1000), REVOKED_UNKNOWN);
	revoked_tokens_set_complete(t, true);
	CHECK(revoked_tokens_complete(t));
	CHECK_EQ_INT(check(t, 2, 1000), REVOKED_NO);
	CHECK_EQ_INT(check(t, 1, 1099), REVOKED_YES);
	CHECK_EQ_INT(check(t, 1, 1100), REVOKED_NO);	/* until is exclusive: the token is dead anyway */

	/* Recording again extends, never shortens. */
	add(t, 3, 1000, 1200);
	add(t, 3, 1000, 1100);
	CHECK_EQ_INT(check(t, 3, 1150), REVOKED_YES);
	add(t, 3, 1000, 1300);
	CHECK_EQ_INT(check(t, 3, 1250), REVOKED_YES);
	/* Already expired: not recorded, and nothing to fear from it. */
	add(t, 4, 1000, 1000);
	add(t, 5, 1000, 900);
	CHECK_EQ_INT(check(t, 4, 999), REVOKED_NO);
	CHECK_EQ_INT(revoked_tokens_count(t, 1000), 2);
	CHECK_EQ_INT(revoked_tokens_untrusted_sets(t, 1000), 0);

	/* Distinct keys: a prefix or a longer string is another jti. */
	revoked_tokens_add(t, "abc", 3, 1000, 1100);
	CHECK_EQ_INT(revoked_tokens_check(t, "abc", 3, 1000), REVOKED_YES);
	CHECK_EQ_INT(revoked_tokens_check(t, "ab", 2, 1000), REVOKED_NO);
	CHECK_EQ_INT(revoked_tokens_check(t, "abcd", 4, 1000), REVOKED_NO);
	char long_jti[300];
	memset(long_jti, 'x', sizeof(long_jti));
	revoked_tokens_add(t, long_jti, sizeof(long_jti), 1000, 1100);
	CHECK_EQ_INT(revoked_tokens_check(t, long_jti, sizeof(long_jti), 1000), REVOKED_YES);
	CHECK_EQ_INT(revoked_tokens_check(t, long_jti, sizeof(long_jti) - 1, 1000), REVOKED_NO);

	/* Losing the listener makes misses unknown again; hits stay hits. */
	revoked_tokens_set_complete(t, false);
	CHECK_EQ_INT(check(t, 2, 1000), REVOKED_UNKNOWN);
	CHECK_EQ_INT(check(t, 1, 1000), REVOKED_YES);
}

/* Far more revocations than slots: nothing recorded is ever answered NO while
 * it lives; misses in overflowed sets go to the database, only as long as
 * what they lost would have lived. */
static void test_overflow_fails_closed(void)
{
	struct revoked_tokens *t = new_table(64);
	int never_no = 0, unknown_misses = 0, no_misses = 0;

	revoked_tokens_set_complete(t, true);
	for (int n = 0; n < 1000; n++)
		add(t, n, 1000, 2000 + n);
	CHECK_EQ_INT(revoked_tokens_count(t, 1000), 64);
	CHECK(revoked_tokens_untrusted_sets(t, 1000) > 0);
	for (int n = 0; n < 1000; n++)
		never_no += check(t, n, 1000) != REVOKED_NO;
	CHECK_EQ_INT(never_no, 1000);
	/* The latest ones are kept (soonest-expiring evicted first). */
	CHECK_EQ_INT(check(t, 999, 1000), REVOKED_YES);
	for (int n = 5000; n < 5200; n++) {
		enum revoked_answer a = check(t, n, 1000);
		unknown_misses += a == REVOKED_UNKNOWN;
		no_misses += a == REVOKED_NO;
		CHECK(a != REVOKED_YES);
	}
	CHECK(unknown_misses > 0);
	CHECK_EQ_INT(unknown_misses + no_misses, 200);
	/* Later on, the same holds for every token still alive then… */
	for (int64_t now = 1500; now < 3000; now += 250) {
		int alive = 0, not_no = 0;
		for (int n = 0; n < 1000; n++) {
			if (2000 + n <= now)
				continue;
			alive++;
			not_no += check(t, n, now) != REVOKED_NO;
		}
		CHECK_EQ_INT(not_no, alive);
	}
	/* …and once every evicted entry has expired the table answers again. */
	CHECK_EQ_INT(revoked_tokens_untrusted_sets(t, 3000), 0);
	CHECK_EQ_INT(check(t, 5000, 3000), REVOKED_NO);
	CHECK_EQ_INT(check(t, 999, 2998), REVOKED_YES);
	/* Expired slots are reused without distrust (eight fit even in one set). */
	for (int n = 0; n < 8; n++)
		add(t, 10000 + n, 3000, 3100);
	CHECK_EQ_INT(revoked_tokens_count(t, 3000), 8);
	CHECK_EQ_INT(revoked_tokens_untrusted_sets(t, 3000), 0);
}

static void test_owner_dead(void)
{
	struct revoked_tokens *t = new_table(64);
	int status;
	pid_t pid;

	revoked_tokens_set_complete(t, true);
	add(t, 1, 1000, 1500);
	pid = fork();
	if (pid == 0) {
		const char *j = jti(1);
		revoked_tokens_debug_lock_set_for(t, j, strlen(j));
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	alarm(10);
	/* The set is wiped, but its misses are distrusted until what it held expired. */
	CHECK_EQ_INT(check(t, 1, 1000), REVOKED_UNKNOWN);
	CHECK_EQ_INT(check(t, 1, 1499), REVOKED_UNKNOWN);
	CHECK_EQ_INT(revoked_tokens_untrusted_sets(t, 1000), 1);
	CHECK_EQ_INT(check(t, 1, 1500), REVOKED_NO);
	add(t, 1, 1000, 1600);
	CHECK_EQ_INT(check(t, 1, 1000), REVOKED_YES);
	alarm(0);
}

static void wait_for_start(int fd)
{
	char byte;

	if (read(fd, &byte, 1) < 0)
		_exit(3);
}

/* Children add their own jtis and check them at once, while reading the
 * others' and never-revoked ones: every check of something already added
 * is YES, of something never added NO (big table, complete, no overflow). */
static void test_processes(void)
{
	struct revoked_tokens *t = new_table(65536);
	_Atomic int *wrong = map_shared(sizeof(*wrong));
	pid_t pids[CHILDREN];
	int start[2];

	revoked_tokens_set_complete(t, true);
	if (pipe(start) != 0)
		exit(2);
	for (int c = 0; c < CHILDREN; c++) {
		if ((pids[c] = fork()) == 0) {
			close(start[1]);
			wait_for_start(start[0]);
			for (int i = 0; i < PER_CHILD; i++) {
				int mine = c * PER_CHILD + i;
				add(t, mine, 1000, 5000);
				if (check(t, mine, 1000) != REVOKED_YES)
					atomic_fetch_add(wrong, 1);
				if (check(t, 1000000 + mine, 1000) != REVOKED_NO)
					atomic_fetch_add(wrong, 1);
				/* Someone else's: racing, so any answer but UNKNOWN. */
				if (check(t, ((c + 1) % CHILDREN) * PER_CHILD + i, 1000) == REVOKED_UNKNOWN)
					atomic_fetch_add(wrong, 1);
			}
			_exit(0);
		}
	}
	close(start[0]);
	close(start[1]);
	wait_children(pids, CHILDREN);
	CHECK_EQ_INT(atomic_load(wrong), 0);
	int yes = 0;
	for (int n = 0; n < CHILDREN * PER_CHILD; n++)
		yes += check(t, n, 1000) == REVOKED_YES;
	CHECK_EQ_INT(yes, CHILDREN * PER_CHILD);
	CHECK_EQ_INT(revoked_tokens_count(t, 1000), CHILDREN * PER_CHILD);
}

/* The same race in a table far too small: still never NO for a recorded jti. */
static void test_processes_overflow(void)
{
	struct revoked_tokens *t = new_table(64);
	pid_t pids[CHILDREN];
	int start[2];

	revoked_tokens_set_complete(t, true);
	if (pipe(start) != 0)
		exit(2);
	for (int c = 0; c < CHILDREN; c++) {
		if ((pids[c] = fork()) == 0) {
			close(start[1]);
			wait_for_start(start[0]);
			for (int i = 0; i < 2000; i++)
				add(t, c * 2000 + i, 1000, 4000 + i);
			_exit(0);
		}
	}
	close(start[0]);
	close(start[1]);
	wait_children(pids, CHILDREN);
	int never_no = 0;
	for (int n = 0; n < CHILDREN * 2000; n++)
		never_no += check(t, n, 1000) != REVOKED_NO;
	CHECK_EQ_INT(never_no, CHILDREN * 2000);
	CHECK_EQ_INT(revoked_tokens_count(t, 1000), 64);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);	/* no buffered output duplicated by fork */
	test_basics();
	test_overflow_fails_closed();
	test_owner_dead();
	test_processes();
	test_processes_overflow();
	return CHECK_DONE();
}
