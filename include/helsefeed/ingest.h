/*
 * ingest.h - one fetch cycle: pick the due feeds, fetch them all at once,
 * parse every fresh document and store it, one transaction per feed.
 *
 * Per completed transfer:
 *   304            the attempt is recorded; nothing is parsed or written.
 *   2xx            feed_parse (entries the store already holds unchanged
 *                  are skipped by hash), every other entry through
 *                  pipeline_entry (dedup, store, fingerprint, classify),
 *                  then the items, the new validators and the schedule
 *                  committed together.
 *   parse failure, HTML page, truncated or failed transfer, other status
 *                  the ingest is rolled back; the failure is recorded with
 *                  the feed's old validators and items untouched, so the
 *                  next attempt fetches the whole document again.
 *   410            recorded as gone: the feed is paused (see selection).
 *   301/308 chain  the new URL is stored (the store fetches it from then
 *                  on) and a warning asks the admin to update feeds.conf.
 *
 * Schedule (UTC seconds):
 *   success  now + interval +-10 % jitter (so feeds of one host drift
 *            apart); a Cache-Control max-age longer than that moves the
 *            next fetch later, but never beyond the feed's interval.
 *   failure  n-th failure in a row: now + interval * 2^(n-1) +-10 %,
 *            capped at HF_BACKOFF_MAX_S; reset by the next success.
 *   429/503  with Retry-After: not before that time (capped at now +
 *            HF_BACKOFF_MAX_S: a server asking for a month is a mistake).
 *
 * Selection: a due run takes the active feeds with next_fetch <= now that
 * are not gone.  `all` ignores the schedule (next_fetch, backoff,
 * Retry-After) but not the gone flag: a 410 stays paused until the admin
 * changes the feed's URL in feeds.conf (which clears the flag) or names
 * the feed explicitly with ingest_run_named().
 */
#ifndef HELSEFEED_INGEST_H
#define HELSEFEED_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/store.h"

/* Jitter of the next fetch time, in percent of the delay either way. */
#define HF_INGEST_JITTER_PCT 10

struct ingest_stats {
	int feeds;            /* fetched in this run */
	int ok;               /* 2xx stored, or 304 */
	int not_modified;     /* of which 304 */
	int failed;           /* transfer, HTTP or parse failure (gone included) */
	int gone;             /* 410 in this run */
	int moved;            /* permanent redirect learnt in this run */
	int items_new, items_updated;
	int items_merged;     /* entries found to be another feed's story */
	int64_t bytes;        /* body bytes received */
	int64_t elapsed_ms;   /* wall time of the run */
};

/*
 * Sync the configured feeds into the store, fetch the selected ones (see
 * above; `all` != 0 ignores the schedule), ingest them and record every
 * attempt.  `now` is the time the schedule is computed from.  One log line
 * per feed.  A failing feed is recorded and counted in *out, never
 * returned as an error.
 * Returns 0 (and *out, may be NULL), or HF_EDB / HF_ENOMEM / HF_ERR when
 * the store or the transfer engine failed: the run stopped; HF_ECONFIG
 * when the category rules do not compile (pipeline_new, logged).
 */
int ingest_run(const struct config *cfg, struct store *st, int all, int64_t now,
               struct ingest_stats *out) HF_WUR;

/*
 * The same for the feeds named in `names` only, whatever their schedule
 * and gone flag (an admin checking whether a gone feed is back).
 * HF_EINVAL when a name is not a configured feed (logged), before anything
 * is fetched.
 */
int ingest_run_named(const struct config *cfg, struct store *st,
                     const char *const *names, size_t nnames, int64_t now,
                     struct ingest_stats *out) HF_WUR;

/*
 * The next fetch time after an attempt at `now`: `ok` success or failure,
 * `failures` the consecutive failures including this attempt, `max_age`
 * (-1 none) and `retry_after` (0 none) from the response, `seed` varies
 * the jitter between feeds.  Exposed for tests.
 */
int64_t ingest_next_fetch(int64_t now, int interval, int ok, int failures,
                          int64_t max_age, int64_t retry_after, uint64_t seed);

/* The commands `fetch` and `status` (src/cmd_fetch.c) are declared in
 * cli.h. */

#endif
