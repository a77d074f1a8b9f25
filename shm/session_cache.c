/*
 * Session cache in shared memory: 8-way set-associative, one robust
 * process-shared mutex per set, clock (second chance) eviction within a set,
 * TTLs checked on read. Every read and write of an entry happens under its
 * set's lock and lookups copy the entry out, so callers never see a torn
 * entry. Each set is split in two: its head (lock, occupancy, clock,
 * statistics) in a dense array, and its block of slots apart, so that only
 * a set that holds sessions has its slots' pages allocated. The negative
 * cache (shm/unknown_tokens.c) follows the table. See shm/session_cache.h.
 */
#include "shm/session_cache.h"
#include "shm/set_lock.h"
#include "shm/unknown_tokens.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <time.h>

/* What is read without the slots: dense, 128 bytes a set (1 MiB for the
 * default 65536 entries), so init, clear, statistics and a miss in an empty
 * set touch only these pages. Two lines: the lock and clock state, then the
 * statistics (written under the lock, so a relaxed load+store is enough). */
struct cache_head {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
	uint8_t referenced;	/* clock bits, set on hit */
	uint8_t hand;		/* clock hand */
	/* alignas binds to one declarator: only the first counter starts the line. */
	alignas(SHM_CACHE_LINE) _Atomic uint64_t hits;
	_Atomic uint64_t misses, inserts, evictions, expired, owner_dead_recoveries;
};

/* A set's slots, 5.4 KiB: allocated when the first session lands here. */
struct cache_block {
	/* Key bytes 8..15 of each slot: a lookup scans one cache line and only
	 * touches the slot whose tag matches. */
	alignas(SHM_CACHE_LINE) uint64_t tags[SHM_WAYS];
	struct session_entry slots[SHM_WAYS];
};

struct session_cache {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	/* Bumped before every removal; see session_cache_insert_if_unchanged. */
	_Atomic uint64_t removals;
	size_t unknown_at;	/* bytes from here to the negative cache, after the blocks */
	alignas(SHM_CACHE_LINE) struct cache_head heads[];
};

/* A set's two halves. */
struct cache_set {
	struct cache_head *head;
	struct cache_block *block;
};

static const struct shm_table_shape shape = {
	sizeof(struct session_cache), sizeof(struct cache_head), sizeof(struct cache_block),
};

size_t session_cache_size(size_t entries)
{
	size_t table = shm_table_size(entries, shape), unknown = unknown_tokens_size(SESSION_CACHE_NEGATIVE_ENTRIES);

	if (table == 0 || unknown == 0 || table > SIZE_MAX / 2)
		return 0;
	return shm_align_line(table) + unknown;
}

struct session_cache *session_cache_init(void *mem, size_t entries)
{
	struct session_cache *c = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, shape, &geo))
		return NULL;
	c->geo = geo;
	atomic_store(&c->removals, 0);
	c->unknown_at = shm_align_line(shm_table_size(entries, shape));
	if (!unknown_tokens_init((char *)mem + c->unknown_at, SESSION_CACHE_NEGATIVE_ENTRIES) ||
	    shm_heads_init(c->heads, geo.set_count, sizeof(c->heads[0])) != 0)
		return NULL;
	return c;
}

static struct cache_set set_at(struct session_cache *c, size_t n)
{
	return (struct cache_set){ &c->heads[n], shm_table_block(c, &c->geo, n) };
}

static struct cache_set set_for_key(struct session_cache *c, const uint8_t key[32])
{
	return set_at(c, shm_key_word(key, 0) & c->geo.set_mask);
}

/* Forget every slot: a dead process may have left one half written. */
static void wipe_set(struct cache_set s)
{
	s.head->occupied = 0;
	s.head->referenced = 0;
	s.head->hand = 0;
	memset(s.block, 0, sizeof(*s.block));
}

static bool lock_set(struct cache_set s)
{
	switch (set_lock_acquire(&s.head->lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		wipe_set(s);
		shm_counter_bump(&s.head->owner_dead_recoveries, 1);
		set_lock_consistent(&s.head->lock);
		log_warnx("session cache: a process died holding a set lock; set wiped");
		return true;
	default:
		return false;
	}
}

static void unlock_set(struct cache_set s)
{
	set_lock_release(&s.head->lock);
}

/* Slot index holding key, or -1. Caller holds the lock. Reads the block
 * only when some slot is occupied, so a miss in an empty set touches the
 * head alone. */
static int find_slot(struct cache_set s, const uint8_t key[32])
{
	uint64_t tag = shm_key_word(key, 8);

	for (int i = 0; i < SHM_WAYS; i++)
		if ((s.head->occupied & (1u << i)) && s.block->tags[i] == tag &&
		    memcmp(s.block->slots[i].key, key, 32) == 0)
			return i;
	return -1;
}

static void clear_slot(struct cache_set s, int i)
{
	s.head->occupied &= (uint8_t)~(1u << i);
	s.head->referenced &= (uint8_t)~(1u << i);
	s.block->tags[i] = 0;
	/* Do not leave profile data lying around in a free slot. */
	memset(&s.block->slots[i], 0, sizeof(s.block->slots[i]));
}

/* Clears the slots in use and nothing else: free ones are zero already
 * (clear_slot, wipe_set) or were never touched, and touching them would
 * only allocate their pages, 44 MiB for the default size, each time the
 * revocation listener starts and clears the cache. */
static void empty_set(struct cache_set s)
{
	for (int i = 0; i < SHM_WAYS; i++)
		if (s.head->occupied & (1u << i))
			clear_slot(s, i);
	s.head->hand = 0;
}

static bool entry_expired(const struct session_entry *e, int64_t now)
{
	return now >= e->expires_at || now >= e->idle_expires_at;
}

int session_cache_lookup(struct session_cache *c, const uint8_t key[32], int64_t now, struct session_entry *out)
{
	struct cache_set s = set_for_key(c, key);
	int i, found = 0;

	if (!lock_set(s))
		return 0;
	i = find_slot(s, key);
	if (i < 0) {
		shm_counter_bump(&s.head->misses, 1);
	} else if (entry_expired(&s.block->slots[i], now)) {
		clear_slot(s, i);
		shm_counter_bump(&s.head->expired, 1);
		shm_counter_bump(&s.head->misses, 1);
	} else {
		*out = s.block->slots[i];
		s.head->referenced |= (uint8_t)(1u << i);
		shm_counter_bump(&s.head->hits, 1);
		found = 1;
	}
	unlock_set(s);
	return found;
}

/* Slot to (re)use for a new key. Caller holds the lock and the set is full
 * unless an empty slot exists. Prefers empty, then expired, then the clock's
 * choice; counts what it displaced. */
static int victim_slot(struct cache_set s)
{
	struct cache_head *h = s.head;
	int64_t now;

	if (h->occupied != 0xff) {
		for (int i = 0; i < SHM_WAYS; i++)
			if (!(h->occupied & (1u << i)))
				return i;
	}
	/* insert has no "now" argument; callers pass wall-clock seconds. */
	now = (int64_t)time(NULL);
	for (int i = 0; i < SHM_WAYS; i++) {
		if (entry_expired(&s.block->slots[i], now)) {
			shm_counter_bump(&h->expired, 1);
			return i;
		}
	}
	/* Second chance: skip (and clear) referenced slots; ends within
	 * SHM_WAYS + 1 steps because each step clears a bit. */
	while (h->referenced & (1u << h->hand)) {
		h->referenced &= (uint8_t)~(1u << h->hand);
		h->hand = (uint8_t)((h->hand + 1) % SHM_WAYS);
	}
	int victim = h->hand;
	h->hand = (uint8_t)((h->hand + 1) % SHM_WAYS);
	shm_counter_bump(&h->evictions, 1);
	return victim;
}

/* Shared memory outlives any one caller's struct: always store terminated strings. */
static void terminate_strings(struct session_entry *e)
{
	e->session_id[sizeof(e->session_id) - 1] = '\0';
	e->user_id[sizeof(e->user_id) - 1] = '\0';
	e->email[sizeof(e->email) - 1] = '\0';
	e->name[sizeof(e->name) - 1] = '\0';
	e->groups[sizeof(e->groups) - 1] = '\0';
	e->amr[sizeof(e->amr) - 1] = '\0';
}

static struct unknown_tokens *unknown_of(struct session_cache *c)
{
	return (struct unknown_tokens *)((char *)c + c->unknown_at);
}

static bool insert_locked(struct session_cache *c, const struct session_entry *e, bool any_time, uint64_t since)
{
	struct cache_set s = set_for_key(c, e->key);
	int i;

	/* Whatever happens below, the key exists now: a miss the database
	 * reported before this point must not refuse it (see the header). */
	unknown_tokens_forget(unknown_of(c), e->key);
	if (!lock_set(s))
		return false;
	/* Checked under the set lock, and removers bump before they lock: either
	 * we see the bump, or the removal runs after our insert and takes it. */
	if (!any_time && atomic_load(&c->removals) != since) {
		unlock_set(s);
		return false;
	}
	i = find_slot(s, e->key);
	if (i < 0) {
		i = victim_slot(s);
		/* Not used yet, so no reference bit; a clock victim's slot is
		 * the one the hand just left, so it still gets a full sweep. */
		s.head->referenced &= (uint8_t)~(1u << i);
	}
	s.block->slots[i] = *e;
	terminate_strings(&s.block->slots[i]);
	s.block->tags[i] = shm_key_word(e->key, 8);
	s.head->occupied |= (uint8_t)(1u << i);
	shm_counter_bump(&s.head->inserts, 1);
	unlock_set(s);
	return true;
}

void session_cache_insert(struct session_cache *c, const struct session_entry *e)
{
	(void)insert_locked(c, e, true, 0);
}

uint64_t session_cache_removals(struct session_cache *c)
{
	return atomic_load(&c->removals);
}

bool session_cache_insert_if_unchanged(struct session_cache *c, const struct session_entry *e, uint64_t since)
{
	return insert_locked(c, e, false, since);
}

void session_cache_touch(struct session_cache *c, const uint8_t key[32], int64_t idle_expires_at, int64_t db_touched_at)
{
	struct cache_set s = set_for_key(c, key);
	int i;

	if (!lock_set(s))
		return;
	if ((i = find_slot(s, key)) >= 0) {
		s.block->slots[i].idle_expires_at = idle_expires_at;
		s.block->slots[i].db_touched_at = db_touched_at;
		s.head->referenced |= (uint8_t)(1u << i);
	}
	unlock_set(s);
}

bool session_cache_remove(struct session_cache *c, const uint8_t key[32])
{
	struct cache_set s = set_for_key(c, key);
	int i;

	atomic_fetch_add(&c->removals, 1);
	if (!lock_set(s))
		return false;
	if ((i = find_slot(s, key)) >= 0)
		clear_slot(s, i);
	unlock_set(s);
	return i >= 0;
}

enum match_field { MATCH_USER_ID, MATCH_SESSION_ID };

/* Removes the locked set's entries whose field equals value; reads the
 * slots of occupied ways only. */
static size_t remove_matching_in(struct cache_set s, enum match_field field, const char *value,
    const char *except_session_id)
{
	size_t removed = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		const struct session_entry *e = &s.block->slots[i];

		if (!(s.head->occupied & (1u << i)))
			continue;
		if (strcmp(field == MATCH_USER_ID ? e->user_id : e->session_id, value) == 0 &&
		    !(except_session_id && strcmp(e->session_id, except_session_id) == 0)) {
			clear_slot(s, i);
			removed++;
		}
	}
	return removed;
}

/* Remove every entry whose field equals value; a full scan, set by set. */
static size_t remove_matching(struct session_cache *c, enum match_field field, const char *value,
    const char *except_session_id)
{
	size_t removed = 0;

	if (!value || !*value)
		return 0;
	atomic_fetch_add(&c->removals, 1);
	for (size_t n = 0; n < c->geo.set_count; n++) {
		struct cache_set s = set_at(c, n);

		if (!lock_set(s))
			continue;
		removed += remove_matching_in(s, field, value, except_session_id);
		unlock_set(s);
	}
	return removed;
}

size_t session_cache_remove_user(struct session_cache *c, const char *user_id)
{
	return remove_matching(c, MATCH_USER_ID, user_id, NULL);
}

size_t session_cache_remove_user_except(struct session_cache *c, const char *user_id, const char *except_session_id)
{
	return remove_matching(c, MATCH_USER_ID, user_id, except_session_id);
}

size_t session_cache_remove_session_id(struct session_cache *c, const char *session_id)
{
	return remove_matching(c, MATCH_SESSION_ID, session_id, NULL);
}

void session_cache_clear(struct session_cache *c)
{
	atomic_fetch_add(&c->removals, 1);
	for (size_t n = 0; n < c->geo.set_count; n++) {
		struct cache_set s = set_at(c, n);

		if (!lock_set(s))
			continue;
		empty_set(s);
		unlock_set(s);
	}
	unknown_tokens_clear(unknown_of(c));
}

void session_cache_get_stats(struct session_cache *c, struct session_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t n = 0; n < c->geo.set_count; n++) {
		struct cache_head *h = &c->heads[n];

		out->hits += shm_counter_read(&h->hits);
		out->misses += shm_counter_read(&h->misses);
		out->inserts += shm_counter_read(&h->inserts);
		out->evictions += shm_counter_read(&h->evictions);
		out->expired += shm_counter_read(&h->expired);
		out->owner_dead_recoveries += shm_counter_read(&h->owner_dead_recoveries);
	}
	out->unknown_hits = unknown_tokens_hits(unknown_of(c));
	out->capacity = c->geo.entries;
}

uint64_t session_cache_insert_generation(struct session_cache *c, const uint8_t key[32])
{
	return unknown_tokens_generation(unknown_of(c), key);
}

bool session_cache_note_unknown(struct session_cache *c, const uint8_t key[32], int64_t now, uint64_t since)
{
	return unknown_tokens_note(unknown_of(c), key, now, now + SESSION_CACHE_NEGATIVE_TTL, since);
}

bool session_cache_known_unknown(struct session_cache *c, const uint8_t key[32], int64_t now)
{
	return unknown_tokens_known(unknown_of(c), key, now);
}

void session_cache_debug_lock_set_for_key(struct session_cache *c, const uint8_t key[32])
{
	lock_set(set_for_key(c, key));
}

void session_cache_debug_lock_unknown_set_for_key(struct session_cache *c, const uint8_t key[32])
{
	unknown_tokens_debug_lock_set_for_key(unknown_of(c), key);
}
