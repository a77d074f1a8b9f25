/*
 * One admin request in flight (the API, workers/admin_api*.c, and the
 * console, workers/admin_console*.c): its caller, path, parsed body and
 * query, and what to do with the store's answer. admin_store_call sends an
 * admin operation with the caller's proof as its first argument; the answer
 * comes back to c->done unless the store refused the caller (403) or failed
 * (503), which are answered here. The call is freed after done returns,
 * unless done chained another call (admin_store_call again).
 */
#ifndef DREAMAUTH_ADMIN_CALL_H
#define DREAMAUTH_ADMIN_CALL_H
#include <stdbool.h>
#include <jansson.h>
#include "common/secure.h"
#include "proto/admin_path.h"
#include "proto/form.h"
#include "proto/store_wire.h"
#include "workers/admin_auth.h"
#include "workers/http_server.h"

struct evbuffer;
struct admin_call;
typedef void (*admin_done_fn)(struct admin_call *c, const struct store_reply *r);

struct admin_call {
	struct http_exchange *ex;
	struct admin_caller caller;
	struct admin_path path;
	bool html;			/* the console: failures as pages */
	json_t *body;			/* the JSON body (API), owned, or NULL */
	struct form form;		/* the form body (console) or query (API) */
	bool has_form;
	admin_done_fn done;
	bool chained;			/* done started another call: keep c */
	char secret[TOKEN_STR_LEN];	/* a client secret just made, shown once */
	char text[512];			/* a value a step keeps for the next */
	int limit;
	struct evbuffer *page;		/* a console page being built over several calls */
	json_t *kept;			/* an API answer being built over several calls, owned */
};

struct admin_call *admin_call_new(struct http_exchange *ex, const struct admin_caller *caller, bool html);
void admin_call_free(struct admin_call *c);

/* op with the caller's proof prepended to args. */
void admin_store_call(struct admin_call *c, uint32_t op, admin_done_fn done, const struct store_value *args,
    unsigned n_args);
#define ADMIN_STORE_CALL(c, op, done, ...)                                                                   \
	do {                                                                                                 \
		const struct store_value admin_args_[] = { __VA_ARGS__ };                                    \
		admin_store_call((c), (op), (done), admin_args_, sizeof(admin_args_) / sizeof(admin_args_[0])); \
	} while (0)

/* JSON answers: o is consumed. */
void admin_reply_json(struct http_exchange *ex, int status, json_t *o);
/* An error as JSON (API) or as a page (console). */
void admin_fail(struct admin_call *c, int status, const char *error, const char *description);

/* Groups from a JSON array of names (NULL: absent) into out, comma-joined;
 * false when malformed (user_groups_valid). */
bool admin_groups_from_json(const json_t *a, char *out, size_t cap);
/* The token leeway every revocation of access tokens uses. */
int admin_token_leeway(void);
#endif
