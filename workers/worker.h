/*
 * An HTTP worker process: one libevent loop, no private keys, no database
 * credentials, dropped privileges. Talks to the store (every database
 * operation), the signer and the kdf over IPC, and to the other workers
 * through the shared-memory region.
 */
#ifndef DREAMAUTH_WORKER_H
#define DREAMAUTH_WORKER_H
#include <stdbool.h>
#include <stdnoreturn.h>
#include <stdint.h>
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

/* Entry point after fork. Never returns. */
noreturn void worker_main(int slot, int ctrl_fd, const int *listen_fds, int n_listen, struct shm_region *shm,
    const uint8_t csrf_key[32]);

/* Router: dispatches an exchange to its handler (workers/router.c). */
void router_dispatch(struct http_exchange *ex);

/* Refresh the cached JWKS from the signer (async); cb may be NULL. */
void worker_refresh_jwks(void (*done)(bool ok, void *arg), void *arg);
int64_t now_seconds(void);
#endif
