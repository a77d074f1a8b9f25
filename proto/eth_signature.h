/*
 * EIP-191 personal_sign signatures, as wallets make them for Sign-In With
 * Ethereum: keccak256("\x19Ethereum Signed Message:\n" + decimal length +
 * message), signed with secp256k1, sent as "0x" + hex(r || s || v). Recovers
 * the signer's address (libsecp256k1's recovery module) or checks it against
 * an expected one. Pure: bytes in, verdict out. Called by the SIWE sign-in
 * handler (issue 14) after proto/siwe.h has parsed the message; fuzzed by
 * fuzz/fuzz_eth_signature.c.
 *
 * Refused: anything but "0x" + 130 hex digits (65 bytes); v other than 27,
 * 28, 0 or 1 (no EIP-155 v, no recovery ids 2 and 3); high s (s > n/2: the
 * malleable twin of a valid signature, which no wallet produces); r or s of
 * zero or not below n.
 *
 * Thread safety: uses libsecp256k1's constant secp256k1_context_static
 * (recovery needs no secret, so no randomized context) after the
 * secp256k1_selftest() the library asks for: no allocation, no state,
 * callable from any thread.
 */
#ifndef DREAMAUTH_ETH_SIGNATURE_H
#define DREAMAUTH_ETH_SIGNATURE_H
#include <stddef.h>
#include <stdint.h>
#include "proto/eth_address.h"
#include "proto/keccak.h"

#define ETH_SIGNATURE_LEN 65
#define ETH_SIGNATURE_HEX_LEN (2 + 2 * ETH_SIGNATURE_LEN)

enum eth_signature_error {
	ETH_SIG_OK = 0,
	ETH_SIG_ERR_FORMAT,
	ETH_SIG_ERR_RECOVERY_ID,
	ETH_SIG_ERR_HIGH_S,
	ETH_SIG_ERR_INVALID,
	ETH_SIG_ERR_WRONG_SIGNER,
};

/* The EIP-191 version 0x45 digest of msg[0..len), the one a wallet signs. */
void eth_personal_sign_hash(const uint8_t *msg, size_t len, uint8_t out[KECCAK256_LEN]);
/* The address whose key made sig_hex[0..sig_hex_len) over msg. On error
 * addr_out is all zeros. Never returns ETH_SIG_ERR_WRONG_SIGNER. */
enum eth_signature_error eth_personal_sign_recover(const uint8_t *msg, size_t len, const char *sig_hex,
    size_t sig_hex_len, uint8_t addr_out[ETH_ADDRESS_LEN]);
/* ETH_SIG_OK when the signature is valid and made by `expected` (compared in
 * constant time); ETH_SIG_ERR_WRONG_SIGNER when valid but by another key. */
enum eth_signature_error eth_personal_sign_verify(const uint8_t *msg, size_t len, const char *sig_hex,
    size_t sig_hex_len, const uint8_t expected[ETH_ADDRESS_LEN]);
/* A constant English sentence for logs and error pages. */
const char *eth_signature_error_text(enum eth_signature_error err);
#endif
