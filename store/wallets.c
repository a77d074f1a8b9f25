/*
 * Sign-In With Ethereum (tables wallets and siwe_nonces, migrations/009):
 * issuing nonces, and the one transaction that consumes a nonce and signs in,
 * signs up or links a wallet; listing and unlinking a user's wallets.
 *
 * The worker has already checked everything that needs no database (the
 * message's syntax, domain, URI, chain, times and signature); what is left
 * depends on shared state and happens here, atomically: the nonce is deleted
 * by the transaction that uses it, so of two requests presenting one nonce
 * (two workers, two instances) exactly one finds it.
 *
 * Outcomes are words in the reply (STORE_SHAPE_SIWE_OUTCOME), not statuses:
 * a refusal is a normal answer that the worker turns into a 4xx. A store
 * status other than STORE_OK means the database failed, and then nothing
 * (not even the nonce's deletion) was committed.
 */
#include "store/store_run.h"
#include "store/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An account holds at most this many wallets: a bound on the account page's
 * list and on what one account can hoard. */
#define WALLETS_PER_USER_MAX 20

/* ---- nonces ---- */

/* Inserts the nonce and sweeps a few expired ones: the table stays as large
 * as the nonces of the last few minutes, without a sweeper of its own. */
void store_siwe_nonce_issue(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH sweep AS (DELETE FROM siwe_nonces WHERE nonce_hash IN"
	        " (SELECT nonce_hash FROM siwe_nonces WHERE expires_at < now() LIMIT 64)),"
	        " ins AS (INSERT INTO siwe_nonces (nonce_hash, address, chain_id, expires_at)"
	        " VALUES ($1::bytea, $2, $3::bigint, now() + make_interval(secs => $4::int)) RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM ins",
	        req));
}

/* ---- one statement inside a transaction ---- */


/* Commits (or rolls back when ok is false), then answers outcome and user_id
 * as the operation's one row. */
static void finish(PGconn *db, const struct store_request *req, struct store_result *res, bool ok,
    const char *outcome, const char *user_id)
{
	if (!store_commit(db, ok)) {
		res->reply.status = store_failure_status(db);
		/* A conflict here is a race this transaction lost, not the
		 * caller's mistake: let it try again. */
		if (res->reply.status == STORE_CONFLICT)
			res->reply.status = STORE_ERROR;
		return;
	}
	const struct store_value row[] = { STORE_V_TEXT(outcome), STORE_V_TEXT_OR_NULL(user_id) };
	store_result_take(res, db, req,
	    store_query_values(db, "SELECT $1::text AS outcome, $2::text AS user_id", row, 2));
}

/* ---- sign in, sign up, link ---- */

struct siwe_attempt {
	struct store_value nonce_hash, address, chain_id, link_user_id, allow_sign_up, email, email_normalized,
	    is_admin;
	char user_id[40];
};

/* Deletes the nonce whatever happens next (single use), and says whether it
 * was ours, alive and, when it was issued for a wallet and chain, issued for
 * this one. NULL when it may be used, else the outcome. */
static const char *consume_nonce(PGconn *db, const struct siwe_attempt *a, bool *ok)
{
	const struct store_value v[] = { a->nonce_hash, a->address, a->chain_id };
	PGresult *r;
	const char *refusal = NULL;

	*ok = store_step(db,
	    "DELETE FROM siwe_nonces WHERE nonce_hash = $1::bytea RETURNING expires_at > now() AS live,"
	    " (address IS NULL OR address = $2) AND (chain_id IS NULL OR chain_id = $3::bigint) AS bound_ok",
	    v, 3, &r);
	if (!*ok)
		return NULL;
	if (PQntuples(r) != 1)
		refusal = "nonce_unknown";
	else if (!store_cell_true(r, 0, 0))
		refusal = "nonce_expired";
	else if (!store_cell_true(r, 0, 1))
		refusal = "nonce_mismatch";
	PQclear(r);
	return refusal;
}

/* The wallet's owner into a->user_id ("" when unlinked), and whether that
 * account is disabled. */
static bool find_owner(PGconn *db, struct siwe_attempt *a, bool *disabled)
{
	PGresult *r;
	a->user_id[0] = '\0';
	*disabled = false;
	if (!store_step(db,
	        "SELECT w.user_id::text, u.disabled FROM wallets w JOIN users u ON u.id = w.user_id"
	        " WHERE w.address = $1",
	        &a->address, 1, &r))
		return false;
	if (PQntuples(r) == 1) {
		snprintf(a->user_id, sizeof(a->user_id), "%s", PQgetvalue(r, 0, 0));
		*disabled = store_cell_true(r, 0, 1);
	}
	PQclear(r);
	return true;
}

static bool mark_used(PGconn *db, const struct siwe_attempt *a)
{
	const struct store_value v[] = { a->address, a->chain_id };
	return store_step(db, "UPDATE wallets SET last_used_at = now(), chain_id = $2::bigint WHERE address = $1", v, 2, NULL);
}

static bool insert_wallet(PGconn *db, const struct siwe_attempt *a, const char *user_id)
{
	const struct store_value v[] = { a->address, STORE_V_TEXT(user_id), a->chain_id };
	return store_step(db,
	    "INSERT INTO wallets (address, user_id, chain_id, last_used_at) VALUES ($1, $2::uuid, $3::bigint, now())", v,
	    3, NULL);
}

/* Link to the signed-in account (locked, so concurrent links and unlinks of
 * one account take turns). */
static const char *link_wallet(PGconn *db, struct siwe_attempt *a, bool *ok)
{
	const char *me = a->link_user_id.text;
	bool disabled;
	PGresult *r;

	if (!(*ok = find_owner(db, a, &disabled)))
		return NULL;
	if (a->user_id[0] && strcmp(a->user_id, me) != 0)
		return "linked_elsewhere";
	if (a->user_id[0]) {
		*ok = mark_used(db, a);
		return "already_linked";
	}
	if (!(*ok = store_step(db,
	          "SELECT u.disabled, (SELECT count(*) FROM wallets w WHERE w.user_id = u.id) AS wallets"
	          " FROM users u WHERE u.id = $1::uuid FOR UPDATE",
	          &a->link_user_id, 1, &r)))
		return NULL;
	const char *refusal = PQntuples(r) != 1 || store_cell_true(r, 0, 0) ? "account_disabled"
	    : atol(PQgetvalue(r, 0, 1)) >= WALLETS_PER_USER_MAX	 ? "too_many_wallets"
								 : NULL;
	PQclear(r);
	if (refusal)
		return refusal;
	snprintf(a->user_id, sizeof(a->user_id), "%s", me);
	*ok = insert_wallet(db, a, me);
	return "linked";
}

/* A new user without a password. With no email given, a placeholder in the
 * reserved .invalid domain (RFC 2606: never deliverable) made from the
 * address, with a random suffix if someone already has that one. */
static const char *create_user(PGconn *db, struct siwe_attempt *a, bool *ok)
{
	PGresult *r;
	bool given = a->email.kind == STORE_TEXT;

	if (given) {
		const struct store_value v[] = { a->email, a->email_normalized, a->is_admin };
		*ok = store_step(db,
		    "INSERT INTO users (email, email_normalized, is_admin) VALUES ($1, $2, $3::boolean)"
		    " ON CONFLICT (email_normalized) DO NOTHING RETURNING id::text",
		    v, 3, &r);
	} else {
		*ok = store_step(db,
		    "INSERT INTO users (email, email_normalized) SELECT e, e FROM"
		    " (SELECT $1 || '@wallet.invalid' AS e, 0 AS pref UNION ALL"
		    "  SELECT $1 || '.' || substr(md5(gen_random_uuid()::text), 1, 8) || '@wallet.invalid', 1) c"
		    " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email_normalized = c.e) ORDER BY pref LIMIT 1"
		    " ON CONFLICT (email_normalized) DO NOTHING RETURNING id::text",
		    &a->address, 1, &r);
	}
	if (!*ok)
		return NULL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return given ? "email_taken" : "placeholder_taken";
	}
	snprintf(a->user_id, sizeof(a->user_id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	*ok = insert_wallet(db, a, a->user_id);
	return "signed_up";
}

static const char *sign_in_or_up(PGconn *db, struct siwe_attempt *a, bool *ok)
{
	bool disabled;

	if (!(*ok = find_owner(db, a, &disabled)))
		return NULL;
	if (a->user_id[0]) {
		if (disabled)
			return "account_disabled";
		*ok = mark_used(db, a);
		return "signed_in";
	}
	if (!a->allow_sign_up.i)
		return "no_account";
	return create_user(db, a, ok);
}

/*
 * args: nonce_hash (hex bytea), address (lower-case hex), chain_id,
 * link_user_id (NULL: sign in or up), allow_sign_up, email, email_normalized
 * (both NULL: a placeholder), is_admin (for a new account).
 * One transaction, serialized per address (an advisory lock: two first
 * sign-ins of one wallet make one account, not two).
 */
void store_siwe_sign_in(PGconn *db, const struct store_request *req, struct store_result *res)
{
	struct siwe_attempt a = { .nonce_hash = req->args[0], .address = req->args[1], .chain_id = req->args[2],
		.link_user_id = req->args[3], .allow_sign_up = req->args[4], .email = req->args[5],
		.email_normalized = req->args[6], .is_admin = req->args[7] };
	const char *outcome = NULL;
	bool ok = store_begin(db);

	ok = ok && store_step(db, "SELECT pg_advisory_xact_lock(hashtextextended('dreamauth:wallet:' || $1, 0))",
	               &a.address, 1, NULL);
	if (ok)
		outcome = consume_nonce(db, &a, &ok);
	if (ok && !outcome)
		outcome = a.link_user_id.kind == STORE_TEXT ? link_wallet(db, &a, &ok) : sign_in_or_up(db, &a, &ok);
	bool accepted = outcome && (!strcmp(outcome, "signed_in") || !strcmp(outcome, "signed_up") ||
	                              !strcmp(outcome, "linked") || !strcmp(outcome, "already_linked"));
	/* The sign-in itself is audited with its session (store_session_create). */
	if (ok && outcome && (!strcmp(outcome, "signed_up") || !strcmp(outcome, "linked"))) {
		char detail[200], chain[24];
		bool up = !strcmp(outcome, "signed_up");
		snprintf(chain, sizeof(chain), "%lld", (long long)a.chain_id.i);
		ok = store_audit(db, req, up ? "sign_up" : "wallet_link", "siwe", a.user_id, up ? "user" : "wallet",
		    up ? a.user_id : a.address.text,
		    audit_detail(detail, sizeof(detail), "address", a.address.text, "chain_id", chain, "email",
		        up && a.email.kind == STORE_TEXT ? a.email.text : NULL, NULL));
	}
	finish(db, req, res, ok, ok ? outcome : "", accepted ? a.user_id : NULL);
}

/* ---- the account page ---- */

void store_wallet_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT address, chain_id, floor(extract(epoch from created_at))::bigint AS created_at,"
	        " floor(extract(epoch from last_used_at))::bigint AS last_used_at"
	        " FROM wallets WHERE user_id = $1::uuid ORDER BY created_at, address LIMIT 100",
	        req));
}

/*
 * args: user_id, address (lower-case hex). Outcomes: unlinked, not_found
 * (not this user's wallet), last_method (an account's only wallet when it has
 * neither a password nor a passkey: removing it would lock the account out).
 * The user's row is locked so two unlinks of its last two wallets cannot both
 * pass the check.
 */
void store_wallet_unlink(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r;
	const char *outcome = NULL;
	bool ok = store_begin(db);

	ok = ok && store_step(db,
	               "SELECT u.password_hash IS NOT NULL"
	               "   OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) AS has_password,"
	               " (SELECT count(*) FROM wallets w WHERE w.user_id = u.id) AS wallets,"
	               " EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = u.id AND w.address = $2) AS owns"
	               " FROM users u WHERE u.id = $1::uuid FOR UPDATE",
	               req->args, 2, &r);
	if (ok) {
		if (PQntuples(r) != 1 || !store_cell_true(r, 0, 2))
			outcome = "not_found";
		else if (!store_cell_true(r, 0, 0) && atol(PQgetvalue(r, 0, 1)) <= 1)
			outcome = "last_method";
		PQclear(r);
	}
	if (ok && !outcome) {
		ok = store_step(db, "DELETE FROM wallets WHERE user_id = $1::uuid AND address = $2", req->args, 2, NULL) &&
		    store_audit(db, req, "wallet_unlink", "siwe", req->args[0].text, "wallet", req->args[1].text, NULL);
		outcome = "unlinked";
	}
	finish(db, req, res, ok, ok ? outcome : "", NULL);
}
