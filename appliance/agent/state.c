/*
 * The state file DIR/state.json: what the agent needs to run without the
 * server. Mode 0600 in a 0700 directory; written to a temp file in the same
 * directory, fsync'ed, renamed over the old one, and the directory fsync'ed,
 * so a crash leaves either the old or the new file.
 *
 *   {"server", "host_id", "host_token", "private_key", "interface",
 *    "broker": BROKER | null, "revision", "config": CONFIG}
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "wg/wg.h"

#define STATE_FILE "state.json"
#define STATE_TMP_PREFIX ".state.json."
#define STATE_MAX (16u << 20)

static void free_secret(char *s)
{
	if (s) {
		mg_wipe(s, strlen(s));
		free(s);
	}
}

void broker_creds_clear(struct broker_creds *b)
{
	free(b->url);
	free(b->username);
	free_secret(b->password);
	free(b->topic);
	memset(b, 0, sizeof(*b));
}

void state_clear(struct agent_state *st)
{
	free(st->server);
	free_secret(st->host_token);
	broker_creds_clear(&st->broker);
	json_decref(st->config);
	mg_wipe(st, sizeof(*st));
}

void state_set_config(struct agent_state *st, json_t *cfg)
{
	json_incref(cfg);
	json_decref(st->config);
	st->config = cfg;
	st->revision = config_revision(cfg);
}

static void wipe_json_string(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (json_is_string(v))
		mg_wipe((char *)json_string_value(v), json_string_length(v));
}

static char *dup_field(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	return s ? strdup(s) : NULL;
}

int broker_creds_from_json(json_t *obj, struct broker_creds *out)
{
	struct broker_creds b = { 0 };

	if (!json_is_object(obj))
		return -EINVAL;
	b.url = dup_field(obj, "url");
	b.username = dup_field(obj, "username");
	b.password = dup_field(obj, "password");
	b.topic = dup_field(obj, "topic");
	if (!b.url || !b.username || !b.password || !b.topic) {
		broker_creds_clear(&b);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

static int path_in(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool state_exists(const char *dir)
{
	char path[PATH_MAX];

	return path_in(path, sizeof(path), dir, STATE_FILE) == 0 && access(path, F_OK) == 0;
}

int state_dir_prepare(const char *dir, bool *created)
{
	struct stat sb;

	*created = false;
	if (mkdir(dir, 0700) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if ((sb.st_mode & 077) && chmod(dir, 0700) < 0)
		return -errno;
	return 0;
}

/* Reads the whole file (at most STATE_MAX bytes); refuses group/other access. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)STATE_MAX) {
		ret = -EINVAL;
		goto out;
	}
	if (sb.st_mode & 077) {
		ret = -EPERM;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (len < (size_t)sb.st_size) {
		n = read(fd, buf + len, (size_t)sb.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	ret = 0;
out:
	if (buf) {
		mg_wipe(buf, (size_t)sb.st_size);
		free(buf);
	}
	close(fd);
	return ret;
}

int state_load(const char *dir, struct agent_state *st)
{
	char path[PATH_MAX], *text = NULL;
	const char *s, *ifname;
	struct agent_state n = { 0 };
	json_error_t jerr;
	json_t *obj = NULL, *v;
	size_t len = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = path_in(path, sizeof(path), dir, STATE_FILE);
	if (ret < 0)
		return ret;
	ret = read_file(path, &text, &len);
	if (ret < 0)
		return ret;
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(obj)) {
		ret = -EBADMSG;
		goto out;
	}
	ret = -EBADMSG;
	n.server = dup_field(obj, "server");
	n.host_token = dup_field(obj, "host_token");
	v = json_object_get(obj, "host_id");
	if (!n.server || !n.host_token || !json_is_integer(v))
		goto out;
	n.host_id = json_integer_value(v);
	s = json_string_value(json_object_get(obj, "private_key"));
	if (!s || mg_key_from_base64(n.private_key, s) < 0)
		goto out;
	ifname = json_string_value(json_object_get(obj, "interface"));
	if (!ifname || !wg_ifname_valid(ifname))
		goto out;
	snprintf(n.ifname, sizeof(n.ifname), "%s", ifname);
	v = json_object_get(obj, "broker");
	if (json_is_object(v)) {
		if (broker_creds_from_json(v, &n.broker) < 0)
			goto out;
		n.has_broker = true;
	}
	v = json_object_get(obj, "config");
	if (!json_is_object(v) || config_check(v, NULL, 0) < 0)
		goto out;
	state_set_config(&n, v);
	v = json_object_get(obj, "revision");
	if (json_is_integer(v))
		n.revision = json_integer_value(v);
	/* Absent in state files of older agents: none. */
	v = json_object_get(obj, "resolver");
	if (v && resolver_mode_parse(json_string_value(v), &n.resolver) < 0)
		goto out;
	*st = n;
	memset(&n, 0, sizeof(n));
	ret = 0;
out:
	state_clear(&n);
	if (obj) {
		/* The parsed copy holds the secrets too. */
		wipe_json_string(obj, "host_token");
		wipe_json_string(obj, "private_key");
		wipe_json_string(json_object_get(obj, "broker"), "password");
		json_decref(obj);
	}
	mg_wipe(text, len);
	free(text);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static json_t *state_to_json(const struct agent_state *st)
{
	char key[MG_KEY_B64_LEN];
	json_t *obj, *broker = json_null();

	if (st->has_broker)
		broker = json_pack("{s:s, s:s, s:s, s:s}", "url", st->broker.url, "username", st->broker.username,
				   "password", st->broker.password, "topic", st->broker.topic);
	mg_key_to_base64(key, st->private_key);
	obj = json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:I, s:O}", "server", st->server,
			"host_id", (json_int_t)st->host_id, "host_token", st->host_token, "private_key", key,
			"interface", st->ifname, "broker", broker ? broker : json_null(),
			"revision", (json_int_t)st->revision, "config", st->config ? st->config : json_null());
	if (obj)
		json_object_set_new(obj, "resolver", json_string(resolver_mode_name(st->resolver)));
	mg_wipe(key, sizeof(key));
	return obj;
}

int state_save(const char *dir, const struct agent_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX], *text = NULL;
	json_t *obj;
	int fd = -1, dfd = -1, ret;

	ret = path_in(path, sizeof(path), dir, STATE_FILE);
	if (ret == 0)
		ret = path_in(tmp, sizeof(tmp), dir, STATE_TMP_PREFIX "XXXXXX");
	if (ret < 0)
		return ret;
	obj = state_to_json(st);
	if (!obj)
		return -ENOMEM;
	text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	wipe_json_string(obj, "host_token");
	wipe_json_string(obj, "private_key");
	wipe_json_string(json_object_get(obj, "broker"), "password");
	json_decref(obj);
	if (!text)
		return -ENOMEM;

	fd = mkostemp(tmp, O_CLOEXEC);	/* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || (ret = write_all(fd, text, strlen(text))) < 0 ||
	    (ret = write_all(fd, "\n", 1)) < 0 || fsync(fd) < 0) {
		ret = ret < 0 ? ret : -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		ret = -errno;
		goto out;
	}
	ret = 0;
	goto out;
fail:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	mg_wipe(text, strlen(text));
	free(text);
	return ret;
}

int state_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (path_in(path, sizeof(path), dir, STATE_FILE) < 0)
		return -ENAMETOOLONG;
	if (unlink(path) < 0 && errno != ENOENT)
		ret = -errno;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? ret : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, STATE_TMP_PREFIX, strlen(STATE_TMP_PREFIX)))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	}
	closedir(d);
	return ret;
}
