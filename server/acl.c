/*
 * Access control between nodes. Each network has a default policy (allow
 * or deny) and rules between selectors (any, a node, a tag; ext clients and
 * egress ranges are selectors too, enforced on gateways). Here: whether two
 * hosts get a tunnel at all. A rule without protocol or ports that denies a
 * pair removes the pair from each other's peers; under a deny-all policy a
 * pair needs an allow rule (one limited to a protocol or ports still needs
 * the tunnel: the limit itself is enforced by nftables). Tunnels are
 * symmetric, so direction does not matter at this level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct acl_rule {
	char src_kind[12], dst_kind[12];
	char src_val[64], dst_val[64];
	bool allow;
	bool full;		/* any protocol, any port */
};

struct acl_net {
	int64_t network_id;
	bool deny_default;
	struct acl_rule *rules;
	size_t n_rules;
};

struct acl_cache {
	struct store *st;
	struct acl_net nets[16];
	size_t n_nets;
};

struct acl_cache *acl_cache_new(struct store *st)
{
	struct acl_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->st = st;
	return c;
}

void acl_cache_free(struct acl_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_nets; i++)
		free(c->nets[i].rules);
	free(c);
}

static int load_net(struct acl_cache *c, int64_t network_id, struct acl_net **out)
{
	struct acl_net *n;
	struct store_stmt *s;
	int ret;

	for (size_t i = 0; i < c->n_nets; i++)
		if (c->nets[i].network_id == network_id) {
			*out = &c->nets[i];
			return STORE_OK;
		}
	if (c->n_nets == sizeof(c->nets) / sizeof(c->nets[0])) {
		/* Rarely more networks per host: start over rather than grow. */
		for (size_t i = 0; i < c->n_nets; i++)
			free(c->nets[i].rules);
		c->n_nets = 0;
	}
	n = &c->nets[c->n_nets];
	memset(n, 0, sizeof(*n));
	n->network_id = network_id;
	ret = store_query(c->st, &s, "SELECT default_policy FROM networks WHERE id = ?", "i", network_id);
	if (ret != STORE_OK)
		return ret;
	if (store_step(s) == STORE_ROW)
		n->deny_default = !strcmp(store_col_text(s, 0), "deny");
	store_finalize(s);
	ret = store_query(c->st, &s, "SELECT src_kind, src_value, dst_kind, dst_value, action,"
			  " proto = 'any' AND port_from IS NULL FROM acl_rules WHERE network_id = ? ORDER BY id",
			  "i", network_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		struct acl_rule *grown = realloc(n->rules, (n->n_rules + 1) * sizeof(*n->rules)), *r;

		if (!grown) {
			ret = STORE_ERR;
			break;
		}
		n->rules = grown;
		r = &n->rules[n->n_rules++];
		snprintf(r->src_kind, sizeof(r->src_kind), "%s", store_col_text(s, 0));
		snprintf(r->src_val, sizeof(r->src_val), "%s", store_col_text(s, 1));
		snprintf(r->dst_kind, sizeof(r->dst_kind), "%s", store_col_text(s, 2));
		snprintf(r->dst_val, sizeof(r->dst_val), "%s", store_col_text(s, 3));
		r->allow = !strcmp(store_col_text(s, 4), "allow");
		r->full = store_col_int(s, 5);
	}
	store_finalize(s);
	if (ret < 0) {
		free(n->rules);
		return ret;
	}
	c->n_nets++;
	*out = n;
	return STORE_OK;
}

static bool host_has_tag(struct store *st, int64_t host, const char *tag)
{
	int64_t one = 0;
	bool found = false;

	store_get_int(st, &one, &found, "SELECT 1 FROM host_tags WHERE host_id = ? AND tag = ?", "it", host, tag);
	return found;
}

static bool selects(struct store *st, const char *kind, const char *val, int64_t host)
{
	if (!strcmp(kind, "any"))
		return true;
	if (!strcmp(kind, "node"))
		return strtoll(val, NULL, 10) == host;
	if (!strcmp(kind, "tag"))
		return host_has_tag(st, host, val);
	return false;	/* ext clients and egress ranges are not hosts */
}

static bool matches(struct store *st, const struct acl_rule *r, int64_t a, int64_t b)
{
	return (selects(st, r->src_kind, r->src_val, a) && selects(st, r->dst_kind, r->dst_val, b)) ||
	       (selects(st, r->src_kind, r->src_val, b) && selects(st, r->dst_kind, r->dst_val, a));
}

int acl_tunnel_allowed(struct acl_cache *c, int64_t network_id, int64_t a, int64_t b, bool *allowed)
{
	struct acl_net *n;
	int ret;

	ret = load_net(c, network_id, &n);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = 0; i < n->n_rules; i++)
		if (!n->rules[i].allow && n->rules[i].full && matches(c->st, &n->rules[i], a, b)) {
			*allowed = false;
			return STORE_OK;
		}
	*allowed = !n->deny_default;
	for (size_t i = 0; i < n->n_rules && !*allowed; i++)
		if (n->rules[i].allow && matches(c->st, &n->rules[i], a, b))
			*allowed = true;
	return STORE_OK;
}
