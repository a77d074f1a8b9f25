/*
 * Ethereum account addresses as text: "0x" + 40 hex digits, with the EIP-55
 * mixed-case checksum (a letter is upper case when the matching nibble of
 * keccak256(lower-case hex) is 8 or more). Used by the SIWE parser
 * (proto/siwe.c) and to print addresses recovered from signatures. Pure.
 */
#ifndef DREAMAUTH_ETH_ADDRESS_H
#define DREAMAUTH_ETH_ADDRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ADDRESS_LEN 20
#define ETH_ADDRESS_TEXT_LEN 42	/* "0x" + 40 hex digits, without NUL */

/* text[0..len) is "0x" + 40 hex digits of any case: writes the 20 bytes.
 * Syntax only; the checksum is eth_address_checksum_ok's business. */
bool eth_address_decode(const char *text, size_t len, uint8_t out[ETH_ADDRESS_LEN]);
/* The EIP-55 spelling of addr, NUL-terminated. */
void eth_address_encode(const uint8_t addr[ETH_ADDRESS_LEN], char out[ETH_ADDRESS_TEXT_LEN + 1]);
/* text[0..len) is an address spelled exactly as EIP-55 spells it: every
 * letter's case matches the checksum. All-lower-case or all-upper-case
 * spellings of addresses with letters are refused, as is "0X". */
bool eth_address_checksum_ok(const char *text, size_t len);
#endif
