/*
 * The audit log, newest first, filtered by actor, action and time.
 */
#include <errno.h>
#include <stdlib.h>

#include "handlers.h"

static bool parse_arg_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static json_t *audit_row(struct store *st, struct store_stmt *s)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)store_col_int(s, 0),
			 "at", (json_int_t)store_col_int(s, 1), "actor", store_col_text(s, 2),
			 "action", store_col_text(s, 3), "target", store_col_text(s, 4),
			 "source_ip", store_col_text(s, 5), "detail", store_col_text(s, 6));
}

void handle_audit_list(struct request *req)
{
	const char *actor = request_arg(req, "actor"), *action = request_arg(req, "action");
	const char *limit_s = request_arg(req, "limit"), *since_s = request_arg(req, "since");
	int64_t limit = 100, since = 0;

	if ((limit_s && !parse_arg_int(limit_s, 1, 1000, &limit)) ||
	    (since_s && !parse_arg_int(since_s, 0, INT64_MAX, &since))) {
		reply_error(req, 400, "limit must be 1-1000 and since a unix time");
		return;
	}
	reply_rows(req, audit_row, "audit log",
		   "SELECT id, at, actor, action, target, source_ip, detail FROM audit_log"
		   " WHERE (CAST(? AS TEXT) IS NULL OR actor = ?) AND (CAST(? AS TEXT) IS NULL OR action = ?) AND at >= ?"
		   " ORDER BY id DESC LIMIT ?", "ttttii", actor, actor, action, action, since, limit);
}
