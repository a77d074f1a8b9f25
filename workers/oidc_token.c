/*
 * POST /oauth2/token (RFC 6749 §3.2): authorization_code (single use, PKCE
 * S256, replay revokes what the code produced), refresh_token (opaque,
 * rotating; reuse of a spent token revokes its whole family) and
 * client_credentials. Client authentication: client_secret_basic,
 * client_secret_post, or none for public clients (PKCE is their proof);
 * failures are limited per client and per IP (429 + Retry-After).
 * Access tokens are RFC 9068 JWTs whose jti is recorded in
 * oauth_access_tokens (revocation, introspection); ID tokens carry at_hash.
 * Both are signed by the signer over IPC: access token first, then the ID
 * token that hashes it. An RFC 8707 resource (FORWARD_AUTH_AUDIENCE only)
 * adds itself to the access token's aud (workers/forward_auth.h).
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "proto/base64url.h"
#include "proto/forwarded.h"
#include "proto/oidc_clients.h"
#include "proto/token_request.h"
#include "shm/rate_limit.h"
#include "workers/forward_auth.h"
#include "workers/json_util.h"
#include "workers/oidc.h"
#include "workers/oidc_clients.h"
#include "workers/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

struct issue {
	struct http_exchange *ex;
	char client_id[OIDC_CLIENT_ID_MAX + 1];
	char sub[OIDC_CLIENT_ID_MAX + 1];
	char user_id[40];		/* empty: client_credentials (no user) */
	unsigned scopes;
	char *nonce;			/* owned, may be NULL */
	int64_t auth_time;
	char amr[64];
	char sid[40];
	char id_alg[8], at_alg[8];
	char jti[TOKEN_STR_LEN];
	char family_id[40];		/* empty: no refresh token */
	char code_hash[OIDC_HASH_PARAM_LEN];	/* empty unless from a code */
	char refresh_token[TOKEN_STR_LEN];
	bool for_forward_auth;		/* RFC 8707 resource: aud names FORWARD_AUTH_AUDIENCE too */
	json_t *user_claims;		/* owned: profile/email/groups by scope */
	char *access_token;		/* owned, once signed */
	int64_t iat, exp;
};

static void issue_free(struct issue *is)
{
	free(is->nonce);
	json_decref(is->user_claims);
	free(is->access_token);
	secure_wipe(is->refresh_token, sizeof(is->refresh_token));
	free(is);
}

static void random_uuid(char out[40])
{
	uint8_t b[16];
	secure_random(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
	    b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* OIDC Core §3.1.3.6: left half of the hash of the access token, per alg. */
static void at_hash(const char *alg, const char *token, char out[64])
{
	uint8_t h[SHA512_DIGEST_LENGTH];
	size_t half;
	if (!strcmp(alg, "EdDSA")) {
		SHA512((const unsigned char *)token, strlen(token), h);
		half = SHA512_DIGEST_LENGTH / 2;
	} else {
		SHA256((const unsigned char *)token, strlen(token), h);
		half = SHA256_DIGEST_LENGTH / 2;
	}
	base64url_encode(h, half, out);
}

static void amr_member(struct json_writer *w, const char *amr)
{
	json_t *a = json_csv_array(amr);
	if (json_array_size(a) == 0)
		json_array_append_new(a, json_string("pwd"));
	json_writer_value(w, "amr", a);
	json_decref(a);
}

static void fail_unavailable(struct issue *is)
{
	oidc_reply_error(is->ex, 503, "temporarily_unavailable", "the token signer is unavailable; try again");
	issue_free(is);
}

/* Claims are written straight into a buffer (json_writer): jansson objects
 * and json_dumps were a sixth of a worker's time per client_credentials
 * grant. The signer parses and checks them either way. */
#define CLAIMS_MAX (16 * 1024)

/* Asks the signer to sign the claims w holds; cb gets the reply. If the
 * claims are not valid or the request cannot even be sent, answers 503 and
 * frees is. */
static void sign_claims(struct issue *is, int kind, const char *alg, struct json_writer *w, ipc_reply_fn cb)
{
	const char *text = json_writer_finish(w);
	int rc = -1;
	if (text) {
		struct ipc_msg req = { .type = IPC_SIGN_REQ, .kind = kind, .s1 = (char *)alg, .s1_len = strlen(alg),
			.s2 = (char *)text, .s2_len = strlen(text) };
		rc = ipc_client_call(worker->signer, &req, 2000, cb, is);
	} else {
		log_warnx("token claims for client %s do not fit or are not UTF-8", is->client_id);
	}
	if (rc < 0)
		fail_unavailable(is);
}

/* The claims both tokens start with: who issued it, about whom, for whom, when. */
static void token_claims_begin(struct json_writer *w, char *buf, const struct issue *is, bool access)
{
	json_writer_init(w, buf, CLAIMS_MAX);
	json_writer_string(w, "iss", cfg.issuer);
	json_writer_string(w, "sub", is->sub);
	forward_auth_write_aud(w, is->client_id, access && is->for_forward_auth);
	json_writer_int(w, "exp", is->exp);
	json_writer_int(w, "iat", is->iat);
}

static void respond(struct issue *is, const char *id_token)
{
	char scope[128];
	size_t cap = 256 + strlen(is->access_token) + (id_token ? strlen(id_token) : 0) + strlen(is->refresh_token);
	char *text = malloc(cap);
	struct json_writer w;

	if (!text) {
		oidc_reply_error(is->ex, 503, "temporarily_unavailable", "out of memory");
		issue_free(is);
		return;
	}
	json_writer_init(&w, text, cap);
	json_writer_string(&w, "access_token", is->access_token);
	json_writer_string(&w, "token_type", "Bearer");
	json_writer_int(&w, "expires_in", is->exp - is->iat);
	oidc_scope_string(is->scopes, scope, sizeof(scope));
	if (*scope)
		json_writer_string(&w, "scope", scope);
	if (id_token)
		json_writer_string(&w, "id_token", id_token);
	if (is->family_id[0])
		json_writer_string(&w, "refresh_token", is->refresh_token);
	if (json_writer_finish(&w)) {
		http_reply_header(is->ex, "Pragma", "no-cache");
		http_reply_json(is->ex, 200, text);
	} else {
		log_warnx("token answer for client %s does not fit", is->client_id);
		oidc_reply_error(is->ex, 500, "server_error", "could not write the token answer");
	}
	secure_wipe(text, cap);
	free(text);
	issue_free(is);
}

static void id_token_signed(const struct ipc_msg *reply, void *arg)
{
	struct issue *is = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		fail_unavailable(is);
		return;
	}
	respond(is, reply->s1);
}

static void access_token_signed(const struct ipc_msg *reply, void *arg)
{
	struct issue *is = arg;
	char hash[64];

	if (!reply || reply->status != 0 || !reply->s1 || !(is->access_token = strdup(reply->s1))) {
		fail_unavailable(is);
		return;
	}
	if (!is->user_id[0] || !(is->scopes & OIDC_SCOPE_OPENID)) {
		respond(is, NULL);
		return;
	}
	char claims[CLAIMS_MAX];
	struct json_writer w;
	token_claims_begin(&w, claims, is, false);
	json_writer_int(&w, "auth_time", is->auth_time);
	if (is->nonce)
		json_writer_string(&w, "nonce", is->nonce);
	amr_member(&w, is->amr);
	at_hash(is->id_alg, is->access_token, hash);
	json_writer_string(&w, "at_hash", hash);
	if (is->sid[0])
		json_writer_string(&w, "sid", is->sid);
	json_writer_members(&w, is->user_claims);
	sign_claims(is, TOKEN_ID, is->id_alg, &w, id_token_signed);
}

/* The tokens of a code exchange, in one statement: written only while the
 * code is not marked replayed, holding its row lock until they are committed.
 * A replay marks the code under the same lock and then revokes by code_hash,
 * so it either finds these rows or makes this insert write none.
 * 1 stored, 0 the code was replayed meanwhile, -1 store error. */
static int store_code_tokens(const struct issue *is, const char *scope_text, const char *exp, const char *auth_time,
    const char *refresh_hash, const char *refresh_exp)
{
	const char *p[] = { is->code_hash, is->client_id, is->user_id, is->jti, is->family_id[0] ? is->family_id : NULL,
		scope_text, exp, is->family_id[0] ? refresh_hash : NULL, auth_time, is->amr, is->sid[0] ? is->sid : NULL,
		is->family_id[0] ? refresh_exp : NULL };
	PGresult *r = db_query(worker->db,
	    "WITH code AS (SELECT code_hash FROM oauth_codes WHERE code_hash = $1::bytea AND replayed_at IS NULL FOR UPDATE),"
	    " refresh AS (INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time, amr,"
	    "   session_id, expires_at) SELECT $8::bytea, $5::uuid, $2, $3::uuid, $6, to_timestamp($9::bigint), $10, $11::uuid,"
	    "   to_timestamp($12::bigint) FROM code WHERE $8::bytea IS NOT NULL)"
	    " INSERT INTO oauth_access_tokens (jti, client_id, user_id, family_id, code_hash, scope, expires_at)"
	    " SELECT $4, $2, $3::uuid, $5::uuid, code_hash, $6, to_timestamp($7::bigint) FROM code RETURNING jti",
	    12, p);
	if (!r)
		return -1;
	int stored = PQntuples(r) == 1;
	PQclear(r);
	return stored;
}

/* Refresh and client_credentials grants: no code to race with. A refresh
 * grant's two rows go in one statement, as a code exchange's do: both or
 * neither. false: store error. */
static bool store_tokens(const struct issue *is, const char *scope_text, const char *exp, const char *auth_time,
    const char *refresh_hash, const char *refresh_exp)
{
	/* A user's tokens are recorded so a replayed code or a revoked grant can
	 * kill them. A client_credentials token belongs to no grant: it is only
	 * written if it is revoked (oidc_userinfo.c), which keeps the machine-to-
	 * machine path free of a database write per token. */
	if (!is->user_id[0] && !is->family_id[0])
		return true;
	const char *p[] = { is->jti, is->client_id, is->user_id[0] ? is->user_id : NULL,
		is->family_id[0] ? is->family_id : NULL, scope_text, exp, is->family_id[0] ? refresh_hash : NULL, auth_time,
		is->amr, is->sid[0] ? is->sid : NULL, is->family_id[0] ? refresh_exp : NULL };
	return db_exec(worker->db,
	    "WITH refresh AS (INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,"
	    "   amr, session_id, expires_at) SELECT $7::bytea, $4::uuid, $2, $3::uuid, $5, to_timestamp($8::bigint), $9,"
	    "   $10::uuid, to_timestamp($11::bigint) WHERE $7::bytea IS NOT NULL)"
	    " INSERT INTO oauth_access_tokens (jti, client_id, user_id, family_id, scope, expires_at)"
	    " VALUES ($1, $2, $3::uuid, $4::uuid, $5, to_timestamp($6::bigint))",
	    11, p);
}

/* Records the tokens, then signs the access token (which chains the ID token). */
static void issue_start(struct issue *is, const char *scope_text)
{
	char exp[24], refresh_exp[24] = "", refresh_hash[OIDC_HASH_PARAM_LEN] = "", auth_time[24];

	is->iat = now_seconds();
	is->exp = is->iat + cfg.oidc_access_token_ttl;
	secure_token(is->jti);
	snprintf(exp, sizeof(exp), "%lld", (long long)is->exp);
	snprintf(auth_time, sizeof(auth_time), "%lld", (long long)is->auth_time);
	if (is->family_id[0]) {
		secure_token(is->refresh_token);
		oidc_token_hash_param(is->refresh_token, refresh_hash);
		snprintf(refresh_exp, sizeof(refresh_exp), "%lld", (long long)(is->iat + OIDC_REFRESH_TTL));
	}
	int stored = is->code_hash[0] ? store_code_tokens(is, scope_text, exp, auth_time, refresh_hash, refresh_exp)
	                              : store_tokens(is, scope_text, exp, auth_time, refresh_hash, refresh_exp) ? 1 : -1;
	if (stored == 0) {
		log_warnx("authorization code for client %s was replayed during its exchange; no tokens issued",
		    is->client_id);
		oidc_reply_error(is->ex, 400, "invalid_grant", "the authorization code was already used");
	} else if (stored < 0) {
		oidc_reply_error(is->ex, 503, "temporarily_unavailable", "could not store the tokens");
	}
	if (stored <= 0) {
		issue_free(is);
		return;
	}
	char claims[CLAIMS_MAX];
	struct json_writer w;
	token_claims_begin(&w, claims, is, true);
	json_writer_string(&w, "jti", is->jti);
	json_writer_string(&w, "client_id", is->client_id);
	json_writer_string(&w, "scope", scope_text);
	if (is->user_id[0])
		json_writer_int(&w, "auth_time", is->auth_time);
	if (is->user_claims)
		json_writer_members(&w, is->user_claims);
	sign_claims(is, TOKEN_ACCESS, is->at_alg, &w, access_token_signed);
}

/* A new issue for client; NULL: out of memory, answered already (503). */
static struct issue *issue_new(struct http_exchange *ex, const struct oidc_client *client,
    const struct token_request *tr)
{
	struct issue *is = calloc(1, sizeof(*is));
	if (!is) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	is->ex = ex;
	is->for_forward_auth = tr->resource != NULL;	/* checked: forward_auth_resource_ok */
	snprintf(is->client_id, sizeof(is->client_id), "%s", client->client_id);
	snprintf(is->id_alg, sizeof(is->id_alg), "%s", oidc_alg(client->id_token_alg));
	snprintf(is->at_alg, sizeof(is->at_alg), "%s", oidc_alg(client->access_token_alg));
	return is;
}

/* The grant check each grant starts with: unless allowed, answers 400
 * unauthorized_client naming grant_type. false: answered already. */
static bool grant_allowed(struct http_exchange *ex, bool allowed, const char *grant_type)
{
	char description[64];

	if (!allowed) {
		snprintf(description, sizeof(description), "this client may not use %s", grant_type);
		oidc_reply_error(ex, 400, "unauthorized_client", description);
	}
	return allowed;
}

/* Loads the user and fills the user part of is. false: replied already. */
static bool issue_for_user(struct issue *is, const char *user_id)
{
	struct oidc_user u;
	int rc = oidc_user_load(user_id, &u);
	if (rc < 0) {
		oidc_reply_error(is->ex, 503, "temporarily_unavailable", "the account store is unavailable");
		return false;
	}
	if (rc == 0 || u.disabled) {
		oidc_user_free(&u);
		oidc_reply_error(is->ex, 400, "invalid_grant", "the account is no longer active");
		return false;
	}
	snprintf(is->user_id, sizeof(is->user_id), "%s", user_id);
	snprintf(is->sub, sizeof(is->sub), "%s", user_id);
	is->user_claims = json_object();
	oidc_user_claims(is->user_claims, &u, is->scopes);
	oidc_user_free(&u);
	return true;
}

/* Runs a "mark used, return the previous state" UPDATE for a single-use
 * secret (authorization code or refresh token) of this client: $1 is the
 * secret's hash (left in hash for the caller), $2 the client id. Returns the
 * one row, or NULL when already answered (503 store down, 400 invalid). */
static PGresult *spend_secret(struct http_exchange *ex, const struct oidc_client *client, const char *secret,
    char hash[OIDC_HASH_PARAM_LEN], const char *sql, const char *invalid_description)
{
	oidc_token_hash_param(secret, hash);
	const char *params[] = { hash, client->client_id };
	PGresult *r = db_query(worker->db, sql, 2, params);
	if (!r) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "the token store is unavailable");
		return NULL;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_grant", invalid_description);
		return NULL;
	}
	return r;
}

static void grant_code(struct http_exchange *ex, const struct token_request *tr, const struct oidc_client *client)
{
	char hash[OIDC_HASH_PARAM_LEN], scope[128];
	struct issue *is;
	PGresult *r;

	if (!grant_allowed(ex, client->grants & OIDC_GRANT_CODE, "authorization_code"))
		return;
	/* Mark used and learn whether it already was, in one step: a code works
	 * once. A replay is marked too (replayed_at), so that the first exchange,
	 * if it has not stored its tokens yet, stores none (store_code_tokens). */
	r = spend_secret(ex, client, tr->code, hash,
	    "UPDATE oauth_codes c SET used_at = coalesce(c.used_at, now()),"
	    " replayed_at = CASE WHEN p.prev IS NULL THEN c.replayed_at ELSE coalesce(c.replayed_at, now()) END"
	    " FROM (SELECT code_hash, used_at AS prev FROM oauth_codes WHERE code_hash = $1::bytea FOR UPDATE) p"
	    " WHERE c.code_hash = p.code_hash AND c.client_id = $2"
	    " RETURNING p.prev IS NOT NULL, c.expires_at > now(), c.user_id, coalesce(c.session_id::text, ''),"
	    " c.redirect_uri, c.scope, c.nonce, coalesce(c.code_challenge, ''), floor(extract(epoch from c.auth_time))::bigint,"
	    " coalesce(c.amr, '')",
	    "the authorization code is invalid");
	if (!r)
		return;
	if (PQgetvalue(r, 0, 0)[0] == 't') {
		PQclear(r);
		oidc_revoke_code_tokens(hash);
		log_warnx("authorization code replayed by client %s from %s; its tokens are revoked", client->client_id,
		    ex->client_ip);
		oidc_reply_error(ex, 400, "invalid_grant", "the authorization code was already used");
		return;
	}
	if (PQgetvalue(r, 0, 1)[0] != 't') {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_grant", "the authorization code has expired");
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 4), tr->redirect_uri) != 0) {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_grant", "redirect_uri does not match the authorization request");
		return;
	}
	const char *challenge = PQgetvalue(r, 0, 7);
	if (*challenge) {
		uint8_t h[SHA256_LEN];
		char computed[64];
		if (!tr->code_verifier) {
			PQclear(r);
			oidc_reply_error(ex, 400, "invalid_grant", "code_verifier is required");
			return;
		}
		secure_sha256(tr->code_verifier, strlen(tr->code_verifier), h);
		base64url_encode(h, sizeof(h), computed);
		if (!secure_str_equal(computed, challenge)) {
			PQclear(r);
			oidc_reply_error(ex, 400, "invalid_grant", "code_verifier does not match the code_challenge");
			return;
		}
	} else if (tr->code_verifier) {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_grant", "code_verifier given but the authorization used no PKCE");
		return;
	}
	if (!(is = issue_new(ex, client, tr))) {
		PQclear(r);
		return;
	}
	if (oidc_scope_parse(PQgetvalue(r, 0, 5), strlen(PQgetvalue(r, 0, 5)), &is->scopes) < 0)
		is->scopes = 0;
	snprintf(is->sid, sizeof(is->sid), "%s", PQgetvalue(r, 0, 3));
	if (!PQgetisnull(r, 0, 6))
		is->nonce = strdup(PQgetvalue(r, 0, 6));
	is->auth_time = strtoll(PQgetvalue(r, 0, 8), NULL, 10);
	snprintf(is->amr, sizeof(is->amr), "%s", PQgetvalue(r, 0, 9));
	snprintf(is->code_hash, sizeof(is->code_hash), "%s", hash);
	char user_id[40];
	snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	if (!issue_for_user(is, user_id)) {
		issue_free(is);
		return;
	}
	if ((is->scopes & OIDC_SCOPE_OFFLINE) && (client->grants & OIDC_GRANT_REFRESH))
		random_uuid(is->family_id);
	issue_start(is, oidc_scope_string(is->scopes, scope, sizeof(scope)));
}

static void grant_refresh(struct http_exchange *ex, const struct token_request *tr, const struct oidc_client *client)
{
	char hash[OIDC_HASH_PARAM_LEN], scope[128], family[40], user_id[40];
	unsigned granted, asked;
	struct issue *is;
	PGresult *r;

	if (!grant_allowed(ex, client->grants & OIDC_GRANT_REFRESH, "refresh_token"))
		return;
	r = spend_secret(ex, client, tr->refresh_token, hash,
	    "UPDATE oauth_refresh_tokens t SET used_at = coalesce(t.used_at, now())"
	    " FROM (SELECT token_hash, used_at AS prev FROM oauth_refresh_tokens WHERE token_hash = $1::bytea FOR UPDATE) p"
	    " WHERE t.token_hash = p.token_hash AND t.client_id = $2"
	    " RETURNING p.prev IS NOT NULL, t.revoked_at IS NOT NULL, t.expires_at > now(), t.user_id, t.scope,"
	    " t.family_id, coalesce(floor(extract(epoch from t.auth_time))::bigint, 0), coalesce(t.amr, ''),"
	    " coalesce(t.session_id::text, '')",
	    "the refresh token is invalid");
	if (!r)
		return;
	snprintf(family, sizeof(family), "%s", PQgetvalue(r, 0, 5));
	if (PQgetvalue(r, 0, 0)[0] == 't') {
		PQclear(r);
		/* A spent token came back: one of the two holders is a thief. */
		oidc_revoke_family(family);
		log_warnx("refresh token reused for client %s from %s; token family revoked", client->client_id,
		    ex->client_ip);
		oidc_reply_error(ex, 400, "invalid_grant", "the refresh token was already used");
		return;
	}
	if (PQgetvalue(r, 0, 1)[0] == 't' || PQgetvalue(r, 0, 2)[0] != 't') {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_grant", "the refresh token is revoked or expired");
		return;
	}
	if (oidc_scope_parse(PQgetvalue(r, 0, 4), strlen(PQgetvalue(r, 0, 4)), &granted) < 0)
		granted = 0;
	asked = granted;
	if (tr->scope && (oidc_scope_parse(tr->scope, strlen(tr->scope), &asked) < 0 || (asked & ~granted))) {
		PQclear(r);
		oidc_reply_error(ex, 400, "invalid_scope", "scope exceeds what was granted");
		return;
	}
	if (!(is = issue_new(ex, client, tr))) {
		PQclear(r);
		return;
	}
	/* The family keeps its original grant; a narrower scope only narrows this access token. */
	is->scopes = asked | (granted & OIDC_SCOPE_OFFLINE);
	snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(r, 0, 3));
	is->auth_time = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	snprintf(is->amr, sizeof(is->amr), "%s", PQgetvalue(r, 0, 7));
	snprintf(is->sid, sizeof(is->sid), "%s", PQgetvalue(r, 0, 8));
	snprintf(is->family_id, sizeof(is->family_id), "%s", family);
	PQclear(r);
	if (!issue_for_user(is, user_id)) {
		oidc_revoke_family(family);
		issue_free(is);
		return;
	}
	issue_start(is, oidc_scope_string(is->scopes, scope, sizeof(scope)));
}

static void grant_client_credentials(struct http_exchange *ex, const struct token_request *tr,
    const struct oidc_client *client)
{
	unsigned asked = 0;
	char scope[128];
	struct issue *is;

	if (!grant_allowed(ex, (client->grants & OIDC_GRANT_CLIENT_CREDENTIALS) && client->has_secret,
	        "client_credentials"))
		return;
	/* No user here: only scopes that make sense without one, and that the client may have. */
	if (tr->scope && (oidc_scope_parse(tr->scope, strlen(tr->scope), &asked) < 0 ||
	                     (asked & (OIDC_SCOPE_OPENID | OIDC_SCOPE_OFFLINE)) || (asked & ~client->scopes))) {
		oidc_reply_error(ex, 400, "invalid_scope", "scope is not available to client_credentials");
		return;
	}
	if (!(is = issue_new(ex, client, tr)))
		return;
	is->scopes = asked;
	snprintf(is->sub, sizeof(is->sub), "%s", client->client_id);
	issue_start(is, oidc_scope_string(is->scopes, scope, sizeof(scope)));
}

/* ---- client authentication, with brute-force limits ----
 *
 * Failed client authentications are counted in shared memory (so per
 * instance) in fixed windows of LOGIN_WINDOW seconds: per client, for guesses
 * at the secret of a client that has one (a public client has nothing to
 * guess), and per IP, for every failure (guesses spread over clients, unknown
 * client ids). Over either limit the answer is 429 before the secret is even
 * compared, so during the lockout the right secret is refused too and an
 * attempt teaches the guesser nothing.
 *
 * A success resets neither counter. Not the IP one: an attacker holding one
 * valid client could clear its budget while guessing at the others. And not
 * the client one either, unlike Keycloak's reset on a user's successful
 * login: a machine client authenticates every few seconds, so a reset on
 * success would hand a distributed guesser a fresh budget each time and the
 * per-client cap would mean nothing. The price: a client that fails often
 * (a replica with a stale secret) locks itself out for the rest of the
 * window; the lockout is logged. */

static void client_auth_throttled(struct http_exchange *ex, int retry_after)
{
	char retry[16];

	snprintf(retry, sizeof(retry), "%d", retry_after > 0 ? retry_after : 1);
	http_reply_header(ex, "Retry-After", retry);
	oidc_reply_error(ex, 429, "invalid_client", "too many failed client authentication attempts; retry later");
}

/* Counts one failure against key; logs once, when the lockout starts. */
static void client_auth_count(const char *key, int max, const char *what, const char *ip)
{
	if (rate_limit_hit(worker->shm->limits, key, now_seconds(), cfg.login_window) == max)
		log_warnx("client authentication locked for %s after %d failures (the last from %s) for up to %d s",
		    what, max, ip, cfg.login_window);
}

/* Shared with introspection and revocation: authenticates the client of a
 * parsed request. NULL: already answered (401 invalid_client, 429 when over
 * the failure limits, or 503). */
struct oidc_client *oidc_authenticate_client(struct http_exchange *ex, const struct token_request *tr,
    bool allow_public)
{
	char ip_key[96], client_key[16 + OIDC_CLIENT_ID_MAX], what[32 + OIDC_CLIENT_ID_MAX];
	struct oidc_client *c;
	bool db_error, ok, guess;
	int retry;

	client_limit_key("client-ip:", ex->client_ip, ip_key, sizeof(ip_key));
	if (rate_limit_peek(worker->shm->limits, ip_key, now_seconds(), cfg.login_window,
	        cfg.client_auth_ip_max_attempts, &retry) >= cfg.client_auth_ip_max_attempts) {
		log_debug("client authentication throttled for IP %s", ex->client_ip);
		client_auth_throttled(ex, retry);
		return NULL;
	}
	c = oidc_client_find(tr->client_id, &db_error);
	if (db_error) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "the client store is unavailable");
		return NULL;
	}
	if (c && c->has_secret) {
		snprintf(client_key, sizeof(client_key), "client:%s", c->client_id);
		if (rate_limit_peek(worker->shm->limits, client_key, now_seconds(), cfg.login_window,
		        cfg.client_auth_max_attempts, &retry) >= cfg.client_auth_max_attempts) {
			oidc_client_release(c);
			log_debug("client authentication throttled for client %.64s", tr->client_id);
			client_auth_throttled(ex, retry);
			return NULL;
		}
	}
	if (!c)
		ok = false;
	else if (c->has_secret)
		ok = tr->auth != CLIENT_AUTH_NONE && oidc_client_secret_ok(c, tr->client_secret);
	else
		ok = allow_public && tr->auth == CLIENT_AUTH_NONE;
	if (!ok) {
		guess = c && c->has_secret && tr->auth != CLIENT_AUTH_NONE;
		oidc_client_release(c);
		log_info("client authentication failed for %.64s from %s", tr->client_id, ex->client_ip);
		snprintf(what, sizeof(what), "IP %s", ex->client_ip);
		client_auth_count(ip_key, cfg.client_auth_ip_max_attempts, what, ex->client_ip);
		if (guess) {
			snprintf(what, sizeof(what), "client %s", tr->client_id);
			client_auth_count(client_key, cfg.client_auth_max_attempts, what, ex->client_ip);
		}
		http_reply_header(ex, "WWW-Authenticate", "Basic realm=\"dreamauth\"");
		oidc_reply_error(ex, 401, "invalid_client", "client authentication failed");
		return NULL;
	}
	return c;
}

/* Parses the body + Authorization header; NULL-equivalent (-1) when already answered. */
int oidc_parse_token_request(struct http_exchange *ex, enum token_endpoint ep, struct token_request *tr)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	const char *error, *description;
	char auth_buf[2048];

	if (!http_exchange_is_form(ex)) {
		oidc_reply_error(ex, 400, "invalid_request", "send application/x-www-form-urlencoded");
		return -1;
	}
	if (auth && auth->len >= sizeof(auth_buf)) {
		oidc_reply_error(ex, 400, "invalid_request", "Authorization header too long");
		return -1;
	}
	if (auth)
		snprintf(auth_buf, sizeof(auth_buf), "%.*s", (int)auth->len, auth->p);
	if (token_request_parse(ep, ex->body, ex->body_len, auth ? auth_buf : NULL, auth ? auth->len : 0, tr, &error,
	        &description) < 0) {
		secure_wipe(auth_buf, sizeof(auth_buf));
		int status = 400;
		if (!strcmp(error, "invalid_client")) {
			status = 401;
			http_reply_header(ex, "WWW-Authenticate", "Basic realm=\"dreamauth\"");
		}
		oidc_reply_error(ex, status, error, description);
		return -1;
	}
	secure_wipe(auth_buf, sizeof(auth_buf));
	return 0;
}

void handle_oauth_token(struct http_exchange *ex)
{
	struct token_request tr;
	struct oidc_client *client;

	if (!oidc_enabled(ex) || oidc_parse_token_request(ex, TOKEN_EP_TOKEN, &tr) < 0)
		return;
	client = oidc_authenticate_client(ex, &tr, tr.grant != GRANT_CLIENT_CREDENTIALS);
	if (client && !forward_auth_resource_ok(ex, tr.resource)) {
		oidc_client_release(client);
		client = NULL;	/* answered: invalid_target */
	}
	if (client) {
		switch (tr.grant) {
		case GRANT_AUTHORIZATION_CODE: grant_code(ex, &tr, client); break;
		case GRANT_REFRESH_TOKEN: grant_refresh(ex, &tr, client); break;
		case GRANT_CLIENT_CREDENTIALS: grant_client_credentials(ex, &tr, client); break;
		default: oidc_reply_error(ex, 400, "unsupported_grant_type", "grant_type is not supported"); break;
		}
		oidc_client_release(client);
	}
	token_request_free(&tr);
}
