/*
 * Validation of a desired state, before anything is rendered. The rules are
 * in nat.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "nat_int.h"

struct verr {
	const struct nat_state *s;
	char *err;
	size_t errlen;
};

static int fail(struct verr *r, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct verr *r, int ret, const char *fmt, ...)
{
	va_list ap;

	if (r->err && r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static const char *pfx(const struct mg_prefix *p, char *buf, size_t len)
{
	if (mg_prefix_format(p, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

static bool oif_set(const char *oif)
{
	return oif && *oif;
}

static int check_prefix(struct verr *r, const char *what, const struct mg_prefix *p)
{
	char buf[MG_PREFIX_STRLEN];

	if (p->ip.family != AF_INET && p->ip.family != AF_INET6)
		return fail(r, -EINVAL, "%s: not an IPv4 or IPv6 prefix", what);
	if (p->len > mg_ip_bits(&p->ip))
		return fail(r, -EINVAL, "%s: prefix length %u out of range", what, p->len);
	if (!mg_prefix_is_canonical(p))
		return fail(r, -EINVAL, "%s %s has host bits set", what, pfx(p, buf, sizeof(buf)));
	return 0;
}

static int cmp_client(const void *a, const void *b)
{
	const struct nat_client *x = *(const struct nat_client *const *)a;
	const struct nat_client *y = *(const struct nat_client *const *)b;

	return mg_ip_cmp(&x->addr.ip, &y->addr.ip);
}

static int check_clients(struct verr *r)
{
	const struct nat_state *s = r->s;
	const struct nat_client **sorted;
	char buf[MG_PREFIX_STRLEN], what[80];
	size_t i, j;
	int ret = 0;

	for (i = 0; i < s->n_clients; i++) {
		const struct nat_client *c = &s->clients[i];

		if ((ret = check_prefix(r, "client", &c->addr)) < 0)
			return ret;
		if (c->addr.len != mg_ip_bits(&c->addr.ip))
			return fail(r, -EINVAL, "client %s is not a single address",
				    pfx(&c->addr, buf, sizeof(buf)));
		if (c->n_allowed > NAT_MAX_CLIENT_DSTS)
			return fail(r, -EINVAL, "client %s: more than %d destinations",
				    pfx(&c->addr, buf, sizeof(buf)), NAT_MAX_CLIENT_DSTS);
		if (c->n_allowed && !c->allowed)
			return fail(r, -EINVAL, "client %s: no destination list",
				    pfx(&c->addr, buf, sizeof(buf)));
		snprintf(what, sizeof(what), "client %s: destination", pfx(&c->addr, buf, sizeof(buf)));
		for (j = 0; j < c->n_allowed; j++) {
			if ((ret = check_prefix(r, what, &c->allowed[j])) < 0)
				return ret;
			if (c->allowed[j].ip.family != c->addr.ip.family)
				return fail(r, -EINVAL, "%s %s is not of the client's family", what,
					    pfx(&c->allowed[j], buf, sizeof(buf)));
		}
	}
	if (s->n_clients < 2)
		return 0;
	sorted = calloc(s->n_clients, sizeof(*sorted));
	if (!sorted)
		return fail(r, -ENOMEM, "out of memory");
	for (i = 0; i < s->n_clients; i++)
		sorted[i] = &s->clients[i];
	qsort(sorted, s->n_clients, sizeof(*sorted), cmp_client);
	for (i = 1; i < s->n_clients; i++) {
		if (mg_ip_cmp(&sorted[i - 1]->addr.ip, &sorted[i]->addr.ip) == 0) {
			ret = fail(r, -EINVAL, "client %s appears twice",
				   pfx(&sorted[i]->addr, buf, sizeof(buf)));
			break;
		}
	}
	free(sorted);
	return ret;
}

static int check_acl_prefixes(struct verr *r, size_t k, const char *side, const struct mg_prefix *p, size_t n,
			      int family)
{
	char what[64], buf[MG_PREFIX_STRLEN];
	size_t i;
	int ret;

	if (n > NAT_MAX_ACL_PREFIXES)
		return fail(r, -EINVAL, "ACL rule %zu: more than %d %s prefixes", k, NAT_MAX_ACL_PREFIXES, side);
	if (n && !p)
		return fail(r, -EINVAL, "ACL rule %zu: no %s list", k, side);
	snprintf(what, sizeof(what), "ACL rule %zu: %s", k, side);
	for (i = 0; i < n; i++) {
		if ((ret = check_prefix(r, what, &p[i])) < 0)
			return ret;
		if (p[i].ip.family != family)
			return fail(r, -EINVAL, "%s %s is not of the rule's family", what, pfx(&p[i], buf, sizeof(buf)));
	}
	return 0;
}

static int check_acl(struct verr *r)
{
	const struct nat_state *s = r->s;
	size_t k;
	int ret;

	if (s->n_acl > NAT_MAX_ACL_RULES)
		return fail(r, -EINVAL, "more than %d ACL rules", NAT_MAX_ACL_RULES);
	if (s->n_acl && !s->acl)
		return fail(r, -EINVAL, "missing list");
	for (k = 0; k < s->n_acl; k++) {
		const struct nat_acl_rule *a = &s->acl[k];
		const char *c;

		if (a->chain != NAT_ACL_INPUT && a->chain != NAT_ACL_FORWARD && a->chain != NAT_ACL_FORWARD_MESH)
			return fail(r, -EINVAL, "ACL rule %zu: unknown chain", k);
		if (a->family != AF_INET && a->family != AF_INET6)
			return fail(r, -EINVAL, "ACL rule %zu: family must be IPv4 or IPv6", k);
		if ((ret = check_acl_prefixes(r, k, "source", a->src, a->n_src, a->family)) < 0 ||
		    (ret = check_acl_prefixes(r, k, "destination", a->dst, a->n_dst, a->family)) < 0)
			return ret;
		if (a->proto && a->proto != IPPROTO_TCP && a->proto != IPPROTO_UDP && a->proto != IPPROTO_ICMP)
			return fail(r, -EINVAL, "ACL rule %zu: protocol %u is not tcp, udp or icmp", k, a->proto);
		if (a->port_from || a->port_to) {
			if (a->proto != IPPROTO_TCP && a->proto != IPPROTO_UDP)
				return fail(r, -EINVAL, "ACL rule %zu: ports need tcp or udp", k);
			if (!a->port_from || a->port_from > a->port_to)
				return fail(r, -EINVAL, "ACL rule %zu: bad port range %u-%u", k, a->port_from,
					    a->port_to);
		}
		/* Comments go into the rule's user data: printable ASCII only. */
		for (c = a->comment ? a->comment : ""; *c; c++)
			if (*c < 0x20 || *c > 0x7e || c - a->comment >= 96)
				return fail(r, -EINVAL, "ACL rule %zu: the comment must be up to 96 printable characters",
					    k);
	}
	return 0;
}

int nat_validate(const struct nat_state *s, char *err, size_t errlen)
{
	struct verr v = { .s = s, .err = err, .errlen = errlen }, *r = &v;
	char buf[MG_PREFIX_STRLEN];
	size_t i;
	int ret;

	if (!s)
		return fail(r, -EINVAL, "no state");
	if (s->n_relayed > NAT_MAX_RELAYED)
		return fail(r, -EINVAL, "more than %d relayed prefixes", NAT_MAX_RELAYED);
	if (s->n_egress > NAT_MAX_EGRESS)
		return fail(r, -EINVAL, "more than %d egress ranges", NAT_MAX_EGRESS);
	if (s->n_clients > NAT_MAX_CLIENTS)
		return fail(r, -EINVAL, "more than %d clients", NAT_MAX_CLIENTS);
	if ((s->n_egress && !s->egress) || (s->n_clients && !s->clients))
		return fail(r, -EINVAL, "missing list");
	if (s->ifname && *s->ifname && !nat_ifname_valid(s->ifname))
		return fail(r, -EINVAL, "bad interface name '%.32s'", s->ifname);
	if (s->n_relayed && !s->relayed)
		return fail(r, -EINVAL, "missing list");
	if ((s->n_egress || s->n_clients || s->n_acl || s->n_relayed) && !(s->ifname && *s->ifname))
		return fail(r, -EINVAL, "no gateway interface");
	for (i = 0; i < s->n_egress; i++) {
		const struct nat_egress *e = &s->egress[i];

		if ((ret = check_prefix(r, "egress range", &e->range)) < 0)
			return ret;
		if (oif_set(e->oifname) && !nat_ifname_valid(e->oifname))
			return fail(r, -EINVAL, "egress range %s: bad out interface name '%.32s'",
				    pfx(&e->range, buf, sizeof(buf)), e->oifname);
	}
	for (i = 0; i < s->n_relayed; i++)
		if ((ret = check_prefix(r, "relayed prefix", &s->relayed[i])) < 0)
			return ret;
	if ((ret = check_clients(r)) < 0)
		return ret;
	return check_acl(r);
}
