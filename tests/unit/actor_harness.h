/*
 * Shared by the actor unit tests (test_kdf_actor.c, test_signer_actor.c):
 * run an actor the way the master does — forked with a control socketpair,
 * worker links handed over as IPC_PEER_FD — and talk to it over IPC.
 * Include after tests/unit/check.h.
 */
#ifndef DREAMAUTH_ACTOR_HARNESS_H
#define DREAMAUTH_ACTOR_HARNESS_H
#include "proc/ipc_channel.h"
#include "shm/shm.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait up to ms for one message on fd. 1 got it, 0 timeout, <0 error. */
static inline int actor_recv_wait(int fd, struct ipc_msg *m, int *passed, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, ms);
	if (rc <= 0)
		return rc;
	return ipc_recv(fd, m, passed);
}

/* One request, one reply (which must answer this request's rid). */
static inline int actor_call(int fd, const struct ipc_msg *req, struct ipc_msg *resp)
{
	if (ipc_send(fd, req, -1) < 0)
		return -1;
	int rc = actor_recv_wait(fd, resp, NULL, 60000);
	CHECK(rc != 1 || resp->rid == req->rid);
	return rc;
}

/* Fork the actor as the master does; ctrl[0] stays ours, ctrl[1] is its control socket. */
static inline pid_t actor_spawn(void (*actor_main)(int ctrl_fd, struct shm_region *shm), struct shm_region *shm,
    int ctrl[2])
{
	CHECK_EQ_INT(ipc_socketpair(ctrl), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(ctrl[0]);
		actor_main(ctrl[1], shm);
		_exit(127);	/* not reached: actors never return */
	}
	close(ctrl[1]);
	return pid;
}

/* Hand the actor a fresh worker link as the master would; returns our end. */
static inline int actor_new_link(int ctrl, int kind, int slot)
{
	int sv[2];
	struct ipc_msg m = { .type = IPC_PEER_FD, .kind = kind, .slot = slot };
	if (ipc_socketpair(sv) < 0)
		return -1;
	if (ipc_send(ctrl, &m, sv[1]) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	return sv[0];
}

/* After a malformed frame on link: the actor asks the master (ctrl) for a
 * new link of its kind and slot, closes this one, and stays alive. Closes link. */
static inline void actor_check_link_dropped(int ctrl, int link, pid_t pid, int kind, int slot)
{
	struct ipc_msg again, resp;
	int passed = -1;
	CHECK_EQ_INT(actor_recv_wait(ctrl, &again, &passed, 10000), 1);
	CHECK_EQ_INT(again.type, IPC_PEER_FD);
	CHECK_EQ_INT(again.kind, kind);
	CHECK_EQ_INT(again.slot, slot);
	CHECK_EQ_INT(passed, -1);
	ipc_msg_free(&again);
	/* Our end sees the link closed. */
	struct pollfd pf = { .fd = link, .events = POLLIN };
	CHECK_EQ_INT(poll(&pf, 1, 5000), 1);
	CHECK(pf.revents & (POLLHUP | POLLIN));
	CHECK_EQ_INT(ipc_recv(link, &resp, NULL), -1);
	close(link);
	CHECK_EQ_INT(kill(pid, 0), 0);
}

/* SIGTERM: the actor exits 0. */
static inline void actor_check_clean_exit(pid_t pid)
{
	int status;
	CHECK_EQ_INT(kill(pid, SIGTERM), 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif
