/*
 * store/digest.c - the digest tables and the items of a digest window, on
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
	[STORE_DIGEST_REJECTED] = "rejected",
};

static const char *const kind_names_d[] = {
	[STORE_DIGEST_SCHEDULED] = "scheduled",
	[STORE_DIGEST_NOW] = "now",
	[STORE_DIGEST_IMMEDIATE] = "immediate",
	[STORE_DIGEST_RESEND] = "resend",
};

static const char *const rcpt_names[] = {
	[STORE_RCPT_SENT] = "sent",
	[STORE_RCPT_DEFERRED] = "deferred",
	[STORE_RCPT_REFUSED] = "refused",
};

#define NAMES(v) (sizeof (v) / sizeof *(v))

static int name_index(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, v[i]) == 0)
			return (int)i;
	return 0;
}

const char *store_digest_state_name(enum store_digest_state s)
{
	return (size_t)s < NAMES(state_names) ? state_names[s] : "?";
}

const char *store_digest_kind_name(enum store_digest_kind k)
{
	return (size_t)k < NAMES(kind_names_d) ? kind_names_d[k] : "?";
}

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
	free(r->group);
	free(r->message_id);
	free(r->last_error);
	memset(r, 0, sizeof *r);
}

#define ROW_COLS \
	"SELECT d.id, d.window_start, d.window_end, d.state, d.attempts, d.created," \
	" d.sent_at, d.message_id, d.last_error, d.last_attempt, d.group_name," \
	" d.kind, d.item_from, d.item_upto, d.item_count, d.resend_of," \
	" (SELECT count(*) FROM digest_recipients r WHERE r.digest_id = d.id" \
	"  AND r.state = 'sent')," \
	" (SELECT count(*) FROM digest_recipients r WHERE r.digest_id = d.id" \
	"  AND r.state = 'deferred')," \
	" (SELECT count(*) FROM digest_recipients r WHERE r.digest_id = d.id" \
	"  AND r.state = 'refused') FROM digests d "

static int64_t col_or(sqlite3_stmt *s, int i, int64_t none)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? none : sqlite3_column_int64(s, i);
}

/* The current row of a ROW_COLS statement into *r; HF_ENOMEM. */
static int row_read(sqlite3_stmt *s, struct store_digest_row *r)
{
	int oom = 0;

	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, 0);
	r->window_start = sqlite3_column_int64(s, 1);
	r->window_end = sqlite3_column_int64(s, 2);
	r->state = (enum store_digest_state)name_index(state_names, NAMES(state_names),
	                                               (const char *)sqlite3_column_text(s, 3));
	r->attempts = sqlite3_column_int(s, 4);
	r->created = sqlite3_column_int64(s, 5);
	r->sent_at = sqlite3_column_int64(s, 6);
	r->message_id = col_dup(s, 7, &oom);
	r->last_error = col_dup(s, 8, &oom);
	r->last_attempt = sqlite3_column_int64(s, 9);
	r->group = col_dup(s, 10, &oom);
	r->kind = (enum store_digest_kind)name_index(kind_names_d, NAMES(kind_names_d),
	                                             (const char *)sqlite3_column_text(s, 11));
	r->item_from = col_or(s, 12, -1);
	r->item_upto = col_or(s, 13, -1);
	r->item_count = col_or(s, 14, -1);
	r->resend_of = col_or(s, 15, 0);
	r->nsent = sqlite3_column_int(s, 16);
	r->ndeferred = sqlite3_column_int(s, 17);
	r->nrefused = sqlite3_column_int(s, 18);
	if (oom) {
		store_digest_row_clear(r);
		return HF_ENOMEM;
	}
	return HF_OK;
}

/* One row of a ROW_COLS query with ?1 bound by the caller. */
static int row_one(struct store *st, const char *sql, const char *text, int64_t num,
                   struct store_digest_row *out)
{
	struct store_digest_row r;
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if ((text ? bind_text(s, 1, text) : sqlite3_bind_int64(s, 1, num)) != SQLITE_OK) {
		rc = store__fail(st, "cannot read digests");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = store__fail(st, "cannot read digests");
		goto out;
	}
	if ((rc = row_read(s, &r)))
		goto out;
	*out = r;
	rc = 1;
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_latest(struct store *st, const char *group,
                        struct store_digest_row *out)
{
	return row_one(st, ROW_COLS "WHERE d.group_name = ?1 AND d.kind <> 'resend'"
	               " ORDER BY d.id DESC LIMIT 1", group, 0, out);
}

int store_digest_get(struct store *st, int64_t id, struct store_digest_row *out)
{
	return row_one(st, ROW_COLS "WHERE d.id = ?1", NULL, id, out);
}

int store_digest_list(struct store *st, const char *group, int limit,
                      int (*cb)(void *ud, const struct store_digest_row *r), void *ud)
{
	static const char sql[] = ROW_COLS "WHERE ?1 IS NULL OR d.group_name = ?1"
	                          " ORDER BY d.id DESC LIMIT ?2";
	struct store_digest_row r = {0};
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if (bind_text(s, 1, group) | sqlite3_bind_int(s, 2, limit)) {
		rc = store__fail(st, "cannot list digests");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_read(s, &r)))
			goto out;
		rc = cb(ud, &r);
		store_digest_row_clear(&r);
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? HF_OK : store__fail(st, "cannot list digests");
out:
	sqlite3_finalize(s);
	return rc;
}

/* One integer of a read-only query with ?1 (text or NULL) and ?2. */
static int read_int(struct store *st, const char *sql, const char *text, int64_t num,
                    int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if ((bind_text(s, 1, text) | sqlite3_bind_int64(s, 2, num)) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = store__fail(st, "cannot read digest bookkeeping");
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_last_success(struct store *st, const char *group, int64_t *out)
{
	return read_int(st, "SELECT COALESCE(max(sent_at), 0) FROM digests"
	                " WHERE group_name = ?1 AND state = 'sent' AND ?2 = ?2", group, 0, out);
}

int store_digest_item_before(struct store *st, int64_t t, int64_t *out)
{
	return read_int(st, "SELECT COALESCE(max(id), 0) FROM items WHERE ?1 IS ?1"
	                " AND first_seen < ?2", NULL, t, out);
}

int store_digest_group_created(struct store *st, const char *group, int64_t *out)
{
	return read_int(st, "SELECT COALESCE((SELECT created FROM digest_groups"
	                " WHERE group_name = ?1), ?2)", group, 0, out);
}

int store_digest_item_mark(struct store *st, int64_t *out)
{
	return read_int(st, "SELECT COALESCE(max(id), 0) FROM items WHERE ?1 IS ?1 AND ?2 = ?2",
	                NULL, 0, out);
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

int store_digest_group(struct store *st, const char *group, int64_t now,
                       int64_t *created, int64_t *item_mark)
{
	static const char sql[] =
		"INSERT INTO digest_groups (group_name, created, item_mark)"
		" VALUES (?1, ?2, (SELECT COALESCE(max(id), 0) FROM items))"
		" ON CONFLICT (group_name) DO NOTHING";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if ((rc = write_one(st, s, bind_text(s, 1, group) | sqlite3_bind_int64(s, 2, now),
	                    "cannot record digest group", NULL)))
		goto out;
	if ((rc = read_int(st, "SELECT created FROM digest_groups WHERE group_name = ?1"
	                   " AND ?2 = ?2", group, 0, created)))
		goto out;
	rc = read_int(st, "SELECT item_mark FROM digest_groups WHERE group_name = ?1"
	              " AND ?2 = ?2", group, 0, item_mark);
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_record(struct store *st, const struct store_digest_new *w, int64_t *id)
{
	/* The guard compares the group's latest window with the one the
	 * caller saw: a concurrent run that recorded first owns the next
	 * window, and the caller learns so from the change count.  The item
	 * range is fixed in the same transaction as the row. */
	static const char sql[] =
		"INSERT INTO digests (group_name, window_start, window_end, state,"
		" attempts, created, message_id, kind, item_from, item_upto, resend_of)"
		" SELECT ?1, ?2, ?3, 'pending', 0, ?4, ?5, ?6,"
		" iif(?7 >= 0, ?7, (SELECT COALESCE(max(id), 0) FROM items"
		"  WHERE first_seen < ?8)),"
		" iif(?9 >= 0, ?9, (SELECT COALESCE(max(id), 0) FROM items)), ?10"
		" WHERE ?6 = 'resend' OR COALESCE((SELECT max(id) FROM digests"
		"  WHERE group_name = ?1 AND kind <> 'resend'), 0) = ?11"
		" ON CONFLICT DO NOTHING";
	sqlite3_stmt *s = NULL;
	int rc, b, changes = 0;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	b = bind_text(s, 1, w->group) | sqlite3_bind_int64(s, 2, w->start) |
	    sqlite3_bind_int64(s, 3, w->end) | sqlite3_bind_int64(s, 4, w->now) |
	    bind_text(s, 5, w->message_id) | bind_text(s, 6, store_digest_kind_name(w->kind)) |
	    sqlite3_bind_int64(s, 7, w->item_from) | sqlite3_bind_int64(s, 8, w->from_time) |
	    sqlite3_bind_int64(s, 9, w->item_upto) | bind_time(s, 10, w->resend_of) |
	    sqlite3_bind_int64(s, 11, w->after_id);
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
                           int empty, const char *note, int64_t item_count)
{
	static const char sql[] =
		"UPDATE digests SET state = 'sent', sent_at = ?2, last_error = ?3,"
		" message_id = iif(?4, NULL, message_id), item_count = ?5 WHERE id = ?1";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	rc = write_one(st, s,
	               sqlite3_bind_int64(s, 1, id) | bind_time(s, 2, sent_at) |
	               bind_text(s, 3, note) | sqlite3_bind_int(s, 4, empty != 0) |
	               sqlite3_bind_int64(s, 5, item_count),
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

int store_digest_mark_rejected(struct store *st, int64_t id, const char *why)
{
	return set_error(st, id,
	                 "UPDATE digests SET state = 'rejected', last_error = ?2 WHERE id = ?1",
	                 why, "cannot mark digest rejected");
}

int store_digest_rcpt_set(struct store *st, int64_t id, const char *address,
                          enum store_rcpt_state state, int64_t now, const char *reply)
{
	static const char sql[] =
		"INSERT INTO digest_recipients (digest_id, address, state, attempts,"
		" last_attempt, reply) VALUES (?1, ?2, ?3, 1, ?4, ?5)"
		" ON CONFLICT (digest_id, address) DO UPDATE SET state = excluded.state,"
		" attempts = attempts + 1, last_attempt = excluded.last_attempt,"
		" reply = excluded.reply";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	rc = write_one(st, s, sqlite3_bind_int64(s, 1, id) | bind_text(s, 2, address) |
	               bind_text(s, 3, rcpt_names[state]) | sqlite3_bind_int64(s, 4, now) |
	               bind_text(s, 5, reply), "cannot record digest recipient", NULL);
out:
	sqlite3_finalize(s);
	return rc;
}

int store_digest_rcpts(struct store *st, int64_t id, const char *group,
                       int (*cb)(void *ud, const struct store_digest_rcpt *r), void *ud)
{
	static const char sql[] =
		"SELECT r.digest_id, r.address, r.state, r.attempts, r.last_attempt, r.reply"
		" FROM digest_recipients r JOIN digests d ON d.id = r.digest_id"
		" WHERE (?1 > 0 AND r.digest_id = ?1)"
		"  OR (?1 = 0 AND d.group_name = ?2 AND r.state = 'deferred')"
		" ORDER BY r.digest_id, r.address";
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = prepare(st, sql, &s)))
		goto out;
	if (sqlite3_bind_int64(s, 1, id) | bind_text(s, 2, group)) {
		rc = store__fail(st, "cannot read digest recipients");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_digest_rcpt r = {
			.digest_id = sqlite3_column_int64(s, 0),
			.address = (const char *)sqlite3_column_text(s, 1),
			.state = (enum store_rcpt_state)name_index(rcpt_names, NAMES(rcpt_names),
			                         (const char *)sqlite3_column_text(s, 2)),
			.attempts = sqlite3_column_int(s, 3),
			.last_attempt = sqlite3_column_int64(s, 4),
			.reply = (const char *)sqlite3_column_text(s, 5),
		};
		if (!r.address) {
			rc = HF_ENOMEM;
			goto out;
		}
		if ((rc = cb(ud, &r)))
			goto out;
	}
	rc = rc == SQLITE_DONE ? HF_OK : store__fail(st, "cannot read digest recipients");
out:
	sqlite3_finalize(s);
	return rc;
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

int store_digest_items(struct store *st, const struct store_digest_row *w,
                       int64_t max_age,
                       int (*cb)(void *ud, const struct store_digest_item *it),
                       void *ud)
{
	/* New (?6 below): stored in the window's item range, or for a row
	 * of schema 8 first seen in its time; never an item published more
	 * than max_age before helsefeed first saw it (a new feed's archive).
	 * Changed: a later revision written in [start, end) of an item
	 * stored before the window (an item both new and changed in one
	 * window is simply new).  Sources are listed one per feed, the
	 * primary one first; category names ([a-z0-9_-]) are joined with
	 * commas, sorted (the subquery reads them in the order of
	 * item_categories' primary key). */
	static const char sql[] =
		"SELECT i.id, i.title, i.link, i.summary, i.published, i.updated,"
		" i.first_seen, i.last_changed, i.revision, NOT (" "%NEW%" "), f.kind,"
		" COALESCE((SELECT group_concat(c.category, ',') FROM"
		"  (SELECT DISTINCT category FROM item_categories"
		"   WHERE item_id = i.id ORDER BY category) c), ''),"
		" COALESCE(f.title, f.name) || COALESCE(char(10) ||"
		"  (SELECT group_concat(COALESCE(sf.title, sf.name), char(10))"
		"   FROM feeds sf WHERE sf.id <> i.feed_id AND sf.id IN"
		"   (SELECT s.feed_id FROM item_sources s WHERE s.item_id = i.id)), '')"
		" FROM items i JOIN feeds f ON f.id = i.feed_id"
		" WHERE (" "%NEW%" ")"
		"  OR (i.revision > 1 AND iif(?4 < 0, i.first_seen < ?1, i.id <= ?3)"
		"      AND i.last_changed >= ?1 AND i.last_changed < ?2)"
		" ORDER BY i.id";
	static const char is_new[] =
		"iif(?4 < 0, i.first_seen >= ?1 AND i.first_seen < ?2,"
		" i.id > ?3 AND i.id <= ?4)"
		" AND (i.published IS NULL OR i.published >= i.first_seen - ?5)";
	struct buf q = BUF_INIT;
	sqlite3_stmt *s = NULL;
	int rc;

	/* The new-item test twice, written once. */
	for (const char *p = sql; *p;) {
		const char *m = strstr(p, "%NEW%");
		size_t n = m ? (size_t)(m - p) : strlen(p);
		if ((rc = buf_append(&q, p, n)) || (m && (rc = buf_puts(&q, is_new))))
			goto out;
		p += n + (m ? 5 : 0);
	}
	if ((rc = prepare(st, q.data, &s)))
		goto out;
	if (sqlite3_bind_int64(s, 1, w->window_start) | sqlite3_bind_int64(s, 2, w->window_end) |
	    sqlite3_bind_int64(s, 3, w->item_from) | sqlite3_bind_int64(s, 4, w->item_upto) |
	    sqlite3_bind_int64(s, 5, max_age)) {
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
	buf_free(&q);
	return rc;
}
