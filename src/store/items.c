/*
 * items.c - the items an admin lists, inspects, hides and prunes
 * (`helsefeed items`, `hide`, `unhide`, keep = ...).  Each call prepares
 * its statements once: these are commands, not the loop's hot path.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/util.h"
#include "store_int.h"

/* An item's time, as items_t indexes it. */
#define ITEM_T "COALESCE(i.published, i.first_seen)"

#define ITEM_COLS                                                           \
	"SELECT i.id, f.name, i.title, i.link, i.guid, i.author, i.summary,"\
	" i.content, (SELECT group_concat(category, ' ') FROM (SELECT"      \
	" DISTINCT category FROM item_categories c WHERE c.item_id = i.id"  \
	" ORDER BY category)), i.published, i.updated, i.first_seen,"       \
	" i.last_changed, " ITEM_T ", i.revision, i.hidden, i.title_norm"   \
	" FROM items i JOIN feeds f ON f.id = i.feed_id"

/* Optional filters as bound parameters: NULL leaves one out. */
static const char list_sql[] =
	ITEM_COLS
	" WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM item_categories c"
	"  WHERE c.item_id = i.id AND c.category = ?1))"
	" AND (?2 IS NULL OR f.name = ?2 OR EXISTS (SELECT 1 FROM item_sources s"
	"  JOIN feeds g ON g.id = s.feed_id WHERE s.item_id = i.id"
	"  AND g.name = ?2))"
	" AND (?3 IS NULL OR " ITEM_T " >= ?3)"
	" AND (?4 IS NULL OR i.id IN (SELECT rowid FROM items_fts"
	"  WHERE items_fts MATCH ?4))"
	" AND (?6 OR NOT i.hidden)"
	" ORDER BY " ITEM_T " DESC, i.id DESC LIMIT ?5";

static int64_t col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ?
	       HF_NOTIME : sqlite3_column_int64(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static void row_of(sqlite3_stmt *s, struct store_item_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->feed = col_text(s, 1);
	r->title = col_text(s, 2);
	r->link = col_text(s, 3);
	r->guid = col_text(s, 4);
	r->author = col_text(s, 5);
	r->summary = col_text(s, 6);
	r->content = col_text(s, 7);
	r->categories = col_text(s, 8);
	r->published = col_time(s, 9);
	r->updated = col_time(s, 10);
	r->first_seen = sqlite3_column_int64(s, 11);
	r->last_changed = sqlite3_column_int64(s, 12);
	r->t = sqlite3_column_int64(s, 13);
	r->revision = sqlite3_column_int64(s, 14);
	r->hidden = sqlite3_column_int(s, 15) != 0;
	r->title_norm = col_text(s, 16);
}

/*
 * An FTS5 query from what an admin typed: its words as the index's
 * tokenizer (unicode61) splits them, at every character that is no
 * letter, digit or mark, each a quoted string (so that no word is read
 * as an operator: "og", "NOT") with "*" after it for a prefix search;
 * all must match.  "covid-19" is "covid" and "19": the index keeps no
 * positions (schema.c, FTS_TABLE), so there are no phrases.
 */
static int fts_query(const char *words, struct buf *out)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)words;
	utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(words), i = 0, n;
	int in_word = 0, count = 0;

	while (i < len) {
		utf8proc_int32_t c;
		int word;

		if ((n = utf8proc_iterate(p + i, len - i, &c)) <= 0) {
			n = 1;
			word = 0;
		} else {
			switch (utf8proc_category(c)) {
			case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
			case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
			case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
			case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
			case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
			case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CO:
				word = 1;
				break;
			default:
				word = 0;
			}
		}
		if (word && !in_word && buf_puts(out, count++ ? " \"" : "\""))
			return HF_ENOMEM;
		if (!word && in_word && buf_puts(out, "\"*"))
			return HF_ENOMEM;
		if (word && buf_append(out, (const char *)p + i, (size_t)n))
			return HF_ENOMEM;
		in_word = word;
		i += n;
	}
	if (in_word && buf_puts(out, "\"*"))
		return HF_ENOMEM;
	return count ? 0 : HF_EINVAL;
}

int store_items_list(struct store *st, const struct store_items_query *q,
                     int (*cb)(void *ud, const struct store_item_row *r),
                     void *ud)
{
	struct buf fq = BUF_INIT;
	sqlite3_stmt *s = NULL;
	int rc = 0, src;

	if (q->limit < 1)
		return HF_EINVAL;
	if (q->search && (rc = fts_query(q->search, &fq)))
		goto out;
	if (sqlite3_prepare_v2(st->db, list_sql, -1, &s, NULL) != SQLITE_OK ||
	    (bind_text(s, 1, q->category) | bind_text(s, 2, q->feed) |
	     bind_date(s, 3, q->since) | bind_text(s, 4, q->search ? fq.data : NULL) |
	     sqlite3_bind_int(s, 5, q->limit) |
	     sqlite3_bind_int(s, 6, q->with_hidden != 0)) != SQLITE_OK) {
		rc = store__fail(st, "items: cannot prepare the list");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_item_row r;
		row_of(s, &r);
		if ((rc = cb(ud, &r)))
			goto out;
	}
	if (src != SQLITE_DONE)
		rc = store__fail(st, "items: cannot list");
out:
	sqlite3_finalize(s);
	buf_free(&fq);
	return rc;
}

static const char *const get_sql[] = {
	ITEM_COLS " WHERE i.id = ?1",
	/* The primary source first, then the merged ones as they came. */
	"SELECT f.name, s.link, s.first_seen, s.key IS NULL, s.title, s.summary FROM"
	" item_sources_all s JOIN feeds f ON f.id = s.feed_id"
	" WHERE s.item_id = ?1 ORDER BY s.key IS NOT NULL, s.first_seen, f.name",
	"SELECT category, origin FROM item_categories WHERE item_id = ?1"
	" ORDER BY category, origin",
	"SELECT url, type, length FROM item_enclosures WHERE item_id = ?1"
	" ORDER BY pos",
	"SELECT term FROM item_entry_categories WHERE item_id = ?1 ORDER BY term",
};

int store_item_get(struct store *st, int64_t id,
                   const struct store_item_visitor *v, void *ud)
{
	sqlite3_stmt *s = NULL;
	int rc = 0, src = SQLITE_DONE, found = 0;

	for (size_t q = 0; q < sizeof get_sql / sizeof get_sql[0] && !rc; q++) {
		if (sqlite3_prepare_v2(st->db, get_sql[q], -1, &s, NULL) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
			rc = store__fail(st, "items: cannot prepare a query");
			break;
		}
		while (!rc && (src = sqlite3_step(s)) == SQLITE_ROW) {
			if (q == 0) {
				struct store_item_row r;
				found = 1;
				row_of(s, &r);
				rc = v->item ? v->item(ud, &r) : 0;
			} else if (q == 1 && v->source) {
				struct store_source_row r = {
					col_text(s, 0), col_text(s, 1), col_text(s, 4),
					col_text(s, 5), sqlite3_column_int64(s, 2),
					sqlite3_column_int(s, 3),
				};
				rc = v->source(ud, &r);
			} else if (q == 2 && v->category) {
				rc = v->category(ud, col_text(s, 0), col_text(s, 1));
			} else if (q == 3 && v->enclosure) {
				rc = v->enclosure(ud, col_text(s, 0), col_text(s, 1),
				                  sqlite3_column_type(s, 2) == SQLITE_NULL ?
				                  -1 : sqlite3_column_int64(s, 2));
			} else if (q == 4 && v->entry_category) {
				rc = v->entry_category(ud, col_text(s, 0));
			}
		}
		if (!rc && src != SQLITE_DONE)
			rc = store__fail(st, "items: cannot read item %lld", (long long)id);
		sqlite3_finalize(s);
		s = NULL;
		if (!rc && q == 0 && !found)
			rc = HF_EINVAL;
	}
	sqlite3_finalize(s);
	return rc;
}

int store_item_set_hidden(struct store *st, int64_t id, int hidden,
                          int64_t now, int *changed)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__check_idle(st, "hide an item")))
		return rc;
	if (sqlite3_prepare_v2(st->db, "UPDATE items SET hidden = ?2,"
	                       " hidden_changed = ?3 WHERE id = ?1"
	                       " AND hidden <> ?2", -1, &s, NULL) != SQLITE_OK ||
	    (sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int(s, 2, hidden != 0) |
	     sqlite3_bind_int64(s, 3, now)) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		rc = store__fail(st, "cannot %s item %lld", hidden ? "hide" : "unhide",
		                 (long long)id);
		goto out;
	}
	if (sqlite3_changes(st->db) == 0) {
		sqlite3_finalize(s);
		s = NULL;
		if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM items WHERE id = ?1", -1,
		                       &s, NULL) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
			rc = store__fail(st, "items: cannot prepare a query");
			goto out;
		}
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			rc = store__fail(st, "items: cannot read item %lld", (long long)id);
			goto out;
		}
		if (rc == SQLITE_DONE) {
			rc = HF_EINVAL;
			goto out;
		}
		rc = 0;
		if (changed)
			*changed = 0;
		goto out;
	}
	if (changed)
		*changed = 1;
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

int store_prune_items(struct store *st, int64_t before, int64_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__check_idle(st, "prune items")))
		return rc;
	/* Merged sources and categories go with their item (ON DELETE
	 * CASCADE), items_fts through its trigger. */
	/* first_seen too: an entry a feed still carries comes back as a new
	 * item after its prune; it must not go and come back every day. */
	if (sqlite3_prepare_v2(st->db, "DELETE FROM items WHERE"
	                       " COALESCE(published, first_seen) < ?1"
	                       " AND first_seen < ?1", -1, &s,
	                       NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, before) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		rc = store__fail(st, "cannot prune items");
		goto out;
	}
	if (n)
		*n = sqlite3_changes(st->db);
	/* The same-story index of a pipeline held some of them. */
	if (sqlite3_changes(st->db))
		st->dedup_epoch++;
out:
	sqlite3_finalize(s);
	return rc;
}
