/*
 * meshgatectl: the HTTP client (libcurl): base URL, bearer token, JSON in
 * and out or raw downloads (a text/plain .conf, a PNG), bounded responses,
 * no redirects.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

#define MAX_RESPONSE (16u << 20)
#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 30000L

struct buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return s;
}

char *url_escape(const char *s)
{
	char *e, *copy;

	/* "." and ".." would be resolved away by the URL parser. */
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return xasprintf("%s", s[1] ? "%2E%2E" : "%2E");
	e = curl_easy_escape(NULL, s, 0);
	if (!e) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	/* Our callers free() what they get. */
	copy = strdup(e);
	curl_free(e);
	if (!copy) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return copy;
}

char *api_path(const char *prefix, const char *seg, const char *suffix)
{
	char *e = url_escape(seg), *p;

	p = xasprintf("/api/v1/%s/%s%s", prefix, e, suffix ? suffix : "");
	free(e);
	return p;
}

char *api_item_path(const char *prefix, const char *seg, const char *sub, const char *item, const char *suffix)
{
	char *e = url_escape(item), *tail, *p;

	tail = xasprintf("/%s/%s%s", sub, e, suffix ? suffix : "");
	p = api_path(prefix, seg, tail);
	free(tail);
	free(e);
	return p;
}

/* Response bodies may carry secrets (a .conf): wiped before they are freed. */
static void buf_free(struct buf *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > MAX_RESPONSE - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		/* Not realloc: a moved buffer would leave a copy of a secret behind. */
		p = malloc(cap);
		if (!p)
			return 0;
		if (b->data) {
			memcpy(p, b->data, b->len);
			explicit_bzero(b->data, b->len);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Prints "meshgatectl: <error> (HTTP <code>)" from an error response. */
static void report_api_error(long status, json_t *body, const char *location)
{
	json_t *e = json_is_object(body) ? json_object_get(body, "error") : NULL;
	char *esc;

	if (json_is_string(e)) {
		esc = escape_str(json_string_value(e));
		errorx("%s (HTTP %ld)", esc ? esc : "error", status);
		free(esc);
	} else if (status >= 300 && status < 400) {
		esc = escape_str(location ? location : "");
		errorx("unexpected redirect%s%s (HTTP %ld)", location ? " to " : "", esc ? esc : "",
		       status);
		free(esc);
	} else {
		errorx("unexpected response (HTTP %ld)", status);
	}
}

static void wipe_headers(struct curl_slist *h)
{
	for (; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
}

/*
 * One request. On a 2xx answer returns 0 with the body in *resp (always
 * NUL-terminated when non-empty) and the Content-Type (or NULL) in *ctype,
 * caller frees both; otherwise reports the error and returns -EPROTO, or
 * -EIO on a transport error.
 */
static int http_perform(struct ctl *c, const char *method, const char *path, json_t *body,
			const char *accept, struct buf *resp, char **ctype, long *status_out)
{
	struct curl_slist *headers = NULL, *h;
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL, *text = NULL, *auth = NULL, *hdr;
	const char *server, *ca = getenv("MESHGATE_CA_FILE");
	json_t *parsed = NULL;
	char *location = NULL, *ct = NULL;
	long status = 0;
	CURLcode cc;
	CURL *curl;
	int ret;

	*ctype = NULL;
	if (status_out)
		*status_out = 0;
	server = ctl_server(c);
	if (!server)
		return -EINVAL;
	curl = curl_easy_init();
	if (!curl) {
		errorx("cannot initialise libcurl");
		return -ENOMEM;
	}
	url = xasprintf("%s%s", server, path);

	/* Errors come as JSON whatever the success type is. */
	hdr = xasprintf("Accept: %s%s", accept,
			strcmp(accept, "application/json") ? ", application/json;q=0.5" : "");
	headers = curl_slist_append(headers, hdr);
	free(hdr);
	if (headers && body) {
		h = curl_slist_append(headers, "Content-Type: application/json");
		headers = h ? h : headers;
		text = json_dumps(body, JSON_COMPACT);
		if (!text || !h) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (headers && !body && strcmp(method, "GET") && strcmp(method, "DELETE")) {
		h = curl_slist_append(headers, "Content-Type:");
		if (!h) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (headers && c->token) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		h = curl_slist_append(headers, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (!h) {
			ret = -ENOMEM;
			goto out;
		}
		headers = h;
	}
	if (!headers) {
		ret = -ENOMEM;
		goto out;
	}

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_RESPONSE);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, PROG "/1");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca && *ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
	if (!strcmp(method, "GET"))
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (text) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	} else if (strcmp(method, "GET") && strcmp(method, "DELETE")) {
		/* A POST or PUT without a body: empty, no form Content-Type. */
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}

	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		if (resp->too_big || cc == CURLE_FILESIZE_EXCEEDED)
			errorx("%s: response larger than %u bytes", server, MAX_RESPONSE);
		else
			errorx("%s: %s", server, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		ret = -EIO;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status_out)
		*status_out = status;
	if (status < 200 || status >= 300) {
		char *loc = NULL;

		if (resp->len)
			parsed = json_loadb(resp->data, resp->len, JSON_DECODE_ANY, NULL);
		if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
			location = loc;
		report_api_error(status, parsed, location);
		ret = -EPROTO;
		goto out;
	}
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
		*ctype = strdup(ct);
		if (!*ctype) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = 0;
out:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (ret < 0)
		buf_free(resp);
	json_decref(parsed);
	wipe_headers(headers);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(url);
	return ret;
}

/* True when the media type of ctype (parameters ignored, case-insensitive) is want. */
static bool media_type_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (!ctype || strncasecmp(ctype, want, n))
		return false;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

int api_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
	     long *status_out)
{
	const char *server = c->server ? c->server : "server";
	struct buf resp = { 0 };
	json_error_t jerr;
	json_t *parsed = NULL;
	char *ctype = NULL;
	long status = 0;
	int ret;

	*out = NULL;
	ret = http_perform(c, method, path, body, "application/json", &resp, &ctype, &status);
	if (status_out)
		*status_out = status;
	if (ret < 0)
		return ret;
	if (resp.len) {
		parsed = json_loadb(resp.data, resp.len, JSON_DECODE_ANY, &jerr);
		if (!parsed) {
			errorx("%s: invalid JSON in the response (HTTP %ld): %s", server, status,
			       jerr.text);
			ret = -EPROTO;
		}
	}
	*out = parsed;
	buf_free(&resp);
	free(ctype);
	return ret;
}

int api_download(struct ctl *c, const char *path, const char *type, unsigned char **data,
		 size_t *len)
{
	const char *server = c->server ? c->server : "server";
	struct buf resp = { 0 };
	char *ctype = NULL, *esc;
	int ret;

	*data = NULL;
	*len = 0;
	ret = http_perform(c, "GET", path, NULL, type, &resp, &ctype, NULL);
	if (ret < 0)
		return ret;
	if (!media_type_is(ctype, type)) {
		esc = escape_str(ctype ? ctype : "none");
		errorx("%s: unexpected content type %s (expected %s)", server, esc, type);
		free(esc);
		buf_free(&resp);
		free(ctype);
		return -EPROTO;
	}
	free(ctype);
	if (!resp.data) {
		/* An empty body: still hand back a NUL-terminated buffer. */
		resp.data = calloc(1, 1);
		if (!resp.data) {
			errorx("out of memory");
			return -ENOMEM;
		}
	}
	*data = (unsigned char *)resp.data;
	*len = resp.len;
	return 0;
}

void download_free(unsigned char *data, size_t len)
{
	if (!data)
		return;
	explicit_bzero(data, len);
	free(data);
}
