/* QR code modules as one SVG path (see qr_svg.h). */
#include "workers/qr_svg.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to a growing buffer; false when out of memory. */
struct svg_buf {
	char *p;
	size_t len, cap;
};

static bool svg_append(struct svg_buf *b, const char *fmt, int x, int y)
{
	for (;;) {
		int n = snprintf(b->p + b->len, b->cap - b->len, fmt, x, y);
		if (n < 0)
			return false;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return true;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
}

char *qr_svg_render(const unsigned char *modules, int width)
{
	int size = width + 2 * QR_SVG_QUIET_ZONE;
	struct svg_buf b = { malloc(4096), 0, 4096 };
	bool ok = b.p && width > 0 &&
	    svg_append(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"240\" height=\"240\""
	        " shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">", size, size) &&
	    svg_append(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size);
	/* One square per dark module: "M x y h1v1h-1z". */
	for (int y = 0; ok && y < width; y++)
		for (int x = 0; ok && x < width; x++)
			if (modules[y * width + x] & 1)
				ok = svg_append(&b, "M%d %dh1v1h-1z", x + QR_SVG_QUIET_ZONE, y + QR_SVG_QUIET_ZONE);
	ok = ok && svg_append(&b, "\"/></svg>", 0, 0);
	if (!ok) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *qr_svg_encode(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return NULL;
	char *svg = qr_svg_render(qr->data, qr->width);
	QRcode_free(qr);
	return svg;
}
