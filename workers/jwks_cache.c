/*
 * The JWKS cache (see jwks_cache.h). Keys change at runtime (dreamauth keys rotate|revoke): the
 * signer bumps shm keys_generation once its JWKS changed, this worker sees
 * the new value on its 100 ms tick and asks again (drain_check_cb), so a
 * revoked kid leaves /jwks and local bearer verification within ~0.1 s of the
 * signer hearing of it. The 5-minute refresh stays as a backstop.
 */
#include "workers/jwks_cache.h"
#include "workers/worker_ctx.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct jwks_refresh {
	void (*done)(bool ok, void *arg);
	void *arg;
	uint64_t generation;	/* keys_generation when asked */
};

static void jwks_reply(const struct ipc_msg *reply, void *arg)
{
	struct jwks_refresh *r = arg;
	bool ok = reply && reply->type == IPC_JWKS_RESP && reply->status == 0 && reply->s1;
	worker->jwks_in_flight--;
	if (ok) {
		if (!worker->jwks_json || strcmp(worker->jwks_json, reply->s1) != 0) {
			char *copy = strdup(reply->s1);
			if (copy) {
				free(worker->jwks_json);
				worker->jwks_json = copy;
				/* A version, not the pointer: malloc may hand back the same address. */
				worker->jwks_version++;
			} else {
				ok = false;
			}
		}
	}
	if (ok) {
		worker->jwks_fetched_at = now_seconds();
		worker->jwks_generation = r->generation;
	}
	if (r->done)
		r->done(ok, r->arg);
	free(r);
}

void worker_refresh_jwks(void (*done)(bool ok, void *arg), void *arg)
{
	struct ipc_msg req = { .type = IPC_JWKS_REQ };
	struct jwks_refresh *r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->done = done;
	r->arg = arg;
	/* Read before asking: a change after this point bumps it again. */
	r->generation = atomic_load(&worker->shm->status->keys_generation);
	if (ipc_client_call(worker->signer, &req, 2000, jwks_reply, r) == 0) {
		worker->jwks_in_flight++;
		return;
	}
	free(r);
fail:
	if (done)
		done(false, arg);
}
