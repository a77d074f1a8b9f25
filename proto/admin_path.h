/*
 * The path of an admin API or console request, split into its segments
 * after the prefix: "/api/admin/users/<id>/sessions/<sid>" with prefix
 * "/api/admin/" gives users, <id>, sessions, <sid>. Pure; fuzzed
 * (fuzz/fuzz_admin_path.c). No percent-decoding: every id the admin API
 * names (uuids, client ids, kids, role names) is plain
 * [A-Za-z0-9._~:-], so a segment with any other byte is refused, as are
 * empty segments ("//"), "." and "..", and more than ADMIN_PATH_MAX_SEGMENTS.
 * A single trailing slash is allowed.
 */
#ifndef DREAMAUTH_ADMIN_PATH_H
#define DREAMAUTH_ADMIN_PATH_H
#include <stdbool.h>
#include <stddef.h>

#define ADMIN_PATH_MAX_SEGMENTS 6
#define ADMIN_PATH_SEGMENT_MAX 128

struct admin_path {
	size_t n;
	char seg[ADMIN_PATH_MAX_SEGMENTS][ADMIN_PATH_SEGMENT_MAX + 1];
};

/* 0 and out filled, or -1 (not under prefix, or a segment refused). The
 * path equal to the prefix without its slash, or to the prefix, gives n = 0. */
int admin_path_split(const char *path, size_t len, const char *prefix, struct admin_path *out);
/* Segment i is word (false when there is no segment i). */
bool admin_path_is(const struct admin_path *p, size_t i, const char *word);
#endif
