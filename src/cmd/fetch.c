/*
 * fetch.c - `helsefeed fetch`.
 *
 * fetch [--all [--force]] [FEED...]
 *   Fetches the due feeds (--all: every feed, schedule ignored, but not
 *   one whose server asked to wait with a Retry-After still running,
 *   unless --force; FEED...: those feeds, gone ones included), ingests
 *   them, prints one summary
 *   line.  Exit 0 when the run worked, even when some feeds failed: their
 *   failures are recorded for `status` and logged.  Exit 1 when the store
 *   or the engine failed, or when feeds were fetched and every one of
 *   them failed (the network or the proxy is down: cron should say so).
 *   Exit 2 for usage and configuration errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/digest.h"
#include "helsefeed/feed.h"
#include "helsefeed/ingest.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"
#include "helsefeed/text.h"

/* The database directory holds item text from the feeds; no reason for
 * other users to read it. */
#define HF_DB_DIR_MODE 0750

static void fetch_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] fetch [--all [--force]] [FEED...]\n\n"
	           "Fetch the feeds that are due, store new and changed items, exit.\n"
	           "  --all     every feed now, whatever its schedule (not the\n"
	           "            ones the server declared gone, nor those whose\n"
	           "            server asked to wait with Retry-After)\n"
	           "  --force   with --all: those that were asked to wait too\n"
	           "  FEED...   only these feeds, now, gone ones included\n\n"
	           "Exit 0 when the run worked (single failing feeds are recorded,\n"
	           "see 'helsefeed status'), 1 when it did not or every feed failed,\n"
	           "2 on usage or configuration errors.\n");
}

int cmd_fetch(const struct cli *cli, int argc, char **argv)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct ingest_stats s = {0};
	const char **names = NULL;
	size_t nnames = 0;
	int all = 0, force = 0, rc, ex = HF_EXIT_FAIL, opts = 1;

	names = calloc((size_t)argc, sizeof *names);
	if (!names) {
		fprintf(stderr, "helsefeed fetch: out of memory\n");
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--all") == 0) {
			all = 1;
		} else if (opts && strcmp(a, "--force") == 0) {
			force = 1;
		} else if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			fetch_usage(stdout);
			ex = HF_EXIT_OK;
			goto out;
		} else if (opts && strcmp(a, "--") == 0) {
			opts = 0;
		} else if (opts && a[0] == '-') {
			fprintf(stderr, "helsefeed fetch: unknown option '%s'\n", a);
			fetch_usage(stderr);
			ex = HF_EXIT_USAGE;
			goto out;
		} else {
			names[nnames++] = a;
		}
	}
	if (all && nnames) {
		fprintf(stderr, "helsefeed fetch: --all and feed names exclude each other\n");
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (force && !all) {
		fprintf(stderr, "helsefeed fetch: --force goes with --all\n");
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (cli_load_config(cli, &cfg)) {
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (fs_mkdir_parent(cfg->database, HF_DB_DIR_MODE))
		goto out;
	/* Before the store grows the process (feed.h); the first document
	 * tries again if this fails. */
	if (feed_host_start())
		log_warn("cannot start the parser process yet: %s", strerror(errno));
	if (store_open(cfg->database, &st, NULL))
		goto out;
	if (nnames)
		rc = ingest_run_named(cfg, st, names, nnames, (int64_t)time(NULL), &s);
	else
		rc = ingest_run(cfg, st, (all ? INGEST_ALL : 0) | (force ? INGEST_FORCE : 0),
		                (int64_t)time(NULL), &s);
	if (rc) {
		if (rc == HF_EINVAL || rc == HF_ECONFIG)
			ex = HF_EXIT_USAGE;
		else
			log_error("fetch: run stopped: %s%s%s", hf_strerror(rc),
			          rc == HF_EDB ? ": " : "", rc == HF_EDB ? store_errmsg(st) : "");
		goto out;
	}
	printf("fetch: %d feeds, %d ok (%d not modified), %d failed (%d gone), "
	       "%d moved; %d new, %d updated, %d merged items; %lld bytes in %.2f s\n",
	       s.feeds, s.ok, s.not_modified, s.failed, s.gone, s.moved,
	       s.items_new, s.items_updated, s.items_merged, (long long)s.bytes,
	       (double)s.elapsed_ms / 1000.0);
	ex = s.feeds > 0 && s.ok == 0 ? HF_EXIT_FAIL : HF_EXIT_OK;
out:
	feed_host_stop();
	store_close(st);
	config_free(cfg);
	free(names);
	return ex;
}
