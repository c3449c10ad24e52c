/*
 * meshgatectl: the config file ({"server", "token"} saved by login), the
 * server URL and the credential in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define MAX_TOKEN_LEN 4096

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

static int config_load(struct ctl *c)
{
	json_error_t jerr;
	struct stat st;
	json_t *root;
	FILE *f;
	int fd;

	fd = open(c->config_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		errorx("%s: %s", c->config_path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errorx("%s: not a regular file", c->config_path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077)
		errorx("warning: %s is accessible by other users (chmod 600 it)", c->config_path);
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root || !json_is_object(root)) {
		errorx("warning: ignoring %s: %s", c->config_path,
		       root ? "not a JSON object" : jerr.text);
		json_decref(root);
		return 0;
	}
	c->config = root;
	return 0;
}

int ctl_init(struct ctl *c)
{
	const char *env = getenv("MESHGATE_CONFIG");
	const char *home;

	if (env && *env) {
		c->config_path = strdup(env);
	} else {
		home = home_dir();
		if (!home) {
			errorx("cannot find the home directory: set $HOME or $MESHGATE_CONFIG");
			return -ENOENT;
		}
		c->config_path = xasprintf("%s/.config/meshgate/ctl.json", home);
	}
	if (!c->config_path)
		return -ENOMEM;
	return config_load(c);
}

void ctl_free(struct ctl *c)
{
	json_t *tok = c->config ? json_object_get(c->config, "token") : NULL;

	if (json_is_string(tok))
		json_wipe_string(c->config, "token");
	json_decref(c->config);
	free(c->config_path);
	free(c->server);
	secret_free(c->token);
	memset(c, 0, sizeof(*c));
}

static const char *config_string(struct ctl *c, const char *key)
{
	json_t *v = c->config ? json_object_get(c->config, key) : NULL;

	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/* A base URL: http(s)://..., printable, without trailing slashes. */
static char *normalize_url(const char *url)
{
	size_t len;
	char *s;

	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return NULL;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f)
			return NULL;
	s = strdup(url);
	if (!s)
		return NULL;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		s[--len] = '\0';
	if (strchr(s, '?') || strchr(s, '#') || !strcasecmp(s, "http:") || !strcasecmp(s, "https:")) {
		free(s);
		return NULL;
	}
	return s;
}

const char *ctl_server(struct ctl *c)
{
	const char *url, *from, *env = getenv("MESHGATE_SERVER");
	char *esc;

	if (c->server)
		return c->server;
	if (c->server_arg) {
		url = c->server_arg;
		from = "--server";
	} else if (env && *env) {
		url = env;
		from = "$MESHGATE_SERVER";
	} else if ((url = config_string(c, "server"))) {
		from = c->config_path;
	} else {
		url = DEFAULT_SERVER;
		from = "the default";
	}
	c->server = normalize_url(url);
	if (!c->server) {
		esc = escape_str(url);
		errorx("invalid server URL '%s' from %s (want http://HOST[:PORT] or https://...)",
		       esc ? esc : "?", from);
		free(esc);
	}
	return c->server;
}

static int token_valid(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > MAX_TOKEN_LEN)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

int ctl_require_token(struct ctl *c)
{
	const char *env = getenv("MESHGATE_TOKEN"), *saved, *server, *from;
	int ret;

	if (c->token)
		return 0;
	if (env && *env) {
		c->token = strdup(env);
		if (!c->token)
			return -ENOMEM;
		c->cred = CRED_ENV;
		from = "$MESHGATE_TOKEN";
	} else if (c->token_file) {
		ret = secret_read_file(c->token_file, &c->token);
		if (ret < 0)
			return ret;
		c->cred = CRED_FILE;
		from = c->token_file;
	} else {
		server = ctl_server(c);
		if (!server)
			return -EINVAL;
		saved = config_string(c, "token");
		/* A saved session only goes to the server it came from. */
		if (!saved || !config_string(c, "server") ||
		    strcmp(config_string(c, "server"), server)) {
			errorx("not logged in to %s: run '" PROG " login USERNAME' or set $MESHGATE_TOKEN",
			       server);
			return -ENOENT;
		}
		c->token = strdup(saved);
		if (!c->token)
			return -ENOMEM;
		c->cred = CRED_CONFIG;
		from = c->config_path;
	}
	if (!token_valid(c->token)) {
		errorx("invalid token in %s", from);
		secret_free(c->token);
		c->token = NULL;
		c->cred = CRED_NONE;
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p of the parent directories of path; new ones get mode 0700. */
static int make_parents(const char *path)
{
	char *dir = strdup(path), *p;
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			ret = -errno;
			errorx("cannot create %s: %s", dir, strerror(errno));
			goto out;
		}
		*p = '/';
	}
out:
	free(dir);
	return ret;
}

/* Writes obj to the config file atomically (temp file 0600 + rename). */
static int config_write(struct ctl *c, json_t *obj)
{
	char *tmp = NULL, *text = NULL;
	size_t len, off = 0;
	int fd = -1, ret;

	ret = make_parents(c->config_path);
	if (ret < 0)
		return ret;
	text = json_dumps(obj, JSON_INDENT(2));
	tmp = xasprintf("%s.XXXXXX", c->config_path);
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errorx("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) < 0)
		goto err;
	len = strlen(text);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto err;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		goto err;
	if (close(fd) < 0) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (rename(tmp, c->config_path) < 0)
		goto err;
	ret = 0;
	goto out;
err:
	ret = -errno;
	errorx("cannot write %s: %s", c->config_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	if (text)
		secret_free(text);
	free(tmp);
	return ret;
}

int config_save(struct ctl *c, const char *server, const char *token)
{
	json_t *obj = json_pack("{s:s, s:s}", "server", server, "token", token);
	int ret;

	if (!obj)
		return -ENOMEM;
	ret = config_write(c, obj);
	json_wipe_string(obj, "token");
	json_decref(obj);
	return ret;
}

int config_forget_token(struct ctl *c)
{
	json_t *obj;
	int ret;

	if (!c->config || !json_object_get(c->config, "token"))
		return 0;
	obj = json_deep_copy(c->config);
	if (!obj)
		return -ENOMEM;
	if (json_is_string(json_object_get(obj, "token")))
		json_wipe_string(obj, "token");
	json_object_del(obj, "token");
	ret = config_write(c, obj);
	json_decref(obj);
	return ret;
}
