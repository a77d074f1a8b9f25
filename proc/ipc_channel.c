/*
 * IPC transport over AF_UNIX SOCK_SEQPACKET: one proto/ipc frame per packet,
 * optionally with one fd as SCM_RIGHTS. Used by the master (to talk to and
 * broker sockets between workers, signer and kdf) and by every child.
 */
#include "proc/ipc_channel.h"
#include "common/secure.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for several max-size frames in flight; the kernel clamps this to
 * net.core.wmem_max/rmem_max, which is still well above one frame. */
#define IPC_SOCKET_BUFFER (8 * IPC_MAX_FRAME)
/* One fd is legal per message; leave room to see (and close) a few extra
 * rather than have the kernel truncate silently. */
#define IPC_MAX_RECV_FDS 8

int ipc_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		return -1;
	int size = IPC_SOCKET_BUFFER;
	for (int i = 0; i < 2; i++) {
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) != 0 ||
		    setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0) {
			int saved = errno;
			close(sv[0]);
			close(sv[1]);
			sv[0] = sv[1] = -1;
			errno = saved;
			return -1;
		}
	}
	return 0;
}

int ipc_send(int fd, const struct ipc_msg *m, int pass_fd)
{
	uint8_t frame[IPC_MAX_FRAME];
	long len = ipc_encode(m, frame, sizeof(frame));
	if (len < 0) {
		errno = EMSGSIZE;
		return -1;
	}

	struct iovec iov = { .iov_base = frame, .iov_len = (size_t)len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	if (pass_fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
	}

	ssize_t n;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int saved = errno;
	secure_wipe(frame, (size_t)len);	/* it may carry a password (to the kdf) */
	errno = saved;
	if (n < 0)
		return -1;
	if (n != len) {	/* SEQPACKET is all-or-nothing; be safe anyway */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

int ipc_recv(int fd, struct ipc_msg *m, int *recv_fd)
{
	uint8_t frame[IPC_MAX_FRAME];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(IPC_MAX_RECV_FDS * sizeof(int))];
	} control;

	memset(m, 0, sizeof(*m));
	if (recv_fd != NULL)
		*recv_fd = -1;

	struct iovec iov = { .iov_base = frame, .iov_len = sizeof(frame) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;

	/* Collect every fd the kernel installed, whatever the frame holds, so
	 * that none leaks when the message is refused. */
	int fds[IPC_MAX_RECV_FDS];
	size_t nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count && nfds < IPC_MAX_RECV_FDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}

	if (n == 0) {	/* peer closed (an empty packet is never valid either) */
		close_fds(fds, nfds);
		errno = 0;
		return -1;
	}
	int bad = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1 || ipc_decode(frame, (size_t)n, m) != 0;
	secure_wipe(frame, (size_t)n);	/* a password (in the kdf), now in m if anywhere */
	if (bad) {
		close_fds(fds, nfds);
		errno = EBADMSG;
		return -2;
	}
	if (nfds == 1) {
		if (recv_fd != NULL)
			*recv_fd = fds[0];
		else
			close(fds[0]);
	}
	return 1;
}
