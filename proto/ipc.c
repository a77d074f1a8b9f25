/*
 * IPC frame codec: u32be length prefix + one msgpack array per message, with
 * a fixed shape per type (see proto/ipc.h). Called by proc/ipc_channel.c on
 * both ends of every master/worker/signer/kdf socket, and fuzzed directly.
 * The decoder trusts nothing: a peer may be a compromised worker.
 */
#include "proto/ipc.h"
#include "proto/msgpack_read.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_LEN 4
#define MAX_FIELDS 3	/* fields after type and rid, the most any type has */

enum field {
	FIELD_END = 0,
	FIELD_STATUS,	/* int -> status */
	FIELD_KIND,	/* int -> kind */
	FIELD_SLOT,	/* int -> slot */
	FIELD_STR1,	/* str -> s1 */
	FIELD_BIN1,	/* bin -> s1 */
	FIELD_STR2,	/* str -> s2 */
};

/* The table from proto/ipc.h; types not listed have no fields after rid. */
static const enum field layouts[IPC_TYPE_MAX][MAX_FIELDS] = {
	[IPC_SIGN_REQ] = { FIELD_KIND, FIELD_STR1, FIELD_STR2 },
	[IPC_SIGN_RESP] = { FIELD_STATUS, FIELD_STR1 },
	[IPC_JWKS_RESP] = { FIELD_STATUS, FIELD_STR1 },
	[IPC_HASH_REQ] = { FIELD_BIN1 },
	[IPC_HASH_RESP] = { FIELD_STATUS, FIELD_STR1 },
	[IPC_VERIFY_REQ] = { FIELD_BIN1, FIELD_STR2 },
	[IPC_VERIFY_RESP] = { FIELD_STATUS },
	[IPC_PEER_FD] = { FIELD_KIND, FIELD_SLOT },
	[IPC_STORE_REQ] = { FIELD_BIN1 },
	[IPC_STORE_RESP] = { FIELD_BIN1 },
	[IPC_KEYS_REQ] = { FIELD_KIND, FIELD_STR1, FIELD_STR2 },
	[IPC_KEYS_RESP] = { FIELD_STATUS, FIELD_STR1 },
};

static const char *const type_names[IPC_TYPE_MAX] = {
	[IPC_PING] = "PING",
	[IPC_PONG] = "PONG",
	[IPC_SIGN_REQ] = "SIGN_REQ",
	[IPC_SIGN_RESP] = "SIGN_RESP",
	[IPC_JWKS_REQ] = "JWKS_REQ",
	[IPC_JWKS_RESP] = "JWKS_RESP",
	[IPC_HASH_REQ] = "HASH_REQ",
	[IPC_HASH_RESP] = "HASH_RESP",
	[IPC_VERIFY_REQ] = "VERIFY_REQ",
	[IPC_VERIFY_RESP] = "VERIFY_RESP",
	[IPC_PEER_FD] = "PEER_FD",
	[IPC_READY] = "READY",
	[IPC_STORE_REQ] = "STORE_REQ",
	[IPC_STORE_RESP] = "STORE_RESP",
	[IPC_KEYS_REQ] = "KEYS_REQ",
	[IPC_KEYS_RESP] = "KEYS_RESP",
};

static bool type_valid(uint64_t type)
{
	return type >= IPC_PING && type < IPC_TYPE_MAX;
}

static size_t field_count(enum ipc_type type)
{
	size_t n = 0;
	while (n < MAX_FIELDS && layouts[type][n] != FIELD_END)
		n++;
	return n;
}

const char *ipc_type_name(enum ipc_type t)
{
	if (!type_valid((uint64_t)t))
		return "UNKNOWN";
	return type_names[t];
}

/* ---- encoding ---- */

/* msgpack_packer writes straight into the caller's buffer, never past cap. */
struct frame_writer {
	uint8_t *buf;
	size_t cap;
	size_t used;
};

static int frame_write(void *data, const char *bytes, size_t len)
{
	struct frame_writer *w = data;
	if (len > w->cap - w->used)
		return -1;
	if (len == 0)	/* empty str/bin bodies may come with a NULL pointer */
		return 0;
	memcpy(w->buf + w->used, bytes, len);
	w->used += len;
	return 0;
}

/* str fields are used as C strings on the other side, so they must not carry
 * a NUL; the decoder refuses one, and the encoder refuses to produce one. */
static bool string_ok(const char *s, size_t len, bool binary)
{
	if (len > IPC_MAX_STR || (s == NULL && len > 0))
		return false;
	return binary || len == 0 || memchr(s, '\0', len) == NULL;
}

static int pack_bytes(msgpack_packer *pk, const char *s, size_t len, bool binary)
{
	if (!string_ok(s, len, binary))
		return -1;
	if (binary)
		return msgpack_pack_bin(pk, len) || msgpack_pack_bin_body(pk, s, len) ? -1 : 0;
	return msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len) ? -1 : 0;
}

static int pack_field(msgpack_packer *pk, enum field field, const struct ipc_msg *m)
{
	switch (field) {
	case FIELD_STATUS: return msgpack_pack_int64(pk, m->status);
	case FIELD_KIND: return msgpack_pack_int64(pk, m->kind);
	case FIELD_SLOT: return msgpack_pack_int64(pk, m->slot);
	case FIELD_STR1: return pack_bytes(pk, m->s1, m->s1_len, false);
	case FIELD_BIN1: return pack_bytes(pk, m->s1, m->s1_len, true);
	case FIELD_STR2: return pack_bytes(pk, m->s2, m->s2_len, false);
	case FIELD_END: break;
	}
	return -1;
}

long ipc_encode(const struct ipc_msg *m, uint8_t *out, size_t cap)
{
	if (!type_valid((uint64_t)m->type) || cap < PREFIX_LEN)
		return -1;
	if (cap > IPC_MAX_FRAME)
		cap = IPC_MAX_FRAME;

	struct frame_writer w = { .buf = out, .cap = cap, .used = PREFIX_LEN };
	msgpack_packer pk;
	msgpack_packer_init(&pk, &w, frame_write);

	size_t fields = field_count(m->type);
	if (msgpack_pack_array(&pk, 2 + fields) != 0 ||
	    msgpack_pack_uint64(&pk, (uint64_t)m->type) != 0 ||
	    msgpack_pack_uint64(&pk, m->rid) != 0)
		return -1;
	for (size_t i = 0; i < fields; i++)
		if (pack_field(&pk, layouts[m->type][i], m) != 0)
			return -1;

	uint32_t body = (uint32_t)(w.used - PREFIX_LEN);
	out[0] = (uint8_t)(body >> 24);
	out[1] = (uint8_t)(body >> 16);
	out[2] = (uint8_t)(body >> 8);
	out[3] = (uint8_t)body;
	return (long)w.used;
}

/* ---- decoding ---- */

int ipc_frame_length(const uint8_t *buf, size_t len, size_t *frame_len)
{
	if (len < PREFIX_LEN)
		return 0;
	uint32_t body = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			(uint32_t)buf[2] << 8 | buf[3];
	/* An empty body cannot hold even [type, rid]. */
	if (body == 0 || body > IPC_MAX_FRAME - PREFIX_LEN)
		return -1;
	if (len < PREFIX_LEN + (size_t)body)
		return 0;
	*frame_len = PREFIX_LEN + (size_t)body;
	return 1;
}

static bool copy_bytes(const msgpack_object *o, bool binary, char **out, size_t *out_len)
{
	const char *src;
	size_t len;
	if (binary && o->type == MSGPACK_OBJECT_BIN) {
		src = o->via.bin.ptr;
		len = o->via.bin.size;
	} else if (!binary && o->type == MSGPACK_OBJECT_STR) {
		src = o->via.str.ptr;
		len = o->via.str.size;
	} else {
		return false;
	}
	if (!string_ok(src, len, binary))
		return false;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return false;
	if (len > 0)
		memcpy(copy, src, len);
	copy[len] = '\0';
	*out = copy;
	*out_len = len;
	return true;
}

static bool decode_field(enum field field, const msgpack_object *o, struct ipc_msg *m)
{
	switch (field) {
	case FIELD_STATUS: return msgpack_object_int(o, &m->status);
	case FIELD_KIND: return msgpack_object_int(o, &m->kind);
	case FIELD_SLOT: return msgpack_object_int(o, &m->slot);
	case FIELD_STR1: return copy_bytes(o, false, &m->s1, &m->s1_len);
	case FIELD_BIN1: return copy_bytes(o, true, &m->s1, &m->s1_len);
	case FIELD_STR2: return copy_bytes(o, false, &m->s2, &m->s2_len);
	case FIELD_END: break;
	}
	return false;
}

int ipc_decode(const uint8_t *frame, size_t len, struct ipc_msg *out)
{
	memset(out, 0, sizeof(*out));
	size_t frame_len;
	if (ipc_frame_length(frame, len, &frame_len) != 1 || frame_len != len)
		return -1;

	const uint8_t *body = frame + PREFIX_LEN;
	size_t body_len = len - PREFIX_LEN;
	size_t offset = 0;
	uint32_t count;
	if (!msgpack_read_array_header(body, body_len, &offset, &count) || count < 2)
		return -1;

	msgpack_unpacked item;
	msgpack_unpacked_init(&item);
	uint64_t type, rid;
	if (!msgpack_read_scalar(body, body_len, &offset, &item) || !msgpack_object_uint(&item.data, &type) ||
	    !type_valid(type))
		goto fail;
	out->type = (enum ipc_type)type;
	size_t fields = field_count(out->type);
	if (count != 2 + fields)
		goto fail;
	if (!msgpack_read_scalar(body, body_len, &offset, &item) || !msgpack_object_uint(&item.data, &rid))
		goto fail;
	out->rid = rid;
	for (size_t i = 0; i < fields; i++)
		if (!msgpack_read_scalar(body, body_len, &offset, &item) ||
		    !decode_field(layouts[out->type][i], &item.data, out))
			goto fail;
	if (offset != body_len)
		goto fail;
	msgpack_unpacked_destroy(&item);
	return 0;

fail:
	msgpack_unpacked_destroy(&item);
	ipc_msg_free(out);
	return -1;
}

void ipc_msg_free(struct ipc_msg *m)
{
	free(m->s1);
	free(m->s2);
	memset(m, 0, sizeof(*m));
}
