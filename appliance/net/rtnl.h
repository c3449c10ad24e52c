/*
 * Interface addresses, MTU, link state and routes over rtnetlink (libmnl).
 * Routes the agent installs carry its own protocol number, so it only ever
 * lists or removes routes that it made.
 *
 * Every call opens its own netlink socket, so the functions can be used
 * from any thread. They return 0 (or a documented non-negative value) or a
 * negative errno: the kernel's answer, -ENODEV for an unknown interface,
 * -EINVAL for a prefix of an unknown family or with a bad length.
 */
#ifndef MG_RTNL_H
#define MG_RTNL_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

/* Our route protocol (rtm_protocol); unassigned in /etc/iproute2/rt_protos. */
#define RTPROT_MESHGATE 157

/* Returns the ifindex (> 0) or -ENODEV. */
int rtnl_ifindex(const char *ifname);
int rtnl_link_set_up(const char *ifname, bool up);
int rtnl_link_set_mtu(const char *ifname, unsigned mtu);
int rtnl_link_delete(const char *ifname);
/*
 * Create a link of the given kind ("wireguard", "dummy"), down. -EEXIST when
 * the name is taken, -EOPNOTSUPP when the kernel has no such kind.
 */
int rtnl_link_add(const char *ifname, const char *kind);

struct rtnl_link_info {
	int ifindex;
	unsigned mtu;
	unsigned flags;		/* IFF_UP, IFF_RUNNING, ... */
};
int rtnl_link_get(const char *ifname, struct rtnl_link_info *out);

/*
 * Interface addresses as prefixes (address with the prefix length), IPv4 and
 * IPv6. Lists are sorted (mg_ip_cmp, then length). IPv6 link-local
 * addresses (fe80::/10) belong to the kernel: they are never listed, so a
 * sync never removes them.
 */
struct rtnl_addr_list {
	struct mg_prefix *items;
	size_t n;
};
int rtnl_addr_list(const char *ifname, struct rtnl_addr_list *out);	/* caller frees out->items */
int rtnl_addr_add(const char *ifname, const struct mg_prefix *p);	/* -EEXIST is not an error to callers that reconcile */
int rtnl_addr_del(const char *ifname, const struct mg_prefix *p);
/*
 * Make the interface's addresses exactly `want` (adds and removes the
 * difference, leaves the rest in place). Applies as much as it can and
 * returns the first error.
 */
int rtnl_addr_sync(const char *ifname, const struct mg_prefix *want, size_t n);

/*
 * Routes through ifname with protocol RTPROT_MESHGATE: main table, unicast,
 * scope link, no gateway, the kernel's default metric (ours with another
 * metric or a gateway are rtnl_via_*'s, below). Destinations are canonicalised (host bits
 * cleared). Lists are sorted like address lists. Deleting a route that is
 * not there gives -ESRCH; adding one whose destination already has a route
 * through ifname with the same metric (ours or not) gives -EEXIST.
 */
struct rtnl_route_list {
	struct mg_prefix *items;
	size_t n;
};
int rtnl_route_list(const char *ifname, struct rtnl_route_list *out);	/* only ours; caller frees */
int rtnl_route_add(const char *ifname, const struct mg_prefix *dst);
int rtnl_route_del(const char *ifname, const struct mg_prefix *dst);
/*
 * Make our routes through ifname exactly `want`; never touches routes of
 * other protocols or other interfaces. A wanted destination that already
 * has someone else's route (such as the kernel's route to an address's
 * subnet) is left as it is. Applies as much as it can and returns the first
 * error.
 */
int rtnl_route_sync(const char *ifname, const struct mg_prefix *want, size_t n);

/*
 * Routes via a next hop out of any link: main table, unicast, protocol
 * RTPROT_MESHGATE, and a metric the caller picks as a tag (their list and
 * sync only ever see routes with that metric, so they never mix with the
 * per-interface routes above nor with another tag's). With a gateway
 * (RTA_GATEWAY, dst's family; an IPv6 one may be link-local) the scope is
 * universe, without one it is link (a point-to-point link's route). The
 * agent uses them for host routes that keep a peer's endpoint (and the
 * server) on the path they had before its /1 routes into the tunnel.
 */
struct rtnl_via {
	struct mg_prefix dst;
	int oif;			/* > 0 */
	struct mg_ip gateway;		/* family 0: none */
};
struct rtnl_via_list {
	struct rtnl_via *items;		/* sorted: dst (as prefix lists), oif, gateway */
	size_t n;
};
int rtnl_via_list(unsigned metric, struct rtnl_via_list *out);	/* caller frees out->items */
/* -EEXIST when dst already has a route of this metric (IPv4) or this very route (IPv6). */
int rtnl_route_add_via(int oif, const struct mg_prefix *dst, const struct mg_ip *gateway, unsigned metric);
/* Deletes ours with exactly this oif, gateway (NULL or family 0: none) and metric; -ESRCH when none. */
int rtnl_route_del_via(int oif, const struct mg_prefix *dst, const struct mg_ip *gateway, unsigned metric);
/*
 * Make our routes of this metric exactly `want` (removes those that differ
 * first, so a changed gateway replaces the old route). Applies as much as it
 * can and returns the first error.
 */
int rtnl_via_sync(unsigned metric, const struct rtnl_via *want, size_t n);

/*
 * The route the main table has for ip as if none of ours (any metric) were
 * there, and none out of skip_oif (0: skip none): longest prefix, then lowest
 * metric. out->dst is the matching prefix, out->oif and out->gateway its
 * next hop (a multipath route's first). -ENETUNREACH when nothing matches
 * or the match is not a unicast route (blackhole, unreachable, ...),
 * -EOPNOTSUPP when its next hop is not an interface plus an optional gateway
 * of ip's family (a nexthop object, an IPv6 next hop for IPv4).
 */
int rtnl_route_lookup(const struct mg_ip *ip, int skip_oif, struct rtnl_via *out);

#endif
