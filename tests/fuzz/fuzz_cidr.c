/*
 * Fuzzer: addresses and prefixes (lib/addr.c).
 *
 * Input: "A\nB\n<bytes>": two strings parsed as addresses and prefixes, the
 * rest as allocation offsets. Invariants:
 *   - format(parse(x)) parses again to the same value, and formatting is
 *     idempotent (the canonical text is a fixed point);
 *   - a prefix length is within its family; parse_canonical accepts exactly
 *     the prefixes parse accepts with is_canonical; canonicalize yields a
 *     canonical prefix that contains the original;
 *   - overlap is symmetric, containment implies overlap, mutual containment
 *     means equal networks, different families never overlap;
 *   - nth and offset are inverses; an allocated address is a usable host of
 *     its range and not one of the used offsets.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define MAX_STR 128
#define MAX_USED 64

static bool same_ip(const struct mg_ip *a, const struct mg_ip *b)
{
	return a->family == b->family && mg_ip_cmp(a, b) == 0 && mg_ip_cmp(b, a) == 0;
}

static bool same_prefix(const struct mg_prefix *a, const struct mg_prefix *b)
{
	return same_ip(&a->ip, &b->ip) && a->len == b->len;
}

static void check_ip(const char *s, struct mg_ip *out, bool *ok)
{
	char buf[MG_IP_STRLEN], buf2[MG_IP_STRLEN];
	struct mg_ip ip, again;

	*ok = mg_ip_parse(s, &ip) == 0;
	if (!*ok)
		return;
	assert(ip.family == AF_INET || ip.family == AF_INET6);
	assert(mg_ip_format(&ip, buf, sizeof(buf)) == 0);
	assert(strlen(buf) < MG_IP_STRLEN);
	assert(mg_ip_parse(buf, &again) == 0);
	assert(same_ip(&ip, &again));
	assert(mg_ip_format(&again, buf2, sizeof(buf2)) == 0);
	assert(!strcmp(buf, buf2));
	/* A buffer one byte short is refused, never overrun. */
	assert(mg_ip_format(&ip, buf2, strlen(buf)) == -ENOSPC);
	*out = ip;
}

static void check_prefix(const char *s, struct mg_prefix *out, bool *ok)
{
	char buf[MG_PREFIX_STRLEN], buf2[MG_PREFIX_STRLEN];
	struct mg_prefix p, again, canon, c2;
	bool is_canon;

	*ok = mg_prefix_parse(s, &p) == 0;
	assert((mg_prefix_parse_canonical(s, &c2) == 0) == (*ok && mg_prefix_is_canonical(&p)));
	if (!*ok)
		return;
	assert(p.ip.family == AF_INET || p.ip.family == AF_INET6);
	assert(p.len <= mg_ip_bits(&p.ip));
	is_canon = mg_prefix_is_canonical(&p);
	if (is_canon)
		assert(same_prefix(&p, &c2));

	assert(mg_prefix_format(&p, buf, sizeof(buf)) == 0);
	assert(mg_prefix_parse(buf, &again) == 0);
	assert(same_prefix(&p, &again));
	assert(mg_prefix_format(&again, buf2, sizeof(buf2)) == 0);
	assert(!strcmp(buf, buf2));
	assert(mg_prefix_format(&p, buf2, strlen(buf)) == -ENOSPC);

	canon = p;
	mg_prefix_canonicalize(&canon);
	assert(mg_prefix_is_canonical(&canon));
	assert(canon.len == p.len);
	assert(is_canon == same_prefix(&canon, &p));
	assert(mg_prefix_contains(&canon, &p) && mg_prefix_contains(&p, &canon));
	assert(mg_prefix_contains_ip(&p, &p.ip) && mg_prefix_contains_ip(&canon, &p.ip));
	assert(mg_prefix_overlaps(&p, &canon));
	assert(mg_prefix_format(&canon, buf, sizeof(buf)) == 0);
	assert(mg_prefix_parse_canonical(buf, &again) == 0 && same_prefix(&again, &canon));
	*out = p;
}

static void check_pair(const struct mg_prefix *a, const struct mg_prefix *b)
{
	bool ov = mg_prefix_overlaps(a, b), ab = mg_prefix_contains(a, b), ba = mg_prefix_contains(b, a);
	struct mg_prefix ca = *a, cb = *b;

	assert(ov == mg_prefix_overlaps(b, a));
	if (a->ip.family != b->ip.family)
		assert(!ov && !ab && !ba);
	if (ab || ba)
		assert(ov);
	if (ab)
		assert(a->len <= b->len && mg_prefix_contains_ip(a, &b->ip));
	mg_prefix_canonicalize(&ca);
	mg_prefix_canonicalize(&cb);
	if (ab && ba)
		assert(same_prefix(&ca, &cb));
	/* Overlapping prefixes: one contains the other. */
	if (ov)
		assert(ab || ba);
}

static void check_ip_in(const struct mg_prefix *p, const struct mg_ip *ip)
{
	uint64_t off;
	struct mg_ip back;

	if (mg_prefix_offset(p, ip, &off) == 0) {
		assert(mg_prefix_contains_ip(p, ip));
		assert(mg_prefix_nth(p, off, &back) == 0 && same_ip(&back, ip));
	} else if (p->ip.family != ip->family) {
		assert(!mg_prefix_contains_ip(p, ip));
	}
}

static void check_alloc(const struct mg_prefix *p, const uint8_t *data, size_t size)
{
	uint64_t used[MAX_USED], off, first, last;
	struct mg_ip ip, back;
	size_t n = 0, i;
	bool from_top;
	int ret;

	if (size < 1)
		return;
	from_top = data[0] & 1;
	data++, size--;
	/* Offsets near both ends: small ones, and ones counted down from the last. */
	first = mg_prefix_first_host(p);
	last = mg_prefix_last_host(p);
	while (size >= 2 && n < MAX_USED) {
		uint64_t v = (uint64_t)(data[0] & 0x7f) << 8 | data[1];

		used[n++] = (data[0] & 0x80) ? last - (v % (last + 1)) : v;
		data += 2, size -= 2;
	}
	for (i = 0; i < n; i++) {
		ret = mg_prefix_nth(p, used[i], &ip);
		if (ret == 0) {
			assert(mg_prefix_contains_ip(p, &ip));
			assert(mg_prefix_offset(p, &ip, &off) == 0 && off == used[i]);
		}
	}
	ret = mg_alloc_addr(p, used, n, from_top, &ip);
	if (ret == -ENOSPC)
		return;
	assert(ret == 0);
	assert(mg_prefix_contains_ip(p, &ip));
	assert(mg_prefix_offset(p, &ip, &off) == 0);
	assert(off >= first && off <= last);
	for (i = 0; i < n; i++)
		assert(used[i] != off);
	assert(mg_prefix_nth(p, off, &back) == 0 && same_ip(&back, &ip));
}

/* Next '\n'-terminated piece of the input as a C string. */
static bool take(const uint8_t **data, size_t *size, char *out)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t n = nl ? (size_t)(nl - *data) : *size;

	if (n >= MAX_STR)
		return false;
	memcpy(out, *data, n);
	out[n] = '\0';
	*data += nl ? n + 1 : n;
	*size -= nl ? n + 1 : n;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[MAX_STR], b[MAX_STR];
	struct mg_ip ipa, ipb;
	struct mg_prefix pa, pb, host;
	bool ip_a, ip_b, pf_a, pf_b;

	if (!take(&data, &size, a) || !take(&data, &size, b))
		return 0;
	check_ip(a, &ipa, &ip_a);
	check_ip(b, &ipb, &ip_b);
	check_prefix(a, &pa, &pf_a);
	check_prefix(b, &pb, &pf_b);
	/* A string is never both a bare address and a prefix. */
	assert(!(ip_a && pf_a) && !(ip_b && pf_b));

	if (ip_a) {
		mg_prefix_from_ip(&host, &ipa);
		assert(mg_prefix_is_canonical(&host) && host.len == mg_ip_bits(&ipa));
		assert(mg_prefix_contains_ip(&host, &ipa));
	}
	if (pf_a && pf_b)
		check_pair(&pa, &pb);
	if (pf_a && ip_b) {
		check_ip_in(&pa, &ipb);
		mg_prefix_from_ip(&host, &ipb);
		check_pair(&pa, &host);
		assert(mg_prefix_contains(&pa, &host) == mg_prefix_contains_ip(&pa, &ipb));
	}
	if (pf_b && ip_a)
		check_ip_in(&pb, &ipa);
	if (pf_a)
		check_alloc(&pa, data, size);
	return 0;
}
