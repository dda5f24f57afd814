/* test_store.c - the SQLite store: schema, feeds, ingest, health. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testdb.h"
#include <sqlite3.h>

#include "helsefeed/util.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct config cfg;
	struct config_feed feeds[3];
};

static void set_feeds(struct fx *f, size_t n)
{
	static char *names[] = {"hod", "fhi", "helsedir"};
	static char *urls[] = {
		"https://www.regjeringen.no/no/rss/Rss/2581966/?owner=421",
		"https://www.fhi.no/rss/nyheter/",
		"https://www.helsedirektoratet.no/rss/nyheter",
	};
	static const enum feed_kind kinds[] = {
		FEED_KIND_MINISTRY, FEED_KIND_DIRECTORATE, FEED_KIND_DIRECTORATE,
	};
	size_t i;

	memset(f->feeds, 0, sizeof f->feeds);
	for (i = 0; i < n; i++) {
		f->feeds[i].name = names[i];
		f->feeds[i].url = urls[i];
		f->feeds[i].title = names[i];
		f->feeds[i].kind = kinds[i];
		f->feeds[i].authority = -1;
		f->feeds[i].interval = 900;
	}
	f->cfg.feeds = f->feeds;
	f->cfg.nfeeds = n;
}

static int setup(void **state)
{
	struct buf err = BUF_INIT;
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	assert_int_equal(testdb_make(f->dir, sizeof f->dir, f->path, sizeof f->path,
	                             "store"), 0);
	assert_int_equal(store_open(f->path, &f->st, &err), 0);
	assert_int_equal(err.len, 0);
	set_feeds(f, 3);
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	testdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

/* --- helpers reading the file through a connection of their own ------- */

static int64_t q_int(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_type(s, 0) == SQLITE_NULL ?
		    INT64_MIN : sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The text of the first column of the first row, malloc'ed; NULL for
 * SQL NULL or no row. */
static char *q_text(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void assert_text(const char *path, const char *sql, const char *arg,
                        const char *want)
{
	char *got = q_text(path, sql, arg);

	if (!want)
		assert_null(got);
	else
		assert_string_equal(got ? got : "(null)", want);
	free(got);
}

static struct feed_entry entry(const char *key, uint64_t hash,
                               const char *title)
{
	struct feed_entry e;

	memset(&e, 0, sizeof e);
	e.key = key;
	e.id = key;
	e.raw_hash = hash;
	e.title = title;
	e.published = HF_NOTIME;
	e.updated = HF_NOTIME;
	return e;
}

static const struct store_fetch_result ok200 = {
	.started = 1000, .duration_ms = 120, .http_status = 200, .bytes = 4096,
	.etag = "\"v1\"", .last_modified = "Mon, 23 May 2022 10:00:00 GMT",
	.next_fetch = 1900,
};

/* Ingest the entries as one fetch of `feed` at time `now`. */
static void ingest(struct store *st, const char *feed, int64_t now,
                   const struct feed_entry *v, size_t n, int *outcomes)
{
	struct store_ingest *in = NULL;
	size_t i;

	assert_int_equal(store_ingest_begin(st, feed, now, &in), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(store_ingest_entry(in, &v[i], &outcomes[i]), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
}

/* --- open, schema, migration ------------------------------------------ */

static void test_open_creates_schema_in_wal_mode(void **state)
{
	struct fx *f = *state;
	static const char *const tables[] = {
		"feeds", "fetches", "items", "item_sources", "item_categories",
		"item_entry_categories", "digests",
	};
	size_t i;

	assert_int_equal(q_int(f->path, "PRAGMA user_version", NULL),
	                 STORE_SCHEMA_VERSION);
	assert_text(f->path, "PRAGMA journal_mode", NULL, "wal");
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		assert_int_equal(q_int(f->path, "SELECT count(*) FROM sqlite_schema"
		                       " WHERE type = 'table' AND name = ?1",
		                       tables[i]), 1);
	/* The lookups of ingest and dedup run on indices. */
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM sqlite_schema"
	                       " WHERE type = 'index' AND name IN ('items_canon_hash',"
	                       " 'items_t', 'item_sources_item',"
	                       " 'item_sources_merged', 'item_categories_category')",
	                       NULL), 5);
	/* (feed_id, key), and atom_id: no two items share an atom:id. */
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM pragma_index_list"
	                       "('items') WHERE \"unique\"", NULL), 2);
	assert_int_equal(q_int(f->path, "SELECT \"unique\" FROM pragma_index_list"
	                       "('items') WHERE name = 'items_atom_id'", NULL), 1);
}

static void test_reopen_keeps_data_and_version(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct feed_entry e = entry("urn:hod:1", 11, "Sykehusplan");
	int out;
	int64_t n = 0;

	ingest(f->st, "hod", 2000, &e, 1, &out);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st, &err), 0);
	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(q_int(f->path, "PRAGMA user_version", NULL),
	                 STORE_SCHEMA_VERSION);
	buf_free(&err);
}

static void test_newer_version_refused_with_message(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[160], want[32];

	snprintf(path, sizeof path, "%s/future.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL,
	                              NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(path, &st, &err), HF_EVERSION);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "99"));
	snprintf(want, sizeof want, "(%d)", STORE_SCHEMA_VERSION);
	assert_non_null(strstr(buf_str(&err), want));
	/* Refused means untouched. */
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 99);
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema", NULL),
	                 0);
	buf_free(&err);
	testdb_remove_file(path);
}

static void test_open_failure_names_the_path(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	char path[160];
	FILE *fp;

	snprintf(path, sizeof path, "%s/no-such-dir/helsefeed.db", f->dir);
	assert_int_equal(store_open(path, &st, &err), HF_EDB);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "unable to open"));

	/* A file that is not a database is not overwritten. */
	buf_clear(&err);
	snprintf(path, sizeof path, "%s/feeds.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 64; i++)
		fputs("[feed hod]\nurl = https://www.regjeringen.no/\n", fp);
	fclose(fp);
	assert_int_equal(store_open(path, &st, &err), HF_EDB);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "not a database"));
	buf_free(&err);
	testdb_remove_file(path);
}

static void test_failed_schema_creation_rolls_back(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[160];

	/* A version-0 file with a clashing table: the schema script fails
	 * midway. */
	snprintf(path, sizeof path, "%s/clash.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE items (x)", NULL, NULL,
	                              NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(path, &st, &err), HF_EDB);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "cannot create the database schema"));
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 0);
	/* feeds was created before the clash, and rolled back with it. */
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema"
	                       " WHERE name = 'feeds'", NULL), 0);
	buf_free(&err);
	testdb_remove_file(path);
}

/* --- upgrade from schema 8 -------------------------------------------- */

/* Made by helsefeed 0.1.0 on the offline sample (data/db/README). */
#define V8_FIXTURE "data/db/helsefeed-v8.db"

/* A copy of the v8 fixture at DIR/v8.db (its path into path), and the
 * name of its backup into bak. */
static void fixture_copy(const struct fx *f, char *path, size_t size,
                         char *bak, size_t baksize)
{
	char buf[8192];
	FILE *in, *out;
	size_t n;

	snprintf(path, size, "%s/v8.db", f->dir);
	snprintf(bak, baksize, "%s.bak-v8", path);
	assert_non_null(in = fopen(V8_FIXTURE, "rb"));
	assert_non_null(out = fopen(path, "wb"));
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(ferror(in), 0);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void fixture_remove(const char *path, const char *bak)
{
	testdb_remove_file(path);
	testdb_remove_file(bak);
}

/* store_open with the info lines it logs captured into *log (malloc'ed,
 * the caller's). */
static int open_logged(const char *path, struct store **st, struct buf *err,
                       char **log)
{
	FILE *tmp = tmpfile();
	long len;
	int saved, rc;

	assert_non_null(tmp);
	fflush(stderr);
	assert_true((saved = dup(2)) >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	log_set_level(LOG_LVL_INFO);
	rc = store_open(path, st, err);
	log_set_level(LOG_LVL_WARN);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	assert_true((len = ftell(tmp)) >= 0);
	assert_non_null(*log = calloc(1, (size_t)len + 1));
	rewind(tmp);
	assert_int_equal(fread(*log, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return rc;
}

/* Rows of `table` (columns `cols`) that are in one of old and main but
 * not in the other, and how many main has. */
static void assert_same_rows(sqlite3 *db, const char *table, const char *cols,
                             int64_t want)
{
	char sql[1024];
	sqlite3_stmt *s = NULL;

	snprintf(sql, sizeof sql,
	         "SELECT (SELECT count(*) FROM (SELECT %s FROM old.%s EXCEPT"
	         " SELECT %s FROM main.%s)) + (SELECT count(*) FROM (SELECT %s"
	         " FROM main.%s EXCEPT SELECT %s FROM old.%s)),"
	         " (SELECT count(*) FROM main.%s), (SELECT count(*) FROM old.%s)",
	         cols, table, cols, table, cols, table, cols, table, table, table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	if (sqlite3_column_int64(s, 0) != 0 || sqlite3_column_int64(s, 1) != want ||
	    sqlite3_column_int64(s, 2) != want)
		fail_msg("%s: %lld rows differ; %lld rows, %lld before, %lld wanted",
		         table, (long long)sqlite3_column_int64(s, 0),
		         (long long)sqlite3_column_int64(s, 1),
		         (long long)sqlite3_column_int64(s, 2), (long long)want);
	sqlite3_finalize(s);
}

/* An item's categories, "ID=name/origin name/origin|...": in schema 8
 * its category set's detail, pairs sorted by name and origin. */
#define CATS_V8                                                             \
	"SELECT group_concat(x, '|') FROM (SELECT i.id || '=' || s.detail AS x"\
	" FROM items i JOIN category_sets s ON s.id = i.catset ORDER BY i.id)"
/* The same of schema 9, from the rows of item_categories. */
#define CATS_V9                                                             \
	"SELECT group_concat(x, '|') FROM (SELECT item_id || '=' ||"        \
	" group_concat(category || '/' || origin, ' ') AS x FROM (SELECT *"  \
	" FROM item_categories ORDER BY item_id, category, origin)"         \
	" GROUP BY item_id ORDER BY item_id)"

#define ITEM_COLS                                                           \
	"id, feed_id, key, raw_hash, guid, title, link, canon_url, published,"\
	" updated, author, summary, content, first_seen, last_changed,"     \
	" revision, flags, title_norm, simhash, canon_hash"

/* A database that helsefeed 0.1.0 made is copied to PATH.bak-v8, the
 * copy logged, and upgraded in place: every item, its categories with
 * their origins, its sources, the feeds, fetches and digest windows
 * kept.  A second open finds nothing to do. */
static void test_upgrade_from_v8_keeps_everything(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	struct store_ingest *in = NULL;
	char path[160], bak[176], *log = NULL, *before, *want, *feed, *key;
	char upgraded[64];
	struct stat sb, sb2;
	sqlite3 *db = NULL;
	int64_t items, hash;

	fixture_copy(f, path, sizeof path, bak, sizeof bak);
	items = q_int(path, "SELECT count(*) FROM items", NULL);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 8);
	/* The fixture has what the upgrade must carry over. */
	assert_true(items > 10);
	assert_true(q_int(path, "SELECT count(*) FROM category_sets"
	                  " WHERE detail LIKE '%/entry%'", NULL) > 0);
	assert_true(q_int(path, "SELECT count(*) FROM category_sets"
	                  " WHERE detail LIKE '%/feed %/rule%'", NULL) > 0);
	assert_non_null(before = q_text(path, CATS_V8, NULL));
	assert_non_null(feed = q_text(path, "SELECT f.name FROM items i JOIN feeds f"
	                              " ON f.id = i.feed_id WHERE i.id = 1", NULL));
	assert_non_null(key = q_text(path, "SELECT key FROM items WHERE id = 1",
	                             NULL));
	hash = q_int(path, "SELECT raw_hash FROM items WHERE id = 1", NULL);

	assert_int_equal(open_logged(path, &st, &err, &log), 0);
	assert_int_equal(err.len, 0);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	assert_text(path, CATS_V9, NULL, before);
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema WHERE"
	                       " name IN ('category_sets', 'items_catset')", NULL), 0);
	assert_int_equal(q_int(path, "SELECT count(*) FROM pragma_table_info"
	                       "('items') WHERE name = 'catset'", NULL), 0);
	assert_text(path, "PRAGMA integrity_check", NULL, "ok");
	assert_text(path, "SELECT count(*) FROM pragma_foreign_key_check", NULL, "0");

	/* The log says where the copy is, before it says the upgrade. */
	want = strstr(log, bak);
	assert_non_null(want);
	assert_non_null(strstr(log, path));
	snprintf(upgraded, sizeof upgraded, "upgraded from version 8 to %d",
	         STORE_SCHEMA_VERSION);
	assert_non_null(strstr(want, upgraded));

	/* Every row kept, compared with the fixture itself. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY |
	                                 SQLITE_OPEN_URI, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ATTACH 'file:" V8_FIXTURE
	                              "?mode=ro' AS old", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_same_rows(db, "items", ITEM_COLS, items);
	assert_same_rows(db, "feeds", "*", 6);
	assert_same_rows(db, "fetches", "*", 6);
	assert_same_rows(db, "item_sources", "id, item_id, feed_id, key,"
	                 " raw_hash, link, guid, first_seen", 2);
	assert_same_rows(db, "item_entry_categories", "*", 7);
	assert_same_rows(db, "digests", "id, group_name, window_start,"
	                 " window_end, state, attempts, created, sent_at,"
	                 " message_id, last_error, last_attempt", 2);
	sqlite3_close(db);

	/* The copy is the database as it was: schema 8, every item. */
	assert_int_equal(q_int(bak, "PRAGMA user_version", NULL), 8);
	assert_text(bak, "PRAGMA integrity_check", NULL, "ok");
	assert_int_equal(q_int(bak, "SELECT count(*) FROM items", NULL), items);
	assert_text(bak, CATS_V8, NULL, before);

	/* The upgraded store works: its entries are known, categories set. */
	assert_int_equal(store_ingest_begin(st, feed, 5000, &in), 0);
	assert_int_equal(store_ingest_known(in, key, (uint64_t)hash), 1);
	assert_int_equal(store_item_set_categories(in, 1,
	                 &(struct store_category){"hospitals", STORE_CAT_RULE}, 1), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_text(path, "SELECT group_concat(category || '/' || origin)"
	            " FROM item_categories WHERE item_id = 1", NULL,
	            "hospitals/rule");
	store_close(st);
	st = NULL;
	free(log);
	log = NULL;

	/* A second open does nothing: no copy, no upgrade. */
	assert_int_equal(stat(bak, &sb), 0);
	assert_int_equal(open_logged(path, &st, &err, &log), 0);
	assert_null(strstr(log, "bak-v8"));
	assert_null(strstr(log, "upgrade"));
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	assert_int_equal(stat(bak, &sb2), 0);
	assert_int_equal(sb.st_size, sb2.st_size);
	assert_int_equal(sb.st_mtime, sb2.st_mtime);
	store_close(st);
	free(log);
	free(before);
	free(feed);
	free(key);
	buf_free(&err);
	fixture_remove(path, bak);
}

/* Every table with its columns, every index with its keys, foreign keys
 * and the text of indexes and views: what makes two schemas the same
 * (a table's own CREATE text differs after ALTER TABLE). */
#define SCHEMA_SHAPE                                                        \
	"SELECT group_concat(x, char(10)) FROM (SELECT x FROM ("            \
	" SELECT 'table ' || name || ' ' || type || ' ' || ncol || ' ' || wr"\
	"  || ' ' || strict AS x FROM pragma_table_list"                    \
	"  WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'"              \
	" UNION ALL SELECT 'column ' || t.name || ' ' || c.cid || ' ' ||"   \
	"  c.name || ' ' || c.type || ' ' || c.\"notnull\" || ' ' ||"        \
	"  coalesce(c.dflt_value, '-') || ' ' || c.pk FROM pragma_table_list t,"\
	"  pragma_table_xinfo(t.name) c WHERE t.schema = 'main'"            \
	"  AND t.name NOT LIKE 'sqlite_%'"                                  \
	" UNION ALL SELECT 'index ' || t.name || ' ' || i.name || ' ' ||"   \
	"  i.\"unique\" || ' ' || i.origin || ' ' || i.partial || ' ' ||"    \
	"  (SELECT group_concat(coalesce(k.name, '(expr)') || ' ' || k.\"desc\","\
	"  ',') FROM pragma_index_xinfo(i.name) k WHERE k.\"key\")"          \
	"  FROM pragma_table_list t, pragma_index_list(t.name) i"           \
	"  WHERE t.schema = 'main' AND t.type = 'table'"                    \
	"  AND t.name NOT LIKE 'sqlite_%'"                                  \
	" UNION ALL SELECT 'fk ' || t.name || ' ' || k.\"from\" || ' ' ||"   \
	"  k.\"table\" || ' ' || coalesce(k.\"to\", '-') || ' ' || k.on_delete"\
	"  FROM pragma_table_list t, pragma_foreign_key_list(t.name) k"     \
	"  WHERE t.schema = 'main' AND t.type = 'table'"                    \
	"  AND t.name NOT LIKE 'sqlite_%'"                                  \
	" UNION ALL SELECT type || ' sql ' || name || ' ' || sql"           \
	"  FROM sqlite_schema WHERE type IN ('index', 'view', 'trigger')"   \
	"  AND sql NOT NULL"                                                \
	") ORDER BY x)"

static int legacy_id(void *ud, const char *feed, const char *key,
                     const char *guid, struct buf *out)
{
	return publish_entry_id(ud, feed, key, guid, out);
}

/* The items of a database of schema 8 keep the atom:id they were
 * published with (publish_entry_id of their host, feed, key and guid),
 * given at the first publish after the upgrade; of two that shared one
 * (a feed reused another item's URI guid), the older keeps it and the
 * later gets an id of its own.  New items get a random one. */
static void test_upgrade_keeps_published_atom_ids(void **state)
{
	struct fx *f = *state;
	struct store *st = NULL;
	struct buf want = BUF_INIT;
	char path[160], bak[176], *feed, *key, *guid, *got;
	sqlite3 *db = NULL;
	int64_t n = -1, items, last;
	int oc;

	fixture_copy(f, path, sizeof path, bak, sizeof bak);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE items SET guid ="
	                              " 'https://x.no/same' WHERE id IN (2, 3)",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	items = q_int(path, "SELECT count(*) FROM items", NULL);
	last = q_int(path, "SELECT max(id) FROM items", NULL);

	assert_int_equal(store_open(path, &st, NULL), 0);
	assert_int_equal(q_int(path, "SELECT count(*) FROM items"
	                       " WHERE atom_id IS NULL", NULL), items);
	assert_int_equal(store_assign_atom_ids(st, legacy_id, "h.no", &n), 0);
	assert_int_equal(n, items);
	for (int64_t id = 1; id <= last; id++) {
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT f.name FROM items i JOIN feeds f"
		         " ON f.id = i.feed_id WHERE i.id = %lld", (long long)id);
		if (!(feed = q_text(path, sql, NULL)))
			continue;
		snprintf(sql, sizeof sql, "SELECT key FROM items WHERE id = %lld",
		         (long long)id);
		key = q_text(path, sql, NULL);
		snprintf(sql, sizeof sql, "SELECT guid FROM items WHERE id = %lld",
		         (long long)id);
		guid = q_text(path, sql, NULL);
		snprintf(sql, sizeof sql, "SELECT atom_id FROM items WHERE id = %lld",
		         (long long)id);
		got = q_text(path, sql, NULL);
		buf_clear(&want);
		assert_int_equal(publish_entry_id("h.no", feed, key, guid, &want), 0);
		if (id == 3) {
			assert_string_equal(buf_str(&want), "https://x.no/same");
			assert_int_equal(strncmp(got, "urn:uuid:", 9), 0);
		} else {
			assert_string_equal(got, buf_str(&want));
		}
		free(feed);
		free(key);
		free(guid);
		free(got);
	}
	assert_text(path, "SELECT atom_id FROM items WHERE id = 2", NULL,
	            "https://x.no/same");
	/* Given once: the next publish finds nothing to do. */
	assert_int_equal(store_assign_atom_ids(st, legacy_id, "other.no", &n), 0);
	assert_int_equal(n, 0);
	/* A new item has its own id at once, whatever its guid. */
	struct feed_entry e = entry("https://x.no/same", 77, "Ny sak");
	ingest(st, "hod", 9000, &e, 1, &oc);
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(q_int(path, "SELECT atom_id LIKE 'urn:uuid:%' FROM items"
	                       " WHERE id = (SELECT max(id) FROM items)", NULL), 1);
	store_close(st);
	buf_free(&want);
	fixture_remove(path, bak);
}

/* The upgrade from schema 8 ends where a new database starts. */
static void test_upgraded_schema_is_the_new_schema(void **state)
{
	struct fx *f = *state;
	struct store *st = NULL;
	char path[160], bak[176], *fresh;

	fixture_copy(f, path, sizeof path, bak, sizeof bak);
	assert_int_equal(store_open(path, &st, NULL), 0);
	store_close(st);
	assert_non_null(fresh = q_text(f->path, SCHEMA_SHAPE, NULL));
	assert_non_null(strstr(fresh, "table item_categories table 3 1 1"));
	assert_non_null(strstr(fresh, "index item_categories "
	                       "item_categories_category 0 c 0 category 0,"
	                       "item_id 0"));
	assert_text(path, SCHEMA_SHAPE, NULL, fresh);
	free(fresh);
	fixture_remove(path, bak);
}

/*
 * A database at schema 9, 10 or 11 (made by the helsefeed of its day,
 * see data/db/README) is copied to PATH.bak-vN and upgraded in place:
 * every item and source kept, the same-story index gone from it (the
 * pipeline's, in memory, built from the items: test_dedup.c), the
 * full-text index as a new database has it, searchable and exact, its
 * triggers the new ones; the schema is the new one.
 */
static void upgrade_from(struct fx *f, int version)
{
	struct store *st = NULL;
	char fixture[64], path[160], bak[176], buf[8192], *fresh;
	FILE *in, *out;
	size_t n;
	int64_t items, sources;

	snprintf(fixture, sizeof fixture, "data/db/helsefeed-v%d.db", version);
	snprintf(path, sizeof path, "%s/v%d.db", f->dir, version);
	snprintf(bak, sizeof bak, "%s.bak-v%d", path, version);
	assert_non_null(in = fopen(fixture, "rb"));
	assert_non_null(out = fopen(path, "wb"));
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), version);
	items = q_int(path, "SELECT count(*) FROM items", NULL);
	sources = q_int(path, "SELECT count(*) FROM item_sources", NULL);
	assert_true(items > 10);

	assert_int_equal(store_open(path, &st, NULL), 0);
	store_close(st);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	assert_int_equal(q_int(bak, "PRAGMA user_version", NULL), version);
	assert_int_equal(q_int(path, "SELECT count(*) FROM items", NULL), items);
	assert_int_equal(q_int(path, "SELECT count(*) FROM item_sources", NULL), sources);
	/* The same-story index is the pipeline's, in memory (dedup.h). */
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema"
	                       " WHERE name = 'item_terms'", NULL), 0);
	assert_text(path, "PRAGMA integrity_check", NULL, "ok");
	assert_int_equal(q_int(path, "SELECT count(*) FROM items_fts"
	                       " WHERE items_fts MATCH 'sykehus*'", NULL) > 0, 1);
	assert_int_equal(q_int(path, "SELECT count(*) FROM items_fts_pending",
	                       NULL), 0);
	assert_non_null(fresh = q_text(f->path, SCHEMA_SHAPE, NULL));
	assert_non_null(strstr(fresh, "trigger sql items_fts_insert"));
	assert_text(path, SCHEMA_SHAPE, NULL, fresh);
	free(fresh);
	assert_non_null(fresh = q_text(f->path, "SELECT sql FROM sqlite_schema"
	                               " WHERE name = 'items_fts'", NULL));
	assert_text(path, "SELECT sql FROM sqlite_schema WHERE name = 'items_fts'",
	            NULL, fresh);
	free(fresh);
	fixture_remove(path, bak);
}

static void test_upgrade_from_v9(void **state)
{
	upgrade_from(*state, 9);
}

static void test_upgrade_from_v10(void **state)
{
	upgrade_from(*state, 10);
}

static void test_upgrade_from_v11(void **state)
{
	upgrade_from(*state, 11);
}

/* A file where the copy would go is never replaced: the upgrade waits,
 * the database stays at version 8, the error names the file.  Once it
 * is moved away, the upgrade runs. */
static void test_upgrade_refused_while_a_copy_exists(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	char path[160], bak[176], *text;
	FILE *fp;

	fixture_copy(f, path, sizeof path, bak, sizeof bak);
	assert_non_null(fp = fopen(bak, "w"));
	fputs("an older copy\n", fp);
	assert_int_equal(fclose(fp), 0);

	assert_int_equal(store_open(path, &st, &err), HF_EIO);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), bak));
	assert_non_null(strstr(buf_str(&err), "move it away"));
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 8);
	assert_int_equal(q_int(path, "SELECT count(*) FROM category_sets", NULL), 6);
	assert_non_null(fp = fopen(bak, "r"));
	assert_non_null(text = calloc(1, 64));
	assert_int_equal(fread(text, 1, 63, fp), 14);
	fclose(fp);
	assert_string_equal(text, "an older copy\n");
	free(text);

	assert_int_equal(unlink(bak), 0);
	buf_clear(&err);
	assert_int_equal(store_open(path, &st, &err), 0);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	assert_int_equal(q_int(bak, "PRAGMA user_version", NULL), 8);
	store_close(st);
	buf_free(&err);
	fixture_remove(path, bak);
}

/* A copy that cannot be written (the disk is full: here a file size
 * limit) stops the upgrade before it starts; the half-written copy is
 * removed, so the next attempt is not refused for it. */
static void test_upgrade_without_room_for_the_copy_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	struct rlimit old, lim;
	char path[160], bak[176];
	int rc;

	fixture_copy(f, path, sizeof path, bak, sizeof bak);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 32768;    /* the fixture is larger */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = store_open(path, &st, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	assert_int_equal(rc, HF_EDB);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), bak));
	assert_non_null(strstr(buf_str(&err), "cannot copy"));
	assert_int_equal(access(bak, F_OK), -1);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 8);
	assert_int_equal(q_int(path, "SELECT count(*) FROM category_sets", NULL), 6);
	assert_text(path, "PRAGMA integrity_check", NULL, "ok");

	/* With room again, the upgrade runs. */
	assert_int_equal(store_open(path, &st, NULL), 0);
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	store_close(st);
	buf_free(&err);
	fixture_remove(path, bak);
}

/* No deployment is older than schema 8: such a file is refused, named,
 * with what to do, and left alone. */
static void test_schema_older_than_8_refused(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[160], bak[176];

	snprintf(path, sizeof path, "%s/v7.db", f->dir);
	snprintf(bak, sizeof bak, "%s.bak-v7", path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE items (id INTEGER"
	                              " PRIMARY KEY); PRAGMA user_version = 7",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(path, &st, &err), HF_EVERSION);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "version 7"));
	assert_non_null(strstr(buf_str(&err), "helsefeed 0.1.0"));
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 7);
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema", NULL), 1);
	assert_int_equal(access(bak, F_OK), -1);
	buf_free(&err);
	testdb_remove_file(path);
}

static void test_sync_feeds_adds_and_deactivates(void **state)
{
	struct fx *f = *state;
	struct store_feed_state *v = NULL, s;
	struct feed_entry e = entry("urn:fhi:1", 1, "Koronavaksine");
	size_t n = 0;
	int out;

	assert_int_equal(store_feed_states(f->st, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "fhi");  /* ordered by name */
	assert_string_equal(v[1].name, "helsedir");
	assert_string_equal(v[2].name, "hod");
	assert_string_equal(v[2].url, f->feeds[0].url);
	assert_int_equal(v[2].active, 1);
	store_feed_states_free(v, n);
	assert_text(f->path, "SELECT kind FROM feeds WHERE name = ?1", "hod",
	            "ministry");

	ingest(f->st, "fhi", 2000, &e, 1, &out);
	/* fhi leaves the configuration: inactive, items kept. */
	f->feeds[1] = f->feeds[2];
	f->cfg.nfeeds = 2;
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	assert_int_equal(store_feed_states(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "helsedir");
	assert_string_equal(v[1].name, "hod");
	store_feed_states_free(v, n);
	assert_int_equal(store_feed_state(f->st, "fhi", &s), 0);
	assert_int_equal(s.active, 0);
	assert_int_equal(s.items, 1);
	store_feed_state_clear(&s);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items", NULL), 1);

	/* And comes back, with its row and items. */
	set_feeds(f, 3);
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	assert_int_equal(store_feed_state(f->st, "fhi", &s), 0);
	assert_int_equal(s.active, 1);
	assert_int_equal(s.items, 1);
	store_feed_state_clear(&s);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM feeds", NULL), 3);
}

static void test_sync_feeds_url_change_resets_what_was_learnt(void **state)
{
	struct fx *f = *state;
	struct store_feed_state s;
	struct store_fetch_result r = ok200;

	r.moved_to = "https://www.regjeringen.no/no/rss/ny/";
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_string_equal(s.url, "https://www.regjeringen.no/no/rss/ny/");
	assert_string_equal(s.moved_to, "https://www.regjeringen.no/no/rss/ny/");
	assert_string_equal(s.etag, "\"v1\"");
	store_feed_state_clear(&s);

	/* Same URL, new title: what was learnt stays. */
	f->feeds[0].title = "Helse- og omsorgsdepartementet";
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_string_equal(s.etag, "\"v1\"");
	assert_non_null(s.moved_to);
	store_feed_state_clear(&s);
	assert_text(f->path, "SELECT title FROM feeds WHERE name = ?1", "hod",
	            "Helse- og omsorgsdepartementet");

	/* The admin edits the URL: forget the old one's redirect and
	 * validators. */
	f->feeds[0].url = "https://www.regjeringen.no/no/rss/hod/";
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_string_equal(s.url, "https://www.regjeringen.no/no/rss/hod/");
	assert_null(s.moved_to);
	assert_null(s.etag);
	assert_null(s.last_modified);
	assert_int_equal(s.next_fetch, 0);
	store_feed_state_clear(&s);
}

static void test_unknown_feed_is_einval(void **state)
{
	struct fx *f = *state;
	struct store_feed_state s;
	struct store_ingest *in = NULL;
	int64_t n = -1;

	assert_int_equal(store_feed_state(f->st, "nope", &s), HF_EINVAL);
	assert_non_null(strstr(store_errmsg(f->st), "nope"));
	assert_int_equal(store_ingest_begin(f->st, "nope", 1, &in), HF_EINVAL);
	assert_null(in);
	assert_int_equal(store_record_fetch(f->st, "nope", &ok200), HF_EINVAL);
	assert_int_equal(store_count_items(f->st, "nope", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches", NULL), 0);
}

/* --- ingest ----------------------------------------------------------- */

static void test_ingest_new_unchanged_updated(void **state)
{
	struct fx *f = *state;
	struct feed_entry e[2] = {
		entry("urn:hod:1", 101, "Nasjonal helse- og sykehusplan"),
		entry("urn:hod:2", 102, "Statsbudsjettet 2025"),
	};
	int out[2];
	int64_t n = 0;

	e[0].published = 1653292800;  /* 2022-05-23T08:00:00Z */
	e[0].link = "https://www.regjeringen.no/no/aktuelt/sykehusplan/id1/";
	ingest(f->st, "hod", 2000, e, 2, out);
	assert_int_equal(out[0], STORE_NEW);
	assert_int_equal(out[1], STORE_NEW);
	assert_int_equal(store_count_items(f->st, "hod", &n), 0);
	assert_int_equal(n, 2);

	/* Same raw entries: nothing written. */
	ingest(f->st, "hod", 3000, e, 2, out);
	assert_int_equal(out[0], STORE_UNCHANGED);
	assert_int_equal(out[1], STORE_UNCHANGED);
	assert_int_equal(q_int(f->path, "SELECT last_changed FROM items WHERE"
	                       " key = ?1", "urn:hod:1"), 2000);

	/* Changed content, no <updated>: updated = now. */
	e[0].raw_hash = 201;
	e[0].title = "Nasjonal helse- og samhandlingsplan";
	ingest(f->st, "hod", 4000, e, 2, out);
	assert_int_equal(out[0], STORE_UPDATED);
	assert_int_equal(out[1], STORE_UNCHANGED);
	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(q_int(f->path, "SELECT revision FROM items WHERE key = ?1",
	                       "urn:hod:1"), 2);
	assert_int_equal(q_int(f->path, "SELECT updated FROM items WHERE key = ?1",
	                       "urn:hod:1"), 4000);
	assert_int_equal(q_int(f->path, "SELECT last_changed FROM items WHERE"
	                       " key = ?1", "urn:hod:1"), 4000);
	assert_int_equal(q_int(f->path, "SELECT first_seen FROM items WHERE"
	                       " key = ?1", "urn:hod:1"), 2000);
	assert_int_equal(q_int(f->path, "SELECT published FROM items WHERE"
	                       " key = ?1", "urn:hod:1"), 1653292800);
	assert_text(f->path, "SELECT title FROM items WHERE key = ?1",
	            "urn:hod:1", "Nasjonal helse- og samhandlingsplan");
	assert_int_equal(q_int(f->path, "SELECT revision FROM items WHERE key = ?1",
	                       "urn:hod:2"), 1);
	assert_int_equal(q_int(f->path, "SELECT updated FROM items WHERE key = ?1",
	                       "urn:hod:2"), INT64_MIN);

	/* Changed again, with the entry's own <updated>. */
	e[0].raw_hash = 301;
	e[0].updated = 1700000000;
	ingest(f->st, "hod", 5000, e, 1, out);
	assert_int_equal(out[0], STORE_UPDATED);
	assert_int_equal(q_int(f->path, "SELECT revision FROM items WHERE key = ?1",
	                       "urn:hod:1"), 3);
	assert_int_equal(q_int(f->path, "SELECT updated FROM items WHERE key = ?1",
	                       "urn:hod:1"), 1700000000);

	/* Every fetch counted what it did. */
	assert_int_equal(q_int(f->path, "SELECT group_concat(items_new || '/' ||"
	                       " items_updated, ' ') = '2/0 0/0 0/1 0/1' FROM"
	                       " (SELECT * FROM fetches ORDER BY id)", NULL), 1);
}

static void test_same_key_in_two_feeds_is_two_items(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("https://example.no/a", 7, "Felles");
	int out;
	int64_t n = 0;

	ingest(f->st, "hod", 2000, &e, 1, &out);
	assert_int_equal(out, STORE_NEW);
	ingest(f->st, "fhi", 2000, &e, 1, &out);
	assert_int_equal(out, STORE_NEW);
	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 2);
}

static void test_known_matches_key_and_hash_only(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("urn:fhi:9", 0xfedcba9876543210ULL, "Influensa");
	struct store_ingest *in = NULL;
	int out;

	ingest(f->st, "fhi", 2000, &e, 1, &out);
	assert_int_equal(store_ingest_begin(f->st, "fhi", 3000, &in), 0);
	/* A hash above INT64_MAX round-trips through SQLite's int64. */
	assert_int_equal(store_ingest_known(in, "urn:fhi:9",
	                                    0xfedcba9876543210ULL), 1);
	assert_int_equal(store_ingest_known(in, "urn:fhi:9", 1), 0);
	assert_int_equal(store_ingest_known(in, "urn:fhi:10",
	                                    0xfedcba9876543210ULL), 0);
	store_ingest_abort(in);
	/* Another feed never carried it. */
	assert_int_equal(store_ingest_begin(f->st, "hod", 3000, &in), 0);
	assert_int_equal(store_ingest_known(in, "urn:fhi:9",
	                                    0xfedcba9876543210ULL), 0);
	store_ingest_abort(in);
}

static void test_entry_without_id_stored_under_its_key(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("Ny rettleiar|2024-03-01", 5, "Ny rettleiar");
	int out;

	e.id = NULL;
	ingest(f->st, "helsedir", 2000, &e, 1, &out);
	assert_int_equal(out, STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items WHERE key = ?1"
	                       " AND guid IS NULL", "Ny rettleiar|2024-03-01"), 1);
	ingest(f->st, "helsedir", 3000, &e, 1, &out);
	assert_int_equal(out, STORE_UNCHANGED);
}

static void test_abort_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct feed_entry e[2] = {
		entry("urn:hod:1", 1, "En"), entry("urn:hod:2", 2, "To"),
	};
	struct store_ingest *in = NULL;
	int64_t n = -1;
	int out;

	e[0].ncategories = 1;
	e[0].categories = (const char *const[]){"Sykehus"};
	assert_int_equal(store_ingest_begin(f->st, "hod", 2000, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e[0], &out), 0);
	assert_int_equal(store_item_set_categories(in, store_ingest_item_id(in),
	                 &(struct store_category){"hospitals", STORE_CAT_RULE}, 1), 0);
	assert_int_equal(store_ingest_entry(in, &e[1], &out), 0);
	store_ingest_abort(in);

	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(q_int(f->path, "SELECT (SELECT count(*) FROM item_sources)"
	                       " + (SELECT count(*) FROM item_categories)"
	                       " + (SELECT count(*) FROM item_entry_categories)"
	                       " + (SELECT count(*) FROM fetches)", NULL), 0);
	/* The store is usable afterwards, and the categories that were
	 * rolled back are stored again. */
	ingest(f->st, "hod", 3000, e, 2, (int[2]){0, 0});
	assert_int_equal(store_count_items(f->st, "hod", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_ingest_begin(f->st, "hod", 4000, &in), 0);
	assert_int_equal(store_item_set_categories(in, 1,
	                 &(struct store_category){"hospitals", STORE_CAT_RULE}, 1), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_text(f->path, "SELECT group_concat(category || '/' || origin)"
	            " FROM item_categories WHERE item_id = 1", NULL,
	            "hospitals/rule");
}

static void test_failure_in_ingest_is_sticky_and_commits_nothing(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("urn:hod:1", 1, "En");
	struct store_ingest *in = NULL;
	int64_t n = -1;
	int out;

	assert_int_equal(store_ingest_begin(f->st, "hod", 2000, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, &out), 0);
	/* No item 999: the foreign key refuses the source. */
	assert_int_equal(store_ingest_add_source(in, 999, &e), HF_EDB);
	assert_non_null(strstr(store_errmsg(f->st), f->path));
	assert_non_null(strstr(store_errmsg(f->st), "FOREIGN KEY"));
	assert_int_equal(store_ingest_entry(in, &e, &out), HF_EDB);
	assert_int_equal(store_ingest_commit(in, &ok200), HF_EDB);
	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches", NULL), 0);
}

static void test_one_ingest_at_a_time(void **state)
{
	struct fx *f = *state;
	struct store_ingest *in = NULL, *in2 = NULL;

	assert_int_equal(store_ingest_begin(f->st, "hod", 1, &in), 0);
	assert_int_equal(store_ingest_begin(f->st, "fhi", 1, &in2), HF_EINVAL);
	assert_null(in2);
	assert_int_equal(store_record_fetch(f->st, "fhi", &ok200), HF_EINVAL);
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), HF_EINVAL);
	store_ingest_abort(in);
	assert_int_equal(store_record_fetch(f->st, "fhi", &ok200), 0);
}

static void test_close_with_open_ingest_rolls_back(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store_ingest *in = NULL;
	struct feed_entry e = entry("urn:hod:1", 1, "En");
	int64_t n = -1;
	int out;

	assert_int_equal(store_ingest_begin(f->st, "hod", 1, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, &out), 0);
	store_close(f->st);
	assert_int_equal(store_open(f->path, &f->st, &err), 0);
	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 0);
	buf_free(&err);
}

/* --- categories, sources, fingerprints ------------------------------- */

static void test_categories_kept_and_cleared_on_update(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("urn:hod:1", 1, "Covid-19: nye råd");
	struct store_ingest *in = NULL;
	int64_t id;
	int out;

	e.categories = (const char *const[]){"Covid-19", "Folkehelse", "Covid-19"};
	e.ncategories = 3;
	assert_int_equal(store_ingest_begin(f->st, "hod", 2000, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, &out), 0);
	id = store_ingest_item_id(in);
	assert_true(id > 0);
	/* A name twice counts once, its origins ORed; bad ones change
	 * nothing. */
	assert_int_equal(store_item_set_categories(in, id, (struct store_category[]){
	                 {"ministry", STORE_CAT_FEED}, {"covid", STORE_CAT_RULE},
	                 {"covid", STORE_CAT_ENTRY | STORE_CAT_RULE}}, 3), 0);
	assert_int_equal(store_item_set_categories(in, id,
	                 &(struct store_category){"x", 8}, 1), HF_EINVAL);
	assert_int_equal(store_item_set_categories(in, id,
	                 &(struct store_category){"Covid", STORE_CAT_RULE}, 1),
	                 HF_EINVAL);
	assert_int_equal(store_item_set_categories(in, id,
	                 &(struct store_category){"a,b", STORE_CAT_RULE}, 1),
	                 HF_EINVAL);
	assert_int_equal(store_item_set_categories(in, id + 1,
	                 &(struct store_category){"covid", STORE_CAT_RULE}, 1),
	                 HF_EINVAL);
	assert_int_equal(store_item_set_fingerprint(in, id, "covid 19 nye råd",
	                                            0x8000000000000001ULL), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);

	assert_text(f->path, "SELECT group_concat(term, '|') FROM (SELECT term"
	            " FROM item_entry_categories ORDER BY term)", NULL,
	            "Covid-19|Folkehelse");
	assert_text(f->path, "SELECT group_concat(category || '/' || origin, ' ')"
	            " FROM (SELECT * FROM item_categories ORDER BY 2, 3)", NULL,
	            "covid/entry covid/rule ministry/feed");
	assert_text(f->path, "SELECT group_concat(category) FROM (SELECT"
	            " DISTINCT category FROM item_categories ORDER BY 1)", NULL,
	            "covid,ministry");
	assert_int_equal(q_int(f->path, "SELECT simhash FROM items", NULL),
	                 (int64_t)0x8000000000000001ULL);
	assert_text(f->path, "SELECT title_norm FROM items", NULL,
	            "covid 19 nye råd");

	/* An update replaces the entry's terms and clears what was derived. */
	e.raw_hash = 2;
	e.ncategories = 1;
	e.categories = (const char *const[]){"Vaksine"};
	ingest(f->st, "hod", 3000, &e, 1, &out);
	assert_int_equal(out, STORE_UPDATED);
	assert_text(f->path, "SELECT group_concat(term, '|') FROM"
	            " item_entry_categories", NULL, "Vaksine");
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_categories",
	                       NULL), 0);
	assert_int_equal(q_int(f->path, "SELECT simhash FROM items", NULL),
	                 INT64_MIN);
}

static void test_canonical_url_and_merged_source(void **state)
{
	struct fx *f = *state;
	struct feed_entry a = entry("urn:hod:7", 1, "Ny smittevernlov");
	struct feed_entry b = entry("fhi-4711", 2, "Ny smittevernlov");
	struct store_ingest *in = NULL;
	struct store_feed_state s;
	char *canon;
	int64_t id = 0, n = 0;
	int out;

	a.link = "HTTPS://www.Regjeringen.no:443/no/aktuelt/smittevern/id7/";
	b.link = "ftp://example.no/smittevern";
	ingest(f->st, "hod", 2000, &a, 1, &out);
	canon = q_text(f->path, "SELECT canon_url FROM items WHERE key = ?1",
	               "urn:hod:7");
	assert_non_null(canon);
	assert_non_null(strstr(canon, "https://www.regjeringen.no/"));
	assert_text(f->path, "SELECT link FROM items WHERE key = ?1", "urn:hod:7",
	            a.link);

	/* fhi carries the same story: dedup finds it by canonical URL and
	 * adds fhi as a source instead of a second item. */
	assert_int_equal(store_ingest_begin(f->st, "fhi", 3000, &in), 0);
	assert_int_equal(store_ingest_find_canon(in, "https://nowhere.example/",
	                                         &id), 0);
	/* The canonical form of a link, as store_ingest_entry stores it;
	 * the same link again gives the same, another link its own. */
	{
		const char *c = NULL;

		assert_int_equal(store_ingest_canon(in, a.link, &c), 0);
		assert_string_equal(c, canon);
		assert_int_equal(store_ingest_canon(in, a.link, &c), 0);
		assert_string_equal(c, canon);
		assert_int_equal(store_ingest_canon(in, "https://Example.no/a?utm_source=x", &c), 0);
		assert_string_equal(c, "https://example.no/a");
		assert_int_equal(store_ingest_canon(in, b.link, &c), 0);
		assert_null(c);
		assert_int_equal(store_ingest_canon(in, b.link, &c), 0);
		assert_null(c);
	}
	assert_int_equal(store_ingest_find_canon(in, canon, &id), 1);
	assert_int_equal(store_ingest_add_source(in, id, &b), 0);
	assert_int_equal(store_ingest_item_id(in), id);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	free(canon);

	assert_int_equal(store_count_items(f->st, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(q_int(f->path, "SELECT count(DISTINCT feed_id) FROM"
	                       " item_sources_all WHERE item_id = (SELECT id FROM items"
	                       " WHERE key = 'urn:hod:7')", NULL), 2);
	assert_int_equal(store_feed_state(f->st, "fhi", &s), 0);
	assert_int_equal(s.items, 1);
	store_feed_state_clear(&s);
	/* A non-http link gets no canonical URL. */
	ingest(f->st, "fhi", 4000, &b, 1, &out);
	assert_int_equal(out, STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT canon_url FROM items WHERE"
	                       " key = ?1", "fhi-4711"), INT64_MIN);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all WHERE"
	                       " item_id = (SELECT id FROM items WHERE"
	                       " key = 'urn:hod:7')", NULL), 1);

	/* Next fetch of fhi skips the merged entry without parsing it. */
	assert_int_equal(store_ingest_begin(f->st, "fhi", 5000, &in), 0);
	assert_int_equal(store_ingest_known(in, "fhi-4711", 2), 1);
	store_ingest_abort(in);
}

/* A story that another feed published first keeps the text of every
 * source: the later feed's own title, summary, link and date are stored
 * with its source row, and each of its revisions replaces them and
 * counts; the item's own text and atom:id do not move. */
static void test_merged_source_keeps_its_text_and_revisions(void **state)
{
	struct fx *f = *state;
	struct store_ingest *in = NULL;
	struct feed_entry a = entry("fhi-1", 1, "Tittel fra FHI");
	struct feed_entry b = entry("urn:hod:1", 2, "Departementets tittel");
	char *atom_id;
	int64_t id;
	int out;

	a.link = b.link = "https://www.regjeringen.no/no/aktuelt/sak/id1/";
	a.summary = "<p>Kort fra FHI.</p>";
	b.summary = "<p>Departementets egen tekst.</p>";
	b.updated = 7000;
	ingest(f->st, "fhi", 1000, &a, 1, &out);
	assert_int_equal(out, STORE_NEW);
	id = q_int(f->path, "SELECT id FROM items", NULL);
	atom_id = q_text(f->path, "SELECT atom_id FROM items", NULL);
	assert_non_null(atom_id);

	assert_int_equal(store_ingest_begin(f->st, "hod", 2000, &in), 0);
	assert_int_equal(store_ingest_add_source(in, id, &b), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_text(f->path, "SELECT title || '|' || summary || '|' || link ||"
	            " '|' || updated || '|' || revision FROM item_sources"
	            " WHERE key = 'urn:hod:1'", NULL,
	            "Departementets tittel|<p>Departementets egen tekst.</p>|"
	            "https://www.regjeringen.no/no/aktuelt/sak/id1/|7000|1");

	/* The publisher corrects its release: stored, counted. */
	b.raw_hash = 3;
	b.title = "Departementets rettede tittel";
	b.summary = "<p>Rettet tekst.</p>";
	b.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, "hod", 3000, &in), 0);
	assert_int_equal(store_ingest_known(in, b.key, b.raw_hash), 0);
	assert_int_equal(store_ingest_add_source(in, id, &b), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_text(f->path, "SELECT title || '|' || summary || '|' || updated ||"
	            " '|' || revision FROM item_sources WHERE key = 'urn:hod:1'",
	            NULL, "Departementets rettede tittel|<p>Rettet tekst.</p>|"
	            "3000|2");
	/* The same revision again counts nothing. */
	assert_int_equal(store_ingest_begin(f->st, "hod", 4000, &in), 0);
	assert_int_equal(store_ingest_add_source(in, id, &b), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_int_equal(q_int(f->path, "SELECT revision FROM item_sources", NULL),
	                 2);
	/* Both texts are there for whoever reads the sources. */
	assert_text(f->path, "SELECT group_concat(title, '|') FROM (SELECT title"
	            " FROM item_sources_all ORDER BY key NULLS FIRST)", NULL,
	            "Tittel fra FHI|Departementets rettede tittel");
	assert_text(f->path, "SELECT title FROM items", NULL, "Tittel fra FHI");
	assert_text(f->path, "SELECT atom_id FROM items", NULL, atom_id);
	assert_int_equal(q_int(f->path, "SELECT corrected FROM items", NULL),
	                 INT64_MIN);
	free(atom_id);
}

/* A new item's atom:id is a version 7 UUID (store.h): its first 48 bits
 * the time it was given, in milliseconds, so that ids given later sort
 * later by that part; version 7, variant 10; never twice the same. */
static void test_new_atom_ids_are_uuid7_in_time_order(void **state)
{
	struct fx *f = *state;
	struct timespec ts;
	int64_t before, prev = 0;
	int out;

	clock_gettime(CLOCK_REALTIME, &ts);
	before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (int i = 0; i < 3; i++) {
		char key[16], title[32];
		struct feed_entry e;

		snprintf(key, sizeof key, "k-%d", i);
		snprintf(title, sizeof title, "Sak nummer %d", i);
		e = entry(key, 1, title);
		ingest(f->st, "fhi", 1000 + i, &e, 1, &out);
		assert_int_equal(out, STORE_NEW);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_int_equal(q_int(f->path, "SELECT count(DISTINCT atom_id) FROM items",
	                       NULL), 3);
	for (int64_t id = 1; id <= 3; id++) {
		char sql[96], hex[13];
		char *got;
		int64_t ms;

		snprintf(sql, sizeof sql, "SELECT atom_id FROM items WHERE id = %lld",
		         (long long)id);
		got = q_text(f->path, sql, NULL);
		assert_non_null(got);
		/* The layout: "urn:uuid:", 12 hex digits of milliseconds
		 * (8, a dash, 4), a dash, version 7, then the variant 8-b
		 * after the next dash; the rest random. */
		assert_int_equal(strlen(got), STORE_ATOM_ID_SIZE - 1);
		assert_int_equal(strncmp(got, "urn:uuid:", 9), 0);
		assert_int_equal(got[23], '7');
		assert_non_null(strchr("89ab", got[28]));
		memcpy(hex, got + 9, 8);
		memcpy(hex + 8, got + 18, 4);
		hex[12] = '\0';
		ms = (int64_t)strtoll(hex, NULL, 16);
		assert_true(ms >= before);
		assert_true(ms <= (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		assert_true(ms >= prev);
		prev = ms;
		free(got);
	}
}

/* An update is a correction when the text a reader reads changed: not
 * when only white space, markup or references differ. */
static void test_correction_only_when_the_words_change(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("urn:hod:5", 1, "Ny  sykehusplan");
	int out;

	e.summary = "<p>Planen gjelder <b>Helse Vest</b>.</p>";
	ingest(f->st, "hod", 1000, &e, 1, &out);
	assert_int_equal(q_int(f->path, "SELECT corrected FROM items", NULL),
	                 INT64_MIN);
	/* Markup, white space and a reference: the same words. */
	e.raw_hash = 2;
	e.title = "Ny sykehusplan ";
	e.summary = "<div>Planen  gjelder Helse&#32;Vest.</div>";
	ingest(f->st, "hod", 2000, &e, 1, &out);
	assert_int_equal(out, STORE_UPDATED);
	assert_int_equal(q_int(f->path, "SELECT corrected FROM items", NULL),
	                 INT64_MIN);
	/* A word changed: corrected now. */
	e.raw_hash = 3;
	e.summary = "<div>Planen gjelder Helse Nord.</div>";
	ingest(f->st, "hod", 3000, &e, 1, &out);
	assert_int_equal(q_int(f->path, "SELECT corrected FROM items", NULL), 3000);
	/* The title alone too. */
	e.raw_hash = 4;
	e.title = "Ny sjukehusplan";
	ingest(f->st, "hod", 4000, &e, 1, &out);
	assert_int_equal(q_int(f->path, "SELECT corrected FROM items", NULL), 4000);
}

/* --- health ----------------------------------------------------------- */

static void test_commit_records_fetch_and_health(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = entry("urn:fhi:1", 1, "Meldingar");
	struct store_feed_state s;
	int out;

	ingest(f->st, "fhi", 2000, &e, 1, &out);
	assert_int_equal(store_feed_state(f->st, "fhi", &s), 0);
	assert_int_equal(s.last_attempt, 1000);
	assert_int_equal(s.last_success, 1000);
	assert_int_equal(s.last_status, 200);
	assert_int_equal(s.next_fetch, 1900);
	assert_int_equal(s.failures, 0);
	assert_int_equal(s.items, 1);
	assert_string_equal(s.etag, "\"v1\"");
	assert_string_equal(s.last_modified, "Mon, 23 May 2022 10:00:00 GMT");
	assert_null(s.last_error);
	store_feed_state_clear(&s);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches WHERE"
	                       " http_status = 200 AND bytes = 4096 AND"
	                       " duration_ms = 120 AND items_new = 1 AND"
	                       " error IS NULL", NULL), 1);
}

static void test_errors_keep_validators_and_count_failures(void **state)
{
	struct fx *f = *state;
	struct store_fetch_result r = ok200, bad = {
		.started = 5000, .http_status = 503, .error = "HTTP 503",
		.etag = "\"other\"", .moved_to = "https://evil.example/",
		.next_fetch = 5600, .retry_after = 5300,
	};
	struct store_feed_state s;

	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	assert_int_equal(store_record_fetch(f->st, "hod", &bad), 0);
	bad.started = 6000;
	bad.http_status = 0;
	bad.error = "Could not resolve host: www.regjeringen.no";
	assert_int_equal(store_record_fetch(f->st, "hod", &bad), 0);

	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_int_equal(s.failures, 2);
	assert_int_equal(s.failing_since, 5000);
	assert_int_equal(s.last_attempt, 6000);
	assert_int_equal(s.last_success, 1000);
	assert_int_equal(s.last_status, 0);
	assert_int_equal(s.retry_after, 5300);
	assert_string_equal(s.last_error,
	                    "Could not resolve host: www.regjeringen.no");
	assert_string_equal(s.etag, "\"v1\"");
	assert_string_equal(s.last_modified, "Mon, 23 May 2022 10:00:00 GMT");
	assert_null(s.moved_to);
	assert_string_equal(s.url, f->feeds[0].url);
	store_feed_state_clear(&s);

	/* 304 without validators: success, the stored ones stay. */
	r.started = 7000;
	r.http_status = 304;
	r.not_modified = 1;
	r.etag = r.last_modified = NULL;
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_int_equal(s.failures, 0);
	assert_int_equal(s.failing_since, 0);
	assert_int_equal(s.retry_after, 0);
	assert_int_equal(s.last_success, 7000);
	assert_int_equal(s.last_status, 304);
	assert_null(s.last_error);
	assert_string_equal(s.etag, "\"v1\"");
	store_feed_state_clear(&s);

	/* A 200 without validators clears them. */
	r.started = 8000;
	r.http_status = 200;
	r.not_modified = 0;
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_null(s.etag);
	assert_null(s.last_modified);
	store_feed_state_clear(&s);

	/* 410 Gone is remembered. */
	bad.started = 9000;
	bad.http_status = 410;
	bad.error = "HTTP 410 Gone";
	bad.gone = 1;
	assert_int_equal(store_record_fetch(f->st, "hod", &bad), 0);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_int_equal(s.gone, 1);
	assert_int_equal(s.failures, 1);
	assert_int_equal(s.failing_since, 9000);
	store_feed_state_clear(&s);

	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches", NULL), 6);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches WHERE"
	                       " not_modified", NULL), 1);
	assert_int_equal(store_prune_fetches(f->st, 7000), 0);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches", NULL), 3);
}

/* --- untrusted text --------------------------------------------------- */

static void test_sql_shaped_text_stored_verbatim(void **state)
{
	struct fx *f = *state;
	static const char evil[] =
		"Robert'); DROP TABLE items;-- \"x\" \\ %s ?1 :name @v $v";
	struct feed_entry e = entry(evil, 1, evil);
	struct store_fetch_result r = ok200;
	struct store_feed_state s;
	int out;

	e.link = "https://example.no/?q=';DELETE FROM feeds;--";
	e.author = "O'Brien; DROP TABLE feeds";
	e.summary = "<p>'; DROP TABLE item_sources; --</p>";
	e.content = evil;
	e.categories = (const char *const[]){evil};
	e.ncategories = 1;
	ingest(f->st, "hod", 2000, &e, 1, &out);
	assert_int_equal(out, STORE_NEW);
	r.error = evil;
	r.etag = evil;
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);

	assert_text(f->path, "SELECT title FROM items WHERE key = ?1", evil, evil);
	assert_text(f->path, "SELECT content FROM items", NULL, evil);
	assert_text(f->path, "SELECT author FROM items", NULL,
	            "O'Brien; DROP TABLE feeds");
	assert_text(f->path, "SELECT summary FROM items", NULL,
	            "<p>'; DROP TABLE item_sources; --</p>");
	assert_text(f->path, "SELECT term FROM item_entry_categories", NULL, evil);
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_string_equal(s.last_error, evil);
	store_feed_state_clear(&s);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM feeds", NULL), 3);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all", NULL),
	                 1);
}

static void test_unicode_round_trip(void **state)
{
	struct fx *f = *state;
	/* Bokmål and nynorsk as on regjeringen.no, plus what a feed may
	 * throw at us: combining marks, astral plane, RTL. */
	static const char title[] =
		"Sykehus og sjukehus: kommunene får 1,2 mrd. kr – "
		"Helse Sør-Øst/Nord-Norge, æøå ÆØÅ, \u00e9\u0301, "
		"\U0001F3E5 \u05e9\u05dc\u05d5\u05dd \u201csitat\u201d";
	struct feed_entry e = entry("urn:uuid:ø-æ-å", 1, title);
	struct store_feed_state s;
	char *got;
	int out;

	e.author = "Ingvild Kjerkol (helse- og omsorgsminister)";
	e.categories = (const char *const[]){"Sjukehus", "Folkehelse"};
	e.ncategories = 2;
	ingest(f->st, "hod", 2000, &e, 1, &out);
	got = q_text(f->path, "SELECT title FROM items WHERE key = ?1",
	             "urn:uuid:ø-æ-å");
	assert_non_null(got);
	assert_memory_equal(got, title, sizeof title);
	free(got);
	assert_int_equal(q_int(f->path, "SELECT length(title) FROM items", NULL),
	                 q_int(f->path, "SELECT length(?1)", title));
	assert_int_equal(store_feed_state(f->st, "hod", &s), 0);
	assert_int_equal(s.items, 1);
	store_feed_state_clear(&s);
	/* The same raw hash under the same non-ASCII key is recognised. */
	ingest(f->st, "hod", 3000, &e, 1, &out);
	assert_int_equal(out, STORE_UNCHANGED);
}

/* --- the write-ahead log, gathered a commit at a time (store_vfs.c) ---- */

/* n entries "urn:fhi:I" with a summary of `size` bytes; the caller frees
 * the texts through keys[] and summaries[]. */
static struct feed_entry *big_entries(size_t n, size_t size, char ***keys,
                                      char ***sums)
{
	struct feed_entry *v = calloc(n, sizeof *v);
	size_t i;

	*keys = calloc(n, sizeof **keys);
	*sums = calloc(n, sizeof **sums);
	assert_non_null(v);
	assert_non_null(*keys);
	assert_non_null(*sums);
	for (i = 0; i < n; i++) {
		assert_non_null((*keys)[i] = malloc(32));
		assert_non_null((*sums)[i] = malloc(size + 1));
		snprintf((*keys)[i], 32, "urn:fhi:%zu", i);
		/* Text that does not compress into few pages by accident. */
		for (size_t k = 0; k < size; k++)
			(*sums)[i][k] = (char)('a' + (i * 31 + k * 7 + k / 13) % 26);
		(*sums)[i][size] = '\0';
		v[i] = entry((*keys)[i], i + 1, "Tittel");
		v[i].summary = (*sums)[i];
	}
	return v;
}

static void big_free(struct feed_entry *v, size_t n, char **keys, char **sums)
{
	for (size_t i = 0; i < n; i++) {
		free(keys[i]);
		free(sums[i]);
	}
	free(keys);
	free(sums);
	free(v);
}

static void test_big_transaction_reaches_other_connections(void **state)
{
	struct fx *f = *state;
	/* 30 MB in one transaction: more than the 16 MB page cache holds, so
	 * pages are spilled to the WAL and read back before the commit. */
	const size_t n = 3000, size = 10000;
	char **keys, **sums;
	struct feed_entry *v = big_entries(n, size, &keys, &sums);
	struct feed_entry again;
	struct store_ingest *in = NULL;
	int out;

	assert_int_equal(store_ingest_begin(f->st, "fhi", 2000, &in), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(store_ingest_entry(in, &v[i], &out), 0);
		assert_int_equal(out, STORE_NEW);
	}
	/* The first entry again, changed: its page was spilled long ago. */
	again = v[0];
	again.raw_hash = 99;
	again.title = "Endra";
	assert_int_equal(store_ingest_entry(in, &again, &out), 0);
	assert_int_equal(out, STORE_UPDATED);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);

	/* A connection of its own sees every byte as soon as commit returns. */
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items", NULL),
	                 (int64_t)n);
	assert_int_equal(q_int(f->path, "SELECT sum(length(summary)) FROM items",
	                       NULL), (int64_t)(n * size));
	assert_text(f->path, "SELECT summary FROM items WHERE key = ?1",
	            "urn:fhi:2999", sums[n - 1]);
	assert_text(f->path, "SELECT title FROM items WHERE key = ?1",
	            "urn:fhi:0", "Endra");
	assert_text(f->path, "PRAGMA integrity_check", NULL, "ok");
	big_free(v, n, keys, sums);
}

static off_t file_size(const char *path, const char *suffix)
{
	char p[256];
	struct stat sb;

	snprintf(p, sizeof p, "%s%s", path, suffix);
	return stat(p, &sb) == 0 ? sb.st_size : 0;
}

static void test_full_disk_fails_the_commit_and_loses_nothing(void **state)
{
	struct fx *f = *state;
	struct feed_entry e[2] = {
		entry("urn:hod:1", 1, "En"), entry("urn:hod:2", 2, "To"),
	};
	const size_t n = 200, size = 2000;
	char **keys, **sums;
	struct feed_entry *v = big_entries(n, size, &keys, &sums);
	struct store_ingest *in = NULL;
	struct rlimit old, lim;
	off_t top;
	int64_t count = -1;
	int out, rc = 0;
	size_t i;

	ingest(f->st, "hod", 2000, e, 2, (int[2]){0, 0});
	/* No file may grow 16 kB beyond what it is: the 400 kB of the next
	 * fetch do not fit.  The write fails with EFBIG, as with ENOSPC. */
	top = file_size(f->path, "-wal");
	if (file_size(f->path, "") > top)
		top = file_size(f->path, "");
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)top + 16384;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(store_ingest_begin(f->st, "fhi", 3000, &in), 0);
	for (i = 0; i < n && !rc; i++)
		rc = store_ingest_entry(in, &v[i], &out);
	if (!rc)
		rc = store_ingest_commit(in, &ok200);
	else
		store_ingest_abort(in);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, HF_EDB);
	assert_non_null(strstr(store_errmsg(f->st), f->path));

	/* What was committed before is there, nothing of the failed fetch. */
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items", NULL), 2);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM fetches", NULL), 1);
	assert_text(f->path, "PRAGMA integrity_check", NULL, "ok");
	/* With room again, the same connection stores the fetch. */
	assert_int_equal(store_ingest_begin(f->st, "fhi", 4000, &in), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(store_ingest_entry(in, &v[i], &out), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_int_equal(store_count_items(f->st, NULL, &count), 0);
	assert_int_equal(count, (int64_t)(n + 2));
	assert_int_equal(q_int(f->path, "SELECT sum(length(summary)) FROM items",
	                       NULL), (int64_t)(n * size));
	assert_text(f->path, "PRAGMA integrity_check", NULL, "ok");
	big_free(v, n, keys, sums);
}

/* store_checkpoint copies the WAL back into the database file, waits for
 * no reader, and is refused inside an ingest. */
static void test_checkpoint_copies_the_wal_into_the_file(void **state)
{
	struct fx *f = *state;
	const size_t n = 200, size = 2000;
	char **keys, **sums;
	struct feed_entry *v = big_entries(n, size, &keys, &sums);
	struct store_ingest *in = NULL;
	sqlite3 *rd = NULL;
	off_t before;
	int out;

	assert_int_equal(store_ingest_begin(f->st, "fhi", 2000, &in), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_ingest_entry(in, &v[i], &out), 0);
	/* Not inside a transaction of its own. */
	assert_int_equal(store_checkpoint(f->st), HF_EINVAL);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	/* 400 kB: under SQLite's automatic checkpoint, still in the WAL. */
	before = file_size(f->path, "");
	assert_true(file_size(f->path, "-wal") > (off_t)(n * size));
	/* A reader in the middle of a read transaction does not stop it. */
	assert_int_equal(sqlite3_open_v2(f->path, &rd, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM items",
	                              NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_checkpoint(f->st), 0);
	assert_true(file_size(f->path, "") >= before + (off_t)(n * size));
	assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(rd);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items", NULL),
	                 (int64_t)n);
	assert_text(f->path, "PRAGMA integrity_check", NULL, "ok");
	big_free(v, n, keys, sums);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_open_creates_schema_in_wal_mode),
		T(test_reopen_keeps_data_and_version),
		T(test_newer_version_refused_with_message),
		T(test_open_failure_names_the_path),
		T(test_failed_schema_creation_rolls_back),
		T(test_upgrade_from_v8_keeps_everything),
		T(test_upgraded_schema_is_the_new_schema),
		T(test_upgrade_from_v9),
		T(test_upgrade_from_v10),
		T(test_upgrade_from_v11),
		T(test_upgrade_keeps_published_atom_ids),
		T(test_merged_source_keeps_its_text_and_revisions),
		T(test_new_atom_ids_are_uuid7_in_time_order),
		T(test_correction_only_when_the_words_change),
		T(test_upgrade_refused_while_a_copy_exists),
		T(test_upgrade_without_room_for_the_copy_changes_nothing),
		T(test_schema_older_than_8_refused),
		T(test_sync_feeds_adds_and_deactivates),
		T(test_sync_feeds_url_change_resets_what_was_learnt),
		T(test_unknown_feed_is_einval),
		T(test_ingest_new_unchanged_updated),
		T(test_same_key_in_two_feeds_is_two_items),
		T(test_known_matches_key_and_hash_only),
		T(test_entry_without_id_stored_under_its_key),
		T(test_abort_leaves_nothing),
		T(test_failure_in_ingest_is_sticky_and_commits_nothing),
		T(test_one_ingest_at_a_time),
		T(test_close_with_open_ingest_rolls_back),
		T(test_categories_kept_and_cleared_on_update),
		T(test_canonical_url_and_merged_source),
		T(test_commit_records_fetch_and_health),
		T(test_errors_keep_validators_and_count_failures),
		T(test_sql_shaped_text_stored_verbatim),
		T(test_unicode_round_trip),
		T(test_big_transaction_reaches_other_connections),
		T(test_full_disk_fails_the_commit_and_loses_nothing),
		T(test_checkpoint_copies_the_wal_into_the_file),
#undef T
	};

	/* Errors provoked on purpose are still printed; the info lines of
	 * every fresh database are not. */
	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
