/*
 * Peer computation: what one host's WireGuard interface should look like.
 * Full mesh within each network; one peer entry per other host, whose
 * allowed IPs are the union of its addresses in the networks the two share,
 * plus, for gateways, their egress ranges and their ext clients' addresses.
 * An ingress gateway also has its ext clients as peers. Relays and ACLs will
 * add to or filter this list.
 * The work is proportional to the size of this host's networks.
 */
#include <stdio.h>
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

static int peers_of(struct store *st, int64_t host_id, int64_t peer_host, json_t *peers)
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
	 * Two statements, so each has a plan that fits: one peer (a delta) is
	 * looked up by its host, all peers by this host's networks. A single
	 * "(? = 0 OR n.host_id = ?)" would scan the whole network for one peer.
	 */
	if (peer_host)
		ret = store_query(st, &s, PEER_SELECT
				  " FROM nodes n JOIN nodes mine ON mine.network_id = n.network_id AND mine.host_id = ?"
				  " JOIN hosts h ON h.id = n.host_id JOIN networks net ON net.id = n.network_id"
				  " WHERE n.host_id = ? AND n.host_id != ? AND n.connected = 1 ORDER BY h.id, net.name",
				  "iii", host_id, peer_host, host_id);
	else
		ret = store_query(st, &s, PEER_SELECT
				  " FROM nodes mine"
				  " JOIN nodes n ON n.network_id = mine.network_id AND n.host_id != mine.host_id"
				  " JOIN hosts h ON h.id = n.host_id JOIN networks net ON net.id = n.network_id"
				  " WHERE mine.host_id = ? AND n.connected = 1 ORDER BY h.id, net.name", "i", host_id);
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
	    acl_host_filter(st, host_id, cfg) != STORE_OK) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

json_t *host_peers(struct store *st, int64_t host_id, int64_t peer_host)
{
	json_t *peers = json_array();

	if (peers_of(st, host_id, peer_host, peers) != STORE_OK) {
		json_decref(peers);
		return NULL;
	}
	return peers;
}
