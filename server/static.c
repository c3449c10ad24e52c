/*
 * The admin console's static files (web/), served read-only from one
 * directory. Paths are checked segment by segment (letters, digits, '-',
 * '_', '.', no segment starting with '.'), then opened beneath the
 * directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so
 * nothing outside it can be reached, whatever the URL says.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"

#define STATIC_MAX (4 * 1024 * 1024)

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".webmanifest", "application/manifest+json" },
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

static bool path_ok(const char *p)
{
	bool seg_start = true;

	if (!*p || strlen(p) > 200)
		return false;
	for (; *p; p++) {
		char c = *p;

		if (c == '/') {
			if (seg_start)
				return false;	/* empty segment */
			seg_start = true;
			continue;
		}
		if (seg_start && c == '.')
			return false;		/* "..", ".hidden" */
		seg_start = false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return !seg_start;
}

/*
 * Without openat2 (kernels before 5.6, seccomp filters, valgrind): walk the
 * checked path one segment at a time, refusing a symlink at every step.
 */
static int open_walk(int dirfd, const char *rel)
{
	char seg[256];
	int fd = dup(dirfd), next;

	while (fd >= 0) {
		size_t len = strcspn(rel, "/");

		if (len >= sizeof(seg)) {
			close(fd);
			return -1;
		}
		memcpy(seg, rel, len);
		seg[len] = '\0';
		next = openat(fd, seg, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (rel[len] ? O_DIRECTORY : 0));
		close(fd);
		if (!rel[len])
			return next;
		fd = next;
		rel += len + 1;
	}
	return -1;
}

static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = open_walk(dirfd, rel);
	return fd;
}

void handle_static(struct request *req)
{
	const char *rel = req->path + 1;
	const char *type;
	struct stat sb;
	char *buf = NULL;
	ssize_t got;
	int dirfd = -1, fd = -1;

	if (!req->srv->web_dir[0]) {
		reply_error(req, 404, "not found");
		return;
	}
	if (!*rel)
		rel = "index.html";
	type = type_of(rel);
	if (!path_ok(rel) || !type) {
		reply_error(req, 404, "not found");
		return;
	}
	dirfd = open(req->srv->web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0)
		fd = open_beneath(dirfd, rel);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_MAX) {
		reply_error(req, 404, "not found");
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	got = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
	if (got != sb.st_size) {
		free(buf);
		reply_error(req, 500, "cannot read %s", rel);
		goto out;
	}
	reply_bytes(req, 200, type, buf, (size_t)sb.st_size);
	req->is_console = true;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
}
