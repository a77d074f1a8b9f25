/*
 * The store's wire format: what a worker asks the store actor (an operation
 * and its typed arguments) and what it gets back (a status and a table of
 * typed cells). Carried as the bin payload of IPC_STORE_REQ / IPC_STORE_RESP
 * (proto/ipc.h). Every operation's argument types and result columns are
 * listed once, in proto/store_ops.h; both decoders check a message against
 * that list, so a compromised worker cannot send the store anything but a
 * known operation with well-typed fields, and a worker never reads a cell of
 * the wrong type.
 *
 *   request  msgpack [op:uint, budget_ms:uint, [arg, ...]]
 *            or       [op, budget_ms, [arg, ...], [client_ip, user_agent, actor_user_id]]
 *   reply    msgpack [status:int, n_cols:uint, [cell, ...]]   (row-major)
 *   arg/cell nil | int | str | bool
 */
#ifndef DREAMAUTH_STORE_WIRE_H
#define DREAMAUTH_STORE_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "proto/store_ops.h"

#define STORE_MAX_ARGS 16
#define STORE_MAX_COLS 24
#define STORE_MAX_ROWS 256
#define STORE_MAX_TEXT (32 * 1024)

enum store_status {
	STORE_OK = 0,
	STORE_CONFLICT = 1,	/* a unique constraint refused the write */
	STORE_ERROR = 2,	/* the database refused or failed the statement */
	STORE_BUSY = 3,		/* the store's queue is full: try again shortly */
	STORE_UNAVAILABLE = 4,	/* no store link, or no database connection */
	STORE_REFUSED = 5,	/* the request did not match its operation's shape */
	STORE_TIMEOUT = 6,	/* the deadline passed before an answer */
	STORE_TOO_LARGE = 7,	/* the answer would not fit a frame */
};

enum store_kind { STORE_NULL = 0, STORE_INT, STORE_TEXT, STORE_BOOL };

struct store_value {
	enum store_kind kind;
	int64_t i;		/* INT, BOOL (0/1) */
	const char *text;	/* TEXT: NUL-terminated, no inner NUL */
	size_t len;
};

#define STORE_V_NULL ((struct store_value){ .kind = STORE_NULL })
#define STORE_V_INT(v) ((struct store_value){ .kind = STORE_INT, .i = (int64_t)(v) })
#define STORE_V_BOOL(v) ((struct store_value){ .kind = STORE_BOOL, .i = (v) ? 1 : 0 })
#define STORE_V_TEXT(s) ((struct store_value){ .kind = STORE_TEXT, .text = (s), .len = strlen(s) })
/* NULL for a NULL or empty string: optional text arguments */
#define STORE_V_TEXT_OR_NULL(s) ((s) && *(s) ? STORE_V_TEXT(s) : STORE_V_NULL)

/* Who asked, for the audit log (store/audit.c): a worker sends it with the
 * requests that change something for a browser (workers/store_client.h
 * store_call_from). Each part may be NULL; the decoder bounds their sizes. */
#define STORE_CONTEXT_IP_MAX 64
#define STORE_CONTEXT_USER_AGENT_MAX 256
#define STORE_CONTEXT_ACTOR_MAX 64
struct store_context {
	const char *client_ip;
	const char *user_agent;		/* printable ASCII (the worker escapes the rest) */
	const char *actor_user_id;	/* someone acting on another's account (an admin); NULL: the user named
					 * by the operation's own arguments */
};

struct store_request {
	uint32_t op;
	uint32_t budget_ms;	/* the asker gives up after this long; 0 = no deadline */
	unsigned n_args;
	struct store_value args[STORE_MAX_ARGS];
	struct store_context ctx;	/* pointers into arena when decoded */
	char *arena;		/* decoded text lives here (owned) */
};

struct store_reply {
	int32_t status;		/* enum store_status */
	unsigned n_rows, n_cols;
	struct store_value *cells;	/* n_rows * n_cols, row-major (owned) */
	char *arena;		/* decoded text (owned) */
};

/* Encodes into out (at most cap bytes). Returns the length, or -1 if it does
 * not fit or does not match the operation's argument list. */
long store_request_encode(const struct store_request *req, uint8_t *out, size_t cap);
/* 0 and *out filled (free with store_request_free), or -1: unknown
 * operation, wrong arity or types, trailing bytes. */
int store_request_decode(const uint8_t *in, size_t len, struct store_request *out);
void store_request_free(struct store_request *req);

/* Encodes a reply to operation op; cells must match its columns (a reply
 * other than STORE_OK carries no rows). Returns the length or -1. */
long store_reply_encode(uint32_t op, const struct store_reply *reply, uint8_t *out, size_t cap);
/* 0 and *out filled (free with store_reply_free), or -1 when the reply does
 * not match operation op's columns. */
int store_reply_decode(uint32_t op, const uint8_t *in, size_t len, struct store_reply *out);
void store_reply_free(struct store_reply *reply);

/* Cell accessors: NULL reads as "", 0 and false. row/col out of range too. */
const struct store_value *store_cell(const struct store_reply *r, unsigned row, unsigned col);
const char *store_text(const struct store_reply *r, unsigned row, unsigned col);
int64_t store_int(const struct store_reply *r, unsigned row, unsigned col);
bool store_bool(const struct store_reply *r, unsigned row, unsigned col);
bool store_is_null(const struct store_reply *r, unsigned row, unsigned col);

/* Does value v fit type letter t ('t' text, 'i' int, 'b' bool; upper case:
 * may also be NULL)? */
bool store_value_fits(const struct store_value *v, char t);
const char *store_status_text(int32_t status);
#endif
