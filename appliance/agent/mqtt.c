/*
 * The MQTT subscriber (libmosquitto, MQTT 3.1.1): one connection to the
 * broker with this host's credentials, subscribed to its update topic at
 * QoS 1. Driven from the daemon's loop (mosquitto_loop, no extra thread);
 * the callbacks only record what happened.
 */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define MQTT_KEEPALIVE 30

struct mqtt_client {
	struct mosquitto *mosq;
	char host[256];
	int port;
	char *topic;
	mqtt_message_fn on_message;
	void *ctx;
	bool connected;
	enum mqtt_event event;
	char err[512];
};

int mqtt_global_init(void)
{
	return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -ENOMEM;
}

void mqtt_global_cleanup(void)
{
	mosquitto_lib_cleanup();
}

/* "mqtt://host[:port]", "mqtts://host[:port]", host may be "[v6]". */
static int parse_url(const char *url, char *host, size_t hlen, int *port, bool *tls)
{
	const char *p, *end, *colon;
	size_t n;

	if (!strncmp(url, "mqtt://", 7)) {
		p = url + 7;
		*tls = false;
		*port = 1883;
	} else if (!strncmp(url, "mqtts://", 8)) {
		p = url + 8;
		*tls = true;
		*port = 8883;
	} else {
		return -EINVAL;
	}
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -EINVAL;
		n = (size_t)(close - p - 1);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (n == 0 || n >= hlen)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon) {
		char *e;
		long v = strtol(colon + 1, &e, 10);

		if (e != end || v < 1 || v > 65535)
			return -EINVAL;
		*port = (int)v;
	}
	return 0;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt_client *m = obj;
	int r;

	if (rc != 0) {
		/* 4: bad user name or password, 5: not authorised. */
		m->event = (rc == 4 || rc == 5) ? MQTT_EV_AUTH_FAILED : MQTT_EV_DISCONNECTED;
		snprintf(m->err, sizeof(m->err), "broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	r = mosquitto_subscribe(mosq, NULL, m->topic, 1);
	if (r != MOSQ_ERR_SUCCESS) {
		snprintf(m->err, sizeof(m->err), "subscribe: %s", mosquitto_strerror(r));
		m->event = MQTT_EV_DISCONNECTED;
		mosquitto_disconnect(mosq);
		return;
	}
	m->connected = true;
	m->event = MQTT_EV_CONNECTED;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted_qos)
{
	struct mqtt_client *m = obj;

	if (qos_count >= 1 && granted_qos[0] == 0x80) {
		/* The broker's ACL refused our own topic: stale account. */
		snprintf(m->err, sizeof(m->err), "broker refused the subscription to our topic");
		m->connected = false;
		m->event = MQTT_EV_AUTH_FAILED;
		mosquitto_disconnect(mosq);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt_client *m = obj;

	m->connected = false;
	if (m->event != MQTT_EV_AUTH_FAILED)
		m->event = MQTT_EV_DISCONNECTED;
	if (!m->err[0])
		snprintf(m->err, sizeof(m->err), "%s", rc ? "connection lost" : "disconnected");
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt_client *m = obj;

	if (msg->payload && msg->payloadlen > 0)
		m->on_message(m->ctx, msg->payload, (size_t)msg->payloadlen);
}

int mqtt_new(struct mqtt_client **out, const struct broker_creds *creds, mqtt_message_fn fn, void *ctx)
{
	struct mqtt_client *m;
	const char *ca = getenv("MESHGATE_CA_FILE");
	bool tls = false;
	int ret = -ENOMEM;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->on_message = fn;
	m->ctx = ctx;
	if (parse_url(creds->url, m->host, sizeof(m->host), &m->port, &tls) < 0) {
		ret = -EINVAL;
		goto fail;
	}
	m->topic = strdup(creds->topic);
	if (!m->topic)
		goto fail;
	/* The client id is the account name: one session per host. */
	m->mosq = mosquitto_new(creds->username, true, m);
	if (!m->mosq)
		goto fail;
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if (mosquitto_username_pw_set(m->mosq, creds->username, creds->password) != MOSQ_ERR_SUCCESS)
		goto fail;
	if (tls && mosquitto_tls_set(m->mosq, ca && *ca ? ca : NULL, ca && *ca ? NULL : "/etc/ssl/certs",
				     NULL, NULL, NULL) != MOSQ_ERR_SUCCESS) {
		ret = -EINVAL;
		goto fail;
	}
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
	mosquitto_message_callback_set(m->mosq, on_message);
	*out = m;
	return 0;
fail:
	mqtt_free(m);
	return ret;
}

void mqtt_free(struct mqtt_client *m)
{
	if (!m)
		return;
	if (m->mosq) {
		if (m->connected)
			mosquitto_disconnect(m->mosq);
		mosquitto_destroy(m->mosq);
	}
	free(m->topic);
	free(m);
}

int mqtt_connect(struct mqtt_client *m)
{
	int rc;

	m->err[0] = '\0';
	m->event = MQTT_EV_NONE;
	m->connected = false;
	rc = mosquitto_connect_async(m->mosq, m->host, m->port, MQTT_KEEPALIVE);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(m->err, sizeof(m->err), "%s:%d: %s", m->host, m->port,
			 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return -EIO;
	}
	return 0;
}

enum mqtt_event mqtt_run(struct mqtt_client *m, int timeout_ms)
{
	enum mqtt_event ev;
	int rc;

	rc = mosquitto_loop(m->mosq, timeout_ms, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		m->connected = false;
		if (m->event != MQTT_EV_AUTH_FAILED)
			m->event = MQTT_EV_DISCONNECTED;
		if (!m->err[0])
			snprintf(m->err, sizeof(m->err), "%s:%d: %s", m->host, m->port,
				 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	}
	ev = m->event;
	m->event = MQTT_EV_NONE;
	return ev;
}

bool mqtt_connected(const struct mqtt_client *m)
{
	return m && m->connected;
}

const char *mqtt_last_error(const struct mqtt_client *m)
{
	return m->err[0] ? m->err : "unknown error";
}
