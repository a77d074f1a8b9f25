/*
 * Sign-In With Ethereum messages (EIP-4361): a strict parser of the ABNF.
 * Lines end with LF only, fields come in the spec's order, nothing follows
 * the last field (not even a line break), and with no statement the address
 * is followed by two empty lines, as the ABNF says. The address must carry
 * its EIP-55 checksum. Pure: checks syntax only. The caller (the SIWE
 * sign-in handler, issue 14) compares domain, uri, chain_id and nonce with
 * what it issued, the times with the clock, and verifies the signature with
 * proto/eth_signature.h. Fuzzed by fuzz/fuzz_siwe.c.
 *
 * Limits the spec leaves to implementers: SIWE_MAX_LEN bytes in all and
 * SIWE_MAX_RESOURCES resources.
 */
#ifndef DREAMAUTH_SIWE_H
#define DREAMAUTH_SIWE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/eth_address.h"

#define SIWE_MAX_LEN 8192
#define SIWE_MAX_RESOURCES 32

enum siwe_error {
	SIWE_OK = 0,
	SIWE_ERR_TOO_LONG,
	SIWE_ERR_CARRIAGE_RETURN,
	SIWE_ERR_PREAMBLE,
	SIWE_ERR_SCHEME,
	SIWE_ERR_DOMAIN,
	SIWE_ERR_ADDRESS,
	SIWE_ERR_ADDRESS_CHECKSUM,
	SIWE_ERR_BLANK_LINE,
	SIWE_ERR_STATEMENT,
	SIWE_ERR_URI,
	SIWE_ERR_VERSION,
	SIWE_ERR_CHAIN_ID,
	SIWE_ERR_NONCE,
	SIWE_ERR_ISSUED_AT,
	SIWE_ERR_EXPIRATION_TIME,
	SIWE_ERR_NOT_BEFORE,
	SIWE_ERR_REQUEST_ID,
	SIWE_ERR_RESOURCE,
	SIWE_ERR_TOO_MANY_RESOURCES,
	SIWE_ERR_UNEXPECTED_LINE,
};

/* A piece of the parsed message, pointing into the caller's buffer (not
 * NUL-terminated). Absent optional parts are { NULL, 0 }. */
struct siwe_span {
	const char *ptr;
	size_t len;
};

/* An RFC 3339 date-time: the instant is unix_seconds + nanoseconds / 1e9
 * (fraction digits past the ninth are dropped), the offset already applied.
 * A leap second (:60) counts as the first second of the next minute. */
struct siwe_time {
	struct siwe_span text;
	int64_t unix_seconds;
	uint32_t nanoseconds;
};

struct siwe_message {
	struct siwe_span scheme;	/* before "://", absent if the message has none */
	struct siwe_span domain;	/* RFC 3986 authority: [userinfo@]host[:port] */
	struct siwe_span address;	/* "0x" + 40 hex digits, EIP-55 spelling */
	uint8_t address_bytes[ETH_ADDRESS_LEN];
	struct siwe_span statement;	/* absent when the message has none */
	struct siwe_span uri;
	uint64_t chain_id;
	struct siwe_span nonce;
	struct siwe_time issued_at;
	bool has_expiration_time, has_not_before, has_request_id, has_resources;
	struct siwe_time expiration_time;
	struct siwe_time not_before;
	struct siwe_span request_id;	/* may be empty even when present */
	size_t resource_count;		/* may be 0 with has_resources */
	struct siwe_span resources[SIWE_MAX_RESOURCES];
};

/* Parses msg[0..len). On SIWE_OK, out's spans point into msg, which must
 * outlive them. On error out is all zeros. */
enum siwe_error siwe_parse(const char *msg, size_t len, struct siwe_message *out);
/* A constant English sentence for logs and error pages ("expected
 * 'Version: 1'", "address checksum mismatch ..."). */
const char *siwe_error_text(enum siwe_error err);
#endif
