/*
 * The kernel backend: generic netlink family "wireguard".
 *
 * Message building and parsing (wg_genl.c) are pure functions on
 * caller-supplied buffers, testable without a kernel; wg_kernel.c sends
 * them. wg_link.c creates, finds and deletes links over rtnetlink.
 */
#ifndef MG_WG_GENL_H
#define MG_WG_GENL_H

#include <stdint.h>
#include <linux/netlink.h>

#include "wg/wg.h"

/*
 * Where the next SET_DEVICE message starts: a zeroed cursor starts a request.
 * A peer whose allowed IPs did not fit is continued in the next message
 * (aip > 0): public key, flags without REPLACE_ALLOWEDIPS, the rest of its
 * allowed IPs. Only the first message carries the device fields and flags.
 */
struct wg_genl_cursor {
	size_t peer;
	size_t aip;
	bool started;
};

/*
 * Builds the next SET_DEVICE message of dev into buf (at most len bytes).
 * Returns its length, 0 when the request is complete, -EMSGSIZE when len is
 * too small for even one allowed IP, -EINVAL for a peer without public key
 * or a bad name.
 */
int wg_genl_build_set(void *buf, size_t len, uint16_t family, uint32_t seq,
		      const struct wg_device *dev, struct wg_genl_cursor *cur);
/* A GET_DEVICE dump request for ifname. Returns the length or -errno. */
int wg_genl_build_get(void *buf, size_t len, uint16_t family, uint32_t seq, const char *ifname);
/*
 * Merges one GET_DEVICE reply into dev. A reply's first peer with the same
 * public key as dev's last peer continues it (the kernel splits a peer's
 * allowed IPs across messages). -EBADMSG for malformed attributes.
 */
int wg_genl_parse_get(const struct nlmsghdr *nlh, struct wg_device *dev);

/* CTRL_CMD_GETFAMILY for "wireguard", and the family id from its reply. */
int wg_genl_build_getfamily(void *buf, size_t len, uint32_t seq);
int wg_genl_parse_family(const struct nlmsghdr *nlh, uint16_t *id);

/* wg_kernel.c */
int wg_kernel_family(uint16_t *id);
int wg_kernel_get_device(const char *ifname, struct wg_device **out);
int wg_kernel_set_device(const struct wg_device *dev);

/* wg_link.c: rtnetlink. */
/* ifindex and IFLA_INFO_KIND ("" when none) of ifname; -ENODEV when absent. */
int wg_link_get(const char *ifname, uint32_t *ifindex, char *kind, size_t kindlen);
int wg_link_add_wireguard(const char *ifname);
int wg_link_del(const char *ifname);

#endif
