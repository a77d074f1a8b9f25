/* Display-name checks (see display_name.h). */
#include "proto/display_name.h"
#include "proto/text_controls.h"

#include <stdbool.h>
#include <string.h>

const char *display_name_problem(const char *name, size_t len)
{
	if (len > DISPLAY_NAME_MAX_BYTES)
		return "the name is longer than 80 bytes";
	if (memchr(name, '<', len) || memchr(name, '>', len))
		return "the name may not contain < or >";
	if (!text_is_printable(name, len))
		return "the name may not contain control characters, line breaks, tabs, invisible formatting "
		       "characters or bytes that are not UTF-8";
	return NULL;
}

size_t display_name_printable(const char *name, char *out, size_t cap)
{
	size_t len = strlen(name), i = 0, o = 0;
	bool printable;

	while (i < len) {
		size_t n = text_next_char(name + i, len - i, &printable);
		if (printable && o + n < cap) {
			memcpy(out + o, name + i, n);
			o += n;
		} else if (printable) {
			break;	/* out is full: stop at a character boundary */
		}
		i += n;
	}
	out[o] = '\0';
	return o;
}
