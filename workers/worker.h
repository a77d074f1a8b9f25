/*
 * An HTTP worker process: one libevent loop, no private keys, no database
 * credentials, dropped privileges. Talks to the store (every database
 * operation), the signer and the kdf over IPC, and to the other workers
 * through the shared-memory region. Its modules share workers/worker_ctx.h.
 */
#ifndef DREAMAUTH_WORKER_H
#define DREAMAUTH_WORKER_H
#include <stdint.h>
#include <stdnoreturn.h>
#include "shm/shm.h"

/* Entry point after fork. Never returns. */
noreturn void worker_main(int slot, int ctrl_fd, const int *listen_fds, int n_listen, struct shm_region *shm,
    const uint8_t csrf_key[32]);
#endif
