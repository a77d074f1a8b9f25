/*
 * libFuzzer target for proto/store_wire.c: every store request a worker
 * sends goes through store_request_decode in the store actor (its peer may
 * be a compromised worker), every reply through store_reply_decode in a
 * worker. Checks that anything decoded re-encodes and decodes to the same
 * values, and that failures leave nothing allocated.
 */
#include "proto/store_wire.h"

#include <stdlib.h>
#include <string.h>

static int values_equal(const struct store_value *a, const struct store_value *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == STORE_TEXT)
		return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
	return a->kind == STORE_NULL || a->i == b->i;
}

static int texts_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_request(const uint8_t *data, size_t size)
{
	static uint8_t buf[64 * 1024];
	struct store_request req, again;

	if (store_request_decode(data, size, &req) < 0)
		return;
	long len = store_request_encode(&req, buf, sizeof(buf));
	if (len < 0 || store_request_decode(buf, (size_t)len, &again) < 0)
		abort();
	if (again.op != req.op || again.budget_ms != req.budget_ms || again.n_args != req.n_args)
		abort();
	for (unsigned i = 0; i < req.n_args; i++)
		if (!values_equal(&req.args[i], &again.args[i]))
			abort();
	if (!texts_equal(req.ctx.client_ip, again.ctx.client_ip) || !texts_equal(req.ctx.user_agent, again.ctx.user_agent) ||
	    !texts_equal(req.ctx.actor_user_id, again.ctx.actor_user_id))
		abort();
	store_request_free(&again);
	store_request_free(&req);
}

static void check_reply(uint32_t op, const uint8_t *data, size_t size)
{
	static uint8_t buf[64 * 1024];
	struct store_reply r, again;

	if (store_reply_decode(op, data, size, &r) < 0)
		return;
	long len = store_reply_encode(op, &r, buf, sizeof(buf));
	if (len < 0 || store_reply_decode(op, buf, (size_t)len, &again) < 0)
		abort();
	if (again.status != r.status || again.n_rows != r.n_rows)
		abort();
	for (unsigned i = 0; i < r.n_rows * r.n_cols; i++)
		if (!values_equal(&r.cells[i], &again.cells[i]))
			abort();
	/* Accessors never read out of bounds, whatever the indices. */
	(void)store_text(&r, r.n_rows, 0);
	(void)store_int(&r, 0, r.n_cols);
	store_reply_free(&again);
	store_reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	/* The first byte picks the operation a reply is read as. */
	if (size > 0)
		check_reply(data[0] % STORE_OP_MAX, data + 1, size - 1);
	return 0;
}
