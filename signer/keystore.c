/*
 * Signing keys at rest: generated here, sealed with AES-256-GCM under a KEK
 * derived from AUTH_SECRET, stored in signing_keys. Each algorithm has at most
 * one 'current' key (a unique partial index enforces it), so instances that
 * start together agree on one key without any other coordination. Rotation
 * and revocation (keystore.h has the life of a key) each run as one
 * transaction under an advisory lock, so a reader never sees an algorithm
 * without its current key, and end with a NOTIFY that running signers hear.
 */
#include "signer/keystore.h"
#include "common/db.h"
#include "common/log.h"
#include "common/secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define SEAL_MAGIC "v1"
#define SEAL_MAGIC_LEN 2
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_MAX_PLAIN 16384	/* PKCS#8 of a 4096-bit RSA key is ~2.4 KB */

static const enum jws_alg managed_algs[] = { JWS_ALG_RS256, JWS_ALG_ES256, JWS_ALG_EDDSA };

int keystore_derive_kek(const char *auth_secret, uint8_t kek[32])
{
	if (!auth_secret || !*auth_secret)
		return -1;
	return secure_hkdf_sha256(auth_secret, strlen(auth_secret), "dreamauth/v1", "signing-key-encryption", kek, 32);
}

EVP_PKEY *keystore_generate(enum jws_alg alg)
{
	switch (alg) {
	case JWS_ALG_RS256: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case JWS_ALG_ES256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case JWS_ALG_EDDSA: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default: return NULL;
	}
}

/* AAD binds the blob to its row: a sealed key copied to another kid or alg fails to open. */
static int seal_aad(const char *kid, enum jws_alg alg, char *aad, size_t cap)
{
	const char *name = jws_alg_name(alg);
	int n;
	if (!kid || !name)
		return -1;
	n = snprintf(aad, cap, "dreamauth-key-v1|%s|%s", kid, name);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

uint8_t *keystore_seal(const uint8_t kek[32], EVP_PKEY *pkey, const char *kid, enum jws_alg alg, size_t *out_len)
{
	char aad[128];
	int aad_len = seal_aad(kid, alg, aad, sizeof(aad));
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	uint8_t *plain = NULL, *blob = NULL, *ct;
	int plain_len = 0, n = 0, total = 0;
	EVP_CIPHER_CTX *ctx = NULL;

	if (aad_len < 0 || !pkey)
		return NULL;
	p8 = EVP_PKEY2PKCS8(pkey);
	if (!p8)
		goto fail;
	plain_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &plain);
	if (plain_len <= 0 || plain_len > SEAL_MAX_PLAIN)
		goto fail;
	blob = malloc(SEAL_MAGIC_LEN + SEAL_NONCE_LEN + (size_t)plain_len + SEAL_TAG_LEN);
	if (!blob)
		goto fail;
	memcpy(blob, SEAL_MAGIC, SEAL_MAGIC_LEN);
	/* Random 96-bit nonces: few keys are ever sealed under one KEK. */
	if (RAND_bytes(blob + SEAL_MAGIC_LEN, SEAL_NONCE_LEN) != 1)
		goto fail;
	ct = blob + SEAL_MAGIC_LEN + SEAL_NONCE_LEN;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), kek, blob + SEAL_MAGIC_LEN, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, aad_len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, plain, plain_len) != 1)
		goto fail;
	total = n;
	if (EVP_EncryptFinal_ex(ctx, ct + total, &n) != 1)
		goto fail;
	total += n;
	if (total != plain_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, ct + total) != 1)
		goto fail;
	*out_len = SEAL_MAGIC_LEN + SEAL_NONCE_LEN + (size_t)total + SEAL_TAG_LEN;
	goto out;
fail:
	free(blob);
	blob = NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (plain)
		OPENSSL_clear_free(plain, (size_t)plain_len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return blob;
}

/* True if pkey is a private key of the kind alg signs with. */
static bool private_key_fits(EVP_PKEY *pkey, enum jws_alg alg)
{
	char group[32];
	size_t group_len = 0;
	switch (alg) {
	case JWS_ALG_RS256:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) >= 2048;
	case JWS_ALG_ES256:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
		    EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof(group), &group_len) == 1 &&
		    strcmp(group, "prime256v1") == 0;
	case JWS_ALG_EDDSA:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
	default:
		return false;
	}
}

EVP_PKEY *keystore_open(const uint8_t kek[32], const uint8_t *blob, size_t len, const char *kid, enum jws_alg alg)
{
	char aad[128];
	int aad_len = seal_aad(kid, alg, aad, sizeof(aad));
	const uint8_t *nonce, *ct, *tag;
	size_t ct_len;
	uint8_t *plain = NULL;
	int n = 0, total = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;

	if (aad_len < 0 || !blob || len < SEAL_MAGIC_LEN + SEAL_NONCE_LEN + 1 + SEAL_TAG_LEN ||
	    len > SEAL_MAGIC_LEN + SEAL_NONCE_LEN + SEAL_MAX_PLAIN + SEAL_TAG_LEN ||
	    memcmp(blob, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return NULL;
	nonce = blob + SEAL_MAGIC_LEN;
	ct = nonce + SEAL_NONCE_LEN;
	ct_len = len - SEAL_MAGIC_LEN - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	tag = ct + ct_len;
	plain = malloc(ct_len);
	ctx = EVP_CIPHER_CTX_new();
	if (!plain || !ctx || EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), kek, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, aad_len) != 1 ||
	    EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ct_len) != 1)
		goto out;
	total = n;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, plain + total, &n) != 1)	/* tag mismatch: wrong KEK, AAD or bytes */
		goto out;
	total += n;
	p = plain;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, total);
	if (!p8 || p != plain + total)
		goto out;
	pkey = EVP_PKCS82PKEY(p8);
	if (pkey && !private_key_fits(pkey, alg)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_CIPHER_CTX_free(ctx);
	if (plain)
		OPENSSL_clear_free(plain, ct_len);
	return pkey;
}

/* RFC 7638 thumbprint of pkey's public JWK; the kid of every key we make. */
static int key_thumbprint(EVP_PKEY *pkey, enum jws_alg alg, char kid[44])
{
	json_t *jwk = jwk_from_public_key(pkey, alg, NULL);
	int rc = jwk ? jwk_thumbprint(jwk, kid) : -1;
	json_decref(jwk);
	return rc;
}

static void free_keys(struct signing_key *keys, int n)
{
	for (int i = 0; i < n; i++) {
		EVP_PKEY_free(keys[i].pkey);
		keys[i].pkey = NULL;
	}
}

static enum key_state state_from_name(const char *name)
{
	if (strcmp(name, "current") == 0) return KEY_CURRENT;
	if (strcmp(name, "standby") == 0) return KEY_STANDBY;
	if (strcmp(name, "retired") == 0) return KEY_RETIRED;
	return 0;
}

/* A binary-format bigint column. */
static int64_t be64(const char *p)
{
	uint64_t v = 0;
	for (int b = 0; b < 8; b++)
		v = v << 8 | (uint8_t)p[b];
	return (int64_t)v;
}

/* Reads and opens every published key into keys[]; -1 if any row is unusable. */
static int read_keys(PGconn *db, const uint8_t kek[32], struct signing_key *keys, int *count)
{
	/* A standby key past its publish_until is out even before keystore_expire
	 * marks it retired. */
	static const char sql[] =
		"SELECT kid, alg, state, sealed_private, extract(epoch FROM created_at)::bigint, "
		"COALESCE(ceil(extract(epoch FROM publish_until)), 0)::bigint "
		"FROM signing_keys WHERE state = 'current' OR "
		"(state = 'standby' AND (publish_until IS NULL OR publish_until > now())) ORDER BY created_at, kid";
	/* Ask for binary results so bytea arrives as raw bytes; text columns are unchanged. */
	PGresult *res = PQexecParams(db, sql, 0, NULL, NULL, NULL, NULL, 1);
	int rows, n = 0, rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_errorx("cannot read signing_keys: %s", PQerrorMessage(db));
		goto out;
	}
	rows = PQntuples(res);
	if (rows > KEYSTORE_MAX_KEYS) {
		log_errorx("signing_keys holds %d usable keys, at most %d supported", rows, KEYSTORE_MAX_KEYS);
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		struct signing_key *key = &keys[n];
		const char *kid = PQgetvalue(res, i, 0);
		char check_kid[44];

		memset(key, 0, sizeof(*key));
		if (PQgetlength(res, i, 0) >= (int)sizeof(key->kid) || PQgetlength(res, i, 4) != 8 ||
		    PQgetlength(res, i, 5) != 8) {
			log_errorx("signing_keys row %d is malformed", i);
			goto out;
		}
		snprintf(key->kid, sizeof(key->kid), "%s", kid);
		key->alg = jws_alg_from_name(PQgetvalue(res, i, 1));
		key->state = state_from_name(PQgetvalue(res, i, 2));
		key->created_at = be64(PQgetvalue(res, i, 4));
		key->publish_until = key->state == KEY_STANDBY ? be64(PQgetvalue(res, i, 5)) : 0;
		if (key->alg == JWS_ALG_NONE || key->state == 0) {
			log_errorx("signing key %s has unknown alg or state", key->kid);
			goto out;
		}
		key->pkey = keystore_open(kek, (const uint8_t *)PQgetvalue(res, i, 3),
		    (size_t)PQgetlength(res, i, 3), key->kid, key->alg);
		if (!key->pkey) {
			log_errorx("cannot decrypt signing key %s: AUTH_SECRET changed?", key->kid);
			goto out;
		}
		n++;
		/* The kid is the thumbprint: a mismatch means the row was tampered with. */
		if (key_thumbprint(key->pkey, key->alg, check_kid) != 0 || strcmp(check_kid, key->kid) != 0) {
			log_errorx("signing key %s does not match its kid", key->kid);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		free_keys(keys, n);
		n = 0;
	}
	*count = n;
	PQclear(res);
	return rc;
}

/* A freshly generated key, sealed and ready to insert. */
struct new_key {
	char kid[44];
	uint8_t *sealed;
	size_t sealed_len;
	char *jwk_text;
};

static void new_key_free(struct new_key *nk)
{
	free(nk->sealed);
	free(nk->jwk_text);
	memset(nk, 0, sizeof(*nk));
}

static int new_key_make(struct new_key *nk, const uint8_t kek[32], enum jws_alg alg)
{
	EVP_PKEY *pkey = keystore_generate(alg);
	json_t *jwk = NULL;
	int rc = -1;

	memset(nk, 0, sizeof(*nk));
	if (!pkey || key_thumbprint(pkey, alg, nk->kid) != 0)
		goto out;
	jwk = jwk_from_public_key(pkey, alg, nk->kid);
	nk->jwk_text = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
	nk->sealed = keystore_seal(kek, pkey, nk->kid, alg, &nk->sealed_len);
	if (!nk->jwk_text || !nk->sealed || nk->sealed_len > INT32_MAX)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		log_errorx("cannot generate a %s signing key", jws_alg_name(alg));
		new_key_free(nk);
	}
	json_decref(jwk);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Inserts nk as the current key of alg. With if_none, losing the race to
 * another instance's insert is fine (0 rows). Rows inserted, or -1. */
static int new_key_insert(PGconn *db, const struct new_key *nk, enum jws_alg alg, bool if_none)
{
	static const char sql_if_none[] =
		"INSERT INTO signing_keys (kid, alg, state, sealed_private, public_jwk) "
		"VALUES ($1, $2, 'current', $3, $4::jsonb) ON CONFLICT DO NOTHING";
	static const char sql[] =
		"INSERT INTO signing_keys (kid, alg, state, sealed_private, public_jwk) "
		"VALUES ($1, $2, 'current', $3, $4::jsonb)";
	const char *values[4] = { nk->kid, jws_alg_name(alg), (const char *)nk->sealed, nk->jwk_text };
	int lengths[4] = { 0, 0, (int)nk->sealed_len, 0 };
	int formats[4] = { 0, 0, 1, 0 };	/* sealed_private goes as binary bytea */
	PGresult *res = PQexecParams(db, if_none ? sql_if_none : sql, 4, NULL, values, lengths, formats, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_errorx("cannot store new %s signing key: %s", jws_alg_name(alg), PQerrorMessage(db));
	else
		rc = atoi(PQcmdTuples(res));
	PQclear(res);
	return rc;
}

/* Generates a key for alg and inserts it as current unless another instance got there first. */
static int insert_new_key(PGconn *db, const uint8_t kek[32], enum jws_alg alg)
{
	struct new_key nk;
	int rows;

	if (new_key_make(&nk, kek, alg) != 0)
		return -1;
	rows = new_key_insert(db, &nk, alg, true);
	if (rows == 1)
		log_info("generated %s signing key %s", jws_alg_name(alg), nk.kid);
	else if (rows == 0)
		log_info("another instance stored a %s signing key first; using it", jws_alg_name(alg));
	new_key_free(&nk);
	return rows < 0 ? -1 : 0;
}

static bool has_current(const struct signing_key *keys, int n, enum jws_alg alg)
{
	for (int i = 0; i < n; i++)
		if (keys[i].alg == alg && keys[i].state == KEY_CURRENT)
			return true;
	return false;
}

/* ks->kek must be set and ks->keys either zeroed or from an earlier load:
 * keys held from before are released once the new set is loaded. */
int keystore_load(struct keystore *ks, PGconn *db)
{
	struct signing_key keys[KEYSTORE_MAX_KEYS];
	int n = 0;
	bool generated = false;

	if (!ks || !db)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		if (read_keys(db, ks->kek, keys, &n) != 0)
			return -1;
		if (pass == 1)
			break;
		generated = false;
		for (size_t a = 0; a < sizeof(managed_algs) / sizeof(managed_algs[0]); a++) {
			if (has_current(keys, n, managed_algs[a]))
				continue;
			if (insert_new_key(db, ks->kek, managed_algs[a]) != 0) {
				free_keys(keys, n);
				return -1;
			}
			generated = true;
		}
		if (!generated)
			break;
		/* Reload: a racing instance's key may have won the unique index. */
		free_keys(keys, n);
		n = 0;
	}
	for (size_t a = 0; a < sizeof(managed_algs) / sizeof(managed_algs[0]); a++) {
		if (!has_current(keys, n, managed_algs[a])) {
			log_errorx("no current %s signing key after generation", jws_alg_name(managed_algs[a]));
			free_keys(keys, n);
			return -1;
		}
	}
	free_keys(ks->keys, ks->n);
	memcpy(ks->keys, keys, sizeof(keys[0]) * (size_t)n);
	ks->n = n;
	ks->next_expiry = 0;
	for (int i = 0; i < n; i++)
		if (keys[i].publish_until > 0 && (ks->next_expiry == 0 || keys[i].publish_until < ks->next_expiry))
			ks->next_expiry = keys[i].publish_until;
	return 0;
}

struct signing_key *keystore_current(struct keystore *ks, enum jws_alg alg)
{
	for (int i = 0; i < ks->n; i++)
		if (ks->keys[i].alg == alg && ks->keys[i].state == KEY_CURRENT)
			return &ks->keys[i];
	return NULL;
}

char *keystore_jwks_json(struct keystore *ks)
{
	json_t *root = json_object(), *list = json_array();
	char *text = NULL;

	if (!root || !list || json_object_set(root, "keys", list) != 0)
		goto out;
	int64_t now = (int64_t)time(NULL);

	for (int i = 0; i < ks->n; i++) {
		struct signing_key *key = &ks->keys[i];
		if (key->state != KEY_CURRENT && key->state != KEY_STANDBY)
			continue;
		/* Past its window even if no reload has happened yet. */
		if (key->state == KEY_STANDBY && key->publish_until > 0 && key->publish_until <= now)
			continue;
		if (json_array_append_new(list, jwk_from_public_key(key->pkey, key->alg, key->kid)) != 0)
			goto out;
	}
	text = json_dumps(root, JSON_COMPACT);
out:
	json_decref(list);
	json_decref(root);
	return text;
}

/* ---- rotation, revocation, expiry: operator actions (dreamauth keys) ---- */

static bool managed(enum jws_alg alg)
{
	for (size_t a = 0; a < sizeof(managed_algs) / sizeof(managed_algs[0]); a++)
		if (managed_algs[a] == alg)
			return true;
	return false;
}

bool keystore_kid_valid(const char *kid)
{
	size_t n = 0;
	if (!kid)
		return false;
	for (; kid[n]; n++) {
		char c = kid[n];
		if (n >= 43 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	return n == 43;
}

/* BEGIN and take the key-change lock: rotations and revocations from any
 * number of operators or instances run one after another. */
static bool begin_locked(PGconn *db)
{
	if (!db_exec(db, "BEGIN", 0, NULL))
		return false;
	if (db_exec(db, "SELECT pg_advisory_xact_lock(hashtextextended('" KEYS_NOTIFY_CHANNEL "', 0))", 0, NULL))
		return true;
	db_exec(db, "ROLLBACK", 0, NULL);
	return false;
}

/* NOTIFY goes out at COMMIT, so a signer that hears it reads the new rows. */
static bool notify_and_commit(PGconn *db, const char *what)
{
	const char *params[] = { KEYS_NOTIFY_CHANNEL, what };
	if (!db_exec(db, "SELECT pg_notify($1, $2)", 2, params)) {
		db_exec(db, "ROLLBACK", 0, NULL);
		return false;
	}
	return db_exec(db, "COMMIT", 0, NULL);
}

static long scalar_long(PGconn *db, const char *sql)
{
	PGresult *res = db_query(db, sql, 0, NULL);
	long v = res && PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return v;
}

int keystore_rotate(PGconn *db, const uint8_t kek[32], struct key_rotation *r, int n, int publish_seconds)
{
	struct new_key nk[KEYSTORE_MAX_KEYS];
	char secs[16];
	PGresult *res;
	long published;
	int made = 0, rc = KEYSTORE_ERROR;

	for (int i = 0; i < n; i++) {
		r[i].new_kid[0] = r[i].old_kid[0] = '\0';
		r[i].old_until = 0;
	}
	if (n < 1 || n > KEYSTORE_MAX_KEYS || publish_seconds < 0)
		return KEYSTORE_ERROR;
	for (int i = 0; i < n; i++) {
		if (!managed(r[i].alg))
			return KEYSTORE_ERROR;
		for (int j = 0; j < i; j++)
			if (r[i].alg == r[j].alg)
				return KEYSTORE_ERROR;
	}
	/* Generate before taking the lock: an RSA key takes a while. */
	for (; made < n; made++)
		if (new_key_make(&nk[made], kek, r[made].alg) != 0)
			goto out;
	if (!begin_locked(db))
		goto out;
	published = scalar_long(db, "SELECT count(*) FROM signing_keys WHERE state = 'current' OR "
	    "(state = 'standby' AND (publish_until IS NULL OR publish_until > now()))");
	if (published < 0)
		goto rollback;
	if (published + n > KEYSTORE_MAX_KEYS) {
		rc = KEYSTORE_FULL;
		goto rollback;
	}
	snprintf(secs, sizeof(secs), "%d", publish_seconds);
	for (int i = 0; i < n; i++) {
		const char *params[2] = { jws_alg_name(r[i].alg), secs };
		res = db_query(db, "UPDATE signing_keys SET state = 'standby', rotated_at = now(), "
		    "publish_until = now() + $2::int * interval '1 second' WHERE alg = $1 AND state = 'current' "
		    "RETURNING kid, ceil(extract(epoch FROM publish_until))::bigint", 2, params);
		if (!res)
			goto rollback;
		if (PQntuples(res) == 1) {
			snprintf(r[i].old_kid, sizeof(r[i].old_kid), "%s", PQgetvalue(res, 0, 0));
			r[i].old_until = atoll(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
		/* Under the lock with the old key demoted, a conflict here is a real error. */
		if (new_key_insert(db, &nk[i], r[i].alg, false) != 1)
			goto rollback;
	}
	if (!notify_and_commit(db, "rotate"))
		goto fail;
	for (int i = 0; i < n; i++) {
		memcpy(r[i].new_kid, nk[i].kid, sizeof(r[i].new_kid));
		log_info("rotated %s signing key: %s is current, %s retiring", jws_alg_name(r[i].alg), nk[i].kid,
		    r[i].old_kid[0] ? r[i].old_kid : "(none)");
	}
	rc = 0;
	goto out;
rollback:
	db_exec(db, "ROLLBACK", 0, NULL);
fail:
	for (int i = 0; i < n; i++) {
		r[i].old_kid[0] = '\0';
		r[i].old_until = 0;
	}
out:
	for (int i = 0; i < made; i++)
		new_key_free(&nk[i]);
	return rc;
}

int keystore_revoke(PGconn *db, const uint8_t kek[32], const char *kid, char new_kid[44], enum jws_alg *alg_out)
{
	const char *params[] = { kid };
	struct new_key nk = { .sealed = NULL };
	enum jws_alg alg;
	bool was_current;
	PGresult *res;
	int rc = KEYSTORE_ERROR;

	new_kid[0] = '\0';
	if (alg_out)
		*alg_out = JWS_ALG_NONE;
	if (!keystore_kid_valid(kid))
		return KEYSTORE_NOT_FOUND;
	if (!begin_locked(db))
		return KEYSTORE_ERROR;
	res = db_query(db, "SELECT alg, state FROM signing_keys WHERE kid = $1 FOR UPDATE", 1, params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		rc = KEYSTORE_NOT_FOUND;
		goto rollback;
	}
	alg = jws_alg_from_name(PQgetvalue(res, 0, 0));
	was_current = strcmp(PQgetvalue(res, 0, 1), "current") == 0;
	if (strcmp(PQgetvalue(res, 0, 1), "retired") == 0) {
		PQclear(res);
		rc = KEYSTORE_ALREADY_GONE;
		goto rollback;
	}
	PQclear(res);
	if (alg_out)
		*alg_out = alg;
	/* The private half is erased: a leaked key has nothing left worth keeping. */
	if (!db_exec(db, "UPDATE signing_keys SET state = 'retired', revoked_at = now(), retired_at = now(), "
	        "sealed_private = ''::bytea WHERE kid = $1", 1, params))
		goto rollback;
	if (was_current && managed(alg)) {
		if (new_key_make(&nk, kek, alg) != 0 || new_key_insert(db, &nk, alg, false) != 1)
			goto rollback;
	}
	if (!notify_and_commit(db, "revoke"))
		goto out;
	if (nk.sealed)
		memcpy(new_kid, nk.kid, 44);
	log_info("revoked %s signing key %s%s%s", jws_alg_name(alg) ? jws_alg_name(alg) : "(unknown alg)", kid,
	    new_kid[0] ? "; current is now " : "", new_kid);
	rc = 0;
	goto out;
rollback:
	db_exec(db, "ROLLBACK", 0, NULL);
out:
	new_key_free(&nk);
	return rc;
}

int keystore_expire(PGconn *db)
{
	PGresult *res = db_query(db, "UPDATE signing_keys SET state = 'retired', retired_at = now(), "
	    "sealed_private = ''::bytea WHERE state = 'standby' AND publish_until <= now()", 0, NULL);
	int n = res ? atoi(PQcmdTuples(res)) : -1;
	PQclear(res);
	if (n > 0)
		log_info("%d retiring signing key(s) outlived their tokens: retired", n);
	return n;
}

int keystore_list(PGconn *db, struct key_info **out)
{
	static const char sql[] =
		"SELECT kid, alg, CASE WHEN state = 'current' THEN 'active' "
		"WHEN state = 'standby' AND publish_until IS NULL THEN 'standby' "
		"WHEN state = 'standby' AND publish_until > now() THEN 'retiring' "
		"WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'retired' END, "
		"extract(epoch FROM created_at)::bigint, "
		"COALESCE(extract(epoch FROM rotated_at)::bigint, 0), "
		"COALESCE(ceil(extract(epoch FROM publish_until))::bigint, 0), "
		"COALESCE(extract(epoch FROM revoked_at)::bigint, 0), "
		"COALESCE(extract(epoch FROM retired_at)::bigint, 0) "
		"FROM signing_keys ORDER BY created_at, kid";
	PGresult *res = db_query(db, sql, 0, NULL);
	struct key_info *list;
	int n;

	*out = NULL;
	if (!res)
		return -1;
	n = PQntuples(res);
	list = calloc((size_t)n + 1, sizeof(*list));
	if (!list) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct key_info *k = &list[i];
		snprintf(k->kid, sizeof(k->kid), "%s", PQgetvalue(res, i, 0));
		snprintf(k->alg, sizeof(k->alg), "%s", PQgetvalue(res, i, 1));
		snprintf(k->state, sizeof(k->state), "%s", PQgetvalue(res, i, 2));
		k->created_at = atoll(PQgetvalue(res, i, 3));
		k->rotated_at = atoll(PQgetvalue(res, i, 4));
		k->publish_until = atoll(PQgetvalue(res, i, 5));
		k->revoked_at = atoll(PQgetvalue(res, i, 6));
		k->retired_at = atoll(PQgetvalue(res, i, 7));
	}
	PQclear(res);
	*out = list;
	return n;
}

void keystore_free(struct keystore *ks)
{
	if (!ks)
		return;
	free_keys(ks->keys, ks->n);
	ks->n = 0;
	secure_wipe(ks->kek, sizeof(ks->kek));
}
