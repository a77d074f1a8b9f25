/*
 * The shared region: one anonymous shared mapping made by master before
 * fork, so every child inherits it at the same address. Layout, each part
 * cache-line aligned: struct shm_status, session cache (negative cache
 * included), rate limits, nonces, revoked access tokens, metrics (shm/metrics.h).
 *
 * A page of the mapping costs memory only once touched, and each table keeps
 * its locks in a dense array apart from its slots (shm/set_lock.h), so an
 * idle region is about 2 MiB resident of its 52 MiB (default sizes).
 */
#include "shm/shm.h"
#include "shm/metrics.h"
#include "shm/rate_limit.h"
#include "shm/revoked_tokens.h"
#include "shm/session_cache.h"
#include "shm/set_lock.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Adds a part of size bytes at *offset; false if the size is unusable. */
static bool layout_add(size_t *offset, size_t size, size_t *part_offset)
{
	if (size == 0 || size > SIZE_MAX - SHM_CACHE_LINE || *offset > SIZE_MAX - SHM_CACHE_LINE - size)
		return false;
	*part_offset = *offset;
	*offset = shm_align_line(*offset + size);
	return true;
}

struct shm_region *shm_region_create(size_t session_entries, size_t rate_entries, size_t nonce_entries,
    size_t revoked_entries)
{
	size_t offset = 0, status_at, sessions_at, limits_at, nonces_at, revoked_at, metrics_at, page, size;
	struct shm_region *r;
	void *base;

	page = (size_t)sysconf(_SC_PAGESIZE);
	if (!layout_add(&offset, sizeof(struct shm_status), &status_at) ||
	    !layout_add(&offset, session_cache_size(session_entries), &sessions_at) ||
	    !layout_add(&offset, rate_limit_size(rate_entries), &limits_at) ||
	    !layout_add(&offset, nonce_table_size(nonce_entries), &nonces_at) ||
	    !layout_add(&offset, revoked_tokens_size(revoked_entries), &revoked_at) ||
	    !layout_add(&offset, sizeof(struct metrics), &metrics_at) ||
	    offset > SIZE_MAX - page) {
		errno = EINVAL;
		return NULL;
	}
	size = (offset + page - 1) / page * page;
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		free(r);
		return NULL;
	}
	/* Session profiles and counters have no business in core dumps. */
	madvise(base, size, MADV_DONTDUMP);
	/* Where shmem huge pages are on (shmem_enabled), touching one slot
	 * would allocate 2 MiB around it: the table layout counts on 4 KiB. */
	madvise(base, size, MADV_NOHUGEPAGE);
	r->base = base;
	r->size = size;
	r->status = (struct shm_status *)((char *)base + status_at);
	r->sessions = session_cache_init((char *)base + sessions_at, session_entries);
	r->limits = rate_limit_init((char *)base + limits_at, rate_entries);
	r->nonces = nonce_table_init((char *)base + nonces_at, nonce_entries);
	r->revoked = revoked_tokens_init((char *)base + revoked_at, revoked_entries);
	r->metrics = (struct metrics *)((char *)base + metrics_at);	/* zero pages: all counters 0 */
	if (!r->sessions || !r->limits || !r->nonces || !r->revoked) {
		shm_region_destroy(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void shm_region_destroy(struct shm_region *r)
{
	if (!r)
		return;
	if (r->base)
		munmap(r->base, r->size);
	free(r);
}

static int count_nonzero(const struct shm_region *r, _Atomic int32_t *slots)
{
	int configured = atomic_load(&r->status->workers_configured), n = 0;

	if (configured > SHM_MAX_WORKERS)
		configured = SHM_MAX_WORKERS;
	for (int i = 0; i < configured; i++)
		if (atomic_load(&slots[i]) != 0)
			n++;
	return n;
}

int shm_workers_alive(const struct shm_region *r)
{
	return count_nonzero(r, r->status->worker_pid);
}

int shm_workers_ready(const struct shm_region *r)
{
	return count_nonzero(r, r->status->worker_ready);
}
