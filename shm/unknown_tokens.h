/*
 * Internal to shm/: the session cache's negative half, a small table of
 * session keys the database recently said it does not know, so a client
 * repeating a bogus or dead cookie costs a lookup here instead of a query.
 * Used through session_cache_note_unknown / session_cache_known_unknown
 * (shm/session_cache.h), which document the rules. Same layout as the other
 * tables: 8-way sets, dense heads holding the robust locks, slots apart.
 */
#ifndef DREAMAUTH_SHM_UNKNOWN_TOKENS_H
#define DREAMAUTH_SHM_UNKNOWN_TOKENS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unknown_tokens;

size_t unknown_tokens_size(size_t entries);
struct unknown_tokens *unknown_tokens_init(void *mem, size_t entries);
/* How many inserts key's set has seen; read before asking the database. */
uint64_t unknown_tokens_generation(struct unknown_tokens *t, const uint8_t key[32]);
/* Records key as unknown until `until` (exclusive), unless key's set saw an
 * insert since generation `since` was read. true if recorded. */
bool unknown_tokens_note(struct unknown_tokens *t, const uint8_t key[32], int64_t now, int64_t until, uint64_t since);
/* true while a recorded miss of key has not expired. */
bool unknown_tokens_known(struct unknown_tokens *t, const uint8_t key[32], int64_t now);
/* For every insert of key: drops its entry and counts the insert, so no
 * miss seen before it is recorded after it. */
void unknown_tokens_forget(struct unknown_tokens *t, const uint8_t key[32]);
void unknown_tokens_clear(struct unknown_tokens *t);
uint64_t unknown_tokens_hits(struct unknown_tokens *t);
void unknown_tokens_debug_lock_set_for_key(struct unknown_tokens *t, const uint8_t key[32]);
#endif
