/*
 * Ext clients with an expiry are disabled by the server once it passes,
 * so their gateway drops them: a background thread checks every second.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "handlers.h"
#include "log.h"

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool stopping, started;

/* Disable one expired client. Returns 1 when one was found, 0 when none is left, or a store error. */
static int expire_one(struct server *srv)
{
	struct store *st = srv->st;
	struct changeset cs = { .srv = srv };
	struct store_stmt *s;
	char name[80] = "";
	int64_t id = 0;
	int ret;

	ret = store_begin(st);
	if (ret != STORE_OK)
		return ret;
	ret = store_query(st, &s, "SELECT id, name FROM ext_clients WHERE enabled = 1 AND expires_at IS NOT NULL"
			  " AND expires_at <= ? ORDER BY expires_at LIMIT 1", "i", now_unix());
	if (ret == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			id = store_col_int(s, 0);
			snprintf(name, sizeof(name), "%s", store_col_text(s, 1));
		}
		store_finalize(s);
	}
	if (ret != STORE_OK || !id) {
		store_rollback(st);
		return ret;
	}
	ret = store_exec(st, "UPDATE ext_clients SET enabled = 0 WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = extclient_changeset(srv, &cs, "extclient.expire", name, id);
	if (ret == STORE_OK)
		ret = audit_system(st, "extclient.expire", name, "id=%lld", (long long)id);
	ret = changeset_commit(&cs, ret);
	if (ret == STORE_OK)
		log_info("ext client '%s' (id %lld) expired: disabled", name, (long long)id);
	return ret == STORE_OK ? 1 : ret;
}

static void *expiry_loop(void *arg)
{
	struct server *srv = arg;
	struct timespec next;

	pthread_mutex_lock(&mu);
	while (!stopping) {
		pthread_mutex_unlock(&mu);
		/* Bounded per tick, so a storm of expiries cannot starve the API of the lock. */
		for (int i = 0; i < 100 && expire_one(srv) == 1; i++)
			;
		pthread_mutex_lock(&mu);
		clock_gettime(CLOCK_REALTIME, &next);
		next.tv_sec += 1;
		while (!stopping && pthread_cond_timedwait(&cond, &mu, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int expiry_start(struct server *srv)
{
	if (pthread_create(&thread, NULL, expiry_loop, srv) != 0)
		return -1;
	started = true;
	return 0;
}

void expiry_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
}
