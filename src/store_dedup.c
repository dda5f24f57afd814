/* store_dedup.c - the SQL of deduplication on the store's connection; see
 * dedup.h.  Statements of its own, prepared once, bound parameters only. */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/norm.h"
#include "store_int.h"

/* Rows read per index key: a common word ("helse") has hundreds of items
 * in a week; the newest 16 are where a republished release sits, and the
 * rarer words of the title find the rest.  Bounds the work per entry. */
#define KEY_ROWS 16
/* Items of equal title_norm read: more in one window is a series. */
#define TITLE_ROWS 8
/* A candidate found by title_norm outranks any number of shared keys. */
#define TITLE_WEIGHT (DEDUP_MAX_KEYS + 1)

/* The table dedup_title_keys is made by schema step 2 (store_schema.c). */

/* Width of a bucket: a week, the default window, so that a window
 * spans three buckets (two seeks per key most of the time).  Fixed, not
 * the configured window: rows must stay findable when the window is
 * changed. */
#define BUCKET_S (7 * 24 * 3600)

static int64_t bucket_of(int64_t t)
{
	return t >= 0 ? t / BUCKET_S : -((-t + BUCKET_S - 1) / BUCKET_S);
}

enum sd_id {
	SD_SOURCE,
	SD_KEY,
	SD_TITLE,
	SD_ITEM,
	SD_BODY,
	SD_KEY_ADD,
	SD_KEY_DEL,
	SD_DEMOTE,
	SD_PRIMARY_MOVE,
	SD_MERGED_DROP,
	SD_PROMOTE,
	SD_CATS_CLEAR,
	SD_ECATS_CLEAR,
	SD_ECAT_ADD,
	SD_FEED_NAME,
	SD__COUNT
};

static const char *const sd_sql[SD__COUNT] = {
	/* The item holds its primary source's key; a merged source has a
	 * row of its own (store_schema.c). */
	[SD_SOURCE] =
	"SELECT id, 1, COALESCE(published, first_seen), title_norm FROM items"
	" WHERE feed_id = ?1 AND key = ?2"
	" UNION ALL"
	" SELECT s.item_id, 0, COALESCE(i.published, i.first_seen), i.title_norm"
	" FROM item_sources s JOIN items i ON i.id = s.item_id"
	" WHERE s.feed_id = ?1 AND s.key = ?2 AND s.key IS NOT NULL"
	" LIMIT 1",
	[SD_KEY] =
	"SELECT item_id FROM dedup_title_keys WHERE bucket = ?5 AND key = ?1"
	" AND t BETWEEN ?2 AND ?3 ORDER BY t DESC LIMIT ?4",
	[SD_TITLE] =
	"SELECT id FROM items WHERE title_norm = ?1"
	" AND COALESCE(published, first_seen) BETWEEN ?2 AND ?3"
	" ORDER BY id DESC LIMIT ?4",
	[SD_ITEM] =
	"SELECT feed_id, COALESCE(published, first_seen), title_norm, simhash,"
	" EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = items.id"
	" AND s.feed_id = ?2) FROM items WHERE id = ?1",
	[SD_BODY] = "SELECT summary FROM items WHERE id = ?1",
	[SD_KEY_ADD] =
	"INSERT OR IGNORE INTO dedup_title_keys (bucket, key, t, item_id)"
	" VALUES (?4, ?1, ?2, ?3)",
	[SD_KEY_DEL] =
	"DELETE FROM dedup_title_keys"
	" WHERE bucket = ?4 AND key = ?1 AND t = ?2 AND item_id = ?3",
	/* Promotion, in this order: the old primary becomes a merged source
	 * (so its key stays known), the primary row moves to the new feed,
	 * the new primary's merged row goes, the item takes its fields.
	 * Primary fields follow the primary source (pipeline.h). */
	[SD_DEMOTE] =
	"INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link, guid,"
	" first_seen) SELECT id, feed_id, key, raw_hash, link, guid, first_seen"
	" FROM items WHERE id = ?1"
	" ON CONFLICT (feed_id, key) WHERE key IS NOT NULL DO UPDATE SET"
	" item_id = excluded.item_id, raw_hash = excluded.raw_hash,"
	" link = excluded.link, guid = excluded.guid",
	[SD_PRIMARY_MOVE] =
	"UPDATE item_sources SET feed_id = ?2, link = ?3, guid = ?4"
	" WHERE item_id = ?1 AND key IS NULL",
	[SD_MERGED_DROP] =
	"DELETE FROM item_sources WHERE feed_id = ?1 AND key = ?2",
	[SD_PROMOTE] =
	"UPDATE items SET feed_id = ?2, key = ?3, raw_hash = ?4, guid = ?5,"
	" title = ?6, link = ?7, canon_url = ?8, published = ?9, updated = ?10,"
	" author = ?11, summary = ?12, content = ?13, last_changed = ?14,"
	" revision = revision + 1, flags = (flags & ~0xffff) | ?15,"
	" title_norm = NULL, simhash = NULL WHERE id = ?1",
	[SD_CATS_CLEAR] = "DELETE FROM item_categories WHERE item_id = ?1",
	[SD_ECATS_CLEAR] = "DELETE FROM item_entry_categories WHERE item_id = ?1",
	[SD_ECAT_ADD] =
	"INSERT OR IGNORE INTO item_entry_categories (item_id, term)"
	" VALUES (?1, ?2)",
	[SD_FEED_NAME] = "SELECT name FROM feeds WHERE id = ?1",
};

struct store_dedup {
	struct store *st;
	sqlite3_stmt *s[SD__COUNT];
	struct buf canon;
};

int store_dedup_open(struct store *st, struct store_dedup **out)
{
	struct store_dedup *sd = NULL;
	int rc, i;

	if ((rc = store__check_idle(st, "prepare deduplication")))
		return rc;
	if (!(sd = calloc(1, sizeof *sd)))
		return HF_ENOMEM;
	sd->st = st;
	for (i = 0; i < SD__COUNT; i++)
		if (sqlite3_prepare_v3(st->db, sd_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &sd->s[i],
		                       NULL) != SQLITE_OK) {
			rc = store__fail(st, "cannot prepare dedup statement %d", i);
			store_dedup_close(sd);
			return rc;
		}
	*out = sd;
	return HF_OK;
}

void store_dedup_close(struct store_dedup *sd)
{
	if (!sd)
		return;
	for (int i = 0; i < SD__COUNT; i++)
		sqlite3_finalize(sd->s[i]);
	buf_free(&sd->canon);
	free(sd);
}

int64_t store_dedup_feed_id(const struct store_ingest *in)
{
	return in->feed_id;
}

int64_t store_dedup_now(const struct store_ingest *in)
{
	return in->now;
}

/* A failure inside an ingest makes it fail as a whole (store.h). */
static int failed(struct store_ingest *in, int rc)
{
	if (rc && in && !in->failed)
		in->failed = rc;
	return rc;
}

int store_dedup_source(struct store_dedup *sd, struct store_ingest *in,
                       const char *key, struct store_dedup_source *out)
{
	sqlite3_stmt *s = sd->s[SD_SOURCE];
	struct store_dedup_source r = {0, 0, 0, NULL};
	int rc;

	if (in->failed)
		return in->failed;
	if ((sqlite3_bind_int64(s, 1, in->feed_id) | bind_text(s, 2, key))
	    != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *tn = (const char *)sqlite3_column_text(s, 3);

		r.item_id = sqlite3_column_int64(s, 0);
		r.primary = sqlite3_column_int(s, 1);
		r.t = sqlite3_column_int64(s, 2);
		if (tn && !(r.title_norm = strdup(tn))) {
			sqlite3_reset(s);
			return failed(in, HF_ENOMEM);
		}
		rc = HF_OK;
	} else if (rc == SQLITE_DONE) {
		rc = HF_OK;
	} else {
		rc = store__fail(sd->st, "cannot look up source of feed '%s'",
		                 in->name);
	}
	sqlite3_reset(s);
	if (!rc)
		*out = r;
	return failed(in, rc);
}

void store_dedup_source_clear(struct store_dedup_source *s)
{
	free(s->title_norm);
	s->title_norm = NULL;
	s->item_id = 0;
}

struct cand {
	int64_t id;
	int hits;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->hits != y->hits)
		return y->hits - x->hits;
	return (y->id > x->id) - (y->id < x->id);  /* newest first */
}

/* Step a SELECT of ids and count each in c[]. */
static int collect(struct store *st, sqlite3_stmt *s, int weight,
                   struct cand *c, size_t *nc, size_t cap)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		size_t i;

		for (i = 0; i < *nc && c[i].id != id; i++)
			;
		if (i == *nc) {
			if (*nc == cap)
				continue;
			c[(*nc)++] = (struct cand){id, 0};
		}
		c[i].hits += weight;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? HF_OK :
	       store__fail(st, "cannot look up dedup candidates");
}

int store_dedup_candidates(struct store_dedup *sd, struct store_ingest *in,
                           const char *title_norm, const uint64_t *keys,
                           size_t nkeys, int64_t t, int64_t window,
                           int64_t *ids, int *hits, size_t max, size_t *n)
{
	struct cand c[DEDUP_MAX_KEYS * KEY_ROWS + TITLE_ROWS];
	struct store *st = sd->st;
	sqlite3_stmt *s;
	size_t nc = 0, i, k = 0;
	int64_t b;
	int rc = HF_OK;

	if (in->failed)
		return in->failed;
	if (nkeys > DEDUP_MAX_KEYS)
		nkeys = DEDUP_MAX_KEYS;
	if (title_norm && *title_norm) {
		s = sd->s[SD_TITLE];
		if ((bind_text(s, 1, title_norm) |
		     sqlite3_bind_int64(s, 2, t - window) |
		     sqlite3_bind_int64(s, 3, t + window) |
		     sqlite3_bind_int(s, 4, TITLE_ROWS)) != SQLITE_OK)
			rc = store__fail(st, "cannot look up dedup candidates");
		else
			rc = collect(st, s, TITLE_WEIGHT, c, &nc,
			             sizeof c / sizeof c[0]);
	}
	/* Newest bucket first: the newest rows are the likeliest match. */
	s = sd->s[SD_KEY];
	for (i = 0; i < nkeys && !rc; i++)
		for (b = bucket_of(t + window); b >= bucket_of(t - window) && !rc; b--) {
			if ((sqlite3_bind_int64(s, 1, (int64_t)keys[i]) |
			     sqlite3_bind_int64(s, 2, t - window) |
			     sqlite3_bind_int64(s, 3, t + window) |
			     sqlite3_bind_int(s, 4, KEY_ROWS) |
			     sqlite3_bind_int64(s, 5, b)) != SQLITE_OK)
				rc = store__fail(st, "cannot look up dedup candidates");
			else
				rc = collect(st, s, 1, c, &nc, sizeof c / sizeof c[0]);
		}
	if (rc)
		return failed(in, rc);
	if (nc)
		qsort(c, nc, sizeof c[0], cmp_cand);
	for (i = 0; i < nc && k < max; i++) {
		ids[k] = c[i].id;
		hits[k++] = c[i].hits;
	}
	*n = k;
	return HF_OK;
}

int store_dedup_item(struct store_dedup *sd, struct store_ingest *in,
                     int64_t id, struct store_dedup_item *out,
                     struct dedup_sig *sig)
{
	sqlite3_stmt *s = sd->s[SD_ITEM];
	int rc;

	if ((sqlite3_bind_int64(s, 1, id) |
	     sqlite3_bind_int64(s, 2, in->feed_id)) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = id;
		out->feed_id = sqlite3_column_int64(s, 0);
		out->t = sqlite3_column_int64(s, 1);
		out->carried = sqlite3_column_int(s, 4);
		dedup_sig_title(sig, (const char *)sqlite3_column_text(s, 2),
		                (uint64_t)sqlite3_column_int64(s, 3));
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store__fail(sd->st, "cannot read item %lld", (long long)id);
	}
	sqlite3_reset(s);
	return rc < 0 ? failed(in, rc) : rc;
}

int store_dedup_item_body(struct store_dedup *sd, int64_t id,
                          struct dedup_sig *sig)
{
	sqlite3_stmt *s = sd->s[SD_BODY];
	int rc;

	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		dedup_sig_body(sig, rc == SQLITE_ROW ?
		               (const char *)sqlite3_column_text(s, 0) : NULL);
		rc = HF_OK;
	} else {
		rc = store__fail(sd->st, "cannot read item %lld", (long long)id);
	}
	sqlite3_reset(s);
	return rc;
}

int store_dedup_index(struct store_dedup *sd, struct store_ingest *in,
                      int64_t id, int64_t t, const uint64_t *keys,
                      size_t nkeys, int add)
{
	sqlite3_stmt *s = sd->s[add ? SD_KEY_ADD : SD_KEY_DEL];
	int rc = in->failed;

	for (size_t i = 0; i < nkeys && !rc; i++)
		rc = store__run(sd->st, s,
		         sqlite3_bind_int64(s, 1, (int64_t)keys[i]) |
		         sqlite3_bind_int64(s, 2, t) |
		         sqlite3_bind_int64(s, 3, id) |
		         sqlite3_bind_int64(s, 4, bucket_of(t)),
		         add ? "cannot index item title" :
		               "cannot drop item title index");
	return failed(in, rc);
}

int store_dedup_promote(struct store_dedup *sd, struct store_ingest *in,
                        int64_t id, const struct feed_entry *e, int revision)
{
	struct store *st = sd->st;
	sqlite3_stmt *s;
	const char *canon = NULL;
	int rc;

	if (in->failed)
		return in->failed;
	/* The same canonical form store_ingest_entry stores. */
	if (e->link && (sqlite3_strnicmp(e->link, "http://", 7) == 0 ||
	                sqlite3_strnicmp(e->link, "https://", 8) == 0)) {
		buf_clear(&sd->canon);
		rc = norm_url_canon(e->link, &sd->canon);
		if (rc == HF_OK)
			canon = buf_str(&sd->canon);
		else if (rc != HF_EINVAL)
			return failed(in, rc);
	}
	s = sd->s[SD_DEMOTE];
	if ((rc = store__run(st, s, sqlite3_bind_int64(s, 1, id),
	                     "cannot keep former primary source")))
		return failed(in, rc);
	s = sd->s[SD_PRIMARY_MOVE];
	if ((rc = store__run(st, s,
	                     sqlite3_bind_int64(s, 1, id) |
	                     sqlite3_bind_int64(s, 2, in->feed_id) |
	                     bind_text(s, 3, e->link) | bind_text(s, 4, e->id),
	                     "cannot move primary source")))
		return failed(in, rc);
	s = sd->s[SD_MERGED_DROP];
	if ((rc = store__run(st, s,
	                     sqlite3_bind_int64(s, 1, in->feed_id) |
	                     bind_text(s, 2, e->key),
	                     "cannot drop merged source")))
		return failed(in, rc);
	s = sd->s[SD_PROMOTE];
	rc = store__run(st, s,
	         sqlite3_bind_int64(s, 1, id) |
	         sqlite3_bind_int64(s, 2, in->feed_id) |
	         bind_text(s, 3, e->key) |
	         sqlite3_bind_int64(s, 4, (int64_t)e->raw_hash) |
	         bind_text(s, 5, e->id) | bind_text(s, 6, e->title) |
	         bind_text(s, 7, e->link) | bind_text(s, 8, canon) |
	         bind_date(s, 9, e->published) |
	         sqlite3_bind_int64(s, 10, e->updated != HF_NOTIME ?
	                            e->updated : in->now) |
	         bind_text(s, 11, e->author) | bind_text(s, 12, e->summary) |
	         bind_text(s, 13, e->content) |
	         sqlite3_bind_int64(s, 14, in->now) |
	         sqlite3_bind_int64(s, 15, e->flags & STORE_ITEM_ENTRY_FLAGS),
	         "cannot make source primary");
	if (rc)
		return failed(in, rc);
	s = sd->s[SD_CATS_CLEAR];
	if ((rc = store__run(st, s, sqlite3_bind_int64(s, 1, id),
	                     "cannot clear item categories")))
		return failed(in, rc);
	s = sd->s[SD_ECATS_CLEAR];
	if ((rc = store__run(st, s, sqlite3_bind_int64(s, 1, id),
	                     "cannot clear entry categories")))
		return failed(in, rc);
	s = sd->s[SD_ECAT_ADD];
	for (size_t i = 0; i < e->ncategories && !rc; i++)
		rc = store__run(st, s,
		         sqlite3_bind_int64(s, 1, id) |
		         bind_text(s, 2, e->categories[i]),
		         "cannot store entry category");
	if (!rc) {
		in->item_id = id;
		in->items_updated += revision != 0;
	}
	return failed(in, rc);
}

int store_dedup_feed_name(struct store_dedup *sd, int64_t feed_id,
                          struct buf *out)
{
	sqlite3_stmt *s = sd->s[SD_FEED_NAME];
	int rc;

	if (sqlite3_bind_int64(s, 1, feed_id) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = buf_puts(out, (const char *)sqlite3_column_text(s, 0)) ?
		     HF_ENOMEM : 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = store__fail(sd->st, "cannot look up feed %lld",
		                 (long long)feed_id);
	sqlite3_reset(s);
	return rc;
}
