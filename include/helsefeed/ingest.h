#ifndef HELSEFEED_INGEST_H
#define HELSEFEED_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"
#include "helsefeed/store.h"

/*
 * ingest - fetch -> parse -> store: a session that fetches feeds with
 * the transfer engine (fetch.h) and stores each completed document in one
 * transaction per feed, as soon as its transfer completes.
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
 * New and changed items are stamped with the time their transfer
 * completed, never earlier: a digest window that closed before the
 * commit never gains an item afterwards (digest.h).
 *
 * Schedule (UTC seconds), counted from the `now` the feed was started
 * with:
 *   success  now + interval +-10 % jitter (so feeds of one host drift
 *            apart); a Cache-Control max-age longer than that moves the
 *            next fetch later, but never beyond the feed's interval.
 *   failure  n-th failure in a row: now + interval * 2^(n-1) +-10 %,
 *            capped at HF_BACKOFF_MAX_S; reset by the next success.
 *   429/503  with Retry-After: not before that time (capped at now +
 *            HF_BACKOFF_MAX_S: a server asking for a month is a mistake).
 * A feed whose last attempt succeeded is due at last attempt + interval
 * when its stored next fetch lies beyond that and its jitter: a shorter
 * interval in a reloaded configuration applies at once.
 *
 * Selection: a start takes the active feeds that are due and not gone.
 * INGEST_ALL ignores the schedule (next_fetch, backoff) but neither a
 * Retry-After that is still running (RFC 9110 10.2.3: a cron-driven
 * `fetch --all` must not hammer a server that asked for an hour; the
 * feed is skipped with one info line) nor the gone flag: a 410 stays
 * paused until the admin changes the feed's URL in feeds.conf (which
 * clears the flag) or names the feed explicitly with ingest_run_named().
 * INGEST_ALL | INGEST_FORCE ignores the Retry-After too.  A feed whose
 * transfer is queued or running is never started a second time.
 */

/* Which feeds a start takes (see Selection); 0: the due ones. */
#define INGEST_ALL 0x1    /* every feed not gone nor asked to wait */
#define INGEST_FORCE 0x2  /* with INGEST_ALL: a running Retry-After too */

/* Jitter of the next fetch time, in percent of the delay either way. */
#define HF_INGEST_JITTER_PCT 10

/* What completed transfers did: over one run, or a session since the
 * last ingest_take_stats. */
struct ingest_stats {
	int feeds;            /* transfers completed */
	int ok;               /* 2xx stored, or 304 */
	int not_modified;     /* of which 304 */
	int failed;           /* transfer, HTTP or parse failure (gone included) */
	int recovered;        /* ok after failing: the feed's health changed */
	int gone;             /* 410 */
	int moved;            /* permanent redirect learnt */
	int items_new, items_updated;
	int items_merged;     /* entries found to be another feed's story */
	int64_t bytes;        /* body bytes received */
	int64_t elapsed_ms;   /* wall time covered */
};

struct ingest;

/*
 * Open a session for `cfg` and `st` (both borrowed: they must outlive
 * it; st idle, no ingest open): compiles the pipeline (pipeline_new),
 * makes the transfer engine, then syncs the configured feeds into the
 * store (store_sync_feeds), so a session that fails to open has changed
 * nothing.  A new configuration needs a new session.
 * Returns 0 and *out (ingest_close), HF_ECONFIG (a category rule does
 * not compile: one line per error in `err`, logged when `err` is NULL),
 * HF_EDB, HF_ENOMEM, HF_ERR (the engine).
 */
int ingest_open(const struct config *cfg, struct store *st, struct ingest **out,
                struct buf *err) HF_WUR;

/*
 * Abort the transfers still queued or running, without recording them:
 * their feeds keep the schedule they had, so they are due at once for the
 * next session.  One info line names each aborted feed.  NULL is a no-op.
 * An abort of a transfer still resolving its host name waits for the
 * resolver thread (libcurl's threaded resolver; bounded by the system's
 * resolver time-outs).
 */
void ingest_close(struct ingest *ing);

/*
 * Queue every due feed (see Selection; `all`: INGEST_* flags) that is
 * not in flight, with `now` (UTC seconds) as its start time.  Reads the
 * schedule from the store each time: a change made by another process is
 * seen.  Returns the number of feeds queued (>= 0), or HF_EDB / HF_ENOMEM.
 */
int ingest_start(struct ingest *ing, int64_t now, int all) HF_WUR;

/*
 * One turn of the engine: start queued transfers, move data and ingest
 * every transfer that completed (as above: one transaction per feed, the
 * attempt recorded, the next fetch scheduled).  When none completed and
 * timeout_ms > 0, wait up to timeout_ms for socket activity, a libcurl
 * timer or `wake_fd` (-1: none) becoming readable, and turn once more;
 * with nothing in flight the wait is for `wake_fd` alone.
 * Returns the number of feeds still in flight (>= 0), or:
 *   HF_EDB / HF_ENOMEM  storing a completed feed failed (the store logged
 *                       it); that feed is not recorded and stays due, the
 *                       other transfers go on;
 *   HF_ERR              libcurl's multi handle failed: close the session.
 */
int ingest_step(struct ingest *ing, int timeout_ms, int wake_fd) HF_WUR;

/* Feeds queued or running. */
size_t ingest_in_flight(const struct ingest *ing);

/* The earliest next fetch (UTC seconds) among the feeds not in flight and
 * not gone, as of the last start and the transfers completed since;
 * INT64_MIN before the first start (due now), INT64_MAX when none. */
int64_t ingest_next_due(const struct ingest *ing);

/* Copy the statistics gathered since the session opened or since the last
 * call, and start counting afresh. */
void ingest_take_stats(struct ingest *ing, struct ingest_stats *out);

/*
 * A whole run on a session of its own: open, start the selected feeds
 * (see above; `all`: INGEST_* flags), step until every transfer
 * has completed, close.  `now` is the time the schedule is computed from.
 * One log line per feed.  A failing feed is recorded and counted in *out,
 * never returned as an error.
 * Returns 0 (and *out, may be NULL), or HF_EDB / HF_ENOMEM / HF_ERR when
 * the store or the transfer engine failed: the run stopped, the transfers
 * still running were aborted unrecorded; HF_ECONFIG when the category
 * rules do not compile (logged).
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

/* The commands `fetch` and `status` (src/cmd/fetch.c) are declared in
 * cli.h. */

/*
 * pipeline - what ingest does with one parsed entry: deduplicate
 * (DESIGN.md "Deduplication, in order"), store, fingerprint, classify.
 *
 * Per entry, inside the feed's open ingest (store.h):
 *   0. The feed carried the same key with the same raw_hash (one look-up,
 *      store_dedup_source, as store_ingest_known) -> STORE_UNCHANGED,
 *      nothing touched.
 *   1. The feed carried the key before:
 *        as the item's primary source -> store_ingest_entry updates it
 *          (STORE_UPDATED), fingerprint and categories are set again;
 *        as a merged source -> its item_sources row is refreshed and the
 *          item left alone: the item's fields follow its primary source
 *          only (PIPELINE_MERGED).
 *   2. A new key whose canonical URL (norm_url_canon, tracking
 *      parameters dropped) an item already has, whatever its time:
 *        that item is the primary of this same feed -> the publisher
 *          changed the guid: the entry becomes the item's primary
 *          revision (fields replaced, revision bumped; STORE_UPDATED),
 *          the old key stays a source so it is skipped if it returns;
 *        another feed's item -> merged (PIPELINE_MERGED).
 *   2b. Else an item of another feed within cfg->dedup_window whose link
 *      (or a merged source's) is the entry's under one of cfg->same_url
 *      (dedup.h, URL equivalence: one id, /no/ and /nn/) -> merged.
 *   3. Else a near-duplicate (dedup.h) among the items of other feeds
 *      within cfg->dedup_window of the entry's time -> merged
 *      (PIPELINE_MERGED).
 *   4. Else a new item (STORE_NEW).
 * Keys: a feed that gives one guid to two entries of a document would
 * have them overwrite one item in turn, an update on every fetch; such
 * entries are keyed by guid and link (one space between), which tells
 * them apart in any order, and one whose guid and link both repeat an
 * earlier one's is left out.  Logged once per feed and process.
 *
 * Merging records the entry in item_sources.  When the entry's feed is
 * to be credited before the item's primary feed (Credit), the entry
 * becomes the primary source: the item's feed, key, title, link, dates,
 * summary and content become the entry's (primary fields follow the
 * primary source, so what is published is the ministry's wording, never
 * a mix); every source keeps its own text (item_sources).
 *
 * Credit: first the publisher on whose site the story is, a source whose
 * link is on its own feed's host (norm_url_same_site: the ministry's
 * release on regjeringen.no, not a trust's relay that links there); then
 * authority: the rank of a feed is config_feed.authority when set (>= 0),
 * else its kind: ministry 0, directorate 1, hospital 2, municipal 3,
 * other 4.  Lower ranks win; on a tie the first arrival stays primary.
 *
 * For every new or changed primary: fingerprint (title_norm and simhash,
 * written with the item's row, with its same-story terms that the
 * candidate search of level 3 reads, dedup.h) and categories: the primary feed's own (origin
 * "feed"), the keyword rules over title, summary, content and the
 * entry's <category> texts (origin "rule"), and every category whose
 * name or title equals one of the entry's <category> texts, case and
 * punctuation aside (origin "entry").  A merged source adds those it
 * gives (its feed's and its <category> texts'; the keyword rules read
 * the primary text alone), and a source that becomes primary keeps
 * those the item had: a merged story stays in every category any of its
 * sources gives it.  Only the primary feed's own new revision (levels 1
 * and 2, same feed) sets them afresh.
 */

/* Outcome beside enum store_outcome: the entry is a story already held
 * under another source (or a merged source's revision). */
#define PIPELINE_MERGED 3
/* Outcomes, for counts indexed by outcome. */
#define PIPELINE_OUTCOMES 4

/* Near-duplicate candidates compared per entry: the best-ranked by shared
 * rare words and title words (dedup_index_candidates).  Bounds the
 * comparisons of an entry whatever the window holds. */
#define PIPELINE_MAX_CANDIDATES 8

struct pipeline;

/*
 * Prepare the pipeline for `cfg` and `st` (both borrowed: they must
 * outlive it; st idle, no ingest open): compiles the category rules
 * (classify_compile), the title tables (dedup_new) and the dedup
 * statements (store_dedup_open).  Free it before store_close.
 * Returns 0 and *out (pipeline_free), HF_ECONFIG (a bad rule; one line
 * per error in err, may be NULL), HF_EDB, HF_ENOMEM.
 */
int pipeline_new(const struct config *cfg, struct store *st,
                 struct pipeline **out, struct buf *err) HF_WUR;
void pipeline_free(struct pipeline *p);

/*
 * Run one entry of feed `feed` (the configuration of the feed whose
 * ingest `in` is) through the steps above.  *outcome (may be NULL):
 * STORE_UNCHANGED, STORE_NEW, STORE_UPDATED or PIPELINE_MERGED.
 * store_ingest_item_id(in) is then the item the entry belongs to (not
 * after STORE_UNCHANGED).  Returns 0, HF_EDB, HF_ENOMEM; after a failure
 * the ingest can only be aborted (store.h).
 */
int pipeline_entry(struct pipeline *p, struct store_ingest *in,
                   const struct config_feed *feed, const struct feed_entry *e,
                   int *outcome) HF_WUR;

/* Rule that merged the last entry near-duplicate (DEDUP_RULE_*), 0 when
 * it was not merged by level 3. */
int pipeline_last_rule(const struct pipeline *p);

/* The dedup rank of a feed (see above). */
int pipeline_rank(const struct config_feed *feed);

/* helsefeed classify [--explain] ITEM-ID: see cmd_classify.c.  Returns
 * the exit code. */
struct cli;
int cmd_classify(const struct cli *cli, int argc, char **argv);

#endif
