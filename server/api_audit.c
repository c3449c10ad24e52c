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

void handle_audit_list(struct request *req)
{
	const char *actor = request_arg(req, "actor"), *action = request_arg(req, "action");
	const char *limit_s = request_arg(req, "limit"), *since_s = request_arg(req, "since");
	int64_t limit = 100, since = 0;
	struct store_stmt *s;
	json_t *arr;
	int ret;

	if ((limit_s && !parse_arg_int(limit_s, 1, 1000, &limit)) ||
	    (since_s && !parse_arg_int(since_s, 0, INT64_MAX, &since))) {
		reply_error(req, 400, "limit must be 1-1000 and since a unix time");
		return;
	}
	arr = json_array();
	store_lock(req->srv->st);
	ret = store_query(req->srv->st, &s,
			  "SELECT id, at, actor, action, target, source_ip, detail FROM audit_log"
			  " WHERE (CAST(? AS TEXT) IS NULL OR actor = ?) AND (CAST(? AS TEXT) IS NULL OR action = ?) AND at >= ?"
			  " ORDER BY id DESC LIMIT ?", "ttttii", actor, actor, action, action, since, limit);
	if (ret == STORE_OK) {
		while ((ret = store_step(s)) == STORE_ROW)
			json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}",
							     "id", (json_int_t)store_col_int(s, 0),
							     "at", (json_int_t)store_col_int(s, 1),
							     "actor", store_col_text(s, 2), "action", store_col_text(s, 3),
							     "target", store_col_text(s, 4),
							     "source_ip", store_col_text(s, 5),
							     "detail", store_col_text(s, 6)));
		store_finalize(s);
	}
	store_unlock(req->srv->st);
	if (ret < 0) {
		json_decref(arr);
		reply_store_error(req, ret, "audit log");
		return;
	}
	reply_json(req, 200, arr);
}
