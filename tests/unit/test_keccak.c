/*
 * keccak256: known answers around the 136-byte rate (one block short, exact,
 * one over, two exact), a binary multi-block input, and incremental updates
 * split at every offset. Expected digests from ethers 6 keccak256
 * (@noble/hashes), run once by hand: node -e 'const {keccak256,toUtf8Bytes}
 * = require("ethers"); console.log(keccak256(toUtf8Bytes("a".repeat(136))))'.
 * Run by CTest; needs only da_proto.
 */
#include "proto/keccak.h"
#include "tests/unit/check.h"

static void to_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static void expect_digest(const void *data, size_t len, const char *want, int line)
{
	uint8_t digest[KECCAK256_LEN];
	char hex[2 * KECCAK256_LEN + 1];

	keccak256(data, len, digest);
	to_hex(digest, sizeof(digest), hex);
	if (strcmp(hex, want) == 0) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: keccak256 of %zu bytes = %s, expected %s\n", __FILE__, line, len, hex, want);
}
#define DIGEST(lit, want) expect_digest((lit), sizeof(lit) - 1, (want), __LINE__)

static void expect_repeated_a(size_t n, const char *want, int line)
{
	char buf[512];

	memset(buf, 'a', n);
	expect_digest(buf, n, want, line);
}
#define DIGEST_OF_AS(n, want) expect_repeated_a((n), (want), __LINE__)

static void test_short_inputs(void)
{
	DIGEST("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	DIGEST("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
	DIGEST("The quick brown fox jumps over the lazy dog",
	    "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

/* 135 bytes: the 0x01 and 0x80 padding bytes share the block's last byte.
 * 136: a full block, padding alone in a second one. */
static void test_rate_boundaries(void)
{
	DIGEST_OF_AS(135, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
	DIGEST_OF_AS(136, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
	DIGEST_OF_AS(137, "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
	DIGEST_OF_AS(272, "cf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8");
}

static void test_binary_multi_block(void)
{
	uint8_t bytes[256];

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	expect_digest(bytes, sizeof(bytes), "dc924469b334aed2a19fac7252e9961aea41f8d91996366029dbe0884229bf36",
	    __LINE__);
}

/* Feeding the same 256 bytes in two pieces, split anywhere, gives the same digest. */
static void test_incremental_matches_one_shot(void)
{
	uint8_t bytes[256], whole[KECCAK256_LEN], pieces[KECCAK256_LEN];
	int mismatches = 0;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 7 + 3);
	keccak256(bytes, sizeof(bytes), whole);
	for (size_t split = 0; split <= sizeof(bytes); split++) {
		struct keccak256 k;

		keccak256_init(&k);
		keccak256_update(&k, bytes, split);
		keccak256_update(&k, bytes + split, sizeof(bytes) - split);
		keccak256_final(&k, pieces);
		mismatches += memcmp(whole, pieces, sizeof(whole)) != 0;
	}
	CHECK_EQ_INT(mismatches, 0);
}

int main(void)
{
	test_short_inputs();
	test_rate_boundaries();
	test_binary_multi_block();
	test_incremental_matches_one_shot();
	return CHECK_DONE();
}
