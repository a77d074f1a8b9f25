/* Small crypto helpers over OpenSSL used everywhere: randomness, hashing,
 * constant-time comparison, hex. */
#ifndef DREAMAUTH_SECURE_H
#define DREAMAUTH_SECURE_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SHA256_LEN 32

void secure_random(void *buf, size_t len);	/* fatal if the CSPRNG fails */
void secure_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* HMAC-SHA256 */
void secure_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* HKDF-SHA256 (RFC 5869); returns 0 on success. */
int secure_hkdf_sha256(const void *ikm, size_t ikmlen, const char *salt, const char *info, uint8_t *out, size_t outlen);
/* true if equal; time depends only on len. */
bool secure_equal(const void *a, const void *b, size_t len);
/* Constant-time for equal lengths; different lengths are unequal. */
bool secure_str_equal(const char *a, const char *b);
void secure_hex(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
#define SECURE_SHA256_PARAM_LEN (2 + 2 * SHA256_LEN + 1)
/* "\x" + hex SHA-256 of data: a token's hash as the text of a bytea query
 * parameter (secrets are kept hashed; the store compares these). */
void secure_sha256_param(const void *data, size_t len, char out[SECURE_SHA256_PARAM_LEN]);
void secure_wipe(void *buf, size_t len);
/* free() that zeroes the whole block first (malloc_usable_size): for memory
 * that held a password, a secret or a request body. NULL is fine. */
void secure_free(void *p);
/* libevent (socket buffers: request bodies) and jansson (parsed JSON
 * strings: passwords) free through secure_free from now on. Call first thing
 * in main, before any libevent or jansson call. */
void secure_free_library_memory(void);
/* A random 256-bit token, base64url without padding (43 chars + NUL). */
#define TOKEN_STR_LEN 44
void secure_token(char out[TOKEN_STR_LEN]);
#endif
