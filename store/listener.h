/*
 * The store's revocation listener: one thread with its own connection that
 * LISTENs on dreamauth_revoke and writes what it hears (sessions, users,
 * access tokens revoked by any instance) into shared memory. Each notice
 * carries its revocation_log sequence number; after a lost connection (a
 * database restart) or a store restart, the listener catches up from the
 * last number it applied instead of distrusting the whole cache.
 */
#ifndef DREAMAUTH_STORE_LISTENER_H
#define DREAMAUTH_STORE_LISTENER_H
#include "shm/shm.h"

int store_listener_start(struct shm_region *shm);
void store_listener_stop(void);
#endif
