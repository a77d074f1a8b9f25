/*
 * eth_personal_sign_recover / _verify against real wallet signatures, then
 * the forms that must be refused: v as 0/1 accepted, high s (the valid but
 * malleable twin), other v, wrong lengths and hex, r or s out of range, a
 * wrong signer and a tampered message; plus a SIWE message parsed and its
 * signature checked against the address it names. Run by CTest; da_proto only.
 *
 * The vectors were made once with ethers 6.13 (npm i --prefix /tmp/ethvec
 * ethers@6; not a project dependency): Wallet(key).signMessage(message), with
 * the well-known Hardhat development keys #0
 * (0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80, address
 * 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266) and #1
 * (0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d, address
 * 0x70997970C51812dc3A010C7d01b50e0d17dc79C8). The v=0/1 forms replace the
 * last byte by v-27; the high-s twins replace s by n-s and flip v (@noble/
 * curves recovers key #0 from them, so they are valid signatures).
 */
#include "proto/eth_signature.h"
#include "proto/siwe.h"
#include "tests/unit/check.h"

#define SIGNER "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define OTHER "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

static const char siwe_message[] =
	"localhost:3000 wants you to sign in with your Ethereum account:\n"
	SIGNER "\n"
	"\n"
	"Sign in to dreamauth\n"
	"\n"
	"URI: http://localhost:3000/login\n"
	"Version: 1\n"
	"Chain ID: 1\n"
	"Nonce: abcdef0123456789\n"
	"Issued At: 2024-05-01T12:00:00Z";

struct vector {
	const char *message;
	const char *signature;		/* v = 27 or 28 */
	const char *signature_v01;	/* v = 0 or 1 */
	const char *high_s;		/* s -> n - s, v flipped */
};

static const struct vector vectors[] = {
	{ siwe_message,
	  "0xa9227e873ccf2b924115de2b87337f20c8433482b9620c4c0e06ba5b785d8b05"
	  "307b60964f8b2165caee9d83eb98f0627d26a62fc1f2cddbbd477b18c0312b7d1b",
	  "0xa9227e873ccf2b924115de2b87337f20c8433482b9620c4c0e06ba5b785d8b05"
	  "307b60964f8b2165caee9d83eb98f0627d26a62fc1f2cddbbd477b18c0312b7d00",
	  "0xa9227e873ccf2b924115de2b87337f20c8433482b9620c4c0e06ba5b785d8b05"
	  "cf849f69b074de9a3511627c14670f9c3d8836b6ed55d260028ae374100515c41c" },
	{ "hello",
	  "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc"
	  "573c48ea3fe1d4ab61a9db10c19032026e3ed2dbccba5a178235ac27f94504311c",
	  "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc"
	  "573c48ea3fe1d4ab61a9db10c19032026e3ed2dbccba5a178235ac27f945043101",
	  "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc"
	  "a8c3b715c01e2b549e5624ef3e6fcdfc4c700a0ae28e46243d9cb264d6f13d101b" },
	{ "",
	  "0xc1977b761f1dd36c29795783460d241885c8e7f9d962dbe7bba2753fd94e89b4"
	  "44a1cd9ed855dd09afa3b73f7c2bd097ec9abc2d2775d737505a02d3f0cafa591b",
	  "0xc1977b761f1dd36c29795783460d241885c8e7f9d962dbe7bba2753fd94e89b4"
	  "44a1cd9ed855dd09afa3b73f7c2bd097ec9abc2d2775d737505a02d3f0cafa5900",
	  "0xc1977b761f1dd36c29795783460d241885c8e7f9d962dbe7bba2753fd94e89b4"
	  "bb5e326127aa22f6505c48c083d42f66ce1420b987d2c9046f785bb8df6b46e81c" },
	{ "hello world",
	  "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1"
	  "5fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b",
	  "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1"
	  "5fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b00",
	  "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1"
	  "a01a836906e8a2932b2552b99c89c4543c365978a8cb9ed7d62f9199d0c101e61c" },
};
#define VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* The SIWE message signed by key #1 instead. */
static const char other_signature[] =
	"0x0f59f0b31f4b4490673d1c43432e35d43be8972f06a5ca019aad2f4aa6a0a2b7"
	"3fdd8fad82b6a7e5f6de74b8fd27b8407d379e755a9034b5a0a2417444e754b71b";

static uint8_t signer[ETH_ADDRESS_LEN], other[ETH_ADDRESS_LEN];

/* Recovers sig over message; the EIP-55 text of the signer, or the error. */
static enum eth_signature_error recover_text(const char *message, const char *sig, char text[ETH_ADDRESS_TEXT_LEN + 1])
{
	uint8_t addr[ETH_ADDRESS_LEN];
	enum eth_signature_error err =
	    eth_personal_sign_recover((const uint8_t *)message, strlen(message), sig, strlen(sig), addr);

	eth_address_encode(addr, text);
	return err;
}

static enum eth_signature_error verify(const char *message, const char *sig, const uint8_t *expected)
{
	return eth_personal_sign_verify((const uint8_t *)message, strlen(message), sig, strlen(sig), expected);
}

/* vectors[0]'s signature with hex characters [at, at + strlen(with)) replaced. */
static const char *patched(size_t at, const char *with)
{
	static char sig[ETH_SIGNATURE_HEX_LEN + 1];

	strcpy(sig, vectors[0].signature);
	memcpy(sig + at, with, strlen(with));
	return sig;
}
#define R_AT 2
#define S_AT 66
#define V_AT 130

static void test_hash(void)
{
	uint8_t digest[KECCAK256_LEN];
	static const uint8_t hello_digest[KECCAK256_LEN] = {	/* ethers hashMessage("hello") */
		0x50, 0xb2, 0xc4, 0x3f, 0xd3, 0x91, 0x06, 0xba, 0xfb, 0xba, 0x0d, 0xa3, 0x4f, 0xc4, 0x30, 0xe1,
		0xf9, 0x1e, 0x3c, 0x96, 0xea, 0x2a, 0xce, 0xe2, 0xbc, 0x34, 0x11, 0x9f, 0x92, 0xb3, 0x77, 0x50,
	};

	eth_personal_sign_hash((const uint8_t *)"hello", 5, digest);
	CHECK(memcmp(digest, hello_digest, sizeof(digest)) == 0);
}

static void test_real_signatures(void)
{
	char text[ETH_ADDRESS_TEXT_LEN + 1];

	for (size_t i = 0; i < VECTORS; i++) {
		const struct vector *v = &vectors[i];

		CHECK_EQ_INT(recover_text(v->message, v->signature, text), ETH_SIG_OK);
		CHECK_EQ_STR(text, SIGNER);
		CHECK_EQ_INT(recover_text(v->message, v->signature_v01, text), ETH_SIG_OK);
		CHECK_EQ_STR(text, SIGNER);
		CHECK_EQ_INT(verify(v->message, v->signature, signer), ETH_SIG_OK);
		CHECK_EQ_INT(verify(v->message, v->signature_v01, signer), ETH_SIG_OK);
	}
}

static void test_upper_case_hex(void)
{
	char sig[ETH_SIGNATURE_HEX_LEN + 1];

	strcpy(sig, vectors[0].signature);
	for (char *p = sig + 2; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	CHECK_EQ_INT(verify(siwe_message, sig, signer), ETH_SIG_OK);
	sig[1] = 'X';
	CHECK_EQ_INT(verify(siwe_message, sig, signer), ETH_SIG_ERR_FORMAT);
}

static void test_high_s_refused(void)
{
	char text[ETH_ADDRESS_TEXT_LEN + 1];

	for (size_t i = 0; i < VECTORS; i++) {
		CHECK_EQ_INT(recover_text(vectors[i].message, vectors[i].high_s, text), ETH_SIG_ERR_HIGH_S);
		CHECK_EQ_STR(text, "0x0000000000000000000000000000000000000000");
		CHECK_EQ_INT(verify(vectors[i].message, vectors[i].high_s, signer), ETH_SIG_ERR_HIGH_S);
	}
}

static void test_other_v_refused(void)
{
	static const char *const bad_v[] = { "1d", "1a", "02", "03", "25", "26", "ff", "80" };

	for (size_t i = 0; i < sizeof(bad_v) / sizeof(bad_v[0]); i++)
		CHECK_EQ_INT(verify(siwe_message, patched(V_AT, bad_v[i]), signer), ETH_SIG_ERR_RECOVERY_ID);
}

static void test_format_refused(void)
{
	char sig[ETH_SIGNATURE_HEX_LEN + 3];
	const char *good = vectors[0].signature;

	CHECK_EQ_INT(eth_personal_sign_verify((const uint8_t *)siwe_message, strlen(siwe_message), good,
	    ETH_SIGNATURE_HEX_LEN - 2, signer), ETH_SIG_ERR_FORMAT);	/* truncated: 64 bytes */
	CHECK_EQ_INT(eth_personal_sign_verify((const uint8_t *)siwe_message, strlen(siwe_message), good,
	    ETH_SIGNATURE_HEX_LEN - 1, signer), ETH_SIG_ERR_FORMAT);	/* odd digit count */
	snprintf(sig, sizeof(sig), "%s00", good);
	CHECK_EQ_INT(verify(siwe_message, sig, signer), ETH_SIG_ERR_FORMAT);	/* 66 bytes */
	CHECK_EQ_INT(verify(siwe_message, good + 2, signer), ETH_SIG_ERR_FORMAT);	/* no 0x */
	CHECK_EQ_INT(verify(siwe_message, patched(0, "00"), signer), ETH_SIG_ERR_FORMAT);
	CHECK_EQ_INT(verify(siwe_message, patched(40, "g"), signer), ETH_SIG_ERR_FORMAT);
	CHECK_EQ_INT(verify(siwe_message, patched(131, " "), signer), ETH_SIG_ERR_FORMAT);
	CHECK_EQ_INT(verify(siwe_message, "", signer), ETH_SIG_ERR_FORMAT);
	CHECK_EQ_INT(verify(siwe_message, "0x", signer), ETH_SIG_ERR_FORMAT);
}

#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"
#define ORDER_N "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define ALL_F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static void test_out_of_range_refused(void)
{
	CHECK_EQ_INT(verify(siwe_message, patched(R_AT, ZERO64), signer), ETH_SIG_ERR_INVALID);
	CHECK_EQ_INT(verify(siwe_message, patched(R_AT, ORDER_N), signer), ETH_SIG_ERR_INVALID);
	CHECK_EQ_INT(verify(siwe_message, patched(R_AT, ALL_F), signer), ETH_SIG_ERR_INVALID);
	CHECK_EQ_INT(verify(siwe_message, patched(S_AT, ZERO64), signer), ETH_SIG_ERR_INVALID);
	CHECK_EQ_INT(verify(siwe_message, patched(S_AT, ORDER_N), signer), ETH_SIG_ERR_INVALID);
	CHECK_EQ_INT(verify(siwe_message, patched(S_AT, ALL_F), signer), ETH_SIG_ERR_INVALID);
}

static void test_wrong_signer(void)
{
	char text[ETH_ADDRESS_TEXT_LEN + 1], tampered[sizeof(siwe_message)];

	CHECK_EQ_INT(recover_text(siwe_message, other_signature, text), ETH_SIG_OK);
	CHECK_EQ_STR(text, OTHER);
	CHECK_EQ_INT(verify(siwe_message, other_signature, signer), ETH_SIG_ERR_WRONG_SIGNER);
	CHECK_EQ_INT(verify(siwe_message, other_signature, other), ETH_SIG_OK);
	/* Another message's signature, and a tampered message (one nonce digit). */
	CHECK_EQ_INT(verify("hello", vectors[3].signature, signer), ETH_SIG_ERR_WRONG_SIGNER);
	strcpy(tampered, siwe_message);
	*strstr(tampered, "0123") = '1';
	CHECK_EQ_INT(verify(tampered, vectors[0].signature, signer), ETH_SIG_ERR_WRONG_SIGNER);
	/* The length is part of the digest: a trailing NUL changes the signer. */
	CHECK_EQ_INT(eth_personal_sign_verify((const uint8_t *)"hello", 6, vectors[1].signature,
	    strlen(vectors[1].signature), signer), ETH_SIG_ERR_WRONG_SIGNER);
}

/* What the sign-in handler will do: parse, then verify against the address in the message. */
static void test_siwe_end_to_end(void)
{
	struct siwe_message m;

	CHECK_EQ_INT(siwe_parse(siwe_message, strlen(siwe_message), &m), SIWE_OK);
	CHECK_EQ_INT(eth_personal_sign_verify((const uint8_t *)siwe_message, strlen(siwe_message), vectors[0].signature,
	    ETH_SIGNATURE_HEX_LEN, m.address_bytes), ETH_SIG_OK);
	CHECK_EQ_INT(eth_personal_sign_verify((const uint8_t *)siwe_message, strlen(siwe_message), other_signature,
	    ETH_SIGNATURE_HEX_LEN, m.address_bytes), ETH_SIG_ERR_WRONG_SIGNER);
}

static void test_error_texts(void)
{
	CHECK_EQ_STR(eth_signature_error_text(ETH_SIG_ERR_HIGH_S), "signature s is above n/2 (not canonical)");
	for (int e = ETH_SIG_OK; e <= ETH_SIG_ERR_WRONG_SIGNER; e++)
		CHECK(strcmp(eth_signature_error_text((enum eth_signature_error)e), "unknown error") != 0);
}

int main(void)
{
	CHECK(eth_address_decode(SIGNER, ETH_ADDRESS_TEXT_LEN, signer));
	CHECK(eth_address_decode(OTHER, ETH_ADDRESS_TEXT_LEN, other));
	test_hash();
	test_real_signatures();
	test_upper_case_hex();
	test_high_s_refused();
	test_other_v_refused();
	test_format_refused();
	test_out_of_range_refused();
	test_wrong_signer();
	test_siwe_end_to_end();
	test_error_texts();
	return CHECK_DONE();
}
