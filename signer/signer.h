/* The signer process: the only holder of private signing keys. */
#ifndef DREAMAUTH_SIGNER_H
#define DREAMAUTH_SIGNER_H
#include <stdnoreturn.h>
#include "shm/shm.h"
noreturn void signer_main(int ctrl_fd, struct shm_region *shm);	/* never returns */
#endif
