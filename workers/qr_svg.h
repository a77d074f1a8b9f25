/*
 * QR codes as inline SVG (the account page shows the otpauth:// URI of a new
 * TOTP enrollment as one): libqrencode makes the modules, and this file draws
 * the dark ones as a single <path>, with the 4-module quiet zone QR readers
 * need. Pure (no I/O): the renderer is unit-tested on its own.
 */
#ifndef DREAMAUTH_QR_SVG_H
#define DREAMAUTH_QR_SVG_H
#include <stddef.h>

#define QR_SVG_QUIET_ZONE 4

/* width x width modules, row-major, bit 0 of each byte set for a dark
 * module (libqrencode's QRcode.data) -> a malloc'd SVG document, or NULL. */
char *qr_svg_render(const unsigned char *modules, int width);
/* text encoded (byte mode, error correction M) and rendered; NULL when it
 * does not fit or out of memory. */
char *qr_svg_encode(const char *text);
#endif
