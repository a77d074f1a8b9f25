/*
 * store/passkeys.c's operations through store_exec — the checks and the wire
 * format a worker's request gets — against a real PostgreSQL named by
 * DREAMAUTH_TEST_DATABASE_URL, in a database of its own (store_passkeys_test,
 * created afresh, migrated with the embedded migrations, dropped at the end).
 * Without that variable this test fails rather than silently passing.
 *
 * Challenges: issued only when the ceremony can succeed, bound to the browser
 * that asked, single use, expired ones refused, of the right purpose only.
 * Registration (add to the signed-in account, sign up with a passkey alone)
 * all-or-nothing but for the challenge, which stays taken. Sign-in: the
 * credential loaded, unknown and disabled refused, the counter kept at its
 * highest and regressions counted, backup-state changes dated; the second
 * factor bound to its pending password sign-in. The account page: list,
 * rename, delete (never the last way in unless confirmed), the second-factor
 * setting. Races between processes, as between instances: one challenge
 * presented by several at once is taken once.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "tests/unit/shm_test_util.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "store/store_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RACERS 6

static struct test_db t;
static PGconn *db;
static char *test_url;

/* ---- database helpers ---- */

#define exec_or_die test_db_exec

#define scalar(...) test_db_scalar(db, __VA_ARGS__)

#define COUNT(...) atoll(scalar(__VA_ARGS__))

/* ---- values ---- */

#define HASH(b) test_db_bytea_of((b), 32)		/* a challenge, binding or token hash */
#define CRED(b) test_db_bytea_of((b), 16)		/* a credential ID */

static const char *const cose_key = "\\xa5010203262001215820"
				    "0101010101010101010101010101010101010101010101010101010101010101"
				    "225820"
				    "0202020202020202020202020202020202020202020202020202020202020202";

static const char *uuid_of(unsigned b)
{
	static char out[8][37];
	static int next;
	char *u = out[next++ % 8];
	snprintf(u, 37, "%08x-0000-4000-8000-%012x", b, b);
	return u;
}

/* The outcome word of a STORE_SHAPE_PASSKEY_OUTCOME or _OPTIONS reply
 * ("<status N>" when the store failed). */
static const char *outcome_of(int status, const struct store_reply *r, unsigned col)
{
	static char out[8][40];
	static int next;
	char *o = out[next++ % 8];
	if (status != STORE_OK || r->n_rows < 1)
		snprintf(o, 40, "<status %d, %u rows>", status, r->n_rows);
	else
		snprintf(o, 40, "%s", store_text(r, 0, col));
	return o;
}

/* ---- operations ---- */

static char options_purpose[20];
static unsigned options_credentials;

static const char *register_options(unsigned challenge, unsigned binding, const char *purpose, const char *user_id,
    const char *email, int ttl)
{
	struct store_reply r;
	const char *name = email ? "New Person" : "";
	struct store_value args[] = { STORE_V_TEXT(HASH(challenge)), STORE_V_TEXT(HASH(binding)), STORE_V_TEXT(purpose),
		STORE_V_TEXT(user_id), STORE_V_TEXT_OR_NULL(email), STORE_V_TEXT_OR_NULL(email),
		STORE_V_TEXT_OR_NULL(name), STORE_V_BOOL(false), STORE_V_INT(ttl) };
	int status = store_exec(db, STORE_OP_PASSKEY_REGISTER_OPTIONS, args, 9, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OPTIONS_OUTCOME);
	options_credentials = r.n_rows ? r.n_rows - 1 : 0;
	snprintf(options_purpose, sizeof(options_purpose), "%s", store_text(&r, 0, PASSKEY_OPTIONS_PURPOSE));
	store_reply_free(&r);
	return o;
}

static const char *auth_options(unsigned challenge, unsigned binding, const char *email, const char *pending, int ttl)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(HASH(challenge)), STORE_V_TEXT(HASH(binding)),
		STORE_V_TEXT_OR_NULL(email), STORE_V_TEXT_OR_NULL(pending), STORE_V_INT(ttl) };
	int status = store_exec(db, STORE_OP_PASSKEY_AUTH_OPTIONS, args, 5, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OPTIONS_OUTCOME);
	options_credentials = r.n_rows ? r.n_rows - 1 : 0;
	snprintf(options_purpose, sizeof(options_purpose), "%s", store_text(&r, 0, PASSKEY_OPTIONS_PURPOSE));
	for (unsigned i = 1; i < r.n_rows; i++)
		CHECK(store_text(&r, i, PASSKEY_OPTIONS_CREDENTIAL_ID)[0] == '\\');
	store_reply_free(&r);
	return o;
}

static char last_user[40], last_passkey[40];

static const char *register_on(PGconn *conn, unsigned challenge, unsigned binding, const char *session_user,
    unsigned credential, int flags)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(HASH(challenge)), STORE_V_TEXT(HASH(binding)),
		STORE_V_TEXT_OR_NULL(session_user), STORE_V_TEXT(CRED(credential)), STORE_V_TEXT(cose_key), STORE_V_INT(-7),
		STORE_V_INT(7), STORE_V_TEXT("internal,hybrid"), STORE_V_TEXT("00000000-0000-0000-0000-000000000000"),
		STORE_V_TEXT("none"), STORE_V_TEXT("none"), STORE_V_INT(flags), STORE_V_TEXT("My key") };
	int status = store_exec(conn, STORE_OP_PASSKEY_REGISTER, args, 13, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OUTCOME_RESULT);
	snprintf(last_user, sizeof(last_user), "%s", status == STORE_OK ? store_text(&r, 0, PASSKEY_OUTCOME_USER_ID) : "");
	snprintf(last_passkey, sizeof(last_passkey), "%s",
	    status == STORE_OK ? store_text(&r, 0, PASSKEY_OUTCOME_PASSKEY_ID) : "");
	store_reply_free(&r);
	return o;
}

#define register_passkey(...) register_on(db, __VA_ARGS__)

/* What PASSKEY_ASSERTION_BEGIN found. */
struct begun {
	char passkey_id[40], user_id[40], purpose[20], public_key[200], pending[70];
	int64_t alg, sign_count;
	bool be, bs;
};

static const char *begin_on(PGconn *conn, unsigned challenge, unsigned binding, unsigned credential, struct begun *b)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(HASH(challenge)), STORE_V_TEXT(HASH(binding)),
		STORE_V_TEXT(CRED(credential)) };
	int status = store_exec(conn, STORE_OP_PASSKEY_ASSERTION_BEGIN, args, 3, &r);
	const char *o = outcome_of(status, &r, PASSKEY_ASSERTION_OUTCOME);
	if (b && status == STORE_OK) {
		snprintf(b->passkey_id, sizeof(b->passkey_id), "%s", store_text(&r, 0, PASSKEY_ASSERTION_PASSKEY_ID));
		snprintf(b->user_id, sizeof(b->user_id), "%s", store_text(&r, 0, PASSKEY_ASSERTION_USER_ID));
		snprintf(b->purpose, sizeof(b->purpose), "%s", store_text(&r, 0, PASSKEY_ASSERTION_PURPOSE));
		snprintf(b->public_key, sizeof(b->public_key), "%s", store_text(&r, 0, PASSKEY_ASSERTION_PUBLIC_KEY));
		snprintf(b->pending, sizeof(b->pending), "%s", store_text(&r, 0, PASSKEY_ASSERTION_PENDING_HASH));
		b->alg = store_int(&r, 0, PASSKEY_ASSERTION_ALG);
		b->sign_count = store_int(&r, 0, PASSKEY_ASSERTION_SIGN_COUNT);
		b->be = store_bool(&r, 0, PASSKEY_ASSERTION_BACKUP_ELIGIBLE);
		b->bs = store_bool(&r, 0, PASSKEY_ASSERTION_BACKUP_STATE);
	}
	store_reply_free(&r);
	return o;
}

#define begin(...) begin_on(db, __VA_ARGS__)

static const char *finish(const char *passkey_id, const char *user_id, int64_t count, bool bs, bool regressed,
    const char *pending)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(passkey_id), STORE_V_TEXT(user_id), STORE_V_INT(count),
		STORE_V_BOOL(bs), STORE_V_BOOL(regressed), STORE_V_TEXT_OR_NULL(pending) };
	int status = store_exec(db, STORE_OP_PASSKEY_ASSERTION_FINISH, args, 6, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OUTCOME_RESULT);
	store_reply_free(&r);
	return o;
}

static const char *delete_passkey(const char *user_id, const char *passkey_id, bool confirmed)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(passkey_id), STORE_V_BOOL(confirmed) };
	int status = store_exec(db, STORE_OP_PASSKEY_DELETE, args, 3, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OUTCOME_RESULT);
	store_reply_free(&r);
	return o;
}

static const char *second_factor_set(const char *user_id, bool on)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(user_id), STORE_V_BOOL(on) };
	int status = store_exec(db, STORE_OP_PASSKEY_SECOND_FACTOR_SET, args, 2, &r);
	const char *o = outcome_of(status, &r, PASSKEY_OUTCOME_RESULT);
	store_reply_free(&r);
	return o;
}

static int64_t second_factor_begin(const char *user_id, unsigned token)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(HASH(token)), STORE_V_INT(300) };
	int status = store_exec(db, STORE_OP_PASSKEY_SECOND_FACTOR_BEGIN, args, 3, &r);
	int64_t n = status == STORE_OK ? store_int(&r, 0, COUNT_N) : -1;
	store_reply_free(&r);
	return n;
}

/* Everything a refused attempt must leave as it was (but its challenge),
 * from a ring of buffers so that two states can be compared. */
static const char *state(void)
{
	static char ring[4][200];
	static int next;
	char *buf = ring[next++ % 4];
	snprintf(buf, sizeof(ring[0]), "%s", scalar("SELECT (SELECT count(*) FROM users) || ':' || (SELECT count(*) FROM passkeys)"
	                                        " || ':' || coalesce((SELECT md5(string_agg(p::text, ',' ORDER BY p.id))"
	                                        " FROM passkeys p), '')"));
	return buf;
}

static char pat[40], sam[40];	/* accounts with a password */

/* ---- tests ---- */

static void test_register_options(void)
{
	CHECK_EQ_STR(register_options(0x01, 0xb1, "register", pat, NULL, 300), "ok");
	CHECK_EQ_STR(options_purpose, "register");
	CHECK_EQ_INT(options_credentials, 0);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_challenges WHERE challenge_hash = '%s'::bytea AND purpose = "
	                   "'register' AND user_id = '%s' AND expires_at > now() + interval '299 s'",
	                 HASH(0x01), pat),
	    1);
	/* an account that does not exist, or is disabled: nothing stored */
	CHECK_EQ_STR(register_options(0x02, 0xb1, "register", uuid_of(0x999), NULL, 300), "no_account");
	exec_or_die(db, "UPDATE users SET disabled = true WHERE email_normalized = 'sam@example.com'");
	CHECK_EQ_STR(register_options(0x02, 0xb1, "register", sam, NULL, 300), "no_account");
	exec_or_die(db, "UPDATE users SET disabled = false WHERE email_normalized = 'sam@example.com'");
	/* a sign-up for a taken address: nothing stored */
	CHECK_EQ_STR(register_options(0x02, 0xb1, "sign_up", uuid_of(0x100), "pat@example.com", 300), "email_taken");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_challenges WHERE challenge_hash = '%s'::bytea", HASH(0x02)), 0);
	/* a purpose that is not a registration's: refused as an error */
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(HASH(0x03)), STORE_V_TEXT(HASH(0xb1)), STORE_V_TEXT("authenticate"),
		STORE_V_TEXT(pat), STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_BOOL(false), STORE_V_INT(300) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_REGISTER_OPTIONS, args, 9, &r), STORE_ERROR);
	store_reply_free(&r);
	/* a reused challenge hash fails (never two rows for one challenge) */
	CHECK_EQ_STR(register_options(0x01, 0xb2, "register", pat, NULL, 300), "<status 2, 0 rows>");
	/* the wire refuses a NULL where text is required */
	struct store_value bad[] = { STORE_V_TEXT(HASH(0x04)), STORE_V_NULL, STORE_V_TEXT("register"), STORE_V_TEXT(pat),
		STORE_V_NULL, STORE_V_NULL, STORE_V_NULL, STORE_V_BOOL(false), STORE_V_INT(300) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_REGISTER_OPTIONS, bad, 9, &r), STORE_REFUSED);
	store_reply_free(&r);
}

static void test_register(void)
{
	const char *before = state();

	/* another browser's challenge is not found, and stays for its own */
	CHECK_EQ_STR(register_passkey(0x01, 0xb9, pat, 0x11, 0x45), "challenge_unknown");
	CHECK_EQ_STR(state(), before);
	/* another account's session cannot complete it: refused, and taken */
	CHECK_EQ_STR(register_passkey(0x01, 0xb1, sam, 0x11, 0x45), "wrong_user");
	CHECK_EQ_STR(state(), before);
	CHECK_EQ_STR(register_passkey(0x01, 0xb1, pat, 0x11, 0x45), "challenge_unknown");

	CHECK_EQ_STR(register_options(0x05, 0xb1, "register", pat, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x05, 0xb1, pat, 0x11, 0x4d), "registered");	/* UP UV BE AT */
	CHECK_EQ_STR(last_user, pat);
	CHECK_EQ_INT(strlen(last_passkey), 36);
	char expected[200];
	snprintf(expected, sizeof(expected), "%s -7 7 internal,hybrid true false true My key none true", pat);
	CHECK_EQ_STR(scalar("SELECT user_id || ' ' || alg || ' ' || sign_count || ' ' || transports || ' ' ||"
	                    " backup_eligible || ' ' || backup_state || ' ' || user_verified || ' ' || name || ' ' ||"
	                    " attestation_fmt || ' ' || (public_key = '%s'::bytea) FROM passkeys WHERE id = '%s'",
	                 cose_key, last_passkey),
	    expected);
	/* single use: a replay finds nothing */
	before = state();
	CHECK_EQ_STR(register_passkey(0x05, 0xb1, pat, 0x12, 0x45), "challenge_unknown");
	CHECK_EQ_STR(state(), before);

	/* the options now exclude the registered credential */
	CHECK_EQ_STR(register_options(0x06, 0xb1, "register", pat, NULL, 300), "ok");
	CHECK_EQ_INT(options_credentials, 1);
	/* a credential ID already registered (here, to the same account) */
	CHECK_EQ_STR(register_passkey(0x06, 0xb1, pat, 0x11, 0x45), "credential_taken");
	CHECK_EQ_STR(state(), before);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_challenges WHERE challenge_hash = '%s'::bytea", HASH(0x06)), 0);

	/* expired */
	CHECK_EQ_STR(register_options(0x07, 0xb1, "register", pat, NULL, 300), "ok");
	exec_or_die(db, "UPDATE passkey_challenges SET expires_at = now() - interval '1 s'");
	CHECK_EQ_STR(register_passkey(0x07, 0xb1, pat, 0x13, 0x45), "challenge_expired");
	CHECK_EQ_STR(state(), before);

	/* a sign-in challenge is not a registration's */
	CHECK_EQ_STR(auth_options(0x08, 0xb1, NULL, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x08, 0xb1, pat, 0x13, 0x45), "wrong_purpose");
	CHECK_EQ_STR(state(), before);

	/* discarded (a ceremony that failed in the worker) */
	CHECK_EQ_STR(register_options(0x09, 0xb1, "register", pat, NULL, 300), "ok");
	struct store_reply r;
	struct store_value d[] = { STORE_V_TEXT(HASH(0x09)), STORE_V_TEXT(HASH(0xb1)) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_CHALLENGE_DISCARD, d, 2, &r), STORE_OK);
	CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	CHECK_EQ_STR(register_passkey(0x09, 0xb1, pat, 0x13, 0x45), "challenge_unknown");
}

static void test_sign_up(void)
{
	const char *before = state();
	const char *id = uuid_of(0x200);

	CHECK_EQ_STR(register_options(0x20, 0xb2, "sign_up", id, "new@example.com", 300), "ok");
	CHECK_EQ_STR(options_purpose, "sign_up");
	/* taken between the options and the registration: nothing stored */
	exec_or_die(db, "INSERT INTO users (email, email_normalized) VALUES ('new@example.com', 'new@example.com')");
	before = state();
	CHECK_EQ_STR(register_passkey(0x20, 0xb2, NULL, 0x21, 0x45), "email_taken");
	CHECK_EQ_STR(state(), before);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_challenges WHERE challenge_hash = '%s'::bytea", HASH(0x20)), 0);
	exec_or_die(db, "DELETE FROM users WHERE email_normalized = 'new@example.com'");

	/* a credential ID already registered: no account either */
	CHECK_EQ_STR(register_options(0x22, 0xb2, "sign_up", id, "new@example.com", 300), "ok");
	before = state();
	CHECK_EQ_STR(register_passkey(0x22, 0xb2, NULL, 0x11, 0x45), "credential_taken");
	CHECK_EQ_STR(state(), before);

	CHECK_EQ_STR(register_options(0x23, 0xb2, "sign_up", id, "new@example.com", 300), "ok");
	CHECK_EQ_STR(register_passkey(0x23, 0xb2, NULL, 0x24, 0x05), "signed_up");
	CHECK_EQ_STR(last_user, id);
	CHECK_EQ_STR(scalar("SELECT email || ' ' || name || ' ' || (password_hash IS NULL) || ' ' || is_admin FROM users"
	                    " WHERE id = '%s'",
	                 id),
	    "new@example.com New Person true false");
	CHECK_EQ_STR(scalar("SELECT backup_eligible || ' ' || user_verified FROM passkeys WHERE user_id = '%s'", id),
	    "false true");
}

static void test_auth_options(void)
{
	/* username-less: no credentials, challenge bound to no user */
	CHECK_EQ_STR(auth_options(0x30, 0xb3, NULL, NULL, 300), "ok");
	CHECK_EQ_STR(options_purpose, "authenticate");
	CHECK_EQ_INT(options_credentials, 0);
	CHECK_EQ_STR(scalar("SELECT coalesce(user_id::text, '-') FROM passkey_challenges WHERE challenge_hash = '%s'",
	                 HASH(0x30)),
	    "-");
	/* a typed email: its credentials (allowCredentials); unknown: none */
	CHECK_EQ_STR(auth_options(0x31, 0xb3, "pat@example.com", NULL, 300), "ok");
	CHECK_EQ_INT(options_credentials, 1);
	CHECK_EQ_STR(auth_options(0x32, 0xb3, "nobody@example.com", NULL, 300), "ok");
	CHECK_EQ_INT(options_credentials, 0);
	/* a pending hash that is not live: an ordinary sign-in */
	CHECK_EQ_STR(auth_options(0x33, 0xb3, NULL, HASH(0xee), 300), "ok");
	CHECK_EQ_STR(options_purpose, "authenticate");
}

static void test_sign_in(void)
{
	struct begun b;
	const char *before = state();

	CHECK_EQ_STR(begin(0x30, 0xb9, 0x11, &b), "challenge_unknown");	/* another browser's */
	CHECK_EQ_STR(begin(0x30, 0xb3, 0x11, &b), "ok");
	CHECK_EQ_STR(b.user_id, pat);
	CHECK_EQ_STR(b.purpose, "authenticate");
	CHECK_EQ_STR(b.public_key, cose_key);
	CHECK_EQ_INT(b.alg, -7);
	CHECK_EQ_INT(b.sign_count, 7);
	CHECK(b.be && !b.bs);
	CHECK_EQ_STR(b.pending, "");
	CHECK_EQ_STR(begin(0x30, 0xb3, 0x11, &b), "challenge_unknown");	/* single use */
	CHECK_EQ_STR(begin(0x31, 0xb3, 0x7f, NULL), "credential_unknown");
	CHECK_EQ_STR(begin(0x31, 0xb3, 0x11, NULL), "challenge_unknown");	/* taken by the refusal */
	CHECK_EQ_STR(state(), before);

	/* a registration challenge is not a sign-in's */
	CHECK_EQ_STR(register_options(0x34, 0xb3, "register", pat, NULL, 300), "ok");
	CHECK_EQ_STR(begin(0x34, 0xb3, 0x11, NULL), "wrong_purpose");
	/* expired */
	CHECK_EQ_STR(auth_options(0x35, 0xb3, NULL, NULL, 300), "ok");
	exec_or_die(db, "UPDATE passkey_challenges SET expires_at = now() - interval '1 s'");
	CHECK_EQ_STR(begin(0x35, 0xb3, 0x11, NULL), "challenge_expired");
	/* a disabled account */
	CHECK_EQ_STR(auth_options(0x36, 0xb3, NULL, NULL, 300), "ok");
	exec_or_die(db, "UPDATE users SET disabled = true WHERE email_normalized = 'pat@example.com'");
	CHECK_EQ_STR(begin(0x36, 0xb3, 0x11, NULL), "account_disabled");
	exec_or_die(db, "UPDATE users SET disabled = false WHERE email_normalized = 'pat@example.com'");

	/* finish: the counter rises; a lower one is counted, not stored */
	CHECK_EQ_STR(auth_options(0x37, 0xb3, NULL, NULL, 300), "ok");
	CHECK_EQ_STR(begin(0x37, 0xb3, 0x11, &b), "ok");
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 9, false, false, NULL), "signed_in");
	CHECK_EQ_STR(scalar("SELECT sign_count || ' ' || counter_regressions || ' ' || (last_used_at IS NOT NULL) || ' ' ||"
	                    " (backup_state_changed_at IS NULL) FROM passkeys WHERE id = '%s'",
	                 b.passkey_id),
	    "9 0 true true");
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 3, true, true, NULL), "signed_in");
	CHECK_EQ_STR(scalar("SELECT sign_count || ' ' || counter_regressions || ' ' || (counter_regressed_at IS NOT NULL)"
	                    " || ' ' || backup_state || ' ' || (backup_state_changed_at IS NOT NULL) FROM passkeys"
	                    " WHERE id = '%s'",
	                 b.passkey_id),
	    "9 1 true true true");
	/* another user's passkey id, or a deleted one */
	CHECK_EQ_STR(finish(b.passkey_id, sam, 10, true, false, NULL), "credential_unknown");
	CHECK_EQ_STR(finish(uuid_of(0x77), pat, 10, true, false, NULL), "credential_unknown");
}

static void test_second_factor(void)
{
	struct begun b;
	char sam_passkey[40];

	/* no passkey, no password: refused */
	CHECK_EQ_STR(second_factor_set(sam, true), "no_passkey");
	CHECK_EQ_STR(second_factor_set(uuid_of(0x200), true), "no_password");
	CHECK_EQ_STR(second_factor_set(uuid_of(0x999), true), "not_found");
	CHECK_EQ_INT(second_factor_begin(pat, 0x40), 0);	/* off: nothing pending */
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_pending_sign_ins"), 0);

	CHECK_EQ_STR(second_factor_set(pat, true), "enabled");
	CHECK_EQ_STR(second_factor_set(pat, true), "enabled");	/* idempotent */
	CHECK_EQ_INT(second_factor_begin(pat, 0x40), 1);
	CHECK_EQ_STR(auth_options(0x41, 0xb4, NULL, HASH(0x40), 300), "ok");
	CHECK_EQ_STR(options_purpose, "second_factor");
	CHECK_EQ_INT(options_credentials, 1);

	/* sam's passkey cannot be pat's second factor */
	CHECK_EQ_STR(register_options(0x42, 0xb4, "register", sam, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x42, 0xb4, sam, 0x43, 0x45), "registered");
	snprintf(sam_passkey, sizeof(sam_passkey), "%s", last_passkey);
	CHECK_EQ_STR(begin(0x41, 0xb4, 0x43, NULL), "wrong_user");
	CHECK_EQ_STR(auth_options(0x44, 0xb4, NULL, HASH(0x40), 300), "ok");
	CHECK_EQ_STR(begin(0x44, 0xb4, 0x11, &b), "ok");
	CHECK_EQ_STR(b.purpose, "second_factor");
	CHECK_EQ_STR(b.pending, HASH(0x40));
	/* someone else's pending sign-in: refused, nothing changed */
	const char *count_before = scalar("SELECT sign_count || last_used_at FROM passkeys WHERE id = '%s'", b.passkey_id);
	char kept[100];
	snprintf(kept, sizeof(kept), "%s", count_before);
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 20, true, false, HASH(0x99)), "pending_unknown");
	CHECK_EQ_STR(scalar("SELECT sign_count || last_used_at FROM passkeys WHERE id = '%s'", b.passkey_id), kept);
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 20, true, false, b.pending), "signed_in");
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 21, true, false, b.pending), "pending_unknown");	/* single use */
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_pending_sign_ins"), 0);
	/* expired */
	CHECK_EQ_INT(second_factor_begin(pat, 0x45), 1);
	exec_or_die(db, "UPDATE passkey_pending_sign_ins SET expires_at = now() - interval '1 s'");
	CHECK_EQ_STR(finish(b.passkey_id, b.user_id, 22, true, false, HASH(0x45)), "pending_expired");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_pending_sign_ins"), 1);
	CHECK_EQ_STR(auth_options(0x46, 0xb4, NULL, HASH(0x45), 300), "ok");
	CHECK_EQ_STR(options_purpose, "authenticate");	/* no longer pending */
	/* swept by a later one */
	CHECK_EQ_INT(second_factor_begin(pat, 0x47), 1);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_pending_sign_ins"), 1);

	CHECK_EQ_STR(delete_passkey(sam, sam_passkey, false), "deleted");	/* sam has a password */
	CHECK_EQ_STR(second_factor_set(pat, false), "disabled");
	CHECK_EQ_INT(second_factor_begin(pat, 0x48), 0);
}

static void test_account_page(void)
{
	struct store_reply r;
	struct store_value me[] = { STORE_V_TEXT(pat) };

	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_LIST, me, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	char pat_passkey[40];
	snprintf(pat_passkey, sizeof(pat_passkey), "%s", store_text(&r, 0, PASSKEY_ID));
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_NAME), "My key");
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_CREDENTIAL_ID), CRED(0x11));
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_PUBLIC_KEY), cose_key);
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_AAGUID), "00000000-0000-0000-0000-000000000000");
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_ATTESTATION_TYPE), "none");
	CHECK_EQ_INT(store_int(&r, 0, PASSKEY_SIGN_COUNT), 20);
	CHECK_EQ_INT(store_int(&r, 0, PASSKEY_COUNTER_REGRESSIONS), 1);
	CHECK(!store_is_null(&r, 0, PASSKEY_LAST_USED_AT));
	CHECK(store_int(&r, 0, PASSKEY_CREATED_AT) > 1700000000);
	store_reply_free(&r);

	/* rename: own passkeys only */
	struct store_value rename[] = { STORE_V_TEXT(pat), STORE_V_TEXT(pat_passkey), STORE_V_TEXT("Laptop") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_RENAME, rename, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 1);
	CHECK_EQ_STR(store_text(&r, 0, PASSKEY_NAME), "Laptop");
	store_reply_free(&r);
	struct store_value steal[] = { STORE_V_TEXT(sam), STORE_V_TEXT(pat_passkey), STORE_V_TEXT("Mine") };
	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_RENAME, steal, 3, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 0);
	store_reply_free(&r);

	CHECK_EQ_INT(store_exec(db, STORE_OP_PASSKEY_ACCOUNT, me, 1, &r), STORE_OK);
	CHECK(store_bool(&r, 0, PASSKEY_ACCOUNT_HAS_PASSWORD) && !store_bool(&r, 0, PASSKEY_ACCOUNT_SECOND_FACTOR));
	CHECK_EQ_INT(store_int(&r, 0, PASSKEY_ACCOUNT_PASSKEYS), 1);
	store_reply_free(&r);

	/* delete: someone else's is not found; the last passkey of an account
	 * with a password goes, and its second factor with it */
	CHECK_EQ_STR(delete_passkey(sam, pat_passkey, true), "not_found");
	CHECK_EQ_STR(second_factor_set(pat, true), "enabled");
	CHECK_EQ_STR(delete_passkey(pat, pat_passkey, false), "deleted_second_factor_off");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_second_factor"), 0);
	CHECK_EQ_STR(delete_passkey(pat, pat_passkey, false), "not_found");

	/* the passkey-only account: its last passkey stays unless confirmed */
	const char *id = uuid_of(0x200);
	char only[40];
	snprintf(only, sizeof(only), "%s", scalar("SELECT id FROM passkeys WHERE user_id = '%s'", id));
	CHECK_EQ_STR(delete_passkey(id, only, false), "last_method");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkeys WHERE id = '%s'", only), 1);
	/* a second passkey: either may go, not both */
	CHECK_EQ_STR(register_options(0x50, 0xb5, "register", id, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x50, 0xb5, id, 0x51, 0x05), "registered");
	CHECK_EQ_STR(delete_passkey(id, last_passkey, false), "deleted");
	CHECK_EQ_STR(delete_passkey(id, only, false), "last_method");
	/* a linked wallet is a way in too (SIWE's table, when this database has it) */
	exec_or_die(db, "CREATE TABLE IF NOT EXISTS wallets (address text PRIMARY KEY, user_id uuid NOT NULL,"
	                " chain_id bigint NOT NULL)");
	char sql[300];
	snprintf(sql, sizeof(sql), "INSERT INTO wallets (address, user_id, chain_id) VALUES"
	                           " ('0x00000000000000000000000000000000000000aa', '%s', 1)", id);
	exec_or_die(db, sql);
	CHECK_EQ_STR(register_options(0x52, 0xb5, "register", id, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x52, 0xb5, id, 0x53, 0x05), "registered");
	CHECK_EQ_STR(delete_passkey(id, last_passkey, false), "deleted");
	CHECK_EQ_STR(delete_passkey(id, only, false), "deleted");
	exec_or_die(db, "DELETE FROM wallets WHERE address = '0x00000000000000000000000000000000000000aa'");
	/* confirmed: even the last way in goes */
	CHECK_EQ_STR(register_options(0x54, 0xb5, "register", id, NULL, 300), "ok");
	CHECK_EQ_STR(register_passkey(0x54, 0xb5, id, 0x55, 0x05), "registered");
	CHECK_EQ_STR(delete_passkey(id, last_passkey, false), "last_method");
	CHECK_EQ_STR(delete_passkey(id, last_passkey, true), "deleted");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkeys WHERE user_id = '%s'", id), 0);
}

static void test_limits(void)
{
	/* at most PASSKEYS_PER_USER_MAX per account */
	for (unsigned i = 0; i < 10; i++) {
		CHECK_EQ_STR(register_options(0x60 + i, 0xb6, "register", sam, NULL, 300), "ok");
		CHECK_EQ_STR(register_passkey(0x60 + i, 0xb6, sam, 0x60 + i, 0x05), "registered");
	}
	CHECK_EQ_STR(register_options(0x70, 0xb6, "register", sam, NULL, 300), "too_many_passkeys");
	CHECK_EQ_STR(auth_options(0x71, 0xb6, "sam@example.com", NULL, 300), "ok");
	CHECK_EQ_INT(options_credentials, 10);
	/* expired challenges are swept by later options */
	exec_or_die(db, "UPDATE passkey_challenges SET expires_at = now() - interval '1 s'");
	CHECK_EQ_STR(auth_options(0x72, 0xb6, NULL, NULL, 300), "ok");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkey_challenges"), 1);
}

/* ---- races between connections, as between instances ---- */



/* everyone the same sign-in challenge: one takes it, the others find none */
static void take_one_challenge(int i)
{
	PGconn *conn = db_connect(test_url, 0);
	const char *o = conn ? begin_on(conn, 0x80, 0xb8, 0x60, NULL) : "<no connection>";
	if (strcmp(o, "ok") != 0 && strcmp(o, "challenge_unknown") != 0) {
		fprintf(stderr, "racer %d: %s\n", i, o);
		_exit(1);
	}
	PQfinish(conn);
	_exit(strcmp(o, "ok") == 0 ? 0 : 3);
}

/* everyone the same registration challenge, each its own credential */
static void register_one_challenge(int i)
{
	PGconn *conn = db_connect(test_url, 0);
	const char *o = conn ? register_on(conn, 0x81, 0xb8, NULL, 0x90 + (unsigned)i, 0x05) : "<no connection>";
	if (strcmp(o, "signed_up") != 0 && strcmp(o, "challenge_unknown") != 0) {
		fprintf(stderr, "racer %d: %s\n", i, o);
		_exit(1);
	}
	PQfinish(conn);
	_exit(0);
}

static void test_races(void)
{
	long long users = COUNT("SELECT count(*) FROM users");

	CHECK_EQ_STR(auth_options(0x80, 0xb8, NULL, NULL, 300), "ok");
	pid_t pids[RACERS];
	int winners = 0;
	for (int i = 0; i < RACERS; i++)
		if ((pids[i] = fork()) == 0)
			take_one_challenge(i);
	for (int i = 0; i < RACERS; i++) {
		int st = 0;
		waitpid(pids[i], &st, 0);
		CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3));
		winners += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK_EQ_INT(winners, 1);

	CHECK_EQ_STR(register_options(0x81, 0xb8, "sign_up", uuid_of(0x300), "race@example.com", 300), "ok");
	race_processes(RACERS, register_one_challenge);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM users"), users + 1);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM passkeys WHERE user_id = '%s'", uuid_of(0x300)), 1);
}

int main(void)
{
	log_init("test_store_passkeys", LOG_LEVEL_ERROR);
	test_db_create(&t, "store_passkeys_test");
	db = t.db;
	test_url = t.url;
	exec_or_die(db, "INSERT INTO users (email, email_normalized, password_hash) VALUES"
	                " ('Pat@Example.com', 'pat@example.com', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'),"
	                " ('sam@example.com', 'sam@example.com', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA')");
	snprintf(pat, sizeof(pat), "%s", scalar("SELECT id FROM users WHERE email_normalized = 'pat@example.com'"));
	snprintf(sam, sizeof(sam), "%s", scalar("SELECT id FROM users WHERE email_normalized = 'sam@example.com'"));
	test_register_options();
	test_register();
	test_sign_up();
	test_auth_options();
	test_sign_in();
	test_second_factor();
	test_account_page();
	test_limits();
	test_races();
	test_db_drop(&t);
	return CHECK_DONE();
}
