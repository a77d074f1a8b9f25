/*
 * Careful msgpack reading shared by the IPC decoders (proto/ipc.c,
 * proto/store_wire.c): array headers are read by hand and scalars one at a
 * time, because msgpack-c allocates count * 24 bytes for a container as soon
 * as it reads its header — a 6-byte frame claiming 2^32 elements would cost
 * gigabytes. Containers inside are refused before msgpack-c sees them.
 */
#ifndef DREAMAUTH_MSGPACK_READ_H
#define DREAMAUTH_MSGPACK_READ_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An array header at buf[*offset]: its element count; *offset moves past it. */
bool msgpack_read_array_header(const uint8_t *buf, size_t len, size_t *offset, uint32_t *count);
/* The next element, which must not be a container. */
bool msgpack_read_scalar(const uint8_t *buf, size_t len, size_t *offset, msgpack_unpacked *item);
bool msgpack_object_uint(const msgpack_object *o, uint64_t *v);
bool msgpack_object_int(const msgpack_object *o, int64_t *v);
#endif
