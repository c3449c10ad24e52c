/*
 * nat/ internals for `nat show`: decoding live rules and set elements.
 */
#ifndef MG_NAT_SHOW_H
#define MG_NAT_SHOW_H

#include <stdint.h>

#include "nat_int.h"

struct nftnl_rule;
struct nftnl_set;

struct nat_rule_info {
	char *text;		/* nft-like: iifname "wg0" ip daddr @egress4_nat counter accept */
	char *comment;		/* NULL when none */
	uint64_t handle;
	bool has_counter;
	uint64_t packets, bytes;
};

int nat_rule_decode(struct nftnl_rule *r, struct nat_rule_info *info);
void nat_rule_info_free(struct nat_rule_info *info);

/* The elements of s as text ("10.0.0.0/24", "10.0.0.1-10.0.0.9" for
 * interval sets, single keys otherwise); caller frees each and the array. */
int nat_set_elements(struct nftnl_set *s, char ***out, size_t *n);

#endif
