/* store_ingest.c - one feed's items in one transaction; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"
#include "store_int.h"

/* --- ingest ------------------------------------------------------------ */

static void ingest_free(struct store_ingest *in)
{
	in->st->ingest = NULL;
	buf_free(&in->canon);
	buf_free(&in->canon_src);
	free(in->name);
	free(in);
}

static void rollback(struct store_ingest *in)
{
	struct store *st = in->st;

	store__rollback(st);
	/* What the pipeline put in its same-story index went with it. */
	st->dedup_epoch++;
}

int store_ingest_begin(struct store *st, const char *feed_name, int64_t now,
                       struct store_ingest **out)
{
	struct store_ingest *in = NULL;
	int rc;

	if ((rc = store__check_idle(st, "begin another ingest")))
		return rc;
	in = calloc(1, sizeof *in);
	if (!in || !(in->name = strdup(feed_name))) {
		free(in);
		return HF_ENOMEM;
	}
	in->st = st;
	in->now = now;
	if ((rc = store__run_id(st, S_BEGIN, "cannot begin transaction")))
		goto fail;
	if ((rc = store__feed_id(st, feed_name, &in->feed_id))) {
		store__rollback(st);
		goto fail;
	}
	st->ingest = in;
	*out = in;
	return HF_OK;
fail:
	free(in->name);
	free(in);
	return rc;
}

int store_ingest_known(struct store_ingest *in, const char *key,
                       uint64_t raw_hash)
{
	struct store *st = in->st;
	sqlite3_stmt *s = store__stmt(st, S_SOURCE_KNOWN);
	int rc;

	if (!s)
		return HF_EDB;
	if ((sqlite3_bind_int64(s, 1, in->feed_id) | bind_text(s, 2, key))
	    != SQLITE_OK)
		rc = store__fail(st, "cannot look up entry of feed '%s'", in->name);
	else if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		rc = (uint64_t)sqlite3_column_int64(s, 0) == raw_hash;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = store__fail(st, "cannot look up entry of feed '%s'", in->name);
	sqlite3_reset(s);
	return rc;
}

int64_t store_ingest_item_id(const struct store_ingest *in)
{
	return in->item_id;
}

int store_ingest_canon(struct store_ingest *in, const char *link,
                       const char **out)
{
	int rc;

	*out = NULL;
	if (!link || (sqlite3_strnicmp(link, "http://", 7) != 0 &&
	              sqlite3_strnicmp(link, "https://", 8) != 0))
		return HF_OK;
	/* The pipeline looks the entry's URL up, then stores the entry:
	 * the canonical form is made once. */
	if (in->canon_src.len && strcmp(buf_str(&in->canon_src), link) == 0) {
		*out = in->canon_none ? NULL : buf_str(&in->canon);
		return HF_OK;
	}
	buf_clear(&in->canon_src);
	buf_clear(&in->canon);
	rc = norm_url_canon(link, &in->canon);
	if (rc != HF_OK && rc != HF_EINVAL)
		return rc;
	in->canon_none = rc == HF_EINVAL;
	if (buf_puts(&in->canon_src, link))
		buf_clear(&in->canon_src);   /* no cache: made again next time */
	*out = in->canon_none ? NULL : buf_str(&in->canon);
	return HF_OK;
}

/* The simhash of a fingerprint, NULL without one. */
static int bind_fp(sqlite3_stmt *s, int i, const char *tn,
                   const struct store_entry_hint *h)
{
	return tn ? sqlite3_bind_int64(s, i, (int64_t)h->simhash) :
	            sqlite3_bind_null(s, i);
}

/* A new item of this feed: its entry, when it was merged into another
 * item before (a caller without a hint cannot know), is no longer a
 * source of that one.  The item is its own primary source. */
static int drop_merged(struct store_ingest *in, const struct feed_entry *e)
{
	sqlite3_stmt *s = store__stmt(in->st, S_SOURCE_MERGED_DROP);

	if (!s)
		return HF_EDB;
	return store__run(in->st, s,
	                  sqlite3_bind_int64(s, 1, in->feed_id) |
	                  bind_text(s, 2, e->key),
	                  "cannot drop merged item source");
}

/* Upsert the row of an entry of this feed merged into another item. */
static int put_merged(struct store_ingest *in, int64_t item,
                      const struct feed_entry *e)
{
	sqlite3_stmt *s = store__stmt(in->st, S_SOURCE_MERGED_PUT);

	if (!s)
		return HF_EDB;
	return store__run(in->st, s,
	                  sqlite3_bind_int64(s, 1, item) |
	                  sqlite3_bind_int64(s, 2, in->feed_id) |
	                  bind_text(s, 3, e->key) |
	                  sqlite3_bind_int64(s, 4, (int64_t)e->raw_hash) |
	                  bind_text(s, 5, e->link) | bind_text(s, 6, e->id) |
	                  sqlite3_bind_int64(s, 7, in->now) |
	                  bind_text(s, 8, e->title) | bind_text(s, 9, e->summary) |
	                  sqlite3_bind_int64(s, 10, e->updated != HF_NOTIME ?
	                                     e->updated : in->now),
	                  "cannot store merged item source");
}

/* Replace the entry categories of an item. */
static int put_categories(struct store_ingest *in, int64_t item,
                          const struct feed_entry *e, int clear)
{
	struct store *st = in->st;
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if (clear) {
		if (!(s = store__stmt(st, S_ENTRYCATS_CLEAR)) ||
		    (rc = store__run(st, s, sqlite3_bind_int64(s, 1, item),
		              "cannot clear entry categories")))
			return s ? rc : HF_EDB;
	}
	if (!e->ncategories)
		return HF_OK;
	if (!(s = store__stmt(st, S_ENTRYCAT_ADD)))
		return HF_EDB;
	for (i = 0; i < e->ncategories; i++)
		if ((rc = store__run(st, s,
		              sqlite3_bind_int64(s, 1, item) |
		              bind_text(s, 2, e->categories[i]),
		              "cannot store entry category")))
			return rc;
	return HF_OK;
}

/* Replace the enclosures of an item with the entry's (at most
 * HF_MAX_ENCLOSURES: the parser's bound). */
static int put_enclosures(struct store_ingest *in, int64_t item,
                          const struct feed_entry *e, int clear)
{
	struct store *st = in->st;
	sqlite3_stmt *s;
	int rc;

	if (clear) {
		if (!(s = store__stmt(st, S_ENCL_CLEAR)) ||
		    (rc = store__run(st, s, sqlite3_bind_int64(s, 1, item),
		              "cannot clear enclosures")))
			return s ? rc : HF_EDB;
	}
	if (!e->nenclosures)
		return HF_OK;
	if (!(s = store__stmt(st, S_ENCL_ADD)))
		return HF_EDB;
	for (size_t i = 0; i < e->nenclosures; i++) {
		const struct feed_enclosure *x = &e->enclosures[i];
		if (!x->url)
			continue;
		if ((rc = store__run(st, s,
		              sqlite3_bind_int64(s, 1, item) |
		              sqlite3_bind_int64(s, 2, (int64_t)i) |
		              bind_text(s, 3, x->url) | bind_text(s, 4, x->type) |
		              (x->length >= 0 ? sqlite3_bind_int64(s, 5, x->length)
		                              : sqlite3_bind_null(s, 5)),
		              "cannot store enclosure")))
			return rc;
	}
	return HF_OK;
}

/* The (feed, key) of entry e in the items table: *id 0 when none. */
static int find_item(struct store_ingest *in, const struct feed_entry *e,
                     int64_t *id, uint64_t *raw_hash)
{
	struct store *st = in->st;
	sqlite3_stmt *s = store__stmt(st, S_ITEM_FIND);
	int rc;

	if (!s)
		return HF_EDB;
	if ((sqlite3_bind_int64(s, 1, in->feed_id) | bind_text(s, 2, e->key))
	    != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	*id = 0;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*raw_hash = (uint64_t)sqlite3_column_int64(s, 1);
		rc = HF_OK;
	} else if (rc == SQLITE_DONE) {
		rc = HF_OK;
	} else {
		rc = store__fail(st, "cannot look up item of feed '%s'", in->name);
	}
	sqlite3_reset(s);
	return rc;
}

int store_ingest_entry(struct store_ingest *in, const struct feed_entry *e,
                       int *outcome)
{
	return store_ingest_entry_with(in, e, NULL, outcome);
}

int store_ingest_entry_with(struct store_ingest *in, const struct feed_entry *e,
                            const struct store_entry_hint *h, int *outcome)
{
	struct store *st = in->st;
	sqlite3_stmt *s;
	const char *canon, *tn = h ? h->title_norm : NULL;
	char atom_id[STORE_ATOM_ID_SIZE];
	int64_t id = 0, sig = 0;
	uint64_t old = 0;
	int found, rc;

	if (in->failed)
		return in->failed;
	if (h) {
		id = h->item_id;
		old = h->raw_hash;
	} else if ((rc = find_item(in, e, &id, &old))) {
		goto out;
	}
	found = id != 0;
	if (found && old == e->raw_hash) {
		in->item_id = id;
		if (outcome)
			*outcome = STORE_UNCHANGED;
		return HF_OK;
	}
	if ((rc = store_ingest_canon(in, e->link, &canon)) ||
	    (h && (rc = store__categories_check(st, h->cats, h->ncats))) ||
	    (rc = store_text_sig(e->title, e->summary, e->content, &sig)) ||
	    (!found && (rc = store__new_atom_id(atom_id))))
		goto out;

	if (!found) {
		if (!(s = store__stmt(st, S_ITEM_INSERT))) {
			rc = HF_EDB;
			goto out;
		}
		rc = store__run(st, s,
		         sqlite3_bind_int64(s, 1, in->feed_id) |
		         bind_text(s, 2, e->key) |
		         sqlite3_bind_int64(s, 3, (int64_t)e->raw_hash) |
		         bind_text(s, 4, e->id) | bind_text(s, 5, e->title) |
		         bind_text(s, 6, e->link) | bind_text(s, 7, canon) |
		         bind_date(s, 8, e->published) |
		         bind_date(s, 9, e->updated) |
		         bind_text(s, 10, e->author) |
		         bind_text(s, 11, e->summary) |
		         bind_text(s, 12, e->content) |
		         sqlite3_bind_int64(s, 13, in->now) |
		         sqlite3_bind_int64(s, 14, e->flags & STORE_ITEM_ENTRY_FLAGS) |
		         bind_text(s, 15, tn) | bind_fp(s, 16, tn, h) |
		         bind_text(s, 17, atom_id) |
		         sqlite3_bind_int64(s, 18, sig),
		         "cannot insert item");
		if (rc)
			goto out;
		id = sqlite3_last_insert_rowid(st->db);
	} else {
		if (!(s = store__stmt(st, S_ITEM_UPDATE))) {
			rc = HF_EDB;
			goto out;
		}
		rc = store__run(st, s,
		         sqlite3_bind_int64(s, 1, id) |
		         sqlite3_bind_int64(s, 2, (int64_t)e->raw_hash) |
		         bind_text(s, 3, e->id) | bind_text(s, 4, e->title) |
		         bind_text(s, 5, e->link) | bind_text(s, 6, canon) |
		         bind_date(s, 7, e->published) |
		         sqlite3_bind_int64(s, 8, e->updated != HF_NOTIME ?
		                            e->updated : in->now) |
		         bind_text(s, 9, e->author) |
		         bind_text(s, 10, e->summary) |
		         bind_text(s, 11, e->content) |
		         sqlite3_bind_int64(s, 12, in->now) |
		         sqlite3_bind_int64(s, 13, e->flags & STORE_ITEM_ENTRY_FLAGS) |
		         bind_text(s, 14, tn) | bind_fp(s, 15, tn, h) |
		         sqlite3_bind_int64(s, 16, sig),
		         "cannot update item");
		if (rc)
			goto out;
	}
	if ((!found && !h && (rc = drop_merged(in, e))) ||
	    (rc = put_categories(in, id, e, found)) ||
	    (rc = put_enclosures(in, id, e, found)) ||
	    (rc = store__categories_put(st, id, h ? h->cats : NULL,
	                                h ? h->ncats : 0, found)))
		goto out;
	if (found)
		in->items_updated++;
	else
		in->items_new++;
	in->item_id = id;
	/* Written without the pipeline: its same-story index must be built
	 * again (store_dedup_epoch). */
	if (!h)
		st->dedup_epoch++;
	if (outcome)
		*outcome = found ? STORE_UPDATED : STORE_NEW;
out:
	if (rc)
		in->failed = rc;
	return rc;
}

int store_ingest_find_canon(struct store_ingest *in, const char *canon_url,
                            int64_t *item_id)
{
	struct store *st = in->st;
	sqlite3_stmt *s = store__stmt(st, S_FIND_CANON);
	int rc;

	if (!s)
		return HF_EDB;
	if (bind_text(s, 1, canon_url) != SQLITE_OK)
		rc = store__fail(st, "cannot look up canonical URL");
	else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*item_id = sqlite3_column_int64(s, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = store__fail(st, "cannot look up canonical URL");
	sqlite3_reset(s);
	return rc;
}

int store_ingest_add_source(struct store_ingest *in, int64_t item_id,
                            const struct feed_entry *e)
{
	int rc;

	if (in->failed)
		return in->failed;
	if ((rc = put_merged(in, item_id, e)))
		in->failed = rc;
	else
		in->item_id = item_id;
	return rc;
}

int store_item_set_fingerprint(struct store_ingest *in, int64_t item_id,
                               const char *title_norm, uint64_t simhash)
{
	struct store *st = in->st;
	sqlite3_stmt *s;
	int rc;

	if (in->failed)
		return in->failed;
	if (!(s = store__stmt(st, S_FINGERPRINT)))
		rc = HF_EDB;
	else
		rc = store__run(st, s,
		                sqlite3_bind_int64(s, 1, item_id) |
		                bind_text(s, 2, title_norm) |
		                sqlite3_bind_int64(s, 3, (int64_t)simhash),
		                "cannot store dedup fingerprint");
	if (rc)
		in->failed = rc;
	return rc;
}

int store_ingest_commit(struct store_ingest *in,
                        const struct store_fetch_result *res)
{
	struct store *st = in->st;
	int rc = in->failed;

	if (!rc)
		rc = store__apply_fetch(st, in->feed_id, in->name, res, in->items_new,
		                 in->items_updated);
	/* The full-text index of the items the transaction wrote, at once
	 * (store_schema.c, FTS_TRIGGERS). */
	if (!rc && !(rc = store__run_id(st, S_FTS_FLUSH,
	                                "cannot update the full-text index")))
		rc = store__run_id(st, S_FTS_FLUSHED,
		                   "cannot update the full-text index");
	if (!rc && sqlite3_get_autocommit(st->db))
		/* SQLite rolls back by itself on some errors (SQLITE_FULL,
		 * SQLITE_IOERR); committing then would be a lie. */
		rc = store__failmsg(st, HF_EDB, "transaction was rolled back for feed",
		              in->name);
	if (!rc)
		rc = store__run_id(st, S_COMMIT, "cannot commit ingest");
	if (rc)
		rollback(in);
	ingest_free(in);
	return rc;
}

void store_ingest_abort(struct store_ingest *in)
{
	if (!in)
		return;
	rollback(in);
	ingest_free(in);
}
