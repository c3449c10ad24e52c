/*
 * Sending a batch: one sendmsg, then every acknowledgement. A refused
 * message is mapped back to the object it carried (and, for set elements,
 * to the element the kernel pointed at).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libnftnl/table.h>

#include "nat_int.h"

#define RECV_BUF	(64 * 1024)
#define ACK_WAIT_MS	2000
#define ACK_TRUESIZE	1024	/* receive buffer room per acknowledgement */

struct acks {
	const struct nat_batch *b;
	const struct nat_wire *w;
	size_t got;		/* acknowledgements of our messages */
	size_t n_err;		/* how many were errors */
	int err;		/* the first error */
	long idx;		/* its message, -1 for the batch as a whole */
	int64_t offs;		/* extack: offset of the refused attribute, or -1 */
	char kmsg[128];		/* extack: the kernel's message */
	bool done;
};

/* Socket buffers: the whole batch must fit in one send, and all the
 * acknowledgements must fit before we read them (the kernel queues them
 * while processing the send). FORCE needs CAP_NET_ADMIN, which applying a
 * batch needs anyway; the plain option is a fallback. */
static void size_buffers(int fd, size_t send, size_t recv)
{
	int v;

	if (send > (size_t)1 << 30 || recv > (size_t)1 << 30)
		return;
	v = (int)send + 4096;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	v = (int)recv;
	if (v < 256 * 1024)
		v = 256 * 1024;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* The extended ack attributes after struct nlmsgerr (and after the echoed
 * request, unless capped). */
static void parse_extack(struct acks *a, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	off = MNL_ALIGN(off);
	if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return;
	mnl_attr_for_each(attr, nlh, off) {
		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(a->kmsg, sizeof(a->kmsg), "%s", mnl_attr_get_str(attr));
			break;
		case NLMSGERR_ATTR_OFFS:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				a->offs = mnl_attr_get_u32(attr);
			break;
		}
	}
}

static void on_ack(struct acks *a, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;
	uint32_t seq = nlh->nlmsg_seq, first = a->w->seq0 + 1;
	long idx;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
		return;
	e = mnl_nlmsg_get_payload(nlh);
	if (seq >= first && seq < first + a->w->n) {
		idx = (long)(seq - first);
		a->got++;
	} else if (seq == a->w->seq0 || seq == first + a->w->n) {
		/* The batch itself was refused (no permission, no memory):
		 * nothing else will come. */
		idx = -1;
		if (e->error)
			a->done = true;
	} else {
		return;
	}
	if (!e->error)
		return;
	if (a->n_err++ == 0) {
		a->err = e->error;
		a->idx = idx;
		parse_extack(a, nlh);
	}
}

/* The element of a NEWSETELEM message the kernel's offset points into. */
static const char *refused_elem(const struct acks *a)
{
	const struct nat_msg *m = &a->b->msg[a->idx];
	const struct nlmsghdr *nlh = (const void *)(a->w->buf + a->w->off[a->idx]);
	const struct nlattr *attr, *el;
	size_t i = 0, off;

	if (m->kind != NAT_ELEMS_MSG || a->offs < 0)
		return NULL;
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, attr) {
			off = (size_t)((const char *)el - (const char *)nlh);
			if ((size_t)a->offs >= off && (size_t)a->offs < off + el->nla_len)
				return i < m->n_elem ? m->elem[i] : NULL;
			i++;
		}
	}
	return NULL;
}

static void report(const struct acks *a, char *err, size_t errlen)
{
	const char *elem = NULL, *what = "batch";
	char more[64] = "";

	if (!err || !errlen)
		return;
	if (a->idx >= 0) {
		what = a->b->msg[a->idx].label;
		elem = refused_elem(a);
	}
	if (a->n_err > 1)
		snprintf(more, sizeof(more), " (%zu more errors follow from it)", a->n_err - 1);
	snprintf(err, errlen, "%s%s%s: %s%s%s%s%s", what, elem ? " element " : "", elem ? elem : "",
		 strerror(-a->err), a->kmsg[0] ? " (" : "", a->kmsg, a->kmsg[0] ? ")" : "", more);
}

static int read_acks(struct nat_nl *n, struct acks *a)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(n->nl), .events = POLLIN };
	const struct nlmsghdr *nlh;
	char *buf;
	ssize_t len;
	int ret = 0, len_left;

	buf = malloc(RECV_BUF);
	if (!buf)
		return -ENOMEM;
	while (a->got < a->w->n && !a->done) {
		ret = poll(&pfd, 1, ACK_WAIT_MS);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			ret = ret < 0 ? -errno : -ETIMEDOUT;
			break;
		}
		len = recv(pfd.fd, buf, RECV_BUF, 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;	/* ENOBUFS: acknowledgements lost */
			break;
		}
		ret = 0;
		len_left = (int)len;
		for (nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len_left);
		     nlh = mnl_nlmsg_next(nlh, &len_left))
			on_ack(a, nlh);
	}
	free(buf);
	return ret;
}

int nat_batch_apply(const struct nat_batch *b, char *err, size_t errlen)
{
	struct nat_nl n = { 0 };
	struct nat_wire w;
	struct acks a = { .b = b, .w = &w, .idx = -1, .offs = -1 };
	struct iovec iov;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr mh = { .msg_name = &snl, .msg_namelen = sizeof(snl),
			     .msg_iov = &iov, .msg_iovlen = 1 };
	int ret;

	if (err && errlen)
		*err = '\0';
	if (!b || !b->n) {
		if (err && errlen)
			snprintf(err, errlen, "empty batch");
		return -EINVAL;
	}
	if ((ret = nat_nl_open(&n)) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "netfilter socket: %s", strerror(-ret));
		return ret;
	}
	if ((ret = nat_wire_encode(b, n.seq, &w)) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "encoding the batch: %s", strerror(-ret));
		goto out_nl;
	}
	size_buffers(mnl_socket_get_fd(n.nl), w.len, (w.n + 2) * ACK_TRUESIZE);
	iov.iov_base = w.buf;
	iov.iov_len = w.len;
	if (sendmsg(mnl_socket_get_fd(n.nl), &mh, 0) < 0) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "sending the batch (%zu bytes): %s", w.len, strerror(errno));
		goto out;
	}
	ret = read_acks(&n, &a);
	if (a.n_err) {
		report(&a, err, errlen);
		ret = a.err;
	} else if (ret < 0 && err && errlen) {
		snprintf(err, errlen, "reading acknowledgements (%zu of %zu): %s; "
			 "the table's state is unknown", a.got, w.n, strerror(-ret));
	}
out:
	nat_wire_free(&w);
out_nl:
	nat_nl_close(&n);
	return ret;
}

int nat_apply(const struct nat_state *s, char *err, size_t errlen)
{
	struct nat_batch *b;
	int ret;

	if ((ret = nat_render(s, &b, err, errlen)) < 0)
		return ret;
	ret = nat_batch_apply(b, err, errlen);
	nat_batch_free(b);
	return ret;
}

int nat_remove(void)
{
	struct nat_batch b = { 0 };
	struct nat_msg m = { .type = NFT_MSG_DELTABLE, .kind = NAT_TABLE_MSG,
			     .label = (char *)"table inet " NAT_TABLE " (delete)" };
	int ret;

	m.o.table = nftnl_table_alloc();
	if (!m.o.table)
		return -ENOMEM;
	nftnl_table_set_u32(m.o.table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (nftnl_table_set_str(m.o.table, NFTNL_TABLE_NAME, NAT_TABLE) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	b.msg = &m;
	b.n = 1;
	ret = nat_batch_apply(&b, NULL, 0);
	if (ret == -ENOENT)
		ret = 0;
out:
	nftnl_table_free(m.o.table);
	return ret;
}
