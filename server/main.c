/*
 * meshgated: the meshgate control plane.
 *
 *   meshgated --data-dir DIR [--listen ADDR:PORT] [--public-url URL]
 *             [--db URL] [--port-file FILE] [--log-level LEVEL]
 *             [--dns-dir DIR [--dnsmasq-pidfile FILE]]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "server.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: meshgated --data-dir DIR [--listen ADDR:PORT] [--public-url URL]\n"
		"                 [--db URL] [--port-file FILE] [--log-level debug|info|warn|error]\n"
		"                 [--broker mqtt://HOST:PORT --broker-admin-file FILE [--broker-public-url URL]]\n"
		"                 [--web-dir DIR] [--tls-cert PEM --tls-key PEM]\n"
		"                 [--dns-dir DIR [--dnsmasq-pidfile FILE]]\n");
	exit(2);
}

/* Write `text` to `path` with mode 0600, atomically (temp file, fsync, rename). */
static int write_private_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		ret = -errno ? -errno : -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* A PEM file (at most 64 KiB), NUL-terminated, or NULL. Caller frees. */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = malloc(65537);
	n = buf ? read(fd, buf, 65536) : -1;
	close(fd);
	if (n <= 0 || n == 65536) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Room for the connection limit (4096 in all): raise the soft descriptor limit to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-file limit");
	}
}

/* On a fresh database, make the one-time setup token. */
static void setup_token_init(struct server *srv)
{
	char token[MG_TOKEN_LEN], path[PATH_MAX + 32], line[MG_TOKEN_LEN + 2];
	int64_t users = 0;

	if (store_get_int(srv->st, &users, NULL, "SELECT COUNT(*) FROM users", NULL) != STORE_OK)
		fatalx("cannot read users from the database");
	snprintf(path, sizeof(path), "%s/setup-token", srv->data_dir);
	if (users > 0) {
		unlink(path);
		return;
	}
	mg_token_generate(token, "mgt_");
	mg_token_hash(srv->setup_hash, token);
	srv->setup_pending = true;
	snprintf(line, sizeof(line), "%s\n", token);
	if (write_private_file(path, line) < 0)
		log_warnx("cannot write %s", path);
	/* The appliance's console is where the admin reads this on first boot. */
	log_info("no admin account yet: finish setup with this one-time token: %s", token);
	log_info("(also in %s; POST /api/v1/setup or 'meshgatectl setup')", path);
	mg_wipe(token, sizeof(token));
	mg_wipe(line, sizeof(line));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "public-url", required_argument, NULL, 'u' },
		{ "db", required_argument, NULL, 'b' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "broker", required_argument, NULL, 'm' },
		{ "web-dir", required_argument, NULL, 'w' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "broker-public-url", required_argument, NULL, 'M' },
		{ "broker-admin-file", required_argument, NULL, 'a' },
		{ "dns-dir", required_argument, NULL, 'D' },
		{ "dnsmasq-pidfile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct server srv;
	const char *listen_spec = "127.0.0.1:8080", *db = NULL, *port_file = NULL, *public_url = NULL;
	const char *broker_url = NULL, *broker_public = NULL, *broker_admin = NULL;
	const char *tls_cert_path = NULL, *tls_key_path = NULL;
	char *tls_cert = NULL, *tls_key = NULL;
	char dburl[PATH_MAX + 32], portbuf[16];
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_Daemon *httpd;
	unsigned port;
	sigset_t sigs;
	int c, sig, level, listen_fd;

	log_init("meshgated", LOG_LVL_INFO);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strlen(optarg) >= sizeof(srv.data_dir))
				fatalx("--data-dir too long");
			strcpy(srv.data_dir, optarg);
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 'u':
			public_url = optarg;
			break;
		case 'b':
			db = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'm':
			broker_url = optarg;
			break;
		case 'c':
			tls_cert_path = optarg;
			break;
		case 'k':
			tls_key_path = optarg;
			break;
		case 'w':
			if (!realpath(optarg, srv.web_dir))
				fatal("--web-dir %s", optarg);
			break;
		case 'M':
			broker_public = optarg;
			break;
		case 'a':
			broker_admin = optarg;
			break;
		case 'D':
			if (!optarg[0] || strlen(optarg) >= sizeof(srv.dns_dir))
				fatalx("--dns-dir must be a directory name");
			strcpy(srv.dns_dir, optarg);
			break;
		case 'P':
			if (!optarg[0] || strlen(optarg) >= sizeof(srv.dns_pidfile))
				fatalx("--dnsmasq-pidfile must be a file name");
			strcpy(srv.dns_pidfile, optarg);
			break;
		case 'v':
			level = log_level_parse(optarg);
			if (level < 0)
				usage();
			log_set_level(level);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !srv.data_dir[0] || !tls_cert_path != !tls_key_path ||
	    (srv.dns_pidfile[0] && !srv.dns_dir[0]))
		usage();
	if (http_parse_listen(listen_spec, &ss, &sslen) < 0)
		fatalx("--listen must be ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
	if (public_url && strncmp(public_url, "http://", 7) && strncmp(public_url, "https://", 8))
		fatalx("--public-url must start with http:// or https://");
	if (public_url && (strlen(public_url) >= sizeof(srv.public_url) || strpbrk(public_url, " \"\\\r\n\t")))
		fatalx("--public-url is not a plain URL");

	if (mg_crypto_init() < 0)
		fatalx("libsodium initialisation failed");
	raise_fd_limit();
	umask(077);
	if (mkdir(srv.data_dir, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", srv.data_dir);

	/* Signals are handled by sigwait in this thread; block them before any thread starts. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (!db) {
		snprintf(dburl, sizeof(dburl), "sqlite:%s/meshgate.db", srv.data_dir);
		db = dburl;
	}
	if (store_open(db, &srv.st) != STORE_OK)
		fatalx("cannot open the database");
	if (secrets_init(&srv) < 0)
		fatalx("cannot load or create the master key in %s", srv.data_dir);
	pthread_mutex_init(&srv.setup_mu, NULL);
	pthread_mutex_init(&srv.publish_mu, NULL);
	setup_token_init(&srv);
	if (dns_start(&srv) < 0)
		fatalx("cannot write the hosts files in %s", srv.dns_dir);
	if (broker_url && !broker_admin)
		fatalx("--broker needs --broker-admin-file");
	if (broker_url && broker_start(broker_url, broker_public, broker_admin, &srv.broker) < 0)
		fatalx("cannot set up the broker client");

	/* Listen first, so the public URL is known before the first request. */
	listen_fd = http_listen(&ss, &port);
	if (listen_fd < 0) {
		errno = -listen_fd;
		fatal("cannot listen on %s", listen_spec);
	}
	if (public_url)
		snprintf(srv.public_url, sizeof(srv.public_url), "%s", public_url);
	else if (ss.ss_family == AF_INET6)
		snprintf(srv.public_url, sizeof(srv.public_url), "%s://[%.*s]:%u", tls_cert_path ? "https" : "http",
			 (int)(strrchr(listen_spec, ']') - listen_spec - 1), listen_spec + 1, port);
	else
		snprintf(srv.public_url, sizeof(srv.public_url), "%s://%.*s:%u", tls_cert_path ? "https" : "http",
			 (int)(strrchr(listen_spec, ':') - listen_spec), listen_spec, port);
	if (expiry_start(&srv) < 0)
		fatalx("cannot start the expiry thread");
	if (tls_cert_path) {
		/* Read before serving; the key stays only in MHD's memory. */
		tls_cert = read_small_file(tls_cert_path);
		tls_key = read_small_file(tls_key_path);
		if (!tls_cert || !tls_key)
			fatal("cannot read the TLS certificate or key");
	}
	httpd = http_start(&srv, listen_fd, tls_cert, tls_key);
	if (!httpd)
		fatalx("cannot start the HTTP server");
	log_info("listening on %s (port %u), public URL %s", listen_spec, port, srv.public_url);
	if (port_file) {
		snprintf(portbuf, sizeof(portbuf), "%u\n", port);
		if (write_private_file(port_file, portbuf) < 0)
			log_warnx("cannot write %s", port_file);
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("shutting down (signal %d)", sig);
	http_stop(httpd);
	expiry_stop();
	broker_stop(srv.broker);
	store_close(srv.st);
	secrets_free(&srv);
	free(tls_cert);
	if (tls_key) {
		mg_wipe(tls_key, strlen(tls_key));
		free(tls_key);
	}
	pthread_mutex_destroy(&srv.setup_mu);
	return 0;
}
