/*
 * /api/health: ready when the store answers a ping (its database included:
 * "db") and the signer answers a ping through this worker's own IPC link
 * within 1 s (so a dead or hung signer shows). Both are asked at once; the
 * answer goes out when both have replied or given up. workers: the workers
 * that reported ready (IPC_READY), not the processes forked; a restarted one
 * counts once it serves.
 */
#include "workers/handlers.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>

struct health_check {
	struct http_exchange *ex;
	int pending;		/* pings not answered yet */
	bool db_ok, signer_ok;
};

static void health_reply(struct http_exchange *ex, bool db_ok, bool signer_ok)
{
	int ready_workers = shm_workers_ready(worker->shm);
	char body[256];
	bool ready = db_ok && signer_ok && !worker->draining;

	snprintf(body, sizeof(body),
	    "{\"status\":\"%s\",\"db\":\"%s\",\"signer\":\"%s\",\"workers\":%d,\"workers_configured\":%d}",
	    ready ? "ok" : "unavailable", db_ok ? "up" : "down", signer_ok ? "up" : "down", ready_workers,
	    (int)atomic_load(&worker->shm->status->workers_configured));
	http_reply_json(ex, ready ? 200 : 503, body);
}

/* One ping done: the last one answers. */
static void health_check_settle(struct health_check *h)
{
	if (--h->pending > 0)
		return;
	health_reply(h->ex, h->db_ok, h->signer_ok);
	free(h);
}

static void store_pong(const struct store_reply *reply, void *arg)
{
	struct health_check *h = arg;
	h->db_ok = reply->status == STORE_OK;
	health_check_settle(h);
}

static void signer_pong(const struct ipc_msg *reply, void *arg)
{
	struct health_check *h = arg;
	h->signer_ok = reply && reply->type == IPC_PONG;
	health_check_settle(h);
}

void handle_health(struct http_exchange *ex)
{
	struct ipc_msg ping = { .type = IPC_PING };
	struct health_check *h = calloc(1, sizeof(*h));

	if (!h) {
		health_reply(ex, false, false);
		return;
	}
	*h = (struct health_check){ .ex = ex, .pending = 2 };
	/* The store never calls back before store_call returns, so the signer's
	 * part below always runs first. */
	store_call(STORE_OP_PING, NULL, 0, store_pong, h);
	if (!atomic_load(&worker->shm->status->signer_ready) ||
	    ipc_client_call(worker->signer, &ping, 1000, signer_pong, h) < 0)
		health_check_settle(h);	/* signer_ok stays false */
}

void handle_live(struct http_exchange *ex)
{
	static const char body[] = "{\"status\":\"ok\"}";
	http_reply(ex, 200, "application/json", body, sizeof(body) - 1);
}
