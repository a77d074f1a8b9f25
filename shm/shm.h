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
	/* 1 while worker 1's revocation listener is LISTENing and the session
	 * cache was cleared after it started: only then are cached sessions
	 * trusted without a database check (workers/session.c). */
	_Atomic int32_t revocations_listening;
};

struct session_cache;
struct rate_limit;
struct nonce_table;
struct revoked_tokens;

struct shm_region {
	void *base;
	size_t size;
	struct shm_status *status;
	struct session_cache *sessions;
	struct rate_limit *limits;
	struct nonce_table *nonces;
	struct revoked_tokens *revoked;
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
