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

/* Did the call fail for want of a store or a database (anything but OK and
 * CONFLICT)? Then answer 503 with Retry-After, e.g. store_reply_unavailable. */
bool store_failed(const struct store_reply *reply);
/* 503 {"error":"temporarily_unavailable"} with Retry-After: 1. */
void store_reply_unavailable(struct http_exchange *ex);
#endif
