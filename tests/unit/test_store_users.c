/*
 * store/users.c's operations through store_exec (the checks and the wire
 * format a worker's request gets) against a real PostgreSQL named by
 * DREAMAUTH_TEST_DATABASE_URL, in a database of its own (store_users_test_<pid>,
 * created afresh, migrated with the embedded migrations, dropped at the end).
 * Without that variable this test fails rather than silently passing.
 *
 * Sign-up (its id, CONFLICT for a taken address, nothing overwritten),
 * finding an account (no row, NULL password, disabled), the password change
 * (hash and revocations together, the logged notice, this instance's cache,
 * all or nothing when the revocation or its log fails), and the list of a
 * user's own sessions (only live ones, newest first, NULL as "", at most 100).
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "tests/unit/shm_test_util.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "shm/session_cache.h"
#include "shm/shm.h"
#include "store/store_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_OLD "$argon2id$v=19$m=8192,t=1,p=1$b2xkc2FsdA$b2xkaGFzaA"
#define HASH_NEW "$argon2id$v=19$m=8192,t=1,p=1$bmV3c2FsdA$bmV3aGFzaA"

static struct test_db test_db;
static PGconn *db;

/* ---- database helpers ---- */

/* The first cell of sql's first row ("" if none), in a static buffer. */
static const char *scalar(const char *sql)
{
	static char buf[4096];
	PGresult *r = db_query(db, sql, 0, NULL);
	buf[0] = '\0';
	if (r && PQntuples(r) > 0)
		snprintf(buf, sizeof(buf), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

static long long count(const char *sql)
{
	return atoll(scalar(sql));
}

/* ---- operations ---- */

/* A new account through the store: the status, its id in id ("" if none). */
static int sign_up(const char *email, const char *normalized, const char *name, const char *hash, bool admin,
    char id[40])
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(email), STORE_V_TEXT(normalized), STORE_V_TEXT(name),
		STORE_V_TEXT(hash), STORE_V_BOOL(admin) };
	int status = store_exec(db, STORE_OP_USER_SIGN_UP, args, 5, &r);
	if (id)
		snprintf(id, 40, "%s", status == STORE_OK && r.n_rows == 1 ? store_text(&r, 0, NEW_USER_ID) : "");
	store_reply_free(&r);
	return status;
}

/* A session for user_id with token hash 32 x byte; its id in session_id. */
static void open_session(const char *user_id, unsigned byte, const char *ip, char session_id[40])
{
	char key[2 + 64 + 1] = "\\x";
	struct store_reply r;
	for (int i = 0; i < 32; i++)
		snprintf(key + 2 + 2 * i, 3, "%02x", byte & 0xff);
	struct store_value args[] = { STORE_V_TEXT(key), STORE_V_TEXT(user_id), STORE_V_TEXT("pwd"),
		STORE_V_TEXT_OR_NULL(ip), STORE_V_TEXT("test agent"), STORE_V_INT(3600) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_SESSION_CREATE, args, 6, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	snprintf(session_id, 40, "%s", store_text(&r, 0, SESSION_ID));
	store_reply_free(&r);
}

static int change_password(const char *user_id, const char *hash, const char *keep, long long *revoked)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(hash), STORE_V_TEXT_OR_NULL(keep) };
	int status = store_exec(db, STORE_OP_USER_PASSWORD_CHANGE, args, 3, &r);
	*revoked = status == STORE_OK && r.n_rows == 1 ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return status;
}

static long long revoked_sessions(const char *user_id)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NOT NULL",
	    user_id);
	return count(sql);
}

static const char *password_of(const char *user_id)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT coalesce(password_hash, '<null>') FROM users WHERE id = '%s'", user_id);
	return scalar(sql);
}

/* ---- tests ---- */

static void test_ping(void)
{
	struct store_reply r;
	CHECK_EQ_INT(store_exec(db, STORE_OP_PING, NULL, 0, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
}

static void test_sign_up(void)
{
	char id[40], again[40];

	CHECK_EQ_INT(sign_up("Alice@Example.com", "alice@example.com", "Alice", HASH_OLD, false, id), STORE_OK);
	CHECK_EQ_INT(strlen(id), 36);
	CHECK_EQ_STR(scalar("SELECT email || '|' || name || '|' || is_admin FROM users WHERE email_normalized = "
	                    "'alice@example.com'"),
	    "Alice@Example.com|Alice|false");
	CHECK_EQ_STR(password_of(id), HASH_OLD);

	/* A taken address: CONFLICT, no row, and the account is left as it was. */
	CHECK_EQ_INT(sign_up("ALICE@example.com", "alice@example.com", "Mallory", HASH_NEW, true, again), STORE_CONFLICT);
	CHECK_EQ_STR(again, "");
	CHECK_EQ_INT(count("SELECT count(*) FROM users"), 1);
	CHECK_EQ_STR(password_of(id), HASH_OLD);
	CHECK_EQ_STR(scalar("SELECT name || '|' || is_admin FROM users"), "Alice|false");

	/* Admin, and an empty name (stored as '', not NULL). */
	CHECK_EQ_INT(sign_up("boss@example.com", "boss@example.com", "", HASH_OLD, true, id), STORE_OK);
	CHECK_EQ_STR(scalar("SELECT is_admin || '|' || (name = '') FROM users WHERE email_normalized = 'boss@example.com'"),
	    "true|true");

	/* Typed on the way in: a NULL password hash or a missing argument is refused unrun. */
	struct store_reply r;
	struct store_value null_hash[] = { STORE_V_TEXT("x@example.com"), STORE_V_TEXT("x@example.com"), STORE_V_TEXT(""),
		STORE_V_NULL, STORE_V_BOOL(false) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SIGN_UP, null_hash, 5, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SIGN_UP, null_hash, 3, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM users WHERE email_normalized = 'x@example.com'"), 0);
}

static void check_find(uint32_t op, const char *arg, int rows, const char *id, const char *hash, bool disabled)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(arg) };
	CHECK_EQ_INT(store_exec(db, op, args, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, rows);
	if (rows == 1) {
		CHECK_EQ_STR(store_text(&r, 0, USER_CREDENTIALS_ID), id);
		CHECK_EQ_STR(store_text(&r, 0, USER_CREDENTIALS_PASSWORD_HASH), hash);
		CHECK(!store_is_null(&r, 0, USER_CREDENTIALS_PASSWORD_HASH));
		CHECK_EQ_INT(store_bool(&r, 0, USER_CREDENTIALS_DISABLED), disabled);
	}
	store_reply_free(&r);
}

static void test_find(void)
{
	char id[40], nopw[40], off[40];
	struct store_reply r;

	CHECK_EQ_INT(sign_up("find@example.com", "find@example.com", "", HASH_OLD, false, id), STORE_OK);
	CHECK_EQ_INT(sign_up("nopw@example.com", "nopw@example.com", "", HASH_OLD, false, nopw), STORE_OK);
	CHECK_EQ_INT(sign_up("off@example.com", "off@example.com", "", HASH_OLD, false, off), STORE_OK);
	test_db_exec(db, "UPDATE users SET password_hash = NULL WHERE email_normalized = 'nopw@example.com'");
	test_db_exec(db, "UPDATE users SET disabled = true WHERE email_normalized = 'off@example.com'");

	check_find(STORE_OP_USER_FIND_BY_EMAIL, "find@example.com", 1, id, HASH_OLD, false);
	check_find(STORE_OP_USER_FIND_BY_EMAIL, "nopw@example.com", 1, nopw, "", false);
	check_find(STORE_OP_USER_FIND_BY_EMAIL, "off@example.com", 1, off, HASH_OLD, true);
	check_find(STORE_OP_USER_FIND_BY_EMAIL, "ghost@example.com", 0, NULL, NULL, false);
	/* The normalized address only: the display form does not match. */
	check_find(STORE_OP_USER_FIND_BY_EMAIL, "FIND@example.com", 0, NULL, NULL, false);
	check_find(STORE_OP_USER_FIND_BY_EMAIL, "x' OR 'a'='a", 0, NULL, NULL, false);

	check_find(STORE_OP_USER_FIND_BY_ID, id, 1, id, HASH_OLD, false);
	check_find(STORE_OP_USER_FIND_BY_ID, nopw, 1, nopw, "", false);
	check_find(STORE_OP_USER_FIND_BY_ID, "00000000-0000-0000-0000-000000000000", 0, NULL, NULL, false);
	/* Not a UUID: an error (a worker answers 503), never a row. */
	struct store_value bad[] = { STORE_V_TEXT("not-a-uuid") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_FIND_BY_ID, bad, 1, &r), STORE_ERROR);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	/* And the connection is still usable afterwards. */
	check_find(STORE_OP_USER_FIND_BY_ID, id, 1, id, HASH_OLD, false);
}

/* A cache entry for session_id of user_id, keyed by 32 x byte. */
static void cache_session(struct session_cache *c, const char *user_id, const char *session_id, unsigned byte)
{
	struct session_entry e = { 0 };
	memset(e.key, (int)byte, 32);
	snprintf(e.user_id, sizeof(e.user_id), "%s", user_id);
	snprintf(e.session_id, sizeof(e.session_id), "%s", session_id);
	e.expires_at = e.idle_expires_at = INT64_MAX / 2;
	session_cache_insert(c, &e);
}

static bool cached(struct session_cache *c, unsigned byte)
{
	struct session_entry e;
	uint8_t key[32];
	memset(key, (int)byte, 32);
	return session_cache_lookup(c, key, 0, &e) == 1;
}

static void test_password_change(void)
{
	char user[40], other[40], s1[40], s2[40], s3[40], theirs[40], payload[120];
	long long n;
	size_t cache_size = session_cache_size(64);
	void *cache_mem = map_shared(cache_size);
	struct shm_region region = { .sessions = session_cache_init(cache_mem, 64) };

	CHECK(region.sessions != NULL);

	CHECK_EQ_INT(sign_up("pw@example.com", "pw@example.com", "", HASH_OLD, false, user), STORE_OK);
	CHECK_EQ_INT(sign_up("other@example.com", "other@example.com", "", HASH_OLD, false, other), STORE_OK);
	open_session(user, 0x11, "192.0.2.1", s1);
	open_session(user, 0x12, "192.0.2.2", s2);
	open_session(user, 0x13, NULL, s3);
	open_session(other, 0x21, "192.0.2.9", theirs);
	test_db_exec(db, "UPDATE users SET updated_at = now() - interval '1 hour'");
	for (unsigned b = 0x11; b <= 0x13; b++)
		cache_session(region.sessions, user, b == 0x11 ? s1 : b == 0x12 ? s2 : s3, b);
	cache_session(region.sessions, other, theirs, 0x21);
	long long logged0 = count("SELECT count(*) FROM revocation_log");

	/* Keep s1 (the session that asked): the hash changes, s2 and s3 end,
	 * one logged notice, and this instance's cache drops them at once. */
	store_shm = &region;
	CHECK_EQ_INT(change_password(user, HASH_NEW, s1, &n), STORE_OK);
	store_shm = NULL;
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(password_of(user), HASH_NEW);
	CHECK_EQ_STR(scalar("SELECT updated_at > now() - interval '1 minute' FROM users WHERE email_normalized = "
	                    "'pw@example.com'"),
	    "t");
	CHECK_EQ_INT(revoked_sessions(user), 2);
	CHECK_EQ_STR(scalar("SELECT revoked_at IS NULL FROM sessions WHERE token_hash = decode(repeat('11', 32), 'hex')"),
	    "t");
	CHECK_EQ_INT(count("SELECT count(*) FROM revocation_log"), logged0 + 1);
	snprintf(payload, sizeof(payload), "user-except:%s:%s", user, s1);
	CHECK_EQ_STR(scalar("SELECT payload FROM revocation_log ORDER BY seq DESC LIMIT 1"), payload);
	CHECK(cached(region.sessions, 0x11));
	CHECK(!cached(region.sessions, 0x12));
	CHECK(!cached(region.sessions, 0x13));
	/* Another user: untouched in the database and in the cache. */
	CHECK_EQ_INT(revoked_sessions(other), 0);
	CHECK_EQ_STR(password_of(other), HASH_OLD);
	CHECK(cached(region.sessions, 0x21));

	/* Nothing else to revoke: the hash still changes, no notice is logged. */
	CHECK_EQ_INT(change_password(user, HASH_OLD, s1, &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_STR(password_of(user), HASH_OLD);
	CHECK_EQ_INT(count("SELECT count(*) FROM revocation_log"), logged0 + 1);

	/* Without a session to keep (NULL): every session ends, "user:<id>". */
	CHECK_EQ_INT(change_password(user, HASH_NEW, NULL, &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(revoked_sessions(user), 3);
	snprintf(payload, sizeof(payload), "user:%s", user);
	CHECK_EQ_STR(scalar("SELECT payload FROM revocation_log ORDER BY seq DESC LIMIT 1"), payload);

	/* An id longer than a notice carries: refused, nothing changed. */
	CHECK_EQ_INT(change_password(user, HASH_OLD, "0123456789012345678901234567890123456789", &n), STORE_REFUSED);
	CHECK_EQ_STR(password_of(user), HASH_NEW);
	munmap(cache_mem, cache_size);
}

/* The revocation, or its log row, fails: the new hash is rolled back with it. */
static void test_password_change_all_or_nothing(void)
{
	char user[40], s1[40], s2[40];
	long long n, logged0;

	CHECK_EQ_INT(sign_up("atomic@example.com", "atomic@example.com", "", HASH_OLD, false, user), STORE_OK);
	open_session(user, 0x31, NULL, s1);
	open_session(user, 0x32, NULL, s2);
	logged0 = count("SELECT count(*) FROM revocation_log");

	test_db_exec(db,
	    "CREATE TABLE refuse (what text);"
	    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	    " IF EXISTS (SELECT 1 FROM refuse WHERE what = TG_TABLE_NAME) THEN RAISE EXCEPTION 'refused by the test'; END IF;"
	    " RETURN NEW; END $$;"
	    "CREATE TRIGGER refuse_revoke BEFORE UPDATE ON sessions FOR EACH ROW"
	    " WHEN (old.revoked_at IS NULL AND new.revoked_at IS NOT NULL) EXECUTE FUNCTION refuse();"
	    "CREATE TRIGGER refuse_log BEFORE INSERT ON revocation_log FOR EACH ROW EXECUTE FUNCTION refuse();");

	test_db_exec(db, "INSERT INTO refuse VALUES ('sessions')");
	CHECK_EQ_INT(change_password(user, HASH_NEW, s1, &n), STORE_ERROR);
	CHECK_EQ_STR(password_of(user), HASH_OLD);
	CHECK_EQ_INT(revoked_sessions(user), 0);
	CHECK_EQ_INT(count("SELECT count(*) FROM revocation_log"), logged0);

	test_db_exec(db, "DELETE FROM refuse; INSERT INTO refuse VALUES ('revocation_log')");
	CHECK_EQ_INT(change_password(user, HASH_NEW, s1, &n), STORE_ERROR);
	CHECK_EQ_STR(password_of(user), HASH_OLD);
	CHECK_EQ_INT(revoked_sessions(user), 0);
	CHECK_EQ_INT(count("SELECT count(*) FROM revocation_log"), logged0);
	CHECK_EQ_INT(PQtransactionStatus(db), PQTRANS_IDLE);	/* rolled back, not left open */

	/* Accepted again: the same call goes through whole. */
	test_db_exec(db, "DELETE FROM refuse");
	CHECK_EQ_INT(change_password(user, HASH_NEW, s1, &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(password_of(user), HASH_NEW);
	CHECK_EQ_INT(revoked_sessions(user), 1);
	CHECK_EQ_INT(count("SELECT count(*) FROM revocation_log"), logged0 + 1);
	test_db_exec(db, "DROP TRIGGER refuse_revoke ON sessions; DROP TRIGGER refuse_log ON revocation_log;"
	                 "DROP FUNCTION refuse(); DROP TABLE refuse");
}

static void test_sessions_list(void)
{
	char user[40], other[40], id[40], newest[40], unused[40];
	struct store_reply r;

	CHECK_EQ_INT(sign_up("list@example.com", "list@example.com", "", HASH_OLD, false, user), STORE_OK);
	CHECK_EQ_INT(sign_up("list2@example.com", "list2@example.com", "", HASH_OLD, false, other), STORE_OK);
	struct store_value args[] = { STORE_V_TEXT(user) };

	/* None yet: OK with no rows. */
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SESSIONS_LIST, args, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);

	open_session(user, 0x41, "198.51.100.7", id);
	open_session(user, 0x42, NULL, newest);
	open_session(user, 0x43, NULL, unused);	/* revoked below */
	open_session(user, 0x44, NULL, unused);	/* expired below */
	open_session(other, 0x45, NULL, unused);	/* someone else's */
	test_db_exec(db, "UPDATE sessions SET created_at = now() - interval '2 hours',"
	                 " last_seen_at = now() - interval '1 hour' WHERE token_hash = decode(repeat('41', 32), 'hex')");
	test_db_exec(db, "UPDATE sessions SET user_agent = NULL WHERE token_hash = decode(repeat('42', 32), 'hex')");
	test_db_exec(db, "UPDATE sessions SET revoked_at = now() WHERE token_hash = decode(repeat('43', 32), 'hex')");
	test_db_exec(db, "UPDATE sessions SET expires_at = now() - interval '1 second'"
	                 " WHERE token_hash = decode(repeat('44', 32), 'hex')");

	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SESSIONS_LIST, args, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 2);
	CHECK_EQ_STR(store_text(&r, 0, OWN_SESSION_ID), newest);
	CHECK_EQ_STR(store_text(&r, 0, OWN_SESSION_IP), "");
	CHECK_EQ_STR(store_text(&r, 0, OWN_SESSION_USER_AGENT), "");
	CHECK(!store_is_null(&r, 0, OWN_SESSION_IP));
	CHECK(!store_is_null(&r, 0, OWN_SESSION_USER_AGENT));
	CHECK_EQ_STR(store_text(&r, 1, OWN_SESSION_ID), id);
	CHECK_EQ_STR(store_text(&r, 1, OWN_SESSION_IP), "198.51.100.7");
	CHECK_EQ_STR(store_text(&r, 1, OWN_SESSION_USER_AGENT), "test agent");
	long long now = count("SELECT floor(extract(epoch from now()))::bigint");
	CHECK(store_int(&r, 1, OWN_SESSION_CREATED_AT) >= now - 7200 - 5 && store_int(&r, 1, OWN_SESSION_CREATED_AT) <= now - 7200 + 5);
	CHECK(store_int(&r, 1, OWN_SESSION_LAST_SEEN_AT) >= now - 3600 - 5 && store_int(&r, 1, OWN_SESSION_LAST_SEEN_AT) <= now - 3600 + 5);
	CHECK(store_int(&r, 0, OWN_SESSION_CREATED_AT) >= now - 5);
	store_reply_free(&r);

	/* At most the 100 newest. */
	test_db_exec(db, "DELETE FROM sessions");
	char sql[600];
	snprintf(sql, sizeof(sql),
	    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, auth_time, user_agent)"
	    " SELECT sha256(i::text::bytea), '%s', now() - make_interval(secs => i), now() + interval '1 hour', now(),"
	    " repeat('u', 255) FROM generate_series(1, 120) i",
	    user);
	test_db_exec(db, sql);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SESSIONS_LIST, args, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 100);
	bool ordered = true;
	for (unsigned i = 1; i < r.n_rows; i++)
		ordered &= store_int(&r, i - 1, OWN_SESSION_CREATED_AT) >= store_int(&r, i, OWN_SESSION_CREATED_AT);
	CHECK(ordered);
	CHECK(store_int(&r, 99, OWN_SESSION_CREATED_AT) >= now - 100 - 5);
	store_reply_free(&r);
}

int main(void)
{
	log_init("test_store_users", LOG_LEVEL_WARN);
	test_db_create(&test_db, "store_users_test");
	db = test_db.db;
	test_ping();
	test_sign_up();
	test_find();
	test_password_change();
	test_password_change_all_or_nothing();
	test_sessions_list();
	test_db_drop(&test_db);
	return CHECK_DONE();
}
