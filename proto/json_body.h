/*
 * JSON request bodies (sign-in, sign-up, ...): parsed with jansson under fixed
 * limits, typed field access. Pure. Duplicate keys, non-object roots, depth
 * beyond 8 and bodies over JSON_BODY_MAX are refused.
 */
#ifndef DREAMAUTH_JSON_BODY_H
#define DREAMAUTH_JSON_BODY_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define JSON_BODY_MAX (64 * 1024)

/* New reference to the root object, or NULL (with a short static reason in *why). */
json_t *json_body_parse(const char *body, size_t len, const char **why);
/* String field: returns the value if present, a string, valid UTF-8 without
 * NUL, and at most max_len bytes; else NULL. *present tells whether the key
 * existed at all (so callers can tell "missing" from "wrong type"). */
const char *json_body_string(const json_t *root, const char *key, size_t max_len, bool *present);
/* Boolean field: def when absent; -1 if present with another type. */
int json_body_bool(const json_t *root, const char *key, bool def, bool *out);
#endif
