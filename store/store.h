/* The store actor: the only process with database connections (store.c). */
#ifndef DREAMAUTH_STORE_H
#define DREAMAUTH_STORE_H
#include <stdnoreturn.h>
#include "shm/shm.h"

#define STORE_MAX_POOL 64

noreturn void store_main(int ctrl_fd, struct shm_region *shm);	/* never returns */
#endif
