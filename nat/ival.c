/*
 * Address intervals for interval sets, and interface name checks.
 */
#include <stdio.h>
#include <string.h>

#include "nat_int.h"

void nat_ival_from_prefix(struct nat_ival *iv, const struct mg_prefix *p)
{
	size_t alen = p->ip.family == AF_INET ? 4 : 16, i;
	unsigned bits;

	memset(iv, 0, sizeof(*iv));
	memcpy(iv->lo, p->ip.bytes, alen);
	memcpy(iv->hi, p->ip.bytes, alen);
	for (i = 0; i < alen; i++) {
		bits = p->len > i * 8 ? p->len - (unsigned)i * 8 : 0;
		if (bits >= 8)
			continue;
		iv->hi[i] |= (uint8_t)(0xff >> bits);
	}
}

/* Sorts by group, then start, then end. */
int nat_ival_cmp(const void *a, const void *b)
{
	const struct nat_ival *x = a, *y = b;
	int c;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	c = memcmp(x->lo, y->lo, sizeof(x->lo));
	if (c)
		return c;
	return memcmp(x->hi, y->hi, sizeof(x->hi));
}

bool nat_addr_inc(uint8_t *x, size_t alen)
{
	size_t i = alen;

	while (i-- > 0) {
		if (++x[i])
			return true;
	}
	return false;
}

/* b starts inside a or right after it. */
static bool touches(const struct nat_ival *a, const struct nat_ival *b, size_t alen)
{
	uint8_t next[16];

	if (memcmp(b->lo, a->hi, alen) <= 0)
		return true;
	memcpy(next, a->hi, alen);
	if (!nat_addr_inc(next, alen))
		return true;
	return memcmp(next, b->lo, alen) == 0;
}

size_t nat_ival_merge(struct nat_ival *iv, size_t n, size_t alen)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		if (out && iv[out - 1].group == iv[i].group && touches(&iv[out - 1], &iv[i], alen)) {
			if (memcmp(iv[i].hi, iv[out - 1].hi, alen) > 0)
				memcpy(iv[out - 1].hi, iv[i].hi, alen);
			continue;
		}
		iv[out++] = iv[i];
	}
	return out;
}

/* The prefix length when [lo, hi] is exactly one prefix, else -1. */
static int ival_prefix_len(const struct nat_ival *iv, size_t alen)
{
	size_t i;
	int len = 0;
	uint8_t diff, mask;
	bool host = false;

	for (i = 0; i < alen; i++) {
		diff = iv->lo[i] ^ iv->hi[i];
		if (host) {
			if (iv->lo[i] != 0 || iv->hi[i] != 0xff)
				return -1;
			continue;
		}
		if (diff == 0) {
			len += 8;
			continue;
		}
		/* diff must be a run of low ones, lo zeros there, hi ones. */
		if ((diff & (diff + 1)) != 0)
			return -1;
		mask = diff;
		if ((iv->lo[i] & mask) != 0 || (iv->hi[i] & mask) != mask)
			return -1;
		while (!(mask & 0x80)) {
			len++;
			mask = (uint8_t)(mask << 1 | 1);
		}
		host = true;
	}
	return len;
}

void nat_ival_format(const struct nat_ival *iv, int family, char *buf, size_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct mg_ip lo = { .family = family }, hi = { .family = family };
	char a[MG_IP_STRLEN], b[MG_IP_STRLEN];
	int plen = ival_prefix_len(iv, alen);

	memcpy(lo.bytes, iv->lo, alen);
	memcpy(hi.bytes, iv->hi, alen);
	if (mg_ip_format(&lo, a, sizeof(a)) < 0 || mg_ip_format(&hi, b, sizeof(b)) < 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (plen >= 0)
		snprintf(buf, len, "%s/%d", a, plen);
	else
		snprintf(buf, len, "%s-%s", a, b);
}

bool nat_ifname_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (n >= 15)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}
