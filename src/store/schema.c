/* store_schema.c - the SQL of the store: migrations and statements. */
#include "store_int.h"

/*
 * Forward migrations: step i takes user_version i to i + 1, in its own
 * transaction.  Append only; never edit a step that has shipped.
 */
const char *const store__migrations[] = {
	/* 0 -> 1 */
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
	"CREATE TABLE items ("
	" id INTEGER PRIMARY KEY,"
	" feed_id INTEGER NOT NULL REFERENCES feeds(id),"  /* primary source */
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
	" UNIQUE (feed_id, key)"
	") STRICT;"
	"CREATE INDEX items_canon ON items(canon_url);"
	"CREATE INDEX items_title_norm ON items(title_norm);"
	"CREATE INDEX items_published ON items(published);"
	/* Every feed that carried the story, the primary one too.  The
	 * primary row has no key: the item holds it, and a second index on
	 * (feed_id, key) for every item would double the random index writes
	 * of an ingest.  A source merged in by dedup keeps its own key and
	 * raw_hash, so that store_ingest_known skips it like the feed's own
	 * entries. */
	"CREATE TABLE item_sources ("
	" id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	" feed_id INTEGER NOT NULL REFERENCES feeds(id),"
	" key TEXT,"                            /* NULL: primary source */
	" raw_hash INTEGER,"
	" link TEXT,"
	" guid TEXT,"
	" first_seen INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX item_sources_item ON item_sources(item_id);"
	"CREATE UNIQUE INDEX item_sources_primary ON item_sources(item_id)"
	" WHERE key IS NULL;"
	"CREATE UNIQUE INDEX item_sources_merged ON item_sources(feed_id, key)"
	" WHERE key IS NOT NULL;"
	"CREATE TABLE item_categories ("
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	" category TEXT NOT NULL,"
	" origin TEXT NOT NULL CHECK (origin IN ('feed', 'rule', 'entry')),"
	" PRIMARY KEY (item_id, category, origin)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX item_categories_category ON item_categories(category, item_id);"
	/* The entry's own <category>/<dc:subject> texts, as the feed wrote
	 * them. */
	"CREATE TABLE item_entry_categories ("
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	" term TEXT NOT NULL,"
	" PRIMARY KEY (item_id, term)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE digests ("
	" id INTEGER PRIMARY KEY,"
	" group_name TEXT NOT NULL,"
	" window_start INTEGER NOT NULL,"
	" window_end INTEGER NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'pending'"
	"  CHECK (state IN ('pending', 'sent', 'failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" sent_at INTEGER,"
	" message_id TEXT,"
	" last_error TEXT,"
	" UNIQUE (group_name, window_start)"
	") STRICT;",
	/* 1 -> 2: the word index of near-duplicate detection (dedup.h).  The
	 * time bucket leads the key: a new item's rows all land in the newest
	 * bucket, whose pages stay in the cache, instead of on random leaves
	 * of an index that outgrows it.  IF NOT EXISTS: databases made before
	 * this step had the table created by the dedup module itself. */
	"CREATE TABLE IF NOT EXISTS dedup_title_keys ("
	" bucket INTEGER NOT NULL,"
	" key INTEGER NOT NULL,"
	" t INTEGER NOT NULL,"
	" item_id INTEGER NOT NULL,"
	" PRIMARY KEY (bucket, key, t, item_id)"
	") STRICT, WITHOUT ROWID;",
	/* 2 -> 3: near-duplicate candidates are indexed in memory, read a
	 * time bucket at a time through items_t (dedup.h); the word table
	 * and the title_norm index cost four to ten random index writes per
	 * new item and are gone. */
	"DROP TABLE dedup_title_keys;"
	"DROP INDEX items_title_norm;"
	"CREATE INDEX items_t ON items(COALESCE(published, first_seen));",
	/* 3 -> 4: canonical URLs are found by a 64-bit hash (store_int.h,
	 * canon_hash): an index of integers a fifth the size of one of URLs
	 * stays in the page cache as the items grow to millions, and a new
	 * item's random index write lands on a page that is there. */
	"ALTER TABLE items ADD COLUMN canon_hash INTEGER;"
	"UPDATE items SET canon_hash = helsefeed_fnv1a(canon_url)"
	" WHERE canon_url IS NOT NULL;"
	"DROP INDEX items_canon;"
	"CREATE INDEX items_canon_hash ON items(canon_hash);",
	/* 4 -> 5: a failed digest is retried after a delay counted from its
	 * last attempt, not from its creation (digest.h). */
	"ALTER TABLE digests ADD COLUMN last_attempt INTEGER;",
	/* 5 -> 6: an item's categories are one reference to a category set
	 * (store.h, store_item_set_categories) instead of a row per category
	 * and origin: two to three index writes and a statement fewer per
	 * new item.  A set's detail is its "name/origin" pairs sorted and
	 * joined by spaces, its names the distinct names joined by commas;
	 * items_catset finds the items of a category through the few sets
	 * that name it (store_publish.c). */
	"CREATE TABLE category_sets ("
	" id INTEGER PRIMARY KEY,"
	" detail TEXT NOT NULL UNIQUE,"
	" names TEXT NOT NULL"
	") STRICT;"
	"ALTER TABLE items ADD COLUMN catset INTEGER;"
	/* The primary key's order is (item_id, category, origin): each
	 * group's rows arrive sorted. */
	"CREATE TEMP TABLE item_catset AS"
	" SELECT item_id, group_concat(category || '/' || origin, ' ') AS detail,"
	" group_concat(DISTINCT category) AS names"
	" FROM item_categories GROUP BY item_id;"
	"INSERT INTO category_sets (detail, names)"
	" SELECT DISTINCT detail, names FROM temp.item_catset ORDER BY detail;"
	"UPDATE items SET catset = s.id FROM temp.item_catset c"
	" JOIN category_sets s ON s.detail = c.detail WHERE c.item_id = items.id;"
	"DROP TABLE temp.item_catset;"
	"DROP TABLE item_categories;"
	"CREATE INDEX items_catset ON items(catset) WHERE catset IS NOT NULL;",
	/* 6 -> 7: the primary source of an item is the item itself (its
	 * feed_id, link, guid, first_seen): its item_sources row repeated
	 * them at the cost of three index writes per new item.  item_sources
	 * keeps the merged sources; item_sources_all lists every source. */
	"DELETE FROM item_sources WHERE key IS NULL;"
	"DROP INDEX item_sources_primary;"
	"CREATE VIEW item_sources_all AS"
	" SELECT id AS item_id, feed_id, NULL AS key, raw_hash, link, guid,"
	" first_seen FROM items"
	" UNION ALL"
	" SELECT item_id, feed_id, key, raw_hash, link, guid, first_seen"
	" FROM item_sources;",
	/* 7 -> 8: publish walks items_t, an item's time as dedup sees it
	 * (published, else first_seen), newest first (store_publish.c); the
	 * index on published alone was one more write per new item. */
	"DROP INDEX items_published;",
};

_Static_assert(sizeof store__migrations / sizeof store__migrations[0] ==
               STORE_SCHEMA_VERSION,
               "one migration step per schema version");

#define FEED_STATE_COLS \
	"SELECT id, name, COALESCE(effective_url, url), etag, last_modified," \
	" next_fetch, last_attempt, last_success, failing_since, retry_after," \
	" failures, gone, last_status, last_error, effective_url," \
	" (SELECT count(*) FROM items i WHERE i.feed_id = feeds.id) +" \
	" (SELECT count(*) FROM item_sources s WHERE s.feed_id = feeds.id" \
	" AND s.key IS NOT NULL)," \
	" active FROM feeds "

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
	" catset)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	" ?13, ?13, ?14, ?15, ?16, helsefeed_fnv1a(?7), ?17)",
	[S_ITEM_UPDATE] =
	"UPDATE items SET raw_hash = ?2, guid = ?3, title = ?4, link = ?5,"
	" canon_url = ?6, canon_hash = helsefeed_fnv1a(?6),"
	" published = ?7, updated = ?8, author = ?9,"
	" summary = ?10, content = ?11, last_changed = ?12,"
	" revision = revision + 1,"
	" flags = (flags & ~0xffff) | ?13,"
	" title_norm = ?14, simhash = ?15, catset = ?16"
	" WHERE id = ?1",
	/* An entry merged into another item earlier that now gets an item
	 * of its own is no longer a source of the other one. */
	[S_SOURCE_MERGED_DROP] =
	"DELETE FROM item_sources WHERE feed_id = ?1 AND key = ?2",
	[S_SOURCE_MERGED_PUT] =
	"INSERT INTO item_sources (item_id, feed_id, key, raw_hash, link, guid,"
	" first_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	" ON CONFLICT (feed_id, key) WHERE key IS NOT NULL DO UPDATE SET"
	" item_id = excluded.item_id, raw_hash = excluded.raw_hash,"
	" link = excluded.link, guid = excluded.guid",
	[S_ENTRYCATS_CLEAR] =
	"DELETE FROM item_entry_categories WHERE item_id = ?1",
	[S_ENTRYCAT_ADD] =
	"INSERT OR IGNORE INTO item_entry_categories (item_id, term)"
	" VALUES (?1, ?2)",
	[S_CATSET_FIND] = "SELECT id FROM category_sets WHERE detail = ?1",
	[S_CATSET_ADD] =
	"INSERT INTO category_sets (detail, names) VALUES (?1, ?2)",
	[S_ITEM_CATSET] = "UPDATE items SET catset = ?2 WHERE id = ?1",
	[S_FINGERPRINT] =
	"UPDATE items SET title_norm = ?2, simhash = ?3 WHERE id = ?1",
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
};
