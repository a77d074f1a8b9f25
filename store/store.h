/* The store actor: the only process with database connections (store.c). */
#ifndef DREAMAUTH_STORE_H
#define DREAMAUTH_STORE_H
#include <stdnoreturn.h>
#include <stdint.h>
#include "shm/shm.h"

#define STORE_MAX_POOL 64

/* two_factor_key: seals TOTP secrets (store/two_factor.h); copied, then
 * wiped where it was. Never returns. */
noreturn void store_main(int ctrl_fd, struct shm_region *shm, uint8_t two_factor_key[32]);
#endif
