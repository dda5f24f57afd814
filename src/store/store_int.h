/*
 * store_int.h - what the files of the store module share (store.c,
 * store_schema.c, store_ingest.c).  Not part of the contract: store.h is.
 */
#ifndef HELSEFEED_STORE_INT_H
#define HELSEFEED_STORE_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "helsefeed/util.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"
#include "helsefeed/store.h"

/*
 * The schema (schema.c).  store__schema_check: 0 for a file store_open
 * can use (version 0: new, STORE_SCHEMA_OLDEST up to
 * STORE_SCHEMA_VERSION), else HF_EVERSION with the message in st->err;
 * nothing is touched.  store__schema_ensure: create the schema of a new
 * database, or copy an older one to PATH.bak-vN and upgrade it, in one
 * transaction; 0, HF_EVERSION, HF_EIO (the copy's file), HF_EDB,
 * HF_ENOMEM, with the message in st->err (not logged).
 */
int store__schema_check(struct store *st, int version);
int store__schema_ensure(struct store *st, int version);

/* The message of a failure to open, "PATH: ..." into st->err, not
 * logged (store_open decides where it goes); returns code. */
int store__open_fail(struct store *st, int code, const char *fmt, ...)
	HF_PRINTF(3, 4);

/* Prepared statements, each compiled once per store on first use. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_FEED_ID,
	S_FEEDS_DEACTIVATE,
	S_FEED_UPSERT,
	S_FEED_STATE,
	S_FEED_STATES,
	S_SOURCE_KNOWN,
	S_ITEM_FIND,
	S_ITEM_INSERT,
	S_ITEM_UPDATE,
	S_SOURCE_MERGED_DROP,
	S_SOURCE_MERGED_PUT,
	S_ENTRYCATS_CLEAR,
	S_ENTRYCAT_ADD,
	S_ITEM_EXISTS,
	S_CATS_CLEAR,
	S_CAT_ADD,
	S_FINGERPRINT,
	S_FTS_FLUSH,
	S_FTS_FLUSHED,
	S_FIND_CANON,
	S_FETCH_INSERT,
	S_HEALTH_OK,
	S_HEALTH_ERR,
	S_COUNT_ALL,
	S_COUNT_FEED,
	S_PRUNE_FETCHES,
	S_ENCL_CLEAR,
	S_ENCL_ADD,
	S__COUNT
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S__COUNT];
	struct store_ingest *ingest;  /* the open one, or NULL */
	struct buf err;               /* last failure */
	int readonly;                 /* store_open_readonly */
	/* store_dedup_epoch: moved by every change to the items that the
	 * pipeline did not make itself; data_version as last read. */
	uint64_t dedup_epoch;
	int64_t data_version;
};

/* One open ingest (store_ingest.c). */
struct store_ingest {
	struct store *st;
	int64_t feed_id;
	int64_t now;
	int64_t item_id;              /* of the last entry */
	int items_new, items_updated;
	int failed;                   /* first error, sticky */
	char *name;                   /* of the feed, for messages */
	struct buf canon;             /* canonical URL of canon_src */
	struct buf canon_src;         /* the link it was made from */
	int canon_none;               /* canon_src has no canonical URL */
	int version_read;             /* store_dedup_epoch read data_version */
};

/*
 * When feed `feeds.id` last brought a new story (store_feed_state's
 * last_new): its newest fetch that stored a new item (fetches_feed walks
 * the feed's kept history); for a feed with none in the history (its
 * stories merged into other feeds' items, or none for longer than the
 * history is kept), the newest first_seen of its items and merged
 * sources, which reads all of them.  COALESCE stops at the first.
 */
#define STORE_LAST_NEW                                                      \
	"COALESCE((SELECT max(started) FROM fetches x"                      \
	" WHERE x.feed_id = feeds.id AND x.items_new > 0),"                 \
	" max(COALESCE((SELECT max(first_seen) FROM items i"                \
	" WHERE i.feed_id = feeds.id), 0),"                                 \
	" COALESCE((SELECT max(first_seen) FROM item_sources s"             \
	" WHERE s.feed_id = feeds.id AND s.key IS NOT NULL), 0)))"

/* SQL of every cached statement (store_schema.c). */
extern const char *const store__stmt_sql[S__COUNT];

/* Text binds are SQLITE_STATIC: every string outlives the step that reads
 * it.  A NULL pointer binds SQL NULL. */
static inline int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* 0 ("never", "none") binds NULL. */
static inline int bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	return v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

static inline int bind_date(sqlite3_stmt *s, int i, int64_t v)
{
	return v == HF_NOTIME ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

/*
 * Categories of an item (categories.c), in the open ingest.
 * store__categories_check: 0, or HF_EINVAL naming the first bad name or
 * origins (store.h, struct store_category).  store__categories_put: the
 * rows of the `n` categories of item `id` (checked before), after
 * removing the item's rows when `clear`.  0, HF_EDB, HF_ENOMEM.
 */
int store__categories_check(struct store *st,
                            const struct store_category *cats, size_t n);
int store__categories_put(struct store *st, int64_t id,
                          const struct store_category *cats, size_t n,
                          int clear);

/* Log "PATH: what: sqlite message", keep it for store_errmsg, and return
 * HF_EDB (HF_ENOMEM when SQLite ran out of memory). */
int store__fail(struct store *st, const char *fmt, ...) HF_PRINTF(2, 3);
/* Log "PATH: what 'name'" and return code. */
int store__failmsg(struct store *st, int code, const char *what,
                   const char *name);
/* The cached statement id, compiled on first use; NULL on failure (the
 * message is logged). */
sqlite3_stmt *store__stmt(struct store *st, enum stmt_id id);
/* Step a statement that returns no row, after binds that returned `brc`
 * (ORed SQLite codes), and reset it; 0 or HF_*. */
int store__run(struct store *st, sqlite3_stmt *s, int brc, const char *what);
/* Run a cached statement without parameters. */
int store__run_id(struct store *st, enum stmt_id id, const char *what);
/* Roll back whatever is open; quiet when SQLite already rolled back. */
void store__rollback(struct store *st);
/* Id of feed `name`: 0, HF_EINVAL when unknown, HF_EDB. */
int store__feed_id(struct store *st, const char *name, int64_t *id);
/* HF_EINVAL while an ingest is open: writes must not nest in its
 * transaction.  `what` completes "cannot ..." in the message. */
int store__check_idle(struct store *st, const char *what);
/* A new atom:id, "urn:uuid:" and a version 7 UUID: the time, then
 * random bits from getrandom(2) (identity.c).  0 or HF_EIO (logged). */
int store__new_atom_id(char out[STORE_ATOM_ID_SIZE]);
/* One fetches row and the feed's health, in the open transaction. */
int store__apply_fetch(struct store *st, int64_t id, const char *name,
                       const struct store_fetch_result *r, int nnew,
                       int nupd);

#endif
