/*
 * Fixed-window attempt counters and single-use nonces in shared memory. Both
 * are 8-way set-associative tables with one robust process-shared mutex per
 * set (see shm/set_lock.h); a set whose lock owner died is wiped and reused.
 * The locks and occupancy bits sit in a dense array of heads, the slots
 * apart, so only the sets in use have their slots' pages allocated.
 * See shm/rate_limit.h.
 */
#include "shm/rate_limit.h"
#include "shm/set_lock.h"
#include "common/secure.h"

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

/* A set's lock and occupancy, in the dense array of heads (both tables). */
struct set_head {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
};

struct rate_block {
	alignas(SHM_CACHE_LINE) struct rate_entry slots[SHM_WAYS];
};

/* A set's two halves. */
struct rate_set {
	struct set_head *head;
	struct rate_block *block;
};

struct rate_limit {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	/* Random per region: without it anyone can compute which keys share a
	 * set and flush a victim's counter by hitting eight others. */
	uint8_t salt[RATE_SALT_LEN];
	alignas(SHM_CACHE_LINE) struct set_head heads[];
};

struct nonce_entry {
	uint8_t key[32];
	int64_t expires_at;
};

struct nonce_block {
	alignas(SHM_CACHE_LINE) struct nonce_entry slots[SHM_WAYS];
};

struct nonce_set {
	struct set_head *head;
	struct nonce_block *block;
};

struct nonce_table {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	alignas(SHM_CACHE_LINE) struct set_head heads[];
};

static const struct shm_table_shape rate_shape = {
	sizeof(struct rate_limit), sizeof(struct set_head), sizeof(struct rate_block),
};
static const struct shm_table_shape nonce_shape = {
	sizeof(struct nonce_table), sizeof(struct set_head), sizeof(struct nonce_block),
};

static bool slot_used(uint8_t occupied, int i)
{
	return occupied & (1u << i);
}

/* Shared by both tables: lock a set; if the previous owner died mid-update
 * its slots may be half written, so forget them all (table names the log). */
static bool lock_or_wipe(struct set_head *head, void *slots, size_t slots_size, const char *table)
{
	switch (set_lock_acquire(&head->lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		head->occupied = 0;
		memset(slots, 0, slots_size);
		set_lock_consistent(&head->lock);
		log_warnx("%s: a process died holding a set lock; set wiped", table);
		return true;
	default:
		return false;
	}
}

/* ---- rate limits ---- */

size_t rate_limit_size(size_t entries)
{
	return shm_table_size(entries, rate_shape);
}

struct rate_limit *rate_limit_init(void *mem, size_t entries)
{
	struct rate_limit *rl = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, rate_shape, &geo))
		return NULL;
	rl->geo = geo;
	secure_random(rl->salt, sizeof(rl->salt));
	if (shm_heads_init(rl->heads, geo.set_count, sizeof(rl->heads[0])) != 0)
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

static struct rate_set rate_set_for(struct rate_limit *rl, const uint8_t hash[32])
{
	size_t n = shm_key_word(hash, 0) & rl->geo.set_mask;

	return (struct rate_set){ &rl->heads[n], shm_table_block(rl, &rl->geo, n) };
}

/* Every operation on a key starts here: hash it (into hash) and lock the set
 * that holds it (into *s). false if the set cannot be locked. */
static bool rate_lock_key(struct rate_limit *rl, const char *key, uint8_t hash[32], struct rate_set *s)
{
	rate_hash_key(rl, key, hash);
	*s = rate_set_for(rl, hash);
	return lock_or_wipe(s->head, s->block->slots, sizeof(s->block->slots), "rate limit");
}

static int rate_find(const struct rate_set *s, const uint8_t hash[32])
{
	for (int i = 0; i < SHM_WAYS; i++)
		if (slot_used(s->head->occupied, i) && memcmp(s->block->slots[i].key, hash, 32) == 0)
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
	struct rate_set s;
	int64_t start;
	int count = 0, i;

	if (retry_after)
		*retry_after = 0;
	if (window < 1)
		window = 1;
	start = window_start_of(now, window);
	if (!rate_lock_key(rl, key, hash, &s))
		return 0;
	if ((i = rate_find(&s, hash)) >= 0 && s.block->slots[i].window_start == start)
		count = s.block->slots[i].count;
	set_lock_release(&s.head->lock);
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
		const struct rate_entry *e = &s->block->slots[i], *best = &s->block->slots[victim];

		if (!slot_used(s->head->occupied, i))
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
		e = &s->block->slots[i];
		memcpy(e->key, hash, 32);
		e->window_start = start;
		e->count = 0;
		s->head->occupied |= (uint8_t)(1u << i);
	}
	e = &s->block->slots[i];
	if (e->window_start != start) {
		e->window_start = start;
		e->count = 0;
	}
	return e;
}

int rate_limit_hit(struct rate_limit *rl, const char *key, int64_t now, int window)
{
	uint8_t hash[32];
	struct rate_set s;
	struct rate_entry *e;
	int count;

	if (window < 1)
		window = 1;
	if (!rate_lock_key(rl, key, hash, &s))
		return 0;
	e = rate_entry_in_window(&s, hash, window_start_of(now, window));
	if (e->count < INT32_MAX)
		e->count++;
	count = e->count;
	set_lock_release(&s.head->lock);
	return count;
}

int rate_limit_reserve(struct rate_limit *rl, const char *key, int64_t now, int window, int max, int *retry_after)
{
	uint8_t hash[32];
	struct rate_set s;
	struct rate_entry *e;
	int64_t start;
	int count = 0;

	if (retry_after)
		*retry_after = 0;
	if (window < 1)
		window = 1;
	start = window_start_of(now, window);
	if (!rate_lock_key(rl, key, hash, &s))
		return -1;
	/* Checked and counted under one lock: concurrent callers cannot all see
	 * max - 1 and pass together. */
	e = rate_entry_in_window(&s, hash, start);
	if (e->count < max)
		count = ++e->count;
	set_lock_release(&s.head->lock);
	if (count == 0 && retry_after)
		*retry_after = (int)(start + window - now);
	return count;
}

void rate_limit_refund(struct rate_limit *rl, const char *key, int64_t counted_at, int window)
{
	uint8_t hash[32];
	struct rate_set s;
	int i;

	if (window < 1)
		window = 1;
	if (!rate_lock_key(rl, key, hash, &s))
		return;
	/* Only the window the attempt was counted in: a newer one never held it. */
	if ((i = rate_find(&s, hash)) >= 0) {
		struct rate_entry *e = &s.block->slots[i];

		if (e->window_start == window_start_of(counted_at, window) && e->count > 0)
			e->count--;
	}
	set_lock_release(&s.head->lock);
}

void rate_limit_reset(struct rate_limit *rl, const char *key)
{
	uint8_t hash[32];
	struct rate_set s;
	int i;

	if (!rate_lock_key(rl, key, hash, &s))
		return;
	if ((i = rate_find(&s, hash)) >= 0) {
		s.head->occupied &= (uint8_t)~(1u << i);
		memset(&s.block->slots[i], 0, sizeof(s.block->slots[i]));
	}
	set_lock_release(&s.head->lock);
}

void rate_limit_debug_lock_set_for_key(struct rate_limit *rl, const char *key)
{
	uint8_t hash[32];
	struct rate_set s;

	(void)rate_lock_key(rl, key, hash, &s);
}

/* ---- nonces ---- */

size_t nonce_table_size(size_t entries)
{
	return shm_table_size(entries, nonce_shape);
}

struct nonce_table *nonce_table_init(void *mem, size_t entries)
{
	struct nonce_table *t = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, nonce_shape, &geo))
		return NULL;
	t->geo = geo;
	if (shm_heads_init(t->heads, geo.set_count, sizeof(t->heads[0])) != 0)
		return NULL;
	return t;
}

static struct nonce_set nonce_set_for(struct nonce_table *t, const uint8_t key[32])
{
	size_t n = shm_key_word(key, 0) & t->geo.set_mask;

	return (struct nonce_set){ &t->heads[n], shm_table_block(t, &t->geo, n) };
}

static bool nonce_lock(struct nonce_set s)
{
	return lock_or_wipe(s.head, s.block->slots, sizeof(s.block->slots), "nonce table");
}

/* Empty slot, else an expired one, else the one expiring soonest. */
static int nonce_victim(struct nonce_set s, int64_t now)
{
	const struct nonce_entry *slots = s.block->slots;
	int victim = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		if (!slot_used(s.head->occupied, i) || slots[i].expires_at <= now)
			return i;
		if (slots[i].expires_at < slots[victim].expires_at)
			victim = i;
	}
	return victim;
}

static int nonce_find(struct nonce_set s, const uint8_t key[32])
{
	for (int i = 0; i < SHM_WAYS; i++)
		if (slot_used(s.head->occupied, i) && memcmp(s.block->slots[i].key, key, 32) == 0)
			return i;
	return -1;
}

bool nonce_consume(struct nonce_table *t, const uint8_t key[32], int64_t now, int64_t expires_at)
{
	struct nonce_set s = nonce_set_for(t, key);
	struct nonce_entry *e;
	bool fresh = true;
	int i;

	/* Already expired: never valid, so never recorded. */
	if (now >= expires_at)
		return false;
	/* Fail closed: a nonce we cannot record must not be accepted. */
	if (!nonce_lock(s))
		return false;
	i = nonce_find(s, key);
	if (i >= 0 && s.block->slots[i].expires_at > now)
		fresh = false;	/* replay */
	else {
		if (i < 0)
			i = nonce_victim(s, now);
		e = &s.block->slots[i];
		memcpy(e->key, key, 32);
		e->expires_at = expires_at;
		s.head->occupied |= (uint8_t)(1u << i);
	}
	set_lock_release(&s.head->lock);
	return fresh;
}
