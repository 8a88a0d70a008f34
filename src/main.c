/*
 * nfqroute: route traffic by what it is for. The command line only: each subcommand is a
 * short function, and only this file exits the process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "control.h"
#include "ctlclient.h"
#include "daemon.h"
#include "log.h"
#include "nftrules.h"
#include "policy.h"
#include "replay.h"
#include "route.h"
#include "sysctl.h"
#include "util.h"

#define DEFAULT_CONF NFQR_CONFDIR "/nfqroute.conf"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct opts {
	const char *conf;
	bool conf_given;	/* -c was used (replay runs without a configuration) */
	const char *pcap;	/* replay -r FILE */
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: nfqroute COMMAND [-c FILE] [-v]\n"
		"Route connections by the domain they were resolved from (and more).\n\n"
		"Commands:\n"
		"  run      run the service in the foreground (SIGHUP reloads, SIGTERM stops)\n"
		"  check    validate the configuration and domain lists, print a summary\n"
		"  rules    print the nftables ruleset, ip rules and routes it would install\n"
		"  down     remove what a crashed instance left behind (table, rules, routes)\n"
		"  replay -r FILE.pcap [-c FILE]\n"
		"           show what the daemon would learn and route for a capture (no root)\n"
		"  status [--json]          what the running daemon is doing\n"
		"  why ADDRESS|NAME         which name and rule decide for an address or a name\n"
		"  monitor [-n] [--json] [-c COUNT] [FILTER]\n"
		"           print decisions as they happen; FILTER: host, net, port, domain,\n"
		"           route, proto; and, or, not (here -c is a count: use --config)\n"
		"  reload [--reroute]       re-read the configuration (root)\n"
		"  flush                    forget learned addresses (root)\n\n"
		"Options:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -r, --read FILE    replay: the capture to read (pcap or pcapng, - for stdin)\n"
		"  -s, --socket PATH  control socket (default: control = of the configuration)\n"
		"  -v, --verbose      log every decision (repeat for nothing more yet)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"See nfqroute(8) and nfqroute.conf(5).\n", DEFAULT_CONF);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "read", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->conf = DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:r:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			o->conf_given = true;
			break;
		case 'r':
			o->pcap = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("nfqroute %s\n", PACKAGE_VERSION);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int load_policy(const char *path, struct policy **p)
{
	char err[CONF_ERR_MAX];
	struct conf *c;

	if (conf_load(path, &c, err, sizeof(err)) < 0 || policy_new(c, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqroute: %s\n", err);
		return -1;
	}
	return 0;
}

/* Gateway mode routes forwarded traffic: enabling forwarding stays the user's choice. */
static void check_forwarding(FILE *out)
{
	static const char *const knobs[] = { "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding" };
	char val[16];

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (sysctl_get(knobs[i], val, sizeof(val)) == 0 && strcmp(val, "1"))
			fprintf(out, "warning: lan-interfaces is set (gateway mode) but this host does "
				"not forward IPv%c (%s = %s); LAN traffic will not pass until it "
				"does\n", i ? '6' : '4', knobs[i], val);
}

/* A warning of check: on stdout after the summary, like the forwarding one. */
static void check_warn(void *ctx, int prio, const char *msg)
{
	(void)prio;
	fprintf(ctx, "warning: %s\n", msg);
}

/* Warnings never change the exit status: a valid configuration exits 0. */
static int cmd_check(const struct opts *o)
{
	struct policy *p;

	if (load_policy(o->conf, &p) < 0)
		return EXIT_USAGE;
	policy_print_summary(p, stdout);
	policy_warnings(p, check_warn, stdout);
	conf_host_check(policy_conf(p), check_warn, stdout);
	if (policy_conf(p)->n_lan_ifs)
		check_forwarding(stdout);
	policy_free(p);
	return EXIT_OK;
}

static int cmd_rules(const struct opts *o)
{
	struct policy *p;

	if (load_policy(o->conf, &p) < 0)
		return EXIT_USAGE;
	printf("# nftables (installed as one atomic batch)\n");
	nftrules_print(policy_conf(p), stdout);
	printf("\n# policy routing\n");
	route_plan_print(policy_conf(p), stdout);
	printf("\n# sysctl\nsysctl -w net.ipv4.conf.all.src_valid_mark=1\n");
	policy_free(p);
	return EXIT_OK;
}

static int cmd_down(const struct opts *o)
{
	char err[CONF_ERR_MAX];
	struct conf *c;
	int ret;

	if (conf_load(o->conf, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqroute: %s\n", err);
		return EXIT_USAGE;
	}
	ret = daemon_down(c);
	conf_free(c);
	return ret ? EXIT_FAIL : EXIT_OK;
}

/* Replays a capture through the decision code; the configuration only when -c is given. */
static int cmd_replay(const struct opts *o)
{
	char err[CONF_ERR_MAX];
	struct policy *p = NULL;
	int ret;

	if (!o->pcap) {
		fprintf(stderr, "nfqroute: replay needs -r FILE.pcap\n");
		return EXIT_USAGE;
	}
	if (o->conf_given && load_policy(o->conf, &p) < 0)
		return EXIT_USAGE;
	ret = replay_run(o->pcap, p, stdout, err, sizeof(err));
	policy_free(p);
	if (ret < 0) {
		fprintf(stderr, "nfqroute: %s\n", err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- talking to the running daemon ---- */

struct ctl_opts {
	const char *conf;	/* --config: NULL for the default, whose failure is ignored */
	const char *socket;	/* --socket */
	bool json, numeric, reroute;
	int count;
};

/* Options of status/why/monitor/reload/flush; -c is COUNT for monitor as in tcpdump. */
static int ctl_parse(const char *cmd, int argc, char **argv, struct ctl_opts *co)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'J' },
		{ "reroute", no_argument, NULL, 'R' },
		{ "count", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool monitor = strcmp(cmd, "monitor") == 0;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, monitor ? "nc:s:h" : "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			co->conf = optarg;
			break;
		case 'c':
			if (!monitor) {
				co->conf = optarg;
				break;
			}
			/* fall through */
		case 'N':
			co->count = (int)strtol(optarg, &end, 10);
			if (*end || co->count <= 0) {
				fprintf(stderr, "nfqroute: -c needs a positive count\n");
				return -1;
			}
			break;
		case 's':
			co->socket = optarg;
			break;
		case 'J':
			co->json = true;
			break;
		case 'R':
			co->reroute = true;
			break;
		case 'n':
			co->numeric = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return -1;
		}
	}
	return optind;
}

/* --socket, else control = of the configuration, else the default path. */
static int ctl_socket_path(const struct ctl_opts *co, char *buf, size_t size)
{
	char err[CONF_ERR_MAX];
	struct conf *c;

	if (co->socket) {
		snprintf(buf, size, "%s", co->socket);
		return 0;
	}
	snprintf(buf, size, "%s", CONTROL_DEFAULT_PATH);
	/* a group member may not be able to read every domain list: the default config is a hint */
	if (conf_load(co->conf ? co->conf : DEFAULT_CONF, &c, err, sizeof(err)) < 0) {
		if (!co->conf)
			return 0;
		fprintf(stderr, "nfqroute: %s\n", err);
		return -1;
	}
	if (c->control)
		snprintf(buf, size, "%s", c->control);
	conf_free(c);
	return 0;
}

static int cmd_ctl(const char *cmd, int argc, char **argv)
{
	struct ctl_opts co = { 0 };
	char path[256], req[CONTROL_REQUEST_MAX], err[CONF_ERR_MAX];
	char *words[CONTROL_REQUEST_MAX / 2];
	int first = ctl_parse(cmd, argc, argv, &co), n = 0, ret;
	bool monitor = strcmp(cmd, "monitor") == 0;

	if (first < 0)
		return EXIT_USAGE;
	if (((!strcmp(cmd, "status") || !strcmp(cmd, "reload") || !strcmp(cmd, "flush")) &&
	     first != argc) || (!strcmp(cmd, "why") && first != argc - 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	words[n++] = (char *)cmd;
	if (co.json && (monitor || !strcmp(cmd, "status")))
		words[n++] = "json";
	if (co.numeric)
		words[n++] = "numeric";
	if (co.reroute && !strcmp(cmd, "reload"))
		words[n++] = "--reroute";
	for (int i = first; i < argc && n < (int)ARRAY_SIZE(words); i++)
		words[n++] = argv[i];
	if (ctlclient_request(req, sizeof(req), n, words, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqroute: %s\n", err);
		return EXIT_USAGE;
	}
	if (ctl_socket_path(&co, path, sizeof(path)) < 0)
		return EXIT_USAGE;
	ret = ctlclient_run(path, req, monitor, co.count, stdout, err, sizeof(err));
	if (ret == 0 || ret == -EPIPE)
		return EXIT_OK;
	fprintf(stderr, "nfqroute: %s\n", err);
	return EXIT_FAIL;
}

static bool is_ctl_command(const char *cmd)
{
	static const char *const cmds[] = { "status", "why", "monitor", "reload", "flush" };

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmd, cmds[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *cmd;
	struct opts o = { 0 };

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (is_ctl_command(cmd))
		return cmd_ctl(cmd, argc - 1, argv + 1);
	if (cmd[0] == '-') {
		if (parse_opts(argc, argv, &o) < 0)
			return EXIT_USAGE;
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_opts(argc - 1, argv + 1, &o) < 0)
		return EXIT_USAGE;
	log_init("nfqroute", isatty(STDERR_FILENO) || strcmp(cmd, "run") != 0 ||
		 getenv("NFQROUTE_LOG_STDERR") || !getenv("INVOCATION_ID"),
		 o.verbose ? LOG_DEBUG : LOG_INFO);
	if (strcmp(cmd, "run") == 0)
		return daemon_run(o.conf);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(&o);
	if (strcmp(cmd, "rules") == 0)
		return cmd_rules(&o);
	if (strcmp(cmd, "down") == 0)
		return cmd_down(&o);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(&o);
	fprintf(stderr, "nfqroute: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
