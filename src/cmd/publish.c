/*
 * cmd_publish.c - `helsefeed [-c FILE] publish`.
 *
 * Writes the output files from the database once and exits: 0 when every
 * file is current, 1 when the store or a file failed, 2 on usage or
 * configuration errors.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/util.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"

static void publish_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] publish\n\n"
	           "Write the Atom feeds, the pages (index.html, tema/, kjelde/),\n"
	           "the archives (arkiv/), the status page, status.json, feeds.opml\n"
	           "and feed.xsl into the output directory.  Files whose content did\n"
	           "not change are left untouched.  Feeds no longer in the\n"
	           "configuration leave the output.\n");
}

int cmd_publish(const struct cli *cli, int argc, char **argv)
{
	struct buf errs = BUF_INIT;
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct publish_stats s = {0};
	int ex = HF_EXIT_FAIL, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			publish_usage(stdout);
			ex = HF_EXIT_OK;
			goto out;
		}
		fprintf(stderr, "helsefeed publish: unknown argument '%s'\n", argv[i]);
		publish_usage(stderr);
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (cli_load_config(cli, &cfg)) {
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (store_open(cfg->database, &st, &errs)) {
		fprintf(stderr, "%s\n", buf_str(&errs));
		goto out;
	}
	/* The configuration as it is now: the items of a feed removed from
	 * it leave the output with this run. */
	if (store_sync_feeds(st, cfg)) {
		fprintf(stderr, "helsefeed publish: %s\n", store_errmsg(st));
		goto out;
	}
	rc = publish_run(cfg, st, (int64_t)time(NULL), &s);
	if (rc) {
		fprintf(stderr, "helsefeed publish: %s\n", hf_strerror(rc));
		ex = rc == HF_ECONFIG ? HF_EXIT_USAGE : HF_EXIT_FAIL;
		goto out;
	}
	/* Logged when it fails: the files are written all the same. */
	(void)store_checkpoint(st);
	printf("published %d files (%d changed) into %s\n", s.files, s.changed,
	       cfg->output);
	log_debug("publish: %d entries in %lld ms", s.entries,
	          (long long)s.elapsed_ms);
	ex = HF_EXIT_OK;
out:
	store_close(st);
	config_free(cfg);
	buf_free(&errs);
	return ex;
}
