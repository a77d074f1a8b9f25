/*
 * Revoked access-token ids in shared memory (see shm/revoked_tokens.h).
 * Fail closed throughout: whatever cannot be remembered turns misses into
 * REVOKED_UNKNOWN for as long as the forgotten entry would have lived.
 * Locks and per-set state sit in a dense array of heads, the slots apart,
 * so an idle table allocates only its heads' pages.
 */
#include "shm/revoked_tokens.h"
#include "shm/set_lock.h"
#include "common/secure.h"

#include <stdalign.h>

#define REVOKED_SALT_LEN 16
#define REVOKED_JTI_INLINE_MAX 128

struct revoked_entry {
	uint8_t key[32];	/* SHA-256(salt || jti) */
	int64_t until;		/* exclusive; a slot with until <= now is free */
};

/* What is read without the slots: one cache line a set. */
struct revoked_head {
	alignas(SHM_CACHE_LINE) pthread_mutex_t lock;
	uint8_t occupied;	/* bit per slot */
	int64_t distrust_until;	/* before this, a miss in this set is no answer */
	int64_t max_until;	/* latest until ever stored here: all a wipe can lose */
};

struct revoked_block {
	alignas(SHM_CACHE_LINE) struct revoked_entry slots[SHM_WAYS];
};

/* A set's two halves. */
struct revoked_set {
	struct revoked_head *head;
	struct revoked_block *block;
};

struct revoked_tokens {
	alignas(SHM_CACHE_LINE) struct shm_table_geometry geo;
	/* Random per region, so nobody can pick jtis that share a set. */
	uint8_t salt[REVOKED_SALT_LEN];
	_Atomic int32_t complete;
	/* Table-wide distrust, for a set whose lock could not be taken at all. */
	_Atomic int64_t distrust_until;
	alignas(SHM_CACHE_LINE) struct revoked_head heads[];
};

static const struct shm_table_shape shape = {
	sizeof(struct revoked_tokens), sizeof(struct revoked_head), sizeof(struct revoked_block),
};

size_t revoked_tokens_size(size_t entries)
{
	return shm_table_size(entries, shape);
}

struct revoked_tokens *revoked_tokens_init(void *mem, size_t entries)
{
	struct revoked_tokens *t = mem;
	struct shm_table_geometry geo;

	if (!shm_table_geometry_init(mem, entries, shape, &geo))
		return NULL;
	t->geo = geo;
	secure_random(t->salt, sizeof(t->salt));
	atomic_store(&t->complete, 0);
	atomic_store(&t->distrust_until, 0);
	if (shm_heads_init(t->heads, geo.set_count, sizeof(t->heads[0])) != 0)
		return NULL;
	return t;
}

static void hash_jti(const struct revoked_tokens *t, const char *jti, size_t len, uint8_t out[32])
{
	uint8_t buf[REVOKED_SALT_LEN + REVOKED_JTI_INLINE_MAX];

	memcpy(buf, t->salt, REVOKED_SALT_LEN);
	if (len <= REVOKED_JTI_INLINE_MAX) {
		memcpy(buf + REVOKED_SALT_LEN, jti, len);
		secure_sha256(buf, REVOKED_SALT_LEN + len, out);
	} else {
		secure_sha256(jti, len, buf + REVOKED_SALT_LEN);
		secure_sha256(buf, REVOKED_SALT_LEN + SHA256_LEN, out);
	}
}

static struct revoked_set set_at(struct revoked_tokens *t, size_t n)
{
	return (struct revoked_set){ &t->heads[n], shm_table_block(t, &t->geo, n) };
}

static struct revoked_set set_for(struct revoked_tokens *t, const uint8_t key[32])
{
	return set_at(t, shm_key_word(key, 0) & t->geo.set_mask);
}

static void raise_to(int64_t *value, int64_t at_least)
{
	if (*value < at_least)
		*value = at_least;
}

static void raise_atomic_to(_Atomic int64_t *value, int64_t at_least)
{
	int64_t seen = atomic_load(value);

	while (seen < at_least && !atomic_compare_exchange_weak(value, &seen, at_least))
		;
}

/* A set whose lock owner died may be half written: forget its slots, but
 * not that they held revocations. */
static bool set_lock(struct revoked_set s)
{
	switch (set_lock_acquire(&s.head->lock)) {
	case SET_LOCK_OK:
		return true;
	case SET_LOCK_OWNER_DEAD:
		s.head->occupied = 0;
		memset(s.block->slots, 0, sizeof(s.block->slots));
		raise_to(&s.head->distrust_until, s.head->max_until);
		set_lock_consistent(&s.head->lock);
		log_warnx("revoked tokens: a process died holding a set lock; set wiped, its misses go to the database");
		return true;
	default:
		return false;
	}
}

static void set_unlock(struct revoked_set s)
{
	set_lock_release(&s.head->lock);
}

static int find(struct revoked_set s, const uint8_t key[32])
{
	for (int i = 0; i < SHM_WAYS; i++)
		if ((s.head->occupied & (1u << i)) && memcmp(s.block->slots[i].key, key, 32) == 0)
			return i;
	return -1;
}

/* A free or expired slot, else the live one expiring soonest. */
static int victim(struct revoked_set s, int64_t now)
{
	const struct revoked_entry *slots = s.block->slots;
	int v = 0;

	for (int i = 0; i < SHM_WAYS; i++) {
		if (!(s.head->occupied & (1u << i)) || slots[i].until <= now)
			return i;
		if (slots[i].until < slots[v].until)
			v = i;
	}
	return v;
}

void revoked_tokens_add(struct revoked_tokens *t, const char *jti, size_t len, int64_t now, int64_t until)
{
	uint8_t key[32];
	struct revoked_set s;
	struct revoked_entry *e;
	int i;

	if (now >= until)
		return;
	hash_jti(t, jti, len, key);
	s = set_for(t, key);
	if (!set_lock(s)) {
		raise_atomic_to(&t->distrust_until, until);
		return;
	}
	/* First, so a wipe after a death anywhere below still knows. */
	raise_to(&s.head->max_until, until);
	if ((i = find(s, key)) >= 0) {
		raise_to(&s.block->slots[i].until, until);
	} else {
		i = victim(s, now);
		e = &s.block->slots[i];
		if ((s.head->occupied & (1u << i)) && e->until > now)
			raise_to(&s.head->distrust_until, e->until);	/* full: evicting a live one */
		memcpy(e->key, key, 32);
		e->until = until;
		s.head->occupied |= (uint8_t)(1u << i);
	}
	set_unlock(s);
}

enum revoked_answer revoked_tokens_check(struct revoked_tokens *t, const char *jti, size_t len, int64_t now)
{
	uint8_t key[32];
	struct revoked_set s;
	bool revoked, distrusted;
	int i;

	hash_jti(t, jti, len, key);
	s = set_for(t, key);
	if (!set_lock(s))
		return REVOKED_UNKNOWN;
	revoked = (i = find(s, key)) >= 0 && s.block->slots[i].until > now;
	distrusted = now < s.head->distrust_until;
	set_unlock(s);
	if (revoked)
		return REVOKED_YES;
	if (distrusted || !atomic_load_explicit(&t->complete, memory_order_acquire) ||
	    now < atomic_load_explicit(&t->distrust_until, memory_order_relaxed))
		return REVOKED_UNKNOWN;
	return REVOKED_NO;
}

void revoked_tokens_set_complete(struct revoked_tokens *t, bool complete)
{
	atomic_store_explicit(&t->complete, complete ? 1 : 0, memory_order_release);
}

bool revoked_tokens_complete(struct revoked_tokens *t)
{
	return atomic_load_explicit(&t->complete, memory_order_acquire) != 0;
}

size_t revoked_tokens_count(struct revoked_tokens *t, int64_t now)
{
	size_t n = 0;

	for (size_t k = 0; k < t->geo.set_count; k++) {
		struct revoked_set s = set_at(t, k);

		if (!set_lock(s))
			continue;
		for (int i = 0; i < SHM_WAYS; i++)
			n += (s.head->occupied & (1u << i)) && s.block->slots[i].until > now;
		set_unlock(s);
	}
	return n;
}

size_t revoked_tokens_untrusted_sets(struct revoked_tokens *t, int64_t now)
{
	size_t n = 0;

	for (size_t k = 0; k < t->geo.set_count; k++) {
		struct revoked_set s = set_at(t, k);

		if (!set_lock(s))
			continue;
		n += now < s.head->distrust_until;
		set_unlock(s);
	}
	return n;
}

void revoked_tokens_debug_lock_set_for(struct revoked_tokens *t, const char *jti, size_t len)
{
	uint8_t key[32];

	hash_jti(t, jti, len, key);
	set_lock(set_for(t, key));
}
