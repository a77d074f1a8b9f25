/*
 * The state of this worker process that its modules share: the event loop,
 * the links to the actors, the shared-memory region, the cached JWKS. Set up
 * by worker_main (workers/worker.c); the modules only read it, so none of
 * them depends on the process's entry point.
 */
#ifndef DREAMAUTH_WORKER_CTX_H
#define DREAMAUTH_WORKER_CTX_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <event2/event.h>
#include "shm/shm.h"
#include "workers/http_server.h"
#include "workers/ipc_client.h"

struct worker_ctx {
	int slot;
	struct event_base *base;
	struct http_server *http;
	struct ipc_client *signer;
	struct ipc_client *kdf;
	struct ipc_client *store;
	struct shm_region *shm;
	int ctrl_fd;
	struct event *ctrl_ev;
	struct event *tick_ev;
	char *jwks_json;		/* cached public keys from the signer */
	uint64_t jwks_version;		/* bumped whenever jwks_json changes (jwt_local.c rebuilds) */
	uint64_t jwks_generation;	/* shm keys_generation that jwks_json reflects */
	int jwks_in_flight;		/* JWKS requests awaiting the signer */
	int64_t jwks_fetched_at;
	char *discovery_json;		/* built once */
	bool draining;
	bool clients_loaded;		/* this process read OIDC_CLIENTS_FILE itself (oidc_clients.c) */
	uint8_t csrf_key[32];		/* derived from AUTH_SECRET by the master */
};

extern struct worker_ctx *worker;

static inline int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}
#endif
