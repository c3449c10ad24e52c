/*
 * IP forwarding. The files under /proc/sys/net belong to the caller's
 * network namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "nat.h"

#define IPV4_FORWARD	"/proc/sys/net/ipv4/ip_forward"
#define IPV6_FORWARD	"/proc/sys/net/ipv6/conf/all/forwarding"

/* Set the file to "1" unless it already is; *changed tells. */
static int enable(const char *path, bool *changed)
{
	char buf[16];
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (strcmp(buf, "1\n") == 0 || strcmp(buf, "1") == 0)
		goto out;
	errno = 0;
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	*changed = true;
out:
	close(fd);
	return ret;
}

int nat_forwarding_enable(bool v4, bool v6, bool *changed)
{
	bool dummy = false;
	int ret;

	if (!changed)
		changed = &dummy;
	*changed = false;
	if (v4 && (ret = enable(IPV4_FORWARD, changed)) < 0)
		return ret;
	if (v6 && (ret = enable(IPV6_FORWARD, changed)) < 0)
		return ret;
	return 0;
}
