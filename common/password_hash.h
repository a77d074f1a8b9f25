/*
 * Argon2id password hashing with the configured costs (cfg.argon2_*) and a
 * fresh random salt. Shared by the kdf actor (IPC_HASH_REQ) and the
 * `dreamauth user add` CLI, so both store hashes of the same form.
 */
#pragma once

#include <stddef.h>

/* Returns a malloc'd PHC string ("$argon2id$v=19$m=...") owned by the
 * caller, or NULL on allocation or hashing failure. */
char *password_hash_argon2id(const char *pw, size_t len);
