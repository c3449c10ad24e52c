/*
 * The HTTP side of meshgated: libmicrohttpd set-up with limits, request
 * body collection under a cap, routing, authentication and the replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "handlers.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "server.h"

static void request_free(struct request *req)
{
	if (!req)
		return;
	/* Bodies may carry secrets (login passwords, .conf files). */
	if (req->body)
		mg_wipe(req->body, req->body_len);
	if (req->resp_body)
		mg_wipe(req->resp_body, req->resp_len ? req->resp_len : strlen(req->resp_body));
	free(req->body);
	free(req->resp_body);
	free(req->set_cookie);
	free(req->content_disposition);
	free(req);
}

void reply_json(struct request *req, unsigned status, json_t *body)
{
	free(req->resp_body);
	req->resp_len = 0;
	req->resp_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	req->status = req->resp_body || !body ? status : 500;
	req->resp_type = "application/json";
}

void reply_error(struct request *req, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(req, status, json_pack("{s:s}", "error", msg));
}

void reply_bytes(struct request *req, unsigned status, const char *type, void *data, size_t len)
{
	free(req->resp_body);
	req->resp_body = data;
	req->resp_len = len;
	req->resp_type = type;
	req->status = status;
}

void reply_empty(struct request *req, unsigned status)
{
	free(req->resp_body);
	req->resp_body = NULL;
	req->resp_len = 0;
	req->resp_type = NULL;
	req->status = status;
}

json_t *row_json_by_id(struct store *st, row_json_fn row_json, const char *sql, int64_t id)
{
	struct store_stmt *s;
	json_t *out = NULL;

	if (store_query(st, &s, sql, "i", id) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			out = row_json(st, s);
		store_finalize(s);
	}
	return out;
}

void reply_rows(struct request *req, row_json_fn row_json, const char *what, const char *sql, const char *types,
		...)
{
	struct store *st = req->srv->st;
	json_t *arr = json_array();
	struct store_stmt *s;
	va_list ap;
	int ret;

	store_lock(st);
	va_start(ap, types);
	ret = store_vquery(st, &s, sql, types, ap);
	va_end(ap);
	if (ret == STORE_OK) {
		while ((ret = store_step(s)) == STORE_ROW)
			json_array_append_new(arr, row_json(st, s));
		store_finalize(s);
	}
	store_unlock(st);
	if (ret < 0) {
		json_decref(arr);
		reply_store_error(req, ret, what);
		return;
	}
	reply_json(req, 200, arr);
}

void reply_store_error(struct request *req, int err, const char *what)
{
	if (err == STORE_CONSTRAINT)
		reply_error(req, 409, "%s conflicts with an existing record", what);
	else if (err == STORE_BUSY)
		reply_error(req, 503, "storage unavailable, try again later");
	else
		reply_error(req, 500, "internal storage error");
}

const char *request_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *request_arg(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *request_json(struct request *req, const struct mg_json_field *fields)
{
	char err[256];
	json_t *obj;

	if (!req->body_is_json) {
		reply_error(req, 415, "request body must be application/json");
		return NULL;
	}
	obj = mg_json_parse_object(req->body ? req->body : "", req->body_len, err, sizeof(err));
	if (!obj) {
		reply_error(req, 400, "%s", err);
		return NULL;
	}
	if (mg_json_unpack(obj, fields, err, sizeof(err)) < 0) {
		json_decref(obj);
		reply_error(req, 400, "%s", err);
		return NULL;
	}
	return obj;
}

bool request_no_body(struct request *req)
{
	static const struct mg_json_field none[] = { { 0 } };
	json_t *obj;

	if (req->body_len == 0)
		return true;
	obj = request_json(req, none);
	json_decref(obj);
	return obj != NULL;
}

/* Split the path into segments and match against the route table. */
static const struct route *route_match(struct request *req, bool *path_known)
{
	const struct route *found = NULL;
	char *segs[16];
	unsigned nsegs = 0;
	char *p, *save = NULL;

	*path_known = false;
	if (strlen(req->path) >= sizeof(req->path_copy))
		return NULL;
	strcpy(req->path_copy, req->path);
	for (p = strtok_r(req->path_copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (nsegs == sizeof(segs) / sizeof(segs[0]))
			return NULL;
		segs[nsegs++] = p;
	}

	for (unsigned r = 0; r < n_routes && !found; r++) {
		const char *pat = routes[r].pattern;
		unsigned i = 0, nparams = 0;
		const char *params[MG_MAX_PARAMS];
		bool ok = true;

		while (*pat == '/' && ok) {
			const char *end;
			size_t len;

			pat++;
			end = strchrnul(pat, '/');
			len = (size_t)(end - pat);
			if (i >= nsegs) {
				ok = false;
				break;
			}
			if (len == 1 && *pat == '*') {
				if (nparams == MG_MAX_PARAMS)
					ok = false;
				else
					params[nparams++] = segs[i];
			} else if (strlen(segs[i]) != len || strncmp(segs[i], pat, len)) {
				ok = false;
			}
			i++;
			pat = end;
		}
		if (!ok || i != nsegs)
			continue;
		*path_known = true;
		if (strcmp(routes[r].method, req->method))
			continue;
		for (unsigned k = 0; k < nparams; k++)
			req->params[k] = params[k];
		found = &routes[r];
	}
	return found;
}

static void dispatch(struct request *req)
{
	const struct route *route;
	bool path_known;

	if (req->body_too_large) {
		reply_error(req, 413, "request body larger than %d bytes", MG_BODY_MAX);
		return;
	}
	route = route_match(req, &path_known);
	/* Everything outside /api/ is the console's static files. */
	if (!route && strncmp(req->path, "/api/", 5)) {
		if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
			reply_error(req, 405, "method %s not allowed here", req->method);
		else
			handle_static(req);
		return;
	}
	if (!route) {
		if (path_known)
			reply_error(req, 405, "method %s not allowed here", req->method);
		else
			reply_error(req, 404, "not found");
		return;
	}
	auth_request(req);
	if (!auth_check(req, route->access))
		return;
	route->handler(req);
	if (!req->status)
		reply_error(req, 500, "handler produced no reply");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct request *req)
{
	struct MHD_Response *resp;
	const char *body = req->resp_body ? req->resp_body : "";
	size_t len = req->resp_len ? req->resp_len : strlen(body);
	enum MHD_Result ret;
	char num[16];

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (req->resp_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* The console: its own files only, no inline script; the API: nothing at all. */
	MHD_add_response_header(resp, "Content-Security-Policy", req->is_console ?
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
				"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
				"form-action 'self'; frame-ancestors 'none'" :
				"default-src 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	if (req->set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, req->set_cookie);
	if (req->content_disposition)
		MHD_add_response_header(resp, "Content-Disposition", req->content_disposition);
	if (req->retry_after) {
		snprintf(num, sizeof(num), "%u", req->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	ret = MHD_queue_response(conn, req->status ? req->status : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void source_ip_of(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	struct mg_ip ip;

	snprintf(out, len, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	sa = ci->client_addr;
	memset(&ip, 0, sizeof(ip));
	if (sa->sa_family == AF_INET) {
		ip.family = AF_INET;
		memcpy(ip.bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			ip.family = AF_INET;
			memcpy(ip.bytes, &a6->s6_addr[12], 4);
		} else {
			ip.family = AF_INET6;
			memcpy(ip.bytes, a6, 16);
		}
	} else {
		return;
	}
	mg_ip_format(&ip, out, len);
}

static bool content_type_is_json(struct MHD_Connection *conn)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n))
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;

	if (!req) {
		const char *cl;

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->srv = cls;
		req->conn = conn;
		req->method = method;
		req->path = url;
		req->body_is_json = content_type_is_json(conn);
		source_ip_of(conn, req->source_ip, sizeof(req->source_ip));
		*con_cls = req;
		/* Refuse an announced oversize body before reading any of it. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > MG_BODY_MAX) {
			req->body_too_large = true;
			reply_error(req, 413, "request body larger than %d bytes", MG_BODY_MAX);
			return send_reply(conn, req);
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;

		if (req->status) {
			/* A reply is queued already (413): discard the rest. */
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (req->body_too_large || req->body_len + n > MG_BODY_MAX) {
			req->body_too_large = true;
		} else {
			char *nb = realloc(req->body, req->body_len + n + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + req->body_len, upload_data, n);
			req->body = nb;
			req->body_len += n;
			req->body[req->body_len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (req->status)	/* already answered */
		return MHD_YES;
	dispatch(req);
	return send_reply(conn, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	request_free(*con_cls);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[MG_IP_STRLEN + 2];
	const char *colon, *hs = spec;
	size_t hlen;
	char *end;
	unsigned long port;
	struct mg_ip ip;

	colon = strrchr(spec, ':');
	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		hs = spec + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		return -EINVAL;
	if (mg_ip_parse(host, &ip) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (ip.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip.bytes, 4);
		*sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip.bytes, 16);
		*sslen = sizeof(*sin6);
	}
	return 0;
}

int http_listen(const struct sockaddr_storage *ss, unsigned *bound_port)
{
	struct sockaddr_storage got;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, one = 1, ret;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 512) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	len = sizeof(got);
	if (getsockname(fd, (struct sockaddr *)&got, &len) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*bound_port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port :
						       ((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

struct MHD_Daemon *http_start(struct server *srv, int listen_fd, const char *tls_cert, const char *tls_key)
{
	/* ITC: so stopping wakes the workers at once instead of after their poll timeout. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (tls_cert)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     /* Both NULL without TLS: MHD then ignores them. */
			     MHD_OPTION_HTTPS_MEM_CERT, tls_cert ? tls_cert : "",
			     MHD_OPTION_HTTPS_MEM_KEY, tls_key ? tls_key : "",
			     MHD_OPTION_HTTPS_PRIORITIES, "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE",
			     MHD_OPTION_LISTEN_SOCKET, listen_fd,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4,
			     /*
			      * Split between the 4 workers: at 256 each (1024 in all) a full
			      * worker left requests of accepted connections unanswered until
			      * the connection timeout (libmicrohttpd 0.9.75), under 1,000 clients.
			      */
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)256,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
}

void http_stop(struct MHD_Daemon *d)
{
	if (d)
		MHD_stop_daemon(d);
}
