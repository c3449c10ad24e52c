/*
 * meshgate daemon: the service loop.
 *
 * On start the interface is rebuilt from the state file alone (the server
 * may be down). Then, in one thread:
 *   - MQTT: connect with the host's credentials, subscribe to its topic,
 *     apply update messages whose base matches our revision, pull the full
 *     configuration on a gap; fresh credentials from the server when the
 *     broker refuses the old ones;
 *   - check-in every --checkin-interval seconds (default 10); a different
 *     revision on the server means pull;
 *   - re-apply the stored configuration every 30 s (repairs drift);
 *   - with --resolver auto|resolved (kept in the state), point
 *     systemd-resolved at the networks' DNS servers (resolver.c).
 * Server or broker unreachable: the interface stays as it is; retries back
 * off from 1 s doubling to 30 s, and each outage is logged once.
 * SIGTERM/SIGINT end the loop and leave the interface up.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "log.h"
#include "wg/wg.h"

#define REAPPLY_MS 30000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define MQTT_CONNECT_TIMEOUT_MS 10000
#define MAX_INBOX 256

struct backoff {
	int64_t delay;
	bool failing;
};

struct daemon {
	const struct agent_opts *o;
	struct agent_state st;
	struct mqtt_client *mqtt;
	json_t *inbox;			/* update messages not yet handled */
	int64_t checkin_ms;
	int64_t next_checkin, next_reapply, next_pull, next_mqtt, mqtt_started;
	int64_t keepalive_release;	/* when held keepalives go on (apply.c); 0: none held */
	int64_t keepalive_hold_start;	/* when that window opened */
	bool want_pull, mqtt_up, no_broker_logged, checkin_missing;
	struct backoff http, broker, apply;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A failure: returns the delay before the next try. */
static int64_t backoff_fail(struct backoff *b)
{
	int64_t d = b->delay ? b->delay : BACKOFF_MIN_MS;

	b->delay = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
	b->failing = true;
	return d;
}

/* A success: true when it ends a run of failures. */
static bool backoff_ok(struct backoff *b)
{
	bool was = b->failing;

	b->delay = 0;
	b->failing = false;
	return was;
}

/* Logs a server failure once per outage and schedules *next. */
static void http_failed(struct daemon *d, const char *what, const struct api_error *err, int64_t *next)
{
	if (!d->http.failing)
		log_warnx("%s failed: %s; keeping the interface as it is and retrying", what, err->msg);
	*next = now_ms() + backoff_fail(&d->http);
}

static void http_ok(struct daemon *d)
{
	if (backoff_ok(&d->http))
		log_info("server %s reachable again", d->st.server);
}

/* The state file went away: the host left (meshgate leave/uninstall). */
static bool left(struct daemon *d)
{
	if (state_exists(d->o->state_dir))
		return false;
	if (!stop_signal)
		log_info("%s/state.json is gone (the host left); stopping", d->o->state_dir);
	stop_signal = -1;
	return true;
}

static void save(struct daemon *d)
{
	int ret;

	if (left(d))
		return;
	ret = state_save(d->o->state_dir, &d->st);

	if (ret < 0)
		log_warnx("cannot save the state in %s: %s", d->o->state_dir, strerror(-ret));
}

/*
 * The keepalive hold window after a pass that held n peers (apply.c): it
 * opens KEEPALIVE_HOLD_MS long, and a peer held inside it gets its full
 * KEEPALIVE_HOLD_MS too, but a stream of updates cannot keep it open for
 * more than KEEPALIVE_HOLD_MAX_MS.
 */
static void keepalive_window(struct daemon *d, size_t n)
{
	int64_t now = now_ms(), until;

	if (!n)
		return;
	if (!d->keepalive_release)
		d->keepalive_hold_start = now;
	until = now + KEEPALIVE_HOLD_MS;
	if (until > d->keepalive_hold_start + KEEPALIVE_HOLD_MAX_MS)
		until = d->keepalive_hold_start + KEEPALIVE_HOLD_MAX_MS;
	if (until > d->keepalive_release)
		d->keepalive_release = until;
}

/* Applies the stored config; creates the interface when it is missing. */
static int reapply(struct daemon *d)
{
	enum keepalive_hold hold = KEEPALIVE_HOLD_NEW;
	size_t held = 0;
	int ret;

	if (left(d))
		return -ENOENT;
	ret = apply_ensure_interface(d->st.ifname);
	if (ret < 0) {
		if (!d->apply.failing)
			log_warnx("%s: cannot create the interface: %s", d->st.ifname, strerror(-ret));
		goto fail;
	}
	/*
	 * Keepalive hold (apply.c): new peers may be added without keepalive; a
	 * pass inside the window (an update, a pull) holds every change that
	 * would turn it on, and the first pass after the window turns it on.
	 */
	if (d->keepalive_release)
		hold = now_ms() >= d->keepalive_release ? KEEPALIVE_HOLD_NONE : KEEPALIVE_HOLD_ALL;
	ret = apply_config(&d->st, d->st.config, hold, &held);
	/* Also when the pass failed after adding peers: they wait their window. */
	keepalive_window(d, held);
	if (ret < 0)
		goto fail;
	if (hold == KEEPALIVE_HOLD_NONE)
		d->keepalive_release = 0;
	if (backoff_ok(&d->apply))
		log_info("%s: configuration applied again", d->st.ifname);
	d->next_reapply = now_ms() + REAPPLY_MS;
	if (d->keepalive_release && d->keepalive_release < d->next_reapply)
		d->next_reapply = d->keepalive_release;
	return 0;
fail:
	d->next_reapply = now_ms() + backoff_fail(&d->apply);
	return ret;
}

/* A new configuration (from a pull or an update): store, apply, save. */
static void take_config(struct daemon *d, json_t *cfg)
{
	state_set_config(&d->st, cfg);
	save(d);
	reapply(d);
}

static void do_pull(struct daemon *d)
{
	struct api_error err;
	json_t *cfg = NULL;
	int64_t old = d->st.revision;
	int ret;

	ret = api_get_config(&d->st, &cfg, &err);
	if (ret < 0) {
		http_failed(d, "pulling the configuration", &err, &d->next_pull);
		return;
	}
	http_ok(d);
	d->want_pull = false;
	if (json_integer_value(json_object_get(cfg, "host_id")) != d->st.host_id) {
		log_warnx("the server sent another host's configuration; ignored");
		json_decref(cfg);
		return;
	}
	if (config_revision(cfg) != old || !json_equal(cfg, d->st.config)) {
		log_info("pulled configuration: revision %lld -> %lld, %zu peer(s)", (long long)old,
			 (long long)config_revision(cfg), json_array_size(json_object_get(cfg, "peers")));
		take_config(d, cfg);
	}
	json_decref(cfg);
}

static json_t *checkin_body(struct daemon *d)
{
	struct wg_device *dev = NULL;
	json_t *body, *peers;
	char ep[WG_ENDPOINT_STRLEN], key[MG_KEY_B64_LEN];
	size_t i;

	body = json_pack("{s:o, s:I}", "local_endpoints", sys_local_endpoints(d->st.ifname),
			 "revision", (json_int_t)d->st.revision);
	if (!body || wg_get_device(d->st.ifname, &dev) < 0)
		return body;
	if (dev->listen_port)
		json_object_set_new(body, "listen_port", json_integer(dev->listen_port));
	peers = json_array();
	json_object_set_new(body, "peers", peers);
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		json_t *o;

		mg_key_to_base64(key, p->public_key);
		o = json_pack("{s:s, s:I, s:I, s:I}", "public_key", key,
			      "last_handshake", (json_int_t)p->last_handshake_sec,
			      "rx_bytes", (json_int_t)(p->rx_bytes > INT64_MAX ? INT64_MAX : p->rx_bytes),
			      "tx_bytes", (json_int_t)(p->tx_bytes > INT64_MAX ? INT64_MAX : p->tx_bytes));
		if (o && p->endpoint.sa.sa_family && wg_endpoint_format(&p->endpoint, ep, sizeof(ep)) == 0)
			json_object_set_new(o, "endpoint", json_string(ep));
		if (o)
			json_array_append_new(peers, o);
	}
	wg_free_device(dev);
	return body;
}

static void do_checkin(struct daemon *d)
{
	struct api_error err;
	int64_t rev = 0;
	json_t *body;
	int ret;

	body = checkin_body(d);
	if (!body) {
		d->next_checkin = now_ms() + d->checkin_ms;
		return;
	}
	ret = api_checkin(&d->st, body, &rev, &err);
	json_decref(body);
	if (ret == -EPROTO && (err.status == 404 || err.status == 405)) {
		/* A server without check-ins: compare by pulling instead. */
		if (!d->checkin_missing)
			log_warnx("the server has no check-in route; polling the configuration instead");
		d->checkin_missing = true;
		http_ok(d);
		d->want_pull = true;
		d->next_pull = now_ms();
		d->next_checkin = now_ms() + d->checkin_ms;
		return;
	}
	if (ret < 0) {
		http_failed(d, "check-in", &err, &d->next_checkin);
		return;
	}
	http_ok(d);
	d->next_checkin = now_ms() + d->checkin_ms;
	if (rev != d->st.revision) {
		log_debug("server revision %lld, ours %lld: pulling", (long long)rev, (long long)d->st.revision);
		d->want_pull = true;
		d->next_pull = now_ms();
	}
}

/* --- MQTT ----------------------------------------------------------------- */

static void on_mqtt_message(void *ctx, const char *payload, size_t len)
{
	struct daemon *d = ctx;
	json_t *msg;

	if (json_array_size(d->inbox) >= MAX_INBOX) {
		/* Too far behind: one pull replaces them all. */
		json_array_clear(d->inbox);
		d->want_pull = true;
		d->next_pull = now_ms();
		return;
	}
	msg = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
	if (!msg) {
		log_warnx("ignoring an update that is not JSON");
		return;
	}
	json_array_append_new(d->inbox, msg);
}

static void handle_update(struct daemon *d, json_t *msg)
{
	const char *action = json_string_value(json_object_get(msg, "action"));
	int64_t old = d->st.revision;
	json_t *cfg = NULL;
	char err[256];
	int r;

	r = config_apply_update(d->st.config, d->st.revision, d->st.host_id, msg, &cfg, err, sizeof(err));
	switch (r) {
	case UPDATE_APPLIED:
		log_info("update %s: revision %lld -> %lld", action ? action : "?", (long long)old,
			 (long long)config_revision(cfg));
		take_config(d, cfg);
		json_decref(cfg);
		break;
	case UPDATE_STALE:
		log_debug("update for revision %lld ignored (have %lld)",
			  (long long)json_integer_value(json_object_get(msg, "revision")), (long long)old);
		break;
	case UPDATE_NEED_PULL:
		log_info("update based on revision %lld, we have %lld: pulling",
			 (long long)json_integer_value(json_object_get(msg, "base_revision")), (long long)old);
		d->want_pull = true;
		d->next_pull = now_ms();
		break;
	default:
		log_warnx("ignoring a malformed update: %s", err);
		break;
	}
}

static void mqtt_drop(struct daemon *d, int64_t delay)
{
	mqtt_free(d->mqtt);
	d->mqtt = NULL;
	d->next_mqtt = now_ms() + delay;
}

/* Asks the server for a fresh broker account. Returns 0 when we have credentials. */
static int refresh_broker(struct daemon *d)
{
	struct broker_creds c;
	struct api_error err;
	int ret;

	ret = api_broker(&d->st, &c, &err);
	if (ret == -EPROTO && err.status == 503) {
		if (!d->no_broker_logged)
			log_info("no broker credentials: %s; relying on check-ins meanwhile", err.msg);
		d->no_broker_logged = true;
		http_ok(d);
		return -ENOTCONN;
	}
	if (ret < 0) {
		if (!d->broker.failing)
			log_warnx("cannot get broker credentials: %s", err.msg);
		return ret;
	}
	http_ok(d);
	d->no_broker_logged = false;
	broker_creds_clear(&d->st.broker);
	d->st.broker = c;
	d->st.has_broker = true;
	save(d);
	log_info("got fresh broker credentials");
	return 0;
}

static void mqtt_start(struct daemon *d)
{
	int ret;

	if (!d->st.has_broker && refresh_broker(d) < 0) {
		d->next_mqtt = now_ms() + backoff_fail(&d->broker);
		return;
	}
	ret = mqtt_new(&d->mqtt, &d->st.broker, on_mqtt_message, d);
	if (ret < 0) {
		log_warnx("cannot use the broker '%s': %s", d->st.broker.url, strerror(-ret));
		d->next_mqtt = now_ms() + BACKOFF_MAX_MS;
		return;
	}
	d->mqtt_started = now_ms();
	if (mqtt_connect(d->mqtt) < 0) {
		if (!d->broker.failing)
			log_warnx("broker unreachable: %s; retrying", mqtt_last_error(d->mqtt));
		mqtt_drop(d, backoff_fail(&d->broker));
	}
}

static void mqtt_event(struct daemon *d, enum mqtt_event ev)
{
	switch (ev) {
	case MQTT_EV_CONNECTED:
		d->mqtt_up = true;
		backoff_ok(&d->broker);
		log_info("subscribed to updates at %s", d->st.broker.url);
		/* We may have missed updates while away: compare revisions now. */
		d->next_checkin = now_ms();
		break;
	case MQTT_EV_AUTH_FAILED:
		if (!d->broker.failing)
			log_warnx("broker: %s; asking the server for fresh credentials", mqtt_last_error(d->mqtt));
		d->mqtt_up = false;
		mqtt_drop(d, 0);
		refresh_broker(d);
		d->next_mqtt = now_ms() + backoff_fail(&d->broker);
		break;
	case MQTT_EV_DISCONNECTED:
		if (d->mqtt_up || !d->broker.failing)
			log_warnx("broker: %s; retrying with backoff", mqtt_last_error(d->mqtt));
		d->mqtt_up = false;
		mqtt_drop(d, backoff_fail(&d->broker));
		break;
	case MQTT_EV_NONE:
		break;
	}
}

/* --- the loop ------------------------------------------------------------- */

static int64_t earliest(const struct daemon *d)
{
	int64_t t = d->next_checkin;

	if (d->next_reapply < t)
		t = d->next_reapply;
	if (d->want_pull && d->next_pull < t)
		t = d->next_pull;
	if (!d->mqtt && d->next_mqtt < t)
		t = d->next_mqtt;
	return t;
}

static void run(struct daemon *d)
{
	int64_t now, wait;

	while (!stop_signal && !left(d)) {
		while (json_array_size(d->inbox) && !stop_signal) {
			json_t *msg = json_incref(json_array_get(d->inbox, 0));

			json_array_remove(d->inbox, 0);
			handle_update(d, msg);
			json_decref(msg);
		}
		now = now_ms();
		if (d->want_pull && now >= d->next_pull)
			do_pull(d);
		if (now_ms() >= d->next_checkin)
			do_checkin(d);
		if (now_ms() >= d->next_reapply)
			reapply(d);
		if (!d->mqtt && now_ms() >= d->next_mqtt)
			mqtt_start(d);
		if (d->mqtt && !mqtt_connected(d->mqtt) && now_ms() - d->mqtt_started > MQTT_CONNECT_TIMEOUT_MS) {
			if (!d->broker.failing)
				log_warnx("broker %s: no answer; retrying", d->st.broker.url);
			mqtt_drop(d, backoff_fail(&d->broker));
		}
		if (stop_signal)
			break;

		wait = earliest(d) - now_ms();
		if (wait > 1000)
			wait = 1000;
		if (wait < 0)
			wait = 0;
		if (d->mqtt)
			mqtt_event(d, mqtt_run(d->mqtt, (int)wait));
		else if (wait > 0)
			poll(NULL, 0, (int)wait);
	}
}

int cmd_daemon(const struct agent_opts *o, int argc, char **argv)
{
	struct daemon d = { .o = o, .checkin_ms = 10000 };
	struct sigaction sa = { .sa_handler = on_signal };
	enum resolver_mode resolver = RESOLVER_NONE;
	bool has_resolver = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--checkin-interval") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || v < 1 || v > 3600) {
				fprintf(stderr, "%s: --checkin-interval must be 1..3600 seconds\n", AGENT_PROG);
				return EXIT_USAGE;
			}
			d.checkin_ms = v * 1000;
		} else if (!strcmp(argv[i], "--resolver") && i + 1 < argc) {
			if (resolver_mode_parse(argv[++i], &resolver) < 0) {
				fprintf(stderr, "%s: --resolver must be none, auto or resolved\n", AGENT_PROG);
				return EXIT_USAGE;
			}
			has_resolver = true;
		} else {
			fprintf(stderr, "%s: daemon: unknown argument '%s'\n", AGENT_PROG, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (agent_load(o, &d.st) < 0)
		return EXIT_FAIL;
	/* --resolver is kept in the state: later runs without it keep the choice. */
	if (has_resolver && resolver != d.st.resolver) {
		d.st.resolver = resolver;
		ret = state_save(o->state_dir, &d.st);
		if (ret < 0)
			log_warnx("cannot save the state in %s: %s", o->state_dir, strerror(-ret));
	}
	d.inbox = json_array();
	if (!d.inbox || mqtt_global_init() < 0) {
		log_error("out of memory");
		json_decref(d.inbox);
		state_clear(&d.st);
		return EXIT_FAIL;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("starting: host %lld, interface %s, revision %lld, server %s", (long long)d.st.host_id,
		 d.st.ifname, (long long)d.st.revision, d.st.server);
	/* Rebuild from the state file first: the server may be down. */
	ret = reapply(&d);
	if (ret == 0)
		log_info("%s: interface matches the stored configuration (%zu peer(s))", d.st.ifname,
			 json_array_size(json_object_get(d.st.config, "peers")));
	d.next_checkin = now_ms();
	d.next_mqtt = now_ms();

	run(&d);

	if (stop_signal > 0)
		log_info("stopping on signal %d; %s stays up", (int)stop_signal, d.st.ifname);
	mqtt_free(d.mqtt);
	mqtt_global_cleanup();
	json_decref(d.inbox);
	state_clear(&d.st);
	return EXIT_OK;
}
