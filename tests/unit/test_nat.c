/*
 * nat/: the renderer against golden files of the nftables expressions each
 * rule becomes (tests/unit/golden/nat/ *.payload, in the spirit of
 * nftables' tests/py), validation, and the real kernel in a private network
 * namespace (the process unshares its own, so the host's ruleset is never
 * touched; skipped when not root): apply, replace, a refused batch leaving
 * the previous table intact, foreign tables left alone, show, counters with
 * real forwarded packets, forwarding sysctls.
 *
 * MG_GOLDEN_UPDATE=1 rewrites the golden files from the current output
 * (review the diff before committing it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>

#include <libnftnl/rule.h>

#include "addr.h"
#include "nat/nat.h"
#include "nat/nat_int.h"

#define GOLDEN_DIR "tests/unit/golden/nat/"

static bool kernel_ok;

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	assert_int_equal(mg_prefix_parse(s, &p), 0);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static char *render_text(const struct nat_state *s)
{
	struct nat_batch *b = NULL;
	char err[256], *out = NULL;

	assert_int_equal(nat_render(s, &b, err, sizeof(err)), 0);
	assert_int_equal(nat_batch_print(b, &out), 0);
	nat_batch_free(b);
	return out;
}

static void golden(const struct nat_state *s, const char *name)
{
	char path[256], *got, *want;
	const char *update = getenv("MG_GOLDEN_UPDATE");
	FILE *f;

	snprintf(path, sizeof(path), GOLDEN_DIR "%s.payload", name);
	got = render_text(s);
	if (update && *update == '1') {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
	}
	want = slurp(path);
	if (!want)
		fail_msg("missing golden file %s (run from the repository root)", path);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "# %s differs; got:\n%s", path, got);
		fail_msg("%s differs from the rendered batch", path);
	}
	free(got);
	free(want);
}

/* --- golden ---------------------------------------------------------------- */

static void test_golden_empty(void **state)
{
	struct nat_state s = { 0 };

	golden(&s, "empty");
}

static void test_golden_egress4_nat(void **state)
{
	struct nat_egress e[] = { { .range = pfx("10.20.0.0/24"), .nat = true } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1 };

	golden(&s, "egress4_nat");
}

static void test_golden_egress4_direct(void **state)
{
	struct nat_egress e[] = { { .range = pfx("192.168.50.0/24"), .nat = false } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1 };

	golden(&s, "egress4_direct");
}

static void test_golden_egress6(void **state)
{
	struct nat_egress e[] = { { .range = pfx("fd10:0:0:7::/64"), .nat = true } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1 };

	golden(&s, "egress6");
}

static void test_golden_ingress(void **state)
{
	struct mg_prefix allowed[] = { pfx("10.100.0.0/24"), pfx("10.20.0.0/24") };
	struct nat_client c[] = {
		{ .addr = pfx("10.100.0.250/32"), .allowed = allowed, .n_allowed = 2 },
	};
	struct nat_state s = { .ifname = "wg0", .clients = c, .n_clients = 1 };

	golden(&s, "ingress");
}

/* Internet gateway through eth0 (ranges running to the last address: no
 * end element), two merged ranges, a NAT-off range and a v6 client. */
static void test_golden_mixed(void **state)
{
	struct mg_prefix allowed6[] = { pfx("fd00:1::/64") };
	struct nat_egress e[] = {
		{ .range = pfx("0.0.0.0/0"), .nat = true, .oifname = "eth0" },
		{ .range = pfx("::/0"), .nat = true, .oifname = "eth0" },
		{ .range = pfx("172.16.1.0/24"), .nat = false, .oifname = "" },
		{ .range = pfx("172.16.0.0/24"), .nat = false },
	};
	struct nat_client c[] = {
		{ .addr = pfx("fd00:1::fffe/128"), .allowed = allowed6, .n_allowed = 1 },
		{ .addr = pfx("10.100.0.251/32") },
	};
	struct nat_state s = { .ifname = "wg-mesh.1", .egress = e, .n_egress = 4,
			       .clients = c, .n_clients = 2 };

	golden(&s, "mixed");
}

/*
 * Access control: a port rule into an egress range and its default drop
 * (acl_forward), a node's inbound filter with an ICMP deny and a v6 rule
 * (acl_input), beside an egress range so the forward chain is there too.
 */
static struct nat_acl_rule *acl_rules(size_t *n)
{
	static struct mg_prefix n3[1], db[1], net4[1], lan[1], n1[1], n3v6[1], net6[1], phone[1];
	static struct nat_acl_rule r[7];

	n3[0] = pfx("10.78.0.3/32");
	db[0] = pfx("172.31.77.10/32");
	net4[0] = pfx("10.78.0.0/24");
	lan[0] = pfx("172.31.77.0/24");
	n1[0] = pfx("10.78.0.1/32");
	n3v6[0] = pfx("fd00:78::3/128");
	net6[0] = pfx("fd00:78::/64");
	phone[0] = pfx("10.78.0.254/32");
	r[0] = (struct nat_acl_rule){ .chain = NAT_ACL_FORWARD, .family = AF_INET, .src = n3, .n_src = 1,
				      .dst = db, .n_dst = 1, .proto = IPPROTO_TCP, .port_from = 5432,
				      .port_to = 5432, .accept = true, .comment = "rule 4" };
	r[1] = (struct nat_acl_rule){ .chain = NAT_ACL_FORWARD, .family = AF_INET, .src = net4, .n_src = 1,
				      .dst = lan, .n_dst = 1, .comment = "default deny" };
	r[2] = (struct nat_acl_rule){ .chain = NAT_ACL_INPUT, .family = AF_INET, .src = n3, .n_src = 1,
				      .dst = n1, .n_dst = 1, .proto = IPPROTO_ICMP, .comment = "rule 2" };
	r[3] = (struct nat_acl_rule){ .chain = NAT_ACL_INPUT, .family = AF_INET, .dst = n1, .n_dst = 1,
				      .proto = IPPROTO_UDP, .port_from = 1000, .port_to = 2000, .accept = true,
				      .comment = "rule 3" };
	r[4] = (struct nat_acl_rule){ .chain = NAT_ACL_INPUT, .family = AF_INET6, .src = n3v6, .n_src = 1,
				      .proto = IPPROTO_ICMP, .accept = true, .comment = "rule 5" };
	r[5] = (struct nat_acl_rule){ .chain = NAT_ACL_INPUT, .family = AF_INET6, .src = net6, .n_src = 1 };
	r[6] = (struct nat_acl_rule){ .chain = NAT_ACL_FORWARD_MESH, .family = AF_INET, .dst = phone, .n_dst = 1,
				      .comment = "default deny" };
	*n = 7;
	return r;
}

/* A relay and nothing else: its two relayed nodes (one with a v6 address
 * and an egress range); the forward chain ends with the usual drops. */
static void test_golden_relay(void **state)
{
	struct mg_prefix relayed[] = { pfx("10.80.0.3/32"), pfx("fd00:80::3/128"), pfx("10.80.0.4/32"),
				       pfx("192.168.81.0/24") };
	struct nat_state s = { .ifname = "wg0", .relayed = relayed, .n_relayed = 4 };

	golden(&s, "relay");
}

/* A relay that is also an ingress gateway with an egress range: the client
 * filters come first, the relay accepts before the egress and the drops. */
static void test_golden_relay_gateway(void **state)
{
	struct mg_prefix allowed[] = { pfx("10.100.0.0/24") };
	struct mg_prefix relayed[] = { pfx("10.100.0.7/32"), pfx("10.100.0.6/32") };
	struct nat_egress e[] = { { .range = pfx("10.20.0.0/24"), .nat = true } };
	struct nat_client c[] = { { .addr = pfx("10.100.0.250/32"), .allowed = allowed, .n_allowed = 1 } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1, .clients = c, .n_clients = 1,
			       .relayed = relayed, .n_relayed = 2 };

	golden(&s, "relay_gateway");
}

static void test_golden_acl(void **state)
{
	struct nat_egress e[] = { { .range = pfx("172.31.77.0/24"), .nat = true } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1 };

	s.acl = acl_rules(&s.n_acl);
	golden(&s, "acl");
}

/* --- pure behaviour --------------------------------------------------------- */

static void test_merge(void **state)
{
	struct nat_egress e[] = {
		{ .range = pfx("10.0.1.0/24"), .nat = true },
		{ .range = pfx("10.0.0.0/25"), .nat = true },
		{ .range = pfx("10.0.0.0/24"), .nat = true },
		{ .range = pfx("10.0.0.0/24"), .nat = true },
		{ .range = pfx("10.0.3.0/24"), .nat = true },
	};
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 5 };
	char *out = render_text(&s);

	/* 10.0.0.0/23 and 10.0.3.0/24: two starts, two ends, plus the
	 * leading end at 0. */
	assert_non_null(strstr(out, "# 10.0.0.0/23\n"));
	assert_non_null(strstr(out, "element 0000000a  : 0 [end]  # 10.0.0.0/23\n"));
	assert_non_null(strstr(out, "element 0002000a  : 1 [end]  # 10.0.0.0/23\n"));
	assert_non_null(strstr(out, "element 0003000a  : 0 [end]  # 10.0.3.0/24\n"));
	assert_non_null(strstr(out, "element 0004000a  : 1 [end]  # 10.0.3.0/24\n"));
	assert_null(strstr(out, "10.0.1.0/24"));
	free(out);
}

/* Nested ranges of different sets: the most specific decides. */
static void test_most_specific(void **state)
{
	struct nat_egress e[] = {
		{ .range = pfx("10.1.2.0/24"), .nat = true },
		{ .range = pfx("0.0.0.0/0"), .nat = true },
		{ .range = pfx("10.1.0.0/16"), .nat = false },
		{ .range = pfx("10.1.0.0/17"), .nat = false },
		{ .range = pfx("192.168.0.0/16"), .nat = true, .oifname = "eth1" },
		{ .range = pfx("::/0"), .nat = true },
		{ .range = pfx("fd00::/8"), .nat = false },
		{ .range = pfx("ffff::/16"), .nat = false },
	};
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 8 };
	char *out = render_text(&s);

	/* egress4_nat: everything but 10.1.0.0/16 (except 10.1.2.0/24) and
	 * 192.168.0.0/16, which go to their own sets. */
	assert_non_null(strstr(out, "# NEWSETELEM set egress4_nat\n"
		"inet meshgate egress4_nat id 1\n"
		"  element 00000000  : 0 [end]  # 0.0.0.0-10.0.255.255\n"
		"  element 0000010a  : 1 [end]  # 0.0.0.0-10.0.255.255\n"
		"  element 0002010a  : 0 [end]  # 10.1.2.0/24\n"
		"  element 0003010a  : 1 [end]  # 10.1.2.0/24\n"
		"  element 0000020a  : 0 [end]  # 10.2.0.0-192.167.255.255\n"
		"  element 0000a8c0  : 1 [end]  # 10.2.0.0-192.167.255.255\n"
		"  element 0000a9c0  : 0 [end]  # 192.169.0.0-255.255.255.255\n\n"));
	assert_non_null(strstr(out, "# NEWSETELEM set egress4_nat_eth1\n"
		"inet meshgate egress4_nat_eth1 id 2\n"
		"  element 00000000  : 1 [end]  # 0 (interval end)\n"
		"  element 0000a8c0  : 0 [end]  # 192.168.0.0/16\n"
		"  element 0000a9c0  : 1 [end]  # 192.168.0.0/16\n\n"));
	assert_non_null(strstr(out, "# NEWSETELEM set egress4_direct\n"
		"inet meshgate egress4_direct id 3\n"
		"  element 00000000  : 1 [end]  # 0 (interval end)\n"
		"  element 0000010a  : 0 [end]  # 10.1.0.0/23\n"
		"  element 0002010a  : 1 [end]  # 10.1.0.0/23\n"
		"  element 0003010a  : 0 [end]  # 10.1.3.0-10.1.255.255\n"
		"  element 0000020a  : 1 [end]  # 10.1.3.0-10.1.255.255\n\n"));
	/* v6: ::/0 minus fd00::/8 and ffff::/16 (which runs to the end). */
	assert_non_null(strstr(out, "# 0:0:0:0:0:0:0:0-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n") ||
			strstr(out, "# ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"));
	assert_non_null(strstr(out, "# fe00::-fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"));
	assert_non_null(strstr(out, "# ffff::/16\n"));
	free(out);
}

static void test_ival_format(void **state)
{
	struct nat_ival iv;
	struct mg_prefix p = pfx("10.0.0.0/8");
	char buf[128];

	nat_ival_from_prefix(&iv, &p);
	nat_ival_format(&iv, AF_INET, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8");
	iv.hi[3] = 0xfe;
	nat_ival_format(&iv, AF_INET, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0-10.255.255.254");
	p = pfx("::/0");
	nat_ival_from_prefix(&iv, &p);
	nat_ival_format(&iv, AF_INET6, buf, sizeof(buf));
	assert_string_equal(buf, "::/0");
	p = pfx("fd00::1/128");
	nat_ival_from_prefix(&iv, &p);
	nat_ival_format(&iv, AF_INET6, buf, sizeof(buf));
	assert_string_equal(buf, "fd00::1/128");
	assert_true(nat_ifname_valid("wg0"));
	assert_true(nat_ifname_valid("a_b.c-D9012345"));
	assert_true(nat_ifname_valid("123456789012345"));
	assert_false(nat_ifname_valid("1234567890123456"));
	assert_false(nat_ifname_valid(""));
	assert_false(nat_ifname_valid("wg 0"));
	assert_false(nat_ifname_valid("wg\"0"));
	assert_false(nat_ifname_valid("wg0\n"));
	assert_false(nat_ifname_valid("eth+"));
}

static void expect_bad(const struct nat_state *s, int want, const char *msg)
{
	struct nat_batch *b = (void *)1;
	char err[256];

	assert_int_equal(nat_render(s, &b, err, sizeof(err)), want);
	assert_null(b);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not mention '%s'", err, msg);
}

static void test_acl_validation(void **state)
{
	struct mg_prefix v4 = pfx("10.0.0.3/32"), v6 = pfx("fd00::3/128"), hostbits = pfx("10.0.0.3/24");
	struct nat_acl_rule a;
	struct nat_state s = { .ifname = "wg0", .acl = &a, .n_acl = 1 };

	(void)state;
	a = (struct nat_acl_rule){ .chain = NAT_ACL_INPUT, .family = AF_INET, .src = &v4, .n_src = 1 };
	s.ifname = NULL;
	expect_bad(&s, -EINVAL, "no gateway interface");
	s.ifname = "wg0";
	a.family = AF_UNSPEC;
	expect_bad(&s, -EINVAL, "family must be IPv4 or IPv6");
	a.family = AF_INET;
	a.src = &v6;
	expect_bad(&s, -EINVAL, "ACL rule 0: source fd00::3/128 is not of the rule's family");
	a.src = &hostbits;
	expect_bad(&s, -EINVAL, "has host bits set");
	a.src = NULL;
	expect_bad(&s, -EINVAL, "ACL rule 0: no source list");
	a.src = &v4;
	a.dst = &v6;
	a.n_dst = 1;
	expect_bad(&s, -EINVAL, "ACL rule 0: destination fd00::3/128 is not of the rule's family");
	a.n_dst = 0;
	a.proto = 47;
	expect_bad(&s, -EINVAL, "protocol 47 is not tcp, udp or icmp");
	a.proto = IPPROTO_ICMP;
	a.port_from = a.port_to = 22;
	expect_bad(&s, -EINVAL, "ports need tcp or udp");
	a.proto = IPPROTO_TCP;
	a.port_from = 23;
	expect_bad(&s, -EINVAL, "bad port range 23-22");
	a.port_from = 0;
	expect_bad(&s, -EINVAL, "bad port range 0-22");
	a.port_from = 22;
	a.comment = "bad\ncomment";
	expect_bad(&s, -EINVAL, "printable");
	a.comment = "rule 1";
	a.chain = 7;
	expect_bad(&s, -EINVAL, "unknown chain");
	a.chain = NAT_ACL_FORWARD;
	s.acl = NULL;
	expect_bad(&s, -EINVAL, "missing list");
	s.acl = &a;
	s.n_acl = NAT_MAX_ACL_RULES + 1;
	expect_bad(&s, -EINVAL, "ACL rules");
}

/* A relay's list: canonical prefixes, bounded, and an interface to forward on. */
static void test_relay_validation(void **state)
{
	struct mg_prefix relayed[2] = { pfx("10.9.0.1/32"), pfx("fd00:9::1/128") };
	struct nat_state s = { .relayed = relayed, .n_relayed = 2 };
	struct nat_batch *b = NULL;
	char err[256];

	expect_bad(&s, -EINVAL, "no gateway interface");
	s.ifname = "wg0";
	assert_int_equal(nat_render(&s, &b, err, sizeof(err)), 0);
	nat_batch_free(b);
	relayed[1] = pfx("fd00:9::1/64");
	expect_bad(&s, -EINVAL, "relayed prefix fd00:9::1/64 has host bits set");
	relayed[1] = pfx("fd00:9::1/128");
	relayed[0].len = 33;
	expect_bad(&s, -EINVAL, "prefix length 33");
	relayed[0] = pfx("10.9.0.1/32");
	s.relayed = NULL;
	expect_bad(&s, -EINVAL, "missing list");
	s.relayed = relayed;
	s.n_relayed = NAT_MAX_RELAYED + 1;
	expect_bad(&s, -EINVAL, "more than");
}

static void test_validation(void **state)
{
	struct mg_prefix good = pfx("10.0.0.0/24"), host = pfx("10.0.0.1/24");
	struct mg_prefix v6 = pfx("fd00::/64");
	struct nat_egress e = { .range = good, .nat = true };
	struct nat_client c = { .addr = pfx("10.0.0.9/32"), .allowed = &good, .n_allowed = 1 };
	struct nat_client two[2];
	struct nat_egress ov[2];
	struct nat_state s;

	s = (struct nat_state){ .egress = &e, .n_egress = 1 };
	expect_bad(&s, -EINVAL, "no gateway interface");
	s.ifname = "";
	expect_bad(&s, -EINVAL, "no gateway interface");
	s.ifname = "wg0-is-far-too-long";
	expect_bad(&s, -EINVAL, "bad interface name");
	s.ifname = "wg0;drop";
	expect_bad(&s, -EINVAL, "bad interface name");
	s.ifname = "wg0";
	e.range = host;
	expect_bad(&s, -EINVAL, "egress range 10.0.0.1/24 has host bits set");
	e.range = good;
	e.range.len = 33;
	expect_bad(&s, -EINVAL, "prefix length 33");
	e.range = good;
	e.range.ip.family = AF_UNIX;
	expect_bad(&s, -EINVAL, "not an IPv4 or IPv6 prefix");
	e.range = good;
	e.oifname = "eth0 ";
	expect_bad(&s, -EINVAL, "bad out interface name");
	e.oifname = NULL;
	s.n_egress = NAT_MAX_EGRESS + 1;
	expect_bad(&s, -EINVAL, "more than");
	s.n_egress = 1;
	s.n_relayed = 0;

	/* The same prefix in two sets: NAT on vs off, or another out
	 * interface. Nested prefixes are fine (test_most_specific). */
	ov[0] = (struct nat_egress){ .range = pfx("10.0.0.0/8"), .nat = true };
	ov[1] = (struct nat_egress){ .range = pfx("10.0.0.0/8"), .nat = false };
	s = (struct nat_state){ .ifname = "wg0", .egress = ov, .n_egress = 2 };
	expect_bad(&s, -EINVAL, "egress range 10.0.0.0/8 is given twice");
	ov[1].nat = true;
	ov[1].oifname = "eth1";
	expect_bad(&s, -EINVAL, "given twice");
	ov[1].oifname = "";	/* same set: a duplicate, fine */
	{
		struct nat_batch *b;

		assert_int_equal(nat_render(&s, &b, NULL, 0), 0);
		nat_batch_free(b);
	}

	/* Clients. */
	s = (struct nat_state){ .ifname = "wg0", .clients = &c, .n_clients = 1 };
	c.addr = pfx("10.0.0.0/24");
	expect_bad(&s, -EINVAL, "client 10.0.0.0/24 is not a single address");
	c.addr = pfx("10.0.0.9/32");
	c.allowed = &host;
	expect_bad(&s, -EINVAL, "client 10.0.0.9/32: destination 10.0.0.1/24 has host bits set");
	c.allowed = &v6;
	expect_bad(&s, -EINVAL, "not of the client's family");
	c.allowed = NULL;
	expect_bad(&s, -EINVAL, "no destination list");
	c.allowed = &good;
	c.n_allowed = NAT_MAX_CLIENT_DSTS + 1;
	expect_bad(&s, -EINVAL, "more than");
	c.n_allowed = 1;
	two[0] = c;
	two[1] = c;
	s.clients = two;
	s.n_clients = 2;
	expect_bad(&s, -EINVAL, "client 10.0.0.9/32 appears twice");
	expect_bad(NULL, -EINVAL, "no state");
}

/* --- kernel ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# test_nat: not root, kernel tests skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# test_nat: unshare(CLONE_NEWNET): %s, kernel tests skipped\n",
			strerror(errno));
		return 0;
	}
	kernel_ok = true;
	return 0;
}

/* Run argv (no shell); returns its exit status, stdout in *out if given. */
static int run(char **out, const char *arg0, ...)
{
	const char *argv[32];
	int pipefd[2], status, n = 0;
	va_list ap;
	pid_t pid;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	ssize_t r;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], 1);
		if (!out && null >= 0)
			dup2(null, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = read(pipefd[0], buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(pipefd[0]);
	buf[len] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int setup(void **state)
{
	/* A clean ruleset in our namespace for every test. */
	if (kernel_ok && run(NULL, "nft", "flush", "ruleset", NULL) != 0)
		return -1;
	return 0;
}

#define NEED_KERNEL()             \
	do {                      \
		if (!kernel_ok)   \
			skip();   \
	} while (0)

static char *nft_list(void)
{
	char *out = NULL;

	assert_int_equal(run(&out, "nft", "list", "table", "inet", NAT_TABLE, NULL), 0);
	return out;
}

/* The parsed `nft -j list table inet meshgate`. */
static json_t *nft_json(void)
{
	char *out = NULL;
	json_t *j;
	json_error_t jerr;

	assert_int_equal(run(&out, "nft", "-j", "list", "table", "inet", NAT_TABLE, NULL), 0);
	j = json_loads(out, 0, &jerr);
	if (!j)
		fail_msg("nft -j: %s: %s", jerr.text, out);
	free(out);
	return j;
}

/* How many objects of kind ("set", "chain", "rule") the listing has, and
 * whether one is named name (NULL: any). */
static size_t count_kind(json_t *j, const char *kind, const char *name)
{
	json_t *arr = json_object_get(j, "nftables"), *it, *o;
	size_t i, n = 0;

	json_array_foreach(arr, i, it) {
		o = json_object_get(it, kind);
		if (!o)
			continue;
		if (name && strcmp(json_string_value(json_object_get(o, "name")) ?: "", name))
			continue;
		n++;
	}
	return n;
}

static const struct mg_prefix allowed_a[] = { { .ip = { AF_INET, { 10, 100 } }, .len = 24 } };

static void state_a(struct nat_state *s, struct nat_egress *e, struct nat_client *c)
{
	e[0] = (struct nat_egress){ .range = pfx("10.20.0.0/24"), .nat = true };
	e[1] = (struct nat_egress){ .range = pfx("192.168.50.0/24"), .nat = false };
	e[2] = (struct nat_egress){ .range = pfx("fd10:0:0:7::/64"), .nat = true };
	c[0] = (struct nat_client){ .addr = pfx("10.100.0.250/32"), .allowed = allowed_a, .n_allowed = 1 };
	*s = (struct nat_state){ .ifname = "wg0", .egress = e, .n_egress = 3, .clients = c, .n_clients = 1 };
}

static void test_apply_show(void **state)
{
	struct nat_egress e[3];
	struct nat_client c[1];
	struct nat_state s;
	char err[256], *out;
	json_t *j, *root;

	NEED_KERNEL();

	state_a(&s, e, c);
	if (nat_apply(&s, err, sizeof(err)) != 0)
		fail_msg("nat_apply: %s", err);
	j = nft_json();
	assert_int_equal(count_kind(j, "table", NAT_TABLE), 1);
	assert_int_equal(count_kind(j, "chain", "forward"), 1);
	assert_int_equal(count_kind(j, "chain", "postrouting"), 1);
	assert_int_equal(count_kind(j, "set", "egress4_nat"), 1);
	assert_int_equal(count_kind(j, "set", "egress4_direct"), 1);
	assert_int_equal(count_kind(j, "set", "egress6_nat"), 1);
	assert_int_equal(count_kind(j, "set", "client_0"), 1);
	assert_int_equal(count_kind(j, "set", NULL), 4);
	/* forward: 2 replies + 2 client + 1 to client + 3 egress + 2 final drops; postrouting: 2 masquerade */
	assert_int_equal(count_kind(j, "rule", NULL), 12);
	json_decref(j);

	/* nft itself reads our encoding back as we meant it. */
	out = nft_list();
	assert_non_null(strstr(out, "elements = { 10.20.0.0/24 }"));
	assert_non_null(strstr(out, "elements = { fd10:0:0:7::/64 }"));
	assert_non_null(strstr(out, "type filter hook forward priority filter; policy accept;"));
	assert_non_null(strstr(out, "type nat hook postrouting priority srcnat; policy accept;"));
	assert_non_null(strstr(out, "oifname \"wg0\" ct state established,related counter packets 0 bytes 0 accept comment \"replies into wg0\""));
	assert_non_null(strstr(out, "iifname \"wg0\" ip saddr 10.100.0.250 ip daddr @client_0 counter packets 0 bytes 0 accept"));
	assert_non_null(strstr(out, "iifname \"wg0\" ip saddr 10.100.0.250 counter packets 0 bytes 0 drop"));
	assert_non_null(strstr(out, "iifname \"wg0\" ip6 daddr @egress6_nat counter packets 0 bytes 0 masquerade"));
	/* Nothing else crosses the gateway. */
	assert_non_null(strstr(out, "iifname \"wg0\" oifname \"wg0\" ip daddr 10.100.0.250 counter packets 0 bytes 0 accept"));
	assert_non_null(strstr(out, "iifname \"wg0\" counter packets 0 bytes 0 drop comment \"from wg0: nothing else\""));
	assert_non_null(strstr(out, "oifname \"wg0\" counter packets 0 bytes 0 drop comment \"into wg0: nothing else\""));
	free(out);

	/* Our own reading. */
	assert_int_equal(nat_show(&out), 0);
	assert_non_null(strstr(out, "table inet meshgate\n"));
	assert_non_null(strstr(out, "set egress4_nat (ipv4_addr, interval): 10.20.0.0/24\n"));
	assert_non_null(strstr(out, "set client_0 (ipv4_addr, interval): 10.100.0.0/24\n"));
	assert_non_null(strstr(out, "set egress6_nat (ipv6_addr, interval): fd10:0:0:7::/64\n"));
	assert_non_null(strstr(out, "chain forward (filter hook forward priority 0 policy accept)\n"));
	assert_non_null(strstr(out, "chain postrouting (nat hook postrouting priority 100 policy accept)\n"));
	assert_non_null(strstr(out, "  #1  packets 0 bytes 0  oifname \"wg0\" ct state established,related counter accept  # replies into wg0\n"));
	assert_non_null(strstr(out, "  #3  packets 0 bytes 0  iifname \"wg0\" ip saddr 10.100.0.250 ip daddr @client_0 counter accept  # client 10.100.0.250/32 allowed\n"));
	assert_non_null(strstr(out, "  #4  packets 0 bytes 0  iifname \"wg0\" ip saddr 10.100.0.250 counter drop  # client 10.100.0.250/32 other\n"));
	assert_non_null(strstr(out, "  #1  packets 0 bytes 0  iifname \"wg0\" ip daddr @egress4_nat counter masquerade  # masquerade @egress4_nat\n"));
	free(out);

	assert_int_equal(nat_show_json(&out), 0);
	root = json_loads(out, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "table")), "inet meshgate");
	assert_int_equal(json_array_size(json_object_get(root, "sets")), 4);
	assert_int_equal(json_array_size(json_object_get(root, "chains")), 2);
	/* forward: 2 replies, 2 client, 1 to client, 3 egress, 2 final drops */
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(root, "chains"), 0), "rules")), 10);
	json_decref(root);
	free(out);
}

/* The ACL chains in the kernel, read back by nft and by nat_show. */
static void test_apply_acl(void **state)
{
	struct nat_egress e[] = { { .range = pfx("172.31.77.0/24"), .nat = true } };
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 1 };
	char err[256], *out;

	NEED_KERNEL();
	s.acl = acl_rules(&s.n_acl);
	if (nat_apply(&s, err, sizeof(err)) != 0)
		fail_msg("nat_apply: %s", err);
	out = nft_list();
	assert_non_null(strstr(out, "type filter hook input priority filter; policy accept;"));
	assert_non_null(strstr(out, "type filter hook forward priority filter - 10; policy accept;"));
	assert_non_null(strstr(out, "iifname \"wg0\" ip saddr @acl_0_src ip daddr @acl_0_dst tcp dport 5432 counter packets 0 bytes 0 accept comment \"rule 4\""));
	assert_non_null(strstr(out, "iifname \"wg0\" ip saddr @acl_1_src ip daddr @acl_1_dst counter packets 0 bytes 0 drop comment \"default deny\""));
	assert_non_null(strstr(out, "iifname \"wg0\" ip saddr @acl_2_src ip daddr @acl_2_dst meta l4proto icmp counter packets 0 bytes 0 drop comment \"rule 2\""));
	assert_non_null(strstr(out, "udp dport 1000-2000 counter packets 0 bytes 0 accept comment \"rule 3\""));
	assert_non_null(strstr(out, "iifname \"wg0\" ip6 saddr @acl_4_src meta l4proto ipv6-icmp counter packets 0 bytes 0 accept comment \"rule 5\""));
	assert_non_null(strstr(out, "elements = { 172.31.77.10 }"));
	/* Into the mesh (an ext client) before "back into wg0", egress after it. */
	assert_non_null(strstr(out, "iifname \"wg0\" oifname \"wg0\" ip daddr @acl_6_dst counter packets 0 bytes 0 drop comment \"default deny\"\n"
				    "\t\toifname \"wg0\" counter packets 0 bytes 0 accept comment \"back into wg0: not an egress\"\n"
				    "\t\tiifname \"wg0\" ip saddr @acl_0_src"));
	free(out);

	assert_int_equal(nat_show(&out), 0);
	assert_non_null(strstr(out, "chain acl_input (filter hook input priority 0 policy accept)\n"));
	assert_non_null(strstr(out, "chain acl_forward (filter hook forward priority -10 policy accept)\n"));
	assert_non_null(strstr(out, "ip saddr @acl_0_src ip daddr @acl_0_dst meta l4proto tcp th dport 5432 counter accept  # rule 4\n"));
	assert_non_null(strstr(out, "meta l4proto udp th dport >= 1000 th dport <= 2000 counter accept  # rule 3\n"));
	free(out);
}

/* Ranges running to the last address, carved ranges, v6 clients: nft
 * reads back what we meant. */
static void test_apply_ranges(void **state)
{
	struct mg_prefix allowed6[] = { pfx("fd00:1::/64"), pfx("fd00:2::/64") };
	struct nat_egress e[] = {
		{ .range = pfx("0.0.0.0/0"), .nat = true, .oifname = "eth0" },
		{ .range = pfx("::/0"), .nat = true, .oifname = "eth0" },
		{ .range = pfx("172.16.1.0/24"), .nat = false },
		{ .range = pfx("172.16.0.0/24"), .nat = false },
		{ .range = pfx("ffff::/16"), .nat = false },
	};
	struct nat_client c[] = {
		{ .addr = pfx("fd00:1::fffe/128"), .allowed = allowed6, .n_allowed = 2 },
	};
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = 5,
			       .clients = c, .n_clients = 1 };
	char err[256], *out;

	NEED_KERNEL();
	if (nat_apply(&s, err, sizeof(err)) != 0)
		fail_msg("nat_apply: %s", err);
	out = nft_list();
	assert_non_null(strstr(out, "elements = { 0.0.0.0-172.15.255.255,"));
	assert_non_null(strstr(out, " 172.16.2.0-255.255.255.255 }"));
	assert_non_null(strstr(out, "elements = { 172.16.0.0/23 }"));
	assert_non_null(strstr(out, "elements = { ::-fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff }"));
	assert_non_null(strstr(out, "elements = { ffff::/16 }"));
	assert_non_null(strstr(out, "elements = { fd00:1::/64,"));
	assert_non_null(strstr(out, " fd00:2::/64 }"));
	assert_non_null(strstr(out, "iifname \"wg0\" ip6 saddr fd00:1::fffe ip6 daddr @client_0 counter packets 0 bytes 0 accept"));
	free(out);
	assert_int_equal(nat_show(&out), 0);
	assert_non_null(strstr(out, "set egress4_nat_eth0 (ipv4_addr, interval): 0.0.0.0-172.15.255.255, 172.16.2.0-255.255.255.255\n"));
	assert_non_null(strstr(out, "set egress6_nat_eth0 (ipv6_addr, interval): ::-fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"));
	assert_non_null(strstr(out, "set egress6_direct (ipv6_addr, interval): ffff::/16\n"));
	assert_non_null(strstr(out, "set client_0 (ipv6_addr, interval): fd00:1::/64, fd00:2::/64\n"));
	assert_non_null(strstr(out, "iifname \"wg0\" oifname \"eth0\" ip6 daddr @egress6_nat_eth0 counter masquerade"));
	free(out);
}

static void test_replace(void **state)
{
	struct nat_egress e[3], e2[] = { { .range = pfx("172.16.0.0/12"), .nat = true, .oifname = "eth1" } };
	struct nat_client c[1];
	struct nat_state s, s2 = { .ifname = "wg1", .egress = e2, .n_egress = 1 };
	char err[256], *out;
	json_t *j;

	NEED_KERNEL();

	state_a(&s, e, c);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	if (nat_apply(&s2, err, sizeof(err)) != 0)
		fail_msg("nat_apply: %s", err);
	j = nft_json();
	assert_int_equal(count_kind(j, "set", NULL), 1);
	assert_int_equal(count_kind(j, "set", "egress4_nat_eth1"), 1);
	assert_int_equal(count_kind(j, "chain", NULL), 2);
	/* 2 replies, 1 egress, 2 final drops, 1 masquerade */
	assert_int_equal(count_kind(j, "rule", NULL), 6);
	json_decref(j);
	out = nft_list();
	assert_null(strstr(out, "wg0"));
	assert_null(strstr(out, "client_0"));
	assert_non_null(strstr(out, "iifname \"wg1\" oifname \"eth1\" ip daddr @egress4_nat_eth1 counter packets 0 bytes 0 masquerade"));
	free(out);

	/* Applying the same state again is fine, and so is an empty one. */
	assert_int_equal(nat_apply(&s2, err, sizeof(err)), 0);
	s2 = (struct nat_state){ 0 };
	assert_int_equal(nat_apply(&s2, err, sizeof(err)), 0);
	j = nft_json();
	assert_int_equal(count_kind(j, "set", NULL), 0);
	assert_int_equal(count_kind(j, "chain", NULL), 2);
	assert_int_equal(count_kind(j, "rule", NULL), 0);
	json_decref(j);
}

/* A batch the kernel refuses halfway leaves the previous table as it was,
 * and the error names the object and the element. */
static void test_refused_keeps_previous(void **state)
{
	struct nat_egress e[3], bad[] = {
		{ .range = pfx("10.0.0.0/8"), .nat = true },
		{ .range = pfx("10.1.0.0/16"), .nat = true },
	};
	struct nat_client c[1];
	struct nat_state s, s2 = { .ifname = "wg9", .egress = bad, .n_egress = 2 };
	struct nat_batch *b;
	char err[256], *before, *after;

	NEED_KERNEL();

	state_a(&s, e, c);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	before = nft_list();

	/* Overlapping intervals, unmerged: the renderer would refuse them
	 * (or merge them) but here goes past it. */
	assert_int_equal(nat_render_flags(&s2, NAT_RENDER_NO_MERGE, &b, err, sizeof(err)), 0);
	assert_true(nat_batch_apply(b, err, sizeof(err)) < 0);
	nat_batch_free(b);
	fprintf(stderr, "# refused: %s\n", err);
	assert_non_null(strstr(err, "set egress4_nat element 10.1.0.0/16: "));

	after = nft_list();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A rule refused: the error names it by chain and position. */
static void test_refused_rule(void **state)
{
	struct nat_egress e[3];
	struct nat_client c[1];
	struct nat_state s;
	struct nat_batch *b;
	char err[256], *before, *after;
	size_t i;

	NEED_KERNEL();

	state_a(&s, e, c);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	before = nft_list();
	assert_int_equal(nat_render(&s, &b, err, sizeof(err)), 0);
	/* Send forward #3 to a chain that does not exist. */
	for (i = 0; i < b->n; i++)
		if (b->msg[i].kind == NAT_RULE_MSG && strstr(b->msg[i].label, "forward #3 "))
			nftnl_rule_set_str(b->msg[i].o.rule, NFTNL_RULE_CHAIN, "nosuchchain");
	assert_int_equal(nat_batch_apply(b, err, sizeof(err)), -ENOENT);
	nat_batch_free(b);
	fprintf(stderr, "# refused: %s\n", err);
	assert_non_null(strstr(err, "rule forward #3 (client 10.100.0.250/32 allowed): "));
	after = nft_list();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_foreign_table(void **state)
{
	struct nat_egress e[3];
	struct nat_client c[1];
	struct nat_state s;
	char err[256], *before, *after;

	NEED_KERNEL();

	assert_int_equal(run(NULL, "nft", "add", "table", "inet", "other", NULL), 0);
	assert_int_equal(run(NULL, "nft", "add", "chain", "inet", "other", "c",
			     "{ type filter hook forward priority 0; policy accept; }", NULL), 0);
	assert_int_equal(run(NULL, "nft", "add", "rule", "inet", "other", "c", "iifname", "wg0",
			     "counter", "drop", NULL), 0);
	assert_int_equal(run(NULL, "nft", "add", "table", "ip", NAT_TABLE, NULL), 0);
	assert_int_equal(run(&before, "nft", "list", "ruleset", NULL), 0);

	state_a(&s, e, c);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	assert_int_equal(nat_remove(), 0);
	assert_int_equal(nat_remove(), 0);		/* not there: fine */
	assert_int_equal(run(&after, "nft", "list", "ruleset", NULL), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	{
		char *out = (char *)1;

		assert_int_equal(nat_show(&out), -ENOENT);
		assert_null(out);
	}
}

/*
 * Real packets: a veth pair wg0 <-> wgp and lan0 <-> lanp in this namespace.
 * A UDP packet from a mesh address is written raw onto wgp, arrives on wg0,
 * is forwarded to lan0 (towards 10.20.0.0/24) and masqueraded: the forward
 * and postrouting counters move (the neighbour never answers, which does
 * not matter: the hooks run before).
 */
static void send_raw(const char *out_if, const char *in_if, const char *src, const char *dst)
{
	struct {
		struct ether_header eth;
		struct iphdr ip;
		struct udphdr udp;
		char data[8];
	} __attribute__((packed)) pkt;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr;
	int fd;
	uint32_t sum = 0;
	uint16_t w[sizeof(struct iphdr) / 2];
	size_t i;

	memset(&pkt, 0, sizeof(pkt));
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", in_if);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(pkt.eth.ether_dhost, ifr.ifr_hwaddr.sa_data, 6);
	pkt.eth.ether_type = htons(ETHERTYPE_IP);
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons(sizeof(pkt) - sizeof(pkt.eth));
	assert_int_equal(inet_pton(AF_INET, src, &pkt.ip.saddr), 1);
	assert_int_equal(inet_pton(AF_INET, dst, &pkt.ip.daddr), 1);
	memcpy(w, &pkt.ip, sizeof(w));
	for (i = 0; i < sizeof(w) / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt.ip.check = (uint16_t)~sum;
	pkt.udp.source = htons(40000);
	pkt.udp.dest = htons(5432);
	pkt.udp.len = htons(sizeof(pkt.udp) + sizeof(pkt.data));
	sll.sll_ifindex = (int)if_nametoindex(out_if);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, pkt.eth.ether_dhost, 6);
	assert_int_equal(sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)sizeof(pkt));
	close(fd);
}

static void test_counters(void **state)
{
	struct nat_egress e[3];
	struct nat_client c[1];
	struct nat_state s;
	bool changed;
	char err[256], *out;
	int i;

	NEED_KERNEL();

	if (run(NULL, "ip", "link", "add", "wg0", "type", "veth", "peer", "name", "wgp", NULL) != 0)
		skip();
	assert_int_equal(run(NULL, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lanp", NULL), 0);
	assert_int_equal(run(NULL, "ip", "addr", "add", "10.20.0.1/24", "dev", "lan0", NULL), 0);
	assert_int_equal(run(NULL, "ip", "addr", "add", "10.99.0.1/24", "dev", "wg0", NULL), 0);
	assert_int_equal(run(NULL, "ip", "link", "set", "wg0", "up", NULL), 0);
	assert_int_equal(run(NULL, "ip", "link", "set", "wgp", "up", NULL), 0);
	assert_int_equal(run(NULL, "ip", "link", "set", "lan0", "up", NULL), 0);
	assert_int_equal(run(NULL, "ip", "link", "set", "lanp", "up", NULL), 0);
	assert_int_equal(nat_forwarding_enable(true, false, &changed), 0);

	state_a(&s, e, c);
	assert_int_equal(nat_apply(&s, err, sizeof(err)), 0);
	for (i = 0; i < 3; i++)
		send_raw("wgp", "wg0", "10.99.0.7", "10.20.0.5");
	/* A client reaching outside its set: dropped and counted. */
	send_raw("wgp", "wg0", "10.100.0.250", "10.20.0.5");
	usleep(100 * 1000);

	assert_int_equal(nat_show(&out), 0);
	/* 3 packets of 36 bytes (IP length) forwarded and masqueraded (the
	 * nat chain sees the first packet of the flow only). */
	assert_non_null(strstr(out, "packets 3 bytes 108  iifname \"wg0\" ip daddr @egress4_nat counter accept"));
	assert_non_null(strstr(out, "packets 1 bytes 36  iifname \"wg0\" ip daddr @egress4_nat counter masquerade"));
	assert_non_null(strstr(out, "packets 1 bytes 36  iifname \"wg0\" ip saddr 10.100.0.250 counter drop"));
	free(out);
	assert_int_equal(run(NULL, "ip", "link", "del", "wg0", NULL), 0);
	assert_int_equal(run(NULL, "ip", "link", "del", "lan0", NULL), 0);
}

/* The benchmark's size: 2000 egress ranges (several element messages per
 * set) and 1000 clients, in one batch; then a one-range change. */
static void test_large(void **state)
{
	enum { N_E = 2000, N_C = 1000 };
	struct nat_egress *e = calloc(N_E, sizeof(*e));
	struct nat_client *c = calloc(N_C, sizeof(*c));
	struct mg_prefix *dst = calloc(2 * N_C, sizeof(*dst));
	struct nat_state s = { .ifname = "wg0", .egress = e, .n_egress = N_E,
			       .clients = c, .n_clients = N_C };
	struct nat_batch *b;
	char err[256], *out;
	json_t *root, *sets;
	size_t i;

	NEED_KERNEL();
	assert_non_null(e);
	assert_non_null(c);
	assert_non_null(dst);
	for (i = 0; i < N_E; i++) {
		/* 10.a.b.0/24 with b even: never adjacent, so nothing merges */
		e[i].range = (struct mg_prefix){ .ip = { AF_INET, { 10, (uint8_t)(i / 128),
						 (uint8_t)(i % 128 * 2) } }, .len = 24 };
		e[i].nat = i % 2;
	}
	for (i = 0; i < N_C; i++) {
		c[i].addr = (struct mg_prefix){ .ip = { AF_INET, { 100, 64, (uint8_t)(i / 256),
						(uint8_t)(i % 256) } }, .len = 32 };
		dst[2 * i] = pfx("100.64.0.0/16");
		dst[2 * i + 1] = (struct mg_prefix){ .ip = { AF_INET, { 10, (uint8_t)(i % 16) } }, .len = 16 };
		c[i].allowed = &dst[2 * i];
		c[i].n_allowed = 2;
	}
	assert_int_equal(nat_render(&s, &b, err, sizeof(err)), 0);
	/* 3 table messages; 2 egress sets of 2001 elements (the leading end,
	 * 1000 starts, 1000 ends), 4 element messages each; 1000 client sets
	 * with one; 2 chains; rules: 2 replies, 3 per client (allowed, other,
	 * to client), 2 egress, 1 masquerade, 2 final drops. */
	assert_int_equal(nat_batch_count(b), 3 + 2 * 5 + 1000 * 2 + 2 + 2 + 3000 + 2 + 1 + 2);
	if (nat_batch_apply(b, err, sizeof(err)) != 0)
		fail_msg("nat_batch_apply: %s", err);
	nat_batch_free(b);

	e[7].range = pfx("192.168.7.0/24");
	if (nat_apply(&s, err, sizeof(err)) != 0)
		fail_msg("nat_apply: %s", err);
	assert_int_equal(nat_show_json(&out), 0);
	root = json_loads(out, 0, NULL);
	assert_non_null(root);
	sets = json_object_get(root, "sets");
	assert_int_equal(json_array_size(sets), 1002);
	assert_int_equal(json_array_size(json_object_get(json_array_get(sets, 0), "elements")), 1000);
	assert_int_equal(json_array_size(json_object_get(json_array_get(sets, 1), "elements")), 1000);
	assert_non_null(strstr(out, "\"192.168.7.0/24\""));
	json_decref(root);
	free(out);
	free(e);
	free(c);
	free(dst);
}

static void test_forwarding(void **state)
{
	bool changed = true;
	char *v4, *v6;

	NEED_KERNEL();

	/* A fresh namespace starts with forwarding off (unless an earlier
	 * test turned it on: then only "no change" is checked). */
	v4 = slurp("/proc/sys/net/ipv4/ip_forward");
	v6 = slurp("/proc/sys/net/ipv6/conf/all/forwarding");
	assert_non_null(v4);
	assert_int_equal(nat_forwarding_enable(false, false, &changed), 0);
	assert_false(changed);
	assert_int_equal(nat_forwarding_enable(true, v6 != NULL, &changed), 0);
	assert_true(changed == (strcmp(v4, "1\n") != 0 || (v6 && strcmp(v6, "1\n") != 0)));
	free(v4);
	free(v6);
	v4 = slurp("/proc/sys/net/ipv4/ip_forward");
	assert_string_equal(v4, "1\n");
	free(v4);
	assert_int_equal(nat_forwarding_enable(true, false, &changed), 0);
	assert_false(changed);
	assert_int_equal(nat_forwarding_enable(true, true, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_empty),
		cmocka_unit_test(test_golden_egress4_nat),
		cmocka_unit_test(test_golden_egress4_direct),
		cmocka_unit_test(test_golden_egress6),
		cmocka_unit_test(test_golden_ingress),
		cmocka_unit_test(test_golden_mixed),
		cmocka_unit_test(test_golden_acl),
		cmocka_unit_test(test_golden_relay),
		cmocka_unit_test(test_golden_relay_gateway),
		cmocka_unit_test(test_relay_validation),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_most_specific),
		cmocka_unit_test(test_ival_format),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_acl_validation),
		cmocka_unit_test_setup(test_apply_acl, setup),
		cmocka_unit_test_setup(test_apply_show, setup),
		cmocka_unit_test_setup(test_apply_ranges, setup),
		cmocka_unit_test_setup(test_replace, setup),
		cmocka_unit_test_setup(test_refused_keeps_previous, setup),
		cmocka_unit_test_setup(test_refused_rule, setup),
		cmocka_unit_test_setup(test_foreign_table, setup),
		cmocka_unit_test_setup(test_large, setup),
		cmocka_unit_test_setup(test_forwarding, setup),
		cmocka_unit_test_setup(test_counters, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
