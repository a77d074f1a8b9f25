/*
 * JSON request bodies under fixed limits (see json_body.h). Called by the
 * HTTP handlers that take JSON (sign-in, sign-up, ...) before they look at
 * any field; fuzzed by fuzz/fuzz_json_body.c.
 *
 * jansson does the parsing and UTF-8 validation; this file adds what it does
 * not enforce for us: a size cap, an object root, a small nesting depth, and
 * typed accessors that refuse strings with embedded NUL.
 */
#include "proto/json_body.h"
#include <string.h>

#define JSON_BODY_MAX_DEPTH 8

/* True when value nests at most max_depth containers deep (a scalar is 0, an
 * empty object 1). Stops descending once over the limit, so recursion stays
 * bounded by max_depth whatever jansson accepted. */
static bool depth_within(const json_t *value, int max_depth)
{
	if (!json_is_object(value) && !json_is_array(value))
		return true;
	if (max_depth <= 0)
		return false;
	if (json_is_object(value)) {
		const char *key;
		json_t *child;

		/* json_object_foreach wants a non-const object; it only reads it. */
		json_object_foreach((json_t *)value, key, child)
			if (!depth_within(child, max_depth - 1))
				return false;
	} else {
		size_t index;
		json_t *child;

		json_array_foreach(value, index, child)
			if (!depth_within(child, max_depth - 1))
				return false;
	}
	return true;
}

json_t *json_body_parse(const char *body, size_t len, const char **why)
{
	static const char *unused;
	json_error_t error;
	json_t *root;

	if (!why)
		why = &unused;
	if (!body || len == 0) {
		*why = "empty body";
		return NULL;
	}
	if (len > JSON_BODY_MAX) {
		*why = "body too large";
		return NULL;
	}
	/* No JSON_DISABLE_EOF_CHECK: trailing bytes after the value are an error.
	 * No JSON_ALLOW_NUL: "\u0000" in strings is refused at parse time too. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
	if (!root) {
		*why = "invalid JSON";
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*why = "not a JSON object";
		return NULL;
	}
	if (!depth_within(root, JSON_BODY_MAX_DEPTH)) {
		json_decref(root);
		*why = "JSON nested too deep";
		return NULL;
	}
	*why = NULL;
	return root;
}

const char *json_body_string(const json_t *root, const char *key, size_t max_len, bool *present)
{
	const json_t *value = json_is_object(root) && key ? json_object_get(root, key) : NULL;
	const char *text;
	size_t len;

	if (present)
		*present = value != NULL;
	if (!json_is_string(value))
		return NULL;
	text = json_string_value(value);
	len = json_string_length(value);
	/* A NUL inside would make C code see a different (shorter) string. */
	if (!text || strlen(text) != len || len > max_len)
		return NULL;
	return text;
}

int json_body_bool(const json_t *root, const char *key, bool def, bool *out)
{
	const json_t *value;

	if (!json_is_object(root) || !key || !out)
		return -1;
	value = json_object_get(root, key);
	if (!value) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(value))
		return -1;
	*out = json_is_true(value);
	return 0;
}
