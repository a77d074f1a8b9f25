/*
 * libFuzzer target for json_body_parse and the typed accessors
 * (proto/json_body.c). When a body parses, reads the usual fields and every
 * key, checks the accessors' promises (NUL-free, within max_len), and that
 * the value survives a dump and re-parse under the same limits.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/json_body.h"
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_string(const json_t *root, const char *key, size_t max_len)
{
	bool present = false;
	const char *value = json_body_string(root, key, max_len, &present);

	if (value) {
		assert(present);
		assert(strlen(value) <= max_len);
		assert(strlen(value) == json_string_length(json_object_get(root, key)));
	} else {
		assert(present == (json_object_get(root, key) != NULL));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	json_t *root = json_body_parse((const char *)data, size, &why);
	const char *key;
	json_t *value;
	bool flag;
	char *dumped;

	if (!root) {
		assert(why && why[0]);
		return 0;
	}
	assert(json_is_object(root) && size <= JSON_BODY_MAX);
	check_string(root, "email", 254);
	check_string(root, "password", 1024);
	check_string(root, "rd", 2048);
	flag = false;
	if (json_body_bool(root, "remember", true, &flag) == 0 && !json_object_get(root, "remember"))
		assert(flag);
	json_object_foreach(root, key, value) {
		check_string(root, key, 16);
		if (json_body_bool(root, key, false, &flag) == 0)
			assert(json_is_boolean(value) && flag == json_is_true(value));
		else
			assert(!json_is_boolean(value));
	}

	/* Compact dump of an accepted body is valid, duplicate-free and no deeper. */
	dumped = json_dumps(root, JSON_COMPACT);
	if (dumped && strlen(dumped) <= JSON_BODY_MAX) {
		json_t *again = json_body_parse(dumped, strlen(dumped), &why);

		assert(again);
		assert(json_equal(root, again));
		json_decref(again);
	}
	free(dumped);
	json_decref(root);
	return 0;
}
