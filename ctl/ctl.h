/*
 * meshgatectl: the admin CLI over the meshgate REST API (docs/API.md).
 * Shared state and helpers of the ctl/ sources.
 */
#ifndef MG_CTL_H
#define MG_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PROG "meshgatectl"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define DEFAULT_SERVER "http://127.0.0.1:8080"

/* Where the token in use came from. */
enum cred_source { CRED_NONE, CRED_ENV, CRED_FILE, CRED_CONFIG };

struct column;

struct ctl {
	bool json;			/* --json: print the API's JSON as is */
	const char *server_arg;		/* --server (borrowed from argv) */
	const char *token_file;		/* --token-file (borrowed) */
	const char *setup_token_file;	/* --setup-token-file (borrowed) */

	char *config_path;		/* resolved config file path (owned) */
	json_t *config;			/* loaded config object or NULL (owned) */
	char *server;			/* resolved base URL, no trailing '/' (owned) */
	char *token;			/* credential or NULL (owned, wiped on free) */
	enum cred_source cred;
};

/* main.c */
void usage_cmd(FILE *f, const char *cmd);
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* args.c: option parsing over argv, each returns 1 when it consumed an option. */
struct args {
	int argc;
	char **argv;
	int i;			/* next argument to look at */
	const char *cmd;	/* for usage messages, e.g. "network" */
	bool bad;		/* a usage error was already reported */
};
void args_init(struct args *a, const char *cmd, int argc, char **argv, int start);
/* The next argument or NULL at the end. Does not consume it. */
const char *args_peek(const struct args *a);
/* Consumes and returns the next positional argument, or NULL (error reported). */
const char *args_positional(struct args *a, const char *what);
/* Matches "--name VALUE" or "--name=VALUE"; *val set. */
int args_opt(struct args *a, const char *name, const char **val);
/* Matches the flag "--name". */
int args_flag(struct args *a, const char *name);
/* Matches --json, --server, --token-file anywhere after the command. */
int args_global(struct args *a, struct ctl *c);
/* Reports an unexpected argument. Always returns EXIT_USAGE. */
int args_unexpected(struct args *a);
/* Parses a whole-string decimal integer in [min, max]; reports a usage error. */
int parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
	      long long *out);
/* Checks s against a list of choices (NULL-terminated); reports a usage error. */
int parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices);

/*
 * Request body fields from options. Each returns 1 when it matched (field
 * set), 0 when the option is not this one, -1 after reporting a usage error.
 */
int args_str_field(struct args *a, const char *opt, json_t *body, const char *key);
int args_int_field(struct args *a, const char *opt, long long min, long long max, json_t *body,
		   const char *key);
int args_choice_field(struct args *a, const char *opt, const char *const *choices, json_t *body,
		      const char *key);
/* body[key] = val (a string from argv): 0, or -1 after a usage error (not UTF-8). */
int body_set_str(struct args *a, json_t *body, const char *key, const char *val);
/* Appends val to the array body[key] (created when missing): 0 or -1. */
int body_append_str(struct args *a, json_t *body, const char *key, const char *val);

/* common.c: whole requests. Each returns an exit code. */
int run_get(struct ctl *c, const char *path, const struct column *cols);
int run_send(struct ctl *c, const char *method, const char *path, json_t *body,
	     const struct column *cols);
/* DELETE; in human mode prints "Deleted <what>." */
int run_delete(struct ctl *c, const char *path, const char *what, const char *name);
/* The subcommand word, or NULL after a usage error. */
const char *args_subcommand(struct args *a, const char *const *subs);
/* An argument count check after options: EXIT_OK or a usage error. */
int args_done(struct args *a, struct ctl *c);

/* config.c */
int ctl_init(struct ctl *c);		/* config path and file */
void ctl_free(struct ctl *c);
/* The base URL (resolved on first use); NULL after reporting an error. */
const char *ctl_server(struct ctl *c);
int ctl_require_token(struct ctl *c);	/* 0, or reports "not logged in" and returns -ENOENT */
int config_save(struct ctl *c, const char *server, const char *token);
/* Removes the token from the config file (keeps "server"). */
int config_forget_token(struct ctl *c);

/* secret.c */
/* Reads one secret: from the environment variable env (if set), else a line
 * of stdin (prompting without echo on a tty). Caller frees with secret_free. */
int secret_read(const char *env, const char *prompt, char **out);
/* Reads the first line of a file (whitespace trimmed). */
int secret_read_file(const char *path, char **out);
void secret_free(char *s);
/* Wipes the string value of obj[key] before the object is freed. */
void json_wipe_string(json_t *obj, const char *key);

/* http.c */
/*
 * Calls the API. path starts with "/api/v1/". body (may be NULL) is
 * borrowed. On success (2xx) returns 0 and sets *out to the parsed response
 * (NULL for an empty body), caller decrefs. On an API error prints
 * "meshgatectl: <error> (HTTP <code>)" and returns -EPROTO (status in
 * *status if given); on a transport error prints it and returns -EIO.
 */
int api_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
	     long *status);
/*
 * GET of a non-JSON download. type is the media type expected on success
 * ("text/plain", "image/png"); another type is an error. On success returns
 * 0 with the body in *data (NUL-terminated, *len bytes before the NUL),
 * freed with download_free (which wipes it). API and transport errors are
 * reported as for api_call.
 */
int api_download(struct ctl *c, const char *path, const char *type, unsigned char **data,
		 size_t *len);
void download_free(unsigned char *data, size_t len);
/* Percent-encodes one path segment or query value. Caller frees. */
char *url_escape(const char *s);
/* asprintf that exits on allocation failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path "/api/v1/<prefix>/<escaped seg>[<suffix>]". Caller frees. */
char *api_path(const char *prefix, const char *seg, const char *suffix);
/* Path "/api/v1/<prefix>/<escaped seg>/<sub>/<escaped item>[<suffix>]", e.g. a node or a rule of a network. */
char *api_item_path(const char *prefix, const char *seg, const char *sub, const char *item, const char *suffix);

/* output.c */
enum col_kind {
	COL_STR,	/* any scalar; null as "-" */
	COL_TIME,	/* unix seconds or string, shown as ISO-8601 UTC */
	COL_LIST,	/* array of scalars joined with ',' */
	COL_USES,	/* enrollment key: "unlimited" or uses_remaining */
	COL_EGRESS,	/* node egress: [{"range","nat","wins"}] as "CIDR[(nonat,wins)],..." */
	COL_SEL,	/* ACL selector {"kind","value"} as "any", "node:3", "tag:db" */
};
struct column {
	const char *header;
	const char *key;
	enum col_kind kind;
};
/* Prints an array of objects as an aligned table (columns end with header NULL). */
int print_table(FILE *f, json_t *arr, const struct column *cols);
/* Prints an object as "key: value" lines. */
int print_object(FILE *f, json_t *obj);
/* Pretty JSON document (for --json). */
int print_json(FILE *f, json_t *v);
/* Prints the response: --json as is, else table (array) or key/value (object). */
int print_result(struct ctl *c, json_t *v, const struct column *cols);
/* A create response with a one-time "token": one-row table, then the token
 * alone on the last line (--json: as is). Returns 0 or -1. */
int print_with_token(struct ctl *c, json_t *out, const struct column *cols);
/* Control characters escaped; caller frees. */
char *escape_str(const char *s);
/* ISO-8601 UTC ("2024-05-01T12:00:00Z") into buf; returns buf. */
const char *fmt_time(long long t, char *buf, size_t len);

/* Commands: argv[start] is the first argument after the command word. */
int cmd_setup(struct ctl *c, int argc, char **argv, int start);
int cmd_login(struct ctl *c, int argc, char **argv, int start);
int cmd_logout(struct ctl *c, int argc, char **argv, int start);
int cmd_whoami(struct ctl *c, int argc, char **argv, int start);
int cmd_passwd(struct ctl *c, int argc, char **argv, int start);
int cmd_network(struct ctl *c, int argc, char **argv, int start);
int cmd_key(struct ctl *c, int argc, char **argv, int start);
int cmd_host(struct ctl *c, int argc, char **argv, int start);
int cmd_node(struct ctl *c, int argc, char **argv, int start);
int cmd_user(struct ctl *c, int argc, char **argv, int start);
int cmd_token(struct ctl *c, int argc, char **argv, int start);
int cmd_audit(struct ctl *c, int argc, char **argv, int start);
int cmd_extclient(struct ctl *c, int argc, char **argv, int start);
int cmd_acl(struct ctl *c, int argc, char **argv, int start);
int cmd_dns(struct ctl *c, int argc, char **argv, int start);

/* The exit code for an api_call result. */
static inline int api_exit(int ret)
{
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

#endif
