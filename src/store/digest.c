/*
 * store_digest.c - the digests table and the items of a digest window, on
 * the store's connection.  Digests run a few times a day, so statements
 * are prepared per call rather than cached with the store's own.
 */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/digest.h"
#include "store_int.h"

static const char *const state_names[] = {
	[STORE_DIGEST_PENDING] = "pending",
	[STORE_DIGEST_SENT] = "sent",
	[STORE_DIGEST_FAILED] = "failed",
};

static const char *const kind_names[FEED_KIND__COUNT] = {
	[FEED_KIND_MINISTRY] = "ministry",
	[FEED_KIND_DIRECTORATE] = "directorate",
	[FEED_KIND_HOSPITAL] = "hospital",
	[FEED_KIND_MUNICIPAL] = "municipal",
	[FEED_KIND_OTHER] = "other",
};

static int prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
		*out = NULL;
		return store__fail(st, "cannot prepare digest statement");
	}
	return HF_OK;
}

static char *col_dup(sqlite3_stmt *s, int i, int *oom)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d;

	if (!t)
		return NULL;
	if (!(d = strdup((const char *)t)))
		*oom = 1;
	return d;
}

void store_digest_row_clear(struct store_digest_row *r)
{
	free(r->message_id);
	free(r->last_error);
	memset(r, 0, sizeof *r);
}

int store_digest_latest(struct store *st, const char *group,
                        struct store_digest_row *out)
{
	static const char sql[] =
		"SELECT id, window_start, window_end, state, attempts, created,"
		" sent_at, message_id, last_error, last_attempt FROM digests"
		" WHERE group_name = ?1 ORDER BY window_start DESC LIMIT 1";
	struct store_digest_row r = {0};
	sqlite3_stmt *s = NULL;
	const char *state;
	int rc, oom = 0;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if (bind_text(s, 1, group) != SQLITE_OK) {
		rc = store__fail(st, "cannot read digests of '%s'", group);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = store__fail(st, "cannot read digests of '%s'", group);
		goto out;
	}
	r.id = sqlite3_column_int64(s, 0);
	r.window_start = sqlite3_column_int64(s, 1);
	r.window_end = sqlite3_column_int64(s, 2);
	state = (const char *)sqlite3_column_text(s, 3);
	for (size_t i = 0; state && i < sizeof state_names / sizeof *state_names; i++)
		if (strcmp(state, state_names[i]) == 0)
			r.state = (enum store_digest_state)i;
	r.attempts = sqlite3_column_int(s, 4);
	r.created = sqlite3_column_int64(s, 5);
	r.sent_at = sqlite3_column_int64(s, 6);
	r.message_id = col_dup(s, 7, &oom);
	r.last_error = col_dup(s, 8, &oom);
	r.last_attempt = sqlite3_column_int64(s, 9);
	if (oom) {
		store_digest_row_clear(&r);
		rc = HF_ENOMEM;
		goto out;
	}
	*out = r;
	rc = 1;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Run one write statement (already bound, `brc` the ORed bind codes) in
 * a transaction of its own; *changes (may be NULL) gets the row count. */
static int write_one(struct store *st, sqlite3_stmt *s, int brc,
                     const char *what, int *changes)
{
	int rc;

	if ((rc = store__check_idle(st, "write digest bookkeeping")) ||
	    (rc = store__run_id(st, S_BEGIN, "cannot begin transaction")))
		return rc;
	if ((rc = store__run(st, s, brc, what)))
		goto out;
	if (changes)
		*changes = sqlite3_changes(st->db);
	rc = store__run_id(st, S_COMMIT, "cannot commit digest bookkeeping");
out:
	if (rc)
		store__rollback(st);
	return rc;
}

int store_digest_record(struct store *st, const char *group, int64_t start,
                        int64_t end, int64_t now, const char *message_id,
                        int64_t *id)
{
	/* DO NOTHING: a concurrent run that recorded the window first owns
	 * it; the caller learns so from the change count. */
	static const char sql[] =
		"INSERT INTO digests (group_name, window_start, window_end, state,"
		" attempts, created, message_id) VALUES (?1, ?2, ?3, 'pending', 0,"
		" ?4, ?5) ON CONFLICT (group_name, window_start) DO NOTHING";
	sqlite3_stmt *s = NULL;
	int rc, b, changes = 0;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	b = bind_text(s, 1, group) | sqlite3_bind_int64(s, 2, start) |
	    sqlite3_bind_int64(s, 3, end) | sqlite3_bind_int64(s, 4, now) |
	    bind_text(s, 5, message_id);
	if ((rc = write_one(st, s, b, "cannot record digest window", &changes)))
		goto out;
	if (changes) {
		*id = sqlite3_last_insert_rowid(st->db);
		rc = 1;
	}
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_claim(struct store *st, int64_t id, int attempts, int64_t now)
{
	static const char sql[] =
		"UPDATE digests SET attempts = attempts + 1, state = 'pending',"
		" last_attempt = ?3"
		" WHERE id = ?1 AND attempts = ?2 AND state <> 'sent'";
	sqlite3_stmt *s = NULL;
	int rc, changes = 0;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	rc = write_one(st, s, sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int(s, 2, attempts) |
	               sqlite3_bind_int64(s, 3, now),
	               "cannot claim digest", &changes);
	if (!rc)
		rc = changes ? 1 : 0;
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_mark_sent(struct store *st, int64_t id, int64_t sent_at,
                           int empty, const char *note)
{
	static const char sql[] =
		"UPDATE digests SET state = 'sent', sent_at = ?2, last_error = ?3,"
		" message_id = iif(?4, NULL, message_id) WHERE id = ?1";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	rc = write_one(st, s,
	               sqlite3_bind_int64(s, 1, id) | bind_time(s, 2, sent_at) |
	               bind_text(s, 3, note) | sqlite3_bind_int(s, 4, empty != 0),
	               "cannot mark digest sent", NULL);
out:
	sqlite3_finalize(s);
	return rc;
}

static int set_error(struct store *st, int64_t id, const char *sql,
                     const char *text, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	rc = write_one(st, s, sqlite3_bind_int64(s, 1, id) | bind_text(s, 2, text),
	               what, NULL);
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_mark_failed(struct store *st, int64_t id, const char *why)
{
	return set_error(st, id,
	                 "UPDATE digests SET state = 'failed', last_error = ?2 WHERE id = ?1",
	                 why, "cannot mark digest failed");
}

int store_digest_note(struct store *st, int64_t id, const char *note)
{
	return set_error(st, id, "UPDATE digests SET last_error = ?2 WHERE id = ?1",
	                 note, "cannot annotate digest");
}

static enum feed_kind kind_of(const char *name)
{
	for (int k = 0; name && k < FEED_KIND__COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return (enum feed_kind)k;
	return FEED_KIND_OTHER;
}

static int64_t col_date(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? HF_NOTIME
	                                                 : sqlite3_column_int64(s, i);
}

int store_digest_items(struct store *st, int64_t start, int64_t end,
                       int (*cb)(void *ud, const struct store_digest_item *it),
                       void *ud)
{
	/* New: first seen in the window.  Changed: a later revision written
	 * in the window of an item first seen before it (an item both new
	 * and changed in one window is simply new).  Sources are listed one
	 * per feed, the primary one first; category names ([a-z0-9_-]) are
	 * joined with commas, sorted (the subquery reads them in the order
	 * of item_categories' primary key). */
	static const char sql[] =
		"SELECT i.id, i.title, i.link, i.summary, i.published, i.updated,"
		" i.first_seen, i.last_changed, i.revision, i.first_seen < ?1, f.kind,"
		" COALESCE((SELECT group_concat(c.category, ',') FROM"
		"  (SELECT DISTINCT category FROM item_categories"
		"   WHERE item_id = i.id ORDER BY category) c), ''),"
		" COALESCE(f.title, f.name) || COALESCE(char(10) ||"
		"  (SELECT group_concat(COALESCE(sf.title, sf.name), char(10))"
		"   FROM feeds sf WHERE sf.id <> i.feed_id AND sf.id IN"
		"   (SELECT s.feed_id FROM item_sources s WHERE s.item_id = i.id)), '')"
		" FROM items i JOIN feeds f ON f.id = i.feed_id"
		" WHERE (i.first_seen >= ?1 AND i.first_seen < ?2)"
		"  OR (i.revision > 1 AND i.first_seen < ?1"
		"      AND i.last_changed >= ?1 AND i.last_changed < ?2)"
		" ORDER BY i.id";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if (sqlite3_bind_int64(s, 1, start) | sqlite3_bind_int64(s, 2, end)) {
		rc = store__fail(st, "cannot select digest items");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_digest_item it = {
			.id = sqlite3_column_int64(s, 0),
			.title = (const char *)sqlite3_column_text(s, 1),
			.link = (const char *)sqlite3_column_text(s, 2),
			.summary = (const char *)sqlite3_column_text(s, 3),
			.published = col_date(s, 4),
			.updated = col_date(s, 5),
			.first_seen = sqlite3_column_int64(s, 6),
			.last_changed = sqlite3_column_int64(s, 7),
			.revision = sqlite3_column_int(s, 8),
			.is_update = sqlite3_column_int(s, 9),
			.kind = kind_of((const char *)sqlite3_column_text(s, 10)),
			.categories = (const char *)sqlite3_column_text(s, 11),
			.sources = (const char *)sqlite3_column_text(s, 12),
		};
		if (!it.categories || !it.sources) {
			rc = HF_ENOMEM;
			goto out;
		}
		if ((rc = cb(ud, &it)))
			goto out;
	}
	rc = rc == SQLITE_DONE ? HF_OK : store__fail(st, "cannot select digest items");
out:
	sqlite3_finalize(s);
	return rc;
}
