/*
 * schema.c - the SQL of the store: the schema of a new database, the
 * upgrade of an older one (with a copy made first), and the cached
 * statements.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "helsefeed/util.h"
#include "store_int.h"

/*
 * item_categories: a row per category of an item and origin of that
 * category (store.h, STORE_CAT_*).  The primary key serves an item's
 * categories in name order; item_categories_category serves the items
 * of one category (publish).  Shared by the fresh schema and the upgrade
 * from version 8, so that both make the same table.
 */
#define ITEM_CATEGORIES                                                     \
	"CREATE TABLE item_categories ("                                    \
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE," \
	" category TEXT NOT NULL,"                                          \
	" origin TEXT NOT NULL CHECK (origin IN ('entry', 'feed', 'rule')),"\
	" PRIMARY KEY (item_id, category, origin)"                          \
	") STRICT, WITHOUT ROWID;"                                          \
	"CREATE INDEX item_categories_category"                             \
	" ON item_categories(category, item_id);"

/*
 * What version 9 added beside the categories, shared by the fresh schema
 * and the upgrade from version 8:
 *
 * items_fts: full-text search over title and summary (FTS5, external
 * content: the text stays in items, rowid = items.id), kept by triggers,
 * so that every writer, the sqlite3 shell too, keeps it current.  The
 * tokenizer keeps æ, ø and å as letters of their own (remove_diacritics
 * 0: "gå" is not "ga").  `items --search` reads it ("sjuke*" walks the
 * terms that begin so: no prefix index, which would triple the cost of
 * every insert for a look-up an admin makes by hand).  Since version 12
 * it keeps which items hold a term and nothing more (detail=none, no
 * column sizes): a search needs every word, never a phrase or a rank,
 * and the positions were most of what each commit wrote.
 *
 * items_first_seen: the items of one month of first publication, for
 * the RFC 5005 archives (publish).
 *
 * item_enclosures: an entry's enclosures (podcasts, PDFs), republished
 * as rel="enclosure" links.
 */
#define FTS_TABLE                                                           \
	"CREATE VIRTUAL TABLE items_fts USING fts5(title, summary,"         \
	" content='items', content_rowid='id',"                             \
	" tokenize='unicode61 remove_diacritics 0', detail=none, columnsize=0);"

/*
 * What version 11 changed: the full-text index of a new or changed item
 * is written when its transaction ends (store_ingest_commit runs
 * S_FTS_FLUSH), from the ids
 * the triggers queue in items_fts_pending, not row by row.  FTS5 writes
 * its pending terms to disk at the end of every statement of a
 * transaction once it has been written to: row by row, every item made
 * an index segment of its own, merged again and again, and cost as much
 * as the rest of its ingest.  An item still queued has no index row yet:
 * its update and its deletion only drop it from the queue.
 */
#define FTS_TRIGGERS                                                        \
	"CREATE TABLE items_fts_pending (id INTEGER PRIMARY KEY) STRICT;"   \
	"CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN"       \
	" INSERT OR IGNORE INTO items_fts_pending (id) VALUES (new.id); END;"\
	"CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN"       \
	" INSERT INTO items_fts (items_fts, rowid, title, summary)"         \
	" SELECT 'delete', old.id, old.title, old.summary WHERE NOT EXISTS" \
	" (SELECT 1 FROM items_fts_pending WHERE id = old.id);"             \
	" DELETE FROM items_fts_pending WHERE id = old.id; END;"            \
	"CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary"    \
	" ON items BEGIN"                                                   \
	" INSERT INTO items_fts (items_fts, rowid, title, summary)"         \
	" SELECT 'delete', old.id, old.title, old.summary WHERE NOT EXISTS" \
	" (SELECT 1 FROM items_fts_pending WHERE id = old.id);"             \
	" INSERT OR IGNORE INTO items_fts_pending (id) VALUES (new.id); END;"

#define ITEMS_FTS                                                           \
	FTS_TABLE                                                           \
	"CREATE INDEX items_first_seen ON items(first_seen);"              \
	"CREATE TABLE item_enclosures ("                                    \
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE," \
	" pos INTEGER NOT NULL,"                                            \
	" url TEXT NOT NULL,"                                               \
	" type TEXT,"                                                       \
	" length INTEGER,"                                                  \
	" PRIMARY KEY (item_id, pos)"                                       \
	") STRICT, WITHOUT ROWID;"

/*
 * The digest bookkeeping (digest.h).  digests: one row per window of a
 * group, and one per resend; a window's new items are those with
 * item_from < id <= item_upto (NULL in rows of schema 8: by first_seen).
 * The partial index keeps one window per end and group; a resend is a
 * second row of the same window.  digest_groups: when helsefeed first
 * met a group, and the newest item then.  digest_recipients: the outcome
 * per address of a window's transfers.  Shared by the fresh schema and
 * the upgrade from version 8.
 */
#define DIGEST_TABLES                                                       \
	"CREATE TABLE digests ("                                            \
	" id INTEGER PRIMARY KEY,"                                          \
	" group_name TEXT NOT NULL,"                                        \
	" window_start INTEGER NOT NULL,"                                   \
	" window_end INTEGER NOT NULL,"                                     \
	" state TEXT NOT NULL DEFAULT 'pending'"                            \
	"  CHECK (state IN ('pending', 'sent', 'failed', 'rejected')),"     \
	" attempts INTEGER NOT NULL DEFAULT 0,"                             \
	" created INTEGER NOT NULL,"                                        \
	" sent_at INTEGER,"                                                 \
	" message_id TEXT,"                                                 \
	" last_error TEXT,"                                                 \
	" last_attempt INTEGER,"                                            \
	" kind TEXT NOT NULL DEFAULT 'scheduled' CHECK (kind IN"           \
	"  ('scheduled', 'now', 'immediate', 'resend')),"                   \
	" item_from INTEGER,"                                               \
	" item_upto INTEGER,"                                               \
	" item_count INTEGER,"                                              \
	" resend_of INTEGER REFERENCES digests(id)"                         \
	") STRICT;"                                                         \
	"CREATE UNIQUE INDEX digests_window ON digests(group_name, window_end)"\
	" WHERE kind <> 'resend';"                                          \
	"CREATE TABLE digest_groups ("                                      \
	" group_name TEXT PRIMARY KEY,"                                     \
	" created INTEGER NOT NULL,"                                        \
	" item_mark INTEGER NOT NULL"                                       \
	") STRICT;"                                                         \
	"CREATE TABLE digest_recipients ("                                  \
	" digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,"\
	" address TEXT NOT NULL,"                                           \
	" state TEXT NOT NULL CHECK (state IN ('sent', 'deferred', 'refused')),"\
	" attempts INTEGER NOT NULL DEFAULT 1,"                             \
	" last_attempt INTEGER NOT NULL,"                                   \
	" reply TEXT,"                                                      \
	" PRIMARY KEY (digest_id, address)"                                 \
	") STRICT, WITHOUT ROWID;"

/*
 * What version 9 added for identity and corrections, shared by the
 * fresh schema and the upgrade from version 8 (ALTER TABLE appends
 * columns: a new database has them at the same place):
 *
 * items.atom_id: the entry's atom:id, helsefeed's own and never changed
 * (store.h).  UNIQUE through an index: two items never share one.
 * items.corrected: when the title, summary or content last changed in more than
 * white space or markup (store_text_sig), NULL never; text_sig: the
 * signature that change is measured against.
 *
 * item_sources keeps every merged source's own text: its title,
 * summary and updated, and its revision (1 + how often it changed).
 */
#define ITEMS_IDENTITY                                                      \
	"CREATE UNIQUE INDEX items_atom_id ON items(atom_id);"
#define SOURCES_VIEW                                                        \
	"CREATE VIEW item_sources_all AS"                                   \
	" SELECT id AS item_id, feed_id, NULL AS key, raw_hash, link, guid,"\
	" first_seen, title, summary, updated, revision FROM items"         \
	" UNION ALL"                                                        \
	" SELECT item_id, feed_id, key, raw_hash, link, guid, first_seen,"  \
	" title, summary, updated, revision FROM item_sources;"

/*
 * The schema of a new database, version STORE_SCHEMA_VERSION.  A change
 * here is a new version: bump it in store.h and add its upgrade below,
 * which must leave an upgraded database with the same tables, columns
 * and indexes as this script (test_store.c compares them).
 */
static const char schema_sql[] =
	"CREATE TABLE feeds ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"           /* [feed NAME] */
	" url TEXT NOT NULL,"                   /* as configured */
	" effective_url TEXT,"                  /* after a permanent redirect */
	" kind TEXT NOT NULL,"
	" title TEXT,"
	" etag TEXT,"
	" last_modified TEXT,"
	" last_attempt INTEGER,"
	" last_success INTEGER,"
	" last_status INTEGER,"
	" last_error TEXT,"
	" failures INTEGER NOT NULL DEFAULT 0," /* consecutive */
	" failing_since INTEGER,"
	" next_fetch INTEGER,"
	" retry_after INTEGER,"
	" gone INTEGER NOT NULL DEFAULT 0,"
	" active INTEGER NOT NULL DEFAULT 1"
	") STRICT;"
	"CREATE TABLE fetches ("
	" id INTEGER PRIMARY KEY,"
	" feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,"
	" started INTEGER NOT NULL,"
	" http_status INTEGER,"
	" bytes INTEGER,"
	" duration_ms INTEGER,"
	" items_new INTEGER NOT NULL DEFAULT 0,"
	" items_updated INTEGER NOT NULL DEFAULT 0,"
	" not_modified INTEGER NOT NULL DEFAULT 0,"
	" error TEXT"
	") STRICT;"
	"CREATE INDEX fetches_feed ON fetches(feed_id, started);"
	"CREATE INDEX fetches_started ON fetches(started);"
	/* An item, with its primary source (the feed that carries it, with
	 * that feed's key, guid, link and first_seen). */
	"CREATE TABLE items ("
	" id INTEGER PRIMARY KEY,"
	" feed_id INTEGER NOT NULL REFERENCES feeds(id),"
	" key TEXT NOT NULL,"
	" raw_hash INTEGER NOT NULL,"           /* uint64 stored bit for bit */
	" guid TEXT,"
	" title TEXT,"
	" link TEXT,"
	" canon_url TEXT,"
	" published INTEGER,"
	" updated INTEGER,"
	" author TEXT,"
	" summary TEXT,"
	" content TEXT,"
	" first_seen INTEGER NOT NULL,"
	" last_changed INTEGER NOT NULL,"
	" revision INTEGER NOT NULL DEFAULT 1,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" title_norm TEXT,"                     /* dedup fingerprint */
	" simhash INTEGER,"
	/* helsefeed_fnv1a(canon_url) (store.c): canonical URLs are found
	 * through an index of integers. */
	" canon_hash INTEGER,"
	/* Pulled from every output by an editor (`helsefeed hide`), kept
	 * here; hidden_changed: when it was last hidden or shown again. */
	" hidden INTEGER NOT NULL DEFAULT 0,"
	" hidden_changed INTEGER,"
	" atom_id TEXT,"
	" corrected INTEGER,"
	" text_sig INTEGER,"
	" UNIQUE (feed_id, key)"
	") STRICT;"
	/* An item's time as dedup and publish see it: published, else when
	 * it was first seen. */
	"CREATE INDEX items_t ON items(COALESCE(published, first_seen));"
	"CREATE INDEX items_canon_hash ON items(canon_hash);"
	/* The other feeds that carried the story, merged in by dedup, each
	 * with its own key and raw_hash so that store_ingest_known skips it
	 * like the feed's own entries.  key is never NULL since version 7
	 * (NULL was the primary source's row); the column and the partial
	 * index stay as they were, so that an upgraded database and a new
	 * one are the same. */
	"CREATE TABLE item_sources ("
	" id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	" feed_id INTEGER NOT NULL REFERENCES feeds(id),"
	" key TEXT,"
	" raw_hash INTEGER,"
	" link TEXT,"
	" guid TEXT,"
	" first_seen INTEGER NOT NULL,"
	" title TEXT,"
	" summary TEXT,"
	" updated INTEGER,"
	" revision INTEGER NOT NULL DEFAULT 1"
	") STRICT;"
	"CREATE INDEX item_sources_item ON item_sources(item_id);"
	"CREATE UNIQUE INDEX item_sources_merged ON item_sources(feed_id, key)"
	" WHERE key IS NOT NULL;"
	/* Every source of an item, the primary one (key NULL) first. */
	SOURCES_VIEW
	ITEMS_IDENTITY
	ITEM_CATEGORIES
	/* The entry's own <category>/<dc:subject> texts, as the feed wrote
	 * them. */
	"CREATE TABLE item_entry_categories ("
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	" term TEXT NOT NULL,"
	" PRIMARY KEY (item_id, term)"
	") STRICT, WITHOUT ROWID;"
	DIGEST_TABLES
	ITEMS_FTS
	FTS_TRIGGERS;

/*
 * 8 -> 9: the digest tables of DIGEST_TABLES; an item's categories are
 * rows of item_categories instead of one reference (items.catset) to a
 * shared set of category_sets, whose detail is its "name/origin" pairs
 * sorted and joined by spaces.  The split walks the few sets, not the
 * items.  Then the hidden flag, the enclosures and the full-text index
 * (ITEMS_FTS), built from the items; then the atom:id, the correction
 * columns and every source's own text (ITEMS_IDENTITY).
 */
static const char upgrade_8_sql[] =
	ITEM_CATEGORIES
	"WITH RECURSIVE split(set_id, pair, rest) AS ("
	" SELECT id, '', detail || ' ' FROM category_sets"
	" UNION ALL"
	" SELECT set_id, substr(rest, 1, instr(rest, ' ') - 1),"
	" substr(rest, instr(rest, ' ') + 1) FROM split WHERE rest <> '')"
	" INSERT INTO item_categories (item_id, category, origin)"
	" SELECT i.id, substr(s.pair, 1, instr(s.pair, '/') - 1),"
	" substr(s.pair, instr(s.pair, '/') + 1)"
	" FROM split s JOIN items i ON i.catset = s.set_id WHERE s.pair <> '';"
	"DROP INDEX items_catset;"
	"ALTER TABLE items DROP COLUMN catset;"
	"DROP TABLE category_sets;"
	"ALTER TABLE items ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE items ADD COLUMN hidden_changed INTEGER;"
	ITEMS_FTS
	/* digests gains its item range, kind and resend columns and loses
	 * UNIQUE (group_name, window_start): a window after a rejected one
	 * starts where that one started. */
	"ALTER TABLE digests RENAME TO digests_v8;"
	DIGEST_TABLES
	"INSERT INTO digests (id, group_name, window_start, window_end, state,"
	" attempts, created, sent_at, message_id, last_error, last_attempt)"
	" SELECT id, group_name, window_start, window_end, state, attempts,"
	" created, sent_at, message_id, last_error, last_attempt"
	" FROM digests_v8;"
	"DROP TABLE digests_v8;"
	/* The items of version 8 keep the atom:id they were published
	 * with: it names the configured host, which the database does not
	 * know, so store_assign_atom_ids gives it at the next publish. */
	"ALTER TABLE items ADD COLUMN atom_id TEXT;"
	"ALTER TABLE items ADD COLUMN corrected INTEGER;"
	"ALTER TABLE items ADD COLUMN text_sig INTEGER;"
	ITEMS_IDENTITY
	"ALTER TABLE item_sources ADD COLUMN title TEXT;"
	"ALTER TABLE item_sources ADD COLUMN summary TEXT;"
	"ALTER TABLE item_sources ADD COLUMN updated INTEGER;"
	"ALTER TABLE item_sources ADD COLUMN revision INTEGER NOT NULL"
	" DEFAULT 1;"
	"DROP VIEW item_sources_all;"
	SOURCES_VIEW;

/*
 * 9 -> 10: the full-text index without its prefix indexes, made anew by
 * 11 -> 12 now, which leaves nothing to do here.
 */
static const char upgrade_9_sql[] = "";

/*
 * 10 -> 11: the full-text index written at the end of a transaction
 * (FTS_TRIGGERS), what it holds kept.
 */
static const char upgrade_10_sql[] =
	"DROP TRIGGER IF EXISTS items_fts_insert;"
	"DROP TRIGGER IF EXISTS items_fts_delete;"
	"DROP TRIGGER IF EXISTS items_fts_update;"
	FTS_TRIGGERS;

/*
 * 11 -> 12: the same-story index leaves the database (item_terms, by
 * term then item).  Each feed's commit wrote some 850 of its pages at
 * random, the most of the time an ingest took; the index is kept in
 * memory now, for the newest items, and built again from them
 * (dedup.h, struct dedup_index).  Versions 10 and 11 had the table.
 * And the full-text index anew without positions or column sizes
 * (FTS_TABLE), from the items.
 */
static const char upgrade_11_sql[] =
	"DROP TABLE IF EXISTS item_terms;"
	"DROP TABLE items_fts;"
	FTS_TABLE
	"INSERT INTO items_fts (items_fts) VALUES ('rebuild');"
	"DELETE FROM items_fts_pending;";

/* upgrades[v - STORE_SCHEMA_OLDEST] takes version v to v + 1. */
static const char *const upgrades[] = {
	upgrade_8_sql,
	upgrade_9_sql,
	upgrade_10_sql,
	upgrade_11_sql,
};

_Static_assert(sizeof upgrades / sizeof upgrades[0] ==
               STORE_SCHEMA_VERSION - STORE_SCHEMA_OLDEST,
               "one upgrade per version from STORE_SCHEMA_OLDEST on");

int store__open_fail(struct store *st, int code, const char *fmt, ...)
{
	va_list ap;

	buf_clear(&st->err);
	va_start(ap, fmt);
	/* Out of memory: store_open reports the code instead. */
	if (buf_printf(&st->err, "%s: ", st->path) ||
	    buf_vprintf(&st->err, fmt, ap))
		buf_clear(&st->err);
	va_end(ap);
	return code;
}

/* HF_EDB, or HF_ENOMEM when SQLite ran out of memory on db. */
static int db_code(sqlite3 *db)
{
	return (sqlite3_errcode(db) & 0xff) == SQLITE_NOMEM ? HF_ENOMEM : HF_EDB;
}

int store__schema_check(struct store *st, int version)
{
	if (version > STORE_SCHEMA_VERSION)
		return store__open_fail(st, HF_EVERSION, "database schema version %d is "
		                 "newer than this program knows (%d); use a newer "
		                 "helsefeed", version, STORE_SCHEMA_VERSION);
	if (version > 0 && version < STORE_SCHEMA_OLDEST)
		return store__open_fail(st, HF_EVERSION, "database schema version %d is "
		                 "older than this program upgrades (%d to %d); open "
		                 "it once with helsefeed 0.1.0, which takes it to "
		                 "version %d, then with this one", version,
		                 STORE_SCHEMA_OLDEST, STORE_SCHEMA_VERSION,
		                 STORE_SCHEMA_OLDEST);
	return HF_OK;
}

static int user_version(struct store *st, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc = HF_EDB;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL)
	    != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int(s, 0);
	rc = HF_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/*
 * Copy the database to `bak` with the backup API, in the snapshot of the
 * caller's transaction (store__schema_ensure), readable by the owner
 * only.  An existing file of that name is never replaced (O_EXCL): it
 * may be the only copy of an earlier version.  A copy that failed
 * halfway is removed.
 */
static int backup(struct store *st, const char *bak, int version)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int fd, made = 0, rc = HF_OK;

	fd = open(bak, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = store__open_fail(st, HF_EIO, "cannot copy the database to %s before "
		               "upgrading it from schema version %d: %s%s", bak,
		               version, strerror(errno), errno != EEXIST ? "" :
		               " (left by an earlier upgrade? move it away and "
		               "start again)");
		goto out;
	}
	made = 1;
	close(fd);
	/* SQLite takes an empty file for an empty database. */
	if (sqlite3_open_v2(bak, &dst, SQLITE_OPEN_READWRITE |
	                    SQLITE_OPEN_EXRESCODE, NULL) != SQLITE_OK ||
	    !(b = sqlite3_backup_init(dst, "main", st->db, "main")))
		goto dberr;
	rc = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE)
		goto dberr;
	rc = HF_OK;
	/* One file, whatever the journal mode the pages came with. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL)
	    != SQLITE_OK)
		goto dberr;
	if (sqlite3_close(dst) != SQLITE_OK)
		goto dberr;
	dst = NULL;
	log_info("%s: copied to %s before the upgrade from schema version %d",
	         st->path, bak, version);
	goto out;
dberr:
	rc = store__open_fail(st, dst ? db_code(dst) : HF_ENOMEM, "cannot copy the "
	               "database to %s before upgrading it from schema version "
	               "%d: %s", bak, version,
	               dst ? sqlite3_errmsg(dst) : "out of memory");
out:
	sqlite3_close(dst);
	if (rc && made)
		unlink(bak);
	return rc;
}

/*
 * A new database is made under the write lock (BEGIN IMMEDIATE).  An
 * older one is upgraded in a deferred transaction: the backup API
 * refuses a source connection that holds the write lock, so the copy is
 * read in the transaction's snapshot, and the upgrade's first write
 * takes the lock from that snapshot or fails (SQLITE_BUSY_SNAPSHOT, WAL)
 * when another process wrote in between: the copy is always exactly the
 * database that was upgraded.
 */
int store__schema_ensure(struct store *st, int version)
{
	struct buf bak = BUF_INIT, sql = BUF_INIT;
	int rc = HF_OK, copied = 0;

	if (version == STORE_SCHEMA_VERSION)
		return HF_OK;
	if (sqlite3_exec(st->db, version ? "BEGIN" : "BEGIN IMMEDIATE", NULL,
	                 NULL, NULL) != SQLITE_OK)
		goto dberr;
	/* Another process may have made or upgraded it since we looked. */
	if (user_version(st, &version))
		goto dberr;
	if (version == STORE_SCHEMA_VERSION)
		goto commit;
	if ((rc = store__schema_check(st, version)))
		goto out;
	if (version == 0) {
		rc = buf_printf(&sql, "%sPRAGMA user_version = %d;", schema_sql,
		                STORE_SCHEMA_VERSION);
	} else {
		if ((rc = buf_printf(&bak, "%s.bak-v%d", st->path, version)) ||
		    (rc = backup(st, bak.data, version)))
			goto out;
		copied = 1;
		for (int v = version; !rc && v < STORE_SCHEMA_VERSION; v++)
			rc = buf_puts(&sql, upgrades[v - STORE_SCHEMA_OLDEST]);
		if (!rc)
			rc = buf_printf(&sql, "PRAGMA user_version = %d;",
			                STORE_SCHEMA_VERSION);
	}
	if (rc)
		goto out;
	if (sqlite3_exec(st->db, sql.data, NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
commit:
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	if (version == 0)
		log_info("%s: new database, schema version %d", st->path,
		         STORE_SCHEMA_VERSION);
	else if (version != STORE_SCHEMA_VERSION)
		log_info("%s: database schema upgraded from version %d to %d",
		         st->path, version, STORE_SCHEMA_VERSION);
	goto out;
dberr:
	rc = db_code(st->db);
	if (version == 0)
		store__open_fail(st, rc, "cannot create the database schema (version "
		          "%d): %s", STORE_SCHEMA_VERSION, sqlite3_errmsg(st->db));
	else
		store__open_fail(st, rc, "cannot upgrade the database from schema "
		          "version %d to %d: %s; it is left as it was",
		          version, STORE_SCHEMA_VERSION, sqlite3_errmsg(st->db));
out:
	if (rc) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		/* The database is as it was: a second attempt must not find
		 * this attempt's copy in its way. */
		if (copied)
			unlink(bak.data);
	}
	buf_free(&bak);
	buf_free(&sql);
	return rc;
}

#define FEED_STATE_COLS \
	"SELECT id, name, COALESCE(effective_url, url), etag, last_modified," \
	" next_fetch, last_attempt, last_success, failing_since, retry_after," \
	" failures, gone, last_status, last_error, effective_url," \
	" (SELECT count(*) FROM items i WHERE i.feed_id = feeds.id) +" \
	" (SELECT count(*) FROM item_sources s WHERE s.feed_id = feeds.id" \
	" AND s.key IS NOT NULL)," \
	" active, " STORE_LAST_NEW " FROM feeds "

const char *const store__stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_FEED_ID] = "SELECT id FROM feeds WHERE name = ?1",
	[S_FEEDS_DEACTIVATE] = "UPDATE feeds SET active = 0 WHERE active",
	/* In SET, every right-hand side sees the row as it was, so `url` in
	 * the CASEs is the old URL. */
	[S_FEED_UPSERT] =
	"INSERT INTO feeds (name, url, kind, title) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (name) DO UPDATE SET"
	" kind = excluded.kind, title = excluded.title, active = 1,"
	" effective_url = iif(url = excluded.url, effective_url, NULL),"
	" etag = iif(url = excluded.url, etag, NULL),"
	" last_modified = iif(url = excluded.url, last_modified, NULL),"
	" gone = iif(url = excluded.url, gone, 0),"
	" failures = iif(url = excluded.url, failures, 0),"
	" failing_since = iif(url = excluded.url, failing_since, NULL),"
	" next_fetch = iif(url = excluded.url, next_fetch, NULL),"
	" retry_after = iif(url = excluded.url, retry_after, NULL),"
	" url = excluded.url",
	[S_FEED_STATE] = FEED_STATE_COLS "WHERE name = ?1",
	[S_FEED_STATES] = FEED_STATE_COLS "WHERE active ORDER BY name",
	[S_SOURCE_KNOWN] =
	"SELECT raw_hash FROM items WHERE feed_id = ?1 AND key = ?2"
	" UNION ALL"
	" SELECT raw_hash FROM item_sources WHERE feed_id = ?1 AND key = ?2"
	" LIMIT 1",
	[S_ITEM_FIND] =
	"SELECT id, raw_hash FROM items WHERE feed_id = ?1 AND key = ?2",
	[S_ITEM_INSERT] =
	"INSERT INTO items (feed_id, key, raw_hash, guid, title, link,"
	" canon_url, published, updated, author, summary, content,"
	" first_seen, last_changed, flags, title_norm, simhash, canon_hash,"
	" atom_id, text_sig)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	" ?13, ?13, ?14, ?15, ?16, helsefeed_fnv1a(?7), ?17, ?18)",
	[S_ITEM_UPDATE] =
	"UPDATE items SET raw_hash = ?2, guid = ?3, title = ?4, link = ?5,"
	" canon_url = ?6, canon_hash = helsefeed_fnv1a(?6),"
	" published = ?7, updated = ?8, author = ?9,"
	" summary = ?10, content = ?11, last_changed = ?12,"
	" revision = revision + 1,"
	" flags = (flags & ~0xffff) | ?13,"
	" title_norm = ?14, simhash = ?15,"
	/* A correction: the text a reader reads changed (store.h).  An item
	 * of schema 8 has no signature yet to compare with. */
	" corrected = iif(text_sig IS NULL OR text_sig = ?16, corrected, ?12),"
	" text_sig = ?16"
	" WHERE id = ?1",
	/* An entry merged into another item earlier that now gets an item
	 * of its own is no longer a source of the other one. */
	[S_SOURCE_MERGED_DROP] =
	"DELETE FROM item_sources WHERE feed_id = ?1 AND key = ?2",
	[S_SOURCE_MERGED_PUT] =
	"INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link, guid,"
	" first_seen, title, summary, updated)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	" ON CONFLICT (feed_id, key) WHERE key IS NOT NULL DO UPDATE SET"
	" item_id = excluded.item_id, raw_hash = excluded.raw_hash,"
	" link = excluded.link, guid = excluded.guid,"
	" title = excluded.title, summary = excluded.summary,"
	" updated = excluded.updated,"
	" revision = revision + (raw_hash IS NOT excluded.raw_hash)",
	[S_ENTRYCATS_CLEAR] =
	"DELETE FROM item_entry_categories WHERE item_id = ?1",
	[S_ENTRYCAT_ADD] =
	"INSERT OR IGNORE INTO item_entry_categories (item_id, term)"
	" VALUES (?1, ?2)",
	[S_ITEM_EXISTS] = "SELECT 1 FROM items WHERE id = ?1",
	[S_CATS_CLEAR] = "DELETE FROM item_categories WHERE item_id = ?1",
	/* OR IGNORE: a name given twice with the same origin. */
	[S_CAT_ADD] =
	"INSERT OR IGNORE INTO item_categories (item_id, category, origin)"
	" VALUES (?1, ?2, ?3)",
	[S_FINGERPRINT] =
	"UPDATE items SET title_norm = ?2, simhash = ?3 WHERE id = ?1",
	/* store__fts_flush: the queued items into the full-text index in
	 * one statement, which FTS5 writes as one segment. */
	[S_FTS_FLUSH] =
	"INSERT INTO items_fts (rowid, title, summary)"
	" SELECT i.id, i.title, i.summary FROM items_fts_pending p"
	" JOIN items i ON i.id = p.id",
	[S_FTS_FLUSHED] = "DELETE FROM items_fts_pending",
	[S_FIND_CANON] =
	"SELECT id FROM items WHERE canon_hash = helsefeed_fnv1a(?1)"
	" AND canon_url = ?1 ORDER BY id LIMIT 1",
	[S_FETCH_INSERT] =
	"INSERT INTO fetches (feed_id, started, http_status, bytes,"
	" duration_ms, items_new, items_updated, not_modified, error)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* After 304 a NULL validator keeps the stored one (?9). */
	[S_HEALTH_OK] =
	"UPDATE feeds SET last_attempt = ?2, last_success = ?2,"
	" last_status = ?3, last_error = NULL, failures = 0,"
	" failing_since = NULL, next_fetch = ?4, retry_after = ?5, gone = ?6,"
	" etag = iif(?9 AND ?7 IS NULL, etag, ?7),"
	" last_modified = iif(?9 AND ?8 IS NULL, last_modified, ?8),"
	" effective_url = COALESCE(?10, effective_url)"
	" WHERE id = ?1",
	[S_HEALTH_ERR] =
	"UPDATE feeds SET last_attempt = ?2, last_status = ?3,"
	" last_error = ?4, failures = failures + 1,"
	" failing_since = COALESCE(failing_since, ?2),"
	" next_fetch = ?5, retry_after = ?6, gone = ?7"
	" WHERE id = ?1",
	[S_COUNT_ALL] = "SELECT count(*) FROM items",
	[S_COUNT_FEED] =
	"SELECT count(*) FROM items WHERE feed_id ="
	" (SELECT id FROM feeds WHERE name = ?1)",
	[S_PRUNE_FETCHES] = "DELETE FROM fetches WHERE started < ?1",
	[S_ENCL_CLEAR] = "DELETE FROM item_enclosures WHERE item_id = ?1",
	[S_ENCL_ADD] =
	"INSERT OR REPLACE INTO item_enclosures (item_id, pos, url, type,"
	" length) VALUES (?1, ?2, ?3, ?4, ?5)",
};
