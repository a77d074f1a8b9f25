/*
 * BetterAuth's two-factor plugin paths (JSON, same origin; see two_factor.h):
 *
 *   POST /api/auth/two-factor/enable               {password} -> {totpURI, backupCodes}
 *   POST /api/auth/two-factor/verify-totp          {code, trustDevice?}
 *   POST /api/auth/two-factor/verify-backup-code   {code}
 *   POST /api/auth/two-factor/disable              {password} -> {status}
 *   POST /api/auth/two-factor/generate-backup-codes {password} -> {status, backupCodes}
 *
 * enable stores a new secret unconfirmed: sign-in asks for codes only once a
 * first /verify-totp of the signed-in user succeeded (as BetterAuth does).
 * The verify paths finish the sign-in waiting in the browser's pending
 * cookie (the session is opened, as password sign-in answers), or else
 * check a code of the signed-in user (confirming the enrollment). Not here:
 * get-totp-uri (the secret never leaves the store after its enrollment: to
 * move to a new app, disable and enable again) and trustDevice (accepted,
 * ignored: every sign-in asks).
 */
#include "workers/two_factor.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "kdf/kdf.h"
#include "proto/json_body.h"
#include "workers/auth_passkey.h"
#include "workers/store_client.h"
#include "workers/subroutes.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum action { ENABLE, DISABLE, GENERATE_CODES };

struct change {
	struct http_exchange *ex;
	enum action action;
	char user_id[40];
	char email[256];
	struct recovery_codes codes;
};

static void change_free(struct change *c)
{
	secure_wipe(&c->codes, sizeof(c->codes));
	free(c);
}

static json_t *codes_array(const struct recovery_codes *codes)
{
	json_t *a = json_array();
	for (int i = 0; a && i < TWO_FACTOR_RECOVERY_CODES; i++)
		json_array_append_new(a, json_string(codes->text[i]));
	return a;
}

static void enrolled(const struct store_reply *r, void *arg)
{
	struct change *c = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, TOTP_ENROLLMENT_OUTCOME);
	char uri[1024];

	if (!outcome) {
		store_reply_unavailable(c->ex);
	} else if (strcmp(outcome, "enrolled") != 0) {
		http_reply_error(c->ex, 409, "two_factor_already_enabled",
		    "two-factor authentication is already on; disable it first to enroll another app");
	} else if (two_factor_totp_uri(c->email, store_text(r, 0, TOTP_ENROLLMENT_SECRET), uri, sizeof(uri)) < 0) {
		http_reply_error(c->ex, 500, "server_error", "could not build the otpauth URI");
	} else {
		log_info("two-factor: TOTP enrolled (unconfirmed) for user %s", c->user_id);
		passkey_reply(c->ex, 200, json_pack("{s:s,s:o}", "totpURI", uri, "backupCodes", codes_array(&c->codes)));
		secure_wipe(uri, sizeof(uri));
	}
	change_free(c);
}

static void disabled(const struct store_reply *r, void *arg)
{
	struct change *c = arg;
	if (store_failed(r)) {
		store_reply_unavailable(c->ex);
	} else {
		log_info("two-factor: disabled for user %s", c->user_id);
		http_reply_json(c->ex, 200, "{\"status\":true}");
	}
	change_free(c);
}

static void codes_replaced(const struct store_reply *r, void *arg)
{
	struct change *c = arg;
	if (store_failed(r)) {
		store_reply_unavailable(c->ex);
	} else if (store_int(r, 0, COUNT_N) != 1) {
		http_reply_error(c->ex, 400, "totp_not_enabled", "two-factor authentication is not enabled for this account");
	} else {
		log_info("two-factor: recovery codes replaced for user %s", c->user_id);
		passkey_reply(c->ex, 200, json_pack("{s:b,s:o}", "status", 1, "backupCodes", codes_array(&c->codes)));
	}
	change_free(c);
}

static void password_rechecked(struct http_exchange *ex, int rc, void *arg)
{
	struct change *c = arg;
	if (rc != 1) {
		if (rc == 0)
			http_reply_error(ex, 401, "invalid_password", "the password is wrong");
		else if (rc == -2)
			http_reply_error(ex, 429, "too_many_requests", "too many attempts; try again later");
		else
			store_reply_unavailable(ex);
		change_free(c);
		return;
	}
	switch (c->action) {
	case ENABLE:
		recovery_codes_new(&c->codes);
		STORE_CALL(STORE_OP_TOTP_ENROLL, enrolled, c, STORE_V_TEXT(c->user_id), STORE_V_TEXT(c->codes.hashes));
		break;
	case DISABLE:
		STORE_CALL_FROM(c->ex, NULL, STORE_OP_TWO_FACTOR_DISABLE, disabled, c, STORE_V_TEXT(c->user_id));
		break;
	case GENERATE_CODES:
		recovery_codes_new(&c->codes);
		STORE_CALL_FROM(c->ex, NULL, STORE_OP_RECOVERY_CODES_REPLACE, codes_replaced, c, STORE_V_TEXT(c->user_id),
		    STORE_V_TEXT(c->codes.hashes));
		break;
	}
}

/* Signed in, the body's password, then the change. */
static void change_signed_in(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	enum action action = (enum action)(intptr_t)arg;
	if (rc <= 0) {
		if (rc < 0)
			store_reply_unavailable(ex);
		else
			http_reply_error(ex, 401, "unauthorized", "no valid session");
		return;
	}
	json_t *json = passkey_json_body(ex);
	if (!json)
		return;
	const char *password = json_body_string(json, "password", KDF_MAX_PASSWORD, NULL);
	struct change *c = password && *password ? calloc(1, sizeof(*c)) : NULL;
	if (!password || !*password) {
		http_reply_error(ex, 400, "invalid_request", "password is required");
	} else if (!c) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
	} else {
		c->ex = ex;
		c->action = action;
		snprintf(c->user_id, sizeof(c->user_id), "%s", s->user_id);
		snprintf(c->email, sizeof(c->email), "%s", s->email);
		two_factor_password_recheck(ex, s->user_id, password, password_rechecked, c);
	}
	json_decref(json);
}

static void change(struct http_exchange *ex, enum action action)
{
	if (passkey_same_origin_json(ex, false))
		session_from_request(ex, change_signed_in, (void *)(intptr_t)action);
}

void two_factor_enable(struct http_exchange *ex)
{
	change(ex, ENABLE);
}

void two_factor_disable(struct http_exchange *ex)
{
	change(ex, DISABLE);
}

void two_factor_generate_backup_codes(struct http_exchange *ex)
{
	change(ex, GENERATE_CODES);
}

/* ---- verify-totp, verify-backup-code ---- */

struct verify {
	enum two_factor_kind kind;
	char code[OTP_CODE_INPUT_MAX + 1];
};

static void verified(struct http_exchange *ex, const struct two_factor_outcome *o, void *arg)
{
	(void)arg;
	if (o->verdict == TF_SIGNED_IN) {
		passkey_reply(ex, 200, passkey_session_json(o->s));
	} else if (o->verdict == TF_CONFIRMED) {
		if (o->confirmed)
			log_info("two-factor: TOTP confirmed, now on");
		passkey_reply(ex, 200, json_pack("{s:b,s:b}", "status", 1, "twoFactorEnabled", 1));
	} else if (o->verdict == TF_UNAVAILABLE) {
		store_reply_unavailable(ex);
	} else {
		http_reply_error(ex, o->status, o->error, o->message);
	}
}

static void verify_signed_in(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct verify *v = arg;
	if (rc < 0)
		store_reply_unavailable(ex);
	else if (rc == 0)
		http_reply_error(ex, 401, "second_factor_expired", "no sign-in is waiting for a second factor; sign in again");
	else
		two_factor_check(ex, v->kind, v->code, s->user_id, verified, NULL);
	secure_wipe(v, sizeof(*v));
	free(v);
}

static void verify(struct http_exchange *ex, enum two_factor_kind kind)
{
	char pending[PASSKEY_HASH_HEX_LEN];
	bool present = false;

	if (!passkey_same_origin_json(ex, false))
		return;
	json_t *json = passkey_json_body(ex);
	if (!json)
		return;
	const char *code = json_body_string(json, "code", OTP_CODE_INPUT_MAX, &present);
	if (!code) {
		json_decref(json);
		http_reply_error(ex, 400, "invalid_code", present ? "the code is too long or not a string" : "code is required");
		return;
	}
	/* The sign-in waiting in this browser, if any; else the signed-in user. */
	if (passkey_pending_hash(ex, pending)) {
		two_factor_check(ex, kind, code, NULL, verified, NULL);
		json_decref(json);
		return;
	}
	struct verify *v = calloc(1, sizeof(*v));
	if (!v) {
		json_decref(json);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	v->kind = kind;
	snprintf(v->code, sizeof(v->code), "%s", code);
	json_decref(json);
	session_from_request(ex, verify_signed_in, v);
}

void two_factor_verify_totp(struct http_exchange *ex)
{
	verify(ex, TWO_FACTOR_TOTP);
}

void two_factor_verify_backup_code(struct http_exchange *ex)
{
	verify(ex, TWO_FACTOR_RECOVERY);
}

/* ---- routing ---- */

#define M(m) SUBROUTE_METHOD(m)

static const struct subroute two_factor_routes[] = {
	{ "/api/auth/two-factor/enable", M(POST), two_factor_enable, "POST" },
	{ "/api/auth/two-factor/verify-totp", M(POST), two_factor_verify_totp, "POST" },
	{ "/api/auth/two-factor/verify-backup-code", M(POST), two_factor_verify_backup_code, "POST" },
	{ "/api/auth/two-factor/disable", M(POST), two_factor_disable, "POST" },
	{ "/api/auth/two-factor/generate-backup-codes", M(POST), two_factor_generate_backup_codes, "POST" },
};

void handle_two_factor(struct http_exchange *ex)
{
	subroute_dispatch(ex, two_factor_routes, sizeof(two_factor_routes) / sizeof(two_factor_routes[0]), true);
}
