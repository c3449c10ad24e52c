/*
 * meshgatectl extclient list | create | show | update | delete | config | qr
 *
 * config and qr fetch a client's wg-quick .conf (or its QR code), which
 * holds the client's private key: it goes to stdout, the terminal or a file
 * created 0600 (written under a temporary name, then renamed over FILE), is
 * never logged and its buffers are wiped before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ctl.h"
#include "extclient/extclient.h"

static const struct column extclient_cols[] = {
	{ "ID", "id", COL_STR },
	{ "NAME", "name", COL_STR },
	{ "NETWORK", "network", COL_STR },
	{ "GATEWAY", "gateway_name", COL_STR },
	{ "ADDRESS", "address", COL_STR },
	{ "ENABLED", "enabled", COL_STR },
	{ "EXPIRES", "expires_at", COL_TIME },
	{ "OWNER", "owner_user_id", COL_STR },
	{ NULL, NULL, 0 },
};

/* Ten years: anything longer is almost certainly a typo. */
#define MAX_EXPIRES_IN (10LL * 366 * 24 * 3600)

static void oom(void)
{
	errorx("out of memory");
	exit(EXIT_FAIL);
}

/* body[key] = [] (clears a list on update). */
static void body_set_empty(json_t *body, const char *key)
{
	if (json_object_set_new(body, key, json_array()) < 0)
		oom();
}

/*
 * Appends each comma-separated item of val to the array body[key], after
 * checking it is an IP address (cidr = false) or a CIDR without host bits.
 */
static int append_checked(struct args *a, const char *opt, json_t *body, const char *key,
			  const char *val, bool cidr)
{
	char *copy = strdup(val), *item, *save = NULL;
	struct mg_prefix p;
	struct mg_ip ip;
	int ret = 0, n = 0;

	if (!copy)
		oom();
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		n++;
		if (cidr ? mg_prefix_parse_canonical(item, &p) < 0 : mg_ip_parse(item, &ip) < 0) {
			usage_error(a->cmd, "%s: '%s' is not %s", opt, item,
				    cidr ? "a CIDR without host bits (e.g. 192.168.10.0/24)"
					 : "an IP address");
			a->bad = true;
			ret = -1;
			break;
		}
		if (body_append_str(a, body, key, item) < 0) {
			ret = -1;
			break;
		}
	}
	if (!ret && !n) {
		usage_error(a->cmd, "%s: empty value", opt);
		a->bad = true;
		ret = -1;
	}
	free(copy);
	return ret;
}

/* Options of create (create = true) and update into body. */
static int extclient_opts(struct args *a, struct ctl *c, json_t *body, bool create)
{
	bool enable = false, disable = false, full = false, split = false, no_expiry = false;
	bool dns = false, no_dns = false, sites = false, no_sites = false;
	long long expires_in = 0, n;
	const char *val;
	int r;

	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_opt(a, "--dns", &val)) {
			dns = true;
			if (append_checked(a, "--dns", body, "dns", val, false) < 0)
				break;
			continue;
		}
		if (args_opt(a, "--site", &val)) {
			sites = true;
			if (append_checked(a, "--site", body, "extra_allowed_ips", val, true) < 0)
				break;
			continue;
		}
		if (args_opt(a, "--expires-in", &val)) {
			if (parse_int(a->cmd, "--expires-in", val, 1, MAX_EXPIRES_IN, &expires_in) < 0)
				a->bad = true;
			continue;
		}
		if (args_flag(a, "--full-tunnel")) {
			full = true;
			continue;
		}
		if (create) {
			if (args_flag(a, "--disabled")) {
				disable = true;
				continue;
			}
			if (args_opt(a, "--owner", &val)) {
				if (parse_int(a->cmd, "--owner", val, 1, INT64_MAX, &n) < 0)
					a->bad = true;
				else if (json_object_set_new(body, "owner_user_id", json_integer(n)) < 0)
					oom();
				continue;
			}
			r = args_str_field(a, "--public-key", body, "public_key");
		} else {
			if (args_flag(a, "--enable")) {
				enable = true;
				continue;
			}
			if (args_flag(a, "--disable")) {
				disable = true;
				continue;
			}
			if (args_flag(a, "--split-tunnel")) {
				split = true;
				continue;
			}
			if (args_flag(a, "--no-expiry")) {
				no_expiry = true;
				continue;
			}
			if (args_flag(a, "--no-dns")) {
				no_dns = true;
				continue;
			}
			if (args_flag(a, "--no-sites")) {
				no_sites = true;
				continue;
			}
			r = args_str_field(a, "--name", body, "name");
		}
		if (!r)
			r = args_int_field(a, "--mtu", 1280, 9000, body, "mtu");
		if (!r)
			r = args_int_field(a, "--keepalive", 0, 3600, body, "keepalive");
		if (r < 0 || a->bad)
			return EXIT_USAGE;
		if (!r)
			return args_unexpected(a);
	}
	if (a->bad)
		return EXIT_USAGE;
	if (enable && disable)
		return usage_error(a->cmd, "extclient update: --enable and --disable exclude each other");
	if (full && split)
		return usage_error(a->cmd,
				   "extclient update: --full-tunnel and --split-tunnel exclude each other");
	if (expires_in && no_expiry)
		return usage_error(a->cmd, "extclient update: --expires-in and --no-expiry exclude each other");
	if (dns && no_dns)
		return usage_error(a->cmd, "extclient update: --dns and --no-dns exclude each other");
	if (sites && no_sites)
		return usage_error(a->cmd, "extclient update: --site and --no-sites exclude each other");
	if (enable || disable)
		json_object_set_new(body, "enabled", json_boolean(enable));
	if (full || split)
		json_object_set_new(body, "full_tunnel", json_boolean(full));
	if (expires_in)
		json_object_set_new(body, "expires_at",
				    json_integer((json_int_t)time(NULL) + expires_in));
	if (no_expiry)
		json_object_set_new(body, "expires_at", json_null());
	if (no_dns)
		body_set_empty(body, "dns");
	if (no_sites)
		body_set_empty(body, "extra_allowed_ips");
	if (!create && !json_object_size(body))
		return usage_error(a->cmd, "extclient update: nothing to change");
	return EXIT_OK;
}

static int extclient_create(struct ctl *c, struct args *a)
{
	const char *net, *gw, *name;
	json_t *body;
	long long gw_id;
	int ret;

	if (!(net = args_positional(a, "NETWORK")) || !(gw = args_positional(a, "GATEWAY_HOST_ID")) ||
	    !(name = args_positional(a, "NAME")))
		return EXIT_USAGE;
	if (parse_int(a->cmd, "GATEWAY_HOST_ID", gw, 1, INT64_MAX, &gw_id) < 0)
		return EXIT_USAGE;
	body = json_object();
	if (!body)
		oom();
	if (body_set_str(a, body, "network", net) < 0 || body_set_str(a, body, "name", name) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	json_object_set_new(body, "gateway_host_id", json_integer(gw_id));
	ret = extclient_opts(a, c, body, true);
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = run_send(c, "POST", "/api/v1/extclients", body, NULL);
out:
	json_decref(body);
	return ret;
}

/* Writes all of data to fd: 0 or -errno. */
static int write_all(int fd, const unsigned char *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Creates path with mode 0600 holding data, atomically: a temporary file in
 * the same directory, synced, then renamed over path. 0 or -1 (reported).
 */
static int write_private_file(const char *path, const unsigned char *data, size_t len)
{
	char *dcopy = strdup(path), *bcopy = strdup(path), *tmp = NULL, *esc;
	const char *dir, *base;
	int fd = -1, dfd, err = 0, ret = -1;

	if (!dcopy || !bcopy)
		oom();
	dir = dirname(dcopy);
	base = basename(bcopy);
	tmp = xasprintf("%s/.%s.XXXXXX", dir, base);
	/* mkostemp creates the file 0600 whatever the umask. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	if (fchmod(fd, 0600) < 0 || (err = -write_all(fd, data, len)) || fsync(fd) < 0) {
		err = err ? err : errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err = errno;
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename durable; a failure here is not worth an error. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	ret = 0;
	goto out;
fail:
	esc = escape_str(path);
	errorx("cannot write %s: %s", esc, strerror(err));
	free(esc);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dcopy);
	free(bcopy);
	return ret;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

/* After a file was written: "Wrote FILE." (human mode only). */
static void report_written(struct ctl *c, const char *path)
{
	char *esc;

	if (c->json)
		return;
	esc = escape_str(path);
	printf("Wrote %s.\n", esc);
	free(esc);
}

/* Options of config and qr: -o/--output FILE, and --invert for qr. */
static int download_opts(struct args *a, struct ctl *c, bool qr, const char **file, bool *invert)
{
	*file = NULL;
	*invert = false;
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_opt(a, "-o", file) || args_opt(a, "--output", file))
			continue;
		if (qr && args_flag(a, "--invert")) {
			*invert = true;
			continue;
		}
		if (a->bad)
			break;
		return args_unexpected(a);
	}
	if (a->bad)
		return EXIT_USAGE;
	if (*file && !**file)
		return usage_error(a->cmd, "-o: the file name must not be empty");
	if (qr && *file && !ends_with(*file, ".png") && !ends_with(*file, ".svg"))
		return usage_error(a->cmd, "extclient qr: -o FILE must end in .png or .svg");
	if (qr && *file && *invert)
		return usage_error(a->cmd, "extclient qr: --invert is for the terminal, not with -o");
	return EXIT_OK;
}

/* extclient config ID [-o FILE] */
static int extclient_config(struct ctl *c, const char *path, const char *file)
{
	unsigned char *conf = NULL;
	size_t len = 0;
	int ret;

	if (api_download(c, path, "text/plain", &conf, &len) < 0)
		return EXIT_FAIL;
	if (file && strcmp(file, "-")) {
		ret = write_private_file(file, conf, len) < 0 ? EXIT_FAIL : EXIT_OK;
		if (ret == EXIT_OK)
			report_written(c, file);
	} else {
		ret = fwrite(conf, 1, len, stdout) == len ? EXIT_OK : EXIT_FAIL;
		if (ret != EXIT_OK)
			errorx("error writing output");
	}
	download_free(conf, len);
	return ret;
}

/* extclient qr ID [--invert] [-o FILE.png|FILE.svg] */
static int extclient_qr(struct ctl *c, const char *id, const char *file, bool invert)
{
	unsigned char *data = NULL;
	const char *type, *suffix;
	char *path, *qr = NULL;
	size_t len = 0;
	int ret, r;

	if (file) {
		bool png = ends_with(file, ".png");

		suffix = png ? "/qr.png" : "/qr.svg";
		type = png ? "image/png" : "image/svg+xml";
	} else {
		/* The terminal's code is rendered here from the .conf itself. */
		suffix = "/config";
		type = "text/plain";
	}
	path = api_path("extclients", id, suffix);
	r = api_download(c, path, type, &data, &len);
	free(path);
	if (r < 0)
		return EXIT_FAIL;
	if (file) {
		ret = write_private_file(file, data, len) < 0 ? EXIT_FAIL : EXIT_OK;
		if (ret == EXIT_OK)
			report_written(c, file);
		goto out;
	}
	if (memchr(data, '\0', len)) {
		errorx("the server's config is not text");
		ret = EXIT_FAIL;
		goto out;
	}
	r = ext_qr_utf8((const char *)data, EXT_QR_ECC_M, invert, &qr);
	if (r < 0) {
		errorx("cannot render the QR code: %s",
		       r == -ERANGE ? "the config is too long for a QR code" : strerror(-r));
		ret = EXIT_FAIL;
		goto out;
	}
	fputs(qr, stdout);
	ret = EXIT_OK;
out:
	if (qr) {
		explicit_bzero(qr, strlen(qr));
		free(qr);
	}
	download_free(data, len);
	return ret;
}

int cmd_extclient(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list",   "create", "show", "update",
					    "delete", "config", "qr",   NULL };
	const char *sub, *id, *val, *network = NULL, *file = NULL;
	bool invert = false;
	json_t *body = NULL;
	char *path = NULL, *esc;
	struct args a;
	int ret;

	args_init(&a, "extclient", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (!strcmp(sub, "create"))
		return extclient_create(c, &a);
	if (!strcmp(sub, "list")) {
		while (args_peek(&a) && !a.bad) {
			if (args_global(&a, c))
				continue;
			if (args_opt(&a, "--network", &val)) {
				network = val;
				continue;
			}
			if (a.bad)
				break;
			return args_unexpected(&a);
		}
		if (a.bad)
			return EXIT_USAGE;
		if (network && !*network)
			return usage_error(a.cmd, "--network: the name must not be empty");
		if (ctl_require_token(c) < 0)
			return EXIT_FAIL;
		if (network) {
			esc = url_escape(network);
			path = xasprintf("/api/v1/extclients?network=%s", esc);
			free(esc);
		}
		ret = run_get(c, path ? path : "/api/v1/extclients", extclient_cols);
		free(path);
		return ret;
	}

	id = args_positional(&a, "ID");
	if (!id)
		return EXIT_USAGE;
	if (!strcmp(sub, "update")) {
		body = json_object();
		if (!body)
			oom();
		ret = extclient_opts(&a, c, body, false);
	} else if (!strcmp(sub, "config") || !strcmp(sub, "qr")) {
		ret = download_opts(&a, c, !strcmp(sub, "qr"), &file, &invert);
	} else {
		ret = args_done(&a, c);
	}
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	if (!strcmp(sub, "qr")) {
		ret = extclient_qr(c, id, file, invert);
		goto out;
	}
	path = api_path("extclients", id, !strcmp(sub, "config") ? "/config" : NULL);
	if (!strcmp(sub, "show"))
		ret = run_get(c, path, NULL);
	else if (!strcmp(sub, "update"))
		ret = run_send(c, "PATCH", path, body, NULL);
	else if (!strcmp(sub, "config"))
		ret = extclient_config(c, path, file);
	else
		ret = run_delete(c, path, "ext client", id);
out:
	free(path);
	json_decref(body);
	return ret;
}
