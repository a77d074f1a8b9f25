/*
 * Internal to shm/: the pieces shared by the set-associative tables (session
 * cache, unknown tokens, rate limits, nonces, revoked tokens). Each table is
 * an array of sets of SHM_WAYS slots; each set has its own process-shared
 * robust mutex, so a process that dies holding one only costs that set's
 * contents, never a wedged table. The locks live in a dense array of set
 * heads apart from the slots (see struct shm_table_geometry).
 */
#ifndef DREAMAUTH_SHM_SET_LOCK_H
#define DREAMAUTH_SHM_SET_LOCK_H
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"

#define SHM_WAYS 8
#define SHM_MIN_ENTRIES 64
#define SHM_CACHE_LINE 64

/* Round an entry count up to a power of two (at least SHM_MIN_ENTRIES);
 * 0 if that would overflow. */
static inline size_t shm_round_entries(size_t entries)
{
	size_t rounded = SHM_MIN_ENTRIES;

	while (rounded < entries) {
		if (rounded > SIZE_MAX / 2)
			return 0;
		rounded *= 2;
	}
	return rounded;
}

/* Where a table's parts lie. A table is its header, then one head per set
 * (dense: the set's lock, occupancy bits and whatever else is read without
 * the slots), then one block of slots per set. Init, clear and statistics
 * touch only the heads, so a block's pages are first allocated when a slot
 * of that set is used: an idle table costs its heads, not its size. */
struct shm_table_geometry {
	size_t entries;
	size_t set_count;
	uint64_t set_mask;
	size_t blocks_at;	/* bytes from the table to its first block */
	size_t block_size;
};

/* What a table is made of: header bytes, then per set a head and a block of
 * slots (types aligned to the cache line, so no two sets share a line). */
struct shm_table_shape {
	size_t header, head_size, block_size;
};

static inline size_t shm_align_line(size_t n)
{
	return (n + SHM_CACHE_LINE - 1) & ~(size_t)(SHM_CACHE_LINE - 1);
}

/* Geometry and total bytes of a table of entries (rounded as above); the
 * size is 0 if that overflows. */
static inline size_t shm_table_layout(size_t entries, struct shm_table_shape shape, struct shm_table_geometry *g)
{
	size_t rounded = shm_round_entries(entries), set_count, heads_end;

	if (rounded == 0)
		return 0;
	set_count = rounded / SHM_WAYS;
	/* Header and heads under an eighth of SIZE_MAX, blocks under a
	 * quarter: the sum, alignment included, cannot wrap. */
	if (shape.header > SIZE_MAX / 8 || set_count > (SIZE_MAX / 8) / shape.head_size ||
	    set_count > (SIZE_MAX / 4) / shape.block_size)
		return 0;
	heads_end = shm_align_line(shape.header + set_count * shape.head_size);
	g->entries = rounded;
	g->set_count = set_count;
	g->set_mask = set_count - 1;
	g->blocks_at = heads_end;
	g->block_size = shape.block_size;
	return heads_end + set_count * shape.block_size;
}

/* Bytes for a table of entries of this shape; 0 on overflow. */
static inline size_t shm_table_size(size_t entries, struct shm_table_shape shape)
{
	struct shm_table_geometry g;

	return shm_table_layout(entries, shape, &g);
}

/* Geometry for a table of entries of this shape placed at mem. false if mem
 * is NULL or not cache-line aligned, or entries too large. */
static inline bool shm_table_geometry_init(const void *mem, size_t entries, struct shm_table_shape shape,
    struct shm_table_geometry *g)
{
	if (!mem || ((uintptr_t)mem & (SHM_CACHE_LINE - 1)))
		return false;
	return shm_table_layout(entries, shape, g) != 0;
}

/* Set n's block of slots, in the table at table. */
static inline void *shm_table_block(void *table, const struct shm_table_geometry *g, size_t n)
{
	return (char *)table + g->blocks_at + n * g->block_size;
}

/* Eight key bytes as a word; keys are uniform hashes, so any bytes will do. */
static inline uint64_t shm_key_word(const uint8_t *key, size_t offset)
{
	uint64_t word;

	memcpy(&word, key + offset, sizeof(word));
	return word;
}

static inline int set_lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int rc;

	if ((rc = pthread_mutexattr_init(&attr)) != 0)
		return rc;
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
}

/* Zero count heads of head_size bytes, each starting with its set's lock,
 * and make the locks; -1 if one cannot be made. The blocks are left alone:
 * a slot means nothing until its occupied bit is set. */
static inline int shm_heads_init(void *heads, size_t count, size_t head_size)
{
	for (size_t i = 0; i < count; i++) {
		void *head = (char *)heads + i * head_size;

		memset(head, 0, head_size);
		if (set_lock_init((pthread_mutex_t *)head) != 0)
			return -1;
	}
	return 0;
}

enum set_lock_result {
	SET_LOCK_OK,
	SET_LOCK_OWNER_DEAD,	/* locked, but the previous owner died: wipe, then set_lock_consistent() */
	SET_LOCK_FAILED,	/* not locked */
};

static inline enum set_lock_result set_lock_acquire(pthread_mutex_t *lock)
{
	int rc = pthread_mutex_lock(lock);

	if (rc == 0)
		return SET_LOCK_OK;
	if (rc == EOWNERDEAD)
		return SET_LOCK_OWNER_DEAD;
	/* ENOTRECOVERABLE can only follow an unlock without consistent(),
	 * which this code never does; degrade to "not cached" rather than die. */
	log_errorx("shm: set lock failed: %s", strerror(rc));
	return SET_LOCK_FAILED;
}

static inline void set_lock_consistent(pthread_mutex_t *lock)
{
	pthread_mutex_consistent(lock);
}

static inline void set_lock_release(pthread_mutex_t *lock)
{
	pthread_mutex_unlock(lock);
}

/* Statistics live in each set and are only written under its lock, so a
 * relaxed load+store is enough (no locked instruction, no shared hot line);
 * readers outside the lock see a slightly stale but untorn value. */
static inline void shm_counter_bump(_Atomic uint64_t *counter, uint64_t by)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + by,
	    memory_order_relaxed);
}

static inline uint64_t shm_counter_read(_Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}
#endif
