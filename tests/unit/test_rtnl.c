/*
 * rtnetlink links, addresses and routes, against the real kernel in a
 * private network namespace: the process unshares its own at start, which
 * vanishes with it, so nothing leaks onto the host. Needs root (skipped
 * otherwise). The links are dummies where the kernel has them, else ifb
 * (just as inert), else veth (the peer is made and removed with them);
 * MG_TEST_LINK_KIND picks one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "net/rtnl.h"

#define IF0 "mgt0"
#define IF1 "mgt1"

static bool netns_ok;
static const char *link_kind;

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	assert_int_equal(mg_prefix_parse(s, &p), 0);
	return p;
}

/* The items as "A/L B/L ...", in list order. */
static void assert_items(const struct mg_prefix *items, size_t n, const char *want)
{
	char out[2048] = "", one[MG_PREFIX_STRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(mg_prefix_format(&items[i], one, sizeof(one)), 0);
		if (i)
			strcat(out, " ");
		assert_true(strlen(out) + strlen(one) < sizeof(out));
		strcat(out, one);
	}
	assert_string_equal(out, want);
}

static void assert_addrs(const char *ifname, const char *want)
{
	struct rtnl_addr_list l;

	assert_int_equal(rtnl_addr_list(ifname, &l), 0);
	assert_items(l.items, l.n, want);
	free(l.items);
}

static void assert_routes(const char *ifname, const char *want)
{
	struct rtnl_route_list l;

	assert_int_equal(rtnl_route_list(ifname, &l), 0);
	assert_items(l.items, l.n, want);
	free(l.items);
}

/* Parse a space-separated list of prefixes into p (at most max). */
static size_t pfxs(const char *s, struct mg_prefix *p, size_t max)
{
	char buf[1024], *tok, *save = NULL;
	size_t n = 0;

	assert_true(strlen(s) < sizeof(buf));
	strcpy(buf, s);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		assert_true(n < max);
		p[n++] = pfx(tok);
	}
	return n;
}

/*
 * A route through ifname made with raw rtnetlink and any protocol, as some
 * other program would: returns 0 or the kernel's negative errno.
 */
static int raw_route_full(uint16_t type, uint16_t flags, unsigned char proto, unsigned char rtype,
			  const char *ifname, const char *dst, const char *gw, unsigned metric)
{
	char buf[8192] __attribute__((aligned(8)));
	struct mg_prefix p = pfx(dst);
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned portid, seq = (unsigned)time(NULL);
	ssize_t len;
	int ret;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)p.ip.family;
	rtm->rtm_dst_len = (unsigned char)p.len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = proto;
	rtm->rtm_scope = type != RTM_NEWROUTE ? RT_SCOPE_NOWHERE : gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = rtype;
	if (p.len)
		mnl_attr_put(nlh, RTA_DST, p.ip.family == AF_INET ? 4 : 16, p.ip.bytes);
	if (gw) {
		struct mg_ip g;

		assert_int_equal(mg_ip_parse(gw, &g), 0);
		mnl_attr_put(nlh, RTA_GATEWAY, g.family == AF_INET ? 4 : 16, g.bytes);
	}
	if (ifname)
		mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex(ifname));
	if (metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);

	nl = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		assert_true(len > 0);
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, NULL, NULL);
	} while (ret > 0);
	ret = ret < 0 ? -errno : 0;
	mnl_socket_close(nl);
	return ret;
}

static int raw_route(uint16_t type, uint16_t flags, unsigned char proto, const char *ifname,
		     const char *dst)
{
	return raw_route_full(type, flags, proto, RTN_UNICAST, ifname, dst, NULL, 0);
}

static int count_ll_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	int *count = data;

	if (nlh->nlmsg_type == RTM_NEWADDR && (int)ifa->ifa_index == count[0] &&
	    ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_LINK)
		count[1]++;
	return MNL_CB_OK;
}

/* How many IPv6 link-local addresses ifname has, by a raw dump. */
static int raw_count_linklocal(const char *ifname)
{
	char buf[32768] __attribute__((aligned(8)));
	int count[2] = { (int)if_nametoindex(ifname), 0 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned portid, seq = (unsigned)time(NULL);
	ssize_t len;
	int ret;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;

	nl = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		assert_true(len > 0);
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, count_ll_cb, count);
	} while (ret > 0);
	assert_int_equal(ret, 0);
	mnl_socket_close(nl);
	return count[1];
}

/* --- fixtures ------------------------------------------------------------- */

static int group_setup(void **state)
{
	static const char *const kinds[] = { "dummy", "ifb", "veth" };
	size_t i;
	int ret;

	if (geteuid() != 0) {
		fprintf(stderr, "# test_rtnl: not root, skipping\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# test_rtnl: unshare(CLONE_NEWNET): %s, skipping\n", strerror(errno));
		return 0;
	}
	assert_int_equal(rtnl_link_set_up("lo", true), 0);
	link_kind = getenv("MG_TEST_LINK_KIND");
	for (i = 0; !link_kind && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ret = rtnl_link_add(IF0, kinds[i]);
		if (ret == 0) {
			assert_int_equal(rtnl_link_delete(IF0), 0);
			link_kind = kinds[i];
		}
	}
	if (!link_kind) {
		fprintf(stderr, "# test_rtnl: none of dummy, ifb, veth links, skipping\n");
		return 0;
	}
	netns_ok = true;
	return 0;
}

/* Every test gets a fresh link IF0, down. */
static int setup(void **state)
{
	if (netns_ok)
		assert_int_equal(rtnl_link_add(IF0, link_kind), 0);
	return 0;
}

/* Deleting the link takes its addresses and routes with it. */
static int teardown(void **state)
{
	if (netns_ok) {
		(void)rtnl_link_delete(IF0);
		(void)rtnl_link_delete(IF1);
	}
	return 0;
}

#define NEED_NETNS()              \
	do {                      \
		if (!netns_ok)    \
			skip();   \
	} while (0)

/* --- links ---------------------------------------------------------------- */

static void test_link(void **state)
{
	struct rtnl_link_info li;
	int idx;

	NEED_NETNS();
	idx = rtnl_ifindex(IF0);
	assert_true(idx > 0);
	assert_int_equal(rtnl_ifindex("lo"), 1);

	assert_int_equal(rtnl_link_get(IF0, &li), 0);
	assert_int_equal(li.ifindex, idx);
	assert_int_equal(li.mtu, 1500);
	assert_false(li.flags & IFF_UP);

	assert_int_equal(rtnl_link_set_mtu(IF0, 1380), 0);
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	assert_int_equal(rtnl_link_get(IF0, &li), 0);
	assert_int_equal(li.mtu, 1380);
	assert_true(li.flags & IFF_UP);

	/* Changing the MTU leaves the state alone, and back. */
	assert_int_equal(rtnl_link_set_mtu(IF0, 1420), 0);
	assert_int_equal(rtnl_link_get(IF0, &li), 0);
	assert_int_equal(li.mtu, 1420);
	assert_true(li.flags & IFF_UP);
	assert_int_equal(rtnl_link_set_up(IF0, false), 0);
	assert_int_equal(rtnl_link_get(IF0, &li), 0);
	assert_false(li.flags & IFF_UP);
	assert_int_equal(li.mtu, 1420);

	assert_int_equal(rtnl_link_add(IF0, link_kind), -EEXIST);
	assert_int_equal(rtnl_link_delete(IF0), 0);
	assert_int_equal(rtnl_ifindex(IF0), -ENODEV);
	assert_int_equal(rtnl_link_get(IF0, &li), -ENODEV);
}

static void test_link_errors(void **state)
{
	struct rtnl_link_info li;

	NEED_NETNS();
	assert_int_equal(rtnl_ifindex("nosuch0"), -ENODEV);
	assert_int_equal(rtnl_ifindex(""), -ENODEV);
	assert_int_equal(rtnl_ifindex(NULL), -ENODEV);
	assert_int_equal(rtnl_ifindex("a-name-longer-than-ifnamsiz"), -ENODEV);
	assert_int_equal(rtnl_link_set_up("nosuch0", true), -ENODEV);
	assert_int_equal(rtnl_link_set_mtu("nosuch0", 1400), -ENODEV);
	assert_int_equal(rtnl_link_delete("nosuch0"), -ENODEV);
	assert_int_equal(rtnl_link_get("nosuch0", &li), -ENODEV);
	assert_int_equal(rtnl_link_set_mtu(IF0, 0), -EINVAL);
	assert_int_equal(rtnl_link_add("", "dummy"), -EINVAL);
	assert_int_equal(rtnl_link_add("a-name-longer-than-ifnamsiz", "dummy"), -EINVAL);
	assert_int_equal(rtnl_link_add(IF1, ""), -EINVAL);
	assert_int_equal(rtnl_link_add(IF1, "no-such-link-kind"), -EOPNOTSUPP);
	assert_int_equal(rtnl_ifindex(IF1), -ENODEV);
}

/* --- addresses ------------------------------------------------------------ */

static void test_addr_add_list_del(void **state)
{
	struct mg_prefix a4 = pfx("10.1.0.1/24"), b4 = pfx("10.9.8.7/32"), a6 = pfx("fd00:1::1/64");

	NEED_NETNS();
	/* Up, so the kernel has given the link its IPv6 link-local address. */
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	assert_addrs(IF0, "");
	assert_addrs("lo", "127.0.0.1/8 ::1/128");

	assert_int_equal(rtnl_addr_add(IF0, &a6), 0);
	assert_int_equal(rtnl_addr_add(IF0, &b4), 0);
	assert_int_equal(rtnl_addr_add(IF0, &a4), 0);
	assert_addrs(IF0, "10.1.0.1/24 10.9.8.7/32 fd00:1::1/64");
	assert_int_equal(rtnl_addr_add(IF0, &a4), -EEXIST);
	assert_int_equal(rtnl_addr_add(IF0, &a6), -EEXIST);

	assert_int_equal(rtnl_addr_del(IF0, &a4), 0);
	assert_addrs(IF0, "10.9.8.7/32 fd00:1::1/64");
	assert_int_equal(rtnl_addr_del(IF0, &a4), -EADDRNOTAVAIL);
	assert_int_equal(rtnl_addr_del(IF0, &a6), 0);
	assert_int_equal(rtnl_addr_del(IF0, &b4), 0);
	assert_addrs(IF0, "");
	/* Other links keep theirs. */
	assert_addrs("lo", "127.0.0.1/8 ::1/128");
}

static void test_addr_sync(void **state)
{
	struct mg_prefix want[8];
	size_t n;
	int ll;

	NEED_NETNS();
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	n = pfxs("10.2.0.1/24 fd00:2::1/64 192.168.5.5/16", want, 8);
	assert_int_equal(rtnl_addr_sync(IF0, want, n), 0);
	assert_addrs(IF0, "10.2.0.1/24 192.168.5.5/16 fd00:2::1/64");

	/* Same set, in another order: nothing to do. */
	n = pfxs("192.168.5.5/16 10.2.0.1/24 fd00:2::1/64", want, 8);
	assert_int_equal(rtnl_addr_sync(IF0, want, n), 0);
	assert_addrs(IF0, "10.2.0.1/24 192.168.5.5/16 fd00:2::1/64");

	/*
	 * Keep one, drop one, add some, change prefix lengths (IPv6 needs the
	 * old one gone first), with a duplicate in the wanted set.
	 */
	n = pfxs("10.2.0.1/24 10.3.0.1/16 192.168.5.5/24 fd00:2::1/48 fd00:3::9/128 10.3.0.1/16",
		 want, 8);
	assert_int_equal(rtnl_addr_sync(IF0, want, n), 0);
	assert_addrs(IF0, "10.2.0.1/24 10.3.0.1/16 192.168.5.5/24 fd00:2::1/48 fd00:3::9/128");

	/* Nothing wanted: everything of ours goes, the link-local stays. */
	ll = raw_count_linklocal(IF0);
	/* A veth without its peer up has no carrier, so no link-local yet. */
	if (strcmp(link_kind, "veth") != 0)
		assert_true(ll > 0);
	assert_int_equal(rtnl_addr_sync(IF0, NULL, 0), 0);
	assert_addrs(IF0, "");
	assert_int_equal(raw_count_linklocal(IF0), ll);
	assert_addrs("lo", "127.0.0.1/8 ::1/128");
}

/* A primary IPv4 address takes its subnet's secondaries with it. */
static void test_addr_sync_secondaries(void **state)
{
	struct mg_prefix want[4];
	size_t n;

	NEED_NETNS();
	n = pfxs("10.4.0.1/24 10.4.0.2/24 10.4.0.3/24", want, 4);
	assert_int_equal(rtnl_addr_sync(IF0, want, n), 0);
	assert_addrs(IF0, "10.4.0.1/24 10.4.0.2/24 10.4.0.3/24");
	n = pfxs("10.4.0.2/24 10.4.0.3/24", want, 4);
	assert_int_equal(rtnl_addr_sync(IF0, want, n), 0);
	assert_addrs(IF0, "10.4.0.2/24 10.4.0.3/24");
}

static void test_addr_errors(void **state)
{
	struct mg_prefix bad = pfx("10.0.0.1/24"), good = pfx("10.5.0.1/24"), two[2];
	struct rtnl_addr_list l = { (struct mg_prefix *)1, 99 };

	NEED_NETNS();
	assert_int_equal(rtnl_addr_list("nosuch0", &l), -ENODEV);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	assert_int_equal(rtnl_addr_add("nosuch0", &good), -ENODEV);
	assert_int_equal(rtnl_addr_del("nosuch0", &good), -ENODEV);
	assert_int_equal(rtnl_addr_sync("nosuch0", &good, 1), -ENODEV);
	assert_int_equal(rtnl_addr_list(IF0, NULL), -EINVAL);

	bad.ip.family = AF_UNIX;
	assert_int_equal(rtnl_addr_add(IF0, &bad), -EINVAL);
	assert_int_equal(rtnl_addr_del(IF0, &bad), -EINVAL);
	bad.ip.family = 0;
	assert_int_equal(rtnl_addr_add(IF0, &bad), -EINVAL);
	/* A bad prefix is refused before the interface is looked up. */
	assert_int_equal(rtnl_addr_add("nosuch0", &bad), -EINVAL);
	bad = pfx("10.0.0.1/24");
	bad.len = 33;
	assert_int_equal(rtnl_addr_add(IF0, &bad), -EINVAL);
	bad = pfx("fd00::1/64");
	bad.len = 129;
	assert_int_equal(rtnl_addr_add(IF0, &bad), -EINVAL);
	assert_int_equal(rtnl_addr_add(IF0, NULL), -EINVAL);

	/* A sync with one bad entry changes nothing. */
	assert_int_equal(rtnl_addr_add(IF0, &good), 0);
	two[0] = pfx("10.6.0.1/24");
	two[1] = bad;
	assert_int_equal(rtnl_addr_sync(IF0, two, 2), -EINVAL);
	assert_int_equal(rtnl_addr_sync(IF0, NULL, 1), -EINVAL);
	assert_addrs(IF0, "10.5.0.1/24");
}

/* --- routes --------------------------------------------------------------- */

static void test_route_add_list_del(void **state)
{
	struct mg_prefix r1 = pfx("10.50.0.0/16"), r2 = pfx("192.168.77.0/24"),
			 r3 = pfx("fd10::/48"), d4 = pfx("0.0.0.0/0"), d6 = pfx("::/0"),
			 odd = pfx("10.60.1.2/16");

	NEED_NETNS();
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	assert_routes(IF0, "");
	assert_int_equal(rtnl_route_add(IF0, &r3), 0);
	assert_int_equal(rtnl_route_add(IF0, &r1), 0);
	assert_int_equal(rtnl_route_add(IF0, &r2), 0);
	assert_int_equal(rtnl_route_add(IF0, &d4), 0);
	assert_int_equal(rtnl_route_add(IF0, &d6), 0);
	/* Host bits are cleared. */
	assert_int_equal(rtnl_route_add(IF0, &odd), 0);
	assert_routes(IF0, "0.0.0.0/0 10.50.0.0/16 10.60.0.0/16 192.168.77.0/24 ::/0 fd10::/48");
	assert_int_equal(rtnl_route_add(IF0, &r1), -EEXIST);
	assert_int_equal(rtnl_route_add(IF0, &r3), -EEXIST);

	assert_int_equal(rtnl_route_del(IF0, &r1), 0);
	assert_int_equal(rtnl_route_del(IF0, &r1), -ESRCH);
	assert_int_equal(rtnl_route_del(IF0, &r3), 0);
	assert_int_equal(rtnl_route_del(IF0, &r3), -ESRCH);
	assert_int_equal(rtnl_route_del(IF0, &odd), 0);
	assert_routes(IF0, "0.0.0.0/0 192.168.77.0/24 ::/0");
	assert_int_equal(rtnl_route_del(IF0, &d4), 0);
	assert_int_equal(rtnl_route_del(IF0, &d6), 0);
	assert_int_equal(rtnl_route_del(IF0, &r2), 0);
	assert_routes(IF0, "");
}

static void test_route_sync_foreign(void **state)
{
	struct mg_prefix want[8], a = pfx("10.3.0.1/24");
	size_t n;

	NEED_NETNS();
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	/* The kernel's own routes come with these (proto kernel). */
	assert_int_equal(rtnl_addr_add(IF0, &a), 0);
	a = pfx("fd00:3::1/64");
	assert_int_equal(rtnl_addr_add(IF0, &a), 0);
	/* Someone else's routes through the same link. */
	assert_int_equal(raw_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, IF0,
				   "10.99.0.0/16"), 0);
	assert_int_equal(raw_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, IF0,
				   "fd99::/64"), 0);
	assert_routes(IF0, "");

	n = pfxs("10.51.0.0/16 172.16.0.0/12 fd20::/48 fd21::1/64", want, 8);
	assert_int_equal(rtnl_route_sync(IF0, want, n), 0);
	assert_routes(IF0, "10.51.0.0/16 172.16.0.0/12 fd20::/48 fd21::/64");

	/*
	 * Keep, drop, add. 10.3.0.0/24 and 10.99.0.0/16 already have someone
	 * else's route through the link: it is left as it is and not reported.
	 */
	n = pfxs("172.16.0.0/12 10.52.0.0/16 fd22::/56 10.3.0.0/24 10.99.0.0/16", want, 8);
	assert_int_equal(rtnl_route_sync(IF0, want, n), 0);
	assert_routes(IF0, "10.52.0.0/16 172.16.0.0/12 fd22::/56");

	assert_int_equal(rtnl_route_sync(IF0, NULL, 0), 0);
	assert_routes(IF0, "");

	/* The static routes are still there (adding them again collides)... */
	assert_int_equal(raw_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, IF0,
				   "10.99.0.0/16"), -EEXIST);
	assert_int_equal(raw_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, IF0,
				   "fd99::/64"), -EEXIST);
	/* ...and rtnl_route_del, which names our protocol, does not match them. */
	a = pfx("10.99.0.0/16");
	assert_int_equal(rtnl_route_del(IF0, &a), -ESRCH);
	a = pfx("fd99::/64");
	assert_int_equal(rtnl_route_del(IF0, &a), -ESRCH);
	assert_int_equal(raw_route(RTM_DELROUTE, 0, RTPROT_STATIC, IF0, "10.99.0.0/16"), 0);
	assert_int_equal(raw_route(RTM_DELROUTE, 0, RTPROT_STATIC, IF0, "fd99::/64"), 0);
	/* The kernel's subnet routes too. */
	assert_int_equal(raw_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_KERNEL, IF0,
				   "10.3.0.0/24"), -EEXIST);
}

/* Our routes through another link are not this link's business. */
static void test_route_other_link(void **state)
{
	struct mg_prefix r = pfx("10.70.0.0/16"), want = pfx("10.71.0.0/16");

	NEED_NETNS();
	assert_int_equal(rtnl_link_add(IF1, link_kind), 0);
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	assert_int_equal(rtnl_link_set_up(IF1, true), 0);
	assert_int_equal(rtnl_route_add(IF1, &r), 0);
	assert_routes(IF0, "");
	assert_int_equal(rtnl_route_sync(IF0, &want, 1), 0);
	assert_routes(IF0, "10.71.0.0/16");
	assert_routes(IF1, "10.70.0.0/16");
	assert_int_equal(rtnl_route_sync(IF0, NULL, 0), 0);
	assert_routes(IF1, "10.70.0.0/16");
	assert_int_equal(rtnl_route_del(IF0, &r), -ESRCH);
	assert_routes(IF1, "10.70.0.0/16");
}

static void test_route_errors(void **state)
{
	struct mg_prefix bad = pfx("10.0.0.0/8"), good = pfx("10.80.0.0/16");
	struct rtnl_route_list l = { (struct mg_prefix *)1, 99 };

	NEED_NETNS();
	assert_int_equal(rtnl_route_list("nosuch0", &l), -ENODEV);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	assert_int_equal(rtnl_route_add("nosuch0", &good), -ENODEV);
	assert_int_equal(rtnl_route_del("nosuch0", &good), -ENODEV);
	assert_int_equal(rtnl_route_sync("nosuch0", &good, 1), -ENODEV);
	assert_int_equal(rtnl_route_list(IF0, NULL), -EINVAL);

	bad.ip.family = AF_PACKET;
	assert_int_equal(rtnl_route_add(IF0, &bad), -EINVAL);
	assert_int_equal(rtnl_route_del(IF0, &bad), -EINVAL);
	assert_int_equal(rtnl_route_sync(IF0, &bad, 1), -EINVAL);
	assert_int_equal(rtnl_route_add("nosuch0", &bad), -EINVAL);
	bad = pfx("fd00::/8");
	bad.len = 200;
	assert_int_equal(rtnl_route_add(IF0, &bad), -EINVAL);
	assert_int_equal(rtnl_route_add(IF0, NULL), -EINVAL);
	assert_int_equal(rtnl_route_sync(IF0, NULL, 2), -EINVAL);

	/* IPv4 routes need the link up. */
	assert_int_equal(rtnl_route_add(IF0, &good), -ENETDOWN);
	assert_routes(IF0, "");
}

/* --- routes via a next hop, lookup ------------------------------------------ */

#define TAG 157123u
#define TAG2 157456u

static struct mg_ip ipa(const char *s)
{
	struct mg_ip ip;

	assert_int_equal(mg_ip_parse(s, &ip), 0);
	return ip;
}

static struct rtnl_via via(const char *dst, const char *ifname, const char *gw)
{
	struct rtnl_via v;

	memset(&v, 0, sizeof(v));
	v.dst = pfx(dst);
	v.oif = (int)if_nametoindex(ifname);
	if (gw)
		v.gateway = ipa(gw);
	return v;
}

/* The routes of one metric as "DST@IF[>GW] ...", in list order. */
static void assert_vias(unsigned metric, const char *want)
{
	char out[2048] = "", one[128], d[MG_PREFIX_STRLEN], g[MG_IP_STRLEN], ifn[IF_NAMESIZE];
	struct rtnl_via_list l;
	size_t i;

	assert_int_equal(rtnl_via_list(metric, &l), 0);
	for (i = 0; i < l.n; i++) {
		assert_int_equal(mg_prefix_format(&l.items[i].dst, d, sizeof(d)), 0);
		assert_non_null(if_indextoname((unsigned)l.items[i].oif, ifn));
		if (l.items[i].gateway.family)
			assert_int_equal(mg_ip_format(&l.items[i].gateway, g, sizeof(g)), 0);
		snprintf(one, sizeof(one), "%s%s@%s%s%s", i ? " " : "", d, ifn,
			 l.items[i].gateway.family ? ">" : "", l.items[i].gateway.family ? g : "");
		assert_true(strlen(out) + strlen(one) < sizeof(out));
		strcat(out, one);
	}
	free(l.items);
	assert_string_equal(out, want);
}

/* IF0 and IF1 up, with a subnet each for gateways to be on. */
static void two_links(void)
{
	struct mg_prefix a;

	assert_int_equal(rtnl_link_add(IF1, link_kind), 0);
	assert_int_equal(rtnl_link_set_up(IF0, true), 0);
	assert_int_equal(rtnl_link_set_up(IF1, true), 0);
	a = pfx("10.9.0.1/24");
	assert_int_equal(rtnl_addr_add(IF0, &a), 0);
	a = pfx("fd00:9::1/64");
	assert_int_equal(rtnl_addr_add(IF0, &a), 0);
	a = pfx("10.8.0.1/24");
	assert_int_equal(rtnl_addr_add(IF1, &a), 0);
}

static void test_route_via_add_list_del(void **state)
{
	struct mg_prefix d4 = pfx("203.0.113.7/32"), d6 = pfx("2001:db8::7/128"), dl = pfx("198.51.100.9/32"),
			 odd = pfx("203.0.113.77/24"), any = pfx("10.70.0.0/16");
	struct mg_ip g4 = ipa("10.9.0.254"), g6 = ipa("fd00:9::fe"), ll = ipa("fe80::1"), other = ipa("10.9.0.253");
	int if0, if1;

	NEED_NETNS();
	two_links();
	if0 = rtnl_ifindex(IF0);
	if1 = rtnl_ifindex(IF1);
	assert_vias(TAG, "");
	assert_int_equal(rtnl_route_add_via(if0, &d4, &g4, TAG), 0);
	assert_int_equal(rtnl_route_add_via(if0, &d6, &g6, TAG), 0);
	/* A link-local IPv6 gateway, a link without gateway, host bits cleared. */
	assert_int_equal(rtnl_route_add_via(if1, &d6, &ll, TAG2), 0);
	assert_int_equal(rtnl_route_add_via(if1, &dl, NULL, TAG), 0);
	assert_int_equal(rtnl_route_add_via(if0, &odd, &g4, TAG2), 0);
	assert_vias(TAG, "198.51.100.9/32@" IF1 " 203.0.113.7/32@" IF0 ">10.9.0.254 "
			 "2001:db8::7/128@" IF0 ">fd00:9::fe");
	assert_vias(TAG2, "203.0.113.0/24@" IF0 ">10.9.0.254 2001:db8::7/128@" IF1 ">fe80::1");
	assert_int_equal(rtnl_route_add_via(if0, &d4, &g4, TAG), -EEXIST);
	/* IPv4: one route per destination and metric, whatever its next hop. */
	assert_int_equal(rtnl_route_add_via(if0, &d4, &other, TAG), -EEXIST);

	/* The per-interface routes never see them, nor does their sync remove them. */
	assert_int_equal(rtnl_route_add(IF0, &any), 0);
	assert_routes(IF0, "10.70.0.0/16");
	assert_int_equal(rtnl_route_sync(IF0, NULL, 0), 0);
	assert_int_equal(rtnl_route_sync(IF1, NULL, 0), 0);
	assert_routes(IF0, "");
	assert_vias(TAG, "198.51.100.9/32@" IF1 " 203.0.113.7/32@" IF0 ">10.9.0.254 "
			 "2001:db8::7/128@" IF0 ">fd00:9::fe");

	/* Deletion names the next hop and the metric. */
	assert_int_equal(rtnl_route_del_via(if0, &d4, &other, TAG), -ESRCH);
	assert_int_equal(rtnl_route_del_via(if0, &d4, &g4, TAG2), -ESRCH);
	assert_int_equal(rtnl_route_del_via(if0, &d4, &g4, TAG), 0);
	assert_int_equal(rtnl_route_del_via(if0, &d4, &g4, TAG), -ESRCH);
	assert_int_equal(rtnl_route_del_via(if0, &d6, &g6, TAG2), -ESRCH);
	assert_int_equal(rtnl_route_del_via(if0, &d6, &g6, TAG), 0);
	assert_int_equal(rtnl_route_del_via(if1, &dl, NULL, TAG), 0);
	assert_vias(TAG, "");
	assert_vias(TAG2, "203.0.113.0/24@" IF0 ">10.9.0.254 2001:db8::7/128@" IF1 ">fe80::1");
	assert_int_equal(rtnl_route_del_via(if0, &odd, &g4, TAG2), 0);
	assert_int_equal(rtnl_route_del_via(if1, &d6, &ll, TAG2), 0);
	assert_vias(TAG2, "");
}

static void test_route_via_sync(void **state)
{
	struct rtnl_via want[8];
	struct mg_prefix d = pfx("192.0.2.50/32");
	struct mg_ip g = ipa("10.8.0.254");

	NEED_NETNS();
	two_links();
	/* Another tag's route and someone else's route to the same place stay. */
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF1), &d, &g, TAG2), 0);
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, RTN_UNICAST, IF0,
					"192.0.2.51/32", "10.9.0.200", TAG), 0);

	want[0] = via("192.0.2.50/32", IF0, "10.9.0.254");
	want[1] = via("2001:db8::50/128", IF0, "fd00:9::fe");
	want[2] = via("192.0.2.60/32", IF1, NULL);
	want[3] = want[0];	/* a duplicate */
	assert_int_equal(rtnl_via_sync(TAG, want, 4), 0);
	assert_vias(TAG, "192.0.2.50/32@" IF0 ">10.9.0.254 192.0.2.60/32@" IF1 " 2001:db8::50/128@" IF0
			 ">fd00:9::fe");
	/* Again: nothing to do. */
	assert_int_equal(rtnl_via_sync(TAG, want, 3), 0);
	assert_vias(TAG, "192.0.2.50/32@" IF0 ">10.9.0.254 192.0.2.60/32@" IF1 " 2001:db8::50/128@" IF0
			 ">fd00:9::fe");

	/* A new gateway, a new link, one gone, one new. */
	want[0] = via("192.0.2.50/32", IF0, "10.9.0.253");
	want[1] = via("2001:db8::50/128", IF1, "fe80::1");
	want[2] = via("192.0.2.70/32", IF1, "10.8.0.9");
	assert_int_equal(rtnl_via_sync(TAG, want, 3), 0);
	assert_vias(TAG, "192.0.2.50/32@" IF0 ">10.9.0.253 192.0.2.70/32@" IF1 ">10.8.0.9 2001:db8::50/128@" IF1
			 ">fe80::1");
	assert_vias(TAG2, "192.0.2.50/32@" IF1 ">10.8.0.254");

	/* A bad entry changes nothing. */
	want[3] = via("192.0.2.80/32", IF1, "fd00:9::fe");
	assert_int_equal(rtnl_via_sync(TAG, want, 4), -EINVAL);
	want[3] = via("192.0.2.80/32", IF1, NULL);
	want[3].oif = 0;
	assert_int_equal(rtnl_via_sync(TAG, want, 4), -EINVAL);
	assert_int_equal(rtnl_via_sync(TAG, NULL, 1), -EINVAL);
	/* An unreachable gateway: the rest is applied, the error reported. */
	want[3] = via("192.0.2.80/32", IF1, "10.77.0.1");
	assert_int_equal(rtnl_via_sync(TAG, want, 4), -ENETUNREACH);
	assert_vias(TAG, "192.0.2.50/32@" IF0 ">10.9.0.253 192.0.2.70/32@" IF1 ">10.8.0.9 2001:db8::50/128@" IF1
			 ">fe80::1");

	assert_int_equal(rtnl_via_sync(TAG, NULL, 0), 0);
	assert_vias(TAG, "");
	assert_vias(TAG2, "192.0.2.50/32@" IF1 ">10.8.0.254");
	/* The static route (same metric, not ours) is still there. */
	assert_int_equal(raw_route_full(RTM_DELROUTE, 0, RTPROT_STATIC, RTN_UNICAST, IF0, "192.0.2.51/32",
					"10.9.0.200", TAG), 0);
}

static void test_route_via_errors(void **state)
{
	struct mg_prefix d = pfx("192.0.2.1/32"), bad = pfx("192.0.2.1/32");
	struct mg_ip g6 = ipa("fd00:9::fe"), g4 = ipa("10.9.0.254");
	struct rtnl_via v;
	struct mg_ip ip = ipa("192.0.2.1");

	NEED_NETNS();
	two_links();
	assert_int_equal(rtnl_route_add_via(0, &d, &g4, TAG), -EINVAL);
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF0), &d, &g6, TAG), -EINVAL);
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF0), NULL, &g4, TAG), -EINVAL);
	bad.len = 33;
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF0), &bad, &g4, TAG), -EINVAL);
	assert_int_equal(rtnl_route_del_via(rtnl_ifindex(IF0), &bad, &g4, TAG), -EINVAL);
	/* A gateway off every subnet. */
	g4 = ipa("10.77.0.1");
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF0), &d, &g4, TAG), -ENETUNREACH);
	/* No such link. */
	assert_true(rtnl_route_add_via(9999, &d, NULL, TAG) < 0);
	assert_int_equal(rtnl_via_list(TAG, NULL), -EINVAL);
	assert_int_equal(rtnl_route_lookup(NULL, 0, &v), -EINVAL);
	assert_int_equal(rtnl_route_lookup(&ip, 0, NULL), -EINVAL);
	ip.family = AF_PACKET;
	assert_int_equal(rtnl_route_lookup(&ip, 0, &v), -EINVAL);
	assert_vias(TAG, "");
}

static void assert_lookup(const char *ip, int skip_oif, const char *dst, const char *ifname, const char *gw)
{
	struct mg_ip a = ipa(ip);
	struct rtnl_via v;
	char d[MG_PREFIX_STRLEN], g[MG_IP_STRLEN] = "";

	assert_int_equal(rtnl_route_lookup(&a, skip_oif, &v), 0);
	assert_int_equal(mg_prefix_format(&v.dst, d, sizeof(d)), 0);
	assert_string_equal(d, dst);
	assert_int_equal(v.oif, rtnl_ifindex(ifname));
	if (v.gateway.family)
		assert_int_equal(mg_ip_format(&v.gateway, g, sizeof(g)), 0);
	assert_string_equal(g, gw ? gw : "");
}

static void test_route_lookup(void **state)
{
	struct mg_prefix h1 = pfx("0.0.0.0/1"), h2 = pfx("128.0.0.0/1"), h6 = pfx("::/1"), e = pfx("203.0.113.7/32");
	struct mg_ip g = ipa("10.9.0.254"), ip;
	struct rtnl_via v;
	int if1;

	NEED_NETNS();
	two_links();
	if1 = rtnl_ifindex(IF1);
	ip = ipa("203.0.113.7");
	assert_int_equal(rtnl_route_lookup(&ip, 0, &v), -ENETUNREACH);
	ip = ipa("2001:db8::7");
	assert_int_equal(rtnl_route_lookup(&ip, 0, &v), -ENETUNREACH);

	/* Two default routes: the lower metric wins. */
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, RTN_UNICAST, IF0,
					"0.0.0.0/0", "10.9.0.200", 200), 0);
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_BOOT, RTN_UNICAST, IF0,
					"0.0.0.0/0", "10.9.0.254", 100), 0);
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, RTN_UNICAST, IF0,
					"::/0", "fe80::1", 0), 0);
	assert_lookup("203.0.113.7", 0, "0.0.0.0/0", IF0, "10.9.0.254");
	assert_lookup("2001:db8::7", 0, "::/0", IF0, "fe80::1");
	/* A subnet of a link: no gateway. */
	assert_lookup("10.8.0.77", 0, "10.8.0.0/24", IF1, NULL);
	assert_lookup("fd00:9::77", 0, "fd00:9::/64", IF0, NULL);

	/* Our own routes never count: the /1 halves, a host route of ours. */
	assert_int_equal(rtnl_route_add(IF1, &h1), 0);
	assert_int_equal(rtnl_route_add(IF1, &h2), 0);
	assert_int_equal(rtnl_route_add(IF1, &h6), 0);
	assert_int_equal(rtnl_route_add_via(rtnl_ifindex(IF0), &e, &g, TAG), 0);
	assert_lookup("203.0.113.7", 0, "0.0.0.0/0", IF0, "10.9.0.254");
	assert_lookup("2001:db8::7", 0, "::/0", IF0, "fe80::1");
	assert_lookup("10.8.0.77", 0, "10.8.0.0/24", IF1, NULL);

	/* Someone else's more specific route wins, unless it leaves by skip_oif. */
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, RTN_UNICAST, IF1,
					"203.0.113.0/24", NULL, 0), 0);
	assert_lookup("203.0.113.7", 0, "203.0.113.0/24", IF1, NULL);
	assert_lookup("203.0.113.7", if1, "0.0.0.0/0", IF0, "10.9.0.254");
	assert_lookup("203.0.113.8", if1, "0.0.0.0/0", IF0, "10.9.0.254");

	/* A blackhole is no route. */
	assert_int_equal(raw_route_full(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, RTPROT_STATIC, RTN_BLACKHOLE, NULL,
					"198.51.100.0/24", NULL, 0), 0);
	ip = ipa("198.51.100.1");
	assert_int_equal(rtnl_route_lookup(&ip, 0, &v), -ENETUNREACH);
	assert_lookup("198.51.101.1", 0, "0.0.0.0/0", IF0, "10.9.0.254");

	/* The link goes: its routes with it. */
	assert_int_equal(rtnl_link_delete(IF0), 0);
	ip = ipa("192.0.2.1");
	assert_int_equal(rtnl_route_lookup(&ip, if1, &v), -ENETUNREACH);
	assert_vias(TAG, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_add_list_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_sync_secondaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_add_list_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_sync_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_other_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_via_add_list_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_via_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_via_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_lookup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
