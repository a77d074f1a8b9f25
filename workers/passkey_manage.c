/*
 * The signed-in user's passkeys (see auth_passkey.h): list (BetterAuth's
 * Passkey objects), rename, delete (never the account's last way in without
 * an explicit {"confirm": true}: 409 last_sign_in_method), and the second
 * factor: whether the account wants a passkey after its password
 * (/api/auth/passkey/second-factor). The step right after a password
 * (passkey_after_password) is workers/two_factor_gate.c's.
 */
#include "workers/auth_passkey.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/base64url.h"
#include "proto/form.h"
#include "proto/json_body.h"
#include "proto/webauthn.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- signed in first ---- */

struct signed_in_step {
	void (*next)(struct http_exchange *ex, const struct session_entry *s);
	bool json_body;		/* a POST that takes a JSON body */
};

static void with_session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	const struct signed_in_step *step = arg;
	if (rc < 0)
		passkey_reply_unavailable(ex);
	else if (rc == 0)
		http_reply_error(ex, 401, "unauthorized", "no valid session");
	else
		step->next(ex, s);
}

static void with_session(struct http_exchange *ex, const struct signed_in_step *step)
{
	if (step->json_body && !passkey_same_origin_json(ex, false))
		return;
	session_from_request(ex, with_session_found, (void *)step);
}

/* ---- BetterAuth's Passkey object ---- */

static json_t *iso_time(int64_t unix_seconds)
{
	char text[32];
	time_t t = (time_t)unix_seconds;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return json_string(text);
}

/* Bytes of a bytea hex cell, re-encoded (base64url, or standard base64 as
 * BetterAuth stores public keys). */
static json_t *hex_cell_encoded(const char *hex, bool url)
{
	uint8_t bytes[WEBAUTHN_CREDENTIAL_ID_MAX > WEBAUTHN_COSE_KEY_MAX ? WEBAUTHN_CREDENTIAL_ID_MAX : WEBAUTHN_COSE_KEY_MAX];
	char text[BASE64URL_ENCODED_LEN(sizeof(bytes)) + 4];
	long n = passkey_unhex(hex, bytes, sizeof(bytes));
	if (n < 0)
		return json_string("");
	size_t len = base64url_encode(bytes, (size_t)n, text);
	if (!url) {
		for (size_t i = 0; i < len; i++)
			text[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
		while (len % 4)
			text[len++] = '=';
		text[len] = '\0';
	}
	return json_string(text);
}

static json_t *passkey_object(const struct store_reply *r, unsigned i, const char *user_id)
{
	bool be = store_bool(r, i, PASSKEY_BACKUP_ELIGIBLE);
	json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:s,s:b,s:s,s:o,s:s,s:I,s:{s:s,s:s},s:b,s:I}", "id",
	    store_text(r, i, PASSKEY_ID), "name", store_text(r, i, PASSKEY_NAME), "publicKey",
	    hex_cell_encoded(store_text(r, i, PASSKEY_PUBLIC_KEY), false), "userId", user_id, "credentialID",
	    hex_cell_encoded(store_text(r, i, PASSKEY_CREDENTIAL_ID), true), "counter",
	    (json_int_t)store_int(r, i, PASSKEY_SIGN_COUNT), "deviceType", be ? "multiDevice" : "singleDevice", "backedUp",
	    store_bool(r, i, PASSKEY_BACKUP_STATE), "transports", store_text(r, i, PASSKEY_TRANSPORTS), "createdAt",
	    iso_time(store_int(r, i, PASSKEY_CREATED_AT)), "aaguid", store_text(r, i, PASSKEY_AAGUID), "alg",
	    (json_int_t)store_int(r, i, PASSKEY_ALG), "attestation", "fmt", store_text(r, i, PASSKEY_ATTESTATION_FMT),
	    "type", store_text(r, i, PASSKEY_ATTESTATION_TYPE), "userVerified", store_bool(r, i, PASSKEY_USER_VERIFIED),
	    "counterRegressions", (json_int_t)store_int(r, i, PASSKEY_COUNTER_REGRESSIONS));
	if (o)
		json_object_set_new(o, "lastUsedAt",
		    store_is_null(r, i, PASSKEY_LAST_USED_AT) ? json_null() : iso_time(store_int(r, i, PASSKEY_LAST_USED_AT)));
	return o;
}

/* A request in flight that needs the signed-in user's id afterwards. */
struct owned {
	struct http_exchange *ex;
	char user_id[40];
};

static struct owned *owned_new(struct http_exchange *ex, const struct session_entry *s)
{
	struct owned *o = malloc(sizeof(*o));
	if (!o) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return NULL;
	}
	o->ex = ex;
	snprintf(o->user_id, sizeof(o->user_id), "%s", s->user_id);
	return o;
}

/* ---- list ---- */

static void listed(const struct store_reply *r, void *arg)
{
	struct owned *o = arg;
	if (store_failed(r)) {
		passkey_reply_unavailable(o->ex);
	} else {
		json_t *list = json_array();
		for (unsigned i = 0; list && i < r->n_rows; i++)
			json_array_append_new(list, passkey_object(r, i, o->user_id));
		passkey_reply(o->ex, 200, list);
	}
	free(o);
}

static void list_signed_in(struct http_exchange *ex, const struct session_entry *s)
{
	struct owned *o = owned_new(ex, s);
	if (o)
		STORE_CALL(STORE_OP_PASSKEY_LIST, listed, o, STORE_V_TEXT(s->user_id));
}

void passkey_list(struct http_exchange *ex)
{
	static const struct signed_in_step step = { list_signed_in, false };
	with_session(ex, &step);
}

/* ---- rename ---- */

static void renamed(const struct store_reply *r, void *arg)
{
	struct owned *o = arg;
	if (store_failed(r))
		passkey_reply_unavailable(o->ex);
	else if (r->n_rows != 1)
		http_reply_error(o->ex, 404, "not_found", "no such passkey on this account");
	else
		passkey_reply(o->ex, 200, json_pack("{s:o}", "passkey", passkey_object(r, 0, o->user_id)));
	free(o);
}

/* {id, ...} of this account's passkey: id checked to be a uuid (else the
 * reply is sent and NULL returned; *json to free). */
static const char *passkey_id_of(struct http_exchange *ex, json_t **json)
{
	const char *id;
	if (!(*json = passkey_json_body(ex)))
		return NULL;
	id = json_body_string(*json, "id", 64, NULL);
	if (!passkey_uuid_valid(id)) {
		/* Not an id this server gives out: no such passkey, as BetterAuth says. */
		http_reply_error(ex, 404, "not_found", "no such passkey on this account");
		return NULL;
	}
	return id;
}

static void update_signed_in(struct http_exchange *ex, const struct session_entry *s)
{
	json_t *json;
	const char *id = passkey_id_of(ex, &json);
	const char *name = id ? json_body_string(json, "name", PASSKEY_NAME_MAX, NULL) : NULL;
	struct owned *o;

	if (id && !passkey_name_valid(name))
		http_reply_error(ex, 400, "invalid_name", "name: up to 80 bytes, no control characters or angle brackets");
	else if (id && (o = owned_new(ex, s)))
		STORE_CALL_FROM(ex, NULL, STORE_OP_PASSKEY_RENAME, renamed, o, STORE_V_TEXT(s->user_id), STORE_V_TEXT(id), STORE_V_TEXT(name));
	json_decref(json);
}

void passkey_update(struct http_exchange *ex)
{
	static const struct signed_in_step step = { update_signed_in, true };
	with_session(ex, &step);
}

/* ---- delete ---- */

static void deleted(const struct store_reply *r, void *arg)
{
	struct owned *o = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, PASSKEY_OUTCOME_RESULT);

	if (!outcome) {
		passkey_reply_unavailable(o->ex);
	} else if (!strcmp(outcome, "deleted") || !strcmp(outcome, "deleted_second_factor_off")) {
		bool off = !strcmp(outcome, "deleted_second_factor_off");
		log_info("passkey deleted: user %s passkey %s%s", o->user_id, store_text(r, 0, PASSKEY_OUTCOME_PASSKEY_ID),
		    off ? " (the last: second factor off)" : "");
		passkey_reply(o->ex, 200, json_pack("{s:b,s:b}", "status", 1, "secondFactorDisabled", off));
	} else if (!strcmp(outcome, "last_method")) {
		http_reply_error(o->ex, 409, "last_sign_in_method",
		    "this passkey is the only way to sign in to this account: add a password, another passkey or a wallet "
		    "first, or send \"confirm\": true to delete it anyway");
	} else {
		http_reply_error(o->ex, 404, "not_found", "no such passkey on this account");
	}
	free(o);
}

static void delete_signed_in(struct http_exchange *ex, const struct session_entry *s)
{
	json_t *json;
	const char *id = passkey_id_of(ex, &json);
	bool confirm = false;
	struct owned *o;

	if (id && json_body_bool(json, "confirm", false, &confirm) < 0)
		http_reply_error(ex, 400, "invalid_request", "confirm is a boolean");
	else if (id && (o = owned_new(ex, s)))
		STORE_CALL_FROM(ex, NULL, STORE_OP_PASSKEY_DELETE, deleted, o, STORE_V_TEXT(s->user_id), STORE_V_TEXT(id),
		    STORE_V_BOOL(confirm));
	json_decref(json);
}

void passkey_delete(struct http_exchange *ex)
{
	static const struct signed_in_step step = { delete_signed_in, true };
	with_session(ex, &step);
}

/* ---- the second-factor setting ---- */

static void account_read(const struct store_reply *r, void *arg)
{
	struct http_exchange *ex = arg;
	if (store_failed(r) || r->n_rows != 1)
		passkey_reply_unavailable(ex);
	else
		passkey_reply(ex, 200, json_pack("{s:b,s:b,s:I}", "enabled", store_bool(r, 0, PASSKEY_ACCOUNT_SECOND_FACTOR),
		    "hasPassword", store_bool(r, 0, PASSKEY_ACCOUNT_HAS_PASSWORD), "passkeys",
		    (json_int_t)store_int(r, 0, PASSKEY_ACCOUNT_PASSKEYS)));
}

static void setting_changed(const struct store_reply *r, void *arg)
{
	struct owned *o = arg;
	const char *outcome = store_failed(r) || r->n_rows != 1 ? NULL : store_text(r, 0, PASSKEY_OUTCOME_RESULT);

	if (!outcome) {
		passkey_reply_unavailable(o->ex);
	} else if (!strcmp(outcome, "enabled") || !strcmp(outcome, "disabled")) {
		log_info("passkey second factor %s: user %s", outcome, o->user_id);
		passkey_reply(o->ex, 200, json_pack("{s:b}", "enabled", !strcmp(outcome, "enabled")));
	} else if (!strcmp(outcome, "no_password")) {
		http_reply_error(o->ex, 409, "no_password", "this account has no password for a passkey to follow");
	} else if (!strcmp(outcome, "no_passkey")) {
		http_reply_error(o->ex, 409, "no_passkey", "add a passkey first");
	} else {
		http_reply_error(o->ex, 401, "unauthorized", "no valid session");
	}
	free(o);
}

static void second_factor_signed_in(struct http_exchange *ex, const struct session_entry *s)
{
	if (ex->req.method != HTTP_METHOD_POST) {
		STORE_CALL(STORE_OP_PASSKEY_ACCOUNT, account_read, ex, STORE_V_TEXT(s->user_id));
		return;
	}
	json_t *json = passkey_json_body(ex);
	const json_t *enabled = json ? json_object_get(json, "enabled") : NULL;
	struct owned *o;

	if (json && !json_is_boolean(enabled))
		http_reply_error(ex, 400, "invalid_request", "send {\"enabled\": true} or {\"enabled\": false}");
	else if (json && (o = owned_new(ex, s)))
		STORE_CALL_FROM(ex, NULL, STORE_OP_PASSKEY_SECOND_FACTOR_SET, setting_changed, o, STORE_V_TEXT(s->user_id),
		    STORE_V_BOOL(json_is_true(enabled)));
	json_decref(json);
}

void passkey_second_factor(struct http_exchange *ex)
{
	static const struct signed_in_step read = { second_factor_signed_in, false };
	static const struct signed_in_step write = { second_factor_signed_in, true };
	with_session(ex, ex->req.method == HTTP_METHOD_POST ? &write : &read);
}

/* The step right after a password (passkey_after_password) is the
 * second-factor gate's now: workers/two_factor_gate.c. */
