/* Second factors in the store (store/two_factor.c). */
#ifndef DREAMAUTH_STORE_TWO_FACTOR_H
#define DREAMAUTH_STORE_TWO_FACTOR_H
#include <stdint.h>

/* The key TOTP secrets are sealed under (the master derives it from
 * AUTH_SECRET for this purpose only and hands it to the store). Until it is
 * set, enrollments and codes fail (STORE_ERROR): the CLI has none. */
void store_two_factor_set_key(const uint8_t key[32]);
#endif
