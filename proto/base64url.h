/* base64url (RFC 4648 §5) without padding, strict: rejects padding, whitespace
 * and non-canonical trailing bits. Also standard base64 for Basic auth. */
#ifndef DREAMAUTH_BASE64URL_H
#define DREAMAUTH_BASE64URL_H
#include <stddef.h>
#include <stdint.h>

#define BASE64URL_ENCODED_LEN(n) (((n) * 4 + 2) / 3)
/* Writes encoded text + NUL into out (cap >= BASE64URL_ENCODED_LEN(len)+1); returns length. */
size_t base64url_encode(const uint8_t *in, size_t len, char *out);
/* Returns decoded length or -1 on invalid input or when it would exceed cap. */
long base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);
/* Standard alphabet with '=' padding (HTTP Basic). -1 on invalid. */
long base64_std_decode(const char *in, size_t len, uint8_t *out, size_t cap);
#endif
