/*
 * Hosts (machines) and nodes (a host's membership of a network):
 * registration with an enrollment token, the host's own configuration,
 * and the admin's view and changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "broker.h"
#include "handlers.h"
#include "key.h"
#include "log.h"
#include "names.h"

#define HOST_COLS "id, name, public_key, listen_port, endpoint_override, observed_ip, os, version, revision," \
		  " last_checkin, created_at"
#define MAX_LOCAL_ENDPOINTS 32
#define MAX_KEY_NETWORKS 64
/* A host is online when it checked in this recently (agents check in every 10 s). */
#define ONLINE_WINDOW 90

static json_t *text_or_null(struct store_stmt *s, int col)
{
	return store_col_null(s, col) ? json_null() : json_string(store_col_text(s, col));
}

/* Inside the lock. */
static json_t *host_json(struct store *st, struct store_stmt *h)
{
	int64_t id = store_col_int(h, 0);
	json_t *locals = json_array(), *tags = json_array();
	struct store_stmt *s;
	char ep[300];

	if (store_query(st, &s, "SELECT address FROM host_local_endpoints WHERE host_id = ? ORDER BY address", "i",
			id) == STORE_OK) {
		while (store_step(s) == STORE_ROW)
			json_array_append_new(locals, json_string(store_col_text(s, 0)));
		store_finalize(s);
	}
	if (store_query(st, &s, "SELECT tag FROM host_tags WHERE host_id = ? ORDER BY tag", "i", id) == STORE_OK) {
		while (store_step(s) == STORE_ROW)
			json_array_append_new(tags, json_string(store_col_text(s, 0)));
		store_finalize(s);
	}
	host_effective_endpoint(ep, sizeof(ep), store_col_text(h, 4), store_col_text(h, 5), store_col_int(h, 3));
	return json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:s, s:s, s:I, s:o, s:I, s:b, s:o}",
			 "id", (json_int_t)id, "name", store_col_text(h, 1), "public_key", store_col_text(h, 2),
			 "listen_port", (json_int_t)store_col_int(h, 3),
			 "endpoint", ep[0] ? json_string(ep) : json_null(),
			 "endpoint_override", text_or_null(h, 4), "observed_ip", text_or_null(h, 5),
			 "local_endpoints", locals, "os", store_col_text(h, 6), "version", store_col_text(h, 7),
			 "revision", (json_int_t)store_col_int(h, 8),
			 "last_checkin", json_time_or_null(store_col_null(h, 9), store_col_int(h, 9)),
			 "created_at", (json_int_t)store_col_int(h, 10),
			 "online", !store_col_null(h, 9) && store_col_int(h, 9) >= now_unix() - ONLINE_WINDOW,
			 "tags", tags);
}

static json_t *host_by_id(struct store *st, int64_t id)
{
	return row_json_by_id(st, host_json, "SELECT " HOST_COLS " FROM hosts WHERE id = ?", id);
}

#define NODE_SELECT "SELECT net.name, h.id, h.name, n.address, n.address6, n.connected, n.created_at," \
		    " h.last_checkin, n.ingress, n.id," \
		    " (SELECT MAX(last_handshake) FROM peer_stats ps WHERE ps.peer_key = h.public_key)," \
		    " (SELECT r.host_id FROM nodes r WHERE r.id = n.relayed_by), n.dns_server, n.reported_peers" \
		    " FROM nodes n JOIN hosts h ON h.id = n.host_id JOIN networks net ON net.id = n.network_id"

/* Inside the lock. */
static json_t *node_json(struct store *st, struct store_stmt *s)
{
	json_t *egress = json_array(), *relay = json_array();
	struct store_stmt *e;

	if (store_query(st, &e, "SELECT range, nat, wins FROM egress_ranges WHERE node_id = ? ORDER BY id", "i",
			store_col_int(s, 9)) == STORE_OK) {
		while (store_step(e) == STORE_ROW)
			json_array_append_new(egress, json_pack("{s:s, s:b, s:b}", "range", store_col_text(e, 0),
								"nat", (int)store_col_int(e, 1),
								"wins", (int)store_col_int(e, 2)));
		store_finalize(e);
	}
	/* The hosts this node relays (by host id, as PUT .../relay takes them). */
	if (store_query(st, &e, "SELECT host_id FROM nodes WHERE relayed_by = ? ORDER BY host_id", "i",
			store_col_int(s, 9)) == STORE_OK) {
		while (store_step(e) == STORE_ROW)
			json_array_append_new(relay, json_integer(store_col_int(e, 0)));
		store_finalize(e);
	}
	return json_pack("{s:s, s:I, s:s, s:s, s:o, s:b, s:I, s:o, s:b, s:b, s:o, s:o, s:o, s:o, s:b, s:o}",
			 "network", store_col_text(s, 0),
			 "host_id", (json_int_t)store_col_int(s, 1), "host_name", store_col_text(s, 2),
			 "address", store_col_text(s, 3), "address6", text_or_null(s, 4),
			 "connected", (int)store_col_int(s, 5), "created_at", (json_int_t)store_col_int(s, 6),
			 "last_checkin", json_time_or_null(store_col_null(s, 7), store_col_int(s, 7)),
			 "online", !store_col_null(s, 7) && store_col_int(s, 7) >= now_unix() - ONLINE_WINDOW,
			 "ingress", (int)store_col_int(s, 8), "egress", egress,
			 /* The newest handshake any peer reported with this host (0: none yet). */
			 "last_handshake", store_col_null(s, 10) || !store_col_int(s, 10) ? json_null() :
					   json_integer(store_col_int(s, 10)),
			 "relay", relay,
			 "relayed_by", store_col_null(s, 11) ? json_null() : json_integer(store_col_int(s, 11)),
			 /* It runs the network's DNS server (dns.c). */
			 "dns_server", (int)store_col_int(s, 12),
			 /* Its peers in this network as the host last reported them (null: not yet). */
			 "peers", store_col_null(s, 13) ? json_null() : json_integer(store_col_int(s, 13)));
}

int node_json_list(struct store *st, json_t *arr, const char *net_name, int64_t host_id)
{
	struct store_stmt *s;
	int ret;

	ret = store_query(st, &s, NODE_SELECT " WHERE (CAST(? AS TEXT) IS NULL OR net.name = ?) AND (? = 0 OR h.id = ?)"
			  " ORDER BY net.name, h.id", "ttii", net_name, net_name, host_id, host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW)
		json_array_append_new(arr, node_json(st, s));
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* Extract the "mge_..." key from an enrollment token (or accept the bare key). Caller frees. */
static char *enrollment_key_of(const char *token)
{
	char *decoded, *key = NULL;
	size_t len;
	json_t *obj;
	const char *k;

	if (!strncmp(token, "mge_", 4))
		return strdup(token);
	decoded = mg_b64url_decode(token, &len);
	if (!decoded)
		return NULL;
	obj = json_loadb(decoded, len, JSON_REJECT_DUPLICATES, NULL);
	k = json_string_value(json_object_get(obj, "key"));
	if (k && !strncmp(k, "mge_", 4) && strlen(k) < MG_TOKEN_LEN)
		key = strdup(k);
	json_decref(obj);
	mg_wipe(decoded, len);
	free(decoded);
	return key;
}

/* Validate the optional host fields shared by register and patch. Replies 400 on error. */
static bool check_host_fields(struct request *req, const char *name, const char *endpoint, json_t *locals,
			      const char *os, const char *version)
{
	const char *msg = NULL;
	char err[256];
	size_t i;
	json_t *v;

	if (name && (msg = mg_check_host_name(name))) {
		reply_error(req, 400, "name: %s", msg);
		return false;
	}
	if (endpoint && (msg = mg_check_endpoint(endpoint))) {
		reply_error(req, 400, "endpoint: %s", msg);
		return false;
	}
	if ((os && os[0] && (msg = mg_check_label(os))) || (version && version[0] && (msg = mg_check_label(version)))) {
		reply_error(req, 400, "os/version: %s", msg);
		return false;
	}
	if ((os && strlen(os) > 64) || (version && strlen(version) > 64)) {
		reply_error(req, 400, "os/version: at most 64 characters");
		return false;
	}
	if (!locals)
		return true;
	if (mg_json_string_array(locals, "local_endpoints", MAX_LOCAL_ENDPOINTS, err, sizeof(err)) < 0) {
		reply_error(req, 400, "%s", err);
		return false;
	}
	json_array_foreach(locals, i, v) {
		struct mg_ip ip;

		if (mg_ip_parse(json_string_value(v), &ip) < 0) {
			reply_error(req, 400, "local_endpoints: '%s' is not an IP address", json_string_value(v));
			return false;
		}
	}
	return true;
}

/* The outcome of a registration attempt that is not a store error. */
enum reg_refusal { REG_OK, REG_BAD_TOKEN, REG_EXPIRED, REG_USED_UP, REG_NO_NETWORKS, REG_NAME_TAKEN,
		   REG_KEY_TAKEN, REG_FULL, REG_DNS_TAKEN };

static int register_in_tx(struct request *req, const char *key, const char *pubkey, const char *name,
			  int64_t *port, bool has_port, const char *endpoint, json_t *locals, const char *os,
			  const char *version, const char *host_token, int64_t *host_id, enum reg_refusal *why,
			  char *full_net, size_t full_len, struct changeset *cs)
{
	struct store *st = req->srv->st;
	char hash[MG_HASH_HEX_LEN], thash[MG_HASH_HEX_LEN];
	int64_t key_id = 0, unlimited = 0, expires = 0, dummy;
	int64_t nets[MAX_KEY_NETWORKS];
	unsigned nnets = 0;
	bool found = false, has_expiry = false;
	struct store_stmt *s;
	size_t i;
	json_t *v;
	int ret;

	mg_token_hash(hash, key);
	ret = store_query(st, &s, "SELECT id, uses_remaining, unlimited, expires_at FROM enrollment_keys"
			  " WHERE token_hash = ?", "t", hash);
	if (ret != STORE_OK)
		return ret;
	if (store_step(s) == STORE_ROW) {
		found = true;
		key_id = store_col_int(s, 0);
		unlimited = store_col_int(s, 2);
		has_expiry = !store_col_null(s, 3);
		expires = store_col_int(s, 3);
	}
	store_finalize(s);
	if (!found)
		return *why = REG_BAD_TOKEN, STORE_OK;
	if (has_expiry && expires <= now_unix())
		return *why = REG_EXPIRED, STORE_OK;
	if (!unlimited) {
		/* Atomic: two registrations racing for the last use cannot both win. */
		ret = store_exec(st, "UPDATE enrollment_keys SET uses_remaining = uses_remaining - 1"
				 " WHERE id = ? AND uses_remaining > 0", "i", key_id);
		if (ret != STORE_OK)
			return ret;
		if (store_changes(st) == 0)
			return *why = REG_USED_UP, STORE_OK;
	}

	ret = store_query(st, &s, "SELECT n.id, n.listen_port FROM enrollment_key_networks kn"
			  " JOIN networks n ON n.id = kn.network_id WHERE kn.key_id = ? ORDER BY n.id", "i", key_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW && nnets < MAX_KEY_NETWORKS) {
		if (!has_port && nnets == 0)
			*port = store_col_int(s, 1);
		nets[nnets++] = store_col_int(s, 0);
	}
	store_finalize(s);
	if (ret < 0)
		return ret;
	if (nnets == 0)
		return *why = REG_NO_NETWORKS, STORE_OK;

	ret = store_get_int(st, &dummy, &found, "SELECT id FROM hosts WHERE name = ?", "t", name);
	if (ret != STORE_OK || found)
		return found ? (*why = REG_NAME_TAKEN, STORE_OK) : ret;
	ret = store_get_int(st, &dummy, &found, "SELECT id FROM hosts WHERE public_key = ?", "t", pubkey);
	if (ret != STORE_OK || found)
		return found ? (*why = REG_KEY_TAKEN, STORE_OK) : ret;

	mg_token_hash(thash, host_token);
	ret = store_get_int(st, host_id, NULL,
			    "INSERT INTO hosts (name, public_key, listen_port, endpoint_override, observed_ip, os, version,"
			    " token_hash, revision, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING id",
			    "ttittttti", name, pubkey, *port, endpoint,
			    strcmp(req->source_ip, "unknown") ? req->source_ip : NULL, os ? os : "",
			    version ? version : "", thash, now_unix());
	if (ret != STORE_OK)
		return ret;
	json_array_foreach(locals, i, v) {
		ret = store_exec(st, "INSERT INTO host_local_endpoints (host_id, address) VALUES (?, ?)"
				 " ON CONFLICT DO NOTHING", "it", *host_id, json_string_value(v));
		if (ret != STORE_OK)
			return ret;
	}
	/* A key's tags are given to the hosts that join with it (they select ACL rules). */
	ret = store_exec(st, "INSERT INTO host_tags (host_id, tag) SELECT ?, tag FROM enrollment_key_tags"
			 " WHERE key_id = ? ON CONFLICT DO NOTHING", "ii", *host_id, key_id);
	if (ret != STORE_OK)
		return ret;

	ret = changeset_begin(cs, req->srv, "node.join", name, *host_id);
	for (unsigned n = 0; n < nnets && ret == STORE_OK; n++) {
		char a4[MG_IP_STRLEN] = "", a6[MG_IP_STRLEN] = "", r4[MG_PREFIX_STRLEN] = "", r6[MG_PREFIX_STRLEN] = "";
		char netname[40] = "";

		ret = store_query(st, &s, "SELECT name, ipv4_range, ipv6_range FROM networks WHERE id = ?", "i", nets[n]);
		if (ret != STORE_OK)
			return ret;
		if (store_step(s) == STORE_ROW) {
			snprintf(netname, sizeof(netname), "%s", store_col_text(s, 0));
			snprintf(r4, sizeof(r4), "%s", store_col_text(s, 1));
			snprintf(r6, sizeof(r6), "%s", store_col_text(s, 2));
		}
		store_finalize(s);
		/* NAME.NETWORK must not be an ext client's or a custom DNS entry's name. */
		ret = dns_name_taken(st, nets[n], name, 0, 0, &found);
		if (ret == STORE_OK && found) {
			snprintf(full_net, full_len, "%s", netname);
			return *why = REG_DNS_TAKEN, STORE_OK;
		}
		if (ret != STORE_OK)
			return ret;
		ret = network_allocate(st, nets[n], r4, false, false, a4, sizeof(a4));
		if (ret == STORE_OK && r6[0])
			ret = network_allocate(st, nets[n], r6, true, false, a6, sizeof(a6));
		if (ret == -ENOSPC) {
			snprintf(full_net, full_len, "%s", netname);
			return *why = REG_FULL, STORE_OK;
		}
		if (ret != STORE_OK)
			return ret;
		ret = store_exec(st, "INSERT INTO nodes (host_id, network_id, address, address6, connected, created_at)"
				 " VALUES (?, ?, ?, ?, 1, ?)", "iitti", *host_id, nets[n], a4, a6[0] ? a6 : NULL,
				 now_unix());
		if (ret == STORE_OK)
			ret = changeset_add_network(cs, nets[n]);
	}
	if (ret == STORE_OK)
		ret = changeset_apply(cs);
	if (ret != STORE_OK)
		return ret;
	*why = REG_OK;
	/* The new host is the actor: it proved its right with the key. */
	snprintf(req->auth.actor, sizeof(req->auth.actor), "host:%lld", (long long)*host_id);
	return audit(req, "host.register", name, "key=%lld networks=%u", (long long)key_id, nnets);
}

void handle_hosts_register(struct request *req)
{
	struct store *st = req->srv->st;
	const char *token = NULL, *pubkey = NULL, *name = NULL, *endpoint = NULL, *os = NULL, *version = NULL;
	json_t *locals = NULL, *body, *result = NULL, *nodes, *broker;
	int64_t port = 51821, host_id = 0;
	bool has_port = false;
	const struct mg_json_field fields[] = {
		{ .name = "token", .type = MG_JSON_STRING, .required = true, .out = &token },
		{ .name = "public_key", .type = MG_JSON_STRING, .required = true, .out = &pubkey },
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &name },
		{ .name = "listen_port", .type = MG_JSON_INT, .out = &port, .min = 1, .max = 65535, .present = &has_port },
		{ .name = "endpoint", .type = MG_JSON_STRING, .out = &endpoint, .nullable = true },
		{ .name = "local_endpoints", .type = MG_JSON_ARRAY, .out = &locals },
		{ .name = "os", .type = MG_JSON_STRING, .out = &os },
		{ .name = "version", .type = MG_JSON_STRING, .out = &version },
		{ 0 }
	};
	char host_token[MG_TOKEN_LEN], full_net[40] = "";
	struct changeset cs = { .srv = req->srv };
	enum reg_refusal why = REG_OK;
	char *key = NULL;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (mg_key_valid_base64(pubkey) < 0) {
		reply_error(req, 400, "public_key must be a base64 WireGuard key (44 characters)");
		goto out;
	}
	if (!check_host_fields(req, name, endpoint, locals, os, version))
		goto out;
	key = enrollment_key_of(token);
	if (!key) {
		reply_error(req, 403, "invalid enrollment token");
		goto out;
	}
	mg_token_generate(host_token, "mgh_");

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "host");
		goto wipe;
	}
	ret = register_in_tx(req, key, pubkey, name, &port, has_port, endpoint, locals, os, version, host_token,
			     &host_id, &why, full_net, sizeof(full_net), &cs);
	if (ret == STORE_OK && why == REG_OK) {
		nodes = json_array();
		ret = node_json_list(st, nodes, NULL, host_id);
		result = json_pack("{s:o, s:s, s:o, s:o}", "host", host_by_id(st, host_id), "host_token", host_token,
				   "nodes", nodes, "config", host_config(st, host_id));
		if (!result)
			ret = STORE_ERR;
	}
	ret = changeset_commit(&cs, why != REG_OK ? STORE_CONSTRAINT : ret);
	switch (why) {
	case REG_OK:
		if (ret != STORE_OK) {
			reply_store_error(req, ret, "host");
			break;
		}
		log_info("host '%s' registered (id %lld) from %s", name, (long long)host_id, req->source_ip);
		/* Outside the transaction: a broker that is down must not block joining. */
		broker = broker_credentials(req->srv, host_id);
		if (req->srv->broker && !broker)
			log_warnx("host %lld has no broker account yet; it will ask again", (long long)host_id);
		json_object_set_new(result, "broker", broker ? broker : json_null());
		reply_json(req, 201, result);
		result = NULL;
		break;
	case REG_BAD_TOKEN:
		reply_error(req, 403, "invalid enrollment token");
		break;
	case REG_EXPIRED:
		reply_error(req, 403, "enrollment key expired");
		break;
	case REG_USED_UP:
		reply_error(req, 403, "enrollment key has no uses left");
		break;
	case REG_NO_NETWORKS:
		reply_error(req, 409, "enrollment key is not valid for any existing network");
		break;
	case REG_NAME_TAKEN:
		reply_error(req, 409, "host name '%s' is already registered", name);
		break;
	case REG_DNS_TAKEN:
		reply_error(req, 409, "the name '%s.%s' is already in use", name, full_net);
		break;
	case REG_KEY_TAKEN:
		reply_error(req, 409, "public key is already registered");
		break;
	case REG_FULL:
		reply_error(req, 503, "network '%s' has no free address", full_net);
		break;
	}
	json_decref(result);
wipe:
	mg_wipe(host_token, sizeof(host_token));
	if (key) {
		mg_wipe(key, strlen(key));
		free(key);
	}
out:
	json_decref(body);
}

void handle_hosts_list(struct request *req)
{
	reply_rows(req, host_json, "hosts", "SELECT " HOST_COLS " FROM hosts ORDER BY id", NULL);
}

void handle_hosts_get(struct request *req)
{
	int64_t id;
	json_t *host;

	if (!request_id_param(req, 0, &id))
		return;
	store_lock(req->srv->st);
	host = host_by_id(req->srv->st, id);
	store_unlock(req->srv->st);
	if (!host)
		reply_error(req, 404, "host not found");
	else
		reply_json(req, 200, host);
}

void handle_hosts_patch(struct request *req)
{
	json_t *tags = NULL;
	struct store *st = req->srv->st;
	const char *name = NULL, *endpoint = NULL;
	int64_t port = 0, id, other;
	bool has_port = false, has_endpoint = false, found = false, taken = false;
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .out = &name },
		{ .name = "listen_port", .type = MG_JSON_INT, .out = &port, .min = 1, .max = 65535, .present = &has_port },
		{ .name = "endpoint", .type = MG_JSON_STRING, .out = &endpoint, .nullable = true,
		  .present = &has_endpoint },
		{ .name = "tags", .type = MG_JSON_ARRAY, .out = &tags },
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	json_t *tag;
	char err[200];
	size_t ti;
	json_t *body, *host = NULL;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	body = request_json(req, fields);
	if (!body)
		return;
	if (!check_host_fields(req, name, endpoint, NULL, NULL, NULL))
		goto out;
	if (tags && mg_json_string_array(tags, "tags", 32, err, sizeof(err)) < 0) {
		reply_error(req, 400, "%s", err);
		goto out;
	}
	json_array_foreach(tags, ti, tag) {
		const char *msg = mg_check_host_name(json_string_value(tag));

		if (msg) {
			reply_error(req, 400, "tags: %s", msg);
			goto out;
		}
	}
	if (!name && !has_port && !has_endpoint && !tags) {
		reply_error(req, 400, "nothing to update");
		goto out;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "host");
		goto out;
	}
	ret = store_get_int(st, &other, &found, "SELECT id FROM hosts WHERE id = ?", "i", id);
	if (ret == STORE_OK && found && name)
		ret = store_get_int(st, &other, &taken, "SELECT id FROM hosts WHERE name = ? AND id != ?", "ti", name, id);
	/* Nor may NAME.NETWORK clash with an ext client or a custom DNS entry in one of its networks. */
	if (ret == STORE_OK && found && name && !taken)
		ret = dns_host_name_taken(st, id, name, &taken);
	if (ret != STORE_OK || !found || taken) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "host");
		else if (!found)
			reply_error(req, 404, "host not found");
		else
			reply_error(req, 409, "host name '%s' is already in use", name);
		goto out;
	}
	if (name)
		ret = store_exec(st, "UPDATE hosts SET name = ? WHERE id = ?", "ti", name, id);
	if (ret == STORE_OK && has_port)
		ret = store_exec(st, "UPDATE hosts SET listen_port = ? WHERE id = ?", "ii", port, id);
	if (ret == STORE_OK && has_endpoint)
		ret = store_exec(st, "UPDATE hosts SET endpoint_override = ? WHERE id = ?", "ti", endpoint, id);
	if (ret == STORE_OK && tags) {
		ret = store_exec(st, "DELETE FROM host_tags WHERE host_id = ?", "i", id);
		json_array_foreach(tags, ti, tag)
			if (ret == STORE_OK)
				ret = store_exec(st, "INSERT INTO host_tags (host_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
						 "it", id, json_string_value(tag));
	}
	if (ret == STORE_OK)
		ret = changeset_begin(&cs, req->srv, "host.update", req->params[0], id);
	if (ret == STORE_OK)
		ret = changeset_add_host_peers(&cs, id);
	if (ret == STORE_OK)
		ret = changeset_apply(&cs);
	if (ret == STORE_OK)
		ret = audit(req, "host.update", req->params[0], "%s%s%s%s", name ? "name " : "",
			    has_port ? "listen_port " : "", has_endpoint ? "endpoint " : "", tags ? "tags" : "");
	if (ret == STORE_OK)
		host = host_by_id(st, id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !host) {
		json_decref(host);
		reply_store_error(req, ret, "host");
		goto out;
	}
	reply_json(req, 200, host);
out:
	json_decref(body);
}

/* Remove a host and tell its peers. Replies. */
static void delete_host(struct request *req, int64_t id, const char *action)
{
	struct store *st = req->srv->st;
	struct changeset cs = { .srv = req->srv };
	int64_t found_id;
	bool found = false;
	char target[32];
	int ret;

	snprintf(target, sizeof(target), "%lld", (long long)id);
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "host");
		return;
	}
	ret = store_get_int(st, &found_id, &found, "SELECT id FROM hosts WHERE id = ?", "i", id);
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "host");
		else
			reply_error(req, 404, "host not found");
		return;
	}
	ret = changeset_begin(&cs, req->srv, action, target, id);
	if (ret == STORE_OK)
		ret = changeset_add_host_peers(&cs, id);
	if (ret == STORE_OK)
		ret = changeset_apply(&cs);
	if (ret == STORE_OK)
		ret = store_exec(st, "DELETE FROM hosts WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = audit(req, action, target, NULL);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "host");
		return;
	}
	if (req->srv->broker)
		broker_delete_host_account(req->srv->broker, id);
	reply_empty(req, 204);
}

void handle_hosts_delete(struct request *req)
{
	int64_t id;

	if (request_id_param(req, 0, &id))
		delete_host(req, id, "host.delete");
}

void handle_host_self_delete(struct request *req)
{
	delete_host(req, req->auth.host_id, "host.leave");
}

void handle_host_self_config(struct request *req)
{
	json_t *cfg;

	store_lock(req->srv->st);
	cfg = host_config(req->srv->st, req->auth.host_id);
	store_unlock(req->srv->st);
	if (!cfg)
		reply_error(req, 404, "host not found");
	else
		reply_json(req, 200, cfg);
}

static bool network_exists(struct store *st, const char *name)
{
	int64_t id;
	bool found = false;

	store_get_int(st, &id, &found, "SELECT id FROM networks WHERE name = ?", "t", name);
	return found;
}

void handle_nodes_list(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *arr = json_array();
	bool exists;
	int ret;

	store_lock(st);
	exists = network_exists(st, req->params[0]);
	ret = exists ? node_json_list(st, arr, req->params[0], 0) : STORE_OK;
	store_unlock(st);
	if (!exists || ret != STORE_OK) {
		json_decref(arr);
		if (!exists)
			reply_error(req, 404, "network not found");
		else
			reply_store_error(req, ret, "nodes");
		return;
	}
	reply_json(req, 200, arr);
}

void handle_nodes_get(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *arr = json_array();
	int64_t id;
	int ret;

	if (!request_id_param(req, 1, &id)) {
		json_decref(arr);
		return;
	}
	store_lock(st);
	ret = node_json_list(st, arr, req->params[0], id);
	store_unlock(st);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "node");
	else if (json_array_size(arr) == 0)
		reply_error(req, 404, "node not found");
	else
		reply_json(req, 200, json_incref(json_array_get(arr, 0)));
	json_decref(arr);
}

/* The host leaves one network. Replies. */
static void leave_network(struct request *req, const char *net_name, int64_t host_id)
{
	struct store *st = req->srv->st;
	int64_t net_id = 0, node_id = 0;
	bool found = false;
	struct changeset cs = { .srv = req->srv };
	char subject[64];
	int ret;

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "node");
		return;
	}
	ret = store_get_int(st, &net_id, &found, "SELECT id FROM networks WHERE name = ?", "t", net_name);
	if (ret == STORE_OK && found)
		ret = store_get_int(st, &node_id, &found, "SELECT id FROM nodes WHERE network_id = ? AND host_id = ?",
				    "ii", net_id, host_id);
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "node");
		else
			reply_error(req, 404, "node not found");
		return;
	}
	snprintf(subject, sizeof(subject), "%lld", (long long)host_id);
	ret = changeset_begin(&cs, req->srv, "node.leave", subject, host_id);
	if (ret == STORE_OK)
		ret = changeset_add_network(&cs, net_id);
	if (ret == STORE_OK)
		ret = changeset_apply(&cs);
	if (ret == STORE_OK)
		ret = store_exec(st, "DELETE FROM nodes WHERE id = ?", "i", node_id);
	if (ret == STORE_OK)
		ret = audit(req, "node.delete", net_name, "host=%lld", (long long)host_id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "node");
	else
		reply_empty(req, 204);
}

void handle_nodes_delete(struct request *req)
{
	int64_t host_id;

	if (request_id_param(req, 1, &host_id))
		leave_network(req, req->params[0], host_id);
}

void handle_host_self_leave_network(struct request *req)
{
	leave_network(req, req->params[0], req->auth.host_id);
}
