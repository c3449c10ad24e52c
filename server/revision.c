/*
 * Revisions and change sets. A mutation opens a change set, names what it
 * touches (networks, hosts), and applies it once: each touched network's
 * revision and each affected host's revision go up by exactly one, and the
 * tables changes / change_networks / change_hosts record which they were,
 * so updates can be sent to exactly those hosts as deltas. Every statement
 * touches only the affected rows: the cost grows with the number of
 * affected hosts, not with the size of the database.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "server.h"

#define CS_ST(cs) ((cs)->srv->st)

/*
 * Whether a host has a node in a network where some node is relayed. Then
 * its change reaches the others through relays' entries (peers.c), and
 * every affected host gets its whole configuration instead of the host's
 * own peer entry. Relays are rare: the lookup starts from relayed nodes.
 */
static int host_in_relay_network(struct store *st, int64_t host, bool *relays)
{
	int64_t n = 0;
	int ret;

	/* CROSS JOIN keeps x outside: a range of the relayed_by index, not a scan of the networks. */
	ret = store_get_int(st, &n, NULL, "SELECT COUNT(*) FROM nodes x CROSS JOIN nodes r ON r.id = x.relayed_by"
			    " WHERE x.relayed_by > 0 AND r.network_id IN (SELECT network_id FROM nodes"
			    " WHERE host_id = ?)", "i", host);
	*relays = *relays || n > 0;
	return ret;
}

int changeset_begin(struct changeset *cs, struct server *srv, const char *action, const char *subject,
		    int64_t subject_host)
{
	struct store *st = srv->st;
	struct store_stmt *s;
	bool found;
	int ret;

	memset(cs, 0, sizeof(*cs));
	cs->srv = srv;
	cs->subject_host = subject_host;
	if (subject_host) {
		/* Kept for the peers of a host that is about to be deleted. */
		ret = store_query(st, &s, "SELECT public_key FROM hosts WHERE id = ?", "i", subject_host);
		if (ret != STORE_OK)
			return ret;
		if (store_step(s) == STORE_ROW)
			snprintf(cs->subject_key, sizeof(cs->subject_key), "%s", store_col_text(s, 0));
		store_finalize(s);
		/* Before a leave or delete un-relays anyone (build_messages looks again after joins). */
		ret = host_in_relay_network(st, subject_host, &cs->relays);
		/* A DNS server node leaving changes every host's "dns" section: whole configs too (dns.c). */
		if (ret == STORE_OK)
			ret = dns_server_host(st, subject_host, &cs->relays);
		if (ret != STORE_OK)
			return ret;
	}
	ret = store_get_int(st, &cs->id, &found,
			    "INSERT INTO changes (action, subject, subject_host, at) VALUES (?, ?, ?, ?) RETURNING id",
			    "ttji", action, subject, subject_host ? &subject_host : NULL, now_unix());
	return ret == STORE_OK && !found ? STORE_ERR : ret;
}

int changeset_add_host(struct changeset *cs, int64_t host_id)
{
	return store_exec(CS_ST(cs), "INSERT INTO change_hosts (change_id, host_id, host_revision) VALUES (?, ?, 0)"
			  " ON CONFLICT DO NOTHING", "ii", cs->id, host_id);
}

int changeset_add_network(struct changeset *cs, int64_t network_id)
{
	int ret;

	ret = store_exec(CS_ST(cs), "INSERT INTO change_networks (change_id, network_id, network_revision)"
			 " VALUES (?, ?, 0) ON CONFLICT DO NOTHING", "ii", cs->id, network_id);
	if (ret != STORE_OK)
		return ret;
	return store_exec(CS_ST(cs), "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT ?, host_id, 0 FROM nodes WHERE network_id = ? ON CONFLICT DO NOTHING",
			  "ii", cs->id, network_id);
}

int changeset_add_host_peers(struct changeset *cs, int64_t host_id)
{
	int ret;

	ret = changeset_add_host(cs, host_id);
	if (ret != STORE_OK)
		return ret;
	ret = store_exec(CS_ST(cs), "INSERT INTO change_networks (change_id, network_id, network_revision)"
			 " SELECT ?, network_id, 0 FROM nodes WHERE host_id = ? ON CONFLICT DO NOTHING",
			 "ii", cs->id, host_id);
	if (ret != STORE_OK)
		return ret;
	return store_exec(CS_ST(cs), "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT ?, n.host_id, 0 FROM nodes n"
			  " WHERE n.network_id IN (SELECT network_id FROM nodes WHERE host_id = ?)"
			  " ON CONFLICT DO NOTHING", "ii", cs->id, host_id);
}

int changeset_add_relays(struct changeset *cs, int64_t network_id)
{
	return store_exec(CS_ST(cs), "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT DISTINCT ?, r.host_id, 0 FROM change_hosts ch"
			  " JOIN nodes x ON x.host_id = ch.host_id AND x.network_id = ?"
			  " JOIN nodes r ON r.id = x.relayed_by WHERE ch.change_id = ? ON CONFLICT DO NOTHING",
			  "iii", cs->id, network_id, cs->id);
}

int changeset_apply(struct changeset *cs)
{
	static const char *const steps[] = {
		"UPDATE networks SET revision = revision + 1"
		" WHERE id IN (SELECT network_id FROM change_networks WHERE change_id = ?)",
		"UPDATE change_networks SET network_revision ="
		" (SELECT revision FROM networks WHERE networks.id = change_networks.network_id) WHERE change_id = ?",
		"UPDATE hosts SET revision = revision + 1"
		" WHERE id IN (SELECT host_id FROM change_hosts WHERE change_id = ?)",
		"UPDATE change_hosts SET host_revision ="
		" (SELECT revision FROM hosts WHERE hosts.id = change_hosts.host_id) WHERE change_id = ?",
	};
	int ret = STORE_OK;

	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]) && ret == STORE_OK; i++)
		ret = store_exec(CS_ST(cs), steps[i], "i", cs->id);
	return ret;
}

static int outbox_add(struct changeset *cs, int64_t host_id, json_t *msg)
{
	struct outmsg *grown;
	char topic[96];
	char *payload;

	if (!msg)
		return STORE_ERR;
	payload = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	grown = payload ? realloc(cs->msgs, (cs->n_msgs + 1) * sizeof(*cs->msgs)) : NULL;
	if (!grown) {
		free(payload);
		return STORE_ERR;
	}
	cs->msgs = grown;
	broker_host_topic(topic, sizeof(topic), host_id);
	cs->msgs[cs->n_msgs].topic = strdup(topic);
	cs->msgs[cs->n_msgs].payload = payload;
	cs->n_msgs++;
	return STORE_OK;
}

/*
 * Whether host's packet filters may list addresses this change adds or
 * removes: it shares a touched network whose ACL rules name nodes, tags or
 * ext clients. Then it gets its whole configuration, not a peer entry.
 */
static int filters_touched(struct changeset *cs, struct acl_cache *acl, int64_t host, bool *touched)
{
	struct store_stmt *s;
	int ret;

	*touched = false;
	ret = store_query(CS_ST(cs), &s, "SELECT cn.network_id FROM change_networks cn JOIN nodes n"
			  " ON n.network_id = cn.network_id AND n.host_id = ? WHERE cn.change_id = ?",
			  "ii", host, cs->id);
	if (ret != STORE_OK)
		return ret;
	while (!*touched && (ret = store_step(s)) == STORE_ROW)
		ret = acl_filters_list_members(acl, store_col_int(s, 0), touched);
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/*
 * One message per affected host that still exists. The subject host (and
 * every host when the change has no subject, e.g. a network setting) gets
 * its whole configuration; every other host gets only the subject's peer
 * entry, added, replaced or removed. So one join or leave costs work and
 * bytes in proportion to the number of affected hosts (except in networks
 * whose ACL rules name nodes or tags: their filters list addresses).
 */
static int build_messages(struct changeset *cs, const char *action)
{
	struct store *st = CS_ST(cs);
	struct acl_cache *acl = acl_cache_new(st);
	struct store_stmt *s;
	bool filters = false;
	int ret;

	if (!acl)
		return STORE_ERR;
	if (cs->subject_host && host_in_relay_network(st, cs->subject_host, &cs->relays) != STORE_OK) {
		acl_cache_free(acl);
		return STORE_ERR;
	}
	ret = store_query(st, &s, "SELECT ch.host_id, ch.host_revision FROM change_hosts ch"
			  " JOIN hosts h ON h.id = ch.host_id WHERE ch.change_id = ? ORDER BY ch.host_id", "i", cs->id);
	if (ret != STORE_OK) {
		acl_cache_free(acl);
		return ret;
	}
	while (ret == STORE_OK && (ret = store_step(s)) == STORE_ROW) {
		int64_t host = store_col_int(s, 0), rev = store_col_int(s, 1);
		json_t *msg = json_pack("{s:I, s:I, s:I, s:s}", "host_id", (json_int_t)host,
					"base_revision", (json_int_t)(rev - 1), "revision", (json_int_t)rev,
					"action", action);

		int64_t ingress = 0;

		/* An ingress gateway's client filters depend on the network's egress ranges. */
		store_get_int(st, &ingress, NULL, "SELECT COUNT(*) FROM nodes n JOIN change_networks cn"
			      " ON cn.network_id = n.network_id WHERE cn.change_id = ? AND n.host_id = ? AND n.ingress = 1",
			      "ii", cs->id, host);
		if (cs->subject_host && cs->subject_host != host && !ingress &&
		    (ret = filters_touched(cs, acl, host, &filters)) != STORE_OK) {
			json_decref(msg);
			break;
		}
		if (!cs->subject_host || cs->subject_host == host || ingress || filters || cs->relays) {
			json_object_set_new(msg, "config", host_config(st, host));
		} else {
			json_t *peer = host_peers(st, host, cs->subject_host);

			if (json_array_size(peer) == 1) {
				json_object_set_new(msg, "peers_upsert", peer);
				json_object_set_new(msg, "peers_remove", json_array());
			} else {
				json_decref(peer);
				json_object_set_new(msg, "peers_upsert", json_array());
				json_object_set_new(msg, "peers_remove", json_pack("[s]", cs->subject_key));
			}
		}
		ret = outbox_add(cs, host, msg);
	}
	store_finalize(s);
	acl_cache_free(acl);
	return ret < 0 ? ret : STORE_OK;
}

static void outbox_free(struct changeset *cs)
{
	for (size_t i = 0; i < cs->n_msgs; i++) {
		free(cs->msgs[i].topic);
		free(cs->msgs[i].payload);
	}
	free(cs->msgs);
	cs->msgs = NULL;
	cs->n_msgs = 0;
}

int changeset_commit(struct changeset *cs, int ret)
{
	struct server *srv = cs->srv;
	char action[64] = "";
	struct store_stmt *s;
	size_t sent = 0;

	if (ret == STORE_OK && srv->broker && cs->id) {
		ret = store_query(srv->st, &s, "SELECT action FROM changes WHERE id = ?", "i", cs->id);
		if (ret == STORE_OK) {
			if (store_step(s) == STORE_ROW)
				snprintf(action, sizeof(action), "%s", store_col_text(s, 0));
			store_finalize(s);
			ret = build_messages(cs, action);
		}
	}
	/* The hosts files of the touched networks, as they will be committed (dns.c). */
	if (ret == STORE_OK)
		ret = dns_collect_changes(cs);
	pthread_mutex_lock(&srv->publish_mu);
	ret = store_finish(srv->st, ret);
	for (size_t i = 0; ret == STORE_OK && i < cs->n_msgs; i++)
		if (broker_publish(srv->broker, cs->msgs[i].topic, cs->msgs[i].payload) == 0)
			sent++;
	if (ret == STORE_OK)
		dns_write(srv, &cs->dns);
	pthread_mutex_unlock(&srv->publish_mu);
	dns_pending_free(&cs->dns);
	if (ret == STORE_OK && cs->n_msgs)
		log_debug("change %lld: %zu of %zu update messages published", (long long)cs->id, sent, cs->n_msgs);
	outbox_free(cs);
	return ret;
}
