/*
 * The ACL matrix of a network (admin): for every ordered pair of its nodes,
 * whether the first can reach the second, so that the console shows the
 * policy without re-implementing it.
 *
 * Whether a pair shares a tunnel at all is acl.c's decision
 * (acl_tunnel_allowed). Through a tunnel, everything may pass when the
 * network's default policy is allow or a rule without protocol and ports
 * allows the pair (such rules, like tunnels, hold both ways). Rules limited
 * to a protocol or ports hold in their own direction, src to dst: allows
 * open only what they name when nothing else opens the pair, denies take
 * what they name away. Ext client and egress selectors name no node, so
 * their rules do not show here.
 *
 * A cell is {"access": "allow" | "deny" | "limited", "tunnel": bool}, and a
 * limited cell also lists "allow" and "deny" (["tcp/5432", "icmp"]). The
 * diagonal is null. Only the first MATRIX_MAX_NODES nodes (by name) are
 * shown; "truncated" says when there were more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

#define MATRIX_MAX_NODES 200

struct mnode {
	int64_t host_id;
	json_t *tags;		/* borrowed from the node's JSON */
	bool dns_server;	/* the network's DNS server node */
};

struct matrix {
	int64_t network_id;
	bool deny_default;
	struct mnode *nodes;
	size_t n_nodes, total;
	struct acl_rule *rules;	/* acl_rules_load */
	size_t n_rules;
	bool *tunnel;		/* n_nodes x n_nodes */
};

static void matrix_free(struct matrix *m)
{
	free(m->nodes);
	free(m->rules);
	free(m->tunnel);
}

/* The network's id and policy; *found is false when there is none by that name. */
static int load_network(struct store *st, const char *name, struct matrix *m, char *policy, size_t len,
			bool *found)
{
	struct store_stmt *s;
	int ret;

	*found = false;
	ret = store_query(st, &s, "SELECT id, default_policy FROM networks WHERE name = ?", "t", name);
	if (ret != STORE_OK)
		return ret;
	ret = store_step(s);
	if (ret == STORE_ROW) {
		*found = true;
		m->network_id = store_col_int(s, 0);
		snprintf(policy, len, "%s", store_col_text(s, 1));
		m->deny_default = !strcmp(policy, "deny");
		ret = STORE_OK;
	}
	store_finalize(s);
	return ret;
}

static int load_tags(struct store *st, int64_t host_id, json_t *tags)
{
	struct store_stmt *s;
	int ret;

	ret = store_query(st, &s, "SELECT tag FROM host_tags WHERE host_id = ? ORDER BY tag", "i", host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW)
		json_array_append_new(tags, json_string(store_col_text(s, 0)));
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* The first MATRIX_MAX_NODES nodes by name into m->nodes and their JSON into out. */
static int load_nodes(struct store *st, struct matrix *m, json_t *out)
{
	struct store_stmt *s;
	int64_t total = 0;
	int ret;

	ret = store_get_int(st, &total, NULL, "SELECT COUNT(*) FROM nodes WHERE network_id = ?", "i", m->network_id);
	if (ret != STORE_OK)
		return ret;
	m->total = (size_t)total;
	m->nodes = calloc(m->total < MATRIX_MAX_NODES ? m->total + 1 : MATRIX_MAX_NODES, sizeof(*m->nodes));
	if (!m->nodes)
		return STORE_ERR;
	ret = store_query(st, &s, "SELECT n.host_id, h.name, n.address, n.dns_server FROM nodes n"
			  " JOIN hosts h ON h.id = n.host_id"
			  " WHERE n.network_id = ? ORDER BY h.name COLLATE NOCASE, h.id LIMIT ?", "ii", m->network_id,
			  (int64_t)MATRIX_MAX_NODES);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW && m->n_nodes < MATRIX_MAX_NODES) {
		struct mnode *n = &m->nodes[m->n_nodes++];
		json_t *tags = json_array();

		n->host_id = store_col_int(s, 0);
		n->dns_server = store_col_int(s, 3);
		n->tags = tags;
		json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:o}", "host_id", (json_int_t)n->host_id,
						     "name", store_col_text(s, 1), "address", store_col_text(s, 2),
						     "tags", tags));
	}
	store_finalize(s);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < m->n_nodes; i++) {
		ret = load_tags(st, m->nodes[i].host_id, m->nodes[i].tags);
		if (ret != STORE_OK)
			return ret;
	}
	return STORE_OK;
}

/* What a rule limited to a protocol or ports names: "tcp/5432", "udp/8000-8100", "icmp". */
static void rule_what(const struct acl_rule *r, char *out, size_t len)
{
	if (!r->port_from)
		snprintf(out, len, "%s", r->proto);
	else if (r->port_from == r->port_to)
		snprintf(out, len, "%s/%d", r->proto, r->port_from);
	else
		snprintf(out, len, "%s/%d-%d", r->proto, r->port_from, r->port_to);
}

static bool has_tag(const struct mnode *n, const char *tag)
{
	size_t i;
	json_t *t;

	json_array_foreach(n->tags, i, t)
		if (!strcmp(json_string_value(t), tag))
			return true;
	return false;
}

static bool selects(const char *kind, const char *val, const struct mnode *n)
{
	if (!strcmp(kind, "any"))
		return true;
	if (!strcmp(kind, "node"))
		return strtoll(val, NULL, 10) == n->host_id;
	if (!strcmp(kind, "tag"))
		return has_tag(n, val);
	return false;	/* ext clients and egress ranges are not nodes */
}

static bool from_to(const struct acl_rule *r, const struct mnode *a, const struct mnode *b)
{
	return selects(r->src_kind, r->src_val, a) && selects(r->dst_kind, r->dst_val, b);
}

/* Appends what to arr unless it is there already. */
static void add_unique(json_t *arr, const char *what)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v), what))
			return;
	json_array_append_new(arr, json_string(what));
}

/*
 * The cell from a to b, given that they share a tunnel. The plain cells are
 * shared (one reference each) to keep a large matrix small.
 */
static json_t *tunnel_cell(const struct matrix *m, const struct mnode *a, const struct mnode *b, json_t *allow_cell,
			   json_t *closed_cell)
{
	json_t *allow = json_array(), *deny = json_array();
	bool open = !m->deny_default;

	for (size_t i = 0; i < m->n_rules; i++) {
		const struct acl_rule *r = &m->rules[i];
		char what[24];

		if (r->full) {
			if (r->allow && (from_to(r, a, b) || from_to(r, b, a)))
				open = true;
		} else if (from_to(r, a, b)) {
			rule_what(r, what, sizeof(what));
			add_unique(r->allow ? allow : deny, what);
		}
	}
	/* Under deny-all the network's DNS server node answers on port 53 (acl.c). */
	if (!open && b->dns_server) {
		add_unique(allow, "udp/53");
		add_unique(allow, "tcp/53");
	}
	if (open)
		json_array_clear(allow);	/* everything is allowed already */
	/* Open with nothing denied, or closed with nothing allowed: a plain cell. */
	if (open ? !json_array_size(deny) : !json_array_size(allow)) {
		json_decref(allow);
		json_decref(deny);
		return json_incref(open ? allow_cell : closed_cell);
	}
	return json_pack("{s:s, s:b, s:o, s:o}", "access", "limited", "tunnel", 1, "allow", allow, "deny", deny);
}

void handle_acl_matrix(struct request *req)
{
	struct store *st = req->srv->st;
	struct matrix m = { 0 };
	struct acl_cache *acl = NULL;
	json_t *nodes = json_array(), *cells = json_array(), *row;
	json_t *allow_cell, *deny_cell, *closed_cell;
	char policy[8] = "";
	bool found = false;
	int ret;

	/* A pair without a tunnel; a tunnel that lets everything through; one that a->b may not open. */
	deny_cell = json_pack("{s:s, s:b}", "access", "deny", "tunnel", 0);
	allow_cell = json_pack("{s:s, s:b}", "access", "allow", "tunnel", 1);
	closed_cell = json_pack("{s:s, s:b}", "access", "deny", "tunnel", 1);
	store_lock(st);
	ret = load_network(st, req->params[0], &m, policy, sizeof(policy), &found);
	if (ret == STORE_OK && found)
		ret = load_nodes(st, &m, nodes);
	if (ret == STORE_OK && found)
		ret = acl_rules_load(st, m.network_id, &m.rules, &m.n_rules);
	if (ret == STORE_OK && found) {
		acl = acl_cache_new(st);
		m.tunnel = calloc(m.n_nodes * m.n_nodes + 1, sizeof(*m.tunnel));
		if (!acl || !m.tunnel)
			ret = STORE_ERR;
	}
	/* Tunnels are symmetric: ask once per unordered pair. */
	for (size_t i = 0; ret == STORE_OK && found && i < m.n_nodes; i++)
		for (size_t j = i + 1; ret == STORE_OK && j < m.n_nodes; j++) {
			bool t = false;

			ret = acl_tunnel_allowed(acl, m.network_id, m.nodes[i].host_id, m.nodes[j].host_id, &t);
			m.tunnel[i * m.n_nodes + j] = m.tunnel[j * m.n_nodes + i] = t;
		}
	store_unlock(st);
	acl_cache_free(acl);
	if (ret != STORE_OK || !found) {
		if (ret != STORE_OK)
			reply_store_error(req, ret, "ACL matrix");
		else
			reply_error(req, 404, "network not found");
		json_decref(nodes);
		goto out;
	}
	for (size_t i = 0; i < m.n_nodes; i++) {
		row = json_array();
		json_array_append_new(cells, row);
		for (size_t j = 0; j < m.n_nodes; j++) {
			if (i == j)
				json_array_append_new(row, json_null());
			else if (!m.tunnel[i * m.n_nodes + j])
				json_array_append(row, deny_cell);
			else
				json_array_append_new(row, tunnel_cell(&m, &m.nodes[i], &m.nodes[j], allow_cell,
								       closed_cell));
		}
	}
	reply_json(req, 200, json_pack("{s:s, s:s, s:o, s:O, s:b, s:I}", "network", req->params[0],
				       "default_policy", policy, "nodes", nodes, "cells", cells,
				       "truncated", m.total > m.n_nodes, "total_nodes", (json_int_t)m.total));
out:
	json_decref(cells);
	json_decref(deny_cell);
	json_decref(allow_cell);
	json_decref(closed_cell);
	matrix_free(&m);
}
