/*
 * Session keys the database recently said it does not know (see
 * shm/unknown_tokens.h and session_cache_note_unknown). Every rule here errs
 * towards forgetting: an entry lost only costs one more database query, an
 * entry kept too long would refuse a valid session.
 */
#include "shm/unknown_tokens.h"
#include "shm/set_lock.h"

#include <stdalign.h>

struct unknown_entry {
	uint8_t key[32];	/* SHA-256(token) */
	int64_t until;		/* exclusive */
};

/* Read without the slots: dense, so init and clear touch only these. */
struct unknown_head {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
	/* Inserts of this set's keys, bumped under the lock: a miss the
	 * database reported before one of them is stale and not recorded. */
	_Atomic uint64_t inserts;
	_Atomic uint64_t hits;
};

struct unknown_block {
	alignas(SHM_CACHE_LINE) struct unknown_entry slots[SHM_WAYS];
};

struct unknown_tokens {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	alignas(SHM_CACHE_LINE) struct unknown_head heads[];
};

/* A set's two halves. */
struct unknown_set {
	struct unknown_head *head;
	struct unknown_block *block;
};

static const struct shm_table_shape shape = {
	sizeof(struct unknown_tokens), sizeof(struct unknown_head), sizeof(struct unknown_block),
};

size_t unknown_tokens_size(size_t entries)
{
	return shm_table_size(entries, shape);
}

struct unknown_tokens *unknown_tokens_init(void *mem, size_t entries)
{
	struct unknown_tokens *t = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, shape, &geo))
		return NULL;
	t->geo = geo;
	if (shm_heads_init(t->heads, geo.set_count, sizeof(t->heads[0])) != 0)
		return NULL;
	return t;
}

static struct unknown_set set_at(struct unknown_tokens *t, size_t n)
{
	return (struct unknown_set){ &t->heads[n], shm_table_block(t, &t->geo, n) };
}

static struct unknown_set set_for_key(struct unknown_tokens *t, const uint8_t key[32])
{
	return set_at(t, shm_key_word(key, 0) & t->geo.set_mask);
}

static void count_insert(struct unknown_head *h)
{
	atomic_store_explicit(&h->inserts, atomic_load_explicit(&h->inserts, memory_order_relaxed) + 1,
	    memory_order_release);
}

static void wipe(struct unknown_set s)
{
	s.head->occupied = 0;
	memset(s.block->slots, 0, sizeof(s.block->slots));
}

/* A dead owner may have been halfway through an insert's forget: drop the
 * set and count an insert, so no miss read before it is recorded. */
static bool lock_set(struct unknown_set s)
{
	switch (set_lock_acquire(&s.head->lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		wipe(s);
		count_insert(s.head);
		set_lock_consistent(&s.head->lock);
		log_warnx("unknown tokens: a process died holding a set lock; set wiped");
		return true;
	default:
		return false;
	}
}

static void unlock_set(struct unknown_set s)
{
	set_lock_release(&s.head->lock);
}

static int find_slot(struct unknown_set s, const uint8_t key[32])
{
	for (int i = 0; i < SHM_WAYS; i++)
		if ((s.head->occupied & (1u << i)) && memcmp(s.block->slots[i].key, key, 32) == 0)
			return i;
	return -1;
}

static void clear_slot(struct unknown_set s, int i)
{
	s.head->occupied &= (uint8_t)~(1u << i);
	memset(&s.block->slots[i], 0, sizeof(s.block->slots[i]));
}

/* A free or expired slot, else the one expiring soonest. */
static int victim_slot(struct unknown_set s, int64_t now)
{
	int victim = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		if (!(s.head->occupied & (1u << i)) || s.block->slots[i].until <= now)
			return i;
		if (s.block->slots[i].until < s.block->slots[victim].until)
			victim = i;
	}
	return victim;
}

uint64_t unknown_tokens_generation(struct unknown_tokens *t, const uint8_t key[32])
{
	return atomic_load_explicit(&set_for_key(t, key).head->inserts, memory_order_acquire);
}

bool unknown_tokens_note(struct unknown_tokens *t, const uint8_t key[32], int64_t now, int64_t until, uint64_t since)
{
	struct unknown_set s = set_for_key(t, key);
	int i;

	if (now >= until || !lock_set(s))
		return false;
	/* Compared under the lock that every forget bumps under: either the
	 * insert came first and we see it, or it comes after and drops us. */
	if (atomic_load_explicit(&s.head->inserts, memory_order_relaxed) != since) {
		unlock_set(s);
		return false;
	}
	if ((i = find_slot(s, key)) < 0) {
		i = victim_slot(s, now);
		memcpy(s.block->slots[i].key, key, 32);
		s.head->occupied |= (uint8_t)(1u << i);
	}
	s.block->slots[i].until = until;
	unlock_set(s);
	return true;
}

bool unknown_tokens_known(struct unknown_tokens *t, const uint8_t key[32], int64_t now)
{
	struct unknown_set s = set_for_key(t, key);
	bool known = false;
	int i;

	/* A set we cannot lock answers "ask the database". */
	if (!lock_set(s))
		return false;
	if ((i = find_slot(s, key)) >= 0) {
		if (now < s.block->slots[i].until) {
			known = true;
			shm_counter_bump(&s.head->hits, 1);
		} else {
			clear_slot(s, i);
		}
	}
	unlock_set(s);
	return known;
}

void unknown_tokens_forget(struct unknown_tokens *t, const uint8_t key[32])
{
	struct unknown_set s = set_for_key(t, key);
	int i;

	/* Unlockable, the set cannot answer known either: nothing to drop. */
	if (!lock_set(s))
		return;
	count_insert(s.head);
	if ((i = find_slot(s, key)) >= 0)
		clear_slot(s, i);
	unlock_set(s);
}

void unknown_tokens_clear(struct unknown_tokens *t)
{
	for (size_t n = 0; n < t->geo.set_count; n++) {
		struct unknown_set s = set_at(t, n);

		if (!lock_set(s))
			continue;
		/* An empty set's slots are zero or were never touched. */
		if (s.head->occupied)
			wipe(s);
		unlock_set(s);
	}
}

uint64_t unknown_tokens_hits(struct unknown_tokens *t)
{
	uint64_t hits = 0;

	for (size_t n = 0; n < t->geo.set_count; n++)
		hits += shm_counter_read(&t->heads[n].hits);
	return hits;
}

void unknown_tokens_debug_lock_set_for_key(struct unknown_tokens *t, const uint8_t key[32])
{
	lock_set(set_for_key(t, key));
}
