/*
 * Internal to appliance/net: the rtnetlink socket and request plumbing
 * shared by rtnl.c (links), rtnl_addr.c and rtnl_route.c, and the prefix
 * list helpers their diffs use.
 */
#ifndef MG_RTNL_INT_H
#define MG_RTNL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "addr.h"

/* Requests are a header, a fixed part and a few small attributes. */
#define RTNL_REQ_SIZE 512
/* The kernel never builds a dump message larger than 32 KiB. */
#define RTNL_RECV_SIZE 32768
/* How often a list is retried when the kernel reports an interrupted dump. */
#define RTNL_DUMP_TRIES 5

struct rtnl {
	struct mnl_socket *nl;
	unsigned portid;
	unsigned seq;
	char *buf;		/* RTNL_RECV_SIZE bytes */
};

/* A request buffer, aligned for struct nlmsghdr. */
#define RTNL_REQ_BUF(name) \
	char name[RTNL_REQ_SIZE] __attribute__((aligned(__alignof__(struct nlmsghdr))))

int rtnl_open(struct rtnl *r);
void rtnl_close(struct rtnl *r);

/* A request with NLM_F_ACK and the next sequence number. */
struct nlmsghdr *rtnl_msg(struct rtnl *r, void *buf, uint16_t type, uint16_t flags);
/* A dump request (NLM_F_DUMP; the kernel ends dumps with NLMSG_DONE, not an ACK). */
struct nlmsghdr *rtnl_msg_dump(struct rtnl *r, void *buf, uint16_t type);
/*
 * Send nlh and feed every reply to cb until the ACK (or NLMSG_DONE of a
 * dump). cb may be NULL. Returns 0 or a negative errno (the kernel's error,
 * or the errno a callback set before returning MNL_CB_ERROR).
 */
int rtnl_talk(struct rtnl *r, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Family known and length within it. */
bool rtnl_prefix_ok(const struct mg_prefix *p);
/* Total order on prefixes: mg_ip_cmp, then length; a qsort/bsearch comparator. */
int rtnl_prefix_cmp(const void *a, const void *b);

/* A growable array of prefixes. */
struct rtnl_prefixes {
	struct mg_prefix *items;
	size_t n, cap;
};
int rtnl_prefixes_push(struct rtnl_prefixes *v, const struct mg_prefix *p);
void rtnl_prefixes_sort(struct rtnl_prefixes *v);
/* v must be sorted. */
bool rtnl_prefixes_has(const struct rtnl_prefixes *v, const struct mg_prefix *p);
/* A sorted copy of p[0..n) (all rtnl_prefix_ok); canonicalised when canon is set. */
int rtnl_prefixes_copy(struct rtnl_prefixes *v, const struct mg_prefix *p, size_t n, bool canon);
void rtnl_prefixes_free(struct rtnl_prefixes *v);

/* A list function for one interface (addresses or our routes). */
typedef int (*rtnl_list_fn)(struct rtnl *r, int ifindex, struct rtnl_prefixes *out);
/*
 * Run `list` for ifname on its own socket; the caller owns *items.
 * The public rtnl_addr_list and rtnl_route_list are this.
 */
int rtnl_list_on(const char *ifname, rtnl_list_fn list, struct mg_prefix **items, size_t *n);

#endif
