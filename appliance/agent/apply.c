/*
 * Making the interface match a CONFIG: the WireGuard device by diff (only
 * what differs is sent; live sessions survive), then MTU, link up,
 * addresses (exactly the config's) and routes (peers' allowed IPs that the
 * interface's own prefixes do not cover, marked RTPROT_MESHGATE).
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

/*
 * Routes: each peer allowed IP not covered by one of our own prefixes, and
 * never a range holding a peer's endpoint (its encrypted packets would be
 * routed into the tunnel itself).
 */
static int compute_routes(const struct wg_device *want, const struct prefix_vec *addrs, const struct mg_ip *eps,
			  size_t n_eps, struct prefix_vec *routes)
{
	size_t i, j, k;
	int ret;

	for (i = 0; i < want->n_peers; i++) {
		const struct wg_peer *wp = &want->peers[i];

		for (j = 0; j < wp->n_allowedips; j++) {
			const struct wg_allowedip *a = &wp->allowedips[j];
			struct mg_prefix p = { .ip.family = a->family, .len = a->cidr };
			char buf[MG_PREFIX_STRLEN];
			bool skip = false;

			memcpy(p.ip.bytes, a->bytes, 16);
			mg_prefix_canonicalize(&p);
			for (k = 0; k < addrs->n && !skip; k++) {
				struct mg_prefix own = addrs->items[k];

				mg_prefix_canonicalize(&own);
				skip = own.ip.family == p.ip.family && mg_prefix_contains(&own, &p);
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

int apply_config(const char *ifname, const mg_key private_key, json_t *cfg)
{
	struct wg_device *want = NULL, *have = NULL, *diff = NULL;
	struct prefix_vec addrs = { 0 }, routes = { 0 };
	struct mg_ip *eps = NULL;
	size_t n_eps = 0;
	json_t *mtu;
	int ret;

	ret = build_device(ifname, private_key, cfg, &want, &eps, &n_eps);
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
	ret = compute_routes(want, &addrs, eps, n_eps, &routes);
	if (ret == 0)
		ret = rtnl_route_sync(ifname, routes.items, routes.n);
	if (ret < 0) {
		log_warnx("%s: cannot set the routes: %s", ifname, strerror(-ret));
		goto out;
	}
	ret = gateway_apply(ifname, cfg);
out:
	wg_free_device(want);
	wg_free_device(have);
	wg_free_device(diff);
	free(eps);
	free(addrs.items);
	free(routes.items);
	return ret;
}
