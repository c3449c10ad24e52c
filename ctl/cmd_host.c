/*
 * meshgatectl host list | show | update | delete
 * meshgatectl node list | show | delete
 */
#include <stdlib.h>
#include <string.h>

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

int cmd_host(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "update", "delete", NULL };
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
	else if (!strcmp(sub, "update"))
		ret = run_send(c, "PATCH", path, body, NULL);
	else
		ret = run_delete(c, path, "host", id);
out:
	free(path);
	json_decref(body);
	return ret;
}

int cmd_node(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "delete", NULL };
	const char *sub, *net, *host = NULL;
	char *path = NULL, *esc = NULL, *what = NULL;
	struct args a;
	int ret;

	args_init(&a, "node", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub || !(net = args_positional(&a, "NETWORK")))
		return EXIT_USAGE;
	if (strcmp(sub, "list") && !(host = args_positional(&a, "HOST_ID")))
		return EXIT_USAGE;
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;

	if (!host) {
		path = api_path("networks", net, "/nodes");
		ret = run_get(c, path, node_cols);
		goto out;
	}
	esc = url_escape(host);
	what = xasprintf("/nodes/%s", esc);
	path = api_path("networks", net, what);
	free(what);
	if (!strcmp(sub, "show")) {
		ret = run_get(c, path, NULL);
	} else {
		what = xasprintf("%s/%s", net, host);
		ret = run_delete(c, path, "node", what);
		free(what);
	}
out:
	free(esc);
	free(path);
	return ret;
}
