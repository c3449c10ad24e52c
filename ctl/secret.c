/*
 * meshgatectl: reading secrets (passwords, tokens) from the environment,
 * stdin or a file, never from argv; wiping them after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

#define SECRET_MAX 4096

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void json_wipe_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

static void restore_tty(int sig)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * One line from f into a new buffer, without the line ending. Returns 0,
 * -ENODATA at end of input, -E2BIG for an over-long line.
 */
static int read_line(FILE *f, char **out)
{
	char *buf = calloc(1, SECRET_MAX + 1);
	size_t n = 0;
	int ch, ret = 0;

	if (!buf)
		return -ENOMEM;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == SECRET_MAX) {
			ret = -E2BIG;
			continue;	/* drain the line */
		}
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0 && ret == 0)
		ret = -ENODATA;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (ret < 0) {
		explicit_bzero(buf, SECRET_MAX);
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

int secret_read(const char *env, const char *prompt, char **out)
{
	const char *val = env ? getenv(env) : NULL;
	struct sigaction sa = { .sa_handler = restore_tty }, old_int, old_term;
	struct termios tio;
	bool tty = false;
	int ret;

	if (val) {
		*out = strdup(val);
		return *out ? 0 : -ENOMEM;
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		tty = true;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		tio_saved = 1;
		tio = saved_tio;
		tio.c_lflag &= ~(tcflag_t)ECHO;
		tio.c_lflag |= ECHONL;
		fprintf(stderr, "%s: ", prompt);
		fflush(stderr);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
	}
	ret = read_line(stdin, out);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = 0;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	if (ret == -ENODATA && env)
		errorx("no %s given: set $%s or write it on stdin", prompt, env);
	else if (ret == -ENODATA)
		errorx("no %s given on stdin", prompt);
	else if (ret == -E2BIG)
		errorx("%s too long", prompt);
	else if (ret < 0)
		errorx("cannot read %s: %s", prompt, strerror(-ret));
	return ret;
}

int secret_read_file(const char *path, char **out)
{
	char *line = NULL, *s, *e;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		errorx("%s: %s", path, strerror(errno));
		return ret;
	}
	ret = read_line(f, &line);
	fclose(f);
	if (ret < 0) {
		errorx("%s: %s", path, ret == -ENODATA ? "empty file" :
		       ret == -E2BIG ? "line too long" : strerror(-ret));
		return ret;
	}
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'); e--)
		;
	*e = '\0';
	if (!*s) {
		errorx("%s: empty first line", path);
		secret_free(line);
		return -ENODATA;
	}
	memmove(line, s, (size_t)(e - s));
	explicit_bzero(line + (e - s), SECRET_MAX + 1 - (size_t)(e - s));
	*out = line;
	return 0;
}
