/*
 * Peer computation: what one host's WireGuard interface should look like.
 * Full mesh within each network; one peer entry per other host, whose
 * allowed IPs are the union of its addresses in the networks the two share,
 * plus, for gateways, their egress ranges and their ext clients' addresses.
 * An ingress gateway also has its ext clients as peers. ACL-denied pairs
 * are not peers; relays change whose entry carries which addresses (see
 * peers_full).
 * The work is proportional to the size of this host's networks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "server.h"

void host_effective_endpoint(char *out, size_t len, const char *override, const char *observed_ip, int64_t port)
{
	struct mg_ip ip;

	if (override && override[0])
		snprintf(out, len, "%s", override);
	else if (observed_ip && observed_ip[0] && mg_ip_parse(observed_ip, &ip) == 0)
		snprintf(out, len, ip.family == AF_INET6 ? "[%s]:%lld" : "%s:%lld", observed_ip, (long long)port);
	else if (len)
		out[0] = '\0';
}

/* "10.0.0.1" in range "10.0.0.0/24" -> "10.0.0.1/24". */
static json_t *iface_address(const char *addr, const char *range)
{
	const char *slash = strchr(range, '/');
	char buf[MG_PREFIX_STRLEN];

	snprintf(buf, sizeof(buf), "%s%s", addr, slash ? slash : "");
	return json_string(buf);
}

static json_t *host_prefix(const char *addr, bool v6)
{
	char buf[MG_PREFIX_STRLEN];

	snprintf(buf, sizeof(buf), "%s/%s", addr, v6 ? "128" : "32");
	return json_string(buf);
}

static int config_networks(struct store *st, int64_t host_id, json_t *cfg)
{
	json_t *nets = json_array(), *addrs = json_array();
	int64_t mtu = 0;
	struct store_stmt *s;
	int ret;

	json_object_set_new(cfg, "networks", nets);
	json_object_set_new(cfg, "addresses", addrs);
	ret = store_query(st, &s,
			  "SELECT net.name, net.revision, net.ipv4_range, net.ipv6_range, n.address, n.address6, net.mtu"
			  " FROM nodes n JOIN networks net ON net.id = n.network_id WHERE n.host_id = ? ORDER BY net.name",
			  "i", host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		bool has6 = !store_col_null(s, 5) && !store_col_null(s, 3);

		json_array_append_new(nets, json_pack("{s:s, s:I, s:s, s:o, s:s, s:o}",
						      "name", store_col_text(s, 0),
						      "revision", (json_int_t)store_col_int(s, 1),
						      "ipv4_range", store_col_text(s, 2),
						      "ipv6_range", store_col_null(s, 3) ? json_null() :
								    json_string(store_col_text(s, 3)),
						      "address", store_col_text(s, 4),
						      "address6", has6 ? json_string(store_col_text(s, 5)) : json_null()));
		json_array_append_new(addrs, iface_address(store_col_text(s, 4), store_col_text(s, 2)));
		if (has6)
			json_array_append_new(addrs, iface_address(store_col_text(s, 5), store_col_text(s, 3)));
		if (!mtu || store_col_int(s, 6) < mtu)
			mtu = store_col_int(s, 6);
	}
	store_finalize(s);
	json_object_set_new(cfg, "mtu", json_integer(mtu ? mtu : 1420));
	return ret < 0 ? ret : STORE_OK;
}

static bool array_has(json_t *arr, json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (json_equal(x, v))
			return true;
	return false;
}

/* An ext client is live when enabled and not expired. SQL fragment over alias c, one int parameter: now. */
#define CLIENT_LIVE "c.enabled = 1 AND (c.expires_at IS NULL OR c.expires_at > ?)"

/* Egress ranges of a network that the admin said win over overlapping ones. Inside the transaction. */
static int winning_ranges(struct store *st, int64_t network_id, int64_t node_id, struct mg_prefix *out,
			  size_t max, size_t *n)
{
	struct store_stmt *s;
	int ret;

	*n = 0;
	ret = store_query(st, &s, "SELECT range FROM egress_ranges WHERE network_id = ? AND node_id != ? AND wins = 1",
			  "ii", network_id, node_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW && *n < max)
		if (mg_prefix_parse(store_col_text(s, 0), &out[*n]) == 0)
			(*n)++;
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/*
 * What a gateway node adds to its allowed IPs as seen by the other nodes:
 * its egress ranges (except those that lose to another gateway's winning
 * range) and the addresses of its live ext clients with their sites.
 */
static int node_gateway_allowed(struct store *st, int64_t node_id, int64_t network_id, json_t *allowed)
{
	struct mg_prefix winners[64], p;
	struct store_stmt *s;
	size_t nwin;
	int ret;

	ret = winning_ranges(st, network_id, node_id, winners, 64, &nwin);
	if (ret != STORE_OK)
		return ret;
	ret = store_query(st, &s, "SELECT range, wins FROM egress_ranges WHERE node_id = ? ORDER BY id", "i", node_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		bool lost = false;

		if (mg_prefix_parse(store_col_text(s, 0), &p) < 0)
			continue;
		for (size_t i = 0; i < nwin && !store_col_int(s, 1); i++)
			if (winners[i].ip.family == p.ip.family && mg_prefix_overlaps(&winners[i], &p))
				lost = true;
		if (!lost)
			json_array_append_new(allowed, json_string(store_col_text(s, 0)));
	}
	store_finalize(s);
	if (ret < 0)
		return ret;
	ret = store_query(st, &s, "SELECT c.address, c.address6, r.range FROM ext_clients c"
			  " LEFT JOIN ext_client_ranges r ON r.client_id = c.id"
			  " WHERE c.gateway_node_id = ? AND " CLIENT_LIVE " ORDER BY c.id, r.range",
			  "ii", node_id, now_unix());
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		json_t *a4 = host_prefix(store_col_text(s, 0), false);

		/* A client with several site ranges comes once per range: add its address once. */
		if (!array_has(allowed, a4)) {
			json_array_append(allowed, a4);
			if (!store_col_null(s, 1))
				json_array_append_new(allowed, host_prefix(store_col_text(s, 1), true));
		}
		json_decref(a4);
		if (!store_col_null(s, 2))
			json_array_append_new(allowed, json_string(store_col_text(s, 2)));
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

#define PEER_SELECT "SELECT h.id, h.name, h.public_key, h.endpoint_override, h.observed_ip, h.listen_port," \
		    " n.address, n.address6, net.keepalive, net.ipv6_range, n.id, net.id"

/*
 * The entry of one peer host (a delta), looked up by that host: its direct
 * entry. Only right when no relay is involved in the networks the two
 * share; build_messages sends whole configurations otherwise.
 */
static int peer_direct(struct store *st, int64_t host_id, int64_t peer_host, json_t *peers)
{
	struct acl_cache *acl = acl_cache_new(st);
	json_t *cur = NULL, *allowed = NULL;
	int64_t cur_id = 0;
	struct store_stmt *s;
	bool tunnel;
	char ep[300];
	int ret;

	if (!acl)
		return STORE_ERR;
	/*
	 * Looked up by the peer's host, so a delta costs one lookup, not a
	 * scan of the network (all peers: peers_full).
	 */
	ret = store_query(st, &s, PEER_SELECT
			  " FROM nodes n JOIN nodes mine ON mine.network_id = n.network_id AND mine.host_id = ?"
			  " JOIN hosts h ON h.id = n.host_id JOIN networks net ON net.id = n.network_id"
			  " WHERE n.host_id = ? AND n.host_id != ? AND n.connected = 1 ORDER BY h.id, net.name",
			  "iii", host_id, peer_host, host_id);
	if (ret != STORE_OK) {
		acl_cache_free(acl);
		return ret;
	}
	while ((ret = store_step(s)) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);

		/* A pair the network's ACL denies shares nothing in it (no tunnel unless another network allows). */
		ret = acl_tunnel_allowed(acl, store_col_int(s, 11), host_id, id, &tunnel);
		if (ret != STORE_OK)
			break;
		if (!tunnel)
			continue;
		if (id != cur_id) {
			host_effective_endpoint(ep, sizeof(ep), store_col_text(s, 3), store_col_text(s, 4),
						store_col_int(s, 5));
			allowed = json_array();
			cur = json_pack("{s:I, s:s, s:s, s:o, s:o, s:I}", "host_id", (json_int_t)id,
					"name", store_col_text(s, 1), "public_key", store_col_text(s, 2),
					"endpoint", ep[0] ? json_string(ep) : json_null(),
					"allowed_ips", allowed,
					"persistent_keepalive", (json_int_t)store_col_int(s, 8));
			json_array_append_new(peers, cur);
			cur_id = id;
		}
		json_array_append_new(allowed, host_prefix(store_col_text(s, 6), false));
		if (!store_col_null(s, 7) && !store_col_null(s, 9))
			json_array_append_new(allowed, host_prefix(store_col_text(s, 7), true));
		ret = node_gateway_allowed(st, store_col_int(s, 10), store_col_int(s, 11), allowed);
		if (ret != STORE_OK)
			break;
	}
	store_finalize(s);
	acl_cache_free(acl);
	return ret < 0 ? ret : STORE_OK;
}

/* --- all peers, with relays ------------------------------------------------ */

/*
 * Relays (nodes.relayed_by, per network). In a network N, the next hop
 * ("hop") of host M for another node n is:
 *   - M's relay R when M's node is relayed: every address of N goes to R's
 *     entry, which always exists (the relay tunnel is needed whatever the
 *     ACL says; R's own addresses are in it only when the ACL allows M-R);
 *   - n's relay when n is relayed by another host than M;
 *   - n itself otherwise.
 * n's addresses (plus, for gateways, egress ranges and ext clients) go to
 * the hop's entry when the ACL gives M and n a tunnel. A relay also
 * carries what the nodes it relays may reach (it forwards for them), and
 * always its relayed nodes' own addresses. Relaying is per network: a host
 * relayed in one network may still have direct peers in another.
 */
struct prow {
	size_t host;			/* index into phost */
	int64_t node, net, relay_host;	/* relay_host: the host relaying this node (0: none) */
	char addr[MG_IP_STRLEN], addr6[MG_IP_STRLEN];	/* addr6 "" when none */
};

struct phost {
	int64_t id;
	const char *name;		/* into entry */
	json_t *entry, *allowed, *relaying;
	bool used;
};

struct mynet {
	int64_t net, relay_host;	/* the host relaying my node (0: none) */
	int64_t *relayed;		/* hosts whose node I relay in net */
	size_t n_relayed;
};

struct pfull {
	struct prow *rows;
	size_t n_rows;
	struct phost *hosts;
	size_t n_hosts;
	struct mynet *nets;
	size_t n_nets;
};

static void pfull_free(struct pfull *f)
{
	for (size_t i = 0; i < f->n_hosts; i++)
		json_decref(f->hosts[i].entry);
	for (size_t i = 0; i < f->n_nets; i++)
		free(f->nets[i].relayed);
	free(f->rows);
	free(f->hosts);
	free(f->nets);
}

static struct phost *phost_find(struct pfull *f, int64_t id)
{
	size_t lo = 0, hi = f->n_hosts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->hosts[mid].id == id)
			return &f->hosts[mid];
		if (f->hosts[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct mynet *mynet_find(struct pfull *f, int64_t net)
{
	for (size_t i = 0; i < f->n_nets; i++)
		if (f->nets[i].net == net)
			return &f->nets[i];
	return NULL;
}

static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	q = realloc(p, *cap * size);
	if (!q)
		free(p);
	return q;
}

/* This host's networks: which host relays it there and whom it relays. */
static int pfull_mine(struct store *st, int64_t host_id, struct pfull *f)
{
	struct store_stmt *s;
	size_t cap = 0;
	int ret;

	ret = store_query(st, &s, "SELECT mine.network_id, r.host_id FROM nodes mine"
			  " LEFT JOIN nodes r ON r.id = mine.relayed_by WHERE mine.host_id = ? ORDER BY mine.network_id",
			  "i", host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		f->nets = grow(f->nets, f->n_nets, &cap, sizeof(*f->nets));
		if (!f->nets) {
			f->n_nets = 0;
			ret = STORE_ERR;
			break;
		}
		f->nets[f->n_nets++] = (struct mynet){ .net = store_col_int(s, 0),
						       .relay_host = store_col_null(s, 1) ? 0 : store_col_int(s, 1) };
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* Every other connected node of this host's networks, by host. */
static int pfull_rows(struct store *st, int64_t host_id, struct pfull *f)
{
	size_t cap_rows = 0, cap_hosts = 0;
	struct store_stmt *s;
	char ep[300];
	int ret;

	ret = store_query(st, &s, PEER_SELECT ", r.host_id"
			  " FROM nodes mine"
			  " JOIN nodes n ON n.network_id = mine.network_id AND n.host_id != mine.host_id"
			  " JOIN hosts h ON h.id = n.host_id JOIN networks net ON net.id = n.network_id"
			  " LEFT JOIN nodes r ON r.id = n.relayed_by"
			  " WHERE mine.host_id = ? AND n.connected = 1 ORDER BY h.id, net.name", "i", host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);
		struct prow *row;

		if (!f->n_hosts || f->hosts[f->n_hosts - 1].id != id) {
			struct phost *h;

			f->hosts = grow(f->hosts, f->n_hosts, &cap_hosts, sizeof(*f->hosts));
			if (!f->hosts) {
				f->n_hosts = 0;
				ret = STORE_ERR;
				break;
			}
			h = &f->hosts[f->n_hosts++];
			memset(h, 0, sizeof(*h));
			h->id = id;
			host_effective_endpoint(ep, sizeof(ep), store_col_text(s, 3), store_col_text(s, 4),
						store_col_int(s, 5));
			h->allowed = json_array();
			h->entry = json_pack("{s:I, s:s, s:s, s:o, s:o, s:I}", "host_id", (json_int_t)id,
					     "name", store_col_text(s, 1), "public_key", store_col_text(s, 2),
					     "endpoint", ep[0] ? json_string(ep) : json_null(),
					     "allowed_ips", h->allowed,
					     "persistent_keepalive", (json_int_t)store_col_int(s, 8));
			if (!h->entry) {
				ret = STORE_ERR;
				break;
			}
			h->name = json_string_value(json_object_get(h->entry, "name"));
		}
		f->rows = grow(f->rows, f->n_rows, &cap_rows, sizeof(*f->rows));
		if (!f->rows) {
			f->n_rows = 0;
			ret = STORE_ERR;
			break;
		}
		row = &f->rows[f->n_rows++];
		row->host = f->n_hosts - 1;
		row->node = store_col_int(s, 10);
		row->net = store_col_int(s, 11);
		row->relay_host = store_col_null(s, 12) ? 0 : store_col_int(s, 12);
		snprintf(row->addr, sizeof(row->addr), "%s", store_col_text(s, 6));
		snprintf(row->addr6, sizeof(row->addr6), "%s",
			 !store_col_null(s, 7) && !store_col_null(s, 9) ? store_col_text(s, 7) : "");
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* Note in each network whom this host relays there. */
static int pfull_relayed(int64_t host_id, struct pfull *f)
{
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct prow *row = &f->rows[i];
		struct mynet *m;

		if (row->relay_host != host_id || !(m = mynet_find(f, row->net)))
			continue;
		int64_t *grown = realloc(m->relayed, (m->n_relayed + 1) * sizeof(*m->relayed));

		if (!grown)
			return STORE_ERR;	/* m->relayed is still freed with m */
		m->relayed = grown;
		m->relayed[m->n_relayed++] = f->hosts[row->host].id;
	}
	return STORE_OK;
}

/* Whether this host's entries carry node `row` at all (ACL, and for a relay what its relayed nodes reach). */
static int pfull_reach(struct acl_cache *acl, int64_t host_id, const struct mynet *m, int64_t peer, int64_t net,
		       bool *reach)
{
	int ret;

	ret = acl_tunnel_allowed(acl, net, host_id, peer, reach);
	for (size_t k = 0; ret == STORE_OK && m && !*reach && k < m->n_relayed; k++) {
		if (m->relayed[k] == peer)
			*reach = true;
		else
			ret = acl_tunnel_allowed(acl, net, m->relayed[k], peer, reach);
	}
	return ret;
}

static int peers_full(struct store *st, int64_t host_id, json_t *peers)
{
	struct acl_cache *acl = acl_cache_new(st);
	struct pfull f = { 0 };
	int ret;

	if (!acl)
		return STORE_ERR;
	ret = pfull_mine(st, host_id, &f);
	if (ret == STORE_OK)
		ret = pfull_rows(st, host_id, &f);
	if (ret == STORE_OK)
		ret = pfull_relayed(host_id, &f);
	for (size_t i = 0; ret == STORE_OK && i < f.n_rows; i++) {
		const struct prow *row = &f.rows[i];
		struct phost *peer = &f.hosts[row->host], *hop = peer;
		const struct mynet *m = mynet_find(&f, row->net);
		bool reach = false;

		if (m && m->relay_host)
			hop = phost_find(&f, m->relay_host);
		else if (row->relay_host && row->relay_host != host_id)
			hop = phost_find(&f, row->relay_host);
		if (!hop)
			continue;	/* the relay is not connected: nothing of this network gets through */
		/* The tunnel to my relay is there whatever the ACL says. */
		if (m && m->relay_host == peer->id)
			hop->used = true;
		ret = pfull_reach(acl, host_id, m, peer->id, row->net, &reach);
		if (ret != STORE_OK || !reach)
			continue;
		hop->used = true;
		json_array_append_new(hop->allowed, host_prefix(row->addr, false));
		if (row->addr6[0])
			json_array_append_new(hop->allowed, host_prefix(row->addr6, true));
		ret = node_gateway_allowed(st, row->node, row->net, hop->allowed);
		if (ret == STORE_OK && hop != peer) {
			json_t *name = json_string(peer->name);

			if (!hop->relaying) {
				hop->relaying = json_array();
				json_object_set_new(hop->entry, "relaying", hop->relaying);
			}
			if (!array_has(hop->relaying, name))
				json_array_append(hop->relaying, name);
			json_decref(name);
		}
	}
	for (size_t i = 0; ret == STORE_OK && i < f.n_hosts; i++)
		if (f.hosts[i].used)
			json_array_append(peers, f.hosts[i].entry);
	pfull_free(&f);
	acl_cache_free(acl);
	return ret;
}

/* The live ext clients of this host's ingress nodes, as peers of its interface. */
static int ext_client_peers(struct store *st, int64_t host_id, json_t *peers)
{
	json_t *cur = NULL, *allowed = NULL;
	int64_t cur_id = 0;
	struct store_stmt *s;
	int ret;

	ret = store_query(st, &s, "SELECT c.id, c.name, c.public_key, c.address, c.address6, r.range"
			  " FROM ext_clients c JOIN nodes n ON n.id = c.gateway_node_id"
			  " LEFT JOIN ext_client_ranges r ON r.client_id = c.id"
			  " WHERE n.host_id = ? AND n.ingress = 1 AND " CLIENT_LIVE " ORDER BY c.id, r.range",
			  "ii", host_id, now_unix());
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		if (store_col_int(s, 0) != cur_id) {
			cur_id = store_col_int(s, 0);
			allowed = json_array();
			json_array_append_new(allowed, host_prefix(store_col_text(s, 3), false));
			if (!store_col_null(s, 4))
				json_array_append_new(allowed, host_prefix(store_col_text(s, 4), true));
			cur = json_pack("{s:I, s:s, s:s, s:n, s:o, s:i}", "ext_client_id", (json_int_t)cur_id,
					"name", store_col_text(s, 1), "public_key", store_col_text(s, 2), "endpoint",
					"allowed_ips", allowed, "persistent_keepalive", 0);
			json_array_append_new(peers, cur);
		}
		if (!store_col_null(s, 5))
			json_array_append_new(allowed, json_string(store_col_text(s, 5)));
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/*
 * The gateway roles of this host, for nat/ on it: egress ranges with their
 * NAT flag, and per live ext client what it may reach (the network's ranges
 * and its egress ranges, or everything for a full tunnel).
 */
static int config_gateway(struct store *st, int64_t host_id, json_t *cfg)
{
	json_t *egress = json_array(), *clients = json_array();
	struct store_stmt *s;
	int ret;

	json_object_set_new(cfg, "gateway", json_pack("{s:o, s:o}", "egress", egress, "ingress_clients", clients));
	ret = store_query(st, &s, "SELECT net.name, e.range, e.nat FROM egress_ranges e"
			  " JOIN nodes n ON n.id = e.node_id JOIN networks net ON net.id = e.network_id"
			  " WHERE n.host_id = ? ORDER BY net.name, e.id", "i", host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW)
		json_array_append_new(egress, json_pack("{s:s, s:s, s:b}", "network", store_col_text(s, 0),
							"range", store_col_text(s, 1), "nat", (int)store_col_int(s, 2)));
	store_finalize(s);
	if (ret < 0)
		return ret;
	ret = store_query(st, &s, "SELECT c.id, net.name, c.address, c.address6, c.full_tunnel, net.ipv4_range,"
			  " net.ipv6_range, net.id FROM ext_clients c JOIN nodes n ON n.id = c.gateway_node_id"
			  " JOIN networks net ON net.id = c.network_id"
			  " WHERE n.host_id = ? AND n.ingress = 1 AND " CLIENT_LIVE " ORDER BY c.id",
			  "ii", host_id, now_unix());
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		json_t *reach = json_array();
		struct store_stmt *e;

		if (store_col_int(s, 4)) {
			json_array_append_new(reach, json_string("0.0.0.0/0"));
			json_array_append_new(reach, json_string("::/0"));
		} else {
			json_array_append_new(reach, json_string(store_col_text(s, 5)));
			if (!store_col_null(s, 6))
				json_array_append_new(reach, json_string(store_col_text(s, 6)));
			if (store_query(st, &e, "SELECT DISTINCT range FROM egress_ranges WHERE network_id = ?"
					" ORDER BY range", "i", store_col_int(s, 7)) == STORE_OK) {
				while (store_step(e) == STORE_ROW)
					json_array_append_new(reach, json_string(store_col_text(e, 0)));
				store_finalize(e);
			}
		}
		json_array_append_new(clients, json_pack("{s:I, s:s, s:o, s:o, s:o}",
							 "ext_client_id", (json_int_t)store_col_int(s, 0),
							 "network", store_col_text(s, 1),
							 "address", host_prefix(store_col_text(s, 2), false),
							 "address6", store_col_null(s, 3) ? json_null() :
								     host_prefix(store_col_text(s, 3), true),
							 "allowed_destinations", reach));
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/*
 * Relays, for the agent: in each network the host relayed by it
 * ("relayed_by", its name) or those it relays ("relaying", their names),
 * and in the gateway section what nat/ forwards for it: the allowed IPs it
 * carries for its relayed nodes ("relayed": their addresses, egress ranges
 * and ext clients). Keys only where there is a relay, so configurations
 * without relays stay as they were.
 */
static int config_relays(struct store *st, int64_t host_id, json_t *cfg)
{
	json_t *nets = json_object_get(cfg, "networks"), *net, *relayed = json_array();
	struct store_stmt *s;
	size_t i;
	int ret = STORE_OK;

	json_array_foreach(nets, i, net) {
		json_t *names = json_array();

		ret = store_query(st, &s, "SELECT h.name, 0 FROM nodes mine JOIN networks nw ON nw.id = mine.network_id"
				  " JOIN nodes r ON r.id = mine.relayed_by JOIN hosts h ON h.id = r.host_id"
				  " WHERE mine.host_id = ? AND nw.name = ?"
				  " UNION ALL SELECT h.name, 1 FROM nodes mine JOIN networks nw ON nw.id = mine.network_id"
				  " JOIN nodes x ON x.relayed_by = mine.id JOIN hosts h ON h.id = x.host_id"
				  " WHERE mine.host_id = ? AND nw.name = ? ORDER BY 2, 1", "itit",
				  host_id, json_string_value(json_object_get(net, "name")),
				  host_id, json_string_value(json_object_get(net, "name")));
		if (ret != STORE_OK) {
			json_decref(names);
			break;
		}
		while ((ret = store_step(s)) == STORE_ROW) {
			if (store_col_int(s, 1))
				json_array_append_new(names, json_string(store_col_text(s, 0)));
			else
				json_object_set_new(net, "relayed_by", json_string(store_col_text(s, 0)));
		}
		store_finalize(s);
		if (json_array_size(names))
			json_object_set_new(net, "relaying", names);
		else
			json_decref(names);
		if (ret < 0)
			break;
		ret = STORE_OK;
	}
	if (ret != STORE_OK) {
		json_decref(relayed);
		return ret;
	}
	ret = store_query(st, &s, "SELECT x.id, x.network_id, x.address, x.address6, nw.ipv6_range FROM nodes x"
			  " JOIN nodes r ON r.id = x.relayed_by JOIN networks nw ON nw.id = x.network_id"
			  " WHERE r.host_id = ? ORDER BY nw.name, x.host_id", "i", host_id);
	if (ret == STORE_OK) {
		while ((ret = store_step(s)) == STORE_ROW) {
			json_array_append_new(relayed, host_prefix(store_col_text(s, 2), false));
			if (!store_col_null(s, 3) && !store_col_null(s, 4))
				json_array_append_new(relayed, host_prefix(store_col_text(s, 3), true));
			if (node_gateway_allowed(st, store_col_int(s, 0), store_col_int(s, 1), relayed) != STORE_OK) {
				ret = STORE_ERR;
				break;
			}
		}
		store_finalize(s);
	}
	if (ret < 0 || !json_array_size(relayed)) {
		json_decref(relayed);
		return ret < 0 ? ret : STORE_OK;
	}
	json_object_set_new(json_object_get(cfg, "gateway"), "relayed", relayed);
	return STORE_OK;
}

json_t *host_config(struct store *st, int64_t host_id)
{
	struct store_stmt *s;
	json_t *cfg = NULL, *peers;

	if (store_query(st, &s, "SELECT id, name, listen_port, revision FROM hosts WHERE id = ?", "i", host_id) !=
	    STORE_OK)
		return NULL;
	if (store_step(s) == STORE_ROW)
		cfg = json_pack("{s:I, s:s, s:I, s:I}", "host_id", (json_int_t)store_col_int(s, 0),
				"name", store_col_text(s, 1), "revision", (json_int_t)store_col_int(s, 3),
				"listen_port", (json_int_t)store_col_int(s, 2));
	store_finalize(s);
	if (!cfg)
		return NULL;
	peers = host_peers(st, host_id, 0);
	if (!peers || json_object_set_new(cfg, "peers", peers) < 0 || config_networks(st, host_id, cfg) != STORE_OK ||
	    ext_client_peers(st, host_id, peers) != STORE_OK || config_gateway(st, host_id, cfg) != STORE_OK ||
	    acl_host_filter(st, host_id, cfg) != STORE_OK || config_relays(st, host_id, cfg) != STORE_OK ||
	    dns_host_config(st, host_id, cfg) != STORE_OK) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

json_t *host_peers(struct store *st, int64_t host_id, int64_t peer_host)
{
	json_t *peers = json_array();

	if ((peer_host ? peer_direct(st, host_id, peer_host, peers) : peers_full(st, host_id, peers)) != STORE_OK) {
		json_decref(peers);
		return NULL;
	}
	return peers;
}
