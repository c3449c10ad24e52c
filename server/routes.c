/*
 * The route table: every URL the API serves, who may call it and what
 * handles it. Authentication and the role check happen before the handler
 * runs, from the access level given here.
 */
#include "handlers.h"

const struct route routes[] = {
	{ "GET", "/api/v1/setup", ACCESS_PUBLIC, handle_setup_get },
	{ "POST", "/api/v1/setup", ACCESS_PUBLIC, handle_setup_post },
	{ "POST", "/api/v1/login", ACCESS_PUBLIC, handle_login },
	{ "POST", "/api/v1/logout", ACCESS_USER, handle_logout },
	{ "GET", "/api/v1/me", ACCESS_USER, handle_me },
	{ "POST", "/api/v1/me/password", ACCESS_USER, handle_me_password },

	{ "GET", "/api/v1/users", ACCESS_ADMIN, handle_users_list },
	{ "POST", "/api/v1/users", ACCESS_ADMIN, handle_users_create },
	{ "GET", "/api/v1/users/*", ACCESS_ADMIN, handle_users_get },
	{ "PATCH", "/api/v1/users/*", ACCESS_ADMIN, handle_users_patch },
	{ "DELETE", "/api/v1/users/*", ACCESS_ADMIN, handle_users_delete },

	{ "GET", "/api/v1/tokens", ACCESS_USER, handle_tokens_list },
	{ "POST", "/api/v1/tokens", ACCESS_USER, handle_tokens_create },
	{ "DELETE", "/api/v1/tokens/*", ACCESS_USER, handle_tokens_delete },

	{ "GET", "/api/v1/networks", ACCESS_ADMIN, handle_networks_list },
	{ "POST", "/api/v1/networks", ACCESS_ADMIN, handle_networks_create },
	{ "GET", "/api/v1/networks/*", ACCESS_ADMIN, handle_networks_get },
	{ "PATCH", "/api/v1/networks/*", ACCESS_ADMIN, handle_networks_patch },
	{ "DELETE", "/api/v1/networks/*", ACCESS_ADMIN, handle_networks_delete },
	{ "GET", "/api/v1/networks/*/acl", ACCESS_ADMIN, handle_acl_get },
	{ "GET", "/api/v1/networks/*/acl/matrix", ACCESS_ADMIN, handle_acl_matrix },
	{ "POST", "/api/v1/networks/*/acl/rules", ACCESS_ADMIN, handle_acl_rule_create },
	{ "DELETE", "/api/v1/networks/*/acl/rules/*", ACCESS_ADMIN, handle_acl_rule_delete },
	{ "GET", "/api/v1/networks/*/dns", ACCESS_ADMIN, handle_dns_list },
	{ "POST", "/api/v1/networks/*/dns", ACCESS_ADMIN, handle_dns_create },
	{ "DELETE", "/api/v1/networks/*/dns/*", ACCESS_ADMIN, handle_dns_delete },
	{ "GET", "/api/v1/networks/*/nodes", ACCESS_ADMIN, handle_nodes_list },
	{ "GET", "/api/v1/networks/*/nodes/*", ACCESS_ADMIN, handle_nodes_get },
	{ "DELETE", "/api/v1/networks/*/nodes/*", ACCESS_ADMIN, handle_nodes_delete },
	{ "PUT", "/api/v1/networks/*/nodes/*/egress", ACCESS_ADMIN, handle_node_egress_put },
	{ "DELETE", "/api/v1/networks/*/nodes/*/egress", ACCESS_ADMIN, handle_node_egress_delete },
	{ "PUT", "/api/v1/networks/*/nodes/*/ingress", ACCESS_ADMIN, handle_node_ingress_put },
	{ "DELETE", "/api/v1/networks/*/nodes/*/ingress", ACCESS_ADMIN, handle_node_ingress_delete },
	{ "PUT", "/api/v1/networks/*/nodes/*/dns", ACCESS_ADMIN, handle_node_dns_put },
	{ "DELETE", "/api/v1/networks/*/nodes/*/dns", ACCESS_ADMIN, handle_node_dns_delete },
	{ "PUT", "/api/v1/networks/*/nodes/*/relay", ACCESS_ADMIN, handle_node_relay_put },
	{ "DELETE", "/api/v1/networks/*/nodes/*/relay", ACCESS_ADMIN, handle_node_relay_delete },

	{ "GET", "/api/v1/enrollment-keys", ACCESS_ADMIN, handle_keys_list },
	{ "POST", "/api/v1/enrollment-keys", ACCESS_ADMIN, handle_keys_create },
	{ "DELETE", "/api/v1/enrollment-keys/*", ACCESS_ADMIN, handle_keys_delete },

	{ "POST", "/api/v1/hosts/register", ACCESS_PUBLIC, handle_hosts_register },
	{ "GET", "/api/v1/hosts/self/config", ACCESS_HOST, handle_host_self_config },
	{ "DELETE", "/api/v1/hosts/self", ACCESS_HOST, handle_host_self_delete },
	{ "POST", "/api/v1/hosts/self/broker", ACCESS_HOST, handle_host_self_broker },
	{ "POST", "/api/v1/hosts/self/checkin", ACCESS_HOST, handle_host_self_checkin },
	{ "DELETE", "/api/v1/hosts/self/networks/*", ACCESS_HOST, handle_host_self_leave_network },
	{ "GET", "/api/v1/hosts", ACCESS_ADMIN, handle_hosts_list },
	{ "GET", "/api/v1/hosts/*", ACCESS_ADMIN, handle_hosts_get },
	{ "PATCH", "/api/v1/hosts/*", ACCESS_ADMIN, handle_hosts_patch },
	{ "DELETE", "/api/v1/hosts/*", ACCESS_ADMIN, handle_hosts_delete },

	{ "GET", "/api/v1/ingress-gateways", ACCESS_USER, handle_ingress_gateways_list },
	{ "GET", "/api/v1/extclients", ACCESS_USER, handle_extclients_list },
	{ "POST", "/api/v1/extclients", ACCESS_USER, handle_extclients_create },
	{ "GET", "/api/v1/extclients/*", ACCESS_USER, handle_extclients_get },
	{ "PATCH", "/api/v1/extclients/*", ACCESS_USER, handle_extclients_patch },
	{ "DELETE", "/api/v1/extclients/*", ACCESS_USER, handle_extclients_delete },
	{ "GET", "/api/v1/extclients/*/config", ACCESS_USER, handle_extclient_config },
	{ "GET", "/api/v1/extclients/*/qr.png", ACCESS_USER, handle_extclient_qr_png },
	{ "GET", "/api/v1/extclients/*/qr.svg", ACCESS_USER, handle_extclient_qr_svg },

	{ "GET", "/api/v1/audit", ACCESS_ADMIN, handle_audit_list },
};

const unsigned n_routes = sizeof(routes) / sizeof(routes[0]);
