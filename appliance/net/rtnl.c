/*
 * rtnetlink plumbing (one libmnl socket per call) and links: lookup, state,
 * MTU, creation and deletion.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "rtnl_int.h"

int rtnl_open(struct rtnl *r)
{
	int one = 1, ret;

	memset(r, 0, sizeof(*r));
	r->buf = malloc(RTNL_RECV_SIZE);
	if (!r->buf)
		return -ENOMEM;
	r->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!r->nl) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Errors need not echo our request back; older kernels lack this. */
	(void)mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (unsigned)time(NULL);
	return 0;
fail:
	rtnl_close(r);
	return ret;
}

void rtnl_close(struct rtnl *r)
{
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static struct nlmsghdr *msg_put(struct rtnl *r, void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, RTNL_REQ_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++r->seq;
	return nlh;
}

struct nlmsghdr *rtnl_msg(struct rtnl *r, void *buf, uint16_t type, uint16_t flags)
{
	return msg_put(r, buf, type, NLM_F_ACK | flags);
}

struct nlmsghdr *rtnl_msg_dump(struct rtnl *r, void *buf, uint16_t type)
{
	return msg_put(r, buf, type, NLM_F_DUMP);
}

int rtnl_talk(struct rtnl *r, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	unsigned seq = nlh->nlmsg_seq;
	ssize_t len;
	int ret;

	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(r->nl, r->buf, RTNL_RECV_SIZE);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (len == 0)
			return -EPROTO;
		errno = 0;
		ret = mnl_cb_run(r->buf, (size_t)len, seq, r->portid, cb, data);
		if (ret < 0)
			return errno > 0 ? -errno : -EPROTO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* --- prefix lists --------------------------------------------------------- */

bool rtnl_prefix_ok(const struct mg_prefix *p)
{
	if (!p || (p->ip.family != AF_INET && p->ip.family != AF_INET6))
		return false;
	return p->len <= mg_ip_bits(&p->ip);
}

int rtnl_prefix_cmp(const void *a, const void *b)
{
	const struct mg_prefix *pa = a, *pb = b;
	int c = mg_ip_cmp(&pa->ip, &pb->ip);

	if (c)
		return c;
	return (pa->len > pb->len) - (pa->len < pb->len);
}

int rtnl_prefixes_push(struct rtnl_prefixes *v, const struct mg_prefix *p)
{
	struct mg_prefix *items;
	size_t cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 8;
		items = reallocarray(v->items, cap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = *p;
	return 0;
}

void rtnl_prefixes_sort(struct rtnl_prefixes *v)
{
	if (v->n > 1)
		qsort(v->items, v->n, sizeof(*v->items), rtnl_prefix_cmp);
}

bool rtnl_prefixes_has(const struct rtnl_prefixes *v, const struct mg_prefix *p)
{
	if (!v->n)
		return false;
	return bsearch(p, v->items, v->n, sizeof(*v->items), rtnl_prefix_cmp) != NULL;
}

int rtnl_prefixes_copy(struct rtnl_prefixes *v, const struct mg_prefix *p, size_t n, bool canon)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	if (!n)
		return 0;
	v->items = calloc(n, sizeof(*v->items));
	if (!v->items)
		return -ENOMEM;
	v->cap = n;
	for (i = 0; i < n; i++) {
		/* Only the family's bytes: the rest stays zero. */
		v->items[i].ip.family = p[i].ip.family;
		memcpy(v->items[i].ip.bytes, p[i].ip.bytes, mg_ip_bits(&p[i].ip) / 8);
		v->items[i].len = p[i].len;
		if (canon)
			mg_prefix_canonicalize(&v->items[i]);
	}
	v->n = n;
	rtnl_prefixes_sort(v);
	return 0;
}

void rtnl_prefixes_free(struct rtnl_prefixes *v)
{
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* --- links ---------------------------------------------------------------- */

int rtnl_ifindex(const char *ifname)
{
	unsigned idx;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	errno = 0;
	idx = if_nametoindex(ifname);
	if (!idx) {
		if (errno == 0 || errno == ENODEV || errno == ENXIO)
			return -ENODEV;
		return -errno;
	}
	if (idx > INT_MAX)
		return -ENODEV;
	return (int)idx;
}

/* RTM_NEWLINK on an existing link: change flags under mask, and the MTU if mtu != 0. */
static int link_change(const char *ifname, unsigned flags, unsigned mask, unsigned mtu)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl r;
	int ifindex, ret;

	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	nlh = rtnl_msg(&r, buf, RTM_NEWLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = mask;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	ret = rtnl_talk(&r, nlh, NULL, NULL);
	rtnl_close(&r);
	return ret;
}

int rtnl_link_set_up(const char *ifname, bool up)
{
	return link_change(ifname, up ? IFF_UP : 0, IFF_UP, 0);
}

int rtnl_link_set_mtu(const char *ifname, unsigned mtu)
{
	if (!mtu)
		return -EINVAL;
	return link_change(ifname, 0, 0, mtu);
}

int rtnl_link_delete(const char *ifname)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl r;
	int ifindex, ret;

	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	nlh = rtnl_msg(&r, buf, RTM_DELLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ret = rtnl_talk(&r, nlh, NULL, NULL);
	rtnl_close(&r);
	return ret;
}

int rtnl_link_add(const char *ifname, const char *kind)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;
	struct rtnl r;
	int ret;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	if (!kind || !*kind || strlen(kind) >= 64)
		return -EINVAL;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	nlh = rtnl_msg(&r, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	ret = rtnl_talk(&r, nlh, NULL, NULL);
	rtnl_close(&r);
	return ret;
}

struct link_get {
	struct rtnl_link_info *out;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_get *g = data;
	const struct ifinfomsg *ifi;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(g->out, 0, sizeof(*g->out));
	g->out->ifindex = ifi->ifi_index;
	g->out->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_MTU &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			g->out->mtu = mnl_attr_get_u32(attr);
	}
	g->found = true;
	return MNL_CB_OK;
}

int rtnl_link_get(const char *ifname, struct rtnl_link_info *out)
{
	RTNL_REQ_BUF(buf);
	struct link_get g = { .out = out };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl r;
	int ifindex, ret;

	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	nlh = rtnl_msg(&r, buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ret = rtnl_talk(&r, nlh, link_get_cb, &g);
	if (ret == 0 && !g.found)
		ret = -ENODEV;
	rtnl_close(&r);
	return ret;
}

int rtnl_list_on(const char *ifname, rtnl_list_fn list, struct mg_prefix **items, size_t *n)
{
	struct rtnl_prefixes v;
	struct rtnl r;
	int ifindex, ret;

	*items = NULL;
	*n = 0;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = list(&r, ifindex, &v);
	rtnl_close(&r);
	if (ret < 0)
		return ret;
	*items = v.items;
	*n = v.n;
	return 0;
}
