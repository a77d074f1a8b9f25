/*
 * Unit tests for the admin operations of the store (store/admin_*.c,
 * store/app_roles.c, migrations/013) through store_exec, against a real
 * PostgreSQL: the caller's proof is checked in the operation's transaction
 * (dreamauth_admin_actor) — a live admin session or admin token passes;
 * a non-admin, a disabled admin, a revoked or expired session, a user's
 * token, a token without scope admin, a client without the flag, garbage
 * are refused and change nothing; roles and APP_ACCESS; a user's hard
 * delete after everything is revoked.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "store/store_run.h"

#include <stdlib.h>
#include <string.h>

#define ADMIN_ID "11111111-1111-4111-8111-111111111111"
#define USER_ID "22222222-2222-4222-8222-222222222222"
#define KEY_ADMIN "aa00000000000000000000000000000000000000000000000000000000000001"
#define KEY_USER "aa00000000000000000000000000000000000000000000000000000000000002"
#define KEY_REVOKED "aa00000000000000000000000000000000000000000000000000000000000003"

static void seed(PGconn *db)
{
	test_db_exec(db,
	    "INSERT INTO users (id, email, email_normalized, is_admin) VALUES"
	    " ('" ADMIN_ID "', 'root@example.com', 'root@example.com', true),"
	    " ('" USER_ID "', 'joe@example.com', 'joe@example.com', false);"
	    "INSERT INTO sessions (token_hash, user_id, expires_at, auth_time) VALUES"
	    " ('\\x" KEY_ADMIN "', '" ADMIN_ID "', now() + interval '1 hour', now()),"
	    " ('\\x" KEY_USER "', '" USER_ID "', now() + interval '1 hour', now());"
	    "INSERT INTO sessions (token_hash, user_id, expires_at, auth_time, revoked_at) VALUES"
	    " ('\\x" KEY_REVOKED "', '" ADMIN_ID "', now() + interval '1 hour', now(), now());"
	    "INSERT INTO oauth_clients (client_id, name, redirect_uris, admin) VALUES"
	    " ('ops', 'Ops', '{https://ops.example/cb}', true), ('app', 'App', '{https://app.example/cb}', false);"
	    "INSERT INTO oauth_access_tokens (jti, client_id, user_id, scope, expires_at) VALUES"
	    " ('jti-admin-0000000001', 'ops', NULL, 'admin', now() + interval '10 minutes'),"
	    " ('jti-noscope-00000001', 'ops', NULL, 'groups', now() + interval '10 minutes'),"
	    " ('jti-users-0000000001', 'ops', '" ADMIN_ID "', 'admin', now() + interval '10 minutes'),"
	    " ('jti-plain-0000000001', 'app', NULL, 'admin', now() + interval '10 minutes'),"
	    " ('jti-expired-00000001', 'ops', NULL, 'admin', now() - interval '1 minute')");
}

/* ADMIN_USERS_LIST with proof: the status. */
static int list_as(PGconn *db, const char *proof)
{
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(proof), STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_INT(10) };
	int status = store_exec(db, STORE_OP_ADMIN_USERS_LIST, args, 5, &r);
	if (status == STORE_OK)
		CHECK_EQ_INT(r.n_rows, 2);
	store_reply_free(&r);
	return status;
}

static void test_proofs(PGconn *db)
{
	CHECK_EQ_INT(list_as(db, "session:" KEY_ADMIN), STORE_OK);
	CHECK_EQ_INT(list_as(db, "token:jti-admin-0000000001"), STORE_OK);
	CHECK_EQ_INT(list_as(db, "session:" KEY_USER), STORE_REFUSED);		/* not an admin */
	CHECK_EQ_INT(list_as(db, "session:" KEY_REVOKED), STORE_REFUSED);	/* revoked session */
	CHECK_EQ_INT(list_as(db, "token:jti-noscope-00000001"), STORE_REFUSED);	/* no scope admin */
	CHECK_EQ_INT(list_as(db, "token:jti-users-0000000001"), STORE_REFUSED);	/* a user's token */
	CHECK_EQ_INT(list_as(db, "token:jti-plain-0000000001"), STORE_REFUSED);	/* client not flagged */
	CHECK_EQ_INT(list_as(db, "token:jti-expired-00000001"), STORE_REFUSED);	/* expired */
	CHECK_EQ_INT(list_as(db, "user:" ADMIN_ID), STORE_REFUSED);		/* no such proof kind */
	CHECK_EQ_INT(list_as(db, "session:' OR true --"), STORE_REFUSED);
	CHECK_EQ_INT(list_as(db, ""), STORE_REFUSED);
	/* A refused change changes nothing. */
	struct store_reply r;
	const struct store_value upd[] = { STORE_V_TEXT("session:" KEY_USER), STORE_V_TEXT(USER_ID), STORE_V_BOOL(true),
		STORE_V_NULL, STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_ADMIN_USER_UPDATE, upd, 5, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_STR(test_db_scalar(db, "SELECT is_admin FROM users WHERE id = '" USER_ID "'"), "f");
	/* Disabling the admin (or revoking the token) refuses at once. */
	test_db_exec(db, "UPDATE users SET disabled = true WHERE id = '" ADMIN_ID "'");
	CHECK_EQ_INT(list_as(db, "session:" KEY_ADMIN), STORE_REFUSED);
	test_db_exec(db, "UPDATE users SET disabled = false WHERE id = '" ADMIN_ID "'");
	test_db_exec(db, "UPDATE oauth_access_tokens SET revoked_at = now() WHERE jti = 'jti-admin-0000000001'");
	CHECK_EQ_INT(list_as(db, "token:jti-admin-0000000001"), STORE_REFUSED);
	CHECK_EQ_INT(list_as(db, "session:" KEY_ADMIN), STORE_OK);
}

static int64_t count_op(PGconn *db, uint32_t op, const struct store_value *args, unsigned n)
{
	struct store_reply r;
	int64_t v = -1;
	if (store_exec(db, op, args, n, &r) == STORE_OK && r.n_rows == 1)
		v = store_int(&r, 0, COUNT_N);
	store_reply_free(&r);
	return v;
}

static const char *access_of(PGconn *db, const char *user, const char *app)
{
	static char out[256];
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(user), STORE_V_TEXT(app) };
	snprintf(out, sizeof(out), "(failed)");
	if (store_exec(db, STORE_OP_APP_ACCESS, args, 2, &r) == STORE_OK && r.n_rows == 1)
		snprintf(out, sizeof(out), "%s|%s", store_text(&r, 0, APP_ACCESS_ROLES), store_text(&r, 0, APP_ACCESS_PERMISSIONS));
	store_reply_free(&r);
	return out;
}

static void test_roles(PGconn *db)
{
	const struct store_value editor[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT("app"), STORE_V_TEXT("editor"),
		STORE_V_TEXT("Edits"), STORE_V_TEXT("pages:read,pages:write") };
	const struct store_value viewer[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT("app"), STORE_V_TEXT("viewer"),
		STORE_V_TEXT(""), STORE_V_TEXT("pages:read") };
	struct store_reply r;

	CHECK_EQ_INT(store_exec(db, STORE_OP_ADMIN_ROLE_PUT, editor, 5, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_ADMIN_ROLE_PUT, viewer, 5, &r), STORE_OK);
	store_reply_free(&r);
	/* The table's own check refuses a bad name even if a worker let it through. */
	const struct store_value bad[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT("app"), STORE_V_TEXT("Bad Role"),
		STORE_V_TEXT(""), STORE_V_TEXT("") };
	CHECK(store_exec(db, STORE_OP_ADMIN_ROLE_PUT, bad, 5, &r) != STORE_OK);
	store_reply_free(&r);

	CHECK_EQ_STR(access_of(db, USER_ID, "app"), "|");
	const struct store_value grant[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT(USER_ID), STORE_V_TEXT("app"),
		STORE_V_TEXT("editor"), STORE_V_BOOL(true) };
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_USER_ROLE_SET, grant, 5), 1);
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_USER_ROLE_SET, grant, 5), 0);	/* had it */
	const struct store_value grant2[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT(USER_ID), STORE_V_TEXT("app"),
		STORE_V_TEXT("viewer"), STORE_V_BOOL(true) };
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_USER_ROLE_SET, grant2, 5), 1);
	const struct store_value nosuch[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT(USER_ID), STORE_V_TEXT("app"),
		STORE_V_TEXT("owner"), STORE_V_BOOL(true) };
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_USER_ROLE_SET, nosuch, 5), 0);
	CHECK_EQ_STR(access_of(db, USER_ID, "app"), "editor,viewer|pages:read,pages:write");
	CHECK_EQ_STR(access_of(db, USER_ID, "other"), "|");
	CHECK_EQ_STR(access_of(db, "not-a-uuid", "app"), "|");
	/* Deleting a role takes its assignments. */
	const struct store_value del[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT("app"), STORE_V_TEXT("editor") };
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_ROLE_DELETE, del, 3), 1);
	CHECK_EQ_INT(count_op(db, STORE_OP_ADMIN_ROLE_DELETE, del, 3), 0);
	CHECK_EQ_STR(access_of(db, USER_ID, "app"), "viewer|pages:read");
}

static void test_delete(PGconn *db)
{
	struct store_reply r;
	const struct store_value del[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT(USER_ID), STORE_V_INT(60) };
	const struct store_value ghost[] = { STORE_V_TEXT("session:" KEY_ADMIN), STORE_V_TEXT("x"), STORE_V_INT(60) };

	test_db_exec(db, "INSERT INTO oauth_access_tokens (jti, client_id, user_id, scope, expires_at) VALUES"
	                 " ('jti-joe-00000000001', 'app', '" USER_ID "', 'openid', now() + interval '10 minutes')");
	CHECK_EQ_INT(store_exec(db, STORE_OP_ADMIN_USER_DELETE, ghost, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_ADMIN_USER_DELETE, del, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS), 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS), 1);
	store_reply_free(&r);
	CHECK_EQ_STR(test_db_scalar(db, "SELECT count(*) FROM users WHERE id = '" USER_ID "'"), "0");
	CHECK_EQ_STR(test_db_scalar(db, "SELECT count(*) FROM app_user_roles"), "0");
	CHECK_EQ_STR(test_db_scalar(db, "SELECT revoked_at IS NOT NULL FROM oauth_access_tokens WHERE jti = 'jti-joe-00000000001'"), "t");
	CHECK_EQ_STR(test_db_scalar(db, "SELECT count(*) FROM revocation_log WHERE payload = 'user:" USER_ID "'"), "1");
}

int main(void)
{
	struct test_db t;

	test_db_create(&t, "store_admin_test");
	seed(t.db);
	test_proofs(t.db);
	test_roles(t.db);
	test_delete(t.db);
	test_db_drop(&t);
	return CHECK_DONE();
}
