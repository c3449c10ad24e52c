/*
 * Access control. Each network has a default policy (allow or deny) and
 * rules between selectors: any, a node, a tag, an ext client, and (as a
 * destination) an egress range. It is enforced at two levels.
 *
 * Tunnels: whether two hosts are peers at all. A rule without protocol or
 * ports that denies a pair removes the pair from each other's peers; under
 * a deny-all policy a pair needs an allow rule (one limited to a protocol
 * or ports still needs the tunnel). An ext client stands for its ingress
 * gateway here and an egress range for the gateways whose ranges overlap
 * it: that is whom the traffic has to reach. Tunnels are symmetric.
 *
 * Packets (acl_host_filter): nftables filters on each host for traffic from
 * the mesh to its own addresses (chain input) and, on an egress gateway,
 * through it to its egress ranges (chain forward). A rule without protocol
 * or ports holds both ways between its two sides; a rule with them only
 * from its source to its destination (replies pass by connection
 * tracking). Deny rules come first, so a deny always wins over an allow;
 * then, under a deny-all policy, the allow rules and a final drop.
 * Traffic to an ext client is filtered on its ingress gateway (chain
 * forward, back into the mesh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "server.h"

struct acl_net {
	int64_t network_id;
	bool deny_default;
	int64_t dns_host;	/* the host of the network's DNS server node, 0: none */
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

int acl_rules_load(struct store *st, int64_t network_id, struct acl_rule **out, size_t *n)
{
	struct acl_rule *rules = NULL;
	struct store_stmt *s;
	int ret;

	*out = NULL;
	*n = 0;
	ret = store_query(st, &s, "SELECT src_kind, src_value, dst_kind, dst_value, action,"
			  " proto = 'any' AND port_from IS NULL, id, proto, COALESCE(port_from, 0), COALESCE(port_to, 0)"
			  " FROM acl_rules WHERE network_id = ? ORDER BY id",
			  "i", network_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		struct acl_rule *grown = realloc(rules, (*n + 1) * sizeof(*rules)), *r;

		if (!grown) {
			ret = STORE_ERR;
			break;
		}
		rules = grown;
		r = &rules[(*n)++];
		snprintf(r->src_kind, sizeof(r->src_kind), "%s", store_col_text(s, 0));
		snprintf(r->src_val, sizeof(r->src_val), "%s", store_col_text(s, 1));
		snprintf(r->dst_kind, sizeof(r->dst_kind), "%s", store_col_text(s, 2));
		snprintf(r->dst_val, sizeof(r->dst_val), "%s", store_col_text(s, 3));
		r->allow = !strcmp(store_col_text(s, 4), "allow");
		r->full = store_col_int(s, 5);
		r->id = store_col_int(s, 6);
		snprintf(r->proto, sizeof(r->proto), "%s", store_col_text(s, 7));
		r->port_from = (int)store_col_int(s, 8);
		r->port_to = (int)store_col_int(s, 9);
	}
	store_finalize(s);
	if (ret < 0) {
		free(rules);
		*n = 0;
		return ret;
	}
	*out = rules;
	return STORE_OK;
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
	ret = store_get_int(c->st, &n->dns_host, NULL, "SELECT host_id FROM nodes WHERE network_id = ? AND dns_server = 1",
			    "i", network_id);
	if (ret != STORE_OK)
		return ret;
	ret = acl_rules_load(c->st, network_id, &n->rules, &n->n_rules);
	if (ret != STORE_OK)
		return ret;
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

/* Whether host has an egress range in the network overlapping prefix text cidr. */
static bool host_egress_overlaps(struct store *st, int64_t network_id, int64_t host, const char *cidr)
{
	struct mg_prefix want, p;
	struct store_stmt *s;
	bool found = false;

	if (mg_prefix_parse(cidr, &want) < 0 ||
	    store_query(st, &s, "SELECT e.range FROM egress_ranges e JOIN nodes n ON n.id = e.node_id"
			" WHERE e.network_id = ? AND n.host_id = ?", "ii", network_id, host) != STORE_OK)
		return false;
	while (!found && store_step(s) == STORE_ROW)
		if (mg_prefix_parse(store_col_text(s, 0), &p) == 0 && mg_prefix_overlaps(&p, &want))
			found = true;
	store_finalize(s);
	return found;
}

/*
 * Whether a selector names host, for tunnels: an ext client names its
 * ingress gateway, an egress range the gateways that serve part of it.
 */
static bool selects(struct store *st, int64_t network_id, const char *kind, const char *val, int64_t host)
{
	int64_t one = 0;
	bool found = false;

	if (!strcmp(kind, "any"))
		return true;
	if (!strcmp(kind, "node"))
		return strtoll(val, NULL, 10) == host;
	if (!strcmp(kind, "tag"))
		return host_has_tag(st, host, val);
	if (!strcmp(kind, "extclient")) {
		store_get_int(st, &one, &found, "SELECT 1 FROM ext_clients c JOIN nodes n ON n.id = c.gateway_node_id"
			      " WHERE c.id = ? AND n.host_id = ?", "ii", strtoll(val, NULL, 10), host);
		return found;
	}
	if (!strcmp(kind, "egress"))
		return host_egress_overlaps(st, network_id, host, val);
	return false;
}

static bool narrow_kind(const char *kind)
{
	return !strcmp(kind, "extclient") || !strcmp(kind, "egress");
}

static bool matches(struct store *st, int64_t net, const struct acl_rule *r, int64_t a, int64_t b)
{
	/* Denying an ext client or an egress range must not cut the
	 * gateway's tunnels, which carry everything else too. */
	if (!r->allow && (narrow_kind(r->src_kind) || narrow_kind(r->dst_kind)))
		return false;
	return (selects(st, net, r->src_kind, r->src_val, a) && selects(st, net, r->dst_kind, r->dst_val, b)) ||
	       (selects(st, net, r->src_kind, r->src_val, b) && selects(st, net, r->dst_kind, r->dst_val, a));
}

int acl_tunnel_allowed(struct acl_cache *c, int64_t network_id, int64_t a, int64_t b, bool *allowed)
{
	struct acl_net *n;
	int ret;

	ret = load_net(c, network_id, &n);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = 0; i < n->n_rules; i++)
		if (!n->rules[i].allow && n->rules[i].full && matches(c->st, network_id, &n->rules[i], a, b)) {
			*allowed = false;
			return STORE_OK;
		}
	/* Names must resolve under deny-all too: everyone reaches the DNS
	 * server node (its filter opens port 53 only). */
	*allowed = !n->deny_default || (n->dns_host && (a == n->dns_host || b == n->dns_host));
	for (size_t i = 0; i < n->n_rules && !*allowed; i++)
		if (n->rules[i].allow && matches(c->st, network_id, &n->rules[i], a, b))
			*allowed = true;
	return STORE_OK;
}

/* --- packet filters --------------------------------------------------------- */

/* What the filter of one host in one network is built from. */
struct filter_ctx {
	struct store *st;
	struct acl_net *n;
	int64_t host;
	char range[2][MG_PREFIX_STRLEN];	/* the network's ranges, [0] IPv4, [1] IPv6 ("" none) */
	char mine[2][MG_PREFIX_STRLEN];		/* this host's addresses as /32, /128 ("" none) */
	json_t *egress[2];			/* this host's egress ranges in the network */
	json_t *scope[2];			/* where the network's traffic comes from: its
						 * range and its ext clients' sites */
	json_t *clients;			/* its live ext clients: [{"id", "a": [4, 6]}] */
	json_t *out;
};

static bool family_of(const char *text, int fam)
{
	struct mg_prefix p;

	return mg_prefix_parse(text, &p) == 0 && (p.ip.family == AF_INET6) == (fam == 1);
}

static void add_host_prefix(json_t *arr, const char *addr, int fam)
{
	char buf[MG_PREFIX_STRLEN];

	snprintf(buf, sizeof(buf), "%s/%s", addr, fam ? "128" : "32");
	json_array_append_new(arr, json_string(buf));
}

/*
 * The addresses a selector stands for as the source of packets, of one
 * family: any is the network's range, a node or tag its nodes' addresses,
 * an ext client its address. An egress range is never a source.
 */
static int source_prefixes(struct filter_ctx *f, const char *kind, const char *val, int fam, json_t *arr)
{
	const char *col = fam ? "address6" : "address";
	struct store_stmt *s;
	char sql[256];
	int ret;

	if (!strcmp(kind, "any")) {
		if (f->range[fam][0])
			json_array_append_new(arr, json_string(f->range[fam]));
		return STORE_OK;
	}
	if (!strcmp(kind, "node"))
		snprintf(sql, sizeof(sql), "SELECT %s FROM nodes WHERE network_id = ? AND host_id = CAST(? AS INTEGER)",
			 col);
	else if (!strcmp(kind, "tag"))
		snprintf(sql, sizeof(sql), "SELECT n.%s FROM nodes n JOIN host_tags t ON t.host_id = n.host_id"
			 " WHERE n.network_id = ? AND t.tag = ? ORDER BY n.id", col);
	else if (!strcmp(kind, "extclient"))
		snprintf(sql, sizeof(sql), "SELECT %s FROM ext_clients WHERE network_id = ? AND id = CAST(? AS INTEGER)",
			 col);
	else
		return STORE_OK;
	ret = store_query(f->st, &s, sql, "it", f->n->network_id, val);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW)
		if (!store_col_null(s, 0) && f->range[fam][0])
			add_host_prefix(arr, store_col_text(s, 0), fam);
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

static void emit(struct filter_ctx *f, const char *chain, int fam, json_t *src, json_t *dst,
		 const struct acl_rule *r, bool accept, const char *comment)
{
	json_t *ports = json_null();

	if (r && r->port_from)
		ports = json_pack("[ii]", r->port_from, r->port_to);
	json_array_append_new(f->out, json_pack("{s:s, s:i, s:o, s:o, s:s, s:o, s:s, s:s}", "chain", chain,
						"family", fam ? 6 : 4, "src", src, "dst", dst,
						"proto", r ? r->proto : "any", "ports", ports,
						"action", accept ? "accept" : "drop", "comment", comment));
}

/* Whether a selector names this host as the destination of packets. */
static bool names_host(struct filter_ctx *f, const char *kind, const char *val)
{
	return !narrow_kind(kind) && selects(f->st, f->n->network_id, kind, val, f->host);
}

/* Whether CIDR text val overlaps one of this gateway's egress ranges of family fam. */
static bool overlaps_my_egress(struct filter_ctx *f, int fam, const char *val)
{
	struct mg_prefix want, p;
	size_t i;
	json_t *v;

	if (!family_of(val, fam) || mg_prefix_parse(val, &want) < 0)
		return false;
	json_array_foreach(f->egress[fam], i, v)
		if (mg_prefix_parse(json_string_value(v), &p) == 0 && mg_prefix_overlaps(&p, &want))
			return true;
	return false;
}

/*
 * This host's own addresses of family fam as destinations: its mesh
 * address and, on an egress gateway, its egress ranges (its own addresses
 * there, e.g. its LAN address, are delivered locally, not forwarded).
 */
static json_t *my_destinations(struct filter_ctx *f, int fam)
{
	json_t *dst = json_pack("[s]", f->mine[fam]);

	json_array_extend(dst, f->egress[fam]);
	return dst;
}

/* Rules into this host itself, family fam. */
static int input_rules(struct filter_ctx *f, int fam, const struct acl_rule *r, char *comment)
{
	json_t *src = json_array();
	int ret = STORE_OK;

	if (names_host(f, r->dst_kind, r->dst_val))
		ret = source_prefixes(f, r->src_kind, r->src_val, fam, src);
	/* Without protocol or ports a rule holds both ways. */
	if (ret == STORE_OK && r->full && names_host(f, r->src_kind, r->src_val))
		ret = source_prefixes(f, r->dst_kind, r->dst_val, fam, src);
	if (ret == STORE_OK && json_array_size(src))
		emit(f, "input", fam, src, my_destinations(f, fam), r, r->allow, comment);
	else
		json_decref(src);
	if (ret != STORE_OK || strcmp(r->dst_kind, "egress") || !overlaps_my_egress(f, fam, r->dst_val))
		return ret;
	/* An egress destination covers this gateway's own addresses in it. */
	src = json_array();
	ret = source_prefixes(f, r->src_kind, r->src_val, fam, src);
	if (ret == STORE_OK && json_array_size(src))
		emit(f, "input", fam, src, json_pack("[s]", r->dst_val), r, r->allow, comment);
	else
		json_decref(src);
	return ret;
}

/* Rules through this egress gateway into its ranges of family fam. */
static int forward_rules(struct filter_ctx *f, int fam, const struct acl_rule *r, char *comment)
{
	json_t *src, *dst;
	int ret;

	if (!strcmp(r->dst_kind, "any"))
		dst = json_deep_copy(f->egress[fam]);
	else if (!strcmp(r->dst_kind, "egress") && overlaps_my_egress(f, fam, r->dst_val))
		dst = json_pack("[s]", r->dst_val);
	else
		return STORE_OK;
	src = json_array();
	ret = source_prefixes(f, r->src_kind, r->src_val, fam, src);
	if (ret != STORE_OK || !json_array_size(src)) {
		json_decref(src);
		json_decref(dst);
		return ret;
	}
	emit(f, "forward", fam, src, dst, r, r->allow, comment);
	return STORE_OK;
}

/* The client addresses of family fam a selector names among this gateway's clients. */
static json_t *client_dsts(struct filter_ctx *f, const char *kind, const char *val, int fam)
{
	json_t *out = json_array(), *c;
	size_t i;

	json_array_foreach(f->clients, i, c) {
		json_t *a = json_array_get(json_object_get(c, "a"), (size_t)fam);

		if (!json_is_string(a))
			continue;
		if (!strcmp(kind, "any") ||
		    (!strcmp(kind, "extclient") && strtoll(val, NULL, 10) == json_integer_value(json_object_get(c, "id"))))
			json_array_append(out, a);
	}
	return out;
}

/* Traffic from the side (skind, sval) to the clients the side (dkind, dval) names. */
static int client_side(struct filter_ctx *f, int fam, const struct acl_rule *r, const char *dkind, const char *dval,
		       const char *skind, const char *sval, const char *comment)
{
	json_t *src = json_array(), *dst = client_dsts(f, dkind, dval, fam);
	int ret = STORE_OK;

	if (json_array_size(dst))
		ret = source_prefixes(f, skind, sval, fam, src);
	if (ret == STORE_OK && json_array_size(src))
		emit(f, "mesh", fam, src, json_incref(dst), r, r->allow, comment);
	else
		json_decref(src);
	json_decref(dst);
	return ret;
}

/* Rules through this ingress gateway to its ext clients (both ways without proto or ports). */
static int client_rules(struct filter_ctx *f, int fam, const struct acl_rule *r, char *comment)
{
	int ret = client_side(f, fam, r, r->dst_kind, r->dst_val, r->src_kind, r->src_val, comment);

	if (ret != STORE_OK || !r->full || !strcmp(r->dst_kind, "egress"))
		return ret;
	return client_side(f, fam, r, r->src_kind, r->src_val, r->dst_kind, r->dst_val, comment);
}

static int network_filter(struct filter_ctx *f)
{
	char comment[64];
	int ret = STORE_OK;

	/* Deny rules first: a deny always wins. Allow rules only matter
	 * before a final drop. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !f->n->deny_default)
			break;
		for (size_t i = 0; i < f->n->n_rules && ret == STORE_OK; i++) {
			const struct acl_rule *r = &f->n->rules[i];

			if (r->allow != (pass == 1))
				continue;
			snprintf(comment, sizeof(comment), "rule %lld", (long long)r->id);
			for (int fam = 0; fam < 2 && ret == STORE_OK; fam++) {
				if (f->mine[fam][0])
					ret = input_rules(f, fam, r, comment);
				if (ret == STORE_OK && json_array_size(f->egress[fam]))
					ret = forward_rules(f, fam, r, comment);
				if (ret == STORE_OK && json_array_size(f->clients))
					ret = client_rules(f, fam, r, comment);
			}
		}
	}
	if (ret != STORE_OK || !f->n->deny_default)
		return ret;
	for (int fam = 0; fam < 2; fam++) {
		/* The DNS server node answers the network under deny-all (after the deny rules). */
		if (f->host == f->n->dns_host && f->mine[fam][0] && json_array_size(f->scope[fam])) {
			static const struct acl_rule dns_udp = { .proto = "udp", .port_from = 53, .port_to = 53 };
			static const struct acl_rule dns_tcp = { .proto = "tcp", .port_from = 53, .port_to = 53 };

			emit(f, "input", fam, json_deep_copy(f->scope[fam]), json_pack("[s]", f->mine[fam]), &dns_udp, true,
			     "dns");
			emit(f, "input", fam, json_deep_copy(f->scope[fam]), json_pack("[s]", f->mine[fam]), &dns_tcp, true,
			     "dns");
		}
		if (f->mine[fam][0])
			emit(f, "input", fam, json_array(), json_pack("[s]", f->mine[fam]), NULL, false, "default deny");
		/* The egress ranges only for this network's traffic: another
		 * network of this gateway may serve them under its own policy. */
		if (json_array_size(f->egress[fam]) && json_array_size(f->scope[fam])) {
			emit(f, "input", fam, json_deep_copy(f->scope[fam]), json_deep_copy(f->egress[fam]), NULL,
			     false, "default deny");
			emit(f, "forward", fam, json_deep_copy(f->scope[fam]), json_deep_copy(f->egress[fam]), NULL,
			     false, "default deny");
		}
		if (json_array_size(f->clients)) {
			json_t *all = client_dsts(f, "any", "", fam);

			if (json_array_size(all))
				emit(f, "mesh", fam, json_array(), all, NULL, false, "default deny");
			else
				json_decref(all);
		}
	}
	return STORE_OK;
}

/* Appends the ranges (column 0) that sql selects for id to by_family[0] (IPv4) or [1] (IPv6). */
static int ranges_by_family(struct store *st, json_t *by_family[2], const char *sql, int64_t id)
{
	struct store_stmt *e;
	int ret;

	ret = store_query(st, &e, sql, "i", id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(e)) == STORE_ROW)
		json_array_append_new(by_family[family_of(store_col_text(e, 0), 1) ? 1 : 0],
				      json_string(store_col_text(e, 0)));
	store_finalize(e);
	return ret < 0 ? ret : STORE_OK;
}

int acl_host_filter(struct store *st, int64_t host_id, json_t *cfg)
{
	struct acl_cache *c = acl_cache_new(st);
	json_t *out = json_array();
	struct store_stmt *s, *e;
	int ret;

	json_object_set_new(cfg, "acl", out);
	if (!c)
		return STORE_ERR;
	ret = store_query(st, &s, "SELECT n.id, net.id, net.ipv4_range, net.ipv6_range, n.address, n.address6"
			  " FROM nodes n JOIN networks net ON net.id = n.network_id WHERE n.host_id = ?"
			  " ORDER BY net.name", "i", host_id);
	if (ret != STORE_OK)
		goto out;
	while ((ret = store_step(s)) == STORE_ROW) {
		struct filter_ctx f = { .st = st, .host = host_id, .out = out };

		ret = load_net(c, store_col_int(s, 1), &f.n);
		if (ret != STORE_OK)
			break;
		if (!f.n->deny_default && !f.n->n_rules)
			continue;	/* allow-all, no rules: nothing to filter */
		snprintf(f.range[0], sizeof(f.range[0]), "%s", store_col_text(s, 2));
		snprintf(f.mine[0], sizeof(f.mine[0]), "%s/32", store_col_text(s, 4));
		if (!store_col_null(s, 3) && !store_col_null(s, 5)) {
			snprintf(f.range[1], sizeof(f.range[1]), "%s", store_col_text(s, 3));
			snprintf(f.mine[1], sizeof(f.mine[1]), "%s/128", store_col_text(s, 5));
		}
		f.egress[0] = json_array();
		f.egress[1] = json_array();
		f.clients = json_array();
		for (int fam = 0; fam < 2; fam++) {
			f.scope[fam] = json_array();
			if (f.range[fam][0])
				json_array_append_new(f.scope[fam], json_string(f.range[fam]));
		}
		ret = ranges_by_family(st, f.scope, "SELECT DISTINCT r.range FROM ext_client_ranges r JOIN ext_clients c"
				       " ON c.id = r.client_id WHERE c.network_id = ? ORDER BY r.range",
				       store_col_int(s, 1));
		if (ret == STORE_OK)
			ret = store_query(st, &e, "SELECT c.id, c.address, c.address6 FROM ext_clients c JOIN nodes n"
				  " ON n.id = c.gateway_node_id WHERE n.id = ? AND n.ingress = 1 AND c.enabled = 1"
				  " AND (c.expires_at IS NULL OR c.expires_at > ?) ORDER BY c.id", "ii",
				  store_col_int(s, 0), now_unix());
		if (ret == STORE_OK) {
			while ((ret = store_step(e)) == STORE_ROW) {
				json_t *a = json_array();

				for (int fam = 0; fam < 2; fam++) {
					json_t *one = json_array();

					if (!store_col_null(e, 1 + fam) && f.range[fam][0])
						add_host_prefix(one, store_col_text(e, 1 + fam), fam);
					json_array_append(a, json_array_size(one) ? json_array_get(one, 0) : json_null());
					json_decref(one);
				}
				json_array_append_new(f.clients, json_pack("{s:I, s:o}", "id",
									   (json_int_t)store_col_int(e, 0), "a", a));
			}
			store_finalize(e);
		}
		if (ret == STORE_OK)
			ret = ranges_by_family(st, f.egress, "SELECT range FROM egress_ranges WHERE node_id = ? ORDER BY id",
					       store_col_int(s, 0));
		if (ret == STORE_OK)
			ret = network_filter(&f);
		json_decref(f.egress[0]);
		json_decref(f.egress[1]);
		json_decref(f.clients);
		json_decref(f.scope[0]);
		json_decref(f.scope[1]);
		if (ret != STORE_OK)
			break;
	}
	store_finalize(s);
out:
	acl_cache_free(c);
	return ret < 0 ? ret : STORE_OK;
}

/*
 * Whether the packet filters of a network list its members' addresses (a
 * rule names a node, a tag or an ext client): then a join or leave changes
 * other hosts' filters, not just one peer entry.
 */
int acl_filters_list_members(struct acl_cache *c, int64_t network_id, bool *lists)
{
	struct acl_net *n;
	int ret;

	*lists = false;
	ret = load_net(c, network_id, &n);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = 0; i < n->n_rules && !*lists; i++)
		*lists = (strcmp(n->rules[i].src_kind, "any") && strcmp(n->rules[i].src_kind, "egress")) ||
			 (strcmp(n->rules[i].dst_kind, "any") && strcmp(n->rules[i].dst_kind, "egress"));
	return STORE_OK;
}
