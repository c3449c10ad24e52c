/*
 * meshgatectl host list | show | update | tags | delete
 * meshgatectl node list | show | delete | egress | ingress | relay | unrelay | dns
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"

static const struct column host_cols[] = {
	{ "ID", "id", COL_STR },
	{ "NAME", "name", COL_STR },
	{ "ENDPOINT", "endpoint", COL_STR },
	{ "LISTEN", "listen_port", COL_STR },
	{ "REVISION", "revision", COL_STR },
	{ "LAST_CHECKIN", "last_checkin", COL_TIME },
	{ NULL, NULL, 0 },
};

static const struct column node_cols[] = {
	{ "HOST_ID", "host_id", COL_STR },
	{ "NAME", "host_name", COL_STR },
	{ "ADDRESS", "address", COL_STR },
	{ "ADDRESS6", "address6", COL_STR },
	{ "INGRESS", "ingress", COL_STR },
	{ "EGRESS", "egress", COL_EGRESS },
	{ "RELAY", "relay", COL_STR },
	{ "RELAYED_BY", "relayed_by", COL_STR },
	{ NULL, NULL, 0 },
};

static int host_update_opts(struct args *a, struct ctl *c, json_t *body)
{
	bool endpoint = false, no_endpoint = false;
	int r;

	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_flag(a, "--no-endpoint")) {
			no_endpoint = true;
			json_object_set_new(body, "endpoint", json_null());
			continue;
		}
		r = args_str_field(a, "--endpoint", body, "endpoint");
		if (r > 0)
			endpoint = true;
		if (!r)
			r = args_str_field(a, "--name", body, "name");
		if (!r)
			r = args_int_field(a, "--port", 1, 65535, body, "listen_port");
		if (r < 0)
			return EXIT_USAGE;
		if (!r)
			return args_unexpected(a);
	}
	if (a->bad)
		return EXIT_USAGE;
	if (endpoint && no_endpoint)
		return usage_error(a->cmd, "host update: --endpoint and --no-endpoint exclude each other");
	if (!json_object_size(body))
		return usage_error(a->cmd, "host update: nothing to change");
	return EXIT_OK;
}

/* "host tags ID TAG...": body = {"tags": [TAG, ...]} (none clears). */
static int host_tags_args(struct args *a, struct ctl *c, json_t *body)
{
	const char *s;

	if (json_object_set_new(body, "tags", json_array()) < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	while ((s = args_peek(a)) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (a->bad)
			break;
		if (!strcmp(s, "--")) {
			a->i++;
			while ((s = args_peek(a))) {
				if (body_append_str(a, body, "tags", s) < 0)
					return EXIT_USAGE;
				a->i++;
			}
			break;
		}
		if (s[0] == '-' && s[1])
			return args_unexpected(a);
		if (!*s)
			return usage_error(a->cmd, "host tags: a TAG must not be empty");
		if (body_append_str(a, body, "tags", s) < 0)
			return EXIT_USAGE;
		a->i++;
	}
	return a->bad ? EXIT_USAGE : EXIT_OK;
}

int cmd_host(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "update", "tags", "delete", NULL };
	const char *sub, *id = NULL;
	json_t *body = NULL;
	char *path = NULL;
	struct args a;
	int ret;

	args_init(&a, "host", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (strcmp(sub, "list") && !(id = args_positional(&a, "ID")))
		return EXIT_USAGE;
	if (!strcmp(sub, "update")) {
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		ret = host_update_opts(&a, c, body);
	} else if (!strcmp(sub, "tags")) {
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		ret = host_tags_args(&a, c, body);
	} else {
		ret = args_done(&a, c);
	}
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	if (!strcmp(sub, "list")) {
		ret = run_get(c, "/api/v1/hosts", host_cols);
		goto out;
	}
	path = api_path("hosts", id, NULL);
	if (!strcmp(sub, "show"))
		ret = run_get(c, path, NULL);
	else if (!strcmp(sub, "update") || !strcmp(sub, "tags"))
		ret = run_send(c, "PATCH", path, body, NULL);
	else
		ret = run_delete(c, path, "host", id);
out:
	free(path);
	json_decref(body);
	return ret;
}

/* "CIDR" or "CIDR,nonat" (or ",nat") into {"range", "nat"} appended to body.ranges. */
static int egress_range(struct args *a, json_t *body, const char *val)
{
	const char *comma = strchr(val, ','), *flag = comma ? comma + 1 : NULL;
	struct mg_prefix p;
	json_t *ranges, *r;
	bool nat = true;
	char *cidr;

	if (flag && !strcmp(flag, "nonat"))
		nat = false;
	else if (flag && strcmp(flag, "nat")) {
		usage_error(a->cmd, "--range: '%s' must be CIDR or CIDR,nonat", val);
		a->bad = true;
		return -1;
	}
	cidr = comma ? strndup(val, (size_t)(comma - val)) : strdup(val);
	if (!cidr) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	if (mg_prefix_parse_canonical(cidr, &p) < 0) {
		usage_error(a->cmd, "--range: '%s' is not a CIDR without host bits (e.g. 10.1.0.0/16)",
			    cidr);
		free(cidr);
		a->bad = true;
		return -1;
	}
	ranges = json_object_get(body, "ranges");
	if (!ranges) {
		ranges = json_array();
		if (!ranges || json_object_set_new(body, "ranges", ranges) < 0) {
			errorx("out of memory");
			exit(EXIT_FAIL);
		}
	}
	r = json_pack("{s:s, s:b}", "range", cidr, "nat", nat);
	free(cidr);
	if (!r || json_array_append_new(ranges, r) < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return 0;
}

/*
 * Options of "node egress" (egress = true) and "node ingress": the PUT body
 * in body, or *remove for --remove (DELETE).
 */
static int gateway_opts(struct args *a, struct ctl *c, json_t *body, bool egress, bool *remove)
{
	const char *val;

	*remove = false;
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_flag(a, "--remove")) {
			*remove = true;
			continue;
		}
		if (!egress)
			return args_unexpected(a);
		if (args_opt(a, "--range", &val)) {
			if (egress_range(a, body, val) < 0)
				return EXIT_USAGE;
			continue;
		}
		if (args_flag(a, "--internet")) {
			json_object_set_new(body, "internet_gateway", json_true());
			continue;
		}
		if (args_flag(a, "--wins")) {
			json_object_set_new(body, "wins", json_true());
			continue;
		}
		if (a->bad)
			return EXIT_USAGE;
		return args_unexpected(a);
	}
	if (a->bad)
		return EXIT_USAGE;
	if (*remove && json_object_size(body))
		return usage_error(a->cmd, "node egress: --remove excludes --range, --internet and --wins");
	if (egress && !*remove && !json_object_get(body, "ranges") &&
	    !json_object_get(body, "internet_gateway"))
		return usage_error(a->cmd, "node egress: give --range CIDR[,nonat], --internet or --remove");
	return EXIT_OK;
}

/* "node relay": --relayed HOST_ID[,HOST_ID...] (repeatable) into body.relayed. */
static int relay_opts(struct args *a, struct ctl *c, json_t *body)
{
	json_t *ids = json_array();
	const char *val;

	if (!ids || json_object_set_new(body, "relayed", ids) < 0)
		return EXIT_FAIL;
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (!args_opt(a, "--relayed", &val))
			return a->bad ? EXIT_USAGE : args_unexpected(a);
		for (const char *p = val; *p;) {
			char *end;
			long long id = strtoll(p, &end, 10);

			if (end == p || id <= 0 || (*end && (*end != ',' || !end[1])))
				return usage_error(a->cmd, "--relayed: '%s' must be HOST_ID[,HOST_ID...]", val);
			json_array_append_new(ids, json_integer(id));
			p = *end ? end + 1 : end;
		}
	}
	if (a->bad)
		return EXIT_USAGE;
	if (!json_array_size(ids))
		return usage_error(a->cmd, "node relay: give --relayed HOST_ID[,HOST_ID...] (unrelay removes the role)");
	return EXIT_OK;
}

/* "node dns NETWORK HOST_ID on|off": the node is (or stops being) the network's DNS server. */
static int dns_server_opts(struct args *a, struct ctl *c, bool *remove)
{
	const char *onoff = args_positional(a, "on|off");

	if (!onoff)
		return EXIT_USAGE;
	if (strcmp(onoff, "on") && strcmp(onoff, "off"))
		return usage_error(a->cmd, "node dns: '%s' must be on or off", onoff);
	*remove = !strcmp(onoff, "off");
	return args_done(a, c);
}

int cmd_node(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "delete", "egress", "ingress", "relay", "unrelay", "dns",
					    NULL };
	const char *sub, *net, *host = NULL;
	char *path = NULL, *what = NULL;
	bool gateway, remove = false;
	json_t *body = NULL;
	struct args a;
	int ret;

	args_init(&a, "node", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub || !(net = args_positional(&a, "NETWORK")))
		return EXIT_USAGE;
	if (strcmp(sub, "list") && !(host = args_positional(&a, "HOST_ID")))
		return EXIT_USAGE;
	gateway = !strcmp(sub, "egress") || !strcmp(sub, "ingress") || !strcmp(sub, "relay") ||
		  !strcmp(sub, "unrelay") || !strcmp(sub, "dns");
	if (gateway) {
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		if (!strcmp(sub, "relay")) {
			ret = relay_opts(&a, c, body);
		} else if (!strcmp(sub, "unrelay")) {
			remove = true;
			sub = "relay";
			ret = args_done(&a, c);
		} else if (!strcmp(sub, "dns")) {
			ret = dns_server_opts(&a, c, &remove);
		} else {
			ret = gateway_opts(&a, c, body, !strcmp(sub, "egress"), &remove);
		}
	} else {
		ret = args_done(&a, c);
	}
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}

	if (!host) {
		path = api_path("networks", net, "/nodes");
		ret = run_get(c, path, node_cols);
		goto out;
	}
	what = gateway ? xasprintf("/%s", sub) : NULL;
	path = api_item_path("networks", net, "nodes", host, what);
	free(what);
	what = NULL;
	if (!strcmp(sub, "show")) {
		ret = run_get(c, path, NULL);
	} else if (gateway) {
		/* The answer is the node, shown as "key: value" lines. */
		ret = run_send(c, remove ? "DELETE" : "PUT", path,
			       remove || !json_object_size(body) ? NULL : body, NULL);
	} else {
		what = xasprintf("%s/%s", net, host);
		ret = run_delete(c, path, "node", what);
		free(what);
	}
out:
	json_decref(body);
	free(path);
	return ret;
}
