/*
 * cli.h - the commands of `helsefeed [-c FILE] [-v|-q] COMMAND [options]`.
 *
 * main.c parses the global options and calls one of these.  Each command
 * parses its own options (argv[0] is the command name), prints its own
 * --help, and returns the process exit code: 0 ok, 1 runtime failure,
 * 2 usage or configuration error.
 */
#ifndef HELSEFEED_CLI_H
#define HELSEFEED_CLI_H

#include "helsefeed/config.h"

#define HF_EXIT_OK 0
#define HF_EXIT_FAIL 1
#define HF_EXIT_USAGE 2

/* The build sets it from the install prefix's sysconfdir (CMakeLists.txt). */
#ifndef HF_DEFAULT_CONFIG
#define HF_DEFAULT_CONFIG "/etc/helsefeed/feeds.conf"
#endif

struct cli {
	const char *config_path;  /* -c FILE, or HF_DEFAULT_CONFIG */
	const char *prog;         /* argv[0] of the process, for messages */
};

/* config_load of cli->config_path; every error goes to stderr, naming
 * the file and line.  Returns config_load's code. */
int cli_load_config(const struct cli *cli, struct config **out) HF_WUR;

int cmd_run(const struct cli *cli, int argc, char **argv);
int cmd_check(const struct cli *cli, int argc, char **argv);
int cmd_parse(const struct cli *cli, int argc, char **argv);
int cmd_fetch(const struct cli *cli, int argc, char **argv);
int cmd_status(const struct cli *cli, int argc, char **argv);
int cmd_digest(const struct cli *cli, int argc, char **argv);
int cmd_publish(const struct cli *cli, int argc, char **argv);
int cmd_classify(const struct cli *cli, int argc, char **argv);
int cmd_items(const struct cli *cli, int argc, char **argv);
int cmd_hide(const struct cli *cli, int argc, char **argv);
int cmd_unhide(const struct cli *cli, int argc, char **argv);

#endif
