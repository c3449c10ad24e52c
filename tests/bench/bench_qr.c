/*
 * Benchmark 5, ext-client configs: how many wg-quick .conf files plus
 * their QR PNG (ECC M, 8 pixels per module, 4-module quiet zone) meshgate
 * produces per second (ext_conf_render + ext_qr_png, each PNG written to a
 * file) against the `qrencode -o FILE -s 8 -l M TEXT` CLI making the PNG
 * of the same text. First it checks that both PNGs decode to the same
 * pixels, so the two sides do the same work. The CLI figure includes
 * starting a process per code: that is what a script using the CLI pays.
 *
 *   bench_qr RESULT.json
 */
#include <png.h>

#include "bench.h"
#include "extclient/extclient.h"

#define PRIV "eCtXsJZ27+4PbhDkHnB923tkUn2Gj59wZw5wFA75MnU="
#define PUB "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define PSK "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="

static const char *const addrs[] = { "10.101.255.254/32", "fd00:101::fffe/128" };
static const char *const dns[] = { "10.101.0.1" };
static const char *const aips[] = { "10.101.0.0/16", "fd00:101::/64", "172.31.0.0/16" };

static const struct ext_conf conf = {
	.private_key = PRIV,
	.addrs = addrs,
	.n_addrs = 2,
	.dns = dns,
	.n_dns = 1,
	.mtu = 1420,
	.peer_public_key = PUB,
	.preshared_key = PSK,
	.endpoint = "203.0.113.10:51821",
	.allowed_ips = aips,
	.n_allowed_ips = 3,
	.keepalive = 25,
};

/* Decodes a PNG to 8-bit gray pixels. Caller frees. */
static unsigned char *decode(const void *data, size_t len, unsigned *w, unsigned *h)
{
	png_image img;
	unsigned char *px;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, data, len))
		return NULL;
	img.format = PNG_FORMAT_GRAY;
	px = malloc(PNG_IMAGE_SIZE(img));
	if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		free(px);
		png_image_free(&img);
		return NULL;
	}
	*w = img.width;
	*h = img.height;
	return px;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* One .conf + PNG the way meshgate makes it, written to png_path. */
static int ours(const char *png_path, size_t *bytes)
{
	unsigned char *png = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = ext_conf_render(&conf, &text);
	if (!ret)
		ret = ext_qr_png(text, EXT_QR_ECC_M, 8, &png, &len);
	if (!ret)
		ret = write_file(png_path, png, len);
	if (bytes)
		*bytes = len;
	free(text);
	free(png);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/mgbench-qr.XXXXXX", ours_png[64], cli_png[64];
	unsigned w1 = 0, h1 = 0, w2 = 0, h2 = 0, modules = 0;
	unsigned char *p1 = NULL, *p2 = NULL, *png = NULL;
	char *text = NULL, *cli_data = NULL;
	size_t png_len = 0, cli_len = 0;
	double t0, ours_s, cli_s, ours_rate, cli_rate;
	long n_ours = 0, n_cli = 0, n_enc = 0;
	double enc_s;
	bool same;
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: %s RESULT.json\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ours_png, sizeof(ours_png), "%s/ours.png", dir);
	snprintf(cli_png, sizeof(cli_png), "%s/cli.png", dir);

	if (ext_conf_render(&conf, &text) || ext_qr_modules(text, EXT_QR_ECC_M, &modules) ||
	    ext_qr_png(text, EXT_QR_ECC_M, 8, &png, &png_len)) {
		fprintf(stderr, "bench_qr: cannot render the config or its QR\n");
		return 1;
	}
	char *cli_argv[] = { "qrencode", "-o", cli_png, "-s", "8", "-l", "M", text, NULL };
	if (bench_run(cli_argv, NULL) != 0 || !(cli_data = bench_slurp(cli_png, &cli_len))) {
		fprintf(stderr, "bench_qr: qrencode CLI failed\n");
		return 1;
	}
	p1 = decode(png, png_len, &w1, &h1);
	p2 = decode(cli_data, cli_len, &w2, &h2);
	if (!p1 || !p2) {
		fprintf(stderr, "bench_qr: cannot decode a PNG\n");
		return 1;
	}
	same = w1 == w2 && h1 == h2 && !memcmp(p1, p2, (size_t)w1 * h1);
	bench_say("config %zu bytes, QR %u modules, PNG %ux%u px: ours %zu bytes, CLI %zu bytes, same pixels: %s",
		  strlen(text), modules, w1, h1, png_len, cli_len, same ? "yes" : "NO");

	/* Ours: at least 1 s and 200 codes. */
	t0 = bench_now();
	do {
		if (ours(ours_png, NULL)) {
			fprintf(stderr, "bench_qr: render failed\n");
			return 1;
		}
		n_ours++;
	} while (n_ours < 200 || bench_now() - t0 < 1.0);
	ours_s = bench_now() - t0;

	/* Where our time goes: the QR encoding alone (libqrencode, no PNG). */
	t0 = bench_now();
	do {
		unsigned m;

		if (ext_qr_modules(text, EXT_QR_ECC_M, &m))
			return 1;
		n_enc++;
	} while (n_enc < 200 || bench_now() - t0 < 0.5);
	enc_s = bench_now() - t0;

	/* The CLI: at least 1 s and 30 codes. */
	t0 = bench_now();
	do {
		if (bench_run(cli_argv, NULL) != 0) {
			fprintf(stderr, "bench_qr: qrencode CLI failed\n");
			return 1;
		}
		n_cli++;
	} while (n_cli < 30 || bench_now() - t0 < 1.0);
	cli_s = bench_now() - t0;

	ours_rate = (double)n_ours / ours_s;
	cli_rate = (double)n_cli / cli_s;
	bench_say("meshgate  .conf + PNG  %8.0f /s  (%ld in %.2f s)", ours_rate, n_ours, ours_s);
	bench_say("  of which QR encoding  %8.0f /s  (libqrencode alone; the rest is PNG + conf)", (double)n_enc / enc_s);
	bench_say("qrencode  CLI PNG      %8.0f /s  (%ld in %.2f s)", cli_rate, n_cli, cli_s);
	bench_say("ratio meshgate / CLI   %8.1fx  (higher is better)", ours_rate / cli_rate);

	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out, "{\"bench\": \"qr\", \"conf_bytes\": %zu, \"qr_modules\": %u, \"png_px\": %u,"
		" \"png_bytes\": %zu, \"cli_png_bytes\": %zu, \"same_pixels\": %s,"
		" \"ours_per_s\": %.1f, \"ours_n\": %ld, \"cli_per_s\": %.1f, \"cli_n\": %ld,"
		" \"qr_encode_only_per_s\": %.1f, \"ratio\": %.2f, \"anchor\": \"qrencode -o F.png -s 8 -l M TEXT (one process per code)\"}\n",
		strlen(text), modules, w1, png_len, cli_len, same ? "true" : "false",
		ours_rate, n_ours, cli_rate, n_cli, (double)n_enc / enc_s, ours_rate / cli_rate);
	fclose(out);

	unlink(ours_png);
	unlink(cli_png);
	rmdir(dir);
	free(text);
	free(png);
	free(cli_data);
	free(p1);
	free(p2);
	return same ? 0 : 1;
}
