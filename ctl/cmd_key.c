/*
 * meshgatectl key list | create | delete  (enrollment keys)
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static const struct column key_cols[] = {
	{ "ID", "id", COL_STR },
	{ "NETWORKS", "networks", COL_LIST },
	{ "USES", "uses_remaining", COL_USES },
	{ "EXPIRES", "expires_at", COL_TIME },
	{ NULL, NULL, 0 },
};

/* Ten years: anything longer is almost certainly a typo. */
#define MAX_EXPIRES_IN (10LL * 366 * 24 * 3600)

/*
 * Prints the response of a create that returns a one-time secret in "token":
 * --json as is; else the object as a one-row table, then the token alone on
 * the last line.
 */
int print_with_token(struct ctl *c, json_t *out, const struct column *cols)
{
	json_t *tok = json_object_get(out, "token"), *row;
	char *esc;

	if (c->json)
		return print_json(stdout, out);
	row = json_array();
	if (!row || json_array_append(row, out) < 0) {
		json_decref(row);
		return -1;
	}
	print_table(stdout, row, cols);
	json_decref(row);
	if (!json_is_string(tok)) {
		errorx("the server did not return a token");
		return -1;
	}
	esc = escape_str(json_string_value(tok));
	printf("%s\n", esc);
	free(esc);
	return 0;
}

static int key_create(struct ctl *c, struct args *a)
{
	const char *val;
	bool uses = false, unlimited = false;
	long long expires_in = 0;
	json_t *body, *out = NULL;
	int ret, r;

	body = json_object();
	if (!body)
		return EXIT_FAIL;
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_opt(a, "--network", &val)) {
			if (body_append_str(a, body, "networks", val) < 0)
				break;
			continue;
		}
		if (args_opt(a, "--tag", &val)) {
			if (body_append_str(a, body, "tags", val) < 0)
				break;
			continue;
		}
		if (args_opt(a, "--expires-in", &val)) {
			if (parse_int(a->cmd, "--expires-in", val, 1, MAX_EXPIRES_IN, &expires_in) < 0)
				a->bad = true;
			continue;
		}
		if (args_flag(a, "--unlimited")) {
			unlimited = true;
			continue;
		}
		r = args_int_field(a, "--uses", 1, INT_MAX, body, "uses");
		if (r > 0) {
			uses = true;
			continue;
		}
		if (r == 0)
			args_unexpected(a);
		break;
	}
	if (a->bad) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!json_object_get(body, "networks")) {
		ret = usage_error(a->cmd, "key create: at least one --network NAME is required");
		goto out;
	}
	if (uses && unlimited) {
		ret = usage_error(a->cmd, "key create: --uses and --unlimited exclude each other");
		goto out;
	}
	if (!uses && !unlimited && !expires_in) {
		ret = usage_error(a->cmd, "key create: give --uses N, --unlimited or --expires-in SECONDS");
		goto out;
	}
	if (unlimited)
		json_object_set_new(body, "unlimited", json_true());
	if (expires_in)
		json_object_set_new(body, "expires_at", json_integer((json_int_t)time(NULL) + expires_in));
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = api_call(c, "POST", "/api/v1/enrollment-keys", body, &out, NULL);
	if (!ret)
		ret = print_with_token(c, out, key_cols);
	ret = ret < 0 ? EXIT_FAIL : EXIT_OK;
	if (out)
		json_wipe_string(out, "token");
out:
	json_decref(out);
	json_decref(body);
	return ret;
}

int cmd_key(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "create", "delete", NULL };
	const char *sub, *id;
	struct args a;
	char *path;
	int ret;

	args_init(&a, "key", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (!strcmp(sub, "create"))
		return key_create(c, &a);
	if (!strcmp(sub, "list")) {
		ret = args_done(&a, c);
		if (ret != EXIT_OK)
			return ret;
		if (ctl_require_token(c) < 0)
			return EXIT_FAIL;
		return run_get(c, "/api/v1/enrollment-keys", key_cols);
	}
	id = args_positional(&a, "ID");
	if (!id)
		return EXIT_USAGE;
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	path = api_path("enrollment-keys", id, NULL);
	ret = run_delete(c, path, "enrollment key", id);
	free(path);
	return ret;
}
