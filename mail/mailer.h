/* The mailer process (mail/mailer.c). */
#ifndef DREAMAUTH_MAILER_H
#define DREAMAUTH_MAILER_H
#include <stdnoreturn.h>
#include "shm/shm.h"

noreturn void mailer_main(int ctrl_fd, struct shm_region *shm);	/* never returns */
#endif
