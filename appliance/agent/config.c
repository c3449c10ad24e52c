/*
 * The CONFIG the server hands out (docs/API.md): checking its shape before
 * anything is applied, and applying update messages (deltas) to it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"

#define MAX_PEERS 100000
/* A relay's entry at a relayed host carries everyone of the network (v4 and v6). */
#define MAX_ALLOWED_IPS 262144

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool int_in(json_t *v, int64_t min, int64_t max)
{
	return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

static int check_prefixes(json_t *arr, const char *what, char *err, size_t errlen)
{
	struct mg_prefix p;
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > MAX_ALLOWED_IPS)
		return fail(err, errlen, "%s must be an array of prefixes", what);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || mg_prefix_parse(json_string_value(v), &p) < 0)
			return fail(err, errlen, "%s[%zu] is not a prefix", what, i);
	}
	return 0;
}

static int check_peer(json_t *p, size_t i, char *err, size_t errlen)
{
	json_t *ep, *ka;

	if (!json_is_object(p))
		return fail(err, errlen, "peers[%zu] must be an object", i);
	if (!json_is_string(json_object_get(p, "public_key")) ||
	    mg_key_valid_base64(json_string_value(json_object_get(p, "public_key"))) < 0)
		return fail(err, errlen, "peers[%zu].public_key is not a WireGuard key", i);
	ep = json_object_get(p, "endpoint");
	if (ep && !json_is_null(ep) && (!json_is_string(ep) || json_string_length(ep) > 300))
		return fail(err, errlen, "peers[%zu].endpoint must be a string or null", i);
	ka = json_object_get(p, "persistent_keepalive");
	if (ka && !int_in(ka, 0, 65535))
		return fail(err, errlen, "peers[%zu].persistent_keepalive must be 0..65535", i);
	if (json_object_get(p, "name") && !json_is_string(json_object_get(p, "name")))
		return fail(err, errlen, "peers[%zu].name must be a string", i);
	return check_prefixes(json_object_get(p, "allowed_ips"), "peers[].allowed_ips", err, errlen);
}

static int check_peers(json_t *peers, char *err, size_t errlen)
{
	size_t i;
	json_t *p;
	int ret;

	if (!json_is_array(peers) || json_array_size(peers) > MAX_PEERS)
		return fail(err, errlen, "peers must be an array");
	json_array_foreach(peers, i, p) {
		ret = check_peer(p, i, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int config_check(json_t *cfg, char *err, size_t errlen)
{
	json_t *nets, *v;
	size_t i;
	int ret;

	if (!json_is_object(cfg))
		return fail(err, errlen, "configuration must be an object");
	if (!int_in(json_object_get(cfg, "revision"), 0, INT64_MAX))
		return fail(err, errlen, "revision must be a non-negative integer");
	if (!json_is_integer(json_object_get(cfg, "host_id")))
		return fail(err, errlen, "host_id must be an integer");
	v = json_object_get(cfg, "listen_port");
	if (v && !int_in(v, 0, 65535))
		return fail(err, errlen, "listen_port must be 0..65535");
	v = json_object_get(cfg, "mtu");
	if (v && !int_in(v, 576, 65535))
		return fail(err, errlen, "mtu must be 576..65535");
	ret = check_prefixes(json_object_get(cfg, "addresses"), "addresses", err, errlen);
	if (ret < 0)
		return ret;
	nets = json_object_get(cfg, "networks");
	if (nets && !json_is_array(nets))
		return fail(err, errlen, "networks must be an array");
	json_array_foreach(nets, i, v) {
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
			return fail(err, errlen, "networks[%zu] must be an object with a name", i);
	}
	return check_peers(json_object_get(cfg, "peers"), err, errlen);
}

int64_t config_revision(json_t *cfg)
{
	return json_integer_value(json_object_get(cfg, "revision"));
}

static bool peer_matches(json_t *have, json_t *want)
{
	json_t *a = json_object_get(have, "host_id"), *b = json_object_get(want, "host_id");

	if (json_is_integer(a) && json_is_integer(b) && json_integer_value(a) == json_integer_value(b))
		return true;
	return json_equal(json_object_get(have, "public_key"), json_object_get(want, "public_key"));
}

static void remove_by_key(json_t *peers, const char *key)
{
	size_t i = 0;

	while (i < json_array_size(peers)) {
		const char *k = json_string_value(json_object_get(json_array_get(peers, i), "public_key"));

		if (k && !strcmp(k, key))
			json_array_remove(peers, i);
		else
			i++;
	}
}

int config_apply_update(json_t *cfg, int64_t have, int64_t host_id, json_t *msg, json_t **out,
			char *err, size_t errlen)
{
	json_t *base, *rev, *full, *ups, *rms, *n = NULL, *peers, *p, *v;
	int64_t r;
	size_t i, j;
	int ret;

	*out = NULL;
	if (!json_is_object(msg))
		return fail(err, errlen, "update must be a JSON object");
	v = json_object_get(msg, "host_id");
	if (!json_is_integer(v) || json_integer_value(v) != host_id)
		return fail(err, errlen, "update is for another host");
	base = json_object_get(msg, "base_revision");
	rev = json_object_get(msg, "revision");
	if (!json_is_integer(rev) || (base && !json_is_integer(base)))
		return fail(err, errlen, "update without revisions");
	r = json_integer_value(rev);
	full = json_object_get(msg, "config");
	ups = json_object_get(msg, "peers_upsert");
	rms = json_object_get(msg, "peers_remove");

	if (r <= have)
		return UPDATE_STALE;
	if (full && !json_is_null(full)) {
		ret = config_check(full, err, errlen);
		if (ret < 0)
			return ret;
		if (json_integer_value(json_object_get(full, "host_id")) != host_id)
			return fail(err, errlen, "update carries another host's configuration");
		/* A whole configuration does not need the base to match. */
		n = json_deep_copy(full);
		if (!n)
			return -ENOMEM;
		json_object_set_new(n, "revision", json_integer(r));
		*out = n;
		return UPDATE_APPLIED;
	}
	if (!cfg || !base || json_integer_value(base) != have)
		return UPDATE_NEED_PULL;
	if (ups && !json_is_null(ups)) {
		ret = check_peers(ups, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (rms && !json_is_null(rms)) {
		if (!json_is_array(rms))
			return fail(err, errlen, "peers_remove must be an array");
		json_array_foreach(rms, i, v) {
			if (!json_is_string(v))
				return fail(err, errlen, "peers_remove[%zu] must be a key", i);
		}
	}

	n = json_deep_copy(cfg);
	if (!n)
		return -ENOMEM;
	peers = json_object_get(n, "peers");
	if (!json_is_array(peers)) {
		peers = json_array();
		json_object_set_new(n, "peers", peers);
	}
	json_array_foreach(rms, i, v)
		remove_by_key(peers, json_string_value(v));
	json_array_foreach(ups, i, p) {
		bool replaced = false;

		for (j = 0; j < json_array_size(peers); j++) {
			if (peer_matches(json_array_get(peers, j), p)) {
				json_array_set(peers, j, p);
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append(peers, p);
	}
	json_object_set_new(n, "revision", json_integer(r));
	*out = n;
	return UPDATE_APPLIED;
}
