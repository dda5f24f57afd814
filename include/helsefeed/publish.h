/*
 * publish.h - the output directory: Atom feeds, HTML pages for people,
 * archives, the status page, status.json, feeds.opml and feed.xsl.
 *
 * Files written (cfg->output, created when missing):
 *   index.html            the latest items of all and of each category;
 *                         its menu links every page below, grouped
 *                         "Tema" (categories) and "Avsendere" (kinds)
 *   all.atom              every item
 *   tema/NAME.html, tema/NAME.atom       one per [category] section
 *   kjelde/KIND.html, kjelde/KIND.atom   one per feed kind (ministry,
 *                         directorate, hospital, municipal, other) that
 *                         has a feed, or had one: once published, a
 *                         kind's files stay, empty when its last feed
 *                         is gone
 *   arkiv/index.html      every month; arkiv/YYYY-MM.html every story
 *                         of that month (local time): with the pages
 *                         above they reach every story ever published
 *   arkiv/YYYY-MM.atom    RFC 5005 archived feeds: the items first
 *                         published (first_seen, UTC) in that month,
 *                         written once the month is over and a day has
 *                         passed, then never changed unless an editor
 *                         hides or shows again one of its items;
 *                         all.atom links the newest as prev-archive,
 *                         each the one before it
 *   status.html, status.json   every feed's health, problems first
 *   feeds.opml            the configured sources and the merged feeds
 *   feed.xsl              an extra: renders an Atom file in a browser
 *                         that still runs XSLT; nothing depends on it
 * Published URLs never move: the feeds of earlier versions stay where
 * they were, with the same content (<category>.atom, <kind>.atom, or
 * kind-<kind>.atom where a category had the kind's name).
 *
 * Only http(s) URLs reach a file: a feed read from a file:// URL (the
 * offline sample) is named by a tag: id and has no links.  Hidden items
 * (store_item_set_hidden) and the items of feeds removed from feeds.conf
 * (inactive after store_sync_feeds) are in no file.
 *
 * Atom follows RFC 4287.  A feed's id is base_url + its file name.  An
 * entry's id is the item's own atom:id (store.h): given by helsefeed when
 * the item is first stored, random, unique, and never changed by an
 * update, a merge or a new primary source.  An item stored before
 * schema 9 keeps the id it was published with (publish_entry_id),
 * given at the first publish after the upgrade (store_assign_atom_ids).
 *
 * Every other source of a story is named: a rel="via" link per source
 * in Atom, "Også omtalt av" with links on the pages.  The credited
 * source (atom:source, the page's byline) is the item's primary source,
 * which ingest chooses.  A corrected item (its title or summary changed
 * in words, not only in white space or markup: store_text_sig) says
 * "Oppdatert DD.MM.YYYY kl. HH:MM" before its text, in the configured
 * time zone, and carries the category "oppdatert"; its atom:updated is
 * the time of that correction.  Nothing else moves atom:updated: not a
 * new source, not a change of primary source.
 *
 * The Atom files and OPML depend on the data alone, so publishing
 * unchanged data produces identical bytes; such a file is not rewritten
 * (its mtime and inode stay).  An HTML page says when it was made
 * (<time class="made">): it is rewritten, with a new stamp, only when
 * the rest of it changed.  status.html and status.json carry the time
 * they were generated and change on every run.  Every file is written to
 * a temporary name in the same directory, fsync'd and renamed, so a
 * reader sees the old file or the new one, never half of one.
 *
 * Cost: a fixed number of indexed queries per feed and page, each with
 * a LIMIT; for the archive, one indexed range query per month, and the
 * stories of a month read only when its page or Atom document must be
 * written again (its signature changed, or the month was completed).
 */
#ifndef HELSEFEED_PUBLISH_H
#define HELSEFEED_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/store.h"

/* Items per category on index.html: a page to skim on a phone, the
 * feeds carry the rest. */
#define PUBLISH_INDEX_ITEMS 10
/* Items on the page of one category or kind; the archive has the rest. */
#define PUBLISH_PAGE_ITEMS 30
/* An Atom archive month is complete, and written, this long after its
 * end: an ingest that began before midnight commits after it. */
#define PUBLISH_ARCHIVE_GRACE (24 * 3600)
/* Plain-text summary on index.html, in bytes of UTF-8. */
#define PUBLISH_INDEX_SUMMARY 280
/* Output files are world-readable: a web server serves them. */
#define PUBLISH_FILE_MODE 0644
#define PUBLISH_DIR_MODE 0755

struct publish_stats {
	int files;            /* files published (written or already current) */
	int changed;          /* of which written in this run */
	int entries;          /* Atom entries written, all files together */
	int64_t elapsed_ms;
};

/*
 * Write every output file of `cfg` from the store into cfg->output.
 * `now` (UTC seconds) only decides which feeds are stale.
 * Returns 0 and *out (may be NULL), or HF_ECONFIG (no output or
 * base_url), HF_EIO (directory or file could not be written; logged
 * with the path), HF_EINVAL (an ingest is open on `st`), HF_EDB,
 * HF_ENOMEM, HF_ERR (the XML writer failed).  Files
 * written before a failure stay: each one is complete.
 */
int publish_run(const struct config *cfg, struct store *st, int64_t now,
                struct publish_stats *out) HF_WUR;

/*
 * Make `dir`/`name` hold exactly `len` bytes of `data`: when the file
 * already has these bytes nothing is touched and *changed = 0; else the
 * data goes to a temporary file in `dir` (mode PUBLISH_FILE_MODE), which
 * is fsync'd and renamed over `name`, and *changed = 1.  The caller
 * fsyncs the directory (fs_sync_dir) once after its last rename.
 * Returns 0 or HF_EIO (logged with the path).
 */
int publish_write_file(const char *dir, const char *name, const char *data,
                       size_t len, int *changed) HF_WUR;

/*
 * Append the Atom id that publishes before schema 9 gave an entry to
 * `out`: `guid` when it is an absolute URI (RFC 3986 section 3.1 scheme,
 * no white space), else "tag:HOST,2024:item/FEED/HASH" (RFC 4151) from
 * `host` (of base_url), `feed_name` (the primary source) and the FNV-1a
 * of `key`.  Only for the items of those databases: a feed can choose
 * such an id, so a new item never gets one (store.h, atom:id).
 * Returns 0 or HF_ENOMEM.
 */
int publish_entry_id(const char *host, const char *feed_name, const char *key,
                     const char *guid, struct buf *out) HF_WUR;

/* Append the host of `url` (lower-cased, without user info or port) to
 * `out`; "localhost" when the URL has none.  Returns 0 or HF_ENOMEM. */
int publish_url_host(const char *url, struct buf *out) HF_WUR;

/*
 * Format UTC seconds as Norwegian local time in zone `tz` (IANA; NULL:
 * Europe/Oslo): "23.05.2022 kl. 10:00".  Returns 0 or HF_EINVAL.
 */
int publish_date_nb(int64_t t, const char *tz, char out[32]) HF_WUR;

/* --- the health of a feed: status.html, status.json, `status` --------- */

enum publish_severity {
	PUBLISH_OK = 0,        /* the exit codes of monitoring plugins */
	PUBLISH_WARNING = 1,
	PUBLISH_CRITICAL = 2,
};

/* One feed's health, worst state first: gone (410: paused, critical),
 * failing (critical when stale: failing for longer than stale_after),
 * moved (a permanent redirect: feeds.conf should say so), silent
 * (answers, but no new story for silent_after), never fetched, ok. */
struct publish_health {
	const char *state;     /* "gone" "failing" "moved" "silent" "never" "ok" */
	const char *label;     /* "borte" "feiler" "flyttet" "stille"
	                        * "aldri hentet" "OK" */
	enum publish_severity severity;
	int stale, silent;     /* flags, also beside a worse state */
};

void publish_feed_health(const struct config *cfg,
                         const struct store_feed_state *s, int64_t now,
                         struct publish_health *out);

/*
 * Append what the admin should do about feed `s` (Norwegian, one or two
 * sentences, dates in cfg->timezone), nothing when all is well.  The CLI
 * and the status page print the same text.  0 or HF_ENOMEM.
 */
int publish_feed_advice(const struct config *cfg, const struct store_feed_state *s,
                        int64_t now, struct buf *out) HF_WUR;

/* Order states problems first (severity, then state, then name). */
void publish_status_sort(const struct config *cfg, struct store_feed_state *v,
                         size_t n, int64_t now);

/*
 * Append the summary line "12 OK · 2 feiler · 1 borte · 1 flyttet ·
 * 1 stille" (states with no feed left out, OK always) and set *severity
 * (may be NULL) to the worst of the feeds.  0 or HF_ENOMEM.
 */
int publish_status_summary(const struct config *cfg,
                           const struct store_feed_state *v, size_t n,
                           int64_t now, struct buf *out,
                           enum publish_severity *severity) HF_WUR;

/*
 * status.json, the one schema of the published file and of `status
 * --json` (doc/helsefeed.1, STATUS JSON): generated at `now`, the feeds
 * in the order given.  A state's items < 0 writes "items": null.
 * 0, HF_ENOMEM, HF_EINVAL (the time zone cannot be read).
 */
struct digest_group_status;
int publish_status_json(const struct config *cfg,
                        const struct store_feed_state *v, size_t n, int64_t now,
                        const struct digest_group_status *dg, size_t ndg,
                        struct buf *out) HF_WUR;

/* --- metrics_file ------------------------------------------------------ */

/* What the service knows of its last cycle. */
struct publish_cycle {
	int64_t cycle_ms;       /* wall time of the fetches */
	int64_t publish_ms;     /* of the publish */
	int digests_sent;       /* since the start */
	int digests_failed;
};

/*
 * The Prometheus text format (version 0.0.4) of the feeds' states and
 * the cycle into `out`: per feed helsefeed_feed_up, _severity,
 * _last_success_timestamp_seconds, _failures, _items; then
 * helsefeed_digests_sent_total, _failed_total,
 * helsefeed_cycle_duration_seconds, helsefeed_publish_duration_seconds,
 * helsefeed_last_cycle_timestamp_seconds.  0 or HF_ENOMEM.
 */
int publish_metrics(const struct config *cfg, const struct store_feed_state *v,
                    size_t n, int64_t now, const struct publish_cycle *c,
                    struct buf *out) HF_WUR;

/* Write them to cfg->metrics_file (nothing when it is unset), replaced
 * atomically.  0, HF_EDB, HF_EIO (logged with the path), HF_ENOMEM. */
int publish_write_metrics(const struct config *cfg, struct store *st,
                          int64_t now, const struct publish_cycle *c) HF_WUR;

/* The stylesheet written as feed.xsl (publish/feed.xsl in the source). */
extern const char publish_feed_xsl[];

/* `helsefeed [-c FILE] publish`: see cli.h for the conventions. */
int cmd_publish(const struct cli *cli, int argc, char **argv);

#endif
