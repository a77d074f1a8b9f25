/*
 * The shared-memory region: created by master before fork (MAP_SHARED |
 * MAP_ANONYMOUS), inherited by every child, so pointers are valid everywhere.
 * Holds the session cache, rate-limit counters, single-use nonces, revoked
 * access-token ids and the status block that /api/health reads.
 */
#ifndef DREAMAUTH_SHM_H
#define DREAMAUTH_SHM_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_MAX_WORKERS 64

struct shm_status {
	_Atomic int32_t worker_pid[SHM_MAX_WORKERS];	/* 0 = slot empty */
	_Atomic int32_t worker_connections[SHM_MAX_WORKERS];	/* open connections, for accept balancing */
	_Atomic int32_t worker_ready[SHM_MAX_WORKERS];	/* 1 once the worker sent IPC_READY, 0 when it dies */
	_Atomic int32_t workers_configured;
	_Atomic int32_t signer_pid;
	_Atomic int32_t signer_ready;			/* keys loaded */
	_Atomic int32_t kdf_pid;
	_Atomic int32_t db_pid;				/* embedded PostgreSQL, 0 if external */
	_Atomic int64_t started_at;
	_Atomic uint64_t restarts;
	_Atomic int32_t draining;			/* SIGTERM received */
	_Atomic uint64_t keys_generation;		/* bumped when the signer's JWKS changes */
	_Atomic int32_t store_pid;
	/* 1 while the store's revocation listener is LISTENing and has caught
	 * up with the revocation log (store/listener.c). While it is not,
	 * cached sessions are trusted for REVOCATION_LISTENER_GRACE seconds
	 * after listener_down_since (shm_revocations_trusted). */
	_Atomic int32_t revocations_listening;
	_Atomic int64_t listener_down_since;		/* Unix seconds; 0 = never up yet */
	_Atomic int64_t revocation_seq;			/* last revocation_log seq applied */
	_Atomic int32_t revocations_synced;		/* revocation_seq is meaningful (a listener caught up once) */
	/* The mailer (mail/mailer.c): its pid, and a counter the store's
	 * listener bumps on every NOTIFY dreamauth_outbox (a message queued by
	 * any instance), which wakes the mailer before its next poll. */
	_Atomic int32_t mailer_pid;
	_Atomic uint64_t outbox_wakeups;
};

/* Are cached sessions and the revoked-token table to be believed now? Yes
 * while the listener is up, and for grace_s seconds after it went down. */
static inline int shm_revocations_trusted(struct shm_status *s, int64_t now, int grace_s)
{
	if (atomic_load(&s->revocations_listening))
		return 1;
	int64_t since = atomic_load(&s->listener_down_since);
	return grace_s > 0 && since > 0 && now - since < grace_s;
}

/* The listener is gone (the store died, or its connection broke). */
static inline void shm_revocations_listener_down(struct shm_status *s, int64_t now)
{
	if (atomic_exchange(&s->revocations_listening, 0))
		atomic_store(&s->listener_down_since, now);
}

struct session_cache;
struct rate_limit;
struct nonce_table;
struct revoked_tokens;
struct metrics;

struct shm_region {
	void *base;
	size_t size;
	struct shm_status *status;
	struct session_cache *sessions;
	struct rate_limit *limits;
	struct nonce_table *nonces;
	struct revoked_tokens *revoked;
	struct metrics *metrics;	/* GET /metrics (shm/metrics.h) */
};

/* NULL on failure (errno). Entry counts are rounded up to powers of two. */
struct shm_region *shm_region_create(size_t session_entries, size_t rate_entries, size_t nonce_entries,
    size_t revoked_entries);
void shm_region_destroy(struct shm_region *r);
/* Worker slots with a process (forked, maybe not serving yet). */
int shm_workers_alive(const struct shm_region *r);
/* Worker slots whose process reported ready (serving HTTP). */
int shm_workers_ready(const struct shm_region *r);
#endif
