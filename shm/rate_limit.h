/*
 * Fixed-window attempt counters in shared memory (brute-force defence) and a
 * single-use nonce table (CSRF tokens, authorization codes in flight, SIWE
 * nonces). Keys are hashed; tables are bounded; the same robust-mutex-per-set
 * layout as the session cache.
 */
#ifndef DREAMAUTH_RATE_LIMIT_H
#define DREAMAUTH_RATE_LIMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t rate_limit_size(size_t entries);
struct rate_limit *rate_limit_init(void *mem, size_t entries);
/* Current count for key in the window containing now, without changing it.
 * When count >= max, *retry_after is set to seconds until the window ends. */
int rate_limit_peek(struct rate_limit *rl, const char *key, int64_t now, int window, int max, int *retry_after);
/* Count one attempt; returns the new count. */
int rate_limit_hit(struct rate_limit *rl, const char *key, int64_t now, int window);
/* Count one attempt unless max are already counted in the window containing
 * now, atomically: returns the new count (1..max), 0 when refused (nothing
 * counted; *retry_after set to seconds until the window ends), -1 if the
 * counter cannot be reached (callers must not let the attempt through). */
int rate_limit_reserve(struct rate_limit *rl, const char *key, int64_t now, int window, int max, int *retry_after);
/* Take back one attempt counted (hit or reserved) at counted_at, for an
 * attempt that turned out not to be a failure; a no-op once that window has
 * ended or the counter was reset. */
void rate_limit_refund(struct rate_limit *rl, const char *key, int64_t counted_at, int window);
void rate_limit_reset(struct rate_limit *rl, const char *key);
/* For tests: take the lock of key's set and never release it. */
void rate_limit_debug_lock_set_for_key(struct rate_limit *rl, const char *key);

size_t nonce_table_size(size_t entries);
struct nonce_table *nonce_table_init(void *mem, size_t entries);
/* true the first time key is consumed before expires_at; false on replay.
 * When the table is full the oldest expiring entry is evicted (a replay of
 * an evicted nonce must be caught by its own expiry/signature check). */
bool nonce_consume(struct nonce_table *t, const uint8_t key[32], int64_t now, int64_t expires_at);
#endif
