/*
 * meshgatectl acl show | policy | add | delete
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct column rule_cols[] = {
	{ "ID", "id", COL_STR },
	{ "ACTION", "action", COL_STR },
	{ "SRC", "src", COL_SEL },
	{ "DST", "dst", COL_SEL },
	{ "PROTO", "proto", COL_STR },
	{ "PORTS", "ports", COL_STR },
	{ NULL, NULL, 0 },
};

static const char *const actions[] = { "allow", "deny", NULL };
static const char *const protos[] = { "any", "tcp", "udp", "icmp", NULL };

static void oom(void)
{
	errorx("out of memory");
	exit(EXIT_FAIL);
}

/*
 * "any", "node:HOST_ID", "tag:TAG", "extclient:ID" or "egress:CIDR" into
 * body[key] = {"kind", "value"?}. The server validates the values further.
 * 0, or -1 after a usage error.
 */
static int acl_selector(struct args *a, const char *opt, const char *val, json_t *body,
			const char *key)
{
	const char *colon = strchr(val, ':'), *value = colon ? colon + 1 : NULL;
	size_t klen = colon ? (size_t)(colon - val) : strlen(val);
	long long id;
	json_t *sel;

	if (klen == 3 && !strncmp(val, "any", 3)) {
		if (colon) {
			usage_error(a->cmd, "%s: 'any' takes no value (got '%s')", opt, val);
			goto bad;
		}
		sel = json_pack("{s:s}", "kind", "any");
	} else if ((klen == 4 && !strncmp(val, "node", 4)) || (klen == 3 && !strncmp(val, "tag", 3)) ||
		   (klen == 9 && !strncmp(val, "extclient", 9)) || (klen == 6 && !strncmp(val, "egress", 6))) {
		static const char *const what[] = { [3] = "TAG", [4] = "HOST_ID", [6] = "CIDR", [9] = "ID" };
		char kind[10];

		snprintf(kind, sizeof(kind), "%.*s", (int)klen, val);
		if (!value || !*value) {
			usage_error(a->cmd, "%s: '%s' needs a value (%s:%s)", opt, kind, kind, what[klen]);
			goto bad;
		}
		if ((klen == 4 || klen == 9) && parse_int(a->cmd, opt, value, 1, LLONG_MAX, &id) < 0)
			goto bad;
		sel = json_pack("{s:s}", "kind", kind);
		if (!sel)
			oom();
		if (body_set_str(a, sel, "value", value) < 0) {
			json_decref(sel);
			return -1;
		}
	} else {
		usage_error(a->cmd, "%s: '%s' is not any, node:HOST_ID, tag:TAG, extclient:ID or egress:CIDR", opt, val);
		goto bad;
	}
	if (!sel || json_object_set_new(body, key, sel) < 0)
		oom();
	return 0;
bad:
	a->bad = true;
	return -1;
}

/* Options of "acl add" into body. */
static int acl_add_opts(struct args *a, struct ctl *c, json_t *body)
{
	const char *val;
	int r;

	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_opt(a, "--src", &val)) {
			if (acl_selector(a, "--src", val, body, "src") < 0)
				return EXIT_USAGE;
			continue;
		}
		if (args_opt(a, "--dst", &val)) {
			if (acl_selector(a, "--dst", val, body, "dst") < 0)
				return EXIT_USAGE;
			continue;
		}
		if (args_opt(a, "--ports", &val)) {
			if (body_set_str(a, body, "ports", val) < 0)
				return EXIT_USAGE;
			continue;
		}
		r = args_choice_field(a, "--action", actions, body, "action");
		if (!r)
			r = args_choice_field(a, "--proto", protos, body, "proto");
		if (r < 0)
			return EXIT_USAGE;
		if (!r)
			return args_unexpected(a);
	}
	if (a->bad)
		return EXIT_USAGE;
	if (!json_object_get(body, "src") || !json_object_get(body, "dst") ||
	    !json_object_get(body, "action"))
		return usage_error(a->cmd, "acl add: --src, --dst and --action are required");
	return EXIT_OK;
}

/* GET the ACL: --json as is, else the policy then the rules table. */
static int acl_show(struct ctl *c, const char *path)
{
	json_t *out = NULL;
	char *net, *pol;
	int ret;

	ret = api_call(c, "GET", path, NULL, &out, NULL);
	if (ret < 0)
		goto out;
	if (c->json || !json_is_object(out)) {
		print_result(c, out, NULL);
		goto out;
	}
	net = escape_str(json_string_value(json_object_get(out, "network")));
	pol = escape_str(json_string_value(json_object_get(out, "default_policy")));
	printf("network:        %s\n", net ? net : "-");
	printf("default_policy: %s\n\n", pol ? pol : "-");
	free(net);
	free(pol);
	print_table(stdout, json_object_get(out, "rules"), rule_cols);
out:
	json_decref(out);
	return api_exit(ret);
}

int cmd_acl(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "show", "policy", "add", "delete", NULL };
	const char *sub, *net, *arg = NULL;
	char *path = NULL;
	json_t *body = NULL;
	struct args a;
	int ret;

	args_init(&a, "acl", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub || !(net = args_positional(&a, "NETWORK")))
		return EXIT_USAGE;
	if (!strcmp(sub, "policy")) {
		if (!(arg = args_positional(&a, "allow|deny")))
			return EXIT_USAGE;
		if (parse_choice(a.cmd, "policy", arg, actions) < 0)
			return EXIT_USAGE;
	} else if (!strcmp(sub, "delete") && !(arg = args_positional(&a, "RULE_ID"))) {
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "add")) {
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		ret = acl_add_opts(&a, c, body);
	} else {
		ret = args_done(&a, c);
	}
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}

	if (!strcmp(sub, "policy")) {
		body = json_pack("{s:s}", "default_policy", arg);
		if (!body)
			oom();
		path = api_path("networks", net, NULL);
		ret = run_send(c, "PATCH", path, body, NULL);
	} else if (!strcmp(sub, "show")) {
		path = api_path("networks", net, "/acl");
		ret = acl_show(c, path);
	} else if (!strcmp(sub, "add")) {
		path = api_path("networks", net, "/acl/rules");
		ret = run_send(c, "POST", path, body, NULL);
	} else {
		path = api_item_path("networks", net, "acl/rules", arg, NULL);
		ret = run_delete(c, path, "rule", arg);
	}
out:
	json_decref(body);
	free(path);
	return ret;
}
