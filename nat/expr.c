/*
 * Rule expressions, built the way nft builds them (see the golden files in
 * tests/unit/golden/nat/). The first failure sticks in the builder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "nat_int.h"

static void nat_rb_expr(struct nat_rb *b, struct nftnl_expr *e)
{
	if (!e) {
		b->err = -ENOMEM;
		return;
	}
	if (b->err || !b->r) {
		nftnl_expr_free(e);
		return;
	}
	nftnl_rule_add_expr(b->r, e);
}

void nat_rb_cmp(struct nat_rb *b, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	nat_rb_expr(b, e);
}

void nat_rb_meta(struct nat_rb *b, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	nat_rb_expr(b, e);
}

/* iifname / oifname NAME: the whole 16-byte, NUL-padded name. */
void nat_rb_ifname(struct nat_rb *b, uint32_t key, const char *name)
{
	char buf[16] = { 0 };

	memcpy(buf, name, strnlen(name, sizeof(buf) - 1));
	nat_rb_meta(b, key);
	nat_rb_cmp(b, NFT_CMP_EQ, buf, sizeof(buf));
}

/* Load the source or destination address; in an inet table first match
 * the protocol. */
void nat_rb_addr(struct nat_rb *b, int family, bool dst)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	struct nftnl_expr *e;
	uint32_t off, len;

	if (b->family != family) {
		nat_rb_meta(b, NFT_META_NFPROTO);
		nat_rb_cmp(b, NFT_CMP_EQ, &proto, sizeof(proto));
		b->family = family;
	}
	if (family == AF_INET) {
		off = dst ? 16 : 12;	/* struct iphdr daddr / saddr */
		len = 4;
	} else {
		off = dst ? 24 : 8;	/* struct ipv6hdr daddr / saddr */
		len = 16;
	}
	e = nftnl_expr_alloc("payload");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	nat_rb_expr(b, e);
}

/* meta l4proto PROTO */
void nat_rb_l4proto(struct nat_rb *b, uint8_t proto)
{
	nat_rb_meta(b, NFT_META_L4PROTO);
	nat_rb_cmp(b, NFT_CMP_EQ, &proto, sizeof(proto));
}

/*
 * th dport FROM[-TO]: the destination port of the transport header (TCP and
 * UDP keep it at the same offset); the protocol must be matched before.
 */
void nat_rb_dport(struct nat_rb *b, uint16_t from, uint16_t to)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	uint16_t lo = htons(from), hi = htons(to);

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 2);
	}
	nat_rb_expr(b, e);
	if (from == to) {
		nat_rb_cmp(b, NFT_CMP_EQ, &lo, sizeof(lo));
	} else {
		nat_rb_cmp(b, NFT_CMP_GTE, &lo, sizeof(lo));
		nat_rb_cmp(b, NFT_CMP_LTE, &hi, sizeof(hi));
	}
}

void nat_rb_lookup(struct nat_rb *b, const char *set, uint32_t id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) < 0) {
			nftnl_expr_free(e);
			e = NULL;
		} else {
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
		}
	}
	nat_rb_expr(b, e);
}

/* ct state established,related */
void nat_rb_ct_established(struct nat_rb *b)
{
	uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	uint32_t zero = 0;
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	nat_rb_expr(b, e);
	e = nftnl_expr_alloc("bitwise");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	}
	nat_rb_expr(b, e);
	nat_rb_cmp(b, NFT_CMP_NEQ, &zero, sizeof(zero));
}

void nat_rb_counter(struct nat_rb *b)
{
	nat_rb_expr(b, nftnl_expr_alloc("counter"));
}

void nat_rb_verdict(struct nat_rb *b, uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	nat_rb_expr(b, e);
}

void nat_rb_masq(struct nat_rb *b)
{
	nat_rb_expr(b, nftnl_expr_alloc("masq"));
}

void nat_rb_start(struct nat_rb *b, const char *chain, const char *comment)
{
	struct nftnl_udata_buf *ud;

	b->err = 0;
	b->family = 0;
	b->r = nftnl_rule_alloc();
	ud = nftnl_udata_buf_alloc(256);
	if (!b->r || !ud)
		goto nomem;
	nftnl_rule_set_u32(b->r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(b->r, NFTNL_RULE_TABLE, NAT_TABLE) < 0 ||
	    nftnl_rule_set_str(b->r, NFTNL_RULE_CHAIN, chain) < 0 ||
	    !nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment) ||
	    nftnl_rule_set_data(b->r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				nftnl_udata_buf_len(ud)) < 0)
		goto nomem;
	nftnl_udata_buf_free(ud);
	return;
nomem:
	if (ud)
		nftnl_udata_buf_free(ud);
	if (b->r)
		nftnl_rule_free(b->r);
	b->r = NULL;
	b->err = -ENOMEM;
}
