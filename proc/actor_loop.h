/*
 * The request loop shared by the signer and the kdf: poll the control socket
 * (the master hands over one socket per worker slot with IPC_PEER_FD) and
 * every worker socket, decode frames, call handle() for each request. A
 * malformed frame drops that worker's link and asks the master for a fresh
 * one; the actor itself carries on.
 */
#ifndef DREAMAUTH_ACTOR_LOOP_H
#define DREAMAUTH_ACTOR_LOOP_H
#include <signal.h>
#include "proto/ipc.h"
#include "shm/shm.h"

/* After an actor has opened what it needs: forget AUTH_SECRET, drop
 * privileges to user, and take SIGTERM as "stop" (SIGPIPE, SIGHUP ignored). */
void actor_confine(const char *user, void (*on_term)(int));

/* Peer links are indexed by worker slot; one more slot carries the mailer's
 * link to the store (the master brokers it like a worker's). */
#define ACTOR_SLOT_MAILER SHM_MAX_WORKERS
#define ACTOR_MAX_PEERS (SHM_MAX_WORKERS + 1)

typedef void (*actor_request_fn)(int fd, const struct ipc_msg *m, int slot);
/* For an actor's handle(): what it does not serve itself. A PING is answered
 * PONG; anything else is logged as unexpected from that worker slot. */
void actor_answer_other(int fd, const struct ipc_msg *m, int slot);

/* Optional extras for an actor that watches something besides its links
 * (the signer: its LISTEN connection). Any member may be NULL. */
struct actor_hooks {
	int (*watch_fd)(void);		/* one more fd to poll, asked every round; -1 for none */
	void (*on_watch)(void);		/* that fd is readable (or in error) */
	void (*on_tick)(void);		/* after every poll round: at least once a second */
};
void actor_serve(int ctrl_fd, enum ipc_peer self, volatile sig_atomic_t *stop, actor_request_fn handle,
    const struct actor_hooks *hooks);
#endif
