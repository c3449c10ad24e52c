/*
 * Making the interface match a CONFIG: the WireGuard device by diff (only
 * what differs is sent; live sessions survive), then MTU, link up,
 * addresses (exactly the config's) and routes (peers' allowed IPs that the
 * interface's own prefixes do not cover, marked RTPROT_MESHGATE).
 *
 * An internet gateway's 0.0.0.0/0 (::/0) becomes 0.0.0.0/1 + 128.0.0.0/1
 * (::/1 + 8000::/1) through the interface, as OpenVPN's def1 does: more
 * specific than the default route, which stays as it is. Every peer
 * endpoint and the control plane (server, broker) of that family then gets
 * a host route via the next hop the main table has for it without our
 * routes, so tunnels and check-ins keep their path (exception routes: ours,
 * via a gateway, tagged with a metric of this interface's own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "log.h"
#include "net/rtnl.h"
#include "wg/wg.h"

/* A session younger than this is live (WireGuard's REJECT_AFTER_TIME). */
#define LIVE_SESSION_SEC 180
/* Exception routes' metrics: this plus a hash of the interface name (0..999). */
#define EXCEPTION_METRIC_BASE 157000u
/* At most this many control-plane addresses (per URL) kept off the tunnel. */
#define MAX_CONTROL_IPS 8

struct prefix_vec {
	struct mg_prefix *items;
	size_t n, cap;
};

static int vec_push(struct prefix_vec *v, const struct mg_prefix *p)
{
	struct mg_prefix *items;
	size_t cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 16;
		items = reallocarray(v->items, cap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = *p;
	return 0;
}

static bool vec_has(const struct prefix_vec *v, const struct mg_prefix *p)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->items[i].len == p->len && mg_ip_cmp(&v->items[i].ip, &p->ip) == 0)
			return true;
	return false;
}

/*
 * "IP:PORT", "[IPv6]:PORT" or "host:port" (resolved; the first address
 * wins). Returns 0, -EINVAL for a malformed string, -EHOSTUNREACH when
 * the name does not resolve.
 */
static int resolve_endpoint(const char *s, union wg_endpoint *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon;
	size_t n;
	int ret;

	if (wg_endpoint_parse(s, out) == 0)
		return 0;
	colon = strrchr(s, ':');
	if (!colon || *s == '[')
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host) || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	ret = getaddrinfo(host, colon + 1, &hints, &res);
	if (ret != 0 || !res)
		return -EHOSTUNREACH;
	memset(out, 0, sizeof(*out));
	if (res->ai_addrlen <= sizeof(*out))
		memcpy(out, res->ai_addr, res->ai_addrlen);
	else
		ret = -EINVAL;
	freeaddrinfo(res);
	return ret ? ret : 0;
}

static void endpoint_ip(const union wg_endpoint *ep, struct mg_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = ep->sa.sa_family;
	if (ep->sa.sa_family == AF_INET)
		memcpy(ip->bytes, &ep->sin.sin_addr, 4);
	else
		memcpy(ip->bytes, &ep->sin6.sin6_addr, 16);
}

/* The wanted device and the endpoint IPs of all peers (to keep out of our routes). */
static int build_device(const char *ifname, const mg_key private_key, json_t *cfg, struct wg_device **out,
			struct mg_ip **eps, size_t *n_eps)
{
	json_t *peers = json_object_get(cfg, "peers"), *p, *v, *port;
	struct wg_device *dev;
	struct mg_ip *ips = NULL;
	size_t i, j, n_ips = 0;
	int ret = -ENOMEM;

	*out = NULL;
	dev = wg_device_new(ifname);
	if (!dev)
		return -ENOMEM;
	memcpy(dev->private_key, private_key, MG_KEY_LEN);
	dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
	port = json_object_get(cfg, "listen_port");
	if (json_integer_value(port) > 0) {
		dev->listen_port = (uint16_t)json_integer_value(port);
		dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
	}
	if (json_array_size(peers)) {
		ips = calloc(json_array_size(peers), sizeof(*ips));
		if (!ips)
			goto fail;
	}
	json_array_foreach(peers, i, p) {
		struct wg_peer *wp = wg_device_add_peer(dev);
		const char *ep;

		if (!wp)
			goto fail;
		if (mg_key_from_base64(wp->public_key, json_string_value(json_object_get(p, "public_key"))) < 0) {
			ret = -EINVAL;
			goto fail;
		}
		wp->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE;
		wp->persistent_keepalive = (uint16_t)json_integer_value(json_object_get(p, "persistent_keepalive"));
		ep = json_string_value(json_object_get(p, "endpoint"));
		if (ep) {
			ret = resolve_endpoint(ep, &wp->endpoint);
			if (ret < 0) {
				/* Keep what the device has; a later pass may resolve it. */
				log_warnx("peer %s: cannot use endpoint '%s'%s",
					  json_string_value(json_object_get(p, "name")) ?: "?", ep,
					  ret == -EHOSTUNREACH ? " (does not resolve)" : "");
				memset(&wp->endpoint, 0, sizeof(wp->endpoint));
			} else {
				endpoint_ip(&wp->endpoint, &ips[n_ips++]);
			}
		}
		json_array_foreach(json_object_get(p, "allowed_ips"), j, v) {
			struct wg_allowedip aip;

			if (wg_allowedip_parse(json_string_value(v), &aip) < 0) {
				ret = -EINVAL;
				goto fail;
			}
			wg_allowedip_canonicalize(&aip);
			if (wg_peer_add_allowedip(wp, &aip) < 0) {
				ret = -ENOMEM;
				goto fail;
			}
		}
	}
	*out = dev;
	*eps = ips;
	*n_eps = n_ips;
	return 0;
fail:
	free(ips);
	wg_free_device(dev);
	return ret;
}

static int parse_addresses(json_t *cfg, struct prefix_vec *addrs)
{
	struct mg_prefix p;
	size_t i;
	json_t *v;
	int ret;

	json_array_foreach(json_object_get(cfg, "addresses"), i, v) {
		if (mg_prefix_parse(json_string_value(v), &p) < 0)
			return -EINVAL;
		ret = vec_push(addrs, &p);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int fam_index(int family)
{
	return family == AF_INET6;
}

/*
 * Routes: each peer allowed IP not covered by one of our own prefixes, and
 * never a range holding a peer's endpoint (its encrypted packets would be
 * routed into the tunnel itself); a /0 (internet gateway) becomes its two
 * /1 halves and sets split[] for its family, and its endpoints get
 * exception routes (compute_exceptions).
 */
static int compute_routes(const struct wg_device *want, const struct prefix_vec *addrs, const struct mg_ip *eps,
			  size_t n_eps, struct prefix_vec *routes, bool split[2])
{
	size_t i, j, k, h;
	int ret;

	for (i = 0; i < want->n_peers; i++) {
		const struct wg_peer *wp = &want->peers[i];

		for (j = 0; j < wp->n_allowedips; j++) {
			const struct wg_allowedip *a = &wp->allowedips[j];
			struct mg_prefix p = { .ip.family = a->family, .len = a->cidr }, halves[2];
			char buf[MG_PREFIX_STRLEN];
			bool skip = false;

			memcpy(p.ip.bytes, a->bytes, 16);
			mg_prefix_canonicalize(&p);
			for (k = 0; k < addrs->n && !skip; k++) {
				struct mg_prefix own = addrs->items[k];

				mg_prefix_canonicalize(&own);
				skip = own.ip.family == p.ip.family && mg_prefix_contains(&own, &p);
			}
			if (skip)
				continue;
			if (p.len == 0) {
				/* 0.0.0.0/1 + 128.0.0.0/1 (::/1 + 8000::/1). */
				halves[0] = p;
				halves[0].len = 1;
				halves[1] = halves[0];
				halves[1].ip.bytes[0] = 0x80;
				split[fam_index(p.ip.family)] = true;
				for (h = 0; h < 2; h++) {
					if (vec_has(routes, &halves[h]))
						continue;
					ret = vec_push(routes, &halves[h]);
					if (ret < 0)
						return ret;
				}
				continue;
			}
			for (k = 0; k < n_eps && !skip; k++) {
				if (eps[k].family == p.ip.family && mg_prefix_contains_ip(&p, &eps[k])) {
					skip = true;
					mg_prefix_format(&p, buf, sizeof(buf));
					log_debug("not routing %s: it holds a peer's endpoint", buf);
				}
			}
			if (skip || vec_has(routes, &p))
				continue;
			ret = vec_push(routes, &p);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* The host of "scheme://host[:port][/...]" ("[v6]" without brackets). */
static int url_host(const char *url, char *host, size_t len)
{
	const char *p, *end;
	size_t n;

	if (!url)
		return -EINVAL;
	p = strstr(url, "://");
	p = p ? p + 3 : url;
	if (*p == '[') {
		end = strchr(++p, ']');
		if (!end)
			return -EINVAL;
		n = (size_t)(end - p);
	} else {
		n = strcspn(p, ":/?#");
	}
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* Appends the addresses url's host resolves to (at most MAX_CONTROL_IPS). */
static int control_ips(const char *url, struct mg_ip **ips, size_t *n)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	struct mg_ip *grown;
	union wg_endpoint ep;
	char host[256];
	size_t got = 0;

	if (url_host(url, host, sizeof(host)) < 0)
		return 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
		log_debug("cannot resolve %s: its traffic follows the routes", host);
		return 0;
	}
	for (ai = res; ai && got < MAX_CONTROL_IPS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(ep))
			continue;
		memset(&ep, 0, sizeof(ep));
		memcpy(&ep, ai->ai_addr, ai->ai_addrlen);
		grown = reallocarray(*ips, *n + 1, sizeof(**ips));
		if (!grown) {
			freeaddrinfo(res);
			return -ENOMEM;
		}
		*ips = grown;
		endpoint_ip(&ep, &(*ips)[(*n)++]);
		got++;
	}
	freeaddrinfo(res);
	return 0;
}

/* The metric that tags this interface's exception routes. */
static unsigned exception_metric(const char *ifname)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *ifname; ifname++)
		h = (h ^ (uint8_t)*ifname) * 16777619u;
	return EXCEPTION_METRIC_BASE + h % 1000;
}

/* Drops the family's /1 routes (the halves of a split default). */
static void drop_halves(struct prefix_vec *routes, int family)
{
	size_t i, n = 0;

	for (i = 0; i < routes->n; i++)
		if (routes->items[i].ip.family != family || routes->items[i].len != 1)
			routes->items[n++] = routes->items[i];
	routes->n = n;
}

/*
 * Exception routes for each family whose default was split: every peer
 * endpoint and control-plane address of that family that the tunnel's
 * other routes and our own prefixes leave to the /1s, and that the main
 * table (without our routes) sends by its default route, gets a host route
 * via that route's next hop. When one cannot be had (an unusual next hop),
 * the family's /1 halves are dropped instead: a default route that would
 * swallow the tunnel's own packets is worse than none.
 */
static int compute_exceptions(const char *ifname, const struct prefix_vec *addrs, struct prefix_vec *routes,
			      const bool split[2], const struct mg_ip *ips, size_t n_ips, struct rtnl_via **out,
			      size_t *n_out)
{
	struct rtnl_via *vias = NULL, via;
	char buf[MG_IP_STRLEN], gw[MG_IP_STRLEN];
	bool bad[2] = { false, false };
	size_t i, k, n = 0;
	int ifindex, ret;

	*out = NULL;
	*n_out = 0;
	if (!split[0] && !split[1])
		return 0;
	ifindex = rtnl_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	if (n_ips) {
		vias = calloc(n_ips, sizeof(*vias));
		if (!vias)
			return -ENOMEM;
	}
	for (i = 0; i < n_ips; i++) {
		const struct mg_ip *ip = &ips[i];
		bool covered = false, dup = false;

		if (!split[fam_index(ip->family)])
			continue;
		for (k = 0; k < addrs->n && !covered; k++) {
			struct mg_prefix own = addrs->items[k];

			mg_prefix_canonicalize(&own);
			covered = own.ip.family == ip->family && mg_prefix_contains_ip(&own, ip);
		}
		for (k = 0; k < routes->n && !covered; k++)
			covered = routes->items[k].len > 1 && routes->items[k].ip.family == ip->family &&
				  mg_prefix_contains_ip(&routes->items[k], ip);
		for (k = 0; k < n && !dup; k++)
			dup = vias[k].dst.ip.family == ip->family && mg_ip_cmp(&vias[k].dst.ip, ip) == 0;
		if (covered || dup)
			continue;
		mg_ip_format(ip, buf, sizeof(buf));
		ret = rtnl_route_lookup(ip, ifindex, &via);
		if (ret == -ENETUNREACH) {
			log_debug("%s: no route to %s outside the tunnel; nothing to keep", ifname, buf);
			continue;
		}
		if (ret < 0) {
			log_warnx("%s: cannot keep %s off the tunnel (its route: %s); no default route through "
				  "the tunnel for its family", ifname, buf, strerror(-ret));
			bad[fam_index(ip->family)] = true;
			continue;
		}
		/* A route more specific than our /1s keeps it anyway. */
		if (via.dst.len > 0)
			continue;
		mg_prefix_from_ip(&via.dst, ip);
		if (via.gateway.family)
			mg_ip_format(&via.gateway, gw, sizeof(gw));
		log_debug("%s: %s stays via %s (ifindex %d)", ifname, buf, via.gateway.family ? gw : "its link",
			  via.oif);
		vias[n++] = via;
	}
	for (k = 0; k < 2; k++) {
		int family = k ? AF_INET6 : AF_INET;
		size_t kept = 0;

		if (!bad[k])
			continue;
		drop_halves(routes, family);
		for (i = 0; i < n; i++)
			if (vias[i].dst.ip.family != family)
				vias[kept++] = vias[i];
		n = kept;
	}
	*out = vias;
	*n_out = n;
	return 0;
}

/*
 * WireGuard roams: a peer behind NAT may talk to us from another address
 * than the server knows. While a session is live, leave the endpoint the
 * device learned alone; set the server's one only when the session is
 * stale (or the peer is new).
 */
static void keep_roamed_endpoints(const struct wg_device *have, struct wg_device *want)
{
	time_t now = time(NULL);
	size_t i, j;

	for (i = 0; i < want->n_peers; i++) {
		struct wg_peer *w = &want->peers[i];

		for (j = 0; j < have->n_peers; j++) {
			const struct wg_peer *h = &have->peers[j];

			if (memcmp(h->public_key, w->public_key, MG_KEY_LEN))
				continue;
			if (h->endpoint.sa.sa_family && h->last_handshake_sec &&
			    now - h->last_handshake_sec < LIVE_SESSION_SEC)
				memset(&w->endpoint, 0, sizeof(w->endpoint));
			break;
		}
	}
}

int apply_ensure_interface(const char *ifname)
{
	int ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	ret = wg_add_interface(ifname);
	if (ret == 0)
		log_info("created interface %s (%s)", ifname, wg_backend_name(wg_backend_of(ifname)));
	return ret;
}

/*
 * Routes and exception routes. With exceptions wanted they go in first (an
 * endpoint never follows a new /1 into the tunnel); without, they go last
 * (the /1s are gone before the endpoints lose their host routes). When the
 * exceptions cannot be set, no /1 goes in.
 */
static int sync_routes(const char *ifname, struct prefix_vec *routes, const struct rtnl_via *vias, size_t n_vias)
{
	unsigned metric = exception_metric(ifname);
	int ret, vret;

	if (n_vias) {
		vret = rtnl_via_sync(metric, vias, n_vias);
		if (vret < 0) {
			log_warnx("%s: cannot set the routes that keep endpoints off the tunnel: %s", ifname,
				  strerror(-vret));
			drop_halves(routes, AF_INET);
			drop_halves(routes, AF_INET6);
		}
		ret = rtnl_route_sync(ifname, routes->items, routes->n);
		return ret < 0 ? ret : vret;
	}
	ret = rtnl_route_sync(ifname, routes->items, routes->n);
	vret = rtnl_via_sync(metric, NULL, 0);
	return ret < 0 ? ret : vret;
}

/*
 * Turning persistent keepalive on sends a keepalive at once, and that needs
 * a session: both ends of a new pair would send a handshake initiation at
 * the same moment. When the two cross, each end answers the other's and then
 * drops the answer to its own (it is no longer the initiator), and neither
 * has a session until WireGuard retries 5 s later. So of two hosts adding
 * each other, the one with the greater public key turns keepalive on at
 * once; the other adds the peer without it and turns it on one pass later
 * (KEEPALIVE_HOLD_MS). By then the first's initiation has either found us
 * and made a session, or was dropped because we did not have the peer yet;
 * either way our keepalive then carries a session or starts a handshake that
 * nothing crosses. Traffic of our own still initiates at once, as ever.
 *
 * New peers are held; with also_turning_on, so is every other change that
 * turns keepalive on (a pass inside the hold window must not end the hold
 * early). Returns how many peers wait.
 */
size_t hold_first_keepalives(struct wg_device *diff, const mg_key self, bool also_turning_on)
{
	size_t i, held = 0;

	for (i = 0; i < diff->n_peers; i++) {
		struct wg_peer *p = &diff->peers[i];

		/* wg_diff creates a new peer with neither UPDATE_ONLY nor REMOVE_ME. */
		if (p->flags & WG_PEER_REMOVE_ME)
			continue;
		if ((p->flags & WG_PEER_UPDATE_ONLY) && !also_turning_on)
			continue;
		if (!(p->flags & WG_PEER_HAS_KEEPALIVE) || !p->persistent_keepalive ||
		    memcmp(self, p->public_key, MG_KEY_LEN) >= 0)
			continue;
		p->flags &= ~(uint32_t)WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = 0;
		held++;
	}
	return held;
}

int apply_config(const struct agent_state *st, json_t *cfg, enum keepalive_hold hold, size_t *held)
{
	const char *ifname = st->ifname;
	struct wg_device *want = NULL, *have = NULL, *diff = NULL;
	struct prefix_vec addrs = { 0 }, routes = { 0 };
	struct mg_ip *eps = NULL;
	struct rtnl_via *vias = NULL;
	size_t n_eps = 0, n_vias = 0;
	bool split[2] = { false, false };
	json_t *mtu;
	int ret;

	if (held)
		*held = 0;

	ret = build_device(ifname, st->private_key, cfg, &want, &eps, &n_eps);
	if (ret < 0) {
		log_warnx("%s: cannot build the WireGuard configuration: %s", ifname, strerror(-ret));
		goto out;
	}
	ret = wg_get_device(ifname, &have);
	if (ret < 0) {
		log_warnx("%s: cannot read the WireGuard device: %s", ifname, strerror(-ret));
		goto out;
	}
	keep_roamed_endpoints(have, want);
	diff = wg_diff(have, want);
	if (!diff) {
		ret = -ENOMEM;
		goto out;
	}
	if (hold != KEEPALIVE_HOLD_NONE) {
		mg_key self;
		size_t n;

		mg_key_public_from_private(self, st->private_key);
		n = hold_first_keepalives(diff, self, hold == KEEPALIVE_HOLD_ALL);
		if (n)
			log_debug("%s: %zu peer(s) get persistent keepalive on the next pass", ifname, n);
		if (held)
			*held = n;
	}
	if (!wg_device_is_empty(diff)) {
		log_debug("%s: updating %zu peer(s)%s", ifname, diff->n_peers,
			  diff->flags ? " and device settings" : "");
		ret = wg_set_device(diff);
		if (ret < 0) {
			log_warnx("%s: cannot configure WireGuard: %s", ifname, strerror(-ret));
			goto out;
		}
	}

	mtu = json_object_get(cfg, "mtu");
	if (json_integer_value(mtu) > 0) {
		ret = rtnl_link_set_mtu(ifname, (unsigned)json_integer_value(mtu));
		if (ret < 0) {
			log_warnx("%s: cannot set the MTU: %s", ifname, strerror(-ret));
			goto out;
		}
	}
	ret = rtnl_link_set_up(ifname, true);
	if (ret < 0) {
		log_warnx("%s: cannot bring the link up: %s", ifname, strerror(-ret));
		goto out;
	}
	ret = parse_addresses(cfg, &addrs);
	if (ret == 0)
		ret = rtnl_addr_sync(ifname, addrs.items, addrs.n);
	if (ret < 0) {
		log_warnx("%s: cannot set the addresses: %s", ifname, strerror(-ret));
		goto out;
	}
	/*
	 * The control plane keeps its path, like the peers' endpoints: no range
	 * holding the server or the broker is routed into the tunnel, so
	 * check-ins and updates work whatever a gateway announces (or while it
	 * is down).
	 */
	ret = control_ips(st->server, &eps, &n_eps);
	if (ret == 0 && st->has_broker)
		ret = control_ips(st->broker.url, &eps, &n_eps);
	if (ret == 0)
		ret = compute_routes(want, &addrs, eps, n_eps, &routes, split);
	if (ret == 0)
		ret = compute_exceptions(ifname, &addrs, &routes, split, eps, n_eps, &vias, &n_vias);
	if (ret == 0)
		ret = sync_routes(ifname, &routes, vias, n_vias);
	if (ret < 0) {
		log_warnx("%s: cannot set the routes: %s", ifname, strerror(-ret));
		goto out;
	}
	ret = gateway_apply(ifname, cfg);
	/* The system resolver for the mesh domains (optional; its failures are only logged). */
	resolver_apply(st->resolver, ifname, cfg);
out:
	wg_free_device(want);
	wg_free_device(have);
	wg_free_device(diff);
	free(eps);
	free(vias);
	free(addrs.items);
	free(routes.items);
	return ret;
}
