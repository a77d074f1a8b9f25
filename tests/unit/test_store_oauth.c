/*
 * The OAuth token operations of the store (store/oauth_tokens.c) through
 * store_exec, against a real PostgreSQL named by DREAMAUTH_TEST_DATABASE_URL
 * (a database of its own, created here, migrated with the embedded
 * migrations, dropped at the end): spending and replaying codes, storing
 * their tokens, refresh rotation (narrowed scope, reuse, expiry, a user
 * disabled, all-or-nothing on a failed write), client_credentials tokens,
 * userinfo, introspection and revocation, the shared-memory table the
 * revocations fill. And the races between instances, with processes on
 * their own connections and a lock on users held meanwhile: a refresh token
 * sent twice at once (issue 9 item 2), the reuse of an older token while
 * its successor rotates, a code replayed while its first exchange stores,
 * and a user's grants revoked wholesale while one of them rotates.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "tests/unit/shm_test_util.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "common/secure.h"
#include "proto/store_wire.h"
#include "shm/revoked_tokens.h"
#include "shm/shm.h"
#include "store/oauth_tokens.h"
#include "store/store_run.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct test_db test_db;
static PGconn *db;
static char user_id[40], other_user_id[40];

/* ---- fixtures ---- */

static bool sql(PGconn *c, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(c, text);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "SQL failed: %s: %s", text, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* The first cell of a query as text in out ("" if none). */
static const char *vvalue(char *out, size_t cap, const char *fmt, va_list ap)
{
	char text[2048];

	vsnprintf(text, sizeof(text), fmt, ap);
	PGresult *r = PQexec(db, text);
	out[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
		snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "query failed: %s: %s", text, PQerrorMessage(db));
	PQclear(r);
	return out;
}

static const char *value(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vvalue(out, cap, fmt, ap);
	va_end(ap);
	return out;
}
#define VALUE(buf, ...) value(buf, sizeof(buf), __VA_ARGS__)

static long number(const char *fmt, ...)
{
	char out[64];
	va_list ap;
	va_start(ap, fmt);
	vvalue(out, sizeof(out), fmt, ap);
	va_end(ap);
	return atol(out);
}
#define NUMBER number

static void new_user(const char *email, char out[40])
{
	char buf[64];
	snprintf(out, 40, "%s",
	    VALUE(buf, "INSERT INTO users (email, email_normalized, name, groups, email_verified)"
	               " VALUES ('%s', '%s', 'Ada', '{family,media}', true) RETURNING id",
	        email, email));
}

/* A code for app, spendable for a minute (ttl_s seconds), without PKCE or nonce. */
static void new_code(const char *code, const char *user, const char *scope, int ttl_s)
{
	sql(db,
	    "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scope, auth_time, amr, expires_at)"
	    " VALUES (sha256('%s'), 'app', '%s', 'http://localhost/cb', '%s', to_timestamp(1700000000), 'pwd',"
	    " now() + make_interval(secs => %d))",
	    code, user, scope, ttl_s);
}

/* ---- the operations ---- */

/* store_exec on the test connection with a list of arguments. */
#define RUN(op, out, ...)                                                                                      \
	store_exec(db, (op), (const struct store_value[]){ __VA_ARGS__ },                                       \
	    sizeof((const struct store_value[]){ __VA_ARGS__ }) / sizeof(struct store_value), (out))

static int spend(const char *code_hash, const char *client, struct store_reply *out)
{
	return RUN(STORE_OP_OAUTH_CODE_SPEND, out, STORE_V_TEXT(code_hash), STORE_V_TEXT(client));
}

/* Stores a code's tokens; family/refresh_hash NULL: no refresh token. */
static int issue(PGconn *c, const char *code_hash, const char *user, const char *jti, const char *family,
    const char *refresh_hash, struct store_reply *out)
{
	int64_t now = (int64_t)time(NULL);
	const struct store_value a[] = { STORE_V_TEXT(code_hash), STORE_V_TEXT("app"), STORE_V_TEXT(user),
		STORE_V_TEXT(jti), family ? STORE_V_TEXT(family) : STORE_V_NULL, STORE_V_TEXT("openid profile offline_access"),
		STORE_V_INT(now + 3600), refresh_hash ? STORE_V_TEXT(refresh_hash) : STORE_V_NULL, STORE_V_INT(1700000000),
		STORE_V_TEXT("pwd"), STORE_V_NULL, family ? STORE_V_INT(now + 86400) : STORE_V_NULL };
	return store_exec(c, STORE_OP_OAUTH_CODE_ISSUE, a, 12, out);
}

static int rotate(PGconn *c, const char *hash, const char *client, const char *scope, const char *jti,
    const char *new_hash, struct store_reply *out)
{
	int64_t now = (int64_t)time(NULL);
	const struct store_value a[] = { STORE_V_TEXT(hash), STORE_V_TEXT(client), scope ? STORE_V_TEXT(scope) : STORE_V_NULL,
		STORE_V_TEXT(jti), STORE_V_TEXT(new_hash), STORE_V_INT(now + 3600), STORE_V_INT(now + 86400) };
	return store_exec(c, STORE_OP_OAUTH_REFRESH_ROTATE, a, 7, out);
}

static const char *outcome_of(const struct store_reply *r, unsigned column)
{
	return r->status == STORE_OK && r->n_rows == 1 ? store_text(r, 0, column) : "(failed)";
}

/* A family of user started by a code: its first refresh token's hash in refresh_hash. */
static void new_family_of(const char *user, const char *name, const char *family, char refresh_hash[67])
{
	char code[67], jti[64], refresh[64];
	struct store_reply r;

	snprintf(refresh, sizeof(refresh), "refresh-%s-0", name);
	snprintf(jti, sizeof(jti), "jti-%s-0", name);
	test_db_token_hash(refresh, refresh_hash);
	char code_text[64];
	snprintf(code_text, sizeof(code_text), "code-%s", name);
	test_db_token_hash(code_text, code);
	new_code(code_text, user, "openid profile offline_access", 60);
	spend(code, "app", &r);
	store_reply_free(&r);
	issue(db, code, user, jti, family, refresh_hash, &r);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_ISSUED_OUTCOME), "issued");
	store_reply_free(&r);
}

static void new_family(const char *name, const char *family, char refresh_hash[67])
{
	new_family_of(user_id, name, family, refresh_hash);
}

static long family_live_rows(const char *family)
{
	return NUMBER("SELECT (SELECT count(*) FROM oauth_refresh_tokens WHERE family_id = '%s' AND revoked_at IS NULL)"
	              " + (SELECT count(*) FROM oauth_access_tokens WHERE family_id = '%s' AND revoked_at IS NULL)",
	    family, family);
}

static bool in_shared_table(const char *jti)
{
	return revoked_tokens_check(store_shm->revoked, jti, strlen(jti), (int64_t)time(NULL)) == REVOKED_YES;
}

/* ---- authorization codes ---- */

static void test_code_spend_and_issue(void)
{
	char code[67], nope[67], refresh[67], buf[256];
	struct store_reply r;

	test_db_token_hash("code-1", code);
	test_db_token_hash("no-such-code", nope);
	test_db_token_hash("refresh-1", refresh);
	new_code("code-1", user_id, "openid profile offline_access", 60);

	CHECK_EQ_INT(spend(nope, "app", &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	/* Another client's code: no row, and it stays unspent. */
	CHECK_EQ_INT(spend(code, "other", &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_codes WHERE code_hash = sha256('code-1') AND used_at IS NULL"), 1);

	CHECK_EQ_INT(spend(code, "app", &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK(!store_bool(&r, 0, OAUTH_CODE_REPLAYED));
	CHECK(store_bool(&r, 0, OAUTH_CODE_LIVE));
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_CODE_USER_ID), user_id);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_CODE_REDIRECT_URI), "http://localhost/cb");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_CODE_SCOPE), "openid profile offline_access");
	CHECK_EQ_INT(store_int(&r, 0, OAUTH_CODE_AUTH_TIME), 1700000000);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_CODE_AMR), "pwd");
	CHECK(store_is_null(&r, 0, OAUTH_CODE_SESSION_ID));
	CHECK(store_is_null(&r, 0, OAUTH_CODE_NONCE));
	CHECK(store_is_null(&r, 0, OAUTH_CODE_CHALLENGE));
	store_reply_free(&r);

	CHECK_EQ_INT(issue(db, code, user_id, "jti-code-1", "00000000-0000-4000-8000-000000000001", refresh, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_ISSUED_OUTCOME), "issued");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_ISSUED_USER_ID), user_id);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_ISSUED_USER_EMAIL), "ada@example.com");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_ISSUED_USER_NAME), "Ada");
	CHECK(store_bool(&r, 0, OAUTH_ISSUED_USER_EMAIL_VERIFIED));
	CHECK(!store_bool(&r, 0, OAUTH_ISSUED_USER_DISABLED));
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_ISSUED_USER_GROUPS), "[\"family\",\"media\"]");
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-code-1'"
	                    " AND code_hash = sha256('code-1') AND user_id = '%s' AND revoked_at IS NULL", user_id), 1);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-1')"
	                    " AND family_id = '00000000-0000-4000-8000-000000000001' AND session_id IS NULL"), 1);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_token_families WHERE family_id = '00000000-0000-4000-8000-000000000001'"
	                    " AND revoked_at IS NULL"), 1);

	/* A replay: marked, and what the code gave is revoked, in the shared table too. */
	CHECK_EQ_INT(spend(code, "app", &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK(store_bool(&r, 0, OAUTH_CODE_REPLAYED));
	store_reply_free(&r);
	CHECK_EQ_STR(VALUE(buf, "SELECT replayed_at IS NOT NULL FROM oauth_codes WHERE code_hash = sha256('code-1')"), "t");
	CHECK_EQ_INT(family_live_rows("00000000-0000-4000-8000-000000000001"), 0);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_token_families WHERE family_id = '00000000-0000-4000-8000-000000000001'"
	                    " AND revoked_at IS NOT NULL"), 1);
	CHECK(in_shared_table("jti-code-1"));
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM revocation_log WHERE payload LIKE 'jti:%%:jti-code-1'"), 1);

	/* Storing after the replay writes nothing. */
	CHECK_EQ_INT(issue(db, code, user_id, "jti-code-1b", NULL, NULL, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_ISSUED_OUTCOME), "replayed");
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-code-1b'"), 0);
}

static void test_code_expired_and_inactive(void)
{
	char code[67], refresh[67], disabled[40];
	struct store_reply r;

	test_db_token_hash("code-old", code);
	new_code("code-old", user_id, "openid", -1);
	CHECK_EQ_INT(spend(code, "app", &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK(!store_bool(&r, 0, OAUTH_CODE_LIVE));
	store_reply_free(&r);

	/* A user disabled between the code and its exchange: nothing written at all. */
	new_user("gone@example.com", disabled);
	test_db_token_hash("code-gone", code);
	test_db_token_hash("refresh-gone", refresh);
	new_code("code-gone", disabled, "openid offline_access", 60);
	sql(db, "UPDATE users SET disabled = true WHERE id = '%s'", disabled);
	CHECK_EQ_INT(spend(code, "app", &r), STORE_OK);
	store_reply_free(&r);
	CHECK_EQ_INT(issue(db, code, disabled, "jti-gone", "00000000-0000-4000-8000-0000000000ff", refresh, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_ISSUED_OUTCOME), "inactive");
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT (SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-gone')"
	                    " + (SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-gone'))"
	                    " + (SELECT count(*) FROM oauth_token_families WHERE family_id = '00000000-0000-4000-8000-0000000000ff')"),
	    0);
	/* A user id that is not a uuid is refused by the database, not misread. */
	CHECK_EQ_INT(issue(db, code, "not-a-uuid", "jti-x", NULL, NULL, &r), STORE_ERROR);
	store_reply_free(&r);
}

/* ---- refresh tokens ---- */

#define FAM_A "00000000-0000-4000-8000-00000000000a"

static void test_rotation(void)
{
	char r0[67], r1[67], r2[67], r3[67], buf[256];
	struct store_reply r;

	new_family("a", FAM_A, r0);
	test_db_token_hash("refresh-a-1", r1);
	test_db_token_hash("refresh-a-2", r2);
	test_db_token_hash("refresh-a-3", r3);

	/* Unknown, or another client's: invalid, and nothing changes. */
	CHECK_EQ_INT(rotate(db, r1, "app", NULL, "jti-x", r2, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "invalid");
	CHECK(store_is_null(&r, 0, OAUTH_REFRESHED_USER_ID));
	store_reply_free(&r);
	CHECK_EQ_INT(rotate(db, r0, "other", NULL, "jti-x", r2, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "invalid");
	store_reply_free(&r);
	CHECK_EQ_STR(VALUE(buf, "SELECT used_at IS NULL FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-a-0')"), "t");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-x'"), 0);

	/* A rotation: the grant comes back, the new pair is written, the old token is spent. */
	CHECK_EQ_INT(rotate(db, r0, "app", NULL, "jti-a-1", r1, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "issued");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_FAMILY_ID), FAM_A);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_SCOPE), "openid profile offline_access");
	CHECK_EQ_INT(store_int(&r, 0, OAUTH_REFRESHED_AUTH_TIME), 1700000000);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_AMR), "pwd");
	CHECK(store_is_null(&r, 0, OAUTH_REFRESHED_SESSION_ID));
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_USER_ID), user_id);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_USER_EMAIL), "ada@example.com");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_USER_GROUPS), "[\"family\",\"media\"]");
	store_reply_free(&r);
	CHECK_EQ_STR(VALUE(buf, "SELECT used_at IS NOT NULL FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-a-0')"), "t");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-a-1')"
	                    " AND family_id = '" FAM_A "' AND user_id = '%s' AND auth_time = to_timestamp(1700000000)"
	                    " AND amr = 'pwd' AND used_at IS NULL", user_id), 1);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-a-1' AND family_id = '" FAM_A "'"
	                    " AND scope = 'openid profile offline_access'"), 1);

	/* A narrower scope narrows the new tokens, keeping offline_access. */
	CHECK_EQ_INT(rotate(db, r1, "app", "openid", "jti-a-2", r2, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "issued");
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESHED_SCOPE), "openid offline_access");
	store_reply_free(&r);

	/* More than was granted: refused, and the token is spent (as before the store). */
	CHECK_EQ_INT(rotate(db, r2, "app", "openid profile", "jti-a-3", r3, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "scope");
	CHECK(store_is_null(&r, 0, OAUTH_REFRESHED_FAMILY_ID));
	store_reply_free(&r);
	CHECK_EQ_INT(rotate(db, r2, "app", "bogus", "jti-a-3", r3, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "reused");
	store_reply_free(&r);

	/* That reuse revoked the whole family: every row, the family, the shared table. */
	CHECK_EQ_INT(family_live_rows(FAM_A), 0);
	CHECK_EQ_STR(VALUE(buf, "SELECT revoked_at IS NOT NULL FROM oauth_token_families WHERE family_id = '" FAM_A "'"), "t");
	CHECK(in_shared_table("jti-a-0"));
	CHECK(in_shared_table("jti-a-1"));
	CHECK(in_shared_table("jti-a-2"));
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-a-3'"), 0);
}

#define FAM_B "00000000-0000-4000-8000-00000000000b"
#define FAM_C "00000000-0000-4000-8000-00000000000c"
#define FAM_D "00000000-0000-4000-8000-00000000000d"

static void test_rotation_refusals(void)
{
	char r0[67], r1[67], c0[67], d0[67], buf[64];
	struct store_reply r;

	/* Expired: refused as revoked, spent, the family left alone. */
	new_family("b", FAM_B, r0);
	test_db_token_hash("refresh-b-1", r1);
	sql(db, "UPDATE oauth_refresh_tokens SET expires_at = now() - interval '1 second' WHERE family_id = '" FAM_B "'");
	CHECK_EQ_INT(rotate(db, r0, "app", NULL, "jti-b-1", r1, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "revoked");
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE family_id = '" FAM_B "' AND revoked_at IS NULL"), 1);

	/* The user disabled: refused, and the family revoked. */
	new_family("c", FAM_C, c0);
	sql(db, "UPDATE users SET disabled = true WHERE id = '%s'", user_id);
	CHECK_EQ_INT(rotate(db, c0, "app", NULL, "jti-c-1", r1, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "inactive");
	store_reply_free(&r);
	sql(db, "UPDATE users SET disabled = false WHERE id = '%s'", user_id);
	CHECK_EQ_INT(family_live_rows(FAM_C), 0);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-b-1')"), 0);

	/* All or nothing: the new pair cannot be written (its refresh hash is
	 * taken), so the presented token is not spent either. */
	new_family("d", FAM_D, d0);
	CHECK_EQ_INT(rotate(db, d0, "app", NULL, "jti-d-1", d0, &r), STORE_CONFLICT);
	store_reply_free(&r);
	CHECK_EQ_STR(VALUE(buf, "SELECT used_at IS NULL FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-d-0')"), "t");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-d-1'"), 0);
	test_db_token_hash("refresh-d-1", r1);
	CHECK_EQ_INT(rotate(db, d0, "app", NULL, "jti-d-1", r1, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "issued");
	store_reply_free(&r);

	/* A family from before migration 008 (no row of its own) gets one. */
	sql(db, "DELETE FROM oauth_token_families WHERE family_id = '" FAM_D "'");
	test_db_token_hash("refresh-d-2", r0);
	CHECK_EQ_INT(rotate(db, r1, "app", NULL, "jti-d-2", r0, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "issued");
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_token_families WHERE family_id = '" FAM_D "'"), 1);
}

#define FAM_E "00000000-0000-4000-8000-00000000000e"

static void test_describe_and_revoke_refresh(void)
{
	char e0[67], nope[67];
	struct store_reply r;

	new_family("e", FAM_E, e0);
	test_db_token_hash("no-such-refresh", nope);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_DESCRIBE, &r, STORE_V_TEXT(e0), STORE_V_TEXT("app")), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESH_INFO_USER_ID), user_id);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_REFRESH_INFO_SCOPE), "openid profile offline_access");
	CHECK(store_int(&r, 0, OAUTH_REFRESH_INFO_EXP) > store_int(&r, 0, OAUTH_REFRESH_INFO_IAT));
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_DESCRIBE, &r, STORE_V_TEXT(e0), STORE_V_TEXT("other")), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);

	/* Another client's token, an unknown one: nothing revoked. */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_REVOKE, &r, STORE_V_TEXT(e0), STORE_V_TEXT("other")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_REVOKE, &r, STORE_V_TEXT(nope), STORE_V_TEXT("app")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK_EQ_INT(family_live_rows(FAM_E), 2);

	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_REVOKE, &r, STORE_V_TEXT(e0), STORE_V_TEXT("app")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_INT(family_live_rows(FAM_E), 0);
	CHECK(in_shared_table("jti-e-0"));
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_REFRESH_DESCRIBE, &r, STORE_V_TEXT(e0), STORE_V_TEXT("app")), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
}

/* ---- access tokens ---- */

static void test_access_tokens(void)
{
	int64_t exp = (int64_t)time(NULL) + 3600;
	char buf[64];
	struct store_reply r;

	/* A client_credentials token has a row: no user, no family. A jti is unique. */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, &r, STORE_V_TEXT("jti-cc-1"), STORE_V_TEXT("app"),
	                 STORE_V_TEXT(""), STORE_V_INT(exp)),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-cc-1' AND client_id = 'app'"
	                    " AND user_id IS NULL AND family_id IS NULL AND scope = '' AND revoked_at IS NULL"
	                    " AND expires_at = to_timestamp(%lld)", (long long)exp), 1);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, &r, STORE_V_TEXT("jti-cc-1"), STORE_V_TEXT("app"),
	                 STORE_V_TEXT(""), STORE_V_INT(exp)),
	    STORE_CONFLICT);
	store_reply_free(&r);

	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, &r, STORE_V_TEXT("jti-cc-1")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK(!in_shared_table("jti-cc-1"));

	/* Only its own client may revoke it. */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKE, &r, STORE_V_TEXT("jti-cc-1"), STORE_V_TEXT("other"),
	                 STORE_V_INT(exp)),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK_EQ_STR(VALUE(buf, "SELECT revoked_at IS NULL FROM oauth_access_tokens WHERE jti = 'jti-cc-1'"), "t");
	CHECK(!in_shared_table("jti-cc-1"));
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKE, &r, STORE_V_TEXT("jti-cc-1"), STORE_V_TEXT("app"),
	                 STORE_V_INT(exp)),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK(in_shared_table("jti-cc-1"));
	/* Again: already revoked, still a row (and no second log entry). */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKE, &r, STORE_V_TEXT("jti-cc-1"), STORE_V_TEXT("app"),
	                 STORE_V_INT(exp)),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM revocation_log WHERE payload LIKE 'jti:%%:jti-cc-1'"), 1);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, &r, STORE_V_TEXT("jti-cc-1")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);

	/* A token without a row (issued before they were stored) gets a revoked one. */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKE, &r, STORE_V_TEXT("jti-cc-old"), STORE_V_TEXT("app"),
	                 STORE_V_INT(exp)),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE jti = 'jti-cc-old' AND revoked_at IS NOT NULL"), 1);

	/* The table learns of a revocation the store reads (made elsewhere). */
	RUN(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, &r, STORE_V_TEXT("jti-cc-2"), STORE_V_TEXT("app"), STORE_V_TEXT("x"),
	    STORE_V_INT(exp));
	store_reply_free(&r);
	sql(db, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE jti = 'jti-cc-2'");
	CHECK(!in_shared_table("jti-cc-2"));
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, &r, STORE_V_TEXT("jti-cc-2")), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK(in_shared_table("jti-cc-2"));
}

static void test_userinfo(void)
{
	int64_t exp = (int64_t)time(NULL) + 3600;
	struct store_reply r;

	RUN(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, &r, STORE_V_TEXT("jti-ui"), STORE_V_TEXT("app"), STORE_V_TEXT("openid"),
	    STORE_V_INT(exp));
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_USERINFO, &r, STORE_V_TEXT("jti-ui"), STORE_V_TEXT(user_id)), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK(!store_bool(&r, 0, OAUTH_USERINFO_REVOKED));
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_USERINFO_USER_ID), user_id);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_USERINFO_USER_EMAIL), "ada@example.com");
	CHECK(store_bool(&r, 0, OAUTH_USERINFO_USER_EMAIL_VERIFIED));
	store_reply_free(&r);

	/* A sub that names no user (a client id, nothing, another user's id): NULL columns. */
	const char *subjects[] = { "app", NULL, "00000000-0000-4000-8000-000000000000", "ADA" };
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		CHECK_EQ_INT(RUN(STORE_OP_OAUTH_USERINFO, &r, STORE_V_TEXT("jti-ui"),
		                 subjects[i] ? STORE_V_TEXT(subjects[i]) : STORE_V_NULL),
		    STORE_OK);
		CHECK_EQ_INT(r.n_rows, 1);
		CHECK(store_is_null(&r, 0, OAUTH_USERINFO_USER_ID));
		CHECK(store_is_null(&r, 0, OAUTH_USERINFO_USER_DISABLED));
		store_reply_free(&r);
	}
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_USERINFO, &r, STORE_V_TEXT("jti-ui"), STORE_V_TEXT(other_user_id)), STORE_OK);
	CHECK_EQ_STR(store_text(&r, 0, OAUTH_USERINFO_USER_EMAIL), "bob@example.com");
	store_reply_free(&r);

	sql(db, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE jti = 'jti-ui'");
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_USERINFO, &r, STORE_V_TEXT("jti-ui"), STORE_V_TEXT(user_id)), STORE_OK);
	CHECK(store_bool(&r, 0, OAUTH_USERINFO_REVOKED));
	store_reply_free(&r);
	CHECK(in_shared_table("jti-ui"));
}

/* ---- races between instances ---- */

/* How many of this database's backends wait on a lock. */
static long lock_waiters(void)
{
	return NUMBER("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
	              " AND wait_event_type = 'Lock'");
}

static bool wait_for_waiters(long n)
{
	for (int i = 0; i < 1000; i++) {
		if (lock_waiters() >= n)
			return true;
		usleep(10000);
	}
	return false;
}


/* A process of its own (another instance, in effect): runs rotate or
 * code-issue on its own connection and writes the outcome to a pipe. */
struct racer {
	pid_t pid;
	int fd;
};

enum race_kind { RACE_ROTATE, RACE_ISSUE, RACE_REVOKE_USER };

/* What `dreamauth user passwd` does to a user's grants (store/users_admin.c),
 * with the families marked first: one transaction. */
static bool revoke_user_grants(PGconn *c, const char *user)
{
	bool ok = sql(c, "BEGIN") && store_oauth_families_revoke(c, STORE_OAUTH_USER, user) &&
	    sql(c, "UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE user_id = '%s' AND revoked_at IS NULL"
	           " AND used_at IS NULL", user) &&
	    sql(c, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE user_id = '%s' AND revoked_at IS NULL", user);
	return sql(c, ok ? "COMMIT" : "ROLLBACK") && ok;
}

static struct racer race_start(enum race_kind kind, const char *a, const char *b, const char *c)
{
	int p[2];
	struct racer racer = { -1, -1 };

	if (pipe(p) < 0)
		return racer;
	racer.pid = fork();
	if (racer.pid == 0) {
		struct store_reply r;
		char out[32] = "(failed)";
		close(p[0]);
		PGconn *own = db_connect(test_db.url, 5000);
		if (own) {
			if (kind == RACE_REVOKE_USER) {
				snprintf(out, sizeof(out), "%s", revoke_user_grants(own, a) ? "revoked" : "(failed)");
			} else {
				if (kind == RACE_ROTATE)
					rotate(own, a, "app", NULL, b, c, &r);	/* token hash, new jti, new hash */
				else
					issue(own, a, user_id, b, c, NULL, &r);	/* code hash, jti, family */
				snprintf(out, sizeof(out), "%s",
				    outcome_of(&r, kind == RACE_ROTATE ? OAUTH_REFRESHED_OUTCOME : OAUTH_ISSUED_OUTCOME));
				store_reply_free(&r);
			}
		}
		if (write(p[1], out, strlen(out)) < 0)
			_exit(1);
		_exit(0);	/* the parent's connection is not ours to close */
	}
	close(p[1]);
	racer.fd = p[0];
	return racer;
}

static void race_finish(struct racer *racer, char *out, size_t cap)
{
	ssize_t n = read(racer->fd, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(racer->fd);
	wait_children(&racer->pid, 1);
}

/* A psql-like session holding a lock (lock_sql) until released. */
static PGconn *hold_lock(const char *lock_sql)
{
	PGconn *l = db_connect(test_db.url, 5000);
	CHECK(l != NULL);
	if (l)
		CHECK(sql(l, "BEGIN") && sql(l, "%s", lock_sql));
	return l;
}

static PGconn *hold_users_lock(void)
{
	return hold_lock("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
}

static void release(PGconn *l)
{
	if (l) {
		sql(l, "COMMIT");
		PQfinish(l);
	}
}

#define FAM_R "00000000-0000-4000-8000-000000000010"
#define FAM_S "00000000-0000-4000-8000-000000000011"

/* Issue 9 item 2: one refresh token sent to two instances at once while a
 * lock the refresh path needs is held. Exactly one wins, the other is a
 * reuse, and the family is revoked entirely, the winner's new tokens too. */
static void test_race_same_token(void)
{
	char r0[67], ha[67], hb[67], a[32], b[32], buf[64];
	struct store_reply r;

	new_family("r", FAM_R, r0);
	test_db_token_hash("refresh-r-a", ha);
	test_db_token_hash("refresh-r-b", hb);
	PGconn *lock = hold_users_lock();
	struct racer first = race_start(RACE_ROTATE, r0, "jti-r-a", ha);
	CHECK(wait_for_waiters(1));
	struct racer second = race_start(RACE_ROTATE, r0, "jti-r-b", hb);
	CHECK(wait_for_waiters(2));
	release(lock);
	race_finish(&first, a, sizeof(a));
	race_finish(&second, b, sizeof(b));
	CHECK((!strcmp(a, "issued") && !strcmp(b, "reused")) || (!strcmp(a, "reused") && !strcmp(b, "issued")));
	/* Every row of the family: the first pair and the winner's. */
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE family_id = '" FAM_R "'"), 2);
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE family_id = '" FAM_R "'"), 2);
	CHECK_EQ_INT(family_live_rows(FAM_R), 0);
	CHECK_EQ_STR(VALUE(buf, "SELECT revoked_at IS NOT NULL FROM oauth_token_families WHERE family_id = '" FAM_R "'"), "t");
	/* The winner's new refresh token is refused. */
	CHECK_EQ_INT(rotate(db, !strcmp(a, "issued") ? ha : hb, "app", NULL, "jti-r-c", r0, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "revoked");
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, &r, STORE_V_TEXT(!strcmp(a, "issued") ? "jti-r-a" : "jti-r-b")),
	    STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
}

/* The reuse of an older token while its successor is rotating: the
 * rotation finishes first and its new tokens are revoked with the rest. */
static void test_race_older_token(void)
{
	char s0[67], s1[67], s2[67], outcome[32];
	struct store_reply r;

	new_family("s", FAM_S, s0);
	test_db_token_hash("refresh-s-1", s1);
	test_db_token_hash("refresh-s-2", s2);
	rotate(db, s0, "app", NULL, "jti-s-1", s1, &r);
	store_reply_free(&r);
	PGconn *lock = hold_users_lock();
	struct racer rotation = race_start(RACE_ROTATE, s1, "jti-s-2", s2);
	CHECK(wait_for_waiters(1));
	struct racer reuse = race_start(RACE_ROTATE, s0, "jti-s-x", s1);
	CHECK(wait_for_waiters(2));
	release(lock);
	race_finish(&rotation, outcome, sizeof(outcome));
	CHECK_EQ_STR(outcome, "issued");
	race_finish(&reuse, outcome, sizeof(outcome));
	CHECK_EQ_STR(outcome, "reused");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-s-2')"), 1);
	CHECK_EQ_INT(family_live_rows(FAM_S), 0);
}

/* A code replayed while its first exchange waits to store: the replay is
 * answered at once (it never waits on users), and the exchange stores nothing. */
static void test_race_code_replay(void)
{
	char code[67], outcome[32];
	struct store_reply r;

	test_db_token_hash("code-race", code);
	new_code("code-race", user_id, "openid offline_access", 60);
	spend(code, "app", &r);
	store_reply_free(&r);
	PGconn *lock = hold_users_lock();
	struct racer exchange = race_start(RACE_ISSUE, code, "jti-race", "00000000-0000-4000-8000-000000000012");
	CHECK(wait_for_waiters(1));
	CHECK_EQ_INT(spend(code, "app", &r), STORE_OK);
	CHECK(store_bool(&r, 0, OAUTH_CODE_REPLAYED));
	store_reply_free(&r);
	CHECK_EQ_INT(lock_waiters(), 1);
	release(lock);
	race_finish(&exchange, outcome, sizeof(outcome));
	CHECK_EQ_STR(outcome, "replayed");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_access_tokens WHERE code_hash = sha256('code-race')"), 0);
}

#define FAM_T "00000000-0000-4000-8000-000000000013"
#define FAM_U "00000000-0000-4000-8000-000000000014"

/* The other wholesale revocations (a user's grants, a client's) mark the
 * families first: a rotation finishing after them writes nothing, one
 * finishing during them is revoked with the rest. On bob's families. */
static void test_families_revoked_by_owner(void)
{
	char t0[67], t1[67], u0[67], u1[67], outcome[32], buf[64];
	struct store_reply r;

	new_family_of(other_user_id, "t", FAM_T, t0);
	test_db_token_hash("refresh-t-1", t1);
	CHECK(revoke_user_grants(db, other_user_id));
	CHECK_EQ_STR(VALUE(buf, "SELECT revoked_at IS NOT NULL FROM oauth_token_families WHERE family_id = '" FAM_T "'"), "t");
	CHECK_EQ_INT(rotate(db, t0, "app", NULL, "jti-t-1", t1, &r), STORE_OK);
	CHECK_EQ_STR(outcome_of(&r, OAUTH_REFRESHED_OUTCOME), "revoked");
	store_reply_free(&r);

	/* A rotation that has spent its token and waits to write the new pair
	 * (its foreign-key check on the user's row, locked here) when the
	 * revocation starts: without the families marked first, the
	 * revocation's UPDATE would wait on the spent token, skip it, and never
	 * see the new pair. */
	new_family_of(other_user_id, "u", FAM_U, u0);
	test_db_token_hash("refresh-u-1", u1);
	char lock_sql[128];
	snprintf(lock_sql, sizeof(lock_sql), "SELECT 1 FROM users WHERE id = '%s' FOR UPDATE", other_user_id);
	PGconn *lock = hold_lock(lock_sql);
	struct racer rotation = race_start(RACE_ROTATE, u0, "jti-u-1", u1);
	CHECK(wait_for_waiters(1));
	struct racer revocation = race_start(RACE_REVOKE_USER, other_user_id, NULL, NULL);
	CHECK(wait_for_waiters(2));
	release(lock);
	race_finish(&rotation, outcome, sizeof(outcome));
	CHECK_EQ_STR(outcome, "issued");
	race_finish(&revocation, outcome, sizeof(outcome));
	CHECK_EQ_STR(outcome, "revoked");
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_refresh_tokens WHERE token_hash = sha256('refresh-u-1')"), 1);
	/* Nothing usable is left (the spent first token stays as it was). */
	CHECK_EQ_INT(NUMBER("SELECT (SELECT count(*) FROM oauth_refresh_tokens WHERE family_id = '" FAM_U "'"
	                    "   AND revoked_at IS NULL AND used_at IS NULL)"
	                    " + (SELECT count(*) FROM oauth_access_tokens WHERE family_id = '" FAM_U "' AND revoked_at IS NULL)"),
	    0);

	/* By client: every family of app. */
	CHECK(sql(db, "BEGIN") && store_oauth_families_revoke(db, STORE_OAUTH_CLIENT, "app") && sql(db, "COMMIT"));
	CHECK_EQ_INT(NUMBER("SELECT count(*) FROM oauth_token_families f WHERE revoked_at IS NULL AND EXISTS"
	                    " (SELECT 1 FROM oauth_refresh_tokens t WHERE t.family_id = f.family_id AND t.client_id = 'app')"), 0);
	CHECK(NUMBER("SELECT count(*) FROM oauth_token_families") >= 10);
}

/* ---- wire checks ---- */

static void test_refused_shapes(void)
{
	struct store_reply r;

	/* Arity and types are checked before anything runs. */
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_CODE_SPEND, &r, STORE_V_TEXT("x")), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, &r, STORE_V_TEXT("j"), STORE_V_TEXT("app"), STORE_V_TEXT(""),
	                 STORE_V_TEXT("soon")),
	    STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(RUN(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, &r, STORE_V_NULL), STORE_REFUSED);
	store_reply_free(&r);
}

int main(void)
{
	log_init("test_store_oauth", LOG_LEVEL_WARN);
	test_db_create(&test_db, "store_oauth_test");
	db = test_db.db;
	store_shm = shm_region_create(64, 64, 64, 1024);
	CHECK(store_shm != NULL);
	new_user("ada@example.com", user_id);
	new_user("bob@example.com", other_user_id);
	CHECK_EQ_INT(strlen(user_id), 36);

	test_refused_shapes();
	test_code_spend_and_issue();
	test_code_expired_and_inactive();
	test_rotation();
	test_rotation_refusals();
	test_describe_and_revoke_refresh();
	test_access_tokens();
	test_userinfo();
	test_race_same_token();
	test_race_older_token();
	test_race_code_replay();
	test_families_revoked_by_owner();
	test_db_drop(&test_db);
	return CHECK_DONE();
}
