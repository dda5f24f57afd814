/*
 * cmd_run.c - `helsefeed [-c FILE] run [--once [--force]]`.
 *
 * Exit 0 after SIGTERM/SIGINT (or after the one pass of --once), 1 when
 * the directories or the store cannot be set up (or, with --once, the
 * pass's ingest or publish failed), 2 for usage and configuration
 * errors.
 */
#include <stdio.h>
#include <string.h>

#include "helsefeed/cli.h"
#include "helsefeed/daemon.h"
#include "helsefeed/util.h"

static void run_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] [-v|-q] run [--once [--force]]\n\n"
	           "Run the service: fetch the feeds when due, publish, send the\n"
	           "digests, until SIGTERM or SIGINT.\n"
	           "  --once    one pass: every feed (but those whose server asked\n"
	           "            to wait with Retry-After), then publish and due\n"
	           "            digests, exit\n"
	           "  --force   with --once: those that were asked to wait too\n\n"
	           "Signals: SIGHUP reloads the configuration (a broken file is\n"
	           "reported and the running configuration kept), SIGUSR1 fetches\n"
	           "every feed now, SIGTERM/SIGINT stop: transfers in flight get 5 s.\n");
}

int cmd_run(const struct cli *cli, int argc, char **argv)
{
	struct daemon_opts o = {cli->config_path, 0, -1, 0};
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			o.once = 1;
		} else if (strcmp(argv[i], "--force") == 0) {
			o.force = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			run_usage(stdout);
			return HF_EXIT_OK;
		} else {
			fprintf(stderr, "helsefeed run: unknown argument '%s'\n", argv[i]);
			run_usage(stderr);
			return HF_EXIT_USAGE;
		}
	}
	if (o.force && !o.once) {
		fprintf(stderr, "helsefeed run: --force goes with --once\n");
		return HF_EXIT_USAGE;
	}
	/* main.c leaves the level at info unless -v or -q moved it; only then
	 * does the command line win over the configuration's log_level. */
	if (log_get_level() != LOG_LVL_INFO)
		o.cli_log_level = (int)log_get_level();

	rc = daemon_run(&o);
	if (rc == HF_OK)
		return HF_EXIT_OK;
	return rc == HF_ECONFIG ? HF_EXIT_USAGE : HF_EXIT_FAIL;
}
