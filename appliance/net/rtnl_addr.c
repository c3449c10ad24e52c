/*
 * Interface addresses: list (RTM_GETADDR dump filtered by interface), add,
 * delete, and sync to a wanted set.
 */
#include <errno.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "rtnl_int.h"

struct addr_dump {
	int ifindex;
	struct rtnl_prefixes *out;
};

static bool is_v6_linklocal(const struct mg_prefix *p)
{
	return p->ip.family == AF_INET6 && p->ip.bytes[0] == 0xfe &&
	       (p->ip.bytes[1] & 0xc0) == 0x80;
}

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump *d = data;
	const struct ifaddrmsg *ifa;
	const struct nlattr *attr, *local = NULL, *address = NULL;
	struct mg_prefix p;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if ((int)ifa->ifa_index != d->ifindex)
		return MNL_CB_OK;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(attr)) {
		case IFA_LOCAL:
			local = attr;
			break;
		case IFA_ADDRESS:
			address = attr;
			break;
		}
	}
	/* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
	if (local)
		address = local;
	if (!address || mnl_attr_get_payload_len(address) != alen)
		return MNL_CB_OK;

	memset(&p, 0, sizeof(p));
	p.ip.family = ifa->ifa_family;
	memcpy(p.ip.bytes, mnl_attr_get_payload(address), alen);
	p.len = ifa->ifa_prefixlen;
	if (p.len > mg_ip_bits(&p.ip) || is_v6_linklocal(&p))
		return MNL_CB_OK;
	if (rtnl_prefixes_push(d->out, &p) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* The addresses of ifindex, sorted, into a fresh *out. */
static int addr_list(struct rtnl *r, int ifindex, struct rtnl_prefixes *out)
{
	RTNL_REQ_BUF(buf);
	struct addr_dump d = { .ifindex = ifindex, .out = out };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret = -EINTR, tries;

	memset(out, 0, sizeof(*out));
	for (tries = 0; tries < RTNL_DUMP_TRIES && ret == -EINTR; tries++) {
		out->n = 0;
		nlh = rtnl_msg_dump(r, buf, RTM_GETADDR);
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_UNSPEC;
		ifa->ifa_index = ifindex;
		ret = rtnl_talk(r, nlh, addr_dump_cb, &d);
	}
	if (ret < 0) {
		rtnl_prefixes_free(out);
		return ret;
	}
	rtnl_prefixes_sort(out);
	return 0;
}

static int addr_change(struct rtnl *r, uint16_t type, uint16_t flags, int ifindex,
		       const struct mg_prefix *p)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen = mg_ip_bits(&p->ip) / 8;

	nlh = rtnl_msg(r, buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->ip.family;
	ifa->ifa_prefixlen = (uint8_t)p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	/* The server hands out unique addresses: no duplicate detection delay. */
	if (type == RTM_NEWADDR && p->ip.family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->ip.bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->ip.bytes);
	return rtnl_talk(r, nlh, NULL, NULL);
}

static int addr_add(struct rtnl *r, int ifindex, const struct mg_prefix *p)
{
	return addr_change(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p);
}

static int addr_del(struct rtnl *r, int ifindex, const struct mg_prefix *p)
{
	return addr_change(r, RTM_DELADDR, 0, ifindex, p);
}

int rtnl_addr_list(const char *ifname, struct rtnl_addr_list *out)
{
	if (!out)
		return -EINVAL;
	return rtnl_list_on(ifname, addr_list, &out->items, &out->n);
}

/* One add or delete on its own socket. */
static int addr_one(const char *ifname, const struct mg_prefix *p, bool add)
{
	struct rtnl r;
	int ifindex, ret;

	if (!rtnl_prefix_ok(p))
		return -EINVAL;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = add ? addr_add(&r, ifindex, p) : addr_del(&r, ifindex, p);
	rtnl_close(&r);
	return ret;
}

int rtnl_addr_add(const char *ifname, const struct mg_prefix *p)
{
	return addr_one(ifname, p, true);
}

int rtnl_addr_del(const char *ifname, const struct mg_prefix *p)
{
	return addr_one(ifname, p, false);
}

int rtnl_addr_sync(const char *ifname, const struct mg_prefix *want, size_t n)
{
	struct rtnl_prefixes w = { 0 }, have = { 0 };
	struct rtnl r = { 0 };
	size_t i, removed = 0;
	int ifindex, ret, err = 0;

	if (n && !want)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!rtnl_prefix_ok(&want[i]))
			return -EINVAL;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_prefixes_copy(&w, want, n, false);
	if (ret < 0)
		return ret;
	ret = rtnl_open(&r);
	if (ret < 0)
		goto out;
	ret = addr_list(&r, ifindex, &have);
	if (ret < 0)
		goto out;

	/*
	 * Removals first: an IPv6 address can be on a link only once, so one
	 * that changes its prefix length must go before it comes back.
	 */
	for (i = 0; i < have.n; i++) {
		if (rtnl_prefixes_has(&w, &have.items[i]))
			continue;
		ret = addr_del(&r, ifindex, &have.items[i]);
		/* Already gone, e.g. a secondary that went with its primary. */
		if (ret < 0 && ret != -EADDRNOTAVAIL && !err)
			err = ret;
		removed++;
	}
	/*
	 * Without promote_secondaries, removing a primary IPv4 address also
	 * removes the secondaries of its subnet: look again before adding.
	 */
	if (removed) {
		rtnl_prefixes_free(&have);
		ret = addr_list(&r, ifindex, &have);
		if (ret < 0)
			goto out;
	}
	for (i = 0; i < w.n; i++) {
		if (i > 0 && rtnl_prefix_cmp(&w.items[i - 1], &w.items[i]) == 0)
			continue;
		if (rtnl_prefixes_has(&have, &w.items[i]))
			continue;
		ret = addr_add(&r, ifindex, &w.items[i]);
		/* An address we never list (IPv6 link-local) is already there. */
		if (ret < 0 && ret != -EEXIST && !err)
			err = ret;
	}
	ret = err;
out:
	rtnl_prefixes_free(&have);
	rtnl_prefixes_free(&w);
	rtnl_close(&r);
	return ret;
}
