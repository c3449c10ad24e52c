#ifndef MG_HTTP_H
#define MG_HTTP_H

#include <sys/socket.h>

struct server;
struct MHD_Daemon;

/* "127.0.0.1:8080", "[::1]:8080". Returns 0 or -EINVAL. */
int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen);
struct MHD_Daemon *http_start(struct server *srv, const struct sockaddr_storage *ss, unsigned *bound_port);
void http_stop(struct MHD_Daemon *d);

#endif
