/* store/audit.c against a real PostgreSQL: an event stands or falls with
 * the change it describes (its failure fails the change; a rollback leaves
 * no row and no JSON line), the worker-recordable failures and their
 * refusals, the query's filters and cursor, the retention sweep. */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "common/config.h"
#include "common/log.h"
#include "store/audit.h"
#include "store/store_run.h"

#include <jansson.h>

static struct test_db test_db;
static PGconn *db;

static long long count(const char *sql)
{
	return atoll(test_db_scalar(db, "%s", sql));
}

/* Everything written to f since it was truncated, as a string (static). */
static const char *contents(FILE *f)
{
	static char buf[8192];
	size_t n;
	fflush(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

static void truncate_file(FILE *f)
{
	fflush(f);
	if (ftruncate(fileno(f), 0) != 0)
		abort();
	rewind(f);
}

static void lines_wait_for_commit(FILE *f)
{
	struct audit_event ev = { .event = "test_event", .method = "test", .detail = "{\"k\":\"v\"}" };

	truncate_file(f);
	CHECK(store_begin(db));
	CHECK(store_audit_record(db, &ev));
	CHECK_EQ_STR(contents(f), "");		/* not before the COMMIT */
	store_commit(db, false);		/* rolled back: no row, no line */
	CHECK_EQ_STR(contents(f), "");
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'test_event'"), 0);

	CHECK(store_begin(db));
	CHECK(store_audit_record(db, &ev));
	CHECK(store_commit(db, true));
	const char *line = contents(f);
	json_t *j = json_loads(line, 0, NULL);
	CHECK(j != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "event")), "test_event");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "detail"), "k")), "v");
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);	/* one line */
	json_decref(j);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'test_event'"), 1);

	/* outside a transaction: at once; anything but ASCII escaped */
	truncate_file(f);
	char detail[128];
	ev.detail = audit_detail(detail, sizeof(detail), "name", "\xe2\x80\xae" "evil\x7f\n\"", NULL);
	CHECK(store_audit_record(db, &ev));
	line = contents(f);
	CHECK(strstr(line, "\\u202E") != NULL);	/* jansson writes upper-case hex */
	CHECK(strstr(line, "\\u007f") != NULL);
	for (const char *p = line; *p; p++)
		CHECK(*p == '\n' ? p[1] == '\0' : (*p >= 0x20 && *p < 0x7f));
}

/* The change and its event commit together: a refused audit row fails the
 * password change, which leaves the old password. */
static void event_failure_fails_the_change(void)
{
	struct store_reply r;
	const struct store_value up[] = { STORE_V_TEXT("a@example.com"), STORE_V_TEXT("a@example.com"),
		STORE_V_TEXT("A"), STORE_V_TEXT("$argon2id$old"), STORE_V_BOOL(false) };
	char user[40];

	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_SIGN_UP, up, 5, &r), STORE_OK);
	snprintf(user, sizeof(user), "%s", store_text(&r, 0, NEW_USER_ID));
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'sign_up' AND method = 'password'"), 1);

	test_db_exec(db, "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	                 " IF NEW.event = 'password_change' THEN RAISE EXCEPTION 'refused by the test'; END IF;"
	                 " RETURN NEW; END $$;"
	                 "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()");
	const struct store_value change[] = { STORE_V_TEXT(user), STORE_V_TEXT("$argon2id$new"), STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_PASSWORD_CHANGE, change, 3, &r), STORE_ERROR);
	store_reply_free(&r);
	CHECK_EQ_STR(test_db_scalar(db, "SELECT password_hash FROM users WHERE id = '%s'", user), "$argon2id$old");
	test_db_exec(db, "DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()");
	CHECK_EQ_INT(store_exec(db, STORE_OP_USER_PASSWORD_CHANGE, change, 3, &r), STORE_OK);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'password_change'"), 1);
}

static int failure(const char *event, const char *result, const char *detail)
{
	struct store_reply r;
	const struct store_value args[] = { STORE_V_TEXT(event), STORE_V_TEXT(result), STORE_V_TEXT("password"),
		STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, detail ? STORE_V_TEXT(detail) : STORE_V_NULL };
	int status = store_exec(db, STORE_OP_AUDIT_FAILURE, args, 7, &r);
	store_reply_free(&r);
	return status;
}

static void worker_failures(void)
{
	long long before = count("SELECT count(*) FROM audit_log");

	CHECK_EQ_INT(failure("sign_in", "failure", "{\"reason\":\"wrong_password\"}"), STORE_OK);
	CHECK_EQ_INT(failure("sign_in", "success", NULL), STORE_REFUSED);	/* a worker cannot claim a success */
	CHECK_EQ_INT(failure("sign_in", "failure", "[1]"), STORE_REFUSED);	/* detail: an object */
	CHECK_EQ_INT(failure("sign_in", "failure", "{\"a\":1,\"a\":2}"), STORE_REFUSED);
	CHECK_EQ_INT(failure("sign_in", "failure", "{"), STORE_REFUSED);
	CHECK_EQ_INT(failure("Sign In; DROP", "failure", NULL), STORE_ERROR);	/* the table's CHECK */
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log"), before + 1);
	CHECK_EQ_STR(test_db_scalar(db, "SELECT method FROM audit_log WHERE event = 'sign_in'"), "password");
}

static void query(void)
{
	struct store_reply r;
	long long total = count("SELECT count(*) FROM audit_log"), seen = 0;
	int64_t cursor = 0, last = INT64_MAX;

	do {
		const struct store_value args[] = { STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_NULL,
			STORE_V_INT(2), cursor ? STORE_V_INT(cursor) : STORE_V_NULL };
		CHECK_EQ_INT(store_exec(db, STORE_OP_AUDIT_QUERY, args, 7, &r), STORE_OK);
		for (unsigned i = 0; i < r.n_rows; i++) {
			CHECK(store_int(&r, i, AUDIT_ENTRY_ID) < last);	/* newest first, no repeats */
			last = store_int(&r, i, AUDIT_ENTRY_ID);
		}
		seen += r.n_rows;
		cursor = r.n_rows ? store_int(&r, r.n_rows - 1, AUDIT_ENTRY_ID) : 0;
		bool more = r.n_rows == 2;
		store_reply_free(&r);
		if (!more)
			break;
	} while (seen <= total);
	CHECK_EQ_INT(seen, total);

	const struct store_value by_event[] = { STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_NULL,
		STORE_V_TEXT("sign_up"), STORE_V_INT(100), STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_AUDIT_QUERY, by_event, 7, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, AUDIT_ENTRY_EVENT), "sign_up");
	CHECK_EQ_STR(store_text(&r, 0, AUDIT_ENTRY_METHOD), "password");
	store_reply_free(&r);
	/* an actor that is not a uuid is a client id: no error */
	const struct store_value by_client[] = { STORE_V_NULL, STORE_V_NULL, STORE_V_TEXT("not-a-uuid"), STORE_V_NULL,
		STORE_V_NULL, STORE_V_INT(100), STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_AUDIT_QUERY, by_client, 7, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
}

/* Who the event names: the CLI (no context), a browser's own act, an admin's. */
static void actors(void)
{
	struct store_request cli = { 0 }, own = { .ctx = { .client_ip = "192.0.2.1", .user_agent = "ua" } },
			     admin = { .ctx = { .client_ip = "192.0.2.2", .actor_user_id = "admin-id" } };
	struct audit_event e = audit_event_for(&cli, "x", NULL, "user-id");
	CHECK_EQ_STR(e.method, "cli");
	CHECK_EQ_STR(e.actor_user_id, "user-id");
	CHECK(e.client_ip == NULL);
	e = audit_event_for(&own, "x", NULL, "user-id");
	CHECK(e.method == NULL);
	CHECK_EQ_STR(e.actor_user_id, "user-id");
	CHECK_EQ_STR(e.client_ip, "192.0.2.1");
	CHECK_EQ_STR(e.user_agent, "ua");
	e = audit_event_for(&admin, "x", NULL, "user-id");
	CHECK_EQ_STR(e.method, "admin");
	CHECK_EQ_STR(e.actor_user_id, "admin-id");
	e = audit_event_for(&admin, "x", "password", "user-id");
	CHECK_EQ_STR(e.method, "password");
}

static void sweep(void)
{
	test_db_exec(db, "INSERT INTO audit_log (event, at) SELECT 'old', now() - interval '10 days'"
	                 " FROM generate_series(1, 2345)");
	test_db_exec(db, "INSERT INTO audit_log (event, at) VALUES ('young', now() - interval '5 days')");
	long long others = count("SELECT count(*) FROM audit_log WHERE event NOT IN ('old', 'young')");
	CHECK_EQ_INT(store_audit_sweep(db, 0), 0);	/* 0: keep forever */
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'old'"), 2345);
	CHECK_EQ_INT(store_audit_sweep(db, 7), 2345);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'old'"), 0);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event = 'young'"), 1);
	CHECK_EQ_INT(count("SELECT count(*) FROM audit_log WHERE event NOT IN ('old', 'young')"), others);
	CHECK_EQ_INT(PQtransactionStatus(db), PQTRANS_IDLE);
	/* the setting was the sweep's transaction's only */
	PGresult *res = PQexec(db, "DELETE FROM audit_log WHERE event = 'young'");
	CHECK(PQresultStatus(res) == PGRES_FATAL_ERROR);
	PQclear(res);
}

int main(void)
{
	FILE *lines = tmpfile();

	log_init("test_store_audit", LOG_LEVEL_WARN);
	test_db_create(&test_db, "store_audit_test");
	db = test_db.db;
	cfg.audit_log_stdout = true;
	store_audit_lines_to(lines);
	lines_wait_for_commit(lines);
	event_failure_fails_the_change();
	worker_failures();
	query();
	actors();
	sweep();
	test_db_drop(&test_db);
	fclose(lines);
	return CHECK_DONE();
}
