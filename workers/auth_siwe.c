/*
 * Sign-In With Ethereum (EIP-4361) on BetterAuth's SIWE plugin paths:
 *
 *   GET|POST /api/auth/siwe/nonce (alias /get-nonce)   -> {nonce}
 *   POST     /api/auth/siwe/verify {message, signature[, email, walletAddress, chainId, callbackURL]}
 *   POST     /api/auth/siwe/unlink {walletAddress}      (signed in)
 *   GET      /api/auth/siwe/wallets                     (signed in)
 *
 * A nonce is 24 random alphanumerics, stored (hashed) through the store for
 * SIWE_NONCE_TTL seconds, so any worker of any instance can accept it, once.
 * verify checks everything that needs no database here (proto/siwe.c's strict
 * parse, domain and URI against AUTH_URL's origin, the chain allow-list, the
 * times with SIWE_CLOCK_SKEW, the EIP-191 signature against the message's
 * address), then one store operation consumes the nonce and, in the same
 * transaction, signs in (a known wallet), signs up (an unknown wallet, when
 * ENABLE_REGISTRATION=true) or links the wallet to the signed-in account (when
 * the request carries a live session). Sessions made here have amr "eth".
 * Every refusal is a 4xx {error, error_description} that changed nothing
 * but, once the signature held, the nonce's deletion (single use).
 *
 * ENABLE_SIWE=false: every one of these paths, and /static/siwe.js, is 404,
 * and the pages show no button.
 */
#include "workers/auth_siwe.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/email.h"
#include "proto/eth_address.h"
#include "proto/eth_signature.h"
#include "proto/forwarded.h"
#include "proto/json_body.h"
#include "proto/redirect.h"
#include "shm/rate_limit.h"
#include "workers/csrf.h"
#include "workers/handlers.h"
#include "workers/retry_after.h"
#include "workers/subroutes.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/store_client.h"
#include "workers/audit.h"
#include "workers/worker_ctx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIGNATURE_MAX_LEN 256	/* longer than any 65-byte signature in hex */
#define CALLBACK_MAX_LEN 2048

/* ---- small helpers ---- */

static void reply_json_object(struct http_exchange *ex, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		http_reply_json(ex, status, text);
	else
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
	free(text);
	json_decref(o);
}

/* An optional text argument held in an array: "" is NULL. */
static struct store_value text_or_null(const char *s)
{
	return s[0] ? STORE_V_TEXT(s) : STORE_V_NULL;
}

/* Uniform over [A-Za-z0-9]: bytes of 248 and above are dropped (248 = 4 * 62). */
static void nonce_new(char out[SIWE_NONCE_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t bytes[48];
	size_t n = 0;

	while (n < SIWE_NONCE_LEN) {
		secure_random(bytes, sizeof(bytes));
		for (size_t i = 0; i < sizeof(bytes) && n < SIWE_NONCE_LEN; i++)
			if (bytes[i] < 248)
				out[n++] = alphabet[bytes[i] % 62];
	}
	out[n] = '\0';
	secure_wipe(bytes, sizeof(bytes));
}

static void address_lower(const uint8_t addr[ETH_ADDRESS_LEN], char out[ETH_ADDRESS_TEXT_LEN + 1])
{
	out[0] = '0';
	out[1] = 'x';
	secure_hex(addr, ETH_ADDRESS_LEN, out + 2);
}

/* A wallet address from a client (walletAddress): all lower case, all upper
 * case, or mixed case that is its EIP-55 checksum (a mixed spelling that is
 * not is a typo, and refused as EIP-55 means it to be). */
static bool client_address(const char *text, uint8_t out[ETH_ADDRESS_LEN])
{
	size_t len = strlen(text);
	bool upper = false, lower = false;

	if (!eth_address_decode(text, len, out))
		return false;
	for (size_t i = 2; i < len; i++) {
		upper |= text[i] >= 'A' && text[i] <= 'F';
		lower |= text[i] >= 'a' && text[i] <= 'f';
	}
	return !(upper && lower) || eth_address_checksum_ok(text, len);
}

/* chainId as a JSON integer or a decimal string; 0 when absent, -1 when
 * malformed. */
static int json_chain_id(const json_t *root, uint64_t *out)
{
	const json_t *v = json_object_get(root, "chainId");
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		if (*s < '1' || *s > '9' || strlen(s) > 19)
			return -1;
		*out = strtoull(s, &end, 10);
		return *end || *out > INT64_MAX ? -1 : 0;
	}
	return -1;
}

/* JSON from this origin, or nothing at all: what a cross-site form cannot
 * send. false when refused (the reply is sent). */
static bool same_origin_json(struct http_exchange *ex, bool body_optional)
{
	bool typed = http_request_header(&ex->req, "content-type") != NULL;
	if ((typed || ex->body_len || !body_optional) && !http_exchange_is_json(ex)) {
		http_reply_error(ex, 415, "unsupported_media_type", "send application/json");
		return false;
	}
	if (!csrf_origin_ok(ex)) {
		http_reply_error(ex, 403, "invalid_origin", "cross-origin request refused");
		return false;
	}
	return true;
}

static json_t *json_request_body(struct http_exchange *ex)
{
	const char *why = NULL;
	json_t *json = json_body_parse(ex->body, ex->body_len, &why);
	if (!json)
		http_reply_error(ex, 400, "invalid_request", why ? why : "malformed JSON body");
	return json;
}

static const char *issuer_host(void)
{
	return strstr(cfg.issuer, "://") + 3;
}

static const char *after_sign_in_target(const char *rd)
{
	if (rd && *rd && redirect_target_allowed(rd, strlen(rd), issuer_host(), cfg.cookie_domain, cfg.issuer_is_local_http))
		return rd;
	return "/account";
}

/* ---- the message against this server and the clock ---- */

static bool span_caseeq(struct siwe_span s, const char *lit)
{
	return s.len == strlen(lit) && strncasecmp(s.ptr, lit, s.len) == 0;
}

const char *siwe_message_refusal(const struct siwe_message *m, int64_t now, const char **why, char *why_buf,
    size_t why_cap)
{
	int64_t skew = cfg.siwe_clock_skew;
	size_t scheme_len = (size_t)(cfg.siwe_domain - cfg.siwe_origin) - 3;

	if (m->scheme.ptr && !(m->scheme.len == scheme_len && strncasecmp(m->scheme.ptr, cfg.siwe_origin, scheme_len) == 0)) {
		*why = "the message's scheme is not this site's";
		return "invalid_domain";
	}
	if (!span_caseeq(m->domain, cfg.siwe_domain)) {
		snprintf(why_buf, why_cap, "the message is for the domain \"%.*s\", not %s", (int)(m->domain.len > 200 ? 200 : m->domain.len),
		    m->domain.ptr, cfg.siwe_domain);
		*why = why_buf;
		return "invalid_domain";
	}
	if (!span_caseeq(m->uri, cfg.siwe_origin)) {
		snprintf(why_buf, why_cap, "the message's URI must be %s", cfg.siwe_origin);
		*why = why_buf;
		return "invalid_uri";
	}
	if (!config_siwe_chain_allowed(m->chain_id)) {
		snprintf(why_buf, why_cap, "chain %" PRIu64 " is not accepted here", m->chain_id);
		*why = why_buf;
		return "unsupported_chain";
	}
	if (m->nonce.len != SIWE_NONCE_LEN) {
		*why = "the nonce was not issued by this server";
		return "invalid_nonce";
	}
	if (m->issued_at.unix_seconds > now + skew) {
		*why = "the message's Issued At is in the future";
		return "invalid_issued_at";
	}
	/* Our nonces live SIWE_NONCE_TTL: a message issued before that cannot
	 * carry one, whatever its nonce says. */
	if (m->issued_at.unix_seconds < now - SIWE_NONCE_TTL - skew) {
		*why = "the message's Issued At is older than any nonce of this server";
		return "invalid_issued_at";
	}
	if (m->has_expiration_time && now >= m->expiration_time.unix_seconds + skew) {
		*why = "the message has expired (Expiration Time)";
		return "message_expired";
	}
	if (m->has_not_before && m->not_before.unix_seconds > now + skew) {
		*why = "the message is not valid yet (Not Before)";
		return "message_not_yet_valid";
	}
	return NULL;
}

/* ---- nonce ---- */

struct nonce_request {
	struct http_exchange *ex;
	char nonce[SIWE_NONCE_LEN + 1];
	char address[ETH_ADDRESS_TEXT_LEN + 1];	/* EIP-55, "" when unbound */
	char limit_key[96];
	int64_t counted_at;
};

static void nonce_issued(const struct store_reply *r, void *arg)
{
	struct nonce_request *n = arg;
	if (store_failed(r) || store_int(r, 0, COUNT_N) != 1) {
		/* No nonce was issued: it does not count. */
		rate_limit_refund(worker->shm->limits, n->limit_key, n->counted_at, cfg.login_window);
		store_reply_unavailable(n->ex);
	} else {
		json_t *o = json_pack("{s:s}", "nonce", n->nonce);
		if (o && n->address[0])
			json_object_set_new(o, "walletAddress", json_string(n->address));
		reply_json_object(n->ex, 200, o);
	}
	secure_wipe(n->nonce, sizeof(n->nonce));
	free(n);
}

/* Nonce requests are counted per IP (LOGIN_IP_MAX_ATTEMPTS per
 * LOGIN_WINDOW): each one is a row in the database. A sign-in gives its
 * nonce's count back. false when refused (the reply is sent). */
static bool nonce_allowed(struct http_exchange *ex, struct nonce_request *n)
{
	int retry = 0;
	client_limit_key("siwe-nonce:", ex->client_ip, n->limit_key, sizeof(n->limit_key));
	n->counted_at = now_seconds();
	int rc = rate_limit_reserve(worker->shm->limits, n->limit_key, n->counted_at, cfg.login_window,
	    cfg.login_ip_max_attempts, &retry);
	if (rc > 0)
		return true;
	if (rc < 0) {
		http_reply_error(ex, 503, "temporarily_unavailable", "sign-in is unavailable; try again");
		return false;
	}
	http_reply_retry_after(ex, retry);
	http_reply_error(ex, 429, "too_many_requests", "too many nonce requests; try again later");
	return false;
}

/* BetterAuth 1.7 sends nothing; 1.6 {walletAddress, chainId}, which bind the
 * nonce to that wallet and chain. */
static void siwe_nonce(struct http_exchange *ex)
{
	uint8_t addr[ETH_ADDRESS_LEN];
	uint64_t chain_id = 0;
	bool bound = false;
	json_t *json = NULL;

	if (ex->req.method == HTTP_METHOD_POST) {
		if (!same_origin_json(ex, true))
			return;
		if (ex->body_len) {
			if (!(json = json_request_body(ex)))
				return;
			bool present = false;
			const char *wallet = json_body_string(json, "walletAddress", 64, &present);
			if (present && (!wallet || !client_address(wallet, addr))) {
				json_decref(json);
				http_reply_error(ex, 400, "invalid_wallet_address", "walletAddress is not an Ethereum address");
				return;
			}
			bound = wallet != NULL;
			if (json_chain_id(json, &chain_id) < 0 || (chain_id && !config_siwe_chain_allowed(chain_id))) {
				json_decref(json);
				http_reply_error(ex, 400, "unsupported_chain", "chainId is not a chain accepted here");
				return;
			}
			json_decref(json);
		}
	}
	struct nonce_request *n = calloc(1, sizeof(*n));
	if (!n) {
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	n->ex = ex;
	if (!nonce_allowed(ex, n)) {
		free(n);
		return;
	}
	char hash[67], lower[ETH_ADDRESS_TEXT_LEN + 1] = "";
	nonce_new(n->nonce);
	secure_sha256_param(n->nonce, SIWE_NONCE_LEN, hash);
	if (bound) {
		address_lower(addr, lower);
		eth_address_encode(addr, n->address);
	}
	STORE_CALL(STORE_OP_SIWE_NONCE_ISSUE, nonce_issued, n, STORE_V_TEXT(hash), text_or_null(lower),
	    chain_id ? STORE_V_INT(chain_id) : STORE_V_NULL, STORE_V_INT(SIWE_NONCE_TTL));
}

/* ---- verify: sign in, sign up, link ---- */

struct verify {
	struct http_exchange *ex;
	struct siwe_message msg;	/* spans point into message */
	char message[SIWE_MAX_LEN + 1];
	char address[ETH_ADDRESS_TEXT_LEN + 1];		/* EIP-55 */
	char address_lc[ETH_ADDRESS_TEXT_LEN + 1];	/* lower case: the store's key */
	char nonce_hash[67];
	char email[EMAIL_MAX_LEN + 1], email_normalized[EMAIL_MAX_LEN + 1];
	char rd[CALLBACK_MAX_LEN + 1];
	char user_id[40];
	bool signed_up;
	/* sign-ups count against the IP like password sign-ups (LOGIN_IP_MAX_ATTEMPTS) */
	char ip_key[96];
	int64_t counted_at;
	bool ip_reserved;
};

static void verify_free(struct verify *v)
{
	if (v->ip_reserved)
		rate_limit_refund(worker->shm->limits, v->ip_key, v->counted_at, cfg.login_window);
	free(v);
}

static void verify_fail(struct verify *v, int status, const char *code, const char *why)
{
	/* A refused signature, nonce or account is a failed sign-in (the
	 * audit log and /metrics); a malformed request or an outage is not. */
	if (status == 401 || status == 403)
		audit_sign_in_failed(v->ex, "siwe", NULL, v->address[0] ? v->address : NULL, code);
	http_reply_error(v->ex, status, code, why);
	verify_free(v);
}

static json_t *user_object(const char *id, const char *email, const char *name, const struct verify *v)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", id, "email", email, "name", name, "walletAddress", v->address,
	    "chainId", (json_int_t)v->msg.chain_id);
}

static void signed_in(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct verify *v = arg;
	bool created = v->signed_up;

	if (rc != 1) {
		http_reply_header(ex, "Retry-After", "1");
		verify_fail(v, 503, "temporarily_unavailable", "could not create a session; try again");
		return;
	}
	log_info("siwe %s: user %s wallet %s from %s", created ? "sign-up" : "sign-in", s->user_id, v->address,
	    ex->client_ip);
	json_t *o = json_pack("{s:b,s:s,s:s,s:o,s:{s:s,s:I}}", "success", 1, "status", created ? "signed_up" : "signed_in",
	    "redirect", after_sign_in_target(v->rd), "user", user_object(s->user_id, s->email, s->name, v), "session",
	    "id", s->session_id, "expires_at", (json_int_t)s->expires_at);
	reply_json_object(ex, created ? 201 : 200, o);
	verify_free(v);
}

static void linked(struct verify *v, bool already)
{
	log_info("siwe link: user %s wallet %s%s", v->user_id, v->address, already ? " (already linked)" : "");
	json_t *o = json_pack("{s:b,s:s,s:s,s:I}", "success", 1, "status", "linked", "walletAddress", v->address,
	    "chainId", (json_int_t)v->msg.chain_id);
	reply_json_object(v->ex, 200, o);
	verify_free(v);
}

/* The store's refusals, as the client reads them. */
static void refused(struct verify *v, const char *outcome)
{
	static const struct {
		const char *outcome;
		int status;
		const char *code, *why;
	} answers[] = {
		{ "nonce_unknown", 401, "invalid_nonce", "the nonce is unknown or was already used; ask for a new one" },
		{ "nonce_expired", 401, "invalid_nonce", "the nonce has expired; ask for a new one" },
		{ "nonce_mismatch", 401, "invalid_nonce", "the nonce was issued for another wallet or chain" },
		{ "no_account", 403, "registration_disabled", "no account uses this wallet, and registration is closed" },
		{ "account_disabled", 403, "account_disabled", "this account is disabled" },
		{ "email_taken", 409, "user_exists", "an account with this email already exists" },
		{ "linked_elsewhere", 409, "wallet_in_use", "this wallet is linked to another account" },
		{ "too_many_wallets", 409, "too_many_wallets", "this account has as many wallets as it may have" },
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		if (!strcmp(outcome, answers[i].outcome)) {
			log_info("siwe refused (%s): wallet %s from %s", outcome, v->address, v->ex->client_ip);
			verify_fail(v, answers[i].status, answers[i].code, answers[i].why);
			return;
		}
	/* placeholder_taken (two placeholders in use for one address) or a word
	 * this code does not know: nothing to blame the client for. */
	log_warnx("siwe: unexpected store outcome \"%s\" for wallet %s", outcome, v->address);
	http_reply_header(v->ex, "Retry-After", "1");
	verify_fail(v, 503, "temporarily_unavailable", "could not complete the sign-in; try again");
}

static void siwe_done(const struct store_reply *r, void *arg)
{
	struct verify *v = arg;
	if (store_failed(r) || r->n_rows != 1) {
		store_reply_unavailable(v->ex);
		verify_free(v);
		return;
	}
	const char *outcome = store_text(r, 0, SIWE_OUTCOME_RESULT);
	snprintf(v->user_id, sizeof(v->user_id), "%s", store_text(r, 0, SIWE_OUTCOME_USER_ID));
	if (!strcmp(outcome, "linked") || !strcmp(outcome, "already_linked")) {
		linked(v, !strcmp(outcome, "already_linked"));
	} else if (!strcmp(outcome, "signed_in") || !strcmp(outcome, "signed_up")) {
		/* A sign-up stays counted against the IP (it bounds account
		 * floods); a sign-in gives its count back, and its nonce's. */
		v->signed_up = !strcmp(outcome, "signed_up");
		if (v->signed_up) {
			v->ip_reserved = false;
		} else {
			char nonce_key[96];
			client_limit_key("siwe-nonce:", v->ex->client_ip, nonce_key, sizeof(nonce_key));
			rate_limit_refund(worker->shm->limits, nonce_key, now_seconds(), cfg.login_window);
		}
		session_create(v->ex, v->user_id, "eth", signed_in, v);
	} else {
		refused(v, outcome);
	}
}

static void ask_store(struct verify *v, const char *link_user_id)
{
	STORE_CALL_FROM(v->ex, NULL, STORE_OP_SIWE_SIGN_IN, siwe_done, v, STORE_V_TEXT(v->nonce_hash), STORE_V_TEXT(v->address_lc),
	    STORE_V_INT(v->msg.chain_id), STORE_V_TEXT_OR_NULL(link_user_id), STORE_V_BOOL(cfg.enable_registration),
	    text_or_null(v->email), text_or_null(v->email_normalized),
	    STORE_V_BOOL(false) /* ADMIN_EMAILS waits for a verified address */);
}

/* Signed in: link. Not: sign in or up, counted against the IP first. */
static void session_known(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct verify *v = arg;
	int retry = 0;

	if (rc < 0) {
		store_reply_unavailable(ex);
		verify_free(v);
		return;
	}
	if (rc == 1) {
		snprintf(v->user_id, sizeof(v->user_id), "%s", s->user_id);
		ask_store(v, v->user_id);
		return;
	}
	client_limit_key("ip:", ex->client_ip, v->ip_key, sizeof(v->ip_key));
	v->counted_at = now_seconds();
	int n = rate_limit_reserve(worker->shm->limits, v->ip_key, v->counted_at, cfg.login_window,
	    cfg.login_ip_max_attempts, &retry);
	if (n <= 0) {
		if (n == 0)
			http_reply_retry_after(ex, retry);
		verify_fail(v, n < 0 ? 503 : 429, n < 0 ? "temporarily_unavailable" : "too_many_requests",
		    n < 0 ? "sign-in is unavailable; try again" : "too many attempts; try again later");
		return;
	}
	v->ip_reserved = true;
	ask_store(v, NULL);
}

/* The signature, by the message's own address over its exact bytes. A smart
 * contract wallet (EIP-1271) signs with a key that is not its address, which
 * shows here as a mismatch. */
static const char *signature_refusal(const struct verify *v, const char *sig, const char **why)
{
	enum eth_signature_error e = eth_personal_sign_verify((const uint8_t *)v->message, strlen(v->message), sig,
	    strlen(sig), v->msg.address_bytes);
	switch (e) {
	case ETH_SIG_OK: return NULL;
	case ETH_SIG_ERR_WRONG_SIGNER:
	case ETH_SIG_ERR_INVALID:
		*why = "signature does not match the address (contract wallets are not supported)";
		return "invalid_signature";
	case ETH_SIG_ERR_FORMAT:
	case ETH_SIG_ERR_RECOVERY_ID:
		*why = eth_signature_error_text(e);
		return "malformed_signature";
	default:	/* high s: the malleable twin of a signature, which no wallet makes */
		*why = eth_signature_error_text(e);
		return "invalid_signature";
	}
}

/* walletAddress and chainId, when sent, must be the message's own. */
static const char *body_refusal(const json_t *json, const struct siwe_message *m, const char **why)
{
	uint8_t addr[ETH_ADDRESS_LEN];
	uint64_t chain_id;
	bool present = false;
	const char *wallet = json_body_string(json, "walletAddress", 64, &present);

	if (present && (!wallet || !client_address(wallet, addr) || memcmp(addr, m->address_bytes, ETH_ADDRESS_LEN))) {
		*why = "walletAddress is not the address of the signed message";
		return "invalid_wallet_address";
	}
	if (json_chain_id(json, &chain_id) < 0 || (chain_id && chain_id != m->chain_id)) {
		*why = "chainId is not the chain of the signed message";
		return "unsupported_chain";
	}
	return NULL;
}

/* The optional email (for a sign-up; ignored otherwise). */
static bool take_email(struct verify *v, const json_t *json)
{
	bool present = false;
	const char *email = json_body_string(json, "email", EMAIL_MAX_LEN + 64, &present);
	if (!present || (email && !*email))
		return true;
	if (!email || email_normalize(email, strlen(email), v->email_normalized, sizeof(v->email_normalized)) < 0)
		return false;
	snprintf(v->email, sizeof(v->email), "%s", email);
	/* the display form as typed, minus surrounding spaces, as password sign-ups store it */
	size_t start = strspn(v->email, " \t\r\n"), len = strlen(v->email);
	while (len > start && strchr(" \t\r\n", v->email[len - 1]))
		len--;
	memmove(v->email, v->email + start, len - start);
	v->email[len - start] = '\0';
	return true;
}

/* Everything that needs no database. NULL and v filled, or the refusal. */
static const char *verify_offline(struct verify *v, const json_t *json, const char **why, char *why_buf, size_t why_cap)
{
	const char *message = json_body_string(json, "message", SIWE_MAX_LEN, NULL);
	const char *sig = json_body_string(json, "signature", SIGNATURE_MAX_LEN, NULL);
	const char *rd = json_body_string(json, "callbackURL", CALLBACK_MAX_LEN, NULL);
	enum siwe_error perr;
	const char *code;

	if (!message || !sig) {
		*why = "message and signature are required (strings; the message at most 8192 bytes)";
		return "invalid_request";
	}
	snprintf(v->message, sizeof(v->message), "%s", message);
	snprintf(v->rd, sizeof(v->rd), "%s", rd ? rd : "");
	if ((perr = siwe_parse(v->message, strlen(v->message), &v->msg)) != SIWE_OK) {
		snprintf(why_buf, why_cap, "not a valid EIP-4361 message: %s", siwe_error_text(perr));
		*why = why_buf;
		return "invalid_message";
	}
	/* the address the message claims: what a refusal is about (audit log) */
	eth_address_encode(v->msg.address_bytes, v->address);
	if ((code = siwe_message_refusal(&v->msg, now_seconds(), why, why_buf, why_cap)) ||
	    (code = body_refusal(json, &v->msg, why)) || (code = signature_refusal(v, sig, why)))
		return code;
	if (!take_email(v, json)) {
		*why = "enter a valid email address";
		return "invalid_email";
	}
	address_lower(v->msg.address_bytes, v->address_lc);
	secure_sha256_param(v->msg.nonce.ptr, v->msg.nonce.len, v->nonce_hash);
	return NULL;
}

/* A request that is malformed is 400; one that is well formed but does not
 * prove what it must (domain, time, nonce, signature, ...) is 401. */
static int refusal_status(const char *code)
{
	return !strcmp(code, "invalid_request") || !strcmp(code, "invalid_message") || !strcmp(code, "invalid_email") ||
	        !strcmp(code, "malformed_signature")
	    ? 400
	    : 401;
}

static void siwe_verify(struct http_exchange *ex)
{
	const char *code, *why = NULL;
	char why_buf[300];
	json_t *json;
	struct verify *v;

	if (!same_origin_json(ex, false) || !(json = json_request_body(ex)))
		return;
	if (!(v = calloc(1, sizeof(*v)))) {
		json_decref(json);
		http_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	v->ex = ex;
	code = verify_offline(v, json, &why, why_buf, sizeof(why_buf));
	json_decref(json);
	if (code) {
		log_info("siwe refused (%s): %s, from %s", code, why, ex->client_ip);
		verify_fail(v, refusal_status(code), code, why);
		return;
	}
	session_from_request(ex, session_known, v);
}

/* ---- the signed-in user's wallets ---- */

/* What to do once the request's session is known (static: no state to free). */
struct signed_in_step {
	void (*next)(struct http_exchange *ex, const struct session_entry *s);
};

static void with_session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	const struct signed_in_step *step = arg;
	if (rc < 0)
		store_reply_unavailable(ex);
	else if (rc == 0)
		http_reply_error(ex, 401, "unauthorized", "sign in first");
	else
		step->next(ex, s);
}

static void with_session(struct http_exchange *ex, const struct signed_in_step *step)
{
	session_from_request(ex, with_session_found, (void *)step);
}

static void wallets_listed(const struct store_reply *r, void *arg)
{
	struct http_exchange *ex = arg;
	if (store_failed(r)) {
		store_reply_unavailable(ex);
		return;
	}
	json_t *list = json_array();
	for (unsigned i = 0; list && i < r->n_rows; i++) {
		uint8_t addr[ETH_ADDRESS_LEN];
		char text[ETH_ADDRESS_TEXT_LEN + 1];
		const char *stored = store_text(r, i, WALLET_ADDRESS);
		if (!eth_address_decode(stored, strlen(stored), addr))
			continue;
		eth_address_encode(addr, text);
		json_t *w = json_pack("{s:s,s:I,s:I}", "address", text, "chainId", (json_int_t)store_int(r, i, WALLET_CHAIN_ID),
		    "createdAt", (json_int_t)store_int(r, i, WALLET_CREATED_AT));
		if (w && !store_is_null(r, i, WALLET_LAST_USED_AT))
			json_object_set_new(w, "lastUsedAt", json_integer(store_int(r, i, WALLET_LAST_USED_AT)));
		json_array_append_new(list, w);
	}
	reply_json_object(ex, 200, list ? json_pack("{s:o}", "wallets", list) : NULL);
}

static void wallets_list(struct http_exchange *ex, const struct session_entry *s)
{
	STORE_CALL(STORE_OP_WALLET_LIST, wallets_listed, ex, STORE_V_TEXT(s->user_id));
}

static void wallet_unlinked(const struct store_reply *r, void *arg)
{
	struct http_exchange *ex = arg;
	const char *outcome = store_failed(r) ? NULL : store_text(r, 0, SIWE_OUTCOME_RESULT);

	if (!outcome || r->n_rows != 1)
		store_reply_unavailable(ex);
	else if (!strcmp(outcome, "unlinked"))
		http_reply_json(ex, 200, "{\"status\":\"ok\"}");
	else if (!strcmp(outcome, "last_method"))
		http_reply_error(ex, 409, "last_sign_in_method",
		    "this wallet is the only way to sign in to this account; link another wallet first");
	else
		http_reply_error(ex, 404, "not_found", "no such wallet on this account");
}

static void wallet_unlink(struct http_exchange *ex, const struct session_entry *s)
{
	uint8_t addr[ETH_ADDRESS_LEN];
	char lower[ETH_ADDRESS_TEXT_LEN + 1];
	json_t *json = json_request_body(ex);
	const char *wallet = json ? json_body_string(json, "walletAddress", 64, NULL) : NULL;

	if (!json)
		return;
	if (!wallet || !client_address(wallet, addr)) {
		json_decref(json);
		http_reply_error(ex, 400, "invalid_wallet_address", "walletAddress is not an Ethereum address");
		return;
	}
	json_decref(json);
	address_lower(addr, lower);
	log_info("siwe unlink: user %s wallet %s", s->user_id, lower);
	STORE_CALL_FROM(ex, NULL, STORE_OP_WALLET_UNLINK, wallet_unlinked, ex, STORE_V_TEXT(s->user_id), STORE_V_TEXT(lower));
}

static void siwe_wallets(struct http_exchange *ex)
{
	static const struct signed_in_step step = { wallets_list };
	with_session(ex, &step);
}

static void siwe_unlink(struct http_exchange *ex)
{
	static const struct signed_in_step step = { wallet_unlink };
	if (same_origin_json(ex, false))
		with_session(ex, &step);
}

/* ---- routing ---- */

#define M(m) SUBROUTE_METHOD(m)

static const struct subroute siwe_routes[] = {
	/* No HEAD on the nonce: a probe must not store one. */
	{ "/api/auth/siwe/nonce", M(GET) | M(POST), siwe_nonce, "GET, POST" },
	{ "/api/auth/siwe/get-nonce", M(GET) | M(POST), siwe_nonce, "GET, POST" },
	{ "/api/auth/siwe/verify", M(POST), siwe_verify, "POST" },
	{ "/api/auth/siwe/unlink", M(POST), siwe_unlink, "POST" },
	{ "/api/auth/siwe/wallets", M(GET) | M(HEAD), siwe_wallets, "GET, HEAD" },
};

void handle_siwe(struct http_exchange *ex)
{
	subroute_dispatch(ex, siwe_routes, sizeof(siwe_routes) / sizeof(siwe_routes[0]), cfg.enable_siwe);
}

void handle_siwe_script(struct http_exchange *ex)
{
	if (!cfg.enable_siwe) {
		http_reply_error(ex, 404, "not_found", "no such file");
		return;
	}
	handle_static(ex);
}

/* ---- page slots ---- */

static const char login_fragment[] =
	"<div class=\"siwe\">\n"
	"<p class=\"or\">or</p>\n"
	"<button type=\"button\" id=\"siwe-sign-in\" class=\"secondary\" hidden>Sign in with Ethereum</button>\n"
	"<p id=\"siwe-status\" class=\"error\" role=\"alert\" hidden></p>\n"
	"</div>\n"
	"<script src=\"/static/siwe.js\" defer></script>";

static const char account_fragment[] =
	"<h2>Ethereum wallets</h2>\n"
	"<ul id=\"siwe-wallets\" class=\"wallets\"></ul>\n"
	"<button type=\"button\" id=\"siwe-link\" class=\"secondary\" hidden>Link an Ethereum wallet</button>\n"
	"<p id=\"siwe-status\" class=\"error\" role=\"alert\" hidden></p>\n"
	"<script src=\"/static/siwe.js\" defer></script>";

const char *siwe_page_fragment(const char *name, size_t len)
{
	const char *html = NULL;
	if (len == strlen("siwe_login") && !memcmp(name, "siwe_login", len))
		html = login_fragment;
	else if (len == strlen("siwe_account") && !memcmp(name, "siwe_account", len))
		html = account_fragment;
	return html && !cfg.enable_siwe ? "" : html;
}
