/*
 * The QR code SVG renderer (workers/qr_svg.c): exact output for a tiny
 * module matrix, and for a real code one square per dark module of
 * libqrencode's matrix, at the right place, inside the quiet zone.
 */
#include "workers/qr_svg.h"
#include "tests/unit/check.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdlib.h>

static void test_tiny_matrix(void)
{
	/* 2 x 2: dark, light / light, dark (only bit 0 counts). */
	const unsigned char m[] = { 0x01, 0xc0, 0x02, 0x81 };
	char *svg = qr_svg_render(m, 2);
	CHECK_EQ_STR(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\" width=\"240\" height=\"240\""
	    " shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\"><rect width=\"10\" height=\"10\""
	    " fill=\"#fff\"/><path fill=\"#000\" d=\"M4 4h1v1h-1zM5 5h1v1h-1z\"/></svg>");
	free(svg);
	CHECK(qr_svg_render(m, 0) == NULL);
}

static void test_real_code(void)
{
	const char *uri = "otpauth://totp/auth.example.com:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	    "&issuer=auth.example.com&algorithm=SHA1&digits=6&period=30";
	QRcode *qr = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	char *svg = qr_svg_encode(uri);
	CHECK(qr && svg);
	if (!qr || !svg)
		return;
	size_t dark = 0, found = 0;
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++) {
			char square[48];
			snprintf(square, sizeof(square), "M%d %dh1v1h-1z", x + QR_SVG_QUIET_ZONE, y + QR_SVG_QUIET_ZONE);
			bool is_dark = qr->data[y * qr->width + x] & 1;
			dark += is_dark;
			/* "M12 3h" must not match "M12 30h": the h anchors it. */
			found += is_dark && strstr(svg, square) != NULL;
			CHECK(is_dark || strstr(svg, square) == NULL);
		}
	size_t squares = 0;
	for (const char *p = svg; (p = strstr(p, "h1v1h-1z")); p++)
		squares++;
	CHECK(dark > 100);
	CHECK_EQ_INT(found, dark);
	CHECK_EQ_INT(squares, dark);
	char viewbox[64];
	snprintf(viewbox, sizeof(viewbox), "viewBox=\"0 0 %d %d\"", qr->width + 8, qr->width + 8);
	CHECK(strstr(svg, viewbox) != NULL);
	/* The finder pattern's corner sits just inside the quiet zone. */
	CHECK(strstr(svg, "M4 4h1v1h-1z") != NULL);
	CHECK(strstr(svg, "M3 ") == NULL && strstr(svg, " 3h1") == NULL);
	free(svg);
	QRcode_free(qr);
}

int main(void)
{
	test_tiny_matrix();
	test_real_code();
	return CHECK_DONE();
}
