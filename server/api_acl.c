/*
 * ACL rules of a network (admin). The network's default policy is a field of
 * the network (PATCH /networks/{name}); rules are added and deleted here.
 * A rule change reaches only the hosts its selectors name (every host of the
 * network for "any").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "handlers.h"
#include "names.h"

#define RULE_COLS "id, src_kind, src_value, dst_kind, dst_value, action, proto, port_from, port_to, created_at"

static json_t *rule_json(struct store *st, struct store_stmt *s)
{
	char ports[16];

	if (!store_col_null(s, 7)) {
		if (store_col_int(s, 7) == store_col_int(s, 8))
			snprintf(ports, sizeof(ports), "%lld", (long long)store_col_int(s, 7));
		else
			snprintf(ports, sizeof(ports), "%lld-%lld", (long long)store_col_int(s, 7),
				 (long long)store_col_int(s, 8));
	}
	return json_pack("{s:I, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:s, s:o, s:I}", "id", (json_int_t)store_col_int(s, 0),
			 "src", "kind", store_col_text(s, 1), "value", store_col_text(s, 2),
			 "dst", "kind", store_col_text(s, 3), "value", store_col_text(s, 4),
			 "action", store_col_text(s, 5), "proto", store_col_text(s, 6),
			 "ports", store_col_null(s, 7) ? json_null() : json_string(ports),
			 "created_at", (json_int_t)store_col_int(s, 9));
}

static bool network_id_of(struct request *req, int64_t *id, char *policy, size_t len)
{
	struct store_stmt *s;
	bool found = false;

	if (store_query(req->srv->st, &s, "SELECT id, default_policy FROM networks WHERE name = ?", "t",
			req->params[0]) == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			*id = store_col_int(s, 0);
			snprintf(policy, len, "%s", store_col_text(s, 1));
		}
		store_finalize(s);
	}
	return found;
}

void handle_acl_get(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *rules = json_array();
	struct store_stmt *s;
	char policy[8] = "";
	int64_t net = 0;
	bool found;

	store_lock(st);
	found = network_id_of(req, &net, policy, sizeof(policy));
	if (found && store_query(st, &s, "SELECT " RULE_COLS " FROM acl_rules WHERE network_id = ? ORDER BY id", "i",
				 net) == STORE_OK) {
		while (store_step(s) == STORE_ROW)
			json_array_append_new(rules, rule_json(st, s));
		store_finalize(s);
	}
	store_unlock(st);
	if (!found) {
		json_decref(rules);
		reply_error(req, 404, "network not found");
		return;
	}
	reply_json(req, 200, json_pack("{s:s, s:s, s:o}", "network", req->params[0], "default_policy", policy,
				       "rules", rules));
}

struct selector {
	const char *kind, *value;
	char kind_buf[12];
	char canon[MG_PREFIX_STRLEN];
};

/* Validate a selector object against the network. Inside the transaction; replies 400 on error. */
static bool parse_selector(struct request *req, json_t *obj, const char *which, bool dst, int64_t net,
			   struct selector *sel)
{
	const struct mg_json_field f[] = {
		{ .name = "kind", .type = MG_JSON_STRING, .required = true, .out = &sel->kind },
		{ .name = "value", .type = MG_JSON_STRING, .out = &sel->value },
		{ 0 }
	};
	struct mg_prefix p;
	char err[200];
	int64_t id, dummy;
	bool found = false;
	char *end;

	sel->value = "";
	if (!json_is_object(obj) || mg_json_unpack(obj, f, err, sizeof(err)) < 0) {
		reply_error(req, 400, "%s: %s", which, json_is_object(obj) ? err : "must be an object");
		return false;
	}
	if (!strcmp(sel->kind, "any")) {
		if (sel->value[0]) {
			reply_error(req, 400, "%s: 'any' takes no value", which);
			return false;
		}
		sel->canon[0] = '\0';
		return true;
	}
	if (!strcmp(sel->kind, "tag")) {
		const char *msg = mg_check_host_name(sel->value);

		if (msg) {
			reply_error(req, 400, "%s: tag %s", which, msg);
			return false;
		}
		snprintf(sel->canon, sizeof(sel->canon), "%s", sel->value);
		return true;
	}
	if (!strcmp(sel->kind, "node") || !strcmp(sel->kind, "extclient")) {
		errno = 0;
		id = strtoll(sel->value, &end, 10);
		if (errno || *end || id <= 0) {
			reply_error(req, 400, "%s: value must be a %s id", which,
				    !strcmp(sel->kind, "node") ? "host" : "ext client");
			return false;
		}
		if (!strcmp(sel->kind, "node"))
			store_get_int(req->srv->st, &dummy, &found, "SELECT 1 FROM nodes WHERE network_id = ? AND host_id = ?",
				      "ii", net, id);
		else
			store_get_int(req->srv->st, &dummy, &found, "SELECT 1 FROM ext_clients WHERE network_id = ? AND id = ?",
				      "ii", net, id);
		if (!found) {
			reply_error(req, 400, "%s: no such %s in this network", which, sel->kind);
			return false;
		}
		snprintf(sel->canon, sizeof(sel->canon), "%lld", (long long)id);
		return true;
	}
	if (dst && !strcmp(sel->kind, "egress")) {
		if (mg_prefix_parse_canonical(sel->value, &p) < 0) {
			reply_error(req, 400, "%s: value must be a CIDR without host bits", which);
			return false;
		}
		mg_prefix_format(&p, sel->canon, sizeof(sel->canon));
		return true;
	}
	reply_error(req, 400, "%s: kind must be any, node, tag, extclient%s", which, dst ? " or egress" : "");
	return false;
}

static bool parse_ports(struct request *req, const char *ports, const char *proto, int64_t *from, int64_t *to)
{
	unsigned long a, b;
	char *end;

	if (!ports)
		return true;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp")) {
		reply_error(req, 400, "ports need proto tcp or udp");
		return false;
	}
	a = strtoul(ports, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end || !ports[0] || ports[0] == '-' || ports[0] == '+' || a < 1 || b > 65535 || a > b) {
		reply_error(req, 400, "ports must be PORT or FROM-TO within 1-65535");
		return false;
	}
	*from = (int64_t)a;
	*to = (int64_t)b;
	return true;
}

/* Add the hosts a selector names to the change set. */
static int add_selected(struct changeset *cs, int64_t net, const char *kind, const char *value)
{
	struct store *st = cs->srv->st;

	if (!strcmp(kind, "any"))
		return changeset_add_network(cs, net);
	if (!strcmp(kind, "node"))
		return changeset_add_host(cs, strtoll(value, NULL, 10));
	if (!strcmp(kind, "tag"))
		return store_exec(st, "INSERT INTO change_hosts (change_id, host_id, host_revision)"
				  " SELECT ?, n.host_id, 0 FROM nodes n JOIN host_tags t ON t.host_id = n.host_id"
				  " WHERE n.network_id = ? AND t.tag = ? ON CONFLICT DO NOTHING", "iit", cs->id, net, value);
	if (!strcmp(kind, "extclient"))
		return store_exec(st, "INSERT INTO change_hosts (change_id, host_id, host_revision)"
				  " SELECT ?, n.host_id, 0 FROM ext_clients c JOIN nodes n ON n.id = c.gateway_node_id"
				  " WHERE c.id = ? ON CONFLICT DO NOTHING", "ii", cs->id, strtoll(value, NULL, 10));
	/* egress: the network's egress gateways enforce it */
	return store_exec(st, "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT DISTINCT ?, n.host_id, 0 FROM egress_ranges e JOIN nodes n ON n.id = e.node_id"
			  " WHERE e.network_id = ? ON CONFLICT DO NOTHING", "ii", cs->id, net);
}

static int rule_changeset(struct request *req, struct changeset *cs, const char *action, int64_t net,
			  const struct selector *src, const struct selector *dst)
{
	int ret;

	ret = changeset_begin(cs, req->srv, action, req->params[0], 0);
	if (ret == STORE_OK)
		ret = store_exec(req->srv->st, "INSERT INTO change_networks (change_id, network_id, network_revision)"
				 " VALUES (?, ?, 0) ON CONFLICT DO NOTHING", "ii", cs->id, net);
	if (ret == STORE_OK)
		ret = add_selected(cs, net, src->kind, src->canon);
	if (ret == STORE_OK)
		ret = add_selected(cs, net, dst->kind, dst->canon);
	if (ret == STORE_OK)
		ret = changeset_add_relays(cs, net);
	if (ret == STORE_OK)
		ret = changeset_apply(cs);
	return ret;
}

void handle_acl_rule_create(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *src_obj = NULL, *dst_obj = NULL, *body, *rule = NULL;
	const char *action = NULL, *proto = "any", *ports = NULL;
	const struct mg_json_field fields[] = {
		{ .name = "src", .type = MG_JSON_OBJECT, .required = true, .out = &src_obj },
		{ .name = "dst", .type = MG_JSON_OBJECT, .required = true, .out = &dst_obj },
		{ .name = "action", .type = MG_JSON_STRING, .required = true, .out = &action },
		{ .name = "proto", .type = MG_JSON_STRING, .out = &proto },
		{ .name = "ports", .type = MG_JSON_STRING, .out = &ports, .nullable = true },
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	struct selector src, dst;
	int64_t net = 0, id = 0, pfrom = 0, pto = 0;
	char policy[8];
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (strcmp(action, "allow") && strcmp(action, "deny")) {
		reply_error(req, 400, "action must be allow or deny");
		goto out;
	}
	if (strcmp(proto, "any") && strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "icmp")) {
		reply_error(req, 400, "proto must be any, tcp, udp or icmp");
		goto out;
	}
	if (!parse_ports(req, ports, proto, &pfrom, &pto))
		goto out;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "ACL rule");
		goto out;
	}
	if (!network_id_of(req, &net, policy, sizeof(policy))) {
		store_rollback(st);
		reply_error(req, 404, "network not found");
		goto out;
	}
	if (!parse_selector(req, src_obj, "src", false, net, &src) ||
	    !parse_selector(req, dst_obj, "dst", true, net, &dst)) {
		store_rollback(st);
		goto out;
	}
	ret = store_get_int(st, &id, NULL, "INSERT INTO acl_rules (network_id, src_kind, src_value, dst_kind, dst_value,"
			    " action, proto, port_from, port_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			    " RETURNING id", "ittttttjji", net, src.kind, src.canon, dst.kind, dst.canon, action, proto,
			    ports ? &pfrom : NULL, ports ? &pto : NULL, now_unix());
	if (ret == STORE_OK)
		ret = rule_changeset(req, &cs, "acl.create", net, &src, &dst);
	if (ret == STORE_OK)
		ret = audit(req, "acl.create", req->params[0], "rule=%lld %s %s:%s -> %s:%s %s%s%s", (long long)id, action,
			    src.kind, src.canon, dst.kind, dst.canon, proto, ports ? "/" : "", ports ? ports : "");
	if (ret == STORE_OK)
		rule = row_json_by_id(st, rule_json, "SELECT " RULE_COLS " FROM acl_rules WHERE id = ?", id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !rule) {
		json_decref(rule);
		reply_store_error(req, ret, "ACL rule");
		goto out;
	}
	reply_json(req, 201, rule);
out:
	json_decref(body);
}

void handle_acl_rule_delete(struct request *req)
{
	struct store *st = req->srv->st;
	struct changeset cs = { .srv = req->srv };
	struct selector src = { 0 }, dst = { 0 };
	struct store_stmt *s;
	int64_t net = 0, id;
	char policy[8];
	bool found = false;
	int ret;

	if (!request_id_param(req, 1, &id))
		return;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "ACL rule");
		return;
	}
	if (network_id_of(req, &net, policy, sizeof(policy)) &&
	    store_query(st, &s, "SELECT src_kind, src_value, dst_kind, dst_value FROM acl_rules"
			" WHERE id = ? AND network_id = ?", "ii", id, net) == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			found = true;
			snprintf(src.kind_buf, sizeof(src.kind_buf), "%s", store_col_text(s, 0));
			snprintf(src.canon, sizeof(src.canon), "%s", store_col_text(s, 1));
			snprintf(dst.kind_buf, sizeof(dst.kind_buf), "%s", store_col_text(s, 2));
			snprintf(dst.canon, sizeof(dst.canon), "%s", store_col_text(s, 3));
			src.kind = src.kind_buf;
			dst.kind = dst.kind_buf;
		}
		store_finalize(s);
	}
	if (!found) {
		store_rollback(st);
		reply_error(req, 404, "ACL rule not found");
		return;
	}
	ret = store_exec(st, "DELETE FROM acl_rules WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = rule_changeset(req, &cs, "acl.delete", net, &src, &dst);
	if (ret == STORE_OK)
		ret = audit(req, "acl.delete", req->params[0], "rule=%lld", (long long)id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "ACL rule");
	else
		reply_empty(req, 204);
}
