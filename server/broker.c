/*
 * mosquitto dynamic-security client. Commands go to
 * $CONTROL/dynamic-security/v1 and answers come back on .../response,
 * matched to their waiter by correlationData.
 */
#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "key.h"
#include "log.h"

#define DYNSEC_TOPIC "$CONTROL/dynamic-security/v1"
#define DYNSEC_RESPONSE DYNSEC_TOPIC "/response"
#define SERVER_ROLE "meshgate-server"
#define WAIT_SECONDS 5
#define MAX_PENDING 64
#define PUBLISHER "meshgated-publisher"

struct pending {
	unsigned long id;	/* 0 = free slot */
	bool done;
	bool failed;
};

struct broker {
	struct mosquitto *mosq;		/* the dynamic-security admin: accounts only */
	struct mosquitto *pub;		/* our own publisher account: update messages */
	char pub_password[MG_TOKEN_LEN];
	unsigned long bootstrap_id;
	bool pub_started;
	/* One thread per connection: connect with backoff, run the loop, again. */
	pthread_t admin_thread, pub_thread;
	bool admin_thread_ok, pub_thread_ok;
	_Atomic bool stopping;
	char host[256];
	int port;
	char public_url[256];
	char admin_user[128];

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool connected;
	unsigned long next_id;
	struct pending pending[MAX_PENDING];
};

void broker_host_topic(char *out, size_t len, int64_t host_id)
{
	snprintf(out, len, "meshgate/host-%lld/update", (long long)host_id);
}

void broker_host_username(char *out, size_t len, int64_t host_id)
{
	snprintf(out, len, "host-%lld", (long long)host_id);
}

const char *broker_public_url(const struct broker *b)
{
	return b->public_url;
}

static int parse_url(const char *url, char *host, size_t hostlen, int *port)
{
	const char *p, *colon;
	char *end;
	long v;

	if (strncmp(url, "mqtt://", 7))
		return -EINVAL;
	p = url + 7;
	colon = strrchr(p, ':');
	if (!colon || colon == p || (size_t)(colon - p) >= hostlen)
		return -EINVAL;
	v = strtol(colon + 1, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*port = (int)v;
	return 0;
}

/*
 * Send commands (a JSON array, stolen). With wait, block until the broker
 * answers (never from the mosquitto callback thread). The request's id is
 * stored in *idp when given.
 */
static int dynsec_send_id(struct broker *b, json_t *commands, bool wait, unsigned long *idp)
{
	struct pending *slot = NULL;
	unsigned long id;
	struct timespec deadline;
	char idbuf[32];
	json_t *msg, *cmd;
	char *text;
	size_t i;
	int ret = 0, rc;

	pthread_mutex_lock(&b->mu);
	id = ++b->next_id;
	if (idp)
		*idp = id;
	if (wait) {
		for (i = 0; i < MAX_PENDING && !slot; i++)
			if (!b->pending[i].id)
				slot = &b->pending[i];
		if (!slot) {
			pthread_mutex_unlock(&b->mu);
			json_decref(commands);
			return -EBUSY;
		}
		*slot = (struct pending){ .id = id };
	}
	pthread_mutex_unlock(&b->mu);

	snprintf(idbuf, sizeof(idbuf), "%lu", id);
	json_array_foreach(commands, i, cmd)
		json_object_set_new(cmd, "correlationData", json_string(idbuf));
	msg = json_pack("{s:o}", "commands", commands);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!text)
		ret = -ENOMEM;
	else {
		rc = mosquitto_publish(b->mosq, NULL, DYNSEC_TOPIC, (int)strlen(text), text, 1, false);
		ret = rc == MOSQ_ERR_SUCCESS ? 0 : -ENOTCONN;
		/* Passwords were in the text. */
		mg_wipe(text, strlen(text));
		free(text);
	}
	if (!wait)
		return ret;

	pthread_mutex_lock(&b->mu);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_SECONDS;
	while (ret == 0 && !slot->done)
		if (pthread_cond_timedwait(&b->cond, &b->mu, &deadline) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	if (ret == 0 && slot->failed)
		ret = -EIO;
	slot->id = 0;
	pthread_mutex_unlock(&b->mu);
	return ret;
}

static int dynsec_send(struct broker *b, json_t *commands, bool wait)
{
	return dynsec_send_id(b, commands, wait, NULL);
}

static json_t *acl(const char *type, const char *topic)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "command", "addRoleACL", "rolename", "", "acltype", type,
			 "topic", topic, "allow", 1, "priority", 0);
}

/*
 * Roles every host account and the server's publisher account need, and the
 * publisher account itself with this run's password. (Changing the admin's
 * own roles would make the broker disconnect it.) "Already exists" answers
 * are fine.
 */
static void bootstrap(struct broker *b)
{
	unsigned long id;

	json_t *cmds = json_array(), *a;

	json_array_append_new(cmds, json_pack("{s:s, s:s}", "command", "createRole", "rolename", SERVER_ROLE));
	a = acl("publishClientSend", "meshgate/#");
	json_object_set_new(a, "rolename", json_string(SERVER_ROLE));
	json_array_append_new(cmds, a);
	json_array_append_new(cmds, json_pack("{s:s, s:s, s:s, s:[{s:s}]}", "command", "createClient",
					      "username", PUBLISHER, "password", b->pub_password, "roles",
					      "rolename", SERVER_ROLE));
	json_array_append_new(cmds, json_pack("{s:s, s:s, s:s}", "command", "setClientPassword", "username",
					      PUBLISHER, "password", b->pub_password));
	if (dynsec_send_id(b, cmds, false, &id) == 0) {
		pthread_mutex_lock(&b->mu);
		b->bootstrap_id = id;
		pthread_mutex_unlock(&b->mu);
	}
}

/*
 * Keep one connection up: connect (blocking), run the network loop until it
 * fails, wait with backoff (1 s doubling to 30 s), and again, until stop.
 * libmosquitto's own reconnect does not recover when the very first connect
 * is refused, so the loop is ours.
 */
static void *connection_thread(void *arg)
{
	struct mosquitto *mosq = arg;
	struct broker *b = mosquitto_userdata(mosq);
	unsigned backoff = 1;

	while (!b->stopping) {
		if (mosquitto_connect(mosq, b->host, b->port, 30) == MOSQ_ERR_SUCCESS) {
			backoff = 1;
			while (!b->stopping && mosquitto_loop(mosq, 500, 1) == MOSQ_ERR_SUCCESS)
				;
			mosquitto_disconnect(mosq);
			if (b->stopping)
				break;
		}
		for (unsigned i = 0; i < backoff * 10 && !b->stopping; i++)
			usleep(100 * 1000);
		backoff = backoff >= 16 ? 30 : backoff * 2;
	}
	return NULL;
}

/* After the first bootstrap: connect the publisher. Called from the admin connection's thread. */
static void start_publisher(struct broker *b)
{
	if (b->pub_started)
		return;
	b->pub_started = true;
	mosquitto_username_pw_set(b->pub, PUBLISHER, b->pub_password);
	b->pub_thread_ok = pthread_create(&b->pub_thread, NULL, connection_thread, b->pub) == 0;
	if (!b->pub_thread_ok)
		log_warnx("broker: cannot start the publisher");
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct broker *b = obj;

	if (rc != 0) {
		log_warnx("broker: connection refused: %s", mosquitto_connack_string(rc));
		return;
	}
	pthread_mutex_lock(&b->mu);
	if (!b->connected)
		log_info("broker: connected to %s:%d", b->host, b->port);
	b->connected = true;
	pthread_mutex_unlock(&b->mu);
	mosquitto_subscribe(mosq, NULL, DYNSEC_RESPONSE, 1);
	bootstrap(b);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct broker *b = obj;

	pthread_mutex_lock(&b->mu);
	if (b->connected)
		log_warnx("broker: disconnected, reconnecting");
	b->connected = false;
	pthread_mutex_unlock(&b->mu);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct broker *b = obj;
	json_t *root, *resp;
	size_t i;

	if (strcmp(m->topic, DYNSEC_RESPONSE) || m->payloadlen <= 0)
		return;
	root = json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL);
	pthread_mutex_lock(&b->mu);
	{
		json_t *first = json_array_get(json_object_get(root, "responses"), 0);
		const char *cd = json_string_value(json_object_get(first, "correlationData"));

		if (cd && b->bootstrap_id && strtoul(cd, NULL, 10) == b->bootstrap_id)
			start_publisher(b);
	}
	json_array_foreach(json_object_get(root, "responses"), i, resp) {
		const char *cd = json_string_value(json_object_get(resp, "correlationData"));
		const char *err = json_string_value(json_object_get(resp, "error"));
		const char *cmd = json_string_value(json_object_get(resp, "command"));
		unsigned long id = cd ? strtoul(cd, NULL, 10) : 0;

		if (err && !strstr(err, "already"))
			log_debug("broker: %s: %s", cmd ? cmd : "?", err);
		for (unsigned k = 0; id && k < MAX_PENDING; k++) {
			struct pending *p = &b->pending[k];

			if (p->id != id)
				continue;
			/* A command that fails marks the whole request failed; "already exists" is success. */
			if (err && !strstr(err, "already"))
				p->failed = true;
			if (i + 1 == json_array_size(json_object_get(root, "responses")))
				p->done = true;
		}
	}
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	json_decref(root);
}

static int read_admin_file(const char *path, char *user, size_t ulen, char *pass, size_t plen)
{
	FILE *f = fopen(path, "re");
	int ret = -EINVAL;

	if (!f)
		return -errno;
	if (fgets(user, (int)ulen, f) && fgets(pass, (int)plen, f)) {
		user[strcspn(user, "\r\n")] = '\0';
		pass[strcspn(pass, "\r\n")] = '\0';
		ret = user[0] && pass[0] ? 0 : -EINVAL;
	}
	fclose(f);
	return ret;
}

int broker_start(const char *url, const char *public_url, const char *admin_file, struct broker **out)
{
	struct broker *b;
	char pass[256];
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	ret = parse_url(url, b->host, sizeof(b->host), &b->port);
	if (ret < 0) {
		log_warnx("broker: URL must be mqtt://HOST:PORT");
		goto fail;
	}
	snprintf(b->public_url, sizeof(b->public_url), "%s", public_url ? public_url : url);
	ret = read_admin_file(admin_file, b->admin_user, sizeof(b->admin_user), pass, sizeof(pass));
	if (ret < 0) {
		log_warnx("broker: cannot read admin credentials from %s", admin_file);
		goto fail;
	}
	mosquitto_lib_init();
	mg_token_generate(b->pub_password, "mqp_");
	b->mosq = mosquitto_new("meshgated-admin", true, b);
	b->pub = mosquitto_new("meshgated-publisher", true, b);
	if (!b->mosq || !b->pub) {
		ret = -ENOMEM;
		goto fail;
	}
	mosquitto_username_pw_set(b->mosq, b->admin_user, pass);
	mg_wipe(pass, sizeof(pass));
	mosquitto_connect_callback_set(b->mosq, on_connect);
	mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
	mosquitto_message_callback_set(b->mosq, on_message);
	mosquitto_threaded_set(b->mosq, true);
	mosquitto_threaded_set(b->pub, true);
	/* Connect in the background: the server serves the API with the broker down too. */
	b->admin_thread_ok = pthread_create(&b->admin_thread, NULL, connection_thread, b->mosq) == 0;
	if (!b->admin_thread_ok) {
		ret = -EIO;
		goto fail;
	}
	*out = b;
	return 0;
fail:
	mg_wipe(pass, sizeof(pass));
	if (b->mosq)
		mosquitto_destroy(b->mosq);
	if (b->pub)
		mosquitto_destroy(b->pub);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cond);
	free(b);
	return ret;
}

void broker_stop(struct broker *b)
{
	if (!b)
		return;
	b->stopping = true;
	if (b->admin_thread_ok)
		pthread_join(b->admin_thread, NULL);
	/* The admin thread may have started the publisher until it stopped. */
	if (b->pub_thread_ok)
		pthread_join(b->pub_thread, NULL);
	mosquitto_destroy(b->mosq);
	mosquitto_destroy(b->pub);
	mg_wipe(b->pub_password, sizeof(b->pub_password));
	mosquitto_lib_cleanup();
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cond);
	free(b);
}

int broker_set_host_account(struct broker *b, int64_t host_id, const char *password)
{
	char user[64], topic[96], pattern[96];
	json_t *cmds, *a;
	int ret;

	broker_host_username(user, sizeof(user), host_id);
	broker_host_topic(topic, sizeof(topic), host_id);
	snprintf(pattern, sizeof(pattern), "meshgate/%s/#", user);
	/*
	 * The host's own role may subscribe to its own topics only (the broker's
	 * default denies every other subscription). Create the account, or if it
	 * exists reset its password; both keep the role.
	 */
	cmds = json_array();
	json_array_append_new(cmds, json_pack("{s:s, s:s}", "command", "createRole", "rolename", user));
	a = acl("subscribePattern", pattern);
	json_object_set_new(a, "rolename", json_string(user));
	json_array_append_new(cmds, a);
	json_array_append_new(cmds, json_pack("{s:s, s:s, s:s, s:[{s:s}]}", "command", "createClient",
					      "username", user, "password", password, "roles", "rolename",
					      user));
	json_array_append_new(cmds, json_pack("{s:s, s:s, s:s}", "command", "setClientPassword", "username", user,
					      "password", password));
	ret = dynsec_send(b, cmds, true);
	if (ret < 0)
		log_warnx("broker: cannot set the account of %s (%s)", user, strerror(-ret));
	return ret;
}

void broker_delete_host_account(struct broker *b, int64_t host_id)
{
	char user[64];

	broker_host_username(user, sizeof(user), host_id);
	dynsec_send(b, json_pack("[{s:s, s:s}, {s:s, s:s}]", "command", "deleteClient", "username", user,
				 "command", "deleteRole", "rolename", user), false);
}

int broker_publish(struct broker *b, const char *topic, const char *payload)
{
	return mosquitto_publish(b->pub, NULL, topic, (int)strlen(payload), payload, 1, false) == MOSQ_ERR_SUCCESS ?
	       0 : -ENOTCONN;
}
