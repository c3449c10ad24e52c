/*
 * meshgatectl setup | login | logout | whoami | passwd
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Prints a USER object: --json as is, else key/value lines. */
static void print_user(struct ctl *c, json_t *user)
{
	print_result(c, user, NULL);
}

static const char *user_field(json_t *user, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(user, key);

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, len, "?");
	return buf;
}

/* Parses "CMD USERNAME" plus global options (and --setup-token-file for setup). */
static const char *username_args(struct args *a, struct ctl *c, bool setup)
{
	const char *name = args_positional(a, "USERNAME");

	if (!name)
		return NULL;
	while (args_peek(a) && !a->bad) {
		if (args_global(a, c))
			continue;
		if (setup && args_opt(a, "--setup-token-file", &c->setup_token_file))
			continue;
		args_unexpected(a);
	}
	return a->bad ? NULL : name;
}

int cmd_setup(struct ctl *c, int argc, char **argv, int start)
{
	const char *name, *env = getenv("MESHGATE_SETUP_TOKEN");
	char *setup_token = NULL, *pw = NULL, ubuf[128], *esc;
	json_t *body = NULL, *out = NULL, *user;
	struct args a;
	int ret;

	args_init(&a, "setup", argc, argv, start);
	name = username_args(&a, c, true);
	if (!name)
		return EXIT_USAGE;
	if (env && *env) {
		setup_token = strdup(env);
	} else if (c->setup_token_file) {
		if (secret_read_file(c->setup_token_file, &setup_token) < 0)
			return EXIT_FAIL;
	} else {
		return usage_error(a.cmd, "no setup token: set $MESHGATE_SETUP_TOKEN or use "
				   "--setup-token-file FILE (DATADIR/setup-token on the server)");
	}
	if (!setup_token || secret_read("MESHGATE_PASSWORD", "password", &pw) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	body = json_pack("{s:s, s:s, s:s}", "setup_token", setup_token, "username", name,
			 "password", pw);
	if (!body) {
		errorx("the user name and password must be valid UTF-8");
		ret = EXIT_FAIL;
		goto out;
	}
	ret = api_exit(api_call(c, "POST", "/api/v1/setup", body, &out, NULL));
	if (ret != EXIT_OK)
		goto out;
	user = json_object_get(out, "user");
	if (c->json) {
		print_json(stdout, out);
	} else {
		esc = escape_str(user_field(user, "username", ubuf, sizeof(ubuf)));
		printf("Created admin user %s. Now run: " PROG " login %s\n", esc, esc);
		free(esc);
	}
out:
	if (body) {
		json_wipe_string(body, "password");
		json_wipe_string(body, "setup_token");
	}
	json_decref(body);
	json_decref(out);
	secret_free(pw);
	secret_free(setup_token);
	return ret;
}

int cmd_login(struct ctl *c, int argc, char **argv, int start)
{
	char *pw = NULL, tbuf[64], ubuf[128], rbuf[32], *esc_u, *esc_s;
	json_t *body = NULL, *out = NULL, *token, *user, *exp;
	const char *name, *server;
	struct args a;
	int ret;

	args_init(&a, "login", argc, argv, start);
	name = username_args(&a, c, false);
	if (!name)
		return EXIT_USAGE;
	server = ctl_server(c);
	if (!server)
		return EXIT_FAIL;
	if (secret_read("MESHGATE_PASSWORD", "password", &pw) < 0)
		return EXIT_FAIL;
	body = json_pack("{s:s, s:s}", "username", name, "password", pw);
	if (!body) {
		errorx("the user name and password must be valid UTF-8");
		ret = EXIT_FAIL;
		goto out;
	}
	ret = api_exit(api_call(c, "POST", "/api/v1/login", body, &out, NULL));
	if (ret != EXIT_OK)
		goto out;
	token = json_object_get(out, "token");
	if (!json_is_string(token)) {
		errorx("%s: no token in the login response", server);
		ret = EXIT_FAIL;
		goto out;
	}
	if (config_save(c, server, json_string_value(token)) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	/* Never print the session token or the CSRF value. */
	json_wipe_string(out, "token");
	json_wipe_string(out, "csrf");
	json_object_del(out, "token");
	json_object_del(out, "csrf");
	if (c->json) {
		print_json(stdout, out);
	} else {
		user = json_object_get(out, "user");
		exp = json_object_get(out, "expires_at");
		esc_u = escape_str(user_field(user, "username", ubuf, sizeof(ubuf)));
		esc_s = escape_str(server);
		printf("Logged in to %s as %s (%s)", esc_s, esc_u,
		       user_field(user, "role", rbuf, sizeof(rbuf)));
		if (json_is_integer(exp))
			printf("; the session expires at %s",
			       fmt_time(json_integer_value(exp), tbuf, sizeof(tbuf)));
		printf(".\n");
		free(esc_u);
		free(esc_s);
	}
	if (getenv("MESHGATE_TOKEN") && *getenv("MESHGATE_TOKEN"))
		errorx("note: $MESHGATE_TOKEN is set and takes precedence over the saved session");
out:
	if (body)
		json_wipe_string(body, "password");
	if (out) {
		json_wipe_string(out, "token");
		json_wipe_string(out, "csrf");
	}
	json_decref(body);
	json_decref(out);
	secret_free(pw);
	return ret;
}

int cmd_logout(struct ctl *c, int argc, char **argv, int start)
{
	json_t *out = NULL;
	struct args a;
	long status;
	int ret;

	args_init(&a, "logout", argc, argv, start);
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	ret = api_call(c, "POST", "/api/v1/logout", NULL, &out, &status);
	json_decref(out);
	/* 401: the session had already ended; forget it all the same. */
	if (ret < 0 && status == 401)
		ret = 0;
	if (c->cred == CRED_CONFIG && config_forget_token(c) < 0)
		return EXIT_FAIL;
	if (ret < 0)
		return EXIT_FAIL;
	if (strncmp(c->token, "mgs_", 4))
		errorx("note: logout ends sessions only; revoke an API token with '" PROG
		       " token delete ID'");
	if (!c->json)
		printf("Logged out.\n");
	return EXIT_OK;
}

int cmd_whoami(struct ctl *c, int argc, char **argv, int start)
{
	json_t *out = NULL;
	struct args a;
	int ret;

	args_init(&a, "whoami", argc, argv, start);
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	ret = api_exit(api_call(c, "GET", "/api/v1/me", NULL, &out, NULL));
	if (ret == EXIT_OK)
		print_user(c, out);
	json_decref(out);
	return ret;
}

int cmd_passwd(struct ctl *c, int argc, char **argv, int start)
{
	char *cur = NULL, *new = NULL, *again = NULL;
	json_t *body = NULL, *out = NULL;
	struct args a;
	int ret;

	args_init(&a, "passwd", argc, argv, start);
	ret = args_done(&a, c);
	if (ret != EXIT_OK)
		return ret;
	if (ctl_require_token(c) < 0)
		return EXIT_FAIL;
	ret = EXIT_FAIL;
	if (secret_read("MESHGATE_PASSWORD", "current password", &cur) < 0 ||
	    secret_read("MESHGATE_NEW_PASSWORD", "new password", &new) < 0)
		goto out;
	if (!getenv("MESHGATE_NEW_PASSWORD") && isatty(STDIN_FILENO)) {
		if (secret_read(NULL, "new password again", &again) < 0)
			goto out;
		if (strcmp(new, again)) {
			errorx("the new passwords do not match");
			goto out;
		}
	}
	body = json_pack("{s:s, s:s}", "current_password", cur, "new_password", new);
	if (!body) {
		errorx("passwords must be valid UTF-8");
		goto out;
	}
	ret = api_exit(api_call(c, "POST", "/api/v1/me/password", body, &out, NULL));
	if (ret == EXIT_OK && c->json && out)
		print_json(stdout, out);
	else if (ret == EXIT_OK && !c->json)
		printf("Password changed.\n");
out:
	if (body) {
		json_wipe_string(body, "current_password");
		json_wipe_string(body, "new_password");
	}
	json_decref(body);
	json_decref(out);
	secret_free(cur);
	secret_free(new);
	secret_free(again);
	return ret;
}
