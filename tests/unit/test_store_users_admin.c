/*
 * The account-administration operations of the store (store/users_admin.c,
 * what `dreamauth user ...` runs) through store_exec, against a real
 * PostgreSQL named by DREAMAUTH_TEST_DATABASE_URL: a fresh database per run,
 * migrated with the embedded migrations, dropped at the end.
 *
 * Checks results and their types, NULL handling (keep vs. set to ""), what
 * each change revokes and leaves alone, the "user:<id>" revocation-log row
 * and its NOTIFY, that a failure anywhere in a disable or a password reset
 * changes nothing (one transaction), listing in pages, typed-argument
 * refusals, and that the store actor refuses all of these (a worker's
 * request) while the CLI may run them.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "common/db.h"
#include "common/migrate.h"
#include "store/store_run.h"

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEEWAY 60

static bool __attribute__((format(printf, 2, 3))) sql_ok(PGconn *db, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return db_exec(db, sql, 0, NULL);
}

/* The first cell of a one-row query, "(error)" when there is none. */
static const char *__attribute__((format(printf, 2, 3))) cell(PGconn *db, const char *fmt, ...)
{
	static char out[512];
	char sql[2048];
	PGresult *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = db_query(db, sql, 0, NULL);
	snprintf(out, sizeof(out), "%s", r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(error)");
	PQclear(r);
	return out;
}

/* Everything an operation may touch, to prove a refused or failed one changed nothing. */
static char *fingerprint(PGconn *db)
{
	return strdup(cell(db,
	    "SELECT md5(coalesce((SELECT string_agg(id || email || name || coalesce(password_hash, '') || is_admin"
	    " || disabled || array_to_string(groups, ',') || updated_at, '|' ORDER BY id) FROM users), '')"
	    " || coalesce((SELECT string_agg(id || coalesce(revoked_at::text, '-'), '|' ORDER BY id) FROM sessions), '')"
	    " || coalesce((SELECT string_agg(encode(token_hash, 'hex') || coalesce(revoked_at::text, '-'), '|'"
	    "   ORDER BY token_hash) FROM oauth_refresh_tokens), '')"
	    " || coalesce((SELECT string_agg(jti || coalesce(revoked_at::text, '-'), '|' ORDER BY jti)"
	    "   FROM oauth_access_tokens), '')"
	    " || (SELECT count(*) FROM revocation_log))"));
}

static bool same_as(PGconn *db, char *before)
{
	char *now = fingerprint(db);
	bool same = strcmp(now, before) == 0;
	free(now);
	free(before);
	return same;
}

/* Adds a user through the store; its id (static), "" on failure. */
static const char *add_user(PGconn *db, const char *email, const char *normalized, bool admin, const char *groups)
{
	static char id[64];
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(email), STORE_V_TEXT(normalized), STORE_V_TEXT("A Name"),
		STORE_V_TEXT("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA"), STORE_V_BOOL(admin),
		groups ? STORE_V_TEXT(groups) : STORE_V_NULL };

	id[0] = '\0';
	if (store_exec(db, STORE_OP_USER_ADMIN_ADD, args, 6, &r) == STORE_OK && r.n_rows == 1)
		snprintf(id, sizeof(id), "%s", store_text(&r, 0, ADMIN_USER_ID));
	store_reply_free(&r);
	return id;
}

static void test_add(PGconn *db)
{
	struct store_reply r;
	const char *id = add_user(db, "Ann@Example.com", "ann@example.com", true, "a,b");

	CHECK_EQ_INT(strlen(id), 36);
	CHECK_EQ_STR(cell(db, "SELECT email || ' ' || name || ' ' || is_admin || ' ' || array_to_string(groups, '+')"
	                      " FROM users WHERE id = '%s'", id),
	    "Ann@Example.com A Name true a+b");
	/* Groups NULL or "": none. */
	id = add_user(db, "bob@example.com", "bob@example.com", false, NULL);
	CHECK_EQ_STR(cell(db, "SELECT groups = '{}' AND NOT is_admin FROM users WHERE id = '%s'", id), "t");
	id = add_user(db, "cat@example.com", "cat@example.com", false, "");
	CHECK_EQ_STR(cell(db, "SELECT groups = '{}' FROM users WHERE id = '%s'", id), "t");

	/* A taken (normalized) email: OK and no row, the first user unchanged. */
	char *before = fingerprint(db);
	const struct store_value dup[] = { STORE_V_TEXT("ANN@example.com"), STORE_V_TEXT("ann@example.com"),
		STORE_V_TEXT("Other"), STORE_V_TEXT("x"), STORE_V_BOOL(false), STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_ADD, dup, 6, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK(same_as(db, before));
	/* Adding logs nothing: no instance has anything of the user cached. */
	CHECK_EQ_STR(cell(db, "SELECT count(*) FROM revocation_log"), "0");
}

static void test_refused_arguments(PGconn *db)
{
	struct store_reply r;
	char *before = fingerprint(db);
	const struct store_value null_email[] = { STORE_V_NULL, STORE_V_TEXT("z@example.com"), STORE_V_TEXT(""),
		STORE_V_TEXT("x"), STORE_V_BOOL(false), STORE_V_NULL };
	const struct store_value int_for_text[] = { STORE_V_INT(1), STORE_V_INT(LEEWAY) };
	const struct store_value one[] = { STORE_V_TEXT("ann@example.com") };
	const struct store_value text_for_bool[] = { STORE_V_TEXT("ann@example.com"), STORE_V_TEXT("true"),
		STORE_V_NULL, STORE_V_NULL };

	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_ADD, null_email, 6, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, int_for_text, 2, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, one, 1, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_SET, text_for_bool, 4, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK(same_as(db, before));
}

/* For user id: sessions live, revoked, expired; refresh tokens live, spent,
 * expired; access tokens live, within the leeway, past it. tag keeps the
 * keys of different users apart. */
static void give_credentials(PGconn *db, const char *id, int tag)
{
	CHECK(sql_ok(db,
	    "INSERT INTO sessions (token_hash, user_id, expires_at, auth_time, revoked_at) VALUES"
	    " (decode(repeat('%02x', 31) || '01', 'hex'), '%s', now() + interval '1 day', now(), NULL),"
	    " (decode(repeat('%02x', 31) || '02', 'hex'), '%s', now() + interval '1 day', now(), now() - interval '1 hour'),"
	    " (decode(repeat('%02x', 31) || '03', 'hex'), '%s', now() - interval '1 minute', now() - interval '1 day', NULL)",
	    tag, id, tag, id, tag, id));
	CHECK(sql_ok(db,
	    "INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at, used_at) VALUES"
	    " (decode(repeat('%02x', 31) || '11', 'hex'), gen_random_uuid(), 'app', '%s', 'openid', now() + interval '1 day', NULL),"
	    " (decode(repeat('%02x', 31) || '12', 'hex'), gen_random_uuid(), 'app', '%s', 'openid', now() + interval '1 day', now()),"
	    " (decode(repeat('%02x', 31) || '13', 'hex'), gen_random_uuid(), 'app', '%s', 'openid', now() - interval '1 minute', NULL)",
	    tag, id, tag, id, tag, id));
	CHECK(sql_ok(db,
	    "INSERT INTO oauth_access_tokens (jti, client_id, user_id, scope, expires_at) VALUES"
	    " ('live-%d', 'app', '%s', 'openid', now() + interval '5 minutes'),"
	    " ('leeway-%d', 'app', '%s', 'openid', now() - interval '30 seconds'),"
	    " ('old-%d', 'app', '%s', 'openid', now() - interval '1 hour')",
	    tag, id, tag, id, tag, id));
}

static const char *live_credentials(PGconn *db, const char *id)
{
	return cell(db,
	    "SELECT (SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NULL) || ','"
	    " || (SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = '%s' AND revoked_at IS NULL) || ','"
	    " || (SELECT count(*) FROM oauth_access_tokens WHERE user_id = '%s' AND revoked_at IS NULL)",
	    id, id, id);
}

static long long log_rows(PGconn *db, const char *payload)
{
	return atoll(cell(db, "SELECT count(*) FROM revocation_log WHERE payload = '%s'", payload));
}

static bool heard(PGconn *listener, const char *payload_suffix)
{
	struct pollfd p = { .fd = PQsocket(listener), .events = POLLIN };
	bool found = false;
	PGnotify *n;

	for (int tries = 0; tries < 20 && !found; tries++) {
		PQconsumeInput(listener);
		while ((n = PQnotifies(listener))) {
			const char *space = strchr(n->extra, ' ');
			if (space && space != n->extra && strcmp(space + 1, payload_suffix) == 0)
				found = true;
			PQfreemem(n);
		}
		if (!found)
			poll(&p, 1, 50);
	}
	return found;
}

static void drain(PGconn *listener)
{
	PGnotify *n;
	PQconsumeInput(listener);
	while ((n = PQnotifies(listener)))
		PQfreemem(n);
}

static void test_disable_enable(PGconn *db, PGconn *listener)
{
	struct store_reply r;
	const char *id_tmp = add_user(db, "dan@example.com", "dan@example.com", false, "x");
	char id[64], other[64], payload[80];

	snprintf(id, sizeof(id), "%s", id_tmp);
	snprintf(other, sizeof(other), "%s", add_user(db, "eve@example.com", "eve@example.com", false, NULL));
	snprintf(payload, sizeof(payload), "user:%s", id);
	give_credentials(db, id, 0xd1);
	give_credentials(db, other, 0xe1);
	CHECK_EQ_STR(live_credentials(db, id), "2,3,3");

	/* The log row (or the revocation) failing rolls the whole disable back. */
	CHECK(sql_ok(db, "CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS"
	                 " $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$"));
	CHECK(sql_ok(db, "CREATE TRIGGER refuse_user_log BEFORE INSERT ON revocation_log FOR EACH ROW"
	                 " WHEN (NEW.payload LIKE 'user:%%') EXECUTE FUNCTION refuse_log()"));
	char *before = fingerprint(db);
	const struct store_value args[] = { STORE_V_TEXT("dan@example.com"), STORE_V_INT(LEEWAY) };
	drain(listener);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, args, 2, &r), STORE_ERROR);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK(same_as(db, before));
	CHECK_EQ_INT(PQtransactionStatus(db), PQTRANS_IDLE);
	CHECK(!heard(listener, payload));
	CHECK(sql_ok(db, "DROP TRIGGER refuse_user_log ON revocation_log"));
	CHECK(sql_ok(db, "DROP FUNCTION refuse_log()"));

	/* Sessions live (1 of 3), refresh tokens live and unused (1 of 3),
	 * access tokens still verifying (2 of 3: one within the leeway). */
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, args, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_REVOKED_ID), id);
	CHECK(store_bool(&r, 0, ADMIN_USER_REVOKED_DISABLED));
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS), 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS), 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS), 2);
	store_reply_free(&r);
	CHECK_EQ_STR(cell(db, "SELECT disabled FROM users WHERE id = '%s'", id), "t");
	CHECK_EQ_STR(live_credentials(db, id), "1,2,1");	/* the expired, the spent, the long-expired: left */
	CHECK_EQ_STR(live_credentials(db, other), "2,3,3");
	CHECK_EQ_STR(cell(db, "SELECT revoked_at IS NULL FROM oauth_refresh_tokens"
	                      " WHERE token_hash = decode(repeat('d1', 31) || '12', 'hex')"), "t");
	CHECK_EQ_STR(cell(db, "SELECT revoked_at IS NULL FROM oauth_access_tokens WHERE jti = 'old-%d'", 0xd1), "t");
	/* Logged once, heard as "<seq> user:<id>"; each revoked jti logged by its trigger. */
	CHECK_EQ_INT(log_rows(db, payload), 1);
	CHECK(heard(listener, payload));
	CHECK_EQ_STR(cell(db, "SELECT count(*) FROM revocation_log WHERE payload LIKE 'jti:%%:live-%d'"
	                      " OR payload LIKE 'jti:%%:leeway-%d'", 0xd1, 0xd1), "2");

	/* Again: nothing left to revoke, still logged (cached copies go). */
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, args, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS) + store_int(&r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS) +
	        store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS), 0);
	store_reply_free(&r);
	CHECK_EQ_INT(log_rows(db, payload), 2);

	/* No such user: no row, nothing changed, nothing logged. */
	before = fingerprint(db);
	const struct store_value ghost[] = { STORE_V_TEXT("ghost@example.com"), STORE_V_INT(LEEWAY) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_DISABLE, ghost, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_ENABLE, ghost, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK(same_as(db, before));

	/* Enabling revives no session or token and logs nothing. */
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_ENABLE, args, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_ID), id);
	store_reply_free(&r);
	CHECK_EQ_STR(cell(db, "SELECT disabled FROM users WHERE id = '%s'", id), "f");
	CHECK_EQ_STR(live_credentials(db, id), "1,2,1");
	CHECK_EQ_INT(log_rows(db, payload), 2);
}

static void test_passwd(PGconn *db, PGconn *listener)
{
	struct store_reply r;
	char id[64], payload[80];
	const char *new_hash = "$argon2id$v=19$m=8192,t=1,p=1$bmV3$bmV3aGFzaA";

	snprintf(id, sizeof(id), "%s", add_user(db, "fay@example.com", "fay@example.com", false, NULL));
	snprintf(payload, sizeof(payload), "user:%s", id);
	give_credentials(db, id, 0xf1);

	/* A failure in the middle (the access-token revocation) keeps the old hash. */
	CHECK(sql_ok(db, "CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS"
	                 " $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$"));
	CHECK(sql_ok(db, "CREATE TRIGGER refuse_access_update BEFORE UPDATE ON oauth_access_tokens FOR EACH ROW"
	                 " EXECUTE FUNCTION refuse_update()"));
	char *before = fingerprint(db);
	const struct store_value args[] = { STORE_V_TEXT("fay@example.com"), STORE_V_TEXT(new_hash), STORE_V_INT(LEEWAY) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_PASSWD, args, 3, &r), STORE_ERROR);
	store_reply_free(&r);
	CHECK(same_as(db, before));
	CHECK(sql_ok(db, "DROP TRIGGER refuse_access_update ON oauth_access_tokens"));
	CHECK(sql_ok(db, "DROP FUNCTION refuse_update()"));

	drain(listener);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_PASSWD, args, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_REVOKED_ID), id);
	CHECK(!store_bool(&r, 0, ADMIN_USER_REVOKED_DISABLED));
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_SESSIONS), 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS), 1);
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS), 2);
	store_reply_free(&r);
	CHECK_EQ_STR(cell(db, "SELECT password_hash FROM users WHERE id = '%s'", id), new_hash);
	CHECK_EQ_INT(log_rows(db, payload), 1);
	CHECK(heard(listener, payload));

	/* A disabled user's password can be reset; the flag is reported, unchanged. */
	CHECK(sql_ok(db, "UPDATE users SET disabled = true WHERE id = '%s'", id));
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_PASSWD, args, 3, &r), STORE_OK);
	CHECK(store_bool(&r, 0, ADMIN_USER_REVOKED_DISABLED));
	store_reply_free(&r);
	CHECK_EQ_STR(cell(db, "SELECT disabled FROM users WHERE id = '%s'", id), "t");

	const struct store_value ghost[] = { STORE_V_TEXT("ghost@example.com"), STORE_V_TEXT(new_hash), STORE_V_INT(LEEWAY) };
	before = fingerprint(db);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_PASSWD, ghost, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK(same_as(db, before));
}

static void test_set(PGconn *db, PGconn *listener)
{
	struct store_reply r;
	char id[64], payload[80];

	snprintf(id, sizeof(id), "%s", add_user(db, "gus@example.com", "gus@example.com", false, "a,b"));
	snprintf(payload, sizeof(payload), "user:%s", id);
	give_credentials(db, id, 0x91);
	char *sessions = strdup(live_credentials(db, id));

	/* Groups only: the rest kept. */
	const struct store_value groups[] = { STORE_V_TEXT("gus@example.com"), STORE_V_NULL, STORE_V_NULL,
		STORE_V_TEXT("ops,dev") };
	drain(listener);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_SET, groups, 4, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_ID), id);
	CHECK(!store_bool(&r, 0, ADMIN_USER_PROFILE_IS_ADMIN));
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_NAME), "A Name");
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_GROUPS), "ops,dev");
	store_reply_free(&r);
	CHECK_EQ_INT(log_rows(db, payload), 1);
	CHECK(heard(listener, payload));

	/* Admin and name; "" is a name, not "keep". */
	const struct store_value admin[] = { STORE_V_TEXT("gus@example.com"), STORE_V_BOOL(true), STORE_V_TEXT(""),
		STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_SET, admin, 4, &r), STORE_OK);
	CHECK(store_bool(&r, 0, ADMIN_USER_PROFILE_IS_ADMIN));
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_NAME), "");
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_GROUPS), "ops,dev");
	store_reply_free(&r);

	/* Groups "" removes them all; admin revoked; UTF-8 name. */
	const struct store_value clear[] = { STORE_V_TEXT("gus@example.com"), STORE_V_BOOL(false),
		STORE_V_TEXT("Renamed \xc3\x9c"), STORE_V_TEXT("") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_SET, clear, 4, &r), STORE_OK);
	CHECK(!store_bool(&r, 0, ADMIN_USER_PROFILE_IS_ADMIN));
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_NAME), "Renamed \xc3\x9c");
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_PROFILE_GROUPS), "");
	store_reply_free(&r);
	CHECK_EQ_STR(cell(db, "SELECT groups = '{}' FROM users WHERE id = '%s'", id), "t");
	CHECK_EQ_INT(log_rows(db, payload), 3);
	/* Sessions and tokens stay valid. */
	CHECK_EQ_STR(live_credentials(db, id), sessions);
	free(sessions);

	const struct store_value ghost[] = { STORE_V_TEXT("ghost@example.com"), STORE_V_BOOL(true), STORE_V_NULL,
		STORE_V_NULL };
	char *before = fingerprint(db);
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_SET, ghost, 4, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	CHECK(same_as(db, before));
}

/* All pages with limit per page, concatenated as "email_normalized," in order. */
static char *list_all(PGconn *db, int limit, int *pages)
{
	char *out = calloc(1, 16384), key[64] = "", after[300] = "";
	struct store_reply r;
	bool more = true;

	*pages = 0;
	while (more && out) {
		const struct store_value args[] = { key[0] ? STORE_V_TEXT(key) : STORE_V_NULL,
			key[0] ? STORE_V_TEXT(after) : STORE_V_NULL, STORE_V_INT(limit) };
		if (store_exec(db, STORE_OP_USER_ADMIN_LIST, args, 3, &r) != STORE_OK || ++*pages > 100) {
			free(out);
			return NULL;
		}
		for (unsigned i = 0; i < r.n_rows; i++) {
			strcat(out, store_text(&r, i, ADMIN_USER_ROW_EMAIL_NORMALIZED));
			strcat(out, ",");
		}
		more = r.n_rows == (unsigned)(limit < 1 ? 1 : limit);
		if (r.n_rows) {
			snprintf(key, sizeof(key), "%s", store_text(&r, r.n_rows - 1, ADMIN_USER_ROW_PAGE_KEY));
			snprintf(after, sizeof(after), "%s", store_text(&r, r.n_rows - 1, ADMIN_USER_ROW_EMAIL_NORMALIZED));
		}
		store_reply_free(&r);
	}
	return out;
}

static void test_list(PGconn *db)
{
	struct store_reply r;
	int pages;
	char *all, *paged;

	/* Same created_at to the microsecond (ordered by email then), and
	 * microseconds apart: the page key must keep both apart exactly. */
	CHECK(sql_ok(db, "INSERT INTO users (email, email_normalized, name, created_at) SELECT"
	                 " 'Tie' || i || '@example.com', 'tie' || i || '@example.com', 'Tie', '2001-02-03 04:05:06.5+00'"
	                 " FROM generate_series(1, 5) i"));
	CHECK(sql_ok(db, "INSERT INTO users (email, email_normalized, created_at) SELECT"
	                 " 'us' || i || '@example.com', 'us' || i || '@example.com',"
	                 " '2001-02-03 04:05:06.5+00'::timestamptz + i * interval '1 microsecond'"
	                 " FROM generate_series(1, 3) i"));
	all = list_all(db, 100, &pages);
	CHECK(all != NULL);
	CHECK_EQ_INT(pages, 1);
	CHECK_EQ_STR(cell(db, "SELECT string_agg(email_normalized, ',' ORDER BY created_at, email_normalized) || ','"
	                      " FROM users"), all ? all : "");
	for (int limit = 1; limit <= 4; limit++) {
		paged = list_all(db, limit, &pages);
		CHECK_EQ_STR(paged, all ? all : "");
		free(paged);
	}
	paged = list_all(db, 0, &pages);	/* clamped to 1 */
	CHECK_EQ_STR(paged, all ? all : "");
	free(paged);
	free(all);

	/* The columns: types, display time (UTC seconds), the first page. */
	const struct store_value first[] = { STORE_V_NULL, STORE_V_NULL, STORE_V_INT(2) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_LIST, first, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 2);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_ROW_EMAIL), "Tie1@example.com");
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_ROW_NAME), "Tie");
	CHECK(!store_bool(&r, 0, ADMIN_USER_ROW_IS_ADMIN));
	CHECK(!store_bool(&r, 0, ADMIN_USER_ROW_DISABLED));
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_ROW_GROUPS), "");
	CHECK_EQ_INT(store_int(&r, 0, ADMIN_USER_ROW_CREATED_UNIX), 981173106);
	CHECK_EQ_STR(store_text(&r, 0, ADMIN_USER_ROW_PAGE_KEY), "2001-02-03T04:05:06.500000Z");
	CHECK_EQ_INT(strlen(store_text(&r, 0, ADMIN_USER_ROW_ID)), 36);
	store_reply_free(&r);
	/* More than a page can hold is never asked for. */
	const struct store_value huge[] = { STORE_V_NULL, STORE_V_NULL, STORE_V_INT(1000000) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_ADMIN_LIST, huge, 3, &r), STORE_OK);
	CHECK(r.n_rows <= 100);
	store_reply_free(&r);
}

/* Administration is for the CLI: the operation table marks it so, and the
 * store actor refuses such an operation from a worker before decoding its
 * arguments (store/store.c). */
static void test_refused_in_store_actor(PGconn *db)
{
	static const uint32_t admin_ops[] = { STORE_OP_USER_ADMIN_ADD, STORE_OP_USER_ADMIN_LIST,
		STORE_OP_USER_ADMIN_DISABLE, STORE_OP_USER_ADMIN_ENABLE, STORE_OP_USER_ADMIN_PASSWD,
		STORE_OP_USER_ADMIN_SET, STORE_OP_CLIENT_ADD, STORE_OP_CLIENT_LIST, STORE_OP_CLIENT_REMOVE };
	(void)db;
	for (size_t i = 0; i < sizeof(admin_ops) / sizeof(admin_ops[0]); i++)
		CHECK(store_op_spec(admin_ops[i])->cli_only);
	CHECK(!store_op_spec(STORE_OP_SESSION_LOAD)->cli_only);
	CHECK(!store_op_spec(STORE_OP_CLIENT_FIND)->cli_only);
}

int main(void)
{
	struct test_db t;
	PGconn *db, *listener;

	test_db_create(&t, "store_users_admin_test");
	db = t.db;
	listener = db_connect(t.url, 5000);
	CHECK(listener != NULL);
	if (listener && sql_ok(listener, "LISTEN dreamauth_revoke")) {
		test_add(db);
		test_refused_arguments(db);
		test_disable_enable(db, listener);
		test_passwd(db, listener);
		test_set(db, listener);
		test_list(db);
		test_refused_in_store_actor(db);
	} else {
		CHECK_EQ_STR("database set up", "failed");
	}
	PQfinish(listener);
	test_db_drop(&t);
	return CHECK_DONE();
}
