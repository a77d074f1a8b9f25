/*
 * libFuzzer target for proto/eth_signature.c (and eth_address.c). Each input
 * is tried twice: as text (its first 132 bytes the "0x..." signature, the
 * rest the message), and as binary (its first 65 bytes hex-encoded into a
 * well-formed signature, so the recovery itself is exercised on arbitrary r,
 * s and v). A recovered address must verify, must verify again with v
 * written the other way (27/28 vs 0/1), and must not match a different
 * address; a failed recovery leaves zeros. Links only da_proto. Seeds:
 * fuzz/corpus/fuzz_eth_signature/.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/eth_signature.h"

#include <assert.h>
#include <string.h>

static const uint8_t zero_address[ETH_ADDRESS_LEN];

/* The same signature with v = 27/28 written as 0/1 or the other way round. */
static void swap_v_notation(char sig[ETH_SIGNATURE_HEX_LEN])
{
	char *v = sig + ETH_SIGNATURE_HEX_LEN - 2;
	static const char *const pairs[][2] = { { "1b", "00" }, { "1c", "01" }, { "1B", "00" }, { "1C", "01" } };

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (memcmp(v, pairs[i][0], 2) == 0) {
			memcpy(v, pairs[i][1], 2);
			return;
		}
		if (memcmp(v, pairs[i][1], 2) == 0) {
			memcpy(v, pairs[i][0], 2);
			return;
		}
	}
	assert(!"a recovered signature has v 27, 28, 0 or 1");
}

static void check_recovery(const uint8_t *msg, size_t len, const char *sig, size_t sig_len)
{
	uint8_t addr[ETH_ADDRESS_LEN], again[ETH_ADDRESS_LEN];
	char text[ETH_ADDRESS_TEXT_LEN + 1], swapped[ETH_SIGNATURE_HEX_LEN];
	enum eth_signature_error err = eth_personal_sign_recover(msg, len, sig, sig_len, addr);

	assert(strcmp(eth_signature_error_text(err), "unknown error") != 0);
	if (err != ETH_SIG_OK) {
		assert(err != ETH_SIG_ERR_WRONG_SIGNER);
		assert(memcmp(addr, zero_address, sizeof(addr)) == 0);
		assert(eth_personal_sign_verify(msg, len, sig, sig_len, addr) == err);
		return;
	}
	assert(sig_len == ETH_SIGNATURE_HEX_LEN);
	assert(eth_personal_sign_verify(msg, len, sig, sig_len, addr) == ETH_SIG_OK);
	memcpy(swapped, sig, sizeof(swapped));
	swap_v_notation(swapped);
	assert(eth_personal_sign_recover(msg, len, swapped, sizeof(swapped), again) == ETH_SIG_OK);
	assert(memcmp(addr, again, sizeof(addr)) == 0);
	again[7] ^= 0x40;
	assert(eth_personal_sign_verify(msg, len, sig, sig_len, again) == ETH_SIG_ERR_WRONG_SIGNER);
	eth_address_encode(addr, text);
	assert(eth_address_checksum_ok(text, ETH_ADDRESS_TEXT_LEN));
}

static void fuzz_text_signature(const uint8_t *data, size_t size)
{
	size_t sig_len = size < ETH_SIGNATURE_HEX_LEN ? size : ETH_SIGNATURE_HEX_LEN;

	check_recovery(data + sig_len, size - sig_len, (const char *)data, sig_len);
}

static void fuzz_binary_signature(const uint8_t *data, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	char sig[ETH_SIGNATURE_HEX_LEN] = { '0', 'x' };

	if (size < ETH_SIGNATURE_LEN)
		return;
	for (size_t i = 0; i < ETH_SIGNATURE_LEN; i++) {
		sig[2 + 2 * i] = digits[data[i] >> 4];
		sig[3 + 2 * i] = digits[data[i] & 15];
	}
	check_recovery(data + ETH_SIGNATURE_LEN, size - ETH_SIGNATURE_LEN, sig, sizeof(sig));
}

/* Any 42 bytes that pass the checksum decode and encode back to themselves. */
static void fuzz_address_text(const uint8_t *data, size_t size)
{
	uint8_t addr[ETH_ADDRESS_LEN];
	char text[ETH_ADDRESS_TEXT_LEN + 1];

	if (size < ETH_ADDRESS_TEXT_LEN || !eth_address_checksum_ok((const char *)data, ETH_ADDRESS_TEXT_LEN))
		return;
	assert(eth_address_decode((const char *)data, ETH_ADDRESS_TEXT_LEN, addr));
	eth_address_encode(addr, text);
	assert(memcmp(text, data, ETH_ADDRESS_TEXT_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_text_signature(data, size);
	fuzz_binary_signature(data, size);
	fuzz_address_text(data, size);
	return 0;
}
