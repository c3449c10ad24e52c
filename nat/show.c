/*
 * `meshgate nat show`: the live table inet meshgate, read back with netlink
 * dumps (chains, sets and their elements, rules with their counters), as
 * text or JSON. Only our table is asked for and anything else the kernel
 * returns is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nat_show.h"

struct live {
	struct nftnl_chain **chain;
	size_t n_chain;
	struct nftnl_set **set;
	size_t n_set;
	struct nftnl_rule **rule;
	size_t n_rule;
};

static void live_free(struct live *l)
{
	size_t i;

	for (i = 0; i < l->n_chain; i++)
		nftnl_chain_free(l->chain[i]);
	for (i = 0; i < l->n_set; i++)
		nftnl_set_free(l->set[i]);
	for (i = 0; i < l->n_rule; i++)
		nftnl_rule_free(l->rule[i]);
	free(l->chain);
	free(l->set);
	free(l->rule);
	memset(l, 0, sizeof(*l));
}

static int push(void ***v, size_t *n, void *p)
{
	void **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

static bool ours(const char *table, uint32_t family)
{
	return table && !strcmp(table, NAT_TABLE) && family == NFPROTO_INET;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct live *l = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0)
		goto fail;
	if (!ours(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY))) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	if (push((void ***)&l->chain, &l->n_chain, c) < 0)
		goto fail;
	return MNL_CB_OK;
fail:
	if (c)
		nftnl_chain_free(c);
	errno = ENOMEM;
	return MNL_CB_ERROR;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct live *l = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0)
		goto fail;
	if (!ours(nftnl_set_get_str(s, NFTNL_SET_TABLE), nftnl_set_get_u32(s, NFTNL_SET_FAMILY))) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	if (push((void ***)&l->set, &l->n_set, s) < 0)
		goto fail;
	return MNL_CB_OK;
fail:
	if (s)
		nftnl_set_free(s);
	errno = ENOMEM;
	return MNL_CB_ERROR;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_elems_nlmsg_parse(nlh, data) < 0) {
		errno = EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct live *l = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto fail;
	if (!ours(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY))) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	if (push((void ***)&l->rule, &l->n_rule, r) < 0)
		goto fail;
	return MNL_CB_OK;
fail:
	if (r)
		nftnl_rule_free(r);
	errno = ENOMEM;
	return MNL_CB_ERROR;
}

static int load(struct live *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nat_nl n = { 0 };
	struct nlmsghdr *nlh;
	struct nftnl_table *t = NULL;
	struct nftnl_chain *c = NULL;
	struct nftnl_set *s = NULL;
	struct nftnl_rule *r = NULL;
	size_t i;
	int ret;

	memset(l, 0, sizeof(*l));
	if ((ret = nat_nl_open(&n)) < 0)
		return ret;
	t = nftnl_table_alloc();
	c = nftnl_chain_alloc();
	s = nftnl_set_alloc();
	r = nftnl_rule_alloc();
	if (!t || !c || !s || !r || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NAT_TABLE) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_TABLE, NAT_TABLE) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE) < 0) {
		ret = -ENOMEM;
		goto out;
	}

	/* The table: -ENOENT when it is not there. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, ++n.seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	if ((ret = nat_nl_dump(&n, nlh, table_cb, NULL)) < 0)
		goto out;

	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, ++n.seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	if ((ret = nat_nl_dump(&n, nlh, chain_cb, l)) < 0)
		goto out;

	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, ++n.seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	if ((ret = nat_nl_dump(&n, nlh, set_cb, l)) < 0)
		goto out;
	for (i = 0; i < l->n_set; i++) {
		memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, ++n.seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, l->set[i]);
		if ((ret = nat_nl_dump(&n, nlh, elem_cb, l->set[i])) < 0)
			goto out;
	}

	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, ++n.seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = nat_nl_dump(&n, nlh, rule_cb, l);
out:
	if (t)
		nftnl_table_free(t);
	if (c)
		nftnl_chain_free(c);
	if (s)
		nftnl_set_free(s);
	if (r)
		nftnl_rule_free(r);
	nat_nl_close(&n);
	if (ret < 0)
		live_free(l);
	return ret;
}

static const char *key_type(const struct nftnl_set *s)
{
	switch (nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE)) {
	case 7: return "ipv4_addr";
	case 8: return "ipv6_addr";
	default: return "?";
	}
}

static bool is_base(const struct nftnl_chain *c)
{
	return nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
}

static const char *policy_name(const struct nftnl_chain *c)
{
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY))
		return "?";
	return nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_ACCEPT ? "accept" : "drop";
}

static void free_strv(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static int text(struct live *l, FILE *f)
{
	size_t i, j, pos;
	char **el;
	size_t n_el;
	int ret;

	fprintf(f, "table inet %s\n", NAT_TABLE);
	for (i = 0; i < l->n_set; i++) {
		struct nftnl_set *s = l->set[i];
		uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);

		if ((ret = nat_set_elements(s, &el, &n_el)) < 0)
			return ret;
		fprintf(f, "\nset %s (%s%s): ", nftnl_set_get_str(s, NFTNL_SET_NAME), key_type(s),
			flags & NFT_SET_INTERVAL ? ", interval" : "");
		for (j = 0; j < n_el; j++)
			fprintf(f, "%s%s", j ? ", " : "", el[j]);
		fprintf(f, "%s\n", n_el ? "" : "(empty)");
		free_strv(el, n_el);
	}
	for (i = 0; i < l->n_chain; i++) {
		struct nftnl_chain *c = l->chain[i];
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);

		fprintf(f, "\nchain %s", name);
		if (is_base(c))
			fprintf(f, " (%s hook %s priority %d policy %s)",
				nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
				nat_hook_name(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM)),
				nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), policy_name(c));
		fputc('\n', f);
		for (j = 0, pos = 0; j < l->n_rule; j++) {
			struct nat_rule_info ri;

			if (strcmp(nftnl_rule_get_str(l->rule[j], NFTNL_RULE_CHAIN), name))
				continue;
			if ((ret = nat_rule_decode(l->rule[j], &ri)) < 0)
				return ret;
			fprintf(f, "  #%zu  packets %llu bytes %llu  %s", ++pos,
				(unsigned long long)ri.packets, (unsigned long long)ri.bytes, ri.text);
			if (ri.comment)
				fprintf(f, "  # %s", ri.comment);
			fputc('\n', f);
			nat_rule_info_free(&ri);
		}
		if (!pos)
			fprintf(f, "  (no rules)\n");
	}
	return 0;
}

int nat_show(char **out)
{
	struct live l;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	*out = NULL;
	if ((ret = load(&l)) < 0)
		return ret;
	f = open_memstream(&buf, &len);
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	ret = text(&l, f);
	if (fclose(f) != 0 || !buf)
		ret = -ENOMEM;
	if (ret < 0)
		free(buf);
	else
		*out = buf;
out:
	live_free(&l);
	return ret;
}

/* --- JSON ----------------------------------------------------------------- */

static int set_json(struct nftnl_set *s, json_t *sets)
{
	uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	json_t *o, *els, *fl;
	char **el;
	size_t n_el, j;
	int ret;

	if ((ret = nat_set_elements(s, &el, &n_el)) < 0)
		return ret;
	els = json_array();
	fl = json_array();
	o = json_pack("{s:s, s:s, s:o, s:o}", "name", nftnl_set_get_str(s, NFTNL_SET_NAME),
		      "type", key_type(s), "flags", fl, "elements", els);
	if (!o || json_array_append_new(sets, o) < 0)
		ret = -ENOMEM;
	if (!ret && (flags & NFT_SET_INTERVAL) && json_array_append_new(fl, json_string("interval")) < 0)
		ret = -ENOMEM;
	for (j = 0; !ret && j < n_el; j++)
		if (json_array_append_new(els, json_string(el[j])) < 0)
			ret = -ENOMEM;
	free_strv(el, n_el);
	return ret;
}

static int chain_json(struct live *l, struct nftnl_chain *c, json_t *chains)
{
	const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	json_t *o, *rules, *r;
	size_t j, pos = 0;
	int ret = 0;

	rules = json_array();
	if (is_base(c))
		o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "name", name,
			      "type", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
			      "hook", nat_hook_name(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM)),
			      "priority", (int)nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			      "policy", policy_name(c), "rules", rules);
	else
		o = json_pack("{s:s, s:o}", "name", name, "rules", rules);
	if (!o || json_array_append_new(chains, o) < 0)
		return -ENOMEM;
	for (j = 0; j < l->n_rule; j++) {
		struct nat_rule_info ri;

		if (strcmp(nftnl_rule_get_str(l->rule[j], NFTNL_RULE_CHAIN), name))
			continue;
		if ((ret = nat_rule_decode(l->rule[j], &ri)) < 0)
			return ret;
		r = json_pack("{s:I, s:I, s:s, s:o, s:I, s:I}", "position", (json_int_t)++pos,
			      "handle", (json_int_t)ri.handle, "rule", ri.text,
			      "comment", ri.comment ? json_string(ri.comment) : json_null(),
			      "packets", (json_int_t)ri.packets, "bytes", (json_int_t)ri.bytes);
		nat_rule_info_free(&ri);
		if (!r || json_array_append_new(rules, r) < 0)
			return -ENOMEM;
	}
	return 0;
}

int nat_show_json(char **out)
{
	struct live l;
	json_t *root, *sets, *chains;
	size_t i;
	int ret;

	*out = NULL;
	if ((ret = load(&l)) < 0)
		return ret;
	sets = json_array();
	chains = json_array();
	root = json_pack("{s:s, s:o, s:o}", "table", "inet " NAT_TABLE, "sets", sets, "chains", chains);
	if (!root) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; !ret && i < l.n_set; i++)
		ret = set_json(l.set[i], sets);
	for (i = 0; !ret && i < l.n_chain; i++)
		ret = chain_json(&l, l.chain[i], chains);
	if (!ret) {
		*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!*out)
			ret = -ENOMEM;
	}
	json_decref(root);
out:
	live_free(&l);
	return ret;
}
