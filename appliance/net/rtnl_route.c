/*
 * Our routes: main table, unicast, scope link, out of one interface, with
 * protocol RTPROT_MESHGATE. Lists filter a full route dump in userspace, so
 * routes of any other protocol, table or interface are never seen, and
 * deletions name our protocol and interface, so the kernel never matches
 * anyone else's route either.
 */
#include <errno.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "rtnl_int.h"

struct route_dump {
	int ifindex;
	struct rtnl_prefixes *out;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_dump *d = data;
	const struct rtmsg *rtm;
	const struct nlattr *attr, *dst = NULL;
	struct mg_prefix p;
	uint32_t table, oif = 0;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	if (rtm->rtm_protocol != RTPROT_MESHGATE || rtm->rtm_type != RTN_UNICAST ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	table = rtm->rtm_table;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				table = mnl_attr_get_u32(attr);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				oif = mnl_attr_get_u32(attr);
			break;
		case RTA_DST:
			dst = attr;
			break;
		}
	}
	if (table != RT_TABLE_MAIN || oif == 0 || oif != (uint32_t)d->ifindex)
		return MNL_CB_OK;

	memset(&p, 0, sizeof(p));
	p.ip.family = rtm->rtm_family;
	p.len = rtm->rtm_dst_len;
	if (p.len > mg_ip_bits(&p.ip))
		return MNL_CB_OK;
	if (dst) {
		if (mnl_attr_get_payload_len(dst) != alen)
			return MNL_CB_OK;
		memcpy(p.ip.bytes, mnl_attr_get_payload(dst), alen);
	} else if (p.len) {
		return MNL_CB_OK;
	}
	if (rtnl_prefixes_push(d->out, &p) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int route_list(struct rtnl *r, int ifindex, struct rtnl_prefixes *out)
{
	RTNL_REQ_BUF(buf);
	struct route_dump d = { .ifindex = ifindex, .out = out };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret = -EINTR, tries;

	memset(out, 0, sizeof(*out));
	for (tries = 0; tries < RTNL_DUMP_TRIES && ret == -EINTR; tries++) {
		out->n = 0;
		nlh = rtnl_msg_dump(r, buf, RTM_GETROUTE);
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = AF_UNSPEC;	/* IPv4 and IPv6 in one dump */
		ret = rtnl_talk(r, nlh, route_dump_cb, &d);
	}
	if (ret < 0) {
		rtnl_prefixes_free(out);
		return ret;
	}
	rtnl_prefixes_sort(out);
	return 0;
}

/* dst must be canonical. */
static int route_change(struct rtnl *r, uint16_t type, uint16_t flags, int ifindex,
			const struct mg_prefix *dst)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = rtnl_msg(r, buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->ip.family;
	rtm->rtm_dst_len = (uint8_t)dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_MESHGATE;
	/* A deletion matches any scope; our protocol and interface are enough. */
	rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	if (dst->len)
		mnl_attr_put(nlh, RTA_DST, mg_ip_bits(&dst->ip) / 8, dst->ip.bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	return rtnl_talk(r, nlh, NULL, NULL);
}

static int route_add(struct rtnl *r, int ifindex, const struct mg_prefix *dst)
{
	return route_change(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst);
}

static int route_del(struct rtnl *r, int ifindex, const struct mg_prefix *dst)
{
	return route_change(r, RTM_DELROUTE, 0, ifindex, dst);
}

int rtnl_route_list(const char *ifname, struct rtnl_route_list *out)
{
	struct rtnl_prefixes v;
	struct rtnl r;
	int ifindex, ret;

	if (!out)
		return -EINVAL;
	out->items = NULL;
	out->n = 0;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = route_list(&r, ifindex, &v);
	rtnl_close(&r);
	if (ret < 0)
		return ret;
	out->items = v.items;
	out->n = v.n;
	return 0;
}

static int route_one(const char *ifname, const struct mg_prefix *dst, bool add)
{
	struct mg_prefix p;
	struct rtnl r;
	int ifindex, ret;

	if (!rtnl_prefix_ok(dst))
		return -EINVAL;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	memset(&p, 0, sizeof(p));
	p.ip.family = dst->ip.family;
	memcpy(p.ip.bytes, dst->ip.bytes, mg_ip_bits(&dst->ip) / 8);
	p.len = dst->len;
	mg_prefix_canonicalize(&p);
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = add ? route_add(&r, ifindex, &p) : route_del(&r, ifindex, &p);
	rtnl_close(&r);
	return ret;
}

int rtnl_route_add(const char *ifname, const struct mg_prefix *dst)
{
	return route_one(ifname, dst, true);
}

int rtnl_route_del(const char *ifname, const struct mg_prefix *dst)
{
	return route_one(ifname, dst, false);
}

int rtnl_route_sync(const char *ifname, const struct mg_prefix *want, size_t n)
{
	struct rtnl_prefixes w = { 0 }, have = { 0 };
	struct rtnl r = { 0 };
	size_t i;
	int ifindex, ret, err = 0;

	if (n && !want)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!rtnl_prefix_ok(&want[i]))
			return -EINVAL;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_prefixes_copy(&w, want, n, true);
	if (ret < 0)
		return ret;
	ret = rtnl_open(&r);
	if (ret < 0)
		goto out;
	ret = route_list(&r, ifindex, &have);
	if (ret < 0)
		goto out;

	/* Additions first, so a destination moving between prefixes stays reachable. */
	for (i = 0; i < w.n; i++) {
		if (i > 0 && rtnl_prefix_cmp(&w.items[i - 1], &w.items[i]) == 0)
			continue;
		if (rtnl_prefixes_has(&have, &w.items[i]))
			continue;
		ret = route_add(&r, ifindex, &w.items[i]);
		/* Someone else's route to it (e.g. the kernel's subnet route) stays. */
		if (ret < 0 && ret != -EEXIST && !err)
			err = ret;
	}
	for (i = 0; i < have.n; i++) {
		if (rtnl_prefixes_has(&w, &have.items[i]))
			continue;
		ret = route_del(&r, ifindex, &have.items[i]);
		if (ret < 0 && ret != -ESRCH && !err)
			err = ret;
	}
	ret = err;
out:
	rtnl_prefixes_free(&have);
	rtnl_prefixes_free(&w);
	rtnl_close(&r);
	return ret;
}
