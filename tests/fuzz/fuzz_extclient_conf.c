/*
 * Fuzzer: the external client's wg-quick config (extclient/conf.c).
 *
 * The input is NUL-separated fields:
 *   PRIVATE_KEY \0 PEER_PUBLIC_KEY \0 PRESHARED_KEY \0 ENDPOINT \0
 *   DNS_SEARCH \0 MTU \0 KEEPALIVE [\0 Xvalue]...
 * where an empty optional field is NULL, MTU and KEEPALIVE are decimal,
 * and each trailing Xvalue adds to a list: 'A' an address, 'D' a DNS
 * server, 'I' an allowed IP (anything else is ignored).
 *
 * Invariants: ext_conf_render succeeds exactly when ext_conf_validate
 * does; a rendered config is "[Interface]" then its keys, a blank line,
 * "[Peer]" then its keys, every line ending in "\n"; every other line
 * is "Key = value" with a key wg-quick knows for that section, at most once
 * each; no value holds a control byte or '#'; the keys, the endpoint and
 * the search domain appear verbatim. So no field can inject a line
 * ("[Peer]", "PostUp = ...") or a comment.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extclient/extclient.h"

#define MAX_LIST 300

static const char *const iface_keys[] = { "PrivateKey", "Address", "DNS", "MTU", NULL };
static const char *const peer_keys[] = { "PublicKey", "PresharedKey", "Endpoint", "AllowedIPs",
					 "PersistentKeepalive", NULL };

static int key_index(const char *const *keys, const char *line, size_t keylen)
{
	int i;

	for (i = 0; keys[i]; i++)
		if (strlen(keys[i]) == keylen && !strncmp(keys[i], line, keylen))
			return i;
	return -1;
}

static const char *value_of(const char *text, const char *key)
{
	const char *p = text;
	size_t n = strlen(key);

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, n) && !strncmp(p + n, " = ", 3))
			return p + n + 3;
	return NULL;
}

static bool value_is(const char *text, const char *key, const char *want)
{
	const char *v = value_of(text, key);
	size_t n = strlen(want);

	return v && !strncmp(v, want, n) && v[n] == '\n';
}

static void check_text(const char *text, const struct ext_conf *c)
{
	unsigned seen_iface = 0, seen_peer = 0;
	int section = 0, k;
	const char *line = text, *nl, *eq;
	size_t len = strlen(text);

	assert(len > 0 && text[len - 1] == '\n');
	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert(nl);
		for (const char *p = line; p < nl; p++)
			assert((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '#');
		if (nl == line) {
			assert(section == 1 && !strncmp(nl + 1, "[Peer]\n", 7));
			continue;
		}
		if (!strncmp(line, "[Interface]\n", 12)) {
			assert(line == text && section == 0);
			section = 1;
			continue;
		}
		if (!strncmp(line, "[Peer]\n", 7)) {
			assert(section == 1 && line[-1] == '\n' && line[-2] == '\n');
			section = 2;
			continue;
		}
		assert(section);
		eq = strstr(line, " = ");
		assert(eq && eq < nl && eq + 3 < nl);
		if (section == 1) {
			k = key_index(iface_keys, line, (size_t)(eq - line));
			assert(k >= 0 && !(seen_iface & (1u << k)));
			seen_iface |= 1u << k;
		} else {
			k = key_index(peer_keys, line, (size_t)(eq - line));
			assert(k >= 0 && !(seen_peer & (1u << k)));
			seen_peer |= 1u << k;
		}
		/* Values never hold another " = " or a section bracket. */
		assert(!memchr(eq + 3, '[', (size_t)(nl - eq - 3)) || !strncmp(line, "Endpoint", 8));
	}
	assert(section == 2);
	/* The required keys, and the optional ones exactly when given. */
	assert(seen_iface & 1 && seen_iface & 2 && seen_peer & 1 && seen_peer & 4 && seen_peer & 8);
	assert(!!(seen_iface & 4) == (c->n_dns > 0));
	assert(!!(seen_iface & 8) == (c->mtu > 0));
	assert(!!(seen_peer & 2) == (c->preshared_key != NULL));
	assert(!!(seen_peer & 16) == (c->keepalive > 0));
	assert(value_is(text, "PrivateKey", c->private_key));
	assert(value_is(text, "PublicKey", c->peer_public_key));
	assert(value_is(text, "Endpoint", c->endpoint));
	if (c->preshared_key)
		assert(value_is(text, "PresharedKey", c->preshared_key));
}

static unsigned number(const char *s)
{
	char *end;
	unsigned long v;

	if (!s)
		return 0;
	v = strtoul(s, &end, 10);
	return (unsigned)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[7] = { 0 }, *addrs[MAX_LIST], *dns[MAX_LIST], *aips[MAX_LIST];
	struct ext_conf c = { 0 };
	char *buf, *p, *end, *out = (char *)0x1, err[EXT_ERR_LEN];
	size_t n_fields = 0;
	int v, r;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	for (p = buf; p <= end; p += strlen(p) + 1) {
		if (n_fields < 7) {
			fields[n_fields++] = *p ? p : NULL;
			continue;
		}
		switch (*p) {
		case 'A':
			if (c.n_addrs < MAX_LIST)
				addrs[c.n_addrs++] = p + 1;
			break;
		case 'D':
			if (c.n_dns < MAX_LIST)
				dns[c.n_dns++] = p + 1;
			break;
		case 'I':
			if (c.n_allowed_ips < MAX_LIST)
				aips[c.n_allowed_ips++] = p + 1;
			break;
		}
	}
	c.private_key = fields[0];
	c.peer_public_key = fields[1];
	c.preshared_key = fields[2];
	c.endpoint = fields[3];
	c.dns_search = fields[4];
	c.mtu = number(fields[5]);
	c.keepalive = number(fields[6]);
	c.addrs = c.n_addrs ? addrs : NULL;
	c.dns = c.n_dns ? dns : NULL;
	c.allowed_ips = c.n_allowed_ips ? aips : NULL;

	memset(err, 'x', sizeof(err));
	v = ext_conf_validate(&c, err, sizeof(err));
	assert(v == 0 || v == -EINVAL);
	assert(memchr(err, '\0', sizeof(err)));
	assert((v == 0) == (err[0] == '\0'));

	r = ext_conf_render(&c, &out);
	assert(r == v || r == -ENOMEM);
	if (r == 0) {
		assert(out);
		check_text(out, &c);
		free(out);
	} else {
		assert(!out);
	}
	free(buf);
	return 0;
}
