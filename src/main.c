/*
 * nfqroute: route traffic by what it is for. The command line only: each subcommand is a
 * short function, and only this file exits the process.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "nftrules.h"
#include "policy.h"
#include "route.h"

#define DEFAULT_CONF NFQR_CONFDIR "/nfqroute.conf"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct opts {
	const char *conf;
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
		"  down     remove what a crashed instance left behind (table, rules, routes)\n\n"
		"Options:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -v, --verbose      log every decision (repeat for nothing more yet)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"See nfqroute(8) and nfqroute.conf(5).\n", DEFAULT_CONF);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->conf = DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
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

static int cmd_check(const struct opts *o)
{
	struct policy *p;

	if (load_policy(o->conf, &p) < 0)
		return EXIT_USAGE;
	policy_print_summary(p, stdout);
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

int main(int argc, char **argv)
{
	const char *cmd;
	struct opts o = { 0 };

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
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
	fprintf(stderr, "nfqroute: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
