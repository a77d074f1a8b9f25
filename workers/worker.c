/*
 * Worker process: created by the master (master/master.c) with a control
 * socket and the listening sockets. It forgets every credential it
 * inherited (AUTH_SECRET, DATABASE_URL), drops privileges, confines itself
 * to HTTP and IPC (no socket, no connect: proc/sandbox.c), then serves
 * until SIGTERM, when it stops accepting, finishes in-flight requests and
 * exits. Database work goes through the store actor (workers/store_client.c).
 */
#include "workers/worker.h"
#include "workers/jwks_cache.h"
#include "workers/router.h"
#include "workers/worker_ctx.h"
#include "workers/metrics_hooks.h"
#include "common/config.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "proc/privdrop.h"
#include "proc/sandbox.h"
#include "common/secure.h"
#include "workers/discovery.h"
#include "workers/oidc_clients.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker_ctx *worker;

/* A link to an actor was dropped for a malformed frame: ask the master for
 * a fresh one (it brokers a new socketpair to both ends). */
static void ask_for_link(void *arg)
{
	const enum ipc_peer *kind = arg;
	struct ipc_msg m = { .type = IPC_PEER_FD, .kind = *kind, .slot = worker->slot };
	if (ipc_send(worker->ctrl_fd, &m, -1) < 0)
		log_warn("asking the master for a new link (kind %d)", (int)*kind);
}

static void ctrl_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (;;) {
		struct ipc_msg m;
		int passed = -1;
		int rc = ipc_recv(fd, &m, &passed);
		if (rc == 0)
			return;
		if (rc < 0) {
			/* The master is gone or talks nonsense: nothing sensible is left to do. */
			log_warnx("control channel lost; exiting");
			exit(1);
		}
		if (m.type == IPC_PEER_FD && passed >= 0) {
			if (m.kind == IPC_PEER_SIGNER) {
				ipc_client_set_fd(worker->signer, passed);
				worker_refresh_jwks(NULL, NULL);
			} else if (m.kind == IPC_PEER_KDF) {
				ipc_client_set_fd(worker->kdf, passed);
			} else if (m.kind == IPC_PEER_STORE) {
				ipc_client_set_fd(worker->store, passed);
			} else {
				close(passed);
			}
		} else if (passed >= 0) {
			close(passed);
		}
		ipc_msg_free(&m);
	}
}

static void drain_check_cb(evutil_socket_t fd, short what, void *arg)
{
	static int ticks;
	(void)fd;
	(void)what;
	(void)arg;
	if (worker->draining) {
		http_server_close_idle(worker->http);
		if (http_server_active_connections(worker->http) == 0 || ++ticks > 100) {
			log_info("drained; exiting");
			event_base_loopbreak(worker->base);
		}
		return;
	}
	/* Keep the public keys fresh: on a key change (see jwks_reply), and every 5 minutes. */
	if (worker->jwks_in_flight == 0 && ipc_client_connected(worker->signer) &&
	    (atomic_load(&worker->shm->status->keys_generation) != worker->jwks_generation ||
	        now_seconds() - worker->jwks_fetched_at > 300))
		worker_refresh_jwks(NULL, NULL);
	/* OIDC_CLIENTS_FILE: once a second, reload when the file changed (ConfigMaps swap symlinks). */
	static int poll_ticks;
	if (++poll_ticks % 10 == 0)
		oidc_registry_poll();
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	oidc_registry_reload("SIGHUP");
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (worker->draining)
		return;
	worker->draining = true;
	log_info("draining: no new connections");
	http_server_stop_accepting(worker->http);
	http_server_close_idle(worker->http);
}

void worker_main(int slot, int ctrl_fd, const int *listen_fds, int n_listen, struct shm_region *shm,
    const uint8_t csrf_key[32])
{
	static struct worker_ctx ctx;
	char role[32];
	struct http_server_limits limits = {
		.parse = { .max_head = 16 * 1024, .max_target = 8 * 1024, .max_headers = HTTP_MAX_HEADERS,
		    .max_body = 64 * 1024 },
		.read_timeout_s = 60,		/* idle keep-alive */
		.request_timeout_s = cfg.http_request_timeout_s,	/* slowloris */
		.write_timeout_s = 30,
		.max_connections = 10000,
		.board = shm->status->worker_connections,
		.pids = shm->status->worker_pid,
		.slot = slot,
		.n_slots = cfg.workers,
	};

	snprintf(role, sizeof(role), "worker %d", slot + 1);
	log_set_role(role);
	proctitle_set(role);
	worker = &ctx;
	ctx.slot = slot;
	ctx.shm = shm;
	ctx.ctrl_fd = ctrl_fd;
	memcpy(ctx.csrf_key, csrf_key, 32);

	/* Workers get derived keys only; the root secret stays with the master
	 * and signer, the database credentials with the store. */
	config_forget_auth_secret();
	config_forget_database_url();
	if (privdrop(cfg.run_user) < 0)
		fatalx("cannot drop privileges");

	ctx.base = event_base_new();
	if (!ctx.base)
		fatalx("event_base_new");
	ctx.signer = ipc_client_new(ctx.base, "signer");
	ctx.kdf = ipc_client_new(ctx.base, "kdf");
	ctx.store = ipc_client_new(ctx.base, "store");
	static const enum ipc_peer signer_kind = IPC_PEER_SIGNER, kdf_kind = IPC_PEER_KDF, store_kind = IPC_PEER_STORE;
	ipc_client_on_bad_link(ctx.signer, ask_for_link, (void *)&signer_kind);
	ipc_client_on_bad_link(ctx.kdf, ask_for_link, (void *)&kdf_kind);
	ipc_client_on_bad_link(ctx.store, ask_for_link, (void *)&store_kind);
	/* /metrics: this worker's slot; calls in flight of a previous worker in it are gone. */
	metrics_self = &shm->metrics->workers[slot];
	for (int a = 0; a < METRICS_ACTORS; a++)
		atomic_store(&metrics_self->ipc_in_flight[a], 0);
	ipc_client_count_as(ctx.signer, METRICS_SIGNER);
	ipc_client_count_as(ctx.kdf, METRICS_KDF);
	ipc_client_count_as(ctx.store, METRICS_STORE);
	ctx.discovery_json = discovery_build_json();
	ctx.http = http_server_new(ctx.base, listen_fds, n_listen, &limits, router_dispatch);
	if (!ctx.http)
		fatalx("cannot listen");
	ctx.ctrl_ev = event_new(ctx.base, ctrl_fd, EV_READ | EV_PERSIST, ctrl_cb, NULL);
	event_add(ctx.ctrl_ev, NULL);
	struct event *term = evsignal_new(ctx.base, SIGTERM, sigterm_cb, NULL);
	event_add(term, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct event *hup = evsignal_new(ctx.base, SIGHUP, sighup_cb, NULL);
	event_add(hup, NULL);
	ctx.tick_ev = event_new(ctx.base, -1, EV_PERSIST, drain_check_cb, NULL);
	struct timeval tick = { 0, 100000 };
	event_add(ctx.tick_ev, &tick);

	/* Everything one-time is done (privileges, event loop, signals): from
	 * here on only the allowlist (proc/sandbox.c). */
	if (sandbox_enter(SANDBOX_WORKER) < 0)
		fatalx("cannot install the seccomp filter (SECCOMP=false runs without it)");

	/* Tell the master we are up; it hands us the signer, kdf and store sockets. */
	struct ipc_msg ready = { .type = IPC_READY };
	ipc_send(ctrl_fd, &ready, -1);
	log_debug("serving");
	event_base_dispatch(ctx.base);

	http_server_free(ctx.http);
	ipc_client_free(ctx.signer);
	ipc_client_free(ctx.kdf);
	ipc_client_free(ctx.store);
	event_free(ctx.ctrl_ev);
	event_free(ctx.tick_ev);
	event_free(term);
	event_free(hup);
	event_base_free(ctx.base);
	free(ctx.jwks_json);
	free(ctx.discovery_json);
	exit(0);
}
