/*
 * The NETLINK_NETFILTER socket: open, close, dumps.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <linux/netlink.h>

#include "nat_int.h"

#define DUMP_BUF	(64 * 1024)

int nat_nl_open(struct nat_nl *n)
{
	int one = 1, ret;

	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl)
		return -errno;
	if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(n->nl);
		n->nl = NULL;
		return ret;
	}
	/* Errors without our request echoed back, with the kernel's message
	 * and the offset of the attribute it refused; best effort. */
	(void)mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	return 0;
}

void nat_nl_close(struct nat_nl *n)
{
	if (n->nl)
		mnl_socket_close(n->nl);
	n->nl = NULL;
}

int nat_nl_dump(struct nat_nl *n, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	uint32_t seq = req->nlmsg_seq;
	char *buf;
	ssize_t len;
	int ret;

	if (mnl_socket_sendto(n->nl, req, req->nlmsg_len) < 0)
		return -errno;
	buf = malloc(DUMP_BUF);
	if (!buf)
		return -ENOMEM;
	do {
		len = mnl_socket_recvfrom(n->nl, buf, DUMP_BUF);
		if (len < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)len, seq, n->portid, cb, data);
		if (ret < 0)
			ret = errno ? -errno : -EIO;
	} while (ret > 0);
	free(buf);
	return ret;
}
