/*
 * Passkeys on BetterAuth's passkey plugin paths (see auth_passkey.h):
 *
 *   GET      /api/auth/passkey/generate-register-options  [?email=&name=&authenticatorAttachment=]
 *   POST     /api/auth/passkey/verify-registration         {response, name?, callbackURL?}
 *   GET|POST /api/auth/passkey/generate-authenticate-options  [email] [secondFactor]
 *   POST     /api/auth/passkey/verify-authentication       {response, callbackURL?}
 *   GET      /api/auth/passkey/list-user-passkeys
 *   POST     /api/auth/passkey/update-passkey              {id, name}
 *   POST     /api/auth/passkey/delete-passkey              {id, confirm?}
 *   GET|POST /api/auth/passkey/second-factor               [{enabled}]
 *   GET      /login/passkey                                the second-factor page
 *   GET      /static/passkey.js
 *
 * This file: the options (each a fresh 32-byte challenge, stored hashed
 * through the store for PASSKEY_CHALLENGE_TTL and bound to the browser's
 * ceremony cookie, so any worker of any instance can accept it, once, from
 * that browser only), routing, the pages' slots and helpers. Registration
 * options are for the signed-in account (add a passkey) or, without a
 * session and with ENABLE_REGISTRATION=true, for a new account with no
 * password (sign up with a passkey alone). Sign-in options list no
 * credentials (username-less: discoverable credentials, and conditional
 * mediation) unless an email is given; with secondFactor, they finish the
 * password sign-in waiting in the dreamauth_2fa cookie.
 *
 * ENABLE_PASSKEYS=false: every one of these paths is 404 and the pages show
 * no passkey button (nor the autofill hint).
 */
#include "workers/auth_passkey.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/base64url.h"
#include "proto/email.h"
#include "proto/form.h"
#include "proto/forwarded.h"
#include "proto/hex.h"
#include "proto/json_body.h"
#include "proto/redirect.h"
#include "proto/webauthn.h"
#include "shm/rate_limit.h"
#include "workers/csrf.h"
#include "workers/handlers.h"
#include "workers/retry_after.h"
#include "workers/subroutes.h"
#include "workers/json_util.h"
#include "workers/pages.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPTIONS_LIMIT_PREFIX "passkey-options:"

/* ---- helpers shared by the passkey files ---- */

void passkey_hash_hex(const void *data, size_t len, char out[PASSKEY_HASH_HEX_LEN])
{
	secure_sha256_param(data, len, out);
}

void passkey_hex(const uint8_t *in, size_t len, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	secure_hex(in, len, out + 2);
}

long passkey_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = strlen(hex);
	if (len < 2 || hex[0] != '\\' || hex[1] != 'x' || len % 2 || (len - 2) / 2 > cap)
		return -1;
	for (size_t i = 2; i < len; i += 2) {
		int hi = hex_value((unsigned char)hex[i]), lo = hex_value((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[(i - 2) / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len - 2) / 2;
}

bool passkey_uuid_bytes(const char *text, uint8_t out[16])
{
	size_t n = 0;
	if (strlen(text) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return false;
			continue;
		}
		int hi = hex_value((unsigned char)text[i]), lo = hex_value((unsigned char)text[i + 1]);
		if (hi < 0 || lo < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23)
			return false;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == 16;
}

bool passkey_uuid_valid(const char *text)
{
	uint8_t b[16];
	return text && passkey_uuid_bytes(text, b);
}

/* A random (version 4) uuid: the id, and user handle, of an account made
 * with a passkey, announced in its registration options. */
static void uuid_new(char out[37], uint8_t bytes[16])
{
	secure_random(bytes, 16);
	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);
	char hex[33];
	secure_hex(bytes, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static bool cookie_value(struct http_exchange *ex, const char *name, char out[TOKEN_STR_LEN])
{
	const struct http_str *cookie = http_request_header(&ex->req, "cookie");
	const char *v;
	size_t len;
	if (!cookie || cookie_find(cookie->p, cookie->len, name, &v, &len) != 1 || len != TOKEN_STR_LEN - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
		        v[i] == '-' || v[i] == '_'))
			return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

bool passkey_binding_hash(struct http_exchange *ex, char out[PASSKEY_HASH_HEX_LEN])
{
	char token[TOKEN_STR_LEN];
	if (!cookie_value(ex, PASSKEY_BINDING_COOKIE, token))
		return false;
	passkey_hash_hex(token, strlen(token), out);
	return true;
}

/* The browser's ceremony cookie: kept when it has one (ceremonies in other
 * tabs go on), else made. */
static void binding_hash_or_new(struct http_exchange *ex, char out[PASSKEY_HASH_HEX_LEN])
{
	char token[TOKEN_STR_LEN], cookie[200];
	if (passkey_binding_hash(ex, out))
		return;
	secure_token(token);
	snprintf(cookie, sizeof(cookie), PASSKEY_BINDING_COOKIE "=%s; Path=/api/auth/passkey/; HttpOnly; SameSite=Strict%s",
	    token, cfg.issuer_is_local_http ? "" : "; Secure");
	http_reply_header(ex, "Set-Cookie", cookie);
	passkey_hash_hex(token, strlen(token), out);
	secure_wipe(token, sizeof(token));
}

bool passkey_pending_hash(struct http_exchange *ex, char out[PASSKEY_HASH_HEX_LEN])
{
	char token[TOKEN_STR_LEN];
	if (!cookie_value(ex, PASSKEY_PENDING_COOKIE, token))
		return false;
	passkey_hash_hex(token, strlen(token), out);
	return true;
}

void passkey_pending_cookie_set(struct http_exchange *ex, const char *token)
{
	char cookie[200];
	snprintf(cookie, sizeof(cookie), PASSKEY_PENDING_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s", token,
	    PASSKEY_PENDING_TTL, cfg.issuer_is_local_http ? "" : "; Secure");
	http_reply_header(ex, "Set-Cookie", cookie);
}

void passkey_pending_cookie_clear(struct http_exchange *ex)
{
	char cookie[200];
	snprintf(cookie, sizeof(cookie), PASSKEY_PENDING_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax%s",
	    cfg.issuer_is_local_http ? "" : "; Secure");
	http_reply_header(ex, "Set-Cookie", cookie);
}

/* Requests another site makes the browser send (a link, an image) cannot
 * start a ceremony: they would replace nothing, but each stores a row. */
static bool cross_site(struct http_exchange *ex)
{
	const struct http_str *site = http_request_header(&ex->req, "sec-fetch-site");
	return site && site->len == 10 && strncasecmp(site->p, "cross-site", 10) == 0;
}

bool passkey_same_origin_json(struct http_exchange *ex, bool body_optional)
{
	bool typed = http_request_header(&ex->req, "content-type") != NULL;
	if ((typed || ex->body_len || !body_optional) && !http_exchange_is_json(ex)) {
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json");
		return false;
	}
	if (!csrf_origin_ok(ex) || cross_site(ex)) {
		http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
		return false;
	}
	return true;
}

json_t *passkey_json_body(struct http_exchange *ex)
{
	const char *why = NULL;
	json_t *json = json_body_parse(ex->body, ex->body_len, &why);
	if (!json)
		http_reply_error(ex, 400, "invalid_request", why ? why : "malformed JSON body");
	return json;
}

void passkey_reply(struct http_exchange *ex, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		http_reply_json(ex, status, text);
	else
		passkey_reply_unavailable(ex);
	free(text);
	json_decref(o);
}

void passkey_reply_unavailable(struct http_exchange *ex)
{
	store_reply_unavailable(ex);
}

const char *passkey_after_sign_in_target(const char *rd)
{
	const char *host = strstr(cfg.issuer, "://") + 3;
	if (rd && *rd && redirect_target_allowed(rd, strlen(rd), host, cfg.cookie_domain, cfg.issuer_is_local_http))
		return rd;
	return "/account";
}

bool passkey_name_valid(const char *name)
{
	if (!name || strlen(name) > PASSKEY_NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

void passkey_refund_options(struct http_exchange *ex)
{
	char key[96];
	client_limit_key(OPTIONS_LIMIT_PREFIX, ex->client_ip, key, sizeof(key));
	rate_limit_refund(worker->shm->limits, key, now_seconds(), cfg.login_window);
}

void passkey_amr(bool user_verified, bool after_password, char *out, size_t cap)
{
	snprintf(out, cap, "%shwk%s%s", after_password ? "pwd," : "", user_verified ? ",user" : "",
	    user_verified || after_password ? ",mfa" : "");
}

json_t *passkey_session_json(const struct session_entry *s)
{
	return json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:I,s:s}}", "user", "id", s->user_id, "email", s->email, "name", s->name,
	    "session", "id", s->session_id, "expires_at", (json_int_t)s->expires_at, "amr", s->amr);
}

static const char *uv_text(void)
{
	switch (cfg.passkey_user_verification) {
	case CONFIG_UV_REQUIRED: return "required";
	case CONFIG_UV_DISCOURAGED: return "discouraged";
	default: return "preferred";
	}
}

/* ---- options ---- */

struct options_request {
	struct http_exchange *ex;
	bool registration;
	const char *purpose;		/* register, sign_up; or authenticate (the store may say second_factor) */
	uint8_t challenge[PASSKEY_CHALLENGE_LEN];
	char challenge_hash[PASSKEY_HASH_HEX_LEN], binding_hash[PASSKEY_HASH_HEX_LEN];
	char pending_hash[PASSKEY_HASH_HEX_LEN];	/* "" unless a second factor was asked for */
	char user_id[40];			/* register: the session's; sign_up: the new account's */
	uint8_t user_handle[16];
	char email[EMAIL_MAX_LEN + 1], email_normalized[EMAIL_MAX_LEN + 1];
	char display_name[PASSKEY_NAME_MAX + 1];
	char attachment[16];			/* authenticatorAttachment asked for, or "" */
	char limit_key[96];
	int64_t counted_at;
};

static void options_free(struct options_request *o, bool refund)
{
	if (refund)
		rate_limit_refund(worker->shm->limits, o->limit_key, o->counted_at, cfg.login_window);
	secure_wipe(o->challenge, sizeof(o->challenge));
	free(o);
}

static void options_fail(struct options_request *o, int status, const char *code, const char *why)
{
	http_reply_error(o->ex, status, code, why);
	options_free(o, true);
}

/* Each options request is a row in the database: counted per IP
 * (LOGIN_IP_MAX_ATTEMPTS per LOGIN_WINDOW), given back when its ceremony
 * succeeds. false when refused (the reply is sent, o freed). */
static bool options_allowed(struct options_request *o)
{
	int retry = 0;
	client_limit_key(OPTIONS_LIMIT_PREFIX, o->ex->client_ip, o->limit_key, sizeof(o->limit_key));
	o->counted_at = now_seconds();
	int rc = rate_limit_reserve(worker->shm->limits, o->limit_key, o->counted_at, cfg.login_window,
	    cfg.login_ip_max_attempts, &retry);
	if (rc > 0)
		return true;
	if (rc == 0)
		http_reply_retry_after(o->ex, retry);
	http_reply_error(o->ex, rc < 0 ? 503 : 429, rc < 0 ? "temporarily_unavailable" : "too_many_requests",
	    rc < 0 ? "passkeys are unavailable; try again" : "too many passkey requests; try again later");
	options_free(o, false);
	return false;
}

static json_t *transports_array(const char *csv)
{
	return json_csv_array(csv ? csv : "");
}

/* excludeCredentials / allowCredentials from the store's rows 1.. */
static json_t *credential_descriptors(const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 1; list && i < r->n_rows; i++) {
		uint8_t id[WEBAUTHN_CREDENTIAL_ID_MAX];
		char text[BASE64URL_ENCODED_LEN(WEBAUTHN_CREDENTIAL_ID_MAX) + 1];
		long n = passkey_unhex(store_text(r, i, PASSKEY_OPTIONS_CREDENTIAL_ID), id, sizeof(id));
		if (n <= 0)
			continue;
		base64url_encode(id, (size_t)n, text);
		json_t *d = json_pack("{s:s,s:s}", "id", text, "type", "public-key");
		json_t *t = transports_array(store_text(r, i, PASSKEY_OPTIONS_TRANSPORTS));
		if (d && json_array_size(t))
			json_object_set(d, "transports", t);
		json_decref(t);
		json_array_append_new(list, d);
	}
	return list;
}

static json_t *creation_options(const struct options_request *o, const struct store_reply *r)
{
	char challenge[BASE64URL_ENCODED_LEN(PASSKEY_CHALLENGE_LEN) + 1], handle[BASE64URL_ENCODED_LEN(16) + 1];
	base64url_encode(o->challenge, sizeof(o->challenge), challenge);
	base64url_encode(o->user_handle, sizeof(o->user_handle), handle);
	bool sign_up = !strcmp(o->purpose, "sign_up");
	/* A passkey that is the account's only way in must be discoverable:
	 * the sign-in page asks for it without a name. */
	json_t *selection = json_pack("{s:s,s:b,s:s}", "residentKey", sign_up ? "required" : "preferred",
	    "requireResidentKey", sign_up, "userVerification", uv_text());
	if (selection && o->attachment[0])
		json_object_set_new(selection, "authenticatorAttachment", json_string(o->attachment));
	return json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:i},{s:s,s:i},{s:s,s:i}],s:i,s:o,s:o,s:s,s:{s:b}}",
	    "challenge", challenge, "rp", "name", cfg.passkey_rp_id, "id", cfg.passkey_rp_id, "user", "id", handle,
	    "name", o->email, "displayName", o->display_name[0] ? o->display_name : o->email, "pubKeyCredParams",
	    "type", "public-key", "alg", -8, "type", "public-key", "alg", -7, "type", "public-key", "alg", -257,
	    "timeout", PASSKEY_CHALLENGE_TTL * 1000, "excludeCredentials", credential_descriptors(r),
	    "authenticatorSelection", selection, "attestation", cfg.passkey_attestation_direct ? "direct" : "none",
	    "extensions", "credProps", 1);
}

static json_t *request_options(const struct options_request *o, const struct store_reply *r)
{
	char challenge[BASE64URL_ENCODED_LEN(PASSKEY_CHALLENGE_LEN) + 1];
	base64url_encode(o->challenge, sizeof(o->challenge), challenge);
	return json_pack("{s:s,s:i,s:s,s:o,s:s}", "challenge", challenge, "timeout", PASSKEY_CHALLENGE_TTL * 1000, "rpId",
	    cfg.passkey_rp_id, "allowCredentials", credential_descriptors(r), "userVerification", uv_text());
}

static void options_stored(const struct store_reply *r, void *arg)
{
	struct options_request *o = arg;
	const char *outcome = store_failed(r) || r->n_rows < 1 ? NULL : store_text(r, 0, PASSKEY_OPTIONS_OUTCOME);

	if (!outcome) {
		passkey_reply_unavailable(o->ex);
		options_free(o, true);
	} else if (!strcmp(outcome, "email_taken")) {
		options_fail(o, 409, "user_exists", "an account with this email already exists; sign in instead");
	} else if (!strcmp(outcome, "no_account")) {
		options_fail(o, 401, "unauthorized", "no valid session");
	} else if (!strcmp(outcome, "too_many_passkeys")) {
		options_fail(o, 409, "too_many_passkeys", "this account has as many passkeys as it may have (10)");
	} else if (strcmp(outcome, "ok") != 0) {
		log_warnx("passkey: unexpected store outcome \"%s\"", outcome);
		options_fail(o, 503, "temporarily_unavailable", "could not start the ceremony; try again");
	} else {
		passkey_reply(o->ex, 200, o->registration ? creation_options(o, r) : request_options(o, r));
		options_free(o, false);
	}
}

static void options_store(struct options_request *o)
{
	secure_random(o->challenge, sizeof(o->challenge));
	passkey_hash_hex(o->challenge, sizeof(o->challenge), o->challenge_hash);
	binding_hash_or_new(o->ex, o->binding_hash);
	if (o->registration)
		STORE_CALL(STORE_OP_PASSKEY_REGISTER_OPTIONS, options_stored, o, STORE_V_TEXT(o->challenge_hash),
		    STORE_V_TEXT(o->binding_hash), STORE_V_TEXT(o->purpose), STORE_V_TEXT(o->user_id),
		    STORE_V_TEXT_OR_NULL(o->email), STORE_V_TEXT_OR_NULL(o->email_normalized),
		    STORE_V_TEXT(o->display_name), STORE_V_BOOL(false) /* ADMIN_EMAILS waits for a verified address */,
		    STORE_V_INT(PASSKEY_CHALLENGE_TTL));
	else
		STORE_CALL(STORE_OP_PASSKEY_AUTH_OPTIONS, options_stored, o, STORE_V_TEXT(o->challenge_hash),
		    STORE_V_TEXT(o->binding_hash), STORE_V_TEXT_OR_NULL(o->email_normalized),
		    STORE_V_TEXT_OR_NULL(o->pending_hash), STORE_V_INT(PASSKEY_CHALLENGE_TTL));
}

/* The email as typed (minus surrounding spaces) and its normalized form;
 * false when it is not an address. */
static bool take_email(struct options_request *o, const char *email)
{
	if (!email || email_normalize(email, strlen(email), o->email_normalized, sizeof(o->email_normalized)) < 0)
		return false;
	size_t start = strspn(email, " \t\r\n"), len = strlen(email);
	while (len > start && strchr(" \t\r\n", email[len - 1]))
		len--;
	snprintf(o->email, sizeof(o->email), "%.*s", (int)(len - start), email + start);
	return true;
}

/* The query (GET) or JSON body (POST) parameters of an options request. */
struct options_params {
	struct form query;
	json_t *json;
};

static const char *param(const struct options_params *p, const char *name)
{
	if (p->json)
		return json_body_string(p->json, name, 1024, NULL);
	return form_get(&p->query, name);
}

static bool params_read(struct http_exchange *ex, struct options_params *p)
{
	memset(p, 0, sizeof(*p));
	if (ex->req.method == HTTP_METHOD_POST) {
		if (!passkey_same_origin_json(ex, true))
			return false;
		if (ex->body_len && !(p->json = passkey_json_body(ex)))
			return false;
		return true;
	}
	if (cross_site(ex)) {
		http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
		return false;
	}
	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, 4096, &p->query) != FORM_OK) {
		http_reply_error(ex, 400, "invalid_request", "malformed query");
		return false;
	}
	return true;
}

static void params_free(struct options_params *p)
{
	form_free(&p->query);
	json_decref(p->json);
}

static struct options_request *options_new(struct http_exchange *ex, bool registration)
{
	struct options_request *o = calloc(1, sizeof(*o));
	if (!o)
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
	else
		*o = (struct options_request){ .ex = ex, .registration = registration };
	return o;
}

/* Registration for the signed-in account, or a sign-up. */
static void register_session_known(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct options_request *o = arg;

	if (rc < 0) {
		passkey_reply_unavailable(ex);
		options_free(o, false);
		return;
	}
	if (rc == 1) {
		if (now_seconds() - s->auth_time > PASSKEY_FRESH_SESSION) {
			http_reply_error(ex, 403, "session_not_fresh", "sign in again to add a passkey");
			options_free(o, false);
			return;
		}
		o->purpose = "register";
		snprintf(o->user_id, sizeof(o->user_id), "%s", s->user_id);
		snprintf(o->email, sizeof(o->email), "%.*s", (int)sizeof(o->email) - 1, s->email);
		snprintf(o->display_name, sizeof(o->display_name), "%.*s", (int)sizeof(o->display_name) - 1, s->name);
		if (!passkey_uuid_bytes(o->user_id, o->user_handle)) {
			http_reply_error(ex, 503, "temporarily_unavailable", "unexpected user id");
			options_free(o, false);
			return;
		}
		o->email_normalized[0] = '\0';
	} else if (!o->email_normalized[0]) {
		http_reply_error(ex, 401, "unauthorized",
		    cfg.enable_registration ? "sign in first, or give an email to sign up with a passkey" : "sign in first");
		options_free(o, false);
		return;
	} else if (!cfg.enable_registration) {
		http_reply_error(ex, 403, "registration_disabled", "registration is disabled");
		options_free(o, false);
		return;
	} else {
		o->purpose = "sign_up";
		uuid_new(o->user_id, o->user_handle);
	}
	if (options_allowed(o))
		options_store(o);
}

static void generate_register_options(struct http_exchange *ex)
{
	struct options_params p;
	struct options_request *o;

	if (!params_read(ex, &p))
		return;
	if (!(o = options_new(ex, true))) {
		params_free(&p);
		return;
	}
	const char *email = param(&p, "email"), *name = param(&p, "name"), *attachment = param(&p, "authenticatorAttachment");
	bool ok = true;
	if (email && *email && !take_email(o, email)) {
		http_reply_error(ex, 400, "invalid_email", "enter a valid email address");
		ok = false;
	} else if (name && !passkey_name_valid(name)) {
		http_reply_error(ex, 400, "invalid_name", "the name is too long or has characters that are not allowed");
		ok = false;
	} else if (attachment && *attachment && strcmp(attachment, "platform") && strcmp(attachment, "cross-platform")) {
		http_reply_error(ex, 400, "invalid_request", "authenticatorAttachment is platform or cross-platform");
		ok = false;
	}
	if (ok) {
		snprintf(o->display_name, sizeof(o->display_name), "%s", name ? name : "");
		snprintf(o->attachment, sizeof(o->attachment), "%s", attachment ? attachment : "");
	}
	params_free(&p);
	if (!ok) {
		options_free(o, false);
		return;
	}
	session_from_request(ex, register_session_known, o);
}

static void generate_authenticate_options(struct http_exchange *ex)
{
	struct options_params p;
	struct options_request *o;

	if (!params_read(ex, &p))
		return;
	if (!(o = options_new(ex, false))) {
		params_free(&p);
		return;
	}
	o->purpose = "authenticate";
	const char *email = param(&p, "email");
	bool second_factor = false, flag_ok = true;
	if (p.json) {
		flag_ok = json_body_bool(p.json, "secondFactor", false, &second_factor) >= 0;
	} else {
		const char *flag = form_get(&p.query, "secondFactor");
		second_factor = flag && (!strcmp(flag, "1") || !strcmp(flag, "true"));
	}
	if (!flag_ok || (email && *email && !take_email(o, email))) {
		params_free(&p);
		http_reply_error(ex, 400, flag_ok ? "invalid_email" : "invalid_request",
		    flag_ok ? "enter a valid email address" : "secondFactor is a boolean");
		options_free(o, false);
		return;
	}
	params_free(&p);
	/* The password step's cookie, only when asked: an abandoned password
	 * step must not bind the sign-in page's own ceremony to its account. */
	if (second_factor && !passkey_pending_hash(ex, o->pending_hash)) {
		http_reply_error(ex, 401, "second_factor_expired", "the password step has expired; sign in again");
		options_free(o, false);
		return;
	}
	if (options_allowed(o))
		options_store(o);
}

/* ---- the second-factor page ---- */

static void second_factor_page(struct http_exchange *ex)
{
	struct form q = { 0 };
	const char *rd = NULL;

	if (ex->req.query.len && form_parse(ex->req.query.p, ex->req.query.len, 4096, &q) != FORM_OK) {
		page_message(ex, 400, "Sign in", "The link you followed is malformed.", "/login", "Sign in");
		return;
	}
	rd = form_get(&q, "rd");
	struct page_var vars[] = { { "rd", passkey_after_sign_in_target(rd) }, { NULL, NULL } };
	page_reply(ex, 200, "Confirm with your passkey", "passkey_second_factor.html", vars);
	form_free(&q);
}

/* ---- routing ---- */

#define M(m) SUBROUTE_METHOD(m)

static const struct subroute passkey_routes[] = {
	/* No HEAD on the options: a probe must not store a challenge. */
	{ "/api/auth/passkey/generate-register-options", M(GET) | M(POST), generate_register_options, "GET, POST" },
	{ "/api/auth/passkey/verify-registration", M(POST), passkey_verify_registration, "POST" },
	{ "/api/auth/passkey/generate-authenticate-options", M(GET) | M(POST), generate_authenticate_options,
	    "GET, POST" },
	{ "/api/auth/passkey/verify-authentication", M(POST), passkey_verify_authentication, "POST" },
	{ "/api/auth/passkey/list-user-passkeys", M(GET) | M(HEAD), passkey_list, "GET, HEAD" },
	{ "/api/auth/passkey/update-passkey", M(POST), passkey_update, "POST" },
	{ "/api/auth/passkey/delete-passkey", M(POST), passkey_delete, "POST" },
	{ "/api/auth/passkey/second-factor", M(GET) | M(HEAD) | M(POST), passkey_second_factor, "GET, HEAD, POST" },
};

void handle_passkey(struct http_exchange *ex)
{
	subroute_dispatch(ex, passkey_routes, sizeof(passkey_routes) / sizeof(passkey_routes[0]), cfg.enable_passkeys);
}

void handle_passkey_second_factor_page(struct http_exchange *ex)
{
	if (!cfg.enable_passkeys) {
		http_reply_error(ex, 404, "not_found", "no such endpoint");
		return;
	}
	second_factor_page(ex);
}

void handle_passkey_script(struct http_exchange *ex)
{
	if (!cfg.enable_passkeys) {
		http_reply_error(ex, 404, "not_found", "no such file");
		return;
	}
	handle_static(ex);
}

/* ---- page slots ---- */

static const char login_fragment[] =
	"<div class=\"passkey\">\n"
	"<p class=\"or\">or</p>\n"
	"<button type=\"button\" id=\"passkey-sign-in\" class=\"secondary\" hidden>Sign in with a passkey</button>\n"
	"<p id=\"passkey-status\" class=\"error\" role=\"alert\" hidden></p>\n"
	"</div>\n"
	"<script src=\"/static/passkey.js\" defer></script>";

static const char signup_fragment[] =
	"<div class=\"passkey\">\n"
	"<p class=\"or\">or, without a password</p>\n"
	"<button type=\"button\" id=\"passkey-sign-up\" class=\"secondary\" hidden>Create account with a passkey</button>\n"
	"<p id=\"passkey-status\" class=\"error\" role=\"alert\" hidden></p>\n"
	"</div>\n"
	"<script src=\"/static/passkey.js\" defer></script>";

static const char account_fragment[] =
	"<h2>Passkeys</h2>\n"
	"<ul id=\"passkey-list\" class=\"passkeys\"></ul>\n"
	"<label>Name for a new passkey <input type=\"text\" id=\"passkey-new-name\" maxlength=\"80\""
	" placeholder=\"e.g. Laptop\" autocomplete=\"off\"></label>\n"
	"<button type=\"button\" id=\"passkey-add\" class=\"secondary\" hidden>Add a passkey</button>\n"
	"<label id=\"passkey-second-factor-row\" class=\"checkbox\" hidden><input type=\"checkbox\""
	" id=\"passkey-second-factor\"> Ask for a passkey after my password</label>\n"
	"<p id=\"passkey-status\" class=\"error\" role=\"alert\" hidden></p>\n"
	"<script src=\"/static/passkey.js\" defer></script>";

const char *passkey_page_fragment(const char *name, size_t len)
{
	static const struct {
		const char *name, *html;
	} slots[] = {
		{ "passkey_login", login_fragment },
		{ "passkey_signup", signup_fragment },
		{ "passkey_account", account_fragment },
		/* the email field offers passkeys as autofill (conditional mediation) */
		{ "passkey_autocomplete", " webauthn" },
	};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (strlen(slots[i].name) == len && !memcmp(slots[i].name, name, len))
			return cfg.enable_passkeys ? slots[i].html : "";
	return NULL;
}
