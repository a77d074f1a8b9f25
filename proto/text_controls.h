/*
 * Which characters of untrusted text are safe to show as they are: in a
 * terminal (the log), in an HTTP header, in a display name. Control
 * characters move the cursor, recolour or clear a terminal (ESC [ 2 J),
 * and format characters such as U+202E RIGHT-TO-LEFT OVERRIDE make text read
 * as something else (Trojan Source). Pure; used by common/log.c,
 * proto/display_name.c and workers/http_server.c.
 */
#ifndef DREAMAUTH_TEXT_CONTROLS_H
#define DREAMAUTH_TEXT_CONTROLS_H
#include <stdbool.h>
#include <stddef.h>

/* The length in bytes (1 to 4) of the character that starts s[0..len)
 * (len > 0), and whether it is printable: valid UTF-8 and neither a control
 * character (C0, DEL, C1: category Cc), a format character (Cf: bidi
 * overrides and isolates, zero-width joiners, soft hyphen, BOM) nor a line or
 * paragraph separator (U+2028, U+2029). A byte that starts no valid
 * character is a 1-byte character that is not printable. */
size_t text_next_char(const char *s, size_t len, bool *printable);

/* Whether every character of s[0..len) is printable (see above). */
bool text_is_printable(const char *s, size_t len);
#endif
