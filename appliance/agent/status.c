/*
 * meshgate status [--json]: the interface as the device reports it, named
 * with the stored configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "wg/wg.h"

/* The config peer with this key, or NULL. */
static json_t *config_peer(json_t *cfg, const char *key)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(cfg, "peers"), i, p) {
		const char *k = json_string_value(json_object_get(p, "public_key"));

		if (k && !strcmp(k, key))
			return p;
	}
	return NULL;
}

static json_t *peer_json(const struct wg_peer *p, json_t *cfg, time_t now)
{
	char key[MG_KEY_B64_LEN], ep[WG_ENDPOINT_STRLEN], aip[MG_PREFIX_STRLEN];
	json_t *o, *ips = json_array(), *cp;
	size_t i;

	mg_key_to_base64(key, p->public_key);
	cp = config_peer(cfg, key);
	for (i = 0; i < p->n_allowedips; i++)
		if (wg_allowedip_format(&p->allowedips[i], aip, sizeof(aip)) == 0)
			json_array_append_new(ips, json_string(aip));
	o = json_pack("{s:O, s:s, s:o, s:o, s:I, s:o, s:I, s:I}",
		      "name", json_object_get(cp, "name") ? json_object_get(cp, "name") : json_null(),
		      "public_key", key,
		      "endpoint", p->endpoint.sa.sa_family && wg_endpoint_format(&p->endpoint, ep, sizeof(ep)) == 0 ?
					  json_string(ep) : json_null(),
		      "allowed_ips", ips,
		      "last_handshake", (json_int_t)p->last_handshake_sec,
		      "handshake_age_seconds", p->last_handshake_sec ?
						       json_integer(now - p->last_handshake_sec) : json_null(),
		      "rx_bytes", (json_int_t)(p->rx_bytes > INT64_MAX ? INT64_MAX : p->rx_bytes),
		      "tx_bytes", (json_int_t)(p->tx_bytes > INT64_MAX ? INT64_MAX : p->tx_bytes));
	/* A relay's entry: the hosts it carries besides itself. */
	if (o && json_is_array(json_object_get(cp, "relaying")))
		json_object_set(o, "relaying", json_object_get(cp, "relaying"));
	return o;
}

static json_t *status_json(const struct agent_state *st, const struct wg_device *dev)
{
	char pub_b64[MG_KEY_B64_LEN];
	json_t *o, *peers = json_array(), *p;
	time_t now = time(NULL);
	mg_key pub;
	size_t i;

	mg_key_public_from_private(pub, st->private_key);
	mg_key_to_base64(pub_b64, pub);
	if (dev) {
		for (i = 0; i < dev->n_peers; i++)
			json_array_append_new(peers, peer_json(&dev->peers[i], st->config, now));
	} else {
		/* No device: what we would configure. */
		json_array_foreach(json_object_get(st->config, "peers"), i, p)
			json_array_append_new(peers, json_pack("{s:O, s:O, s:O, s:O, s:i, s:n, s:i, s:i}",
				"name", json_object_get(p, "name") ?: json_null(),
				"public_key", json_object_get(p, "public_key"),
				"endpoint", json_object_get(p, "endpoint") ?: json_null(),
				"allowed_ips", json_object_get(p, "allowed_ips") ?: json_null(),
				"last_handshake", 0, "handshake_age_seconds", "rx_bytes", 0, "tx_bytes", 0));
	}
	o = json_pack("{s:s, s:s, s:b, s:I, s:s, s:s, s:I, s:I, s:O, s:O, s:o}",
		      "interface", st->ifname,
		      "backend", wg_backend_name(dev ? wg_backend_of(st->ifname) : WG_BACKEND_NONE),
		      "up", dev != NULL,
		      "host_id", (json_int_t)st->host_id,
		      "server", st->server,
		      "public_key", pub_b64,
		      "listen_port", (json_int_t)(dev ? dev->listen_port :
					json_integer_value(json_object_get(st->config, "listen_port"))),
		      "revision", (json_int_t)st->revision,
		      "addresses", json_object_get(st->config, "addresses") ?: json_null(),
		      "networks", json_object_get(st->config, "networks") ?: json_null(),
		      "peers", peers);
	if (o)
		json_object_set_new(o, "resolver", json_string(resolver_mode_name(st->resolver)));
	return o;
}

static void human_bytes(char *buf, size_t len, int64_t v)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)v);
	else
		snprintf(buf, len, "%.2f %s", d, unit[u]);
}

static void print_text(json_t *s)
{
	json_t *v, *p;
	size_t i, j;

	printf("interface: %s (%s)\n", json_string_value(json_object_get(s, "interface")),
	       json_is_true(json_object_get(s, "up")) ? json_string_value(json_object_get(s, "backend")) :
							 "missing");
	printf("  host id: %lld\n  server: %s\n  public key: %s\n  listening port: %lld\n  revision: %lld\n",
	       (long long)json_integer_value(json_object_get(s, "host_id")),
	       json_string_value(json_object_get(s, "server")),
	       json_string_value(json_object_get(s, "public_key")),
	       (long long)json_integer_value(json_object_get(s, "listen_port")),
	       (long long)json_integer_value(json_object_get(s, "revision")));
	printf("  resolver: %s\n", json_string_value(json_object_get(s, "resolver")));
	printf("  addresses:");
	json_array_foreach(json_object_get(s, "addresses"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n  networks:");
	json_array_foreach(json_object_get(s, "networks"), i, v) {
		json_t *by = json_object_get(v, "relayed_by"), *n;

		printf(" %s", json_string_value(json_object_get(v, "name")));
		/* Relays: this host reaches the network only through another, or forwards for others. */
		if (json_is_string(by))
			printf(" (relayed by %s)", json_string_value(by));
		if (json_array_size(json_object_get(v, "relaying"))) {
			printf(" (relay for");
			json_array_foreach(json_object_get(v, "relaying"), j, n)
				printf("%s %s", j ? "," : "", json_string_value(n));
			printf(")");
		}
		/* The network's DNS server node (its names are NAME.NETWORK there). */
		n = json_object_get(v, "dns");
		if (json_is_string(json_object_get(n, "server")))
			printf(" (DNS %s%s)", json_string_value(json_object_get(n, "server")),
			       json_is_true(json_object_get(n, "serve")) ? ", served here" : "");
	}
	printf("\n");
	json_array_foreach(json_object_get(s, "peers"), i, p) {
		json_t *age = json_object_get(p, "handshake_age_seconds");
		char rx[32], tx[32];

		printf("\npeer: %s (%s)\n", json_string_value(json_object_get(p, "name")) ?: "?",
		       json_string_value(json_object_get(p, "public_key")));
		printf("  endpoint: %s\n", json_string_value(json_object_get(p, "endpoint")) ?: "(none)");
		printf("  allowed ips:");
		json_array_foreach(json_object_get(p, "allowed_ips"), j, v)
			printf("%s %s", j ? "," : "", json_string_value(v));
		printf("\n");
		if (json_array_size(json_object_get(p, "relaying"))) {
			printf("  relays to:");
			json_array_foreach(json_object_get(p, "relaying"), j, v)
				printf("%s %s", j ? "," : "", json_string_value(v));
			printf("\n");
		}
		if (json_is_integer(age))
			printf("  latest handshake: %lld seconds ago\n", (long long)json_integer_value(age));
		else
			printf("  latest handshake: never\n");
		human_bytes(rx, sizeof(rx), json_integer_value(json_object_get(p, "rx_bytes")));
		human_bytes(tx, sizeof(tx), json_integer_value(json_object_get(p, "tx_bytes")));
		printf("  transfer: %s received, %s sent\n", rx, tx);
	}
}

int cmd_status(const struct agent_opts *o, int argc, char **argv)
{
	struct agent_state st;
	struct wg_device *dev = NULL;
	bool as_json = false;
	json_t *s;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else {
			fprintf(stderr, "%s: status: unknown argument '%s'\n", AGENT_PROG, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (agent_load(o, &st) < 0)
		return EXIT_FAIL;
	ret = wg_get_device(st.ifname, &dev);
	if (ret < 0)
		dev = NULL;
	s = status_json(&st, dev);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", AGENT_PROG);
		ret = EXIT_FAIL;
	} else if (as_json) {
		char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (text)
			puts(text);
		free(text);
		ret = EXIT_OK;
	} else {
		print_text(s);
		ret = EXIT_OK;
	}
	json_decref(s);
	wg_free_device(dev);
	state_clear(&st);
	return ret;
}
