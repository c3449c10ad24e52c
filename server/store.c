/*
 * Backend-neutral half of the storage interface: URL dispatch, the
 * transaction lock and the typed-argument helpers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

static const struct store_backend *backends[] = { &store_sqlite_backend };

static const struct store_backend *be_of(struct store *st)
{
	return ((struct store_head *)st)->be;
}

int store_open(const char *url, struct store **out)
{
	const char *path = url;
	const struct store_backend *be = &store_sqlite_backend;
	struct store_head *h;
	bool matched = false;
	int ret;

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]) && !matched; i++) {
		size_t n = strlen(backends[i]->scheme);

		if (!strncmp(url, backends[i]->scheme, n) && url[n] == ':') {
			be = backends[i];
			path = url + n + 1;
			matched = true;
		}
	}
	if (!matched && strstr(url, "://")) {
		/* Not the URL itself: it may carry a password. */
		log_warnx("store: unsupported database URL scheme");
		return STORE_ERR;
	}
	ret = be->open(path, out);
	if (ret != STORE_OK)
		return ret;
	h = (struct store_head *)*out;
	h->be = be;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->turn, NULL);
	h->next_ticket = h->serving = 0;
	return STORE_OK;
}

void store_close(struct store *st)
{
	struct store_head *h = (struct store_head *)st;

	if (!st)
		return;
	pthread_cond_destroy(&h->turn);
	pthread_mutex_destroy(&h->mu);
	h->be->close(st);
}

/*
 * The store lock is taken in arrival order (a ticket lock). A plain mutex
 * is not fair: under load the worker that just released it takes it again
 * before a woken waiter runs, and a starved HTTP worker leaves every
 * connection it serves unanswered (seen: 256 requests waiting over 15 s
 * under ASan with 1,000 clients, tests/api/test_faults.py).
 */
void store_lock(struct store *st)
{
	struct store_head *h = (struct store_head *)st;
	unsigned long ticket;

	pthread_mutex_lock(&h->mu);
	ticket = h->next_ticket++;
	while (h->serving != ticket)
		pthread_cond_wait(&h->turn, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void store_unlock(struct store *st)
{
	struct store_head *h = (struct store_head *)st;

	pthread_mutex_lock(&h->mu);
	h->serving++;
	pthread_cond_broadcast(&h->turn);
	pthread_mutex_unlock(&h->mu);
}

int store_begin(struct store *st)
{
	int ret;

	store_lock(st);
	ret = be_of(st)->exec_script(st, "BEGIN IMMEDIATE");
	if (ret != STORE_OK)
		store_unlock(st);
	return ret;
}

int store_commit(struct store *st)
{
	int ret = be_of(st)->exec_script(st, "COMMIT");

	if (ret != STORE_OK)
		be_of(st)->exec_script(st, "ROLLBACK");
	store_unlock(st);
	return ret;
}

void store_rollback(struct store *st)
{
	be_of(st)->exec_script(st, "ROLLBACK");
	store_unlock(st);
}

static int bind_args(const struct store_backend *be, struct store_stmt *s, const char *types, va_list ap)
{
	int idx = 1, ret = STORE_OK;

	for (const char *t = types; *t && ret == STORE_OK; t++, idx++) {
		switch (*t) {
		case 'i':
			ret = be->bind_int(s, idx, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *v = va_arg(ap, const char *);

			ret = v ? be->bind_text(s, idx, v) : be->bind_null(s, idx);
			break;
		}
		case 'j': {
			const int64_t *v = va_arg(ap, const int64_t *);

			ret = v ? be->bind_int(s, idx, *v) : be->bind_null(s, idx);
			break;
		}
		case 'n':
			ret = be->bind_null(s, idx);
			break;
		default:
			log_warnx("store: bad argument type '%c'", *t);
			ret = STORE_ERR;
		}
	}
	return ret;
}

int store_vquery(struct store *st, struct store_stmt **out, const char *sql, const char *types, va_list ap)
{
	const struct store_backend *be = be_of(st);
	struct store_stmt *s = NULL;
	int ret;

	ret = be->prepare(st, sql, &s);
	if (ret != STORE_OK)
		return ret;
	ret = bind_args(be, s, types ? types : "", ap);
	if (ret != STORE_OK) {
		be->finalize(s);
		return ret;
	}
	*out = s;
	return STORE_OK;
}

int store_query(struct store *st, struct store_stmt **out, const char *sql, const char *types, ...)
{
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_vquery(st, out, sql, types, ap);
	va_end(ap);
	return ret;
}

int store_exec(struct store *st, const char *sql, const char *types, ...)
{
	struct store_stmt *s;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_vquery(st, &s, sql, types, ap);
	va_end(ap);
	if (ret != STORE_OK)
		return ret;
	while ((ret = be_of(st)->step(s)) == STORE_ROW)
		;
	be_of(st)->finalize(s);
	return ret;
}

int store_get_int(struct store *st, int64_t *out, bool *found, const char *sql, const char *types, ...)
{
	struct store_stmt *s;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_vquery(st, &s, sql, types, ap);
	va_end(ap);
	if (ret != STORE_OK)
		return ret;
	if (found)
		*found = false;
	ret = be_of(st)->step(s);
	if (ret == STORE_ROW) {
		*out = be_of(st)->col_int(s, 0);
		if (found)
			*found = true;
		/* Finish the statement so an INSERT ... RETURNING is complete. */
		while ((ret = be_of(st)->step(s)) == STORE_ROW)
			;
	}
	be_of(st)->finalize(s);
	return ret;
}

int64_t store_changes(struct store *st)
{
	return be_of(st)->changes(st);
}

#define STMT_BE(s) be_of(((struct store_stmt_head *)(s))->st)

int store_step(struct store_stmt *s)
{
	return STMT_BE(s)->step(s);
}

bool store_col_null(struct store_stmt *s, int col)
{
	return STMT_BE(s)->col_null(s, col);
}

int64_t store_col_int(struct store_stmt *s, int col)
{
	return STMT_BE(s)->col_int(s, col);
}

const char *store_col_text(struct store_stmt *s, int col)
{
	return STMT_BE(s)->col_text(s, col);
}

void store_finalize(struct store_stmt *s)
{
	if (s)
		STMT_BE(s)->finalize(s);
}

int store_finish(struct store *st, int ret)
{
	if (ret != STORE_OK) {
		store_rollback(st);
		return ret;
	}
	return store_commit(st);
}
