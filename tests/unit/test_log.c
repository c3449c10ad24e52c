#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Everything written to stderr while capturing goes to a temporary file. */
static FILE *cap;
static int saved_fd = -1;

static void capture_start(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

/* Returns what was written (caller frees). */
static char *capture_end(void)
{
	long n;
	char *s;

	fflush(stderr);
	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	n = ftell(cap);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(cap);
	assert_int_equal(fread(s, 1, (size_t)n, cap), (size_t)n);
	fclose(cap);
	return s;
}

static void assert_matches(const char *s, const char *re)
{
	regex_t r;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&r, s, 0, NULL, 0) != 0) {
		regfree(&r);
		fail_msg("'%s' does not match /%s/", s, re);
	}
	regfree(&r);
}

#define TS "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"

static int setup(void **state)
{
	(void)state;
	log_init("testd", LOG_LVL_DEBUG);
	return 0;
}

static void test_line_format(void **state)
{
	char *out, re[256];

	(void)state;
	capture_start();
	log_info("hello %s %d", "world", 42);
	out = capture_end();
	snprintf(re, sizeof(re), "^" TS " testd\\[%ld\\]: info: hello world 42\n$", (long)getpid());
	assert_matches(out, re);
	free(out);
}

static void test_levels(void **state)
{
	char *out;

	(void)state;
	capture_start();
	log_debug("d");
	log_info("i");
	log_warnx("w");
	log_error("e");
	log_set_level(LOG_LVL_WARN);
	log_debug("d2");
	log_info("i2");
	log_warnx("w2");
	log_error("e2");
	log_set_level(LOG_LVL_ERROR);
	errno = ENOENT;
	log_warn("w3");
	log_warnx("w4");
	log_error("e3");
	log_set_level(LOG_LVL_DEBUG);
	out = capture_end();
	assert_matches(out, "^" TS " testd\\[[0-9]+\\]: debug: d\n"
			    TS " testd\\[[0-9]+\\]: info: i\n"
			    TS " testd\\[[0-9]+\\]: warn: w\n"
			    TS " testd\\[[0-9]+\\]: error: e\n"
			    TS " testd\\[[0-9]+\\]: warn: w2\n"
			    TS " testd\\[[0-9]+\\]: error: e2\n"
			    TS " testd\\[[0-9]+\\]: error: e3\n$");
	free(out);
}

static void test_warn_errno(void **state)
{
	char *out;

	(void)state;
	capture_start();
	errno = ENOENT;
	log_warn("open %s", "/x");
	assert_int_equal(errno, ENOENT);	/* preserved */
	errno = EACCES;
	log_warnx("plain");
	assert_int_equal(errno, EACCES);
	errno = 0;
	log_warn("no error");
	out = capture_end();
	assert_matches(out, "warn: open /x: No such file or directory\n"
			    TS " testd\\[[0-9]+\\]: warn: plain\n"
			    TS " testd\\[[0-9]+\\]: warn: no error\n$");
	free(out);
}

static void test_level_parse(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("warn"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERROR);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse("INFO"), -1);
	assert_int_equal(log_level_parse("warning"), -1);
	assert_int_equal(log_level_parse("info "), -1);
	assert_int_equal(log_level_parse(NULL), -1);
}

static void test_long_line(void **state)
{
	char *big, *out;
	size_t n = 10000;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	capture_start();
	errno = EIO;
	log_warn("%s", big);
	log_info("after");
	out = capture_end();
	/* Truncated, but still one line ending in a newline, then the next line. */
	assert_matches(out, "^" TS " testd\\[[0-9]+\\]: warn: x+\n" TS " testd\\[[0-9]+\\]: info: after\n$");
	assert_true(strchr(out, '\n') - out < 4096);
	free(out);
	free(big);
}

static void run_fatal(bool with_errno)
{
	int fds[2], status;
	char buf[512] = "";
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		errno = EPERM;
		if (with_errno)
			fatal("cannot %s", "go on");
		fatalx("bad config line %d", 7);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	if (with_errno)
		assert_matches(buf, "^" TS " testd\\[[0-9]+\\]: fatal: cannot go on: Operation not permitted\n$");
	else
		assert_matches(buf, "^" TS " testd\\[[0-9]+\\]: fatal: bad config line 7\n$");
}

static void test_fatal(void **state)
{
	(void)state;
	run_fatal(true);
	run_fatal(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_warn_errno),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_fatal),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
