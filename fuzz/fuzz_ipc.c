/*
 * libFuzzer target for proto/ipc.c: every frame a worker, the signer or the
 * kdf receives goes through ipc_frame_length and ipc_decode. Checks that
 * both agree, that failures leave the message empty, and that anything
 * decoded re-encodes to a canonical frame that decodes to the same message.
 */
#include "proto/ipc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool bytes_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool msg_equal(const struct ipc_msg *a, const struct ipc_msg *b)
{
	return a->type == b->type && a->rid == b->rid && a->status == b->status &&
	       a->kind == b->kind && a->slot == b->slot &&
	       bytes_equal(a->s1, a->s1_len, b->s1, b->s1_len) &&
	       bytes_equal(a->s2, a->s2_len, b->s2, b->s2_len);
}

static bool msg_empty(const struct ipc_msg *m)
{
	static const struct ipc_msg zero;
	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static void check_frame(const uint8_t *data, size_t size)
{
	static uint8_t first[IPC_MAX_FRAME], second[IPC_MAX_FRAME];
	size_t frame_len = 0;
	int framed = ipc_frame_length(data, size, &frame_len);
	if (framed == 1 && (frame_len <= 4 || frame_len > size || frame_len > IPC_MAX_FRAME))
		abort();

	struct ipc_msg m;
	if (ipc_decode(data, size, &m) != 0) {
		if (!msg_empty(&m))
			abort();
		return;
	}
	if (framed != 1 || frame_len != size)
		abort();
	if ((m.s1 != NULL && m.s1[m.s1_len] != '\0') || (m.s2 != NULL && m.s2[m.s2_len] != '\0'))
		abort();

	long len = ipc_encode(&m, first, sizeof(first));
	if (len < 0 || (size_t)len > size)	/* msgpack-c packs minimally */
		abort();
	struct ipc_msg again;
	if (ipc_decode(first, (size_t)len, &again) != 0 || !msg_equal(&m, &again))
		abort();
	long len2 = ipc_encode(&again, second, sizeof(second));
	if (len2 != len || memcmp(first, second, (size_t)len) != 0)
		abort();
	ipc_msg_free(&again);
	ipc_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t framed[IPC_MAX_FRAME];

	check_frame(data, size);

	/* Also as a body behind a correct prefix, so mutations of the msgpack
	 * part are not all lost to a mismatched length. */
	if (size >= 1 && size <= IPC_MAX_FRAME - 4) {
		framed[0] = (uint8_t)(size >> 24);
		framed[1] = (uint8_t)(size >> 16);
		framed[2] = (uint8_t)(size >> 8);
		framed[3] = (uint8_t)size;
		memcpy(framed + 4, data, size);
		check_frame(framed, size + 4);
	}
	return 0;
}
