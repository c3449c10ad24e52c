/*
 * DNS names of the mesh. Every node is NAME.NETWORK (its host's name), every
 * ext client CLIENT.NETWORK, and admins add custom entries (GET/POST
 * /networks/{name}/dns, DELETE /networks/{name}/dns/{id}).
 *
 * With --dns-dir DIR the server keeps DIR/NETWORK.hosts in /etc/hosts format
 * for dnsmasq (--hostsdir=DIR, which notices changed files by itself; with
 * --dnsmasq-pidfile it also gets SIGHUP). A change collects the files of the
 * networks its change set touched while still inside the transaction, and
 * writes them after the commit under publish_mu, so files follow commit
 * order. Each file is replaced atomically (temp file in the same directory,
 * fsync, rename) and only when its content changed; building one costs
 * O(nodes + ext clients + entries) of that network.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "handlers.h"
#include "log.h"
#include "names.h"

#define HOSTS_SUFFIX ".hosts"
#define HOSTS_MAX (64 * 1024 * 1024)	/* an existing file larger than this is simply rewritten */

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* "10.0.0.1/24" -> "10.0.0.1" */
static void bare_addr(char *out, size_t len, const char *addr)
{
	size_t n = strcspn(addr, "/");

	snprintf(out, len, "%.*s", (int)n, addr);
}

int dns_name_taken(struct store *st, int64_t network_id, const char *name, int64_t skip_host, int64_t skip_client,
		   bool *taken)
{
	char low[256];
	int64_t dummy;

	snprintf(low, sizeof(low), "%s", name);
	lower(low);
	return store_get_int(st, &dummy, taken,
			     "SELECT 1 FROM nodes n JOIN hosts h ON h.id = n.host_id"
			     " WHERE n.network_id = ? AND lower(h.name) = ? AND h.id != ?"
			     " UNION ALL SELECT 1 FROM ext_clients WHERE network_id = ? AND lower(name) = ? AND id != ?"
			     " UNION ALL SELECT 1 FROM dns_entries WHERE network_id = ? AND name = ? LIMIT 1",
			     "itiitiit", network_id, low, skip_host, network_id, low, skip_client, network_id, low);
}

int dns_host_name_taken(struct store *st, int64_t host_id, const char *name, bool *taken)
{
	char low[256];
	int64_t dummy;

	snprintf(low, sizeof(low), "%s", name);
	lower(low);
	return store_get_int(st, &dummy, taken,
			     "SELECT 1 FROM nodes n JOIN ext_clients c ON c.network_id = n.network_id"
			     " WHERE n.host_id = ? AND lower(c.name) = ?"
			     " UNION ALL SELECT 1 FROM nodes n JOIN dns_entries e ON e.network_id = n.network_id"
			     " WHERE n.host_id = ? AND e.name = ? LIMIT 1", "itit", host_id, low, host_id, low);
}

/* ---- hosts files ------------------------------------------------------- */

static void add_line(FILE *f, const char *addr, const char *name, const char *network)
{
	char ip[MG_PREFIX_STRLEN], low[256];

	if (!addr || !addr[0])
		return;
	bare_addr(ip, sizeof(ip), addr);
	snprintf(low, sizeof(low), "%s", name);
	lower(low);
	fprintf(f, "%s %s.%s\n", ip, low, network);
}

/* The hosts file of one network: nodes, then ext clients, then custom entries. Inside the lock. */
static int hosts_text(struct store *st, int64_t net, const char *network, char **out)
{
	struct store_stmt *s;
	size_t len = 0;
	FILE *f;
	int ret;

	*out = NULL;
	f = open_memstream(out, &len);
	if (!f)
		return STORE_ERR;
	fprintf(f, "# meshgate: the names of network %s (written by meshgated; do not edit)\n", network);
	ret = store_query(st, &s, "SELECT h.name, n.address, n.address6, 0, n.id FROM nodes n"
			  " JOIN hosts h ON h.id = n.host_id WHERE n.network_id = ?"
			  " UNION ALL SELECT name, address, address6, 1, id FROM ext_clients WHERE network_id = ?"
			  " UNION ALL SELECT name, address, NULL, 2, id FROM dns_entries WHERE network_id = ?"
			  " ORDER BY 4, 5", "iii", net, net, net);
	if (ret == STORE_OK) {
		while ((ret = store_step(s)) == STORE_ROW) {
			add_line(f, store_col_text(s, 1), store_col_text(s, 0), network);
			add_line(f, store_col_text(s, 2), store_col_text(s, 0), network);
		}
		store_finalize(s);
	}
	if (fclose(f) != 0 && ret >= 0)
		ret = STORE_ERR;
	if (ret < 0) {
		free(*out);
		*out = NULL;
		return ret;
	}
	return STORE_OK;
}

static int pending_add(struct dns_pending *p, const char *network, char *text)
{
	struct dns_file *grown = realloc(p->files, (p->n + 1) * sizeof(*p->files));

	if (!grown) {
		free(text);
		return STORE_ERR;
	}
	p->files = grown;
	snprintf(p->files[p->n].network, sizeof(p->files[p->n].network), "%s", network);
	p->files[p->n].text = text;
	p->n++;
	return STORE_OK;
}

void dns_pending_free(struct dns_pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->files[i].text);
	free(p->files);
	p->files = NULL;
	p->n = 0;
}

static int collect(struct server *srv, struct dns_pending *p, int64_t net, const char *network)
{
	char *text;
	int ret;

	ret = hosts_text(srv->st, net, network, &text);
	return ret == STORE_OK ? pending_add(p, network, text) : ret;
}

int dns_collect_network(struct server *srv, struct dns_pending *p, const char *network, bool removed)
{
	int64_t net = 0;
	bool found = false;
	int ret;

	if (!srv->dns_dir[0])
		return STORE_OK;
	if (removed)
		return pending_add(p, network, NULL);
	ret = store_get_int(srv->st, &net, &found, "SELECT id FROM networks WHERE name = ?", "t", network);
	if (ret != STORE_OK || !found)
		return ret;
	return collect(srv, p, net, network);
}

int dns_collect_changes(struct changeset *cs)
{
	struct server *srv = cs->srv;
	struct store_stmt *s;
	int ret;

	if (!srv->dns_dir[0] || !cs->id)
		return STORE_OK;
	ret = store_query(srv->st, &s, "SELECT n.id, n.name FROM change_networks cn JOIN networks n"
			  " ON n.id = cn.network_id WHERE cn.change_id = ? ORDER BY n.id", "i", cs->id);
	if (ret != STORE_OK)
		return ret;
	while ((ret = store_step(s)) == STORE_ROW) {
		ret = collect(srv, &cs->dns, store_col_int(s, 0), store_col_text(s, 1));
		if (ret != STORE_OK)
			break;
	}
	store_finalize(s);
	return ret < 0 ? ret : STORE_OK;
}

/* Whether the file at path holds exactly text. */
static bool same_content(const char *path, const char *text)
{
	size_t len = strlen(text), got = 0;
	bool same = false;
	struct stat sb;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len && len < HOSTS_MAX &&
	    (buf = malloc(len + 1))) {
		while (got < len && (n = read(fd, buf + got, len - got)) > 0)
			got += (size_t)n;
		same = got == len && memcmp(buf, text, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

/* Replace dir/NETWORK.hosts atomically. Returns 0, 1 when unchanged, or -errno. */
static int write_hosts(const char *dir, const char *network, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text), done = 0;
	ssize_t n;
	int fd, ret = 0;

	if (snprintf(path, sizeof(path), "%s/%s" HOSTS_SUFFIX, dir, network) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s" HOSTS_SUFFIX ".tmp", dir, network) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (same_content(path, text))
		return 1;
	/* A dot file: dnsmasq's --hostsdir ignores it until it is renamed into place. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	/* dnsmasq reads it after dropping privileges; names are not secret. */
	if (fchmod(fd, 0644) < 0)
		ret = -errno;
	while (ret == 0 && done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* SIGHUP to the pid in the pid file: dnsmasq re-reads its hosts files. */
static void signal_dnsmasq(const char *pidfile)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("dns: cannot open %s", pidfile);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		log_warnx("dns: %s is empty", pidfile);
		return;
	}
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || pid <= 1 || pid > 0x3fffffff) {
		log_warnx("dns: %s does not hold a pid", pidfile);
		return;
	}
	if (kill((pid_t)pid, SIGHUP) < 0)
		log_warn("dns: cannot signal dnsmasq (pid %ld)", pid);
}

void dns_write(struct server *srv, struct dns_pending *p)
{
	char path[PATH_MAX + 64];
	bool changed = false;
	int ret;

	if (!srv->dns_dir[0])
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->files[i].text) {
			snprintf(path, sizeof(path), "%s/%s" HOSTS_SUFFIX, srv->dns_dir, p->files[i].network);
			if (unlink(path) == 0)
				changed = true;
			else if (errno != ENOENT)
				log_warn("dns: cannot remove %s", path);
			continue;
		}
		ret = write_hosts(srv->dns_dir, p->files[i].network, p->files[i].text);
		if (ret < 0) {
			errno = -ret;
			log_warn("dns: cannot write the hosts file of network '%s' in %s", p->files[i].network,
				 srv->dns_dir);
		} else if (ret == 0) {
			changed = true;
			log_debug("dns: wrote %s/%s" HOSTS_SUFFIX, srv->dns_dir, p->files[i].network);
		}
	}
	if (changed) {
		fsync_dir(srv->dns_dir);
		if (srv->dns_pidfile[0])
			signal_dnsmasq(srv->dns_pidfile);
	}
}

int dns_finish(struct server *srv, struct dns_pending *p, int ret)
{
	pthread_mutex_lock(&srv->publish_mu);
	ret = store_finish(srv->st, ret);
	if (ret == STORE_OK)
		dns_write(srv, p);
	pthread_mutex_unlock(&srv->publish_mu);
	dns_pending_free(p);
	return ret;
}

/* Whether name is "NETWORK.hosts" of a network not in p. */
static bool stale_file(const char *name, const struct dns_pending *p)
{
	size_t n = strlen(name), sl = strlen(HOSTS_SUFFIX);
	char network[40];

	if (n <= sl || n - sl >= sizeof(network) || strcmp(name + n - sl, HOSTS_SUFFIX))
		return false;
	snprintf(network, sizeof(network), "%.*s", (int)(n - sl), name);
	if (mg_check_network_name(network))
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->files[i].network, network))
			return false;
	return true;
}

int dns_start(struct server *srv)
{
	struct dns_pending p = { 0 };
	struct store_stmt *s;
	struct dirent *de;
	bool removed = false;
	DIR *d;
	int ret;

	if (!srv->dns_dir[0])
		return 0;
	if (mkdir(srv->dns_dir, 0755) == 0) {
		/* Past the umask: dnsmasq, unprivileged, reads the files. */
		chmod(srv->dns_dir, 0755);
	} else if (errno != EEXIST) {
		log_warn("dns: mkdir %s", srv->dns_dir);
		return -1;
	}
	store_lock(srv->st);
	ret = store_query(srv->st, &s, "SELECT id, name FROM networks ORDER BY id", NULL);
	if (ret == STORE_OK) {
		while ((ret = store_step(s)) == STORE_ROW)
			if ((ret = collect(srv, &p, store_col_int(s, 0), store_col_text(s, 1))) != STORE_OK)
				break;
		store_finalize(s);
	}
	store_unlock(srv->st);
	if (ret < 0) {
		dns_pending_free(&p);
		return -1;
	}
	d = opendir(srv->dns_dir);
	if (d) {
		while ((de = readdir(d)))
			if (stale_file(de->d_name, &p) && unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed = true;
		closedir(d);
	}
	pthread_mutex_lock(&srv->publish_mu);
	dns_write(srv, &p);
	pthread_mutex_unlock(&srv->publish_mu);
	if (removed && srv->dns_pidfile[0])
		signal_dnsmasq(srv->dns_pidfile);
	log_info("dns: hosts files of %zu network(s) in %s", p.n, srv->dns_dir);
	dns_pending_free(&p);
	return 0;
}

/* ---- API: custom entries (admin) --------------------------------------- */

#define ENTRY_COLS "e.id, n.name, e.name, e.address, e.created_at"

static json_t *entry_json(struct store *st, struct store_stmt *s)
{
	char fqdn[300];

	(void)st;
	snprintf(fqdn, sizeof(fqdn), "%s.%s", store_col_text(s, 2), store_col_text(s, 1));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)store_col_int(s, 0),
			 "network", store_col_text(s, 1), "name", store_col_text(s, 2), "fqdn", fqdn,
			 "address", store_col_text(s, 3), "created_at", (json_int_t)store_col_int(s, 4));
}

static int network_id(struct store *st, const char *name, int64_t *id, bool *found)
{
	return store_get_int(st, id, found, "SELECT id FROM networks WHERE name = ?", "t", name);
}

void handle_dns_list(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t net = 0;
	bool found = false;
	int ret;

	store_lock(st);
	ret = network_id(st, req->params[0], &net, &found);
	store_unlock(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "DNS entries");
		return;
	}
	if (!found) {
		reply_error(req, 404, "network not found");
		return;
	}
	reply_rows(req, entry_json, "DNS entries", "SELECT " ENTRY_COLS " FROM dns_entries e"
		   " JOIN networks n ON n.id = e.network_id WHERE e.network_id = ? ORDER BY e.id", "i", net);
}

/* The network (and its file) heard of the change: its revision goes up, no host is affected. */
static int entry_changeset(struct request *req, struct changeset *cs, const char *action, int64_t net)
{
	int ret;

	ret = changeset_begin(cs, req->srv, action, req->params[0], 0);
	if (ret == STORE_OK)
		ret = store_exec(req->srv->st, "INSERT INTO change_networks (change_id, network_id, network_revision)"
				 " VALUES (?, ?, 0) ON CONFLICT DO NOTHING", "ii", cs->id, net);
	if (ret == STORE_OK)
		ret = changeset_apply(cs);
	return ret;
}

/*
 * NAME relative to the network ("db", "pg.db"); a name that already ends
 * in ".NETWORK" is taken as fully qualified. Lower case into out; replies
 * 400 and returns false when invalid.
 */
static bool entry_name(struct request *req, const char *name, char *out, size_t len)
{
	const char *network = req->params[0], *msg;
	size_t n = strlen(name), nl = strlen(network);

	if ((msg = mg_check_dns_name(name))) {
		reply_error(req, 400, "name: %s", msg);
		return false;
	}
	snprintf(out, len, "%s", name);
	lower(out);
	if (n > nl + 1 && out[n - nl - 1] == '.' && !strcmp(out + n - nl, network))
		out[n - nl - 1] = '\0';
	if (strlen(out) + 1 + nl > 253) {
		reply_error(req, 400, "name: NAME.%s must be at most 253 characters", network);
		return false;
	}
	return true;
}

void handle_dns_create(struct request *req)
{
	struct store *st = req->srv->st;
	const char *name = NULL, *address = NULL;
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &name },
		{ .name = "address", .type = MG_JSON_STRING, .required = true, .out = &address },
		{ 0 }
	};
	struct changeset cs = { .srv = req->srv };
	char rel[256], ip[MG_IP_STRLEN];
	json_t *body, *entry = NULL;
	int64_t net = 0, id = 0;
	bool found = false, taken = false;
	struct mg_ip addr;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (!entry_name(req, name, rel, sizeof(rel)))
		goto out;
	if (mg_ip_parse(address, &addr) < 0 || mg_ip_format(&addr, ip, sizeof(ip)) < 0) {
		reply_error(req, 400, "address must be an IPv4 or IPv6 address");
		goto out;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "DNS entry");
		goto out;
	}
	ret = network_id(st, req->params[0], &net, &found);
	if (ret == STORE_OK && found)
		ret = dns_name_taken(st, net, rel, 0, 0, &taken);
	if (ret != STORE_OK || !found || taken) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "DNS entry");
		else if (!found)
			reply_error(req, 404, "network not found");
		else
			reply_error(req, 409, "the name '%s.%s' is already in use", rel, req->params[0]);
		goto out;
	}
	ret = store_get_int(st, &id, NULL, "INSERT INTO dns_entries (network_id, name, address, created_at)"
			    " VALUES (?, ?, ?, ?) RETURNING id", "itti", net, rel, ip, now_unix());
	if (ret == STORE_OK)
		ret = entry_changeset(req, &cs, "dns.create", net);
	if (ret == STORE_OK)
		ret = audit(req, "dns.create", req->params[0], "id=%lld name=%s.%s address=%s", (long long)id, rel,
			    req->params[0], ip);
	if (ret == STORE_OK)
		entry = row_json_by_id(st, entry_json, "SELECT " ENTRY_COLS " FROM dns_entries e"
				       " JOIN networks n ON n.id = e.network_id WHERE e.id = ?", id);
	if (ret == STORE_OK && !entry)
		ret = STORE_ERR;	/* as before: a failed read-back rolls the entry back */
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK || !entry) {
		json_decref(entry);
		reply_store_error(req, ret, "DNS entry");
		goto out;
	}
	reply_json(req, 201, entry);
out:
	json_decref(body);
}

void handle_dns_delete(struct request *req)
{
	struct store *st = req->srv->st;
	struct changeset cs = { .srv = req->srv };
	int64_t net = 0, id, dummy;
	bool found = false;
	int ret;

	if (!request_id_param(req, 1, &id))
		return;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "DNS entry");
		return;
	}
	ret = network_id(st, req->params[0], &net, &found);
	if (ret == STORE_OK && found)
		ret = store_get_int(st, &dummy, &found, "SELECT id FROM dns_entries WHERE id = ? AND network_id = ?",
				    "ii", id, net);
	if (ret != STORE_OK || !found) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "DNS entry");
		else
			reply_error(req, 404, "DNS entry not found");
		return;
	}
	ret = store_exec(st, "DELETE FROM dns_entries WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = entry_changeset(req, &cs, "dns.delete", net);
	if (ret == STORE_OK)
		ret = audit(req, "dns.delete", req->params[0], "id=%lld", (long long)id);
	ret = changeset_commit(&cs, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "DNS entry");
	else
		reply_empty(req, 204);
}

/* ---- the network's DNS server node -------------------------------------- */

/*
 * One node per network may be its DNS server (nodes.dns_server, a unique
 * partial index): it runs dnsmasq on its mesh address and serves the
 * network's hosts file. Ext clients without DNS servers of their own get
 * that address in their .conf (rendered at download, so a later change
 * reaches every client's next download), and every host of the network gets
 * it in its CONFIG ("dns" of each network, see dns_host_config).
 */

/* The DNS server of each network of cfg as net.dns = {"server", "domain", "serve"}. Inside the lock. */
int dns_host_config(struct store *st, int64_t host_id, json_t *cfg)
{
	json_t *net;
	size_t i;

	json_array_foreach(json_object_get(cfg, "networks"), i, net) {
		const char *name = json_string_value(json_object_get(net, "name"));
		struct store_stmt *s;
		int ret;

		if (!name)
			continue;
		ret = store_query(st, &s, "SELECT d.address, d.host_id FROM nodes d JOIN networks nw"
				  " ON nw.id = d.network_id WHERE nw.name = ? AND d.dns_server = 1", "t", name);
		if (ret != STORE_OK)
			return ret;
		if (store_step(s) == STORE_ROW)
			json_object_set_new(net, "dns", json_pack("{s:s, s:s, s:b}", "server", store_col_text(s, 0),
								  "domain", name, "serve",
								  store_col_int(s, 1) == host_id));
		store_finalize(s);
	}
	return STORE_OK;
}

int dns_server_host(struct store *st, int64_t host_id, bool *serves)
{
	int64_t n = 0;
	int ret;

	ret = store_get_int(st, &n, NULL, "SELECT COUNT(*) FROM nodes WHERE host_id = ? AND dns_server = 1", "i",
			    host_id);
	*serves = *serves || n > 0;
	return ret;
}

/* PUT (on = true) or DELETE .../nodes/{host}/dns. */
static void node_dns_set(struct request *req, bool on)
{
	struct store *st = req->srv->st;
	const char *action = on ? "node.dns" : "node.dns_remove";
	struct node_ref n;
	int64_t before = 0;
	char detail[48] = "";
	int ret;

	if (!begin_on_node(req, &n))
		return;
	ret = store_get_int(st, &before, NULL, "SELECT host_id FROM nodes WHERE network_id = ? AND dns_server = 1",
			    "i", n.network_id);
	/* A PUT moves the role: the network's previous DNS server node (if another) stops being it. */
	if (ret == STORE_OK && on)
		ret = store_exec(st, "UPDATE nodes SET dns_server = 0 WHERE network_id = ? AND dns_server = 1"
				 " AND id != ?", "ii", n.network_id, n.node_id);
	if (ret == STORE_OK)
		ret = store_exec(st, "UPDATE nodes SET dns_server = ? WHERE id = ?", "ii", (int64_t)on, n.node_id);
	/* Every host of the network gets its whole configuration: its "dns" section changed. */
	if (before && before != n.host_id)
		snprintf(detail, sizeof(detail), " previous=%lld", (long long)before);
	node_change_finish(req, n.network_id, n.host_id, true, action, detail, ret);
}

void handle_node_dns_put(struct request *req)
{
	node_dns_set(req, true);
}

void handle_node_dns_delete(struct request *req)
{
	node_dns_set(req, false);
}
