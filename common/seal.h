/*
 * Small secrets at rest (a TOTP secret): AES-256-GCM under a 32-byte key,
 * a random 96-bit nonce each time, and associated data that names the row
 * the blob belongs to, so a blob copied to another row does not open. The
 * blob: "s1" | nonce (12) | ciphertext | tag (16). The signing keys have
 * their own format (signer/keystore.c); this one is for short byte strings.
 */
#ifndef DREAMAUTH_SEAL_H
#define DREAMAUTH_SEAL_H
#include <stddef.h>
#include <stdint.h>

#define SEAL_OVERHEAD (2 + 12 + 16)
#define SEAL_PLAIN_MAX 128

/* Seals plain (at most SEAL_PLAIN_MAX bytes) into out (len + SEAL_OVERHEAD
 * bytes). Returns the blob's length, or -1. */
long seal_bytes(const uint8_t key[32], const char *aad, const uint8_t *plain, size_t len, uint8_t *out);
/* Opens a blob sealed with the same key and aad into out (cap bytes).
 * Returns the plaintext's length, or -1 (wrong key, aad or bytes). */
long seal_open(const uint8_t key[32], const char *aad, const uint8_t *blob, size_t len, uint8_t *out, size_t cap);
#endif
