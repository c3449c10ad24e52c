/*
 * Benchmark 3, nftables apply: a gateway with 1,000 egress ranges (half
 * with NAT) and 1,000 ext clients (each may reach the mesh range and one
 * egress range, so 1,000 client sets and 2,000 client rules) applied
 * through nat/ (render + one netlink batch) against `nft -f` of the same
 * ruleset. The ruleset text is what `nft list table inet meshgate` prints
 * after our apply; after `nft -f` the listing is compared with the first
 * one, so both sides built the same table. Then one incremental change (one
 * egress range added: nat/ re-renders and swaps the whole table).
 * Everything runs in a private network namespace (unshare(CLONE_NEWNET)),
 * so the machine's own ruleset is never touched.
 *
 *   bench_nat RESULT.json
 */
#include <sched.h>

#include "bench.h"
#include "nat/nat.h"

#define N_EGRESS	1000
#define N_CLIENTS	1000
#define REPS		5

static struct nat_egress egress[N_EGRESS + 1];
static struct nat_client clients[N_CLIENTS];
static struct mg_prefix client_dsts[N_CLIENTS][2];

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	if (mg_prefix_parse_canonical(s, &p)) {
		fprintf(stderr, "bench_nat: bad prefix %s\n", s);
		exit(1);
	}
	return p;
}

static void build(void)
{
	char buf[64];

	/* Every other /24 of 172.16.0.0/12 … so no two ranges touch (touching ones would merge). */
	for (int i = 0; i <= N_EGRESS; i++) {
		snprintf(buf, sizeof(buf), "172.%d.%d.0/24", 16 + (i >> 7), (i & 127) * 2);
		egress[i].range = pfx(buf);
		egress[i].nat = i % 2 == 0;
	}
	for (int i = 0; i < N_CLIENTS; i++) {
		snprintf(buf, sizeof(buf), "10.100.%d.%d/32", 200 + i / 250, 1 + i % 250);
		clients[i].addr = pfx(buf);
		client_dsts[i][0] = pfx("10.100.0.0/16");
		client_dsts[i][1] = egress[i].range;
		clients[i].allowed = client_dsts[i];
		clients[i].n_allowed = 2;
	}
}

int main(int argc, char **argv)
{
	struct nat_state s = { .ifname = "mgbench0", .egress = egress, .n_egress = N_EGRESS,
			       .clients = clients, .n_clients = N_CLIENTS };
	char dir[] = "/tmp/mgbench-nat.XXXXXX", file[64], file2[64], err[256];
	double ours[REPS], cli[REPS], render[REPS], t0, incr, ours_m, cli_m, render_m;
	char *text1 = NULL, *text2 = NULL;
	struct nat_batch *b = NULL;
	size_t msgs = 0, rules_text = 0;
	bool same;
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: %s RESULT.json\n", argv[0]);
		return 2;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("bench_nat: unshare(CLONE_NEWNET) (needs root)");
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(file, sizeof(file), "%s/ruleset.nft", dir);
	snprintf(file2, sizeof(file2), "%s/ruleset2.nft", dir);
	build();

	char *list_argv[] = { "nft", "list", "table", "inet", "meshgate", NULL };
	char *load_argv[] = { "nft", "-f", file, NULL };

	for (int r = 0; r < REPS; r++) {
		t0 = bench_now();
		if (nat_render(&s, &b, err, sizeof(err))) {
			fprintf(stderr, "bench_nat: render: %s\n", err);
			return 1;
		}
		render[r] = bench_now() - t0;
		msgs = nat_batch_count(b);
		nat_batch_free(b);

		nat_remove();
		t0 = bench_now();
		if (nat_apply(&s, err, sizeof(err))) {
			fprintf(stderr, "bench_nat: nat_apply: %s\n", err);
			return 1;
		}
		ours[r] = bench_now() - t0;
	}
	if (bench_run(list_argv, file) != 0 || !(text1 = bench_slurp(file, NULL))) {
		fprintf(stderr, "bench_nat: nft list table failed\n");
		return 1;
	}
	for (const char *p = text1; (p = strstr(p, "counter")); p++)
		rules_text++;

	for (int r = 0; r < REPS; r++) {
		nat_remove();
		t0 = bench_now();
		if (bench_run(load_argv, NULL) != 0) {
			fprintf(stderr, "bench_nat: nft -f failed\n");
			return 1;
		}
		cli[r] = bench_now() - t0;
	}
	if (bench_run(list_argv, file2) != 0 || !(text2 = bench_slurp(file2, NULL))) {
		fprintf(stderr, "bench_nat: nft list table failed\n");
		return 1;
	}
	same = !strcmp(text1, text2);

	/* Incremental: our table is in force; one more egress range. */
	nat_remove();
	if (nat_apply(&s, err, sizeof(err))) {
		fprintf(stderr, "bench_nat: nat_apply: %s\n", err);
		return 1;
	}
	s.n_egress = N_EGRESS + 1;
	t0 = bench_now();
	if (nat_apply(&s, err, sizeof(err))) {
		fprintf(stderr, "bench_nat: incremental nat_apply: %s\n", err);
		return 1;
	}
	incr = bench_now() - t0;
	nat_remove();

	ours_m = bench_median(ours, REPS);
	cli_m = bench_median(cli, REPS);
	render_m = bench_median(render, REPS);
	bench_say("table: %d egress ranges, %d ext clients -> %zu netlink messages, %zu counters; "
		  "listing after nft -f identical: %s", N_EGRESS, N_CLIENTS, msgs, rules_text, same ? "yes" : "NO");
	bench_say("nat_apply (render + batch)   %8.1f ms  (render alone %.1f ms; median of %d)",
		  ours_m * 1e3, render_m * 1e3, REPS);
	bench_say("nft -f (same ruleset)        %8.1f ms  (median of %d)", cli_m * 1e3, REPS);
	bench_say("ratio nat_apply / nft -f     %8.2f   (lower is better)", ours_m / cli_m);
	bench_say("incremental: +1 egress range %8.1f ms  (whole table re-rendered and swapped)", incr * 1e3);

	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out, "{\"bench\": \"nat\", \"egress_ranges\": %d, \"ext_clients\": %d, \"netlink_messages\": %zu,"
		" \"counters\": %zu, \"same_table\": %s, \"nat_apply_ms\": %.2f, \"render_ms\": %.2f,"
		" \"nft_f_ms\": %.2f, \"ratio\": %.3f, \"incremental_ms\": %.2f, \"reps\": %d,"
		" \"anchor\": \"nft -f of the listing of our table\"}\n",
		N_EGRESS, N_CLIENTS, msgs, rules_text, same ? "true" : "false", ours_m * 1e3, render_m * 1e3,
		cli_m * 1e3, ours_m / cli_m, incr * 1e3, REPS);
	fclose(out);
	unlink(file);
	unlink(file2);
	rmdir(dir);
	free(text1);
	free(text2);
	return same ? 0 : 1;
}
