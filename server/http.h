#ifndef MG_HTTP_H
#define MG_HTTP_H

#include <sys/socket.h>

struct server;
struct MHD_Daemon;

/* "127.0.0.1:8080", "[::1]:8080". Returns 0 or -EINVAL. */
int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen);
/* A listening socket on ss; returns the fd (the port it got in *bound_port) or -errno. */
int http_listen(const struct sockaddr_storage *ss, unsigned *bound_port);
/* Serve the API on listen_fd (MHD owns it from now on). */
/* With tls_cert and tls_key (PEM text), HTTPS. */
struct MHD_Daemon *http_start(struct server *srv, int listen_fd, const char *tls_cert, const char *tls_key);
void http_stop(struct MHD_Daemon *d);

#endif
