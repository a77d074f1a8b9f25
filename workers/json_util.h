/*
 * Small JSON helpers shared by worker handlers: json_csv_array (account.c
 * for /api/me, oidc_token.c for the amr claim) and json_writer, which writes
 * a flat JSON object straight into a caller's buffer for the token
 * endpoint's hot path (token claims and answers), where building jansson
 * objects and dumping them cost about a sixth of a worker's time per grant.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* "a,b,,c" → ["a","b","c"]: empty items are skipped; NULL or "" gives [].
 * The caller owns the new array. */
json_t *json_csv_array(const char *csv);

struct json_writer {
	char *buf;
	size_t cap, len;
	bool failed;	/* out of room, or a string that is not UTF-8 */
	bool empty;	/* no member yet */
};

/* Starts an object ("{") in buf[cap]. */
void json_writer_init(struct json_writer *w, char *buf, size_t cap);
/* A "key": "value" member; value must be UTF-8 and not NULL (else the
 * writer fails), and is escaped as RFC 8259 requires. */
void json_writer_string(struct json_writer *w, const char *key, const char *value);
void json_writer_int(struct json_writer *w, const char *key, long long value);
/* A member whose value is any jansson value, dumped compactly. */
void json_writer_value(struct json_writer *w, const char *key, const json_t *value);
/* Every member of a jansson object, as if written one by one. */
void json_writer_members(struct json_writer *w, const json_t *object);
/* Closes the object ("}"); the NUL-terminated text, or NULL when the writer
 * failed. */
const char *json_writer_finish(struct json_writer *w);
