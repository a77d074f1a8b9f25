/* Asynchronous request/reply over an IPC socket for one worker (see header). */
#include "workers/ipc_client.h"
#include "workers/metrics_hooks.h"
#include "proc/ipc_channel.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ipc_call {
	struct ipc_client *client;
	uint64_t rid;
	ipc_reply_fn cb;
	void *arg;
	struct event *timer;
	uint64_t started_ns;		/* for the latency histogram */
	struct ipc_call *prev, *next;
};

struct ipc_client {
	struct event_base *base;
	const char *peer_name;
	int fd;
	struct event *read_ev;
	uint64_t next_rid;
	struct ipc_call *calls;
	int n_calls;
	int metrics_actor;		/* enum metrics_actor, or -1 */
	ipc_relink_fn relink;		/* asks the master for a fresh link */
	void *relink_arg;
	struct event *relink_ev;
};

/* A peer that sent garbage on a fresh link would do it again at once: ask
 * for the next one after this pause, so a broken peer cannot spin us. */
#define RELINK_DELAY_MS 250

static void call_unlink(struct ipc_call *call)
{
	struct ipc_client *c = call->client;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	c->n_calls--;
	event_free(call->timer);
}

static void call_finish(struct ipc_call *call, const struct ipc_msg *reply)
{
	call_unlink(call);
	metrics_ipc_done(call->client->metrics_actor, call->started_ns, call->client->n_calls);
	call->cb(reply, call->arg);
	free(call);
}

static void fail_all(struct ipc_client *c)
{
	while (c->calls)
		call_finish(c->calls, NULL);
}

static void call_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_call *call = arg;
	(void)fd;
	(void)what;
	log_warnx("%s did not answer request %llu in time", call->client->peer_name, (unsigned long long)call->rid);
	call_finish(call, NULL);
}

static void drop_peer(struct ipc_client *c)
{
	if (c->read_ev) {
		event_free(c->read_ev);
		c->read_ev = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	fail_all(c);
}

static void relink_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	(void)fd;
	(void)what;
	if (c->fd < 0 && c->relink)
		c->relink(c->relink_arg);
}

/* After a malformed frame the peer keeps its end (it may be fine, the link
 * is not): nobody else would replace the link until the peer restarts. A
 * closed link needs no request: the peer is restarting (the master brokers
 * a new link then) or dropped it for our garbage (and asked itself). */
static void schedule_relink(struct ipc_client *c)
{
	struct timeval delay = { RELINK_DELAY_MS / 1000, (RELINK_DELAY_MS % 1000) * 1000 };
	if (!c->relink)
		return;
	if (!c->relink_ev)
		c->relink_ev = evtimer_new(c->base, relink_cb, c);
	if (!c->relink_ev || evtimer_add(c->relink_ev, &delay) < 0)
		log_warnx("cannot schedule a new link to %s", c->peer_name);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	(void)fd;
	(void)what;
	for (int i = 0; i < 64; i++) {
		struct ipc_msg m;
		int rc = ipc_recv(c->fd, &m, NULL);
		if (rc == 0)
			return;
		if (rc == -2) {
			log_warnx("malformed frame from %s: dropping the connection and asking for a new one", c->peer_name);
			drop_peer(c);
			schedule_relink(c);
			return;
		}
		if (rc < 0) {
			log_warnx("%s connection closed; waiting for the master to reconnect us", c->peer_name);
			drop_peer(c);
			return;
		}
		struct ipc_call *call = c->calls;
		while (call && call->rid != m.rid)
			call = call->next;
		if (call)
			call_finish(call, &m);
		/* else: a late reply after a timeout, or for a previous process: ignore */
		ipc_msg_free(&m);
	}
}

struct ipc_client *ipc_client_new(struct event_base *base, const char *peer_name)
{
	struct ipc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = base;
	c->peer_name = peer_name;
	c->fd = -1;
	c->next_rid = 1;
	c->metrics_actor = -1;
	return c;
}

void ipc_client_on_bad_link(struct ipc_client *c, ipc_relink_fn relink, void *arg)
{
	c->relink = relink;
	c->relink_arg = arg;
}

void ipc_client_set_fd(struct ipc_client *c, int fd)
{
	drop_peer(c);
	if (c->relink_ev)
		evtimer_del(c->relink_ev);
	c->fd = fd;
	c->read_ev = event_new(c->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	event_add(c->read_ev, NULL);
}

bool ipc_client_connected(const struct ipc_client *c)
{
	return c->fd >= 0;
}

int ipc_client_pending(const struct ipc_client *c)
{
	return c->n_calls;
}

int ipc_client_call(struct ipc_client *c, struct ipc_msg *req, int timeout_ms, ipc_reply_fn cb, void *arg)
{
	struct ipc_call *call;
	if (c->fd < 0)
		return -1;
	req->rid = c->next_rid++;
	if (ipc_send(c->fd, req, -1) < 0) {
		if (errno != EAGAIN)
			log_warn("send to %s", c->peer_name);
		return -1;
	}
	call = calloc(1, sizeof(*call));
	if (!call)
		return -1;	/* the reply will be ignored */
	call->client = c;
	call->rid = req->rid;
	call->cb = cb;
	call->arg = arg;
	call->timer = evtimer_new(c->base, call_timeout_cb, call);
	call->started_ns = metrics_now_ns();
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	evtimer_add(call->timer, &tv);
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->n_calls++;
	metrics_ipc_started(c->metrics_actor, c->n_calls);
	return 0;
}

void ipc_client_count_as(struct ipc_client *c, int metrics_actor)
{
	c->metrics_actor = metrics_actor;
}

void ipc_client_free(struct ipc_client *c)
{
	if (!c)
		return;
	drop_peer(c);
	if (c->relink_ev)
		event_free(c->relink_ev);
	free(c);
}
