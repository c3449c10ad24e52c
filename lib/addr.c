/*
 * IPv4 and IPv6 addresses, prefixes and allocation arithmetic.
 *
 * Addresses are handled as unsigned 128-bit integers (IPv4 in the low 32
 * bits), which keeps masking, offsets and containment straightforward.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

typedef unsigned __int128 u128;

static unsigned family_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static u128 ip_to_u128(const struct mg_ip *ip)
{
	unsigned i, n = family_bytes(ip->family);
	u128 v = 0;

	for (i = 0; i < n; i++)
		v = (v << 8) | ip->bytes[i];
	return v;
}

static void u128_to_ip(u128 v, int family, struct mg_ip *out)
{
	unsigned i, n = family_bytes(family);

	memset(out, 0, sizeof(*out));
	out->family = family;
	for (i = n; i-- > 0;) {
		out->bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Mask of the host bits of a prefix of length len in a bits-wide family. */
static u128 host_mask(unsigned bits, unsigned len)
{
	unsigned h = bits - len;

	if (h >= 128)
		return ~(u128)0;
	return ((u128)1 << h) - 1;
}

int mg_ip_parse(const char *s, struct mg_ip *out)
{
	struct mg_ip ip = { 0 };

	if (!s || !*s || strlen(s) >= MG_IP_STRLEN)
		return -EINVAL;
	/* inet_pton refuses spaces, signs, zone ids and trailing junk. */
	ip.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(ip.family, s, ip.bytes) != 1)
		return -EINVAL;
	*out = ip;
	return 0;
}

int mg_ip_format(const struct mg_ip *ip, char *buf, size_t len)
{
	char tmp[MG_IP_STRLEN];
	size_t n;

	if (!family_ok(ip->family))
		return -EINVAL;
	if (!inet_ntop(ip->family, ip->bytes, tmp, sizeof(tmp)))
		return -EINVAL;
	n = strlen(tmp);
	if (n >= len)
		return -ENOSPC;
	memcpy(buf, tmp, n + 1);
	return 0;
}

int mg_ip_cmp(const struct mg_ip *a, const struct mg_ip *b)
{
	int r;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	r = memcmp(a->bytes, b->bytes, family_bytes(a->family));
	return (r > 0) - (r < 0);
}

/* A decimal prefix length: no sign, no leading zeros, at most max. */
static int parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	const char *p;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 3)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int mg_prefix_parse(const char *s, struct mg_prefix *out)
{
	char addr[MG_IP_STRLEN];
	struct mg_prefix p = { 0 };
	const char *slash;
	size_t n;

	if (!s || !(slash = strchr(s, '/')))
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (mg_ip_parse(addr, &p.ip) < 0)
		return -EINVAL;
	if (parse_len(slash + 1, mg_ip_bits(&p.ip), &p.len) < 0)
		return -EINVAL;
	*out = p;
	return 0;
}

int mg_prefix_parse_canonical(const char *s, struct mg_prefix *out)
{
	struct mg_prefix p;

	if (mg_prefix_parse(s, &p) < 0 || !mg_prefix_is_canonical(&p))
		return -EINVAL;
	*out = p;
	return 0;
}

int mg_prefix_format(const struct mg_prefix *p, char *buf, size_t len)
{
	char ip[MG_IP_STRLEN];
	int r, n;

	if ((r = mg_ip_format(&p->ip, ip, sizeof(ip))) < 0)
		return r;
	n = snprintf(buf, len, "%s/%u", ip, p->len);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

bool mg_prefix_is_canonical(const struct mg_prefix *p)
{
	unsigned bits = mg_ip_bits(&p->ip);

	if (p->len > bits)
		return false;
	return (ip_to_u128(&p->ip) & host_mask(bits, p->len)) == 0;
}

void mg_prefix_canonicalize(struct mg_prefix *p)
{
	unsigned bits = mg_ip_bits(&p->ip);

	if (p->len > bits)
		p->len = bits;
	u128_to_ip(ip_to_u128(&p->ip) & ~host_mask(bits, p->len), p->ip.family, &p->ip);
}

void mg_prefix_from_ip(struct mg_prefix *out, const struct mg_ip *ip)
{
	memset(out, 0, sizeof(*out));
	out->ip = *ip;
	out->len = mg_ip_bits(ip);
}

/* Do a and b agree on their first len bits? Same family assumed. */
static bool same_network(const struct mg_ip *a, const struct mg_ip *b, unsigned len)
{
	u128 mask = ~host_mask(mg_ip_bits(a), len);

	return (ip_to_u128(a) & mask) == (ip_to_u128(b) & mask);
}

bool mg_prefix_contains_ip(const struct mg_prefix *p, const struct mg_ip *ip)
{
	if (p->ip.family != ip->family || p->len > mg_ip_bits(ip))
		return false;
	return same_network(&p->ip, ip, p->len);
}

bool mg_prefix_contains(const struct mg_prefix *outer, const struct mg_prefix *inner)
{
	if (outer->ip.family != inner->ip.family || outer->len > inner->len)
		return false;
	return mg_prefix_contains_ip(outer, &inner->ip);
}

bool mg_prefix_overlaps(const struct mg_prefix *a, const struct mg_prefix *b)
{
	unsigned bits = mg_ip_bits(&a->ip);

	if (a->ip.family != b->ip.family || a->len > bits || b->len > bits)
		return false;
	return same_network(&a->ip, &b->ip, a->len < b->len ? a->len : b->len);
}

int mg_prefix_nth(const struct mg_prefix *p, uint64_t index, struct mg_ip *out)
{
	unsigned bits = mg_ip_bits(&p->ip);
	u128 mask;

	if (!family_ok(p->ip.family) || p->len > bits)
		return -EINVAL;
	mask = host_mask(bits, p->len);
	if ((u128)index > mask)
		return -ERANGE;
	u128_to_ip((ip_to_u128(&p->ip) & ~mask) + index, p->ip.family, out);
	return 0;
}

int mg_prefix_offset(const struct mg_prefix *p, const struct mg_ip *ip, uint64_t *out)
{
	u128 off;

	if (!mg_prefix_contains_ip(p, ip))
		return -ERANGE;
	off = ip_to_u128(ip) & host_mask(mg_ip_bits(ip), p->len);
	if (off > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)off;
	return 0;
}

uint64_t mg_prefix_first_host(const struct mg_prefix *p)
{
	(void)p;
	return 1;
}

uint64_t mg_prefix_last_host(const struct mg_prefix *p)
{
	unsigned bits = mg_ip_bits(&p->ip), h;

	if (p->len >= bits)
		return 0;
	h = bits - p->len;
	if (p->ip.family == AF_INET)
		return h == 1 ? 0 : ((uint64_t)1 << h) - 2;
	/*
	 * Stop one short of UINT64_MAX so that "last + 1" never wraps; a /64
	 * loses its all-ones address, which nobody will miss.
	 */
	if (h >= 64)
		return UINT64_MAX - 1;
	return ((uint64_t)1 << h) - 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int mg_alloc_addr(const struct mg_prefix *range, const uint64_t *used, size_t n_used,
		  bool from_top, struct mg_ip *out)
{
	uint64_t first, last, cand, *sorted = NULL;
	size_t i;
	int ret = -ENOSPC;

	if (!family_ok(range->ip.family) || range->len > mg_ip_bits(&range->ip))
		return -EINVAL;
	first = mg_prefix_first_host(range);
	last = mg_prefix_last_host(range);
	if (first > last)
		return -ENOSPC;

	if (n_used) {
		if (!(sorted = malloc(n_used * sizeof(*sorted))))
			return -ENOMEM;
		memcpy(sorted, used, n_used * sizeof(*sorted));
		qsort(sorted, n_used, sizeof(*sorted), cmp_u64);
	}

	/* Walk the sorted offsets from one end, bumping the candidate past each hit. */
	if (!from_top) {
		cand = first;
		for (i = 0; i < n_used && sorted[i] <= cand; i++) {
			if (sorted[i] == cand && cand++ == last)
				goto out;
		}
	} else {
		cand = last;
		for (i = n_used; i-- > 0 && sorted[i] >= cand;) {
			if (sorted[i] == cand && cand-- == first)
				goto out;
		}
	}
	ret = mg_prefix_nth(range, cand, out);
out:
	free(sorted);
	return ret;
}
