/*
 * The UAPI text protocol (https://www.wireguard.com/xplatform/): "get=1" and
 * "set=1" requests, key=value replies ended by a blank line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "wg/wg_uapi.h"

#define IO_TIMEOUT_SEC 10

/* --- reading lines -------------------------------------------------------- */

/*
 * Reads one line without its newline into buf (WG_UAPI_LINE_MAX + 1 bytes).
 * Returns its length, -EPROTO at end of input (a reply must end with a blank
 * line), -EMSGSIZE when too long, -EBADMSG for a NUL byte, -EIO on errors.
 */
static int read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int c;

	for (;;) {
		c = getc_unlocked(f);	/* the stream is ours alone */
		if (c == EOF)
			return ferror(f) ? -EIO : -EPROTO;
		if (c == '\n')
			break;
		if (c == '\0')
			return -EBADMSG;
		if (n == WG_UAPI_LINE_MAX)
			return -EMSGSIZE;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return (int)n;
}

/* --- values --------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 64 hex digits. */
static int parse_key(const char *s, mg_key out)
{
	mg_key k;
	int i, hi, lo;

	if (strlen(s) != 2 * MG_KEY_LEN)
		return -EBADMSG;
	for (i = 0; i < MG_KEY_LEN; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EBADMSG;
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, k, MG_KEY_LEN);
	mg_wipe(k, sizeof(k));
	return 0;
}

static void format_key(char out[2 * MG_KEY_LEN + 1], const mg_key k)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < MG_KEY_LEN; i++) {
		out[2 * i] = hex[k[i] >> 4];
		out[2 * i + 1] = hex[k[i] & 15];
	}
	out[2 * MG_KEY_LEN] = '\0';
}

/* Unsigned decimal, digits only, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (!*s)
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * An errno= value: wireguard-go before 2022 writes it negated ("-22"),
 * later versions positive. Either way, at most 4095.
 */
static int parse_errno_value(const char *s, int *out)
{
	uint64_t v;

	if (*s == '-')
		s++;
	if (parse_u64(s, 4095, &v))
		return -EBADMSG;
	*out = (int)v;
	return 0;
}

static bool key_syntax_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

/* --- parsing a get reply -------------------------------------------------- */

struct get_state {
	struct wg_device *dev;
	struct wg_peer *peer;		/* the peer being read, NULL before the first */
	bool have_errno;
	int err;			/* the errno= value */
};

static const char *const device_keys[] = {
	"private_key", "listen_port", "fwmark", NULL
};
static const char *const peer_keys[] = {
	"preshared_key", "endpoint", "persistent_keepalive_interval",
	"last_handshake_time_sec", "last_handshake_time_nsec", "rx_bytes",
	"tx_bytes", "allowed_ip", "protocol_version", NULL
};

static bool key_in(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(key, *list))
			return true;
	return false;
}

static int device_line(struct wg_device *dev, const char *key, const char *val)
{
	uint64_t v;
	int ret;

	if (!strcmp(key, "private_key")) {
		if ((ret = parse_key(val, dev->private_key)))
			return ret;
		dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
	} else if (!strcmp(key, "listen_port")) {
		if (parse_u64(val, UINT16_MAX, &v))
			return -EBADMSG;
		dev->listen_port = (uint16_t)v;
		dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
	} else {	/* fwmark */
		if (parse_u64(val, UINT32_MAX, &v))
			return -EBADMSG;
		dev->fwmark = (uint32_t)v;
		dev->flags |= WG_DEVICE_HAS_FWMARK;
	}
	return 0;
}

static int peer_line(struct wg_peer *peer, const char *key, const char *val)
{
	static const mg_key zero;
	struct wg_allowedip aip;
	uint64_t v;
	int ret;

	if (!strcmp(key, "preshared_key")) {
		if ((ret = parse_key(val, peer->preshared_key)))
			return ret;
		if (memcmp(peer->preshared_key, zero, MG_KEY_LEN))
			peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
		else
			peer->flags &= ~(uint32_t)WG_PEER_HAS_PRESHARED_KEY;
	} else if (!strcmp(key, "endpoint")) {
		if (wg_endpoint_parse(val, &peer->endpoint))
			return -EBADMSG;
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		if (parse_u64(val, UINT16_MAX, &v))
			return -EBADMSG;
		peer->persistent_keepalive = (uint16_t)v;
		peer->flags |= WG_PEER_HAS_KEEPALIVE;
	} else if (!strcmp(key, "last_handshake_time_sec")) {
		if (parse_u64(val, INT64_MAX, &v))
			return -EBADMSG;
		peer->last_handshake_sec = (int64_t)v;
	} else if (!strcmp(key, "last_handshake_time_nsec")) {
		if (parse_u64(val, 999999999, &v))
			return -EBADMSG;
		peer->last_handshake_nsec = (int64_t)v;
	} else if (!strcmp(key, "rx_bytes")) {
		if (parse_u64(val, UINT64_MAX, &peer->rx_bytes))
			return -EBADMSG;
	} else if (!strcmp(key, "tx_bytes")) {
		if (parse_u64(val, UINT64_MAX, &peer->tx_bytes))
			return -EBADMSG;
	} else if (!strcmp(key, "allowed_ip")) {
		if (wg_allowedip_parse(val, &aip))
			return -EBADMSG;
		return wg_peer_add_allowedip(peer, &aip);
	} else {	/* protocol_version */
		if (parse_u64(val, UINT32_MAX, &v))
			return -EBADMSG;
		if (v != 1)
			return -EPROTONOSUPPORT;
	}
	return 0;
}

/*
 * One "key=value" line. Device keys come before the first public_key, peer
 * keys after it, errno= last. Unknown keys (a newer protocol) are skipped.
 */
static int get_line(struct get_state *st, char *line)
{
	char *eq = strchr(line, '=');
	const char *key = line, *val;
	struct wg_peer *p;
	int ret;

	if (!eq)
		return -EBADMSG;
	*eq = '\0';
	val = eq + 1;
	if (!key_syntax_ok(key) || st->have_errno)
		return -EBADMSG;

	if (!strcmp(key, "errno")) {
		if (parse_errno_value(val, &st->err))
			return -EBADMSG;
		st->have_errno = true;
		return 0;
	}
	if (!strcmp(key, "public_key")) {
		p = wg_device_add_peer(st->dev);
		if (!p)
			return -ENOMEM;
		st->peer = p;
		if ((ret = parse_key(val, p->public_key)))
			return ret;
		p->flags |= WG_PEER_HAS_PUBLIC_KEY;
		return 0;
	}
	if (key_in(key, device_keys))
		return st->peer ? -EBADMSG : device_line(st->dev, key, val);
	if (key_in(key, peer_keys))
		return st->peer ? peer_line(st->peer, key, val) : -EBADMSG;
	return 0;
}

int wg_uapi_parse_get(FILE *f, struct wg_device **out)
{
	struct get_state st = { 0 };
	char line[WG_UAPI_LINE_MAX + 1];
	int ret, n;

	*out = NULL;
	st.dev = wg_device_new(NULL);
	if (!st.dev)
		return -ENOMEM;
	for (;;) {
		n = read_line(f, line);
		if (n < 0) {
			ret = n;
			goto out;
		}
		if (n == 0)
			break;
		if ((ret = get_line(&st, line)))
			goto out;
	}
	if (!st.have_errno) {
		ret = -EPROTO;
		goto out;
	}
	if (st.err) {
		ret = -st.err;
		goto out;
	}
	if (st.dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) {
		static const mg_key zero;

		if (memcmp(st.dev->private_key, zero, MG_KEY_LEN)) {
			if (mg_crypto_init()) {
				ret = -ENOSYS;
				goto out;
			}
			mg_key_public_from_private(st.dev->public_key, st.dev->private_key);
			st.dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
		} else {
			st.dev->flags &= ~(uint32_t)WG_DEVICE_HAS_PRIVATE_KEY;
		}
	}
	*out = st.dev;
	st.dev = NULL;
	ret = 0;
out:
	mg_wipe(line, sizeof(line));
	wg_free_device(st.dev);
	return ret;
}

int wg_uapi_parse_get_buf(const char *buf, size_t len, struct wg_device **out)
{
	FILE *f;
	int ret;

	*out = NULL;
	if (len == 0)
		return -EPROTO;
	f = fmemopen((void *)buf, len, "r");
	if (!f)
		return -errno;
	ret = wg_uapi_parse_get(f, out);
	fclose(f);
	return ret;
}

int wg_uapi_parse_errno(FILE *f)
{
	char line[WG_UAPI_LINE_MAX + 1];
	bool have = false;
	int n, v = 0;

	for (;;) {
		n = read_line(f, line);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		if (have || strncmp(line, "errno=", 6) || parse_errno_value(line + 6, &v))
			return -EBADMSG;
		have = true;
	}
	if (!have)
		return -EPROTO;
	return -v;
}

/* --- writing a set request ------------------------------------------------ */

static int write_peer(FILE *f, const struct wg_peer *p)
{
	char hex[2 * MG_KEY_LEN + 1], buf[WG_ENDPOINT_STRLEN];
	size_t i;
	int ret = 0;

	if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY))
		return -EINVAL;
	format_key(hex, p->public_key);
	fprintf(f, "public_key=%s\n", hex);
	if (p->flags & WG_PEER_REMOVE_ME) {
		fputs("remove=true\n", f);
		return 0;
	}
	if (p->flags & WG_PEER_UPDATE_ONLY)
		fputs("update_only=true\n", f);
	if (p->flags & WG_PEER_HAS_PRESHARED_KEY) {
		format_key(hex, p->preshared_key);
		fprintf(f, "preshared_key=%s\n", hex);
	}
	if (p->endpoint.sa.sa_family != AF_UNSPEC) {
		if ((ret = wg_endpoint_format(&p->endpoint, buf, sizeof(buf))))
			goto out;
		fprintf(f, "endpoint=%s\n", buf);
	}
	if (p->flags & WG_PEER_HAS_KEEPALIVE)
		fprintf(f, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
		fputs("replace_allowed_ips=true\n", f);
	for (i = 0; i < p->n_allowedips; i++) {
		if ((ret = wg_allowedip_format(&p->allowedips[i], buf, sizeof(buf))))
			goto out;
		fprintf(f, "allowed_ip=%s\n", buf);
	}
out:
	mg_wipe(hex, sizeof(hex));
	return ret;
}

int wg_uapi_write_set(FILE *f, const struct wg_device *dev)
{
	char hex[2 * MG_KEY_LEN + 1];
	size_t i;
	int ret = 0;

	fputs("set=1\n", f);
	if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) {
		format_key(hex, dev->private_key);
		fprintf(f, "private_key=%s\n", hex);
		mg_wipe(hex, sizeof(hex));
	}
	if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
		fprintf(f, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		fprintf(f, "fwmark=%u\n", dev->fwmark);
	if (dev->flags & WG_DEVICE_REPLACE_PEERS)
		fputs("replace_peers=true\n", f);
	for (i = 0; i < dev->n_peers; i++)
		if ((ret = write_peer(f, &dev->peers[i])))
			return ret;
	fputc('\n', f);
	if (fflush(f) == EOF || ferror(f))
		return -EIO;
	return 0;
}

/* --- the socket ----------------------------------------------------------- */

int wg_uapi_socket_path(const char *ifname, char *buf, size_t len)
{
	const char *dir = getenv("MESHGATE_WG_SOCKET_DIR");
	int n;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	if (!dir || !*dir)
		dir = WG_UAPI_DEFAULT_DIR;
	n = snprintf(buf, len, "%s/%s.sock", dir, ifname);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int wg_uapi_connect(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
	int fd, ret;

	if ((ret = wg_uapi_socket_path(ifname, sun.sun_path, sizeof(sun.sun_path))))
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		close(fd);
		/* No listener behind a path is the same as no interface. */
		return ret == -ENOENT || ret == -ECONNREFUSED ? -ENODEV : ret;
	}
	return fd;
}

bool wg_uapi_exists(const char *ifname)
{
	int fd = wg_uapi_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Sends req on ifname's socket and hands the reply stream to parse, with
 * either a device (get) or nothing (set).
 */
static int transact(const char *ifname, const char *req, size_t len, struct wg_device **out)
{
	char iobuf[8192];
	FILE *f = NULL;
	int fd, ret;

	fd = wg_uapi_connect(ifname);
	if (fd < 0)
		return fd;
	if ((ret = send_all(fd, req, len)))
		goto out;
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		goto out;
	}
	fd = -1;
	/* Our own buffer, so the private key in a reply can be wiped. */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	ret = out ? wg_uapi_parse_get(f, out) : wg_uapi_parse_errno(f);
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	mg_wipe(iobuf, sizeof(iobuf));
	return ret;
}

int wg_uapi_get_device(const char *ifname, struct wg_device **out)
{
	static const char req[] = "get=1\n\n";
	int ret;

	*out = NULL;
	ret = transact(ifname, req, sizeof(req) - 1, out);
	if (ret == 0)
		strcpy((*out)->name, ifname);
	return ret;
}

int wg_uapi_set_device(const struct wg_device *dev)
{
	char *req = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	f = open_memstream(&req, &len);
	if (!f)
		return -errno;
	ret = wg_uapi_write_set(f, dev);
	if (fclose(f) && !ret)
		ret = -EIO;
	if (ret)
		goto out;
	ret = transact(dev->name, req, len, NULL);
out:
	if (req) {
		mg_wipe(req, len);
		free(req);
	}
	return ret;
}
