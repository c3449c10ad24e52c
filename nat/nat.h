/*
 * nat/: the nftables manager. It owns exactly one table, `inet meshgate`,
 * and never touches anything else. The caller describes the desired state
 * (the gateway's WireGuard interface, its egress ranges, the ingress
 * clients' filters); nat_apply renders the whole table and swaps it in with
 * one netlink batch in one sendmsg. The kernel runs a batch as a
 * transaction: an error in any message aborts all of it and the previous
 * table stays in force.
 *
 * The table:
 *   sets     egress{4,6}_{nat,direct}[_OIF]  interval sets of egress ranges,
 *            one per family, NAT mode and out interface;
 *            client_N                        the destinations client N may reach
 *            relayed4, relayed6              what a relay forwards for its relayed nodes
 *            acl_K_src, acl_K_dst            the sources / destinations of ACL rule K
 *   forward  (filter, hook forward, priority 0, policy accept)
 *            oifname GW ct state established,related counter accept
 *            iifname GW ct state established,related counter accept
 *            per client: iifname GW ip saddr C ip daddr @client_N counter accept
 *                        iifname GW ip saddr C counter drop
 *            per client: iifname GW oifname GW ip daddr C counter accept
 *            relays: iifname GW oifname GW ip daddr @relayed4 counter accept
 *                    iifname GW oifname GW ip saddr @relayed4 counter accept
 *                    (and ip6 with @relayed6)
 *            per egress set: iifname GW [oifname OIF] ip daddr @SET counter accept
 *   postrouting (nat, hook postrouting, priority 100 (srcnat), policy accept)
 *            per NAT-on egress set: iifname GW [oifname OIF] ip daddr @SET
 *                                   counter masquerade
 *   acl_input   (filter, hook input, priority 0, policy accept), only with
 *            input ACL rules: ct state established,related accept, then per
 *            rule: iifname GW [ip saddr @acl_K_src] [ip daddr @acl_K_dst]
 *                  [meta l4proto P [th dport PORTS]] counter accept|drop
 *   acl_forward (filter, hook forward, priority -10, policy accept), only
 *            with forward ACL rules: "ct state established,related accept",
 *            the rules into the mesh (as above with oifname GW), then
 *            "oifname GW accept" and the rules into egress ranges.
 *            Its accept only lets the packet on to the forward chain above;
 *            its drop is final.
 * Every rule has a counter and a comment saying what it is for. A state
 * with no egress ranges and no clients renders the table and its two
 * chains with no rules.
 *
 * Validation: prefixes must be canonical (no host bits); interface names are
 * 1..15 characters of [A-Za-z0-9_.-]; client addresses are single addresses
 * (/32 or /128) and their destinations of the same family; a client address
 * appears once. Egress ranges may nest: like a route, the most specific
 * range decides (0.0.0.0/0 with NAT plus 10.1.0.0/16 without: 10.1.0.0/16
 * is forwarded without NAT), so the sets hold disjoint intervals, merged
 * where they touch; the same prefix twice with a different NAT flag or out
 * interface is an error. Lists are bounded by the NAT_MAX_* constants. Functions return 0 or a negative errno; where there is an
 * err buffer it gets a one-line message.
 */
#ifndef MG_NAT_H
#define MG_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NAT_TABLE		"meshgate"	/* family inet */
#define NAT_MAX_EGRESS		16384
#define NAT_MAX_CLIENTS		16384
#define NAT_MAX_CLIENT_DSTS	1024
#define NAT_MAX_RELAYED		65536
#define NAT_MAX_ACL_RULES	16384
#define NAT_MAX_ACL_PREFIXES	65536	/* per rule, each side (a tag of a large network) */

struct nat_egress {
	struct mg_prefix range;
	bool nat;			/* masquerade traffic to this range */
	const char *oifname;		/* NULL or "": leaving by any interface */
};

struct nat_client {
	struct mg_prefix addr;		/* the client's address, /32 or /128 */
	const struct mg_prefix *allowed; /* destinations it may reach */
	size_t n_allowed;
};

/*
 * Access control: an ordered list of packet filters for traffic coming in
 * from the WireGuard interface, either to this host itself (chain
 * acl_input) or through it to an egress range (chain acl_forward). The
 * caller (the server) has already turned its policy into this order: the
 * first matching rule decides, a rule matching anything it is scoped to
 * (no src, no dst) is a default. Traffic from the interface back into it
 * (relayed, ext client to node) is not acl_forward's business.
 */
enum nat_acl_chain {
	NAT_ACL_INPUT,		/* to this host */
	NAT_ACL_FORWARD,	/* through this host to an egress range */
	NAT_ACL_FORWARD_MESH,	/* through this host back into the mesh
				 * (to its ext clients) */
};

struct nat_acl_rule {
	enum nat_acl_chain chain;
	int family;			/* AF_INET or AF_INET6 */
	const struct mg_prefix *src;	/* sources of that family; none: any */
	size_t n_src;
	const struct mg_prefix *dst;	/* destinations; none: any */
	size_t n_dst;
	uint8_t proto;			/* 0 any, IPPROTO_TCP, _UDP, _ICMP
					 * (ICMPv6 for IPv6) */
	uint16_t port_from, port_to;	/* tcp / udp destination ports; 0 0: any */
	bool accept;			/* accept (let other chains decide) or drop */
	const char *comment;		/* what it stands for, e.g. "rule 7"; may be NULL */
};

struct nat_state {
	const char *ifname;		/* the WireGuard interface; NULL or ""
					 * only when there is nothing else */
	const struct nat_egress *egress;
	size_t n_egress;
	const struct nat_client *clients;
	size_t n_clients;
	/* A relay's relayed nodes: what it forwards for them (their
	 * addresses, egress ranges, ext clients), sets relayed4/relayed6. */
	const struct mg_prefix *relayed;
	size_t n_relayed;
	/* Access control filters, in order (see struct nat_acl_rule). */
	const struct nat_acl_rule *acl;
	size_t n_acl;
};

/* A rendered batch: the table's messages, in order, without the kernel. */
struct nat_batch;

/*
 * Validate s and build its batch (no kernel involved). Returns 0 and sets
 * *out (free with nat_batch_free), or -EINVAL / -EOPNOTSUPP / -ENOMEM with
 * a message in err.
 */
int nat_render(const struct nat_state *s, struct nat_batch **out, char *err, size_t errlen);
void nat_batch_free(struct nat_batch *b);
/* Number of netlink messages in the batch, without its begin and end. */
size_t nat_batch_count(const struct nat_batch *b);
/*
 * The batch as text, one block per message: a "# ..." header naming the
 * object, then libnftnl's own rendering (for rules, one "[ expr ]" per
 * line, the form of nftables' tests/py/ *.payload files). For golden tests
 * and dry runs. Caller frees *out.
 */
int nat_batch_print(const struct nat_batch *b, char **out);
/*
 * Send b to the kernel as one batch in one sendmsg and read every
 * acknowledgement. On failure err names the object the kernel refused
 * ("rule forward #3 (client 10.0.0.5/32 other): Operation not supported",
 * "set egress4_nat element 10.1.0.0/16: File exists") and the previous
 * table is still in force.
 */
int nat_batch_apply(const struct nat_batch *b, char *err, size_t errlen);
/* nat_render + nat_batch_apply. */
int nat_apply(const struct nat_state *s, char *err, size_t errlen);

/* Delete the table; 0 also when it was not there. */
int nat_remove(void);

/*
 * The live table as text: sets with their elements, chains, and each rule
 * as nft-like text with its packet and byte counters. -ENOENT when the
 * table does not exist. Caller frees *out.
 */
int nat_show(char **out);
/*
 * The same as a JSON object: {"table", "sets": [{"name", "type", "flags",
 * "elements": [...]}], "chains": [{"name", "type", "hook", "priority",
 * "policy", "rules": [{"position", "handle", "rule", "comment",
 * "packets", "bytes"}]}]}. Caller frees *out.
 */
int nat_show_json(char **out);

/*
 * Turn on IPv4 and/or IPv6 forwarding (net.ipv4.ip_forward,
 * net.ipv6.conf.all.forwarding) when asked and not already on. Never turns
 * anything off. *changed (may be NULL) tells whether anything was written.
 */
int nat_forwarding_enable(bool v4, bool v6, bool *changed);

#endif
