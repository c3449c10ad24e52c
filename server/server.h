/*
 * meshgated: shared state and the pieces every handler uses.
 */
#ifndef MG_SERVER_H
#define MG_SERVER_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "json.h"
#include "key.h"
#include "store.h"

#define MG_BODY_MAX (64 * 1024)
#define MG_SESSION_TTL (12 * 3600)

struct broker;

struct server {
	struct store *st;
	struct broker *broker;		/* NULL when running without a broker */
	unsigned char *master_key;	/* secretbox key for secrets at rest (secrets.c) */
	/* Held from commit to publish, so update messages leave in commit order. */
	pthread_mutex_t publish_mu;
	char data_dir[PATH_MAX];
	char public_url[256];
	char web_dir[PATH_MAX];		/* the console's static files; "" = no console */
	char dns_dir[PATH_MAX];		/* hosts files for dnsmasq (dns.c); "" = none */
	char dns_pidfile[PATH_MAX];	/* dnsmasq's pid file: SIGHUP after a change; "" = none */

	/* First-run setup: the hash of the one-time token while no user exists. */
	pthread_mutex_t setup_mu;
	bool setup_pending;
	char setup_hash[MG_HASH_HEX_LEN];
};

enum auth_kind { AUTH_NONE, AUTH_USER, AUTH_HOST };

struct auth {
	enum auth_kind kind;
	int64_t user_id;
	char username[72];
	bool admin;
	int64_t session_id;	/* 0 unless authenticated by a session */
	int64_t api_token_id;	/* 0 unless authenticated by an API token */
	bool via_cookie;
	bool csrf_ok;		/* cookie auth only: the X-CSRF-Token header matched */
	char csrf[MG_HASH_HEX_LEN];	/* cookie auth only: the session's CSRF value */
	int64_t host_id;
	char actor[96];		/* for the audit log: "user:alice", "host:3" */
};

/* What a route requires of the caller. */
enum route_access { ACCESS_PUBLIC, ACCESS_USER, ACCESS_ADMIN, ACCESS_HOST };

#define MG_MAX_PARAMS 3

struct request {
	struct server *srv;
	const char *method;
	const char *path;
	void *conn;			/* struct MHD_Connection * */
	char source_ip[MG_IP_STRLEN];

	char *body;
	size_t body_len;
	bool body_too_large;
	bool body_is_json;		/* Content-Type: application/json */

	const char *params[MG_MAX_PARAMS];
	char path_copy[512];
	struct auth auth;

	/* The response, filled by reply_* and sent by the dispatcher. */
	unsigned status;
	char *resp_body;
	size_t resp_len;		/* set by reply_bytes; else strlen(resp_body) */
	const char *resp_type;
	char *set_cookie;
	char *content_disposition;
	unsigned retry_after;
	bool is_console;		/* a console page: its own Content-Security-Policy */
};

typedef void (*handler_fn)(struct request *req);

struct route {
	const char *method;
	const char *pattern;	/* '*' stands for one path segment */
	enum route_access access;
	handler_fn handler;
};

extern const struct route routes[];
extern const unsigned n_routes;

/* http.c: replies. reply_json steals the reference. */
void reply_json(struct request *req, unsigned status, json_t *body);
void reply_error(struct request *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void reply_empty(struct request *req, unsigned status);
/* A body of any type; takes ownership of data (malloc'd). The body is wiped when freed. */
void reply_bytes(struct request *req, unsigned status, const char *type, void *data, size_t len);
/* Turns the current row of a query into JSON (inside the lock). */
typedef json_t *(*row_json_fn)(struct store *st, struct store_stmt *s);
/*
 * The list routes: run the query under the lock and reply 200 with an
 * array of row_json of each row, or the store error ("what" names it).
 */
void reply_rows(struct request *req, row_json_fn row_json, const char *what, const char *sql, const char *types,
		...);
/* The row that sql (one integer parameter: id) finds, as row_json makes it; NULL when none or on error. */
json_t *row_json_by_id(struct store *st, row_json_fn row_json, const char *sql, int64_t id);
/* Map a store error to 409 (constraint), 503 (busy/full) or 500. */
void reply_store_error(struct request *req, int err, const char *what);
/* Parse the body as an object with fields; on error replies 400/415 and returns NULL. */
json_t *request_json(struct request *req, const struct mg_json_field *fields);
/* A query-string argument, or NULL. */
const char *request_arg(struct request *req, const char *name);
const char *request_header(struct request *req, const char *name);
/* For routes that take no body: true when there is none (or "{}"); else replies 400/415. */
bool request_no_body(struct request *req);

/* auth.c */
void auth_request(struct request *req);	/* fills req->auth from headers/cookie */
/* Returns true when allowed; otherwise replies 401/403 and returns false. */
bool auth_check(struct request *req, enum route_access access);
int password_hash(char out[128], const char *password);
bool password_verify(const char *hash, const char *password);
/* A password's length is checked; returns NULL or a message. */
const char *password_check(const char *password);
void auth_dummy_verify(void);
void csrf_for_session(char out[MG_HASH_HEX_LEN], const char *session_token);

/* ratelimit.c: login throttling. */
/* Returns 0 if the key may try now, else the seconds to wait. */
unsigned ratelimit_check(const char *key, unsigned max_failures);
void ratelimit_fail(const char *key);
void ratelimit_reset(const char *key);
/* The key for a client address: IPv4 as is, IPv6 by its /64. */
void ratelimit_ip_key(char *out, size_t len, const char *ip_text);

/* audit.c: call inside the mutation's transaction. */
int audit(struct request *req, const char *action, const char *target, const char *detail_fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A change the server made by itself (actor "system"), e.g. an ext client expiring. */
int audit_system(struct store *st, const char *action, const char *target, const char *detail_fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* revision.c: see there. Call inside the mutation's transaction. */
struct outmsg {
	char *topic;
	char *payload;
};

/* dns.c: hosts files to write once the transaction commits (text NULL: remove the file). */
struct dns_file {
	char network[40];
	char *text;
};

struct dns_pending {
	struct dns_file *files;
	size_t n;
};

struct changeset {
	struct server *srv;
	int64_t id;
	int64_t subject_host;
	char subject_key[MG_KEY_B64_LEN];
	bool relays;			/* the subject is in a network with relays: whole configs */
	struct outmsg *msgs;
	size_t n_msgs;
	struct dns_pending dns;
};

int changeset_begin(struct changeset *cs, struct server *srv, const char *action, const char *subject,
		    int64_t subject_host);
/* One host is affected. */
int changeset_add_host(struct changeset *cs, int64_t host_id);
/* The network changed: every host with a node in it is affected. */
int changeset_add_network(struct changeset *cs, int64_t network_id);
/* The host changed: it and every host sharing a network with it are affected. */
int changeset_add_host_peers(struct changeset *cs, int64_t host_id);
/* The relays (in the network) of the hosts affected so far: they forward what those may reach. */
int changeset_add_relays(struct changeset *cs, int64_t network_id);
/* Bump each touched network and affected host once and record the revisions. */
int changeset_apply(struct changeset *cs);
/*
 * Ends the transaction in place of store_finish: when ret is STORE_OK,
 * builds each affected host's update message, commits, and publishes them
 * in commit order. Returns the outcome.
 */
int changeset_commit(struct changeset *cs, int ret);

/*
 * dns.c: every network's names (NAME.NETWORK for its nodes and ext clients,
 * plus custom entries) as DNS_DIR/NETWORK.hosts for dnsmasq's --hostsdir,
 * each replaced atomically; dnsmasq gets SIGHUP when a pid file is given.
 */
/* At startup: write every network's file and remove those of networks that are gone. */
int dns_start(struct server *srv);
/* Inside the transaction: queue the file of each network the change set touched. */
int dns_collect_changes(struct changeset *cs);
/* Inside the transaction: queue one network's file, or its removal. */
int dns_collect_network(struct server *srv, struct dns_pending *p, const char *network, bool removed);
/* In place of store_finish for changes outside change sets: commit, then write what was queued. */
int dns_finish(struct server *srv, struct dns_pending *p, int ret);
/* After the commit, under publish_mu (so files follow commit order): write and signal. */
void dns_write(struct server *srv, struct dns_pending *p);
void dns_pending_free(struct dns_pending *p);
/*
 * Whether NAME (one or more labels, relative to the network) is a node's
 * host name, an ext client's or a custom entry's in the network, case
 * insensitively, leaving out one host and one ext client (0: none).
 */
int dns_name_taken(struct store *st, int64_t network_id, const char *name, int64_t skip_host, int64_t skip_client,
		   bool *taken);
/* The same for a host's name in every network the host is in (ext clients and custom entries). */
int dns_host_name_taken(struct store *st, int64_t host_id, const char *name, bool *taken);
/*
 * CONFIG: each network of cfg whose DNS server node is set gets "dns":
 * {"server": its mesh IPv4 address, "domain": NETWORK, "serve": whether
 * host_id is that node}. Inside the lock.
 */
int dns_host_config(struct store *st, int64_t host_id, json_t *cfg);
/* Sets *serves when the host is some network's DNS server node (leaves it alone otherwise). */
int dns_server_host(struct store *st, int64_t host_id, bool *serves);

/* secrets.c */
int secrets_init(struct server *srv);
void secrets_free(struct server *srv);
/* Sealed text (base64), or NULL. Caller frees. */
char *secret_seal(const struct server *srv, const char *plaintext);
/* The plaintext, or NULL when the box does not open. Caller wipes and frees. */
char *secret_open(const struct server *srv, const char *sealed);

/* expiry.c: disables ext clients whose expiry passed. */
int expiry_start(struct server *srv);
void expiry_stop(void);

/* alloc.c */
/*
 * A free address of the network's range (range_text), not used by any node
 * or ext client: the lowest, or with from_top the highest. Inside the
 * transaction. Returns STORE_OK, -ENOSPC when full, or a store error.
 */
int network_allocate(struct store *st, int64_t network_id, const char *range_text, bool v6, bool from_top,
		     char *out, size_t outlen);

/* acl.c: whether two hosts of a network get a tunnel, by its policy and rules. */
struct acl_rule {
	int64_t id;
	char src_kind[12], dst_kind[12];
	char src_val[64], dst_val[64];
	bool allow;
	bool full;		/* any protocol, any port */
	char proto[8];		/* any, tcp, udp, icmp */
	int port_from, port_to;	/* 0 0: any */
};
/* A network's rules in id order into *out (the caller frees it), *n of them. */
int acl_rules_load(struct store *st, int64_t network_id, struct acl_rule **out, size_t *n);
struct acl_cache;
struct acl_cache *acl_cache_new(struct store *st);
void acl_cache_free(struct acl_cache *c);
int acl_tunnel_allowed(struct acl_cache *c, int64_t network_id, int64_t a, int64_t b, bool *allowed);
/* The host's packet filters as cfg's "acl" array (see acl.c), in order. */
int acl_host_filter(struct store *st, int64_t host_id, json_t *cfg);
/* Whether a network's filters list member addresses (joins change them). */
int acl_filters_list_members(struct acl_cache *c, int64_t network_id, bool *lists);

/* peers.c */
json_t *host_config(struct store *st, int64_t host_id);
/* The peers of host_id, or only the entry for peer_host (0 = all). */
json_t *host_peers(struct store *st, int64_t host_id, int64_t peer_host);
/* The "IP:PORT" peers use to reach a host, or "" when unknown. */
void host_effective_endpoint(char *out, size_t len, const char *override,
			     const char *observed_ip, int64_t port);

/* Helpers for JSON fields of rows. */
json_t *json_time_or_null(bool is_null, int64_t t);
int64_t now_unix(void);

#endif
