/*
 * External clients: phones and laptops with the stock WireGuard app, peers
 * of one ingress gateway only. Admins manage all of them; a `user` sees and
 * manages only the clients they own (others' answer 404, as if absent).
 * Private keys never appear in JSON; the .conf and QR downloads are the only
 * way out, and every download is audited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "extclient/extclient.h"
#include "handlers.h"
#include "key.h"
#include "log.h"
#include "names.h"

#define MAX_DNS 4
#define MAX_SITE_RANGES 32
#define CLIENT_COLS "c.id, c.name, net.name, h.id, h.name, c.public_key, c.address, c.address6, c.dns, c.mtu," \
		    " c.keepalive, c.full_tunnel, c.enabled, c.expires_at, c.owner_user_id," \
		    " c.private_key_enc IS NOT NULL, c.created_at, " CLIENT_DNS
/*
 * The DNS servers a client's .conf carries: its own list, or when it has
 * none the mesh address of its network's DNS server node ("" when neither).
 * Resolved when the .conf is rendered, so setting or moving the DNS server
 * node reaches every client's next download.
 */
#define CLIENT_DNS "CASE WHEN c.dns != '' THEN c.dns ELSE COALESCE((SELECT d.address FROM nodes d" \
		   " WHERE d.network_id = c.network_id AND d.dns_server = 1), '') END"
#define CLIENT_FROM " FROM ext_clients c JOIN networks net ON net.id = c.network_id" \
		    " JOIN nodes n ON n.id = c.gateway_node_id JOIN hosts h ON h.id = n.host_id"

static json_t *split_list(const char *csv)
{
	json_t *arr = json_array();
	const char *p = csv;

	while (*p) {
		size_t len = strcspn(p, ",");

		json_array_append_new(arr, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	return arr;
}

/* Inside the lock. */
static json_t *client_json(struct store *st, struct store_stmt *s)
{
	json_t *sites = json_array();
	struct store_stmt *r;
	int64_t expires = store_col_int(s, 13);
	bool has_expiry = !store_col_null(s, 13);

	if (store_query(st, &r, "SELECT range FROM ext_client_ranges WHERE client_id = ? ORDER BY range", "i",
			store_col_int(s, 0)) == STORE_OK) {
		while (store_step(r) == STORE_ROW)
			json_array_append_new(sites, json_string(store_col_text(r, 0)));
		store_finalize(r);
	}
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:o, s:b, s:o,"
			 " s:b, s:I, s:o}",
			 "id", (json_int_t)store_col_int(s, 0), "name", store_col_text(s, 1),
			 "network", store_col_text(s, 2), "gateway_host_id", (json_int_t)store_col_int(s, 3),
			 "gateway_name", store_col_text(s, 4), "public_key", store_col_text(s, 5),
			 "address", store_col_text(s, 6),
			 "address6", store_col_null(s, 7) ? json_null() : json_string(store_col_text(s, 7)),
			 "dns", split_list(store_col_text(s, 8)),
			 "mtu", store_col_null(s, 9) ? json_null() : json_integer(store_col_int(s, 9)),
			 "keepalive", store_col_null(s, 10) ? json_null() : json_integer(store_col_int(s, 10)),
			 "full_tunnel", (int)store_col_int(s, 11),
			 "extra_allowed_ips", sites,
			 "enabled", (int)store_col_int(s, 12),
			 "expires_at", has_expiry ? json_integer(expires) : json_null(),
			 "expired", has_expiry && expires <= now_unix(),
			 "owner_user_id", store_col_null(s, 14) ? json_null() : json_integer(store_col_int(s, 14)),
			 "has_private_key", (int)store_col_int(s, 15),
			 "created_at", (json_int_t)store_col_int(s, 16),
			 "effective_dns", split_list(store_col_text(s, 17)));
}

/* The client by id if the caller may see it (admins: all; users: their own). Inside the lock. */
static json_t *client_visible(struct request *req, int64_t id)
{
	struct store_stmt *s;
	json_t *c = NULL;

	if (store_query(req->srv->st, &s, "SELECT " CLIENT_COLS CLIENT_FROM
			" WHERE c.id = ? AND (? = 1 OR c.owner_user_id = ?)", "iii", id, (int64_t)req->auth.admin,
			req->auth.user_id) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			c = client_json(req->srv->st, s);
		store_finalize(s);
	}
	return c;
}

void handle_extclients_list(struct request *req)
{
	const char *net = request_arg(req, "network");

	reply_rows(req, client_json, "ext clients", "SELECT " CLIENT_COLS CLIENT_FROM
		   " WHERE (? = 1 OR c.owner_user_id = ?) AND (CAST(? AS TEXT) IS NULL OR net.name = ?) ORDER BY c.id",
		   "iitt", (int64_t)req->auth.admin, req->auth.user_id, net, net);
}

void handle_extclients_get(struct request *req)
{
	int64_t id;
	json_t *c;

	if (!request_id_param(req, 0, &id))
		return;
	store_lock(req->srv->st);
	c = client_visible(req, id);
	store_unlock(req->srv->st);
	if (!c)
		reply_error(req, 404, "ext client not found");
	else
		reply_json(req, 200, c);
}

/* The optional settings shared by create and update. */
struct client_settings {
	const char *name;
	json_t *dns, *sites;
	int64_t mtu, keepalive, expires_at;
	bool has_mtu, has_keepalive, has_expiry, full_tunnel, has_full_tunnel, enabled, has_enabled;
	char dns_csv[MAX_DNS * (MG_IP_STRLEN + 1)];
};

/* Validate settings against the network's ranges; replies 400 and returns false on error. */
/*
 * A site's range must not take over what others route: no overlap with an
 * egress range or another client's site in the network. Replies 409.
 */
static bool site_is_free(struct request *req, const struct mg_prefix *p, const char *text, int64_t net,
			 int64_t client)
{
	struct store_stmt *s;
	bool ok = true;

	if (store_query(req->srv->st, &s, "SELECT range FROM egress_ranges WHERE network_id = ?"
			" UNION ALL SELECT r.range FROM ext_client_ranges r JOIN ext_clients c ON c.id = r.client_id"
			" WHERE c.network_id = ? AND c.id != ?", "iii", net, net, client) != STORE_OK) {
		reply_error(req, 500, "internal storage error");
		return false;
	}
	while (ok && store_step(s) == STORE_ROW) {
		struct mg_prefix other;

		if (mg_prefix_parse(store_col_text(s, 0), &other) == 0 && other.ip.family == p->ip.family &&
		    mg_prefix_overlaps(&other, p)) {
			reply_error(req, 409, "extra_allowed_ips: %s overlaps %s, already routed in this network", text,
				    store_col_text(s, 0));
			ok = false;
		}
	}
	store_finalize(s);
	return ok;
}

static bool check_settings(struct request *req, struct client_settings *cs, json_t *body, const char *v4,
			   const char *v6, int64_t net, int64_t client)
{
	const char *msg;
	char err[256];
	size_t i;
	json_t *v;

	if (cs->name && (msg = mg_check_host_name(cs->name))) {
		reply_error(req, 400, "name: %s", msg);
		return false;
	}
	if (cs->has_expiry && json_is_null(json_object_get(body, "expires_at")))
		cs->has_expiry = false, cs->expires_at = -1;	/* -1: clear the expiry */
	else if (cs->has_expiry && cs->expires_at <= now_unix()) {
		reply_error(req, 400, "expires_at is in the past");
		return false;
	}
	if (cs->dns) {
		if (mg_json_string_array(cs->dns, "dns", MAX_DNS, err, sizeof(err)) < 0) {
			reply_error(req, 400, "%s", err);
			return false;
		}
		cs->dns_csv[0] = '\0';
		json_array_foreach(cs->dns, i, v) {
			struct mg_ip ip;
			char canon[MG_IP_STRLEN];

			if (mg_ip_parse(json_string_value(v), &ip) < 0) {
				reply_error(req, 400, "dns: '%s' is not an IP address", json_string_value(v));
				return false;
			}
			mg_ip_format(&ip, canon, sizeof(canon));
			if (i)
				strcat(cs->dns_csv, ",");
			strcat(cs->dns_csv, canon);
		}
	}
	if (cs->sites) {
		struct mg_prefix net4, net6, p;

		if (mg_json_string_array(cs->sites, "extra_allowed_ips", MAX_SITE_RANGES, err, sizeof(err)) < 0) {
			reply_error(req, 400, "%s", err);
			return false;
		}
		/* A site is routed by every node of the network: the admin's decision, not a user's. */
		if (json_array_size(cs->sites) && !req->auth.admin) {
			reply_error(req, 403, "only admins may route sites (extra_allowed_ips) through a client");
			return false;
		}
		mg_prefix_parse(v4, &net4);
		if (v6 && v6[0])
			mg_prefix_parse(v6, &net6);
		json_array_foreach(cs->sites, i, v) {
			if (mg_prefix_parse_canonical(json_string_value(v), &p) < 0 || p.len == 0) {
				reply_error(req, 400, "extra_allowed_ips: '%s' is not a CIDR without host bits",
					    json_string_value(v));
				return false;
			}
			if ((p.ip.family == AF_INET && mg_prefix_overlaps(&p, &net4)) ||
			    (v6 && v6[0] && p.ip.family == AF_INET6 && mg_prefix_overlaps(&p, &net6))) {
				reply_error(req, 400, "extra_allowed_ips: %s overlaps the network's range",
					    json_string_value(v));
				return false;
			}
			for (size_t k = 0; k < i; k++) {
				struct mg_prefix q;

				mg_prefix_parse(json_string_value(json_array_get(cs->sites, k)), &q);
				if (q.ip.family == p.ip.family && mg_prefix_overlaps(&p, &q)) {
					reply_error(req, 400, "extra_allowed_ips: %s overlaps %s", json_string_value(v),
						    json_string_value(json_array_get(cs->sites, k)));
					return false;
				}
			}
			if (!site_is_free(req, &p, json_string_value(v), net, client))
				return false;
		}
	}
	return true;
}

/* Write the optional settings of an existing client row. Inside the transaction. */
static int store_settings(struct store *st, int64_t id, const struct client_settings *cs)
{
	int ret = STORE_OK;
	size_t i;
	json_t *v;

	if (cs->name)
		ret = store_exec(st, "UPDATE ext_clients SET name = ? WHERE id = ?", "ti", cs->name, id);
	if (ret == STORE_OK && cs->dns)
		ret = store_exec(st, "UPDATE ext_clients SET dns = ? WHERE id = ?", "ti", cs->dns_csv, id);
	if (ret == STORE_OK && cs->has_mtu)
		ret = store_exec(st, "UPDATE ext_clients SET mtu = ? WHERE id = ?", "ii", cs->mtu, id);
	if (ret == STORE_OK && cs->has_keepalive)
		ret = store_exec(st, "UPDATE ext_clients SET keepalive = ? WHERE id = ?", "ii", cs->keepalive, id);
	if (ret == STORE_OK && cs->has_full_tunnel)
		ret = store_exec(st, "UPDATE ext_clients SET full_tunnel = ? WHERE id = ?", "ii",
				 (int64_t)cs->full_tunnel, id);
	if (ret == STORE_OK && cs->has_enabled)
		ret = store_exec(st, "UPDATE ext_clients SET enabled = ? WHERE id = ?", "ii", (int64_t)cs->enabled, id);
	if (ret == STORE_OK && (cs->has_expiry || cs->expires_at == -1))
		ret = store_exec(st, "UPDATE ext_clients SET expires_at = ? WHERE id = ?", "ji",
				 cs->has_expiry ? &cs->expires_at : NULL, id);
	if (ret == STORE_OK && cs->sites) {
		ret = store_exec(st, "DELETE FROM ext_client_ranges WHERE client_id = ?", "i", id);
		json_array_foreach(cs->sites, i, v)
			if (ret == STORE_OK)
				ret = store_exec(st, "INSERT INTO ext_client_ranges (client_id, range) VALUES (?, ?)"
						 " ON CONFLICT DO NOTHING", "it", id, json_string_value(v));
	}
	return ret;
}

/* The client's gateway changed peers: it gets a new config, its network the gateway's new allowed IPs. */
int extclient_changeset(struct server *srv, struct changeset *cs, const char *action, const char *name,
			int64_t client_id)
{
	struct store *st = srv->st;
	int64_t gw_host = 0, net = 0;
	struct store_stmt *s;
	int ret;

	ret = store_query(st, &s, "SELECT n.host_id, c.network_id FROM ext_clients c JOIN nodes n"
			  " ON n.id = c.gateway_node_id WHERE c.id = ?", "i", client_id);
	if (ret != STORE_OK)
		return ret;
	if (store_step(s) == STORE_ROW) {
		gw_host = store_col_int(s, 0);
		net = store_col_int(s, 1);
	}
	store_finalize(s);
	if (!gw_host)
		return STORE_ERR;
	ret = changeset_begin(cs, srv, action, name, gw_host);
	if (ret == STORE_OK)
		ret = changeset_add_network(cs, net);
	if (ret == STORE_OK)
		ret = changeset_apply(cs);
	return ret;
}

#define SETTINGS_FIELDS(cs) \
	{ .name = "dns", .type = MG_JSON_ARRAY, .out = &(cs).dns }, \
	{ .name = "mtu", .type = MG_JSON_INT, .out = &(cs).mtu, .min = 1280, .max = 9000, .present = &(cs).has_mtu }, \
	{ .name = "keepalive", .type = MG_JSON_INT, .out = &(cs).keepalive, .min = 0, .max = 3600, \
	  .present = &(cs).has_keepalive }, \
	{ .name = "extra_allowed_ips", .type = MG_JSON_ARRAY, .out = &(cs).sites }, \
	{ .name = "full_tunnel", .type = MG_JSON_BOOL, .out = &(cs).full_tunnel, .present = &(cs).has_full_tunnel }, \
	{ .name = "enabled", .type = MG_JSON_BOOL, .out = &(cs).enabled, .present = &(cs).has_enabled }, \
	{ .name = "expires_at", .type = MG_JSON_INT, .out = &(cs).expires_at, .min = 1, .max = 253402300799LL, \
	  .present = &(cs).has_expiry, .nullable = true }

void handle_extclients_create(struct request *req)
{
	struct store *st = req->srv->st;
	struct client_settings set = { 0 };
	const char *network = NULL, *pubkey = NULL;
	int64_t gateway = 0, owner = 0, node_id = 0, net_id = 0, id = 0;
	bool has_owner = false, found = false;
	const struct mg_json_field fields[] = {
		{ .name = "network", .type = MG_JSON_STRING, .required = true, .out = &network },
		{ .name = "gateway_host_id", .type = MG_JSON_INT, .required = true, .out = &gateway, .min = 1,
		  .max = INT64_MAX },
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &set.name },
		{ .name = "public_key", .type = MG_JSON_STRING, .out = &pubkey, .nullable = true },
		{ .name = "owner_user_id", .type = MG_JSON_INT, .out = &owner, .min = 1, .max = INT64_MAX,
		  .present = &has_owner },
		SETTINGS_FIELDS(set),
		{ 0 }
	};
	char v4[MG_PREFIX_STRLEN] = "", v6[MG_PREFIX_STRLEN] = "", a4[MG_IP_STRLEN], a6[MG_IP_STRLEN] = "";
	char priv_b64[MG_KEY_B64_LEN], pub_b64[MG_KEY_B64_LEN], *sealed = NULL;
	struct changeset cs = { .srv = req->srv };
	struct store_stmt *s;
	json_t *body, *result = NULL;
	mg_key priv, pub;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (pubkey && mg_key_valid_base64(pubkey) < 0) {
		reply_error(req, 400, "public_key must be a base64 WireGuard key (44 characters)");
		goto out;
	}
	if (has_owner && !req->auth.admin) {
		reply_error(req, 403, "only admins may create ext clients for other users");
		goto out;
	}
	if (!has_owner)
		owner = req->auth.user_id;

	/* A server-made key pair: the private key is kept sealed, for the .conf and QR. */
	if (!pubkey) {
		mg_key_generate_private(priv);
		mg_key_public_from_private(pub, priv);
		mg_key_to_base64(priv_b64, priv);
		mg_key_to_base64(pub_b64, pub);
		sealed = secret_seal(req->srv, priv_b64);
		mg_wipe(priv, sizeof(priv));
		mg_wipe(priv_b64, sizeof(priv_b64));
		if (!sealed) {
			reply_error(req, 500, "cannot seal the private key");
			goto out;
		}
		pubkey = pub_b64;
	}

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "ext client");
		goto out;
	}
	ret = store_query(st, &s, "SELECT n.id, net.id, net.ipv4_range, net.ipv6_range FROM nodes n"
			  " JOIN networks net ON net.id = n.network_id"
			  " WHERE net.name = ? AND n.host_id = ? AND n.ingress = 1", "ti", network, gateway);
	if (ret == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			node_id = store_col_int(s, 0);
			net_id = store_col_int(s, 1);
			snprintf(v4, sizeof(v4), "%s", store_col_text(s, 2));
			snprintf(v6, sizeof(v6), "%s", store_col_text(s, 3));
		}
		store_finalize(s);
	}
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ext client");
		else
			reply_error(req, 400, "host %lld is not an ingress gateway of network '%s'", (long long)gateway,
				    network);
		goto out;
	}
	if (!check_settings(req, &set, body, v4, v6, net_id, 0)) {
		store_rollback(st);
		goto out;
	}
	ret = store_get_int(st, &id, &found, "SELECT id FROM ext_clients WHERE network_id = ? AND name = ?", "it",
			    net_id, set.name);
	/* NAME.NETWORK must not be a node's or a custom DNS entry's name either. */
	if (ret == STORE_OK && !found)
		ret = dns_name_taken(st, net_id, set.name, 0, 0, &found);
	if (ret == STORE_OK && !found)
		ret = store_get_int(st, &id, &found, "SELECT id FROM ext_clients WHERE public_key = ?"
				    " UNION ALL SELECT id FROM hosts WHERE public_key = ?", "tt", pubkey, pubkey);
	if (ret != STORE_OK || found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ext client");
		else
			reply_error(req, 409, "the name '%s' or the public key is already in use", set.name);
		goto out;
	}
	ret = network_allocate(st, net_id, v4, false, true, a4, sizeof(a4));
	if (ret == STORE_OK && v6[0])
		ret = network_allocate(st, net_id, v6, true, true, a6, sizeof(a6));
	if (ret == -ENOSPC) {
		store_rollback(st);
		reply_error(req, 503, "network '%s' has no free address", network);
		goto out;
	}
	if (ret == STORE_OK)
		ret = store_get_int(st, &id, NULL,
				    "INSERT INTO ext_clients (network_id, gateway_node_id, name, public_key, private_key_enc,"
				    " address, address6, owner_user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
				    " RETURNING id", "iittttt" "ii", net_id, node_id, set.name, pubkey, sealed, a4,
				    a6[0] ? a6 : NULL, owner, now_unix());
	if (ret == STORE_OK)
		ret = store_settings(st, id, &set);
	if (ret == STORE_OK)
		ret = extclient_changeset(req->srv, &cs, "extclient.create", set.name, id);
	if (ret == STORE_OK)
		ret = audit(req, "extclient.create", set.name, "id=%lld network=%s gateway=%lld", (long long)id,
			    network, (long long)gateway);
	if (ret == STORE_OK)
		result = client_visible(req, id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !result) {
		json_decref(result);
		reply_store_error(req, ret, "ext client");
		goto out;
	}
	reply_json(req, 201, result);
out:
	free(sealed);
	json_decref(body);
}

void handle_extclients_patch(struct request *req)
{
	struct store *st = req->srv->st;
	struct client_settings set = { 0 };
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .out = &set.name },
		SETTINGS_FIELDS(set),
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	char v4[MG_PREFIX_STRLEN] = "", v6[MG_PREFIX_STRLEN] = "", name[80] = "";
	struct store_stmt *s;
	json_t *body, *result = NULL;
	bool found = false;
	int64_t id, dup, net_id = 0;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	body = request_json(req, fields);
	if (!body)
		return;
	if (json_object_size(body) == 0) {
		reply_error(req, 400, "nothing to update");
		goto out;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "ext client");
		goto out;
	}
	ret = store_query(st, &s, "SELECT net.ipv4_range, net.ipv6_range, c.name, net.id FROM ext_clients c"
			  " JOIN networks net ON net.id = c.network_id WHERE c.id = ? AND (? = 1 OR c.owner_user_id = ?)",
			  "iii", id, (int64_t)req->auth.admin, req->auth.user_id);
	if (ret == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			snprintf(v4, sizeof(v4), "%s", store_col_text(s, 0));
			snprintf(v6, sizeof(v6), "%s", store_col_text(s, 1));
			snprintf(name, sizeof(name), "%s", store_col_text(s, 2));
			net_id = store_col_int(s, 3);
		}
		store_finalize(s);
	}
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ext client");
		else
			reply_error(req, 404, "ext client not found");
		goto out;
	}
	if (!check_settings(req, &set, body, v4, v6, net_id, id)) {
		store_rollback(st);
		goto out;
	}
	found = false;
	if (set.name)
		ret = store_get_int(st, &dup, &found, "SELECT d.id FROM ext_clients d JOIN ext_clients c"
				    " ON c.network_id = d.network_id WHERE c.id = ? AND d.id != ? AND d.name = ?",
				    "iit", id, id, set.name);
	/* Nor a node's or a custom DNS entry's (NAME.NETWORK). */
	if (ret == STORE_OK && !found && set.name && (ret = store_get_int(st, &dup, NULL,
	    "SELECT network_id FROM ext_clients WHERE id = ?", "i", id)) == STORE_OK)
		ret = dns_name_taken(st, dup, set.name, 0, id, &found);
	if (ret != STORE_OK || found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ext client");
		else
			reply_error(req, 409, "the name '%s' is already in use in this network", set.name);
		goto out;
	}
	ret = store_settings(st, id, &set);
	if (ret == STORE_OK)
		ret = extclient_changeset(req->srv, &cs, "extclient.update", set.name ? set.name : name, id);
	if (ret == STORE_OK)
		ret = audit(req, "extclient.update", set.name ? set.name : name, "id=%lld%s", (long long)id,
			    set.has_enabled ? (set.enabled ? " enabled" : " disabled") : "");
	if (ret == STORE_OK)
		result = client_visible(req, id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !result) {
		json_decref(result);
		reply_store_error(req, ret, "ext client");
		goto out;
	}
	reply_json(req, 200, result);
out:
	json_decref(body);
}

void handle_extclients_delete(struct request *req)
{
	struct store *st = req->srv->st;
	struct changeset cs = { .srv = req->srv };
	char name[80] = "";
	struct store_stmt *s;
	bool found = false;
	int64_t id;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "ext client");
		return;
	}
	ret = store_query(st, &s, "SELECT name FROM ext_clients c WHERE c.id = ? AND (? = 1 OR c.owner_user_id = ?)",
			  "iii", id, (int64_t)req->auth.admin, req->auth.user_id);
	if (ret == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			snprintf(name, sizeof(name), "%s", store_col_text(s, 0));
		}
		store_finalize(s);
	}
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ext client");
		else
			reply_error(req, 404, "ext client not found");
		return;
	}
	/* Record the change while the client still names its gateway, then delete. */
	ret = extclient_changeset(req->srv, &cs, "extclient.delete", name, id);
	if (ret == STORE_OK)
		ret = store_exec(st, "DELETE FROM ext_clients WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = audit(req, "extclient.delete", name, "id=%lld", (long long)id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "ext client");
	else
		reply_empty(req, 204);
}

/*
 * The client's wg-quick configuration. Replies and returns NULL when there
 * is none to give (unknown client, key supplied by the client, no endpoint).
 */
static char *client_conf(struct request *req, int64_t id, char *name, size_t namelen)
{
	struct store *st = req->srv->st;
	const char *addrs[2], *dns[MAX_DNS], *allowed[EXT_MAX_ALLOWED_IPS];
	char a4[MG_PREFIX_STRLEN], a6[MG_PREFIX_STRLEN], ep[300] = "", gwkey[MG_KEY_B64_LEN] = "";
	char *sealed = NULL, *priv = NULL, *dnsbuf = NULL, *conf = NULL, err[EXT_ERR_LEN];
	char *ranges[EXT_MAX_ALLOWED_IPS];
	size_t n_addrs = 0, n_dns = 0, n_allowed = 0, n_ranges = 0;
	int64_t mtu = 0, keepalive = 0, net_id = 0;
	bool full = false, found = false;
	struct store_stmt *s;
	struct ext_conf c;

	store_lock(st);
	if (store_query(st, &s, "SELECT c.name, c.private_key_enc, c.address, c.address6, " CLIENT_DNS ","
			" COALESCE(c.mtu, net.mtu), COALESCE(c.keepalive, net.keepalive), c.full_tunnel,"
			" h.public_key, h.endpoint_override, h.observed_ip, h.listen_port, net.id,"
			" net.ipv4_range, net.ipv6_range"
			" FROM ext_clients c JOIN networks net ON net.id = c.network_id"
			" JOIN nodes n ON n.id = c.gateway_node_id JOIN hosts h ON h.id = n.host_id"
			" WHERE c.id = ? AND (? = 1 OR c.owner_user_id = ?)", "iii", id, (int64_t)req->auth.admin,
			req->auth.user_id) == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			snprintf(name, namelen, "%s", store_col_text(s, 0));
			sealed = store_col_null(s, 1) ? NULL : strdup(store_col_text(s, 1));
			snprintf(a4, sizeof(a4), "%s/32", store_col_text(s, 2));
			addrs[n_addrs++] = a4;
			if (!store_col_null(s, 3)) {
				snprintf(a6, sizeof(a6), "%s/128", store_col_text(s, 3));
				addrs[n_addrs++] = a6;
			}
			dnsbuf = strdup(store_col_text(s, 4));
			mtu = store_col_int(s, 5);
			keepalive = store_col_int(s, 6);
			full = store_col_int(s, 7);
			snprintf(gwkey, sizeof(gwkey), "%s", store_col_text(s, 8));
			host_effective_endpoint(ep, sizeof(ep), store_col_text(s, 9), store_col_text(s, 10),
						store_col_int(s, 11));
			net_id = store_col_int(s, 12);
			ranges[n_ranges++] = strdup(store_col_text(s, 13));
			if (!store_col_null(s, 14))
				ranges[n_ranges++] = strdup(store_col_text(s, 14));
		}
		store_finalize(s);
	}
	/* Split tunnel: the network and every egress range in it. */
	if (found && !full && store_query(st, &s, "SELECT DISTINCT range FROM egress_ranges WHERE network_id = ?"
					  " ORDER BY range", "i", net_id) == STORE_OK) {
		while (store_step(s) == STORE_ROW && n_ranges < EXT_MAX_ALLOWED_IPS)
			ranges[n_ranges++] = strdup(store_col_text(s, 0));
		store_finalize(s);
	}
	store_unlock(st);

	if (!found) {
		reply_error(req, 404, "ext client not found");
		goto out;
	}
	if (!sealed) {
		reply_error(req, 409, "this client brought its own key pair: the server has no private key for it");
		goto out;
	}
	if (!ep[0]) {
		reply_error(req, 409, "the gateway has no known endpoint yet");
		goto out;
	}
	priv = secret_open(req->srv, sealed);
	if (!priv) {
		reply_error(req, 500, "cannot open the sealed private key");
		goto out;
	}
	for (char *p = dnsbuf; p && *p && n_dns < MAX_DNS;) {
		dns[n_dns++] = p;
		p += strcspn(p, ",");
		if (*p)
			*p++ = '\0';
	}
	if (full) {
		allowed[n_allowed++] = "0.0.0.0/0";
		allowed[n_allowed++] = "::/0";
	} else {
		for (size_t i = 0; i < n_ranges && ranges[i]; i++)
			allowed[n_allowed++] = ranges[i];
	}
	c = (struct ext_conf){
		.private_key = priv, .addrs = addrs, .n_addrs = n_addrs, .dns = dns, .n_dns = n_dns,
		.mtu = (unsigned)mtu, .peer_public_key = gwkey, .endpoint = ep, .allowed_ips = allowed,
		.n_allowed_ips = n_allowed, .keepalive = (unsigned)keepalive,
	};
	if (ext_conf_validate(&c, err, sizeof(err)) < 0 || ext_conf_render(&c, &conf) < 0) {
		log_warnx("ext client %lld: cannot render its config: %s", (long long)id, err);
		reply_error(req, 500, "cannot render the config");
		conf = NULL;
	}
out:
	if (priv) {
		mg_wipe(priv, strlen(priv));
		free(priv);
	}
	free(sealed);
	free(dnsbuf);
	for (size_t i = 0; i < n_ranges; i++)
		free(ranges[i]);
	return conf;
}

/* Every download of a client's secrets is audited; a failure to record it refuses the download. */
static bool audit_download(struct request *req, const char *what, const char *name)
{
	int ret = store_begin(req->srv->st);

	if (ret == STORE_OK)
		ret = store_finish(req->srv->st, audit(req, "extclient.download", name, "%s", what));
	if (ret != STORE_OK)
		reply_store_error(req, ret, "audit log");
	return ret == STORE_OK;
}

static void download(struct request *req, const char *what)
{
	char name[80], disp[160];
	unsigned char *png = NULL;
	size_t len = 0;
	char *conf, *svg = NULL;
	int64_t id;

	if (!request_id_param(req, 0, &id))
		return;
	conf = client_conf(req, id, name, sizeof(name));
	if (!conf)
		return;
	if (!strcmp(what, "qr.png") && ext_qr_png(conf, EXT_QR_ECC_M, 8, &png, &len) < 0) {
		reply_error(req, 500, "cannot render the QR code");
		goto out;
	}
	if (!strcmp(what, "qr.svg") && ext_qr_svg(conf, EXT_QR_ECC_M, &svg) < 0) {
		reply_error(req, 500, "cannot render the QR code");
		goto out;
	}
	if (!audit_download(req, what, name))
		goto out;
	if (png) {
		reply_bytes(req, 200, "image/png", png, len);
		png = NULL;
	} else if (svg) {
		reply_bytes(req, 200, "image/svg+xml", svg, strlen(svg));
		svg = NULL;
	} else {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.conf\"", name);
		req->content_disposition = strdup(disp);
		reply_bytes(req, 200, "text/plain; charset=utf-8", conf, strlen(conf));
		conf = NULL;
	}
out:
	if (conf) {
		mg_wipe(conf, strlen(conf));
		free(conf);
	}
	free(png);
	free(svg);
}

void handle_extclient_config(struct request *req)
{
	download(req, "config");
}

void handle_extclient_qr_png(struct request *req)
{
	download(req, "qr.png");
}

void handle_extclient_qr_svg(struct request *req)
{
	download(req, "qr.svg");
}
