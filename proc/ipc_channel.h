/*
 * IPC transport: SOCK_SEQPACKET socketpairs, one proto/ipc frame per packet
 * (so a peer dying mid-write can never leave half a frame behind), plus
 * SCM_RIGHTS to hand a socket to a process (master brokers worker<->signer
 * and worker<->kdf pairs, and re-brokers them when either side restarts).
 */
#ifndef DREAMAUTH_IPC_CHANNEL_H
#define DREAMAUTH_IPC_CHANNEL_H
#include "proto/ipc.h"

/* socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC|SOCK_NONBLOCK) with buffers
 * sized for IPC_MAX_FRAME. 0 or -1 (errno). */
int ipc_socketpair(int sv[2]);
/* Send one message (and optionally an fd, pass_fd >= 0). 0 sent, -1 error
 * (errno; EAGAIN when the peer's queue is full). */
int ipc_send(int fd, const struct ipc_msg *m, int pass_fd);
/* Receive one message. Returns 1 with *m filled (and *recv_fd set to a
 * received fd or -1; recv_fd may be NULL, then any fd is closed), 0 when
 * nothing is pending (EAGAIN), -1 when the peer closed (errno 0) or on
 * error, -2 when the frame is malformed (caller logs and drops the peer). */
int ipc_recv(int fd, struct ipc_msg *m, int *recv_fd);
#endif
