/*
 * Logging to stderr, one line per call:
 *	2026-11-24T01:02:03Z meshgated[1234]: warn: message
 * Each line is built in a buffer and written with a single call, so lines
 * from different threads do not interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

static const char *log_progname;
static enum log_level log_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_ERROR] = "error",
};

void log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_set_level(level);
}

void log_set_level(enum log_level level)
{
	if (level >= LOG_LVL_DEBUG && level <= LOG_LVL_ERROR)
		log_level = level;
}

int log_level_parse(const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Formats and writes one line. errnum > 0 appends its strerror text.
 * errno is preserved so callers can log and then inspect it.
 */
__attribute__((format(printf, 2, 0)))
static void vlog(const char *tag, const char *fmt, va_list ap, int errnum)
{
	char line[LOG_LINE_MAX], ts[32], ebuf[128];
	int saved = errno, n;
	size_t off;
	struct tm tm;
	time_t now;

	now = time(NULL);
	if (!gmtime_r(&now, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(ts, "-");

	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: ", ts,
		     log_progname ? log_progname : program_invocation_short_name,
		     (long)getpid(), tag);
	off = n < 0 ? 0 : (size_t)n;
	if (off < sizeof(line)) {
		n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
		off += n < 0 ? 0 : (size_t)n;
	}
	if (errnum > 0 && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, ": %s",
			     strerror_r(errnum, ebuf, sizeof(ebuf)));
		off += n < 0 ? 0 : (size_t)n;
	}
	/* Truncated lines keep room for the newline. */
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	line[off] = '\0';
	fputs(line, stderr);
	fflush(stderr);
	errno = saved;
}

#define LOG_AT(lvl, tag, errnum)			\
	do {						\
		va_list ap;				\
		if ((lvl) < log_level)			\
			return;				\
		va_start(ap, fmt);			\
		vlog(tag, fmt, ap, errnum);		\
		va_end(ap);				\
	} while (0)

void log_debug(const char *fmt, ...)
{
	LOG_AT(LOG_LVL_DEBUG, "debug", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_AT(LOG_LVL_INFO, "info", 0);
}

/* As in OpenBSD, errno 0 adds nothing rather than ": Success". */
void log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_AT(LOG_LVL_WARN, "warn", saved);
}

void log_warnx(const char *fmt, ...)
{
	LOG_AT(LOG_LVL_WARN, "warn", 0);
}

void log_error(const char *fmt, ...)
{
	LOG_AT(LOG_LVL_ERROR, "error", 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
