/*
 * The userspace backend: WireGuard's cross-platform UAPI text protocol over
 * the UNIX socket of wireguard-go ($MESHGATE_WG_SOCKET_DIR, default
 * /var/run/wireguard, then IFNAME.sock).
 *
 * The parser and the serializer work on a FILE so they can be tested and
 * fuzzed without a socket.
 */
#ifndef MG_WG_UAPI_H
#define MG_WG_UAPI_H

#include <stdio.h>

#include "wg/wg.h"

#define WG_UAPI_DEFAULT_DIR "/var/run/wireguard"
/* Longest accepted reply line, newline excluded. */
#define WG_UAPI_LINE_MAX 255

/*
 * Parses the reply to "get=1" up to and including its blank line.
 * -errno from an "errno=N" line with N != 0; -EMSGSIZE for an over-long
 * line; -EBADMSG for a malformed line or value; -EPROTO when the reply ends
 * early or lacks "errno="; -EPROTONOSUPPORT for protocol_version != 1.
 * The device public key is derived from the private key.
 */
int wg_uapi_parse_get(FILE *f, struct wg_device **out);
int wg_uapi_parse_get_buf(const char *buf, size_t len, struct wg_device **out);
/* Parses the reply to "set=1": "errno=N", blank line. Returns -N. */
int wg_uapi_parse_errno(FILE *f);
/* Writes "set=1\n", the flagged fields and the closing blank line. */
int wg_uapi_write_set(FILE *f, const struct wg_device *dev);

/* The socket path for ifname. -EINVAL for a bad name, -ENAMETOOLONG. */
int wg_uapi_socket_path(const char *ifname, char *buf, size_t len);
/* A connected socket (close it), or -errno. */
int wg_uapi_connect(const char *ifname);
/* True when something listens on ifname's UAPI socket. */
bool wg_uapi_exists(const char *ifname);

int wg_uapi_get_device(const char *ifname, struct wg_device **out);
int wg_uapi_set_device(const struct wg_device *dev);

/* wg_userspace.c: wireguard-go's lifecycle. */
int wg_userspace_add(const char *ifname);
int wg_userspace_del(const char *ifname);

#endif
