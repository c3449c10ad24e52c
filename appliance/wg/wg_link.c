/*
 * The few rtnetlink link operations the WireGuard driver needs: find a link
 * and its kind, create a "wireguard" link, delete a link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "wg/wg_genl.h"

/* Sends one request and runs cb on the replies until the ack. */
static int rtnl_request(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl;
	char *buf;
	uint32_t portid, seq;
	ssize_t n;
	int ret;

	buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl) {
		ret = -errno;
		goto out;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = req->nlmsg_seq;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0) {
			ret = errno ? -errno : -EIO;
			goto out;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
	ret = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}

#define LINK_MSG_LEN 1024

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, const char *ifname)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(buf, 0, LINK_MSG_LEN);	/* libmnl leaves attribute padding as it was */
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nlh;
}

struct link_ctx {
	uint32_t ifindex;
	char *kind;
	size_t kindlen;
	bool found;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_ctx *ctx = data;
	const struct ifinfomsg *ifi;
	const struct nlattr *a, *info;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	ctx->found = true;
	ctx->ifindex = (uint32_t)ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) != IFLA_LINKINFO)
			continue;
		mnl_attr_for_each_nested(info, a) {
			if (mnl_attr_get_type(info) != IFLA_INFO_KIND ||
			    mnl_attr_validate(info, MNL_TYPE_STRING) < 0)
				continue;
			if (ctx->kindlen) {
				size_t n = strnlen(mnl_attr_get_str(info), mnl_attr_get_payload_len(info));

				if (n >= ctx->kindlen)
					n = ctx->kindlen - 1;
				memcpy(ctx->kind, mnl_attr_get_str(info), n);
				ctx->kind[n] = '\0';
			}
		}
	}
	return MNL_CB_OK;
}

int wg_link_get(const char *ifname, uint32_t *ifindex, char *kind, size_t kindlen)
{
	char buf[LINK_MSG_LEN];
	struct link_ctx ctx = { 0, kind, kind ? kindlen : 0, false };
	int ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	if (ctx.kindlen)
		kind[0] = '\0';
	ret = rtnl_request(link_msg(buf, RTM_GETLINK, 0, ifname), link_cb, &ctx);
	if (ret)
		return ret;
	if (!ctx.found)
		return -ENODEV;
	if (ifindex)
		*ifindex = ctx.ifindex;
	return 0;
}

int wg_link_add_wireguard(const char *ifname)
{
	char buf[LINK_MSG_LEN];
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
	mnl_attr_nest_end(nlh, info);
	return rtnl_request(nlh, NULL, NULL);
}

int wg_link_del(const char *ifname)
{
	char buf[LINK_MSG_LEN];

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	return rtnl_request(link_msg(buf, RTM_DELLINK, 0, ifname), NULL, NULL);
}
