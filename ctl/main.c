/*
 * meshgatectl: argument dispatch and usage.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct command {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv, int start);
	const char *usage;
};

static const struct command commands[] = {
	{ "setup", cmd_setup,
	  "  setup USERNAME [--setup-token-file FILE]\n"
	  "        create the first admin; setup token from $MESHGATE_SETUP_TOKEN or FILE,\n"
	  "        password from $MESHGATE_PASSWORD or the first line of stdin\n" },
	{ "login", cmd_login,
	  "  login USERNAME\n"
	  "        password from $MESHGATE_PASSWORD or stdin; saves the session to the config file\n" },
	{ "logout", cmd_logout,
	  "  logout\n" },
	{ "whoami", cmd_whoami,
	  "  whoami\n" },
	{ "passwd", cmd_passwd,
	  "  passwd\n"
	  "        current and new password from $MESHGATE_PASSWORD and $MESHGATE_NEW_PASSWORD,\n"
	  "        else from lines of stdin\n" },
	{ "network", cmd_network,
	  "  network list\n"
	  "  network show NAME\n"
	  "  network create NAME --ipv4 CIDR [--ipv6 CIDR] [--port N] [--keepalive N] [--mtu N]\n"
	  "                      [--policy allow|deny]\n"
	  "  network update NAME [--port N] [--keepalive N] [--mtu N] [--policy allow|deny]\n"
	  "  network delete NAME\n" },
	{ "key", cmd_key,
	  "  key list\n"
	  "  key create --network NAME [--network NAME ...] [--uses N | --unlimited]\n"
	  "             [--expires-in SECONDS] [--tag TAG ...]\n"
	  "  key delete ID\n" },
	{ "host", cmd_host,
	  "  host list\n"
	  "  host show ID\n"
	  "  host update ID [--name NAME] [--port PORT] [--endpoint HOST:PORT | --no-endpoint]\n"
	  "  host tags ID [TAG ...]\n"
	  "        set the host's tags (replacing them); no TAG clears them\n"
	  "  host delete ID\n" },
	{ "node", cmd_node,
	  "  node list NETWORK\n"
	  "  node show NETWORK HOST_ID\n"
	  "  node delete NETWORK HOST_ID\n"
	  "  node egress NETWORK HOST_ID --range CIDR[,nonat] [--range ...] [--internet] [--wins]\n"
	  "        make the node an egress gateway for these ranges (replacing its ranges);\n"
	  "        NAT is on unless \",nonat\"; --internet adds 0.0.0.0/0 and ::/0\n"
	  "  node egress NETWORK HOST_ID --remove\n"
	  "  node ingress NETWORK HOST_ID [--remove]\n"
	  "  node relay NETWORK HOST_ID --relayed HOST_ID[,HOST_ID...] [--relayed ...]\n"
	  "        the node relays these nodes of the network (replacing the set): they\n"
	  "        reach everyone through it and have it as their only peer there\n"
	  "  node unrelay NETWORK HOST_ID\n"
	  "  node dns NETWORK HOST_ID on|off\n"
	  "        the node serves the network's names (dnsmasq on its mesh address): ext\n"
	  "        clients without --dns get it as DNS, agents as the network's resolver\n" },
	{ "extclient", cmd_extclient,
	  "  extclient list [--network NAME]\n"
	  "  extclient create NETWORK GATEWAY_HOST_ID NAME [--public-key KEY] [--dns IP ...]\n"
	  "                   [--mtu N] [--keepalive N] [--site CIDR ...] [--full-tunnel]\n"
	  "                   [--disabled] [--expires-in SECONDS] [--owner USER_ID]\n"
	  "  extclient show ID\n"
	  "  extclient update ID [--name NAME] [--enable | --disable]\n"
	  "                   [--expires-in SECONDS | --no-expiry] [--dns IP ... | --no-dns]\n"
	  "                   [--site CIDR ... | --no-sites] [--full-tunnel | --split-tunnel]\n"
	  "                   [--mtu N] [--keepalive N]\n"
	  "  extclient delete ID\n"
	  "  extclient config ID [-o FILE]\n"
	  "        the wg-quick .conf (with the private key) to stdout, or to FILE created 0600\n"
	  "  extclient qr ID [--invert] [-o FILE.png | -o FILE.svg]\n"
	  "        the .conf as a QR code on the terminal (--invert for light-on-dark),\n"
	  "        or the server's PNG or SVG written to FILE (0600)\n" },
	{ "acl", cmd_acl,
	  "  acl show NETWORK\n"
	  "        the default policy and the rules\n"
	  "  acl policy NETWORK allow|deny\n"
	  "  acl add NETWORK --src SEL --dst SEL --action allow|deny [--proto any|tcp|udp|icmp]\n"
	  "        [--ports PORT|FROM-TO]   (a rule with --proto or --ports holds from --src to --dst only)\n"
	  "        SEL is any, node:HOST_ID, tag:TAG, extclient:ID or (--dst only) egress:CIDR\n"
	  "  acl delete NETWORK RULE_ID\n" },
	{ "dns", cmd_dns,
	  "  dns list NETWORK\n"
	  "  dns add NETWORK NAME ADDRESS\n"
	  "  dns delete NETWORK ID\n" },
	{ "user", cmd_user,
	  "  user list\n"
	  "  user show ID\n"
	  "  user create USERNAME [--role admin|user]   (password as for login)\n"
	  "  user update ID [--role admin|user] [--password-stdin]\n"
	  "  user delete ID\n" },
	{ "token", cmd_token,
	  "  token list\n"
	  "  token create NAME [--expires-in SECONDS]\n"
	  "  token delete ID\n" },
	{ "audit", cmd_audit,
	  "  audit [--limit N] [--actor ACTOR] [--action ACTION] [--since UNIXTIME]\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_head[] =
	"Usage: " PROG " [--server URL] [--json] [--token-file FILE] COMMAND ...\n"
	"\n"
	"Commands:\n";

static const char usage_tail[] =
	"  help\n"
	"\n"
	"Server: --server, else $MESHGATE_SERVER, else the config file, else " DEFAULT_SERVER ".\n"
	"Credentials: $MESHGATE_TOKEN, else --token-file FILE, else the session saved by login.\n"
	"Config file: $MESHGATE_CONFIG, else ~/.config/meshgate/ctl.json.\n"
	"HTTPS: $MESHGATE_CA_FILE names a CA bundle for a self-signed server certificate.\n"
	"Secrets are never taken from the command line.\n";

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fputs(commands[i].usage, f);
	fputs(usage_tail, f);
}

void usage_cmd(FILE *f, const char *cmd)
{
	const struct command *k = cmd ? find_command(cmd) : NULL;

	if (!k) {
		usage(f);
		return;
	}
	fprintf(f, "Usage: " PROG " [--server URL] [--json] %s ...\n", k->name);
	fputs(k->usage, f);
}

void errorx(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_cmd(stderr, cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const struct command *k;
	struct args a;
	const char *word;
	int ret;

	args_init(&a, NULL, argc, argv, 1);
	while ((word = args_peek(&a)) && word[0] == '-' && word[1]) {
		if (!strcmp(word, "--")) {
			a.i++;
			break;
		}
		if (!strcmp(word, "-h") || !strcmp(word, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (args_global(&a, &c))
			continue;
		if (args_opt(&a, "--setup-token-file", &c.setup_token_file))
			continue;
		if (a.bad)
			return EXIT_USAGE;
		return usage_error(NULL, "unknown option '%s'", word);
	}
	if (a.bad)
		return EXIT_USAGE;
	word = args_positional(&a, "COMMAND");
	if (!word)
		return EXIT_USAGE;
	if (!strcmp(word, "help")) {
		if (a.i < argc && find_command(argv[a.i]))
			usage_cmd(stdout, argv[a.i]);
		else
			usage(stdout);
		return EXIT_OK;
	}
	k = find_command(word);
	if (!k)
		return usage_error(NULL, "unknown command '%s'", word);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errorx("cannot initialise libcurl");
		return EXIT_FAIL;
	}
	/* Global options given after the command are parsed by the command. */
	ret = ctl_init(&c);
	if (ret < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = k->fn(&c, argc, argv, a.i);
out:
	ctl_free(&c);
	curl_global_cleanup();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errorx("error writing output");
		if (ret == EXIT_OK)
			ret = EXIT_FAIL;
	}
	return ret;
}
