/*
 * extclient/: the wg-quick .conf (golden text, validation of every field)
 * and its QR codes (PNG read back by zbarimg and by libpng, SVG, UTF-8),
 * plus acceptance of the .conf by the stock `wg-quick strip`.
 *
 * The zbarimg and wg-quick tests skip() when the tool is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <png.h>
#include <qrencode.h>

#include "key.h"
#include "extclient/extclient.h"

/* Made with wg genkey / wg pubkey / wg genpsk. */
#define PRIV "wHDqzgx0v8JEDm3CSm4c1PKXq3CqWnWMF3kLBQLO7mU="
#define PUB "aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRA="
#define PSK "WuxjQawXsMev19bSRgzQGPOQFmQ2D2zS0389zmu767Q="

static const char *const full_addrs[] = { "10.10.0.254/32", "fd00::fe/128" };
static const char *const full_dns[] = { "10.10.0.1" };
static const char *const full_aips[] = { "10.10.0.0/24", "10.20.0.0/16" };

static const struct ext_conf full = {
	.private_key = PRIV,
	.addrs = full_addrs,
	.n_addrs = 2,
	.dns = full_dns,
	.n_dns = 1,
	.dns_search = "mesh.example",
	.mtu = 1420,
	.peer_public_key = PUB,
	.preshared_key = PSK,
	.endpoint = "198.51.100.1:51821",
	.allowed_ips = full_aips,
	.n_allowed_ips = 2,
	.keepalive = 25,
};

static const char full_text[] =
	"[Interface]\n"
	"PrivateKey = " PRIV "\n"
	"Address = 10.10.0.254/32, fd00::fe/128\n"
	"DNS = 10.10.0.1, mesh.example\n"
	"MTU = 1420\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " PUB "\n"
	"PresharedKey = " PSK "\n"
	"Endpoint = 198.51.100.1:51821\n"
	"AllowedIPs = 10.10.0.0/24, 10.20.0.0/16\n"
	"PersistentKeepalive = 25\n";

static const char *const min_addrs[] = { "10.10.0.7/32" };
static const char *const min_aips[] = { "0.0.0.0/0", "::/0" };

static const struct ext_conf minimal = {
	.private_key = PRIV,
	.addrs = min_addrs,
	.n_addrs = 1,
	.peer_public_key = PUB,
	.endpoint = "vpn.example.com:51820",
	.allowed_ips = min_aips,
	.n_allowed_ips = 2,
};

static const char minimal_text[] =
	"[Interface]\n"
	"PrivateKey = " PRIV "\n"
	"Address = 10.10.0.7/32\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " PUB "\n"
	"Endpoint = vpn.example.com:51820\n"
	"AllowedIPs = 0.0.0.0/0, ::/0\n";

static int setup(void **state)
{
	return mg_crypto_init();
}

/* --- helpers -------------------------------------------------------------- */

/* True when prog is an executable file in PATH. */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, full_path[4096];
	bool found = false;

	if (!path || !(copy = strdup(path)))
		return false;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(full_path, sizeof(full_path), "%s/%s", dir, prog);
		found = access(full_path, X_OK) == 0;
	}
	free(copy);
	return found;
}

/*
 * Runs argv (no shell) with stderr to /dev/null; its stdout goes to *out
 * (NUL-terminated, length in *len; caller frees). Returns the exit status,
 * or -1 when it could not be run or did not exit normally.
 */
static int run(char *const argv[], char **out, size_t *len)
{
	size_t cap = 0;
	int pfd[2], status, fd;
	ssize_t n;
	char *p;
	pid_t pid;

	*out = NULL;
	*len = 0;
	if (pipe(pfd))
		return -1;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDOUT_FILENO);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (cap - *len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (!(p = realloc(*out, cap)))
				break;
			*out = p;
		}
		n = read(pfd[0], *out + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(pfd[0]);
	if (*out)
		(*out)[*len] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* The module matrix of text, straight from libqrencode. Caller frees. */
static QRcode *reference_qr(const char *text, enum ext_qr_ecc ecc)
{
	QRcode *qr;

	qr = QRcode_encodeString(text, 0, ecc == EXT_QR_ECC_L ? QR_ECLEVEL_L : QR_ECLEVEL_M,
				 QR_MODE_8, 1);
	assert_non_null(qr);
	return qr;
}

/* Dark modules of the code plus its quiet zone, as in extclient/qr.c. */
static bool ref_dark(const QRcode *qr, int x, int y)
{
	x -= EXT_QR_QUIET;
	y -= EXT_QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return qr->data[y * qr->width + x] & 1;
}

/* --- .conf: golden text --------------------------------------------------- */

static void test_conf_full(void **state)
{
	char *s;

	assert_int_equal(ext_conf_render(&full, &s), 0);
	assert_string_equal(s, full_text);
	free(s);
}

static void test_conf_minimal(void **state)
{
	char *s;

	assert_int_equal(ext_conf_render(&minimal, &s), 0);
	assert_string_equal(s, minimal_text);
	free(s);
}

/* Addresses are written in their canonical form; IPv6 endpoints and DNS too. */
static void test_conf_canonical(void **state)
{
	static const char *const addrs[] = { "FD00:0:0::FE/128" };
	static const char *const dns[] = { "FD00::1", "10.10.0.1" };
	static const char *const aips[] = { "FD00::0/64" };
	struct ext_conf c = minimal;
	char *s;

	c.addrs = addrs;
	c.n_addrs = 1;
	c.dns = dns;
	c.n_dns = 2;
	c.allowed_ips = aips;
	c.n_allowed_ips = 1;
	c.endpoint = "[2001:db8::1]:51820";
	c.keepalive = 65535;
	c.mtu = 9000;
	assert_int_equal(ext_conf_render(&c, &s), 0);
	assert_string_equal(s,
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = fd00::fe/128\n"
		"DNS = fd00::1, 10.10.0.1\n"
		"MTU = 9000\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = [2001:db8::1]:51820\n"
		"AllowedIPs = fd00::/64\n"
		"PersistentKeepalive = 65535\n");
	free(s);
}

/* --- .conf: validation ---------------------------------------------------- */

static void expect_invalid(const struct ext_conf *c, const char *field, const char *what)
{
	char err[EXT_ERR_LEN], *s = (char *)"untouched";

	if (ext_conf_validate(c, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted %s", what);
	if (strncmp(err, field, strlen(field)) != 0)
		fail_msg("%s: error '%s' does not name '%s'", what, err, field);
	/* The message never echoes the value: nothing of it reaches a log. */
	assert_null(strchr(err, '\n'));
	assert_int_equal(ext_conf_render(c, &s), -EINVAL);
	assert_null(s);
}

static void expect_valid(const struct ext_conf *c, const char *what)
{
	char err[EXT_ERR_LEN];

	if (ext_conf_validate(c, err, sizeof(err)) != 0)
		fail_msg("rejected %s: %s", what, err);
}

/* Every string field refuses a value that would start a new section. */
static void test_reject_injection(void **state)
{
	static const char *const inj[] = {
		"x\n[Peer]",
		"10.10.0.1/32\n[Peer]",
		"10.10.0.1/32\nPublicKey = " PUB,
		"10.10.0.1/32\r\n[Peer]",
		"10.10.0.1/32 # x",
		"10.10.0.1/32, 10.10.0.2/32",
		"[Peer]",
		"=",
		"10.10.0.1/32\t",
		"",
	};
	const char *one[1];
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(inj) / sizeof(inj[0]); i++) {
		one[0] = inj[i];

		c = full;
		c.private_key = inj[i];
		expect_invalid(&c, "private_key", inj[i]);
		c = full;
		c.peer_public_key = inj[i];
		expect_invalid(&c, "peer_public_key", inj[i]);
		c = full;
		c.preshared_key = inj[i];
		expect_invalid(&c, "preshared_key", inj[i]);
		c = full;
		c.endpoint = inj[i];
		expect_invalid(&c, "endpoint", inj[i]);
		c = full;
		c.dns_search = inj[i];
		expect_invalid(&c, "dns_search", inj[i]);
		c = full;
		c.addrs = one;
		c.n_addrs = 1;
		expect_invalid(&c, "addresses[0]", inj[i]);
		c = full;
		c.dns = one;
		c.n_dns = 1;
		expect_invalid(&c, "dns[0]", inj[i]);
		c = full;
		c.allowed_ips = one;
		c.n_allowed_ips = 1;
		expect_invalid(&c, "allowed_ips[0]", inj[i]);
	}
	/* A key followed by a new line, and a valid key with a section after it. */
	c = full;
	c.private_key = PRIV "\n[Peer]";
	expect_invalid(&c, "private_key", "key + [Peer]");
	c = full;
	c.endpoint = "198.51.100.1:51821\n[Peer]";
	expect_invalid(&c, "endpoint", "endpoint + [Peer]");
	c = full;
	c.dns_search = "mesh.example\nPostUp = id";
	expect_invalid(&c, "dns_search", "search + PostUp");
}

static void test_reject_keys(void **state)
{
	static const char *const bad[] = {
		"wHDqzgx0v8JEDm3CSm4c1PKXq3CqWnWMF3kLBQLO7m=",		/* 43 */
		"wHDqzgx0v8JEDm3CSm4c1PKXq3CqWnWMF3kLBQLO7mUA=",	/* 45 */
		"wHDqzgx0v8JEDm3CSm4c1PKXq3CqWnWMF3kLBQLO7mU",		/* no padding */
		"wHDqzgx0v8JEDm3CSm4c1PKXq3CqWnWMF3kLBQLO7m==",		/* 31 bytes */
		"aYvH_S_D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRA=",		/* base64url */
		"aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBR!=",		/* alphabet */
		"aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRB=",		/* non-canonical tail */
		" aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRA=",
		"aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRA= ",
		"aYvH/S/D6SHKyJdzKoUezlKBW1Cu73sHSCPEqBCoBRA=\n",
		"",
	};
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = full;
		c.private_key = bad[i];
		expect_invalid(&c, "private_key", bad[i]);
		c = full;
		c.peer_public_key = bad[i];
		expect_invalid(&c, "peer_public_key", bad[i]);
		c = full;
		c.preshared_key = bad[i];
		expect_invalid(&c, "preshared_key", bad[i]);
	}
	c = full;
	c.private_key = NULL;
	expect_invalid(&c, "private_key", "no private key");
	c = full;
	c.peer_public_key = NULL;
	expect_invalid(&c, "peer_public_key", "no public key");
	c = full;
	c.preshared_key = NULL;
	expect_valid(&c, "no preshared key");
}

static void test_reject_cidrs(void **state)
{
	static const char *const bad[] = {
		"10.10.0.0/24\n", "\n10.10.0.0/24", "10.10.0.0", "10.10.0.0/33", "fd00::/129",
		"10.10.0.0/-1", "10.10.0.0/024", "10.10.0.0 /24", "10.10.0/24", "fd00::%eth0/64",
		"host.example/32", "10.10.0.0/24/24", "1.2.3.4.5/32",
	};
	const char *list[3];
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* A bad entry anywhere in the list. */
		list[0] = "10.10.0.0/24";
		list[1] = bad[i];
		list[2] = "10.20.0.0/16";
		c = full;
		c.allowed_ips = list;
		c.n_allowed_ips = 3;
		expect_invalid(&c, "allowed_ips[1]", bad[i]);
		c = full;
		c.addrs = list;
		c.n_addrs = 3;
		expect_invalid(&c, "addresses[1]", bad[i]);
	}
	list[1] = NULL;
	c = full;
	c.allowed_ips = list;
	c.n_allowed_ips = 3;
	expect_invalid(&c, "allowed_ips[1]", "NULL entry");
}

static void test_reject_endpoint(void **state)
{
	static const char *const bad[] = {
		"198.51.100.1", "198.51.100.1:", "198.51.100.1:0", "198.51.100.1:65536",
		"198.51.100.1:051821", "198.51.100.1:+1", "198.51.100.1:51821 ",
		"198.51.100.1:51821\n", "2001:db8::1:51820", "[2001:db8::1]", "[2001:db8::1]51820",
		"[198.51.100.1]:51820", "[2001:db8::1%eth0]:51820", "999.1.1.1:51820",
		"vpn example.com:51820", "-vpn.example.com:51820", "vpn..example.com:51820",
		":51820", "vpn.example.com:51820:1", "vpn.example.com:51820#x",
	};
	static const char *const good[] = {
		"198.51.100.1:1", "198.51.100.1:65535", "[2001:db8::1]:51820", "vpn.example.com:51820",
		"localhost:51820",
	};
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = full;
		c.endpoint = bad[i];
		expect_invalid(&c, "endpoint", bad[i]);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = full;
		c.endpoint = good[i];
		expect_valid(&c, good[i]);
	}
	c = full;
	c.endpoint = NULL;
	expect_invalid(&c, "endpoint", "no endpoint");
}

static void test_reject_dns(void **state)
{
	static const char *const bad[] = {
		"10.10.0.1 ", " 10.10.0.1", "10.10.0.1, 10.10.0.2", "10.10.0.1,10.10.0.2",
		"dns.example", "10.10.0.1/32", "10.10.0.1\n", "fd00::1%eth0",
	};
	static const char *const bad_search[] = {
		"mesh example", "mesh.example ", "mesh.example,evil", "mesh.example.", ".example",
		"10.10.0.1", "123", "fd00::1", "-mesh.example", "mesh_example",
	};
	const char *one[1];
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = bad[i];
		c = full;
		c.dns = one;
		c.n_dns = 1;
		expect_invalid(&c, "dns[0]", bad[i]);
	}
	for (i = 0; i < sizeof(bad_search) / sizeof(bad_search[0]); i++) {
		c = full;
		c.dns_search = bad_search[i];
		expect_invalid(&c, "dns_search", bad_search[i]);
	}
	/* wg-quick drops a search domain without servers: refuse it instead. */
	c = full;
	c.n_dns = 0;
	expect_invalid(&c, "dns_search", "search without servers");
	c.dns_search = NULL;
	expect_valid(&c, "no DNS at all");
}

static void test_reject_numbers(void **state)
{
	static const unsigned bad_mtu[] = { 1, 576, 1279, 9001, 65535, 4294967295u };
	static const unsigned good_mtu[] = { 0, 1280, 1420, 9000 };
	struct ext_conf c;
	size_t i;

	for (i = 0; i < sizeof(bad_mtu) / sizeof(bad_mtu[0]); i++) {
		c = full;
		c.mtu = bad_mtu[i];
		expect_invalid(&c, "mtu", "bad MTU");
	}
	for (i = 0; i < sizeof(good_mtu) / sizeof(good_mtu[0]); i++) {
		c = full;
		c.mtu = good_mtu[i];
		expect_valid(&c, "good MTU");
	}
	c = full;
	c.keepalive = 65536;
	expect_invalid(&c, "keepalive", "keepalive 65536");
	c.keepalive = 4294967295u;
	expect_invalid(&c, "keepalive", "keepalive UINT_MAX");
	c.keepalive = 0;
	expect_valid(&c, "keepalive 0");
	c.keepalive = 65535;
	expect_valid(&c, "keepalive 65535");
}

static void test_reject_counts(void **state)
{
	const char *many[EXT_MAX_ALLOWED_IPS + 1];
	char (*text)[24];
	struct ext_conf c;
	size_t i;
	char *s;

	assert_non_null(text = calloc(EXT_MAX_ALLOWED_IPS + 1, sizeof(*text)));
	for (i = 0; i <= EXT_MAX_ALLOWED_IPS; i++) {
		snprintf(text[i], sizeof(text[i]), "10.%zu.%zu.0/24", i / 256, i % 256);
		many[i] = text[i];
	}
	c = full;
	c.allowed_ips = many;
	c.n_allowed_ips = EXT_MAX_ALLOWED_IPS;
	expect_valid(&c, "the most allowed IPs");
	assert_int_equal(ext_conf_render(&c, &s), 0);
	free(s);
	c.n_allowed_ips = EXT_MAX_ALLOWED_IPS + 1;
	expect_invalid(&c, "allowed_ips", "too many allowed IPs");
	c.n_allowed_ips = 0;
	expect_invalid(&c, "allowed_ips", "no allowed IPs");
	c.allowed_ips = NULL;
	c.n_allowed_ips = 2;
	expect_invalid(&c, "allowed_ips", "NULL allowed IPs");

	c = full;
	c.addrs = many;
	c.n_addrs = EXT_MAX_ADDRS;
	expect_valid(&c, "the most addresses");
	c.n_addrs = EXT_MAX_ADDRS + 1;
	expect_invalid(&c, "addresses", "too many addresses");
	c.n_addrs = 0;
	expect_invalid(&c, "addresses", "no addresses");

	for (i = 0; i <= EXT_MAX_DNS; i++) {
		snprintf(text[i], sizeof(text[i]), "10.10.0.%zu", i + 1);
		many[i] = text[i];
	}
	c = full;
	c.dns = many;
	c.n_dns = EXT_MAX_DNS;
	expect_valid(&c, "the most DNS servers");
	c.n_dns = EXT_MAX_DNS + 1;
	expect_invalid(&c, "dns", "too many DNS servers");
	free(text);
}

static void test_validate_args(void **state)
{
	char err[8];
	char *s;

	assert_int_equal(ext_conf_validate(NULL, NULL, 0), -EINVAL);
	assert_int_equal(ext_conf_render(NULL, &s), -EINVAL);
	assert_int_equal(ext_conf_render(&full, NULL), -EINVAL);
	/* A short buffer gets a truncated, terminated message. */
	struct ext_conf c = full;
	c.mtu = 1;
	assert_int_equal(ext_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(ext_conf_validate(&full, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

/* --- QR ------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_png(const char *text, enum ext_qr_ecc ecc, unsigned scale)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	png_image img = { .version = PNG_IMAGE_VERSION };
	unsigned char *png, *px;
	unsigned modules, size, x, y;
	QRcode *qr;
	size_t len;

	assert_int_equal(ext_qr_modules(text, ecc, &modules), 0);
	assert_int_equal(ext_qr_png(text, ecc, scale, &png, &len), 0);
	size = (modules + 2 * EXT_QR_QUIET) * scale;

	/* Signature, then IHDR: size x size, 1-bit grayscale, not interlaced. */
	assert_true(len > 33);
	assert_memory_equal(png, sig, 8);
	assert_int_equal(be32(png + 8), 13);
	assert_memory_equal(png + 12, "IHDR", 4);
	assert_int_equal(be32(png + 16), size);
	assert_int_equal(be32(png + 20), size);
	assert_int_equal(png[24], 1);	/* bit depth */
	assert_int_equal(png[25], 0);	/* grayscale */
	assert_int_equal(png[28], 0);	/* no interlace */
	assert_memory_equal(png + len - 8, "IEND", 4);

	/* Every pixel is the colour of its module. */
	assert_int_not_equal(png_image_begin_read_from_memory(&img, png, len), 0);
	img.format = PNG_FORMAT_GRAY;
	assert_non_null(px = malloc(PNG_IMAGE_SIZE(img)));
	assert_int_not_equal(png_image_finish_read(&img, NULL, px, 0, NULL), 0);
	assert_int_equal(img.width, size);
	qr = reference_qr(text, ecc);
	assert_int_equal(qr->width, (int)modules);
	for (y = 0; y < size; y++) {
		for (x = 0; x < size; x++) {
			if (px[y * size + x] != (ref_dark(qr, (int)(x / scale), (int)(y / scale)) ? 0 : 255))
				fail_msg("pixel %u,%u wrong", x, y);
		}
	}
	QRcode_free(qr);
	free(px);
	free(png);
}

static void test_png_header(void **state)
{
	check_png(full_text, EXT_QR_ECC_L, 1);
	check_png(full_text, EXT_QR_ECC_M, 8);
	check_png(minimal_text, EXT_QR_ECC_M, 3);
	check_png("x", EXT_QR_ECC_L, EXT_QR_SCALE_MAX);
}

/* The phone's view: zbarimg reads the PNG back to the exact .conf bytes. */
static void zbar_round_trip(const char *conf, enum ext_qr_ecc ecc, bool binary)
{
	char dir[] = "/tmp/mgext.XXXXXX", path[64], *out;
	char *argv[] = { (char *)"zbarimg", (char *)"--raw", (char *)"-q", path, NULL, NULL };
	unsigned char *png;
	size_t len, outlen;
	int rc;

	if (binary) {
		/* Raw bytes, no charset guessing and no newline appended. */
		argv[3] = (char *)"-Sbinary";
		argv[4] = path;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qr.png", dir);
	assert_int_equal(ext_qr_png(conf, ecc, 8, &png, &len), 0);
	write_file(path, png, len);
	free(png);
	rc = run(argv, &out, &outlen);
	unlink(path);
	rmdir(dir);
	assert_int_equal(rc, 0);
	assert_non_null(out);
	if (!binary) {
		/* zbarimg ends each symbol's data with one newline of its own. */
		assert_true(outlen > 0 && out[outlen - 1] == '\n');
		out[--outlen] = '\0';
	}
	assert_int_equal(outlen, strlen(conf));
	assert_memory_equal(out, conf, outlen);
	free(out);
}

static void test_png_zbarimg(void **state)
{
	static const char *const big_aips[] = {
		"10.10.0.0/24", "10.20.0.0/16", "192.168.100.0/24", "172.16.0.0/12",
		"fd00::/64", "fd00:1234:5678:9abc::/64", "2001:db8:aaaa:bbbb::/64",
	};
	struct ext_conf c = full;
	char *conf;

	if (!in_path("zbarimg"))
		skip();
	assert_int_equal(ext_conf_render(&full, &conf), 0);
	zbar_round_trip(conf, EXT_QR_ECC_L, false);
	zbar_round_trip(conf, EXT_QR_ECC_M, false);
	zbar_round_trip(conf, EXT_QR_ECC_M, true);
	free(conf);
	assert_int_equal(ext_conf_render(&minimal, &conf), 0);
	zbar_round_trip(conf, EXT_QR_ECC_M, false);
	free(conf);
	/* A bigger config: a higher version with more alignment patterns. */
	c.endpoint = "[2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa]:65535";
	c.allowed_ips = big_aips;
	c.n_allowed_ips = sizeof(big_aips) / sizeof(big_aips[0]);
	assert_int_equal(ext_conf_render(&c, &conf), 0);
	zbar_round_trip(conf, EXT_QR_ECC_M, false);
	free(conf);
}

/* Sums the runs of "M<x> <y>h<n>v1h-<n>z" and checks their shape. */
static unsigned svg_dark_modules(const char *d, unsigned size)
{
	unsigned x, y, n, m, total = 0;
	int used;

	while (*d != '"') {
		assert_int_equal(sscanf(d, "M%u %uh%uv1h-%uz%n", &x, &y, &n, &m, &used), 4);
		assert_int_equal(n, m);
		assert_true(n >= 1 && x >= EXT_QR_QUIET && y >= EXT_QR_QUIET);
		assert_true(x + n <= size - EXT_QR_QUIET && y < size - EXT_QR_QUIET);
		total += n;
		d += used;
	}
	return total;
}

static void test_svg(void **state)
{
	char *svg, head[160], *d;
	unsigned modules, size, dark = 0;
	QRcode *qr;
	int i;

	assert_int_equal(ext_qr_modules(full_text, EXT_QR_ECC_M, &modules), 0);
	assert_int_equal(ext_qr_svg(full_text, EXT_QR_ECC_M, &svg), 0);
	size = modules + 2 * EXT_QR_QUIET;
	snprintf(head, sizeof(head), "<svg xmlns=\"http://www.w3.org/2000/svg\" "
		 "viewBox=\"0 0 %u %u\" shape-rendering=\"crispEdges\">\n", size, size);
	assert_memory_equal(svg, head, strlen(head));
	snprintf(head, sizeof(head), "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>\n", size, size);
	assert_non_null(strstr(svg, head));
	assert_int_equal(strlen(svg) - strlen("</svg>\n"), strstr(svg, "</svg>\n") - svg);
	/* Exactly one path, holding every dark module once. */
	assert_non_null(d = strstr(svg, "<path fill=\"#000\" d=\""));
	assert_null(strstr(d + 1, "<path"));
	d += strlen("<path fill=\"#000\" d=\"");
	qr = reference_qr(full_text, EXT_QR_ECC_M);
	assert_int_equal(qr->width, (int)modules);
	for (i = 0; i < qr->width * qr->width; i++)
		dark += qr->data[i] & 1;
	assert_int_equal(svg_dark_modules(d, size), dark);
	QRcode_free(qr);
	free(svg);
}

/* Reads the UTF-8 rendering back into modules and compares with the code. */
static void check_utf8(const char *text, bool invert)
{
	unsigned modules, size, lines = 0, x = 0, y = 0;
	bool top, bottom;
	char *out, *p;
	QRcode *qr;

	assert_int_equal(ext_qr_modules(text, EXT_QR_ECC_L, &modules), 0);
	assert_int_equal(ext_qr_utf8(text, EXT_QR_ECC_L, invert, &out), 0);
	size = modules + 2 * EXT_QR_QUIET;
	qr = reference_qr(text, EXT_QR_ECC_L);
	for (p = out; *p; ) {
		if (*p == '\n') {
			assert_int_equal(x, size);
			lines++;
			x = 0;
			y += 2;
			p++;
			continue;
		}
		if (*p == ' ') {
			top = bottom = false;
			p++;
		} else if (!strncmp(p, "\u2580", 3)) {
			top = true;
			bottom = false;
			p += 3;
		} else if (!strncmp(p, "\u2584", 3)) {
			top = false;
			bottom = true;
			p += 3;
		} else if (!strncmp(p, "\u2588", 3)) {
			top = bottom = true;
			p += 3;
		} else {
			fail_msg("unexpected byte 0x%02x", (unsigned char)*p);
		}
		assert_true(x < size);
		assert_int_equal(top, ref_dark(qr, (int)x, (int)y) != invert);
		if (y + 1 < size)
			assert_int_equal(bottom, ref_dark(qr, (int)x, (int)y + 1) != invert);
		else
			assert_false(bottom);
		x++;
	}
	assert_int_equal(lines, (size + 1) / 2);
	assert_true(p > out && p[-1] == '\n');
	QRcode_free(qr);
	free(out);
}

static void test_utf8(void **state)
{
	check_utf8(full_text, false);
	check_utf8(full_text, true);
	check_utf8(minimal_text, false);
	check_utf8("x", true);
}

static void test_qr_errors(void **state)
{
	unsigned char *png = (unsigned char *)"x";
	char *s = (char *)"x", *big;
	unsigned modules;
	size_t len = 1;

	assert_int_equal(ext_qr_png(NULL, EXT_QR_ECC_L, 8, &png, &len), -EINVAL);
	assert_null(png);
	assert_int_equal(len, 0);
	assert_int_equal(ext_qr_png("", EXT_QR_ECC_L, 8, &png, &len), -EINVAL);
	assert_int_equal(ext_qr_png("x", EXT_QR_ECC_L, 0, &png, &len), -EINVAL);
	assert_int_equal(ext_qr_png("x", EXT_QR_ECC_L, EXT_QR_SCALE_MAX + 1, &png, &len), -EINVAL);
	assert_int_equal(ext_qr_png("x", (enum ext_qr_ecc)7, 8, &png, &len), -EINVAL);
	assert_int_equal(ext_qr_png("x", EXT_QR_ECC_L, 8, NULL, &len), -EINVAL);
	assert_int_equal(ext_qr_svg(NULL, EXT_QR_ECC_L, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(ext_qr_svg("x", EXT_QR_ECC_L, NULL), -EINVAL);
	assert_int_equal(ext_qr_utf8("x", (enum ext_qr_ecc)-1, false, &s), -EINVAL);
	assert_int_equal(ext_qr_modules("x", EXT_QR_ECC_L, NULL), -EINVAL);

	/* Smallest version that fits: one byte is version 1 (21 modules). */
	assert_int_equal(ext_qr_modules("x", EXT_QR_ECC_M, &modules), 0);
	assert_int_equal(modules, 21);
	/* Version 40-L holds 2953 bytes; a text beyond that does not fit. */
	assert_non_null(big = malloc(4001));
	memset(big, 'a', 4000);
	big[4000] = '\0';
	assert_int_equal(ext_qr_modules(big, EXT_QR_ECC_L, &modules), -ERANGE);
	assert_int_equal(ext_qr_png(big, EXT_QR_ECC_L, 8, &png, &len), -ERANGE);
	assert_int_equal(ext_qr_svg(big, EXT_QR_ECC_L, &s), -ERANGE);
	assert_int_equal(ext_qr_utf8(big, EXT_QR_ECC_L, false, &s), -ERANGE);
	/* Byte mode, not alphanumeric: 2953 lowercase bytes still fit 40-L. */
	memset(big, '\n', 2953);
	big[2953] = '\0';
	assert_int_equal(ext_qr_modules(big, EXT_QR_ECC_L, &modules), 0);
	assert_int_equal(modules, 177);
	free(big);
}

/* --- the stock tools accept the .conf ------------------------------------- */

static void test_wg_quick_strip(void **state)
{
	char dir[] = "/tmp/mgext.XXXXXX", path[64], *conf, *out;
	char *argv[] = { (char *)"wg-quick", (char *)"strip", path, NULL };
	size_t outlen;
	int rc;

	if (!in_path("wg-quick") || !in_path("wg"))
		skip();
	/* wg-quick re-executes itself through sudo when not root. */
	if (geteuid() != 0)
		skip();
	assert_int_equal(ext_conf_render(&full, &conf), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mgtest0.conf", dir);
	write_file(path, conf, strlen(conf));
	free(conf);
	rc = run(argv, &out, &outlen);
	unlink(path);
	rmdir(dir);
	assert_int_equal(rc, 0);
	assert_non_null(out);
	/* What wg setconf gets: the wg-quick-only keys are gone, the rest kept. */
	assert_string_equal(out,
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"PresharedKey = " PSK "\n"
		"Endpoint = 198.51.100.1:51821\n"
		"AllowedIPs = 10.10.0.0/24, 10.20.0.0/16\n"
		"PersistentKeepalive = 25\n"
		"\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_full),
		cmocka_unit_test(test_conf_minimal),
		cmocka_unit_test(test_conf_canonical),
		cmocka_unit_test(test_reject_injection),
		cmocka_unit_test(test_reject_keys),
		cmocka_unit_test(test_reject_cidrs),
		cmocka_unit_test(test_reject_endpoint),
		cmocka_unit_test(test_reject_dns),
		cmocka_unit_test(test_reject_numbers),
		cmocka_unit_test(test_reject_counts),
		cmocka_unit_test(test_validate_args),
		cmocka_unit_test(test_png_header),
		cmocka_unit_test(test_png_zbarimg),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_qr_errors),
		cmocka_unit_test(test_wg_quick_strip),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
