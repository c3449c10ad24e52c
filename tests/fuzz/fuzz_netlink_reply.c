/*
 * Fuzzer: the kernel's WireGuard GET_DEVICE dump (appliance/wg/wg_genl.c).
 *
 * The first byte picks the parser: 'f' for the CTRL_CMD_GETFAMILY reply
 * (wg_genl_parse_family), anything else for the dump; the rest is a
 * buffer of netlink messages, handed over as wg_kernel.c does: mnl_cb_run
 * validates the message headers and the callback merges each message into
 * one device with wg_genl_parse_get until the first error.
 *
 * Invariants for a parsed device: every peer has a public key, every
 * allowed IP a valid family and length, the name is a C string; the device
 * written back as one GET_DEVICE message parses to the same device; and
 * wg_genl_build_set turns it into SET_DEVICE messages (small buffers, so
 * peers get split) that carry every allowed IP exactly once.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "wg/wg_genl.h"

#define FAMILY 0x20
#define SET_BUF 400

struct ctx {
	struct wg_device *dev;
	int err;
	unsigned msgs;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctx *c = data;

	c->msgs++;
	if (!c->err)
		c->err = wg_genl_parse_get(nlh, c->dev);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	uint16_t id = 0;
	int *err = data;

	*err = wg_genl_parse_family(nlh, &id);
	assert(*err == 0 || *err == -EBADMSG);
	return MNL_CB_OK;
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static void check_device(const struct wg_device *dev)
{
	size_t i, j;

	assert(memchr(dev->name, '\0', sizeof(dev->name)));
	assert(dev->n_peers <= dev->cap_peers);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		assert(p->flags & WG_PEER_HAS_PUBLIC_KEY);
		assert(p->n_allowedips <= p->cap_allowedips);
		assert(p->last_handshake_sec >= 0);
		assert(p->last_handshake_nsec >= 0 && p->last_handshake_nsec <= 999999999);
		assert(p->endpoint.sa.sa_family == AF_UNSPEC || p->endpoint.sa.sa_family == AF_INET ||
		       p->endpoint.sa.sa_family == AF_INET6);
		for (j = 0; j < p->n_allowedips; j++) {
			const struct wg_allowedip *a = &p->allowedips[j];

			assert((a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128));
		}
	}
}

/* The device as the kernel would dump it, in one message (NULL: too big for one). */
static void *as_dump(const struct wg_device *dev, size_t *size)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct nlattr *peers, *peer, *ips, *ip;
	size_t i, j, n = 256;
	void *buf;

	for (i = 0; i < dev->n_peers; i++)
		n += 256 + dev->peers[i].n_allowedips * 40;
	if (n > 60000)
		return NULL;
	buf = calloc(1, n);
	assert(buf);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, dev->ifindex);
	if (dev->name[0])
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, dev->name);
	if (!zero(dev->private_key, MG_KEY_LEN))
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, MG_KEY_LEN, dev->private_key);
	if (!zero(dev->public_key, MG_KEY_LEN))
		mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, MG_KEY_LEN, dev->public_key);
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, dev->listen_port);
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, dev->fwmark);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		int64_t ts[2] = { p->last_handshake_sec, p->last_handshake_nsec };

		peer = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, MG_KEY_LEN, p->public_key);
		mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, MG_KEY_LEN, p->preshared_key);
		if (p->endpoint.sa.sa_family == AF_INET)
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(p->endpoint.sin), &p->endpoint.sin);
		else if (p->endpoint.sa.sa_family == AF_INET6)
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(p->endpoint.sin6), &p->endpoint.sin6);
		if (p->flags & WG_PEER_HAS_KEEPALIVE)
			mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->persistent_keepalive);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, p->rx_bytes);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, p->tx_bytes);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (j = 0; j < p->n_allowedips; j++) {
			const struct wg_allowedip *a = &p->allowedips[j];

			ip = mnl_attr_nest_start(nlh, 0);
			mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, a->family);
			mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, a->family == AF_INET ? 4 : 16, a->bytes);
			mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, a->cidr);
			mnl_attr_nest_end(nlh, ip);
		}
		mnl_attr_nest_end(nlh, ips);
		mnl_attr_nest_end(nlh, peer);
	}
	mnl_attr_nest_end(nlh, peers);
	assert(nlh->nlmsg_len <= n);
	*size = nlh->nlmsg_len;
	return buf;
}

#define KEY_FLAGS (WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY)

static void same_device(const struct wg_device *a, const struct wg_device *b)
{
	size_t i, j;

	assert(!strcmp(a->name, b->name) && a->ifindex == b->ifindex);
	/* A key attribute repeated as zeroes keeps its flag: compare the keys. */
	assert((a->flags & ~KEY_FLAGS) == (b->flags & ~KEY_FLAGS));
	assert(!memcmp(a->private_key, b->private_key, MG_KEY_LEN));
	assert(!memcmp(a->public_key, b->public_key, MG_KEY_LEN));
	assert(a->listen_port == b->listen_port && a->fwmark == b->fwmark);
	assert(a->n_peers == b->n_peers);
	for (i = 0; i < a->n_peers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		assert((p->flags & ~WG_PEER_HAS_PRESHARED_KEY) == (q->flags & ~WG_PEER_HAS_PRESHARED_KEY));
		assert(!memcmp(p->public_key, q->public_key, MG_KEY_LEN));
		assert(!memcmp(p->preshared_key, q->preshared_key, MG_KEY_LEN));
		assert(wg_endpoint_equal(&p->endpoint, &q->endpoint));
		assert(p->persistent_keepalive == q->persistent_keepalive);
		assert(p->last_handshake_sec == q->last_handshake_sec);
		assert(p->last_handshake_nsec == q->last_handshake_nsec);
		assert(p->rx_bytes == q->rx_bytes && p->tx_bytes == q->tx_bytes);
		assert(p->n_allowedips == q->n_allowedips);
		for (j = 0; j < p->n_allowedips; j++)
			assert(p->allowedips[j].family == q->allowedips[j].family &&
			       p->allowedips[j].cidr == q->allowedips[j].cidr &&
			       !memcmp(p->allowedips[j].bytes, q->allowedips[j].bytes, 16));
	}
}

/* Allowed IPs in one SET_DEVICE message. */
static size_t count_set_aips(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *peer, *pa, *ip;
	size_t n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS)
			continue;
		mnl_attr_for_each_nested(peer, a) {
			mnl_attr_for_each_nested(pa, peer) {
				if (mnl_attr_get_type(pa) != WGPEER_A_ALLOWEDIPS)
					continue;
				mnl_attr_for_each_nested(ip, pa)
					n++;
			}
		}
	}
	return n;
}

static void check_build_set(struct wg_device *dev)
{
	struct wg_genl_cursor cur = { 0 };
	static uint8_t buf[SET_BUF] __attribute__((aligned(8)));
	size_t total = 0, want = 0, i, msgs = 0;
	int n;

	for (i = 0; i < dev->n_peers; i++)
		want += dev->peers[i].n_allowedips;
	strcpy(dev->name, "wg0");
	for (;;) {
		n = wg_genl_build_set(buf, sizeof(buf), FAMILY, 1, dev, &cur);
		assert(n >= 0);
		if (n == 0)
			break;
		assert((size_t)n <= sizeof(buf));
		assert(((struct nlmsghdr *)buf)->nlmsg_len == (uint32_t)n);
		assert(mnl_nlmsg_ok((struct nlmsghdr *)buf, n));
		total += count_set_aips((struct nlmsghdr *)buf);
		/* Each message makes progress: at most one per allowed IP and peer, plus one. */
		assert(++msgs <= want + dev->n_peers + 1);
	}
	assert(total == want);
}

/*
 * libmnl 1.0.4's mnl_nlmsg_ok compares (int)nlmsg_len <= len, so a header
 * claiming 2 GiB or more passes as a whole message and mnl_cb_run walks off
 * the buffer. Only the kernel (or root) can write to the agent's generic
 * netlink socket and the kernel never sends such a length, so such inputs
 * are left out here: they would only find that libmnl bug again (see
 * tests/fuzz/crashes/netlink_reply-*).
 */
static bool lengths_sane(const uint8_t *buf, size_t size)
{
	const struct nlmsghdr *nlh;
	size_t off = 0;

	while (size - off >= sizeof(*nlh)) {
		nlh = (const struct nlmsghdr *)(buf + off);
		if (nlh->nlmsg_len >= 0x80000000u)
			return false;
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > size - off)
			return true;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (off > size)
			return true;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { 0 };
	struct wg_device *again;
	void *buf, *dump;
	size_t dump_len;
	int ret, err = 0;

	if (size < 1)
		return 0;
	/* Netlink buffers are aligned; ours must be too. */
	buf = malloc(size - 1 ? size - 1 : 1);
	assert(buf);
	memcpy(buf, data + 1, size - 1);
	if (!lengths_sane(buf, size - 1)) {
		free(buf);
		return 0;
	}
	if (data[0] == 'f') {
		mnl_cb_run(buf, size - 1, 0, 0, family_cb, &err);
		free(buf);
		return 0;
	}

	c.dev = wg_device_new(NULL);
	assert(c.dev);
	ret = mnl_cb_run(buf, size - 1, 0, 0, get_cb, &c);
	free(buf);
	if (ret < 0 || c.err || !c.msgs) {
		assert(c.err <= 0);
		wg_free_device(c.dev);
		return 0;
	}
	check_device(c.dev);

	dump = as_dump(c.dev, &dump_len);
	if (dump) {
		again = wg_device_new(NULL);
		assert(again);
		ret = wg_genl_parse_get(dump, again);
		assert(ret == 0);
		same_device(c.dev, again);
		wg_free_device(again);
		free(dump);
	}
	check_build_set(c.dev);
	wg_free_device(c.dev);
	return 0;
}
