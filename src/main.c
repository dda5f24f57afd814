/*
 * main.c - command-line entry: global options, then one command.
 */
#include <stdio.h>
#include <string.h>

#include "helsefeed/cli.h"
#include "helsefeed/util.h"

struct command {
	const char *name;
	int (*run)(const struct cli *cli, int argc, char **argv);
	const char *summary;
};

/* Only commands that work are listed. */
static const struct command commands[] = {
	{"run", cmd_run, "the service: fetch when due, publish, send digests (--once: one pass)"},
	{"check", cmd_check, "validate the configuration file"},
	{"fetch", cmd_fetch, "fetch the due feeds (--all: every feed), store the items"},
	{"status", cmd_status, "feed health, problems first (--json, --check for monitoring)"},
	{"publish", cmd_publish, "write the Atom feeds, index.html and status pages"},
	{"digest", cmd_digest, "build and send the due e-mail digests (--dry-run prints them)"},
	{"items", cmd_items, "list and search the stored items (FTS); 'items show ID' shows one"},
	{"hide", cmd_hide, "pull items from every published file, keep them stored"},
	{"unhide", cmd_unhide, "put hidden items back into the published files"},
	{"classify", cmd_classify, "show a stored item's categories, sources and the rules that matched (--explain)"},
	{"parse", cmd_parse, "parse one feed file and print it as JSON"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] [-v|-q] COMMAND [options]\n"
	           "       helsefeed --version | --help\n\n"
	           "  -c FILE   configuration (default %s)\n"
	           "  -v, -q    more or less logging\n\ncommands:\n",
	        HF_DEFAULT_CONFIG);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'helsefeed COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	struct cli cli = {HF_DEFAULT_CONFIG, "helsefeed"};
	int level = LOG_LVL_INFO;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "helsefeed: %s needs a file name; try 'helsefeed --help'\n", a);
				return HF_EXIT_USAGE;
			}
			cli.config_path = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			cli.config_path = a + 9;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			level = LOG_LVL_DEBUG;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			level = LOG_LVL_WARN;
		} else if (strcmp(a, "--version") == 0) {
			printf("helsefeed %s\n", HELSEFEED_VERSION);
			return HF_EXIT_OK;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return HF_EXIT_OK;
		} else {
			fprintf(stderr, "helsefeed: unknown option '%s'; try 'helsefeed --help'\n", a);
			return HF_EXIT_USAGE;
		}
	}
	log_set_level((enum log_level)level);
	if (i >= argc) {
		fprintf(stderr, "helsefeed: no command given; try 'helsefeed --help'\n");
		return HF_EXIT_USAGE;
	}
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].run(&cli, argc - i, argv + i);
	fprintf(stderr, "helsefeed: unknown command '%s'; try 'helsefeed --help'\n", argv[i]);
	return HF_EXIT_USAGE;
}
