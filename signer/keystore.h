/*
 * Signing keys: generation, sealing at rest (AES-256-GCM under a key derived
 * from AUTH_SECRET with HKDF-SHA256), and the signing_keys table. Only the
 * signer process calls this; workers see public JWKs only.
 */
#ifndef DREAMAUTH_KEYSTORE_H
#define DREAMAUTH_KEYSTORE_H
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include "proto/jws.h"

#define KEYSTORE_MAX_KEYS 16

enum key_state { KEY_CURRENT = 1, KEY_STANDBY = 2, KEY_RETIRED = 3 };

struct signing_key {
	char kid[44];
	enum jws_alg alg;
	enum key_state state;
	EVP_PKEY *pkey;		/* private */
	int64_t created_at;
};

struct keystore {
	struct signing_key keys[KEYSTORE_MAX_KEYS];
	int n;
	uint8_t kek[32];	/* key-encryption key; wiped on free */
};

/* kek = HKDF-SHA256(AUTH_SECRET, salt "dreamauth/v1", info "signing-key-encryption") */
int keystore_derive_kek(const char *auth_secret, uint8_t kek[32]);
EVP_PKEY *keystore_generate(enum jws_alg alg);
/* Seal PKCS#8 DER of pkey: out = "v1" | nonce(12) | ciphertext | tag(16), with
 * kid and alg as associated data. malloc'd; NULL on failure. */
uint8_t *keystore_seal(const uint8_t kek[32], EVP_PKEY *pkey, const char *kid, enum jws_alg alg, size_t *out_len);
EVP_PKEY *keystore_open(const uint8_t kek[32], const uint8_t *blob, size_t len, const char *kid, enum jws_alg alg);
/* Load every key from signing_keys; when an algorithm has no CURRENT key,
 * generate one and insert it (safe when two instances race: a unique index
 * on current keys per alg decides, the loser reloads). 0 ok, -1 error
 * (e.g. AUTH_SECRET changed: keys cannot be opened). Set ks->kek first; ks
 * must be zeroed or previously loaded (its old keys are freed on success). */
int keystore_load(struct keystore *ks, PGconn *db);
struct signing_key *keystore_current(struct keystore *ks, enum jws_alg alg);
/* JWKS JSON text of all non-retired keys, malloc'd. */
char *keystore_jwks_json(struct keystore *ks);
void keystore_free(struct keystore *ks);
#endif
