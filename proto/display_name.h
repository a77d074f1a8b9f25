/*
 * Display names (sign-up, `dreamauth user add|set --name`): what may be
 * stored, and what a stored name looks like in a header. A name travels to
 * every app behind forward-auth as X-Auth-Name and into ID tokens and logs,
 * so it must be text only: no control or format characters
 * (proto/text_controls.h), no angle brackets. Pure; fuzzed by
 * fuzz/fuzz_display_name.c.
 */
#ifndef DREAMAUTH_DISPLAY_NAME_H
#define DREAMAUTH_DISPLAY_NAME_H
#include <stddef.h>

#define DISPLAY_NAME_MAX_BYTES 80

/* NULL when name[0..len) may be stored; else why not, a sentence for the
 * client: longer than DISPLAY_NAME_MAX_BYTES, not UTF-8, a control or format
 * character (C0, DEL, C1, bidi overrides, zero-width characters, line and
 * paragraph separators; CR, LF, TAB included), '<' or '>'. "" is valid. */
const char *display_name_problem(const char *name, size_t len);

/* name without its unprintable characters, NUL-terminated in out (cap > 0,
 * cut at a character boundary): for rows stored before names were checked,
 * which must not reach a header (X-Auth-Name) raw. Returns the length. */
size_t display_name_printable(const char *name, char *out, size_t cap);
#endif
