/*
 * Address allocation inside a network's range. Nodes take addresses from
 * the bottom, ext clients from the top; neither reuses a live address.
 */
#include <stdlib.h>

#include "addr.h"
#include "server.h"

int network_allocate(struct store *st, int64_t network_id, const char *range_text, bool v6, bool from_top,
		     char *out, size_t outlen)
{
	struct mg_prefix range;
	struct store_stmt *s;
	uint64_t *used = NULL, *grown;
	size_t n = 0, cap = 0;
	struct mg_ip ip;
	int ret;

	if (mg_prefix_parse(range_text, &range) < 0)
		return STORE_ERR;
	ret = v6 ? store_query(st, &s, "SELECT address6 FROM nodes WHERE network_id = ? AND address6 IS NOT NULL"
			       " UNION ALL SELECT address6 FROM ext_clients WHERE network_id = ? AND address6 IS NOT NULL",
			       "ii", network_id, network_id) :
		   store_query(st, &s, "SELECT address FROM nodes WHERE network_id = ?"
			       " UNION ALL SELECT address FROM ext_clients WHERE network_id = ?",
			       "ii", network_id, network_id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		uint64_t off;

		if (mg_ip_parse(store_col_text(s, 0), &ip) < 0 || mg_prefix_offset(&range, &ip, &off) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(used, cap * sizeof(*used));
			if (!grown) {
				ret = STORE_ERR;
				break;
			}
			used = grown;
		}
		used[n++] = off;
	}
	store_finalize(s);
	if (ret < 0)
		goto out;
	ret = mg_alloc_addr(&range, used, n, from_top, &ip);
	if (ret == 0)
		ret = mg_ip_format(&ip, out, outlen) == 0 ? STORE_OK : STORE_ERR;
out:
	free(used);
	return ret;
}
