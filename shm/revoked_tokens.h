/*
 * Revoked access tokens (by jti) in shared memory, so a Bearer token at
 * /api/verify is checked against revocation without a database round-trip.
 * Same layout as the other tables: 8-way sets of salted SHA-256 keys, one
 * robust process-shared mutex per set (shm/set_lock.h). An entry lives until
 * the token could no longer pass anyway (its exp plus the verifier's leeway).
 *
 * The table must never answer "not revoked" for a revoked token, so a miss
 * is only an answer when the table knows it saw every revocation:
 *  - the whole table is "complete" only after worker 1 has loaded every
 *    revoked, unexpired jti from the database while LISTENing; the master
 *    clears it when worker 1 dies (notices to this instance would be lost);
 *  - a set that had to evict a live entry (full), or was wiped because a
 *    process died holding its lock, distrusts its misses until every entry
 *    it lost would have expired.
 * In those cases the answer is REVOKED_UNKNOWN and the caller asks the
 * database (see workers/token_revocation.c).
 */
#ifndef DREAMAUTH_SHM_REVOKED_TOKENS_H
#define DREAMAUTH_SHM_REVOKED_TOKENS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum revoked_answer {
	REVOKED_NO,		/* certainly not revoked (as far as this instance heard) */
	REVOKED_YES,
	REVOKED_UNKNOWN,	/* the table cannot tell: ask the database */
};

size_t revoked_tokens_size(size_t entries);
struct revoked_tokens *revoked_tokens_init(void *mem, size_t entries);
/* Records jti (len bytes) as revoked until `until` (exclusive); nothing is
 * recorded once now >= until. Never fails silently: when the jti cannot be
 * stored, misses are distrusted until `until` instead. */
void revoked_tokens_add(struct revoked_tokens *t, const char *jti, size_t len, int64_t now, int64_t until);
enum revoked_answer revoked_tokens_check(struct revoked_tokens *t, const char *jti, size_t len, int64_t now);
/* See above: true once the table holds every revocation; false makes every
 * miss REVOKED_UNKNOWN. */
void revoked_tokens_set_complete(struct revoked_tokens *t, bool complete);
bool revoked_tokens_complete(struct revoked_tokens *t);

/* For tests: live entries now, and sets that currently distrust misses. */
size_t revoked_tokens_count(struct revoked_tokens *t, int64_t now);
size_t revoked_tokens_untrusted_sets(struct revoked_tokens *t, int64_t now);
/* For tests: take the lock of jti's set and never release it. */
void revoked_tokens_debug_lock_set_for(struct revoked_tokens *t, const char *jti, size_t len);
#endif
