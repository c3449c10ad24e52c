/*
 * The WireGuard data model: building, freeing, and the text forms of
 * allowed IPs and endpoints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "wg/wg.h"

bool wg_ifname_valid(const char *ifname)
{
	size_t n;

	if (!ifname)
		return false;
	n = strnlen(ifname, IFNAMSIZ);
	if (n == 0 || n >= IFNAMSIZ)
		return false;
	if (!strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	for (; *ifname; ifname++)
		if (*ifname == '/' || *ifname == ':' || (unsigned char)*ifname <= ' ' ||
		    (unsigned char)*ifname >= 0x7f)
			return false;
	return true;
}

struct wg_device *wg_device_new(const char *ifname)
{
	struct wg_device *dev;

	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (dev && ifname)
		strcpy(dev->name, ifname);
	return dev;
}

/* Grows *arr (of elem-sized items) so that one more fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *p;

	if (grow((void **)&dev->peers, &dev->cap_peers, dev->n_peers, sizeof(*dev->peers)))
		return NULL;
	p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip)
{
	if (grow((void **)&peer->allowedips, &peer->cap_allowedips, peer->n_allowedips,
		 sizeof(*peer->allowedips)))
		return -ENOMEM;
	peer->allowedips[peer->n_allowedips++] = *aip;
	return 0;
}

void wg_free_device(struct wg_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->n_peers; i++) {
		mg_wipe(dev->peers[i].preshared_key, sizeof(dev->peers[i].preshared_key));
		free(dev->peers[i].allowedips);
	}
	free(dev->peers);
	mg_wipe(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

bool wg_device_is_empty(const struct wg_device *dev)
{
	return dev->flags == 0 && dev->n_peers == 0;
}

int wg_allowedip_parse(const char *s, struct wg_allowedip *out)
{
	struct mg_prefix p;
	struct wg_allowedip a = { 0 };

	if (mg_prefix_parse(s, &p))
		return -EINVAL;
	a.family = (uint16_t)p.ip.family;
	a.cidr = (uint8_t)p.len;
	memcpy(a.bytes, p.ip.bytes, a.family == AF_INET ? 4 : 16);
	*out = a;
	return 0;
}

int wg_allowedip_format(const struct wg_allowedip *aip, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if ((aip->family != AF_INET && aip->family != AF_INET6) ||
	    aip->cidr > (aip->family == AF_INET ? 32 : 128))
		return -EINVAL;
	if (!inet_ntop(aip->family, aip->bytes, ip, sizeof(ip)))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%u", ip, aip->cidr);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void wg_allowedip_canonicalize(struct wg_allowedip *aip)
{
	unsigned bits = aip->family == AF_INET ? 32 : 128, i;
	unsigned cidr = aip->cidr > bits ? bits : aip->cidr;

	for (i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (lo >= bits || lo + 8 <= cidr)
			continue;
		if (lo >= cidr)
			aip->bytes[i] = 0;
		else
			aip->bytes[i] &= (uint8_t)(0xff00 >> (cidr - lo));
	}
	if (aip->family == AF_INET)
		memset(aip->bytes + 4, 0, 12);
}

int wg_allowedip_cmp(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16);
	if (r)
		return r < 0 ? -1 : 1;
	if (a->cidr != b->cidr)
		return a->cidr < b->cidr ? -1 : 1;
	return 0;
}

/* Port "1".."65535", digits only. */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int wg_endpoint_parse(const char *s, union wg_endpoint *out)
{
	char host[INET6_ADDRSTRLEN + IFNAMSIZ + 2];
	union wg_endpoint ep;
	const char *colon, *port;
	uint16_t pnum;
	size_t n;

	memset(&ep, 0, sizeof(ep));
	if (!s)
		return -EINVAL;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		char *pct;

		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		port = close + 2;
		pct = strchr(host, '%');
		if (pct) {
			*pct++ = '\0';
			if (!*pct)
				return -EINVAL;
			ep.sin6.sin6_scope_id = if_nametoindex(pct);
			if (!ep.sin6.sin6_scope_id) {
				char *end;
				unsigned long v;

				errno = 0;
				v = strtoul(pct, &end, 10);
				if (*end || errno || v > UINT32_MAX || *pct < '0' || *pct > '9')
					return -EINVAL;
				ep.sin6.sin6_scope_id = (uint32_t)v;
			}
		}
		if (inet_pton(AF_INET6, host, &ep.sin6.sin6_addr) != 1)
			return -EINVAL;
		if (parse_port(port, &pnum))
			return -EINVAL;
		ep.sin6.sin6_family = AF_INET6;
		ep.sin6.sin6_port = htons(pnum);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, &ep.sin.sin_addr) != 1)
			return -EINVAL;
		if (parse_port(colon + 1, &pnum))
			return -EINVAL;
		ep.sin.sin_family = AF_INET;
		ep.sin.sin_port = htons(pnum);
	}
	*out = ep;
	return 0;
}

int wg_endpoint_format(const union wg_endpoint *ep, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (ep->sa.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &ep->sin.sin_addr, ip, sizeof(ip)))
			return -EINVAL;
		n = snprintf(buf, len, "%s:%u", ip, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &ep->sin6.sin6_addr, ip, sizeof(ip)))
			return -EINVAL;
		if (ep->sin6.sin6_scope_id)
			n = snprintf(buf, len, "[%s%%%u]:%u", ip, ep->sin6.sin6_scope_id,
				     ntohs(ep->sin6.sin6_port));
		else
			n = snprintf(buf, len, "[%s]:%u", ip, ntohs(ep->sin6.sin6_port));
	} else {
		return -EAFNOSUPPORT;
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	case AF_INET6:
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       a->sin6.sin6_scope_id == b->sin6.sin6_scope_id &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16);
	default:
		return true;
	}
}
