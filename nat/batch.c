/*
 * The rendered batch: freeing it, printing it (golden tests, `nat plan`),
 * and encoding it into netlink messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nat_int.h"

#define HEADROOM	(128 * 1024)	/* more than any one message needs */

void nat_msg_free(struct nat_msg *m)
{
	size_t i;

	switch (m->kind) {
	case NAT_TABLE_MSG:
		if (m->o.table)
			nftnl_table_free(m->o.table);
		break;
	case NAT_SET_MSG:
	case NAT_ELEMS_MSG:
		if (m->o.set)
			nftnl_set_free(m->o.set);
		break;
	case NAT_CHAIN_MSG:
		if (m->o.chain)
			nftnl_chain_free(m->o.chain);
		break;
	case NAT_RULE_MSG:
		if (m->o.rule)
			nftnl_rule_free(m->o.rule);
		break;
	}
	for (i = 0; i < m->n_elem; i++)
		free(m->elem[i]);
	free(m->elem);
	free(m->label);
}

void nat_batch_free(struct nat_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		nat_msg_free(&b->msg[i]);
	free(b->msg);
	free(b);
}

size_t nat_batch_count(const struct nat_batch *b)
{
	return b ? b->n : 0;
}

/* --- text ----------------------------------------------------------------- */

const char *nat_hook_name(uint32_t hook)
{
	switch (hook) {
	case NF_INET_PRE_ROUTING: return "prerouting";
	case NF_INET_LOCAL_IN: return "input";
	case NF_INET_FORWARD: return "forward";
	case NF_INET_LOCAL_OUT: return "output";
	case NF_INET_POST_ROUTING: return "postrouting";
	default: return "?";
	}
}

static const char *type_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: return "NEWTABLE";
	case NFT_MSG_DELTABLE: return "DELTABLE";
	case NFT_MSG_NEWSET: return "NEWSET";
	case NFT_MSG_NEWSETELEM: return "NEWSETELEM";
	case NFT_MSG_NEWCHAIN: return "NEWCHAIN";
	case NFT_MSG_NEWRULE: return "NEWRULE";
	default: return "?";
	}
}

struct elem_print {
	FILE *f;
	const struct nat_msg *m;
	size_t i;
};

static int print_elem(struct nftnl_set_elem *e, void *data)
{
	struct elem_print *p = data;
	char buf[512];

	nftnl_set_elem_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0);
	/* libnftnl starts each element with a tab; one per line here. */
	fprintf(p->f, "  %s  # %s\n", buf + strspn(buf, "\t "),
		p->i < p->m->n_elem ? p->m->elem[p->i] : "?");
	p->i++;
	return 0;
}

static void print_msg(FILE *f, const struct nat_msg *m)
{
	char *buf;
	size_t size = 1 << 16;

	fprintf(f, "# %s %s\n", type_name(m->type), m->label);
	switch (m->kind) {
	case NAT_TABLE_MSG:
		fprintf(f, "inet %s\n", nftnl_table_get_str(m->o.table, NFTNL_TABLE_NAME));
		break;
	case NAT_SET_MSG:
		fprintf(f, "inet %s %s flags 0x%x key type %u len %u id %u\n",
			nftnl_set_get_str(m->o.set, NFTNL_SET_TABLE),
			nftnl_set_get_str(m->o.set, NFTNL_SET_NAME),
			nftnl_set_get_u32(m->o.set, NFTNL_SET_FLAGS),
			nftnl_set_get_u32(m->o.set, NFTNL_SET_KEY_TYPE),
			nftnl_set_get_u32(m->o.set, NFTNL_SET_KEY_LEN),
			nftnl_set_get_u32(m->o.set, NFTNL_SET_ID));
		break;
	case NAT_ELEMS_MSG: {
		struct elem_print p = { .f = f, .m = m };

		fprintf(f, "inet %s %s id %u\n", nftnl_set_get_str(m->o.set, NFTNL_SET_TABLE),
			nftnl_set_get_str(m->o.set, NFTNL_SET_NAME),
			nftnl_set_get_u32(m->o.set, NFTNL_SET_ID));
		nftnl_set_elem_foreach(m->o.set, print_elem, &p);
		break;
	}
	case NAT_CHAIN_MSG:
		fprintf(f, "inet %s %s type %s hook %s prio %d policy %s\n",
			nftnl_chain_get_str(m->o.chain, NFTNL_CHAIN_TABLE),
			nftnl_chain_get_str(m->o.chain, NFTNL_CHAIN_NAME),
			nftnl_chain_get_str(m->o.chain, NFTNL_CHAIN_TYPE),
			nat_hook_name(nftnl_chain_get_u32(m->o.chain, NFTNL_CHAIN_HOOKNUM)),
			nftnl_chain_get_s32(m->o.chain, NFTNL_CHAIN_PRIO),
			nftnl_chain_get_u32(m->o.chain, NFTNL_CHAIN_POLICY) == NF_ACCEPT ? "accept" : "drop");
		break;
	case NAT_RULE_MSG:
		buf = malloc(size);
		if (!buf) {
			fprintf(f, "?\n");
			break;
		}
		nftnl_rule_snprintf(buf, size, m->o.rule, NFTNL_OUTPUT_DEFAULT, 0);
		fprintf(f, "%s\n", buf);
		free(buf);
		break;
	}
}

int nat_batch_print(const struct nat_batch *b, char **out)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	*out = NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (i = 0; i < b->n; i++) {
		if (i)
			fputc('\n', f);
		print_msg(f, &b->msg[i]);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}

/* --- netlink -------------------------------------------------------------- */

static int reserve(struct nat_wire *w)
{
	char *p;
	size_t cap;

	if (w->cap - w->len >= HEADROOM)
		return 0;
	cap = w->cap ? w->cap * 2 : 4 * HEADROOM;
	while (cap - w->len < HEADROOM)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = cap;
	memset(w->buf + w->len, 0, w->cap - w->len);
	return 0;
}

static void encode_msg(struct nlmsghdr *nlh, const struct nat_msg *m)
{
	switch (m->kind) {
	case NAT_TABLE_MSG:
		nftnl_table_nlmsg_build_payload(nlh, m->o.table);
		break;
	case NAT_SET_MSG:
		nftnl_set_nlmsg_build_payload(nlh, m->o.set);
		break;
	case NAT_ELEMS_MSG:
		nftnl_set_elems_nlmsg_build_payload(nlh, m->o.set);
		break;
	case NAT_CHAIN_MSG:
		nftnl_chain_nlmsg_build_payload(nlh, m->o.chain);
		break;
	case NAT_RULE_MSG:
		nftnl_rule_nlmsg_build_payload(nlh, m->o.rule);
		break;
	}
}

int nat_wire_encode(const struct nat_batch *b, uint32_t seq0, struct nat_wire *w)
{
	struct nlmsghdr *nlh;
	size_t i;

	memset(w, 0, sizeof(*w));
	w->seq0 = seq0;
	w->n = b->n;
	w->off = calloc(b->n + 1, sizeof(*w->off));
	if (!w->off || reserve(w) < 0)
		goto nomem;
	nlh = nftnl_batch_begin(w->buf, seq0);
	w->len += nlh->nlmsg_len;
	for (i = 0; i < b->n; i++) {
		const struct nat_msg *m = &b->msg[i];

		if (reserve(w) < 0)
			goto nomem;
		w->off[i] = w->len;
		nlh = nftnl_nlmsg_build_hdr(w->buf + w->len, m->type, NFPROTO_INET,
					    NLM_F_ACK | m->flags, seq0 + 1 + (uint32_t)i);
		encode_msg(nlh, m);
		w->len += nlh->nlmsg_len;
	}
	if (reserve(w) < 0)
		goto nomem;
	nlh = nftnl_batch_end(w->buf + w->len, seq0 + 1 + (uint32_t)b->n);
	w->len += nlh->nlmsg_len;
	return 0;
nomem:
	nat_wire_free(w);
	return -ENOMEM;
}

void nat_wire_free(struct nat_wire *w)
{
	free(w->buf);
	free(w->off);
	memset(w, 0, sizeof(*w));
}
