/* The SQLite schema, as an ordered list of migrations. */
#ifndef MG_SCHEMA_SQLITE_H
#define MG_SCHEMA_SQLITE_H

extern const char *const sqlite_migrations[];
extern const unsigned sqlite_n_migrations;

#endif
