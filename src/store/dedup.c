/* store/dedup.c - the SQL of deduplication on the store's connection; see
 * dedup.h.  Statements of its own, prepared once, bound parameters only. */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/limits.h"
#include "store_int.h"


enum sd_id {
	SD_SOURCE,
	SD_WINDOW_ID,
	SD_CANDIDATES,
	SD_COMMON,
	SD_SAME_URL,
	SD_ITEM,
	SD_BODY,
	SD_DEMOTE,
	SD_MERGED_DROP,
	SD_PROMOTE,
	SD_ECATS_CLEAR,
	SD_ECAT_ADD,
	SD_FEED_NAME,
	SD_UNINDEXED,
	SD__COUNT
};

/* An item of the same headline outranks any number of shared words. */
#define TITLE_WEIGHT DEDUP_MAX_INDEX

static const char *const sd_sql[SD__COUNT] = {
	/* The item holds its primary source's key; a merged source has a
	 * row of its own (store_schema.c). */
	[SD_SOURCE] =
	"SELECT id, 1, raw_hash FROM items WHERE feed_id = ?1 AND key = ?2"
	" UNION ALL"
	" SELECT item_id, 0, raw_hash FROM item_sources"
	" WHERE feed_id = ?1 AND key = ?2 AND key IS NOT NULL"
	" LIMIT 1",
	/* The first item first seen at or after ?1: ids grow with
	 * first_seen, so its id bounds the window's from below. */
	[SD_WINDOW_ID] =
	"SELECT id FROM items WHERE first_seen >= ?1 ORDER BY first_seen, id"
	" LIMIT 1",
	/* One rare term's items from id ?2 on, newest first, at most ?3 (as
	 * SD_COMMON found): a seek in its primary key. */
	[SD_CANDIDATES] =
	"SELECT item_id, t FROM item_terms WHERE term = ?1 AND item_id >= ?2"
	" ORDER BY item_id DESC LIMIT ?3",
	/* Whether a term has more than ?3 items from id ?2 on: the id of
	 * the one after them, or none (store_dedup_candidates). */
	[SD_COMMON] =
	"SELECT item_id FROM item_terms WHERE term = ?1 AND item_id >= ?2"
	" ORDER BY item_id DESC LIMIT 1 OFFSET ?3",
	/* Links of the window's items and of their merged sources that
	 * match a same_url GLOB, newest item first; through items_t, so
	 * the cost is the window's (only links of a same_url pattern ask). */
	[SD_SAME_URL] =
	"SELECT id, link FROM items"
	" WHERE COALESCE(published, first_seen) BETWEEN ?2 AND ?3 AND link GLOB ?1"
	" UNION ALL SELECT i.id, s.link FROM items i CROSS JOIN item_sources s"
	" ON s.item_id = i.id"
	" WHERE COALESCE(i.published, i.first_seen) BETWEEN ?2 AND ?3"
	" AND s.link GLOB ?1 ORDER BY 1 DESC",
	[SD_ITEM] =
	"SELECT feed_id, COALESCE(published, first_seen), title_norm, simhash,"
	" feed_id = ?2 OR EXISTS (SELECT 1 FROM item_sources s"
	" WHERE s.item_id = items.id AND s.feed_id = ?2), link FROM items WHERE id = ?1",
	[SD_BODY] = "SELECT summary FROM items WHERE id = ?1",
	/* Promotion, in this order: the old primary becomes a merged source
	 * (so its key stays known), the new primary's merged row goes, the
	 * item takes its fields.
	 * Primary fields follow the primary source (ingest.h). */
	[SD_DEMOTE] =
	"INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link, guid,"
	" first_seen, title, summary, updated)"
	" SELECT id, feed_id, key, raw_hash, link, guid, first_seen, title,"
	" summary, updated FROM items WHERE id = ?1"
	" ON CONFLICT (feed_id, key) WHERE key IS NOT NULL DO UPDATE SET"
	" item_id = excluded.item_id, raw_hash = excluded.raw_hash,"
	" link = excluded.link, guid = excluded.guid, title = excluded.title,"
	" summary = excluded.summary, updated = excluded.updated",
	[SD_MERGED_DROP] =
	"DELETE FROM item_sources WHERE feed_id = ?1 AND key = ?2",
	[SD_PROMOTE] =
	"UPDATE items SET feed_id = ?2, key = ?3, raw_hash = ?4, guid = ?5,"
	" title = ?6, link = ?7, canon_url = ?8,"
	" canon_hash = helsefeed_fnv1a(?8), published = ?9, updated = ?10,"
	" author = ?11, summary = ?12, content = ?13, last_changed = ?14,"
	" revision = revision + 1, flags = (flags & ~0xffff) | ?15,"
	" title_norm = NULL, simhash = NULL,"
	/* The same feed's new version of its story is a correction when
	 * its text changed (store_text_sig); another feed's is a change of
	 * source, shown by the credit, not by "Oppdatert". */
	" corrected = iif(?17 AND text_sig IS NOT NULL AND text_sig <> ?16,"
	" ?14, corrected), text_sig = ?16 WHERE id = ?1",
	[SD_ECATS_CLEAR] = "DELETE FROM item_entry_categories WHERE item_id = ?1",
	[SD_ECAT_ADD] =
	"INSERT OR IGNORE INTO item_entry_categories (item_id, term)"
	" VALUES (?1, ?2)",
	[SD_FEED_NAME] = "SELECT name FROM feeds WHERE id = ?1",
	/* Items first seen since ?1 with a fingerprint and no same-story
	 * terms (store_dedup_unindexed). */
	[SD_UNINDEXED] =
	"SELECT id FROM items WHERE first_seen >= ?1 AND title_norm IS NOT NULL"
	" AND NOT EXISTS (SELECT 1 FROM item_terms x WHERE x.item_id = items.id)"
	" ORDER BY id",
};

struct store_dedup {
	struct store *st;
	sqlite3_stmt *s[SD__COUNT];
	struct buf link;        /* store_dedup_item's out->link */
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
	buf_free(&sd->link);
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
	struct store_dedup_source r = {0, 0, 0};
	int rc;

	if (in->failed)
		return in->failed;
	if ((sqlite3_bind_int64(s, 1, in->feed_id) | bind_text(s, 2, key))
	    != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		r.item_id = sqlite3_column_int64(s, 0);
		r.primary = sqlite3_column_int(s, 1);
		r.raw_hash = (uint64_t)sqlite3_column_int64(s, 2);
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

/* Step s to its one row: 1 (row), 0 (none), or the failure. */
static int step_id(struct store_dedup *sd, sqlite3_stmt *s, int64_t *id)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store__fail(sd->st, "cannot find dedup candidates");
	}
	sqlite3_reset(s);
	return rc;
}

/* Add id with weight h to the best-first list ids/hits of k (max). */
static void rank_put(int64_t *ids, int *hits, size_t *k, size_t max,
                     int64_t id, int h)
{
	size_t i;

	for (i = *k < max ? (*k)++ : max;
	     i > 0 && (hits[i - 1] < h || (hits[i - 1] == h && ids[i - 1] < id));
	     i--)
		if (i < max) {
			ids[i] = ids[i - 1];
			hits[i] = hits[i - 1];
		}
	if (i < max) {
		ids[i] = id;
		hits[i] = h;
	}
}

/* An item found by a term, and the weight of that term. */
struct found {
	int64_t id;
	int w;
};

static int id_desc(const void *a, const void *b)
{
	int64_t x = ((const struct found *)a)->id;
	int64_t y = ((const struct found *)b)->id;

	return (x < y) - (x > y);
}

int store_dedup_candidates(struct store_dedup *sd, struct store_ingest *in,
                           const int64_t *terms, size_t nterms,
                           int64_t title_term, int64_t t, int64_t window,
                           int64_t *ids, int *hits, size_t max, size_t *n)
{
	sqlite3_stmt *s = sd->s[SD_CANDIDATES];
	struct found found[DEDUP_MAX_INDEX * HF_DEDUP_RARE];
	int64_t lo = 0, it;
	size_t nfound = 0, k = 0, i, u;
	int rc;

	if (in->failed)
		return in->failed;
	if (nterms > DEDUP_MAX_INDEX)
		nterms = DEDUP_MAX_INDEX;
	rc = HF_OK;
	if (!nterms || !max)
		goto out;
	if (sqlite3_bind_int64(sd->s[SD_WINDOW_ID], 1,
	                       t - window - HF_DEDUP_AHEAD_S) != SQLITE_OK) {
		rc = store__fail(sd->st, "cannot find dedup candidates");
		goto out;
	}
	/* No item first seen since the window opened: none is in it. */
	if ((rc = step_id(sd, sd->s[SD_WINDOW_ID], &lo)) <= 0)
		goto out;
	for (i = 0; i < nterms; i++) {
		int w = terms[i] == title_term ? 1 + TITLE_WEIGHT : 1;

		if ((sqlite3_bind_int64(sd->s[SD_COMMON], 1, terms[i]) |
		     sqlite3_bind_int64(sd->s[SD_COMMON], 2, lo) |
		     sqlite3_bind_int(sd->s[SD_COMMON], 3, HF_DEDUP_RARE)) != SQLITE_OK) {
			rc = store__fail(sd->st, "cannot find dedup candidates");
			goto out;
		}
		/* A term of more items of the window than HF_DEDUP_RARE finds
		 * no story: a rare one (a name, a place, a figure) does. */
		if ((rc = step_id(sd, sd->s[SD_COMMON], &it)) < 0)
			goto out;
		if (rc)
			continue;
		/* LIMIT bounds found[] whatever the index holds. */
		if ((sqlite3_bind_int64(s, 1, terms[i]) |
		     sqlite3_bind_int64(s, 2, lo) |
		     sqlite3_bind_int(s, 3, HF_DEDUP_RARE)) != SQLITE_OK) {
			rc = store__fail(sd->st, "cannot find dedup candidates");
			goto out;
		}
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			it = sqlite3_column_int64(s, 1);
			if (it < t - window || it > t + window)
				continue;
			found[nfound].id = sqlite3_column_int64(s, 0);
			found[nfound++].w = w;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			rc = store__fail(sd->st, "cannot find dedup candidates of feed '%s'",
			                 in->name);
			goto out;
		}
	}
	/* Each item once, weighed by the rare terms it has. */
	qsort(found, nfound, sizeof *found, id_desc);
	for (i = 0; i < nfound; i = u) {
		int h = 0;

		for (u = i; u < nfound && found[u].id == found[i].id; u++)
			h += found[u].w;
		rank_put(ids, hits, &k, max, found[i].id, h);
	}
	rc = HF_OK;
out:
	sqlite3_clear_bindings(sd->s[SD_CANDIDATES]);
	if (!rc)
		*n = k;
	return failed(in, rc);
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
		out->link = NULL;
		buf_clear(&sd->link);
		if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
			if (buf_puts(&sd->link, (const char *)sqlite3_column_text(s, 5)) ||
			    buf_reserve(&sd->link, 1)) {
				sqlite3_reset(s);
				return failed(in, HF_ENOMEM);
			}
			sd->link.data[sd->link.len] = '\0';
			out->link = sd->link.data;
		}
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

int store_dedup_unindexed(struct store_dedup *sd, struct store_ingest *in,
                          int64_t since, int64_t **ids, size_t *n)
{
	sqlite3_stmt *s = sd->s[SD_UNINDEXED];
	int64_t *v = NULL, *nv;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (in->failed)
		return in->failed;
	if (sqlite3_bind_int64(s, 1, since) != SQLITE_OK) {
		rc = store__fail(sd->st, "cannot list items without same-story terms");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(nv = realloc(v, cap * sizeof *v))) {
				rc = HF_ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[(*n)++] = sqlite3_column_int64(s, 0);
	}
	rc = rc == SQLITE_DONE ? HF_OK
	                       : store__fail(sd->st, "cannot list items without same-story terms");
out:
	sqlite3_reset(s);
	if (rc) {
		free(v);
		*n = 0;
		return failed(in, rc);
	}
	*ids = v;
	return HF_OK;
}

int store_dedup_promote(struct store_dedup *sd, struct store_ingest *in,
                        int64_t id, const struct feed_entry *e, int revision)
{
	struct store *st = sd->st;
	sqlite3_stmt *s;
	const char *canon = NULL;
	int64_t sig = 0;
	int rc;

	if (in->failed)
		return in->failed;
	if ((rc = store_ingest_canon(in, e->link, &canon)) ||
	    (rc = store_text_sig(e->title, e->summary, e->content, &sig)))
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
	         sqlite3_bind_int64(s, 15, e->flags & STORE_ITEM_ENTRY_FLAGS) |
	         sqlite3_bind_int64(s, 16, sig) |
	         sqlite3_bind_int(s, 17, revision != 0),
	         "cannot make source primary");
	/* A new revision of the primary's own text is classified afresh;
	 * another source keeps the story in the categories it had. */
	if (!rc && revision)
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

int store_dedup_same_url(struct store_dedup *sd, struct store_ingest *in,
                         const char *pattern, const char *id, size_t idlen,
                         int64_t t, int64_t window, int64_t *out)
{
	sqlite3_stmt *s = sd->s[SD_SAME_URL];
	struct buf glob = BUF_INIT;
	int64_t found = 0;
	int rc;

	if (in->failed)
		return in->failed;
	if ((rc = dedup_url_glob(pattern, id, idlen, &glob)))
		return failed(in, rc);
	if ((sqlite3_bind_text(s, 1, glob.data, (int)glob.len, SQLITE_STATIC) |
	     sqlite3_bind_int64(s, 2, t - window) |
	     sqlite3_bind_int64(s, 3, t + window)) != SQLITE_OK)
		rc = SQLITE_ERROR;
	while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *link = (const char *)sqlite3_column_text(s, 1);
		const char *d;
		size_t dn;

		rc = HF_OK;
		/* GLOB's "*" may take more than the pattern's does: the id
		 * decides. */
		if (dedup_url_match(pattern, link, &d, &dn) && dn == idlen &&
		    !memcmp(d, id, dn)) {
			found = sqlite3_column_int64(s, 0);
			rc = SQLITE_DONE;
		}
	}
	if (rc == SQLITE_DONE) {
		rc = HF_OK;
		*out = found;
	} else {
		rc = store__fail(sd->st, "cannot look up same_url links of feed '%s'",
		                 in->name);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	buf_free(&glob);
	return failed(in, rc);
}

int store_dedup_add_categories(struct store_dedup *sd, struct store_ingest *in,
                               int64_t id, const struct store_category *cats,
                               size_t n)
{
	if (in->failed)
		return in->failed;
	return failed(in, store__categories_put(sd->st, id, cats, n, 0));
}
