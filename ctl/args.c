/*
 * meshgatectl: small option parser over argv and validated integers.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void args_init(struct args *a, const char *cmd, int argc, char **argv, int start)
{
	a->argc = argc;
	a->argv = argv;
	a->i = start;
	a->cmd = cmd;
	a->bad = false;
}

const char *args_peek(const struct args *a)
{
	return a->i < a->argc ? a->argv[a->i] : NULL;
}

const char *args_positional(struct args *a, const char *what)
{
	const char *s = args_peek(a);

	if (!s) {
		usage_error(a->cmd, "missing %s", what);
		a->bad = true;
		return NULL;
	}
	if (s[0] == '-' && s[1]) {
		usage_error(a->cmd, "expected %s, got option '%s'", what, s);
		a->bad = true;
		return NULL;
	}
	if (!*s) {
		usage_error(a->cmd, "%s must not be empty", what);
		a->bad = true;
		return NULL;
	}
	a->i++;
	return s;
}

int args_opt(struct args *a, const char *name, const char **val)
{
	const char *s = args_peek(a);
	size_t n = strlen(name);

	if (!s || strncmp(s, name, n))
		return 0;
	if (s[n] == '=') {
		*val = s + n + 1;
		a->i++;
		return 1;
	}
	if (s[n])
		return 0;
	if (a->i + 1 >= a->argc) {
		usage_error(a->cmd, "option '%s' needs a value", name);
		a->bad = true;
		return 0;
	}
	*val = a->argv[a->i + 1];
	a->i += 2;
	return 1;
}

int args_flag(struct args *a, const char *name)
{
	const char *s = args_peek(a);

	if (!s || strcmp(s, name))
		return 0;
	a->i++;
	return 1;
}

int args_global(struct args *a, struct ctl *c)
{
	if (args_flag(a, "--json")) {
		c->json = true;
		return 1;
	}
	if (args_opt(a, "--server", &c->server_arg))
		return 1;
	if (args_opt(a, "--token-file", &c->token_file))
		return 1;
	return 0;
}

int args_unexpected(struct args *a)
{
	const char *s = args_peek(a);

	if (a->bad)
		return EXIT_USAGE;
	a->bad = true;
	if (!s)
		return usage_error(a->cmd, "missing argument");
	if (s[0] == '-' && s[1])
		return usage_error(a->cmd, "unknown option '%s'", s);
	return usage_error(a->cmd, "unexpected argument '%s'", s);
}

int parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
	      long long *out)
{
	char *end;
	long long v;

	errno = 0;
	/* strtoll skips leading spaces and accepts a sign: be stricter. */
	if (!s || !*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		goto bad;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	usage_error(cmd, "%s: '%s' is not an integer between %lld and %lld", opt, s ? s : "",
		    min, max);
	return -EINVAL;
}

int parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices)
{
	char list[128] = "";

	for (size_t i = 0; choices[i]; i++) {
		if (!strcmp(s, choices[i]))
			return 0;
		if (i)
			strncat(list, "|", sizeof(list) - strlen(list) - 1);
		strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
	}
	usage_error(cmd, "%s: '%s' is not one of %s", opt, s, list);
	return -EINVAL;
}

int body_set_str(struct args *a, json_t *body, const char *key, const char *val)
{
	json_t *s = json_string(val);

	if (!s) {
		usage_error(a->cmd, "%s: not valid UTF-8", key);
		a->bad = true;
		return -1;
	}
	if (json_object_set_new(body, key, s) < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return 0;
}

int body_append_str(struct args *a, json_t *body, const char *key, const char *val)
{
	json_t *arr = json_object_get(body, key), *s;

	if (!arr) {
		arr = json_array();
		if (!arr || json_object_set_new(body, key, arr) < 0) {
			errorx("out of memory");
			exit(EXIT_FAIL);
		}
	}
	s = json_string(val);
	if (!s) {
		usage_error(a->cmd, "%s: not valid UTF-8", key);
		a->bad = true;
		return -1;
	}
	if (json_array_append_new(arr, s) < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return 0;
}

int args_str_field(struct args *a, const char *opt, json_t *body, const char *key)
{
	const char *val;

	if (!args_opt(a, opt, &val))
		return a->bad ? -1 : 0;
	return body_set_str(a, body, key, val) < 0 ? -1 : 1;
}

int args_int_field(struct args *a, const char *opt, long long min, long long max, json_t *body,
		   const char *key)
{
	const char *val;
	long long n;

	if (!args_opt(a, opt, &val))
		return a->bad ? -1 : 0;
	if (parse_int(a->cmd, opt, val, min, max, &n) < 0) {
		a->bad = true;
		return -1;
	}
	if (json_object_set_new(body, key, json_integer(n)) < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return 1;
}

int args_choice_field(struct args *a, const char *opt, const char *const *choices, json_t *body,
		      const char *key)
{
	const char *val;

	if (!args_opt(a, opt, &val))
		return a->bad ? -1 : 0;
	if (parse_choice(a->cmd, opt, val, choices) < 0) {
		a->bad = true;
		return -1;
	}
	return body_set_str(a, body, key, val) < 0 ? -1 : 1;
}
