/*
 * nat/ internals: the batch, address intervals, and the netlink socket.
 */
#ifndef MG_NAT_INT_H
#define MG_NAT_INT_H

#include <stdint.h>

#include <libmnl/libmnl.h>

#include "nat.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;

enum nat_kind { NAT_TABLE_MSG, NAT_SET_MSG, NAT_ELEMS_MSG, NAT_CHAIN_MSG, NAT_RULE_MSG };

struct nat_msg {
	uint16_t type;			/* NFT_MSG_* */
	uint16_t flags;			/* NLM_F_* besides REQUEST and ACK */
	enum nat_kind kind;
	union {
		struct nftnl_table *table;
		struct nftnl_set *set;	/* NAT_SET_MSG and NAT_ELEMS_MSG */
		struct nftnl_chain *chain;
		struct nftnl_rule *rule;
	} o;
	char *label;			/* "set egress4_nat", "rule forward #3 (...)" */
	char **elem;			/* NAT_ELEMS_MSG: what each element stands for */
	size_t n_elem;
};

struct nat_batch {
	struct nat_msg *msg;
	size_t n, cap;
};

/* Render flags (tests): keep egress ranges as given, unsorted, unmerged and
 * without the overlap check, so the kernel gets to refuse them. */
#define NAT_RENDER_NO_MERGE	0x1

void nat_msg_free(struct nat_msg *m);
const char *nat_hook_name(uint32_t hook);	/* "forward", "postrouting", ... */

/*
 * The batch on the wire: BATCH_BEGIN (seq0), message i (seq0 + 1 + i, at
 * buf + off[i]), BATCH_END. Every message asks for an ACK.
 */
struct nat_wire {
	char *buf;
	size_t len, cap;
	size_t *off;
	size_t n;
	uint32_t seq0;
};

int nat_wire_encode(const struct nat_batch *b, uint32_t seq0, struct nat_wire *w);
void nat_wire_free(struct nat_wire *w);

/* The checks of nat.h; 0 or -EINVAL / -EOPNOTSUPP / -ENOMEM with err. */
int nat_validate(const struct nat_state *s, char *err, size_t errlen);

int nat_render_flags(const struct nat_state *s, unsigned flags, struct nat_batch **out,
		     char *err, size_t errlen);

/* An address interval [lo, hi], big endian, alen (4 or 16) bytes used. */
struct nat_ival {
	uint8_t lo[16], hi[16];
	size_t src;			/* index of the input it came from */
	unsigned group;
};

void nat_ival_from_prefix(struct nat_ival *iv, const struct mg_prefix *p);
int nat_ival_cmp(const void *a, const void *b);
/* Merge overlapping and adjacent intervals of a sorted array; returns the
 * new count. */
size_t nat_ival_merge(struct nat_ival *iv, size_t n, size_t alen);
/* "10.0.0.0/24" when the interval is one prefix, else "10.0.0.1-10.0.0.9". */
void nat_ival_format(const struct nat_ival *iv, int family, char *buf, size_t len);
/* x + 1 in place; false on overflow (x was all ones). */
bool nat_addr_inc(uint8_t *x, size_t alen);

/* A rule under construction (nat/expr.c); the first failure sticks in err
 * and nat_rb_start resets it. Every match loads into register 1. */
struct nat_rb {
	struct nftnl_rule *r;
	int err;
	int family;		/* the protocol already matched, or 0 */
};

void nat_rb_start(struct nat_rb *b, const char *chain, const char *comment);
void nat_rb_cmp(struct nat_rb *b, uint32_t op, const void *data, uint32_t len);
void nat_rb_meta(struct nat_rb *b, uint32_t key);
/* iifname / oifname NAME (key NFT_META_IIFNAME / NFT_META_OIFNAME) */
void nat_rb_ifname(struct nat_rb *b, uint32_t key, const char *name);
/* Load the source or destination address (matching the protocol first). */
void nat_rb_addr(struct nat_rb *b, int family, bool dst);
void nat_rb_lookup(struct nat_rb *b, const char *set, uint32_t id);
void nat_rb_l4proto(struct nat_rb *b, uint8_t proto);		/* meta l4proto */
void nat_rb_dport(struct nat_rb *b, uint16_t from, uint16_t to);	/* th dport */
void nat_rb_ct_established(struct nat_rb *b);	/* ct state established,related */
void nat_rb_counter(struct nat_rb *b);
void nat_rb_verdict(struct nat_rb *b, uint32_t verdict);
void nat_rb_masq(struct nat_rb *b);

/* Interface name rules: 1..15 of [A-Za-z0-9_.-]. */
bool nat_ifname_valid(const char *s);

/* Netlink: one NETLINK_NETFILTER socket. */
struct nat_nl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

int nat_nl_open(struct nat_nl *n);
void nat_nl_close(struct nat_nl *n);
/* Send a dump request and feed every answer to cb. */
int nat_nl_dump(struct nat_nl *n, struct nlmsghdr *req, mnl_cb_t cb, void *data);

#endif
