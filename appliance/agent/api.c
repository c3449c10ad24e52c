/*
 * The agent's HTTP(S) client to meshgated (libcurl): JSON in and out,
 * bearer host token, no redirects, short timeouts, bounded responses.
 * $MESHGATE_CA_FILE names a CA bundle for a server with its own CA.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define MAX_RESPONSE (8u << 20)
#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 20000L

struct buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

int api_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void api_global_cleanup(void)
{
	curl_global_cleanup();
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
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Copies printable ASCII only, so a hostile server cannot inject terminal escapes. */
static void copy_clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

__attribute__((format(printf, 3, 4)))
static void set_err(struct api_error *err, long status, const char *fmt, ...)
{
	char tmp[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	copy_clean(err->msg, sizeof(err->msg), tmp);
}

static struct curl_slist *add_header(struct curl_slist *h, const char *line, bool *oom)
{
	struct curl_slist *n = curl_slist_append(h, line);

	if (!n) {
		*oom = true;
		return h;
	}
	return n;
}

int api_request(const char *server, const char *token, const char *method, const char *path,
		json_t *body, json_t **out, struct api_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL, *text = NULL, *auth = NULL;
	const char *ca = getenv("MESHGATE_CA_FILE");
	struct curl_slist *headers = NULL, *h;
	struct buf resp = { 0 };
	json_t *parsed = NULL;
	bool oom = false;
	long status = 0;
	CURLcode cc;
	CURL *curl;
	int ret;

	*out = NULL;
	if (err) {
		err->status = 0;
		err->msg[0] = '\0';
	}
	curl = curl_easy_init();
	if (!curl) {
		set_err(err, 0, "%s", "cannot initialise libcurl");
		return -ENOMEM;
	}
	if (asprintf(&url, "%s%s", server, path) < 0) {
		url = NULL;
		ret = -ENOMEM;
		goto out;
	}
	headers = add_header(headers, "Accept: application/json", &oom);
	if (body) {
		headers = add_header(headers, "Content-Type: application/json", &oom);
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			oom = true;
	} else if (!strcmp(method, "POST")) {
		/* An empty POST: no form Content-Type from libcurl. */
		headers = add_header(headers, "Content-Type:", &oom);
	}
	if (token) {
		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
			auth = NULL;
			oom = true;
		} else {
			headers = add_header(headers, auth, &oom);
			mg_wipe(auth, strlen(auth));
			free(auth);
		}
	}
	if (oom) {
		set_err(err, 0, "%s", "out of memory");
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
	curl_easy_setopt(curl, CURLOPT_USERAGENT, AGENT_PROG "/" AGENT_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
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
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}

	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		if (resp.too_big || cc == CURLE_FILESIZE_EXCEEDED)
			set_err(err, 0, "%s: response too large", server);
		else {
			char m[sizeof(err->msg)];

			snprintf(m, sizeof(m), "%s: %s", server, errbuf[0] ? errbuf : curl_easy_strerror(cc));
			set_err(err, 0, "%s", m);
		}
		ret = -EIO;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (resp.len)
		parsed = json_loadb(resp.data, resp.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (status < 200 || status >= 300) {
		json_t *e = json_object_get(parsed, "error");
		char m[sizeof(err->msg)];

		if (json_is_string(e))
			snprintf(m, sizeof(m), "%s (HTTP %ld)", json_string_value(e), status);
		else if (status >= 300 && status < 400)
			snprintf(m, sizeof(m), "unexpected redirect (HTTP %ld)", status);
		else
			snprintf(m, sizeof(m), "unexpected response (HTTP %ld)", status);
		set_err(err, status, "%s", m);
		ret = -EPROTO;
		goto out;
	}
	if (resp.len && !parsed) {
		set_err(err, status, "%s", "invalid JSON in the server's response");
		ret = -EBADMSG;
		goto out;
	}
	if (err)
		err->status = status;
	*out = parsed;
	parsed = NULL;
	ret = 0;
out:
	if (text) {
		mg_wipe(text, strlen(text));
		free(text);
	}
	if (resp.data) {
		mg_wipe(resp.data, resp.len);
		free(resp.data);
	}
	for (h = headers; h; h = h->next)
		mg_wipe(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	json_decref(parsed);
	curl_easy_cleanup(curl);
	free(url);
	return ret;
}

int api_get_config(const struct agent_state *st, json_t **cfg, struct api_error *err)
{
	char msg[256];
	json_t *c = NULL;
	int ret;

	*cfg = NULL;
	ret = api_request(st->server, st->host_token, "GET", "/api/v1/hosts/self/config", NULL, &c, err);
	if (ret < 0)
		return ret;
	if (config_check(c, msg, sizeof(msg)) < 0) {
		set_err(err, 200, "invalid configuration from the server: %s", msg);
		json_decref(c);
		return -EBADMSG;
	}
	*cfg = c;
	return 0;
}

int api_checkin(const struct agent_state *st, json_t *body, int64_t *revision, struct api_error *err)
{
	json_t *r = NULL, *v;
	int ret;

	ret = api_request(st->server, st->host_token, "POST", "/api/v1/hosts/self/checkin", body, &r, err);
	if (ret < 0)
		return ret;
	v = json_object_get(r, "revision");
	if (!json_is_integer(v)) {
		set_err(err, 200, "%s", "check-in response without a revision");
		json_decref(r);
		return -EBADMSG;
	}
	*revision = json_integer_value(v);
	json_decref(r);
	return 0;
}

int api_broker(const struct agent_state *st, struct broker_creds *out, struct api_error *err)
{
	json_t *r = NULL;
	int ret;

	ret = api_request(st->server, st->host_token, "POST", "/api/v1/hosts/self/broker", NULL, &r, err);
	if (ret < 0)
		return ret;
	ret = broker_creds_from_json(r, out);
	if (ret < 0)
		set_err(err, 200, "%s", "invalid broker credentials from the server");
	if (json_is_object(r)) {
		json_t *p = json_object_get(r, "password");

		if (json_is_string(p))
			mg_wipe((char *)json_string_value(p), json_string_length(p));
	}
	json_decref(r);
	return ret < 0 ? -EBADMSG : 0;
}

int api_leave(const struct agent_state *st, struct api_error *err)
{
	json_t *r = NULL;
	int ret;

	ret = api_request(st->server, st->host_token, "DELETE", "/api/v1/hosts/self", NULL, &r, err);
	json_decref(r);
	return ret;
}

int api_leave_network(const struct agent_state *st, const char *network, struct api_error *err)
{
	char path[128];
	json_t *r = NULL;
	int ret;

	/* Network names are [a-z0-9-]: nothing to escape once checked. */
	if (!*network || strlen(network) > 32 || strspn(network, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(network)) {
		set_err(err, 0, "invalid network name '%s'", network);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/api/v1/hosts/self/networks/%s", network);
	ret = api_request(st->server, st->host_token, "DELETE", path, NULL, &r, err);
	json_decref(r);
	return ret;
}

int token_server(const char *token, char **server)
{
	const char *s;
	size_t len = 0, n;
	char *decoded;
	json_t *obj;
	int ret = -EINVAL;

	*server = NULL;
	decoded = mg_b64url_decode(token, &len);
	if (!decoded)
		return -EINVAL;
	obj = json_loadb(decoded, len, JSON_REJECT_DUPLICATES, NULL);
	s = json_string_value(json_object_get(obj, "server"));
	if (s && strlen(s) < 2048 && !strpbrk(s, " \t\r\n")) {
		const char *host;

		*server = strdup(s);
		if (!*server) {
			ret = -ENOMEM;
			goto out;
		}
		/* Trailing slashes go first, so the check sees what will be used. */
		n = strlen(*server);
		while (n > 0 && (*server)[n - 1] == '/')
			(*server)[--n] = '\0';
		host = !strncmp(*server, "http://", 7) ? *server + 7 : !strncmp(*server, "https://", 8) ? *server + 8 : NULL;
		if (host && *host && *host != '/') {
			ret = 0;
		} else {
			free(*server);
			*server = NULL;
		}
	}
out:
	if (json_is_string(json_object_get(obj, "key")))
		mg_wipe((char *)json_string_value(json_object_get(obj, "key")),
			json_string_length(json_object_get(obj, "key")));
	json_decref(obj);
	mg_wipe(decoded, len);
	free(decoded);
	return ret;
}
