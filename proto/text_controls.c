/* Printable characters of untrusted text (see text_controls.h), by Unicode
 * general category from utf8proc. */
#include "proto/text_controls.h"

#include <utf8proc.h>

static bool code_point_printable(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_CC:	/* C0, DEL, C1 */
	case UTF8PROC_CATEGORY_CF:	/* U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+FEFF, ... */
	case UTF8PROC_CATEGORY_ZL:	/* U+2028: a line break to some readers */
	case UTF8PROC_CATEGORY_ZP:	/* U+2029 */
	case UTF8PROC_CATEGORY_CS:	/* surrogates (utf8proc_iterate refuses them anyway) */
		return false;
	default:
		return true;
	}
}

size_t text_next_char(const char *s, size_t len, bool *printable)
{
	unsigned char b = (unsigned char)s[0];
	utf8proc_int32_t cp;

	/* ASCII, the common case, without a table lookup. */
	if (b < 0x80) {
		*printable = b >= 0x20 && b != 0x7f;
		return 1;
	}
	utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)(len < 4 ? len : 4), &cp);
	if (n <= 0) {
		*printable = false;	/* not UTF-8: a stray byte, shown as such */
		return 1;
	}
	*printable = code_point_printable(cp);
	return (size_t)n;
}

bool text_is_printable(const char *s, size_t len)
{
	size_t i = 0;
	bool printable = true;

	while (i < len && printable)
		i += text_next_char(s + i, len - i, &printable);
	return printable;
}
