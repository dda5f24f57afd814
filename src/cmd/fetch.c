/*
 * cmd_fetch.c - `helsefeed fetch` and `helsefeed status`.
 *
 * fetch [--all] [FEED...]
 *   Fetches the due feeds (--all: every feed, schedule ignored; FEED...:
 *   those feeds, gone ones included), ingests them, prints one summary
 *   line.  Exit 0 when the run worked, even when some feeds failed: their
 *   failures are recorded for `status` and logged.  Exit 1 when the store
 *   or the engine failed, or when feeds were fetched and every one of
 *   them failed (the network or the proxy is down: cron should say so).
 *   Exit 2 for usage and configuration errors.
 *
 * status [--json]
 *   The health of every configured feed from the database, as a table or
 *   as JSON.  Never writes to the database.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helsefeed/buf.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/digest.h"
#include "helsefeed/fsutil.h"
#include "helsefeed/ingest.h"
#include "helsefeed/json.h"
#include "helsefeed/log.h"
#include "helsefeed/store.h"

/* The database directory holds item text from the feeds; no reason for
 * other users to read it. */
#define HF_DB_DIR_MODE 0750

static int load_config(const struct cli *cli, struct config **out)
{
	struct buf errs = BUF_INIT;
	int rc = config_load(cli->config_path, out, &errs);

	if (rc) {
		if (errs.len)
			fputs(buf_str(&errs), stderr);
		if (errs.len && errs.data[errs.len - 1] != '\n')
			fputc('\n', stderr);
		if (!errs.len)
			fprintf(stderr, "%s: %s\n", cli->config_path, hf_strerror(rc));
	}
	buf_free(&errs);
	return rc;
}

static void fetch_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] fetch [--all] [FEED...]\n\n"
	           "Fetch the feeds that are due, store new and changed items, exit.\n"
	           "  --all     every feed now, whatever its schedule (not the\n"
	           "            ones the server declared gone)\n"
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
	int all = 0, rc, ex = HF_EXIT_FAIL, opts = 1;

	names = calloc((size_t)argc, sizeof *names);
	if (!names) {
		fprintf(stderr, "helsefeed fetch: out of memory\n");
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--all") == 0) {
			all = 1;
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
	if (load_config(cli, &cfg)) {
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (fs_mkdir_parent(cfg->database, HF_DB_DIR_MODE))
		goto out;
	if (store_open(cfg->database, &st, NULL))
		goto out;
	if (nnames)
		rc = ingest_run_named(cfg, st, names, nnames, (int64_t)time(NULL), &s);
	else
		rc = ingest_run(cfg, st, all, (int64_t)time(NULL), &s);
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
	store_close(st);
	config_free(cfg);
	free(names);
	return ex;
}

/* --- status -------------------------------------------------------------- */

/* "2024-05-01 07:00:00Z" (sep ' ') or ISO 8601 (sep 'T'); `none` for 0. */
static const char *fmt_time(char *out, size_t size, int64_t t, char sep, const char *none)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || !gmtime_r(&tt, &tm))
		return none;
	if (strftime(out, size, sep == 'T' ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		return none;
	return out;
}

enum { FL_STALE = 1, FL_MOVED = 2, FL_GONE = 4 };

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {{FL_STALE, "STALE"}, {FL_MOVED, "MOVED"}, {FL_GONE, "GONE"}};

#define NFLAGS (sizeof flag_names / sizeof flag_names[0])

static unsigned feed_flags(const struct config *cfg, const struct store_feed_state *s, int64_t now)
{
	unsigned f = 0;

	if (s->failures > 0 && s->failing_since && now - s->failing_since > cfg->stale_after)
		f |= FL_STALE;
	if (s->moved_to)
		f |= FL_MOVED;
	if (s->gone)
		f |= FL_GONE;
	return f;
}

/* A line of text that came (partly) from the network: no control
 * characters reach the terminal. */
static void put_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	putchar('\n');
}

static void status_table(const struct config *cfg, struct store_feed_state *v, size_t n,
                         int64_t now)
{
	int w = 4;
	char t1[32], t2[32];

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(v[i].name) > w)
			w = (int)strlen(v[i].name);
	printf("%-*s  %4s  %-20s  %4s  %-20s  %6s  %s\n", w, "FEED", "HTTP",
	       "LAST SUCCESS", "FAIL", "NEXT FETCH", "ITEMS", "FLAGS");
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		unsigned fl = feed_flags(cfg, s, now);
		char flags[32] = "";
		size_t fo = 0;

		for (size_t k = 0; k < NFLAGS; k++)
			if (fl & flag_names[k].bit)
				fo += (size_t)snprintf(flags + fo, sizeof flags - fo, "%s%s",
				                       fo ? "," : "", flag_names[k].name);
		printf("%-*s  %4d  %-20s  %4d  %-20s  %6lld  %s\n", w, s->name, s->last_status,
		       fmt_time(t1, sizeof t1, s->last_success, ' ', "never"), s->failures,
		       s->gone ? "paused" : fmt_time(t2, sizeof t2, s->next_fetch, ' ', "now"),
		       (long long)s->items, fo ? flags : "-");
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		unsigned fl = feed_flags(cfg, s, now);

		if (s->last_error) {
			printf("%s: last error: ", s->name);
			put_clean(s->last_error);
		}
		if (fl & FL_STALE)
			printf("%s: STALE: failing since %s\n", s->name,
			       fmt_time(t1, sizeof t1, s->failing_since, ' ', "?"));
		if (fl & FL_MOVED)
			printf("%s: MOVED permanently: update feeds.conf: url = %s\n", s->name,
			       s->moved_to);
		if (fl & FL_GONE)
			printf("%s: GONE (HTTP 410): paused; fix its url in feeds.conf or "
			       "try 'helsefeed fetch %s'\n", s->name, s->name);
	}
}

static int status_json(const struct config *cfg, struct store_feed_state *v, size_t n,
                       int64_t now, const struct digest_group_status *dg, size_t ndg)
{
	struct json j;
	char t[32];

	json_init_file(&j, stdout);
	json_begin_object(&j);
	json_key(&j, "now");
	json_str(&j, fmt_time(t, sizeof t, now, 'T', NULL));
	json_key(&j, "feeds");
	json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		unsigned fl = feed_flags(cfg, s, now);
		static const struct {
			const char *key;
			size_t off;
		} times[] = {
			{"last_attempt", offsetof(struct store_feed_state, last_attempt)},
			{"last_success", offsetof(struct store_feed_state, last_success)},
			{"failing_since", offsetof(struct store_feed_state, failing_since)},
			{"next_fetch", offsetof(struct store_feed_state, next_fetch)},
			{"retry_after", offsetof(struct store_feed_state, retry_after)},
		};

		json_begin_object(&j);
		json_key(&j, "name");
		json_str(&j, s->name);
		json_key(&j, "url");
		json_str(&j, s->url);
		for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
			int64_t tv;
			memcpy(&tv, (const char *)s + times[k].off, sizeof tv);
			json_key(&j, times[k].key);
			json_str(&j, fmt_time(t, sizeof t, tv, 'T', NULL));
		}
		json_key(&j, "http_status");
		json_int(&j, s->last_status);
		json_key(&j, "failures");
		json_int(&j, s->failures);
		json_key(&j, "last_error");
		json_str(&j, s->last_error);
		json_key(&j, "items");
		json_int(&j, s->items);
		json_key(&j, "moved_to");
		json_str(&j, s->moved_to);
		json_key(&j, "flags");
		json_begin_array(&j);
		for (size_t k = 0; k < NFLAGS; k++)
			if (fl & flag_names[k].bit)
				json_str(&j, flag_names[k].name);
		json_end_array(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	digest_status_json(&j, dg, ndg);
	json_end_object(&j);
	if (json_finish(&j))
		return HF_EIO;
	return putchar('\n') == EOF ? HF_EIO : HF_OK;
}

int cmd_status(const struct cli *cli, int argc, char **argv)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct store_feed_state *v = NULL;
	struct digest_group_status *dg = NULL;
	size_t n = 0, ndg = 0;
	int as_json = 0, ex = HF_EXIT_FAIL;
	int64_t now = (int64_t)time(NULL);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: helsefeed [-c FILE] status [--json]\n\n"
			       "The health of every feed: last success, failures, next fetch,\n"
			       "items, flags STALE (failing longer than stale_after), MOVED\n"
			       "(update feeds.conf), GONE (HTTP 410, paused).  Then every\n"
			       "digest group: last success, next send, the last window's\n"
			       "error, refused addresses, OVERDUE after 26 h (weekly: 8 d).\n");
			return HF_EXIT_OK;
		} else {
			fprintf(stderr, "helsefeed status: unknown argument '%s'; try "
			        "'helsefeed status --help'\n", argv[i]);
			return HF_EXIT_USAGE;
		}
	}
	if (load_config(cli, &cfg)) {
		ex = HF_EXIT_USAGE;
		goto out;
	}
	/* store_open would create an empty database: status only reads. */
	if (access(cfg->database, F_OK) != 0) {
		fprintf(stderr, "helsefeed status: %s: no database yet; run 'helsefeed fetch'\n",
		        cfg->database);
		goto out;
	}
	if (store_open(cfg->database, &st, NULL) || store_feed_states(st, &v, &n) ||
	    digest_status_all(cfg, st, now, &dg, &ndg))
		goto out;
	if (as_json) {
		if (status_json(cfg, v, n, now, dg, ndg))
			goto out;
	} else {
		status_table(cfg, v, n, now);
		digest_status_print(stdout, dg, ndg);
	}
	ex = fflush(stdout) == 0 ? HF_EXIT_OK : HF_EXIT_FAIL;
out:
	store_feed_states_free(v, n);
	digest_status_free(dg, ndg);
	store_close(st);
	config_free(cfg);
	return ex;
}
