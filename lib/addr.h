/*
 * IPv4 and IPv6 addresses and prefixes (CIDR), and the arithmetic the
 * control plane needs on them: containment, overlap and address allocation.
 */
#ifndef MG_ADDR_H
#define MG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text form of an address or prefix, with the terminating NUL. */
#define MG_IP_STRLEN 46
#define MG_PREFIX_STRLEN (MG_IP_STRLEN + 4)

struct mg_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* network order; IPv4 uses the first four */
};

struct mg_prefix {
	struct mg_ip ip;
	unsigned len;		/* 0..32 for IPv4, 0..128 for IPv6 */
};

/*
 * Parse a bare address ("10.0.0.1", "fd00::1"). Returns 0 or -EINVAL.
 * No surrounding spaces, no zone ids, no prefix length.
 */
int mg_ip_parse(const char *s, struct mg_ip *out);
/* Writes the canonical text form; returns 0 or -ENOSPC. */
int mg_ip_format(const struct mg_ip *ip, char *buf, size_t len);
/* Total order: IPv4 before IPv6, then bytewise. */
int mg_ip_cmp(const struct mg_ip *a, const struct mg_ip *b);
static inline unsigned mg_ip_bits(const struct mg_ip *ip)
{
	return ip->family == AF_INET ? 32 : 128;
}

/*
 * Parse "ADDR/LEN". A missing "/LEN" is an error. Host bits may be set
 * (e.g. "10.0.0.5/24", an interface address); mg_prefix_is_canonical tells.
 * Returns 0 or -EINVAL.
 */
int mg_prefix_parse(const char *s, struct mg_prefix *out);
/* Parse "ADDR/LEN" that must have no host bits set ("10.0.0.0/24"). */
int mg_prefix_parse_canonical(const char *s, struct mg_prefix *out);
int mg_prefix_format(const struct mg_prefix *p, char *buf, size_t len);
bool mg_prefix_is_canonical(const struct mg_prefix *p);
/* Clears the host bits. */
void mg_prefix_canonicalize(struct mg_prefix *p);
/* A prefix holding exactly one address (/32 or /128). */
void mg_prefix_from_ip(struct mg_prefix *out, const struct mg_ip *ip);

bool mg_prefix_contains_ip(const struct mg_prefix *p, const struct mg_ip *ip);
/* True when inner is equal to or inside outer. Families must match. */
bool mg_prefix_contains(const struct mg_prefix *outer, const struct mg_prefix *inner);
bool mg_prefix_overlaps(const struct mg_prefix *a, const struct mg_prefix *b);

/*
 * The address at offset `index` from the start of the prefix (index 0 is the
 * network address). Returns 0, or -ERANGE when the index is outside it.
 */
int mg_prefix_nth(const struct mg_prefix *p, uint64_t index, struct mg_ip *out);
/*
 * The offset of ip inside p (the inverse of mg_prefix_nth). Returns 0, or
 * -ERANGE when ip is not inside p or the offset does not fit in 64 bits.
 */
int mg_prefix_offset(const struct mg_prefix *p, const struct mg_ip *ip, uint64_t *out);
/*
 * Number of usable host offsets: for IPv4 the network and broadcast
 * addresses are excluded (so usable offsets are 1..size-2, except /31 and
 * /32 which have none); for IPv6 offset 0 (the subnet-router anycast) is
 * excluded. The last offset is capped at UINT64_MAX - 1 (so last + 1 never
 * wraps); for /64 and larger IPv6 prefixes that is below the true end.
 * When a prefix has no usable host, first_host > last_host.
 */
uint64_t mg_prefix_first_host(const struct mg_prefix *p);
uint64_t mg_prefix_last_host(const struct mg_prefix *p);

/*
 * Address allocation. `used` holds the offsets (from mg_prefix_offset) that
 * are live in the range, in any order. Picks the lowest free host offset
 * (mg_prefix_first_host..mg_prefix_last_host), or with from_top the highest.
 * Returns 0 and sets *out, or -ENOSPC when the range is full.
 */
int mg_alloc_addr(const struct mg_prefix *range, const uint64_t *used, size_t n_used,
		  bool from_top, struct mg_ip *out);

#endif
