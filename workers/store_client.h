/*
 * A worker's asynchronous calls to the store actor: name an operation
 * (proto/store_ops.h) and its typed arguments, get a callback with the
 * reply. The callback always comes, exactly once, and never before
 * store_call returns: with the store's answer, or with STORE_TIMEOUT after
 * the deadline (DB_STATEMENT_TIMEOUT_MS), or with STORE_UNAVAILABLE when
 * there is no store link. A late answer is discarded.
 */
#ifndef DREAMAUTH_STORE_CLIENT_H
#define DREAMAUTH_STORE_CLIENT_H
#include <stdbool.h>
#include "proto/store_wire.h"
#include "workers/http_server.h"

typedef void (*store_done_fn)(const struct store_reply *reply, void *arg);

void store_call(uint32_t op, const struct store_value *args, unsigned n_args, store_done_fn done, void *arg);
/* Convenience for a fixed list: STORE_CALL(op, done, arg, STORE_V_TEXT(a), ...) */
#define STORE_CALL(op, done, arg, ...)                                                            \
	do {                                                                                        \
		const struct store_value store_args_[] = { __VA_ARGS__ };                           \
		store_call((op), store_args_, sizeof(store_args_) / sizeof(store_args_[0]), (done), (arg)); \
	} while (0)

/* The same, with who asked for the audit log (store/audit.h): the
 * exchange's client IP and User-Agent (printable ASCII, at most 256 bytes,
 * other bytes as \xNN) and, when an admin acts on someone else's account,
 * acting_user_id (else NULL: the operation's own user is the actor). Use it
 * for every operation that records an audit event. */
void store_call_from(const struct http_exchange *ex, const char *acting_user_id, uint32_t op,
    const struct store_value *args, unsigned n_args, store_done_fn done, void *arg);
#define STORE_CALL_FROM(ex, acting_user_id, op, done, arg, ...)                                   \
	do {                                                                                        \
		const struct store_value store_args_[] = { __VA_ARGS__ };                           \
		store_call_from((ex), (acting_user_id), (op), store_args_,                          \
		    sizeof(store_args_) / sizeof(store_args_[0]), (done), (arg));                   \
	} while (0)
/* The parts: the context of ex (ua is its buffer for the User-Agent), and
 * a call with a context (NULL: none). */
void store_context_from(const struct http_exchange *ex, const char *acting_user_id, struct store_context *ctx,
    char ua[STORE_CONTEXT_USER_AGENT_MAX + 1]);
void store_call_context(const struct store_context *ctx, uint32_t op, const struct store_value *args, unsigned n_args,
    store_done_fn done, void *arg);

/* Did the call fail for want of a store or a database (anything but OK and
 * CONFLICT)? Then answer 503 with Retry-After, e.g. store_reply_unavailable. */
bool store_failed(const struct store_reply *reply);
/* 503 {"error":"temporarily_unavailable"} with Retry-After: 1. */
void store_reply_unavailable(struct http_exchange *ex);
#endif
