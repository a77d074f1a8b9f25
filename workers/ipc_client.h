/*
 * A worker's asynchronous client for the signer and the kdf: send a request
 * with a fresh request id, get a callback with the reply (or NULL on timeout
 * or when the peer restarts). The master hands us a new socket whenever the
 * peer process is restarted (ipc_client_set_fd), and when asked after a
 * malformed frame made us drop the link (ipc_client_on_bad_link).
 */
#ifndef DREAMAUTH_IPC_CLIENT_H
#define DREAMAUTH_IPC_CLIENT_H
#include <stdbool.h>
#include <event2/event.h>
#include "proto/ipc.h"

/* reply is NULL on timeout or peer loss; it is freed after the callback returns. */
typedef void (*ipc_reply_fn)(const struct ipc_msg *reply, void *arg);

/* Asks the master for a fresh link to this client's peer. */
typedef void (*ipc_relink_fn)(void *arg);

struct ipc_client;
struct ipc_client *ipc_client_new(struct event_base *base, const char *peer_name);
/* Called (once, after a short pause) when the peer sent a malformed frame
 * and the link was dropped, unless a new link arrived meanwhile. */
void ipc_client_on_bad_link(struct ipc_client *c, ipc_relink_fn relink, void *arg);
/* Adopt fd (closing the previous one and failing its pending calls). */
void ipc_client_set_fd(struct ipc_client *c, int fd);
bool ipc_client_connected(const struct ipc_client *c);
/* Sends req (req->rid is assigned). 0 sent, -1 not connected or queue full
 * (cb is not called then). */
int ipc_client_call(struct ipc_client *c, struct ipc_msg *req, int timeout_ms, ipc_reply_fn cb, void *arg);
int ipc_client_pending(const struct ipc_client *c);
/* Observe this client's calls in /metrics as actor (enum metrics_actor):
 * latency, and calls in flight. */
void ipc_client_count_as(struct ipc_client *c, int metrics_actor);
void ipc_client_free(struct ipc_client *c);
#endif
