/* Every route handler, one group per api_*.c file. */
#ifndef MG_HANDLERS_H
#define MG_HANDLERS_H

#include "server.h"

/* api_session.c */
void handle_setup_get(struct request *req);
void handle_setup_post(struct request *req);
void handle_login(struct request *req);
void handle_logout(struct request *req);
void handle_me(struct request *req);
void handle_me_password(struct request *req);
json_t *user_json(struct store_stmt *s);

/* api_users.c */
void handle_users_list(struct request *req);
void handle_users_create(struct request *req);
void handle_users_get(struct request *req);
void handle_users_patch(struct request *req);
void handle_users_delete(struct request *req);
void handle_tokens_list(struct request *req);
void handle_tokens_create(struct request *req);
void handle_tokens_delete(struct request *req);
/* Parses params[i] as a positive id; replies 404 and returns false otherwise. */
bool request_id_param(struct request *req, unsigned i, int64_t *out);

/* api_networks.c */
void handle_networks_list(struct request *req);
void handle_networks_create(struct request *req);
void handle_networks_get(struct request *req);
void handle_networks_patch(struct request *req);
void handle_networks_delete(struct request *req);

/* api_keys.c */
void handle_keys_list(struct request *req);
void handle_keys_create(struct request *req);
void handle_keys_delete(struct request *req);

/* api_hosts.c */
void handle_hosts_register(struct request *req);
void handle_hosts_list(struct request *req);
void handle_hosts_get(struct request *req);
void handle_hosts_patch(struct request *req);
void handle_hosts_delete(struct request *req);
void handle_host_self_config(struct request *req);
void handle_host_self_delete(struct request *req);
void handle_nodes_list(struct request *req);
void handle_nodes_get(struct request *req);
void handle_nodes_delete(struct request *req);
/* Nodes of one network (net_name) and/or one host (host_id) as JSON; NULL and 0 match any. In the lock. */
int node_json_list(struct store *st, json_t *arr, const char *net_name, int64_t host_id);

/* api_gateways.c */
void handle_node_egress_put(struct request *req);
void handle_node_egress_delete(struct request *req);
void handle_node_ingress_put(struct request *req);
void handle_node_ingress_delete(struct request *req);
void handle_ingress_gateways_list(struct request *req);
/* The node of host `host` in network `net`: ids and ranges. Inside the transaction. */
struct node_ref {
	int64_t node_id, network_id, host_id;
	char v4[MG_PREFIX_STRLEN], v6[MG_PREFIX_STRLEN];
	bool ingress;
};
/*
 * Begin a transaction on the node the URL names (.../networks/NET/nodes/HOST/...);
 * replies (404, 5xx) and returns false on failure, with nothing left open.
 */
bool begin_on_node(struct request *req, struct node_ref *node);
/*
 * Finish a change to a node's roles, inside the transaction begun on it: a
 * changeset over its network (the node's host as subject, or with
 * whole_network every host gets its whole configuration), the audit entry
 * "host=ID" + detail, commit, and the node as the 200 answer.
 */
void node_change_finish(struct request *req, int64_t network_id, int64_t host_id, bool whole_network,
			const char *action, const char *detail, int ret);
void handle_node_relay_put(struct request *req);
void handle_node_relay_delete(struct request *req);

/* api_agent.c */
void handle_host_self_broker(struct request *req);
void handle_host_self_checkin(struct request *req);
void handle_host_self_leave_network(struct request *req);
/* Fresh broker credentials for a host (JSON), or NULL without a broker. */
json_t *broker_credentials(struct server *srv, int64_t host_id);

/* api_extclients.c */
void handle_extclients_list(struct request *req);
void handle_extclients_create(struct request *req);
void handle_extclients_get(struct request *req);
void handle_extclients_patch(struct request *req);
void handle_extclients_delete(struct request *req);
void handle_extclient_config(struct request *req);
void handle_extclient_qr_png(struct request *req);
void handle_extclient_qr_svg(struct request *req);
/* Record that a client's gateway changed (it and its network hear of it). Inside the transaction. */
int extclient_changeset(struct server *srv, struct changeset *cs, const char *action, const char *name,
			int64_t client_id);

/* api_acl.c */
void handle_acl_get(struct request *req);
void handle_acl_rule_create(struct request *req);
void handle_acl_rule_delete(struct request *req);

/* api_acl_matrix.c */
void handle_acl_matrix(struct request *req);

/* dns.c */
void handle_dns_list(struct request *req);
void handle_dns_create(struct request *req);
void handle_dns_delete(struct request *req);
void handle_node_dns_put(struct request *req);
void handle_node_dns_delete(struct request *req);

/* static.c */
void handle_static(struct request *req);

/* api_audit.c */
void handle_audit_list(struct request *req);

#endif
