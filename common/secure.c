/* Thin wrappers over OpenSSL so callers never hand-roll crypto, and frees
 * that leave no secret behind in the heap. */
#include "common/secure.h"

#include <pthread.h>
#include <stdlib.h>
#include "common/log.h"
#include "proto/base64url.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

void secure_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		fatalx("RAND_bytes failed");
}

/* SHA256() in OpenSSL 3 fetches the algorithm on every call (a lock, a
 * lookup, a free): 7.7 % of a worker's time on /api/verify, which hashes
 * every session cookie. One fetched digest and one context per thread,
 * freed when the thread ends (the store's threads come and go with it). */
struct sha256_state {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static pthread_key_t sha256_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_state_free(void *p)
{
	struct sha256_state *st = p;
	EVP_MD_CTX_free(st->ctx);
	EVP_MD_free(st->md);
	free(st);
}

static void sha256_key_create(void)
{
	if (pthread_key_create(&sha256_key, sha256_state_free) != 0)
		fatalx("pthread_key_create");
}

void secure_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	static _Thread_local struct sha256_state *st;
	unsigned int n = 0;

	if (!st) {
		pthread_once(&sha256_once, sha256_key_create);
		st = calloc(1, sizeof(*st));
		if (!st || !(st->md = EVP_MD_fetch(NULL, "SHA2-256", NULL)) || !(st->ctx = EVP_MD_CTX_new()) ||
		    pthread_setspecific(sha256_key, st) != 0)
			fatalx("cannot set up SHA-256");
	}
	EVP_MD *md = st->md;
	EVP_MD_CTX *ctx = st->ctx;
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != SHA256_LEN)
		fatalx("SHA-256 failed");
}

void secure_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int outlen = SHA256_LEN;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen))
		fatalx("HMAC-SHA256 failed");
}

int secure_hkdf_sha256(const void *ikm, size_t ikmlen, const char *salt, const char *info, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int rc = -1;

	if (!ctx)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, strlen(salt));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
		rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

bool secure_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

bool secure_str_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Compare over a's length either way so timing reveals only len(a). */
	if (la != lb) {
		(void)CRYPTO_memcmp(a, a, la);
		return false;
	}
	return CRYPTO_memcmp(a, b, la) == 0;
}

void secure_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void secure_sha256_param(const void *data, size_t len, char out[SECURE_SHA256_PARAM_LEN])
{
	uint8_t h[SHA256_LEN];
	secure_sha256(data, len, h);
	out[0] = '\\';
	out[1] = 'x';
	secure_hex(h, sizeof(h), out + 2);
}

/* glibc's explicit_bzero: memset at full speed, which the compiler may not
 * drop (OPENSSL_cleanse stores byte by byte: 1 % of a worker's time once
 * request buffers were wiped). */
void secure_wipe(void *buf, size_t len)
{
	if (buf)
		explicit_bzero(buf, len);
}

void secure_free(void *p)
{
	if (!p)
		return;
	secure_wipe(p, malloc_usable_size(p));
	free(p);
}

/* realloc without leaving the old contents behind when the block moves. */
static void *wiping_realloc(void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	if (p && n <= old)
		return p;
	void *q = malloc(n);
	if (q && p)
		memcpy(q, p, old);
	if (q)
		secure_free(p);
	return q;
}

void secure_free_library_memory(void)
{
	event_set_mem_functions(malloc, wiping_realloc, secure_free);
	json_set_alloc_funcs(malloc, secure_free);
}

void secure_token(char out[TOKEN_STR_LEN])
{
	uint8_t raw[32];
	secure_random(raw, sizeof(raw));
	base64url_encode(raw, sizeof(raw), out);
	secure_wipe(raw, sizeof(raw));
}
