/*
 * The agent's channel (host token): broker credentials, check-ins, and
 * leaving one network.
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "handlers.h"
#include "key.h"
#include "log.h"

#define MAX_CHECKIN_PEERS 100000

json_t *broker_credentials(struct server *srv, int64_t host_id)
{
	char password[MG_TOKEN_LEN], user[64], topic[96];
	json_t *creds = NULL;

	if (!srv->broker)
		return NULL;
	mg_token_generate(password, "mqp_");
	if (broker_set_host_account(srv->broker, host_id, password) == 0) {
		broker_host_username(user, sizeof(user), host_id);
		broker_host_topic(topic, sizeof(topic), host_id);
		creds = json_pack("{s:s, s:s, s:s, s:s}", "url", broker_public_url(srv->broker), "username", user,
				  "password", password, "topic", topic);
	}
	mg_wipe(password, sizeof(password));
	return creds;
}

void handle_host_self_broker(struct request *req)
{
	json_t *creds;

	if (!req->srv->broker) {
		reply_error(req, 503, "this server runs without a broker");
		return;
	}
	creds = broker_credentials(req->srv, req->auth.host_id);
	if (!creds) {
		reply_error(req, 503, "the broker is not reachable, try again later");
		return;
	}
	reply_json(req, 200, creds);
}

/*
 * Per node of the host: how many of the peers it just reported are nodes
 * (other than its own) or ext clients of that node's network. Inside the
 * transaction; the lookups go through the unique keys of hosts, nodes and
 * ext_clients.
 */
static int count_reported_peers(struct store *st, int64_t host_id)
{
	return store_exec(st, "UPDATE nodes SET reported_peers ="
			  " (SELECT COUNT(*) FROM peer_stats ps JOIN hosts h ON h.public_key = ps.peer_key"
			  "  JOIN nodes o ON o.host_id = h.id AND o.network_id = nodes.network_id"
			  "  WHERE ps.host_id = nodes.host_id AND h.id != nodes.host_id) +"
			  " (SELECT COUNT(*) FROM peer_stats ps JOIN ext_clients c ON c.public_key = ps.peer_key"
			  "  AND c.network_id = nodes.network_id WHERE ps.host_id = nodes.host_id)"
			  " WHERE host_id = ?", "i", host_id);
}

/* Per-peer statistics as the host sees them, and its nodes' peer counts. Inside the transaction. */
static int store_peer_stats(struct store *st, int64_t host_id, json_t *peers)
{
	size_t i;
	json_t *p;
	int ret;

	ret = store_exec(st, "DELETE FROM peer_stats WHERE host_id = ?", "i", host_id);
	json_array_foreach(peers, i, p) {
		const char *key = json_string_value(json_object_get(p, "public_key"));
		const char *ep = json_string_value(json_object_get(p, "endpoint"));
		json_int_t hs = json_integer_value(json_object_get(p, "last_handshake"));
		json_int_t rx = json_integer_value(json_object_get(p, "rx_bytes"));
		json_int_t tx = json_integer_value(json_object_get(p, "tx_bytes"));

		if (ret != STORE_OK)
			break;
		ret = store_exec(st, "INSERT INTO peer_stats (host_id, peer_key, last_handshake, rx_bytes, tx_bytes,"
				 " endpoint, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
				 "itiiiti", host_id, key, (int64_t)hs, (int64_t)rx, (int64_t)tx, ep, now_unix());
	}
	return ret == STORE_OK ? count_reported_peers(st, host_id) : ret;
}

static bool check_peers(struct request *req, json_t *peers)
{
	size_t i;
	json_t *p;

	if (json_array_size(peers) > MAX_CHECKIN_PEERS) {
		reply_error(req, 400, "too many peers");
		return false;
	}
	json_array_foreach(peers, i, p) {
		const struct mg_json_field f[] = {
			{ .name = "public_key", .type = MG_JSON_STRING, .required = true },
			{ .name = "last_handshake", .type = MG_JSON_INT, .min = 0, .max = INT64_MAX },
			{ .name = "rx_bytes", .type = MG_JSON_INT, .min = 0, .max = INT64_MAX },
			{ .name = "tx_bytes", .type = MG_JSON_INT, .min = 0, .max = INT64_MAX },
			{ .name = "endpoint", .type = MG_JSON_STRING, .nullable = true },
			{ 0 }
		};
		const char *key = NULL, *ep = NULL;
		int64_t n;
		struct mg_json_field fields[6];
		char err[200];

		memcpy(fields, f, sizeof(f));
		fields[0].out = &key;
		fields[1].out = &n;
		fields[2].out = &n;
		fields[3].out = &n;
		fields[4].out = &ep;
		if (!json_is_object(p) || mg_json_unpack(p, fields, err, sizeof(err)) < 0) {
			reply_error(req, 400, "peers[%zu]: %s", i, json_is_object(p) ? err : "must be an object");
			return false;
		}
		if (mg_key_valid_base64(key) < 0 || (ep && strlen(ep) > 64)) {
			reply_error(req, 400, "peers[%zu]: bad public_key or endpoint", i);
			return false;
		}
	}
	return true;
}

void handle_host_self_checkin(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t host = req->auth.host_id, port = 0, revision = 0, old_port = 0, agent_rev = 0;
	json_t *locals = NULL, *peers = NULL, *body;
	bool has_port = false, moved = false;
	const struct mg_json_field fields[] = {
		{ .name = "listen_port", .type = MG_JSON_INT, .out = &port, .min = 1, .max = 65535, .present = &has_port },
		{ .name = "local_endpoints", .type = MG_JSON_ARRAY, .out = &locals },
		{ .name = "revision", .type = MG_JSON_INT, .out = &agent_rev, .min = 0, .max = INT64_MAX },
		{ .name = "peers", .type = MG_JSON_ARRAY, .out = &peers },
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	char err[256], observed[MG_IP_STRLEN] = "";
	struct store_stmt *s;
	size_t i;
	json_t *v;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (locals && mg_json_string_array(locals, "local_endpoints", 32, err, sizeof(err)) < 0) {
		reply_error(req, 400, "%s", err);
		goto out;
	}
	json_array_foreach(locals, i, v) {
		struct mg_ip ip;

		if (mg_ip_parse(json_string_value(v), &ip) < 0) {
			reply_error(req, 400, "local_endpoints: '%s' is not an IP address", json_string_value(v));
			goto out;
		}
	}
	if (peers && !check_peers(req, peers))
		goto out;

	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "check-in");
		goto out;
	}
	ret = store_query(st, &s, "SELECT listen_port, observed_ip FROM hosts WHERE id = ?", "i", host);
	if (ret == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			old_port = store_col_int(s, 0);
			snprintf(observed, sizeof(observed), "%s", store_col_text(s, 1));
		}
		store_finalize(s);
	}
	/* A new listen port or a new public address is news for every peer. */
	moved = (has_port && port != old_port) ||
		(strcmp(req->source_ip, "unknown") && strcmp(observed, req->source_ip));
	if (ret == STORE_OK)
		ret = store_exec(st, "UPDATE hosts SET last_checkin = ?, observed_ip = ? WHERE id = ?", "iti",
				 now_unix(), strcmp(req->source_ip, "unknown") ? req->source_ip : NULL, host);
	if (ret == STORE_OK && has_port)
		ret = store_exec(st, "UPDATE hosts SET listen_port = ? WHERE id = ?", "ii", port, host);
	if (ret == STORE_OK && locals) {
		ret = store_exec(st, "DELETE FROM host_local_endpoints WHERE host_id = ?", "i", host);
		json_array_foreach(locals, i, v)
			if (ret == STORE_OK)
				ret = store_exec(st, "INSERT INTO host_local_endpoints (host_id, address) VALUES (?, ?)"
						 " ON CONFLICT DO NOTHING", "it", host, json_string_value(v));
	}
	if (ret == STORE_OK && peers)
		ret = store_peer_stats(st, host, peers);
	if (ret == STORE_OK && moved) {
		ret = changeset_begin(&cs, req->srv, "host.moved", req->auth.actor, host);
		if (ret == STORE_OK)
			ret = changeset_add_host_peers(&cs, host);
		if (ret == STORE_OK)
			ret = changeset_apply(&cs);
		if (ret == STORE_OK)
			ret = audit(req, "host.moved", req->auth.actor + 5, "observed=%s port=%lld", req->source_ip,
				    (long long)(has_port ? port : old_port));
	}
	if (ret == STORE_OK)
		ret = store_get_int(st, &revision, NULL, "SELECT revision FROM hosts WHERE id = ?", "i", host);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "check-in");
	else
		reply_json(req, 200, json_pack("{s:I}", "revision", (json_int_t)revision));
out:
	json_decref(body);
}
