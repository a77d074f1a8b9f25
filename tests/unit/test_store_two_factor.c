/*
 * store/two_factor.c on a real PostgreSQL, through store_exec as a worker's
 * request runs: enrollment (the secret sealed, not stored in the clear; a
 * second enrollment refused while one is confirmed); codes (computed here
 * with liboath at the store's clock) confirm, are single use per time step,
 * and are refused before and after the window; the gate stores a pending
 * sign-in only for an account with a second factor; a pending sign-in ends
 * after its fifth wrong code and with a right one; the user's failures stop
 * even right codes; recovery codes once each; a wrong seal key opens nothing.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/totp.h"
#include "store/store_run.h"
#include "store/two_factor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct test_db test_db;
static PGconn *db;
static char user_id[40];

#define scalar(...) test_db_scalar(db, __VA_ARGS__)

static void base32_decode(const char *in, uint8_t *out, size_t *len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned value = 0, bits = 0;
	*len = 0;
	for (; *in; in++) {
		value = (value << 5) | (unsigned)(strchr(alphabet, *in) - alphabet);
		bits += 5;
		if (bits >= 8) {
			out[(*len)++] = (uint8_t)(value >> (bits - 8));
			bits -= 8;
		}
	}
}

/* A pending sign-in's hash: "\x" + 64 hex digits of byte b. */
static const char *pending(unsigned b)
{
	return test_db_bytea_of(b, 32);
}

static bool begin(unsigned b)
{
	struct store_value a[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(pending(b)), STORE_V_TEXT("pwd"), STORE_V_INT(300),
		STORE_V_BOOL(true) };
	struct store_reply r;
	CHECK_EQ_INT(store_exec(db, STORE_OP_TWO_FACTOR_BEGIN, a, 5, &r), STORE_OK);
	bool p = r.n_rows == 1 && store_bool(&r, 0, TWO_FACTOR_GATE_PENDING);
	store_reply_free(&r);
	return p;
}

/* The outcome of a code (pending b, or signed in when b is 0). */
static char outcome[32], first_amr[16];
static bool confirmed;
static const char *verify(uint32_t op, unsigned b, const char *code)
{
	struct store_value a[] = { b ? STORE_V_TEXT(pending(b)) : STORE_V_NULL, b ? STORE_V_NULL : STORE_V_TEXT(user_id),
		STORE_V_TEXT(code), STORE_V_INT(5), STORE_V_INT(10), STORE_V_INT(900) };
	struct store_reply r;
	int status = store_exec(db, op, a, 6, &r);
	snprintf(outcome, sizeof(outcome), "%s", status != STORE_OK ? "(status)" : store_text(&r, 0, TWO_FACTOR_RESULT_OUTCOME));
	snprintf(first_amr, sizeof(first_amr), "%s", status == STORE_OK ? store_text(&r, 0, TWO_FACTOR_RESULT_FIRST_AMR) : "");
	confirmed = status == STORE_OK && store_bool(&r, 0, TWO_FACTOR_RESULT_CONFIRMED);
	store_reply_free(&r);
	return outcome;
}

static const char *code_at(const uint8_t *secret, size_t len, int64_t step)
{
	static char out[4][8];
	static int next;
	char *c = out[next++ % 4];
	totp_code(secret, len, step * 30 + 1, 6, c);
	return c;
}

static void test_totp(void)
{
	const char *hashes = "0000000000000000000000000000000000000000000000000000000000000001,"
	                     "0000000000000000000000000000000000000000000000000000000000000002";
	struct store_value a[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(hashes) };
	struct store_reply r;
	uint8_t secret[64];
	size_t len;

	CHECK(!begin(0x10));	/* nothing enrolled: no pending sign-in */
	CHECK_EQ_INT(store_exec(db, STORE_OP_TOTP_ENROLL, a, 2, &r), STORE_OK);
	CHECK_EQ_STR(store_text(&r, 0, TOTP_ENROLLMENT_OUTCOME), "enrolled");
	char b32[TOTP_BASE32_LEN];
	snprintf(b32, sizeof(b32), "%s", store_text(&r, 0, TOTP_ENROLLMENT_SECRET));
	store_reply_free(&r);
	CHECK_EQ_INT(strlen(b32), 32);
	base32_decode(b32, secret, &len);
	CHECK_EQ_INT(len, TOTP_SECRET_LEN);
	char hex[2 * TOTP_SECRET_LEN + 1];
	secure_hex(secret, len, hex);
	CHECK(!strstr(scalar("SELECT encode(secret_sealed, 'hex') FROM totp_credentials"), hex));
	CHECK(!begin(0x11));	/* unconfirmed: no second factor asked yet */

	int64_t now = (int64_t)time(NULL) / 30;
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0, code_at(secret, len, now - 3)), "invalid_code");	/* outside the window */
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0, code_at(secret, len, now)), "ok");
	CHECK(confirmed);
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0, code_at(secret, len, now)), "code_reused");
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0, code_at(secret, len, now - 1)), "code_reused");

	/* Enrolling again while confirmed changes nothing. */
	CHECK_EQ_INT(store_exec(db, STORE_OP_TOTP_ENROLL, a, 2, &r), STORE_OK);
	CHECK_EQ_STR(store_text(&r, 0, TOTP_ENROLLMENT_OUTCOME), "already_enabled");
	CHECK(store_cell(&r, 0, TOTP_ENROLLMENT_SECRET)->kind == STORE_NULL);
	store_reply_free(&r);

	/* A sign-in: the pending sign-in, finished by the next step's code, once. */
	CHECK(begin(0x20));
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x20, code_at(secret, len, now + 1)), "ok");
	CHECK_EQ_STR(first_amr, "pwd");
	CHECK(!confirmed);
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x20, code_at(secret, len, now + 1)), "pending_unknown");

	/* Five wrong codes end a pending sign-in. */
	CHECK(begin(0x21));
	for (int i = 0; i < 5; i++)
		CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x21, "000000"), "invalid_code");
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x21, "000000"), "too_many_attempts");
	CHECK_EQ_STR(scalar("SELECT count(*) FROM passkey_pending_sign_ins"), "0");

	/* Recovery codes: once each, and only with a live pending sign-in. */
	CHECK(begin(0x22));
	CHECK_EQ_STR(verify(STORE_OP_RECOVERY_CODE_VERIFY, 0x22,
	    "0000000000000000000000000000000000000000000000000000000000000001"), "ok");
	CHECK(begin(0x23));
	CHECK_EQ_STR(verify(STORE_OP_RECOVERY_CODE_VERIFY, 0x23,
	    "0000000000000000000000000000000000000000000000000000000000000001"), "invalid_code");
	test_db_exec(db, "UPDATE passkey_pending_sign_ins SET expires_at = now() - interval '1 second'");
	CHECK_EQ_STR(verify(STORE_OP_RECOVERY_CODE_VERIFY, 0x23,
	    "0000000000000000000000000000000000000000000000000000000000000002"), "pending_expired");

	/* The user's failures: 1 since the last success; 9 more over two sign-ins
	 * (10 = the limit), then even a right code waits. */
	CHECK(begin(0x24));
	for (int i = 0; i < 5; i++)
		CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x24, "000000"), "invalid_code");
	CHECK(begin(0x25));
	for (int i = 0; i < 4; i++)
		CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x25, "000000"), "invalid_code");
	CHECK_EQ_STR(verify(STORE_OP_TOTP_VERIFY, 0x25, code_at(secret, len, now + 1)), "user_throttled");
	CHECK_EQ_STR(scalar("SELECT count(*) FROM passkey_pending_sign_ins WHERE expires_at > now()"), "2");	/* they stay */

	/* Another seal key: the secret does not open, nothing is accepted. */
	uint8_t other[32];
	secure_random(other, sizeof(other));
	store_two_factor_set_key(other);
	test_db_exec(db, "UPDATE totp_credentials SET failures = 0");
	CHECK(verify(STORE_OP_TOTP_VERIFY, 0, code_at(secret, len, now + 1))[0] == '(');
}

int main(void)
{
	uint8_t key[32];
	log_init("test_store_two_factor", LOG_LEVEL_ERROR);
	test_db_create(&test_db, "store_two_factor_test");
	db = test_db.db;
	secure_random(key, sizeof(key));
	store_two_factor_set_key(key);
	test_db_exec(db, "INSERT INTO users (email, email_normalized, password_hash) VALUES"
	                 " ('Pat@Example.com', 'pat@example.com', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA')");
	snprintf(user_id, sizeof(user_id), "%s", scalar("SELECT id FROM users"));
	test_totp();
	test_db_drop(&test_db);
	return CHECK_DONE();
}
