/*
 * The agent's WireGuard driver: one data model, one interface, two backends.
 *
 *   - kernel: generic netlink family "wireguard" (wg_genl.c builds and
 *     parses the messages, wg_kernel.c sends them);
 *   - userspace: the cross-platform UAPI text protocol on the UNIX socket of
 *     wireguard-go (wg_uapi.c), which wg_userspace.c starts and stops.
 *
 * wg.c picks the backend per interface: a kernel WireGuard link goes over
 * netlink, an interface with a UAPI socket over the socket.
 *
 * A struct wg_device is both what wg_get_device reads and what
 * wg_set_device writes. In a set request only what is flagged is applied:
 * a device field without its HAS_ flag is left alone, a peer without
 * REMOVE_ME is created or updated, allowed IPs are added unless the peer
 * has REPLACE_ALLOWEDIPS. wg_diff turns a wanted state into the smallest
 * such request.
 *
 * Every function returns 0 (or a documented non-negative value) or a
 * negative errno. What a function hands back belongs to the caller and is
 * released with wg_free_device.
 */
#ifndef MG_WG_H
#define MG_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "key.h"

enum wg_device_flag {
	WG_DEVICE_HAS_PRIVATE_KEY = 1U << 0,
	WG_DEVICE_HAS_PUBLIC_KEY = 1U << 1,
	WG_DEVICE_HAS_LISTEN_PORT = 1U << 2,
	WG_DEVICE_HAS_FWMARK = 1U << 3,
	/* Set requests only: drop every peer not in this request. */
	WG_DEVICE_REPLACE_PEERS = 1U << 4,
};

enum wg_peer_flag {
	WG_PEER_HAS_PUBLIC_KEY = 1U << 0,
	/* Read: the peer has a non-zero PSK. Set: apply it (zero removes it). */
	WG_PEER_HAS_PRESHARED_KEY = 1U << 1,
	WG_PEER_HAS_KEEPALIVE = 1U << 2,
	/* Set requests only. */
	WG_PEER_REMOVE_ME = 1U << 3,
	WG_PEER_REPLACE_ALLOWEDIPS = 1U << 4,
	/* Apply only if the peer already exists; never create it. */
	WG_PEER_UPDATE_ONLY = 1U << 5,
};

struct wg_allowedip {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t cidr;		/* 0..32 or 0..128 */
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
		uint8_t bytes[16];
	};
};

/* sa.sa_family == 0 (AF_UNSPEC) means "no endpoint" / "leave it alone". */
union wg_endpoint {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct wg_peer {
	uint32_t flags;			/* enum wg_peer_flag */
	mg_key public_key;
	mg_key preshared_key;
	union wg_endpoint endpoint;
	uint16_t persistent_keepalive;	/* seconds, 0 = off */
	/* Read only. */
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	struct wg_allowedip *allowedips;
	size_t n_allowedips;
	size_t cap_allowedips;
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;		/* read only; 0 when unknown */
	uint32_t flags;			/* enum wg_device_flag */
	mg_key private_key;
	mg_key public_key;
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t n_peers;
	size_t cap_peers;
};

enum wg_backend {
	WG_BACKEND_NONE,
	WG_BACKEND_KERNEL,
	WG_BACKEND_USERSPACE,
};

/* --- the device ----------------------------------------------------------- */

/* Reads the whole device. *out is the caller's (wg_free_device). */
int wg_get_device(const char *ifname, struct wg_device **out);
/* Applies a set request to dev->name (see the top of this file). */
int wg_set_device(const struct wg_device *dev);

/*
 * Makes sure the WireGuard interface exists: a kernel link when the kernel
 * has WireGuard (and MESHGATE_WG_USERSPACE is not set), otherwise
 * wireguard-go (MESHGATE_WG_GO, default "wireguard-go" from PATH), waiting
 * until its UAPI socket answers. Returns 0 when it created the interface,
 * 1 when a WireGuard interface of that name already existed (adopted),
 * -EEXIST when a link of that name exists but is not WireGuard.
 */
int wg_add_interface(const char *ifname);
/* Removes the interface (and so stops its wireguard-go). -ENODEV if none. */
int wg_del_interface(const char *ifname);
/* True when the kernel's generic netlink family "wireguard" resolves. */
bool wg_kernel_available(void);
/* Which backend drives ifname now; WG_BACKEND_NONE when it is no WireGuard interface. */
enum wg_backend wg_backend_of(const char *ifname);
const char *wg_backend_name(enum wg_backend b);

/* --- reconciliation ------------------------------------------------------- */

/*
 * The smallest set request turning `have` (as read) into `want` (the full
 * wanted state): missing peers added with their allowed IPs, extra peers
 * removed, changed peers updated in the changed fields only (UPDATE_ONLY),
 * allowed IPs replaced only when they differ as sets. Never REPLACE_PEERS.
 * A device with no flags and no peers (wg_device_is_empty) when nothing
 * differs. NULL when out of memory.
 */
struct wg_device *wg_diff(const struct wg_device *have, const struct wg_device *want);
bool wg_device_is_empty(const struct wg_device *dev);

/* --- building and freeing the model --------------------------------------- */

/* A zeroed device named ifname (may be NULL). NULL when out of memory or the name is too long. */
struct wg_device *wg_device_new(const char *ifname);
/*
 * Appends a zeroed peer and returns it, NULL when out of memory. The pointer
 * (like any pointer into dev->peers) is valid until the next append.
 */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip);
/* Frees the device with all its peers and allowed IPs, wiping the keys. NULL is fine. */
void wg_free_device(struct wg_device *dev);

/* "10.0.0.0/24", "fd00::/64". Host bits are allowed (WireGuard masks them). */
int wg_allowedip_parse(const char *s, struct wg_allowedip *out);
int wg_allowedip_format(const struct wg_allowedip *aip, char *buf, size_t len);
/* Sets the host bits to zero, as WireGuard stores it. */
void wg_allowedip_canonicalize(struct wg_allowedip *aip);
/* Total order (family, address, cidr) on canonical forms. */
int wg_allowedip_cmp(const struct wg_allowedip *a, const struct wg_allowedip *b);

/* Numeric "1.2.3.4:51820" or "[fd00::1]:51820" (optionally "%zone" inside the brackets). */
int wg_endpoint_parse(const char *s, union wg_endpoint *out);
#define WG_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + IFNAMSIZ + 10)
int wg_endpoint_format(const union wg_endpoint *ep, char *buf, size_t len);
/* Family, address, port (and scope for IPv6); padding ignored. */
bool wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b);

/* A valid interface name for both backends (1..15 bytes, no '/', no spaces, not "." or ".."). */
bool wg_ifname_valid(const char *ifname);

#endif
