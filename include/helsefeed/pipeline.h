/*
 * pipeline.h - what ingest does with one parsed entry: deduplicate
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
 * Merging records the entry in item_sources.  When the entry's feed is
 * more authoritative than the item's primary feed, the entry becomes the
 * primary source: the item's feed, key, title, link, dates, summary and
 * content become the entry's (primary fields follow the primary source,
 * so what is published is the ministry's wording, never a mix).
 *
 * Authority: the rank of a feed is config_feed.authority when set (>= 0),
 * else its kind: ministry 0, directorate 1, hospital 2, municipal 3,
 * other 4.  Lower ranks win; on a tie the first arrival stays primary.
 *
 * For every new or changed primary: fingerprint (title_norm and simhash,
 * written with the item's row; the candidate search of level 3 reads
 * items_fts, dedup.h) and categories: the primary feed's own (origin
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
#ifndef HELSEFEED_PIPELINE_H
#define HELSEFEED_PIPELINE_H

#include "helsefeed/buf.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"
#include "helsefeed/store.h"

/* Outcome beside enum store_outcome: the entry is a story already held
 * under another source (or a merged source's revision). */
#define PIPELINE_MERGED 3
/* Outcomes, for counts indexed by outcome. */
#define PIPELINE_OUTCOMES 4

/* Near-duplicate candidates compared per entry: the best-ranked by shared
 * rare words and title words (store_dedup_candidates).  Bounds the comparisons of an
 * entry whatever the window holds. */
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
