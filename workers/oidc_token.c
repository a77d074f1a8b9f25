/*
 * POST /oauth2/token (RFC 6749 §3.2): authorization_code (single use, PKCE
 * S256, replay revokes what the code produced), refresh_token (opaque,
 * rotating; reuse of a spent token revokes its whole family) and
 * client_credentials. Client authentication: client_secret_basic,
 * client_secret_post, or none for public clients (PKCE is their proof);
 * failures are limited per client and per IP (429 + Retry-After).
 * Access tokens are RFC 9068 JWTs whose jti is recorded in
 * oauth_access_tokens (revocation, introspection); ID tokens carry at_hash.
 * Every step that needs the database is one asynchronous call to the store
 * (store/oauth_tokens.c), which also decides what a race between instances
 * leaves alive. The tokens are recorded before they are signed by the signer
 * over IPC: access token first, then the ID token that hashes it. An RFC 8707
 * resource (FORWARD_AUTH_AUDIENCE only) adds itself to the access token's aud
 * (workers/forward_auth.h).
 */
#include "workers/handlers.h"
#include "workers/acr.h"
#include "common/config.h"
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
#include "workers/retry_after.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

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
	char refresh_hash[OIDC_HASH_PARAM_LEN];	/* empty: no refresh token */
	bool for_forward_auth;		/* RFC 8707 resource: aud names FORWARD_AUTH_AUDIENCE too */
	json_t *user_claims;		/* owned: profile/email/groups by scope */
	json_t *app_claims;		/* owned: roles, permissions in this client (access token
					 * always, ID token with scope roles) */
	char *access_token;		/* owned, once signed */
	int64_t iat, exp;
};

static void issue_free(struct issue *is)
{
	free(is->nonce);
	json_decref(is->user_claims);
	json_decref(is->app_claims);
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
	json_writer_string(&w, "acr", acr_of_amr(is->amr));
	at_hash(is->id_alg, is->access_token, hash);
	json_writer_string(&w, "at_hash", hash);
	if (is->sid[0])
		json_writer_string(&w, "sid", is->sid);
	json_writer_members(&w, is->user_claims);
	if ((is->scopes & OIDC_SCOPE_ROLES) && is->app_claims)
		json_writer_members(&w, is->app_claims);
	sign_claims(is, TOKEN_ID, is->id_alg, &w, id_token_signed);
}

/* The new tokens' identifiers and lifetimes, before the store records them. */
static void issue_prepare(struct issue *is, bool with_refresh_token)
{
	is->iat = now_seconds();
	is->exp = is->iat + cfg.oidc_access_token_ttl;
	secure_token(is->jti);
	if (with_refresh_token) {
		secure_token(is->refresh_token);
		oidc_token_hash_param(is->refresh_token, is->refresh_hash);
	}
}

/* The tokens are recorded: sign the access token (which chains the ID token). */
static void issue_sign(struct issue *is)
{
	char claims[CLAIMS_MAX], scope[128];
	struct json_writer w;

	oidc_scope_string(is->scopes, scope, sizeof(scope));
	token_claims_begin(&w, claims, is, true);
	json_writer_string(&w, "jti", is->jti);
	json_writer_string(&w, "client_id", is->client_id);
	json_writer_string(&w, "scope", scope);
	if (is->user_id[0]) {
		/* RFC 9068 §2.2.1: how the user signed in, for resource servers
		 * (and /api/verify's X-Auth-AMR) */
		json_writer_int(&w, "auth_time", is->auth_time);
		amr_member(&w, is->amr);
		json_writer_string(&w, "acr", acr_of_amr(is->amr));
	}
	if (is->user_claims)
		json_writer_members(&w, is->user_claims);
	if (is->app_claims)
		json_writer_members(&w, is->app_claims);
	sign_claims(is, TOKEN_ACCESS, is->at_alg, &w, access_token_signed);
}

/* A new issue for client; NULL: out of memory, answered already (503). */
static struct issue *issue_new(struct http_exchange *ex, const struct oidc_client *client, bool for_forward_auth)
{
	struct issue *is = calloc(1, sizeof(*is));
	if (!is) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	is->ex = ex;
	is->for_forward_auth = for_forward_auth;	/* checked: forward_auth_resource_ok */
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

/* The user the store read with the tokens (its reply's first columns)
 * fills the user part of is. false: none or disabled. */
static bool issue_for_user(struct issue *is, const struct store_reply *r)
{
	struct oidc_user u;

	if (!oidc_user_from_reply(r, &u))
		return false;
	snprintf(is->user_id, sizeof(is->user_id), "%s", u.id);
	snprintf(is->sub, sizeof(is->sub), "%s", u.id);
	is->user_claims = json_object();
	oidc_user_claims(is->user_claims, &u, is->scopes & ~(unsigned)OIDC_SCOPE_ROLES);
	is->app_claims = json_object();
	oidc_user_app_claims(is->app_claims, &u);
	oidc_user_free(&u);
	return true;
}

/* A grant whose store call failed, or whose answer was not usable. */
static void issue_store_failed(struct issue *is, const char *description)
{
	oidc_reply_store_unavailable(is->ex, description);
	issue_free(is);
}

static void issue_refused(struct issue *is, const char *error, const char *description)
{
	oidc_reply_error(is->ex, 400, error, description);
	issue_free(is);
}

/* ---- authorization_code ----
 * Two store calls: the code is spent (a replay is marked and revokes what the
 * code gave), then its tokens are stored with the user read, only while the
 * code is not replayed: a replay that lands in between leaves no live token
 * (store/oauth_tokens.c). */

static void code_issued(const struct store_reply *r, void *arg)
{
	struct issue *is = arg;
	const char *outcome = store_text(r, 0, OAUTH_ISSUED_OUTCOME);

	if (r->status != STORE_OK || r->n_rows != 1) {
		issue_store_failed(is, "could not store the tokens");
	} else if (!strcmp(outcome, "replayed")) {
		log_warnx("authorization code for client %s was replayed during its exchange; no tokens issued",
		    is->client_id);
		issue_refused(is, "invalid_grant", "the authorization code was already used");
	} else if (strcmp(outcome, "issued") != 0 || !issue_for_user(is, r)) {
		issue_refused(is, "invalid_grant", "the account is no longer active");
	} else {
		issue_sign(is);
	}
}

/* The code is valid for this request: its grant, then its tokens stored. */
static void code_tokens_store(struct oidc_token_call *call, const struct store_reply *r)
{
	const char *scope = store_text(r, 0, OAUTH_CODE_SCOPE);
	char scope_text[128];
	struct issue *is = issue_new(call->ex, call->client, call->tr.resource != NULL);

	if (!is)
		return;
	if (oidc_scope_parse(scope, strlen(scope), &is->scopes) < 0)
		is->scopes = 0;
	snprintf(is->sid, sizeof(is->sid), "%s", store_text(r, 0, OAUTH_CODE_SESSION_ID));
	if (!store_is_null(r, 0, OAUTH_CODE_NONCE))
		is->nonce = strdup(store_text(r, 0, OAUTH_CODE_NONCE));
	is->auth_time = store_int(r, 0, OAUTH_CODE_AUTH_TIME);
	snprintf(is->amr, sizeof(is->amr), "%s", store_text(r, 0, OAUTH_CODE_AMR));
	snprintf(is->user_id, sizeof(is->user_id), "%s", store_text(r, 0, OAUTH_CODE_USER_ID));
	snprintf(is->code_hash, sizeof(is->code_hash), "%s", call->hash);
	if ((is->scopes & OIDC_SCOPE_OFFLINE) && (call->client->grants & OIDC_GRANT_REFRESH))
		random_uuid(is->family_id);
	issue_prepare(is, is->family_id[0] != '\0');
	oidc_scope_string(is->scopes, scope_text, sizeof(scope_text));
	STORE_CALL(STORE_OP_OAUTH_CODE_ISSUE, code_issued, is, STORE_V_TEXT(is->code_hash), STORE_V_TEXT(is->client_id),
	    STORE_V_TEXT(is->user_id), STORE_V_TEXT(is->jti), STORE_V_TEXT_OR_NULL(is->family_id), STORE_V_TEXT(scope_text),
	    STORE_V_INT(is->exp), STORE_V_TEXT_OR_NULL(is->refresh_hash), STORE_V_INT(is->auth_time), STORE_V_TEXT(is->amr),
	    STORE_V_TEXT_OR_NULL(is->sid), is->family_id[0] ? STORE_V_INT(is->iat + OIDC_REFRESH_TTL) : STORE_V_NULL);
}

/* PKCE (RFC 7636 §4.6) against the code's challenge; NULL: passed. */
static const char *pkce_refusal(const struct token_request *tr, const char *challenge)
{
	uint8_t h[SHA256_LEN];
	char computed[64];

	if (!*challenge)
		return tr->code_verifier ? "code_verifier given but the authorization used no PKCE" : NULL;
	if (!tr->code_verifier)
		return "code_verifier is required";
	secure_sha256(tr->code_verifier, strlen(tr->code_verifier), h);
	base64url_encode(h, sizeof(h), computed);
	return secure_str_equal(computed, challenge) ? NULL : "code_verifier does not match the code_challenge";
}

static void code_spent(const struct store_reply *r, void *arg)
{
	struct oidc_token_call *call = arg;
	struct http_exchange *ex = call->ex;
	const char *refusal = NULL;

	if (r->status != STORE_OK) {
		oidc_reply_store_unavailable(ex, "the token store is unavailable");
	} else if (r->n_rows != 1) {
		refusal = "the authorization code is invalid";
	} else if (store_bool(r, 0, OAUTH_CODE_REPLAYED)) {
		log_warnx("authorization code replayed by client %s from %s; its tokens are revoked",
		    call->client->client_id, ex->client_ip);
		refusal = "the authorization code was already used";
	} else if (!store_bool(r, 0, OAUTH_CODE_LIVE)) {
		refusal = "the authorization code has expired";
	} else if (strcmp(store_text(r, 0, OAUTH_CODE_REDIRECT_URI), call->tr.redirect_uri) != 0) {
		refusal = "redirect_uri does not match the authorization request";
	} else if (!(refusal = pkce_refusal(&call->tr, store_text(r, 0, OAUTH_CODE_CHALLENGE)))) {
		code_tokens_store(call, r);
	}
	if (refusal)
		oidc_reply_error(ex, 400, "invalid_grant", refusal);
	oidc_token_call_free(call);
}

static void grant_code(struct oidc_token_call *call)
{
	if (!grant_allowed(call->ex, call->client->grants & OIDC_GRANT_CODE, "authorization_code")) {
		oidc_token_call_free(call);
		return;
	}
	oidc_token_hash_param(call->tr.code, call->hash);
	STORE_CALL(STORE_OP_OAUTH_CODE_SPEND, code_spent, call, STORE_V_TEXT(call->hash),
	    STORE_V_TEXT(call->client->client_id));
}

/* ---- refresh_token ----
 * One store call: the presented token spent and the new pair written in one
 * transaction under the family's lock; a reuse of a spent token revokes the
 * whole family, including what a racing rotation wrote (store/oauth_tokens.c). */

static void refreshed(const struct store_reply *r, void *arg)
{
	struct issue *is = arg;
	const char *outcome = store_text(r, 0, OAUTH_REFRESHED_OUTCOME);
	const char *scope = store_text(r, 0, OAUTH_REFRESHED_SCOPE);

	if (r->status != STORE_OK || r->n_rows != 1) {
		issue_store_failed(is, "the token store is unavailable");
	} else if (!strcmp(outcome, "reused")) {
		/* A spent token came back: one of the two holders is a thief. */
		log_warnx("refresh token reused for client %s from %s; token family revoked", is->client_id,
		    is->ex->client_ip);
		issue_refused(is, "invalid_grant", "the refresh token was already used");
	} else if (!strcmp(outcome, "revoked")) {
		issue_refused(is, "invalid_grant", "the refresh token is revoked or expired");
	} else if (!strcmp(outcome, "scope")) {
		issue_refused(is, "invalid_scope", "scope exceeds what was granted");
	} else if (!strcmp(outcome, "inactive")) {
		issue_refused(is, "invalid_grant", "the account is no longer active");
	} else if (strcmp(outcome, "issued") != 0) {
		issue_refused(is, "invalid_grant", "the refresh token is invalid");
	} else {
		/* The store narrowed the scope to what was asked, keeping offline_access. */
		if (oidc_scope_parse(scope, strlen(scope), &is->scopes) < 0)
			is->scopes = 0;
		snprintf(is->family_id, sizeof(is->family_id), "%s", store_text(r, 0, OAUTH_REFRESHED_FAMILY_ID));
		is->auth_time = store_int(r, 0, OAUTH_REFRESHED_AUTH_TIME);
		snprintf(is->amr, sizeof(is->amr), "%s", store_text(r, 0, OAUTH_REFRESHED_AMR));
		snprintf(is->sid, sizeof(is->sid), "%s", store_text(r, 0, OAUTH_REFRESHED_SESSION_ID));
		if (issue_for_user(is, r))
			issue_sign(is);
		else
			issue_refused(is, "invalid_grant", "the account is no longer active");
	}
}

static void grant_refresh(struct oidc_token_call *call)
{
	const struct token_request *tr = &call->tr;
	struct issue *is;

	if (grant_allowed(call->ex, call->client->grants & OIDC_GRANT_REFRESH, "refresh_token") &&
	    (is = issue_new(call->ex, call->client, call->tr.resource != NULL))) {
		issue_prepare(is, true);
		oidc_token_hash_param(tr->refresh_token, call->hash);
		STORE_CALL(STORE_OP_OAUTH_REFRESH_ROTATE, refreshed, is, STORE_V_TEXT(call->hash),
		    STORE_V_TEXT(is->client_id), tr->scope ? STORE_V_TEXT(tr->scope) : STORE_V_NULL, STORE_V_TEXT(is->jti),
		    STORE_V_TEXT(is->refresh_hash), STORE_V_INT(is->exp), STORE_V_INT(is->iat + OIDC_REFRESH_TTL));
	}
	oidc_token_call_free(call);
}

/* ---- client_credentials ---- */

static void client_token_stored(const struct store_reply *r, void *arg)
{
	struct issue *is = arg;

	if (r->status != STORE_OK)
		issue_store_failed(is, "could not store the tokens");
	else
		issue_sign(is);
}

static void grant_client_credentials(struct oidc_token_call *call)
{
	const struct token_request *tr = &call->tr;
	const struct oidc_client *client = call->client;
	unsigned asked = 0;
	char scope[128];
	struct issue *is;

	if (!grant_allowed(call->ex, (client->grants & OIDC_GRANT_CLIENT_CREDENTIALS) && client->has_secret,
	        "client_credentials")) {
		oidc_token_call_free(call);
		return;
	}
	/* No user here: only scopes that make sense without one, and that the client may have. */
	if (tr->scope && (oidc_scope_parse(tr->scope, strlen(tr->scope), &asked) < 0 ||
	                     (asked & (OIDC_SCOPE_OPENID | OIDC_SCOPE_OFFLINE)) || (asked & ~client->scopes))) {
		oidc_reply_error(call->ex, 400, "invalid_scope", "scope is not available to client_credentials");
		oidc_token_call_free(call);
		return;
	}
	if ((is = issue_new(call->ex, client, call->tr.resource != NULL))) {
		is->scopes = asked;
		snprintf(is->sub, sizeof(is->sub), "%s", client->client_id);
		issue_prepare(is, false);
		/* Stored like every access token, so that revoking it (or removing
		 * its client) reaches every instance. */
		STORE_CALL(STORE_OP_OAUTH_CLIENT_TOKEN_STORE, client_token_stored, is, STORE_V_TEXT(is->jti),
		    STORE_V_TEXT(is->client_id), STORE_V_TEXT(oidc_scope_string(is->scopes, scope, sizeof(scope))),
		    STORE_V_INT(is->exp));
	}
	oidc_token_call_free(call);
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
	http_reply_retry_after(ex, retry_after > 0 ? retry_after : 1);
	oidc_reply_error(ex, 429, "invalid_client", "too many failed client authentication attempts; retry later");
}

/* Counts one failure against key; logs once, when the lockout starts. */
static void client_auth_count(const char *key, int max, const char *what, const char *ip)
{
	if (rate_limit_hit(worker->shm->limits, key, now_seconds(), cfg.login_window) == max)
		log_warnx("client authentication locked for %s after %d failures (the last from %s) for up to %d s",
		    what, max, ip, cfg.login_window);
}

/* An authentication waiting for its client's lookup. */
struct pending_authentication {
	struct http_exchange *ex;
	const struct token_request *tr;
	bool allow_public;
	char ip_key[96];
	oidc_client_authenticated_fn done;
	void *arg;
};

/* The checks after the lookup: the client's own failure limit, then its
 * secret (or, for a public client, the absence of one). c is consumed:
 * returned when authenticated, else released (and the request answered). */
static struct oidc_client *client_check(const struct pending_authentication *a, struct oidc_client *c)
{
	struct http_exchange *ex = a->ex;
	const struct token_request *tr = a->tr;
	char client_key[16 + OIDC_CLIENT_ID_MAX], what[32 + OIDC_CLIENT_ID_MAX];
	bool ok, guess;
	int retry;

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
		ok = a->allow_public && tr->auth == CLIENT_AUTH_NONE;
	if (ok)
		return c;
	guess = c && c->has_secret && tr->auth != CLIENT_AUTH_NONE;
	oidc_client_release(c);
	log_info("client authentication failed for %.64s from %s", tr->client_id, ex->client_ip);
	snprintf(what, sizeof(what), "IP %s", ex->client_ip);
	client_auth_count(a->ip_key, cfg.client_auth_ip_max_attempts, what, ex->client_ip);
	if (guess) {
		snprintf(what, sizeof(what), "client %s", tr->client_id);
		client_auth_count(client_key, cfg.client_auth_max_attempts, what, ex->client_ip);
	}
	http_reply_header(ex, "WWW-Authenticate", "Basic realm=\"dreamauth\"");
	oidc_reply_error(ex, 401, "invalid_client", "client authentication failed");
	return NULL;
}

static void client_found(struct oidc_client *c, int rc, void *arg)
{
	struct pending_authentication *a = arg;
	struct oidc_client *authenticated = NULL;
	struct http_exchange *ex = a->ex;
	oidc_client_authenticated_fn done = a->done;
	void *done_arg = a->arg;

	if (rc < 0)
		oidc_reply_store_unavailable(ex, "the client store is unavailable");
	else
		authenticated = client_check(a, c);
	free(a);
	done(ex, authenticated, done_arg);
}

/* Shared with introspection and revocation: authenticates the client of a
 * parsed request (see oidc.h). */
void oidc_authenticate_client(struct http_exchange *ex, const struct token_request *tr, bool allow_public,
    oidc_client_authenticated_fn done, void *arg)
{
	struct pending_authentication *a = calloc(1, sizeof(*a));
	int retry;

	if (!a) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		done(ex, NULL, arg);
		return;
	}
	*a = (struct pending_authentication){ .ex = ex, .tr = tr, .allow_public = allow_public, .done = done, .arg = arg };
	client_limit_key("client-ip:", ex->client_ip, a->ip_key, sizeof(a->ip_key));
	if (rate_limit_peek(worker->shm->limits, a->ip_key, now_seconds(), cfg.login_window,
	        cfg.client_auth_ip_max_attempts, &retry) >= cfg.client_auth_ip_max_attempts) {
		log_debug("client authentication throttled for IP %s", ex->client_ip);
		client_auth_throttled(ex, retry);
		free(a);
		done(ex, NULL, arg);
		return;
	}
	oidc_client_find(tr->client_id, client_found, a);
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

struct oidc_token_call *oidc_token_call_new(struct http_exchange *ex, enum token_endpoint ep)
{
	struct oidc_token_call *call;

	if (!oidc_enabled(ex))
		return NULL;
	if (!(call = calloc(1, sizeof(*call)))) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	call->ex = ex;
	/* Parsed in place: tr's pointers may point into tr itself. */
	if (oidc_parse_token_request(ex, ep, &call->tr) < 0) {
		free(call);
		return NULL;
	}
	return call;
}

void oidc_token_call_free(struct oidc_token_call *call)
{
	oidc_client_release(call->client);
	json_decref(call->claims);
	token_request_free(&call->tr);
	secure_wipe(call, sizeof(*call));	/* the Basic credentials lived in tr */
	free(call);
}

static void token_client_authenticated(struct http_exchange *ex, struct oidc_client *client, void *arg)
{
	struct oidc_token_call *call = arg;

	if (!client) {
		oidc_token_call_free(call);
		return;
	}
	call->client = client;
	if (!forward_auth_resource_ok(ex, call->tr.resource)) {
		oidc_token_call_free(call);	/* answered: invalid_target */
		return;
	}
	switch (call->tr.grant) {
	case GRANT_AUTHORIZATION_CODE: grant_code(call); break;
	case GRANT_REFRESH_TOKEN: grant_refresh(call); break;
	case GRANT_CLIENT_CREDENTIALS: grant_client_credentials(call); break;
	default:
		oidc_reply_error(ex, 400, "unsupported_grant_type", "grant_type is not supported");
		oidc_token_call_free(call);
		break;
	}
}

void handle_oauth_token(struct http_exchange *ex)
{
	struct oidc_token_call *call = oidc_token_call_new(ex, TOKEN_EP_TOKEN);

	if (call)
		oidc_authenticate_client(ex, &call->tr, call->tr.grant != GRANT_CLIENT_CREDENTIALS,
		    token_client_authenticated, call);
}
