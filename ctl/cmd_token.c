/*
 * meshgatectl token list | create | delete  (API tokens)
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct column token_cols[] = {
	{ "ID", "id", COL_STR },
	{ "NAME", "name", COL_STR },
	{ "EXPIRES", "expires_at", COL_TIME },
	{ NULL, NULL, 0 },
};

/* Ten years. */
#define MAX_EXPIRES_IN (10LL * 366 * 24 * 3600)

static int token_create(struct ctl *c, struct args *a)
{
	json_t *body = json_object(), *out = NULL;
	const char *name;
	int ret, r;

	if (!body)
		return EXIT_FAIL;
	name = args_positional(a, "NAME");
	if (!name || body_set_str(a, body, "name", name) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		r = args_int_field(a, "--expires-in", 1, MAX_EXPIRES_IN, body, "expires_in");
		if (!r)
			args_unexpected(a);
		if (r <= 0)
			break;
	}
	if (a->bad) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = api_call(c, "POST", "/api/v1/tokens", body, &out, NULL);
	if (!ret)
		ret = print_with_token(c, out, token_cols);
	ret = ret < 0 ? EXIT_FAIL : EXIT_OK;
	if (out)
		json_wipe_string(out, "token");
out:
	json_decref(out);
	json_decref(body);
	return ret;
}

int cmd_token(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "create", "delete", NULL };
	const char *sub, *id;
	struct args a;
	char *path;
	int ret;

	args_init(&a, "token", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (!strcmp(sub, "create"))
		return token_create(c, &a);
	if (!strcmp(sub, "list")) {
		ret = args_done(&a, c);
		if (ret != EXIT_OK)
			return ret;
		if (ctl_require_token(c) < 0)
			return EXIT_FAIL;
		return run_get(c, "/api/v1/tokens", token_cols);
	}
	id = args_positional(&a, "ID");
	if (!id)
		return EXIT_USAGE;
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	path = api_path("tokens", id, NULL);
	ret = run_delete(c, path, "token", id);
	free(path);
	return ret;
}
