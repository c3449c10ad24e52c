/*
 * Fuzzer: replies of wireguard-go's UAPI socket (appliance/wg/wg_uapi.c).
 *
 * The first byte picks the parser: 'e' for the reply to "set=1"
 * (wg_uapi_parse_errno), anything else for the reply to "get=1"
 * (wg_uapi_parse_get_buf); the rest is the reply.
 *
 * Invariants for a parsed device: results are one of the documented
 * errors or 0 with a device; every peer has a public key, every allowed IP
 * a valid family and length; written back out as a get reply, the device
 * parses to the same device; and wg_uapi_write_set renders it into
 * "key=value" lines ended by one blank line.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg_uapi.h"

static void hex(FILE *f, const char *key, const mg_key k)
{
	int i;

	fprintf(f, "%s=", key);
	for (i = 0; i < MG_KEY_LEN; i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
}

/* The device as wireguard-go would report it. */
static char *as_get_reply(const struct wg_device *dev, size_t *len)
{
	char buf[WG_ENDPOINT_STRLEN];
	char *out = NULL;
	size_t i, j;
	FILE *f = open_memstream(&out, len);

	assert(f);
	if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		hex(f, "private_key", dev->private_key);
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
		fprintf(f, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		fprintf(f, "fwmark=%u\n", dev->fwmark);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		hex(f, "public_key", p->public_key);
		hex(f, "preshared_key", p->preshared_key);
		fprintf(f, "protocol_version=1\n");
		if (p->endpoint.sa.sa_family != AF_UNSPEC) {
			assert(wg_endpoint_format(&p->endpoint, buf, sizeof(buf)) == 0);
			fprintf(f, "endpoint=%s\n", buf);
		}
		fprintf(f, "last_handshake_time_sec=%lld\n", (long long)p->last_handshake_sec);
		fprintf(f, "last_handshake_time_nsec=%lld\n", (long long)p->last_handshake_nsec);
		fprintf(f, "tx_bytes=%llu\n", (unsigned long long)p->tx_bytes);
		fprintf(f, "rx_bytes=%llu\n", (unsigned long long)p->rx_bytes);
		if (p->flags & WG_PEER_HAS_KEEPALIVE)
			fprintf(f, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
		for (j = 0; j < p->n_allowedips; j++) {
			assert(wg_allowedip_format(&p->allowedips[j], buf, sizeof(buf)) == 0);
			fprintf(f, "allowed_ip=%s\n", buf);
		}
	}
	fputs("errno=0\n\n", f);
	assert(fclose(f) == 0);
	return out;
}

static void same_device(const struct wg_device *a, const struct wg_device *b)
{
	size_t i, j;

	assert(a->flags == b->flags);
	assert(!memcmp(a->private_key, b->private_key, MG_KEY_LEN));
	assert(!memcmp(a->public_key, b->public_key, MG_KEY_LEN));
	assert(a->listen_port == b->listen_port && a->fwmark == b->fwmark);
	assert(a->n_peers == b->n_peers);
	for (i = 0; i < a->n_peers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		assert(p->flags == q->flags);
		assert(!memcmp(p->public_key, q->public_key, MG_KEY_LEN));
		assert(!memcmp(p->preshared_key, q->preshared_key, MG_KEY_LEN));
		assert(wg_endpoint_equal(&p->endpoint, &q->endpoint));
		assert(p->persistent_keepalive == q->persistent_keepalive);
		assert(p->last_handshake_sec == q->last_handshake_sec);
		assert(p->last_handshake_nsec == q->last_handshake_nsec);
		assert(p->rx_bytes == q->rx_bytes && p->tx_bytes == q->tx_bytes);
		assert(p->n_allowedips == q->n_allowedips);
		for (j = 0; j < p->n_allowedips; j++)
			assert(wg_allowedip_cmp(&p->allowedips[j], &q->allowedips[j]) == 0 &&
			       p->allowedips[j].cidr == q->allowedips[j].cidr &&
			       p->allowedips[j].family == q->allowedips[j].family &&
			       !memcmp(p->allowedips[j].bytes, q->allowedips[j].bytes, 16));
	}
}

static void check_device(const struct wg_device *dev)
{
	size_t i, j;

	assert(dev->n_peers <= dev->cap_peers);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		assert(p->flags & WG_PEER_HAS_PUBLIC_KEY);
		assert(p->n_allowedips <= p->cap_allowedips);
		assert(p->last_handshake_sec >= 0);
		assert(p->last_handshake_nsec >= 0 && p->last_handshake_nsec <= 999999999);
		for (j = 0; j < p->n_allowedips; j++) {
			const struct wg_allowedip *a = &p->allowedips[j];

			assert((a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128));
		}
	}
}

static void check_write_set(const struct wg_device *dev)
{
	char *out = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int ret;

	assert(f);
	ret = wg_uapi_write_set(f, dev);
	assert(fclose(f) == 0);
	if (ret == 0) {
		assert(len >= 7 && !strncmp(out, "set=1\n", 6));
		assert(!strcmp(out + len - 2, "\n\n"));
		assert(strlen(out) == len);
		out[len - 2] = '\0';
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			assert(strchr(line, '=') && strlen(line) <= WG_UAPI_LINE_MAX);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = (struct wg_device *)0x1, *again = NULL;
	char *text;
	size_t len;
	FILE *f;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] == 'e') {
		if (size < 2)
			return 0;
		f = fmemopen((void *)(data + 1), size - 1, "r");
		assert(f);
		ret = wg_uapi_parse_errno(f);
		fclose(f);
		assert(ret <= 0 && ret >= -4095);
		return 0;
	}
	ret = wg_uapi_parse_get_buf((const char *)data + 1, size - 1, &dev);
	if (ret) {
		assert(ret < 0 && ret >= -4095 && !dev);
		return 0;
	}
	assert(dev);
	check_device(dev);

	text = as_get_reply(dev, &len);
	ret = wg_uapi_parse_get_buf(text, len, &again);
	assert(ret == 0 && again);
	same_device(dev, again);
	free(text);
	wg_free_device(again);

	check_write_set(dev);
	wg_free_device(dev);
	return 0;
}
