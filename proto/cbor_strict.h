/*
 * A strict front door to libcbor for the WebAuthn parsers (authenticator
 * data, COSE keys, attestation objects). libcbor 0.8 trusts the counts an
 * item declares (a 9-byte array header can ask for terabytes) and cannot say
 * where one item ends inside a longer buffer without decoding it; so every
 * byte string is first walked here: one well-formed item, definite lengths
 * only (as CTAP2 canonical CBOR requires), bounded nesting, every declared
 * count backed by bytes actually present. Only then does libcbor see it.
 * Pure; called by proto/webauthn_*.c and proto/cose_key.c.
 */
#ifndef DREAMAUTH_CBOR_STRICT_H
#define DREAMAUTH_CBOR_STRICT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cbor.h>

#define CBOR_STRICT_MAX_DEPTH 16

/* Length in bytes of the one CBOR item at the start of data[0..len), in
 * *item_len. 0 if it is well-formed under the rules above, -1 if not
 * (truncated, indefinite length, reserved encodings, too deep, ...). */
int cbor_strict_measure(const uint8_t *data, size_t len, size_t *item_len);

/* Measures, then decodes with libcbor the item at the start of data; NULL if
 * either refuses it. *item_len (may be NULL) gets its length. The caller owns
 * the result (cbor_decref). */
cbor_item_t *cbor_strict_load_prefix(const uint8_t *data, size_t len, size_t *item_len);

/* Like cbor_strict_load_prefix, but the item must fill data[0..len) exactly. */
cbor_item_t *cbor_strict_load_exact(const uint8_t *data, size_t len);

/* The content of the byte string stored under text key in the map at the
 * start of data (already measured well-formed), as a span of data itself
 * rather than of a libcbor copy. 0 if found, -1 if not. */
int cbor_strict_map_find_bytes(const uint8_t *data, size_t len, const char *key, const uint8_t **value,
    size_t *value_len);

/* Integer value of a CBOR unsigned or negative integer within int64_t. */
bool cbor_strict_int_value(const cbor_item_t *item, int64_t *out);

/* True if item is a definite text string equal to text (bytes, exact). */
bool cbor_strict_text_equals(const cbor_item_t *item, const char *text);

/* True if map has at most max_pairs pairs, every key is an integer (when
 * int_keys_ok) or a text string (when text_keys_ok), and no key repeats. */
bool cbor_strict_map_keys_valid(const cbor_item_t *map, size_t max_pairs, bool int_keys_ok, bool text_keys_ok);

/* Value under an integer key / a text key, or NULL. Keys must be checked
 * unique first (cbor_strict_map_keys_valid). */
cbor_item_t *cbor_strict_map_get_int(const cbor_item_t *map, int64_t key);
cbor_item_t *cbor_strict_map_get_text(const cbor_item_t *map, const char *key);
#endif
