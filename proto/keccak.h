/*
 * Keccak-256 as Ethereum uses it: the original Keccak padding (0x01 ... 0x80),
 * not FIPS 202 SHA3-256 (0x06), which OpenSSL 3.0 offers but which gives other
 * digests. Used for EIP-55 address checksums (proto/eth_address.c) and EIP-191
 * message hashes (proto/eth_signature.c). Pure; the state lives in the caller.
 */
#ifndef DREAMAUTH_KECCAK_H
#define DREAMAUTH_KECCAK_H
#include <stddef.h>
#include <stdint.h>

#define KECCAK256_LEN 32
/* Bytes absorbed per permutation: 1600 bits minus a 512-bit capacity. */
#define KECCAK256_RATE 136

struct keccak256 {
	uint64_t lanes[25];
	size_t absorbed;	/* bytes of the current block, 0..KECCAK256_RATE-1 */
};

void keccak256_init(struct keccak256 *k);
void keccak256_update(struct keccak256 *k, const void *data, size_t len);
/* Pads, writes the digest; k must be re-initialized before reuse. */
void keccak256_final(struct keccak256 *k, uint8_t out[KECCAK256_LEN]);
/* One-shot digest of data[0..len). */
void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_LEN]);
#endif
