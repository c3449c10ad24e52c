/*
 * Benchmark 2, WireGuard apply: 10,000 peers (one /32 and one endpoint
 * each, no keepalive so no packets are sent) set on a fresh wireguard-go
 * interface through the agent's driver (wg_set_device, UAPI backend)
 * against `wg setconf IF FILE` of the same configuration on a fresh
 * interface. After each apply the device is read back and wg_diff against
 * the wanted state must be empty, so both sides did the same work.
 *
 * Then the agent's incremental path: read the device, diff against a
 * wanted state with one peer removed and one added, apply the diff. The
 * diff must hold exactly those two peers and no device-wide flag (no
 * REPLACE_PEERS), and every other peer must read back identical (key,
 * endpoint, allowed IPs, keepalive, handshake time, counters): their
 * sessions were not touched.
 *
 * Runs in a private network namespace; the interface (and so its
 * wireguard-go) is removed on every exit path, including SIGINT/SIGTERM.
 *
 *   [MGBENCH_IF=NAME] bench_wg RESULT.json
 */
#include <sched.h>
#include <signal.h>

#include "bench.h"
#include "key.h"
#include "wg/wg.h"

#define N_PEERS		10000
#define REPS		3

static char ifname[IFNAMSIZ];
static volatile sig_atomic_t have_if;

static void cleanup(void)
{
	if (have_if) {
		have_if = 0;
		wg_del_interface(ifname);
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_wg: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static mg_key keys[N_PEERS + 1];

/* Peer i of the wanted state: its key, 10.1.x.y/32, endpoint 198.18.x.y:51821. */
static void add_peer(struct wg_device *dev, int i)
{
	struct wg_allowedip aip;
	struct wg_peer *p = wg_device_add_peer(dev);
	char buf[64];

	if (!p)
		die("add peer", ENOMEM);
	p->flags = WG_PEER_HAS_PUBLIC_KEY;
	memcpy(p->public_key, keys[i], sizeof(mg_key));
	snprintf(buf, sizeof(buf), "10.1.%d.%d/32", i / 250, 1 + i % 250);
	if (wg_allowedip_parse(buf, &aip) || wg_peer_add_allowedip(p, &aip))
		die("allowed ip", EINVAL);
	snprintf(buf, sizeof(buf), "198.18.%d.%d:51821", i / 250, 1 + i % 250);
	if (wg_endpoint_parse(buf, &p->endpoint))
		die("endpoint", EINVAL);
}

static struct wg_device *wanted(const mg_key priv, int skip, int extra)
{
	struct wg_device *dev = wg_device_new(ifname);

	if (!dev)
		die("device", ENOMEM);
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memcpy(dev->private_key, priv, sizeof(mg_key));
	dev->listen_port = 51900;
	for (int i = 0; i < N_PEERS; i++)
		if (i != skip)
			add_peer(dev, i);
	if (extra >= 0)
		add_peer(dev, extra);
	return dev;
}

static void write_conf(const char *path, const mg_key priv)
{
	char b64[MG_KEY_B64_LEN];
	FILE *f = fopen(path, "w");

	if (!f)
		die(path, errno);
	mg_key_to_base64(b64, priv);
	fprintf(f, "[Interface]\nPrivateKey = %s\nListenPort = 51900\n", b64);
	for (int i = 0; i < N_PEERS; i++) {
		mg_key_to_base64(b64, keys[i]);
		fprintf(f, "\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.1.%d.%d/32\nEndpoint = 198.18.%d.%d:51821\n",
			b64, i / 250, 1 + i % 250, i / 250, 1 + i % 250);
	}
	if (fclose(f))
		die(path, errno);
}

static void fresh_interface(void)
{
	int ret;

	cleanup();
	ret = wg_add_interface(ifname);
	if (ret < 0)
		die("wg_add_interface (wireguard-go)", ret);
	have_if = 1;
}

/* The device reads back as `want`: wg_diff finds nothing to do. */
static bool matches(const struct wg_device *want)
{
	struct wg_device *have = NULL, *d;
	bool ok;
	int ret;

	if ((ret = wg_get_device(ifname, &have)))
		die("wg_get_device", ret);
	d = wg_diff(have, want);
	ok = d && wg_device_is_empty(d) && have->n_peers == want->n_peers;
	wg_free_device(d);
	wg_free_device(have);
	return ok;
}

static int peer_cmp(const void *a, const void *b)
{
	return memcmp((*(const struct wg_peer *const *)a)->public_key,
		      (*(const struct wg_peer *const *)b)->public_key, sizeof(mg_key));
}

static const struct wg_peer *find(const struct wg_peer **idx, size_t n, const mg_key key)
{
	struct wg_peer k;
	const struct wg_peer *kp = &k, **r;

	memcpy(k.public_key, key, sizeof(mg_key));
	r = bsearch(&kp, idx, n, sizeof(*idx), peer_cmp);
	return r ? *r : NULL;
}

static bool same_peer(const struct wg_peer *a, const struct wg_peer *b)
{
	if (memcmp(a->public_key, b->public_key, sizeof(mg_key)) || !wg_endpoint_equal(&a->endpoint, &b->endpoint) ||
	    a->persistent_keepalive != b->persistent_keepalive || a->last_handshake_sec != b->last_handshake_sec ||
	    a->last_handshake_nsec != b->last_handshake_nsec || a->rx_bytes != b->rx_bytes ||
	    a->tx_bytes != b->tx_bytes || a->n_allowedips != b->n_allowedips)
		return false;
	for (size_t i = 0; i < a->n_allowedips; i++)
		if (wg_allowedip_cmp(&a->allowedips[i], &b->allowedips[i]))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/mgbench-wg.XXXXXX", conf[64];
	double ours[REPS], cli[REPS], t0, t_get, t_diff, t_set, ours_m, cli_m;
	struct wg_device *want, *want2, *have = NULL, *diff, *after = NULL;
	const struct wg_peer **idx;
	size_t untouched = 0, removes = 0, adds = 0;
	bool ours_ok = true, cli_ok = true, proof;
	mg_key priv;
	FILE *out;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s RESULT.json\n", argv[0]);
		return 2;
	}
	if (mg_crypto_init())
		die("libsodium", EIO);
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET) (needs root)", errno);
	setenv("MESHGATE_WG_USERSPACE", "1", 1);
	/* run.sh names it (so it can clean up after a SIGKILL); else one of our own. */
	if (getenv("MGBENCH_IF") && wg_ifname_valid(getenv("MGBENCH_IF")))
		snprintf(ifname, sizeof(ifname), "%s", getenv("MGBENCH_IF"));
	else
		snprintf(ifname, sizeof(ifname), "mgbw%d", (int)getpid());
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (!mkdtemp(dir))
		die("mkdtemp", errno);
	snprintf(conf, sizeof(conf), "%s/wg.conf", dir);

	mg_key_generate_private(priv);
	for (int i = 0; i <= N_PEERS; i++) {
		mg_key p;

		mg_key_generate_private(p);
		mg_key_public_from_private(keys[i], p);
	}
	want = wanted(priv, -1, -1);
	write_conf(conf, priv);
	char *setconf_argv[] = { "wg", "setconf", ifname, conf, NULL };

	for (int r = 0; r < REPS; r++) {
		fresh_interface();
		t0 = bench_now();
		if ((ret = wg_set_device(want)))
			die("wg_set_device", ret);
		ours[r] = bench_now() - t0;
		ours_ok = ours_ok && matches(want);

		fresh_interface();
		t0 = bench_now();
		if (bench_run(setconf_argv, NULL) != 0)
			die("wg setconf", EIO);
		cli[r] = bench_now() - t0;
		cli_ok = cli_ok && matches(want);
	}

	/* Incremental, on the interface `wg setconf` just configured. */
	want2 = wanted(priv, N_PEERS / 2, N_PEERS);
	t0 = bench_now();
	if ((ret = wg_get_device(ifname, &have)))
		die("wg_get_device", ret);
	t_get = bench_now() - t0;
	t0 = bench_now();
	diff = wg_diff(have, want2);
	t_diff = bench_now() - t0;
	if (!diff)
		die("wg_diff", ENOMEM);
	for (size_t i = 0; i < diff->n_peers; i++) {
		if (diff->peers[i].flags & WG_PEER_REMOVE_ME)
			removes += !memcmp(diff->peers[i].public_key, keys[N_PEERS / 2], sizeof(mg_key));
		else
			adds += !memcmp(diff->peers[i].public_key, keys[N_PEERS], sizeof(mg_key));
	}
	t0 = bench_now();
	if ((ret = wg_set_device(diff)))
		die("wg_set_device (diff)", ret);
	t_set = bench_now() - t0;
	if ((ret = wg_get_device(ifname, &after)))
		die("wg_get_device", ret);

	idx = calloc(after->n_peers, sizeof(*idx));
	if (!idx)
		die("index", ENOMEM);
	for (size_t i = 0; i < after->n_peers; i++)
		idx[i] = &after->peers[i];
	qsort(idx, after->n_peers, sizeof(*idx), peer_cmp);
	for (size_t i = 0; i < have->n_peers; i++) {
		const struct wg_peer *a = find(idx, after->n_peers, have->peers[i].public_key);

		untouched += a && same_peer(&have->peers[i], a);
	}
	proof = diff->n_peers == 2 && removes == 1 && adds == 1 && diff->flags == 0 &&
		untouched == N_PEERS - 1 && after->n_peers == N_PEERS &&
		find(idx, after->n_peers, keys[N_PEERS]) && !find(idx, after->n_peers, keys[N_PEERS / 2]);
	cleanup();

	ours_m = bench_median(ours, REPS);
	cli_m = bench_median(cli, REPS);
	bench_say("backend wireguard-go (UAPI), %d peers; read back identical to the wanted state: ours %s, wg setconf %s",
		  N_PEERS, ours_ok ? "yes" : "NO", cli_ok ? "yes" : "NO");
	bench_say("wg_set_device (agent driver) %8.1f ms  (median of %d, fresh interface)", ours_m * 1e3, REPS);
	bench_say("wg setconf (same config)     %8.1f ms  (median of %d, fresh interface)", cli_m * 1e3, REPS);
	bench_say("ratio driver / wg setconf    %8.2f   (lower is better)", ours_m / cli_m);
	bench_say("one peer added + one removed: read %.1f ms + diff %.1f ms + set %.2f ms", t_get * 1e3, t_diff * 1e3,
		  t_set * 1e3);
	bench_say("  diff holds %zu peers (1 remove, 1 add: %s), no device flag: %s; %zu of %d other peers read back"
		  " identical: %s", diff->n_peers, removes == 1 && adds == 1 ? "yes" : "NO",
		  diff->flags == 0 ? "yes" : "NO", untouched, N_PEERS - 1, proof ? "yes" : "NO");

	out = fopen(argv[1], "w");
	if (!out)
		die(argv[1], errno);
	fprintf(out, "{\"bench\": \"wg\", \"backend\": \"wireguard-go\", \"peers\": %d, \"reps\": %d,"
		" \"wg_set_device_ms\": %.2f, \"wg_setconf_ms\": %.2f, \"ratio\": %.3f,"
		" \"ours_state_ok\": %s, \"setconf_state_ok\": %s,"
		" \"incremental\": {\"get_ms\": %.2f, \"diff_ms\": %.2f, \"set_ms\": %.3f, \"diff_peers\": %zu,"
		" \"untouched_peers\": %zu, \"proof\": %s},"
		" \"anchor\": \"wg setconf IF FILE on a fresh wireguard-go interface\"}\n",
		N_PEERS, REPS, ours_m * 1e3, cli_m * 1e3, ours_m / cli_m, ours_ok ? "true" : "false",
		cli_ok ? "true" : "false", t_get * 1e3, t_diff * 1e3, t_set * 1e3, diff->n_peers, untouched,
		proof ? "true" : "false");
	fclose(out);
	unlink(conf);
	rmdir(dir);
	free(idx);
	wg_free_device(diff);
	wg_free_device(have);
	wg_free_device(after);
	wg_free_device(want);
	wg_free_device(want2);
	return proof && ours_ok && cli_ok ? 0 : 1;
}
