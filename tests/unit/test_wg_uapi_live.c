/*
 * The userspace backend against a real wireguard-go: create the interface,
 * set a key, a port and three peers, compare with `wg show IFNAME dump`,
 * apply a diff that adds one peer and removes another, compare again,
 * delete the interface.
 *
 * Skipped (cmocka skip()) when not root, or wireguard-go, wg or
 * /dev/net/tun is missing. The interface (and so wireguard-go) is removed
 * in every path by the group teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wg/wg.h"
#include "wg/wg_uapi.h"

static char ifname[IFNAMSIZ];
static bool created;

/* True when prog is an executable file in PATH. */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, full[4096];
	bool found = false;

	if (!path)
		return false;
	copy = strdup(path);
	if (!copy)
		return false;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(full, sizeof(full), "%s/%s", dir, prog);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

static const char *why_skip(void)
{
	const char *go = getenv("MESHGATE_WG_GO");

	if (geteuid() != 0)
		return "not root";
	if (access("/dev/net/tun", R_OK | W_OK))
		return "no /dev/net/tun";
	if (!in_path(go && *go ? go : "wireguard-go") && !(go && access(go, X_OK) == 0))
		return "no wireguard-go";
	if (!in_path("wg"))
		return "no wg";
	return NULL;
}

/* Runs argv (no shell) and returns its stdout, NULL on failure. Caller frees. */
static char *run(char *const argv[])
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(out, cap = len + 8192);

			if (!p)
				break;
			out = p;
		}
		n = read(pfd[0], out + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

static void b64(char out[MG_KEY_B64_LEN], const mg_key k)
{
	mg_key_to_base64(out, k);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * What `wg show IFNAME dump` prints for dev (before any handshake): the
 * interface line, then one line per peer; peer lines sorted, since wg
 * prints them in its own order.
 */
static char *expected_dump(const struct wg_device *dev)
{
	char priv[MG_KEY_B64_LEN], pub[MG_KEY_B64_LEN], psk[MG_KEY_B64_LEN];
	char ep[WG_ENDPOINT_STRLEN], ip[64], ips[1024];
	char **lines = calloc(dev->n_peers + 1, sizeof(char *));
	char *out = NULL, *tmp;
	mg_key derived;
	size_t i, j;

	assert_non_null(lines);
	b64(priv, dev->private_key);
	mg_key_public_from_private(derived, dev->private_key);
	b64(pub, derived);
	assert_true(asprintf(&out, "%s\t%s\t%u\toff\n", priv, pub, dev->listen_port) > 0);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		b64(pub, p->public_key);
		if (p->flags & WG_PEER_HAS_PRESHARED_KEY)
			b64(psk, p->preshared_key);
		else
			strcpy(psk, "(none)");
		if (p->endpoint.sa.sa_family)
			assert_int_equal(wg_endpoint_format(&p->endpoint, ep, sizeof(ep)), 0);
		else
			strcpy(ep, "(none)");
		ips[0] = '\0';
		for (j = 0; j < p->n_allowedips; j++) {
			assert_int_equal(wg_allowedip_format(&p->allowedips[j], ip, sizeof(ip)), 0);
			if (j)
				strcat(ips, ",");
			strcat(ips, ip);
		}
		if (!j)
			strcpy(ips, "(none)");
		if (p->persistent_keepalive)
			assert_true(asprintf(&lines[i], "%s\t%s\t%s\t%s\t0\t0\t0\t%u\n", pub, psk, ep, ips,
					     p->persistent_keepalive) > 0);
		else
			assert_true(asprintf(&lines[i], "%s\t%s\t%s\t%s\t0\t0\t0\toff\n", pub, psk, ep,
					     ips) > 0);
	}
	qsort(lines, dev->n_peers, sizeof(*lines), cmp_str);
	for (i = 0; i < dev->n_peers; i++) {
		assert_true(asprintf(&tmp, "%s%s", out, lines[i]) > 0);
		free(out);
		free(lines[i]);
		out = tmp;
	}
	free(lines);
	return out;
}

/*
 * A peer line of the dump with latest-handshake, transfer-rx and
 * transfer-tx (fields 5 to 7, which traffic changes) set to 0.
 */
static char *normalize_peer_line(const char *line)
{
	char *copy = strdup(line), *f[8], *save = NULL, *out;
	int n = 0;

	assert_non_null(copy);
	for (f[n] = strtok_r(copy, "\t", &save); f[n] && n < 7; f[++n] = strtok_r(NULL, "\t", &save))
		;
	assert_int_equal(n, 7);
	assert_non_null(f[7]);
	assert_true(asprintf(&out, "%s\t%s\t%s\t%s\t0\t0\t0\t%s\n", f[0], f[1], f[2], f[3], f[7]) > 0);
	free(copy);
	return out;
}

/* The dump normalized and with its peer lines sorted, to compare with expected_dump. */
static char *sorted_dump(char *dump)
{
	char *lines[64], *save = NULL, *line, *out, *tmp;
	size_t n = 0, i;

	line = strtok_r(dump, "\n", &save);
	assert_non_null(line);
	assert_true(asprintf(&out, "%s\n", line) > 0);
	while ((line = strtok_r(NULL, "\n", &save)) && n < 64)
		lines[n++] = normalize_peer_line(line);
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (i = 0; i < n; i++) {
		assert_true(asprintf(&tmp, "%s%s", out, lines[i]) > 0);
		free(out);
		free(lines[i]);
		out = tmp;
	}
	return out;
}

static void assert_wg_show(const struct wg_device *want)
{
	char *argv[] = { "wg", "show", ifname, "dump", NULL };
	char *dump = run(argv), *got, *exp;

	assert_non_null(dump);
	got = sorted_dump(dump);
	exp = expected_dump(want);
	if (strcmp(got, exp))
		print_message("# wg show:\n%s# expected:\n%s", got, exp);
	assert_string_equal(got, exp);
	free(got);
	free(exp);
	free(dump);
}

static void add_peer(struct wg_device *dev, const char *endpoint, int keepalive,
		     const char *ip1, const char *ip2, bool psk)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	struct wg_allowedip a;
	mg_key priv;

	assert_non_null(p);
	p->flags = WG_PEER_HAS_PUBLIC_KEY;
	mg_key_generate_private(priv);
	mg_key_public_from_private(p->public_key, priv);
	if (endpoint)
		assert_int_equal(wg_endpoint_parse(endpoint, &p->endpoint), 0);
	if (keepalive) {
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = (uint16_t)keepalive;
	}
	if (psk) {
		p->flags |= WG_PEER_HAS_PRESHARED_KEY;
		mg_key_generate_private(p->preshared_key);
	}
	assert_int_equal(wg_allowedip_parse(ip1, &a), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	if (ip2) {
		assert_int_equal(wg_allowedip_parse(ip2, &a), 0);
		assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	}
}

static int teardown(void **state)
{
	(void)state;
	if (created) {
		int ret = wg_del_interface(ifname);

		if (ret && ret != -ENODEV)
			fprintf(stderr, "# cleanup of %s: %s\n", ifname, strerror(-ret));
		created = false;
	}
	return 0;
}

static void test_live(void **state)
{
	struct wg_device *want, *have = NULL, *diff;
	const char *why = why_skip();
	char path[128];
	int ret;

	(void)state;
	if (why) {
		print_message("# skipped: %s\n", why);
		skip();
	}
	assert_int_equal(mg_crypto_init(), 0);
	snprintf(ifname, sizeof(ifname), "mgtest%d", (int)getpid() % 10000000);
	setenv("MESHGATE_WG_USERSPACE", "1", 1);
	unsetenv("MESHGATE_WG_SOCKET_DIR");

	ret = wg_add_interface(ifname);
	if (ret == 0)
		created = true;
	assert_int_equal(ret, 0);
	assert_int_equal(wg_backend_of(ifname), WG_BACKEND_USERSPACE);
	assert_int_equal(wg_add_interface(ifname), 1);	/* adopted */

	want = wg_device_new(ifname);
	want->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	mg_key_generate_private(want->private_key);
	want->listen_port = (uint16_t)(40000 + getpid() % 20000);
	add_peer(want, "192.0.2.1:51820", 25, "10.99.0.1/32", "fd99::1/128", false);
	add_peer(want, "[2001:db8::2]:4000", 0, "10.99.0.2/32", "192.168.50.0/24", true);
	add_peer(want, NULL, 0, "10.99.0.3/32", NULL, false);

	/* First apply: the diff against the fresh device is everything. */
	assert_int_equal(wg_get_device(ifname, &have), 0);
	assert_int_equal(have->n_peers, 0);
	diff = wg_diff(have, want);
	assert_non_null(diff);
	assert_int_equal(diff->n_peers, 3);
	assert_int_equal(wg_set_device(diff), 0);
	wg_free_device(diff);
	wg_free_device(have);
	assert_wg_show(want);

	/* Read back: the diff is now empty. */
	assert_int_equal(wg_get_device(ifname, &have), 0);
	assert_int_equal(have->n_peers, 3);
	assert_true(have->flags & WG_DEVICE_HAS_PUBLIC_KEY);
	diff = wg_diff(have, want);
	assert_true(wg_device_is_empty(diff));
	wg_free_device(diff);
	wg_free_device(have);

	/* Remove the second peer, add a fourth, change the third's keepalive. */
	free(want->peers[1].allowedips);
	want->peers[1] = want->peers[2];
	want->n_peers = 2;
	want->peers[1].flags |= WG_PEER_HAS_KEEPALIVE;
	want->peers[1].persistent_keepalive = 10;
	add_peer(want, "198.51.100.4:1", 0, "10.99.0.4/32", NULL, false);
	assert_int_equal(wg_get_device(ifname, &have), 0);
	diff = wg_diff(have, want);
	assert_int_equal(diff->n_peers, 3);	/* one removal, one change, one addition */
	assert_true(diff->peers[0].flags & WG_PEER_REMOVE_ME);
	assert_int_equal(diff->peers[1].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY |
						       WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(wg_set_device(diff), 0);
	wg_free_device(diff);
	wg_free_device(have);
	assert_wg_show(want);

	/* A request wireguard-go refuses: its errno comes back. */
	{
		static const char bad[] = "set=1\nno_such_key=1\n\n";
		int fd = wg_uapi_connect(ifname);
		FILE *f;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
		f = fdopen(fd, "r");
		assert_non_null(f);
		assert_int_equal(wg_uapi_parse_errno(f), -EINVAL);
		fclose(f);
	}
	/* And one refused before sending: a prefix length of 200. */
	diff = wg_device_new(ifname);
	add_peer(diff, NULL, 0, "10.99.0.5/32", NULL, false);
	diff->peers[0].allowedips[0].cidr = 200;
	assert_int_equal(wg_set_device(diff), -EINVAL);
	wg_free_device(diff);
	assert_wg_show(want);

	/* Delete: wireguard-go goes away with its socket. */
	assert_int_equal(wg_uapi_socket_path(ifname, path, sizeof(path)), 0);
	assert_int_equal(wg_del_interface(ifname), 0);
	created = false;
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(wg_backend_of(ifname), WG_BACKEND_NONE);
	assert_int_equal(wg_del_interface(ifname), -ENODEV);
	wg_free_device(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_live, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
