/*
 * Shared by the settings tests (tests/unit/test_config_*.c): config_load
 * with only the settings a case names set, so one case's environment never
 * leaks into the next. Include after tests/unit/check.h.
 */
#ifndef DREAMAUTH_CONFIG_TEST_UTIL_H
#define DREAMAUTH_CONFIG_TEST_UTIL_H
#include "common/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unsets every name in vars (NULL-terminated), sets the NAME=value pairs
 * that follow len (NULL-terminated), then config_load afresh. */
static inline int config_test_load_only(const char *const *vars, char *err, size_t len, ...)
{
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);
	va_list ap;
	va_start(ap, len);
	for (const char *kv; (kv = va_arg(ap, const char *));) {
		char name[64];
		const char *eq = strchr(kv, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		setenv(name, eq + 1, 1);
	}
	va_end(ap);
	config_free();
	err[0] = '\0';
	return config_load(err, len);
}
#endif
