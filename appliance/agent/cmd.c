/*
 * The one-shot commands: join, leave, pull, uninstall.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "log.h"
#include "names.h"
#include "wg/wg.h"

#define TOKEN_MAX 4096

__attribute__((format(printf, 1, 2)))
static void errorx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", AGENT_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int agent_load(const struct agent_opts *o, struct agent_state *st)
{
	int ret = state_load(o->state_dir, st);

	if (ret == -ENOENT) {
		errorx("not joined: no state in %s", o->state_dir);
		return ret;
	}
	if (ret < 0) {
		errorx("cannot read the state in %s: %s", o->state_dir,
		       ret == -EBADMSG ? "malformed state file" :
		       ret == -EPERM ? "state file readable by others (must be 0600)" : strerror(-ret));
		return ret;
	}
	if (o->ifname_explicit && strcmp(o->ifname, st->ifname))
		snprintf(st->ifname, sizeof(st->ifname), "%s", o->ifname);
	return 0;
}

int agent_pull(const struct agent_opts *o, struct agent_state *st)
{
	struct api_error err;
	json_t *cfg = NULL;
	int ret, aret;

	ret = api_get_config(st, &cfg, &err);
	if (ret < 0) {
		log_warnx("cannot get the configuration: %s", err.msg);
		return ret;
	}
	if (json_integer_value(json_object_get(cfg, "host_id")) != st->host_id) {
		log_warnx("the server sent another host's configuration; ignored");
		json_decref(cfg);
		return -EBADMSG;
	}
	aret = apply_ensure_interface(st->ifname);
	if (aret >= 0)
		aret = apply_config(st, cfg, KEEPALIVE_HOLD_NONE, NULL);
	else
		log_warnx("%s: cannot create the interface: %s", st->ifname, strerror(-aret));
	/* Keep what the server wants even when the interface refused it: the next pass retries. */
	state_set_config(st, cfg);
	json_decref(cfg);
	ret = state_save(o->state_dir, st);
	if (ret < 0)
		log_warnx("cannot save the state in %s: %s", o->state_dir, strerror(-ret));
	return aret < 0 ? aret : ret;
}

/* Reads the token: "-" means the first line of stdin. */
static char *read_token(const char *arg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!arg)
		arg = getenv("MESHGATE_TOKEN");
	if (!arg || !*arg)
		return NULL;
	if (strcmp(arg, "-"))
		return strdup(arg);
	n = getline(&line, &cap, stdin);
	if (n <= 0 || n > TOKEN_MAX) {
		if (line)
			mg_wipe(line, cap);
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	return line;
}

static void print_summary(const struct agent_state *st, const char *name)
{
	json_t *cfg = st->config, *v;
	size_t i;

	printf("joined as '%s' (host %lld) at %s\n", name, (long long)st->host_id, st->server);
	printf("  interface %s (%s), listen port %lld\n", st->ifname, wg_backend_name(wg_backend_of(st->ifname)),
	       (long long)json_integer_value(json_object_get(cfg, "listen_port")));
	printf("  addresses:");
	json_array_foreach(json_object_get(cfg, "addresses"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n  networks:");
	json_array_foreach(json_object_get(cfg, "networks"), i, v)
		printf(" %s", json_string_value(json_object_get(v, "name")));
	printf("\n  peers: %zu, revision %lld\n", json_array_size(json_object_get(cfg, "peers")),
	       (long long)st->revision);
}

/* Fills st from a register response. */
static int take_registration(json_t *resp, struct agent_state *st, char *err, size_t errlen)
{
	json_t *host = json_object_get(resp, "host"), *cfg = json_object_get(resp, "config"), *b;
	const char *tok = json_string_value(json_object_get(resp, "host_token"));

	if (!json_is_integer(json_object_get(host, "id")) || !tok) {
		snprintf(err, errlen, "the server's response lacks the host id or token");
		return -EBADMSG;
	}
	if (config_check(cfg, err, errlen) < 0)
		return -EBADMSG;
	st->host_id = json_integer_value(json_object_get(host, "id"));
	st->host_token = strdup(tok);
	if (!st->host_token)
		return -ENOMEM;
	b = json_object_get(resp, "broker");
	if (json_is_object(b)) {
		if (broker_creds_from_json(b, &st->broker) < 0) {
			snprintf(err, errlen, "the server's broker credentials are malformed");
			return -EBADMSG;
		}
		st->has_broker = true;
	}
	state_set_config(st, cfg);
	return 0;
}

static void wipe_response(json_t *resp)
{
	json_t *v = json_object_get(resp, "host_token");

	if (json_is_string(v))
		mg_wipe((char *)json_string_value(v), json_string_length(v));
	v = json_object_get(json_object_get(resp, "broker"), "password");
	if (json_is_string(v))
		mg_wipe((char *)json_string_value(v), json_string_length(v));
}

int cmd_join(const struct agent_opts *o, int argc, char **argv)
{
	const char *token_arg = NULL, *name_arg = NULL, *endpoint = NULL, *port_arg = NULL, *resolver_arg = NULL;
	struct agent_state st = { 0 };
	char *token = NULL, *name = NULL, *server = NULL, pub_b64[MG_KEY_B64_LEN], err[256];
	bool created_dir = false, created_if = false, registered = false;
	struct api_error aerr;
	json_t *body = NULL, *resp = NULL;
	mg_key pub;
	long port = 0;
	size_t held = 0;
	int i, ret = EXIT_FAIL, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = !strcmp(a, "-t") || !strcmp(a, "--token") ? &token_arg :
				    !strcmp(a, "--name") ? &name_arg :
				    !strcmp(a, "--port") ? &port_arg :
				    !strcmp(a, "--endpoint") ? &endpoint :
				    !strcmp(a, "--resolver") ? &resolver_arg : NULL;

		if (!slot || i + 1 >= argc) {
			errorx(slot ? "%s needs a value" : "join: unknown argument '%s'", a);
			return EXIT_USAGE;
		}
		*slot = argv[++i];
	}
	if (port_arg) {
		char *end;

		port = strtol(port_arg, &end, 10);
		if (*end || port < 1 || port > 65535) {
			errorx("--port must be 1..65535");
			return EXIT_USAGE;
		}
	}
	if (endpoint && mg_check_endpoint(endpoint)) {
		errorx("--endpoint: %s", mg_check_endpoint(endpoint));
		return EXIT_USAGE;
	}
	if (resolver_arg && resolver_mode_parse(resolver_arg, &st.resolver) < 0) {
		errorx("--resolver must be none, auto or resolved");
		return EXIT_USAGE;
	}
	if (!wg_ifname_valid(o->ifname)) {
		errorx("invalid interface name '%s'", o->ifname);
		return EXIT_USAGE;
	}
	token = read_token(token_arg);
	if (token_arg && strcmp(token_arg, "-"))
		/* Out of /proc/PID/cmdline from now on. */
		memset((char *)token_arg, 'x', strlen(token_arg));
	if (!token) {
		errorx("join needs a token: -t TOKEN, -t - (stdin) or $MESHGATE_TOKEN");
		return EXIT_USAGE;
	}
	name = name_arg ? strdup(name_arg) : sys_hostname();
	if (!name || mg_check_host_name(name)) {
		errorx("invalid host name '%s'%s: %s", name ? name : "", name_arg ? "" : " (use --name)",
		       name ? mg_check_host_name(name) : "gethostname failed");
		goto out;
	}
	if (token_server(token, &server) < 0) {
		errorx("invalid token: it must be the token printed when the enrollment key was created");
		goto out;
	}
	if (state_exists(o->state_dir)) {
		errorx("already joined (%s/state.json exists); run 'meshgate leave' first", o->state_dir);
		goto out;
	}
	if (if_nametoindex(o->ifname)) {
		errorx("interface %s already exists; choose another with --interface", o->ifname);
		goto out;
	}

	mg_key_generate_private(st.private_key);
	mg_key_public_from_private(pub, st.private_key);
	mg_key_to_base64(pub_b64, pub);
	snprintf(st.ifname, sizeof(st.ifname), "%s", o->ifname);
	st.server = server;
	server = NULL;

	body = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "token", token, "public_key", pub_b64, "name", name,
			 "local_endpoints", sys_local_endpoints(NULL), "os", "linux", "version", AGENT_VERSION);
	if (!body) {
		errorx("out of memory");
		goto out;
	}
	if (port)
		json_object_set_new(body, "listen_port", json_integer(port));
	if (endpoint)
		json_object_set_new(body, "endpoint", json_string(endpoint));
	r = api_request(st.server, NULL, "POST", "/api/v1/hosts/register", body, &resp, &aerr);
	if (r < 0) {
		errorx("join failed: %s", aerr.msg);
		goto out;
	}
	registered = true;
	if (take_registration(resp, &st, err, sizeof(err)) < 0) {
		errorx("join failed: %s", err);
		goto undo;
	}

	r = state_dir_prepare(o->state_dir, &created_dir);
	if (r < 0) {
		errorx("cannot create %s: %s", o->state_dir, strerror(-r));
		goto undo;
	}
	r = apply_ensure_interface(st.ifname);
	if (r < 0) {
		errorx("cannot create interface %s: %s", st.ifname, strerror(-r));
		goto undo;
	}
	created_if = r == 0;
	r = apply_config(&st, st.config, KEEPALIVE_HOLD_NEW, &held);
	if (r < 0) {
		errorx("cannot configure interface %s: %s", st.ifname, strerror(-r));
		goto undo;
	}
	if (held) {
		/* The peers that were told about us at the same moment start their handshakes first. */
		poll(NULL, 0, KEEPALIVE_HOLD_MS);
		if ((r = apply_config(&st, st.config, KEEPALIVE_HOLD_NONE, NULL)) < 0)
			log_warnx("%s: cannot turn persistent keepalive on; the daemon retries: %s", st.ifname,
				  strerror(-r));
	}
	r = state_save(o->state_dir, &st);
	if (r < 0) {
		errorx("cannot save the state in %s: %s", o->state_dir, strerror(-r));
		goto undo;
	}
	print_summary(&st, name);
	ret = EXIT_OK;
	goto out;
undo:
	/* Leave nothing behind: the interface, the state, and the server's record of us. */
	if (created_if && (r = wg_del_interface(st.ifname)) < 0 && r != -ENODEV)
		errorx("cannot remove interface %s: %s", st.ifname, strerror(-r));
	state_remove(o->state_dir);
	if (created_dir)
		rmdir(o->state_dir);
	if (registered && st.host_token && api_leave(&st, &aerr) < 0)
		errorx("could not undo the registration on the server: %s", aerr.msg);
out:
	wipe_response(resp);
	json_decref(resp);
	if (body) {
		json_t *t = json_object_get(body, "token");

		mg_wipe((char *)json_string_value(t), json_string_length(t));
		json_decref(body);
	}
	if (token) {
		mg_wipe(token, strlen(token));
		free(token);
	}
	free(server);
	free(name);
	state_clear(&st);
	mg_wipe(pub_b64, sizeof(pub_b64));
	return ret;
}

int cmd_pull(const struct agent_opts *o, int argc, char **argv)
{
	struct agent_state st;
	int ret;

	if (argc > 1) {
		errorx("pull takes no arguments");
		return EXIT_USAGE;
	}
	if (agent_load(o, &st) < 0)
		return EXIT_FAIL;
	ret = agent_pull(o, &st);
	if (ret == 0)
		printf("%s: revision %lld, %zu peer(s)\n", st.ifname, (long long)st.revision,
		       json_array_size(json_object_get(st.config, "peers")));
	state_clear(&st);
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

/*
 * Removes our state, then the interface: a running daemon stops when the
 * state file goes, so it won't bring the interface back.
 */
static int remove_local(const struct agent_opts *o, const char *ifname)
{
	int ret = 0, r;

	r = state_remove(o->state_dir);
	if (r < 0) {
		errorx("cannot remove the state in %s: %s", o->state_dir, strerror(-r));
		ret = r;
	}
	r = wg_del_interface(ifname);
	if (r < 0 && r != -ENODEV) {
		errorx("cannot remove interface %s: %s", ifname, strerror(-r));
		ret = ret ? ret : r;
	}
	return ret;
}

int cmd_leave(const struct agent_opts *o, int argc, char **argv)
{
	struct agent_state st;
	struct api_error err;
	int ret = EXIT_FAIL, r;

	if (argc > 2) {
		errorx("usage: leave [NETWORK]");
		return EXIT_USAGE;
	}
	if (agent_load(o, &st) < 0)
		return EXIT_FAIL;
	if (argc == 2) {
		r = api_leave_network(&st, argv[1], &err);
		if (r < 0) {
			errorx("cannot leave %s: %s", argv[1], err.msg);
			goto out;
		}
		if (agent_pull(o, &st) < 0) {
			errorx("left %s, but could not update the interface (run 'meshgate pull')", argv[1]);
			goto out;
		}
		printf("left network %s; revision %lld\n", argv[1], (long long)st.revision);
		ret = EXIT_OK;
		goto out;
	}
	r = api_leave(&st, &err);
	if (r == -EPROTO && err.status == 401) {
		errorx("the server no longer knows this host; removing it locally");
	} else if (r < 0) {
		errorx("cannot leave: %s (nothing changed; 'meshgate uninstall' removes it locally anyway)",
		       err.msg);
		goto out;
	}
	if (remove_local(o, st.ifname) == 0) {
		printf("left every network; removed %s and the state\n", st.ifname);
		ret = EXIT_OK;
	}
out:
	state_clear(&st);
	return ret;
}

int cmd_uninstall(const struct agent_opts *o, int argc, char **argv)
{
	struct agent_state st;
	struct api_error err;
	char ifname[IFNAMSIZ];
	int ret, r;

	if (argc > 1) {
		errorx("uninstall takes no arguments");
		return EXIT_USAGE;
	}
	snprintf(ifname, sizeof(ifname), "%s", o->ifname);
	r = state_load(o->state_dir, &st);
	if (r == 0) {
		if (!o->ifname_explicit)
			snprintf(ifname, sizeof(ifname), "%s", st.ifname);
		r = api_leave(&st, &err);
		if (r < 0 && !(r == -EPROTO && err.status == 401))
			errorx("could not tell the server (%s); removing locally anyway", err.msg);
		state_clear(&st);
	} else if (r != -ENOENT) {
		errorx("cannot read the state (%s); removing locally anyway", strerror(-r));
	}
	ret = remove_local(o, ifname);
	if (rmdir(o->state_dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		errorx("cannot remove %s: %s", o->state_dir, strerror(errno));
	if (ret == 0)
		printf("uninstalled: %s removed, state cleared\n", ifname);
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}
