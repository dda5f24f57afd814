/*
 * store.h - the SQLite database: feeds, their health, fetch attempts,
 * items, their sources and categories, digest bookkeeping.
 *
 * SQLite as shipped: the default VFS, one connection per struct store
 * and one struct store per process, used from the process's one thread.
 * Every state change is one transaction, so a crash at any point loses
 * nothing that was committed.  The database runs in WAL mode with
 * synchronous=NORMAL: the file can never be corrupted by a crash, and a
 * power loss can lose at most the last transactions committed since the
 * last checkpoint's sync, never half of one.  Checkpoints are SQLite's
 * automatic ones, made by the commit that crosses 1000 pages of WAL, and
 * store_checkpoint's after a publish.  Readers (`status`, `publish` in
 * another process) never block the writer.
 *
 * Every value from a feed reaches SQLite through sqlite3_bind_*: quotes,
 * semicolons and NUL-free UTF-8 of any kind are stored verbatim.
 *
 * Times are UTC seconds since the epoch.  In struct store_feed_state, 0
 * means "never" / "none"; in items, HF_NOTIME (feed.h) is stored as NULL.
 *
 * Errors: functions return 0 or a negative HF_* code.  HF_EDB carries a
 * message naming the database file, what failed and SQLite's own text; it
 * is logged (util.h) and kept until the next failure (store_errmsg).
 */
#ifndef HELSEFEED_STORE_H
#define HELSEFEED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"

/* The schema version this program writes (PRAGMA user_version), and
 * the oldest one store_open upgrades. */
#define STORE_SCHEMA_VERSION 12
#define STORE_SCHEMA_OLDEST 8

struct store;
struct store_ingest;

/*
 * Open (creating when absent) the database at `path`.  A new database
 * gets the schema of STORE_SCHEMA_VERSION in one transaction.  One of
 * an older version (STORE_SCHEMA_OLDEST or later) is first copied to
 * `path`.bak-vN, N its version (the SQLite backup API, logged at info
 * level), then upgraded in one transaction that holds the write lock
 * from the copy on.  An existing `path`.bak-vN is never replaced: the
 * upgrade waits until it is moved away.  The directory must exist: open
 * does not create it.
 *
 * Returns 0 and *out (the caller's, store_close), or:
 *   HF_EVERSION  the file's schema is newer than this program knows, or
 *                older than STORE_SCHEMA_OLDEST: nothing was touched;
 *   HF_EIO       the copy's file cannot be created (it exists, or the
 *                directory is not writable): nothing was touched;
 *   HF_EDB       the file cannot be opened or created, is not a database,
 *                or the copy or the upgrade failed (rolled back; a
 *                copy made for it is removed);
 *   HF_ENOMEM.
 * On failure one line naming `path` is appended to `err` (logged when
 * `err` is NULL).
 */
int store_open(const char *path, struct store **out, struct buf *err) HF_WUR;

/* Close the database.  An ingest still open is rolled back and freed.
 * NULL is allowed. */
void store_close(struct store *st);

/*
 * The same database for reading only, beside a running service (WAL):
 * nothing is created, upgraded or written.  A database of another
 * schema version is refused (HF_EVERSION: the message says which).  Its
 * connection is the process's one, as with store_open.
 */
int store_open_readonly(const char *path, struct store **out, struct buf *err) HF_WUR;

/* The message of the last failure of this store, "" when none.  Borrowed,
 * valid until the next call on `st`. */
const char *store_errmsg(const struct store *st);

/*
 * Copy the WAL back into the database file as far as no reader of an
 * older snapshot needs it, without waiting for anyone: PRAGMA
 * wal_checkpoint(PASSIVE).  Called when a publish has finished (the
 * daemon, the `publish` command): the pages an ingest wrote go back to
 * the file in the quiet after it rather than in the next commit.
 * Returns 0, HF_EINVAL (an ingest is open), HF_EDB (logged, naming the
 * file); a failed checkpoint loses nothing: the next one copies it.
 */
int store_checkpoint(struct store *st);

/*
 * Make the feeds table match the configuration, in one transaction: every
 * configured feed gets a row (name, url, kind, title) and is active; a
 * feed no longer configured is marked inactive, its items and history
 * kept.  When a feed's configured URL changed, what was learnt about the
 * old one is forgotten: effective URL, validators, gone flag, failure
 * count and schedule.
 * Returns 0, HF_EDB, HF_ENOMEM.
 */
int store_sync_feeds(struct store *st, const struct config *cfg) HF_WUR;

/* What the scheduler, fetcher and status page know about one feed.  All
 * strings are owned by the struct (store_feed_state_clear). */
struct store_feed_state {
	int64_t id;
	char *name;
	char *url;            /* effective URL to fetch: moved_to, else the
	                         configured one */
	char *etag;           /* validators for a conditional GET, or NULL */
	char *last_modified;
	int64_t next_fetch;   /* 0: due now */
	int64_t last_attempt, last_success, failing_since, retry_after;
	int failures;         /* consecutive failed attempts */
	int gone;             /* the server said 410 Gone */
	int last_status;      /* HTTP status of the last attempt, 0 if none */
	char *last_error;     /* text of the last failure, NULL after success */
	char *moved_to;       /* permanent redirect target learnt, or NULL */
	int64_t items;        /* stories this feed carried: its own items and
	                         those of other feeds it was merged into */
	int active;           /* still in the configuration */
	int64_t last_new;     /* when it last brought a story we had not
	                         seen (first_seen), 0 never */
};

/*
 * Fill *out for the feed named `name` (active or not).  Returns 0,
 * HF_EINVAL when no such feed was ever synced, HF_EDB, HF_ENOMEM; *out is
 * written only on success.
 */
int store_feed_state(struct store *st, const char *name,
                     struct store_feed_state *out) HF_WUR;
void store_feed_state_clear(struct store_feed_state *s);

/* All active feeds, ordered by name; *out is the caller's
 * (store_feed_states_free).  *out may be NULL when *n is 0. */
int store_feed_states(struct store *st, struct store_feed_state **out,
                      size_t *n) HF_WUR;
void store_feed_states_free(struct store_feed_state *v, size_t n);

/* One fetch attempt, as the fetcher saw it.  Strings are borrowed. */
struct store_fetch_result {
	int64_t started;          /* when the attempt began */
	int64_t duration_ms;
	int http_status;          /* 0 when no response arrived */
	int64_t bytes;            /* body bytes received */
	const char *error;        /* NULL on success */
	/* New validators.  On success they are stored exactly as given (NULL
	 * clears one), except after 304 Not Modified where NULL keeps the
	 * stored one (the server confirmed it).  On error both are kept. */
	const char *etag, *last_modified;
	/* Permanent redirect target, or NULL.  Stored on success only: a
	 * redirect to a broken URL must not replace a working one. */
	const char *moved_to;
	int gone;                 /* 410 Gone: stored as given, every time */
	int64_t next_fetch;       /* chosen by the scheduler; 0: due now */
	int64_t retry_after;      /* Retry-After of a 429/503, 0: none */
	int items_new, items_updated;  /* store_record_fetch only */
	int not_modified;         /* the answer was 304 */
};

/*
 * Record an attempt that stored no items (304, transfer or parse error),
 * in its own transaction: one fetches row plus the feed's health.
 * Success resets failures, failing_since and last_error; an error bumps
 * failures, sets failing_since when unset and keeps the validators.
 * Returns 0, HF_EINVAL (unknown feed), HF_EDB, HF_ENOMEM.
 */
int store_record_fetch(struct store *st, const char *feed_name,
                       const struct store_fetch_result *res) HF_WUR;

/* --- ingest: one transaction per feed ---------------------------------- */

/* Outcome of store_ingest_entry. */
enum store_outcome {
	STORE_UNCHANGED = 0,  /* same key, same raw_hash: nothing written */
	STORE_NEW,            /* a new item */
	STORE_UPDATED,        /* same key, new content: updated in place */
};

/* Item flags: bits 0-15 are the FEED_ENTRY_* flags of the stored revision
 * (replaced on update); the bits above belong to later modules and are
 * kept across updates. */
#define STORE_ITEM_ENTRY_FLAGS 0xffffu

/*
 * Start the ingest of one fetched document of feed `feed_name` (synced
 * before by store_sync_feeds); `now` is the time stamped on new and
 * changed rows.  Opens a write transaction (BEGIN IMMEDIATE): only one
 * ingest per store at a time.  *out is freed by store_ingest_commit or
 * store_ingest_abort, exactly one of them.
 * Returns 0, HF_EINVAL (unknown feed, or an ingest already open), HF_EDB,
 * HF_ENOMEM.
 */
int store_ingest_begin(struct store *st, const char *feed_name, int64_t now,
                       struct store_ingest **out) HF_WUR;

/*
 * 1 when this feed already carried an entry with `key` and the same
 * raw_hash (as the primary source or as a merged one): nothing needs to be
 * done and nothing is touched.  0 otherwise, negative HF_* on error.
 */
int store_ingest_known(struct store_ingest *in, const char *key,
                       uint64_t raw_hash) HF_WUR;

/*
 * Store one entry under (feed, e->key).  *outcome (may be NULL) says what
 * happened:
 *   STORE_NEW      a new item; first_seen = last_changed = now, revision 1;
 *   STORE_UPDATED  same key, different raw_hash: fields replaced, revision
 *                  bumped, updated = e->updated or now, last_changed = now;
 *                  the item's categories and dedup fingerprint are
 *                  cleared, for the caller to set again;
 *   STORE_UNCHANGED nothing written.
 * A new or updated item is its own primary source (item_sources holds
 * the merged ones; item_sources_all lists both) and also gets the entry's
 * own <category> texts (item_entry_categories) and, for an http(s) link,
 * its canonical URL (norm_url_canon; a link it rejects gets none).  A new
 * item whose key was a merged source of another item is that no longer.
 * The item's id is then store_ingest_item_id().
 * Returns 0, HF_EDB, HF_ENOMEM.  After a failure the ingest can only be
 * aborted: store_ingest_commit rolls back and returns the first error.
 */
int store_ingest_entry(struct store_ingest *in, const struct feed_entry *e,
                       int *outcome) HF_WUR;

/* Where an item's category comes from, as bits of store_category.origins. */
#define STORE_CAT_FEED  1u        /* the feed's own categories */
#define STORE_CAT_RULE  2u        /* keyword rules */
#define STORE_CAT_ENTRY 4u        /* the entry's <category>, mapped */

/* One category of an item. */
struct store_category {
	const char *name;         /* a [category] name: [a-z0-9_-]+ */
	unsigned origins;         /* STORE_CAT_* ORed, not 0 */
};

/*
 * What the caller knows of an entry before it is stored (pipeline.c has
 * looked its key up with store_dedup_source): store_ingest_entry_with
 * then skips its own look-ups, and stores the dedup fingerprint and the
 * categories in the same write instead of leaving them NULL.
 */
struct store_entry_hint {
	int64_t item_id;          /* the feed's own item with e->key, 0 none;
	                           * the key is no merged source of the feed */
	uint64_t raw_hash;        /* of that item */
	const char *title_norm;   /* fingerprint as store_item_set_fingerprint */
	uint64_t simhash;         /* takes it; NULL title_norm: none */
	const struct store_category *cats;  /* as store_item_set_categories */
	size_t ncats;
};

/* store_ingest_entry with a hint (NULL: none); the same outcomes. */
int store_ingest_entry_with(struct store_ingest *in, const struct feed_entry *e,
                            const struct store_entry_hint *hint,
                            int *outcome) HF_WUR;

/* Id of the item the last store_ingest_entry call stored or found, 0
 * before the first. */
int64_t store_ingest_item_id(const struct store_ingest *in);

/*
 * The canonical URL store_ingest_entry stores for `link` (norm_url_canon;
 * NULL for no link, another scheme than http(s), or a link it rejects)
 * into *out, owned by the ingest until the next call.  The last result is
 * kept: asking again for the same link costs a compare.
 * Returns 0, HF_ENOMEM.
 */
int store_ingest_canon(struct store_ingest *in, const char *link,
                       const char **out) HF_WUR;

/*
 * The item whose canonical URL is `canon_url` (the oldest when several),
 * for cross-feed deduplication.  Returns 1 and *item_id when found, 0 when
 * none, negative HF_* on error.
 */
int store_ingest_find_canon(struct store_ingest *in, const char *canon_url,
                            int64_t *item_id) HF_WUR;

/*
 * Record that this feed carries entry `e` as the same story as item
 * `item_id` (found by dedup) instead of storing a new item: the
 * item_sources row (key, raw_hash, link, guid) is inserted or refreshed,
 * so store_ingest_known skips the entry next time.
 * Returns 0, HF_EDB, HF_ENOMEM.
 */
int store_ingest_add_source(struct store_ingest *in, int64_t item_id,
                            const struct feed_entry *e) HF_WUR;

/*
 * Set the categories of item `item_id` to the `n` of `cats` (n == 0:
 * none), replacing what it had: a row of item_categories per category
 * and origin.  A name given twice counts once with its origins ORed.
 * Returns 0, HF_EINVAL (no item `item_id`, a name not [a-z0-9_-]+,
 * origins 0 or unknown: nothing changed, the ingest goes on), HF_EDB,
 * HF_ENOMEM.
 */
int store_item_set_categories(struct store_ingest *in, int64_t item_id,
                              const struct store_category *cats,
                              size_t n) HF_WUR;

/*
 * Set the dedup fingerprint of item `item_id`: normalised title (NULL
 * clears) and 64-bit similarity hash.  store_ingest_entry leaves it
 * empty (store_ingest_entry_with sets it from its hint); an item stored
 * without a hint moves store_dedup_epoch, as the pipeline's same-story
 * index did not see it.  Returns 0, HF_EDB, HF_ENOMEM.
 */
int store_item_set_fingerprint(struct store_ingest *in, int64_t item_id,
                               const char *title_norm,
                               uint64_t simhash) HF_WUR;

/*
 * Commit the items together with the fetch record and the feed's health
 * (as store_record_fetch, whose rules apply; items_new and items_updated
 * are counted by the ingest itself, res's are ignored), in the same
 * transaction.  Frees `in` in every case.  After an earlier failure of
 * the ingest, rolls back and returns that failure.
 * Returns 0, HF_EDB, HF_ENOMEM.
 */
int store_ingest_commit(struct store_ingest *in,
                        const struct store_fetch_result *res) HF_WUR;

/* Roll back everything of this ingest and free it.  NULL is allowed. */
void store_ingest_abort(struct store_ingest *in);

/* --- identity: atom:id and corrections (identity.c) --------------------- */

/*
 * Every item has an atom:id of its own, items.atom_id, unique among
 * items: "urn:uuid:" and a version 7 UUID (RFC 9562: the time in
 * milliseconds, then 74 random bits from getrandom), given when the
 * item is first stored.  No feed can choose or predict it, and nothing
 * changes it afterwards: not an update, not a merge, not a change of
 * the primary source.  Items stored before schema 9 have none until
 * store_assign_atom_ids gives them the one they were published with.
 */
#define STORE_ATOM_ID_SIZE 46     /* "urn:uuid:" + 36 + NUL */

/*
 * Give every item without an atom:id (stored before schema 9) the id
 * `legacy` makes from its primary feed's name, its key and guid (the
 * formula of the publishes before schema 9), in one transaction, oldest
 * item first.  When another item holds that id already, the item gets
 * a new random one instead (logged): two items never share an id.
 * *n (may be NULL): how many items got one.
 * Returns 0, HF_EINVAL (an ingest is open), HF_EIO (getrandom), HF_EDB,
 * HF_ENOMEM, or legacy's negative code (nothing changed then).
 */
int store_assign_atom_ids(struct store *st,
                          int (*legacy)(void *ud, const char *feed,
                                        const char *key, const char *guid,
                                        struct buf *out),
                          void *ud, int64_t *n) HF_WUR;

/*
 * The signature of an item's text as a reader sees it: the title, the
 * summary and the content (NULL: none) with references decoded, markup
 * stripped and white space collapsed (norm_text).  Two texts that differ only in white space or
 * markup have the same signature; a change of a word does not.  An item
 * whose signature changes on an update is corrected (items.corrected =
 * the time of the update): its entry says "Oppdatert" and its
 * atom:updated moves.  Returns 0, HF_ENOMEM.
 */
int store_text_sig(const char *title, const char *summary,
                   const char *content, int64_t *out) HF_WUR;

/* --- queries ----------------------------------------------------------- */

/* Number of items whose primary source is feed `feed_name` (NULL: all
 * items).  An unknown feed has 0.  Returns 0, HF_EDB. */
int store_count_items(struct store *st, const char *feed_name,
                      int64_t *out) HF_WUR;

/* Delete fetch records that started before `before`: the history is for
 * the status page, not kept forever.  Returns 0, HF_EDB. */
int store_prune_fetches(struct store *st, int64_t before) HF_WUR;

/* --- items for admins (items.c): list, inspect, hide, prune ------------ */

/* Which items store_items_list gives; NULL / 0 / HF_NOTIME: no filter. */
struct store_items_query {
	const char *category;     /* a [category] name */
	const char *feed;         /* a [feed] name: its own and merged items */
	int64_t since;            /* item time (published, else first_seen)
	                           * at or after this; HF_NOTIME: any */
	const char *search;       /* words, each a prefix ("sjuke" finds
	                           * "sjukehus"), all of them in the title or
	                           * summary (items_fts) */
	int limit;                /* at most this many, > 0 */
	int with_hidden;          /* also hidden items */
};

/* One item as store_items_list and store_item_get give it.  Strings are
 * borrowed, valid during the callback or until the next call on `st`;
 * NULL for none.  Times HF_NOTIME when unknown. */
struct store_item_row {
	int64_t id;
	const char *feed, *title, *link, *guid, *author, *summary, *content;
	const char *categories;   /* "covid hospitals": names, by name */
	int64_t published, updated, first_seen, last_changed, t;
	int64_t revision;
	int hidden;
	const char *title_norm;   /* the dedup fingerprint's title */
};

/*
 * Call cb for every item of `q`, newest first (item time, then id).  A
 * negative return of cb stops the walk and is returned.  Returns 0,
 * HF_EINVAL (search words that make no query, limit < 1), HF_EDB.
 */
int store_items_list(struct store *st, const struct store_items_query *q,
                     int (*cb)(void *ud, const struct store_item_row *r),
                     void *ud) HF_WUR;

/*
 * Item `id` with everything an admin asks about: cb_item once, then
 * cb_source for each source (the primary one first: primary = 1), then
 * cb_category for each category and origin ("entry", "feed", "rule"),
 * then cb_enclosure, then cb_entry_category.  Any callback may be NULL.  Returns 0, HF_EINVAL
 * (no such item), HF_EDB, or a callback's negative code.
 */
/* One source of an item, with its own text (the primary one first). */
struct store_source_row {
	const char *feed, *link, *title, *summary;
	int64_t first_seen;
	int primary;
};

struct store_item_visitor {
	int (*item)(void *ud, const struct store_item_row *r);
	int (*source)(void *ud, const struct store_source_row *r);
	int (*category)(void *ud, const char *name, const char *origin);
	int (*enclosure)(void *ud, const char *url, const char *type,
	                 int64_t length);
	/* the entry's own <category> texts, as the feed wrote them */
	int (*entry_category)(void *ud, const char *term);
};
int store_item_get(struct store *st, int64_t id,
                   const struct store_item_visitor *v, void *ud) HF_WUR;

/* Hide (hidden = 1) or show again (0) item `id` in every output, at
 * time `now`.  *changed (may be NULL): 1 when the flag changed.
 * Returns 0, HF_EINVAL (no such item), HF_EDB. */
int store_item_set_hidden(struct store *st, int64_t id, int hidden,
                          int64_t now, int *changed) HF_WUR;

/* Delete the items whose time (published, else first_seen) and
 * first_seen are before `before`, with their sources, categories,
 * enclosures and search index rows, in one statement; *n (may be NULL) gets how many.  Returns 0, HF_EINVAL
 * (an ingest is open), HF_EDB. */
int store_prune_items(struct store *st, int64_t before, int64_t *n) HF_WUR;

#endif
