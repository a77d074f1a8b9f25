/*
 * Signing-key changes asked by the admin API (IPC_KEYS_REQ from a worker):
 * rotate and revoke, what `dreamauth keys rotate|revoke` does
 * (master/cli_keys.c). They run here because making and sealing a key needs
 * the key-encryption key, which only the signer (and the CLI) holds: a
 * worker never sees key material, and the store (the other process with a
 * database connection) holds no KEK.
 *
 * The signer does not trust the worker's word that its caller is an admin:
 * the request carries the caller's proof, which dreamauth_admin_actor
 * (migrations/013) resolves on the signer's own connection before anything
 * changes, as the store does for every other admin operation. The change
 * itself commits and NOTIFYs like the CLI's, so every signer reloads.
 */
#ifndef DREAMAUTH_SIGNER_ADMIN_H
#define DREAMAUTH_SIGNER_ADMIN_H
#include <stdint.h>
#include <libpq-fe.h>
#include "proto/ipc.h"

/* Runs m on db with the KEK; returns 0 or a keystore_result (or -10 when the
 * caller is not a live admin, -11 for a malformed request) and the JSON
 * answer in *json (malloc'd, or NULL). */
#define SIGNER_ADMIN_FORBIDDEN (-10)
#define SIGNER_ADMIN_BAD_REQUEST (-11)
int signer_admin_keys(PGconn *db, const uint8_t kek[32], const struct ipc_msg *m, char **json);
#endif
