/*
 * Sending the "wireguard" generic netlink messages built by wg_genl.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "wg/wg_genl.h"

/* Dumps may come in messages up to 32 KiB; leave room. */
#define RECV_BUF_SIZE 65536

struct conn {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf;
};

static void conn_close(struct conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static int conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->buf = malloc(RECV_BUF_SIZE);
	if (!c->buf)
		return -ENOMEM;
	c->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		conn_close(c);
		return ret ? ret : -EIO;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;
}

/*
 * Sends the message in c->buf (len bytes) and runs cb on each reply until
 * the ack or the end of the dump. Returns 0 or -errno (from an error ack or
 * from cb).
 */
static int conn_request(struct conn *c, size_t len, mnl_cb_t cb, void *data)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->buf;
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(c->nl, c->buf, len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(c->nl, c->buf, RECV_BUF_SIZE);
		if (n < 0)
			return errno == ENOSPC ? -EMSGSIZE : -errno;
		errno = 0;
		ret = mnl_cb_run(c->buf, (size_t)n, seq, c->portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

struct family_ctx {
	uint16_t id;
	int err;
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_ctx *ctx = data;

	ctx->err = wg_genl_parse_family(nlh, &ctx->id);
	return MNL_CB_OK;
}

static int resolve(struct conn *c, uint16_t *id)
{
	struct family_ctx ctx = { 0, -ENOENT };
	int len, ret;

	len = wg_genl_build_getfamily(c->buf, MNL_SOCKET_BUFFER_SIZE, ++c->seq);
	if (len < 0)
		return len;
	ret = conn_request(c, (size_t)len, family_cb, &ctx);
	if (ret)
		return ret == -ENOENT ? -EOPNOTSUPP : ret;
	if (ctx.err)
		return ctx.err;
	*id = ctx.id;
	return 0;
}

int wg_kernel_family(uint16_t *id)
{
	struct conn c;
	int ret;

	if ((ret = conn_open(&c)))
		return ret;
	ret = resolve(&c, id);
	conn_close(&c);
	return ret;
}

struct get_ctx {
	struct wg_device *dev;
	int err;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *ctx = data;

	if (!ctx->err)
		ctx->err = wg_genl_parse_get(nlh, ctx->dev);
	return MNL_CB_OK;
}

int wg_kernel_get_device(const char *ifname, struct wg_device **out)
{
	struct get_ctx ctx = { 0 };
	struct conn c;
	uint16_t id;
	int len, ret;

	*out = NULL;
	if ((ret = conn_open(&c)))
		return ret;
	if ((ret = resolve(&c, &id)))
		goto out;
	ctx.dev = wg_device_new(ifname);
	if (!ctx.dev) {
		ret = -ENOMEM;
		goto out;
	}
	len = wg_genl_build_get(c.buf, MNL_SOCKET_BUFFER_SIZE, id, ++c.seq, ifname);
	if (len < 0) {
		ret = len;
		goto out;
	}
	/* Read the whole dump even after a parse error, so nothing is left queued. */
	ret = conn_request(&c, (size_t)len, get_cb, &ctx);
	if (!ret)
		ret = ctx.err;
	if (!ret) {
		*out = ctx.dev;
		ctx.dev = NULL;
	}
out:
	wg_free_device(ctx.dev);
	conn_close(&c);
	return ret;
}

int wg_kernel_set_device(const struct wg_device *dev)
{
	struct wg_genl_cursor cur = { 0 };
	struct conn c;
	uint16_t id;
	int len, ret;

	if ((ret = conn_open(&c)))
		return ret;
	if ((ret = resolve(&c, &id)))
		goto out;
	for (;;) {
		len = wg_genl_build_set(c.buf, MNL_SOCKET_BUFFER_SIZE, id, ++c.seq, dev, &cur);
		if (len <= 0) {
			ret = len;
			break;
		}
		if ((ret = conn_request(&c, (size_t)len, NULL, NULL)))
			break;
	}
out:
	/* The buffer held the private key. */
	if (c.buf)
		mg_wipe(c.buf, MNL_SOCKET_BUFFER_SIZE);
	conn_close(&c);
	return ret;
}
