/*
 * Our routes: main table, unicast, scope link, out of one interface, with
 * protocol RTPROT_MESHGATE. Lists filter a full route dump in userspace, so
 * routes of any other protocol, table or interface are never seen, and
 * deletions name our protocol and interface, so the kernel never matches
 * anyone else's route either.
 *
 * Routes via a next hop (rtnl_via_*) are ours of one metric, out of any
 * link; rtnl_route_lookup finds the route the main table has for an address
 * leaving ours out, again from a full dump.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "rtnl_int.h"

/* The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER). */
#define IP6_DEFAULT_METRIC 1024

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
		case RTA_PRIORITY:
			/* Ours have the default metric; other metrics are rtnl_via_*'s. */
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0 &&
			    mnl_attr_get_u32(attr) != (rtm->rtm_family == AF_INET6 ? IP6_DEFAULT_METRIC : 0))
				return MNL_CB_OK;
			break;
		case RTA_GATEWAY:
		case RTA_VIA:
		case RTA_MULTIPATH:
			/* Routes via a next hop are rtnl_via_*'s. */
			return MNL_CB_OK;
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
	if (!out)
		return -EINVAL;
	return rtnl_list_on(ifname, route_list, &out->items, &out->n);
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

/* --- routes via a next hop ------------------------------------------------ */

/* One route of a dump, as far as these functions care. */
struct route_info {
	const struct rtmsg *rtm;
	uint32_t table, priority, oif;
	struct mg_prefix dst;
	struct mg_ip gateway;		/* family 0: none */
	bool odd_nexthop;		/* a nexthop object, RTA_VIA or a gateway of the wrong size */
};

/* The first next hop of RTA_MULTIPATH: its interface and gateway. */
static void route_first_hop(const struct nlattr *mp, struct route_info *ri, size_t alen)
{
	const struct rtnexthop *nh = mnl_attr_get_payload(mp);
	const struct nlattr *attr;
	size_t len = mnl_attr_get_payload_len(mp);

	if (len < sizeof(*nh) || nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > len) {
		ri->odd_nexthop = true;
		return;
	}
	ri->oif = (uint32_t)nh->rtnh_ifindex;
	for (attr = (const struct nlattr *)((const char *)nh + RTNH_ALIGN(sizeof(*nh)));
	     mnl_attr_ok(attr, (int)((const char *)nh + nh->rtnh_len - (const char *)attr));
	     attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) == RTA_GATEWAY) {
			if (mnl_attr_get_payload_len(attr) != alen) {
				ri->odd_nexthop = true;
				continue;
			}
			ri->gateway.family = ri->dst.ip.family;
			memcpy(ri->gateway.bytes, mnl_attr_get_payload(attr), alen);
		} else if (mnl_attr_get_type(attr) == RTA_VIA) {
			ri->odd_nexthop = true;
		}
	}
}

/*
 * Parses an RTM_NEWROUTE of the main table (IPv4 or IPv6, not a cached
 * clone); false for anything else.
 */
static bool route_parse(const struct nlmsghdr *nlh, struct route_info *ri)
{
	const struct nlattr *attr, *dst = NULL, *mp = NULL;
	size_t alen;

	memset(ri, 0, sizeof(*ri));
	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ri->rtm))
		return false;
	ri->rtm = mnl_nlmsg_get_payload(nlh);
	if (ri->rtm->rtm_family != AF_INET && ri->rtm->rtm_family != AF_INET6)
		return false;
	if (ri->rtm->rtm_flags & RTM_F_CLONED)
		return false;
	alen = ri->rtm->rtm_family == AF_INET ? 4 : 16;
	ri->table = ri->rtm->rtm_table;
	ri->dst.ip.family = ri->rtm->rtm_family;
	ri->dst.len = ri->rtm->rtm_dst_len;
	if (ri->dst.len > mg_ip_bits(&ri->dst.ip))
		return false;
	mnl_attr_for_each(attr, nlh, sizeof(*ri->rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				ri->table = mnl_attr_get_u32(attr);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				ri->oif = mnl_attr_get_u32(attr);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				ri->priority = mnl_attr_get_u32(attr);
			break;
		case RTA_DST:
			dst = attr;
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(attr) != alen) {
				ri->odd_nexthop = true;
				break;
			}
			ri->gateway.family = ri->rtm->rtm_family;
			memcpy(ri->gateway.bytes, mnl_attr_get_payload(attr), alen);
			break;
		case RTA_MULTIPATH:
			mp = attr;
			break;
		case RTA_VIA:
		case RTA_NH_ID:
			ri->odd_nexthop = true;
			break;
		}
	}
	if (ri->table != RT_TABLE_MAIN)
		return false;
	if (dst) {
		if (mnl_attr_get_payload_len(dst) != alen)
			return false;
		memcpy(ri->dst.ip.bytes, mnl_attr_get_payload(dst), alen);
	} else if (ri->dst.len) {
		return false;
	}
	if (mp && !ri->oif)
		route_first_hop(mp, ri, alen);
	return true;
}

static int via_cmp(const void *a, const void *b)
{
	const struct rtnl_via *va = a, *vb = b;
	int c = rtnl_prefix_cmp(&va->dst, &vb->dst);

	if (c)
		return c;
	if (va->oif != vb->oif)
		return (va->oif > vb->oif) - (va->oif < vb->oif);
	return mg_ip_cmp(&va->gateway, &vb->gateway);
}

/* A canonical copy: family's bytes only, host bits cleared, no gateway of another family. */
static int via_canon(struct rtnl_via *out, int oif, const struct mg_prefix *dst, const struct mg_ip *gw)
{
	if (!rtnl_prefix_ok(dst) || oif <= 0)
		return -EINVAL;
	if (gw && gw->family && gw->family != dst->ip.family)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->dst.ip.family = dst->ip.family;
	memcpy(out->dst.ip.bytes, dst->ip.bytes, mg_ip_bits(&dst->ip) / 8);
	out->dst.len = dst->len;
	mg_prefix_canonicalize(&out->dst);
	out->oif = oif;
	if (gw && gw->family) {
		out->gateway.family = gw->family;
		memcpy(out->gateway.bytes, gw->bytes, mg_ip_bits(gw) / 8);
	}
	return 0;
}

struct via_vec {
	struct rtnl_via *items;
	size_t n, cap;
	unsigned metric;
};

static int via_push(struct via_vec *v, const struct rtnl_via *r)
{
	struct rtnl_via *items;
	size_t cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 8;
		items = reallocarray(v->items, cap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = *r;
	return 0;
}

static bool via_has(const struct via_vec *v, const struct rtnl_via *r)
{
	return v->n && bsearch(r, v->items, v->n, sizeof(*v->items), via_cmp) != NULL;
}

static int via_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct via_vec *v = data;
	struct route_info ri;
	struct rtnl_via r;

	if (!route_parse(nlh, &ri))
		return MNL_CB_OK;
	if (ri.rtm->rtm_protocol != RTPROT_MESHGATE || ri.rtm->rtm_type != RTN_UNICAST ||
	    ri.priority != v->metric || !ri.oif || ri.odd_nexthop)
		return MNL_CB_OK;
	memset(&r, 0, sizeof(r));
	r.dst = ri.dst;
	r.oif = (int)ri.oif;
	r.gateway = ri.gateway;
	if (via_push(v, &r) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int via_list(struct rtnl *r, unsigned metric, struct via_vec *out)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret = -EINTR, tries;

	memset(out, 0, sizeof(*out));
	out->metric = metric;
	for (tries = 0; tries < RTNL_DUMP_TRIES && ret == -EINTR; tries++) {
		out->n = 0;
		nlh = rtnl_msg_dump(r, buf, RTM_GETROUTE);
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = AF_UNSPEC;
		ret = rtnl_talk(r, nlh, via_dump_cb, out);
	}
	if (ret < 0) {
		free(out->items);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(*out->items), via_cmp);
	return 0;
}

/* v must be canonical. */
static int via_change(struct rtnl *r, uint16_t type, uint16_t flags, const struct rtnl_via *v, unsigned metric)
{
	RTNL_REQ_BUF(buf);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	bool add = type == RTM_NEWROUTE;

	nlh = rtnl_msg(r, buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)v->dst.ip.family;
	rtm->rtm_dst_len = (uint8_t)v->dst.len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_MESHGATE;
	if (!add)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	else
		rtm->rtm_scope = v->gateway.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (v->dst.len)
		mnl_attr_put(nlh, RTA_DST, mg_ip_bits(&v->dst.ip) / 8, v->dst.ip.bytes);
	if (v->gateway.family)
		mnl_attr_put(nlh, RTA_GATEWAY, mg_ip_bits(&v->gateway) / 8, v->gateway.bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)v->oif);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	return rtnl_talk(r, nlh, NULL, NULL);
}

int rtnl_via_list(unsigned metric, struct rtnl_via_list *out)
{
	struct via_vec v;
	struct rtnl r;
	int ret;

	if (!out)
		return -EINVAL;
	out->items = NULL;
	out->n = 0;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = via_list(&r, metric, &v);
	rtnl_close(&r);
	if (ret < 0)
		return ret;
	out->items = v.items;
	out->n = v.n;
	return 0;
}

static int via_one(int oif, const struct mg_prefix *dst, const struct mg_ip *gw, unsigned metric, bool add)
{
	struct rtnl_via v;
	struct rtnl r;
	int ret;

	ret = via_canon(&v, oif, dst, gw);
	if (ret < 0)
		return ret;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	if (add)
		ret = via_change(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &v, metric);
	else
		ret = via_change(&r, RTM_DELROUTE, 0, &v, metric);
	rtnl_close(&r);
	return ret;
}

int rtnl_route_add_via(int oif, const struct mg_prefix *dst, const struct mg_ip *gateway, unsigned metric)
{
	return via_one(oif, dst, gateway, metric, true);
}

int rtnl_route_del_via(int oif, const struct mg_prefix *dst, const struct mg_ip *gateway, unsigned metric)
{
	return via_one(oif, dst, gateway, metric, false);
}

int rtnl_via_sync(unsigned metric, const struct rtnl_via *want, size_t n)
{
	struct via_vec w = { 0 }, have = { 0 };
	struct rtnl r = { 0 };
	size_t i;
	int ret, err = 0;

	if (n && !want)
		return -EINVAL;
	if (n) {
		w.items = calloc(n, sizeof(*w.items));
		if (!w.items)
			return -ENOMEM;
		w.cap = n;
	}
	for (i = 0; i < n; i++) {
		ret = via_canon(&w.items[w.n++], want[i].oif, &want[i].dst, &want[i].gateway);
		if (ret < 0)
			goto out;
	}
	if (w.n > 1)
		qsort(w.items, w.n, sizeof(*w.items), via_cmp);
	ret = rtnl_open(&r);
	if (ret < 0)
		goto out;
	ret = via_list(&r, metric, &have);
	if (ret < 0)
		goto out;

	/* Removals first: an IPv4 destination holds one route per metric. */
	for (i = 0; i < have.n; i++) {
		if (via_has(&w, &have.items[i]))
			continue;
		ret = via_change(&r, RTM_DELROUTE, 0, &have.items[i], metric);
		if (ret < 0 && ret != -ESRCH && !err)
			err = ret;
	}
	for (i = 0; i < w.n; i++) {
		if (i > 0 && via_cmp(&w.items[i - 1], &w.items[i]) == 0)
			continue;
		if (via_has(&have, &w.items[i]))
			continue;
		ret = via_change(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &w.items[i], metric);
		if (ret < 0 && !err)
			err = ret;
	}
	ret = err;
out:
	free(have.items);
	free(w.items);
	rtnl_close(&r);
	return ret;
}

/* --- lookup --------------------------------------------------------------- */

struct lookup {
	struct mg_ip ip;
	int skip_oif;
	bool found;
	uint8_t type;
	uint32_t priority;
	bool odd_nexthop;
	struct rtnl_via best;
};

static int lookup_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lookup *l = data;
	struct route_info ri;

	if (!route_parse(nlh, &ri))
		return MNL_CB_OK;
	if (ri.rtm->rtm_family != l->ip.family || ri.rtm->rtm_protocol == RTPROT_MESHGATE)
		return MNL_CB_OK;
	if (l->skip_oif > 0 && ri.oif == (uint32_t)l->skip_oif)
		return MNL_CB_OK;
	/* A dead next hop (its link is down or gone) is not used either. */
	if (ri.rtm->rtm_flags & RTNH_F_DEAD)
		return MNL_CB_OK;
	if (!mg_prefix_contains_ip(&ri.dst, &l->ip))
		return MNL_CB_OK;
	if (l->found && (ri.dst.len < l->best.dst.len ||
			 (ri.dst.len == l->best.dst.len && ri.priority >= l->priority)))
		return MNL_CB_OK;
	l->found = true;
	l->type = ri.rtm->rtm_type;
	l->priority = ri.priority;
	l->odd_nexthop = ri.odd_nexthop || (ri.rtm->rtm_type == RTN_UNICAST && !ri.oif);
	l->best.dst = ri.dst;
	l->best.oif = (int)ri.oif;
	l->best.gateway = ri.gateway;
	return MNL_CB_OK;
}

int rtnl_route_lookup(const struct mg_ip *ip, int skip_oif, struct rtnl_via *out)
{
	RTNL_REQ_BUF(buf);
	struct lookup l;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct rtnl r;
	int ret = -EINTR, tries;

	if (!ip || !out || (ip->family != AF_INET && ip->family != AF_INET6))
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	l.ip.family = ip->family;
	memcpy(l.ip.bytes, ip->bytes, mg_ip_bits(ip) / 8);
	l.skip_oif = skip_oif;
	ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = -EINTR;
	for (tries = 0; tries < RTNL_DUMP_TRIES && ret == -EINTR; tries++) {
		l.found = false;
		nlh = rtnl_msg_dump(&r, buf, RTM_GETROUTE);
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)ip->family;
		ret = rtnl_talk(&r, nlh, lookup_cb, &l);
	}
	rtnl_close(&r);
	if (ret < 0)
		return ret;
	if (!l.found || l.type != RTN_UNICAST)
		return -ENETUNREACH;
	if (l.odd_nexthop)
		return -EOPNOTSUPP;
	*out = l.best;
	return 0;
}
