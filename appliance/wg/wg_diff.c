/*
 * Reconciliation: the smallest set request that turns the device as read
 * into the wanted one. Peers are matched by public key after sorting, so a
 * diff costs O(n log n) in the number of peers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg.h"

static const mg_key zero_key;

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct wg_peer *const *pa = a, *const *pb = b;
	int c = memcmp((*pa)->public_key, (*pb)->public_key, MG_KEY_LEN);

	/* Equal keys keep their order, so the first of duplicates wins. */
	if (c == 0)
		c = *pa < *pb ? -1 : *pa > *pb;
	return c;
}

static int cmp_aip(const void *a, const void *b)
{
	return wg_allowedip_cmp(a, b);
}

/* A canonical, sorted, duplicate-free copy of p's allowed IPs (*n of them). */
static struct wg_allowedip *aip_set(const struct wg_peer *p, size_t *n)
{
	struct wg_allowedip *s;
	size_t i, j = 0;

	*n = 0;
	if (!p->n_allowedips)
		return NULL;
	s = malloc(p->n_allowedips * sizeof(*s));
	if (!s)
		return NULL;
	for (i = 0; i < p->n_allowedips; i++) {
		struct wg_allowedip a = { 0 };

		a.family = p->allowedips[i].family;
		a.cidr = p->allowedips[i].cidr;
		memcpy(a.bytes, p->allowedips[i].bytes, 16);
		wg_allowedip_canonicalize(&a);
		s[i] = a;
	}
	qsort(s, p->n_allowedips, sizeof(*s), cmp_aip);
	for (i = 0; i < p->n_allowedips; i++)
		if (j == 0 || wg_allowedip_cmp(&s[j - 1], &s[i]))
			s[j++] = s[i];
	*n = j;
	return s;
}

/* 1 when the allowed IPs differ as sets, 0 when equal, -ENOMEM. */
static int aips_differ(const struct wg_peer *h, const struct wg_peer *w)
{
	struct wg_allowedip *hs, *ws;
	size_t hn, wn, i;
	int ret = 0;

	hs = aip_set(h, &hn);
	ws = aip_set(w, &wn);
	if ((h->n_allowedips && !hs) || (w->n_allowedips && !ws)) {
		ret = -ENOMEM;
		goto out;
	}
	if (hn != wn) {
		ret = 1;
		goto out;
	}
	for (i = 0; i < hn; i++)
		if (wg_allowedip_cmp(&hs[i], &ws[i])) {
			ret = 1;
			break;
		}
out:
	free(hs);
	free(ws);
	return ret;
}

static int copy_aips(struct wg_peer *to, const struct wg_peer *from)
{
	size_t i;
	int ret;

	for (i = 0; i < from->n_allowedips; i++)
		if ((ret = wg_peer_add_allowedip(to, &from->allowedips[i])))
			return ret;
	return 0;
}

static const uint8_t *psk_of(const struct wg_peer *p)
{
	return (p->flags & WG_PEER_HAS_PRESHARED_KEY) ? p->preshared_key : zero_key;
}

static uint16_t keepalive_of(const struct wg_peer *p)
{
	return (p->flags & WG_PEER_HAS_KEEPALIVE) ? p->persistent_keepalive : 0;
}

/* A peer of want that have lacks: everything it has. */
static int add_new(struct wg_device *out, const struct wg_peer *w)
{
	struct wg_peer *p = wg_device_add_peer(out);

	if (!p)
		return -ENOMEM;
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
	memcpy(p->public_key, w->public_key, MG_KEY_LEN);
	if (memcmp(psk_of(w), zero_key, MG_KEY_LEN)) {
		p->flags |= WG_PEER_HAS_PRESHARED_KEY;
		memcpy(p->preshared_key, w->preshared_key, MG_KEY_LEN);
	}
	p->endpoint = w->endpoint;
	if (keepalive_of(w)) {
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = w->persistent_keepalive;
	}
	return copy_aips(p, w);
}

/* A peer in both: only what differs, nothing when nothing does. */
static int add_changed(struct wg_device *out, const struct wg_peer *h, const struct wg_peer *w)
{
	uint32_t flags = 0;
	bool endpoint = false;
	struct wg_peer *p;
	int ret;

	if (memcmp(psk_of(h), psk_of(w), MG_KEY_LEN))
		flags |= WG_PEER_HAS_PRESHARED_KEY;
	if (w->endpoint.sa.sa_family != AF_UNSPEC && !wg_endpoint_equal(&h->endpoint, &w->endpoint))
		endpoint = true;
	if (keepalive_of(h) != keepalive_of(w))
		flags |= WG_PEER_HAS_KEEPALIVE;
	ret = aips_differ(h, w);
	if (ret < 0)
		return ret;
	if (ret)
		flags |= WG_PEER_REPLACE_ALLOWEDIPS;
	if (!flags && !endpoint)
		return 0;

	p = wg_device_add_peer(out);
	if (!p)
		return -ENOMEM;
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY | flags;
	memcpy(p->public_key, w->public_key, MG_KEY_LEN);
	if (flags & WG_PEER_HAS_PRESHARED_KEY)
		memcpy(p->preshared_key, psk_of(w), MG_KEY_LEN);
	if (endpoint)
		p->endpoint = w->endpoint;
	if (flags & WG_PEER_HAS_KEEPALIVE)
		p->persistent_keepalive = keepalive_of(w);
	if (flags & WG_PEER_REPLACE_ALLOWEDIPS)
		return copy_aips(p, w);
	return 0;
}

static void diff_device(struct wg_device *out, const struct wg_device *have,
			const struct wg_device *want)
{
	const uint8_t *hkey = (have->flags & WG_DEVICE_HAS_PRIVATE_KEY) ? have->private_key : zero_key;
	uint16_t hport = (have->flags & WG_DEVICE_HAS_LISTEN_PORT) ? have->listen_port : 0;
	uint32_t hmark = (have->flags & WG_DEVICE_HAS_FWMARK) ? have->fwmark : 0;

	if ((want->flags & WG_DEVICE_HAS_PRIVATE_KEY) && memcmp(hkey, want->private_key, MG_KEY_LEN)) {
		out->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		memcpy(out->private_key, want->private_key, MG_KEY_LEN);
	}
	/* A wanted port of 0 means "any port", which every device has. */
	if ((want->flags & WG_DEVICE_HAS_LISTEN_PORT) && want->listen_port && hport != want->listen_port) {
		out->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		out->listen_port = want->listen_port;
	}
	if ((want->flags & WG_DEVICE_HAS_FWMARK) && hmark != want->fwmark) {
		out->flags |= WG_DEVICE_HAS_FWMARK;
		out->fwmark = want->fwmark;
	}
}

/* Pointers to dev's peers sorted by public key; NULL only when out of memory. */
static const struct wg_peer **sorted_peers(const struct wg_device *dev)
{
	const struct wg_peer **v;
	size_t i;

	v = malloc((dev->n_peers ? dev->n_peers : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < dev->n_peers; i++)
		v[i] = &dev->peers[i];
	qsort(v, dev->n_peers, sizeof(*v), cmp_peer_ptr);
	return v;
}

struct wg_device *wg_diff(const struct wg_device *have, const struct wg_device *want)
{
	const struct wg_peer **hs = NULL, **ws = NULL;
	/* For each peer of want (by index): its match in have, or NULL; dup: a repeated key. */
	const struct wg_peer **match = NULL;
	bool *used = NULL, *dup = NULL;
	struct wg_device *out;
	size_t i = 0, j = 0, k;
	int c, ret = -ENOMEM;

	out = wg_device_new(want->name[0] ? want->name : have->name);
	if (!out)
		return NULL;
	out->ifindex = have->ifindex;
	diff_device(out, have, want);

	hs = sorted_peers(have);
	ws = sorted_peers(want);
	match = calloc(want->n_peers + 1, sizeof(*match));
	dup = calloc(want->n_peers + 1, sizeof(*dup));
	used = calloc(have->n_peers + 1, sizeof(*used));
	if (!hs || !ws || !match || !used || !dup)
		goto out;

	while (i < have->n_peers && j < want->n_peers) {
		size_t wi = (size_t)(ws[j] - want->peers);

		if (j > 0 && !memcmp(ws[j - 1]->public_key, ws[j]->public_key, MG_KEY_LEN)) {
			dup[wi] = true;
			j++;
			continue;
		}
		c = memcmp(hs[i]->public_key, ws[j]->public_key, MG_KEY_LEN);
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			match[wi] = hs[i];
			used[hs[i] - have->peers] = true;
			i++;
			j++;
		}
	}
	for (; j < want->n_peers; j++)
		if (j > 0 && !memcmp(ws[j - 1]->public_key, ws[j]->public_key, MG_KEY_LEN))
			dup[ws[j] - want->peers] = true;

	/* Removals first, so addresses they held are free for the rest. */
	for (k = 0; k < have->n_peers; k++) {
		struct wg_peer *p;

		if (used[k])
			continue;
		p = wg_device_add_peer(out);
		if (!p)
			goto out;
		p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
		memcpy(p->public_key, have->peers[k].public_key, MG_KEY_LEN);
	}
	for (k = 0; k < want->n_peers; k++) {
		if (dup[k])
			continue;
		ret = match[k] ? add_changed(out, match[k], &want->peers[k])
			       : add_new(out, &want->peers[k]);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	free(hs);
	free(ws);
	free(match);
	free(used);
	free(dup);
	if (ret) {
		wg_free_device(out);
		return NULL;
	}
	return out;
}
