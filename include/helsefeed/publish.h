/*
 * publish.h - the output directory: merged Atom feeds, index.html, the
 * status page, status.json, feeds.opml and the stylesheet feed.xsl.
 *
 * Files written (cfg->output, created when missing):
 *   all.atom              every item
 *   <category>.atom       one per [category] section
 *   <kind>.atom           one per feed kind (ministry, directorate,
 *                         hospital, municipal, other) that has a feed
 *   index.html            the latest items per category
 *   status.html, status.json   every feed's health
 *   feeds.opml            the configured sources and the merged feeds
 *   feed.xsl              renders an Atom file in a browser
 *
 * Atom follows RFC 4287.  Ids never depend on row ids or on the machine:
 * a feed's id is base_url + its file name; an entry's id is the original
 * guid when that is an absolute URI, else
 * "tag:HOST,2024:item/FEED/HASH" (RFC 4151) with HOST from base_url, FEED
 * the primary source's name and HASH the FNV-1a of the entry's key.
 *
 * Nothing written depends on `now` except the stale flags of the status
 * files, so publishing unchanged data produces identical bytes; such a
 * file is not rewritten (its mtime and inode stay).  Every other file is
 * written to a temporary name in the same directory, fsync'd and renamed,
 * so a reader sees the old file or the new one, never half of one.
 *
 * Cost: a fixed number of indexed queries, each with LIMIT max_entries;
 * time and memory do not grow with the database (see bench/publish/).
 */
#ifndef HELSEFEED_PUBLISH_H
#define HELSEFEED_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/buf.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/store.h"

/* Items per category on index.html: a page to skim on a phone, the
 * feeds carry the rest. */
#define PUBLISH_INDEX_ITEMS 10
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
 * fsyncs the directory (publish_sync_dir) once after its last rename.
 * Returns 0 or HF_EIO (logged with the path).
 */
int publish_write_file(const char *dir, const char *name, const char *data,
                       size_t len, int *changed) HF_WUR;

/* fsync a directory so that renames in it survive a power loss.
 * Returns 0 or HF_EIO. */
int publish_sync_dir(const char *dir) HF_WUR;

/*
 * Append the Atom id of an entry to `out`: `guid` when it is an absolute
 * URI (RFC 3986 section 3.1 scheme, no white space), else the tag URI
 * described above from `host`, `feed_name` and `key`.
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

/* The stylesheet written as feed.xsl (publish/feed.xsl in the source). */
extern const char publish_feed_xsl[];

/* `helsefeed [-c FILE] publish`: see cli.h for the conventions. */
int cmd_publish(const struct cli *cli, int argc, char **argv);

#endif
