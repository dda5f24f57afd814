/*
 * publish_int.h - what the files of the publish module share
 * (publish.c, publish_atom.c, publish_html.c, publish_status.c,
 * publish_util.c, store_publish.c).  Not part of the contract: publish.h
 * is.
 */
#ifndef HELSEFEED_PUBLISH_INT_H
#define HELSEFEED_PUBLISH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/buf.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"
#include "helsefeed/tz.h"

/* --- store_publish.c: read queries on the store's connection ----------- */

/* Which items one output file carries. */
enum pub_filter {
	PUB_ALL,
	PUB_CATEGORY,  /* arg: a [category] name */
	PUB_KIND,      /* arg: a feed kind name */
};

/* One item with its primary source.  Every string is borrowed from the
 * query and valid until the next pubdb_item call; NULL for SQL NULL.
 * Times are HF_NOTIME when unknown. */
struct pub_item {
	int64_t id;
	int64_t feed_id;
	const char *feed_name, *feed_title, *feed_url;
	const char *key, *guid, *title, *link, *author, *summary, *content;
	int64_t published, updated, first_seen, last_changed;
	int64_t revision;
};

struct pubdb;

/* Prepare the statements of one publish run.  *out is the caller's
 * (pubdb_close).  Returns 0, HF_EDB, HF_ENOMEM. */
int pubdb_open(struct store *st, struct pubdb **out) HF_WUR;
void pubdb_close(struct pubdb *db);

/*
 * The ids of the newest `limit` items of `filter` (by published, else
 * first_seen; ties by id), newest first, into ids[] (room for `limit`),
 * *n set to how many.  Returns 0, HF_EDB.
 */
int pubdb_newest(struct pubdb *db, enum pub_filter filter, const char *arg,
                 int limit, int64_t *ids, size_t *n) HF_WUR;

/* Append the EXPLAIN QUERY PLAN of the query that pubdb_newest runs for
 * `filter` and `arg`, one step a line, to `out`: tests pin that every
 * walk goes through an index.  0 or HF_*. */
int pubdb_explain(struct pubdb *db, enum pub_filter filter, const char *arg,
                  int limit, struct buf *out) HF_WUR;

/* The active feeds' states, by name, as store_feed_states gives them
 * but with items = -1 (not counted: that reads a whole index).  *out is
 * the caller's (store_feed_states_free).  0, HF_EDB, HF_ENOMEM. */
int pubdb_feed_states(struct pubdb *db, struct store_feed_state **out,
                      size_t *n) HF_WUR;

/* Load item `id` into *it.  Returns 0, HF_EINVAL (no such item), HF_EDB. */
int pubdb_item(struct pubdb *db, int64_t id, struct pub_item *it) HF_WUR;

/* Call cb for each distinct category of item `id`, by name.  A negative
 * return of cb stops and is returned.  Returns 0, HF_EDB. */
int pubdb_categories(struct pubdb *db, int64_t id,
                     int (*cb)(void *ud, const char *category), void *ud) HF_WUR;

/* Call cb for every source of item `id` other than feed `primary`, by
 * feed name: the feed's name and title and the source's link (each may
 * be NULL but the name).  Returns 0, HF_EDB, or cb's negative code. */
int pubdb_sources(struct pubdb *db, int64_t id, int64_t primary,
                  int (*cb)(void *ud, const char *name, const char *title,
                            const char *link),
                  void *ud) HF_WUR;

/* --- publish_util.c ---------------------------------------------------- */

/* 1 when `s` is an absolute URI (RFC 3986 3.1 scheme, then no white
 * space, controls or characters RFC 3987 excludes), else 0. */
int pub_is_uri(const char *s);

/* Append `s` with what XML 1.0 (section 2.2) forbids removed: C0
 * controls but tab, LF and CR, U+FFFE, U+FFFF; invalid UTF-8 becomes
 * U+FFFD.  NULL appends nothing.  0 or HF_ENOMEM. */
int pub_xml_clean(const char *s, struct buf *out) HF_WUR;

/* The same, then HTML-escaped (sanitize_escape).  0 or HF_ENOMEM. */
int pub_html_text(const char *s, struct buf *out) HF_WUR;

/* Plain text of sanitised HTML, cut at `max` bytes on a character
 * boundary with "…" appended when cut.  0 or HF_ENOMEM. */
int pub_plain(const char *html, size_t max, struct buf *out) HF_WUR;

/* The time an entry sorts by and the times it shows (RFC 4287 4.2.9,
 * 4.2.15): published when known, else first_seen; updated is the newest
 * of the entry's updated and published, and for a changed item
 * (revision > 1) of its last_changed too, so readers show it again. */
int64_t pub_item_published(const struct pub_item *it);
int64_t pub_item_updated(const struct pub_item *it);

/* Open zone `name` (NULL: Europe/Oslo) for the dates of a page; a zone
 * that cannot be read is logged.  0, HF_EINVAL, HF_ENOMEM (tz_open). */
int pub_tz_open(const char *name, struct tz **out) HF_WUR;
/* "23.05.2022 kl. 10:00" in zone tz.  0 or HF_EINVAL. */
int pub_fmt_nb(const struct tz *tz, int64_t t, char out[32]) HF_WUR;

/* --- the files --------------------------------------------------------- */

/* What one Atom file carries. */
struct pub_feed {
	const char *file;      /* "all.atom" */
	const char *title;     /* atom:title */
	enum pub_filter filter;
	const char *arg;
};

/*
 * Render one Atom file into `out` (publish_atom.c).  The feed's updated
 * is its newest entry's, `empty_updated` when it has none (a fixed time,
 * never `now`: unchanged data must give the same bytes).  *nentries and
 * *updated (may be NULL) get the entry count and the feed's updated.
 * Returns 0, HF_EDB, HF_ENOMEM, HF_ERR (libxml2).
 */
int pub_atom(const struct config *cfg, struct pubdb *db, const char *host,
             const struct pub_feed *feed, int64_t empty_updated,
             struct buf *out, int *nentries, int64_t *updated) HF_WUR;

/* index.html (publish_html.c). */
int pub_index_html(const struct config *cfg, struct pubdb *db,
                   const struct pub_feed *feeds, size_t nfeeds,
                   struct buf *out) HF_WUR;

/* status.html, status.json (publish_status.c), from the feeds' states
 * and the digest groups' (digest.h). */
struct digest_group_status;
int pub_status_html(const struct config *cfg,
                    const struct store_feed_state *fs, size_t n, int64_t now,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out) HF_WUR;
int pub_status_json(const struct config *cfg,
                    const struct store_feed_state *fs, size_t n, int64_t now,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out) HF_WUR;
/* feeds.opml (publish_status.c). */
int pub_opml(const struct config *cfg, const struct pub_feed *feeds,
             size_t nfeeds, struct buf *out) HF_WUR;

/* A feed is stale when it has failed for longer than stale_after. */
int pub_feed_stale(const struct config *cfg, const struct store_feed_state *s,
                   int64_t now);

#endif
