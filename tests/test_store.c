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
#include <unistd.h>

#include <cmocka.h>

#include "testdb.h"
#include <sqlite3.h>

#include "helsefeed/log.h"
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
		"feeds", "fetches", "items", "item_sources", "category_sets",
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
	                       " 'item_sources_merged', 'items_catset')",
	                       NULL), 5);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM pragma_index_list"
	                       "('items') WHERE \"unique\"", NULL), 1);
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

static void test_failed_migration_rolls_back_its_step(void **state)
{
	struct fx *f = *state;
	struct buf err = BUF_INIT;
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[160];

	/* A version-0 file with a clashing table: step 0 -> 1 fails midway. */
	snprintf(path, sizeof path, "%s/clash.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE items (x)", NULL, NULL,
	                              NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(path, &st, &err), HF_EDB);
	assert_null(st);
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "from version 0 to 1"));
	assert_int_equal(q_int(path, "PRAGMA user_version", NULL), 0);
	/* feeds was created before the clash, and rolled back with it. */
	assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_schema"
	                       " WHERE name = 'feeds'", NULL), 0);
	buf_free(&err);
	testdb_remove_file(path);
}

/* Close the store and run `sql` on its file: a database of an older
 * schema, made from this one. */
static void rewind_schema(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Open the rewound file again: it is migrated to the current version. */
static void reopen_migrated(struct fx *f)
{
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	assert_int_equal(q_int(f->path, "PRAGMA user_version", NULL),
	                 STORE_SCHEMA_VERSION);
}

/* Back to schema 7: the index on published. */
#define UNDO_STEP_8 "CREATE INDEX items_published ON items(published);"

/* Back to schema 6: every item's primary source has its row again. */
#define UNDO_STEP_7 UNDO_STEP_8                                             \
	"DROP VIEW item_sources_all;"                                       \
	"INSERT INTO item_sources (item_id, feed_id, link, guid, first_seen)"\
	" SELECT id, feed_id, link, guid, first_seen FROM items;"           \
	"CREATE UNIQUE INDEX item_sources_primary ON item_sources(item_id)" \
	" WHERE key IS NULL;"

/* Back to schema 5: item_categories as step 0 -> 1 made it, no sets. */
#define UNDO_STEP_6 UNDO_STEP_7                                             \
	"DROP INDEX items_catset;"                                          \
	"ALTER TABLE items DROP COLUMN catset;"                             \
	"DROP TABLE category_sets;"                                         \
	"CREATE TABLE item_categories ("                                    \
	" item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE," \
	" category TEXT NOT NULL,"                                          \
	" origin TEXT NOT NULL CHECK (origin IN ('feed', 'rule', 'entry')),"\
	" PRIMARY KEY (item_id, category, origin)"                          \
	") STRICT, WITHOUT ROWID;"                                          \
	"CREATE INDEX item_categories_category"                             \
	" ON item_categories(category, item_id);"

/* Step 5 -> 6 turns the category rows of every item into a reference to
 * its category set; an item without categories gets none, and a set made
 * by the migration is the one a new item with the same categories gets. */
static void test_migration_makes_category_sets(void **state)
{
	struct fx *f = *state;
	struct feed_entry e[4] = {
		entry("urn:hod:1", 1, "En"), entry("urn:hod:2", 2, "To"),
		entry("urn:hod:3", 3, "Tre"), entry("urn:hod:4", 4, "Fire"),
	};
	struct store_category two[] = {
		{"hospitals", STORE_CAT_FEED | STORE_CAT_RULE},
		{"covid", STORE_CAT_RULE},
	};
	struct store_ingest *in = NULL;
	int out[3];

	ingest(f->st, "hod", 2000, e, 3, out);
	rewind_schema(f, UNDO_STEP_6
	              "INSERT INTO item_categories VALUES"
	              " (1, 'hospitals', 'rule'), (1, 'covid', 'rule'),"
	              " (1, 'hospitals', 'feed'), (2, 'covid', 'rule');"
	              "PRAGMA user_version = 5;");

	reopen_migrated(f);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM sqlite_schema"
	                       " WHERE name LIKE 'item_categories%'", NULL), 0);
	assert_text(f->path, "SELECT group_concat(x, '|') FROM (SELECT"
	            " i.key || '=' || s.detail || '=' || s.names AS x"
	            " FROM items i JOIN category_sets s ON s.id = i.catset"
	            " ORDER BY i.id)", NULL,
	            "urn:hod:1=covid/rule hospitals/feed hospitals/rule="
	            "covid,hospitals|urn:hod:2=covid/rule=covid");
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"
	                       " WHERE catset IS NULL", NULL), 1);

	assert_int_equal(store_ingest_begin(f->st, "hod", 3000, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e[3], &out[0]), 0);
	assert_int_equal(store_item_set_categories(in, store_ingest_item_id(in),
	                                           two, 2), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM category_sets",
	                       NULL), 2);
	assert_int_equal(q_int(f->path, "SELECT count(DISTINCT catset) FROM items"
	                       " WHERE key IN ('urn:hod:1', 'urn:hod:4')", NULL), 1);
}

/* Step 6 -> 7 drops the item_sources rows of primary sources (the item
 * is its own) and keeps the merged ones; item_sources_all lists both. */
static void test_migration_drops_primary_source_rows(void **state)
{
	struct fx *f = *state;
	struct feed_entry a = entry("urn:hod:7", 1, "Ny smittevernlov");
	struct feed_entry b = entry("fhi-4711", 2, "Ny smittevernlov");
	struct store_ingest *in = NULL;
	int out;

	ingest(f->st, "hod", 2000, &a, 1, &out);
	assert_int_equal(store_ingest_begin(f->st, "fhi", 3000, &in), 0);
	assert_int_equal(store_ingest_add_source(in, 1, &b), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	rewind_schema(f, UNDO_STEP_7 "PRAGMA user_version = 6;");
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources", NULL), 2);

	reopen_migrated(f);
	assert_text(f->path, "SELECT group_concat(key, '|') FROM item_sources",
	            NULL, "fhi-4711");
	assert_text(f->path, "SELECT group_concat(coalesce(key, '-') || ' '"
	            " || first_seen, '|') FROM item_sources_all", NULL,
	            "- 2000|fhi-4711 3000");
	/* Both keys are still known to their feeds. */
	assert_int_equal(store_ingest_begin(f->st, "fhi", 4000, &in), 0);
	assert_int_equal(store_ingest_known(in, "fhi-4711", 2), 1);
	store_ingest_abort(in);
	assert_int_equal(store_ingest_begin(f->st, "hod", 4000, &in), 0);
	assert_int_equal(store_ingest_known(in, "urn:hod:7", 1), 1);
	store_ingest_abort(in);
}

/* Step 3 -> 4 hashes the canonical URLs a database already holds: an
 * item stored before the upgrade is still found by its canonical URL. */
static void test_migration_hashes_stored_canonical_urls(void **state)
{
	struct fx *f = *state;
	struct feed_entry a = entry("urn:hod:7", 1, "Ny smittevernlov");
	struct store_ingest *in = NULL;
	char *canon;
	int64_t id = 0;
	int out;

	a.link = "https://www.regjeringen.no/no/aktuelt/smittevern/id7/";
	ingest(f->st, "hod", 2000, &a, 1, &out);
	/* Back to what version 3 had: no hash, the index on the URL (and
	 * every later step undone too). */
	rewind_schema(f, UNDO_STEP_6
	              "DROP INDEX items_canon_hash;"
	              "ALTER TABLE items DROP COLUMN canon_hash;"
	              "CREATE INDEX items_canon ON items(canon_url);"
	              "ALTER TABLE digests DROP COLUMN last_attempt;"
	              "PRAGMA user_version = 3;");

	reopen_migrated(f);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"
	                       " WHERE canon_hash IS NOT NULL", NULL), 1);
	canon = q_text(f->path, "SELECT canon_url FROM items WHERE key = ?1",
	               "urn:hod:7");
	assert_non_null(canon);
	assert_int_equal(store_ingest_begin(f->st, "fhi", 3000, &in), 0);
	assert_int_equal(store_ingest_find_canon(in, canon, &id), 1);
	assert_int_equal(id, q_int(f->path, "SELECT id FROM items", NULL));
	store_ingest_abort(in);
	free(canon);
}

/* --- feeds ------------------------------------------------------------ */

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
	assert_int_equal(store_ingest_skip(in, "urn:fhi:9",
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
	                       " + (SELECT count(*) FROM category_sets)"
	                       " + (SELECT count(*) FROM item_entry_categories)"
	                       " + (SELECT count(*) FROM fetches)", NULL), 0);
	/* The store is usable afterwards, and the category set that was
	 * rolled back is not taken for stored. */
	ingest(f->st, "hod", 3000, e, 2, (int[2]){0, 0});
	assert_int_equal(store_count_items(f->st, "hod", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_ingest_begin(f->st, "hod", 4000, &in), 0);
	assert_int_equal(store_item_set_categories(in, 1,
	                 &(struct store_category){"hospitals", STORE_CAT_RULE}, 1), 0);
	assert_int_equal(store_ingest_commit(in, &ok200), 0);
	assert_text(f->path, "SELECT s.names FROM items i JOIN category_sets s"
	            " ON s.id = i.catset", NULL, "hospitals");
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
	assert_text(f->path, "SELECT s.detail || '|' || s.names FROM items i"
	            " JOIN category_sets s ON s.id = i.catset", NULL,
	            "covid/entry covid/rule ministry/feed|covid,ministry");
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
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"
	                       " WHERE catset IS NOT NULL", NULL), 0);
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
		T(test_failed_migration_rolls_back_its_step),
		T(test_migration_makes_category_sets),
		T(test_migration_drops_primary_source_rows),
		T(test_migration_hashes_stored_canonical_urls),
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
