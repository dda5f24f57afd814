/* store_dedup.c - the SQL of deduplication on the store's connection; see
 * dedup.h.  Statements of its own, prepared once, bound parameters only. */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/norm.h"
#include "dedup_cache.h"
#include "store_int.h"

/* Least width of a cache bucket: a window of a few minutes (tests) must
 * not make a bucket per entry. */
#define MIN_WIDTH 3600

/* Keeps the hash of a title_norm apart from those of title words, which
 * share the cache's postings. */
#define TITLE_SALT UINT64_C(0x5bd1e9955bd1e995)

enum sd_id {
	SD_SOURCE,
	SD_LOAD,
	SD_CARRIED,
	SD_VERSION,
	SD_ITEM,
	SD_BODY,
	SD_DEMOTE,
	SD_MERGED_DROP,
	SD_PROMOTE,
	SD_ECATS_CLEAR,
	SD_ECAT_ADD,
	SD_FEED_NAME,
	SD__COUNT
};

static const char *const sd_sql[SD__COUNT] = {
	/* The item holds its primary source's key; a merged source has a
	 * row of its own (store_schema.c). */
	[SD_SOURCE] =
	"SELECT id, 1, COALESCE(published, first_seen), title_norm, raw_hash"
	" FROM items WHERE feed_id = ?1 AND key = ?2"
	" UNION ALL"
	" SELECT s.item_id, 0, COALESCE(i.published, i.first_seen), i.title_norm,"
	" s.raw_hash"
	" FROM item_sources s JOIN items i ON i.id = s.item_id"
	" WHERE s.feed_id = ?1 AND s.key = ?2 AND s.key IS NOT NULL"
	" LIMIT 1",
	/* A cache bucket, through the index items_t (schema step 3): its
	 * newest DCACHE_LOAD_MAX items, in time order, so that the newest
	 * head the cache's chains. */
	[SD_LOAD] =
	"SELECT * FROM (SELECT id, feed_id, COALESCE(published, first_seen) AS t,"
	" title_norm, simhash, EXISTS (SELECT 1 FROM item_sources s"
	" WHERE s.item_id = items.id AND s.key IS NOT NULL) FROM items"
	" WHERE COALESCE(published, first_seen) BETWEEN ?1 AND ?2"
	" AND title_norm IS NOT NULL"
	" ORDER BY COALESCE(published, first_seen) DESC LIMIT ?3) ORDER BY t",
	[SD_CARRIED] =
	"SELECT EXISTS (SELECT 1 FROM item_sources WHERE item_id = ?1"
	" AND feed_id = ?2)",
	/* Changes when another connection commits (a `fetch` beside the
	 * daemon): the cache is then read again. */
	[SD_VERSION] = "PRAGMA data_version",
	[SD_ITEM] =
	"SELECT feed_id, COALESCE(published, first_seen), title_norm, simhash,"
	" feed_id = ?2 OR EXISTS (SELECT 1 FROM item_sources s"
	" WHERE s.item_id = items.id AND s.feed_id = ?2) FROM items WHERE id = ?1",
	[SD_BODY] = "SELECT summary FROM items WHERE id = ?1",
	/* Promotion, in this order: the old primary becomes a merged source
	 * (so its key stays known), the new primary's merged row goes, the
	 * item takes its fields.
	 * Primary fields follow the primary source (pipeline.h). */
	[SD_DEMOTE] =
	"INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link, guid,"
	" first_seen) SELECT id, feed_id, key, raw_hash, link, guid, first_seen"
	" FROM items WHERE id = ?1"
	" ON CONFLICT (feed_id, key) WHERE key IS NOT NULL DO UPDATE SET"
	" item_id = excluded.item_id, raw_hash = excluded.raw_hash,"
	" link = excluded.link, guid = excluded.guid",
	[SD_MERGED_DROP] =
	"DELETE FROM item_sources WHERE feed_id = ?1 AND key = ?2",
	[SD_PROMOTE] =
	"UPDATE items SET feed_id = ?2, key = ?3, raw_hash = ?4, guid = ?5,"
	" title = ?6, link = ?7, canon_url = ?8,"
	" canon_hash = helsefeed_fnv1a(?8), published = ?9, updated = ?10,"
	" author = ?11, summary = ?12, content = ?13, last_changed = ?14,"
	" revision = revision + 1, flags = (flags & ~0xffff) | ?15,"
	" title_norm = NULL, simhash = NULL WHERE id = ?1",
	[SD_ECATS_CLEAR] = "DELETE FROM item_entry_categories WHERE item_id = ?1",
	[SD_ECAT_ADD] =
	"INSERT OR IGNORE INTO item_entry_categories (item_id, term)"
	" VALUES (?1, ?2)",
	[SD_FEED_NAME] = "SELECT name FROM feeds WHERE id = ?1",
};

struct store_dedup {
	struct store *st;
	sqlite3_stmt *s[SD__COUNT];
	struct dcache *dc;
	uint64_t serial;              /* ingest the cache was last checked in */
	int64_t data_version;
	struct dedup_sig *sig;        /* scratch for loading */
	/* The candidates of the last store_dedup_candidates, valid until the
	 * cache changes: store_dedup_item reads them without SQL. */
	struct dcache_item last[DCACHE_TITLE_ROWS + DEDUP_MAX_KEYS * DCACHE_KEY_ROWS];
	size_t nlast;
};

static void on_rollback(void *ud, uint64_t serial)
{
	struct store_dedup *sd = ud;

	dcache_drop_tagged(sd->dc, serial);
	sd->nlast = 0;
}

int store_dedup_open(struct store *st, struct store_dedup **out)
{
	struct store_dedup *sd = NULL;
	int rc, i;

	if ((rc = store__check_idle(st, "prepare deduplication")))
		return rc;
	if (!(sd = calloc(1, sizeof *sd)))
		return HF_ENOMEM;
	sd->st = st;
	if (dcache_new(&sd->dc) || !(sd->sig = malloc(sizeof *sd->sig))) {
		store_dedup_close(sd);
		return HF_ENOMEM;
	}
	for (i = 0; i < SD__COUNT; i++)
		if (sqlite3_prepare_v3(st->db, sd_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &sd->s[i],
		                       NULL) != SQLITE_OK) {
			rc = store__fail(st, "cannot prepare dedup statement %d", i);
			store_dedup_close(sd);
			return rc;
		}
	st->on_rollback = on_rollback;
	st->on_rollback_ud = sd;
	*out = sd;
	return HF_OK;
}

void store_dedup_close(struct store_dedup *sd)
{
	if (!sd)
		return;
	if (sd->st->on_rollback_ud == sd) {
		sd->st->on_rollback = NULL;
		sd->st->on_rollback_ud = NULL;
	}
	for (int i = 0; i < SD__COUNT; i++)
		sqlite3_finalize(sd->s[i]);
	dcache_free(sd->dc);
	free(sd->sig);
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
	struct store_dedup_source r = {0, 0, 0, NULL, 0};
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
		r.raw_hash = (uint64_t)sqlite3_column_int64(s, 4);
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

/* At the first call of an ingest: read everything again when another
 * connection has written since ours last looked. */
static int sync_cache(struct store_dedup *sd, struct store_ingest *in)
{
	sqlite3_stmt *s = sd->s[SD_VERSION];
	int64_t v;
	int rc;

	if (in->serial == sd->serial)
		return HF_OK;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return store__fail(sd->st, "cannot read the data version");
	}
	v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (v != sd->data_version) {
		dcache_clear(sd->dc, 0);
		sd->nlast = 0;
		sd->data_version = v;
	}
	sd->serial = in->serial;
	return HF_OK;
}

uint64_t store_dedup_title_hash(const char *title_norm)
{
	if (!title_norm || !*title_norm)
		return 0;
	return (norm_fnv1a(NORM_FNV_INIT, title_norm, strlen(title_norm)) ^
	        TITLE_SALT) | 1;
}

/* Read bucket b of the cache from the items table. */
static int load(struct store_dedup *sd, struct store_ingest *in, int64_t b)
{
	sqlite3_stmt *s = sd->s[SD_LOAD];
	int64_t w = dcache_width(sd->dc);
	uint64_t keys[DEDUP_MAX_KEYS];
	int rc;

	if ((rc = dcache_open_bucket(sd->dc, b, in->serial)))
		return rc;
	sd->nlast = 0;
	if ((sqlite3_bind_int64(s, 1, b * w) |
	     sqlite3_bind_int64(s, 2, b * w + w - 1) |
	     sqlite3_bind_int(s, 3, DCACHE_LOAD_MAX)) != SQLITE_OK) {
		rc = store__fail(sd->st, "cannot read dedup candidates");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *tn = (const char *)sqlite3_column_text(s, 3);
		struct dcache_item it = {
			sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
			sqlite3_column_int64(s, 2),
			(uint64_t)sqlite3_column_int64(s, 4), tn,
			sqlite3_column_int(s, 5),
		};
		size_t n;

		dedup_sig_title(sd->sig, tn, it.simhash);
		n = dedup_sig_keys(sd->sig, keys, DEDUP_MAX_KEYS);
		if ((rc = dcache_add(sd->dc, &it, store_dedup_title_hash(tn), keys,
		                     n, in->serial)))
			goto out;
	}
	rc = rc == SQLITE_DONE ? HF_OK :
	     store__fail(sd->st, "cannot read dedup candidates");
out:
	sqlite3_reset(s);
	if (rc)
		dcache_drop(sd->dc, b);
	return rc;
}

int store_dedup_candidates(struct store_dedup *sd, struct store_ingest *in,
                           const char *title_norm, const uint64_t *keys,
                           size_t nkeys, int64_t t, int64_t window,
                           int64_t *ids, int *hits, size_t max, size_t *n)
{
	int hv[sizeof sd->last / sizeof sd->last[0]];
	int64_t width = window > MIN_WIDTH ? window : MIN_WIDTH, b;
	size_t i, k;
	int rc;

	if (in->failed)
		return in->failed;
	if ((rc = sync_cache(sd, in)))
		return failed(in, rc);
	/* A window never spans more than three buckets. */
	if (dcache_width(sd->dc) != width)
		dcache_clear(sd->dc, width);
	for (b = dcache_bucket(sd->dc, t - window);
	     b <= dcache_bucket(sd->dc, t + window); b++)
		if (!dcache_has(sd->dc, b) && (rc = load(sd, in, b)))
			return failed(in, rc);
	if (max > sizeof sd->last / sizeof sd->last[0])
		max = sizeof sd->last / sizeof sd->last[0];
	dcache_candidates(sd->dc, t - window, t + window,
	                  store_dedup_title_hash(title_norm), keys, nkeys,
	                  sd->last, hv, max, &k);
	sd->nlast = k;
	for (i = 0; i < k && i < max; i++) {
		ids[i] = sd->last[i].id;
		hits[i] = hv[i];
	}
	*n = i;
	return HF_OK;
}

int store_dedup_item(struct store_dedup *sd, struct store_ingest *in,
                     int64_t id, struct store_dedup_item *out,
                     struct dedup_sig *sig)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < sd->nlast && sd->last[i].id != id; i++)
		;
	if (i < sd->nlast) {
		const struct dcache_item *it = &sd->last[i];

		out->id = id;
		out->feed_id = it->feed_id;
		out->t = it->t;
		out->carried = 1;
		/* Only an item with merged sources needs SQL to tell. */
		if (it->feed_id != in->feed_id && !it->multi)
			out->carried = 0;
		else if (it->feed_id != in->feed_id) {
			s = sd->s[SD_CARRIED];
			if ((sqlite3_bind_int64(s, 1, id) |
			     sqlite3_bind_int64(s, 2, in->feed_id)) != SQLITE_OK ||
			    sqlite3_step(s) != SQLITE_ROW) {
				sqlite3_reset(s);
				return failed(in, store__fail(sd->st,
				              "cannot read sources of item %lld",
				              (long long)id));
			}
			out->carried = sqlite3_column_int(s, 0);
			sqlite3_reset(s);
		}
		dedup_sig_title(sig, it->title_norm, it->simhash);
		return 1;
	}
	s = sd->s[SD_ITEM];
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

void store_dedup_sourced(struct store_dedup *sd, int64_t id, int64_t t)
{
	dcache_mark_multi(sd->dc, id, t);
	sd->nlast = 0;
}

int store_dedup_index(struct store_dedup *sd, struct store_ingest *in,
                      int64_t id, int64_t t, const char *title_norm,
                      uint64_t simhash, const uint64_t *keys, size_t nkeys,
                      int add, int sole)
{
	struct dcache_item it = {id, in->feed_id, t, simhash, title_norm, !sole};
	int rc;

	if (in->failed)
		return in->failed;
	if ((rc = sync_cache(sd, in)))
		return failed(in, rc);
	sd->nlast = 0;
	if (!add) {
		dcache_remove(sd->dc, id, t, in->serial);
		return HF_OK;
	}
	if (!title_norm || !*title_norm)
		return HF_OK;         /* never a candidate, as when loaded */
	return failed(in, dcache_add(sd->dc, &it, store_dedup_title_hash(title_norm),
	                             keys, nkeys, in->serial));
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
	if ((rc = store_ingest_canon(in, e->link, &canon)))
		return failed(in, rc);
	s = sd->s[SD_DEMOTE];
	if ((rc = store__run(st, s, sqlite3_bind_int64(s, 1, id),
	                     "cannot keep former primary source")))
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
	if (!rc)
		rc = store__categories_put(st, id, NULL, 0, 1);
	if (rc)
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
