/* Bounded msgpack reading for the IPC decoders (see msgpack_read.h). */
#include "proto/msgpack_read.h"

bool msgpack_read_array_header(const uint8_t *buf, size_t len, size_t *offset, uint32_t *count)
{
	size_t at = *offset;
	if (at >= len)
		return false;
	uint8_t b = buf[at];
	if ((b & 0xf0) == 0x90) {
		*count = b & 0x0f;
		*offset = at + 1;
	} else if (b == 0xdc && len - at >= 3) {
		*count = (uint32_t)buf[at + 1] << 8 | buf[at + 2];
		*offset = at + 3;
	} else if (b == 0xdd && len - at >= 5) {
		*count = (uint32_t)buf[at + 1] << 24 | (uint32_t)buf[at + 2] << 16 | (uint32_t)buf[at + 3] << 8 |
			 buf[at + 4];
		*offset = at + 5;
	} else {
		return false;
	}
	return true;
}

static bool is_container(uint8_t b)
{
	return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
}

bool msgpack_read_scalar(const uint8_t *buf, size_t len, size_t *offset, msgpack_unpacked *item)
{
	if (*offset >= len || is_container(buf[*offset]))
		return false;
	return msgpack_unpack_next(item, (const char *)buf, len, offset) == MSGPACK_UNPACK_SUCCESS;
}

bool msgpack_object_uint(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*v = o->via.u64;
	return true;
}

bool msgpack_object_int(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return true;
	}
	return false;
}
