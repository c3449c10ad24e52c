/*
 * External-client configuration: the wg-quick .conf a phone or laptop
 * imports, and QR codes of it (PNG, SVG, UTF-8 for a terminal).
 *
 * Everything the caller hands in is validated before a byte is written, so
 * no field can smuggle a line, a section header or a comment into the
 * config. Functions return 0 or a negative errno; output buffers are
 * allocated here and freed by the caller with free().
 */
#ifndef MG_EXTCLIENT_H
#define MG_EXTCLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Bounds on the lists of a config. */
#define EXT_MAX_ADDRS		8
#define EXT_MAX_DNS		8
#define EXT_MAX_ALLOWED_IPS	256

#define EXT_MTU_MIN		1280
#define EXT_MTU_MAX		9000
#define EXT_KEEPALIVE_MAX	65535

/* Room for any message ext_conf_validate writes. */
#define EXT_ERR_LEN		256

/*
 * One wg-quick config: the client's interface and its single peer (the
 * ingress gateway). The strings are borrowed; nothing here is freed by
 * this library.
 */
struct ext_conf {
	/* [Interface] */
	const char *private_key;		/* base64 of 32 bytes */
	const char *const *addrs;		/* "10.10.0.254/32", "fd00::fe/128"; 1..EXT_MAX_ADDRS */
	size_t n_addrs;
	const char *const *dns;			/* server IPs; 0..EXT_MAX_DNS */
	size_t n_dns;
	const char *dns_search;			/* search domain or NULL; needs n_dns > 0 */
	unsigned mtu;				/* 0 = omit, else EXT_MTU_MIN..EXT_MTU_MAX */

	/* [Peer] */
	const char *peer_public_key;		/* base64 of 32 bytes */
	const char *preshared_key;		/* base64 of 32 bytes or NULL */
	const char *endpoint;			/* "host:port", "1.2.3.4:port", "[v6]:port" */
	const char *const *allowed_ips;		/* CIDRs; 1..EXT_MAX_ALLOWED_IPS */
	size_t n_allowed_ips;
	unsigned keepalive;			/* seconds; 0 = omit, max EXT_KEEPALIVE_MAX */
};

/*
 * Checks every field. Returns 0, or -EINVAL with a message naming the field
 * written to err (when err is not NULL), e.g. "endpoint: must be HOST:PORT".
 */
int ext_conf_validate(const struct ext_conf *c, char *err, size_t errlen);

/*
 * Validates, then renders the wg-quick text into *out (NUL-terminated,
 * every line ending in "\n"). Returns 0, -EINVAL or -ENOMEM.
 */
int ext_conf_render(const struct ext_conf *c, char **out);

/* Error correction level of a QR code. */
enum ext_qr_ecc {
	EXT_QR_ECC_L,		/* ~7% recoverable: the densest code */
	EXT_QR_ECC_M,		/* ~15% */
	EXT_QR_ECC_Q,		/* ~25% */
	EXT_QR_ECC_H,		/* ~30% */
};

/* Quiet zone around every rendered code, in modules. */
#define EXT_QR_QUIET		4
/* Largest PNG scale (pixels per module) ext_qr_png accepts. */
#define EXT_QR_SCALE_MAX	64

/*
 * The QR code of text is the smallest version that holds it (byte-mode
 * data, case sensitive). Returns -ERANGE when the text does not fit even
 * version 40 at that level, -EINVAL on bad arguments, -ENOMEM.
 */

/* Sets *modules to the code's width in modules, without the quiet zone. */
int ext_qr_modules(const char *text, enum ext_qr_ecc ecc, unsigned *modules);

/*
 * PNG, 1-bit grayscale, (modules + 2 * EXT_QR_QUIET) * scale pixels square,
 * scale 1..EXT_QR_SCALE_MAX. *png gets the file bytes, *len its size.
 */
int ext_qr_png(const char *text, enum ext_qr_ecc ecc, unsigned scale,
	       unsigned char **png, size_t *len);

/*
 * SVG: one path of the dark modules on a white background, viewBox in
 * modules including the quiet zone, shape-rendering crispEdges.
 */
int ext_qr_svg(const char *text, enum ext_qr_ecc ecc, char **svg);

/*
 * UTF-8 for a terminal: half blocks (U+2580, U+2584, U+2588) and spaces, two
 * module rows per line, quiet zone included, every line ending in "\n".
 * Blocks are the dark modules (for dark-on-light terminals); with invert
 * they are the light ones (for light-on-dark terminals).
 */
int ext_qr_utf8(const char *text, enum ext_qr_ecc ecc, bool invert, char **out);

#endif
