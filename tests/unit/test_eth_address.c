/*
 * eth_address_decode / _encode / _checksum_ok: the EIP-55 test vectors
 * (mixed case, and the all-upper and all-lower ones whose checksum happens
 * to be that), then wrong case, wrong prefix, wrong length and non-hex.
 * Vectors also checked with ethers 6 getAddress. Run by CTest; da_proto only.
 */
#include "proto/eth_address.h"
#include "tests/unit/check.h"

#define CHECKSUM_OK(lit) CHECK(eth_address_checksum_ok((lit), sizeof(lit) - 1))
#define CHECKSUM_BAD(lit) CHECK(!eth_address_checksum_ok((lit), sizeof(lit) - 1))

static const char *const eip55_vectors[] = {
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
	"0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
};

static void lower_case(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Each vector passes, and decoding its lower-case spelling then encoding
 * gives the vector back. */
static void test_eip55_vectors(void)
{
	for (size_t i = 0; i < sizeof(eip55_vectors) / sizeof(eip55_vectors[0]); i++) {
		const char *want = eip55_vectors[i];
		char lower[ETH_ADDRESS_TEXT_LEN + 1], encoded[ETH_ADDRESS_TEXT_LEN + 1];
		uint8_t bytes[ETH_ADDRESS_LEN];

		CHECK(eth_address_checksum_ok(want, strlen(want)));
		strcpy(lower, want);
		lower_case(lower);
		CHECK(eth_address_decode(lower, ETH_ADDRESS_TEXT_LEN, bytes));
		eth_address_encode(bytes, encoded);
		CHECK_EQ_STR(encoded, want);
	}
}

static void test_decode(void)
{
	uint8_t bytes[ETH_ADDRESS_LEN];

	CHECK(eth_address_decode("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 42, bytes));
	CHECK_EQ_INT(bytes[0], 0xc0);
	CHECK_EQ_INT(bytes[1], 0x2a);
	CHECK_EQ_INT(bytes[19], 0xc2);
	CHECK(!eth_address_decode("0XC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 42, bytes));
	CHECK(!eth_address_decode("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc", 41, bytes));
	CHECK(!eth_address_decode("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 41, bytes));
	CHECK(!eth_address_decode("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cg2", 42, bytes));
	CHECK(!eth_address_decode("0x C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc", 42, bytes));
	CHECK(!eth_address_decode("", 0, bytes));
}

static void test_checksum_refusals(void)
{
	CHECKSUM_BAD("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2");	/* all lower */
	CHECKSUM_BAD("0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2");	/* all upper */
	CHECKSUM_BAD("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756CC2");	/* one letter */
	CHECKSUM_BAD("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
	CHECKSUM_BAD("0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
	CHECKSUM_BAD("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
	CHECKSUM_BAD("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe");
	CHECKSUM_BAD("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0");
	CHECKSUM_BAD("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe\0");
	/* No letters: one spelling, which is its own checksum. */
	CHECKSUM_OK("0x0000000000000000000000000000000000000000");
	CHECKSUM_OK("0x1234567890123456789012345678901234567890");
}

int main(void)
{
	test_eip55_vectors();
	test_decode();
	test_checksum_refusals();
	return CHECK_DONE();
}
