/*
 * meshgatectl audit [--limit N] [--actor A] [--action A] [--since UNIXTIME]
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct column audit_cols[] = {
	{ "TIME", "at", COL_TIME },
	{ "ACTOR", "actor", COL_STR },
	{ "ACTION", "action", COL_STR },
	{ "TARGET", "target", COL_STR },
	{ "SOURCE", "source_ip", COL_STR },
	{ NULL, NULL, 0 },
};

/* Appends "&key=value" (value percent-encoded) to *query. */
static void query_add(char **query, const char *key, const char *value)
{
	char *esc = url_escape(value), *q;

	q = xasprintf("%s%s%s=%s", *query, **query ? "&" : "?", key, esc);
	free(esc);
	free(*query);
	*query = q;
}

static void query_add_int(char **query, const char *key, long long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", n);
	query_add(query, key, buf);
}

int cmd_audit(struct ctl *c, int argc, char **argv, int start)
{
	char *query = xasprintf("%s", ""), *path = NULL;
	const char *val;
	long long n;
	struct args a;
	int ret;

	args_init(&a, "audit", argc, argv, start);
	while (args_peek(&a) && !a.bad) {
		if (args_global(&a, c))
			continue;
		if (args_opt(&a, "--limit", &val)) {
			if (parse_int(a.cmd, "--limit", val, 1, 100000, &n) < 0)
				a.bad = true;
			else
				query_add_int(&query, "limit", n);
		} else if (args_opt(&a, "--since", &val)) {
			if (parse_int(a.cmd, "--since", val, 0, LLONG_MAX, &n) < 0)
				a.bad = true;
			else
				query_add_int(&query, "since", n);
		} else if (args_opt(&a, "--actor", &val)) {
			query_add(&query, "actor", val);
		} else if (args_opt(&a, "--action", &val)) {
			query_add(&query, "action", val);
		} else {
			args_unexpected(&a);
		}
	}
	if (a.bad) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (ctl_require_token(c) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	path = xasprintf("/api/v1/audit%s", query);
	ret = run_get(c, path, audit_cols);
out:
	free(path);
	free(query);
	return ret;
}
