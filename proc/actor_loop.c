/* Request loop of the signer and kdf actors (see actor_loop.h). */
#include "proc/actor_loop.h"
#include "proc/ipc_channel.h"
#include "common/config.h"
#include "common/log.h"
#include "proc/privdrop.h"
#include "common/secure.h"
#include "shm/shm.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

void actor_answer_other(int fd, const struct ipc_msg *m, int slot)
{
	if (m->type == IPC_PING) {
		struct ipc_msg pong = { .type = IPC_PONG, .rid = m->rid };
		ipc_send(fd, &pong, -1);
	} else {
		log_warnx("unexpected %s from worker %d", ipc_type_name(m->type), slot + 1);
	}
}

void actor_confine(const char *user, void (*on_term)(int))
{
	config_forget_auth_secret();
	if (privdrop(user) < 0)
		fatalx("cannot drop privileges");
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

static void ctrl_message(int ctrl_fd, int *peer_fd)
{
	struct ipc_msg m;
	int passed = -1;
	for (;;) {
		int rc = ipc_recv(ctrl_fd, &m, &passed);
		if (rc == 0)
			return;
		if (rc < 0)
			fatalx("control channel lost");
		if (m.type == IPC_PEER_FD && passed >= 0 && m.slot >= 0 && m.slot < ACTOR_MAX_PEERS) {
			if (peer_fd[m.slot] >= 0)
				close(peer_fd[m.slot]);
			peer_fd[m.slot] = passed;
		} else if (passed >= 0) {
			close(passed);
		}
		ipc_msg_free(&m);
	}
}

static void peer_messages(int ctrl_fd, enum ipc_peer self, int *peer_fd, int slot, actor_request_fn handle)
{
	for (int burst = 0; burst < 64; burst++) {
		struct ipc_msg m;
		int rc = ipc_recv(peer_fd[slot], &m, NULL);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (rc == -2) {
				log_warnx("malformed frame from worker %d: dropping its link", slot + 1);
				struct ipc_msg again = { .type = IPC_PEER_FD, .kind = self, .slot = slot };
				ipc_send(ctrl_fd, &again, -1);
			}
			close(peer_fd[slot]);
			peer_fd[slot] = -1;
			return;
		}
		handle(peer_fd[slot], &m, slot);
		ipc_msg_free(&m);
	}
}

void actor_serve(int ctrl_fd, enum ipc_peer self, volatile sig_atomic_t *stop, actor_request_fn handle,
    const struct actor_hooks *hooks)
{
	int peer_fd[ACTOR_MAX_PEERS];
	for (int i = 0; i < ACTOR_MAX_PEERS; i++)
		peer_fd[i] = -1;

	while (!*stop) {
		struct pollfd pfd[ACTOR_MAX_PEERS + 2];
		int slot_of[ACTOR_MAX_PEERS + 2];
		int n = 0, watched = hooks && hooks->watch_fd && hooks->on_watch ? hooks->watch_fd() : -1;
		pfd[n].fd = ctrl_fd;
		pfd[n].events = POLLIN;
		slot_of[n++] = -1;
		if (watched >= 0) {
			pfd[n].fd = watched;
			pfd[n].events = POLLIN;
			slot_of[n++] = -2;
		}
		for (int i = 0; i < ACTOR_MAX_PEERS; i++) {
			if (peer_fd[i] < 0)
				continue;
			pfd[n].fd = peer_fd[i];
			pfd[n].events = POLLIN;
			slot_of[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (int k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (slot_of[k] == -1)
				ctrl_message(ctrl_fd, peer_fd);
			else if (slot_of[k] == -2)
				hooks->on_watch();
			else if (peer_fd[slot_of[k]] == pfd[k].fd)
				peer_messages(ctrl_fd, self, peer_fd, slot_of[k], handle);
		}
		if (hooks && hooks->on_tick)
			hooks->on_tick();
	}
	for (int i = 0; i < ACTOR_MAX_PEERS; i++)
		if (peer_fd[i] >= 0)
			close(peer_fd[i]);
}
