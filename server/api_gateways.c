/*
 * Gateway roles of a node: egress (ranges reached through it, each with NAT
 * on or off, or the whole internet), ingress (it accepts ext clients) and
 * relay (chosen nodes of its network reach everyone through it).
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "handlers.h"

#define MAX_EGRESS_RANGES 256

static int node_lookup(struct store *st, const char *net, int64_t host, struct node_ref *out, bool *found)
{
	struct store_stmt *s;
	int ret;

	*found = false;
	ret = store_query(st, &s, "SELECT n.id, net.id, net.ipv4_range, net.ipv6_range, n.ingress FROM nodes n"
			  " JOIN networks net ON net.id = n.network_id WHERE net.name = ? AND n.host_id = ?",
			  "ti", net, host);
	if (ret != STORE_OK)
		return ret;
	if (store_step(s) == STORE_ROW) {
		*found = true;
		out->node_id = store_col_int(s, 0);
		out->network_id = store_col_int(s, 1);
		out->host_id = host;
		snprintf(out->v4, sizeof(out->v4), "%s", store_col_text(s, 2));
		snprintf(out->v6, sizeof(out->v6), "%s", store_col_text(s, 3));
		out->ingress = store_col_int(s, 4);
	}
	store_finalize(s);
	return STORE_OK;
}

bool begin_on_node(struct request *req, struct node_ref *node)
{
	struct store *st = req->srv->st;
	int64_t host;
	bool found;
	int ret;

	if (!request_id_param(req, 1, &host))
		return false;
	/* Only PUT .../egress and .../relay have a body; the others (ingress, dns) must not pretend to take one. */
	if (strcmp(req->method, "PUT") || (!strstr(req->path, "/egress") && !strstr(req->path, "/relay")))
		if (!request_no_body(req))
			return false;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "node");
		return false;
	}
	ret = node_lookup(st, req->params[0], host, node, &found);
	if (ret != STORE_OK || !found) {
		/* The transaction is ours whatever the lookup said. */
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "node");
		else
			reply_error(req, 404, "node not found");
		return false;
	}
	return true;
}

void node_change_finish(struct request *req, int64_t network_id, int64_t host_id, bool whole_network,
			const char *action, const char *detail, int ret)
{
	struct changeset cs = { .srv = req->srv };
	json_t *arr;

	if (ret == STORE_OK)
		ret = changeset_begin(&cs, req->srv, action, req->params[1], whole_network ? 0 : host_id);
	if (ret == STORE_OK)
		ret = changeset_add_network(&cs, network_id);
	if (ret == STORE_OK)
		ret = changeset_apply(&cs);
	if (ret == STORE_OK)
		ret = audit(req, action, req->params[0], "host=%lld%s", (long long)host_id, detail);
	arr = json_array();
	if (ret == STORE_OK)
		ret = node_json_list(req->srv->st, arr, req->params[0], host_id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || json_array_size(arr) != 1)
		reply_store_error(req, ret, "node");
	else
		reply_json(req, 200, json_incref(json_array_get(arr, 0)));
	json_decref(arr);
}

/* The node changed as a gateway: it and everyone in its network get the news. */
static void finish_node_change(struct request *req, struct node_ref *node, const char *action, int ret)
{
	node_change_finish(req, node->network_id, node->host_id, false, action, "", ret);
}

/* Does `p` overlap an egress range of another gateway in the network? Names it in msg. */
static int overlaps_other_gateway(struct store *st, const struct node_ref *node, const struct mg_prefix *p,
				  bool *overlap, char *msg, size_t len)
{
	struct store_stmt *s;
	int ret;

	*overlap = false;
	ret = store_query(st, &s, "SELECT e.range, h.name FROM egress_ranges e JOIN nodes n ON n.id = e.node_id"
			  " JOIN hosts h ON h.id = n.host_id WHERE e.network_id = ? AND e.node_id != ?",
			  "ii", node->network_id, node->node_id);
	if (ret != STORE_OK)
		return ret;
	while (!*overlap && (ret = store_step(s)) == STORE_ROW) {
		struct mg_prefix other;

		if (mg_prefix_parse(store_col_text(s, 0), &other) == 0 && other.ip.family == p->ip.family &&
		    mg_prefix_overlaps(&other, p)) {
			*overlap = true;
			snprintf(msg, len, "%s of gateway '%s'", store_col_text(s, 0), store_col_text(s, 1));
		}
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* Validate the ranges of a PUT .../egress body into prefixes. Replies 400 and returns false on error. */
static bool parse_ranges(struct request *req, json_t *ranges, bool internet, struct mg_prefix *out, bool *nat,
			 size_t *n)
{
	size_t i;
	json_t *r;

	*n = 0;
	if (json_array_size(ranges) > MAX_EGRESS_RANGES) {
		reply_error(req, 400, "at most %d egress ranges", MAX_EGRESS_RANGES);
		return false;
	}
	json_array_foreach(ranges, i, r) {
		const char *text = NULL;
		bool on = true;
		const struct mg_json_field f[] = {
			{ .name = "range", .type = MG_JSON_STRING, .required = true, .out = &text },
			{ .name = "nat", .type = MG_JSON_BOOL, .out = &on },
			{ 0 }
		};
		char err[200];

		if (!json_is_object(r) || mg_json_unpack(r, f, err, sizeof(err)) < 0) {
			reply_error(req, 400, "ranges[%zu]: %s", i, json_is_object(r) ? err : "must be an object");
			return false;
		}
		if (mg_prefix_parse_canonical(text, &out[*n]) < 0) {
			reply_error(req, 400, "ranges[%zu]: '%s' is not a CIDR without host bits", i, text);
			return false;
		}
		nat[*n] = on;
		for (size_t k = 0; k < *n; k++)
			if (out[k].ip.family == out[*n].ip.family && mg_prefix_overlaps(&out[k], &out[*n])) {
				reply_error(req, 400, "ranges[%zu] overlaps ranges[%zu]", i, k);
				return false;
			}
		(*n)++;
	}
	if (internet) {
		mg_prefix_parse("0.0.0.0/0", &out[*n]);
		nat[(*n)++] = true;
		mg_prefix_parse("::/0", &out[*n]);
		nat[(*n)++] = true;
	}
	return true;
}

void handle_node_egress_put(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *ranges = NULL, *body;
	bool internet = false, wins = false, overlap = false;
	const struct mg_json_field fields[] = {
		{ .name = "ranges", .type = MG_JSON_ARRAY, .out = &ranges },
		{ .name = "internet_gateway", .type = MG_JSON_BOOL, .out = &internet },
		{ .name = "wins", .type = MG_JSON_BOOL, .out = &wins },
		{ 0 }
	};
	struct mg_prefix p[MAX_EGRESS_RANGES + 2], net4, net6;
	bool nat[MAX_EGRESS_RANGES + 2];
	char text[MG_PREFIX_STRLEN], other[160];
	struct node_ref node;
	size_t n;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (!parse_ranges(req, ranges, internet, p, nat, &n))
		goto out;
	if (n == 0) {
		reply_error(req, 400, "give ranges or internet_gateway (DELETE removes the egress role)");
		goto out;
	}
	if (!begin_on_node(req, &node))
		goto out;
	mg_prefix_parse(node.v4, &net4);
	if (node.v6[0])
		mg_prefix_parse(node.v6, &net6);
	for (size_t i = 0; i < n; i++) {
		mg_prefix_format(&p[i], text, sizeof(text));
		/* The network's own range is reached over the mesh, not through a gateway. */
		if (p[i].len > 0 && ((p[i].ip.family == AF_INET && mg_prefix_overlaps(&p[i], &net4)) ||
				     (node.v6[0] && p[i].ip.family == AF_INET6 && mg_prefix_overlaps(&p[i], &net6)))) {
			store_rollback(st);
			reply_error(req, 400, "egress range %s overlaps the network's own range", text);
			goto out;
		}
		ret = overlaps_other_gateway(st, &node, &p[i], &overlap, other, sizeof(other));
		if (ret != STORE_OK || (overlap && !wins)) {
			store_rollback(st);
			if (ret != STORE_OK)
				reply_store_error(req, ret, "egress");
			else
				reply_error(req, 409, "egress range %s overlaps %s; set \"wins\": true to make this "
					    "gateway's range take precedence", text, other);
			goto out;
		}
	}
	ret = store_exec(st, "DELETE FROM egress_ranges WHERE node_id = ?", "i", node.node_id);
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		mg_prefix_format(&p[i], text, sizeof(text));
		ret = store_exec(st, "INSERT INTO egress_ranges (node_id, network_id, range, nat, wins)"
				 " VALUES (?, ?, ?, ?, ?)", "iitii", node.node_id, node.network_id, text,
				 (int64_t)nat[i], (int64_t)wins);
	}
	finish_node_change(req, &node, "node.egress", ret);
out:
	json_decref(body);
}

void handle_node_egress_delete(struct request *req)
{
	struct node_ref node;

	if (!begin_on_node(req, &node))
		return;
	finish_node_change(req, &node, "node.egress_remove",
			   store_exec(req->srv->st, "DELETE FROM egress_ranges WHERE node_id = ?", "i", node.node_id));
}

void handle_node_ingress_put(struct request *req)
{
	struct node_ref node;

	if (!begin_on_node(req, &node))
		return;
	finish_node_change(req, &node, "node.ingress",
			   store_exec(req->srv->st, "UPDATE nodes SET ingress = 1 WHERE id = ?", "i", node.node_id));
}

void handle_node_ingress_delete(struct request *req)
{
	struct store *st = req->srv->st;
	struct node_ref node;
	int64_t clients = 0;
	int ret;

	if (!begin_on_node(req, &node))
		return;
	ret = store_get_int(st, &clients, NULL, "SELECT COUNT(*) FROM ext_clients WHERE gateway_node_id = ?", "i",
			    node.node_id);
	if (ret == STORE_OK && clients) {
		store_rollback(st);
		reply_error(req, 409, "the gateway still has %lld ext client(s); delete them first", (long long)clients);
		return;
	}
	if (ret == STORE_OK)
		ret = store_exec(st, "UPDATE nodes SET ingress = 0 WHERE id = ?", "i", node.node_id);
	finish_node_change(req, &node, "node.ingress_remove", ret);
}

static json_t *ingress_row(struct store *st, struct store_stmt *s)
{
	return json_pack("{s:s, s:I, s:s}", "network", store_col_text(s, 0), "gateway_host_id",
			 (json_int_t)store_col_int(s, 1), "gateway_name", store_col_text(s, 2));
}

/* What a user needs to create their own ext client: the ingress gateways (no other details). */
void handle_ingress_gateways_list(struct request *req)
{
	reply_rows(req, ingress_row, "ingress gateways",
		   "SELECT net.name, h.id, h.name FROM nodes n JOIN networks net ON net.id = n.network_id"
		   " JOIN hosts h ON h.id = n.host_id WHERE n.ingress = 1 ORDER BY net.name, h.name", NULL);
}

/* --- relays ------------------------------------------------------------------ */

#define MAX_RELAYED 1024

/*
 * A relay change is network-wide: every host of the network gets its whole
 * configuration (the relayed nodes' addresses move between peer entries).
 */
static void finish_relay_change(struct request *req, struct node_ref *node, const char *action, const char *detail,
				int ret)
{
	node_change_finish(req, node->network_id, node->host_id, true, action, detail, ret);
}

/*
 * Check one host to be relayed by `relay`: a node of the same network,
 * not the relay itself, not a relay, not relayed by another. Replies
 * 400/409 and returns false when it may not be; *node_id is its node.
 */
static bool relayed_ok(struct request *req, const struct node_ref *relay, int64_t host, int64_t *node_id,
		       int *ret)
{
	struct store *st = req->srv->st;
	struct store_stmt *s;
	char name[64] = "", by[64] = "";
	int64_t by_node = 0, relaying = 0;
	bool found = false;

	*ret = store_query(st, &s, "SELECT n.id, h.name, n.relayed_by, rh.name FROM nodes n JOIN hosts h ON h.id = n.host_id"
			   " LEFT JOIN nodes r ON r.id = n.relayed_by LEFT JOIN hosts rh ON rh.id = r.host_id"
			   " WHERE n.network_id = ? AND n.host_id = ?", "ii", relay->network_id, host);
	if (*ret != STORE_OK)
		return false;
	if (store_step(s) == STORE_ROW) {
		found = true;
		*node_id = store_col_int(s, 0);
		snprintf(name, sizeof(name), "%s", store_col_text(s, 1));
		by_node = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
		if (!store_col_null(s, 3))
			snprintf(by, sizeof(by), "%s", store_col_text(s, 3));
	}
	store_finalize(s);
	if (!found) {
		reply_error(req, 400, "host %lld has no node in network '%s'", (long long)host, req->params[0]);
		return false;
	}
	if (host == relay->host_id) {
		reply_error(req, 400, "a node cannot relay itself");
		return false;
	}
	if (by_node && by_node != relay->node_id) {
		reply_error(req, 409, "host '%s' is already relayed by '%s'; remove it there first", name, by);
		return false;
	}
	*ret = store_get_int(st, &relaying, NULL, "SELECT COUNT(*) FROM nodes WHERE relayed_by = ?", "i", *node_id);
	if (*ret != STORE_OK)
		return false;
	if (relaying) {
		reply_error(req, 409, "host '%s' is a relay itself; a relay cannot be relayed", name);
		return false;
	}
	return true;
}

void handle_node_relay_put(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *relayed = NULL, *body, *v;
	const struct mg_json_field fields[] = {
		{ .name = "relayed", .type = MG_JSON_ARRAY, .required = true, .out = &relayed },
		{ 0 }
	};
	int64_t hosts[MAX_RELAYED], nodes[MAX_RELAYED], relayed_self = 0;
	char detail[64] = " relayed=";
	struct node_ref node;
	size_t i, n;
	int ret = STORE_OK;

	body = request_json(req, fields);
	if (!body)
		return;
	n = json_array_size(relayed);
	if (n == 0 || n > MAX_RELAYED) {
		reply_error(req, 400, n ? "at most %d relayed hosts" : "relayed: give the host ids to relay"
			    " (DELETE removes the relay role)", MAX_RELAYED);
		goto out;
	}
	json_array_foreach(relayed, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			reply_error(req, 400, "relayed[%zu] must be a host id", i);
			goto out;
		}
		hosts[i] = json_integer_value(v);
		for (size_t k = 0; k < i; k++)
			if (hosts[k] == hosts[i]) {
				reply_error(req, 400, "relayed[%zu]: host %lld is listed twice", i, (long long)hosts[i]);
				goto out;
			}
	}
	if (!begin_on_node(req, &node))
		goto out;
	/* A relay reaches the network directly: it may not be relayed itself. */
	ret = store_get_int(st, &relayed_self, NULL, "SELECT COUNT(*) FROM nodes WHERE id = ? AND relayed_by IS NOT NULL",
			    "i", node.node_id);
	if (ret == STORE_OK && relayed_self) {
		store_rollback(st);
		reply_error(req, 409, "the node is relayed itself; a relayed node cannot be a relay");
		goto out;
	}
	for (i = 0; i < n && ret == STORE_OK; i++)
		if (!relayed_ok(req, &node, hosts[i], &nodes[i], &ret)) {
			store_rollback(st);
			if (ret != STORE_OK)
				reply_store_error(req, ret, "relay");
			goto out;
		}
	if (ret == STORE_OK)
		ret = store_exec(st, "UPDATE nodes SET relayed_by = NULL WHERE relayed_by = ?", "i", node.node_id);
	for (i = 0; i < n && ret == STORE_OK; i++)
		ret = store_exec(st, "UPDATE nodes SET relayed_by = ? WHERE id = ?", "ii", node.node_id, nodes[i]);
	for (i = 0; i < n && strlen(detail) + 24 < sizeof(detail); i++)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s%lld", i ? "," : "",
			 (long long)hosts[i]);
	if (i < n)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), ",...");
	finish_relay_change(req, &node, "node.relay", detail, ret);
out:
	json_decref(body);
}

void handle_node_relay_delete(struct request *req)
{
	struct node_ref node;

	if (!begin_on_node(req, &node))
		return;
	finish_relay_change(req, &node, "node.relay_remove", "",
			    store_exec(req->srv->st, "UPDATE nodes SET relayed_by = NULL WHERE relayed_by = ?", "i",
				       node.node_id));
}
