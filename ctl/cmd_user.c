/*
 * meshgatectl user list | show | create | update | delete
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct column user_cols[] = {
	{ "ID", "id", COL_STR },
	{ "USERNAME", "username", COL_STR },
	{ "ROLE", "role", COL_STR },
	{ NULL, NULL, 0 },
};

static const char *const roles[] = { "admin", "user", NULL };

/* Reads a password into body[key]; 0 or -1 (reported). */
static int body_set_password(json_t *body, const char *key, const char *env, const char *prompt)
{
	char *pw = NULL;
	json_t *s;
	int ret;

	ret = secret_read(env, prompt, &pw);
	if (ret < 0)
		return -1;
	s = json_string(pw);
	secret_free(pw);
	if (!s) {
		errorx("%s: not valid UTF-8", prompt);
		return -1;
	}
	json_object_set_new(body, key, s);
	return 0;
}

static int user_create(struct ctl *c, struct args *a)
{
	json_t *body = json_object();
	const char *name;
	int ret, r;

	if (!body)
		return EXIT_FAIL;
	name = args_positional(a, "USERNAME");
	if (!name || body_set_str(a, body, "username", name) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		r = args_choice_field(a, "--role", roles, body, "role");
		if (!r)
			args_unexpected(a);
		if (r <= 0)
			break;
	}
	if (a->bad) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!json_object_get(body, "role"))
		json_object_set_new(body, "role", json_string("user"));
	if (ctl_require_token(c) < 0 ||
	    body_set_password(body, "password", "MESHGATE_PASSWORD", "password") < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = run_send(c, "POST", "/api/v1/users", body, NULL);
out:
	json_wipe_string(body, "password");
	json_decref(body);
	return ret;
}

static int user_update(struct ctl *c, struct args *a)
{
	json_t *body = json_object();
	bool password = false;
	const char *id;
	char *path = NULL;
	int ret, r;

	if (!body)
		return EXIT_FAIL;
	id = args_positional(a, "ID");
	if (!id) {
		ret = EXIT_USAGE;
		goto out;
	}
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (args_flag(a, "--password-stdin")) {
			password = true;
			continue;
		}
		r = args_choice_field(a, "--role", roles, body, "role");
		if (!r)
			args_unexpected(a);
		if (r <= 0)
			break;
	}
	if (a->bad) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!password && !json_object_size(body)) {
		ret = usage_error(a->cmd, "user update: nothing to change");
		goto out;
	}
	if (ctl_require_token(c) < 0 ||
	    (password && body_set_password(body, "password", NULL, "new password") < 0)) {
		ret = EXIT_FAIL;
		goto out;
	}
	path = api_path("users", id, NULL);
	ret = run_send(c, "PATCH", path, body, NULL);
out:
	free(path);
	json_wipe_string(body, "password");
	json_decref(body);
	return ret;
}

int cmd_user(struct ctl *c, int argc, char **argv, int start)
{
	static const char *const subs[] = { "list", "show", "create", "update", "delete", NULL };
	const char *sub, *id;
	struct args a;
	char *path;
	int ret;

	args_init(&a, "user", argc, argv, start);
	sub = args_subcommand(&a, subs);
	if (!sub)
		return EXIT_USAGE;
	if (!strcmp(sub, "create"))
		return user_create(c, &a);
	if (!strcmp(sub, "update"))
		return user_update(c, &a);
	if (!strcmp(sub, "list")) {
		ret = args_done(&a, c);
		if (ret != EXIT_OK)
			return ret;
		if (ctl_require_token(c) < 0)
			return EXIT_FAIL;
		return run_get(c, "/api/v1/users", user_cols);
	}
	id = args_positional(&a, "ID");
	if (!id)
		return EXIT_USAGE;
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	path = api_path("users", id, NULL);
	if (!strcmp(sub, "show"))
		ret = run_get(c, path, NULL);
	else
		ret = run_delete(c, path, "user", id);
	free(path);
	return ret;
}
