/*
 * store/mail_flows.c and store/outbox.c through store_exec against a real
 * PostgreSQL (DREAMAUTH_TEST_DATABASE_URL), in a database of its own; then
 * the store actor itself, forked as the master runs it, refusing the
 * mailer's operations from a worker's link and everything else from the
 * mailer's.
 *
 * Verification links (single use, expiry, bound to the address, ADMIN_EMAILS
 * only once verified), reset links (same count of statements for unknown
 * addresses, every session and token revoked, single use), emailed codes
 * (keyed hash at rest, attempts kill the code, expiry, sign-up only when
 * allowed), the outbox lease, backoff and giving up.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "tests/unit/actor_harness.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/secure.h"
#include "proc/actor_loop.h"
#include "proc/privdrop.h"
#include "proto/store_ops.h"
#include "store/mail_flows.h"
#include "store/store.h"
#include "store/store_run.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH "$argon2id$v=19$m=8192,t=1,p=1$b2xkc2FsdA$b2xkaGFzaA"
#define HASH_NEW "$argon2id$v=19$m=8192,t=1,p=1$bmV3c2FsdA$bmV3aGFzaA"
#define SECRET "store-mail-test-secret-0123456789abcdef"

static struct test_db test_db;
static PGconn *db;

static const char *scalar(const char *sql)
{
	return test_db_scalar(db, "%s", sql);
}

static long long count(const char *sql)
{
	return atoll(scalar(sql));
}

static int run(uint32_t op, const struct store_value *args, unsigned n, struct store_reply *r)
{
	return store_exec(db, op, args, n, r);
}

/* The token in the newest outbox message's link ("token=..."). */
static void last_token(char out[64])
{
	const char *body = scalar("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1");
	const char *t = strstr(body, "token=");
	size_t n = t ? strspn(t + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") : 0;
	snprintf(out, 64, "%.*s", (int)n, t ? t + 6 : "");
}

/* The code in the newest outbox message's subject ("123456 is your ... code"). */
static void last_code(char out[8])
{
	snprintf(out, 8, "%.6s", scalar("SELECT subject FROM outbox ORDER BY id DESC LIMIT 1"));
}

static const char *outcome(const struct store_reply *r)
{
	return r->status == STORE_OK && r->n_rows == 1 ? store_text(r, 0, MAIL_OUTCOME_RESULT) : "(none)";
}

static void sign_up_verify(const char *email, const char *normalized, char id[40])
{
	struct store_reply r;
	const struct store_value a[] = { STORE_V_TEXT(email), STORE_V_TEXT(normalized), STORE_V_TEXT(""),
		STORE_V_TEXT(HASH), STORE_V_BOOL(true), STORE_V_TEXT("/account?x=1") };
	CHECK_EQ_INT(run(STORE_OP_USER_SIGN_UP_VERIFY, a, 6, &r), STORE_OK);
	snprintf(id, 40, "%s", r.n_rows == 1 ? store_text(&r, 0, NEW_USER_ID) : "");
	store_reply_free(&r);
}

static void test_verification(void)
{
	struct store_reply r;
	char id[40], tok[64], hex[67];

	sign_up_verify("Boss@Example.com", "boss@example.com", id);
	CHECK(id[0]);
	/* is_admin passed true is ignored: ADMIN_EMAILS waits for the link */
	CHECK_EQ_STR(scalar("SELECT is_admin::text || email_verified::text FROM users WHERE email_normalized = 'boss@example.com'"),
	    "falsefalse");
	CHECK_EQ_INT(count("SELECT count(*) FROM outbox WHERE recipient = 'Boss@Example.com'"), 1);
	CHECK(strstr(scalar("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1"),
	    "http://localhost:3000/api/auth/verify-email?token=") != NULL);
	CHECK(strstr(scalar("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1"), "callbackURL=%2Faccount%3Fx%3D1"));
	CHECK(strstr(scalar("SELECT body_html FROM outbox ORDER BY id DESC LIMIT 1"), "Verify my email address"));
	last_token(tok);
	CHECK_EQ_INT(strlen(tok), 43);
	/* only the hash is stored */
	CHECK_EQ_INT(count("SELECT count(*) FROM email_tokens WHERE purpose = 'verify'"), 1);
	test_db_token_hash(tok, hex);
	CHECK_EQ_STR(scalar("SELECT '\\x' || encode(token_hash, 'hex') FROM email_tokens"), hex);

	/* a taken address: CONFLICT, no second mail */
	const struct store_value dup[] = { STORE_V_TEXT("boss@example.com"), STORE_V_TEXT("boss@example.com"),
		STORE_V_TEXT(""), STORE_V_TEXT(HASH), STORE_V_BOOL(false), STORE_V_NULL };
	CHECK_EQ_INT(run(STORE_OP_USER_SIGN_UP_VERIFY, dup, 6, &r), STORE_CONFLICT);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM outbox"), 1);

	/* wrong token, then the right one once, then used */
	char wrong[67];
	test_db_token_hash("not-the-token", wrong);
	const struct store_value w[] = { STORE_V_TEXT(wrong) }, ok[] = { STORE_V_TEXT(hex) };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFY, w, 1, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFY, ok, 1, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "verified");
	CHECK_EQ_STR(store_text(&r, 0, MAIL_OUTCOME_USER_ID), id);
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT is_admin::text || email_verified::text FROM users WHERE email_normalized = 'boss@example.com'"),
	    "truetrue");
	CHECK(count("SELECT count(*) FROM revocation_log WHERE payload LIKE 'user:%'") >= 1);
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFY, ok, 1, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "used");
	store_reply_free(&r);

	/* expired: a new link for an unverified account, its expiry passed */
	sign_up_verify("carol@example.com", "carol@example.com", id);
	last_token(tok);
	test_db_token_hash(tok, hex);
	test_db_exec(db, "UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
	const struct store_value e[] = { STORE_V_TEXT(hex) };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFY, e, 1, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "expired");
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT email_verified::text FROM users WHERE email_normalized = 'carol@example.com'"), "false");
	/* ask again: a new link; a verified address gets none */
	const struct store_value again[] = { STORE_V_TEXT("carol@example.com"), STORE_V_NULL };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFICATION_SEND, again, 2, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	const struct store_value verified[] = { STORE_V_TEXT("boss@example.com"), STORE_V_NULL };
	long long before = count("SELECT count(*) FROM outbox");
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFICATION_SEND, verified, 2, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM outbox"), before);
	/* a link sent to an old address does not verify a new one */
	last_token(tok);
	test_db_token_hash(tok, hex);
	test_db_exec(db, "UPDATE users SET email_normalized = 'carol2@example.com' WHERE email_normalized = 'carol@example.com'");
	const struct store_value moved[] = { STORE_V_TEXT(hex) };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_VERIFY, moved, 1, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
}

static void test_reset(void)
{
	struct store_reply r;
	char id[40], tok[64], hex[67];

	sign_up_verify("dan@example.com", "dan@example.com", id);
	char sql[400];
	snprintf(sql, sizeof(sql),
	    "INSERT INTO sessions (token_hash, user_id, expires_at, auth_time) VALUES"
	    " ('\\x01'::bytea, '%s', now() + interval '1 day', now()), ('\\x02'::bytea, '%s', now() + interval '1 day', now())",
	    id, id);
	test_db_exec(db, sql);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at)"
	    " VALUES ('\\x03'::bytea, gen_random_uuid(), 'app', '%s', 'openid', now() + interval '1 day')",
	    id);
	test_db_exec(db, sql);

	/* unknown address: no row, no mail, the same answer shape */
	long long mails = count("SELECT count(*) FROM outbox");
	const struct store_value unknown[] = { STORE_V_TEXT("nobody@example.com"), STORE_V_NULL };
	CHECK_EQ_INT(run(STORE_OP_PASSWORD_RESET_REQUEST, unknown, 2, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM outbox"), mails);
	const struct store_value known[] = { STORE_V_TEXT("dan@example.com"), STORE_V_TEXT("https://app.localhost:3000/reset?a=1") };
	CHECK_EQ_INT(run(STORE_OP_PASSWORD_RESET_REQUEST, known, 2, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK(strstr(scalar("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1"), "https://app.localhost:3000/reset?a=1&token="));
	last_token(tok);
	test_db_token_hash(tok, hex);
	const struct store_value reset[] = { STORE_V_TEXT(hex), STORE_V_TEXT(HASH_NEW), STORE_V_INT(60) };
	CHECK_EQ_INT(run(STORE_OP_PASSWORD_RESET, reset, 3, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "reset");
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT password_hash FROM users WHERE email_normalized = 'dan@example.com'"), HASH_NEW);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NULL", id);
	CHECK_EQ_INT(count(sql), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = '%s' AND revoked_at IS NULL", id);
	CHECK_EQ_INT(count(sql), 0);
	/* single use */
	const struct store_value reuse[] = { STORE_V_TEXT(hex), STORE_V_TEXT(HASH), STORE_V_INT(60) };
	CHECK_EQ_INT(run(STORE_OP_PASSWORD_RESET, reuse, 3, &r), STORE_OK);
	CHECK_EQ_STR(outcome(&r), "used");
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT password_hash FROM users WHERE email_normalized = 'dan@example.com'"), HASH_NEW);
}

static void otp_use(const char *email, const char *code, bool sign_up, struct store_reply *r)
{
	const struct store_value a[] = { STORE_V_TEXT(email), STORE_V_TEXT(email), STORE_V_TEXT("sign-in"),
		STORE_V_TEXT(code), STORE_V_BOOL(sign_up), STORE_V_NULL, STORE_V_INT(60) };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_OTP_USE, a, 7, r), STORE_OK);
}

static long long otp_send(const char *email, bool sign_up)
{
	struct store_reply r;
	const struct store_value a[] = { STORE_V_TEXT(email), STORE_V_TEXT("sign-in"), STORE_V_BOOL(sign_up) };
	CHECK_EQ_INT(run(STORE_OP_EMAIL_OTP_SEND, a, 3, &r), STORE_OK);
	long long n = r.n_rows == 1 ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return n;
}

static void test_otp(void)
{
	struct store_reply r;
	char code[8], wrong[8];

	/* unknown address, sign-up closed: no code, no mail */
	long long mails = count("SELECT count(*) FROM outbox");
	CHECK_EQ_INT(otp_send("eve@example.com", false), 0);
	CHECK_EQ_INT(count("SELECT count(*) FROM outbox"), mails);
	CHECK_EQ_INT(otp_send("eve@example.com", true), 1);
	last_code(code);
	CHECK_EQ_INT(strspn(code, "0123456789"), 6);
	/* at rest: a keyed hash, not SHA-256 of the code */
	char plain[67];
	test_db_token_hash(code, plain);
	CHECK_EQ_INT(count("SELECT count(*) FROM email_otps"), 1);
	CHECK(strcmp(scalar("SELECT '\\x' || encode(code_hash, 'hex') FROM email_otps"), plain) != 0);
	/* wrong codes: the third kills it, and then even the right one fails */
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
	otp_use("eve@example.com", wrong, true, &r);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
	otp_use("eve@example.com", wrong, true, &r);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
	otp_use("eve@example.com", wrong, true, &r);
	CHECK_EQ_STR(outcome(&r), "too_many_attempts");
	store_reply_free(&r);
	otp_use("eve@example.com", code, true, &r);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM users WHERE email_normalized = 'eve@example.com'"), 0);
	/* a new code; sign-up closed meanwhile: the code holds, no account made */
	CHECK_EQ_INT(otp_send("eve@example.com", true), 1);
	last_code(code);
	otp_use("eve@example.com", code, false, &r);
	CHECK_EQ_STR(outcome(&r), "invalid");
	store_reply_free(&r);
	CHECK_EQ_INT(otp_send("eve@example.com", true), 1);
	last_code(code);
	otp_use("eve@example.com", code, true, &r);
	CHECK_EQ_STR(outcome(&r), "signed_up");
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT email_verified::text FROM users WHERE email_normalized = 'eve@example.com'"), "true");
	otp_use("eve@example.com", code, true, &r);
	CHECK_EQ_STR(outcome(&r), "invalid");	/* single use */
	store_reply_free(&r);
	/* a second code supersedes the first */
	CHECK_EQ_INT(otp_send("eve@example.com", false), 1);
	char first[8];
	last_code(first);
	CHECK_EQ_INT(otp_send("eve@example.com", false), 1);
	last_code(code);
	if (strcmp(first, code) != 0) {
		otp_use("eve@example.com", first, false, &r);
		CHECK_EQ_STR(outcome(&r), "invalid");
		store_reply_free(&r);
	}
	/* expired */
	test_db_exec(db, "UPDATE email_otps SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
	otp_use("eve@example.com", code, false, &r);
	CHECK_EQ_STR(outcome(&r), "expired");
	store_reply_free(&r);
	/* existing account signs in */
	CHECK_EQ_INT(otp_send("eve@example.com", false), 1);
	last_code(code);
	otp_use("eve@example.com", code, false, &r);
	CHECK_EQ_STR(outcome(&r), "signed_in");
	store_reply_free(&r);
}

static void test_outbox(void)
{
	struct store_reply r;
	test_db_exec(db, "UPDATE outbox SET delivered_at = now()");
	test_db_exec(db, "INSERT INTO outbox (recipient, subject, body_text, body_html) VALUES ('a@b.c', 's', 't', 'h')");
	const char *id = scalar("SELECT id FROM outbox WHERE delivered_at IS NULL");
	long long oid = atoll(id);
	const struct store_value lease[] = { STORE_V_INT(60) };

	CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_INT(store_int(&r, 0, OUTBOX_MESSAGE_ID), oid);
	CHECK_EQ_INT(store_int(&r, 0, OUTBOX_MESSAGE_ATTEMPTS), 1);
	CHECK_EQ_STR(store_text(&r, 0, OUTBOX_MESSAGE_RECIPIENT), "a@b.c");
	store_reply_free(&r);
	/* leased: nobody else gets it */
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);
	/* failures back off (30 s, 60 s) and give up after SMTP_MAX_ATTEMPTS (3) */
	for (int attempt = 1; attempt <= 3; attempt++) {
		const struct store_value f[] = { STORE_V_INT(oid), STORE_V_TEXT("535 auth failed") };
		CHECK_EQ_INT(run(STORE_OP_OUTBOX_FAILED, f, 2, &r), STORE_OK);
		CHECK_EQ_INT(store_int(&r, 0, COUNT_N), attempt == 3 ? 1 : 0);
		store_reply_free(&r);
		if (attempt < 3) {
			long long wait = count("SELECT round(extract(epoch FROM next_attempt_at - now())) FROM outbox WHERE failed_at IS NULL AND delivered_at IS NULL");
			CHECK(wait >= 30 * (1 << (attempt - 1)) - 2 && wait <= 30 * (1 << (attempt - 1)));
			CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
			CHECK_EQ_INT(r.n_rows, 0);	/* not due yet */
			store_reply_free(&r);
			test_db_exec(db, "UPDATE outbox SET next_attempt_at = now() WHERE delivered_at IS NULL");
			CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
			CHECK_EQ_INT(r.n_rows, 1);
			store_reply_free(&r);
		}
	}
	CHECK_EQ_STR(scalar("SELECT last_error FROM outbox WHERE failed_at IS NOT NULL"), "535 auth failed");
	/* given up: the content (links, codes) erased */
	CHECK_EQ_STR(scalar("SELECT subject || body_text || body_html FROM outbox WHERE failed_at IS NOT NULL"), "");
	/* delivered once */
	test_db_exec(db, "INSERT INTO outbox (recipient, subject, body_text, body_html) VALUES ('x@y.z', 's', 't', 'h')");
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
	long long id2 = r.n_rows ? store_int(&r, 0, OUTBOX_MESSAGE_ID) : 0;
	store_reply_free(&r);
	const struct store_value d[] = { STORE_V_INT(id2) };
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_DELIVERED, d, 1, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_STR(scalar("SELECT subject || body_text || body_html || recipient FROM outbox WHERE recipient = 'x@y.z'"), "x@y.z");
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_DELIVERED, d, 1, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 0);
	store_reply_free(&r);
	/* a lease that ran out: due again (a mailer that died mid-delivery) */
	test_db_exec(db, "INSERT INTO outbox (recipient, subject, body_text, body_html) VALUES ('l@y.z', 's', 't', 'h')");
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
	store_reply_free(&r);
	test_db_exec(db, "UPDATE outbox SET locked_until = now() - interval '1 second' WHERE recipient = 'l@y.z'");
	CHECK_EQ_INT(run(STORE_OP_OUTBOX_CLAIM, lease, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_INT(r.n_rows ? store_int(&r, 0, OUTBOX_MESSAGE_ATTEMPTS) : 0, 2);
	store_reply_free(&r);
}

static void test_mail_off(void)
{
	struct store_reply r;
	char *host = cfg.smtp_host;
	long long users = count("SELECT count(*) FROM users");
	cfg.smtp_host = NULL;
	const struct store_value a[] = { STORE_V_TEXT("off@example.com"), STORE_V_TEXT("off@example.com"),
		STORE_V_TEXT(""), STORE_V_TEXT(HASH), STORE_V_BOOL(false), STORE_V_NULL };
	CHECK_EQ_INT(run(STORE_OP_USER_SIGN_UP_VERIFY, a, 6, &r), STORE_REFUSED);
	store_reply_free(&r);
	CHECK_EQ_INT(count("SELECT count(*) FROM users"), users);
	cfg.smtp_host = host;
}

/* ---- the store actor: who may ask what ---- */

static int actor_store_call(int link, uint32_t op, const struct store_value *args, unsigned n, uint64_t rid)
{
	uint8_t buf[4096];
	struct store_request req = { .op = op, .budget_ms = 10000, .n_args = n };
	struct store_reply reply;
	struct ipc_msg m = { .type = IPC_STORE_REQ, .rid = rid }, resp;
	if (n)
		memcpy(req.args, args, n * sizeof(*args));
	long len = store_request_encode(&req, buf, sizeof(buf));
	m.s1 = (char *)buf;
	m.s1_len = (size_t)len;
	if (len < 0 || actor_call(link, &m, &resp) != 1)
		return -100;
	int status = store_reply_decode(op, (const uint8_t *)resp.s1, resp.s1_len, &reply) == 0 ? reply.status : -101;
	if (status != -101)
		store_reply_free(&reply);
	ipc_msg_free(&resp);
	return status;
}

/* store_main as the master calls it (its two-factor seal key: any here). */
static void run_store(int ctrl_fd, struct shm_region *shm)
{
	uint8_t key[32] = { 1 };
	store_main(ctrl_fd, shm, key);
}

static void test_actor_roles(void)
{
	struct shm_region *shm = shm_region_create(1024, 1024, 1024, 1024);
	int ctrl[2];
	struct passwd *pw = getpwuid(getuid());

	cfg.database_url = strdup(test_db.url);
	cfg.service_user = strdup(pw ? pw->pw_name : "nobody");
	cfg.db_pool_size = 2;
	cfg.db_queue_size = 64;
	cfg.seccomp = false;
	PQfinish(test_db.admin);	/* not across the fork */
	test_db.admin = NULL;
	pid_t pid = actor_spawn(run_store, shm, ctrl);
	int worker = actor_new_link(ctrl[0], IPC_PEER_STORE, 0);
	int mailer = actor_new_link(ctrl[0], IPC_PEER_STORE, ACTOR_SLOT_MAILER);
	const struct store_value lease[] = { STORE_V_INT(60) };
	const struct store_value email[] = { STORE_V_TEXT("dan@example.com") };

	CHECK_EQ_INT(actor_store_call(worker, STORE_OP_OUTBOX_CLAIM, lease, 1, 1), STORE_REFUSED);
	CHECK_EQ_INT(actor_store_call(mailer, STORE_OP_USER_FIND_BY_EMAIL, email, 1, 2), STORE_REFUSED);
	CHECK_EQ_INT(actor_store_call(mailer, STORE_OP_PING, NULL, 0, 3), STORE_OK);
	CHECK_EQ_INT(actor_store_call(mailer, STORE_OP_OUTBOX_CLAIM, lease, 1, 4), STORE_OK);
	CHECK_EQ_INT(actor_store_call(worker, STORE_OP_USER_FIND_BY_EMAIL, email, 1, 5), STORE_OK);
	close(worker);
	close(mailer);
	actor_check_clean_exit(pid);
	close(ctrl[0]);
	shm_region_destroy(shm);
}

int main(int argc, char **argv)
{
	proctitle_init(argc, argv);
	log_init("test_store_mail", LOG_LEVEL_WARN);
	cfg.log_level = LOG_LEVEL_WARN;
	cfg.smtp_host = strdup("127.0.0.1");
	cfg.issuer = strdup("http://localhost:3000");
	cfg.app_name = strdup("Example ID");
	cfg.admin_emails = strdup("boss@example.com");
	cfg.auth_secret = strdup(SECRET);
	cfg.email_verification_ttl = 86400;
	cfg.password_reset_ttl = 3600;
	cfg.email_otp_ttl = 300;
	cfg.email_otp_max_attempts = 3;
	cfg.smtp_retry_base = 30;
	cfg.smtp_max_attempts = 3;
	CHECK_EQ_INT(store_mail_keys_init(SECRET), 0);
	test_db_create(&test_db, "store_mail_test");
	db = test_db.db;
	test_verification();
	test_reset();
	test_otp();
	test_outbox();
	test_mail_off();
	test_actor_roles();
	test_db_drop(&test_db);
	return CHECK_DONE();
}
