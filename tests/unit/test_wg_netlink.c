/*
 * The "wireguard" generic netlink messages: golden bytes of a SET_DEVICE,
 * splitting large requests, merging a multipart GET_DEVICE dump. The last
 * test runs against the kernel and skips where it has no WireGuard.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "wg/wg.h"
#include "wg/wg_genl.h"

#define FAMILY 0x1a
#define BOUND 4096

static void fill_key(mg_key k, uint8_t start)
{
	int i;

	for (i = 0; i < MG_KEY_LEN; i++)
		k[i] = (uint8_t)(start + i);
}

static struct wg_allowedip aip(const char *s)
{
	struct wg_allowedip a;

	assert_int_equal(wg_allowedip_parse(s, &a), 0);
	return a;
}

/* --- golden bytes ---------------------------------------------------------- */

static struct wg_device *golden_device(void)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct wg_peer *p;
	struct wg_allowedip a;

	assert_non_null(dev);
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	fill_key(dev->private_key, 0x01);
	dev->listen_port = 51820;
	p = wg_device_add_peer(dev);
	assert_non_null(p);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
	fill_key(p->public_key, 0x80);
	assert_int_equal(wg_endpoint_parse("192.0.2.1:51820", &p->endpoint), 0);
	p->persistent_keepalive = 25;
	a = aip("10.0.0.2/32");
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	a = aip("fd00::2/128");
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	return dev;
}

#define KEY32(s) s, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6, s + 7, s + 8, s + 9, \
	s + 10, s + 11, s + 12, s + 13, s + 14, s + 15, s + 16, s + 17, s + 18, s + 19, \
	s + 20, s + 21, s + 22, s + 23, s + 24, s + 25, s + 26, s + 27, s + 28, s + 29, \
	s + 30, s + 31

/* Little-endian host assumed for the host-order fields (x86, arm64). */
static const uint8_t golden_set[] = {
	/* nlmsghdr: len 224, type FAMILY, flags REQUEST|ACK, seq 1, pid 0 */
	0xe0, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x05, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* genlmsghdr: cmd SET_DEVICE (1), version 1 */
	0x01, 0x01, 0x00, 0x00,
	/* WGDEVICE_A_IFNAME (2): "wg0\0", len 8 */
	0x08, 0x00, 0x02, 0x00, 'w', 'g', '0', 0x00,
	/* WGDEVICE_A_PRIVATE_KEY (3), len 36 */
	0x24, 0x00, 0x03, 0x00, KEY32(0x01),
	/* WGDEVICE_A_LISTEN_PORT (6): u16 51820 = 0xca6c, len 6 + 2 pad */
	0x06, 0x00, 0x06, 0x00, 0x6c, 0xca, 0x00, 0x00,
	/* WGDEVICE_A_PEERS (8 | NLA_F_NESTED), len 152 */
	0x98, 0x00, 0x08, 0x80,
	/*  peer 0 (0 | NLA_F_NESTED), len 148 */
	0x94, 0x00, 0x00, 0x80,
	/*   WGPEER_A_PUBLIC_KEY (1), len 36 */
	0x24, 0x00, 0x01, 0x00, KEY32(0x80),
	/*   WGPEER_A_FLAGS (3): REPLACE_ALLOWEDIPS (2), len 8 */
	0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00,
	/*   WGPEER_A_ENDPOINT (4): sockaddr_in 192.0.2.1:51820, len 20 */
	0x14, 0x00, 0x04, 0x00,
	0x02, 0x00, 0xca, 0x6c, 0xc0, 0x00, 0x02, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/*   WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL (5): u16 25, len 6 + 2 pad */
	0x06, 0x00, 0x05, 0x00, 0x19, 0x00, 0x00, 0x00,
	/*   WGPEER_A_ALLOWEDIPS (9 | NLA_F_NESTED), len 72 */
	0x48, 0x00, 0x09, 0x80,
	/*    ip 0 (nested), len 28 */
	0x1c, 0x00, 0x00, 0x80,
	/*     FAMILY (1): AF_INET (2) */
	0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
	/*     IPADDR (2): 10.0.0.2 */
	0x08, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x02,
	/*     CIDR_MASK (3): 32, len 5 + 3 pad */
	0x05, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x00,
	/*    ip 1 (nested), len 40 */
	0x28, 0x00, 0x00, 0x80,
	/*     FAMILY: AF_INET6 (10) */
	0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00,
	/*     IPADDR: fd00::2, len 20 */
	0x14, 0x00, 0x02, 0x00,
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	/*     CIDR_MASK: 128 */
	0x05, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x00,
};

static void test_golden_set(void **state)
{
	struct wg_device *dev = golden_device();
	struct wg_genl_cursor cur = { 0 };
	uint8_t buf[BOUND];
	int len;

	(void)state;
	assert_int_equal(sizeof(golden_set), 224);
	len = wg_genl_build_set(buf, sizeof(buf), FAMILY, 1, dev, &cur);
	assert_int_equal(len, (int)sizeof(golden_set));
	assert_memory_equal(buf, golden_set, sizeof(golden_set));
	/* One message is the whole request. */
	assert_int_equal(wg_genl_build_set(buf, sizeof(buf), FAMILY, 2, dev, &cur), 0);
	wg_free_device(dev);
}

static void test_golden_get_request(void **state)
{
	static const uint8_t want[] = {
		/* len 28, type FAMILY, flags REQUEST|ACK|DUMP (0x305), seq 7 */
		0x1c, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x05, 0x03,
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* cmd GET_DEVICE (0), version 1 */
		0x00, 0x01, 0x00, 0x00,
		0x08, 0x00, 0x02, 0x00, 'w', 'g', '0', 0x00,
	};
	uint8_t buf[256];

	(void)state;
	assert_int_equal(wg_genl_build_get(buf, sizeof(buf), FAMILY, 7, "wg0"), (int)sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(wg_genl_build_get(buf, sizeof(buf), FAMILY, 7, "a/b"), -EINVAL);
}

static void test_empty_request_is_one_message(void **state)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct wg_genl_cursor cur = { 0 };
	uint8_t buf[BOUND];

	(void)state;
	/* Just the name: valid, applies nothing. */
	assert_int_equal(wg_genl_build_set(buf, sizeof(buf), FAMILY, 1, dev, &cur), 28);
	assert_int_equal(wg_genl_build_set(buf, sizeof(buf), FAMILY, 2, dev, &cur), 0);
	wg_free_device(dev);
}

static void test_bad_requests(void **state)
{
	struct wg_device *dev = golden_device();
	struct wg_genl_cursor cur = { 0 };
	uint8_t buf[BOUND];

	(void)state;
	/*
	 * Too small for even one allowed IP: the device fields (72 bytes) go
	 * alone, then the peer cannot be sent.
	 */
	assert_int_equal(wg_genl_build_set(buf, 100, FAMILY, 1, dev, &cur), 72);
	assert_int_equal(wg_genl_build_set(buf, 100, FAMILY, 2, dev, &cur), -EMSGSIZE);
	/* A peer without a public key. */
	memset(&cur, 0, sizeof(cur));
	dev->peers[0].flags &= ~(uint32_t)WG_PEER_HAS_PUBLIC_KEY;
	assert_int_equal(wg_genl_build_set(buf, sizeof(buf), FAMILY, 1, dev, &cur), -EINVAL);
	dev->peers[0].flags |= WG_PEER_HAS_PUBLIC_KEY;
	/* An impossible prefix length. */
	memset(&cur, 0, sizeof(cur));
	dev->peers[0].allowedips[0].cidr = 33;
	assert_int_equal(wg_genl_build_set(buf, sizeof(buf), FAMILY, 1, dev, &cur), -EINVAL);
	wg_free_device(dev);
}

/* --- splitting ------------------------------------------------------------- */

/* What a test-side reading of the SET messages found. */
struct seen_peer {
	mg_key key;
	uint32_t kflags;
	struct wg_allowedip *ips;
	size_t n;
};

struct seen {
	size_t n_msgs;
	size_t n_with_dev_flags;
	size_t n_with_private_key;
	struct seen_peer *peers;
	size_t n_peers;
	size_t n_continued;
};

static void seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n_peers; i++)
		free(s->peers[i].ips);
	free(s->peers);
}

/* Reads one SET_DEVICE message independently of wg_genl_parse_get. */
static void read_set_msg(const struct nlmsghdr *nlh, struct seen *s)
{
	const struct nlattr *a, *pa, *ips, *ip, *f;
	bool first_peer = true;

	s->n_msgs++;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case WGDEVICE_A_FLAGS:
			s->n_with_dev_flags++;
			assert_int_equal(mnl_attr_get_u32(a), WGDEVICE_F_REPLACE_PEERS);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			s->n_with_private_key++;
			break;
		case WGDEVICE_A_PEERS:
			mnl_attr_for_each_nested(pa, a) {
				struct seen_peer sp = { 0 }, *cur;
				bool has_key = false;

				mnl_attr_for_each_nested(f, pa) {
					if (mnl_attr_get_type(f) == WGPEER_A_PUBLIC_KEY) {
						memcpy(sp.key, mnl_attr_get_payload(f), MG_KEY_LEN);
						has_key = true;
					} else if (mnl_attr_get_type(f) == WGPEER_A_FLAGS) {
						sp.kflags = mnl_attr_get_u32(f);
					}
				}
				assert_true(has_key);
				if (first_peer && s->n_peers &&
				    !memcmp(s->peers[s->n_peers - 1].key, sp.key, MG_KEY_LEN)) {
					/* A continuation: never replaces what went before. */
					assert_false(sp.kflags & WGPEER_F_REPLACE_ALLOWEDIPS);
					s->n_continued++;
				} else {
					s->peers = realloc(s->peers, (s->n_peers + 1) * sizeof(*s->peers));
					assert_non_null(s->peers);
					s->peers[s->n_peers++] = sp;
				}
				cur = &s->peers[s->n_peers - 1];
				mnl_attr_for_each_nested(f, pa) {
					if (mnl_attr_get_type(f) != WGPEER_A_ALLOWEDIPS)
						continue;
					ips = f;
					mnl_attr_for_each_nested(ip, ips) {
						struct wg_allowedip x = { 0 };
						const struct nlattr *g;

						mnl_attr_for_each_nested(g, ip) {
							if (mnl_attr_get_type(g) == WGALLOWEDIP_A_FAMILY)
								x.family = mnl_attr_get_u16(g);
							else if (mnl_attr_get_type(g) == WGALLOWEDIP_A_IPADDR)
								memcpy(x.bytes, mnl_attr_get_payload(g),
								       mnl_attr_get_payload_len(g));
							else if (mnl_attr_get_type(g) == WGALLOWEDIP_A_CIDR_MASK)
								x.cidr = mnl_attr_get_u8(g);
						}
						cur->ips = realloc(cur->ips, (cur->n + 1) * sizeof(*cur->ips));
						assert_non_null(cur->ips);
						cur->ips[cur->n++] = x;
					}
				}
				first_peer = false;
			}
			break;
		}
	}
}

/* Builds every message of dev with the given bound and reads them back. */
static void build_all(const struct wg_device *dev, size_t bound, struct seen *s)
{
	struct wg_genl_cursor cur = { 0 };
	uint8_t *buf = malloc(bound);
	uint32_t seq = 100;
	int len;

	assert_non_null(buf);
	memset(s, 0, sizeof(*s));
	while ((len = wg_genl_build_set(buf, bound, FAMILY, seq++, dev, &cur)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

		assert_true((size_t)len <= bound);
		assert_int_equal(nlh->nlmsg_len, (uint32_t)len);
		assert_true(mnl_nlmsg_ok(nlh, len));
		read_set_msg(nlh, s);
		assert_true(s->n_msgs < 100000);
	}
	assert_int_equal(len, 0);
	free(buf);
}

/* The messages carried exactly dev's peers and allowed IPs, in order. */
static void assert_same_peers(const struct wg_device *dev, const struct seen *s)
{
	size_t i, j;

	assert_int_equal(s->n_peers, dev->n_peers);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		assert_memory_equal(s->peers[i].key, p->public_key, MG_KEY_LEN);
		assert_int_equal(s->peers[i].n, p->n_allowedips);
		for (j = 0; j < p->n_allowedips; j++)
			assert_int_equal(wg_allowedip_cmp(&s->peers[i].ips[j], &p->allowedips[j]), 0);
	}
}

static void add_uniform_peer(struct wg_device *dev, unsigned i)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	struct wg_allowedip a = { .family = AF_INET, .cidr = 32 };

	assert_non_null(p);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
	memset(p->public_key, 0, MG_KEY_LEN);
	memcpy(p->public_key, &i, sizeof(i));
	p->public_key[31] = 0x55;
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(51820);
	p->endpoint.sin.sin_addr.s_addr = htonl(0xc6120000 | i);
	p->persistent_keepalive = 25;
	a.ip4.s_addr = htonl(0x0a000000 | i);
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
}

static void test_split_1000_peers(void **state)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct seen s;
	unsigned i;

	(void)state;
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
	fill_key(dev->private_key, 1);
	dev->listen_port = 51820;
	for (i = 0; i < 1000; i++)
		add_uniform_peer(dev, i);
	build_all(dev, BOUND, &s);
	/*
	 * Each peer takes 4 (nest) + 36 (key) + 8 (flags) + 20 (endpoint) +
	 * 8 (keepalive) + 4 + 28 (one IPv4) = 108 bytes. A later message has
	 * 16 + 4 + 8 (name) + 4 (peers nest) = 32 bytes of overhead, so
	 * (4096 - 32) / 108 = 37 peers; the first also has 8 (flags) + 36 (key)
	 * + 8 (port) and still holds (4096 - 84) / 108 = 37. 1000 / 37 -> 28.
	 */
	assert_int_equal(s.n_msgs, 28);
	assert_int_equal(s.n_with_dev_flags, 1);
	assert_int_equal(s.n_with_private_key, 1);
	assert_int_equal(s.n_continued, 0);
	assert_same_peers(dev, &s);
	seen_free(&s);
	wg_free_device(dev);
}

static void test_split_peer_with_5000_ips(void **state)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct wg_allowedip a = { 0 };
	struct wg_peer *big;
	struct seen s;
	size_t min_msgs;
	unsigned i;

	(void)state;
	dev->flags = WG_DEVICE_REPLACE_PEERS;
	for (i = 0; i < 500; i++)
		add_uniform_peer(dev, i);
	big = wg_device_add_peer(dev);
	assert_non_null(big);
	big->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
	memset(big->public_key, 0xbb, MG_KEY_LEN);
	for (i = 0; i < 5000; i++) {
		if (i % 2) {
			a.family = AF_INET6;
			a.cidr = 128;
			memset(a.bytes, 0, 16);
			a.bytes[0] = 0xfd;
			memcpy(a.bytes + 12, &i, sizeof(i));
		} else {
			a.family = AF_INET;
			a.cidr = 32;
			a.ip4.s_addr = htonl(0x0b000000 | i);
		}
		assert_int_equal(wg_peer_add_allowedip(big, &a), 0);
	}
	for (i = 500; i < 1000; i++)
		add_uniform_peer(dev, i);
	build_all(dev, BOUND, &s);

	/* 2500 IPv4 (28 bytes) + 2500 IPv6 (40 bytes) need at least 42 messages alone. */
	min_msgs = (2500 * 28 + 2500 * 40) / (BOUND - 32) + 1;
	assert_true(s.n_msgs >= min_msgs + 27);
	assert_true(s.n_msgs <= min_msgs + 27 + 3);
	assert_int_equal(s.n_with_dev_flags, 1);
	assert_true(s.n_continued >= min_msgs - 1);
	assert_same_peers(dev, &s);
	/* The big peer's first fragment replaces, its continuations did not (checked while reading). */
	assert_true(s.peers[500].kflags & WGPEER_F_REPLACE_ALLOWEDIPS);
	seen_free(&s);
	wg_free_device(dev);
}

static void test_split_small_bound(void **state)
{
	struct wg_device *dev = golden_device();
	struct seen s;

	(void)state;
	/* Room for the head and one address per message: two messages. */
	build_all(dev, 224 - 40, &s);
	assert_int_equal(s.n_msgs, 2);
	assert_int_equal(s.n_continued, 1);
	assert_same_peers(dev, &s);
	seen_free(&s);
	wg_free_device(dev);
}

/* --- parsing a multipart dump ---------------------------------------------- */

static struct nlmsghdr *dump_msg(uint8_t *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	mg_key k;

	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = 1;
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	fill_key(k, 0x01);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, MG_KEY_LEN, k);
	fill_key(k, 0x21);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, MG_KEY_LEN, k);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
	return nlh;
}

static void put_ip(struct nlmsghdr *nlh, const char *s)
{
	struct wg_allowedip a = aip(s);
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);

	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, a.family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, a.family == AF_INET ? 4 : 16, a.bytes);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, a.cidr);
	mnl_attr_nest_end(nlh, n);
}

/* A peer as the kernel sends it; full == false is a continuation fragment. */
static void put_dump_peer(struct nlmsghdr *nlh, uint8_t keybyte, bool full,
			  const char *const *ips, size_t n)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *list;
	struct wg_ktimespec_test { int64_t sec, nsec; } ts = { 1700000000 + keybyte, 42 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4000) };
	mg_key k, psk = { 0 };
	size_t i;

	memset(k, keybyte, sizeof(k));
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, MG_KEY_LEN, k);
	if (full) {
		mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, MG_KEY_LEN, psk);
		inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, keybyte);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1000u * keybyte);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 2000u * keybyte);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	}
	list = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (i = 0; i < n; i++)
		put_ip(nlh, ips[i]);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_nest_end(nlh, peer);
}

static void test_parse_multipart_dump(void **state)
{
	static const char *const a_ips[] = { "10.0.0.1/32", "fd00::1/128" };
	static const char *const b1_ips[] = { "10.0.0.2/32", "10.1.0.0/16" };
	static const char *const b2_ips[] = { "10.2.0.0/16", "10.3.0.0/16", "fd00:2::/64" };
	static const char *const c_ips[] = { "10.0.0.3/32" };
	uint8_t m1[2048], m2[2048];
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	struct wg_device *dev = wg_device_new(NULL);
	char buf[WG_ENDPOINT_STRLEN];
	mg_key k;

	(void)state;
	nlh = dump_msg(m1, 5);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_dump_peer(nlh, 0xaa, true, a_ips, 2);
	put_dump_peer(nlh, 0xbb, true, b1_ips, 2);
	mnl_attr_nest_end(nlh, peers);

	nlh = dump_msg(m2, 5);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_dump_peer(nlh, 0xbb, false, b2_ips, 3);	/* B continues */
	put_dump_peer(nlh, 0xcc, true, c_ips, 1);
	mnl_attr_nest_end(nlh, peers);

	assert_int_equal(wg_genl_parse_get((struct nlmsghdr *)m1, dev), 0);
	assert_int_equal(wg_genl_parse_get((struct nlmsghdr *)m2, dev), 0);

	assert_string_equal(dev->name, "wg0");
	assert_int_equal(dev->ifindex, 7);
	assert_int_equal(dev->listen_port, 51820);
	assert_true(dev->flags & WG_DEVICE_HAS_PRIVATE_KEY);
	assert_true(dev->flags & WG_DEVICE_HAS_PUBLIC_KEY);
	fill_key(k, 0x21);
	assert_memory_equal(dev->public_key, k, MG_KEY_LEN);

	assert_int_equal(dev->n_peers, 3);
	assert_int_equal(dev->peers[0].public_key[0], 0xaa);
	assert_int_equal(dev->peers[0].n_allowedips, 2);
	assert_int_equal(dev->peers[1].public_key[0], 0xbb);
	assert_int_equal(dev->peers[1].n_allowedips, 5);
	assert_int_equal(wg_allowedip_format(&dev->peers[1].allowedips[4], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fd00:2::/64");
	/* The continuation kept the fields of the first fragment. */
	assert_int_equal(dev->peers[1].persistent_keepalive, 0xbb);
	assert_int_equal(dev->peers[1].last_handshake_sec, 1700000000 + 0xbb);
	assert_int_equal(dev->peers[1].last_handshake_nsec, 42);
	assert_int_equal(dev->peers[1].rx_bytes, 1000u * 0xbb);
	assert_int_equal(dev->peers[1].tx_bytes, 2000u * 0xbb);
	assert_false(dev->peers[1].flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(wg_endpoint_format(&dev->peers[1].endpoint, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[2001:db8::1]:4000");
	assert_int_equal(dev->peers[2].public_key[0], 0xcc);
	assert_int_equal(dev->peers[2].n_allowedips, 1);
	wg_free_device(dev);
}

static void test_parse_malformed(void **state)
{
	uint8_t m[1024];
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer, *list, *ip;
	struct wg_device *dev;
	uint8_t shortkey[31] = { 0 };
	uint8_t v6[16] = { 0 };

	(void)state;
	/* A public key of 31 bytes. */
	nlh = dump_msg(m, 1);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, sizeof(shortkey), shortkey);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	dev = wg_device_new(NULL);
	assert_int_equal(wg_genl_parse_get(nlh, dev), -EBADMSG);
	wg_free_device(dev);

	/* AF_INET with a 16-byte address. */
	nlh = dump_msg(m, 1);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	memset(shortkey, 1, sizeof(shortkey));
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, MG_KEY_LEN, (mg_key){ 1 });
	list = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	ip = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, sizeof(v6), v6);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	dev = wg_device_new(NULL);
	assert_int_equal(wg_genl_parse_get(nlh, dev), -EBADMSG);
	wg_free_device(dev);

	/* A peer without a public key. */
	nlh = dump_msg(m, 1);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 5);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	dev = wg_device_new(NULL);
	assert_int_equal(wg_genl_parse_get(nlh, dev), -EBADMSG);
	wg_free_device(dev);
}

static void test_family_request_and_reply(void **state)
{
	static const uint8_t want[] = {
		/* len 36, GENL_ID_CTRL (0x10), REQUEST|ACK, seq 3 */
		0x24, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00,
		0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* CTRL_CMD_GETFAMILY (3), version 1 */
		0x03, 0x01, 0x00, 0x00,
		/* CTRL_ATTR_FAMILY_NAME (2): "wireguard\0", len 14 + 2 pad */
		0x0e, 0x00, 0x02, 0x00, 'w', 'i', 'r', 'e', 'g', 'u', 'a', 'r', 'd', 0x00, 0x00, 0x00,
	};
	uint8_t buf[256];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	uint16_t id = 0;

	(void)state;
	assert_int_equal(wg_genl_build_getfamily(buf, sizeof(buf), 3), (int)sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_NEWFAMILY;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "wireguard");
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x22);
	assert_int_equal(wg_genl_parse_family(nlh, &id), 0);
	assert_int_equal(id, 0x22);
}

/* --- against the kernel, where it has WireGuard ------------------------------ */

static void test_kernel_round_trip(void **state)
{
	struct wg_device *want, *have = NULL, *diff;
	char name[IFNAMSIZ];
	int ret;

	(void)state;
	if (geteuid() != 0 || !wg_kernel_available() || getenv("MESHGATE_WG_USERSPACE")) {
		print_message("# skipped: needs root and a kernel with WireGuard\n");
		skip();
	}
	snprintf(name, sizeof(name), "mgtk%d", (int)getpid());
	assert_int_equal(mg_crypto_init(), 0);
	want = golden_device();
	strcpy(want->name, name);
	mg_key_generate_private(want->private_key);
	want->listen_port = 0;
	want->flags &= ~(uint32_t)WG_DEVICE_HAS_LISTEN_PORT;

	ret = wg_add_interface(name);
	assert_int_equal(ret, 0);
	assert_int_equal(wg_backend_of(name), WG_BACKEND_KERNEL);
	ret = wg_set_device(want);
	if (ret == 0)
		ret = wg_get_device(name, &have);
	if (ret == 0) {
		diff = wg_diff(have, want);
		ret = diff && wg_device_is_empty(diff) ? 0 : -EAGAIN;
		wg_free_device(diff);
	}
	wg_del_interface(name);
	assert_int_equal(ret, 0);
	assert_int_equal(have->n_peers, 1);
	assert_int_equal(have->peers[0].n_allowedips, 2);
	wg_free_device(have);
	wg_free_device(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_set),
		cmocka_unit_test(test_golden_get_request),
		cmocka_unit_test(test_empty_request_is_one_message),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_split_1000_peers),
		cmocka_unit_test(test_split_peer_with_5000_ips),
		cmocka_unit_test(test_split_small_bound),
		cmocka_unit_test(test_parse_multipart_dump),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_family_request_and_reply),
		cmocka_unit_test(test_kernel_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
