/*
 * Peer computation: what one host's WireGuard interface should look like.
 * Full mesh within each network (for now); one peer entry per other host,
 * whose allowed IPs are the union of its addresses in the networks the two
 * share. Gateway ranges, relays and ACLs will add to or filter this list.
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

static int peers_of(struct store *st, int64_t host_id, int64_t peer_host, json_t *peers)
{
	json_t *cur = NULL, *allowed = NULL;
	int64_t cur_id = 0;
	struct store_stmt *s;
	char ep[300];
	int ret;

	ret = store_query(st, &s,
			  "SELECT h.id, h.name, h.public_key, h.endpoint_override, h.observed_ip, h.listen_port,"
			  "       n.address, n.address6, net.keepalive, net.ipv6_range"
			  " FROM nodes mine"
			  " JOIN nodes n ON n.network_id = mine.network_id AND n.host_id != mine.host_id"
			  " JOIN hosts h ON h.id = n.host_id"
			  " JOIN networks net ON net.id = n.network_id"
			  " WHERE mine.host_id = ? AND n.connected = 1 AND (? = 0 OR n.host_id = ?)"
			  " ORDER BY h.id, net.name", "iii", host_id, peer_host, peer_host);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);

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
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

json_t *host_config(struct store *st, int64_t host_id)
{
	struct store_stmt *s;
	json_t *cfg = NULL;

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
	if (config_networks(st, host_id, cfg) != STORE_OK ||
	    json_object_set_new(cfg, "peers", host_peers(st, host_id, 0)) < 0) {
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
