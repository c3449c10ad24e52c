/*
 * Fuzzer: API request bodies (lib/json.c).
 *
 * The first byte picks one of the server's field tables (copied from the
 * handlers in server/api_*.c: same names, types, bounds and nullability);
 * the rest is the body. It goes through mg_json_parse_object and
 * mg_json_unpack exactly as request_json() does, then through the checks
 * the handlers run on what came out (string arrays, names, prefixes, keys,
 * nested objects).
 *
 * Invariants when mg_json_unpack accepts a body: every key is in the table,
 * every required field is there, every output has the field's type and
 * value, strings hold no NUL byte, integers are within their bounds,
 * `present` says exactly which fields were given. When it refuses: a
 * non-empty, NUL-terminated message.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "json.h"
#include "key.h"
#include "names.h"

#define S MG_JSON_STRING
#define I MG_JSON_INT
#define B MG_JSON_BOOL
#define A MG_JSON_ARRAY
#define O MG_JSON_OBJECT
#define F(n, t, ...) { .name = n, .type = t, __VA_ARGS__ }

/* server/api_networks.c */
static const struct mg_json_field networks_create[] = {
	F("name", S, .required = true),
	F("ipv4_range", S, .required = true),
	F("ipv6_range", S, .nullable = true),
	F("listen_port", I, .min = 1, .max = 65535),
	F("keepalive", I, .min = 0, .max = 3600),
	F("mtu", I, .min = 1280, .max = 9000),
	F("default_policy", S),
	{ 0 }
};
static const struct mg_json_field networks_patch[] = {
	F("listen_port", I, .min = 1, .max = 65535),
	F("keepalive", I, .min = 0, .max = 3600),
	F("mtu", I, .min = 1280, .max = 9000),
	F("default_policy", S),
	{ 0 }
};
/* server/api_hosts.c */
static const struct mg_json_field hosts_register[] = {
	F("token", S, .required = true),
	F("public_key", S, .required = true),
	F("name", S, .required = true),
	F("listen_port", I, .min = 1, .max = 65535),
	F("endpoint", S, .nullable = true),
	F("local_endpoints", A),
	F("os", S),
	F("version", S),
	{ 0 }
};
static const struct mg_json_field hosts_patch[] = {
	F("name", S),
	F("listen_port", I, .min = 1, .max = 65535),
	F("endpoint", S, .nullable = true),
	F("local_endpoints", A),
	{ 0 }
};
/* server/api_extclients.c (SETTINGS_FIELDS appended) */
#define SETTINGS \
	F("dns", A), \
	F("mtu", I, .min = 1280, .max = 9000), \
	F("keepalive", I, .min = 0, .max = 3600), \
	F("extra_allowed_ips", A), \
	F("full_tunnel", B), \
	F("enabled", B), \
	F("expires_at", I, .min = 1, .max = 253402300799LL, .nullable = true)
static const struct mg_json_field extclients_create[] = {
	F("network", S, .required = true),
	F("gateway_host_id", I, .required = true, .min = 1, .max = INT64_MAX),
	F("name", S, .required = true),
	F("public_key", S, .nullable = true),
	F("owner_user_id", I, .min = 1, .max = INT64_MAX),
	SETTINGS,
	{ 0 }
};
static const struct mg_json_field extclients_patch[] = {
	F("name", S),
	SETTINGS,
	{ 0 }
};
/* server/api_keys.c */
static const struct mg_json_field keys_create[] = {
	F("networks", A, .required = true),
	F("uses", I, .min = 1, .max = 1000000),
	F("unlimited", B),
	F("expires_at", I, .min = 1, .max = 253402300799LL),
	F("tags", A),
	{ 0 }
};
/* server/api_users.c */
static const struct mg_json_field users_create[] = {
	F("username", S, .required = true),
	F("password", S, .required = true),
	F("role", S),
	{ 0 }
};
static const struct mg_json_field users_patch[] = {
	F("password", S),
	F("role", S),
	{ 0 }
};
static const struct mg_json_field tokens_create[] = {
	F("name", S, .required = true),
	F("expires_in", I, .min = 60, .max = 10LL * 366 * 86400),
	{ 0 }
};
/* server/api_session.c */
static const struct mg_json_field setup_post[] = {
	F("setup_token", S, .required = true),
	F("username", S, .required = true),
	F("password", S, .required = true),
	{ 0 }
};
static const struct mg_json_field login[] = {
	F("username", S, .required = true),
	F("password", S, .required = true),
	{ 0 }
};
static const struct mg_json_field me_password[] = {
	F("current_password", S, .required = true),
	F("new_password", S, .required = true),
	{ 0 }
};
/* server/api_agent.c */
static const struct mg_json_field checkin[] = {
	F("listen_port", I, .min = 1, .max = 65535),
	F("local_endpoints", A),
	F("revision", I, .min = 0, .max = INT64_MAX),
	F("peers", A),
	{ 0 }
};
static const struct mg_json_field checkin_peer[] = {
	F("public_key", S, .required = true),
	F("last_handshake", I, .min = 0, .max = INT64_MAX),
	F("rx_bytes", I, .min = 0, .max = INT64_MAX),
	F("tx_bytes", I, .min = 0, .max = INT64_MAX),
	F("endpoint", S, .nullable = true),
	{ 0 }
};
/* server/api_gateways.c */
static const struct mg_json_field egress_put[] = {
	F("ranges", A),
	F("internet_gateway", B),
	F("wins", B),
	{ 0 }
};
static const struct mg_json_field egress_range[] = {
	F("range", S, .required = true),
	F("nat", B),
	{ 0 }
};
/* A request that takes no body (request_no_body). */
static const struct mg_json_field none[] = { { 0 } };
/* Every type once, for the unpacker's own sake. */
static const struct mg_json_field all_types[] = {
	F("s", S, .required = true),
	F("sn", S, .nullable = true),
	F("i", I),
	F("ib", I, .min = -5, .max = 5),
	F("in", I, .min = INT64_MIN, .max = -1, .nullable = true),
	F("b", B),
	F("a", A, .nullable = true),
	F("o", O),
	F("on", O, .nullable = true, .required = true),
	{ 0 }
};

static const struct mg_json_field *const tables[] = {
	networks_create, networks_patch, hosts_register, hosts_patch, extclients_create,
	extclients_patch, keys_create, users_create, users_patch, tokens_create, setup_post,
	login, me_password, checkin, checkin_peer, egress_put, egress_range, none, all_types,
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))
#define MAX_FIELDS 16

union out {
	const char *s;
	int64_t i;
	bool b;
	json_t *j;
};

static bool in_table(const struct mg_json_field *t, const char *key)
{
	for (; t->name; t++)
		if (!strcmp(t->name, key))
			return true;
	return false;
}

static void check_err(const char *err, size_t errlen)
{
	assert(memchr(err, '\0', errlen));
	assert(err[0] != '\0');
}

/*
 * Unpacks obj with table t, outputs pointed at fresh storage, and checks
 * what came back. Returns the result of mg_json_unpack.
 */
static int unpack_checked(json_t *obj, const struct mg_json_field *t, union out *outs)
{
	struct mg_json_field fields[MAX_FIELDS + 1];
	bool present[MAX_FIELDS];
	char err[256];
	const char *key;
	json_t *v;
	size_t n, k;
	int ret;

	for (n = 0; t[n].name; n++) {
		assert(n < MAX_FIELDS);
		fields[n] = t[n];
		fields[n].out = &outs[n];
		fields[n].present = &present[n];
		memset(&outs[n], 0xa5, sizeof(outs[n]));
		present[n] = true;	/* must be reset by mg_json_unpack */
	}
	memset(&fields[n], 0, sizeof(fields[n]));
	memset(err, 'x', sizeof(err));

	ret = mg_json_unpack(obj, fields, err, sizeof(err));
	if (ret < 0) {
		assert(ret == -EINVAL);
		check_err(err, sizeof(err));
		return ret;
	}
	assert(ret == 0);
	assert(json_is_object(obj));
	json_object_foreach(obj, key, v)
		assert(in_table(t, key));
	for (k = 0; k < n; k++) {
		const struct mg_json_field *f = &t[k];

		v = json_object_get(obj, f->name);
		assert(present[k] == (v != NULL));
		if (!v) {
			assert(!f->required);
			continue;
		}
		if (json_is_null(v) && f->nullable)
			continue;
		switch (f->type) {
		case MG_JSON_STRING:
			assert(json_is_string(v) && outs[k].s == json_string_value(v));
			assert(strlen(outs[k].s) == json_string_length(v));
			break;
		case MG_JSON_INT:
			assert(json_is_integer(v) && outs[k].i == json_integer_value(v));
			if (f->min || f->max)
				assert(outs[k].i >= f->min && outs[k].i <= f->max);
			break;
		case MG_JSON_BOOL:
			assert(json_is_boolean(v) && outs[k].b == json_is_true(v));
			break;
		case MG_JSON_ARRAY:
			assert(json_is_array(v) && outs[k].j == v);
			break;
		case MG_JSON_OBJECT:
			assert(json_is_object(v) && outs[k].j == v);
			break;
		}
	}
	return 0;
}

/* What the handlers do next with a string array: the array check, then each item. */
static void string_array(json_t *arr, size_t max, const char *(*check)(const char *))
{
	char err[256];
	size_t i;
	json_t *v;
	struct mg_prefix p;
	struct mg_ip ip;

	if (!arr || json_is_null(arr))
		return;
	if (mg_json_string_array(arr, "f", max, err, sizeof(err)) < 0) {
		check_err(err, sizeof(err));
		return;
	}
	assert(json_array_size(arr) <= max);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);

		assert(s && strlen(s) == json_string_length(v));
		if (check)
			check(s);
		mg_ip_parse(s, &ip);
		mg_prefix_parse_canonical(s, &p);
	}
}

static int field_index(const struct mg_json_field *t, const char *name)
{
	int i;

	for (i = 0; t[i].name; i++)
		if (!strcmp(t[i].name, name))
			return i;
	return -1;
}

static void follow_up(const struct mg_json_field *t, json_t *obj, union out *outs)
{
	union out inner[MAX_FIELDS];
	const char *s;
	size_t i;
	json_t *v;
	int k;

	for (k = 0; t[k].name; k++) {
		v = json_object_get(obj, t[k].name);
		if (!v || json_is_null(v))
			continue;
		if (t[k].type == MG_JSON_STRING) {
			s = outs[k].s;
			mg_check_network_name(s);
			mg_check_host_name(s);
			mg_check_user_name(s);
			mg_check_label(s);
			mg_check_endpoint(s);
			mg_key_valid_base64(s);
			mg_check_dns_name(s);
		}
	}
	if (field_index(t, "dns") >= 0)
		string_array(json_object_get(obj, "dns"), 4, NULL);
	if (field_index(t, "extra_allowed_ips") >= 0)
		string_array(json_object_get(obj, "extra_allowed_ips"), 32, NULL);
	if (field_index(t, "local_endpoints") >= 0)
		string_array(json_object_get(obj, "local_endpoints"), 32, mg_check_endpoint);
	if (field_index(t, "networks") >= 0)
		string_array(json_object_get(obj, "networks"), 64, mg_check_network_name);
	if (field_index(t, "tags") >= 0)
		string_array(json_object_get(obj, "tags"), 32, mg_check_label);
	/* Nested objects unpacked element by element, as the handlers do. */
	if (t == checkin && json_is_array(v = json_object_get(obj, "peers"))) {
		json_t *p;

		json_array_foreach(v, i, p)
			if (json_is_object(p))
				unpack_checked(p, checkin_peer, inner);
	}
	if (t == egress_put && json_is_array(v = json_object_get(obj, "ranges"))) {
		json_t *r;
		struct mg_prefix pr;

		json_array_foreach(v, i, r)
			if (json_is_object(r) && unpack_checked(r, egress_range, inner) == 0)
				mg_prefix_parse_canonical(inner[0].s, &pr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mg_json_field *t;
	union out outs[MAX_FIELDS];
	char err[256];
	json_t *obj;

	if (size < 1)
		return 0;
	t = tables[data[0] % N_TABLES];
	data++, size--;

	memset(err, 'x', sizeof(err));
	obj = mg_json_parse_object((const char *)data, size, err, sizeof(err));
	if (!obj) {
		check_err(err, sizeof(err));
		return 0;
	}
	assert(json_is_object(obj));
	if (unpack_checked(obj, t, outs) == 0)
		follow_up(t, obj, outs);
	json_decref(obj);
	return 0;
}
