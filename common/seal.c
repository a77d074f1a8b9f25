/* AES-256-GCM for small secrets at rest (see seal.h). */
#include "common/seal.h"
#include "common/secure.h"

#include <string.h>
#include <openssl/evp.h>

#define MAGIC "s1"
#define MAGIC_LEN 2
#define NONCE_LEN 12
#define TAG_LEN 16

long seal_bytes(const uint8_t key[32], const char *aad, const uint8_t *plain, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t *nonce = out + MAGIC_LEN, *ct = out + MAGIC_LEN + NONCE_LEN;
	int n = 0, total = 0;
	long rc = -1;

	if (!ctx || len > SEAL_PLAIN_MAX || !aad)
		goto out;
	memcpy(out, MAGIC, MAGIC_LEN);
	secure_random(nonce, NONCE_LEN);
	if (EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1)
		goto out;
	total = n;
	if (EVP_EncryptFinal_ex(ctx, ct + total, &n) != 1)
		goto out;
	total += n;
	if ((size_t)total != len || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + total) != 1)
		goto out;
	rc = (long)(len + SEAL_OVERHEAD);
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

long seal_open(const uint8_t key[32], const char *aad, const uint8_t *blob, size_t len, uint8_t *out, size_t cap)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, total = 0;
	long rc = -1;

	if (!aad || len < SEAL_OVERHEAD || memcmp(blob, MAGIC, MAGIC_LEN) != 0 || len - SEAL_OVERHEAD > cap)
		return -1;
	size_t ct_len = len - SEAL_OVERHEAD;
	const uint8_t *nonce = blob + MAGIC_LEN, *ct = blob + MAGIC_LEN + NONCE_LEN, *tag = ct + ct_len;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1)
		goto out;
	total = n;
	/* A tag that does not match: wrong key, aad or bytes. */
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + total, &n) != 1)
		goto out;
	total += n;
	rc = total;
out:
	if (rc < 0)
		secure_wipe(out, cap);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
