/*
 * Small JSON helpers shared by worker handlers (account.c for /api/me,
 * oidc_token.c for the amr claim).
 */
#pragma once

#include <jansson.h>

/* "a,b,,c" → ["a","b","c"]: empty items are skipped; NULL or "" gives [].
 * The caller owns the new array. */
json_t *json_csv_array(const char *csv);
