/*
 * The two WebAuthn ceremonies' second halves (see auth_passkey.h):
 *
 * verify-registration: everything that needs no database first, through
 * webauthn_verify_registration (clientDataJSON type, challenge, origin,
 * crossOrigin; rpIdHash, UP, UV when PASSKEY_USER_VERIFICATION=required;
 * the COSE key; the attestation statement and PASSKEY_ATTESTATION's policy),
 * then one store operation takes the challenge, checks it was issued to
 * this browser for this account (or this sign-up) and stores the passkey
 * (and the new account) in the same transaction. A ceremony refused here
 * discards its challenge, so each is used once whatever happens.
 *
 * verify-authentication: the store takes the challenge and loads the
 * credential the assertion names; then webauthn_verify_assertion checks
 * clientDataJSON, authenticator data and the signature with the stored key;
 * then the store records the use (counter, backup state, last used) and, for
 * a second factor, ends the password sign-in it completes. Sessions made
 * here have amr "hwk" (+ "user", "mfa" with user verification; "pwd" first
 * and "mfa" after a password).
 *
 * Every refusal is a 4xx {error, error_description} that stored nothing but
 * the challenge's (single) use.
 */
#include "workers/auth_passkey.h"
#include "workers/two_factor.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/base64url.h"
#include "proto/json_body.h"
#include "proto/webauthn.h"
#include "proto/webauthn_credential_json.h"
#include "workers/store_client.h"
#include "workers/audit.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLBACK_MAX_LEN 2048

static const int64_t allowed_algs[] = { COSE_ALG_EDDSA, COSE_ALG_ES256, COSE_ALG_RS256 };

/* The challenge the browser signed, as bytes, from clientDataJSON: the store
 * will say whether this server issued it, to this browser, and still wants
 * it. false when clientDataJSON cannot even say (malformed). */
static bool signed_challenge(const uint8_t *client_data, size_t len, uint8_t *out, size_t *out_len, const char **why)
{
	struct webauthn_client_data cd;
	enum webauthn_error e = webauthn_client_data_parse(client_data, len, &cd);
	if (e != WEBAUTHN_OK) {
		*why = webauthn_error_text(e);
		return false;
	}
	long n = base64url_decode(cd.challenge, strlen(cd.challenge), out, WEBAUTHN_CHALLENGE_MAX);
	webauthn_client_data_free(&cd);
	if (n < WEBAUTHN_CHALLENGE_MIN) {
		*why = "the clientDataJSON challenge is not one this server issues";
		return false;
	}
	*out_len = (size_t)n;
	return true;
}

/* Errors in the bytes themselves (400), as opposed to checks they fail. */
static bool malformed_error(enum webauthn_error e)
{
	switch (e) {
	case WEBAUTHN_ERR_ARGUMENT:
	case WEBAUTHN_ERR_CLIENT_DATA_TOO_LARGE:
	case WEBAUTHN_ERR_CLIENT_DATA_MALFORMED:
	case WEBAUTHN_ERR_CLIENT_DATA_MEMBER:
	case WEBAUTHN_ERR_AUTH_DATA_MALFORMED:
	case WEBAUTHN_ERR_AUTH_DATA_TRAILING:
	case WEBAUTHN_ERR_CREDENTIAL_ID_LENGTH:
	case WEBAUTHN_ERR_EXTENSIONS_MALFORMED:
	case WEBAUTHN_ERR_COSE_KEY_MALFORMED:
	case WEBAUTHN_ERR_ATTESTATION_MALFORMED:
	case WEBAUTHN_ERR_ATTESTATION_STATEMENT: return true;
	default: return false;
	}
}

static void fill_expectations(struct webauthn_expectations *e, const uint8_t *challenge, size_t challenge_len)
{
	*e = (struct webauthn_expectations){
		.challenge = challenge,
		.challenge_len = challenge_len,
		.rp_id = cfg.passkey_rp_id,
		.origins = (const char *const *)cfg.passkey_origins,
		.origin_count = (size_t)cfg.n_passkey_origins,
		.require_user_verification = cfg.passkey_user_verification == CONFIG_UV_REQUIRED,
	};
}

static const char *callback_of(const json_t *body)
{
	const char *rd = json_body_string(body, "callbackURL", CALLBACK_MAX_LEN, NULL);
	return rd ? rd : "";
}

/* PASSKEY_TRUST_ANCHORS_FILE's certificates, built once per worker. */
static X509_STORE *trust_anchors(void)
{
	static X509_STORE *store;
	static bool tried;
	if (!tried && cfg.passkey_trust_anchors_pem) {
		tried = true;
		store = webauthn_trust_anchors_from_pem(cfg.passkey_trust_anchors_pem, strlen(cfg.passkey_trust_anchors_pem));
		if (!store)
			log_errorx("passkey: PASSKEY_TRUST_ANCHORS_FILE holds no usable certificate");
	}
	return store;
}

/* ---- a refusal that first discards the challenge ---- */

struct discard {
	struct http_exchange *ex;
	int status;
	char code[40];
	char why[400];
};

static void discarded(const struct store_reply *r, void *arg)
{
	struct discard *d = arg;
	(void)r;	/* a challenge the store could not discard expires unused */
	http_reply_error(d->ex, d->status, d->code, d->why);
	free(d);
}

static void refuse_and_discard(struct http_exchange *ex, const char *challenge_hash, const char *binding_hash,
    int status, const char *code, const char *why)
{
	struct discard *d = calloc(1, sizeof(*d));
	log_info("passkey refused (%s): %s, from %s", code, why, ex->client_ip);
	if (!d) {
		http_reply_error(ex, status, code, why);
		return;
	}
	*d = (struct discard){ .ex = ex, .status = status };
	snprintf(d->code, sizeof(d->code), "%s", code);
	snprintf(d->why, sizeof(d->why), "%s", why);
	STORE_CALL(STORE_OP_PASSKEY_CHALLENGE_DISCARD, discarded, d, STORE_V_TEXT(challenge_hash),
	    STORE_V_TEXT(binding_hash));
}

static void refuse(struct http_exchange *ex, int status, const char *code, const char *why)
{
	log_info("passkey refused (%s): %s, from %s", code, why, ex->client_ip);
	http_reply_error(ex, status, code, why);
}

/* The store's refusals of a taken challenge, as both ceremonies answer them;
 * false for a word that is not one of these. */
static bool refuse_challenge_outcome(struct http_exchange *ex, const char *outcome)
{
	static const struct {
		const char *outcome;
		int status;
		const char *code, *why;
	} answers[] = {
		{ "challenge_unknown", 400, "challenge_not_found",
		    "this challenge is unknown, was issued to another browser, or was already used; ask for new options" },
		{ "challenge_expired", 400, "challenge_expired", "this challenge has expired; ask for new options" },
		{ "wrong_purpose", 400, "challenge_mismatch", "this challenge was issued for another ceremony" },
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		if (!strcmp(outcome, answers[i].outcome)) {
			refuse(ex, answers[i].status, answers[i].code, answers[i].why);
			return true;
		}
	return false;
}

/* ---- verify-registration ---- */

struct registration {
	struct http_exchange *ex;
	struct webauthn_credential cred;
	char challenge_hash[PASSKEY_HASH_HEX_LEN], binding_hash[PASSKEY_HASH_HEX_LEN];
	char transports[WEBAUTHN_TRANSPORTS_TEXT_MAX];
	char name[PASSKEY_NAME_MAX + 1];
	char rd[CALLBACK_MAX_LEN + 1];
	char user_id[40], passkey_id[40];
};

static void registration_answer(struct registration *g, int status, const struct session_entry *s)
{
	char cred_id[BASE64URL_ENCODED_LEN(WEBAUTHN_CREDENTIAL_ID_MAX) + 1];
	base64url_encode(g->cred.id, g->cred.id_len, cred_id);
	json_t *passkey = json_pack("{s:s,s:s,s:s,s:s,s:i,s:b,s:s}", "id", g->passkey_id, "name", g->name, "userId",
	    g->user_id, "credentialID", cred_id, "counter", (int)g->cred.sign_count, "backedUp", g->cred.backup_state,
	    "deviceType", g->cred.backup_eligible ? "multiDevice" : "singleDevice");
	json_t *o = s ? passkey_session_json(s) : json_object();
	if (o && s)
		json_object_set_new(o, "redirect", json_string(passkey_after_sign_in_target(g->rd)));
	if (o)
		json_object_set_new(o, "passkey", passkey);
	else
		json_decref(passkey);
	passkey_reply(g->ex, status, o);
	free(g);
}

static void signed_up(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct registration *g = arg;
	if (rc != 1) {
		/* The account exists; signing in with the passkey will work. */
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "the account was created, but no session; sign in");
		free(g);
		return;
	}
	log_info("passkey sign-up: user %s passkey %s from %s", g->user_id, g->passkey_id, ex->client_ip);
	registration_answer(g, 201, s);
}

static void registered(const struct store_reply *r, void *arg)
{
	static const struct {
		const char *outcome;
		int status;
		const char *code, *why;
	} refusals[] = {
		{ "wrong_user", 403, "forbidden", "these options were issued to another account" },
		{ "no_account", 401, "unauthorized", "the account is gone or disabled" },
		{ "email_taken", 409, "user_exists", "an account with this email already exists; sign in instead" },
		{ "credential_taken", 409, "credential_exists", "this passkey is already registered" },
		{ "too_many_passkeys", 409, "too_many_passkeys", "this account has as many passkeys as it may have (10)" },
	};
	struct registration *g = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, PASSKEY_OUTCOME_RESULT);

	if (!outcome) {
		passkey_reply_unavailable(g->ex);
		free(g);
		return;
	}
	snprintf(g->user_id, sizeof(g->user_id), "%s", store_text(r, 0, PASSKEY_OUTCOME_USER_ID));
	snprintf(g->passkey_id, sizeof(g->passkey_id), "%s", store_text(r, 0, PASSKEY_OUTCOME_PASSKEY_ID));
	if (!strcmp(outcome, "registered") || !strcmp(outcome, "signed_up")) {
		if (!strcmp(outcome, "registered")) {
			/* A sign-up stays counted against the IP, as password
			 * sign-ups do: it bounds account floods. */
			passkey_refund_options(g->ex);
			log_info("passkey added: user %s passkey %s", g->user_id, g->passkey_id);
			registration_answer(g, 200, NULL);
		} else {
			char amr[24];
			passkey_amr(g->cred.user_verified, false, amr, sizeof(amr));
			session_create(g->ex, g->user_id, amr, signed_up, g);
		}
		return;
	}
	if (!refuse_challenge_outcome(g->ex, outcome)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]) && !known; i++)
			if ((known = !strcmp(outcome, refusals[i].outcome)))
				refuse(g->ex, refusals[i].status, refusals[i].code, refusals[i].why);
		if (!known) {
			log_warnx("passkey: unexpected store outcome \"%s\"", outcome);
			passkey_reply_unavailable(g->ex);
		}
	}
	free(g);
}

static void registration_session_known(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct registration *g = arg;
	char id_hex[2 * WEBAUTHN_CREDENTIAL_ID_MAX + 3], key_hex[2 * WEBAUTHN_COSE_KEY_MAX + 3], aaguid[37], hex[33];

	if (rc < 0) {
		passkey_reply_unavailable(ex);
		free(g);
		return;
	}
	passkey_hex(g->cred.id, g->cred.id_len, id_hex);
	passkey_hex(g->cred.public_key, g->cred.public_key_len, key_hex);
	secure_hex(g->cred.aaguid, WEBAUTHN_AAGUID_LEN, hex);
	snprintf(aaguid, sizeof(aaguid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	int flags = 0x01 | (g->cred.user_verified ? 0x04 : 0) | (g->cred.backup_eligible ? 0x08 : 0) |
	    (g->cred.backup_state ? 0x10 : 0);
	STORE_CALL_FROM(g->ex, NULL, STORE_OP_PASSKEY_REGISTER, registered, g, STORE_V_TEXT(g->challenge_hash), STORE_V_TEXT(g->binding_hash),
	    rc == 1 ? STORE_V_TEXT(s->user_id) : STORE_V_NULL, STORE_V_TEXT(id_hex), STORE_V_TEXT(key_hex),
	    STORE_V_INT(g->cred.alg), STORE_V_INT(g->cred.sign_count), STORE_V_TEXT(g->transports), STORE_V_TEXT(aaguid),
	    STORE_V_TEXT(g->cred.fmt), STORE_V_TEXT(webauthn_attestation_type_name(g->cred.attestation_type)),
	    STORE_V_INT(flags), STORE_V_TEXT(g->name));
}

/* PASSKEY_ATTESTATION=direct asks authenticators to prove their make: what
 * comes back must be a verified statement (a chain, trusted or not, or a
 * self attestation), not "none" or a format this server cannot check. */
static const char *attestation_refusal(const struct webauthn_credential *c)
{
	if (!cfg.passkey_attestation_direct)
		return NULL;
	if (c->attestation_type == WEBAUTHN_ATTESTATION_NONE || c->attestation_type == WEBAUTHN_ATTESTATION_UNVERIFIED)
		return "this server requires an attestation it can verify (PASSKEY_ATTESTATION=direct); the authenticator "
		       "sent none, or one in a format it does not check";
	return NULL;
}

/* Decodes and verifies what needs no database; 0, or the HTTP status of the
 * refusal (*code, *why; why may be in why_buf). challenge_hash is set as soon
 * as it is known (a later refusal discards it). */
static int registration_offline(struct registration *g, const json_t *body, char *why_buf, size_t why_cap,
    const char **code, const char **why)
{
	uint8_t challenge[WEBAUTHN_CHALLENGE_MAX];
	size_t challenge_len = 0;
	struct webauthn_credential_json c;
	const char *name = json_body_string(body, "name", PASSKEY_NAME_MAX, NULL);
	int status = 400;

	*code = "malformed_credential";
	if ((*why = webauthn_credential_json_parse(body, WEBAUTHN_CREDENTIAL_REGISTRATION, &c)))
		goto out;
	snprintf(g->transports, sizeof(g->transports), "%s", c.transports);
	if (json_object_get(body, "name") && (!name || !passkey_name_valid(name))) {
		*code = "invalid_name";
		*why = "the name is too long or has characters that are not allowed";
		goto out;
	}
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "");
	if (!signed_challenge(c.client_data, c.client_data_len, challenge, &challenge_len, why))
		goto out;
	passkey_hash_hex(challenge, challenge_len, g->challenge_hash);

	struct webauthn_registration_input in = { .client_data_json = c.client_data,
		.client_data_json_len = c.client_data_len, .attestation_object = c.attestation_object,
		.attestation_object_len = c.attestation_object_len, .allowed_algs = allowed_algs,
		.allowed_alg_count = sizeof(allowed_algs) / sizeof(allowed_algs[0]),
		.policy = cfg.passkey_attestation_require_trusted ? WEBAUTHN_POLICY_REQUIRE_TRUSTED
		                                                  : WEBAUTHN_POLICY_ACCEPT_UNVERIFIED,
		.trust_anchors = trust_anchors() };
	fill_expectations(&in.expect, challenge, challenge_len);
	enum webauthn_error e = webauthn_verify_registration(&in, &g->cred, why_buf, why_cap);
	if (e != WEBAUTHN_OK) {
		*code = malformed_error(e) ? "malformed_credential" : "verification_failed";
		*why = why_buf;
	} else if ((*why = attestation_refusal(&g->cred))) {
		*code = "attestation_refused";
	} else if (g->cred.id_len != c.id_len || memcmp(g->cred.id, c.id, c.id_len) != 0) {
		*code = "malformed_credential";
		*why = "the credential's id is not the one in its attestation";
	} else {
		status = 0;
	}
out:
	webauthn_credential_json_free(&c);
	return status;
}

void passkey_verify_registration(struct http_exchange *ex)
{
	char why_buf[300];
	const char *code = NULL, *why = NULL;
	struct registration *g;
	json_t *body;

	if (!passkey_same_origin_json(ex, false) || !(body = passkey_json_body(ex)))
		return;
	if (!(g = calloc(1, sizeof(*g)))) {
		json_decref(body);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	g->ex = ex;
	snprintf(g->rd, sizeof(g->rd), "%s", callback_of(body));
	if (!passkey_binding_hash(ex, g->binding_hash)) {
		json_decref(body);
		free(g);
		refuse(ex, 400, "challenge_not_found", "no passkey ceremony was started in this browser; ask for options first");
		return;
	}
	int status = registration_offline(g, body, why_buf, sizeof(why_buf), &code, &why);
	json_decref(body);
	if (status) {
		if (g->challenge_hash[0])
			refuse_and_discard(ex, g->challenge_hash, g->binding_hash, status, code, why);
		else
			refuse(ex, status, code, why);
		free(g);
		return;
	}
	session_from_request(ex, registration_session_known, g);
}

/* ---- verify-authentication ---- */

struct authentication {
	struct http_exchange *ex;
	struct webauthn_credential_json cred;	/* the decoded assertion */
	uint8_t challenge[WEBAUTHN_CHALLENGE_MAX];
	size_t challenge_len;
	char challenge_hash[PASSKEY_HASH_HEX_LEN], binding_hash[PASSKEY_HASH_HEX_LEN];
	char rd[CALLBACK_MAX_LEN + 1];
	char passkey_id[40], user_id[40], pending_hash[70];
	bool second_factor, user_verified;
};

static void authentication_free(struct authentication *a)
{
	webauthn_credential_json_free(&a->cred);
	free(a);
}

static void authentication_fail(struct authentication *a, int status, const char *code, const char *why)
{
	/* a passkey that did not prove itself, or a refused account: a failed
	 * sign-in (audit log, /metrics); a malformed request is not */
	if (status == 401 || status == 403)
		audit_sign_in_failed(a->ex, "passkey", NULL, NULL, code);
	refuse(a->ex, status, code, why);
	authentication_free(a);
}

static void authenticated(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct authentication *a = arg;
	if (rc != 1) {
		http_reply_header(ex, "Retry-After", "1");
		http_reply_error(ex, 503, "temporarily_unavailable", "could not create a session; try again");
		authentication_free(a);
		return;
	}
	log_info("passkey %s: user %s passkey %s from %s", a->second_factor ? "second factor" : "sign-in", a->user_id,
	    a->passkey_id, ex->client_ip);
	if (a->second_factor)
		passkey_pending_cookie_clear(ex);
	json_t *o = passkey_session_json(s);
	if (o)
		json_object_set_new(o, "redirect", json_string(passkey_after_sign_in_target(a->rd)));
	passkey_reply(ex, 200, o);
	authentication_free(a);
}

static void use_recorded(const struct store_reply *r, void *arg)
{
	struct authentication *a = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, PASSKEY_OUTCOME_RESULT);

	if (!outcome) {
		passkey_reply_unavailable(a->ex);
		authentication_free(a);
	} else if (!strcmp(outcome, "signed_in")) {
		char amr[24];
		passkey_refund_options(a->ex);
		/* A second factor: after its first factor's amr ("pwd", ...), with mfa. */
		if (a->second_factor)
			two_factor_amr(store_text(r, 0, PASSKEY_OUTCOME_FIRST_AMR)[0] ? store_text(r, 0, PASSKEY_OUTCOME_FIRST_AMR) :
			    "pwd", a->user_verified ? "hwk,user" : "hwk", amr, sizeof(amr));
		else
			passkey_amr(a->user_verified, false, amr, sizeof(amr));
		session_create(a->ex, a->user_id, amr, authenticated, a);
	} else if (!strcmp(outcome, "pending_unknown") || !strcmp(outcome, "pending_expired")) {
		passkey_pending_cookie_clear(a->ex);
		authentication_fail(a, 401, "second_factor_expired", "the password step has expired; sign in again");
	} else {
		authentication_fail(a, 401, "unknown_credential", "this passkey is no longer registered here");
	}
}

/* The user handle (§7.2 step 6): when the authenticator returns one, it
 * must name the credential's owner (their id's 16 bytes). */
static bool user_handle_matches(const struct authentication *a)
{
	uint8_t owner[16];
	if (!a->cred.user_handle)
		return true;
	return passkey_uuid_bytes(a->user_id, owner) && a->cred.user_handle_len == 16 &&
	       secure_equal(a->cred.user_handle, owner, 16);
}

static void verify_with_stored_key(struct authentication *a, const struct store_reply *r)
{
	uint8_t key[WEBAUTHN_COSE_KEY_MAX];
	long key_len = passkey_unhex(store_text(r, 0, PASSKEY_ASSERTION_PUBLIC_KEY), key, sizeof(key));
	struct webauthn_assertion_result result;
	char why[300];

	if (key_len <= 0) {
		authentication_fail(a, 401, "verification_failed", "the stored public key is unreadable");
		return;
	}
	struct webauthn_assertion_input in = { .client_data_json = a->cred.client_data,
		.client_data_json_len = a->cred.client_data_len, .authenticator_data = a->cred.auth_data,
		.authenticator_data_len = a->cred.auth_data_len, .signature = a->cred.signature,
		.signature_len = a->cred.signature_len,
		.stored = { .public_key = key, .public_key_len = (size_t)key_len,
		    .alg = store_int(r, 0, PASSKEY_ASSERTION_ALG),
		    .sign_count = (uint32_t)store_int(r, 0, PASSKEY_ASSERTION_SIGN_COUNT),
		    .backup_eligible = store_bool(r, 0, PASSKEY_ASSERTION_BACKUP_ELIGIBLE),
		    .backup_state = store_bool(r, 0, PASSKEY_ASSERTION_BACKUP_STATE) } };
	fill_expectations(&in.expect, a->challenge, a->challenge_len);
	enum webauthn_error e = webauthn_verify_assertion(&in, &result, why, sizeof(why));
	if (e != WEBAUTHN_OK) {
		authentication_fail(a, malformed_error(e) ? 400 : 401,
		    malformed_error(e) ? "malformed_credential" : "verification_failed", why);
		return;
	}
	/* A counter that did not rise may be a cloned authenticator (§6.1.1):
	 * logged and counted on the passkey; the sign-in stands (passkeys that
	 * sync keep their counter at 0, and a policy to refuse is the
	 * operator's, from the counts). */
	if (result.counter_regressed)
		log_warnx("passkey %s of user %s: signature counter %u after %u (a cloned authenticator?)", a->passkey_id,
		    a->user_id, result.sign_count, in.stored.sign_count);
	if (result.backup_eligibility_changed)
		log_warnx("passkey %s of user %s: backup eligibility changed, which authenticators never do",
		    a->passkey_id, a->user_id);
	if (result.backup_state != in.stored.backup_state)
		log_info("passkey %s of user %s: backup state now %s", a->passkey_id, a->user_id,
		    result.backup_state ? "backed up" : "not backed up");
	a->user_verified = result.user_verified;
	STORE_CALL(STORE_OP_PASSKEY_ASSERTION_FINISH, use_recorded, a, STORE_V_TEXT(a->passkey_id),
	    STORE_V_TEXT(a->user_id), STORE_V_INT(result.sign_count), STORE_V_BOOL(result.backup_state),
	    STORE_V_BOOL(result.counter_regressed), a->second_factor ? STORE_V_TEXT(a->pending_hash) : STORE_V_NULL);
}

static void assertion_begun(const struct store_reply *r, void *arg)
{
	struct authentication *a = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, PASSKEY_ASSERTION_OUTCOME);

	if (!outcome) {
		passkey_reply_unavailable(a->ex);
		authentication_free(a);
		return;
	}
	if (refuse_challenge_outcome(a->ex, outcome)) {
		authentication_free(a);
		return;
	}
	if (!strcmp(outcome, "credential_unknown")) {
		authentication_fail(a, 401, "unknown_credential", "this passkey is not registered here");
		return;
	}
	if (!strcmp(outcome, "account_disabled")) {
		authentication_fail(a, 403, "account_disabled", "this account is disabled");
		return;
	}
	if (!strcmp(outcome, "wrong_user")) {
		authentication_fail(a, 401, "wrong_passkey", "this passkey belongs to another account than the one signing in");
		return;
	}
	snprintf(a->passkey_id, sizeof(a->passkey_id), "%s", store_text(r, 0, PASSKEY_ASSERTION_PASSKEY_ID));
	snprintf(a->user_id, sizeof(a->user_id), "%s", store_text(r, 0, PASSKEY_ASSERTION_USER_ID));
	snprintf(a->pending_hash, sizeof(a->pending_hash), "%s", store_text(r, 0, PASSKEY_ASSERTION_PENDING_HASH));
	a->second_factor = !strcmp(store_text(r, 0, PASSKEY_ASSERTION_PURPOSE), "second_factor");
	if (!user_handle_matches(a)) {
		authentication_fail(a, 401, "verification_failed", "the user handle does not name this passkey's account");
		return;
	}
	verify_with_stored_key(a, r);
}

/* Decodes the assertion (into a->cred); NULL, or why it is malformed. */
static const char *assertion_decode(struct authentication *a, const json_t *body)
{
	const char *why = webauthn_credential_json_parse(body, WEBAUTHN_CREDENTIAL_ASSERTION, &a->cred);

	if (why)
		return why;
	if (!signed_challenge(a->cred.client_data, a->cred.client_data_len, a->challenge, &a->challenge_len, &why))
		return why;
	return NULL;
}

void passkey_verify_authentication(struct http_exchange *ex)
{
	char id_hex[2 * WEBAUTHN_CREDENTIAL_ID_MAX + 3];
	struct authentication *a;
	json_t *body;

	if (!passkey_same_origin_json(ex, false) || !(body = passkey_json_body(ex)))
		return;
	if (!(a = calloc(1, sizeof(*a)))) {
		json_decref(body);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	a->ex = ex;
	snprintf(a->rd, sizeof(a->rd), "%s", callback_of(body));
	const char *why = assertion_decode(a, body);
	json_decref(body);
	if (why) {
		authentication_fail(a, 400, "malformed_credential", why);
		return;
	}
	if (!passkey_binding_hash(ex, a->binding_hash)) {
		authentication_fail(a, 400, "challenge_not_found",
		    "no passkey ceremony was started in this browser; ask for options first");
		return;
	}
	passkey_hash_hex(a->challenge, a->challenge_len, a->challenge_hash);
	passkey_hex(a->cred.id, a->cred.id_len, id_hex);
	STORE_CALL(STORE_OP_PASSKEY_ASSERTION_BEGIN, assertion_begun, a, STORE_V_TEXT(a->challenge_hash),
	    STORE_V_TEXT(a->binding_hash), STORE_V_TEXT(id_hex));
}
