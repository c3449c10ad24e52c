/*
 * meshgate: the agent. Global options, then one command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "key.h"
#include "log.h"
#include "wg/wg.h"

struct command {
	const char *name;
	int (*fn)(const struct agent_opts *o, int argc, char **argv);
};

static const struct command commands[] = {
	{ "join", cmd_join },
	{ "leave", cmd_leave },
	{ "pull", cmd_pull },
	{ "status", cmd_status },
	{ "daemon", cmd_daemon },
	{ "uninstall", cmd_uninstall },
	{ "nat", cmd_nat },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--state-dir DIR] [--interface IFNAME] [--log-level LEVEL] COMMAND\n"
		"  join -t TOKEN [--name N] [--port P] [--endpoint HOST:PORT] [--resolver MODE]\n"
		"        join the networks of an enrollment token; TOKEN \"-\" reads it from stdin,\n"
		"        else $MESHGATE_TOKEN\n"
		"  leave [NETWORK]      leave one network, or everything (removes interface and state)\n"
		"  pull                 fetch the configuration and apply it\n"
		"  status [--json]      interface, networks and peers\n"
		"  daemon [--checkin-interval SECONDS] [--resolver MODE]\n"
		"                       run in the foreground: live updates, check-ins, repairs\n"
		"  uninstall            leave, delete the interface, remove the state\n"
		"  nat show [--json]    the gateway's nftables table with its counters\n"
		"MODE (kept in the state; default none): none, auto (point systemd-resolved at\n"
		"  the networks' DNS servers for their domains when it runs, else leave\n"
		"  /etc/resolv.conf alone) or resolved (the same, warning when it does not run)\n"
		"defaults: --state-dir $MESHGATE_STATE_DIR or %s,\n"
		"          --interface $MESHGATE_INTERFACE or %s\n",
		AGENT_PROG, AGENT_DEFAULT_STATE_DIR, AGENT_DEFAULT_IFNAME);
}

int main(int argc, char **argv)
{
	struct agent_opts o = { .state_dir = getenv("MESHGATE_STATE_DIR"), .ifname = getenv("MESHGATE_INTERFACE") };
	const char *level = getenv("MESHGATE_LOG_LEVEL");
	const struct command *cmd = NULL;
	size_t k;
	int i, ret, lvl;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s: %s needs a value\n", AGENT_PROG, argv[i]);
			return EXIT_USAGE;
		}
		if (!strcmp(argv[i], "--state-dir"))
			o.state_dir = argv[++i];
		else if (!strcmp(argv[i], "--interface"))
			o.ifname = argv[++i];
		else if (!strcmp(argv[i], "--log-level"))
			level = argv[++i];
		else {
			fprintf(stderr, "%s: unknown option '%s'\n", AGENT_PROG, argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(argv[i], commands[k].name))
			cmd = &commands[k];
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s'\n", AGENT_PROG, argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.state_dir || !*o.state_dir)
		o.state_dir = AGENT_DEFAULT_STATE_DIR;
	o.ifname_explicit = o.ifname && *o.ifname;
	if (!o.ifname_explicit)
		o.ifname = AGENT_DEFAULT_IFNAME;
	if (!wg_ifname_valid(o.ifname)) {
		fprintf(stderr, "%s: invalid interface name '%s'\n", AGENT_PROG, o.ifname);
		return EXIT_USAGE;
	}
	lvl = level ? log_level_parse(level) : LOG_LVL_INFO;
	if (lvl < 0) {
		fprintf(stderr, "%s: log level must be debug, info, warn or error\n", AGENT_PROG);
		return EXIT_USAGE;
	}
	log_init(AGENT_PROG, (enum log_level)lvl);
	if (mg_crypto_init() < 0 || api_global_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium or libcurl\n", AGENT_PROG);
		return EXIT_FAIL;
	}
	ret = cmd->fn(&o, argc - i, argv + i);
	api_global_cleanup();
	return ret;
}
