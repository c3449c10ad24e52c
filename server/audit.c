/*
 * The audit log: one row per successful mutation, written in the
 * mutation's own transaction so a rolled-back change leaves no trace.
 */
#include <stdarg.h>
#include <stdio.h>

#include "server.h"

int audit(struct request *req, const char *action, const char *target, const char *detail_fmt, ...)
{
	char detail[512] = "";
	const char *actor = req->auth.actor[0] ? req->auth.actor : "anonymous";
	va_list ap;

	if (detail_fmt) {
		va_start(ap, detail_fmt);
		vsnprintf(detail, sizeof(detail), detail_fmt, ap);
		va_end(ap);
	}
	return store_exec(req->srv->st,
			  "INSERT INTO audit_log (at, actor, action, target, source_ip, detail) VALUES (?, ?, ?, ?, ?, ?)",
			  "itttt" "t", now_unix(), actor, action, target ? target : "", req->source_ip, detail);
}
