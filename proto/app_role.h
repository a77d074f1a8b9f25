/*
 * Names of per-application roles and permissions (the admin API, the
 * console's forms, /api/verify?role=): pure checks and the parse of a
 * permission list as the admin sends it. Pure; fuzzed (fuzz/fuzz_app_role.c).
 *
 *   role        [a-z0-9][a-z0-9._:-]{0,63}     e.g. "editor", "billing.admin"
 *   permission  [A-Za-z0-9] then up to 127 of [A-Za-z0-9._:/-] or a star, e.g. "posts:write"
 * Neither may hold a comma, space or control byte: they travel comma-joined
 * in X-Auth-Roles and space-free in tokens.
 */
#ifndef DREAMAUTH_APP_ROLE_H
#define DREAMAUTH_APP_ROLE_H
#include <stdbool.h>
#include <stddef.h>

#define APP_ROLE_NAME_MAX 64
#define APP_PERMISSION_MAX 128
#define APP_ROLE_MAX_PERMISSIONS 64
#define APP_ROLE_DESCRIPTION_MAX 200

bool app_role_name_valid(const char *s, size_t len);
bool app_permission_valid(const char *s, size_t len);

/* A list of permissions separated by commas, spaces or newlines (what a
 * form's textarea holds) → "p1,p2" (comma-joined, duplicates dropped, order
 * kept) into out. Returns the number of permissions, or -1 when one is not
 * valid, there are more than APP_ROLE_MAX_PERMISSIONS, or out is too small. */
int app_permissions_normalize(const char *in, size_t len, char *out, size_t cap);
#endif
