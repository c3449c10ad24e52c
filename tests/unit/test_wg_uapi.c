/*
 * The UAPI text protocol: the get-reply parser on canned replies, the
 * set-request serializer, and the socket path against a fake server (a
 * thread) for error replies. The happy path against real wireguard-go is
 * test_wg_uapi_live.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wg/wg.h"
#include "wg/wg_uapi.h"

#define PRIV_HEX "6009f3ed167a2580e633cf9b5d3d24611dac564ff6b7d90c4d0b12281a311a4d"
/* Its public key: y9XReUBiOzEHXUB0Z+PiFGW2eQc5M1QeUbOYzsVUag8= */
#define PUB_HEX "cbd5d17940623b31075d407467e3e21465b679073933541e51b398cec5546a0f"
#define PEER1 "1111111111111111111111111111111111111111111111111111111111111111"
#define PEER2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"
#define PSK "abababababababababababababababababababababababababababababababab"

/* What wireguard-go answers to get=1 (its field order). */
static const char good_reply[] =
	"private_key=" PRIV_HEX "\n"
	"listen_port=51820\n"
	"fwmark=7\n"
	"public_key=" PEER1 "\n"
	"preshared_key=" ZERO "\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=5\n"
	"tx_bytes=100\n"
	"rx_bytes=18446744073709551615\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.2/32\n"
	"allowed_ip=fd00::2/128\n"
	"public_key=" PEER2 "\n"
	"preshared_key=" PSK "\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::1]:4000\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"errno=0\n"
	"\n";

static int parse(const char *text, struct wg_device **out)
{
	return wg_uapi_parse_get_buf(text, strlen(text), out);
}

static int parse_ret(const char *text)
{
	struct wg_device *dev = NULL;
	int ret = parse(text, &dev);

	if (ret)
		assert_null(dev);
	wg_free_device(dev);
	return ret;
}

static void test_parse_good(void **state)
{
	struct wg_device *dev = NULL;
	char buf[WG_ENDPOINT_STRLEN];
	mg_key pub;
	const struct wg_peer *p;

	(void)state;
	assert_int_equal(parse(good_reply, &dev), 0);
	assert_non_null(dev);
	assert_int_equal(dev->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY |
					     WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 7);
	assert_int_equal(mg_key_from_base64(pub, "y9XReUBiOzEHXUB0Z+PiFGW2eQc5M1QeUbOYzsVUag8="), 0);
	assert_memory_equal(dev->public_key, pub, MG_KEY_LEN);
	assert_int_equal(dev->n_peers, 2);

	p = &dev->peers[0];
	assert_int_equal(p->public_key[0], 0x11);
	assert_int_equal(p->flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(wg_endpoint_format(&p->endpoint, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "192.0.2.1:51820");
	assert_int_equal(p->last_handshake_sec, 1700000000);
	assert_int_equal(p->last_handshake_nsec, 5);
	assert_int_equal(p->tx_bytes, 100);
	assert_true(p->rx_bytes == UINT64_MAX);
	assert_int_equal(p->persistent_keepalive, 25);
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(wg_allowedip_format(&p->allowedips[1], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fd00::2/128");

	p = &dev->peers[1];
	assert_int_equal(p->public_key[31], 0x22);
	assert_true(p->flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(p->preshared_key[0], 0xab);
	assert_int_equal(wg_endpoint_format(&p->endpoint, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[2001:db8::1]:4000");
	assert_int_equal(p->n_allowedips, 0);
	wg_free_device(dev);
}

static void test_parse_minimal_and_unknown_keys(void **state)
{
	struct wg_device *dev = NULL;

	(void)state;
	/* A fresh interface: nothing but errno. */
	assert_int_equal(parse("errno=0\n\n", &dev), 0);
	assert_int_equal(dev->flags, 0);
	assert_int_equal(dev->n_peers, 0);
	wg_free_device(dev);
	/* Keys of a newer protocol are skipped, in both sections. */
	assert_int_equal(parse("listen_port=1\nfuture_thing=x\npublic_key=" PEER1 "\n"
			       "newer_peer_field=1,2\nerrno=0\n\n", &dev), 0);
	assert_int_equal(dev->n_peers, 1);
	wg_free_device(dev);
}

static void test_parse_errno(void **state)
{
	(void)state;
	assert_int_equal(parse_ret("errno=22\n\n"), -EINVAL);
	assert_int_equal(parse_ret("listen_port=5\nerrno=5\n\n"), -EIO);
	/* wireguard-go before 2022 sends it negated. */
	assert_int_equal(parse_ret("errno=-22\n\n"), -EINVAL);
	assert_int_equal(parse_ret("errno=-0\n\n"), 0);
	assert_int_equal(parse_ret("errno=--1\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("errno=-\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("errno=-4096\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("errno=4096\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("errno=\n\n"), -EBADMSG);
	/* Nothing may follow errno. */
	assert_int_equal(parse_ret("errno=0\nlisten_port=1\n\n"), -EBADMSG);
	/* errno is required. */
	assert_int_equal(parse_ret("listen_port=1\n\n"), -EPROTO);
	assert_int_equal(parse_ret("\n"), -EPROTO);
}

static void test_parse_bad_keys(void **state)
{
	(void)state;
	/* 63 digits, 65 digits, a non-hex digit, a space. */
	assert_int_equal(parse_ret("private_key=" PRIV_HEX "\nerrno=0\n\n"), 0);
	assert_int_equal(parse_ret("private_key=" PEER1 "1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("private_key=111111111111111111111111111111111111111111111111111111111111111"
				   "\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=g111111111111111111111111111111111111111111111111111111111111111"
				   "\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key= 11111111111111111111111111111111111111111111111111111111111111"
				   "\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\npreshared_key=zz\nerrno=0\n\n"), -EBADMSG);
}

static void test_parse_bad_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse_ret("listen_port=65535\nerrno=0\n\n"), 0);
	assert_int_equal(parse_ret("listen_port=65536\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("listen_port=-1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("listen_port=+1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("listen_port= 1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("listen_port=1x\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("fwmark=4294967296\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n"),
			 -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nrx_bytes=99999999999999999999999\nerrno=0\n\n"),
			 -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n"),
			 -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n"),
			 -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nlast_handshake_time_sec=-5\nerrno=0\n\n"),
			 -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nprotocol_version=2\nerrno=0\n\n"),
			 -EPROTONOSUPPORT);
}

static void test_parse_bad_values(void **state)
{
	(void)state;
	assert_int_equal(parse_ret("public_key=" PEER1 "\nendpoint=1.2.3.4\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nendpoint=1.2.3.4:0\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nendpoint=[::1:4\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nendpoint=host.example:4\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nallowed_ip=10.0.0.1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nallowed_ip=10.0.0.1/33\nerrno=0\n\n"), -EBADMSG);
}

static void test_parse_bad_structure(void **state)
{
	char line[WG_UAPI_LINE_MAX + 64];

	(void)state;
	/* A peer field before any peer; a device field inside a peer. */
	assert_int_equal(parse_ret("allowed_ip=10.0.0.1/32\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("public_key=" PEER1 "\nlisten_port=1\nerrno=0\n\n"), -EBADMSG);
	/* No '=', an empty or odd key. */
	assert_int_equal(parse_ret("garbage\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("=1\nerrno=0\n\n"), -EBADMSG);
	assert_int_equal(parse_ret("Listen_Port=1\nerrno=0\n\n"), -EBADMSG);
	/* Missing blank line, missing final newline, empty input. */
	assert_int_equal(parse_ret("errno=0\n"), -EPROTO);
	assert_int_equal(parse_ret("errno=0"), -EPROTO);
	assert_int_equal(parse_ret(""), -EPROTO);
	/* Over-long line (an unknown key, so only the length is wrong). */
	memset(line, 'a', sizeof(line));
	memcpy(line, "x=", 2);
	strcpy(line + WG_UAPI_LINE_MAX + 1, "\nerrno=0\n\n");
	assert_int_equal(parse_ret(line), -EMSGSIZE);
	/* One shorter is fine. */
	strcpy(line + WG_UAPI_LINE_MAX, "\nerrno=0\n\n");
	assert_int_equal(parse_ret(line), 0);
	/* A NUL byte inside a line. */
	{
		static const char nul[] = "listen_port=1\0\nerrno=0\n\n";
		struct wg_device *dev = NULL;

		assert_int_equal(wg_uapi_parse_get_buf(nul, sizeof(nul) - 1, &dev), -EBADMSG);
		assert_null(dev);
	}
}

static FILE *text_file(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

static void test_parse_set_reply(void **state)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
		{ "errno=0\n\n", 0 },
		{ "errno=22\n\n", -EINVAL },
		{ "errno=98\n\n", -EADDRINUSE },
		{ "errno=-22\n\n", -EINVAL },
		{ "errno=0\n", -EPROTO },
		{ "\n", -EPROTO },
		{ "errno=x\n\n", -EBADMSG },
		{ "errno=0\nerrno=0\n\n", -EBADMSG },
		{ "other=1\n\n", -EBADMSG },
	};
	size_t i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = text_file(cases[i].text);
		assert_int_equal(wg_uapi_parse_errno(f), cases[i].ret);
		fclose(f);
	}
}

static struct wg_device *sample_set(void)
{
	struct wg_device *dev = wg_device_new("wg0");
	struct wg_allowedip a;
	struct wg_peer *p;

	assert_non_null(dev);
	dev->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT |
		     WG_DEVICE_HAS_FWMARK | WG_DEVICE_REPLACE_PEERS;
	memset(dev->private_key, 0x60, MG_KEY_LEN);
	dev->listen_port = 51820;
	dev->fwmark = 0;
	/* A new peer with everything. */
	p = wg_device_add_peer(dev);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_KEEPALIVE |
		   WG_PEER_REPLACE_ALLOWEDIPS;
	memset(p->public_key, 0x11, MG_KEY_LEN);
	memset(p->preshared_key, 0xab, MG_KEY_LEN);
	assert_int_equal(wg_endpoint_parse("[2001:db8::1]:4000", &p->endpoint), 0);
	p->persistent_keepalive = 25;
	assert_int_equal(wg_allowedip_parse("10.0.0.2/32", &a), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	assert_int_equal(wg_allowedip_parse("fd00::/64", &a), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	/* An update of the keepalive only. */
	p = wg_device_add_peer(dev);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY | WG_PEER_HAS_KEEPALIVE;
	memset(p->public_key, 0x22, MG_KEY_LEN);
	p->persistent_keepalive = 0;
	/* A removal: its other fields are not sent. */
	p = wg_device_add_peer(dev);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME | WG_PEER_HAS_KEEPALIVE;
	memset(p->public_key, 0x33, MG_KEY_LEN);
	return dev;
}

static void test_write_set(void **state)
{
	static const char want[] =
		"set=1\n"
		"private_key=6060606060606060606060606060606060606060606060606060606060606060\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"replace_peers=true\n"
		"public_key=" PEER1 "\n"
		"preshared_key=" PSK "\n"
		"endpoint=[2001:db8::1]:4000\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00::/64\n"
		"public_key=" PEER2 "\n"
		"update_only=true\n"
		"persistent_keepalive_interval=0\n"
		"public_key=3333333333333333333333333333333333333333333333333333333333333333\n"
		"remove=true\n"
		"\n";
	struct wg_device *dev = sample_set();
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(wg_uapi_write_set(f, dev), 0);
	fclose(f);
	assert_string_equal(text, want);
	free(text);

	/* Nothing flagged: just the framing. */
	dev->flags = 0;
	dev->n_peers = 0;
	f = open_memstream(&text, &len);
	assert_int_equal(wg_uapi_write_set(f, dev), 0);
	fclose(f);
	assert_string_equal(text, "set=1\n\n");
	free(text);

	/* A peer without a public key cannot be written. */
	dev->n_peers = 1;
	dev->peers[0].flags = 0;
	f = open_memstream(&text, &len);
	assert_int_equal(wg_uapi_write_set(f, dev), -EINVAL);
	fclose(f);
	free(text);
	dev->n_peers = 3;
	wg_free_device(dev);
}

/* The serializer's output read back by the parser (as a get reply). */
static void test_round_trip(void **state)
{
	struct wg_device *dev = sample_set(), *back = NULL;
	char *text = NULL, *reply;
	size_t len = 0;
	FILE *f;

	(void)state;
	dev->flags = WG_DEVICE_HAS_LISTEN_PORT;
	dev->n_peers = 1;
	dev->peers[0].flags &= ~(uint32_t)WG_PEER_REPLACE_ALLOWEDIPS;
	f = open_memstream(&text, &len);
	assert_int_equal(wg_uapi_write_set(f, dev), 0);
	fclose(f);
	/* Drop "set=1\n" and the blank line, add errno. */
	assert_int_equal(asprintf(&reply, "%.*serrno=0\n\n", (int)(len - 7), text + 6) > 0, 1);
	assert_int_equal(parse(reply, &back), 0);
	assert_int_equal(back->listen_port, 51820);
	assert_int_equal(back->n_peers, 1);
	assert_memory_equal(back->peers[0].public_key, dev->peers[0].public_key, MG_KEY_LEN);
	assert_memory_equal(back->peers[0].preshared_key, dev->peers[0].preshared_key, MG_KEY_LEN);
	assert_true(wg_endpoint_equal(&back->peers[0].endpoint, &dev->peers[0].endpoint));
	assert_int_equal(back->peers[0].n_allowedips, 2);
	free(text);
	free(reply);
	wg_free_device(back);
	dev->n_peers = 3;
	wg_free_device(dev);
}

/* --- a fake wireguard-go socket -------------------------------------------- */

struct fake {
	char dir[64];
	char ifname[IFNAMSIZ];
	int lfd;
	const char *reply;
	char request[4096];
	pthread_t thread;
};

/*
 * Accepts connections until one sends a request (connections that send
 * nothing are existence probes), reads it up to its blank line, answers.
 */
static void *fake_serve(void *arg)
{
	struct fake *fk = arg;
	size_t n;
	ssize_t r;
	int fd;

	for (;;) {
		fd = accept(fk->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		n = 0;
		while (n < sizeof(fk->request) - 1) {
			r = read(fd, fk->request + n, sizeof(fk->request) - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			fk->request[n] = '\0';
			if (n >= 2 && !strcmp(fk->request + n - 2, "\n\n"))
				break;
		}
		if (n == 0) {
			close(fd);
			continue;
		}
		if (send(fd, fk->reply, strlen(fk->reply), MSG_NOSIGNAL) < 0)
			perror("fake send");
		close(fd);
		return NULL;
	}
}

static void fake_start(struct fake *fk, const char *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(fk, 0, sizeof(*fk));
	strcpy(fk->dir, "/tmp/mgwgtest.XXXXXX");
	assert_non_null(mkdtemp(fk->dir));
	snprintf(fk->ifname, sizeof(fk->ifname), "mgfake%d", (int)getpid() % 1000000);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", fk->dir, fk->ifname);
	fk->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fk->lfd, 4), 0);
	fk->reply = reply;
	assert_int_equal(setenv("MESHGATE_WG_SOCKET_DIR", fk->dir, 1), 0);
	assert_int_equal(pthread_create(&fk->thread, NULL, fake_serve, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	char path[128];

	pthread_join(fk->thread, NULL);
	close(fk->lfd);
	snprintf(path, sizeof(path), "%s/%s.sock", fk->dir, fk->ifname);
	unlink(path);
	rmdir(fk->dir);
	unsetenv("MESHGATE_WG_SOCKET_DIR");
}

static void test_fake_set_error(void **state)
{
	struct wg_device *dev = sample_set();
	struct fake fk;

	(void)state;
	fake_start(&fk, "errno=22\n\n");
	strcpy(dev->name, fk.ifname);
	assert_int_equal(wg_uapi_set_device(dev), -EINVAL);
	fake_stop(&fk);
	/* The request went out whole, with its blank line. */
	assert_true(!strncmp(fk.request, "set=1\nprivate_key=", 18));
	assert_non_null(strstr(fk.request, "public_key=" PEER2 "\nupdate_only=true\n"));
	assert_true(strlen(fk.request) > 14);
	assert_string_equal(fk.request + strlen(fk.request) - 14, "\nremove=true\n\n");
	wg_free_device(dev);
}

static void test_fake_get_error_and_reply(void **state)
{
	struct wg_device *dev = NULL;
	struct fake fk;

	(void)state;
	fake_start(&fk, "errno=1\n\n");
	assert_int_equal(wg_uapi_get_device(fk.ifname, &dev), -EPERM);
	assert_null(dev);
	fake_stop(&fk);
	assert_string_equal(fk.request, "get=1\n\n");

	/* Through the dispatcher: no such link here, a UAPI socket: userspace. */
	fake_start(&fk, good_reply);
	assert_int_equal(wg_get_device(fk.ifname, &dev), 0);
	fake_stop(&fk);
	assert_non_null(dev);
	assert_string_equal(dev->name, fk.ifname);
	assert_int_equal(dev->n_peers, 2);
	wg_free_device(dev);

	/* A truncated reply (the server hangs up early). */
	fake_start(&fk, "listen_port=1\n");
	assert_int_equal(wg_uapi_get_device(fk.ifname, &dev), -EPROTO);
	fake_stop(&fk);
}

static void test_no_socket(void **state)
{
	struct wg_device *dev = NULL;
	char dir[] = "/tmp/mgwgtest.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("MESHGATE_WG_SOCKET_DIR", dir, 1);
	assert_false(wg_uapi_exists("mgnothere0"));
	assert_int_equal(wg_uapi_get_device("mgnothere0", &dev), -ENODEV);
	assert_int_equal(wg_get_device("mgnothere0", &dev), -ENODEV);
	assert_int_equal(wg_backend_of("mgnothere0"), WG_BACKEND_NONE);
	assert_int_equal(wg_uapi_get_device("../etc", &dev), -EINVAL);
	assert_int_equal(wg_get_device("a/b", &dev), -EINVAL);
	unsetenv("MESHGATE_WG_SOCKET_DIR");
	rmdir(dir);
}

static void test_endpoint_text(void **state)
{
	union wg_endpoint ep;
	char buf[WG_ENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(wg_endpoint_parse("[fe80::1%1]:51820", &ep), 0);
	assert_int_equal(ep.sin6.sin6_scope_id, 1);
	assert_int_equal(wg_endpoint_format(&ep, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[fe80::1%1]:51820");
	assert_int_equal(wg_endpoint_parse("[fe80::1%]:51820", &ep), -EINVAL);
	assert_int_equal(wg_endpoint_parse("1.2.3.4:65536", &ep), -EINVAL);
	assert_int_equal(wg_endpoint_parse("1.2.3.4:-1", &ep), -EINVAL);
	assert_int_equal(wg_endpoint_parse("::1:80", &ep), -EINVAL);
	assert_int_equal(wg_endpoint_format(&ep, buf, 8), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_minimal_and_unknown_keys),
		cmocka_unit_test(test_parse_errno),
		cmocka_unit_test(test_parse_bad_keys),
		cmocka_unit_test(test_parse_bad_numbers),
		cmocka_unit_test(test_parse_bad_values),
		cmocka_unit_test(test_parse_bad_structure),
		cmocka_unit_test(test_parse_set_reply),
		cmocka_unit_test(test_write_set),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fake_set_error),
		cmocka_unit_test(test_fake_get_error_and_reply),
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_endpoint_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
