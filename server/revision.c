/*
 * Revisions. Every change bumps the revision of the network it happens in
 * and of each host it affects, in the change's own transaction, and records
 * which hosts those were (changes, change_hosts), so updates can be sent to
 * exactly those hosts as deltas. The statements touch only the affected
 * rows: the cost grows with the number of affected hosts.
 */
#include "server.h"

static int record(struct store *st, int64_t network_id, const char *action, const char *subject,
		  int64_t *change_id)
{
	int ret;
	bool found;

	ret = store_exec(st, "UPDATE networks SET revision = revision + 1 WHERE id = ?", "i", network_id);
	if (ret != STORE_OK)
		return ret;
	ret = store_get_int(st, change_id, &found,
			    "INSERT INTO changes (network_id, network_revision, action, subject, at)"
			    " SELECT id, revision, ?, ?, ? FROM networks WHERE id = ? RETURNING id",
			    "ttii", action, subject, now_unix(), network_id);
	if (ret == STORE_OK && !found)
		ret = STORE_ERR;
	return ret;
}

int change_network(struct store *st, int64_t network_id, const char *action, const char *subject)
{
	int64_t change_id;
	int ret;

	ret = record(st, network_id, action, subject, &change_id);
	if (ret != STORE_OK)
		return ret;
	ret = store_exec(st,
			 "UPDATE hosts SET revision = revision + 1"
			 " WHERE id IN (SELECT host_id FROM nodes WHERE network_id = ?)", "i", network_id);
	if (ret != STORE_OK)
		return ret;
	return store_exec(st,
			  "INSERT INTO change_hosts (change_id, host_id, host_revision)"
			  " SELECT ?, h.id, h.revision FROM hosts h"
			  " WHERE h.id IN (SELECT host_id FROM nodes WHERE network_id = ?)",
			  "ii", change_id, network_id);
}

int change_host_peers(struct store *st, int64_t host_id, const char *action, const char *subject)
{
	struct store_stmt *s;
	int64_t ids[64];
	unsigned n = 0;
	int ret;

	/* A host is in few networks; collect them first, then record per network. */
	ret = store_query(st, &s, "SELECT network_id FROM nodes WHERE host_id = ? ORDER BY network_id", "i",
			  host_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW && n < sizeof(ids) / sizeof(ids[0]))
		ids[n++] = store_col_int(s, 0);
	store_finalize(s);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		ret = change_network(st, ids[i], action, subject);
		if (ret != STORE_OK)
			return ret;
	}
	if (n == 0)
		return store_exec(st, "UPDATE hosts SET revision = revision + 1 WHERE id = ?", "i", host_id);
	return STORE_OK;
}
