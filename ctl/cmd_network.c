/*
 * meshgatectl network list | show | create | update | delete
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct column network_cols[] = {
	{ "NAME", "name", COL_STR },
	{ "IPV4", "ipv4_range", COL_STR },
	{ "IPV6", "ipv6_range", COL_STR },
	{ "PORT", "listen_port", COL_STR },
	{ "REVISION", "revision", COL_STR },
	{ NULL, NULL, 0 },
};

static const char *const policies[] = { "allow", "deny", NULL };

/* Options of create (create = true) and update into body. */
static int network_opts(struct args *a, struct ctl *c, json_t *body, bool create)
{
	int r;

	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		r = 0;
		if (create)
			r = args_str_field(a, "--ipv4", body, "ipv4_range");
		if (create && !r)
			r = args_str_field(a, "--ipv6", body, "ipv6_range");
		if (!r)
			r = args_int_field(a, "--port", 1, 65535, body, "listen_port");
		if (!r)
			r = args_int_field(a, "--keepalive", 0, 3600, body, "keepalive");
		if (!r)
			r = args_int_field(a, "--mtu", 1280, 9000, body, "mtu");
		if (!r)
			r = args_choice_field(a, "--policy", policies, body, "default_policy");
		if (r < 0)
			return EXIT_USAGE;
		if (!r)
			return args_unexpected(a);
	}
	return a->bad ? EXIT_USAGE : EXIT_OK;
}

int cmd_network(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "create", "update", "delete", NULL };
	const char *sub, *name = NULL;
	json_t *body = NULL;
	char *path = NULL;
	struct args a;
	int ret;

	args_init(&a, "network", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (strcmp(sub, "list") && !(name = args_positional(&a, "NAME")))
		return EXIT_USAGE;

	if (!strcmp(sub, "create") || !strcmp(sub, "update")) {
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		if (!strcmp(sub, "create") && body_set_str(&a, body, "name", name) < 0) {
			ret = EXIT_USAGE;
			goto out;
		}
		ret = network_opts(&a, c, body, !strcmp(sub, "create"));
		if (ret != EXIT_OK)
			goto out;
		if (!strcmp(sub, "create") && !json_object_get(body, "ipv4_range")) {
			ret = usage_error(a.cmd, "network create: --ipv4 CIDR is required");
			goto out;
		}
		if (!strcmp(sub, "update") && !json_object_size(body)) {
			ret = usage_error(a.cmd, "network update: nothing to change");
			goto out;
		}
	} else {
		ret = args_done(&a, c);
		if (ret != EXIT_OK)
			goto out;
	}
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}

	if (!strcmp(sub, "list")) {
		ret = run_get(c, "/api/v1/networks", network_cols);
		goto out;
	}
	path = api_path("networks", name, NULL);
	if (!strcmp(sub, "show"))
		ret = run_get(c, path, NULL);
	else if (!strcmp(sub, "create"))
		ret = run_send(c, "POST", "/api/v1/networks", body, NULL);
	else if (!strcmp(sub, "update"))
		ret = run_send(c, "PATCH", path, body, NULL);
	else
		ret = run_delete(c, path, "network", name);
out:
	free(path);
	json_decref(body);
	return ret;
}
