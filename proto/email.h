/* Email address syntax for sign-up and sign-in: a practical subset of
 * RFC 5321/6531 that accepts real addresses (including UTF-8 ones) and
 * refuses what could confuse storage, logs or headers. Pure. */
#ifndef DREAMAUTH_EMAIL_H
#define DREAMAUTH_EMAIL_H
#include <stddef.h>

#define EMAIL_MAX_LEN 254

/* Validates in[0..len) and writes the normalized form (surrounding ASCII
 * whitespace trimmed, Unicode NFC, then ASCII letters lower-cased; other
 * letters keep their case) into out (cap >= EMAIL_MAX_LEN + 1): canonically
 * equivalent spellings give the same result. Returns 0, or -1 if invalid:
 * not valid UTF-8, unassigned code points, control characters, spaces,
 * quotes, angle brackets, commas, semicolons, backslashes, not exactly one
 * '@', empty local part or domain, domain without a dot or with empty labels
 * / leading or trailing '-' in an ASCII label, local part longer than 64
 * bytes, total (in NFC) longer than EMAIL_MAX_LEN, or a result whose
 * lower-casing is not NFC ("W" + combining ring above). */
int email_normalize(const char *in, size_t len, char *out, size_t cap);
#endif
