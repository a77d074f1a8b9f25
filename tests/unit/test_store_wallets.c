/*
 * store/wallets.c's operations (Sign-In With Ethereum) through store_exec —
 * the checks and the wire format a worker's request gets — against a real
 * PostgreSQL named by DREAMAUTH_TEST_DATABASE_URL, in a database of its own
 * (store_wallets_test_<pid>, created afresh, migrated with the embedded migrations,
 * dropped at the end). Without that variable this test fails rather than
 * silently passing.
 *
 * Nonces: issued hashed, single use, expired ones refused and swept, bound
 * ones only for their wallet and chain. Sign-in, sign-up (closed, open,
 * placeholder and given email, taken email, admin flag), linking (again, to
 * another account, a disabled account, the per-account maximum), refusals
 * that store nothing, the wallet list and unlinking (never an account's last
 * way in). Races between processes, as between instances: one nonce used by
 * several at once is accepted once; several first sign-ins of one wallet make
 * one account.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "tests/unit/shm_test_util.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrate.h"
#include "store/store_run.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RACERS 6

static struct test_db test_db;
static PGconn *db;

/* ---- database helpers ---- */

#define scalar(...) test_db_scalar(db, __VA_ARGS__)

#define COUNT(...) atoll(scalar(__VA_ARGS__))

/* ---- operations ---- */

/* "\x" + 64 hex digits: a nonce hash made of the byte b. */
static const char *nonce_hash(unsigned b)
{
	return test_db_bytea_of(b, 32);
}

/* "0x" + 40 hex digits made of the byte b. */
static const char *address(unsigned b)
{
	static char out[8][43];
	static int next;
	char *a = out[next++ % 8];
	a[0] = '0';
	a[1] = 'x';
	for (int i = 0; i < 20; i++)
		snprintf(a + 2 + 2 * i, 3, "%02x", b & 0xff);
	return a;
}

static int issue(PGconn *conn, unsigned nonce, const char *bound_address, int64_t bound_chain, int ttl)
{
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(nonce_hash(nonce)), STORE_V_TEXT_OR_NULL(bound_address),
		bound_chain ? STORE_V_INT(bound_chain) : STORE_V_NULL, STORE_V_INT(ttl) };
	int status = store_exec(conn, STORE_OP_SIWE_NONCE_ISSUE, args, 4, &r);
	if (status == STORE_OK)
		CHECK_EQ_INT(store_int(&r, 0, COUNT_N), 1);
	store_reply_free(&r);
	return status;
}

struct attempt {
	unsigned nonce;
	const char *address;
	int64_t chain;
	const char *link_user;
	bool open;
	const char *email, *email_normalized;
	bool admin;
};

/* The outcome word ("<status N>" when the store failed); the user in user_id. */
static const char *sign_in_on(PGconn *conn, const struct attempt *a, char user_id[40])
{
	static char outcome[32];
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(nonce_hash(a->nonce)), STORE_V_TEXT(a->address),
		STORE_V_INT(a->chain ? a->chain : 1), STORE_V_TEXT_OR_NULL(a->link_user), STORE_V_BOOL(a->open),
		STORE_V_TEXT_OR_NULL(a->email), STORE_V_TEXT_OR_NULL(a->email_normalized), STORE_V_BOOL(a->admin) };
	int status = store_exec(conn, STORE_OP_SIWE_SIGN_IN, args, 8, &r);

	if (status != STORE_OK || r.n_rows != 1)
		snprintf(outcome, sizeof(outcome), "<status %d>", status);
	else
		snprintf(outcome, sizeof(outcome), "%s", store_text(&r, 0, SIWE_OUTCOME_RESULT));
	if (user_id)
		snprintf(user_id, 40, "%s", status == STORE_OK ? store_text(&r, 0, SIWE_OUTCOME_USER_ID) : "");
	store_reply_free(&r);
	return outcome;
}

static const char *sign_in(const struct attempt *a, char user_id[40])
{
	return sign_in_on(db, a, user_id);
}

static const char *unlink_wallet(const char *user_id, const char *addr)
{
	static char outcome[32];
	struct store_reply r;
	struct store_value args[] = { STORE_V_TEXT(user_id), STORE_V_TEXT(addr) };
	int status = store_exec(db, STORE_OP_WALLET_UNLINK, args, 2, &r);
	snprintf(outcome, sizeof(outcome), "%s", status == STORE_OK ? store_text(&r, 0, SIWE_OUTCOME_RESULT) : "<failed>");
	CHECK(status != STORE_OK || store_is_null(&r, 0, SIWE_OUTCOME_USER_ID));
	store_reply_free(&r);
	return outcome;
}

/* Rows of the tables a refused attempt must leave alone. */
static long long stored_rows(void)
{
	return COUNT("SELECT (SELECT count(*) FROM users) * 1000000 + (SELECT count(*) FROM wallets) * 1000"
	             " + (SELECT count(*) FROM sessions)");
}

static char password_user[40];

/* ---- tests ---- */

static void test_nonces(void)
{
	CHECK_EQ_INT(issue(db, 1, NULL, 0, 300), STORE_OK);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces WHERE nonce_hash = '%s'::bytea AND address IS NULL"
	                   " AND chain_id IS NULL AND expires_at BETWEEN now() + interval '299 s' AND now() + interval '301 s'",
	                 nonce_hash(1)),
	    1);
	/* the same hash twice: a unique violation (random nonces never collide) */
	CHECK_EQ_INT(issue(db, 1, NULL, 0, 300), STORE_CONFLICT);
	CHECK_EQ_INT(issue(db, 2, address(0xaa), 10, 300), STORE_OK);
	CHECK_EQ_STR(scalar("SELECT address || ' ' || chain_id FROM siwe_nonces WHERE nonce_hash = '%s'::bytea",
	                 nonce_hash(2)),
	    "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 10");
	/* a bound address must be lower-case hex (the table's check) */
	CHECK_EQ_INT(issue(db, 3, "0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, 300), STORE_ERROR);
	/* wrong argument types are refused before any SQL */
	struct store_reply r;
	struct store_value bad[] = { STORE_V_TEXT(nonce_hash(3)), STORE_V_NULL, STORE_V_NULL, STORE_V_NULL };
	CHECK_EQ_INT(store_exec(db, STORE_OP_SIWE_NONCE_ISSUE, bad, 4, &r), STORE_REFUSED);
	store_reply_free(&r);

	/* expired rows are swept by later issues, at most 64 at a time */
	test_db_exec(db, "INSERT INTO siwe_nonces (nonce_hash, expires_at) SELECT sha256(i::text::bytea),"
	                 " now() - interval '1 s' FROM generate_series(1, 100) i");
	CHECK_EQ_INT(issue(db, 4, NULL, 0, 300), STORE_OK);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces WHERE expires_at < now()"), 36);
	CHECK_EQ_INT(issue(db, 5, NULL, 0, 300), STORE_OK);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces WHERE expires_at < now()"), 0);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces"), 4);
	test_db_exec(db, "TRUNCATE siwe_nonces");
}

static void test_refusals_store_nothing(void)
{
	char user[40];
	long long before = stored_rows();

	/* never issued */
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x10, .address = address(0x01), .open = true }, user),
	    "nonce_unknown");
	CHECK_EQ_STR(user, "");
	/* expired: refused, and gone */
	test_db_exec(db, "INSERT INTO siwe_nonces (nonce_hash, expires_at) VALUES"
	                 " ('\\x1111111111111111111111111111111111111111111111111111111111111111', now() - interval '1 s')");
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x11, .address = address(0x01), .open = true }, NULL),
	    "nonce_expired");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces"), 0);
	/* issued for another wallet, or another chain: refused and burnt */
	CHECK_EQ_INT(issue(db, 0x12, address(0x02), 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x12, .address = address(0x01), .open = true }, NULL),
	    "nonce_mismatch");
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x12, .address = address(0x02), .open = true }, NULL),
	    "nonce_unknown");
	CHECK_EQ_INT(issue(db, 0x13, address(0x01), 10, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x13, .address = address(0x01), .chain = 1, .open = true },
	                 NULL),
	    "nonce_mismatch");
	/* registration closed: no account for an unknown wallet */
	CHECK_EQ_INT(issue(db, 0x14, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x14, .address = address(0x01), .open = false }, user),
	    "no_account");
	CHECK_EQ_STR(user, "");
	/* a taken email: no account, no wallet */
	CHECK_EQ_INT(issue(db, 0x15, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x15, .address = address(0x01), .open = true,
	                         .email = "Pat@Example.com", .email_normalized = "pat@example.com" },
	                 user),
	    "email_taken");
	CHECK_EQ_STR(user, "");
	CHECK_EQ_INT(stored_rows(), before);
	/* a malformed address is refused by the table (the worker never sends one) */
	CHECK_EQ_INT(issue(db, 0x16, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x16, .address = "0xABC", .open = true }, NULL), "<status 2>");
	CHECK_EQ_INT(stored_rows(), before);
	/* and then nothing was committed, not even the nonce's deletion */
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces WHERE nonce_hash = '%s'::bytea", nonce_hash(0x16)), 1);
	test_db_exec(db, "TRUNCATE siwe_nonces");
}

static void test_sign_up_and_in(void)
{
	char user[40], again[40], other[40];

	/* no email: a placeholder in .invalid, no password, not admin */
	CHECK_EQ_INT(issue(db, 0x20, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x20, .address = address(0x21), .chain = 10, .open = true }, user),
	    "signed_up");
	CHECK_EQ_INT(strlen(user), 36);
	CHECK_EQ_STR(scalar("SELECT email || '|' || email_normalized || '|' || coalesce(password_hash, '-') || '|' ||"
	                    " is_admin || '|' || email_verified FROM users WHERE id = '%s'",
	                 user),
	    "0x2121212121212121212121212121212121212121@wallet.invalid|"
	    "0x2121212121212121212121212121212121212121@wallet.invalid|-|false|false");
	char expected[80];
	snprintf(expected, sizeof(expected), "%s 10 true", user);
	CHECK_EQ_STR(scalar("SELECT user_id || ' ' || chain_id || ' ' || (last_used_at IS NOT NULL) FROM wallets"
	                    " WHERE address = '%s'",
	                 address(0x21)),
	    expected);
	/* the nonce is gone: a replay is refused and changes nothing */
	long long before = stored_rows();
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x20, .address = address(0x21), .open = true }, NULL),
	    "nonce_unknown");
	CHECK_EQ_INT(stored_rows(), before);

	/* the same wallet again: signed in to the same account, whatever the
	 * registration setting; the chain of the last sign-in is kept */
	CHECK_EQ_INT(issue(db, 0x22, NULL, 0, 300), STORE_OK);
	test_db_exec(db, "UPDATE wallets SET last_used_at = now() - interval '1 day'");
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x22, .address = address(0x21), .chain = 1, .open = false }, again),
	    "signed_in");
	CHECK_EQ_STR(again, user);
	CHECK_EQ_STR(scalar("SELECT chain_id || ' ' || (last_used_at > now() - interval '1 minute') FROM wallets"
	                    " WHERE address = '%s'",
	                 address(0x21)),
	    "1 true");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM users"), 2);	/* with the password user */

	/* a given email, an admin one */
	CHECK_EQ_INT(issue(db, 0x23, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x23, .address = address(0x23), .open = true,
	                         .email = "Boss@Example.com", .email_normalized = "boss@example.com", .admin = true },
	                 other),
	    "signed_up");
	CHECK_EQ_STR(scalar("SELECT email || '|' || is_admin FROM users WHERE id = '%s'", other), "Boss@Example.com|true");

	/* someone already has the placeholder: a suffixed one */
	test_db_exec(db, "INSERT INTO users (email, email_normalized) VALUES"
	                 " ('0x2424242424242424242424242424242424242424@wallet.invalid',"
	                 " '0x2424242424242424242424242424242424242424@wallet.invalid')");
	CHECK_EQ_INT(issue(db, 0x24, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x24, .address = address(0x24), .open = true }, other),
	    "signed_up");
	const char *email = scalar("SELECT email FROM users WHERE id = '%s'", other);
	CHECK(strncmp(email, "0x2424242424242424242424242424242424242424.", 43) == 0 && strlen(email) == 43 + 8 + 15 &&
	    strcmp(email + 51, "@wallet.invalid") == 0);

	/* a disabled account is refused, and stays as it was */
	test_db_exec(db, "UPDATE users SET disabled = true WHERE email = 'Boss@Example.com'");
	CHECK_EQ_INT(issue(db, 0x25, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x25, .address = address(0x23), .open = true }, again),
	    "account_disabled");
	CHECK_EQ_STR(again, "");
}

static void test_link_list_unlink(void)
{
	char user[40], wallet_user[40];
	struct store_reply r;

	/* the password user links two wallets */
	CHECK_EQ_INT(issue(db, 0x30, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x30, .address = address(0x31), .chain = 10,
	                         .link_user = password_user },
	                 user),
	    "linked");
	CHECK_EQ_STR(user, password_user);
	CHECK_EQ_INT(issue(db, 0x31, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x31, .address = address(0x32), .link_user = password_user }, NULL),
	    "linked");
	/* again: already linked, nothing new */
	CHECK_EQ_INT(issue(db, 0x32, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x32, .address = address(0x31), .link_user = password_user }, NULL),
	    "already_linked");
	/* another account's wallet: refused, still theirs */
	strcpy(wallet_user, scalar("SELECT user_id FROM wallets WHERE address = '%s'", address(0x21)));
	CHECK_EQ_INT(issue(db, 0x33, NULL, 0, 300), STORE_OK);
	long long before = stored_rows();
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x33, .address = address(0x21), .link_user = password_user }, user),
	    "linked_elsewhere");
	CHECK_EQ_STR(user, "");
	CHECK_EQ_INT(stored_rows(), before);
	CHECK_EQ_STR(scalar("SELECT user_id FROM wallets WHERE address = '%s'", address(0x21)), wallet_user);
	/* a link to a disabled account */
	const char *boss = scalar("SELECT id FROM users WHERE email = 'Boss@Example.com'");
	char boss_id[40];
	snprintf(boss_id, sizeof(boss_id), "%s", boss);
	CHECK_EQ_INT(issue(db, 0x34, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x34, .address = address(0x34), .link_user = boss_id }, NULL),
	    "account_disabled");

	/* the list: oldest first, lower-case, both times */
	test_db_exec(db, "UPDATE wallets SET created_at = now() - interval '1 hour' WHERE address ="
	                 " '0x3131313131313131313131313131313131313131'");
	test_db_exec(db, "UPDATE wallets SET last_used_at = NULL WHERE address = '0x3232323232323232323232323232323232323232'");
	struct store_value who[] = { STORE_V_TEXT(password_user) };
	CHECK_EQ_INT(store_exec(db, STORE_OP_WALLET_LIST, who, 1, &r), STORE_OK);
	CHECK_EQ_INT(r.n_rows, 2);
	CHECK_EQ_STR(store_text(&r, 0, WALLET_ADDRESS), address(0x31));
	CHECK_EQ_INT(store_int(&r, 0, WALLET_CHAIN_ID), 1);	/* of the last use (already_linked) */
	CHECK(store_int(&r, 0, WALLET_CREATED_AT) < store_int(&r, 1, WALLET_CREATED_AT));
	CHECK(!store_is_null(&r, 0, WALLET_LAST_USED_AT));
	CHECK_EQ_STR(store_text(&r, 1, WALLET_ADDRESS), address(0x32));
	CHECK(store_is_null(&r, 1, WALLET_LAST_USED_AT));
	store_reply_free(&r);

	/* unlink: only one's own; a password account may drop its last wallet */
	CHECK_EQ_STR(unlink_wallet(password_user, address(0x21)), "not_found");
	CHECK_EQ_STR(unlink_wallet(password_user, address(0x77)), "not_found");
	CHECK_EQ_STR(unlink_wallet(password_user, address(0x31)), "unlinked");
	CHECK_EQ_STR(unlink_wallet(password_user, address(0x31)), "not_found");
	CHECK_EQ_STR(unlink_wallet(password_user, address(0x32)), "unlinked");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM wallets WHERE user_id = '%s'", password_user), 0);
	/* a password-less account keeps its last wallet */
	CHECK_EQ_STR(unlink_wallet(wallet_user, address(0x21)), "last_method");
	CHECK_EQ_INT(issue(db, 0x35, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x35, .address = address(0x35), .link_user = wallet_user }, NULL),
	    "linked");
	CHECK_EQ_STR(unlink_wallet(wallet_user, address(0x21)), "unlinked");
	CHECK_EQ_STR(unlink_wallet(wallet_user, address(0x35)), "last_method");
	/* the unlinked wallet is free again: it signs up a new account */
	CHECK_EQ_INT(issue(db, 0x36, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x36, .address = address(0x21), .open = true }, user),
	    "signed_up");
	CHECK(strcmp(user, wallet_user) != 0);

	/* at most 20 wallets per account */
	for (unsigned i = 0; i < 20; i++) {
		CHECK_EQ_INT(issue(db, 0x40 + i, NULL, 0, 300), STORE_OK);
		const char *o = sign_in(&(struct attempt){ .nonce = 0x40 + i, .address = address(0x40 + i),
		                            .link_user = password_user },
		    NULL);
		CHECK_EQ_STR(o, "linked");
	}
	CHECK_EQ_INT(issue(db, 0x60, NULL, 0, 300), STORE_OK);
	CHECK_EQ_STR(sign_in(&(struct attempt){ .nonce = 0x60, .address = address(0x60), .link_user = password_user }, NULL),
	    "too_many_wallets");
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM wallets WHERE user_id = '%s'", password_user), 20);
}


static void use_one_nonce(int i)
{
	PGconn *conn = db_connect(test_db.url, 0);
	/* everyone the same nonce, for wallets of their own: one signs up, the
	 * others find the nonce gone */
	const char *o = conn ? sign_in_on(conn, &(struct attempt){ .nonce = 0x70, .address = address(0x71 + (unsigned)i),
	                                           .open = true },
	                           NULL)
	                     : "<no connection>";
	if (strcmp(o, "signed_up") != 0 && strcmp(o, "nonce_unknown") != 0) {
		fprintf(stderr, "racer %d: %s\n", i, o);
		exit(1);
	}
	PQfinish(conn);
}

static void sign_up_one_wallet(int i)
{
	PGconn *conn = db_connect(test_db.url, 0);
	/* everyone a nonce of their own, for the same new wallet */
	const char *o = conn ? sign_in_on(conn, &(struct attempt){ .nonce = 0x80 + (unsigned)i, .address = address(0x90),
	                                           .open = true },
	                           NULL)
	                     : "<no connection>";
	if (strcmp(o, "signed_up") != 0 && strcmp(o, "signed_in") != 0) {
		fprintf(stderr, "racer %d: %s\n", i, o);
		exit(1);
	}
	PQfinish(conn);
}

static void test_races(void)
{
	long long users = COUNT("SELECT count(*) FROM users");

	CHECK_EQ_INT(issue(db, 0x70, NULL, 0, 300), STORE_OK);
	race_processes(RACERS, use_one_nonce);	/* each racer its own connection, as workers of several instances have */
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM users"), users + 1);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM wallets WHERE address BETWEEN '%s' AND '%s'", address(0x71),
	                 address(0x71 + RACERS - 1)),
	    1);

	for (unsigned i = 0; i < RACERS; i++)
		CHECK_EQ_INT(issue(db, 0x80 + i, NULL, 0, 300), STORE_OK);
	race_processes(RACERS, sign_up_one_wallet);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM users"), users + 2);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM wallets WHERE address = '%s'", address(0x90)), 1);
	CHECK_EQ_INT(COUNT("SELECT count(*) FROM siwe_nonces"), 0);
}

int main(void)
{
	log_init("test_store_wallets", LOG_LEVEL_ERROR);
	test_db_create(&test_db, "store_wallets_test");
	db = test_db.db;
	test_db_exec(db, "INSERT INTO users (email, email_normalized, password_hash) VALUES"
	                 " ('Pat@Example.com', 'pat@example.com', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA')");
	snprintf(password_user, sizeof(password_user), "%s", scalar("SELECT id FROM users"));
	test_nonces();
	test_refusals_store_nothing();
	test_sign_up_and_in();
	test_link_list_unlink();
	test_races();
	test_db_drop(&test_db);
	return CHECK_DONE();
}
