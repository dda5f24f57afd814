/* store/dedup.c - the SQL of deduplication on the store's connection; see
 * dedup.h.  Statements of its own, prepared once, bound parameters only. */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/limits.h"
#include "store_int.h"


enum sd_id {
	SD_SOURCE,
	SD_SCAN,
	SD_DATA_VERSION,
	SD_SAME_URL,
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
	"SELECT id, 1, raw_hash FROM items WHERE feed_id = ?1 AND key = ?2"
	" UNION ALL"
	" SELECT item_id, 0, raw_hash FROM item_sources"
	" WHERE feed_id = ?1 AND key = ?2 AND key IS NOT NULL"
	" LIMIT 1",
	/* The newest ?1 items, oldest first (store_dedup_scan). */
	[SD_SCAN] =
	"SELECT id, first_seen, COALESCE(published, first_seen), title_norm,"
	" summary, feed_id, simhash, EXISTS (SELECT 1 FROM item_sources s"
	" WHERE s.item_id = items.id) FROM items WHERE id >= COALESCE("
	"(SELECT id FROM items ORDER BY id DESC LIMIT 1 OFFSET ?1 - 1), 0)"
	" ORDER BY id",
	[SD_DATA_VERSION] = "PRAGMA data_version",
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
	"INSERT OR IGNORE INTO item_entry_categories"
	" (item_id, term)"
	" VALUES (?1, ?2)",
	[SD_FEED_NAME] = "SELECT name FROM feeds WHERE id = ?1",
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

int store_dedup_scan(struct store_dedup *sd, struct store_ingest *in,
                     size_t limit,
                     int (*fn)(void *ud, const struct dedup_index_item *it,
                               const char *summary),
                     void *ud)
{
	sqlite3_stmt *s = sd->s[SD_SCAN];
	struct dedup_index_item it;
	int rc;

	if (in->failed)
		return in->failed;
	if (sqlite3_bind_int64(s, 1, (int64_t)limit) != SQLITE_OK) {
		rc = SQLITE_ERROR;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		it.id = sqlite3_column_int64(s, 0);
		it.first_seen = sqlite3_column_int64(s, 1);
		it.published = sqlite3_column_int64(s, 2);
		it.title_norm = (const char *)sqlite3_column_text(s, 3);
		it.feed_id = sqlite3_column_int64(s, 5);
		it.simhash = (uint64_t)sqlite3_column_int64(s, 6);
		it.merged = sqlite3_column_int(s, 7);
		if ((rc = fn(ud, &it, (const char *)sqlite3_column_text(s, 4)))) {
			sqlite3_reset(s);
			return failed(in, rc);
		}
	}
out:
	rc = rc == SQLITE_DONE ? HF_OK
	                       : store__fail(sd->st, "cannot read the items of the "
	                                     "same-story index");
	sqlite3_reset(s);
	return failed(in, rc);
}

int store_dedup_epoch(struct store_dedup *sd, struct store_ingest *in,
                      uint64_t *epoch)
{
	struct store *st = sd->st;
	sqlite3_stmt *s = sd->s[SD_DATA_VERSION];
	int64_t v;

	if (in->failed)
		return in->failed;
	/* Inside the ingest's write transaction nobody else commits: once
	 * an ingest is enough. */
	if (!in->version_read) {
		if (sqlite3_step(s) != SQLITE_ROW) {
			sqlite3_reset(s);
			return failed(in, store__fail(st, "cannot read the data version"));
		}
		v = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (v != st->data_version) {
			st->data_version = v;
			st->dedup_epoch++;
		}
		in->version_read = 1;
	}
	*epoch = st->dedup_epoch;
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
