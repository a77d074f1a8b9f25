/*
 * /api/health: ready when the database answers and the signer answers a
 * ping through this worker's own IPC link within 1 s (so a dead or hung
 * signer shows). workers: the workers that reported ready (IPC_READY), not
 * the processes forked; a restarted one counts once it serves.
 */
#include "workers/handlers.h"
#include "common/db.h"
#include "workers/worker.h"

#include <stdio.h>

static void health_reply(struct http_exchange *ex, bool signer_ok)
{
	bool db_ok = db_ping(worker->db);
	int ready_workers = shm_workers_ready(worker->shm);
	char body[256];
	bool ready = db_ok && signer_ok && !worker->draining;

	snprintf(body, sizeof(body),
	    "{\"status\":\"%s\",\"db\":\"%s\",\"signer\":\"%s\",\"workers\":%d,\"workers_configured\":%d}",
	    ready ? "ok" : "unavailable", db_ok ? "up" : "down", signer_ok ? "up" : "down", ready_workers,
	    (int)atomic_load(&worker->shm->status->workers_configured));
	http_reply_json(ex, ready ? 200 : 503, body);
}

static void health_pong(const struct ipc_msg *reply, void *arg)
{
	health_reply(arg, reply && reply->type == IPC_PONG);
}

void handle_health(struct http_exchange *ex)
{
	struct ipc_msg ping = { .type = IPC_PING };
	if (!atomic_load(&worker->shm->status->signer_ready) ||
	    ipc_client_call(worker->signer, &ping, 1000, health_pong, ex) < 0)
		health_reply(ex, false);
}

void handle_live(struct http_exchange *ex)
{
	static const char body[] = "{\"status\":\"ok\"}";
	http_reply(ex, 200, "application/json", body, sizeof(body) - 1);
}
