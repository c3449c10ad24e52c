/*
 * Logging with levels to stderr, in the style of OpenBSD daemons:
 * log_warn appends strerror(errno), fatal logs and exits.
 */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *s);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Without strerror. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
