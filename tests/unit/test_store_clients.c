/*
 * The clients domain of the store (store/clients.c, store/consents.c) through
 * store_exec, as the CLI runs it, against a real PostgreSQL
 * (DREAMAUTH_TEST_DATABASE_URL; without it this test fails rather than
 * silently passing). A fresh database per run, migrated with the embedded
 * migrations, dropped at the end.
 *
 *   CLIENT_ADD / FIND / LIST / REMOVE   `dreamauth client ...`: NULL secret of
 *       a public client, empty lists, a taken id, pages, and a removal that
 *       revokes the client's tokens (logged for every instance) all or nothing.
 *   CODE_ISSUE   the authorize endpoint: the code without consent, only with a
 *       consent that covers the scopes, or with a new grant (remembered as a
 *       union) in the same transaction as the code.
 */
#include "check.h"
#include "db_test_util.h"
#include "common/db.h"
#include "common/migrate.h"
#include "store/store_run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USER_ID "6f0d5d2e-6a43-4d57-9d36-1c1f5f0c2a11"
#define SESSION_ID "0b7c43a1-7d1e-4c53-a0f1-4c1c02b0c0de"
#define HASH_A "\\xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static PGconn *db;

static void sql(const char *statement)
{
	if (!db_exec(db, statement, 0, NULL)) {
		fprintf(stderr, "setup failed: %s\n", statement);
		exit(1);
	}
}

/* The single value of a query, "(null)" for NULL, "(error)" on failure. */
static const char *value(const char *query)
{
	static char out[1024];
	PGresult *r = db_query(db, query, 0, NULL);

	if (!r || PQntuples(r) != 1)
		snprintf(out, sizeof(out), "(error)");
	else
		snprintf(out, sizeof(out), "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static long long number(const char *query)
{
	return atoll(value(query));
}

/* ---- clients ---- */

static int add(const char *id, const char *secret_hash, const char *redirects, const char *logouts, bool cc,
    bool is_public, bool skip_consent, int64_t *n)
{
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(id), secret_hash ? STORE_V_TEXT(secret_hash) : STORE_V_NULL,
		STORE_V_TEXT("App"), STORE_V_TEXT(redirects), STORE_V_TEXT(logouts), STORE_V_BOOL(cc),
		STORE_V_BOOL(is_public), STORE_V_BOOL(skip_consent), STORE_V_TEXT("ES256") };
	int status = store_exec(db, STORE_OP_CLIENT_ADD, args, 9, &r);
	*n = status == STORE_OK ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return status;
}

static void test_add_and_find(void)
{
	struct store_reply r;
	int64_t n;

	CHECK_EQ_INT(add("conf", HASH_A, "https://a.example/cb https://b.example/cb?x=1", "", true, false, false, &n),
	    STORE_OK);
	CHECK_EQ_INT(n, 1);
	/* The id is taken: nothing changes. */
	CHECK_EQ_INT(add("conf", NULL, "https://c.example/cb", "", false, true, true, &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_STR(value("SELECT redirect_uris::text FROM oauth_clients WHERE client_id = 'conf'"),
	    "{https://a.example/cb,https://b.example/cb?x=1}");
	CHECK_EQ_INT(add("pub", NULL, "com.example.app:/cb", "https://pub.example/bye", false, true, true, &n), STORE_OK);
	CHECK_EQ_INT(n, 1);

	const struct store_value conf[] = { STORE_V_TEXT("conf") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_FIND, conf, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_NAME), "App");
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_SECRET_HEX), &HASH_A[2]);
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_POST_LOGOUT_URIS), "{}");
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_GRANT_TYPES), "{authorization_code,refresh_token,client_credentials}");
	CHECK(!store_bool(&r, 0, CLIENT_PUBLIC));
	CHECK(store_bool(&r, 0, CLIENT_REQUIRE_PKCE));
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_ID_TOKEN_ALG), "ES256");
	store_reply_free(&r);

	const struct store_value pub[] = { STORE_V_TEXT("pub") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_FIND, pub, 1, &r), STORE_OK);
	CHECK(store_is_null(&r, 0, CLIENT_SECRET_HEX));
	CHECK(store_bool(&r, 0, CLIENT_PUBLIC));
	CHECK(store_bool(&r, 0, CLIENT_SKIP_CONSENT));
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_POST_LOGOUT_URIS), "{https://pub.example/bye}");
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_GRANT_TYPES), "{authorization_code,refresh_token}");
	store_reply_free(&r);

	const struct store_value none[] = { STORE_V_TEXT("nobody") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_FIND, none, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);

	/* Checked like a worker's request: a missing secret must be NULL, not an int. */
	const struct store_value wrong[] = { STORE_V_TEXT("x"), STORE_V_INT(1), STORE_V_TEXT("n"), STORE_V_TEXT("u"),
		STORE_V_TEXT(""), STORE_V_BOOL(0), STORE_V_BOOL(0), STORE_V_BOOL(0), STORE_V_TEXT("RS256") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_ADD, wrong, 9, &r), STORE_REFUSED);
	store_reply_free(&r);
}

static void test_list(void)
{
	struct store_reply r;
	int64_t n;

	add("zeta", HASH_A, "https://z.example/cb", "", false, false, false, &n);
	/* conf, pub, zeta: pages of two. */
	const struct store_value first[] = { STORE_V_NULL, STORE_V_INT(2) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_LIST, first, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 2);
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_SUMMARY_ID), "conf");
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_SUMMARY_REDIRECT_URIS), "https://a.example/cb https://b.example/cb?x=1");
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_SUMMARY_GRANT_TYPES), "authorization_code,refresh_token,client_credentials");
	CHECK(!store_bool(&r, 0, CLIENT_SUMMARY_PUBLIC));
	CHECK_EQ_STR(store_text(&r, 1, CLIENT_SUMMARY_ID), "pub");
	CHECK(store_bool(&r, 1, CLIENT_SUMMARY_PUBLIC));
	CHECK(store_bool(&r, 1, CLIENT_SUMMARY_SKIP_CONSENT));
	store_reply_free(&r);
	const struct store_value next[] = { STORE_V_TEXT("pub"), STORE_V_INT(2) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_LIST, next, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, CLIENT_SUMMARY_ID), "zeta");
	store_reply_free(&r);
	const struct store_value end[] = { STORE_V_TEXT("zeta"), STORE_V_INT(2) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CLIENT_LIST, end, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
}

static int remove_client(const char *id, int64_t *n)
{
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(id) };
	int status = store_exec(db, STORE_OP_CLIENT_REMOVE, args, 1, &r);
	*n = status == STORE_OK ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return status;
}

/* Grants for conf (removed below) and for a configuration client "cfg"
 * (no row in oauth_clients), which must survive. */
static void grant_tokens(void)
{
	sql("INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at) VALUES"
	    " ('\\x01', gen_random_uuid(), 'conf', '" USER_ID "', 'openid', now() + interval '1 day'),"
	    " ('\\x02', gen_random_uuid(), 'cfg', '" USER_ID "', 'openid', now() + interval '1 day')");
	sql("INSERT INTO oauth_access_tokens (jti, client_id, user_id, expires_at) VALUES"
	    " ('jti-conf-1', 'conf', '" USER_ID "', now() + interval '1 hour'),"
	    " ('jti-conf-cc', 'conf', NULL, now() + interval '1 hour'),"
	    " ('jti-cfg', 'cfg', '" USER_ID "', now() + interval '1 hour')");
	sql("INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scope, auth_time, expires_at) VALUES"
	    " ('\\x03', 'conf', '" USER_ID "', 'https://a.example/cb', 'openid', now(), now() + interval '1 minute'),"
	    " ('\\x04', 'cfg', '" USER_ID "', 'https://a.example/cb', 'openid', now(), now() + interval '1 minute')");
}

static void test_remove(void)
{
	int64_t n;
	long long logged = number("SELECT count(*) FROM revocation_log");

	grant_tokens();
	/* A step that fails undoes the whole removal. */
	sql("CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
	    " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$");
	sql("CREATE TRIGGER test_refuse BEFORE DELETE ON oauth_codes FOR EACH ROW EXECUTE FUNCTION test_refuse()");
	CHECK_EQ_INT(remove_client("conf", &n), STORE_ERROR);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_clients WHERE client_id = 'conf'"), 1);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_refresh_tokens WHERE revoked_at IS NOT NULL"), 0);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_access_tokens WHERE revoked_at IS NOT NULL"), 0);
	CHECK_EQ_INT(number("SELECT count(*) FROM revocation_log"), logged);
	sql("DROP TRIGGER test_refuse ON oauth_codes");

	CHECK_EQ_INT(remove_client("conf", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_clients WHERE client_id = 'conf'"), 0);
	CHECK_EQ_STR(value("SELECT string_agg(client_id, ',' ORDER BY client_id) FROM oauth_refresh_tokens"
	                   " WHERE revoked_at IS NULL"), "cfg");
	CHECK_EQ_STR(value("SELECT string_agg(jti, ',' ORDER BY jti) FROM oauth_access_tokens WHERE revoked_at IS NULL"),
	    "jti-cfg");
	CHECK_EQ_STR(value("SELECT string_agg(client_id, ',') FROM oauth_codes"), "cfg");
	/* Each revoked access token reaches every instance (its trigger logs it), client_credentials ones too. */
	CHECK_EQ_INT(number("SELECT count(*) FROM revocation_log"), logged + 2);
	CHECK_EQ_INT(number("SELECT count(*) FROM revocation_log WHERE payload LIKE 'jti:%:jti-conf-cc'"), 1);

	/* Gone already; and a configuration client is no database client: its grants stay. */
	CHECK_EQ_INT(remove_client("conf", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(remove_client("cfg", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_access_tokens WHERE revoked_at IS NULL"), 1);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_codes"), 1);
}

/* ---- authorization codes and consent ---- */

static int issue(const char *hash, const char *client, const char *scope, const char *nonce, const char *consent,
    int64_t *n)
{
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(hash), STORE_V_TEXT(client), STORE_V_TEXT(USER_ID),
		STORE_V_TEXT(SESSION_ID), STORE_V_TEXT("https://a.example/cb"), STORE_V_TEXT(scope),
		nonce ? STORE_V_TEXT(nonce) : STORE_V_NULL, STORE_V_TEXT("challenge"), STORE_V_TEXT("S256"),
		STORE_V_INT(1700000000), STORE_V_TEXT("pwd"), STORE_V_INT(60), STORE_V_TEXT(consent) };
	int status = store_exec(db, STORE_OP_CODE_ISSUE, args, 13, &r);
	*n = status == STORE_OK ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return status;
}

#define HASH(c) "\\x" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define CODES(where) number("SELECT count(*) FROM oauth_codes WHERE " where)

static void test_codes(void)
{
	int64_t n;

	/* skip: stored as given; an empty nonce is not a missing one. */
	CHECK_EQ_INT(issue(HASH("10"), "app", "openid", "", "skip", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(value("SELECT nonce FROM oauth_codes WHERE code_hash = '" HASH("10") "'"), "");
	CHECK_EQ_INT(issue(HASH("11"), "app", "openid", NULL, "skip", &n), STORE_OK);
	CHECK_EQ_STR(value("SELECT nonce FROM oauth_codes WHERE code_hash = '" HASH("11") "'"), "(null)");
	CHECK_EQ_STR(value("SELECT concat_ws('|', user_id, session_id, redirect_uri, scope, code_challenge,"
	                   " code_challenge_method, extract(epoch FROM auth_time)::bigint, amr,"
	                   " expires_at BETWEEN now() + interval '59 s' AND now() + interval '61 s', used_at IS NULL)"
	                   " FROM oauth_codes WHERE code_hash = '" HASH("11") "'"),
	    USER_ID "|" SESSION_ID "|https://a.example/cb|openid|challenge|S256|1700000000|pwd|t|t");
	/* The same code twice: a conflict, not a second row. */
	CHECK_EQ_INT(issue(HASH("11"), "app", "openid", NULL, "skip", &n), STORE_CONFLICT);

	/* require: no consent yet, no code. */
	CHECK_EQ_INT(issue(HASH("20"), "app", "openid email", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(CODES("code_hash = '" HASH("20") "'"), 0);

	/* grant: the consent and the code. */
	CHECK_EQ_INT(issue(HASH("21"), "app", "openid email", "n", "grant", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(value("SELECT scope FROM oauth_consents WHERE client_id = 'app'"), "openid email");
	CHECK_EQ_INT(CODES("code_hash = '" HASH("21") "'"), 1);

	/* require: covered (a subset too), not covered (more scopes). */
	CHECK_EQ_INT(issue(HASH("22"), "app", "openid email", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(issue(HASH("23"), "app", "openid", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(issue(HASH("24"), "app", "openid profile", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(CODES("code_hash = '" HASH("24") "'"), 0);
	/* Another client is another consent. */
	CHECK_EQ_INT(issue(HASH("25"), "other", "openid", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);

	/* A later grant adds to the earlier one. */
	CHECK_EQ_INT(issue(HASH("26"), "app", "openid profile", "n", "grant", &n), STORE_OK);
	CHECK_EQ_STR(value("SELECT scope FROM oauth_consents WHERE client_id = 'app'"), "email openid profile");
	CHECK_EQ_INT(issue(HASH("27"), "app", "email profile", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 1);

	/* grant is all or nothing: a code that cannot be stored leaves no grant. */
	CHECK_EQ_INT(issue(HASH("21"), "third", "openid", "n", "grant", &n), STORE_CONFLICT);
	CHECK_EQ_INT(number("SELECT count(*) FROM oauth_consents WHERE client_id = 'third'"), 0);

	/* A stored scope the parser does not know spoils that grant (as before the store). */
	sql("INSERT INTO oauth_consents (user_id, client_id, scope) VALUES ('" USER_ID "', 'odd', 'openid sudo')");
	CHECK_EQ_INT(issue(HASH("28"), "odd", "openid", "n", "require", &n), STORE_OK);
	CHECK_EQ_INT(n, 0);

	/* Refused and failed. */
	CHECK_EQ_INT(issue(HASH("29"), "app", "openid", "n", "maybe", &n), STORE_REFUSED);
	CHECK_EQ_INT(CODES("code_hash = '" HASH("29") "'"), 0);
	struct store_reply r;
	const struct store_value bad_user[] = { STORE_V_TEXT(HASH("2a")), STORE_V_TEXT("app"), STORE_V_TEXT("not-a-uuid"),
		STORE_V_TEXT(SESSION_ID), STORE_V_TEXT("https://a.example/cb"), STORE_V_TEXT("openid"), STORE_V_NULL,
		STORE_V_NULL, STORE_V_NULL, STORE_V_INT(0), STORE_V_TEXT("pwd"), STORE_V_INT(60), STORE_V_TEXT("grant") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_CODE_ISSUE, bad_user, 13, &r), STORE_ERROR);
	store_reply_free(&r);
	CHECK_EQ_INT(CODES("code_hash = '" HASH("2a") "'"), 0);
	/* The connection is usable after each failure (no transaction left open). */
	CHECK_EQ_INT(PQtransactionStatus(db), PQTRANS_IDLE);
}

int main(void)
{
	struct test_db t;

	test_db_create(&t, "store_clients_test");
	db = t.db;
	sql("INSERT INTO users (id, email, email_normalized) VALUES ('" USER_ID "', 'a@example.com', 'a@example.com')");
	test_add_and_find();
	test_list();
	test_remove();
	test_codes();
	test_db_drop(&t);
	return CHECK_DONE();
}
