/*
 * Building and parsing the messages of the "wireguard" generic netlink
 * family. Nothing here touches a socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "wg/wg_genl.h"

/* The kernel's struct __kernel_timespec. */
struct wg_ktimespec {
	int64_t sec;
	int64_t nsec;
};

static struct nlmsghdr *start_msg(void *buf, size_t len, uint16_t type, uint16_t flags,
				  uint32_t seq, uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*g)))
		return NULL;
	/*
	 * libmnl (1.0.4) does not clear attribute padding: start from zeroes
	 * so no stale bytes (a previous message's key) go out.
	 */
	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* --- SET_DEVICE ----------------------------------------------------------- */

static uint32_t peer_kflags(uint32_t flags)
{
	uint32_t k = 0;

	if (flags & WG_PEER_REMOVE_ME)
		k |= WGPEER_F_REMOVE_ME;
	if (flags & WG_PEER_REPLACE_ALLOWEDIPS)
		k |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags & WG_PEER_UPDATE_ONLY)
		k |= WGPEER_F_UPDATE_ONLY;
	return k;
}

static bool put_device(struct nlmsghdr *nlh, size_t len, const struct wg_device *dev)
{
	if ((dev->flags & WG_DEVICE_REPLACE_PEERS) &&
	    !mnl_attr_put_check(nlh, len, WGDEVICE_A_FLAGS, sizeof(uint32_t),
				&(uint32_t){ WGDEVICE_F_REPLACE_PEERS }))
		return false;
	if ((dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
	    !mnl_attr_put_check(nlh, len, WGDEVICE_A_PRIVATE_KEY, MG_KEY_LEN, dev->private_key))
		return false;
	if ((dev->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
	    !mnl_attr_put_check(nlh, len, WGDEVICE_A_LISTEN_PORT, sizeof(uint16_t), &dev->listen_port))
		return false;
	if ((dev->flags & WG_DEVICE_HAS_FWMARK) &&
	    !mnl_attr_put_check(nlh, len, WGDEVICE_A_FWMARK, sizeof(uint32_t), &dev->fwmark))
		return false;
	return true;
}

/* The peer's own attributes; a continuation carries only key and flags. */
static bool put_peer_head(struct nlmsghdr *nlh, size_t len, const struct wg_peer *p, bool cont)
{
	uint32_t kflags = peer_kflags(p->flags);

	if (cont)
		kflags &= ~(uint32_t)WGPEER_F_REPLACE_ALLOWEDIPS;
	if (!mnl_attr_put_check(nlh, len, WGPEER_A_PUBLIC_KEY, MG_KEY_LEN, p->public_key))
		return false;
	if (kflags && !mnl_attr_put_check(nlh, len, WGPEER_A_FLAGS, sizeof(kflags), &kflags))
		return false;
	if (cont || (p->flags & WG_PEER_REMOVE_ME))
		return true;
	if ((p->flags & WG_PEER_HAS_PRESHARED_KEY) &&
	    !mnl_attr_put_check(nlh, len, WGPEER_A_PRESHARED_KEY, MG_KEY_LEN, p->preshared_key))
		return false;
	if (p->endpoint.sa.sa_family == AF_INET &&
	    !mnl_attr_put_check(nlh, len, WGPEER_A_ENDPOINT, sizeof(p->endpoint.sin), &p->endpoint.sin))
		return false;
	if (p->endpoint.sa.sa_family == AF_INET6 &&
	    !mnl_attr_put_check(nlh, len, WGPEER_A_ENDPOINT, sizeof(p->endpoint.sin6), &p->endpoint.sin6))
		return false;
	if ((p->flags & WG_PEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_check(nlh, len, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, sizeof(uint16_t),
				&p->persistent_keepalive))
		return false;
	return true;
}

static bool put_allowedip(struct nlmsghdr *nlh, size_t len, const struct wg_allowedip *a)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, len, 0);

	if (!nest)
		return false;
	if (!mnl_attr_put_check(nlh, len, WGALLOWEDIP_A_FAMILY, sizeof(uint16_t), &a->family) ||
	    !mnl_attr_put_check(nlh, len, WGALLOWEDIP_A_IPADDR, a->family == AF_INET ? 4 : 16, a->bytes) ||
	    !mnl_attr_put_check(nlh, len, WGALLOWEDIP_A_CIDR_MASK, sizeof(uint8_t), &a->cidr)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool allowedip_ok(const struct wg_allowedip *a)
{
	return (a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128);
}

/*
 * Adds as much of peer cur->peer as fits. Returns 1 when the whole rest of
 * the peer went in, 0 when the message is full (cur tells what is left),
 * -errno on a bad peer.
 */
static int put_peer(struct nlmsghdr *nlh, size_t len, const struct wg_peer *p,
		    struct wg_genl_cursor *cur)
{
	struct nlattr *peer_nest, *ips_nest = NULL;
	size_t before = cur->aip;

	if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY))
		return -EINVAL;
	peer_nest = mnl_attr_nest_start_check(nlh, len, 0);
	if (!peer_nest)
		return 0;
	if (!put_peer_head(nlh, len, p, cur->aip > 0))
		goto cancel;
	if (!(p->flags & WG_PEER_REMOVE_ME) && cur->aip < p->n_allowedips) {
		ips_nest = mnl_attr_nest_start_check(nlh, len, WGPEER_A_ALLOWEDIPS);
		if (!ips_nest)
			goto cancel;
		for (; cur->aip < p->n_allowedips; cur->aip++) {
			if (!allowedip_ok(&p->allowedips[cur->aip])) {
				mnl_attr_nest_cancel(nlh, peer_nest);
				cur->aip = before;
				return -EINVAL;
			}
			if (!put_allowedip(nlh, len, &p->allowedips[cur->aip]))
				break;
		}
		if (cur->aip == before)
			goto cancel;	/* not one address fitted: all of it next time */
		mnl_attr_nest_end(nlh, ips_nest);
		mnl_attr_nest_end(nlh, peer_nest);
		if (cur->aip < p->n_allowedips)
			return 0;
	} else {
		mnl_attr_nest_end(nlh, peer_nest);
	}
	cur->peer++;
	cur->aip = 0;
	return 1;
cancel:
	mnl_attr_nest_cancel(nlh, peer_nest);
	return 0;
}

int wg_genl_build_set(void *buf, size_t len, uint16_t family, uint32_t seq,
		      const struct wg_device *dev, struct wg_genl_cursor *cur)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	bool first = !cur->started;
	size_t n_in = 0;
	int ret;

	if (cur->started && cur->peer >= dev->n_peers)
		return 0;
	if (!wg_ifname_valid(dev->name))
		return -EINVAL;
	nlh = start_msg(buf, len, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE,
			WG_GENL_VERSION);
	if (!nlh || !mnl_attr_put_strz_check(nlh, len, WGDEVICE_A_IFNAME, dev->name))
		return -EMSGSIZE;
	if (!cur->started) {
		if (!put_device(nlh, len, dev))
			return -EMSGSIZE;
		cur->started = true;
	}
	if (cur->peer < dev->n_peers) {
		peers = mnl_attr_nest_start_check(nlh, len, WGDEVICE_A_PEERS);
		if (!peers)
			return -EMSGSIZE;
		while (cur->peer < dev->n_peers) {
			size_t peer_before = cur->peer, aip_before = cur->aip;

			ret = put_peer(nlh, len, &dev->peers[cur->peer], cur);
			if (ret < 0)
				return ret;
			if (cur->peer != peer_before || cur->aip != aip_before)
				n_in++;
			if (ret == 0)
				break;
		}
		if (n_in == 0 && !first)
			return -EMSGSIZE;	/* not even one peer fragment fits */
		if (n_in == 0)
			mnl_attr_nest_cancel(nlh, peers);	/* peers from the next message on */
		else
			mnl_attr_nest_end(nlh, peers);
	}
	return (int)nlh->nlmsg_len;
}

/* --- GET_DEVICE ------------------------------------------------------------ */

int wg_genl_build_get(void *buf, size_t len, uint16_t family, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	nlh = start_msg(buf, len, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq,
			WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	if (!nlh || !mnl_attr_put_strz_check(nlh, len, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static int parse_allowedip(const struct nlattr *nest, struct wg_peer *peer)
{
	const struct nlattr *a;
	struct wg_allowedip aip = { 0 };
	bool have_family = false, have_addr = false, have_cidr = false;
	const void *addr = NULL;
	uint16_t addr_len = 0;

	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case WGALLOWEDIP_A_FAMILY:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			aip.family = mnl_attr_get_u16(a);
			have_family = true;
			break;
		case WGALLOWEDIP_A_IPADDR:
			addr = mnl_attr_get_payload(a);
			addr_len = mnl_attr_get_payload_len(a);
			have_addr = true;
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
				return -EBADMSG;
			aip.cidr = mnl_attr_get_u8(a);
			have_cidr = true;
			break;
		}
	}
	if (!have_family || !have_addr || !have_cidr)
		return -EBADMSG;
	if (!(aip.family == AF_INET && addr_len == 4) && !(aip.family == AF_INET6 && addr_len == 16))
		return -EBADMSG;
	if (!allowedip_ok(&aip))
		return -EBADMSG;
	memcpy(aip.bytes, addr, addr_len);
	return wg_peer_add_allowedip(peer, &aip);
}

enum {
	SEEN_PSK = 1 << 0,
	SEEN_ENDPOINT = 1 << 1,
	SEEN_KEEPALIVE = 1 << 2,
	SEEN_HANDSHAKE = 1 << 3,
	SEEN_RX = 1 << 4,
	SEEN_TX = 1 << 5,
};

/* Parses one peer nest into p (zeroed by the caller); *seen says what it had. */
static int parse_peer(const struct nlattr *nest, struct wg_peer *p, unsigned *seen)
{
	const struct nlattr *a, *ip;
	struct wg_ktimespec ts;
	uint16_t n;
	int ret;

	*seen = 0;
	mnl_attr_for_each_nested(a, nest) {
		n = mnl_attr_get_payload_len(a);
		switch (mnl_attr_get_type(a)) {
		case WGPEER_A_PUBLIC_KEY:
			if (n != MG_KEY_LEN)
				return -EBADMSG;
			memcpy(p->public_key, mnl_attr_get_payload(a), MG_KEY_LEN);
			p->flags |= WG_PEER_HAS_PUBLIC_KEY;
			break;
		case WGPEER_A_PRESHARED_KEY:
			if (n != MG_KEY_LEN)
				return -EBADMSG;
			memcpy(p->preshared_key, mnl_attr_get_payload(a), MG_KEY_LEN);
			if (!is_zero(p->preshared_key, MG_KEY_LEN))
				p->flags |= WG_PEER_HAS_PRESHARED_KEY;
			*seen |= SEEN_PSK;
			break;
		case WGPEER_A_ENDPOINT:
			memset(&p->endpoint, 0, sizeof(p->endpoint));
			if (n == sizeof(struct sockaddr_in) &&
			    ((const struct sockaddr *)mnl_attr_get_payload(a))->sa_family == AF_INET)
				memcpy(&p->endpoint.sin, mnl_attr_get_payload(a), n);
			else if (n == sizeof(struct sockaddr_in6) &&
				 ((const struct sockaddr *)mnl_attr_get_payload(a))->sa_family == AF_INET6)
				memcpy(&p->endpoint.sin6, mnl_attr_get_payload(a), n);
			else
				return -EBADMSG;
			*seen |= SEEN_ENDPOINT;
			break;
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			p->persistent_keepalive = mnl_attr_get_u16(a);
			p->flags |= WG_PEER_HAS_KEEPALIVE;
			*seen |= SEEN_KEEPALIVE;
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME:
			if (n != sizeof(ts))
				return -EBADMSG;
			memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
			if (ts.sec < 0 || ts.nsec < 0 || ts.nsec > 999999999)
				return -EBADMSG;
			p->last_handshake_sec = ts.sec;
			p->last_handshake_nsec = ts.nsec;
			*seen |= SEEN_HANDSHAKE;
			break;
		case WGPEER_A_RX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EBADMSG;
			p->rx_bytes = mnl_attr_get_u64(a);
			*seen |= SEEN_RX;
			break;
		case WGPEER_A_TX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EBADMSG;
			p->tx_bytes = mnl_attr_get_u64(a);
			*seen |= SEEN_TX;
			break;
		case WGPEER_A_ALLOWEDIPS:
			mnl_attr_for_each_nested(ip, a)
				if ((ret = parse_allowedip(ip, p)))
					return ret;
			break;
		case WGPEER_A_PROTOCOL_VERSION:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			if (mnl_attr_get_u32(a) != 1)
				return -EPROTONOSUPPORT;
			break;
		}
	}
	if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY))
		return -EBADMSG;
	return 0;
}

/* Moves the fragment `from` into the peer `into` it continues. */
static int merge_peer(struct wg_peer *into, struct wg_peer *from, unsigned seen)
{
	size_t i;
	int ret;

	if (seen & SEEN_PSK) {
		memcpy(into->preshared_key, from->preshared_key, MG_KEY_LEN);
		into->flags = (into->flags & ~(uint32_t)WG_PEER_HAS_PRESHARED_KEY) |
			      (from->flags & WG_PEER_HAS_PRESHARED_KEY);
	}
	if (seen & SEEN_ENDPOINT)
		into->endpoint = from->endpoint;
	if (seen & SEEN_KEEPALIVE) {
		into->persistent_keepalive = from->persistent_keepalive;
		into->flags |= WG_PEER_HAS_KEEPALIVE;
	}
	if (seen & SEEN_HANDSHAKE) {
		into->last_handshake_sec = from->last_handshake_sec;
		into->last_handshake_nsec = from->last_handshake_nsec;
	}
	if (seen & SEEN_RX)
		into->rx_bytes = from->rx_bytes;
	if (seen & SEEN_TX)
		into->tx_bytes = from->tx_bytes;
	for (i = 0; i < from->n_allowedips; i++)
		if ((ret = wg_peer_add_allowedip(into, &from->allowedips[i])))
			return ret;
	return 0;
}

static int parse_peers(const struct nlattr *nest, struct wg_device *dev)
{
	const struct nlattr *a;
	struct wg_peer tmp, *p;
	unsigned seen;
	bool first = true;
	int ret;

	mnl_attr_for_each_nested(a, nest) {
		memset(&tmp, 0, sizeof(tmp));
		ret = parse_peer(a, &tmp, &seen);
		if (ret)
			goto bad;
		if (first && dev->n_peers &&
		    !memcmp(dev->peers[dev->n_peers - 1].public_key, tmp.public_key, MG_KEY_LEN)) {
			ret = merge_peer(&dev->peers[dev->n_peers - 1], &tmp, seen);
			if (ret)
				goto bad;
			free(tmp.allowedips);
		} else {
			p = wg_device_add_peer(dev);
			if (!p) {
				ret = -ENOMEM;
				goto bad;
			}
			*p = tmp;	/* p now owns tmp.allowedips */
		}
		mg_wipe(&tmp, sizeof(tmp));
		first = false;
	}
	return 0;
bad:
	free(tmp.allowedips);
	mg_wipe(&tmp, sizeof(tmp));
	return ret;
}

int wg_genl_parse_get(const struct nlmsghdr *nlh, struct wg_device *dev)
{
	const struct genlmsghdr *g;
	const struct nlattr *a;
	const char *name;
	uint16_t n;
	int ret;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*g)))
		return -EBADMSG;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->cmd != WG_CMD_GET_DEVICE)
		return -EBADMSG;
	mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(*g))) {
		n = mnl_attr_get_payload_len(a);
		switch (mnl_attr_get_type(a)) {
		case WGDEVICE_A_IFINDEX:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			dev->ifindex = mnl_attr_get_u32(a);
			break;
		case WGDEVICE_A_IFNAME:
			name = mnl_attr_get_payload(a);
			if (n == 0 || n > IFNAMSIZ || !memchr(name, '\0', n))
				return -EBADMSG;
			strcpy(dev->name, name);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			if (n != MG_KEY_LEN)
				return -EBADMSG;
			memcpy(dev->private_key, mnl_attr_get_payload(a), MG_KEY_LEN);
			if (!is_zero(dev->private_key, MG_KEY_LEN))
				dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
			break;
		case WGDEVICE_A_PUBLIC_KEY:
			if (n != MG_KEY_LEN)
				return -EBADMSG;
			memcpy(dev->public_key, mnl_attr_get_payload(a), MG_KEY_LEN);
			if (!is_zero(dev->public_key, MG_KEY_LEN))
				dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
			break;
		case WGDEVICE_A_LISTEN_PORT:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			dev->listen_port = mnl_attr_get_u16(a);
			dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
			break;
		case WGDEVICE_A_FWMARK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			dev->fwmark = mnl_attr_get_u32(a);
			dev->flags |= WG_DEVICE_HAS_FWMARK;
			break;
		case WGDEVICE_A_PEERS:
			if ((ret = parse_peers(a, dev)))
				return ret;
			break;
		}
	}
	return 0;
}

/* --- resolving the family -------------------------------------------------- */

int wg_genl_build_getfamily(void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh;

	nlh = start_msg(buf, len, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq,
			CTRL_CMD_GETFAMILY, 1);
	if (!nlh || !mnl_attr_put_strz_check(nlh, len, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int wg_genl_parse_family(const struct nlmsghdr *nlh, uint16_t *id)
{
	const struct nlattr *a;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
		return -EBADMSG;
	mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(struct genlmsghdr))) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID) {
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			*id = mnl_attr_get_u16(a);
			return 0;
		}
	}
	return -EBADMSG;
}
