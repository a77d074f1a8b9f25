/*
 * libFuzzer target for proto/display_name.c and proto/text_controls.c: a
 * name that passes is printable, short and bracket-free; the printable copy
 * of anything is printable, no longer than its input, and the identity on an
 * accepted name; character lengths always advance within the input.
 */
#include "proto/display_name.h"
#include "proto/text_controls.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_characters(const char *s, size_t len)
{
	size_t i = 0;
	bool printable;
	while (i < len) {
		size_t n = text_next_char(s + i, len - i, &printable);
		if (n < 1 || n > 4 || n > len - i)
			abort();
		if (printable && n == 1 && ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f))
			abort();	/* a lone byte is printable only if it is printable ASCII */
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[256], out[256];
	size_t len = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

	memcpy(name, data, len);
	name[len] = '\0';
	check_characters(name, len);
	len = strlen(name);	/* the checks below see C strings, as the handlers do */
	const char *problem = display_name_problem(name, len);
	if (!problem && (len > DISPLAY_NAME_MAX_BYTES || strpbrk(name, "<>\r\n\t\x1b") || !text_is_printable(name, len)))
		abort();
	size_t n = display_name_printable(name, out, sizeof(out));
	if (n != strlen(out) || n > len || !text_is_printable(out, n))
		abort();
	if (text_is_printable(name, len) && (n != len || memcmp(out, name, len) != 0))
		abort();
	/* a small buffer: cut at a character boundary, still printable */
	char small[5];
	n = display_name_printable(name, small, sizeof(small));
	if (n >= sizeof(small) || !text_is_printable(small, n))
		abort();
	return 0;
}
