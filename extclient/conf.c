/*
 * The wg-quick .conf of an external client: validation of every field, then
 * rendering from the parsed values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "key.h"
#include "names.h"
#include "extclient.h"

static int fail(char *err, size_t errlen, const char *field, long index, const char *msg)
{
	if (err && errlen) {
		if (index >= 0)
			snprintf(err, errlen, "%s[%ld]: %s", field, index, msg);
		else
			snprintf(err, errlen, "%s: %s", field, msg);
	}
	return -EINVAL;
}

static const char *check_key(const char *s, bool optional)
{
	if (!s)
		return optional ? NULL : "is required";
	if (mg_key_valid_base64(s) < 0)
		return "must be a base64 WireGuard key (44 characters)";
	return NULL;
}

static const char *check_list(const char *const *v, size_t n, size_t min, size_t max)
{
	if (n < min)
		return min == 1 ? "needs at least one entry" : "has too few entries";
	if (n > max)
		return "has too many entries";
	if (n && !v)
		return "is missing";
	return NULL;
}

/*
 * wg-quick sorts a DNS entry into servers or search domains by its looks:
 * digits and dots, or any ':', make a server. A search domain must not.
 */
static const char *check_search(const char *s)
{
	const char *msg;

	if ((msg = mg_check_dns_name(s)))
		return msg;
	if (strspn(s, "0123456789.") == strlen(s))
		return "must not look like an IPv4 address";
	return NULL;
}

int ext_conf_validate(const struct ext_conf *c, char *err, size_t errlen)
{
	struct mg_prefix p;
	struct mg_ip ip;
	const char *msg;
	size_t i;

	if (err && errlen)
		err[0] = '\0';
	if (!c)
		return fail(err, errlen, "config", -1, "is required");

	if ((msg = check_key(c->private_key, false)))
		return fail(err, errlen, "private_key", -1, msg);
	if ((msg = check_list(c->addrs, c->n_addrs, 1, EXT_MAX_ADDRS)))
		return fail(err, errlen, "addresses", -1, msg);
	for (i = 0; i < c->n_addrs; i++) {
		if (!c->addrs[i] || mg_prefix_parse(c->addrs[i], &p) < 0)
			return fail(err, errlen, "addresses", (long)i,
				    "must be ADDRESS/LENGTH (IPv4 or IPv6)");
	}
	if ((msg = check_list(c->dns, c->n_dns, 0, EXT_MAX_DNS)))
		return fail(err, errlen, "dns", -1, msg);
	for (i = 0; i < c->n_dns; i++) {
		if (!c->dns[i] || mg_ip_parse(c->dns[i], &ip) < 0)
			return fail(err, errlen, "dns", (long)i,
				    "must be an IPv4 or IPv6 address");
	}
	if (c->dns_search) {
		if ((msg = check_search(c->dns_search)))
			return fail(err, errlen, "dns_search", -1, msg);
		if (!c->n_dns)
			return fail(err, errlen, "dns_search", -1,
				    "needs at least one DNS server");
	}
	if (c->mtu && (c->mtu < EXT_MTU_MIN || c->mtu > EXT_MTU_MAX))
		return fail(err, errlen, "mtu", -1, "must be 0 (unset) or 1280-9000");

	if ((msg = check_key(c->peer_public_key, false)))
		return fail(err, errlen, "peer_public_key", -1, msg);
	if ((msg = check_key(c->preshared_key, true)))
		return fail(err, errlen, "preshared_key", -1, msg);
	if ((msg = mg_check_endpoint(c->endpoint)))
		return fail(err, errlen, "endpoint", -1, msg);
	if ((msg = check_list(c->allowed_ips, c->n_allowed_ips, 1, EXT_MAX_ALLOWED_IPS)))
		return fail(err, errlen, "allowed_ips", -1, msg);
	for (i = 0; i < c->n_allowed_ips; i++) {
		if (!c->allowed_ips[i] || mg_prefix_parse(c->allowed_ips[i], &p) < 0)
			return fail(err, errlen, "allowed_ips", (long)i,
				    "must be ADDRESS/LENGTH (IPv4 or IPv6)");
	}
	if (c->keepalive > EXT_KEEPALIVE_MAX)
		return fail(err, errlen, "keepalive", -1, "must be 0 (off) to 65535 seconds");
	return 0;
}

/*
 * The lists are written from their parsed form, so what reaches the file is
 * always the canonical text of an address, whatever spelling came in.
 */
static void put_prefixes(FILE *f, const char *key, const char *const *v, size_t n)
{
	char buf[MG_PREFIX_STRLEN];
	struct mg_prefix p;
	size_t i;

	fprintf(f, "%s = ", key);
	for (i = 0; i < n; i++) {
		/* Validated: neither call can fail. */
		mg_prefix_parse(v[i], &p);
		mg_prefix_format(&p, buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	fputc('\n', f);
}

static void put_dns(FILE *f, const struct ext_conf *c)
{
	char buf[MG_IP_STRLEN];
	struct mg_ip ip;
	size_t i;

	fputs("DNS = ", f);
	for (i = 0; i < c->n_dns; i++) {
		mg_ip_parse(c->dns[i], &ip);
		mg_ip_format(&ip, buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	if (c->dns_search)
		fprintf(f, ", %s", c->dns_search);
	fputc('\n', f);
}

int ext_conf_render(const struct ext_conf *c, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret, bad;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((ret = ext_conf_validate(c, NULL, 0)) < 0)
		return ret;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;

	fputs("[Interface]\n", f);
	fprintf(f, "PrivateKey = %s\n", c->private_key);
	put_prefixes(f, "Address", c->addrs, c->n_addrs);
	if (c->n_dns)
		put_dns(f, c);
	if (c->mtu)
		fprintf(f, "MTU = %u\n", c->mtu);

	fputs("\n[Peer]\n", f);
	fprintf(f, "PublicKey = %s\n", c->peer_public_key);
	if (c->preshared_key)
		fprintf(f, "PresharedKey = %s\n", c->preshared_key);
	fprintf(f, "Endpoint = %s\n", c->endpoint);
	put_prefixes(f, "AllowedIPs", c->allowed_ips, c->n_allowed_ips);
	if (c->keepalive)
		fprintf(f, "PersistentKeepalive = %u\n", c->keepalive);

	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		/* The text holds the private key. */
		if (buf)
			mg_wipe(buf, len);
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
