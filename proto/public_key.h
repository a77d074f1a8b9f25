/*
 * OpenSSL 3 public keys from their raw numbers, shared by the JWK reader
 * (proto/jws.c) and the COSE_Key reader (proto/cose_key.c): each checks its
 * own format's members and lengths, then builds the key here.
 */
#ifndef DREAMAUTH_PUBLIC_KEY_H
#define DREAMAUTH_PUBLIC_KEY_H
#include <stdint.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#define PUBLIC_KEY_P256_COORD_LEN 32
#define PUBLIC_KEY_ED25519_LEN 32
#define PUBLIC_KEY_RSA_MIN_BITS 2048
#define PUBLIC_KEY_RSA_MAX_BYTES 512	/* 4096 bits: bounds verification cost */
#define PUBLIC_KEY_RSA_E_MAX_BYTES 4

/* P-256 from the 32-byte big-endian x and y; NULL unless the point is on
 * the curve and in the right subgroup (OpenSSL's public check). */
EVP_PKEY *public_key_p256(const uint8_t *x, const uint8_t *y);
/* Ed25519 from its 32 bytes; NULL unless OpenSSL's public check passes. */
EVP_PKEY *public_key_ed25519(const uint8_t *x);
/* RSA from n and e; NULL unless n is odd, 2048 to 4096 bits, and e odd,
 * above 1, at most 4 bytes. Deterministic checks only: no
 * EVP_PKEY_public_check, whose Miller-Rabin step uses random bases, so a
 * malformed modulus would be accepted or refused at random (and a verifier
 * gains nothing from vetting the factorisation of a key it is handed). */
EVP_PKEY *public_key_rsa(const BIGNUM *n, const BIGNUM *e);
#endif
