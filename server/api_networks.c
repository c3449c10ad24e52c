/*
 * Networks: an IPv4 range (and optionally an IPv6 range) that nodes get
 * their addresses from, plus defaults for their WireGuard settings.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "handlers.h"
#include "names.h"

#define NETWORK_COLS "id, name, ipv4_range, ipv6_range, listen_port, keepalive, mtu, default_policy, revision, created_at," \
		     " (SELECT d.address FROM nodes d WHERE d.network_id = networks.id AND d.dns_server = 1)"

static json_t *network_json(struct store_stmt *s)
{
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:I, s:I, s:o}",
			 "name", store_col_text(s, 1), "ipv4_range", store_col_text(s, 2),
			 "ipv6_range", store_col_null(s, 3) ? json_null() : json_string(store_col_text(s, 3)),
			 "listen_port", (json_int_t)store_col_int(s, 4), "keepalive", (json_int_t)store_col_int(s, 5),
			 "mtu", (json_int_t)store_col_int(s, 6), "default_policy", store_col_text(s, 7),
			 "revision", (json_int_t)store_col_int(s, 8), "created_at", (json_int_t)store_col_int(s, 9),
			 /* The DNS server node's mesh address (dns.c), or null. */
			 "dns_address", store_col_null(s, 10) ? json_null() : json_string(store_col_text(s, 10)));
}

/* The network's JSON, or NULL when there is none by that name. Inside the lock. */
static json_t *network_by_name(struct store *st, const char *name)
{
	struct store_stmt *s;
	json_t *net = NULL;

	if (store_query(st, &s, "SELECT " NETWORK_COLS " FROM networks WHERE name = ?", "t", name) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			net = network_json(s);
		store_finalize(s);
	}
	return net;
}

static json_t *network_row(struct store *st, struct store_stmt *s)
{
	return network_json(s);
}

void handle_networks_list(struct request *req)
{
	reply_rows(req, network_row, "networks", "SELECT " NETWORK_COLS " FROM networks ORDER BY name", NULL);
}

void handle_networks_get(struct request *req)
{
	json_t *net;

	store_lock(req->srv->st);
	net = network_by_name(req->srv->st, req->params[0]);
	store_unlock(req->srv->st);
	if (!net)
		reply_error(req, 404, "network not found");
	else
		reply_json(req, 200, net);
}

/*
 * Validate a range field: a canonical CIDR of the given family and at least
 * the given size. Replies 400 and returns false when it is not.
 */
static bool check_range(struct request *req, const char *field, const char *text, int family,
			unsigned max_len, struct mg_prefix *out)
{
	char canon[MG_PREFIX_STRLEN];

	if (mg_prefix_parse(text, out) < 0 || out->ip.family != family) {
		reply_error(req, 400, "%s must be an %s CIDR such as %s", field,
			    family == AF_INET ? "IPv4" : "IPv6",
			    family == AF_INET ? "10.10.0.0/24" : "fd00:10::/64");
		return false;
	}
	if (!mg_prefix_is_canonical(out)) {
		mg_prefix_canonicalize(out);
		mg_prefix_format(out, canon, sizeof(canon));
		reply_error(req, 400, "%s has host bits set; did you mean %s?", field, canon);
		return false;
	}
	if (out->len > max_len) {
		reply_error(req, 400, "%s is too small: the prefix length must be at most /%u", field, max_len);
		return false;
	}
	return true;
}

/* Is `p` overlapping any existing network's range? Replies 409 if so. Inside the transaction. */
static int check_overlap(struct request *req, const struct mg_prefix *p, const char *field, bool *overlaps)
{
	struct store_stmt *s;
	int ret;

	*overlaps = false;
	ret = store_query(req->srv->st, &s, "SELECT name, ipv4_range, ipv6_range FROM networks", NULL);
	if (ret != STORE_OK)
		return ret;
	while (!*overlaps && (ret = store_step(s)) == STORE_ROW) {
		for (int col = 1; col <= 2 && !*overlaps; col++) {
			struct mg_prefix other;

			if (store_col_null(s, col) || mg_prefix_parse(store_col_text(s, col), &other) < 0)
				continue;
			if (other.ip.family == p->ip.family && mg_prefix_overlaps(p, &other)) {
				reply_error(req, 409, "%s overlaps network '%s' (%s)", field, store_col_text(s, 0),
					    store_col_text(s, col));
				*overlaps = true;
			}
		}
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

static const char *check_policy(const char *p)
{
	return strcmp(p, "allow") && strcmp(p, "deny") ? "default_policy must be 'allow' or 'deny'" : NULL;
}

void handle_networks_create(struct request *req)
{
	struct store *st = req->srv->st;
	const char *name = NULL, *v4 = NULL, *v6 = NULL, *policy = "allow", *msg;
	int64_t port = 51821, keepalive = 20, mtu = 1420, id;
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &name },
		{ .name = "ipv4_range", .type = MG_JSON_STRING, .required = true, .out = &v4 },
		{ .name = "ipv6_range", .type = MG_JSON_STRING, .out = &v6, .nullable = true },
		{ .name = "listen_port", .type = MG_JSON_INT, .out = &port, .min = 1, .max = 65535 },
		{ .name = "keepalive", .type = MG_JSON_INT, .out = &keepalive, .min = 0, .max = 3600 },
		{ .name = "mtu", .type = MG_JSON_INT, .out = &mtu, .min = 1280, .max = 9000 },
		{ .name = "default_policy", .type = MG_JSON_STRING, .out = &policy },
		{ 0 }
	};
	struct mg_prefix p4, p6;
	struct dns_pending dns = { 0 };
	char c4[MG_PREFIX_STRLEN], c6[MG_PREFIX_STRLEN];
	bool overlaps = false, exists = false;
	json_t *body, *net = NULL;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if ((msg = mg_check_network_name(name))) {
		reply_error(req, 400, "name: %s", msg);
		goto out;
	}
	if ((msg = check_policy(policy))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	if (!check_range(req, "ipv4_range", v4, AF_INET, 30, &p4) ||
	    (v6 && !check_range(req, "ipv6_range", v6, AF_INET6, 126, &p6)))
		goto out;
	mg_prefix_format(&p4, c4, sizeof(c4));
	if (v6)
		mg_prefix_format(&p6, c6, sizeof(c6));

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "network");
		goto out;
	}
	ret = store_get_int(st, &id, &exists, "SELECT id FROM networks WHERE name = ?", "t", name);
	if (ret == STORE_OK && exists)
		reply_error(req, 409, "network '%s' already exists", name);
	if (ret == STORE_OK && !exists)
		ret = check_overlap(req, &p4, "ipv4_range", &overlaps);
	if (ret == STORE_OK && !exists && !overlaps && v6)
		ret = check_overlap(req, &p6, "ipv6_range", &overlaps);
	if (ret != STORE_OK || exists || overlaps) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "network");
		goto out;
	}
	ret = store_exec(st, "INSERT INTO networks (name, ipv4_range, ipv6_range, listen_port, keepalive, mtu,"
			 " default_policy, revision, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
			 "tttiiiti", name, c4, v6 ? c6 : NULL, port, keepalive, mtu, policy, now_unix());
	if (ret == STORE_OK)
		ret = audit(req, "network.create", name, "ipv4=%s ipv6=%s", c4, v6 ? c6 : "none");
	if (ret == STORE_OK)
		net = network_by_name(st, name);
	if (ret == STORE_OK)
		ret = dns_collect_network(req->srv, &dns, name, false);
	ret = dns_finish(req->srv, &dns, ret);
	if (ret != STORE_OK || !net) {
		json_decref(net);
		reply_store_error(req, ret, "network");
		goto out;
	}
	reply_json(req, 201, net);
out:
	json_decref(body);
}

void handle_networks_patch(struct request *req)
{
	struct store *st = req->srv->st;
	const char *policy = NULL, *msg;
	int64_t port = 0, keepalive = 0, mtu = 0, id;
	bool has_port = false, has_ka = false, has_mtu = false, found = false;
	const struct mg_json_field fields[] = {
		{ .name = "listen_port", .type = MG_JSON_INT, .out = &port, .min = 1, .max = 65535, .present = &has_port },
		{ .name = "keepalive", .type = MG_JSON_INT, .out = &keepalive, .min = 0, .max = 3600, .present = &has_ka },
		{ .name = "mtu", .type = MG_JSON_INT, .out = &mtu, .min = 1280, .max = 9000, .present = &has_mtu },
		{ .name = "default_policy", .type = MG_JSON_STRING, .out = &policy },
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	json_t *body, *net = NULL;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (policy && (msg = check_policy(policy))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	if (!has_port && !has_ka && !has_mtu && !policy) {
		reply_error(req, 400, "nothing to update");
		goto out;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "network");
		goto out;
	}
	ret = store_get_int(st, &id, &found, "SELECT id FROM networks WHERE name = ?", "t", req->params[0]);
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "network");
		else
			reply_error(req, 404, "network not found");
		goto out;
	}
	if (has_port)
		ret = store_exec(st, "UPDATE networks SET listen_port = ? WHERE id = ?", "ii", port, id);
	if (ret == STORE_OK && has_ka)
		ret = store_exec(st, "UPDATE networks SET keepalive = ? WHERE id = ?", "ii", keepalive, id);
	if (ret == STORE_OK && has_mtu)
		ret = store_exec(st, "UPDATE networks SET mtu = ? WHERE id = ?", "ii", mtu, id);
	if (ret == STORE_OK && policy)
		ret = store_exec(st, "UPDATE networks SET default_policy = ? WHERE id = ?", "ti", policy, id);
	if (ret == STORE_OK)
		ret = changeset_begin(&cs, req->srv, "network.update", req->params[0], 0);
	if (ret == STORE_OK)
		ret = changeset_add_network(&cs, id);
	if (ret == STORE_OK)
		ret = changeset_apply(&cs);
	if (ret == STORE_OK)
		ret = audit(req, "network.update", req->params[0], NULL);
	if (ret == STORE_OK)
		net = network_by_name(st, req->params[0]);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !net) {
		json_decref(net);
		reply_store_error(req, ret, "network");
		goto out;
	}
	reply_json(req, 200, net);
out:
	json_decref(body);
}

void handle_networks_delete(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t id, nodes = 0, keys = 0;
	struct dns_pending dns = { 0 };
	bool found = false;
	int ret;

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "network");
		return;
	}
	ret = store_get_int(st, &id, &found, "SELECT id FROM networks WHERE name = ?", "t", req->params[0]);
	if (ret == STORE_OK && found)
		ret = store_get_int(st, &nodes, NULL, "SELECT COUNT(*) FROM nodes WHERE network_id = ?", "i", id);
	if (ret == STORE_OK && found && !nodes)
		ret = store_get_int(st, &keys, NULL, "SELECT COUNT(*) FROM enrollment_key_networks WHERE network_id = ?",
				    "i", id);
	if (ret == STORE_OK && keys) {
		/* A key for several networks would otherwise quietly enrol into fewer. */
		store_rollback(st);
		reply_error(req, 409, "%lld enrollment key(s) still name network '%s'; delete them first",
			    (long long)keys, req->params[0]);
		return;
	}
	if (ret != STORE_OK || !found || nodes) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "network");
		else if (!found)
			reply_error(req, 404, "network not found");
		else
			reply_error(req, 409, "network '%s' still has %lld node(s); remove them first",
				    req->params[0], (long long)nodes);
		return;
	}
	ret = store_exec(st, "DELETE FROM networks WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = audit(req, "network.delete", req->params[0], NULL);
	if (ret == STORE_OK)
		ret = dns_collect_network(req->srv, &dns, req->params[0], true);
	ret = dns_finish(req->srv, &dns, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "network");
	else
		reply_empty(req, 204);
}
