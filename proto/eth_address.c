/*
 * EIP-55 address text: decoding "0x" + 40 hex digits, encoding with the
 * mixed-case checksum, and checking a spelling against it (by encoding the
 * decoded bytes and comparing). Called by proto/siwe.c for the message's
 * address, and by whoever prints an address eth_signature.c recovered.
 */
#include "proto/eth_address.h"

#include "proto/hex.h"
#include "proto/keccak.h"

#include <string.h>

bool eth_address_decode(const char *text, size_t len, uint8_t out[ETH_ADDRESS_LEN])
{
	if (len != ETH_ADDRESS_TEXT_LEN || text[0] != '0' || text[1] != 'x')
		return false;
	for (size_t i = 0; i < ETH_ADDRESS_LEN; i++) {
		int high = hex_value((unsigned char)text[2 + 2 * i]);
		int low = hex_value((unsigned char)text[3 + 2 * i]);

		if (high < 0 || low < 0)
			return false;
		out[i] = (uint8_t)(high << 4 | low);
	}
	return true;
}

/* Nibble i (0 = high half of byte 0) of a digest. */
static unsigned nibble(const uint8_t *digest, size_t i)
{
	return i % 2 == 0 ? digest[i / 2] >> 4 : digest[i / 2] & 15;
}

void eth_address_encode(const uint8_t addr[ETH_ADDRESS_LEN], char out[ETH_ADDRESS_TEXT_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	char *hex = out + 2;
	uint8_t digest[KECCAK256_LEN];

	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < ETH_ADDRESS_LEN; i++) {
		hex[2 * i] = digits[addr[i] >> 4];
		hex[2 * i + 1] = digits[addr[i] & 15];
	}
	keccak256(hex, 2 * ETH_ADDRESS_LEN, digest);
	for (size_t i = 0; i < 2 * ETH_ADDRESS_LEN; i++)
		if (hex[i] >= 'a' && nibble(digest, i) >= 8)
			hex[i] = (char)(hex[i] - 'a' + 'A');
	out[ETH_ADDRESS_TEXT_LEN] = '\0';
}

bool eth_address_checksum_ok(const char *text, size_t len)
{
	uint8_t addr[ETH_ADDRESS_LEN];
	char spelled[ETH_ADDRESS_TEXT_LEN + 1];

	if (!eth_address_decode(text, len, addr))
		return false;
	eth_address_encode(addr, spelled);
	return memcmp(text, spelled, ETH_ADDRESS_TEXT_LEN) == 0;
}
