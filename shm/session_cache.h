/*
 * Session cache shared by all workers: key = SHA-256 of the session token.
 * Set-associative table (8 ways per set), one process-shared robust mutex per
 * set, so a worker killed while holding a lock cannot wedge the table: the
 * next locker gets EOWNERDEAD, wipes that set (its entries may be half
 * written) and carries on. Clock eviction within the set; TTL on read.
 * PostgreSQL stays the source of truth: this is only a cache.
 *
 * The locks and occupancy bits live in a dense array apart from the
 * entries, so an idle cache costs about 1/40 of its size: an entry's pages
 * are first touched when a session lands in its set.
 *
 * Beside it, a small negative cache: keys the database said it does not
 * know, remembered for SESSION_CACHE_NEGATIVE_TTL seconds, so a client that
 * repeats a bogus or dead cookie does not cost a query each time.
 */
#ifndef DREAMAUTH_SESSION_CACHE_H
#define DREAMAUTH_SESSION_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session_entry {
	uint8_t key[32];		/* SHA-256(token) */
	char session_id[40];		/* database id (uuid text) */
	char user_id[40];		/* uuid text */
	char email[256];		/* EMAIL_MAX_LEN + 1: never truncated */
	char name[96];
	char groups[160];		/* comma separated */
	char amr[24];			/* comma separated: pwd, otp, hwk, ... */
	int64_t auth_time;		/* unix seconds */
	int64_t expires_at;		/* absolute expiry */
	int64_t idle_expires_at;	/* last use + idle TTL */
	int64_t db_touched_at;		/* when last_seen was last written to the DB */
	uint32_t flags;			/* SESSION_FLAG_* */
};

#define SESSION_FLAG_ADMIN 1u

struct session_cache_stats {
	uint64_t hits, misses, inserts, evictions, expired, owner_dead_recoveries;
	uint64_t unknown_hits;		/* session_cache_known_unknown answered true */
	size_t capacity;
};

/* How long a key the database did not know is answered "unknown". */
#ifndef SESSION_CACHE_NEGATIVE_TTL
#define SESSION_CACHE_NEGATIVE_TTL 5
#endif
/* Keys the negative cache holds (8-way sets, soonest expiring evicted). */
#ifndef SESSION_CACHE_NEGATIVE_ENTRIES
#define SESSION_CACHE_NEGATIVE_ENTRIES 4096
#endif

size_t session_cache_size(size_t entries);		/* bytes needed, negative cache included */
/* Initialise in caller-provided shared memory (zeroed or not). */
struct session_cache *session_cache_init(void *mem, size_t entries);

/* 1 hit (copied into *out), 0 miss or expired (expired entries are dropped). */
int session_cache_lookup(struct session_cache *c, const uint8_t key[32], int64_t now, struct session_entry *out);
/* Both inserts also drop any negative entry for e->key (see below). */
void session_cache_insert(struct session_cache *c, const struct session_entry *e);
/* For an entry read from the database: read session_cache_removals() before
 * the query, and the entry is cached only if no removal (a revocation, a
 * profile change) started since, so a stale copy can never outlive the
 * notice that should have dropped it. false: not cached (harmless). */
uint64_t session_cache_removals(struct session_cache *c);
bool session_cache_insert_if_unchanged(struct session_cache *c, const struct session_entry *e, uint64_t since);
/* Update idle expiry and db_touched_at of an entry if present. */
void session_cache_touch(struct session_cache *c, const uint8_t key[32], int64_t idle_expires_at, int64_t db_touched_at);
bool session_cache_remove(struct session_cache *c, const uint8_t key[32]);
size_t session_cache_remove_user(struct session_cache *c, const char *user_id);
/* Every session of user_id but except_session_id (NULL: all of them). */
size_t session_cache_remove_user_except(struct session_cache *c, const char *user_id, const char *except_session_id);
size_t session_cache_remove_session_id(struct session_cache *c, const char *session_id);
/* Drops every entry, negative ones included; touches only occupied sets. */
void session_cache_clear(struct session_cache *c);
void session_cache_get_stats(struct session_cache *c, struct session_cache_stats *out);

/*
 * Negative cache. On a lookup miss, before asking the database:
 *
 *	if (session_cache_known_unknown(c, key, now))
 *		refuse;			(the database said "no such session" < TTL ago)
 *	since = session_cache_insert_generation(c, key);
 *	...query...
 *	found:      session_cache_insert_if_unchanged(c, &e, removals);
 *	not found:  session_cache_note_unknown(c, key, now, since);
 *	db error:   nothing (an error is not an answer)
 *
 * A session is never refused because of a negative entry recorded before
 * it was inserted: every session_cache_insert* drops the key's negative
 * entry and bumps its set's insert generation, and a note whose `since`
 * predates an insert of that set is not recorded. So when a worker's query
 * misses a session that another worker creates and inserts meanwhile, its
 * note, whenever it lands, cannot outlive the insert. Session creation must
 * call session_cache_insert (or _if_unchanged) after its INSERT commits.
 */
/* The insert generation of key's set: read before the database query. */
uint64_t session_cache_insert_generation(struct session_cache *c, const uint8_t key[32]);
/* The database said key is unknown (no live session): remember it until
 * now + SESSION_CACHE_NEGATIVE_TTL, unless key's set saw an insert since
 * `since`. true if recorded, false if not (harmless: the next miss asks). */
bool session_cache_note_unknown(struct session_cache *c, const uint8_t key[32], int64_t now, uint64_t since);
/* true if key was noted unknown less than SESSION_CACHE_NEGATIVE_TTL ago and
 * not inserted since: answer "no session" without asking the database. */
bool session_cache_known_unknown(struct session_cache *c, const uint8_t key[32], int64_t now);

/* For tests: take the lock of key's set and never release it, so a test can
 * kill the caller and check that the next locker recovers. */
void session_cache_debug_lock_set_for_key(struct session_cache *c, const uint8_t key[32]);
/* The same for the set of the negative cache that holds key. */
void session_cache_debug_lock_unknown_set_for_key(struct session_cache *c, const uint8_t key[32]);
#endif
