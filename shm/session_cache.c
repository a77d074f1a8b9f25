/*
 * Session cache in shared memory: 8-way set-associative, one robust
 * process-shared mutex per set, clock (second chance) eviction within a set,
 * TTLs checked on read. Every read and write of an entry happens under its
 * set's lock and lookups copy the entry out, so callers never see a torn
 * entry. See shm/session_cache.h.
 */
#include "shm/session_cache.h"
#include "shm/set_lock.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <time.h>

struct cache_set {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
	uint8_t referenced;	/* clock bits, set on hit */
	uint8_t hand;		/* clock hand */
	_Atomic uint64_t hits, misses, inserts, evictions, expired, owner_dead_recoveries;
	/* Key bytes 8..15 of each slot: a lookup scans one cache line and only
	 * touches the slot whose tag matches. */
	alignas(SHM_CACHE_LINE) uint64_t tags[SHM_WAYS];
	struct session_entry slots[SHM_WAYS];
};

struct session_cache {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	/* Bumped before every removal; see session_cache_insert_if_unchanged. */
	_Atomic uint64_t removals;
	alignas(SHM_CACHE_LINE) struct cache_set sets[];
};

size_t session_cache_size(size_t entries)
{
	return shm_table_size(entries, sizeof(struct session_cache), sizeof(struct cache_set));
}

struct session_cache *session_cache_init(void *mem, size_t entries)
{
	struct session_cache *c = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, &geo))
		return NULL;
	c->geo = geo;
	atomic_store(&c->removals, 0);
	/* Only the set headers need initialising: a slot means nothing until
	 * its occupied bit is set, and leaving the slots alone keeps untouched
	 * pages of a fresh mapping unallocated. */
	for (size_t i = 0; i < c->geo.set_count; i++) {
		struct cache_set *s = &c->sets[i];

		memset(s, 0, offsetof(struct cache_set, slots));
		if (set_lock_init(&s->lock) != 0)
			return NULL;
	}
	return c;
}

static struct cache_set *set_for_key(struct session_cache *c, const uint8_t key[32])
{
	return &c->sets[shm_key_word(key, 0) & c->geo.set_mask];
}

/* Forget every slot: used when a dead process may have left one half written. */
static void wipe_set(struct cache_set *s)
{
	s->occupied = 0;
	s->referenced = 0;
	s->hand = 0;
	memset(s->tags, 0, sizeof(s->tags));
	memset(s->slots, 0, sizeof(s->slots));
}

static bool lock_set(struct cache_set *s)
{
	switch (set_lock_acquire(&s->lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		wipe_set(s);
		shm_counter_bump(&s->owner_dead_recoveries, 1);
		set_lock_consistent(&s->lock);
		log_warnx("session cache: a process died holding a set lock; set wiped");
		return true;
	default:
		return false;
	}
}

static void unlock_set(struct cache_set *s)
{
	set_lock_release(&s->lock);
}

/* Slot index holding key, or -1. Caller holds the lock. */
static int find_slot(const struct cache_set *s, const uint8_t key[32])
{
	uint64_t tag = shm_key_word(key, 8);

	for (int i = 0; i < SHM_WAYS; i++)
		if ((s->occupied & (1u << i)) && s->tags[i] == tag &&
		    memcmp(s->slots[i].key, key, 32) == 0)
			return i;
	return -1;
}

static void clear_slot(struct cache_set *s, int i)
{
	s->occupied &= (uint8_t)~(1u << i);
	s->referenced &= (uint8_t)~(1u << i);
	s->tags[i] = 0;
	/* Do not leave profile data lying around in a free slot. */
	memset(&s->slots[i], 0, sizeof(s->slots[i]));
}

static bool entry_expired(const struct session_entry *e, int64_t now)
{
	return now >= e->expires_at || now >= e->idle_expires_at;
}

int session_cache_lookup(struct session_cache *c, const uint8_t key[32], int64_t now, struct session_entry *out)
{
	struct cache_set *s = set_for_key(c, key);
	int i, found = 0;

	if (!lock_set(s))
		return 0;
	i = find_slot(s, key);
	if (i < 0) {
		shm_counter_bump(&s->misses, 1);
	} else if (entry_expired(&s->slots[i], now)) {
		clear_slot(s, i);
		shm_counter_bump(&s->expired, 1);
		shm_counter_bump(&s->misses, 1);
	} else {
		*out = s->slots[i];
		s->referenced |= (uint8_t)(1u << i);
		shm_counter_bump(&s->hits, 1);
		found = 1;
	}
	unlock_set(s);
	return found;
}

/* Slot to (re)use for a new key. Caller holds the lock and the set is full
 * unless an empty slot exists. Prefers empty, then expired, then the clock's
 * choice; counts what it displaced. */
static int victim_slot(struct cache_set *s)
{
	int64_t now;

	if (s->occupied != 0xff) {
		for (int i = 0; i < SHM_WAYS; i++)
			if (!(s->occupied & (1u << i)))
				return i;
	}
	/* insert has no "now" argument; callers pass wall-clock seconds. */
	now = (int64_t)time(NULL);
	for (int i = 0; i < SHM_WAYS; i++) {
		if (entry_expired(&s->slots[i], now)) {
			shm_counter_bump(&s->expired, 1);
			return i;
		}
	}
	/* Second chance: skip (and clear) referenced slots; ends within
	 * SHM_WAYS + 1 steps because each step clears a bit. */
	while (s->referenced & (1u << s->hand)) {
		s->referenced &= (uint8_t)~(1u << s->hand);
		s->hand = (uint8_t)((s->hand + 1) % SHM_WAYS);
	}
	int victim = s->hand;
	s->hand = (uint8_t)((s->hand + 1) % SHM_WAYS);
	shm_counter_bump(&s->evictions, 1);
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

static bool insert_locked(struct session_cache *c, const struct session_entry *e, bool any_time, uint64_t since)
{
	struct cache_set *s = set_for_key(c, e->key);
	int i;

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
		s->referenced &= (uint8_t)~(1u << i);
	}
	s->slots[i] = *e;
	terminate_strings(&s->slots[i]);
	s->tags[i] = shm_key_word(e->key, 8);
	s->occupied |= (uint8_t)(1u << i);
	shm_counter_bump(&s->inserts, 1);
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
	struct cache_set *s = set_for_key(c, key);
	int i;

	if (!lock_set(s))
		return;
	if ((i = find_slot(s, key)) >= 0) {
		s->slots[i].idle_expires_at = idle_expires_at;
		s->slots[i].db_touched_at = db_touched_at;
		s->referenced |= (uint8_t)(1u << i);
	}
	unlock_set(s);
}

bool session_cache_remove(struct session_cache *c, const uint8_t key[32])
{
	struct cache_set *s = set_for_key(c, key);
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

/* Remove every entry whose field equals value; a full scan, set by set. */
static size_t remove_matching(struct session_cache *c, enum match_field field, const char *value,
    const char *except_session_id)
{
	size_t removed = 0;

	if (!value || !*value)
		return 0;
	atomic_fetch_add(&c->removals, 1);
	for (size_t n = 0; n < c->geo.set_count; n++) {
		struct cache_set *s = &c->sets[n];

		if (!lock_set(s))
			continue;
		for (int i = 0; i < SHM_WAYS; i++) {
			const struct session_entry *e = &s->slots[i];
			const char *have = field == MATCH_USER_ID ? e->user_id : e->session_id;

			if ((s->occupied & (1u << i)) && strcmp(have, value) == 0 &&
			    !(except_session_id && strcmp(e->session_id, except_session_id) == 0)) {
				clear_slot(s, i);
				removed++;
			}
		}
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
		struct cache_set *s = &c->sets[n];

		if (!lock_set(s))
			continue;
		/* Free slots are already zero (clear_slot, wipe_set) or untouched:
		 * wiping an empty set would only fault in its pages, 36 MiB of
		 * them for the default size, each time a listener starts. */
		if (s->occupied)
			wipe_set(s);
		unlock_set(s);
	}
}

void session_cache_get_stats(struct session_cache *c, struct session_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t n = 0; n < c->geo.set_count; n++) {
		struct cache_set *s = &c->sets[n];

		out->hits += shm_counter_read(&s->hits);
		out->misses += shm_counter_read(&s->misses);
		out->inserts += shm_counter_read(&s->inserts);
		out->evictions += shm_counter_read(&s->evictions);
		out->expired += shm_counter_read(&s->expired);
		out->owner_dead_recoveries += shm_counter_read(&s->owner_dead_recoveries);
	}
	out->capacity = c->geo.entries;
}

void session_cache_debug_lock_set_for_key(struct session_cache *c, const uint8_t key[32])
{
	lock_set(set_for_key(c, key));
}
