/*
 * publish.c - the read queries of `publish`, on the store's connection,
 * inside one read transaction: every file of a run sees the same
 * snapshot (WAL: the writer is never blocked).
 *
 * An item's time is its published date, else when it was first seen
 * (undated items), as in the index items_t.  Every list is one query:
 * walk items_t newest first, keep the items of the filter (a category:
 * a probe of item_categories; a kind: of feeds), stop at LIMIT.  The
 * rows read are the list's length divided by the filter's share of the
 * newest items; a filter with few recent items walks far back, all of
 * items_t for one with none (bench/publish/README.md).
 */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "../publish/publish_int.h"
#include "store_int.h"

enum pq_id {
	PQ_BEGIN,
	PQ_END,
	PQ_ALL,
	PQ_CAT,
	PQ_KIND,
	PQ_ITEM,
	PQ_CATS,
	PQ_SOURCES,
	PQ_FEEDS,
	PQ_RANGE,
	PQ_SEEN_RANGE,
	PQ_SPAN,
	PQ_HIDDEN_CHANGED,
	PQ_ENCLOSURES,
	PQ_RANGE_SIG,
	PQ__COUNT
};

/*
 * What reaches an output: an item no editor hid (`helsefeed hide`) that
 * a configured feed still carries, as its primary source or a merged
 * one.  A feed removed from feeds.conf is inactive after the next sync:
 * its stories leave every file at the next publish.
 */
#define VISIBLE                                                             \
	" AND NOT items.hidden AND (EXISTS (SELECT 1 FROM feeds f"          \
	" WHERE f.id = items.feed_id AND f.active) OR EXISTS (SELECT 1"     \
	" FROM item_sources s JOIN feeds f ON f.id = s.feed_id"             \
	" WHERE s.item_id = items.id AND f.active))"

/* The newest ?1 items that pass `F`. */
#define NEWEST(F)                                                           \
	"SELECT id FROM items WHERE 1" F VISIBLE                            \
	" ORDER BY COALESCE(published, first_seen) DESC, id DESC LIMIT ?1"

static const char *const pq_sql[PQ__COUNT] = {
	[PQ_BEGIN] = "BEGIN",
	[PQ_END] = "COMMIT",
	[PQ_ALL] = NEWEST(""),
	[PQ_CAT] = NEWEST(" AND EXISTS (SELECT 1 FROM item_categories c"
	                  " WHERE c.item_id = items.id AND c.category = ?2)"),
	[PQ_KIND] = NEWEST(" AND EXISTS (SELECT 1 FROM feeds f"
	                   " WHERE f.id = items.feed_id AND f.kind = ?2)"),
	[PQ_ITEM] =
	"SELECT i.id, i.feed_id, f.name, f.title, f.url, i.key, i.guid,"
	" i.title, i.link, i.author, i.summary, i.content, i.published,"
	" i.updated, i.first_seen, i.last_changed, i.revision, i.atom_id,"
	" i.corrected FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.id = ?1",
	/* The primary key's order: by name. */
	[PQ_CATS] =
	"SELECT DISTINCT category FROM item_categories WHERE item_id = ?1"
	" ORDER BY category",
	[PQ_SOURCES] =
	"SELECT f.name, f.title, s.link FROM item_sources s"
	" JOIN feeds f ON f.id = s.feed_id"
	" WHERE s.item_id = ?1 AND s.feed_id <> ?2 AND f.active"
	" ORDER BY f.name, s.id",
	/* store_feed_states without its per-feed item count: counting
	 * item_sources reads the whole index, a quarter of a second at a
	 * million items, for a figure the status page can do without. */
	[PQ_FEEDS] =
	"SELECT name, url, effective_url, last_attempt, last_success,"
	" last_status, last_error, failures, failing_since, gone, active,"
	" next_fetch, retry_after, " STORE_LAST_NEW
	" FROM feeds WHERE active ORDER BY name",
	[PQ_RANGE] =
	"SELECT id FROM items WHERE COALESCE(published, first_seen) >= ?1"
	" AND COALESCE(published, first_seen) < ?2" VISIBLE
	" ORDER BY COALESCE(published, first_seen) DESC, id DESC",
	[PQ_SEEN_RANGE] =
	"SELECT id FROM items WHERE first_seen >= ?1 AND first_seen < ?2"
	VISIBLE " ORDER BY first_seen DESC, id DESC",
	/* Each subquery is one step of an index (min/max optimisation). */
	[PQ_SPAN] =
	"SELECT (SELECT min(COALESCE(published, first_seen)) FROM items),"
	" (SELECT max(COALESCE(published, first_seen)) FROM items),"
	" (SELECT min(first_seen) FROM items),"
	" (SELECT max(first_seen) FROM items)",
	[PQ_HIDDEN_CHANGED] =
	"SELECT max(hidden_changed) FROM items"
	" WHERE first_seen >= ?1 AND first_seen < ?2",
	[PQ_ENCLOSURES] =
	"SELECT url, type, length FROM item_enclosures WHERE item_id = ?1"
	" ORDER BY pos",
	/* What a month's page shows changes with one of these: its items
	 * (ids), their content (last_changed), the sources that carry them
	 * (merged ones add rows), their categories. */
	[PQ_RANGE_SIG] =
	"SELECT count(*), total(id), max(last_changed),"
	" (SELECT count(*) FROM item_sources s WHERE s.item_id IN (SELECT id"
	"  FROM items WHERE COALESCE(published, first_seen) >= ?1"
	"  AND COALESCE(published, first_seen) < ?2)),"
	" (SELECT group_concat(x) FROM (SELECT c.item_id || c.category AS x"
	"  FROM item_categories c WHERE c.item_id IN (SELECT id FROM items"
	"  WHERE COALESCE(published, first_seen) >= ?1"
	"  AND COALESCE(published, first_seen) < ?2)"
	"  ORDER BY c.item_id, c.category))"
	" FROM items WHERE COALESCE(published, first_seen) >= ?1"
	" AND COALESCE(published, first_seen) < ?2" VISIBLE,
};

struct pubdb {
	struct store *st;
	sqlite3_stmt *s[PQ__COUNT];
	int in_tx;
};

static int pq_fail(struct pubdb *db, const char *what)
{
	return store__fail(db->st, "publish: %s", what);
}

static int step_done(struct pubdb *db, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : pq_fail(db, what);
}

int pubdb_open(struct store *st, struct pubdb **out)
{
	struct pubdb *db = NULL;
	int rc = HF_OK;

	rc = store__check_idle(st, "publish during an ingest");
	if (rc)
		goto out;
	db = calloc(1, sizeof *db);
	if (!db) {
		rc = HF_ENOMEM;
		goto out;
	}
	db->st = st;
	for (int i = 0; i < PQ__COUNT; i++)
		if (sqlite3_prepare_v3(st->db, pq_sql[i], -1, 0, &db->s[i],
		                       NULL) != SQLITE_OK) {
			rc = pq_fail(db, "cannot prepare a query");
			goto out;
		}
	rc = step_done(db, db->s[PQ_BEGIN], "cannot begin a read transaction");
	if (rc)
		goto out;
	db->in_tx = 1;
	*out = db;
	db = NULL;
out:
	pubdb_close(db);
	return rc;
}

void pubdb_close(struct pubdb *db)
{
	if (!db)
		return;
	/* A read transaction: ending it cannot lose anything. */
	if (db->in_tx && step_done(db, db->s[PQ_END], "cannot end the read"))
		store__rollback(db->st);
	for (int i = 0; i < PQ__COUNT; i++)
		sqlite3_finalize(db->s[i]);
	free(db);
}

/* The query that lists the newest items of `filter`. */
static enum pq_id newest_query(enum pub_filter filter)
{
	return filter == PUB_ALL ? PQ_ALL :
	       filter == PUB_CATEGORY ? PQ_CAT : PQ_KIND;
}

int pubdb_explain(struct pubdb *db, enum pub_filter filter, const char *arg,
                  int limit, struct buf *out)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *s = NULL;
	enum pq_id q = newest_query(filter);
	int rc;

	if ((rc = buf_printf(&sql, "EXPLAIN QUERY PLAN %s", pq_sql[q])))
		goto out;
	if (sqlite3_prepare_v2(db->st->db, sql.data, -1, &s, NULL) != SQLITE_OK ||
	    (sqlite3_bind_int64(s, 1, limit) |
	     (q == PQ_ALL ? SQLITE_OK : bind_text(s, 2, arg))) != SQLITE_OK) {
		rc = pq_fail(db, "cannot explain a query");
		goto out;
	}
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = buf_printf(out, "%s\n", (const char *)sqlite3_column_text(s, 3));
out:
	sqlite3_finalize(s);
	buf_free(&sql);
	return rc;
}

int pubdb_newest(struct pubdb *db, enum pub_filter filter, const char *arg,
                 int limit, int64_t *ids, size_t *n)
{
	enum pq_id q = newest_query(filter);
	sqlite3_stmt *s = db->s[q];
	size_t k = 0;
	int rc;

	if ((sqlite3_bind_int64(s, 1, limit) |
	     (q == PQ_ALL ? SQLITE_OK : bind_text(s, 2, arg))) != SQLITE_OK)
		return pq_fail(db, "cannot bind");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < (size_t)limit)
		ids[k++] = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pq_fail(db, "cannot list the newest items");
	*n = k;
	return 0;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int64_t col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ?
	       HF_NOTIME : sqlite3_column_int64(s, i);
}

int pubdb_item(struct pubdb *db, int64_t id, struct pub_item *it)
{
	sqlite3_stmt *s = db->s[PQ_ITEM];
	int rc;

	/* The previous item's strings die here, as the contract says. */
	sqlite3_reset(s);
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return pq_fail(db, "cannot bind");
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return HF_EINVAL;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return pq_fail(db, "cannot read an item");
	}
	it->id = sqlite3_column_int64(s, 0);
	it->feed_id = sqlite3_column_int64(s, 1);
	it->feed_name = col_text(s, 2);
	it->feed_title = col_text(s, 3);
	it->feed_url = col_text(s, 4);
	it->key = col_text(s, 5);
	it->guid = col_text(s, 6);
	it->title = col_text(s, 7);
	it->link = col_text(s, 8);
	it->author = col_text(s, 9);
	it->summary = col_text(s, 10);
	it->content = col_text(s, 11);
	it->published = col_time(s, 12);
	it->updated = col_time(s, 13);
	it->first_seen = sqlite3_column_int64(s, 14);
	it->last_changed = sqlite3_column_int64(s, 15);
	it->revision = sqlite3_column_int64(s, 16);
	it->atom_id = col_text(s, 17);
	it->corrected = col_time(s, 18);
	/* sqlite3_column_text returns NULL for SQL NULL and on ENOMEM alike;
	 * the NOT NULL columns tell the two apart. */
	if (!it->feed_name || !it->key)
		return pq_fail(db, "cannot read an item");
	return 0;
}

int pubdb_categories(struct pubdb *db, int64_t id,
                     int (*cb)(void *ud, const char *category), void *ud)
{
	sqlite3_stmt *s = db->s[PQ_CATS];
	int rc, cbrc = 0;

	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return pq_fail(db, "cannot bind");
	while (!cbrc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = col_text(s, 0);
		cbrc = name ? cb(ud, name) : HF_ENOMEM;
	}
	sqlite3_reset(s);
	if (cbrc)
		return cbrc;
	return rc == SQLITE_DONE ? 0 : pq_fail(db, "cannot read categories");
}

int pubdb_sources(struct pubdb *db, int64_t id, int64_t primary,
                  int (*cb)(void *ud, const char *name, const char *title,
                            const char *link),
                  void *ud)
{
	sqlite3_stmt *s = db->s[PQ_SOURCES];
	int rc, cbrc = 0;

	if ((sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, primary)) !=
	    SQLITE_OK)
		return pq_fail(db, "cannot bind");
	while (!cbrc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = col_text(s, 0);
		if (name)
			cbrc = cb(ud, name, col_text(s, 1), col_text(s, 2));
	}
	sqlite3_reset(s);
	if (cbrc)
		return cbrc;
	return rc == SQLITE_DONE ? 0 : pq_fail(db, "cannot read sources");
}

static int dup_col(sqlite3_stmt *s, int i, char **out)
{
	const char *v = col_text(s, i);

	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : HF_ENOMEM;
}

static int64_t col_int(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ?
	       0 : sqlite3_column_int64(s, i);
}

int pubdb_feed_states(struct pubdb *db, struct store_feed_state **out,
                      size_t *n)
{
	sqlite3_stmt *s = db->s[PQ_FEEDS];
	struct store_feed_state *v = NULL;
	size_t k = 0, cap = 0;
	int rc = 0, src;

	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_feed_state *f;
		if (k == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_feed_state *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = HF_ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		f = &v[k++];
		memset(f, 0, sizeof *f);
		if ((rc = dup_col(s, 0, &f->name)) || (rc = dup_col(s, 1, &f->url)) ||
		    (rc = dup_col(s, 2, &f->moved_to)) ||
		    (rc = dup_col(s, 6, &f->last_error)))
			goto out;
		f->last_attempt = col_int(s, 3);
		f->last_success = col_int(s, 4);
		f->last_status = (int)col_int(s, 5);
		f->failures = (int)col_int(s, 7);
		f->failing_since = col_int(s, 8);
		f->gone = (int)col_int(s, 9);
		f->active = (int)col_int(s, 10);
		f->next_fetch = col_int(s, 11);
		f->retry_after = col_int(s, 12);
		f->last_new = col_int(s, 13);
		f->items = -1;
		if (!f->name) {
			rc = pq_fail(db, "cannot read the feeds");
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = pq_fail(db, "cannot read the feeds");
		goto out;
	}
	*out = v;
	*n = k;
	v = NULL;
	k = 0;
out:
	sqlite3_reset(s);
	store_feed_states_free(v, k);
	return rc;
}

int pubdb_range(struct pubdb *db, int64_t from, int64_t to, int by_first_seen,
                int64_t **ids, size_t *n)
{
	sqlite3_stmt *s = db->s[by_first_seen ? PQ_SEEN_RANGE : PQ_RANGE];
	int64_t *v = NULL;
	size_t k = 0, cap = 0;
	int rc = 0, src;

	if ((sqlite3_bind_int64(s, 1, from) | sqlite3_bind_int64(s, 2, to)) !=
	    SQLITE_OK)
		return pq_fail(db, "cannot bind");
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (k == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			int64_t *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = HF_ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[k++] = sqlite3_column_int64(s, 0);
	}
	if (src != SQLITE_DONE) {
		rc = pq_fail(db, "cannot list the items of a month");
		goto out;
	}
	*ids = v;
	*n = k;
	v = NULL;
out:
	sqlite3_reset(s);
	free(v);
	return rc;
}

int pubdb_span(struct pubdb *db, int64_t *tmin, int64_t *tmax,
               int64_t *seen_min, int64_t *seen_max)
{
	sqlite3_stmt *s = db->s[PQ_SPAN];
	int rc = 0;

	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = pq_fail(db, "cannot read the items' span");
	} else {
		*tmin = col_time(s, 0);
		*tmax = col_time(s, 1);
		*seen_min = col_time(s, 2);
		*seen_max = col_time(s, 3);
	}
	sqlite3_reset(s);
	return rc;
}

int pubdb_hidden_changed(struct pubdb *db, int64_t from, int64_t to,
                         int64_t *out)
{
	sqlite3_stmt *s = db->s[PQ_HIDDEN_CHANGED];
	int rc = 0;

	if ((sqlite3_bind_int64(s, 1, from) | sqlite3_bind_int64(s, 2, to)) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		rc = pq_fail(db, "cannot read when items were hidden");
	else
		*out = col_int(s, 0);
	sqlite3_reset(s);
	return rc;
}

int pubdb_enclosures(struct pubdb *db, int64_t id,
                     int (*cb)(void *ud, const char *url, const char *type,
                               int64_t length),
                     void *ud)
{
	sqlite3_stmt *s = db->s[PQ_ENCLOSURES];
	int rc, cbrc = 0;

	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return pq_fail(db, "cannot bind");
	while (!cbrc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *url = col_text(s, 0);
		if (url)
			cbrc = cb(ud, url, col_text(s, 1),
			          sqlite3_column_type(s, 2) == SQLITE_NULL ?
			          -1 : sqlite3_column_int64(s, 2));
	}
	sqlite3_reset(s);
	if (cbrc)
		return cbrc;
	return rc == SQLITE_DONE ? 0 : pq_fail(db, "cannot read enclosures");
}

int pubdb_range_sig(struct pubdb *db, int64_t from, int64_t to, size_t *n,
                    uint64_t *sig)
{
	sqlite3_stmt *s = db->s[PQ_RANGE_SIG];
	uint64_t h = NORM_FNV_INIT;
	int rc = 0;

	if ((sqlite3_bind_int64(s, 1, from) | sqlite3_bind_int64(s, 2, to)) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		rc = pq_fail(db, "cannot read a month's signature");
	} else {
		for (int i = 0; i < 5; i++) {
			const unsigned char *v = sqlite3_column_text(s, i);
			int len = sqlite3_column_bytes(s, i);
			h = norm_fnv1a(h, v ? (const char *)v : "-", v ? (size_t)len : 1);
			h = norm_fnv1a(h, "|", 1);
		}
		*sig = h;
		*n = (size_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	return rc;
}
