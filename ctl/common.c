/*
 * meshgatectl: helpers shared by the commands: subcommand words and
 * whole requests (GET and print, send and print, delete).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Global options may also come between the command and the subcommand. */
static void skip_globals(struct args *a, struct ctl *c)
{
	while (args_peek(a) && args_global(a, c))
		;
}

const char *args_subcommand(struct args *a, const char *const *subs)
{
	const char *s;

	if (a->bad)
		return NULL;
	s = args_positional(a, "subcommand");
	if (!s)
		return NULL;
	for (size_t i = 0; subs[i]; i++)
		if (!strcmp(s, subs[i]))
			return s;
	usage_error(a->cmd, "unknown subcommand '%s %s'", a->cmd, s);
	a->bad = true;
	return NULL;
}

int args_done(struct args *a, struct ctl *c)
{
	if (a->bad)
		return EXIT_USAGE;
	skip_globals(a, c);
	if (a->bad)
		return EXIT_USAGE;
	if (args_peek(a))
		return args_unexpected(a);
	return EXIT_OK;
}

int run_get(struct ctl *c, const char *path, const struct column *cols)
{
	json_t *out = NULL;
	int ret;

	ret = api_call(c, "GET", path, NULL, &out, NULL);
	if (!ret)
		print_result(c, out, cols);
	json_decref(out);
	return api_exit(ret);
}

int run_send(struct ctl *c, const char *method, const char *path, json_t *body,
	     const struct column *cols)
{
	json_t *out = NULL;
	int ret;

	ret = api_call(c, method, path, body, &out, NULL);
	if (!ret && out)
		print_result(c, out, cols);
	json_decref(out);
	return api_exit(ret);
}

int run_delete(struct ctl *c, const char *path, const char *what, const char *name)
{
	json_t *out = NULL;
	char *esc;
	int ret;

	ret = api_call(c, "DELETE", path, NULL, &out, NULL);
	if (!ret && c->json && out)
		print_json(stdout, out);
	else if (!ret && !c->json) {
		esc = escape_str(name);
		printf("Deleted %s %s.\n", what, esc);
		free(esc);
	}
	json_decref(out);
	return api_exit(ret);
}
