/*
 * Signing keys: generation, sealing at rest (AES-256-GCM under a key derived
 * from AUTH_SECRET with HKDF-SHA256), the signing_keys table and its
 * rotation. The signer and the `dreamauth keys` command (which holds
 * AUTH_SECRET too) call this; workers see public JWKs only.
 *
 * Life of a key (table states in quotes, operator words in brackets):
 *   'current' [active]     signs new tokens; published in the JWKS. One per alg.
 *   'standby' [retiring]   rotated out: no longer signs, still published until
 *                          publish_until, when every token it signed has expired.
 *   'retired' [retired]    past publish_until: unpublished, private half erased.
 *   'retired' [revoked]    revoked by an operator (revoked_at set): unpublished
 *                          at once, private half erased.
 * Every change is one transaction that ends with NOTIFY KEYS_NOTIFY_CHANNEL,
 * so running signers reload (signer/signer.c explains the rest of the path).
 */
#ifndef DREAMAUTH_KEYSTORE_H
#define DREAMAUTH_KEYSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include "proto/jws.h"

/* Published keys at once (3 active + retiring ones); keystore_rotate refuses
 * beyond it rather than leave a signer unable to load. Workers' JWKS caches
 * (workers/jwt_local.c) hold as many. */
#define KEYSTORE_MAX_KEYS 32
#define KEYS_NOTIFY_CHANNEL "dreamauth_keys"
/* A retiring key stays published for the token lifetime plus this margin:
 * the signer accepts iat up to a minute ahead (TOKEN_CLOCK_SKEW), verifiers
 * allow a minute of leeway on exp, and the rest covers clocks that disagree. */
#define KEYSTORE_RETIRE_MARGIN 300

enum key_state { KEY_CURRENT = 1, KEY_STANDBY = 2, KEY_RETIRED = 3 };

struct signing_key {
	char kid[44];
	enum jws_alg alg;
	enum key_state state;
	EVP_PKEY *pkey;		/* private */
	int64_t created_at;
	int64_t publish_until;	/* standby: leaves the JWKS then (0: no end) */
};

struct keystore {
	struct signing_key keys[KEYSTORE_MAX_KEYS];
	int n;
	int64_t next_expiry;	/* earliest publish_until among keys[]: reload then (0: none) */
	uint8_t kek[32];	/* key-encryption key; wiped on free */
};

/* Results of keystore_rotate and keystore_revoke besides 0 (done). */
enum keystore_result {
	KEYSTORE_ERROR = -1,		/* database or crypto failure (logged) */
	KEYSTORE_NOT_FOUND = -2,	/* no key with that kid */
	KEYSTORE_ALREADY_GONE = -3,	/* the key is already revoked or retired */
	KEYSTORE_FULL = -4,		/* KEYSTORE_MAX_KEYS keys are published already */
};

/* One row of signing_keys for `dreamauth keys list`: no key material. */
struct key_info {
	char kid[44];
	char alg[8];
	char state[12];		/* active, retiring, standby, retired, revoked */
	int64_t created_at;
	int64_t rotated_at;	/* 0 when not set */
	int64_t publish_until;
	int64_t revoked_at;
	int64_t retired_at;
};

/* kek = HKDF-SHA256(AUTH_SECRET, salt "dreamauth/v1", info "signing-key-encryption") */
int keystore_derive_kek(const char *auth_secret, uint8_t kek[32]);
EVP_PKEY *keystore_generate(enum jws_alg alg);
/* Seal PKCS#8 DER of pkey: out = "v1" | nonce(12) | ciphertext | tag(16), with
 * kid and alg as associated data. malloc'd; NULL on failure. */
uint8_t *keystore_seal(const uint8_t kek[32], EVP_PKEY *pkey, const char *kid, enum jws_alg alg, size_t *out_len);
EVP_PKEY *keystore_open(const uint8_t kek[32], const uint8_t *blob, size_t len, const char *kid, enum jws_alg alg);
/* Load every published key (current, and standby before its publish_until)
 * from signing_keys; when an algorithm has no CURRENT key,
 * generate one and insert it (safe when two instances race: a unique index
 * on current keys per alg decides, the loser reloads). 0 ok, -1 error
 * (e.g. AUTH_SECRET changed: keys cannot be opened). Set ks->kek first; ks
 * must be zeroed or previously loaded (its old keys are freed on success). */
int keystore_load(struct keystore *ks, PGconn *db);
struct signing_key *keystore_current(struct keystore *ks, enum jws_alg alg);
/* One algorithm's part of a rotation: alg in, the rest out. */
struct key_rotation {
	enum jws_alg alg;
	char new_kid[44];	/* the key that signs from now on */
	char old_kid[44];	/* the key it replaced, now retiring ("" if none) */
	int64_t old_until;	/* when old_kid leaves the JWKS, epoch seconds */
};

/* Rotate each r[i].alg: generate a key, demote the current one to standby
 * published for publish_seconds more, store the new one as current. All n
 * in one transaction under an advisory lock (concurrent rotations queue),
 * ending in one NOTIFY: signers see all of it or none. 0 or a keystore_result. */
int keystore_rotate(PGconn *db, const uint8_t kek[32], struct key_rotation *r, int n, int publish_seconds);
/* Revoke kid: retire it at once and erase its sealed private key; if it was
 * current, a fresh key for its alg becomes current (new_kid, else ""). NOTIFY.
 * 0 or a keystore_result (KEYSTORE_NOT_FOUND for a malformed kid too). */
int keystore_revoke(PGconn *db, const uint8_t kek[32], const char *kid, char new_kid[44], enum jws_alg *alg);
/* Standby keys past publish_until become retired and lose their private
 * half. Number of keys retired, or -1. */
int keystore_expire(PGconn *db);
/* Every row of signing_keys, oldest first, into a malloc'd *out. Count or -1. */
int keystore_list(PGconn *db, struct key_info **out);
/* A kid we could have made: 43 base64url characters (RFC 7638 SHA-256). */
bool keystore_kid_valid(const char *kid);
/* JWKS JSON text of all published (current and standby) keys, malloc'd. */
char *keystore_jwks_json(struct keystore *ks);
void keystore_free(struct keystore *ks);
#endif
