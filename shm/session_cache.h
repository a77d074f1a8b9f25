/*
 * Session cache shared by all workers: key = SHA-256 of the session token.
 * Set-associative table (8 ways per set), one process-shared robust mutex per
 * set, so a worker killed while holding a lock cannot wedge the table: the
 * next locker gets EOWNERDEAD, wipes that set (its entries may be half
 * written) and carries on. Clock eviction within the set; TTL on read.
 * PostgreSQL stays the source of truth: this is only a cache.
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
	size_t capacity;
};

size_t session_cache_size(size_t entries);		/* bytes needed */
/* Initialise in caller-provided shared memory (zeroed or not). */
struct session_cache *session_cache_init(void *mem, size_t entries);

/* 1 hit (copied into *out), 0 miss or expired (expired entries are dropped). */
int session_cache_lookup(struct session_cache *c, const uint8_t key[32], int64_t now, struct session_entry *out);
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
void session_cache_clear(struct session_cache *c);
void session_cache_get_stats(struct session_cache *c, struct session_cache_stats *out);

/* For tests: take the lock of key's set and never release it, so a test can
 * kill the caller and check that the next locker recovers. */
void session_cache_debug_lock_set_for_key(struct session_cache *c, const uint8_t key[32]);
#endif
