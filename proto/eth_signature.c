/*
 * personal_sign recovery: hex-decode r || s || v, map v to a recovery id,
 * refuse high s, recover the public key over the EIP-191 digest, and hash it
 * into an address (the last 20 bytes of keccak256 of the 64-byte X || Y).
 * Called by the SIWE sign-in handler (issue 14) and fuzz/fuzz_eth_signature.c.
 */
#include "proto/eth_signature.h"

#include "proto/hex.h"

#include <openssl/crypto.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <string.h>

static const char personal_sign_prefix[] = "\x19" "Ethereum Signed Message:\n";

void eth_personal_sign_hash(const uint8_t *msg, size_t len, uint8_t out[KECCAK256_LEN])
{
	struct keccak256 k;
	char decimal_len[24];
	int n = snprintf(decimal_len, sizeof(decimal_len), "%zu", len);

	keccak256_init(&k);
	keccak256_update(&k, personal_sign_prefix, sizeof(personal_sign_prefix) - 1);
	keccak256_update(&k, decimal_len, (size_t)n);
	keccak256_update(&k, msg, len);
	keccak256_final(&k, out);
}

/* "0x" + 130 hex digits of either case → r || s || v. */
static bool decode_signature(const char *hex, size_t len, uint8_t sig[ETH_SIGNATURE_LEN])
{
	if (len != ETH_SIGNATURE_HEX_LEN || hex[0] != '0' || hex[1] != 'x')
		return false;
	for (size_t i = 0; i < ETH_SIGNATURE_LEN; i++) {
		int high = hex_value((unsigned char)hex[2 + 2 * i]);
		int low = hex_value((unsigned char)hex[3 + 2 * i]);

		if (high < 0 || low < 0)
			return false;
		sig[i] = (uint8_t)(high << 4 | low);
	}
	return true;
}

/* Wallets write v as 27/28 (Ethereum's original) or 0/1 (the raw recovery id). */
static int recovery_id_of(uint8_t v)
{
	if (v == 27 || v == 28)
		return v - 27;
	if (v == 0 || v == 1)
		return v;
	return -1;
}

/* Parses r || s with its recovery id; refuses s above n/2 (normalize says
 * whether it would have to flip s). */
static enum eth_signature_error parse_recoverable(const uint8_t sig[ETH_SIGNATURE_LEN],
    secp256k1_ecdsa_recoverable_signature *out)
{
	const secp256k1_context *ctx = secp256k1_context_static;
	secp256k1_ecdsa_signature plain;
	int recid = recovery_id_of(sig[64]);

	if (recid < 0)
		return ETH_SIG_ERR_RECOVERY_ID;
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, out, sig, recid))
		return ETH_SIG_ERR_INVALID;
	secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, out);
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		return ETH_SIG_ERR_HIGH_S;
	return ETH_SIG_OK;
}

static void address_of_key(const secp256k1_pubkey *key, uint8_t addr[ETH_ADDRESS_LEN])
{
	uint8_t uncompressed[65], digest[KECCAK256_LEN];
	size_t len = sizeof(uncompressed);

	secp256k1_ec_pubkey_serialize(secp256k1_context_static, uncompressed, &len, key, SECP256K1_EC_UNCOMPRESSED);
	/* Skip the 0x04 tag: the address hashes X || Y only. */
	keccak256(uncompressed + 1, 64, digest);
	memcpy(addr, digest + KECCAK256_LEN - ETH_ADDRESS_LEN, ETH_ADDRESS_LEN);
}

static enum eth_signature_error recover(const uint8_t *msg, size_t len, const char *sig_hex, size_t sig_hex_len,
    uint8_t addr_out[ETH_ADDRESS_LEN])
{
	uint8_t sig[ETH_SIGNATURE_LEN], digest[KECCAK256_LEN];
	secp256k1_ecdsa_recoverable_signature parsed;
	secp256k1_pubkey key;
	enum eth_signature_error err;

	if (!decode_signature(sig_hex, sig_hex_len, sig))
		return ETH_SIG_ERR_FORMAT;
	/* The header asks for this before using the static context: it aborts if
	 * the library was built for another byte order. Microseconds. */
	secp256k1_selftest();
	if ((err = parse_recoverable(sig, &parsed)) != ETH_SIG_OK)
		return err;
	eth_personal_sign_hash(msg, len, digest);
	if (!secp256k1_ecdsa_recover(secp256k1_context_static, &key, &parsed, digest))
		return ETH_SIG_ERR_INVALID;
	address_of_key(&key, addr_out);
	return ETH_SIG_OK;
}

enum eth_signature_error eth_personal_sign_recover(const uint8_t *msg, size_t len, const char *sig_hex,
    size_t sig_hex_len, uint8_t addr_out[ETH_ADDRESS_LEN])
{
	enum eth_signature_error err = recover(msg, len, sig_hex, sig_hex_len, addr_out);

	if (err != ETH_SIG_OK)
		memset(addr_out, 0, ETH_ADDRESS_LEN);
	return err;
}

enum eth_signature_error eth_personal_sign_verify(const uint8_t *msg, size_t len, const char *sig_hex,
    size_t sig_hex_len, const uint8_t expected[ETH_ADDRESS_LEN])
{
	uint8_t signer[ETH_ADDRESS_LEN];
	enum eth_signature_error err = eth_personal_sign_recover(msg, len, sig_hex, sig_hex_len, signer);

	if (err != ETH_SIG_OK)
		return err;
	return CRYPTO_memcmp(signer, expected, ETH_ADDRESS_LEN) == 0 ? ETH_SIG_OK : ETH_SIG_ERR_WRONG_SIGNER;
}

const char *eth_signature_error_text(enum eth_signature_error err)
{
	switch (err) {
	case ETH_SIG_OK: return "ok";
	case ETH_SIG_ERR_FORMAT: return "signature is not '0x' and 130 hex digits (65 bytes)";
	case ETH_SIG_ERR_RECOVERY_ID: return "signature v is not 27, 28, 0 or 1";
	case ETH_SIG_ERR_HIGH_S: return "signature s is above n/2 (not canonical)";
	case ETH_SIG_ERR_INVALID: return "signature does not verify (r or s out of range, or no key recovers)";
	case ETH_SIG_ERR_WRONG_SIGNER: return "signature was made by another address";
	}
	return "unknown error";
}
