/*
 * The agent `meshgate`: what the files of appliance/agent/ share.
 *
 *   state.c    the state file (DIR/state.json, 0600, written atomically)
 *   api.c      the HTTP(S) client to meshgated (libcurl)
 *   config.c   checking a CONFIG and applying update messages to it
 *   apply.c    making the interface match a CONFIG
 *   sys.c      host facts: local endpoints, host name
 *   mqtt.c     the MQTT subscriber (libmosquitto)
 *   cmd.c      join, leave, pull, uninstall
 *   daemon.c   the service loop
 *   status.c   status
 *   resolver.c the system resolver for the mesh domains (systemd-resolved)
 *
 * Functions return 0 (or a documented non-negative value) or a negative
 * errno; what they hand back belongs to the caller.
 */
#ifndef MG_AGENT_H
#define MG_AGENT_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "key.h"

struct wg_device;

#define AGENT_PROG "meshgate"
#define AGENT_VERSION "0.1.0"
#define AGENT_DEFAULT_STATE_DIR "/var/lib/meshgate"
#define AGENT_DEFAULT_IFNAME "meshgate0"

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Global options from the command line and the environment. */
struct agent_opts {
	const char *state_dir;
	const char *ifname;
	bool ifname_explicit;	/* --interface or $MESHGATE_INTERFACE given */
};

/* Whether and how the agent points the system resolver at the networks' DNS servers (resolver.c). */
enum resolver_mode {
	RESOLVER_NONE,		/* never (the default) */
	RESOLVER_AUTO,		/* systemd-resolved when it runs; else resolv.conf is left alone */
	RESOLVER_RESOLVED,	/* systemd-resolved; a warning when it does not run */
};

/* --- state.c --------------------------------------------------------------- */

struct broker_creds {
	char *url;
	char *username;
	char *password;
	char *topic;
};

struct agent_state {
	char *server;		/* "https://host:port", no trailing slash */
	int64_t host_id;
	char *host_token;	/* "mgh_..." */
	mg_key private_key;
	char ifname[IFNAMSIZ];
	bool has_broker;
	struct broker_creds broker;
	json_t *config;		/* the last CONFIG applied (owned) */
	int64_t revision;
	enum resolver_mode resolver;	/* "resolver" in the state file */
};

/* Returns 0, -ENOENT when there is no state file, or another negative errno. */
int state_load(const char *dir, struct agent_state *st);
/* Writes DIR/state.json atomically (temp file, fsync, rename, fsync dir). */
int state_save(const char *dir, const struct agent_state *st);
/* Creates DIR (0700) if missing; *created tells whether it did. */
int state_dir_prepare(const char *dir, bool *created);
/* Removes our files from DIR (state.json and stale temp files). */
int state_remove(const char *dir);
bool state_exists(const char *dir);
/* Frees and wipes everything inside st (not st itself). */
void state_clear(struct agent_state *st);
void broker_creds_clear(struct broker_creds *b);
/* Parses a BROKER object; -EINVAL when a field is missing. */
int broker_creds_from_json(json_t *obj, struct broker_creds *out);
/* Replaces the stored config (takes a reference of cfg) and the revision. */
void state_set_config(struct agent_state *st, json_t *cfg);

/* --- api.c ----------------------------------------------------------------- */

struct api_error {
	long status;		/* HTTP status, 0 when the server was not reached */
	char msg[512];		/* the server's {"error"} text or the transport error */
};

/* Call once before any request (curl_global_init). */
int api_global_init(void);
void api_global_cleanup(void);

/*
 * One request to server + path. token may be NULL. body may be NULL.
 * Returns 0 with *out the parsed JSON response (NULL for an empty body), or:
 * -EIO the server was not reached (err->status 0), -EPROTO an HTTP error
 * (err->status and err->msg set), -EBADMSG a 2xx response that is not JSON.
 */
int api_request(const char *server, const char *token, const char *method, const char *path,
		json_t *body, json_t **out, struct api_error *err);

/* The agent's calls; each takes its state for the server URL and token. */
int api_get_config(const struct agent_state *st, json_t **cfg, struct api_error *err);
int api_checkin(const struct agent_state *st, json_t *body, int64_t *revision, struct api_error *err);
int api_broker(const struct agent_state *st, struct broker_creds *out, struct api_error *err);
int api_leave(const struct agent_state *st, struct api_error *err);
int api_leave_network(const struct agent_state *st, const char *network, struct api_error *err);

/* Decodes an enrollment token: *server gets the server URL (caller frees). */
int token_server(const char *token, char **server);

/* --- config.c -------------------------------------------------------------- */

/* Checks the shape of a CONFIG; -EINVAL with a message in err. */
int config_check(json_t *cfg, char *err, size_t errlen);
int64_t config_revision(json_t *cfg);

enum update_result {
	UPDATE_APPLIED,		/* *out is the new config */
	UPDATE_STALE,		/* already have this revision or newer: ignore */
	UPDATE_NEED_PULL,	/* a gap: pull the full config */
};

/*
 * Applies an update message (see "Update messages" in docs/API.md) to cfg,
 * whose revision is `have`. Returns an enum update_result, or -EINVAL when
 * the message is malformed (err says why). *out is a new config (caller
 * json_decref's) for UPDATE_APPLIED.
 */
int config_apply_update(json_t *cfg, int64_t have, int64_t host_id, json_t *msg, json_t **out,
			char *err, size_t errlen);

/* --- apply.c --------------------------------------------------------------- */

/*
 * Makes the interface exist (kernel WireGuard, else wireguard-go).
 * Returns 0 when created, 1 when it already existed, or a negative errno.
 */
int apply_ensure_interface(const char *ifname);
/*
 * Makes st->ifname match cfg (with st->private_key): WireGuard device by
 * diff, MTU, link up, addresses, routes. A peer's /0 becomes two /1 routes;
 * the peers' endpoints and st's server and broker then keep their path
 * outside the tunnel by host routes. Stops at the first hard error.
 *
 * Keepalive hold (apply.c, hold_first_keepalives): with KEEPALIVE_HOLD_NEW,
 * new peers whose public key is greater than ours are added without
 * persistent keepalive, so a pair that adds each other at once does not
 * start two crossing handshakes; KEEPALIVE_HOLD_ALL also holds any change
 * that turns it on for such a peer (passes inside the hold window). *held
 * (may be NULL) says how many wait: the caller applies the config again
 * with KEEPALIVE_HOLD_NONE after KEEPALIVE_HOLD_MS.
 */
#define KEEPALIVE_HOLD_MS 500
#define KEEPALIVE_HOLD_MAX_MS 1500	/* the daemon's window, however many updates arrive in it */
enum keepalive_hold { KEEPALIVE_HOLD_NONE, KEEPALIVE_HOLD_NEW, KEEPALIVE_HOLD_ALL };
int apply_config(const struct agent_state *st, json_t *cfg, enum keepalive_hold hold, size_t *held);
/* In a wg_diff result: clears keepalive of the peers held (see above); how many. */
size_t hold_first_keepalives(struct wg_device *diff, const mg_key self, bool also_turning_on);

/* --- sys.c ----------------------------------------------------------------- */

/* The host's non-loopback addresses as a JSON array of strings (skipping `skip_ifname`). */
json_t *sys_local_endpoints(const char *skip_ifname);
/* The host name as a valid host name, or NULL. Caller frees. */
char *sys_hostname(void);

/* --- mqtt.c ---------------------------------------------------------------- */

struct mqtt_client;

enum mqtt_event {
	MQTT_EV_NONE,
	MQTT_EV_CONNECTED,
	MQTT_EV_AUTH_FAILED,
	MQTT_EV_DISCONNECTED,
};

typedef void (*mqtt_message_fn)(void *ctx, const char *payload, size_t len);

int mqtt_global_init(void);
void mqtt_global_cleanup(void);
/* Creates a client for creds; on_message is called from mqtt_run. */
int mqtt_new(struct mqtt_client **out, const struct broker_creds *creds, mqtt_message_fn on_message, void *ctx);
void mqtt_free(struct mqtt_client *m);
/* Starts a (non-blocking) connection attempt. */
int mqtt_connect(struct mqtt_client *m);
/*
 * Runs the network loop for at most timeout_ms. Returns the event that
 * happened (enum mqtt_event); a lost or refused connection is
 * MQTT_EV_DISCONNECTED (or MQTT_EV_AUTH_FAILED); the error text is in
 * mqtt_last_error.
 */
enum mqtt_event mqtt_run(struct mqtt_client *m, int timeout_ms);
bool mqtt_connected(const struct mqtt_client *m);
const char *mqtt_last_error(const struct mqtt_client *m);

/* --- commands -------------------------------------------------------------- */

int cmd_join(const struct agent_opts *o, int argc, char **argv);
int cmd_leave(const struct agent_opts *o, int argc, char **argv);
int cmd_pull(const struct agent_opts *o, int argc, char **argv);
int cmd_uninstall(const struct agent_opts *o, int argc, char **argv);
int cmd_status(const struct agent_opts *o, int argc, char **argv);
int cmd_daemon(const struct agent_opts *o, int argc, char **argv);
int cmd_nat(const struct agent_opts *o, int argc, char **argv);

/* gateway.c: nftables for this host's gateway roles (nat/), from CONFIG.gateway. */
int gateway_apply(const char *ifname, json_t *cfg);
/*
 * The pure half of gateway_apply (no kernel): CONFIG's "gateway" and "acl"
 * sections as the nftables batch for interface ifname (nat_render). 0 with
 * *out (free with nat_batch_free), or 0 with *out NULL when CONFIG gives
 * this host no role (gateway_apply then removes the table); or -EINVAL /
 * -EOPNOTSUPP / -ENOMEM with a one-line message in err.
 */
struct nat_batch;
int gateway_render(json_t *cfg, const char *ifname, struct nat_batch **out, char *err, size_t errlen);

/* cmd.c: loads the state and settles which interface it drives. Prints errors. */
int agent_load(const struct agent_opts *o, struct agent_state *st);
/* cmd.c: GET the config, apply it, save it. Prints/logs errors via log.h. */
int agent_pull(const struct agent_opts *o, struct agent_state *st);

/* --- resolver.c ------------------------------------------------------------ */

#define RESOLVER_MAX 64

/* "none" | "auto" | "resolved"; -EINVAL otherwise. */
int resolver_mode_parse(const char *s, enum resolver_mode *out);
const char *resolver_mode_name(enum resolver_mode m);

/* What the WireGuard link should get from CONFIG's networks[].dns. */
struct resolver_plan {
	struct mg_ip servers[RESOLVER_MAX];		/* distinct, in network order */
	size_t n_servers;
	char domains[RESOLVER_MAX][64];			/* the networks' names (routing-only domains) */
	size_t n_domains;
};

/* Fills p from cfg; entries that are not a valid address and network name are left out. */
void resolver_plan_from_config(json_t *cfg, struct resolver_plan *p);

enum resolver_action {
	RESOLVER_ACT_NOTHING,		/* mode none */
	RESOLVER_ACT_SET,		/* SetLinkDNS + SetLinkDomains (+ SetLinkDefaultRoute false) */
	RESOLVER_ACT_REVERT,		/* no network has a DNS server: RevertLink */
	RESOLVER_ACT_LEAVE_ALONE,	/* auto without systemd-resolved: /etc/resolv.conf is left alone */
	RESOLVER_ACT_MISSING,		/* resolved asked for but not running: warn */
};

enum resolver_action resolver_decide(enum resolver_mode m, bool resolved_running, const struct resolver_plan *p);

/*
 * The D-Bus calls to org.freedesktop.resolve1 on an open bus (bus is an
 * sd_bus *). Return 0 or a negative errno with the D-Bus error in err.
 */
struct sd_bus;
int resolver_set_link(struct sd_bus *bus, int ifindex, const struct resolver_plan *p, char *err, size_t errlen);
int resolver_revert_link(struct sd_bus *bus, int ifindex, char *err, size_t errlen);

/*
 * After a configuration is applied: does what resolver_decide says for
 * ifname on the system bus, and only when the plan or the link changed
 * since the last success. Never writes /etc/resolv.conf. Errors are logged.
 */
void resolver_apply(enum resolver_mode m, const char *ifname, json_t *cfg);

#endif
