/*
 * store_int.h - what the files of the store module share (store.c,
 * store_schema.c, store_ingest.c).  Not part of the contract: store.h is.
 */
#ifndef HELSEFEED_STORE_INT_H
#define HELSEFEED_STORE_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "helsefeed/buf.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"
#include "helsefeed/store.h"

/* Forward migrations (store_schema.c): step i takes user_version i to
 * i + 1, in its own transaction. */
extern const char *const store__migrations[];

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
	S_CATSET_FIND,
	S_CATSET_ADD,
	S_ITEM_CATSET,
	S_FINGERPRINT,
	S_FIND_CANON,
	S_FETCH_INSERT,
	S_HEALTH_OK,
	S_HEALTH_ERR,
	S_COUNT_ALL,
	S_COUNT_FEED,
	S_PRUNE_FETCHES,
	S__COUNT
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S__COUNT];
	struct store_ingest *ingest;  /* the open one, or NULL */
	struct store_catsets *catsets; /* cache of category_sets, or NULL */
	struct buf err;               /* last failure */
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
};

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
 * The id of the category set of `n` categories into *id (0 for n == 0),
 * from the cache or category_sets, which gets a row when the set is new
 * (store_catset.c).  Inside an ingest only: the row is part of its
 * transaction, and the cache forgets everything when one rolls back
 * (store__catsets_forget).  HF_EINVAL names a bad category.
 */
int store__catset(struct store *st, const struct store_category *cats,
                  size_t n, int64_t *id);
/* Forget the cached set ids: an ingest that may have added some rolled
 * back. */
void store__catsets_forget(struct store *st);
/* Free the cache; NULL st->catsets is allowed. */
void store__catsets_free(struct store *st);

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
/* One fetches row and the feed's health, in the open transaction. */
int store__apply_fetch(struct store *st, int64_t id, const char *name,
                       const struct store_fetch_result *r, int nnew,
                       int nupd);

#endif
