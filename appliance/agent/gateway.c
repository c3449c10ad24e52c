/*
 * Gateway roles and access control on this host: the CONFIG's "gateway"
 * section (egress ranges with their NAT flag, and what each ext client may
 * reach) and its "acl" filters (computed by the server, in order) become
 * the nftables table that nat/ owns. With neither the table is removed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "log.h"
#include "nat/nat.h"

struct gw_parse {
	struct nat_egress *egress;
	size_t n_egress;
	struct nat_client *clients;
	size_t n_clients;
	struct mg_prefix *dsts;		/* every client's destinations, back to back */
	size_t n_dsts;
	struct nat_acl_rule *acl;
	size_t n_acl;
	struct mg_prefix *acl_pfx;	/* every ACL rule's prefixes, back to back */
	size_t n_acl_pfx;
	struct mg_prefix *relayed;	/* what this relay forwards for its relayed nodes */
	size_t n_relayed;
	bool v4, v6;			/* which forwarding the roles need */
};

static void gw_parse_free(struct gw_parse *g)
{
	free(g->egress);
	free(g->clients);
	free(g->dsts);
	free(g->acl);
	free(g->acl_pfx);
	free(g->relayed);
}

/*
 * A list that cannot be read must not become "none" (no filter, no scope):
 * absent or null is an empty list, anything else but an array is an error.
 */
static bool is_list(json_t *v)
{
	return !v || json_is_null(v) || json_is_array(v);
}

/* The prefixes of one side of an ACL rule, appended to g->acl_pfx. */
static int parse_acl_side(struct gw_parse *g, json_t *arr, const struct mg_prefix **out, size_t *n)
{
	size_t i;
	json_t *v;

	*out = &g->acl_pfx[g->n_acl_pfx];
	*n = 0;
	/* "src": "10.0.0.0/8" is not "any source". */
	if (!is_list(arr))
		return -EINVAL;
	json_array_foreach(arr, i, v) {
		if (mg_prefix_parse(json_string_value(v), &g->acl_pfx[g->n_acl_pfx]) < 0)
			return -EINVAL;
		g->n_acl_pfx++;
		(*n)++;
	}
	if (!*n)
		*out = NULL;
	return 0;
}

/* The index of word in a NULL-terminated table with holes ("" entries), or -1. */
static int word_index(const char *word, const char *const *table)
{
	for (int i = 0; word && table[i]; i++)
		if (table[i][0] && !strcmp(word, table[i]))
			return i;
	return -1;
}

/* The server's filters, [{"chain", "family", "src", "dst", "proto", "ports", "action", "comment"}]. */
static int parse_acl(json_t *acl, struct gw_parse *g)
{
	/* Indexed by enum nat_acl_chain and by IP protocol number. */
	static const char *const chains[] = { "input", "forward", "mesh", NULL };
	static const char *const protos[] = { "any", "icmp", "", "", "", "", "tcp", "", "", "", "", "", "", "", "",
					      "", "", "udp", NULL };

	size_t i, total = 0;
	json_t *v;

	if (!is_list(acl))
		return -EINVAL;
	json_array_foreach(acl, i, v)
		total += json_array_size(json_object_get(v, "src")) + json_array_size(json_object_get(v, "dst"));
	g->acl = calloc(json_array_size(acl) + 1, sizeof(*g->acl));
	g->acl_pfx = calloc(total + 1, sizeof(*g->acl_pfx));
	if (!g->acl || !g->acl_pfx)
		return -ENOMEM;
	json_array_foreach(acl, i, v) {
		struct nat_acl_rule *a = &g->acl[g->n_acl];
		const char *chain = json_string_value(json_object_get(v, "chain"));
		const char *proto = json_string_value(json_object_get(v, "proto"));
		json_t *ports = json_object_get(v, "ports");
		json_int_t fam = json_integer_value(json_object_get(v, "family"));

		int c = word_index(chain, chains), p = word_index(proto, protos);

		if (c < 0 || p < 0 || (fam != 4 && fam != 6))
			return -EINVAL;
		a->chain = (enum nat_acl_chain)c;
		a->proto = (uint8_t)p;
		a->family = fam == 4 ? AF_INET : AF_INET6;
		/* A port limit that cannot be read must not become "any port". */
		if (ports && !json_is_null(ports) && (!json_is_array(ports) || json_array_size(ports) != 2))
			return -EINVAL;
		if (json_array_size(ports) == 2) {
			json_int_t from = json_integer_value(json_array_get(ports, 0));
			json_int_t to = json_integer_value(json_array_get(ports, 1));

			if (from < 1 || to > 65535 || from > to)
				return -EINVAL;
			a->port_from = (uint16_t)from;
			a->port_to = (uint16_t)to;
		}
		a->accept = json_is_string(json_object_get(v, "action")) &&
			    !strcmp(json_string_value(json_object_get(v, "action")), "accept");
		a->comment = json_string_value(json_object_get(v, "comment"));
		if (parse_acl_side(g, json_object_get(v, "src"), &a->src, &a->n_src) < 0 ||
		    parse_acl_side(g, json_object_get(v, "dst"), &a->dst, &a->n_dst) < 0)
			return -EINVAL;
		g->n_acl++;
	}
	return 0;
}

static void note_family(struct gw_parse *g, const struct mg_prefix *p)
{
	if (p->ip.family == AF_INET)
		g->v4 = true;
	else
		g->v6 = true;
}

static int parse_gateway(json_t *gw, struct gw_parse *g)
{
	json_t *egress = json_object_get(gw, "egress"), *clients = json_object_get(gw, "ingress_clients");
	size_t i, k, total = 0;
	json_t *v, *d;

	memset(g, 0, sizeof(*g));
	if ((gw && !json_is_null(gw) && !json_is_object(gw)) || !is_list(egress) || !is_list(clients))
		return -EINVAL;
	g->egress = calloc(json_array_size(egress) + 1, sizeof(*g->egress));
	/* A client with an IPv6 address is two entries with the same destinations. */
	g->clients = calloc(2 * json_array_size(clients) + 1, sizeof(*g->clients));
	json_array_foreach(clients, i, v)
		total += json_array_size(json_object_get(v, "allowed_destinations"));
	g->dsts = calloc(total + 1, sizeof(*g->dsts));
	if (!g->egress || !g->clients || !g->dsts)
		return -ENOMEM;

	json_array_foreach(egress, i, v) {
		struct nat_egress *e = &g->egress[g->n_egress];

		if (mg_prefix_parse(json_string_value(json_object_get(v, "range")), &e->range) < 0)
			return -EINVAL;
		e->nat = json_is_true(json_object_get(v, "nat"));
		note_family(g, &e->range);
		g->n_egress++;
	}
	json_array_foreach(clients, i, v) {
		/* nat/ filters per address family: each address gets its own family's destinations. */
		static const char *const keys[] = { "address", "address6" };
		const struct mg_prefix *first[2];
		size_t n[2] = { 0, 0 }, f;

		/* A client that cannot be read must not go unfiltered. */
		if (!json_is_object(v) || !is_list(json_object_get(v, "allowed_destinations")))
			return -EINVAL;
		for (f = 0; f < 2; f++) {
			first[f] = &g->dsts[g->n_dsts];
			json_array_foreach(json_object_get(v, "allowed_destinations"), k, d) {
				struct mg_prefix p;

				if (mg_prefix_parse(json_string_value(d), &p) < 0)
					return -EINVAL;
				if ((p.ip.family == AF_INET) != (f == 0))
					continue;
				g->dsts[g->n_dsts++] = p;
				n[f]++;
			}
		}
		for (k = 0; k < 2; k++) {
			struct nat_client *c = &g->clients[g->n_clients];
			json_t *a = json_object_get(v, keys[k]);

			if (!json_is_string(a)) {
				if (a && !json_is_null(a))
					return -EINVAL;
				continue;
			}
			if (mg_prefix_parse(json_string_value(a), &c->addr) < 0)
				return -EINVAL;
			f = c->addr.ip.family == AF_INET ? 0 : 1;
			c->allowed = first[f];
			c->n_allowed = n[f];
			note_family(g, &c->addr);
			g->n_clients++;
		}
	}
	return 0;
}

/* The relay role: "relayed" of the gateway section, forwarded in and out of the interface. */
static int parse_relayed(json_t *gw, struct gw_parse *g)
{
	json_t *arr = json_object_get(gw, "relayed"), *v;
	size_t i;

	if (arr && !json_is_array(arr))
		return -EINVAL;
	if (!json_array_size(arr))
		return 0;
	g->relayed = calloc(json_array_size(arr), sizeof(*g->relayed));
	if (!g->relayed)
		return -ENOMEM;
	json_array_foreach(arr, i, v) {
		if (mg_prefix_parse(json_string_value(v), &g->relayed[g->n_relayed]) < 0)
			return -EINVAL;
		/* A relay forwards both families it carries, whatever else it does. */
		if (g->relayed[g->n_relayed].ip.family == AF_INET)
			g->v4 = true;
		else
			g->v6 = true;
		g->n_relayed++;
	}
	return 0;
}

/*
 * The whole CONFIG: the gateway section, then acl, then relayed. g is
 * always initialised (gw_parse_free it, whatever the result).
 */
static int gw_parse_config(json_t *cfg, struct gw_parse *g)
{
	json_t *gw = json_object_get(cfg, "gateway");
	int ret;

	ret = parse_gateway(gw, g);
	if (ret == 0)
		ret = parse_acl(json_object_get(cfg, "acl"), g);
	if (ret == 0)
		ret = parse_relayed(gw, g);
	return ret;
}

static bool gw_has_role(const struct gw_parse *g)
{
	return g->n_egress || g->n_clients || g->n_acl || g->n_relayed;
}

static struct nat_state gw_state(const struct gw_parse *g, const char *ifname)
{
	return (struct nat_state){
		.ifname = ifname, .egress = g->egress, .n_egress = g->n_egress,
		.clients = g->clients, .n_clients = g->n_clients,
		.acl = g->acl, .n_acl = g->n_acl,
		.relayed = g->relayed, .n_relayed = g->n_relayed,
	};
}

int gateway_render(json_t *cfg, const char *ifname, struct nat_batch **out, char *err, size_t errlen)
{
	struct gw_parse g;
	struct nat_state s;
	int ret;

	*out = NULL;
	if (err && errlen)
		*err = '\0';
	ret = gw_parse_config(cfg, &g);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", ret == -ENOMEM ? "out of memory" :
				 "the gateway or acl section of the configuration is malformed");
	} else if (gw_has_role(&g)) {
		s = gw_state(&g, ifname);
		ret = nat_render(&s, out, err, errlen);
	}
	gw_parse_free(&g);
	return ret;
}

int gateway_apply(const char *ifname, json_t *cfg)
{
	struct gw_parse g;
	struct nat_state s;
	char err[512];
	bool changed = false;
	int ret;

	ret = gw_parse_config(cfg, &g);
	if (ret < 0) {
		log_warnx("%s: the gateway or acl section of the configuration is malformed", ifname);
		goto out;
	}
	if (!gw_has_role(&g)) {
		/* No role: nothing of ours stays in the firewall. */
		ret = nat_remove();
		if (ret < 0)
			log_warnx("cannot remove the nftables table inet meshgate: %s", strerror(-ret));
		goto out;
	}
	ret = nat_forwarding_enable(g.v4, g.v6, &changed);
	if (ret < 0) {
		log_warnx("cannot enable forwarding for the gateway role: %s", strerror(-ret));
		goto out;
	}
	if (changed)
		log_info("enabled %s%s%s forwarding for the gateway role", g.v4 ? "IPv4" : "",
			 g.v4 && g.v6 ? " and " : "", g.v6 ? "IPv6" : "");
	/* nat_render (what gateway_render does), then the batch to the kernel. */
	s = gw_state(&g, ifname);
	ret = nat_apply(&s, err, sizeof(err));
	if (ret < 0)
		log_warnx("cannot apply the gateway firewall: %s", err);
	else
		log_debug("nftables: %zu egress range(s), %zu ext client filter(s), %zu ACL rule(s),"
			  " %zu relayed prefix(es)", g.n_egress, g.n_clients, g.n_acl, g.n_relayed);
out:
	gw_parse_free(&g);
	return ret;
}

int cmd_nat(const struct agent_opts *o, int argc, char **argv)
{
	bool json = false;
	char *text = NULL;
	int ret;

	if (argc < 2 || strcmp(argv[1], "show")) {
		fprintf(stderr, "usage: meshgate nat show [--json]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "meshgate nat show: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	ret = json ? nat_show_json(&text) : nat_show(&text);
	if (ret == -ENOENT) {
		fprintf(stderr, "meshgate: no nftables table inet meshgate (this host has no gateway role)\n");
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "meshgate: cannot read the nftables table: %s\n", strerror(-ret));
		return 1;
	}
	fputs(text, stdout);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', stdout);
	free(text);
	return 0;
}
