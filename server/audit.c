/*
 * The audit log: one row per successful mutation, written in the
 * mutation's own transaction so a rolled-back change leaves no trace.
 */
#include <stdarg.h>
#include <stdio.h>

#include "server.h"

static int record(struct store *st, const char *actor, const char *source_ip, const char *action,
		  const char *target, const char *detail_fmt, va_list ap)
{
	char detail[512] = "";

	if (detail_fmt)
		vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	return store_exec(st, "INSERT INTO audit_log (at, actor, action, target, source_ip, detail)"
			  " VALUES (?, ?, ?, ?, ?, ?)", "itttt" "t", now_unix(), actor, action,
			  target ? target : "", source_ip, detail);
}

int audit(struct request *req, const char *action, const char *target, const char *detail_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, detail_fmt);
	ret = record(req->srv->st, req->auth.actor[0] ? req->auth.actor : "anonymous", req->source_ip, action,
		     target, detail_fmt, ap);
	va_end(ap);
	return ret;
}

int audit_system(struct store *st, const char *action, const char *target, const char *detail_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, detail_fmt);
	ret = record(st, "system", "local", action, target, detail_fmt, ap);
	va_end(ap);
	return ret;
}
