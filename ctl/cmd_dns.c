/*
 * meshgatectl dns list | add | delete
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"

static const struct column dns_cols[] = {
	{ "ID", "id", COL_STR },
	{ "NAME", "name", COL_STR },
	{ "FQDN", "fqdn", COL_STR },
	{ "ADDRESS", "address", COL_STR },
	{ NULL, NULL, 0 },
};

int cmd_dns(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "add", "delete", NULL };
	const char *sub, *net, *name = NULL, *addr = NULL, *id = NULL;
	char *path = NULL;
	json_t *body = NULL;
	struct mg_ip ip;
	struct args a;
	int ret;

	args_init(&a, "dns", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub || !(net = args_positional(&a, "NETWORK")))
		return EXIT_USAGE;
	if (!strcmp(sub, "add")) {
		if (!(name = args_positional(&a, "NAME")) || !(addr = args_positional(&a, "ADDRESS")))
			return EXIT_USAGE;
		if (mg_ip_parse(addr, &ip) < 0)
			return usage_error(a.cmd, "dns add: '%s' is not an IP address", addr);
		body = json_object();
		if (!body)
			return EXIT_FAIL;
		if (body_set_str(&a, body, "name", name) < 0 ||
		    body_set_str(&a, body, "address", addr) < 0) {
			ret = EXIT_USAGE;
			goto out;
		}
	} else if (!strcmp(sub, "delete") && !(id = args_positional(&a, "ID"))) {
		return EXIT_USAGE;
	}
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		goto out;
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}

	if (!strcmp(sub, "list")) {
		path = api_path("networks", net, "/dns");
		ret = run_get(c, path, dns_cols);
	} else if (!strcmp(sub, "add")) {
		path = api_path("networks", net, "/dns");
		ret = run_send(c, "POST", path, body, NULL);
	} else {
		path = api_item_path("networks", net, "dns", id, NULL);
		ret = run_delete(c, path, "DNS entry", id);
	}
out:
	json_decref(body);
	free(path);
	return ret;
}
