/*
 * SQLite backend: WAL mode, foreign keys on, synchronous=FULL so an
 * acknowledged write survives a crash, a busy timeout for outside readers.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "schema_sqlite.h"
#include "store.h"

/*
 * Prepared statements are kept and reused: the list routes run a few
 * statements per row, and preparing them anew each time cost more than
 * running them. The cache is keyed by the SQL text; a statement in use is
 * never handed out twice (a second user of the same text gets a fresh,
 * uncached one). The store lock serialises all of this.
 */
#define STMT_CACHE 128

struct store_stmt {
	struct store_stmt_head head;
	sqlite3_stmt *stmt;
	char *sql;		/* the cache key (a copy) */
	bool cached, in_use;
};

struct store {
	struct store_head head;
	sqlite3 *db;
	struct store_stmt *cache[STMT_CACHE];
	unsigned n_cached;
};

static int map_rc(struct store *st, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_ROW:
		return STORE_ROW;
	case SQLITE_CONSTRAINT:
		return STORE_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		log_warnx("sqlite: %s", sqlite3_errmsg(st->db));
		return STORE_BUSY;
	default:
		log_warnx("sqlite: %s", sqlite3_errmsg(st->db));
		return STORE_ERR;
	}
}

static int sq_exec_script(struct store *st, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		log_warnx("sqlite: %s", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONSTRAINT :
		       ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_BUSY ||
			(rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_READONLY) ? STORE_BUSY : STORE_ERR;
	}
	return STORE_OK;
}

static int user_version(struct store *st, int *out)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return map_rc(st, rc);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : map_rc(st, rc);
}

static int migrate(struct store *st)
{
	int version, ret;
	char pragma[64];

	ret = user_version(st, &version);
	if (ret != STORE_OK)
		return ret;
	if (version > (int)sqlite_n_migrations) {
		log_warnx("database schema version %d is newer than this meshgated (%u)",
			  version, sqlite_n_migrations);
		return STORE_ERR;
	}
	for (unsigned v = (unsigned)version; v < sqlite_n_migrations; v++) {
		ret = sq_exec_script(st, "BEGIN IMMEDIATE");
		if (ret != STORE_OK)
			return ret;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %u", v + 1);
		if ((ret = sq_exec_script(st, sqlite_migrations[v])) != STORE_OK ||
		    (ret = sq_exec_script(st, pragma)) != STORE_OK) {
			sq_exec_script(st, "ROLLBACK");
			return ret;
		}
		ret = sq_exec_script(st, "COMMIT");
		if (ret != STORE_OK)
			return ret;
		log_info("database schema migrated to version %u", v + 1);
	}
	return STORE_OK;
}

static int sq_open(const char *path, struct store **out)
{
	struct store *st;
	int rc, ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return STORE_ERR;
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("sqlite: cannot open %s: %s", path,
			  st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		ret = STORE_ERR;
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	ret = sq_exec_script(st, "PRAGMA journal_mode = WAL;"
				 "PRAGMA synchronous = FULL;"
				 "PRAGMA foreign_keys = ON;"
				 "PRAGMA secure_delete = ON;");
	if (ret != STORE_OK)
		goto fail;
	ret = migrate(st);
	if (ret != STORE_OK)
		goto fail;
	*out = st;
	return STORE_OK;
fail:
	sqlite3_close(st->db);
	free(st);
	return ret;
}

static void sq_close(struct store *st)
{
	for (unsigned i = 0; i < st->n_cached; i++) {
		sqlite3_finalize(st->cache[i]->stmt);
		free(st->cache[i]->sql);
		free(st->cache[i]);
	}
	sqlite3_close(st->db);
	free(st);
}

static int sq_prepare(struct store *st, const char *sql, struct store_stmt **out)
{
	struct store_stmt *s;
	int rc;

	for (unsigned i = 0; i < st->n_cached; i++) {
		s = st->cache[i];
		if (!s->in_use && !strcmp(s->sql, sql)) {
			s->in_use = true;
			*out = s;
			return STORE_OK;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return STORE_ERR;
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("sqlite: prepare '%s': %s", sql, sqlite3_errmsg(st->db));
		free(s);
		return map_rc(st, rc);
	}
	s->head.st = st;
	s->in_use = true;
	/* Only texts that are not in the cache yet: a busy twin stays uncached. */
	if (st->n_cached < STMT_CACHE) {
		bool twin = false;

		for (unsigned i = 0; i < st->n_cached && !twin; i++)
			twin = !strcmp(st->cache[i]->sql, sql);
		if (!twin && (s->sql = strdup(sql))) {
			s->cached = true;
			st->cache[st->n_cached++] = s;
		}
	}
	*out = s;
	return STORE_OK;
}

static int sq_bind_int(struct store_stmt *s, int idx, int64_t v)
{
	return map_rc(s->head.st, sqlite3_bind_int64(s->stmt, idx, v));
}

static int sq_bind_text(struct store_stmt *s, int idx, const char *v)
{
	return map_rc(s->head.st, sqlite3_bind_text(s->stmt, idx, v, -1, SQLITE_TRANSIENT));
}

static int sq_bind_null(struct store_stmt *s, int idx)
{
	return map_rc(s->head.st, sqlite3_bind_null(s->stmt, idx));
}

static int sq_step(struct store_stmt *s)
{
	return map_rc(s->head.st, sqlite3_step(s->stmt));
}

static bool sq_col_null(struct store_stmt *s, int col)
{
	return sqlite3_column_type(s->stmt, col) == SQLITE_NULL;
}

static int64_t sq_col_int(struct store_stmt *s, int col)
{
	return sqlite3_column_int64(s->stmt, col);
}

static const char *sq_col_text(struct store_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s->stmt, col);

	return t ? (const char *)t : "";
}

static int64_t sq_changes(struct store *st)
{
	return sqlite3_changes(st->db);
}

static void sq_finalize(struct store_stmt *s)
{
	if (s->cached) {
		sqlite3_reset(s->stmt);
		sqlite3_clear_bindings(s->stmt);
		s->in_use = false;
		return;
	}
	sqlite3_finalize(s->stmt);
	free(s);
}

static const char *sq_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

int store_schema_version(struct store *st)
{
	int v = -1;

	if (((struct store_head *)st)->be != &store_sqlite_backend)
		return -1;
	user_version(st, &v);
	return v;
}

const struct store_backend store_sqlite_backend = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec_script = sq_exec_script,
	.prepare = sq_prepare,
	.bind_int = sq_bind_int,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_null = sq_col_null,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.changes = sq_changes,
	.finalize = sq_finalize,
	.errmsg = sq_errmsg,
};
