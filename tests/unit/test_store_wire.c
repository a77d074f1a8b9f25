/* Unit tests for proto/store_wire.c: the store's typed request/reply codec. */
#include "proto/store_wire.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

static uint8_t buf[64 * 1024];

static long encode_revoke_user(const char *user, struct store_value except)
{
	struct store_request req = { .op = STORE_OP_SESSION_REVOKE_USER, .budget_ms = 250, .n_args = 2 };
	req.args[0] = STORE_V_TEXT(user);
	req.args[1] = except;
	return store_request_encode(&req, buf, sizeof(buf));
}

static void request_round_trip(void)
{
	struct store_request out;
	long len = encode_revoke_user("u-1", STORE_V_NULL);
	CHECK(len > 0);
	CHECK_EQ_INT(store_request_decode(buf, (size_t)len, &out), 0);
	CHECK_EQ_INT(out.op, STORE_OP_SESSION_REVOKE_USER);
	CHECK_EQ_INT(out.budget_ms, 250);
	CHECK_EQ_INT(out.n_args, 2);
	CHECK_EQ_STR(out.args[0].text, "u-1");
	CHECK_EQ_INT(out.args[1].kind, STORE_NULL);
	store_request_free(&out);
}

/* The audit context (client IP, user agent, acting admin) travels as a 4th
 * element, bounded in size; a request without one has 3. */
static void request_context(void)
{
	struct store_request req = { .op = STORE_OP_SESSION_REVOKE_USER, .budget_ms = 9, .n_args = 2 }, out;
	char big_ua[STORE_CONTEXT_USER_AGENT_MAX + 2];
	long len;

	req.args[0] = STORE_V_TEXT("u-1");
	req.args[1] = STORE_V_NULL;
	req.ctx = (struct store_context){ .client_ip = "192.0.2.1", .user_agent = "curl/8" };
	len = store_request_encode(&req, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_EQ_INT(buf[0], 0x94);	/* fixarray of 4 */
	CHECK_EQ_INT(store_request_decode(buf, (size_t)len, &out), 0);
	CHECK_EQ_STR(out.ctx.client_ip, "192.0.2.1");
	CHECK_EQ_STR(out.ctx.user_agent, "curl/8");
	CHECK(out.ctx.actor_user_id == NULL);
	CHECK_EQ_STR(out.args[0].text, "u-1");
	store_request_free(&out);
	/* a context part too long is refused by both sides */
	memset(big_ua, 'a', sizeof(big_ua) - 1);
	big_ua[sizeof(big_ua) - 1] = '\0';
	req.ctx.user_agent = big_ua;
	CHECK_EQ_INT(store_request_encode(&req, buf, sizeof(buf)), -1);
	/* hand-made: [op, 0, ["u", nil], [1, nil, nil]] (an int where text goes) */
	const uint8_t wrong_type[] = { 0x94, (uint8_t)STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x93,
		0x01, 0xc0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(wrong_type, sizeof(wrong_type), &out), -1);
	/* two parts instead of three, and trailing bytes after the context */
	const uint8_t short_ctx[] = { 0x94, (uint8_t)STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x92,
		0xc0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(short_ctx, sizeof(short_ctx), &out), -1);
	const uint8_t trailing[] = { 0x94, (uint8_t)STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x93,
		0xc0, 0xc0, 0xc0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(trailing, sizeof(trailing), &out), -1);
	const uint8_t ok[] = { 0x94, (uint8_t)STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x93, 0xc0,
		0xc0, 0xa1, 'x' };
	CHECK_EQ_INT(store_request_decode(ok, sizeof(ok), &out), 0);
	CHECK_EQ_STR(out.ctx.actor_user_id, "x");
	store_request_free(&out);
	/* five elements: no */
	const uint8_t five[] = { 0x95, (uint8_t)STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x93, 0xc0,
		0xc0, 0xc0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(five, sizeof(five), &out), -1);
}

static void request_refusals(void)
{
	struct store_request req = { .op = STORE_OP_SESSION_REVOKE_USER, .n_args = 2 }, out;

	/* the encoder refuses what the operation does not take */
	req.args[0] = STORE_V_NULL;	/* user_id may not be NULL */
	req.args[1] = STORE_V_NULL;
	CHECK_EQ_INT(store_request_encode(&req, buf, sizeof(buf)), -1);
	req.args[0] = STORE_V_INT(7);	/* nor an int */
	CHECK_EQ_INT(store_request_encode(&req, buf, sizeof(buf)), -1);
	req.n_args = 1;			/* wrong arity */
	req.args[0] = STORE_V_TEXT("u");
	CHECK_EQ_INT(store_request_encode(&req, buf, sizeof(buf)), -1);
	req.op = STORE_OP_MAX;		/* unknown operation */
	CHECK_EQ_INT(store_request_encode(&req, buf, sizeof(buf)), -1);
	struct store_value nul = { .kind = STORE_TEXT, .text = "a\0b", .len = 3 };
	CHECK_EQ_INT(encode_revoke_user("u", nul), -1);	/* an inner NUL */

	/* the decoder refuses hand-made frames of the wrong shape */
	const uint8_t unknown_op[] = { 0x93, 0xcc, 0xff, 0x00, 0x90 };
	CHECK_EQ_INT(store_request_decode(unknown_op, sizeof(unknown_op), &out), -1);
	CHECK(out.arena == NULL);
	const uint8_t wrong_arity[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x91, 0xa1, 'u' };
	CHECK_EQ_INT(store_request_decode(wrong_arity, sizeof(wrong_arity), &out), -1);
	const uint8_t wrong_type[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0x07, 0xc0 };
	CHECK_EQ_INT(store_request_decode(wrong_type, sizeof(wrong_type), &out), -1);
	const uint8_t null_required[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xc0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(null_required, sizeof(null_required), &out), -1);
	const uint8_t ok[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0 };
	CHECK_EQ_INT(store_request_decode(ok, sizeof(ok), &out), 0);
	store_request_free(&out);
	const uint8_t trailing[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa1, 'u', 0xc0, 0x00 };
	CHECK_EQ_INT(store_request_decode(trailing, sizeof(trailing), &out), -1);
	const uint8_t inner_nul[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0xa2, 'u', 0, 0xc0 };
	CHECK_EQ_INT(store_request_decode(inner_nul, sizeof(inner_nul), &out), -1);
	/* an array header claiming 2^32-1 arguments costs nothing */
	const uint8_t huge[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff };
	CHECK_EQ_INT(store_request_decode(huge, sizeof(huge), &out), -1);
	/* a nested container as an argument */
	const uint8_t nested[] = { 0x93, STORE_OP_SESSION_REVOKE_USER, 0x00, 0x92, 0x90, 0xc0 };
	CHECK_EQ_INT(store_request_decode(nested, sizeof(nested), &out), -1);
	CHECK_EQ_INT(store_request_decode(buf, 0, &out), -1);
}

static void reply_round_trip(void)
{
	struct store_value cells[2] = { STORE_V_INT(1), STORE_V_INT(0) };
	struct store_reply r = { .status = STORE_OK, .n_rows = 2, .n_cols = 1, .cells = cells }, out;
	long len = store_reply_encode(STORE_OP_SESSION_TOUCH, &r, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_TOUCH, buf, (size_t)len, &out), 0);
	CHECK_EQ_INT(out.n_rows, 2);
	CHECK_EQ_INT(store_int(&out, 0, COUNT_N), 1);
	CHECK_EQ_INT(store_int(&out, 1, COUNT_N), 0);
	/* out of range reads as empty, never past the cells */
	CHECK_EQ_INT(store_int(&out, 2, COUNT_N), 0);
	CHECK_EQ_STR(store_text(&out, 0, 5), "");
	CHECK(store_is_null(&out, 9, 0));
	store_reply_free(&out);

	/* read as another operation's reply, the columns do not match */
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_LOAD, buf, (size_t)len, &out), -1);
	/* a failure carries no rows */
	struct store_reply busy = { .status = STORE_BUSY, .n_rows = 2, .n_cols = 1, .cells = cells };
	len = store_reply_encode(STORE_OP_SESSION_TOUCH, &busy, buf, sizeof(buf));
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_TOUCH, buf, (size_t)len, &out), 0);
	CHECK_EQ_INT(out.status, STORE_BUSY);
	CHECK_EQ_INT(out.n_rows, 0);
	store_reply_free(&out);
	const uint8_t rows_on_failure[] = { 0x93, STORE_ERROR, 0x01, 0x91, 0x01 };
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_TOUCH, rows_on_failure, sizeof(rows_on_failure), &out), -1);
	const uint8_t bad_status[] = { 0x93, 0x63, 0x01, 0x90 };
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_TOUCH, bad_status, sizeof(bad_status), &out), -1);
	/* a cell of the wrong type (text where an int is due) */
	const uint8_t wrong_cell[] = { 0x93, 0x00, 0x01, 0x91, 0xa1, '1' };
	CHECK_EQ_INT(store_reply_decode(STORE_OP_SESSION_TOUCH, wrong_cell, sizeof(wrong_cell), &out), -1);
	/* a reply that does not fit its buffer is refused, not truncated */
	CHECK_EQ_INT(store_reply_encode(STORE_OP_SESSION_TOUCH, &r, buf, 3), -1);
}

static void every_operation_is_well_formed(void)
{
	for (uint32_t op = 1; op < STORE_OP_MAX; op++) {
		const struct store_op_spec *s = store_op_spec(op);
		CHECK(s != NULL && s->name && s->args);
		CHECK(strlen(s->args) <= STORE_MAX_ARGS);
		CHECK(s->n_cols <= STORE_MAX_COLS);
		CHECK_EQ_INT(strspn(s->args, "tiTIbB"), strlen(s->args));
		for (unsigned c = 0; c < s->n_cols; c++)
			CHECK(s->cols[c].name && strchr("tiTIbB", s->cols[c].type));
	}
	CHECK(store_op_spec(0) == NULL);
	CHECK(store_op_spec(STORE_OP_MAX) == NULL);
}

int main(void)
{
	request_round_trip();
	request_context();
	request_refusals();
	reply_round_trip();
	every_operation_is_well_formed();
	return CHECK_DONE();
}
