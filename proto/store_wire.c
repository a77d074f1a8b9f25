/*
 * Store request/reply codec (see store_wire.h). Called by the store actor
 * (store/store.c) on requests from workers, by workers (workers/store_client.c)
 * on replies, and fuzzed directly (fuzz/fuzz_store_wire.c). The request
 * decoder trusts nothing: its peer may be a compromised worker.
 */
#include "proto/store_wire.h"
#include "proto/msgpack_read.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ---- */

struct buf_writer {
	uint8_t *buf;
	size_t cap, used;
};

static int buf_write(void *data, const char *bytes, size_t len)
{
	struct buf_writer *w = data;
	if (len > w->cap - w->used)
		return -1;
	if (len)
		memcpy(w->buf + w->used, bytes, len);
	w->used += len;
	return 0;
}

bool store_value_fits(const struct store_value *v, char t)
{
	bool nullable = t >= 'A' && t <= 'Z';
	char base = nullable ? (char)(t - 'A' + 'a') : t;

	if (v->kind == STORE_NULL)
		return nullable;
	switch (base) {
	case 't': return v->kind == STORE_TEXT;
	case 'i': return v->kind == STORE_INT;
	case 'b': return v->kind == STORE_BOOL && (v->i == 0 || v->i == 1);
	default: return false;
	}
}

static int pack_value(msgpack_packer *pk, const struct store_value *v)
{
	switch (v->kind) {
	case STORE_NULL: return msgpack_pack_nil(pk);
	case STORE_INT: return msgpack_pack_int64(pk, v->i);
	case STORE_BOOL: return v->i ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case STORE_TEXT:
		if (v->len > STORE_MAX_TEXT || (v->len && (!v->text || memchr(v->text, '\0', v->len))))
			return -1;
		return msgpack_pack_str(pk, v->len) || msgpack_pack_str_body(pk, v->text, v->len) ? -1 : 0;
	}
	return -1;
}

static const size_t context_max[3] = { STORE_CONTEXT_IP_MAX, STORE_CONTEXT_USER_AGENT_MAX,
	STORE_CONTEXT_ACTOR_MAX };

static bool has_context(const struct store_context *c)
{
	return c->client_ip || c->user_agent || c->actor_user_id;
}

static int pack_context(msgpack_packer *pk, const struct store_context *c)
{
	const char *parts[3] = { c->client_ip, c->user_agent, c->actor_user_id };

	if (msgpack_pack_array(pk, 3))
		return -1;
	for (int i = 0; i < 3; i++) {
		struct store_value v = parts[i] ? STORE_V_TEXT(parts[i]) : STORE_V_NULL;
		if ((parts[i] && v.len > context_max[i]) || pack_value(pk, &v))
			return -1;
	}
	return 0;
}

long store_request_encode(const struct store_request *req, uint8_t *out, size_t cap)
{
	const struct store_op_spec *spec = store_op_spec(req->op);
	struct buf_writer w = { .buf = out, .cap = cap };
	bool with_context = has_context(&req->ctx);
	msgpack_packer pk;

	if (!spec || req->n_args != strlen(spec->args))
		return -1;
	msgpack_packer_init(&pk, &w, buf_write);
	if (msgpack_pack_array(&pk, with_context ? 4 : 3) || msgpack_pack_uint32(&pk, req->op) ||
	    msgpack_pack_uint32(&pk, req->budget_ms) || msgpack_pack_array(&pk, req->n_args))
		return -1;
	for (unsigned i = 0; i < req->n_args; i++)
		if (!store_value_fits(&req->args[i], spec->args[i]) || pack_value(&pk, &req->args[i]))
			return -1;
	if (with_context && pack_context(&pk, &req->ctx))
		return -1;
	return (long)w.used;
}

long store_reply_encode(uint32_t op, const struct store_reply *reply, uint8_t *out, size_t cap)
{
	const struct store_op_spec *spec = store_op_spec(op);
	struct buf_writer w = { .buf = out, .cap = cap };
	msgpack_packer pk;
	unsigned rows = reply->status == STORE_OK ? reply->n_rows : 0;

	if (!spec || (rows && reply->n_cols != spec->n_cols) || rows > STORE_MAX_ROWS)
		return -1;
	msgpack_packer_init(&pk, &w, buf_write);
	if (msgpack_pack_array(&pk, 3) || msgpack_pack_int32(&pk, reply->status) ||
	    msgpack_pack_uint32(&pk, spec->n_cols) || msgpack_pack_array(&pk, rows * spec->n_cols))
		return -1;
	for (unsigned i = 0; i < rows * spec->n_cols; i++)
		if (!store_value_fits(&reply->cells[i], spec->cols[i % spec->n_cols].type) ||
		    pack_value(&pk, &reply->cells[i]))
			return -1;
	return (long)w.used;
}

/* ---- decoding ---- */

/* Text is copied into an arena sized by the input (every string is shorter
 * than the bytes that carried it), NUL-terminated for libpq and C. */
struct arena {
	char *base;
	size_t used, cap;
};

static bool read_value(const uint8_t *in, size_t len, size_t *offset, msgpack_unpacked *item, struct arena *a,
    struct store_value *v)
{
	const msgpack_object *o = &item->data;

	if (!msgpack_read_scalar(in, len, offset, item))
		return false;
	memset(v, 0, sizeof(*v));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: v->kind = STORE_NULL; return true;
	case MSGPACK_OBJECT_BOOLEAN: v->kind = STORE_BOOL; v->i = o->via.boolean ? 1 : 0; return true;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: v->kind = STORE_INT; return msgpack_object_int(o, &v->i);
	case MSGPACK_OBJECT_STR:
		if (o->via.str.size > STORE_MAX_TEXT || o->via.str.size + 1 > a->cap - a->used ||
		    (o->via.str.size && memchr(o->via.str.ptr, '\0', o->via.str.size)))
			return false;
		v->kind = STORE_TEXT;
		v->text = a->base + a->used;
		v->len = o->via.str.size;
		if (v->len)
			memcpy(a->base + a->used, o->via.str.ptr, v->len);
		a->base[a->used + v->len] = '\0';
		a->used += v->len + 1;
		return true;
	default: return false;
	}
}

/* [head..., [values...]]: reads the outer header (3 elements), then lets the
 * caller read its scalars, then the inner array's header. A request may have
 * a 4th element (its context): *count says how many there are. */
static bool read_outer_count(const uint8_t *in, size_t len, size_t *offset, uint32_t *count)
{
	return msgpack_read_array_header(in, len, offset, count);
}

static bool read_outer(const uint8_t *in, size_t len, size_t *offset)
{
	uint32_t count;
	return read_outer_count(in, len, offset, &count) && count == 3;
}

static bool read_u32(const uint8_t *in, size_t len, size_t *offset, msgpack_unpacked *item, uint32_t *out)
{
	uint64_t v;
	if (!msgpack_read_scalar(in, len, offset, item) || !msgpack_object_uint(&item->data, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static char arg_type(const struct store_op_spec *spec, unsigned i)
{
	return spec->args[i];
}

static char cell_type(const struct store_op_spec *spec, unsigned i)
{
	return spec->cols[i % spec->n_cols].type;
}

/* The last element: count values, each of the type its position calls for,
 * and nothing after them. */
static bool read_typed_values(const uint8_t *in, size_t len, size_t *offset, msgpack_unpacked *item, struct arena *a,
    struct store_value *out, unsigned count, const struct store_op_spec *spec,
    char (*type_at)(const struct store_op_spec *, unsigned))
{
	for (unsigned i = 0; i < count; i++)
		if (!read_value(in, len, offset, item, a, &out[i]) || !store_value_fits(&out[i], type_at(spec, i)))
			return false;
	return *offset == len;
}

/* [client_ip, user_agent, actor_user_id]: each nil or a short string, and
 * nothing after them. */
static bool read_context(const uint8_t *in, size_t len, size_t *offset, msgpack_unpacked *item, struct arena *a,
    struct store_context *ctx)
{
	const char **parts[3] = { &ctx->client_ip, &ctx->user_agent, &ctx->actor_user_id };
	uint32_t count;

	if (!msgpack_read_array_header(in, len, offset, &count) || count != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		struct store_value v;
		if (!read_value(in, len, offset, item, a, &v) || !(v.kind == STORE_NULL || v.kind == STORE_TEXT) ||
		    (v.kind == STORE_TEXT && v.len > context_max[i]))
			return false;
		*parts[i] = v.kind == STORE_TEXT ? v.text : NULL;
	}
	return *offset == len;
}

int store_request_decode(const uint8_t *in, size_t len, struct store_request *out)
{
	msgpack_unpacked item;
	size_t offset = 0;
	uint32_t count, outer;
	const struct store_op_spec *spec;
	struct arena a = { 0 };

	memset(out, 0, sizeof(*out));
	msgpack_unpacked_init(&item);
	if (!read_outer_count(in, len, &offset, &outer) || (outer != 3 && outer != 4) ||
	    !read_u32(in, len, &offset, &item, &out->op) ||
	    !(spec = store_op_spec(out->op)) || !read_u32(in, len, &offset, &item, &out->budget_ms) ||
	    !msgpack_read_array_header(in, len, &offset, &count) || count != strlen(spec->args))
		goto fail;
	a.cap = len + 1;
	a.base = malloc(a.cap);
	if (!a.base)
		goto fail;
	out->arena = a.base;
	out->n_args = count;
	/* With a context, the arguments are followed by it, not by the end. */
	if (outer == 4) {
		for (unsigned i = 0; i < count; i++)
			if (!read_value(in, len, &offset, &item, &a, &out->args[i]) ||
			    !store_value_fits(&out->args[i], arg_type(spec, i)))
				goto fail;
		if (!read_context(in, len, &offset, &item, &a, &out->ctx))
			goto fail;
	} else if (!read_typed_values(in, len, &offset, &item, &a, out->args, count, spec, arg_type)) {
		goto fail;
	}
	msgpack_unpacked_destroy(&item);
	return 0;
fail:
	msgpack_unpacked_destroy(&item);
	store_request_free(out);
	return -1;
}

int store_reply_decode(uint32_t op, const uint8_t *in, size_t len, struct store_reply *out)
{
	const struct store_op_spec *spec = store_op_spec(op);
	msgpack_unpacked item;
	size_t offset = 0;
	uint32_t n_cols, count;
	int64_t status;
	struct arena a = { 0 };

	memset(out, 0, sizeof(*out));
	if (!spec)
		return -1;
	msgpack_unpacked_init(&item);
	if (!read_outer(in, len, &offset) || !msgpack_read_scalar(in, len, &offset, &item) ||
	    !msgpack_object_int(&item.data, &status) || status < STORE_OK || status > STORE_TOO_LARGE ||
	    !read_u32(in, len, &offset, &item, &n_cols) || n_cols != spec->n_cols ||
	    !msgpack_read_array_header(in, len, &offset, &count))
		goto fail;
	out->status = (int32_t)status;
	if (count && (status != STORE_OK || n_cols == 0 || count % n_cols || count / n_cols > STORE_MAX_ROWS))
		goto fail;
	out->n_cols = n_cols;
	out->n_rows = n_cols ? count / n_cols : 0;
	if (count) {
		a.cap = len + 1;
		a.base = malloc(a.cap);
		out->arena = a.base;
		out->cells = calloc(count, sizeof(*out->cells));
		if (!a.base || !out->cells)
			goto fail;
	}
	if (!read_typed_values(in, len, &offset, &item, &a, out->cells, count, spec, cell_type))
		goto fail;
	msgpack_unpacked_destroy(&item);
	return 0;
fail:
	msgpack_unpacked_destroy(&item);
	store_reply_free(out);
	return -1;
}

void store_request_free(struct store_request *req)
{
	free(req->arena);
	memset(req, 0, sizeof(*req));
}

void store_reply_free(struct store_reply *reply)
{
	free(reply->cells);
	free(reply->arena);
	memset(reply, 0, sizeof(*reply));
}

/* ---- reading cells ---- */

const struct store_value *store_cell(const struct store_reply *r, unsigned row, unsigned col)
{
	if (!r || r->status != STORE_OK || row >= r->n_rows || col >= r->n_cols)
		return NULL;
	return &r->cells[row * r->n_cols + col];
}

const char *store_text(const struct store_reply *r, unsigned row, unsigned col)
{
	const struct store_value *v = store_cell(r, row, col);
	return v && v->kind == STORE_TEXT ? v->text : "";
}

int64_t store_int(const struct store_reply *r, unsigned row, unsigned col)
{
	const struct store_value *v = store_cell(r, row, col);
	return v && v->kind == STORE_INT ? v->i : 0;
}

bool store_bool(const struct store_reply *r, unsigned row, unsigned col)
{
	const struct store_value *v = store_cell(r, row, col);
	return v && v->kind == STORE_BOOL && v->i;
}

bool store_is_null(const struct store_reply *r, unsigned row, unsigned col)
{
	const struct store_value *v = store_cell(r, row, col);
	return !v || v->kind == STORE_NULL;
}

const char *store_status_text(int32_t status)
{
	switch (status) {
	case STORE_OK: return "ok";
	case STORE_CONFLICT: return "conflict";
	case STORE_ERROR: return "database error";
	case STORE_BUSY: return "store busy";
	case STORE_UNAVAILABLE: return "store unavailable";
	case STORE_REFUSED: return "request refused";
	case STORE_TIMEOUT: return "store timeout";
	case STORE_TOO_LARGE: return "answer too large";
	default: return "unknown";
	}
}
