/*
 * Revisions and change sets. A mutation opens a change set, names what it
 * touches (networks, hosts), and applies it once: each touched network's
 * revision and each affected host's revision go up by exactly one, and the
 * tables changes / change_networks / change_hosts record which they were,
 * so updates can be sent to exactly those hosts as deltas. Every statement
 * touches only the affected rows: the cost grows with the number of
 * affected hosts, not with the size of the database.
 */
#include "server.h"

int changeset_begin(struct changeset *cs, struct store *st, const char *action, const char *subject,
		    int64_t subject_host)
{
	bool found;
	int ret;

	cs->st = st;
	cs->id = 0;
	ret = store_get_int(st, &cs->id, &found,
			    "INSERT INTO changes (action, subject, subject_host, at) VALUES (?, ?, ?, ?) RETURNING id",
			    "ttji", action, subject, subject_host ? &subject_host : NULL, now_unix());
	return ret == STORE_OK && !found ? STORE_ERR : ret;
}

int changeset_add_host(struct changeset *cs, int64_t host_id)
{
	return store_exec(cs->st, "INSERT INTO change_hosts (change_id, host_id, host_revision) VALUES (?, ?, 0)"
			  " ON CONFLICT DO NOTHING", "ii", cs->id, host_id);
}

int changeset_add_network(struct changeset *cs, int64_t network_id)
{
	int ret;

	ret = store_exec(cs->st, "INSERT INTO change_networks (change_id, network_id, network_revision)"
			 " VALUES (?, ?, 0) ON CONFLICT DO NOTHING", "ii", cs->id, network_id);
	if (ret != STORE_OK)
		return ret;
	return store_exec(cs->st, "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT ?, host_id, 0 FROM nodes WHERE network_id = ? ON CONFLICT DO NOTHING",
			  "ii", cs->id, network_id);
}

int changeset_add_host_peers(struct changeset *cs, int64_t host_id)
{
	int ret;

	ret = changeset_add_host(cs, host_id);
	if (ret != STORE_OK)
		return ret;
	ret = store_exec(cs->st, "INSERT INTO change_networks (change_id, network_id, network_revision)"
			 " SELECT ?, network_id, 0 FROM nodes WHERE host_id = ? ON CONFLICT DO NOTHING",
			 "ii", cs->id, host_id);
	if (ret != STORE_OK)
		return ret;
	return store_exec(cs->st, "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT ?, n.host_id, 0 FROM nodes n"
			  " WHERE n.network_id IN (SELECT network_id FROM nodes WHERE host_id = ?)"
			  " ON CONFLICT DO NOTHING", "ii", cs->id, host_id);
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
		ret = store_exec(cs->st, steps[i], "i", cs->id);
	return ret;
}
