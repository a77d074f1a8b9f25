/*
 * Argon2id password hashing with the configured costs and a random 16-byte
 * salt (see password_hash.h). Called by kdf/kdf.c and master/cli_user.c.
 */
#include "common/password_hash.h"
#include "common/config.h"
#include "common/secure.h"

#include <argon2.h>
#include <stdint.h>
#include <stdlib.h>

char *password_hash_argon2id(const char *pw, size_t len)
{
	uint8_t salt[16];
	size_t enclen = argon2_encodedlen(cfg.argon2_t, cfg.argon2_m_kib, cfg.argon2_p, sizeof(salt), 32, Argon2_id);
	char *enc = malloc(enclen);
	if (!enc)
		return NULL;
	secure_random(salt, sizeof(salt));
	if (argon2id_hash_encoded(cfg.argon2_t, cfg.argon2_m_kib, cfg.argon2_p, pw, len, salt, sizeof(salt), 32, enc,
	        enclen) != ARGON2_OK) {
		free(enc);
		return NULL;
	}
	return enc;
}
