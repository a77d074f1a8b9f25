/*
 * Unit tests for proto/ipc.c (frame codec) and proc/ipc_channel.c
 * (SEQPACKET transport with fd passing). Run by CTest.
 */
#include "proc/ipc_channel.h"
#include "proto/ipc.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char password[] = "pass\0word";	/* bin field with an embedded NUL */
#define PASSWORD_LEN (sizeof(password) - 1)

/* A message of the given type with every field its type carries set to
 * something recognisable. */
static struct ipc_msg sample(enum ipc_type type)
{
	struct ipc_msg m = { .type = type, .rid = 0x1122334455667788ull };
	switch (type) {
	case IPC_SIGN_REQ:
		m.kind = TOKEN_ACCESS;
		m.s1 = "ES256K"; m.s1_len = 6;
		m.s2 = "{\"sub\":\"alice\"}"; m.s2_len = 15;
		break;
	case IPC_SIGN_RESP:
		m.status = 0;
		m.s1 = "eyJ.eyJ.sig"; m.s1_len = 11;
		break;
	case IPC_JWKS_RESP:
		m.status = -3;
		m.s1 = "{\"keys\":[]}"; m.s1_len = 11;
		break;
	case IPC_HASH_REQ:
		m.s1 = (char *)password; m.s1_len = PASSWORD_LEN;
		break;
	case IPC_HASH_RESP:
		m.status = 0;
		m.s1 = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"; m.s1_len = 44;
		break;
	case IPC_VERIFY_REQ:
		m.s1 = (char *)password; m.s1_len = PASSWORD_LEN;
		m.s2 = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"; m.s2_len = 44;
		break;
	case IPC_VERIFY_RESP:
		m.status = 1;
		break;
	case IPC_PEER_FD:
		m.kind = IPC_PEER_KDF;
		m.slot = 7;
		break;
	default:
		break;
	}
	return m;
}

static bool bytes_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
	if (a_len != b_len)
		return false;
	if (a_len == 0)
		return true;
	return a != NULL && b != NULL && memcmp(a, b, a_len) == 0;
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
	struct ipc_msg zero;
	memset(&zero, 0, sizeof(zero));
	return memcmp(m, &zero, sizeof(zero)) == 0;
}

/* Wraps a hand-built msgpack body in a length prefix. */
static size_t frame_from(const msgpack_sbuffer *body, uint8_t *out)
{
	uint32_t n = (uint32_t)body->size;
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, body->data, body->size);
	return body->size + 4;
}

/* Decodes sbuffer contents as a frame; returns ipc_decode's result and checks
 * that a failure leaves the message empty. */
static int decode_body(const msgpack_sbuffer *body)
{
	static uint8_t frame[IPC_MAX_FRAME * 2];
	size_t len = frame_from(body, frame);
	struct ipc_msg m;
	memset(&m, 0xa5, sizeof(m));
	int r = ipc_decode(frame, len, &m);
	if (r != 0)
		CHECK(msg_empty(&m));
	ipc_msg_free(&m);
	return r;
}

static void test_round_trip(void)
{
	uint8_t frame[IPC_MAX_FRAME];
	for (int t = IPC_PING; t < IPC_TYPE_MAX; t++) {
		struct ipc_msg m = sample((enum ipc_type)t), out;
		long len = ipc_encode(&m, frame, sizeof(frame));
		CHECK(len > 4);
		CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &out), 0);
		CHECK(msg_equal(&m, &out));
		CHECK_EQ_STR(ipc_type_name(out.type), ipc_type_name((enum ipc_type)t));
		if (out.s1 != NULL)
			CHECK_EQ_INT(out.s1[out.s1_len], '\0');
		if (out.s2 != NULL)
			CHECK_EQ_INT(out.s2[out.s2_len], '\0');
		ipc_msg_free(&out);
		CHECK(msg_empty(&out));

		/* Every cap short of the frame is refused, the exact one works. */
		for (long cap = 0; cap < len; cap++)
			CHECK_EQ_INT(ipc_encode(&m, frame, (size_t)cap), -1);
		CHECK_EQ_INT(ipc_encode(&m, frame, (size_t)len), len);
	}

	/* Password bin with embedded NUL survives intact. */
	struct ipc_msg m = sample(IPC_HASH_REQ), out;
	long len = ipc_encode(&m, frame, sizeof(frame));
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &out), 0);
	CHECK_EQ_INT(out.s1_len, PASSWORD_LEN);
	CHECK(memcmp(out.s1, password, PASSWORD_LEN) == 0);
	ipc_msg_free(&out);

	/* Extremes of the integer fields and empty strings. */
	m = sample(IPC_SIGN_RESP);
	m.rid = UINT64_MAX;
	m.status = INT64_MIN;
	m.s1 = NULL;
	m.s1_len = 0;
	len = ipc_encode(&m, frame, sizeof(frame));
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &out), 0);
	CHECK(out.rid == UINT64_MAX && out.status == INT64_MIN);
	CHECK(out.s1 != NULL && out.s1_len == 0 && out.s1[0] == '\0');
	ipc_msg_free(&out);
	m = sample(IPC_PEER_FD);
	m.kind = INT64_MAX;
	m.slot = -1;
	len = ipc_encode(&m, frame, sizeof(frame));
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &out), 0);
	CHECK(msg_equal(&m, &out));
	ipc_msg_free(&out);

	/* Largest strings: exactly IPC_MAX_STR passes, one more does not. */
	char *big = malloc(IPC_MAX_STR + 1);
	memset(big, 'x', IPC_MAX_STR + 1);
	m = sample(IPC_JWKS_RESP);
	m.s1 = big;
	m.s1_len = IPC_MAX_STR;
	len = ipc_encode(&m, frame, sizeof(frame));
	CHECK(len > IPC_MAX_STR);
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &out), 0);
	CHECK(msg_equal(&m, &out));
	ipc_msg_free(&out);
	m.s1_len = IPC_MAX_STR + 1;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);

	/* Two large strings that together overflow the frame. */
	m = sample(IPC_SIGN_REQ);
	m.s1 = big;
	m.s1_len = IPC_MAX_STR;
	m.s2 = big;
	m.s2_len = IPC_MAX_STR;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);
	free(big);

	/* Encoder refuses what the decoder would refuse. */
	m = sample(IPC_SIGN_RESP);
	m.s1 = "a\0b";
	m.s1_len = 3;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);
	m.s1 = NULL;
	m.s1_len = 5;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);
	m = sample(IPC_PING);
	m.type = IPC_TYPE_MAX;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);
	m.type = 0;
	CHECK_EQ_INT(ipc_encode(&m, frame, sizeof(frame)), -1);

	CHECK_EQ_STR(ipc_type_name(IPC_VERIFY_REQ), "VERIFY_REQ");
	CHECK_EQ_STR(ipc_type_name(IPC_TYPE_MAX), "UNKNOWN");
	CHECK_EQ_STR(ipc_type_name((enum ipc_type)0), "UNKNOWN");
}

static void test_truncation(void)
{
	uint8_t frame[IPC_MAX_FRAME], copy[IPC_MAX_FRAME];
	for (int t = IPC_PING; t < IPC_TYPE_MAX; t++) {
		struct ipc_msg m = sample((enum ipc_type)t), out;
		long len = ipc_encode(&m, frame, sizeof(frame));
		for (long cut = 0; cut < len; cut++) {
			/* as is: the prefix no longer matches */
			CHECK_EQ_INT(ipc_decode(frame, (size_t)cut, &out), -1);
			CHECK(msg_empty(&out));
			/* with a prefix rewritten to match: the body is cut short */
			if (cut > 4) {
				memcpy(copy, frame, (size_t)cut);
				uint32_t body = (uint32_t)cut - 4;
				copy[0] = 0; copy[1] = 0;
				copy[2] = (uint8_t)(body >> 8);
				copy[3] = (uint8_t)body;
				CHECK_EQ_INT(ipc_decode(copy, (size_t)cut, &out), -1);
				CHECK(msg_empty(&out));
			}
		}
	}
}

static void test_malformed(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define RESET() msgpack_sbuffer_clear(&sb)

	/* sanity: the hand-built form of a valid message decodes */
	RESET();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, IPC_SIGN_RESP);
	msgpack_pack_uint8(&pk, 9);
	msgpack_pack_int8(&pk, -1);
	msgpack_pack_str_with_body(&pk, "err", 3);
	CHECK_EQ_INT(decode_body(&sb), 0);

	/* wrong arity, both ways, and too few for a header */
	RESET();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_PING);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint8(&pk, 5);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_SIGN_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint8(&pk, IPC_PING);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);
	/* arity claims more than is there */
	RESET();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, IPC_SIGN_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);

	/* wrong field types */
	RESET();	/* kind as str */
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, IPC_SIGN_REQ);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "1", 1);
	msgpack_pack_str_with_body(&pk, "RS256", 5);
	msgpack_pack_str_with_body(&pk, "{}", 2);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* password as str instead of bin */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_HASH_REQ);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "pw", 2);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* token as bin instead of str */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, IPC_SIGN_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	msgpack_pack_bin_with_body(&pk, "tok", 3);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* str with an embedded NUL */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, IPC_SIGN_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	msgpack_pack_str_with_body(&pk, "t\0k", 3);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* negative type */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int8(&pk, -1);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* negative rid */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, IPC_PING);
	msgpack_pack_int8(&pk, -1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* type 0, type past the end, type as float, type as nil */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, IPC_TYPE_MAX);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_double(&pk, 1.0);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* status beyond int64 */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_VERIFY_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* bool as status */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_VERIFY_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_true(&pk);
	CHECK_EQ_INT(decode_body(&sb), -1);

	/* oversized string (the frame itself is within bounds) */
	char *big = calloc(1, IPC_MAX_STR + 1);
	memset(big, 'y', IPC_MAX_STR + 1);
	RESET();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, IPC_JWKS_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	msgpack_pack_str_with_body(&pk, big, IPC_MAX_STR + 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* whole frame over IPC_MAX_FRAME */
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, IPC_SIGN_REQ);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_int8(&pk, 1);
	msgpack_pack_str_with_body(&pk, big, IPC_MAX_STR);
	msgpack_pack_str_with_body(&pk, big, IPC_MAX_STR);
	CHECK(sb.size > IPC_MAX_FRAME);
	CHECK_EQ_INT(decode_body(&sb), -1);
	free(big);

	/* trailing bytes inside the announced length */
	RESET();
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, IPC_PING);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), 0);
	msgpack_pack_uint8(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);

	/* not an array */
	RESET();
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint8(&pk, IPC_PING);
	msgpack_pack_uint8(&pk, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_uint8(&pk, IPC_PING);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_str_with_body(&pk, "ping", 4);
	CHECK_EQ_INT(decode_body(&sb), -1);

	/* nested garbage: containers where scalars belong */
	RESET();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_VERIFY_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int8(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_VERIFY_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_map(&pk, 0);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* deep nesting */
	for (int i = 0; i < 200; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	CHECK_EQ_INT(decode_body(&sb), -1);
	RESET();	/* ext type as a field */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, IPC_VERIFY_RESP);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_ext_with_body(&pk, "x", 1, 1);
	CHECK_EQ_INT(decode_body(&sb), -1);

	/* Headers that claim 2^32-1 elements must fail fast, not allocate. */
	static const uint8_t huge_outer[] = { 0, 0, 0, 7, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01 };
	static const uint8_t huge_inner[] = { 0, 0, 0, 8, 0x93, 0x0a, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t huge_map[] = { 0, 0, 0, 8, 0x93, 0x0a, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t huge_str[] = { 0, 0, 0, 8, 0x94, 0x04, 0x01, 0x00, 0xdb, 0xff, 0xff, 0xff };
	static const uint8_t reserved[] = { 0, 0, 0, 3, 0x92, 0xc1, 0x01 };
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_decode(huge_outer, sizeof(huge_outer), &m), -1);
	CHECK_EQ_INT(ipc_decode(huge_inner, sizeof(huge_inner), &m), -1);
	CHECK_EQ_INT(ipc_decode(huge_map, sizeof(huge_map), &m), -1);
	CHECK_EQ_INT(ipc_decode(huge_str, sizeof(huge_str), &m), -1);
	CHECK_EQ_INT(ipc_decode(reserved, sizeof(reserved), &m), -1);

	/* Non-minimal but valid msgpack (array16 header, uint64 type) is fine. */
	static const uint8_t wide[] = { 0, 0, 0, 12, 0xdc, 0x00, 0x02,
		0xcf, 0, 0, 0, 0, 0, 0, 0, IPC_PONG, 0x05 };
	CHECK_EQ_INT(ipc_decode(wide, sizeof(wide), &m), -1);	/* prefix says 12, body is 13 */
	uint8_t fixed[sizeof(wide)];
	memcpy(fixed, wide, sizeof(wide));
	fixed[3] = 13;
	CHECK_EQ_INT(ipc_decode(fixed, sizeof(fixed), &m), 0);
	CHECK(m.type == IPC_PONG && m.rid == 5);
	ipc_msg_free(&m);

	/* bad length prefixes around a valid body */
	uint8_t frame[64];
	struct ipc_msg ping = sample(IPC_PING);
	long len = ipc_encode(&ping, frame, sizeof(frame));
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &m), 0);
	ipc_msg_free(&m);
	frame[3]++;
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &m), -1);
	frame[3] -= 2;
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &m), -1);
	frame[3]++;
	frame[0] = 0x80;
	CHECK_EQ_INT(ipc_decode(frame, (size_t)len, &m), -1);
	CHECK(msg_empty(&m));

	msgpack_sbuffer_destroy(&sb);
#undef RESET
}

static void test_frame_length(void)
{
	size_t n = 12345;
	const uint8_t small[] = { 0, 0, 0, 3, 0x92, 1, 1, 0xff };
	CHECK_EQ_INT(ipc_frame_length(small, 0, &n), 0);
	CHECK_EQ_INT(ipc_frame_length(small, 3, &n), 0);
	CHECK_EQ_INT(ipc_frame_length(small, 4, &n), 0);
	CHECK_EQ_INT(ipc_frame_length(small, 6, &n), 0);
	CHECK_EQ_INT(n, 12345);
	CHECK_EQ_INT(ipc_frame_length(small, 7, &n), 1);
	CHECK_EQ_INT(n, 7);
	n = 0;
	CHECK_EQ_INT(ipc_frame_length(small, 8, &n), 1);	/* next frame's bytes follow */
	CHECK_EQ_INT(n, 7);

	const uint8_t empty[] = { 0, 0, 0, 0 };
	CHECK_EQ_INT(ipc_frame_length(empty, 4, &n), -1);
	uint32_t body = IPC_MAX_FRAME - 4;
	uint8_t max[4] = { (uint8_t)(body >> 24), (uint8_t)(body >> 16), (uint8_t)(body >> 8), (uint8_t)body };
	CHECK_EQ_INT(ipc_frame_length(max, 4, &n), 0);
	body++;
	uint8_t over[4] = { (uint8_t)(body >> 24), (uint8_t)(body >> 16), (uint8_t)(body >> 8), (uint8_t)body };
	CHECK_EQ_INT(ipc_frame_length(over, 4, &n), -1);
	const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	CHECK_EQ_INT(ipc_frame_length(huge, 4, &n), -1);
}

/* ---- over a real socketpair ---- */

static int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void test_channel_types(void)
{
	int sv[2];
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	CHECK(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(sv[1], F_GETFL) & O_NONBLOCK);

	struct ipc_msg out;
	int fd = 1234;
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), 0);	/* nothing pending */
	CHECK_EQ_INT(fd, -1);

	for (int t = IPC_PING; t < IPC_TYPE_MAX; t++) {
		struct ipc_msg m = sample((enum ipc_type)t);
		m.rid = (uint64_t)t;
		CHECK_EQ_INT(ipc_send(sv[0], &m, -1), 0);
	}
	for (int t = IPC_PING; t < IPC_TYPE_MAX; t++) {
		struct ipc_msg m = sample((enum ipc_type)t);
		m.rid = (uint64_t)t;
		CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), 1);
		CHECK(msg_equal(&m, &out));
		CHECK_EQ_INT(fd, -1);
		ipc_msg_free(&out);
	}
	CHECK_EQ_INT(ipc_recv(sv[1], &out, NULL), 0);

	/* the other direction, and a maximum-size frame */
	char *big = malloc(IPC_MAX_STR);
	memset(big, 'z', IPC_MAX_STR);
	struct ipc_msg m = sample(IPC_JWKS_RESP);
	m.s1 = big;
	m.s1_len = IPC_MAX_STR;
	CHECK_EQ_INT(ipc_send(sv[1], &m, -1), 0);
	CHECK_EQ_INT(ipc_recv(sv[0], &out, NULL), 1);
	CHECK(msg_equal(&m, &out));
	ipc_msg_free(&out);
	free(big);

	/* an unencodable message is not sent */
	m = sample(IPC_PING);
	m.type = IPC_TYPE_MAX;
	CHECK_EQ_INT(ipc_send(sv[0], &m, -1), -1);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, NULL), 0);

	close(sv[0]);
	close(sv[1]);
}

static void test_channel_fd_passing(void)
{
	int sv[2], p[2];
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	CHECK_EQ_INT(pipe(p), 0);

	struct ipc_msg m = sample(IPC_PEER_FD), out;
	CHECK_EQ_INT(ipc_send(sv[0], &m, p[1]), 0);
	int fd = -1;
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), 1);
	CHECK(msg_equal(&m, &out));
	ipc_msg_free(&out);
	CHECK(fd >= 0 && fd != p[1]);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* the received fd is the pipe's write end: bytes come out of p[0] */
	CHECK_EQ_INT(write(fd, "hello", 5), 5);
	close(fd);
	close(p[1]);
	char buf[8] = { 0 };
	CHECK_EQ_INT(read(p[0], buf, sizeof(buf)), 5);
	CHECK_EQ_STR(buf, "hello");
	CHECK_EQ_INT(read(p[0], buf, sizeof(buf)), 0);	/* no copy left open */
	close(p[0]);

	/* recv_fd NULL: the fd is closed, not leaked */
	CHECK_EQ_INT(pipe(p), 0);
	int before = open_fd_count();
	CHECK_EQ_INT(ipc_send(sv[0], &m, p[0]), 0);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, NULL), 1);
	ipc_msg_free(&out);
	CHECK_EQ_INT(open_fd_count(), before);
	close(p[0]);
	close(p[1]);

	/* sending a closed fd fails cleanly */
	CHECK_EQ_INT(ipc_send(sv[0], &m, 9999), -1);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, NULL), 0);

	close(sv[0]);
	close(sv[1]);
}

/* A raw packet with an fd attached, bypassing ipc_send. */
static ssize_t send_raw(int sock, const void *data, size_t len, int fd_count, int fd)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	if (fd_count > 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)fd_count * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)fd_count * sizeof(int));
		for (int i = 0; i < fd_count; i++)
			memcpy(CMSG_DATA(c) + (size_t)i * sizeof(int), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

static void test_channel_malformed(void)
{
	int sv[2];
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	struct ipc_msg out;
	int fd;

	static const uint8_t bad[] = { 0, 0, 0, 1, 0xc1 };
	CHECK_EQ_INT(send(sv[0], bad, sizeof(bad), MSG_NOSIGNAL), (long)sizeof(bad));
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -2);
	CHECK_EQ_INT(fd, -1);
	CHECK(msg_empty(&out));

	/* a valid frame with garbage after it in the same packet */
	uint8_t frame[64];
	struct ipc_msg ping = sample(IPC_PING);
	long len = ipc_encode(&ping, frame, sizeof(frame) - 1);
	frame[len] = 0;
	CHECK_EQ_INT(send(sv[0], frame, (size_t)len + 1, MSG_NOSIGNAL), len + 1);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -2);

	/* larger than any frame: truncated by the kernel, refused */
	uint8_t *huge = calloc(1, IPC_MAX_FRAME + 100);
	CHECK_EQ_INT(send(sv[0], huge, IPC_MAX_FRAME + 100, MSG_NOSIGNAL), IPC_MAX_FRAME + 100);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -2);
	free(huge);
	/* the channel still works afterwards: one packet per frame */
	CHECK_EQ_INT(ipc_send(sv[0], &ping, -1), 0);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), 1);
	ipc_msg_free(&out);

	/* a malformed frame with an fd: the fd is closed, not leaked */
	int p[2];
	CHECK_EQ_INT(pipe(p), 0);
	int before = open_fd_count();
	CHECK_EQ_INT(send_raw(sv[0], bad, sizeof(bad), 1, p[1]), (long)sizeof(bad));
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -2);
	CHECK_EQ_INT(fd, -1);
	CHECK_EQ_INT(open_fd_count(), before);

	/* a valid frame with three fds: refused, all closed */
	CHECK_EQ_INT(send_raw(sv[0], frame, (size_t)len, 3, p[1]), len);
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -2);
	CHECK_EQ_INT(open_fd_count(), before);
	close(p[0]);
	close(p[1]);

	/* peer close */
	close(sv[0]);
	errno = EINVAL;
	CHECK_EQ_INT(ipc_recv(sv[1], &out, &fd), -1);
	CHECK_EQ_INT(errno, 0);
	close(sv[1]);

	/* sending to a closed peer: error, no SIGPIPE */
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	close(sv[1]);
	CHECK_EQ_INT(ipc_send(sv[0], &ping, -1), -1);
	CHECK_EQ_INT(errno, EPIPE);
	close(sv[0]);

	/* an error other than EAGAIN */
	CHECK_EQ_INT(ipc_recv(-1, &out, &fd), -1);
	CHECK_EQ_INT(errno, EBADF);
}

#define STREAM_COUNT 1000

/* Payload for message i: varying sizes, a few near the string limit. */
static size_t stream_payload(int i, char *buf)
{
	size_t len = i % 100 == 0 ? IPC_MAX_STR - (size_t)i : (size_t)(i % 97) * 13;
	for (size_t k = 0; k < len; k++)
		buf[k] = (char)('a' + (i + (int)k) % 26);
	return len;
}

static int wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, 10000);
}

static void test_channel_stream(void)
{
	int sv[2];
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	static char payload[IPC_MAX_STR], expect[IPC_MAX_STR];

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		for (int i = 0; i < STREAM_COUNT; i++) {
			struct ipc_msg m = { .type = IPC_SIGN_RESP, .rid = (uint64_t)i, .status = -i };
			m.s1 = payload;
			m.s1_len = stream_payload(i, payload);
			while (ipc_send(sv[0], &m, -1) != 0) {
				if (errno != EAGAIN || wait_for(sv[0], POLLOUT) <= 0)
					_exit(1);
			}
		}
		_exit(0);
	}
	close(sv[0]);

	int received = 0, in_order = 1, bad = 0;
	for (;;) {
		struct ipc_msg m;
		int r = ipc_recv(sv[1], &m, NULL);
		if (r == 0) {
			if (wait_for(sv[1], POLLIN) <= 0)
				break;
			continue;
		}
		if (r != 1)
			break;
		size_t len = stream_payload(received, expect);
		if (m.rid != (uint64_t)received || m.status != -received || m.type != IPC_SIGN_RESP)
			in_order = 0;
		if (m.s1_len != len || memcmp(m.s1, expect, len) != 0)
			bad++;
		ipc_msg_free(&m);
		received++;
	}
	CHECK_EQ_INT(received, STREAM_COUNT);
	CHECK(in_order);
	CHECK_EQ_INT(bad, 0);
	int status = -1;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
}

int main(void)
{
	test_round_trip();
	test_truncation();
	test_malformed();
	test_frame_length();
	test_channel_types();
	test_channel_fd_passing();
	test_channel_malformed();
	test_channel_stream();
	return CHECK_DONE();
}
