/*
 * Storage interface. Handlers speak portable SQL (`?` placeholders,
 * INSERT ... RETURNING id) through these calls and never see the backend:
 * SQLite is the default, and a PostgreSQL backend only has to provide
 * another struct store_backend (rewriting `?` to `$n`).
 *
 * One connection is shared by all request threads; store_lock serialises
 * whole transactions, so a handler holds it from begin to commit.
 */
#ifndef MG_STORE_H
#define MG_STORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct store;
struct store_stmt;

/*
 * Errors at the API boundary. Constraint violations are reported as such so
 * handlers can answer 409 instead of 500.
 */
enum store_err {
	STORE_OK = 0,
	STORE_ROW = 1,		/* store_step: a row is available */
	STORE_ERR = -1,		/* anything else (logged) */
	STORE_CONSTRAINT = -2,	/* unique / foreign key / check violated */
	STORE_BUSY = -3,	/* locked, or the disk is full or read-only */
};

struct store_backend {
	const char *scheme;	/* "sqlite" */
	int (*open)(const char *path, struct store **out);
	void (*close)(struct store *st);
	int (*exec_script)(struct store *st, const char *sql);
	int (*prepare)(struct store *st, const char *sql, struct store_stmt **out);
	int (*bind_int)(struct store_stmt *s, int idx, int64_t v);
	int (*bind_text)(struct store_stmt *s, int idx, const char *v);
	int (*bind_null)(struct store_stmt *s, int idx);
	int (*step)(struct store_stmt *s);
	bool (*col_null)(struct store_stmt *s, int col);
	int64_t (*col_int)(struct store_stmt *s, int col);
	const char *(*col_text)(struct store_stmt *s, int col);
	int64_t (*changes)(struct store *st);
	void (*finalize)(struct store_stmt *s);
	const char *(*errmsg)(struct store *st);
};

/* For backends: their struct store and struct store_stmt begin with these. */
struct store_head {
	const struct store_backend *be;
	/* A ticket lock (store.c): mu and turn guard next_ticket and serving. */
	pthread_mutex_t mu;
	pthread_cond_t turn;
	unsigned long next_ticket, serving;
};

struct store_stmt_head {
	struct store *st;
};

/* "sqlite:/path/to/db" or a bare path (SQLite). Runs migrations. */
int store_open(const char *url, struct store **out);
void store_close(struct store *st);
int store_schema_version(struct store *st);

void store_lock(struct store *st);
void store_unlock(struct store *st);
/* Begin/commit/rollback. store_begin takes the lock, commit and rollback release it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Ends a transaction: commits when ret is STORE_OK, else rolls back. Returns the outcome. */
int store_finish(struct store *st, int ret);

/*
 * Prepare `sql` and bind arguments described by `types`, one char each:
 *   'i' int64_t, 'j' const int64_t * (NULL binds SQL NULL),
 *   't' const char * (NULL binds SQL NULL), 'n' SQL NULL (no argument).
 * Returns STORE_OK and the statement, or an error.
 */
int store_query(struct store *st, struct store_stmt **out, const char *sql, const char *types, ...);
int store_vquery(struct store *st, struct store_stmt **out, const char *sql, const char *types, va_list ap);
/* Prepare, bind, step to completion, finalize. */
int store_exec(struct store *st, const char *sql, const char *types, ...);
/*
 * Like store_exec, for a statement that yields one integer (RETURNING id,
 * COUNT(*)): stores it in out. With no row, *found (if given) is false.
 */
int store_get_int(struct store *st, int64_t *out, bool *found, const char *sql, const char *types, ...);
int64_t store_changes(struct store *st);

int store_step(struct store_stmt *s);
bool store_col_null(struct store_stmt *s, int col);
int64_t store_col_int(struct store_stmt *s, int col);
/* "" for NULL; valid until the next step or finalize. */
const char *store_col_text(struct store_stmt *s, int col);
void store_finalize(struct store_stmt *s);

extern const struct store_backend store_sqlite_backend;

#endif
