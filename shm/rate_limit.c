/*
 * Fixed-window attempt counters and single-use nonces in shared memory. Both
 * are 8-way set-associative tables with one robust process-shared mutex per
 * set (see shm/set_lock.h); a set whose lock owner died is wiped and reused.
 * See shm/rate_limit.h.
 */
#include "shm/rate_limit.h"
#include "shm/set_lock.h"
#include "common/secure.h"

#include <assert.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>

#define RATE_SALT_LEN 16
#define RATE_KEY_INLINE_MAX 256

struct rate_entry {
	uint8_t key[32];	/* SHA-256(salt || key string) */
	int64_t window_start;
	int32_t count;
};

struct rate_set {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
	struct rate_entry slots[SHM_WAYS];
};

struct rate_limit {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	/* Random per region: without it anyone can compute which keys share a
	 * set and flush a victim's counter by hitting eight others. */
	uint8_t salt[RATE_SALT_LEN];
	alignas(SHM_CACHE_LINE) struct rate_set sets[];
};

struct nonce_entry {
	uint8_t key[32];
	int64_t expires_at;
};

struct nonce_set {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;
	struct nonce_entry slots[SHM_WAYS];
};

struct nonce_table {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	alignas(SHM_CACHE_LINE) struct nonce_set sets[];
};

static bool slot_used(uint8_t occupied, int i)
{
	return occupied & (1u << i);
}

/* Both set types start with their lock, so one loop can zero and lock them. */
static_assert(offsetof(struct rate_set, lock) == 0, "rate_set starts with its lock");
static_assert(offsetof(struct nonce_set, lock) == 0, "nonce_set starts with its lock");

/* Shared by both inits: zero set_count sets of set_size bytes and make each
 * one's lock; -1 if a lock cannot be made. */
static int sets_init(void *sets, size_t set_count, size_t set_size)
{
	for (size_t i = 0; i < set_count; i++) {
		void *s = (char *)sets + i * set_size;

		memset(s, 0, set_size);
		if (set_lock_init((pthread_mutex_t *)s) != 0)
			return -1;
	}
	return 0;
}

/* Shared by both tables: lock a set; if the previous owner died mid-update
 * its slots may be half written, so forget them all (table names the log). */
static bool lock_or_wipe(pthread_mutex_t *lock, uint8_t *occupied, void *slots, size_t slots_size, const char *table)
{
	switch (set_lock_acquire(lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		*occupied = 0;
		memset(slots, 0, slots_size);
		set_lock_consistent(lock);
		log_warnx("%s: a process died holding a set lock; set wiped", table);
		return true;
	default:
		return false;
	}
}

/* ---- rate limits ---- */

size_t rate_limit_size(size_t entries)
{
	return shm_table_size(entries, sizeof(struct rate_limit), sizeof(struct rate_set));
}

struct rate_limit *rate_limit_init(void *mem, size_t entries)
{
	struct rate_limit *rl = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, &geo))
		return NULL;
	rl->geo = geo;
	secure_random(rl->salt, sizeof(rl->salt));
	if (sets_init(rl->sets, rl->geo.set_count, sizeof(rl->sets[0])) != 0)
		return NULL;
	return rl;
}

static void rate_hash_key(const struct rate_limit *rl, const char *key, uint8_t out[32])
{
	uint8_t buf[RATE_SALT_LEN + RATE_KEY_INLINE_MAX];
	size_t len = strlen(key);

	memcpy(buf, rl->salt, RATE_SALT_LEN);
	if (len <= RATE_KEY_INLINE_MAX) {
		memcpy(buf + RATE_SALT_LEN, key, len);
		secure_sha256(buf, RATE_SALT_LEN + len, out);
	} else {
		/* Long keys are hashed first so the buffer stays bounded. */
		secure_sha256(key, len, buf + RATE_SALT_LEN);
		secure_sha256(buf, RATE_SALT_LEN + SHA256_LEN, out);
	}
}

static bool rate_lock(struct rate_set *s)
{
	return lock_or_wipe(&s->lock, &s->occupied, s->slots, sizeof(s->slots), "rate limit");
}

static struct rate_set *rate_set_for(struct rate_limit *rl, const uint8_t hash[32])
{
	return &rl->sets[shm_key_word(hash, 0) & rl->geo.set_mask];
}

/* Every operation on a key starts here: hash it (into hash) and lock the set
 * that holds it. NULL if the set cannot be locked. */
static struct rate_set *rate_lock_key(struct rate_limit *rl, const char *key, uint8_t hash[32])
{
	struct rate_set *s;

	rate_hash_key(rl, key, hash);
	s = rate_set_for(rl, hash);
	return rate_lock(s) ? s : NULL;
}

static int rate_find(const struct rate_set *s, const uint8_t hash[32])
{
	for (int i = 0; i < SHM_WAYS; i++)
		if (slot_used(s->occupied, i) && memcmp(s->slots[i].key, hash, 32) == 0)
			return i;
	return -1;
}

/* Start of the fixed window containing now; also right for negative now. */
static int64_t window_start_of(int64_t now, int window)
{
	int64_t offset = now % window;

	if (offset < 0)
		offset += window;
	return now - offset;
}

int rate_limit_peek(struct rate_limit *rl, const char *key, int64_t now, int window, int max, int *retry_after)
{
	uint8_t hash[32];
	struct rate_set *s;
	int64_t start;
	int count = 0, i;

	if (retry_after)
		*retry_after = 0;
	if (window < 1)
		window = 1;
	start = window_start_of(now, window);
	if (!(s = rate_lock_key(rl, key, hash)))
		return 0;
	if ((i = rate_find(s, hash)) >= 0 && s->slots[i].window_start == start)
		count = s->slots[i].count;
	set_lock_release(&s->lock);
	if (count >= max && retry_after)
		*retry_after = (int)(start + window - now);
	return count;
}

/* Empty slot, else the oldest window; among equals the lowest count, since
 * dropping the busiest counter is what a brute-forcer would want. */
static int rate_victim(const struct rate_set *s)
{
	int victim = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		const struct rate_entry *e = &s->slots[i], *best = &s->slots[victim];

		if (!slot_used(s->occupied, i))
			return i;
		if (e->window_start < best->window_start ||
		    (e->window_start == best->window_start && e->count < best->count))
			victim = i;
	}
	return victim;
}

/* The locked set's entry for hash in the window starting at start: found,
 * else made in a victim slot; a count from an older window starts over. */
static struct rate_entry *rate_entry_in_window(struct rate_set *s, const uint8_t hash[32], int64_t start)
{
	struct rate_entry *e;
	int i;

	if ((i = rate_find(s, hash)) < 0) {
		i = rate_victim(s);
		e = &s->slots[i];
		memcpy(e->key, hash, 32);
		e->window_start = start;
		e->count = 0;
		s->occupied |= (uint8_t)(1u << i);
	}
	e = &s->slots[i];
	if (e->window_start != start) {
		e->window_start = start;
		e->count = 0;
	}
	return e;
}

int rate_limit_hit(struct rate_limit *rl, const char *key, int64_t now, int window)
{
	uint8_t hash[32];
	struct rate_set *s;
	struct rate_entry *e;
	int count;

	if (window < 1)
		window = 1;
	if (!(s = rate_lock_key(rl, key, hash)))
		return 0;
	e = rate_entry_in_window(s, hash, window_start_of(now, window));
	if (e->count < INT32_MAX)
		e->count++;
	count = e->count;
	set_lock_release(&s->lock);
	return count;
}

int rate_limit_reserve(struct rate_limit *rl, const char *key, int64_t now, int window, int max, int *retry_after)
{
	uint8_t hash[32];
	struct rate_set *s;
	struct rate_entry *e;
	int64_t start;
	int count = 0;

	if (retry_after)
		*retry_after = 0;
	if (window < 1)
		window = 1;
	start = window_start_of(now, window);
	if (!(s = rate_lock_key(rl, key, hash)))
		return -1;
	/* Checked and counted under one lock: concurrent callers cannot all see
	 * max - 1 and pass together. */
	e = rate_entry_in_window(s, hash, start);
	if (e->count < max)
		count = ++e->count;
	set_lock_release(&s->lock);
	if (count == 0 && retry_after)
		*retry_after = (int)(start + window - now);
	return count;
}

void rate_limit_refund(struct rate_limit *rl, const char *key, int64_t counted_at, int window)
{
	uint8_t hash[32];
	struct rate_set *s;
	int i;

	if (window < 1)
		window = 1;
	if (!(s = rate_lock_key(rl, key, hash)))
		return;
	/* Only the window the attempt was counted in: a newer one never held it. */
	if ((i = rate_find(s, hash)) >= 0 && s->slots[i].window_start == window_start_of(counted_at, window) &&
	    s->slots[i].count > 0)
		s->slots[i].count--;
	set_lock_release(&s->lock);
}

void rate_limit_reset(struct rate_limit *rl, const char *key)
{
	uint8_t hash[32];
	struct rate_set *s;
	int i;

	if (!(s = rate_lock_key(rl, key, hash)))
		return;
	if ((i = rate_find(s, hash)) >= 0) {
		s->occupied &= (uint8_t)~(1u << i);
		memset(&s->slots[i], 0, sizeof(s->slots[i]));
	}
	set_lock_release(&s->lock);
}

void rate_limit_debug_lock_set_for_key(struct rate_limit *rl, const char *key)
{
	uint8_t hash[32];

	(void)rate_lock_key(rl, key, hash);
}

/* ---- nonces ---- */

size_t nonce_table_size(size_t entries)
{
	return shm_table_size(entries, sizeof(struct nonce_table), sizeof(struct nonce_set));
}

struct nonce_table *nonce_table_init(void *mem, size_t entries)
{
	struct nonce_table *t = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, &geo))
		return NULL;
	t->geo = geo;
	if (sets_init(t->sets, t->geo.set_count, sizeof(t->sets[0])) != 0)
		return NULL;
	return t;
}

static bool nonce_lock(struct nonce_set *s)
{
	return lock_or_wipe(&s->lock, &s->occupied, s->slots, sizeof(s->slots), "nonce table");
}

/* Empty slot, else an expired one, else the one expiring soonest. */
static int nonce_victim(const struct nonce_set *s, int64_t now)
{
	int victim = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		if (!slot_used(s->occupied, i) || s->slots[i].expires_at <= now)
			return i;
		if (s->slots[i].expires_at < s->slots[victim].expires_at)
			victim = i;
	}
	return victim;
}

bool nonce_consume(struct nonce_table *t, const uint8_t key[32], int64_t now, int64_t expires_at)
{
	struct nonce_set *s = &t->sets[shm_key_word(key, 0) & t->geo.set_mask];
	bool fresh = true;
	int i = -1;

	/* Already expired: never valid, so never recorded. */
	if (now >= expires_at)
		return false;
	/* Fail closed: a nonce we cannot record must not be accepted. */
	if (!nonce_lock(s))
		return false;
	for (int j = 0; j < SHM_WAYS; j++) {
		if (slot_used(s->occupied, j) && memcmp(s->slots[j].key, key, 32) == 0) {
			i = j;
			break;
		}
	}
	if (i >= 0 && s->slots[i].expires_at > now)
		fresh = false;	/* replay */
	else {
		if (i < 0)
			i = nonce_victim(s, now);
		memcpy(s->slots[i].key, key, 32);
		s->slots[i].expires_at = expires_at;
		s->occupied |= (uint8_t)(1u << i);
	}
	set_lock_release(&s->lock);
	return fresh;
}
