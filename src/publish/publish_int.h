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

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"
#include "helsefeed/text.h"

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
	const char *atom_id;      /* store.h; NULL only before
	                           * store_assign_atom_ids */
	int64_t published, updated, first_seen, last_changed;
	int64_t corrected;        /* last correction, HF_NOTIME none */
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

/*
 * The ids of the items whose time (pub_item_published) is in [from,
 * to) (by_first_seen: whose first_seen is), newest first, into *ids
 * (the caller's, free()), *n how many.  Returns 0, HF_EDB, HF_ENOMEM.
 */
int pubdb_range(struct pubdb *db, int64_t from, int64_t to, int by_first_seen,
                int64_t **ids, size_t *n) HF_WUR;

/* How many visible items have their time in [from, to), and a hash of
 * what their page shows from the store: which items, their last change,
 * their sources and categories.  Returns 0, HF_EDB. */
int pubdb_range_sig(struct pubdb *db, int64_t from, int64_t to, size_t *n,
                    uint64_t *sig) HF_WUR;

/* The oldest and newest item time and first_seen of all items (hidden
 * ones too: the span only bounds the walk), HF_NOTIME each when there
 * are no items.  Returns 0, HF_EDB. */
int pubdb_span(struct pubdb *db, int64_t *tmin, int64_t *tmax,
               int64_t *seen_min, int64_t *seen_max) HF_WUR;

/* The newest hidden_changed of the items first seen in [from, to), 0
 * when none was ever hidden.  Returns 0, HF_EDB. */
int pubdb_hidden_changed(struct pubdb *db, int64_t from, int64_t to,
                         int64_t *out) HF_WUR;

/* Call cb for each enclosure of item `id`, in the feed's order; length
 * -1 when unknown.  Returns 0, HF_EDB, or cb's negative code. */
int pubdb_enclosures(struct pubdb *db, int64_t id,
                     int (*cb)(void *ud, const char *url, const char *type,
                               int64_t length),
                     void *ud) HF_WUR;

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

/* 1 when `u` is an http or https URL: the only links that reach a
 * published file (design: safety rules). */
int pub_web_url(const char *u);

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
 * boundary with "…" appended when cut, without the words of a "read
 * more" link at its end (norm_more_len).  0 or HF_ENOMEM. */
int pub_plain(const char *html, size_t max, struct buf *out) HF_WUR;

/* The time an entry sorts by and the times it shows (RFC 4287 4.2.9,
 * 4.2.15): published when known, else first_seen; updated is the time
 * of its last correction (store_text_sig) when later, so that readers
 * show a corrected entry again and nothing else: not a new source, not
 * a change of primary source, not a feed's own updated date. */
int64_t pub_item_published(const struct pub_item *it);
int64_t pub_item_updated(const struct pub_item *it);

/* The atom:category term of a corrected entry. */
#define PUB_CORRECTED_TERM "oppdatert"

/* For a corrected item (it->corrected set), append the HTML line that
 * says so, "<p class=\"oppdatert\"><em>Oppdatert 07.12.2026 kl.
 * 10:15</em></p>", in zone tz (NULL: UTC); nothing for another item.
 * 0 or HF_ENOMEM. */
int pub_correction_note(const struct tz *tz, const struct pub_item *it,
                        struct buf *out) HF_WUR;

/* Open zone `name` (NULL: Europe/Oslo) for the dates of a page; a zone
 * that cannot be read is logged.  0, HF_EINVAL, HF_ENOMEM (tz_open). */
int pub_tz_open(const char *name, struct tz **out) HF_WUR;
/* "23.05.2022 kl. 10:00" in zone tz.  0 or HF_EINVAL. */
int pub_fmt_nb(const struct tz *tz, int64_t t, char out[32]) HF_WUR;

/* The start (UTC seconds) of the local month `ym` (year * 12 + month
 * - 1) in zone tz, and the `ym` of time t there. */
int64_t pub_month_start(const struct tz *tz, int64_t ym);
int64_t pub_month_of(const struct tz *tz, int64_t t);
/* "2024-05" of a `ym`, and its Norwegian name "mai 2024". */
void pub_month_file(int64_t ym, char out[16]);
void pub_month_name(int64_t ym, char out[32]);

/* --- the files --------------------------------------------------------- */

/* The menu group of a feed's page. */
enum pub_group {
	PUB_GROUP_ALL,     /* all.atom and index.html */
	PUB_GROUP_TOPIC,   /* "Tema": a category, tema/NAME.html */
	PUB_GROUP_KIND,    /* "Avsendere": a kind of source, kjelde/NAME.html */
};

/* What one Atom file carries, and the HTML page that shows the same. */
struct pub_feed {
	const char *file;      /* "all.atom", "tema/covid.atom" */
	const char *page;      /* "index.html", "tema/covid.html" */
	const char *title;     /* atom:title, the page's heading */
	enum pub_filter filter;
	const char *arg;
	enum pub_group group;
	int legacy;            /* an older URL of the same feed, kept: no page
	                        * or menu entry of its own */
	/* An archive document (RFC 5005): the nids entries of ids (may be
	 * NULL when nids is 0) instead of the newest of `filter`, with
	 * fh:archive; prev_archive and current are
	 * file names, NULL for none. */
	const int64_t *ids;
	size_t nids;
	int archive;
	const char *prev_archive, *current;
};

/*
 * Render one Atom file into `out` (atom.c).  The feed's updated is its
 * newest entry's, `empty_updated` when it has none (a fixed time, never
 * `now`: unchanged data must give the same bytes).  *nentries and
 * *updated (may be NULL) get the entry count and the feed's updated.
 * Returns 0, HF_EDB, HF_ENOMEM, HF_ERR (libxml2).
 */
int pub_atom(const struct config *cfg, struct pubdb *db, const char *host,
             const struct tz *tz, const struct pub_feed *feed,
             int64_t empty_updated, struct buf *out, int *nentries,
             int64_t *updated) HF_WUR;

/* One month of the HTML archive, for the pages that link it. */
struct pub_month {
	int64_t ym;            /* year * 12 + month - 1, local */
	size_t n;              /* its stories */
	uint64_t sig;          /* pubdb_range_sig of the month */
};

/* What every HTML page shares (html.c). */
struct pub_site {
	const struct config *cfg;
	struct pubdb *db;
	const struct tz *tz;
	const struct pub_feed *feeds;   /* feeds[0] is all.atom */
	size_t nfeeds;
	int64_t now;                    /* for the "made" stamp only */
};

/* index.html: the latest items of all and of each category. */
int pub_index_html(const struct pub_site *site, struct buf *out) HF_WUR;
/* The page of one category or kind: its newest items. */
int pub_list_html(const struct pub_site *site, const struct pub_feed *feed,
                  struct buf *out) HF_WUR;
/* arkiv/YYYY-MM.html: every story of one month (ids, newest first);
 * months[] (newest first) gives the neighbours; `sig` is written into
 * the page (PUB_SIG) so that the next run can tell it is current
 * without rendering it.  The page is made in `out`; with `sink`, what
 * `out` holds goes to it every PUB_STREAM_CHUNK bytes or so, and the
 * rest is left in `out`. */
#define PUB_STREAM_CHUNK 65536
struct fs_atomic;
int pub_month_html(const struct pub_site *site, const struct pub_month *months,
                   size_t nmonths, size_t which, const int64_t *ids,
                   size_t nids, uint64_t sig, struct fs_atomic *sink,
                   struct buf *out) HF_WUR;

/* "<!-- helsefeed-sig HEX -->": the line after a month page's doctype. */
#define PUB_SIG "<!-- helsefeed-sig "
/* arkiv/index.html: every month, newest first, and the Atom archives. */
int pub_archive_index_html(const struct pub_site *site,
                           const struct pub_month *months, size_t nmonths,
                           struct buf *out) HF_WUR;

/*
 * The marker of a page's "made" stamp: publish_write_page compares a new
 * page with the old one without it, so that a page is rewritten (and
 * its stamp moves) only when its content changed.
 */
#define PUB_MADE_OPEN "<time class=\"made\" datetime=\""
#define PUB_MADE_CLOSE "</time>"

/* publish_write_file for an HTML page with a "made" stamp. */
int pub_write_page(const char *dir, const char *name, const char *data,
                   size_t len, int *changed) HF_WUR;

/* status.html (status.c), from the feeds' states and the digest groups'
 * (digest.h). */
struct digest_group_status;
int pub_status_html(const struct pub_site *site,
                    const struct store_feed_state *fs, size_t n,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out) HF_WUR;
/* feeds.opml (status.c). */
int pub_opml(const struct config *cfg, const struct pub_feed *feeds,
             size_t nfeeds, struct buf *out) HF_WUR;

/* The shared frame of every HTML page (html.c): head, menu, heading,
 * subscribe link and made stamp; `root` leads back to the output
 * directory ("" or "../"), `feed` (may be NULL) is the page's own. */
int pub_page_begin(const struct pub_site *site, struct buf *out,
                   const char *root, const char *title, const char *here,
                   const struct pub_feed *feed, const char *extra_css) HF_WUR;
int pub_page_end(const struct pub_site *site, struct buf *out,
                 const char *root) HF_WUR;

#endif
