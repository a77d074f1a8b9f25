/* The password-hashing actor: argon2id hash/verify off the HTTP loops. */
#ifndef DREAMAUTH_KDF_H
#define DREAMAUTH_KDF_H
#include <stdnoreturn.h>
#include "shm/shm.h"
#define KDF_MAX_PASSWORD 1024	/* bytes; longer is refused by the workers too */
#define KDF_MAX_QUEUE 1024
noreturn void kdf_main(int ctrl_fd, struct shm_region *shm);	/* never returns */
#endif
