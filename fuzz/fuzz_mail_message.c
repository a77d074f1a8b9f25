/*
 * libFuzzer target for proto/mail_message.c: the input is split at NUL bytes
 * into From, To, Subject, text and HTML. Whatever the bytes, a message that
 * is built has only CRLF line ends, no line over 1000 bytes, a header block
 * of exactly the headers we write (no injected one), and ends with the
 * closing boundary; mail_from_address and mail_header_encode never write an
 * address or encoding with a CR or LF outside their folding.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/mail_message.h"
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = z ? z + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *f[5];
	for (int i = 0; i < 5; i++)
		f[i] = field(&p, end);
	static char out[MAIL_MESSAGE_MAX], enc[4096], addr[MAIL_ADDR_MAX + 1];

	if (mail_from_address(f[0], addr, sizeof(addr)) == 0)
		assert(!strpbrk(addr, "\r\n<> ") && mail_address_ok(addr));
	long e = mail_header_encode(f[2], enc, sizeof(enc));
	if (e >= 0) {
		assert((size_t)e == strlen(enc));
		for (long i = 0; i < e; i++)
			if (enc[i] == '\r' || enc[i] == '\n')	/* only "\r\n " folding */
				assert(enc[i] == '\r' ? enc[i + 1] == '\n' && enc[i + 2] == ' ' : enc[i - 1] == '\r');
	}
	struct mail_message m = { .from = f[0], .to = f[1], .subject = f[2], .text = f[3], .html = f[4],
		.date = 1700000000, .message_id = "outbox-1.1", .boundary = "0123456789abcdefABCDEF" };
	long n = mail_message_build(&m, out, sizeof(out));
	if (n >= 0) {
		static const char *const names[] = { "Date:", "Message-ID:", "From:", "To:", "Subject:", " ",
			"MIME-Version:", "Content-Type:", "Auto-Submitted:", NULL };
		const char *line = out;
		bool in_headers = true;
		assert((size_t)n == strlen(out));
		for (const char *q = out; *q; q++) {
			if (*q == '\r')
				assert(q[1] == '\n');
			if (*q != '\n')
				continue;
			assert(q > out && q[-1] == '\r');
			assert(q - line <= 1000);
			if (in_headers && q - line == 1) {
				in_headers = false;
			} else if (in_headers) {
				bool known = false;
				for (int k = 0; names[k]; k++)
					known |= strncmp(line, names[k], strlen(names[k])) == 0;
				assert(known);
			}
			line = q + 1;
		}
		assert(n > 30 && strcmp(out + n - 28, "--0123456789abcdefABCDEF--\r\n") == 0);
	}
	for (int i = 0; i < 5; i++)
		free(f[i]);
	return 0;
}
