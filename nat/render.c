/*
 * The renderer: desired state -> the messages of one batch that replaces
 * table inet meshgate. Pure: no kernel, no sockets. The layout of the table
 * is described in nat.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nat_int.h"

#define ELEMS_PER_MSG	512	/* keeps a message's element nest < 64 KiB */
#define TYPE_IPADDR	7	/* nft's datatype ids: ipv4_addr */
#define TYPE_IP6ADDR	8	/* ipv6_addr */

/* One egress set: ranges of one family, NAT mode and out interface. */
struct group {
	int family;
	bool nat;
	const char *oif;	/* NULL: any */
	char name[40];
	uint32_t id;
	struct nat_ival *iv;	/* into the family's array */
	size_t n;
};

struct render {
	const struct nat_state *s;
	unsigned flags;
	struct nat_batch *b;
	char *err;
	size_t errlen;
	struct nat_ival *iv[2];	/* egress intervals, [0] IPv4, [1] IPv6 */
	size_t n_iv[2];
	struct group *g;
	size_t n_g;
	uint32_t next_id;
	uint32_t *acl_ids;	/* per ACL rule its source and destination set ids, 0: none */
	uint32_t relay_ids[2];	/* sets relayed4, relayed6; 0: none */
	unsigned rules[4];	/* rules so far, per chain (enum chain_idx) */
};

enum chain_idx { CH_FORWARD, CH_POSTROUTING, CH_ACL_INPUT, CH_ACL_FORWARD };
static const char *const chain_names[] = { "forward", "postrouting", "acl_input", "acl_forward" };

static int fail(struct render *r, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct render *r, int ret, const char *fmt, ...)
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

/* --- egress sets ---------------------------------------------------------- */

struct ekey {
	int family;
	bool nat;
	const char *oif;
	size_t idx;
};

static int cmp_ekey_group(const struct ekey *x, const struct ekey *y)
{
	const char *a = oif_set(x->oif) ? x->oif : "", *b = oif_set(y->oif) ? y->oif : "";

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if (x->nat != y->nat)
		return x->nat ? -1 : 1;
	return strcmp(a, b);
}

static int cmp_ekey(const void *a, const void *b)
{
	const struct ekey *x = a, *y = b;
	int c = cmp_ekey_group(x, y);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Containers before what they contain: start ascending, end descending. */
static int cmp_sweep(const void *a, const void *b)
{
	const struct nat_ival *x = a, *y = b;
	int c = memcmp(x->lo, y->lo, sizeof(x->lo));

	return c ? c : memcmp(y->hi, x->hi, sizeof(x->hi));
}

struct sweep {
	struct nat_ival *out;
	size_t n, alen;
	uint8_t pos[16];	/* first address not yet given to a set */
	bool end;		/* pos ran past the last address */
};

static void dec(uint8_t *x, size_t alen)
{
	while (alen-- > 0)
		if (x[alen]-- != 0)
			break;
}

/* Give [pos, hi] to group (when not empty) and move pos past hi. */
static void sweep_to(struct sweep *w, const uint8_t *hi, unsigned group, size_t src)
{
	struct nat_ival *iv;

	if (w->end || memcmp(w->pos, hi, w->alen) > 0)
		return;
	iv = &w->out[w->n++];
	memset(iv, 0, sizeof(*iv));
	memcpy(iv->lo, w->pos, w->alen);
	memcpy(iv->hi, hi, w->alen);
	iv->group = group;
	iv->src = src;
	memcpy(w->pos, hi, w->alen);
	w->end = !nat_addr_inc(w->pos, w->alen);
}

/*
 * Ranges of different sets may nest: like a route, the most specific one
 * wins (0.0.0.0/0 with NAT and 10.1.0.0/16 without: 10.1.0.0/16 is not
 * masqueraded). Cut the family's prefixes into disjoint intervals, each
 * belonging to the set of the longest prefix covering it, then merge the
 * neighbours of each set. The same prefix in two sets is an error.
 */
static int resolve(struct render *r, int fam)
{
	struct nat_ival *v = r->iv[fam], **stack = NULL;
	size_t n = r->n_iv[fam], alen = fam ? 16 : 4, i, depth = 0;
	struct sweep w = { .alen = alen };
	uint8_t before[16];
	char a[MG_PREFIX_STRLEN];
	int ret = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_sweep);
	w.out = calloc(2 * n, sizeof(*w.out));
	stack = calloc(n, sizeof(*stack));
	if (!w.out || !stack) {
		ret = fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct nat_ival *p = &v[i];

		while (depth && memcmp(stack[depth - 1]->hi, p->lo, alen) < 0) {
			depth--;
			sweep_to(&w, stack[depth]->hi, stack[depth]->group, stack[depth]->src);
		}
		if (depth && !memcmp(stack[depth - 1]->lo, p->lo, alen) &&
		    !memcmp(stack[depth - 1]->hi, p->hi, alen)) {
			if (stack[depth - 1]->group == p->group)
				continue;	/* a duplicate */
			ret = fail(r, -EINVAL, "egress range %s is given twice, with different "
				   "NAT or out interface", pfx(&r->s->egress[p->src].range, a, sizeof(a)));
			goto out;
		}
		/* Prefixes nest or are disjoint: the top now contains p. */
		if (depth && memcmp(w.pos, p->lo, alen) < 0) {
			memcpy(before, p->lo, alen);
			dec(before, alen);	/* p->lo > pos: no wrap */
			sweep_to(&w, before, stack[depth - 1]->group, stack[depth - 1]->src);
		}
		if (!depth) {
			memcpy(w.pos, p->lo, alen);
			w.end = false;
		}
		stack[depth++] = p;
	}
	while (depth) {
		depth--;
		sweep_to(&w, stack[depth]->hi, stack[depth]->group, stack[depth]->src);
	}
	qsort(w.out, w.n, sizeof(*w.out), nat_ival_cmp);
	free(r->iv[fam]);
	r->iv[fam] = w.out;
	r->n_iv[fam] = nat_ival_merge(w.out, w.n, alen);
	w.out = NULL;
out:
	free(w.out);
	free(stack);
	return ret;
}

static int build_groups(struct render *r)
{
	const struct nat_state *s = r->s;
	struct ekey *k;
	size_t i, fam, start;
	int ret = 0;

	if (!s->n_egress)
		return 0;
	k = calloc(s->n_egress, sizeof(*k));
	r->g = calloc(s->n_egress, sizeof(*r->g));
	r->iv[0] = calloc(s->n_egress, sizeof(struct nat_ival));
	r->iv[1] = calloc(s->n_egress, sizeof(struct nat_ival));
	if (!k || !r->g || !r->iv[0] || !r->iv[1]) {
		ret = fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->n_egress; i++) {
		k[i].family = s->egress[i].range.ip.family;
		k[i].nat = s->egress[i].nat;
		k[i].oif = s->egress[i].oifname;
		k[i].idx = i;
	}
	qsort(k, s->n_egress, sizeof(*k), cmp_ekey);
	for (i = 0; i < s->n_egress; i++) {
		struct group *g;
		struct nat_ival *iv;

		if (i == 0 || cmp_ekey_group(&k[i - 1], &k[i]) != 0) {
			g = &r->g[r->n_g++];
			g->family = k[i].family;
			g->nat = k[i].nat;
			g->oif = oif_set(k[i].oif) ? k[i].oif : NULL;
			snprintf(g->name, sizeof(g->name), "egress%c_%s%s%s",
				 g->family == AF_INET ? '4' : '6', g->nat ? "nat" : "direct",
				 g->oif ? "_" : "", g->oif ? g->oif : "");
		}
		fam = k[i].family == AF_INET6;
		iv = &r->iv[fam][r->n_iv[fam]++];
		nat_ival_from_prefix(iv, &s->egress[k[i].idx].range);
		iv->src = k[i].idx;
		iv->group = (unsigned)(r->n_g - 1);
	}
	for (fam = 0; fam < 2; fam++) {
		if (!(r->flags & NAT_RENDER_NO_MERGE) && (ret = resolve(r, (int)fam)) < 0)
			goto out;
	}
	/* Point each group at its run of intervals. */
	for (fam = 0; fam < 2; fam++) {
		for (start = 0, i = 0; i <= r->n_iv[fam]; i++) {
			if (i < r->n_iv[fam] && r->iv[fam][i].group == r->iv[fam][start].group)
				continue;
			if (i > start) {
				struct group *g = &r->g[r->iv[fam][start].group];

				g->iv = &r->iv[fam][start];
				g->n = i - start;
			}
			start = i;
		}
	}
out:
	free(k);
	return ret;
}

/* --- the batch ------------------------------------------------------------ */

static struct nat_msg *add_msg(struct render *r, enum nat_kind kind, uint16_t type,
			       uint16_t flags, void *obj, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Takes obj; on failure frees it and returns NULL. */
static struct nat_msg *add_msg(struct render *r, enum nat_kind kind, uint16_t type,
			       uint16_t flags, void *obj, const char *fmt, ...)
{
	struct nat_batch *b = r->b;
	struct nat_msg *m, tmp = { .kind = kind, .o.table = obj };
	va_list ap;

	if (!obj)
		return NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		m = realloc(b->msg, cap * sizeof(*m));
		if (!m)
			goto fail;
		b->msg = m;
		b->cap = cap;
	}
	m = &b->msg[b->n];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->flags = flags;
	m->kind = kind;
	m->o.table = obj;
	va_start(ap, fmt);
	if (vasprintf(&m->label, fmt, ap) < 0)
		m->label = NULL;
	va_end(ap);
	if (!m->label)
		goto fail;
	b->n++;
	return m;
fail:
	nat_msg_free(&tmp);
	return NULL;
}

static struct nftnl_table *table_new(void)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return NULL;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_TABLE) < 0) {
		nftnl_table_free(t);
		return NULL;
	}
	return t;
}

static struct nftnl_set *set_new(const char *name, uint32_t id, int family)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NAT_TABLE) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET ? TYPE_IPADDR : TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, family == AF_INET ? 4 : 16);
	return s;
}

/* The element messages of an interval set, ELEMS_PER_MSG at a time. */
struct elems {
	struct render *r;
	const char *set;
	uint32_t id;
	int family;
	struct nftnl_set *cur;
	char **label;
	size_t n;
};

static int elems_flush(struct elems *e)
{
	struct nat_msg *m;

	if (!e->cur)
		return 0;
	m = add_msg(e->r, NAT_ELEMS_MSG, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, e->cur,
		    "set %s", e->set);
	e->cur = NULL;
	if (!m)
		goto fail;
	m->elem = e->label;
	m->n_elem = e->n;
	e->label = NULL;
	e->n = 0;
	return 0;
fail:
	while (e->n)
		free(e->label[--e->n]);
	free(e->label);
	e->label = NULL;
	return -ENOMEM;
}

static int elems_add(struct elems *e, const uint8_t *key, bool end, const char *label)
{
	size_t alen = e->family == AF_INET ? 4 : 16;
	struct nftnl_set_elem *el;
	int ret;

	if (!e->cur) {
		e->cur = nftnl_set_alloc();
		e->label = calloc(ELEMS_PER_MSG, sizeof(*e->label));
		if (!e->cur || !e->label ||
		    nftnl_set_set_str(e->cur, NFTNL_SET_TABLE, NAT_TABLE) < 0 ||
		    nftnl_set_set_str(e->cur, NFTNL_SET_NAME, e->set) < 0)
			goto nomem;
		nftnl_set_set_u32(e->cur, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_u32(e->cur, NFTNL_SET_ID, e->id);
	}
	el = nftnl_set_elem_alloc();
	if (!el)
		goto nomem;
	if (nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, (uint32_t)alen) < 0) {
		nftnl_set_elem_free(el);
		goto nomem;
	}
	if (end)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(e->cur, el);
	e->label[e->n] = strdup(label);
	if (!e->label[e->n])
		goto nomem;
	if (++e->n == ELEMS_PER_MSG && (ret = elems_flush(e)) < 0)
		return ret;
	return 0;
nomem:
	if (e->cur)
		nftnl_set_free(e->cur);
	e->cur = NULL;
	while (e->n)
		free(e->label[--e->n]);
	free(e->label);
	e->label = NULL;
	return -ENOMEM;
}

/*
 * Interval encoding, as nft does it: an element at each start and one
 * flagged INTERVAL_END at end + 1 (none when the range runs to the last
 * address), plus a leading INTERVAL_END at 0 when the first range does not
 * start there.
 */
static int add_set(struct render *r, const char *name, uint32_t id, int family,
		   const struct nat_ival *iv, size_t n)
{
	size_t alen = family == AF_INET ? 4 : 16, i;
	struct elems e = { .r = r, .set = name, .id = id, .family = family };
	uint8_t zero[16] = { 0 }, next[16];
	char label[2 * MG_IP_STRLEN + 2];
	int ret;

	if (!add_msg(r, NAT_SET_MSG, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL,
		     set_new(name, id, family), "set %s", name))
		return -ENOMEM;
	if (n && memcmp(iv[0].lo, zero, alen) != 0 &&
	    (ret = elems_add(&e, zero, true, "0 (interval end)")) < 0)
		return ret;
	for (i = 0; i < n; i++) {
		nat_ival_format(&iv[i], family, label, sizeof(label));
		if ((ret = elems_add(&e, iv[i].lo, false, label)) < 0)
			return ret;
		memcpy(next, iv[i].hi, alen);
		if (nat_addr_inc(next, alen) && (ret = elems_add(&e, next, true, label)) < 0)
			return ret;
	}
	return elems_flush(&e);
}

/*
 * An interval set NAME of the prefixes of `family` among p[0..n), sorted and
 * merged; *id is its set id, or 0 (and no set) when there are none.
 */
static int add_prefix_set(struct render *r, const char *name, int family, const struct mg_prefix *p, size_t n,
			  uint32_t *id)
{
	struct nat_ival *iv;
	size_t i, m = 0;
	int ret;

	*id = 0;
	if (!n)
		return 0;
	iv = calloc(n, sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (p[i].ip.family == family)
			nat_ival_from_prefix(&iv[m++], &p[i]);
	ret = 0;
	if (m) {
		qsort(iv, m, sizeof(*iv), nat_ival_cmp);
		m = nat_ival_merge(iv, m, family == AF_INET ? 4 : 16);
		*id = r->next_id++;
		ret = add_set(r, name, *id, family, iv, m);
	}
	free(iv);
	return ret;
}

static int add_client_sets(struct render *r)
{
	const struct nat_state *s = r->s;
	char name[32];
	uint32_t id;
	int ret;

	for (size_t i = 0; i < s->n_clients; i++) {
		const struct nat_client *c = &s->clients[i];

		snprintf(name, sizeof(name), "client_%zu", i);
		if ((ret = add_prefix_set(r, name, c->addr.ip.family, c->allowed, c->n_allowed, &id)) < 0)
			return ret;
	}
	return 0;
}

static struct nftnl_chain *chain_new(const char *name, const char *type, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NAT_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type) < 0) {
		nftnl_chain_free(c);
		return NULL;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

/* --- rules ---------------------------------------------------------------- */

/* Queue the finished rule into chain (enum chain_idx). */
static int rb_finish(struct render *r, struct nat_rb *b, int chain, const char *comment)
{
	if (b->err) {
		if (b->r)
			nftnl_rule_free(b->r);
		b->r = NULL;
		return b->err;
	}
	if (!add_msg(r, NAT_RULE_MSG, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, b->r,
		     "rule %s #%u (%s)", chain_names[chain], ++r->rules[chain], comment))
		return -ENOMEM;
	b->r = NULL;
	return 0;
}

/* --- relays ----------------------------------------------------------------- */

/* relayed4 / relayed6: what this host forwards for the nodes it relays. */
/* A rule of chain (enum chain_idx) matching only iifname or oifname (key) GW. */
static int add_ifname_rule(struct render *r, int chain, uint32_t key, uint32_t verdict, const char *comment)
{
	struct nat_rb b;

	nat_rb_start(&b, chain_names[chain], comment);
	nat_rb_ifname(&b, key, r->s->ifname);
	nat_rb_counter(&b);
	nat_rb_verdict(&b, verdict);
	return rb_finish(r, &b, chain, comment);
}

static int add_relay_sets(struct render *r)
{
	int ret = 0;

	for (size_t f = 0; f < 2 && ret == 0; f++)
		ret = add_prefix_set(r, f ? "relayed6" : "relayed4", f ? AF_INET6 : AF_INET, r->s->relayed,
				     r->s->n_relayed, &r->relay_ids[f]);
	return ret;
}

/*
 * A relay forwards between its relayed nodes and everyone else over the
 * same interface: in and out of GW, to or from a relayed address.
 */
static int add_relay_rules(struct render *r)
{
	const char *gw = r->s->ifname;
	char comment[128];
	struct nat_rb b;
	int ret;

	for (size_t f = 0; f < 2; f++) {
		const char *set = f ? "relayed6" : "relayed4";

		if (!r->relay_ids[f])
			continue;
		for (int dst = 1; dst >= 0; dst--) {
			snprintf(comment, sizeof(comment), "relay %s @%s", dst ? "to" : "from", set);
			nat_rb_start(&b, "forward", comment);
			nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
			nat_rb_ifname(&b, NFT_META_OIFNAME, gw);
			nat_rb_addr(&b, f ? AF_INET6 : AF_INET, dst);
			nat_rb_lookup(&b, set, r->relay_ids[f]);
			nat_rb_counter(&b);
			nat_rb_verdict(&b, NF_ACCEPT);
			if ((ret = rb_finish(r, &b, 0, comment)) < 0)
				return ret;
		}
	}
	return 0;
}

static int add_rules(struct render *r)
{
	const struct nat_state *s = r->s;
	const char *gw = s->ifname;
	char comment[128], buf[MG_PREFIX_STRLEN];
	struct nat_rb b;
	size_t i;
	int ret;
	uint32_t id;

	if (!s->n_egress && !s->n_clients && !s->n_relayed)
		return 0;

	/* Replies: accepted before any client filter. */
	snprintf(comment, sizeof(comment), "replies into %s", gw);
	nat_rb_start(&b, "forward", comment);
	nat_rb_ifname(&b, NFT_META_OIFNAME, gw);
	nat_rb_ct_established(&b);
	nat_rb_counter(&b);
	nat_rb_verdict(&b, NF_ACCEPT);
	if ((ret = rb_finish(r, &b, 0, comment)) < 0)
		return ret;
	snprintf(comment, sizeof(comment), "replies from %s", gw);
	nat_rb_start(&b, "forward", comment);
	nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
	nat_rb_ct_established(&b);
	nat_rb_counter(&b);
	nat_rb_verdict(&b, NF_ACCEPT);
	if ((ret = rb_finish(r, &b, 0, comment)) < 0)
		return ret;

	/* Clients: their destinations, then nothing else. Client sets were
	 * numbered in order right after the egress sets. */
	id = (uint32_t)r->n_g + 1;
	for (i = 0; i < s->n_clients; i++) {
		const struct nat_client *c = &s->clients[i];
		int fam = c->addr.ip.family;
		char set[32];

		pfx(&c->addr, buf, sizeof(buf));
		if (c->n_allowed) {
			snprintf(set, sizeof(set), "client_%zu", i);
			snprintf(comment, sizeof(comment), "client %s allowed", buf);
			nat_rb_start(&b, "forward", comment);
			nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
			nat_rb_addr(&b, fam, false);
			nat_rb_cmp(&b, NFT_CMP_EQ, c->addr.ip.bytes, fam == AF_INET ? 4 : 16);
			nat_rb_addr(&b, fam, true);
			nat_rb_lookup(&b, set, id++);
			nat_rb_counter(&b);
			nat_rb_verdict(&b, NF_ACCEPT);
			if ((ret = rb_finish(r, &b, 0, comment)) < 0)
				return ret;
		}
		snprintf(comment, sizeof(comment), "client %s other", buf);
		nat_rb_start(&b, "forward", comment);
		nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
		nat_rb_addr(&b, fam, false);
		nat_rb_cmp(&b, NFT_CMP_EQ, c->addr.ip.bytes, fam == AF_INET ? 4 : 16);
		nat_rb_counter(&b);
		nat_rb_verdict(&b, NF_DROP);
		if ((ret = rb_finish(r, &b, 0, comment)) < 0)
			return ret;
	}

	/* The mesh may open connections to the clients (through this gateway). */
	for (i = 0; i < s->n_clients; i++) {
		const struct nat_client *c = &s->clients[i];
		int fam = c->addr.ip.family;

		pfx(&c->addr, buf, sizeof(buf));
		snprintf(comment, sizeof(comment), "to client %s", buf);
		nat_rb_start(&b, "forward", comment);
		nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
		nat_rb_ifname(&b, NFT_META_OIFNAME, gw);
		nat_rb_addr(&b, fam, true);
		nat_rb_cmp(&b, NFT_CMP_EQ, c->addr.ip.bytes, fam == AF_INET ? 4 : 16);
		nat_rb_counter(&b);
		nat_rb_verdict(&b, NF_ACCEPT);
		if ((ret = rb_finish(r, &b, 0, comment)) < 0)
			return ret;
	}

	/* Relayed nodes: after the client filters, which still hold for clients. */
	if ((ret = add_relay_rules(r)) < 0)
		return ret;

	/* Egress: forward, and masquerade where NAT is on. */
	for (i = 0; i < r->n_g; i++) {
		const struct group *g = &r->g[i];

		snprintf(comment, sizeof(comment), "egress @%s", g->name);
		nat_rb_start(&b, "forward", comment);
		nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
		if (g->oif)
			nat_rb_ifname(&b, NFT_META_OIFNAME, g->oif);
		nat_rb_addr(&b, g->family, true);
		nat_rb_lookup(&b, g->name, g->id);
		nat_rb_counter(&b);
		nat_rb_verdict(&b, NF_ACCEPT);
		if ((ret = rb_finish(r, &b, 0, comment)) < 0)
			return ret;
	}
	for (i = 0; i < r->n_g; i++) {
		const struct group *g = &r->g[i];

		if (!g->nat)
			continue;
		snprintf(comment, sizeof(comment), "masquerade @%s", g->name);
		nat_rb_start(&b, "postrouting", comment);
		nat_rb_ifname(&b, NFT_META_IIFNAME, gw);
		if (g->oif)
			nat_rb_ifname(&b, NFT_META_OIFNAME, g->oif);
		nat_rb_addr(&b, g->family, true);
		nat_rb_lookup(&b, g->name, g->id);
		nat_rb_counter(&b);
		nat_rb_masq(&b);
		if ((ret = rb_finish(r, &b, 1, comment)) < 0)
			return ret;
	}

	/*
	 * Nothing else crosses the gateway: not from the mesh to what no role
	 * opened, not from outside into the mesh unless it is a reply.
	 */
	snprintf(comment, sizeof(comment), "from %s: nothing else", gw);
	if ((ret = add_ifname_rule(r, CH_FORWARD, NFT_META_IIFNAME, NF_DROP, comment)) < 0)
		return ret;
	snprintf(comment, sizeof(comment), "into %s: nothing else", gw);
	return add_ifname_rule(r, CH_FORWARD, NFT_META_OIFNAME, NF_DROP, comment);
}

/* --- access control ------------------------------------------------------ */

/* The sets of ACL rule k: acl_K_src / acl_K_dst, interval sets of its prefixes. */
static int add_acl_set(struct render *r, size_t k, bool dst, uint32_t *id)
{
	const struct nat_acl_rule *a = &r->s->acl[k];
	char name[32];

	snprintf(name, sizeof(name), "acl_%zu_%s", k, dst ? "dst" : "src");
	return add_prefix_set(r, name, a->family, dst ? a->dst : a->src, dst ? a->n_dst : a->n_src, id);
}

static int add_acl_sets(struct render *r)
{
	size_t k;
	int ret;

	if (!r->s->n_acl)
		return 0;
	r->acl_ids = calloc(2 * r->s->n_acl, sizeof(*r->acl_ids));
	if (!r->acl_ids)
		return -ENOMEM;
	for (k = 0; k < r->s->n_acl; k++)
		if ((ret = add_acl_set(r, k, false, &r->acl_ids[2 * k])) < 0 ||
		    (ret = add_acl_set(r, k, true, &r->acl_ids[2 * k + 1])) < 0)
			return ret;
	return 0;
}

static bool acl_has_chain(const struct nat_state *s, enum nat_acl_chain chain)
{
	for (size_t k = 0; k < s->n_acl; k++)
		if (s->acl[k].chain == chain || (chain == NAT_ACL_FORWARD && s->acl[k].chain == NAT_ACL_FORWARD_MESH))
			return true;
	return false;
}

static int add_acl_replies(struct render *r, int chain)
{
	struct nat_rb b;

	nat_rb_start(&b, chain_names[chain], "replies");
	nat_rb_ct_established(&b);
	nat_rb_counter(&b);
	nat_rb_verdict(&b, NF_ACCEPT);
	return rb_finish(r, &b, chain, "replies");
}

/* After the rules into the mesh: what else goes back into it is the
 * forward chain's business, not an egress. */
static int add_acl_back_into_mesh(struct render *r)
{
	char comment[128];

	snprintf(comment, sizeof(comment), "back into %s: not an egress", r->s->ifname);
	return add_ifname_rule(r, CH_ACL_FORWARD, NFT_META_OIFNAME, NF_ACCEPT, comment);
}

static int add_acl_rule(struct render *r, size_t k)
{
	const struct nat_acl_rule *a = &r->s->acl[k];
	int chain = a->chain == NAT_ACL_INPUT ? CH_ACL_INPUT : CH_ACL_FORWARD;
	uint8_t proto = a->proto;
	char comment[128], set[32];
	struct nat_rb b;

	snprintf(comment, sizeof(comment), "%s", a->comment && *a->comment ? a->comment : "acl");
	nat_rb_start(&b, chain_names[chain], comment);
	nat_rb_ifname(&b, NFT_META_IIFNAME, r->s->ifname);
	if (a->chain == NAT_ACL_FORWARD_MESH)
		nat_rb_ifname(&b, NFT_META_OIFNAME, r->s->ifname);
	if (r->acl_ids[2 * k]) {
		snprintf(set, sizeof(set), "acl_%zu_src", k);
		nat_rb_addr(&b, a->family, false);
		nat_rb_lookup(&b, set, r->acl_ids[2 * k]);
	}
	if (r->acl_ids[2 * k + 1]) {
		snprintf(set, sizeof(set), "acl_%zu_dst", k);
		nat_rb_addr(&b, a->family, true);
		nat_rb_lookup(&b, set, r->acl_ids[2 * k + 1]);
	}
	if (!r->acl_ids[2 * k] && !r->acl_ids[2 * k + 1]) {
		/* Any address, but of the rule's family. */
		uint8_t nfproto = a->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

		nat_rb_meta(&b, NFT_META_NFPROTO);
		nat_rb_cmp(&b, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	}
	if (proto == IPPROTO_ICMP && a->family == AF_INET6)
		proto = IPPROTO_ICMPV6;
	if (proto)
		nat_rb_l4proto(&b, proto);
	if (a->port_from)
		nat_rb_dport(&b, a->port_from, a->port_to);
	nat_rb_counter(&b);
	nat_rb_verdict(&b, a->accept ? NF_ACCEPT : NF_DROP);
	return rb_finish(r, &b, chain, comment);
}

/* Each ACL chain: replies, then its rules in the given order; in
 * acl_forward the rules into the mesh before those into egress ranges. */
static int add_acl_rules(struct render *r)
{
	const struct nat_state *s = r->s;
	size_t k;
	int ret;

	if (acl_has_chain(s, NAT_ACL_INPUT)) {
		if ((ret = add_acl_replies(r, CH_ACL_INPUT)) < 0)
			return ret;
		for (k = 0; k < s->n_acl; k++)
			if (s->acl[k].chain == NAT_ACL_INPUT && (ret = add_acl_rule(r, k)) < 0)
				return ret;
	}
	if (!acl_has_chain(s, NAT_ACL_FORWARD))
		return 0;
	if ((ret = add_acl_replies(r, CH_ACL_FORWARD)) < 0)
		return ret;
	for (k = 0; k < s->n_acl; k++)
		if (s->acl[k].chain == NAT_ACL_FORWARD_MESH && (ret = add_acl_rule(r, k)) < 0)
			return ret;
	if ((ret = add_acl_back_into_mesh(r)) < 0)
		return ret;
	for (k = 0; k < s->n_acl; k++)
		if (s->acl[k].chain == NAT_ACL_FORWARD && (ret = add_acl_rule(r, k)) < 0)
			return ret;
	return 0;
}

static int build(struct render *r)
{
	size_t i;
	int ret;

	/* Make sure the table exists, delete it, create it anew: one
	 * transaction, so the old contents stay until the new are complete. */
	if (!add_msg(r, NAT_TABLE_MSG, NFT_MSG_NEWTABLE, NLM_F_CREATE, table_new(),
		     "table inet %s", NAT_TABLE) ||
	    !add_msg(r, NAT_TABLE_MSG, NFT_MSG_DELTABLE, 0, table_new(),
		     "table inet %s (delete)", NAT_TABLE) ||
	    !add_msg(r, NAT_TABLE_MSG, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table_new(),
		     "table inet %s", NAT_TABLE))
		return -ENOMEM;
	for (i = 0; i < r->n_g; i++) {
		struct group *g = &r->g[i];

		g->id = r->next_id++;
		if ((ret = add_set(r, g->name, g->id, g->family, g->iv, g->n)) < 0)
			return ret;
	}
	if ((ret = add_client_sets(r)) < 0 || (ret = add_acl_sets(r)) < 0 || (ret = add_relay_sets(r)) < 0)
		return ret;
	if (!add_msg(r, NAT_CHAIN_MSG, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
		     chain_new("forward", "filter", NF_INET_FORWARD, 0), "chain forward") ||
	    !add_msg(r, NAT_CHAIN_MSG, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
		     chain_new("postrouting", "nat", NF_INET_POST_ROUTING, 100), "chain postrouting"))
		return -ENOMEM;
	if (acl_has_chain(r->s, NAT_ACL_INPUT) &&
	    !add_msg(r, NAT_CHAIN_MSG, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
		     chain_new("acl_input", "filter", NF_INET_LOCAL_IN, 0), "chain acl_input"))
		return -ENOMEM;
	if (acl_has_chain(r->s, NAT_ACL_FORWARD) &&
	    !add_msg(r, NAT_CHAIN_MSG, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
		     chain_new("acl_forward", "filter", NF_INET_FORWARD, -10), "chain acl_forward"))
		return -ENOMEM;
	if ((ret = add_rules(r)) < 0)
		return ret;
	return add_acl_rules(r);
}

int nat_render_flags(const struct nat_state *s, unsigned flags, struct nat_batch **out,
		     char *err, size_t errlen)
{
	struct render r = { .s = s, .flags = flags, .err = err, .errlen = errlen, .next_id = 1 };
	int ret;

	if (err && errlen)
		*err = '\0';
	*out = NULL;
	if ((ret = nat_validate(s, err, errlen)) < 0)
		return ret;
	if ((ret = build_groups(&r)) < 0)
		goto out;
	r.b = calloc(1, sizeof(*r.b));
	if (!r.b) {
		ret = fail(&r, -ENOMEM, "out of memory");
		goto out;
	}
	if ((ret = build(&r)) < 0) {
		fail(&r, ret, "rendering the table: %s", strerror(-ret));
		nat_batch_free(r.b);
		goto out;
	}
	*out = r.b;
out:
	free(r.acl_ids);
	free(r.g);
	free(r.iv[0]);
	free(r.iv[1]);
	return ret;
}

int nat_render(const struct nat_state *s, struct nat_batch **out, char *err, size_t errlen)
{
	return nat_render_flags(s, 0, out, err, errlen);
}
