/* test_items.c - items for admins: full-text search with æ, ø, å and
 * prefixes, filters, one item with its sources and enclosures, hiding,
 * pruning, and the search index of a database upgraded from schema 8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testdb.h"
#include <sqlite3.h>

#include "helsefeed/store.h"

#define T0 1712743200
#define DAY 86400

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct config cfg;
	struct config_feed feeds[2];
	int64_t ids[4];
};

static int64_t add_seen(struct fx *f, const char *feed, const char *key,
                        const char *title, const char *summary,
                        int64_t published, int64_t seen,
                        const struct feed_enclosure *enc, size_t nenc);

static int64_t add(struct fx *f, const char *feed, const char *key,
                   const char *title, const char *summary, int64_t published,
                   const struct feed_enclosure *enc, size_t nenc)
{
	/* Seen a minute after it was published. */
	return add_seen(f, feed, key, title, summary, published, published + 60,
	                enc, nenc);
}

static int64_t add_seen(struct fx *f, const char *feed, const char *key,
                        const char *title, const char *summary,
                        int64_t published, int64_t seen,
                        const struct feed_enclosure *enc, size_t nenc)
{
	struct store_ingest *in = NULL;
	struct store_fetch_result r = {0};
	struct feed_entry e;
	int64_t id;

	memset(&e, 0, sizeof e);
	e.key = key;
	e.raw_hash = (uint64_t)published ^ strlen(title);
	e.title = title;
	e.summary = summary;
	e.link = "https://www.fhi.no/x";
	e.published = published;
	e.updated = HF_NOTIME;
	e.enclosures = enc;
	e.nenclosures = nenc;
	assert_int_equal(store_ingest_begin(f->st, feed, seen, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, NULL), 0);
	id = store_ingest_item_id(in);
	if (!strcmp(key, "k1"))
		assert_int_equal(store_item_set_categories(in, id,
		                 &(struct store_category){"hospitals", STORE_CAT_RULE}, 1), 0);
	r.started = seen;
	r.http_status = 200;
	assert_int_equal(store_ingest_commit(in, &r), 0);
	return id;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	static const struct feed_enclosure enc[] = {
		{(char *)"https://www.fhi.no/podkast/1.mp3", (char *)"audio/mpeg", 123456},
		{(char *)"https://www.fhi.no/rapport.pdf", NULL, -1},
	};

	assert_non_null(f);
	assert_int_equal(testdb_make(f->dir, sizeof f->dir, f->path, sizeof f->path,
	                             "items"), 0);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	f->feeds[0] = (struct config_feed){.name = "hod", .url = "https://a.example/",
	                                   .kind = FEED_KIND_MINISTRY, .authority = -1};
	f->feeds[1] = (struct config_feed){.name = "fhi", .url = "https://b.example/",
	                                   .kind = FEED_KIND_DIRECTORATE, .authority = -1};
	f->cfg.feeds = f->feeds;
	f->cfg.nfeeds = 2;
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	f->ids[0] = add(f, "hod", "k1", "Nytt sjukehus i Bodø",
	                "<p>Helse Nord byggjer.</p>", T0 - 3 * DAY, NULL, 0);
	f->ids[1] = add(f, "fhi", "k2", "Gå tur i skogen", "<p>Råd om trening.</p>",
	                T0 - 2 * DAY, enc, 2);
	f->ids[2] = add(f, "fhi", "k3", "Ga ut rapport om ærlighet",
	                "<p>Sykehusene svarer.</p>", T0 - 1 * DAY, NULL, 0);
	f->ids[3] = add(f, "hod", "k4", "Budsjett", NULL, T0 - 400 * DAY, NULL, 0);
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

struct got {
	int64_t ids[8];
	int n;
	char cats[64];
};

static int collect(void *ud, const struct store_item_row *r)
{
	struct got *g = ud;

	assert_true(g->n < 8);
	g->ids[g->n++] = r->id;
	if (r->categories)
		snprintf(g->cats, sizeof g->cats, "%s", r->categories);
	return 0;
}

static struct got list(struct fx *f, struct store_items_query q)
{
	struct got g;

	memset(&g, 0, sizeof g);
	if (!q.limit)
		q.limit = 50;
	if (!q.since)
		q.since = HF_NOTIME;
	assert_int_equal(store_items_list(f->st, &q, collect, &g), 0);
	return g;
}

static void test_search_keeps_aeoeaa_and_finds_prefixes(void **state)
{
	struct fx *f = *state;
	struct got g;

	/* "gå" is not "ga": å is a letter of its own. */
	g = list(f, (struct store_items_query){.search = "gå"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[1]);
	g = list(f, (struct store_items_query){.search = "ga"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[2]);
	/* Prefixes, upper case, in title or summary, all words. */
	g = list(f, (struct store_items_query){.search = "SJUKE"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[0]);
	g = list(f, (struct store_items_query){.search = "sykehus"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[2]);
	g = list(f, (struct store_items_query){.search = "ærl rapport"});
	assert_int_equal(g.n, 1);
	g = list(f, (struct store_items_query){.search = "bodø skogen"});
	assert_int_equal(g.n, 0);
	/* Words split where the index splits them: no phrase ("covid-19"
	 * is "covid" and "19"), marks around a word are no part of it. */
	g = list(f, (struct store_items_query){.search = "sjukehus-bodø"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[0]);
	g = list(f, (struct store_items_query){.search = "«gå» –"});
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], f->ids[1]);
	/* Words that would be FTS5 syntax are only words. */
	g = list(f, (struct store_items_query){.search = "NOT \"sjukehus"});
	assert_int_equal(g.n, 0);
	assert_int_equal(store_items_list(f->st, &(struct store_items_query){
	                 .search = "  ", .limit = 5, .since = HF_NOTIME},
	                 collect, &g), HF_EINVAL);
	assert_int_equal(store_items_list(f->st, &(struct store_items_query){
	                 .search = "-- «»", .limit = 5, .since = HF_NOTIME},
	                 collect, &g), HF_EINVAL);
}

static void test_filters_newest_first(void **state)
{
	struct fx *f = *state;
	struct got g;

	g = list(f, (struct store_items_query){0});
	assert_int_equal(g.n, 4);
	assert_int_equal(g.ids[0], f->ids[2]);
	assert_int_equal(g.ids[3], f->ids[3]);
	g = list(f, (struct store_items_query){.feed = "hod"});
	assert_int_equal(g.n, 2);
	g = list(f, (struct store_items_query){.category = "hospitals"});
	assert_int_equal(g.n, 1);
	assert_string_equal(g.cats, "hospitals");
	g = list(f, (struct store_items_query){.since = T0 - 2 * DAY});
	assert_int_equal(g.n, 2);
	g = list(f, (struct store_items_query){.limit = 1});
	assert_int_equal(g.n, 1);
}

struct shown {
	char title[64];
	int sources, primary, cats, encs;
	int64_t len0;
	char enc0[64];
};

static int sh_item(void *ud, const struct store_item_row *r)
{
	snprintf(((struct shown *)ud)->title, 64, "%s", r->title);
	return 0;
}

static int sh_source(void *ud, const struct store_source_row *r)
{
	struct shown *s = ud;

	s->sources++;
	s->primary += r->primary;
	return 0;
}

static int sh_enc(void *ud, const char *url, const char *type, int64_t len)
{
	struct shown *s = ud;

	(void)type;
	if (!s->encs++) {
		snprintf(s->enc0, sizeof s->enc0, "%s", url);
		s->len0 = len;
	}
	return 0;
}

static void test_item_get_with_enclosures(void **state)
{
	struct fx *f = *state;
	struct store_item_visitor v = {sh_item, sh_source, NULL, sh_enc, NULL};
	struct shown s;

	memset(&s, 0, sizeof s);
	assert_int_equal(store_item_get(f->st, f->ids[1], &v, &s), 0);
	assert_string_equal(s.title, "Gå tur i skogen");
	assert_int_equal(s.sources, 1);
	assert_int_equal(s.primary, 1);
	assert_int_equal(s.encs, 2);
	assert_string_equal(s.enc0, "https://www.fhi.no/podkast/1.mp3");
	assert_int_equal(s.len0, 123456);
	assert_int_equal(store_item_get(f->st, 999999, &v, &s), HF_EINVAL);
}

static void test_hidden_items_leave_the_list_and_come_back(void **state)
{
	struct fx *f = *state;
	struct got g;
	int changed = -1;

	assert_int_equal(store_item_set_hidden(f->st, f->ids[0], 1, T0, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(store_item_set_hidden(f->st, f->ids[0], 1, T0, &changed), 0);
	assert_int_equal(changed, 0);
	g = list(f, (struct store_items_query){.feed = "hod"});
	assert_int_equal(g.n, 1);
	g = list(f, (struct store_items_query){.feed = "hod", .with_hidden = 1});
	assert_int_equal(g.n, 2);
	assert_int_equal(store_item_set_hidden(f->st, f->ids[0], 0, T0, &changed), 0);
	assert_int_equal(changed, 1);
	g = list(f, (struct store_items_query){.feed = "hod"});
	assert_int_equal(g.n, 2);
	assert_int_equal(store_item_set_hidden(f->st, 999999, 1, T0, NULL), HF_EINVAL);
}

static void test_prune_removes_old_items_and_their_index(void **state)
{
	struct fx *f = *state;
	struct got g;
	int64_t n = -1;

	/* Old, but first seen today (a feed still carries it, or it came
	 * back after a prune): kept until it has been here as long. */
	add_seen(f, "fhi", "k5", "Gammal sak", NULL, T0 - 500 * DAY, T0, NULL, 0);
	assert_int_equal(store_prune_items(f->st, T0 - 365 * DAY, &n), 0);
	assert_int_equal(n, 1);
	g = list(f, (struct store_items_query){.search = "gammal"});
	assert_int_equal(g.n, 1);
	assert_int_equal(store_prune_items(f->st, T0 + 1, &n), 0);
	assert_int_equal(n, 4);
	g = list(f, (struct store_items_query){0});
	assert_int_equal(g.n, 0);
	/* Start again from the fixture for the index check below. */
	store_close(f->st);
	f->st = NULL;
	testdb_remove_file(f->path);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	add(f, "hod", "k1", "Nytt sjukehus i Bodø", NULL, T0 - 3 * DAY, NULL, 0);
	add(f, "hod", "k2", "Ærlig talt", NULL, T0 - 2 * DAY, NULL, 0);
	add(f, "fhi", "k3", "Ga ut", NULL, T0 - 1 * DAY, NULL, 0);
	add(f, "hod", "k4", "Budsjett", NULL, T0 - 400 * DAY, NULL, 0);
	assert_int_equal(store_prune_items(f->st, T0 - 365 * DAY, &n), 0);
	assert_int_equal(n, 1);
	g = list(f, (struct store_items_query){.search = "budsjett"});
	assert_int_equal(g.n, 0);
	g = list(f, (struct store_items_query){0});
	assert_int_equal(g.n, 3);
	/* The index holds exactly the items left (FTS5's own check). */
	store_close(f->st);
	f->st = NULL;
	{
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "INSERT INTO items_fts (items_fts)"
		                              " VALUES ('integrity-check')", NULL, NULL,
		                              NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
}

/* FTS5's own check of the full-text index against the items. */
static void fts_intact(struct fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO items_fts (items_fts)"
	                              " VALUES ('integrity-check')", NULL, NULL,
	                              NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM"
	                                    " items_fts_pending", -1, &s, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* One item has the word `yes`, none the word `no`, the index exact. */
static void found_by(struct fx *f, const char *yes, const char *no)
{
	struct got g;

	g = list(f, (struct store_items_query){.search = yes});
	assert_int_equal(g.n, 1);
	g = list(f, (struct store_items_query){.search = no});
	assert_int_equal(g.n, 0);
	fts_intact(f);
}

/*
 * The full-text index is written when an ingest commits (store_schema.c,
 * FTS_TRIGGERS): an item new and changed in one transaction is found by
 * its last words only, a change in a later one replaces its words, a
 * rolled-back ingest leaves nothing, and the index stays exact.
 */
static void test_search_index_follows_each_commit(void **state)
{
	struct fx *f = *state;
	struct store_ingest *in = NULL;
	struct store_fetch_result r = {.started = T0, .http_status = 200};
	struct feed_entry e;
	struct got g;

	memset(&e, 0, sizeof e);
	e.key = "k9";
	e.title = "Ambulansefly til Kirkenes";
	e.link = "https://www.fhi.no/k9";
	e.published = T0;
	e.updated = HF_NOTIME;
	e.raw_hash = 1;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, NULL), 0);
	e.title = "Ambulansehelikopter til Vardø";
	e.raw_hash = 2;
	assert_int_equal(store_ingest_entry(in, &e, NULL), 0);
	assert_int_equal(store_ingest_commit(in, &r), 0);
	found_by(f, "vardø", "kirkenes");

	e.title = "Ambulansehelikopter til Hammerfest";
	e.raw_hash = 3;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, NULL), 0);
	assert_int_equal(store_ingest_commit(in, &r), 0);
	found_by(f, "hammerfest", "vardø");

	e.key = "k10";
	e.title = "Fødestue i Alta";
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, NULL), 0);
	store_ingest_abort(in);
	g = list(f, (struct store_items_query){.search = "alta"});
	assert_int_equal(g.n, 0);
	fts_intact(f);
}

/* A database upgraded from schema 8 finds its old items by their words. */
static void test_upgraded_database_is_searchable(void **state)
{
	struct fx *f = *state;
	char path[160], bak[176], buf[8192];
	struct store *st = NULL;
	struct got g;
	FILE *in, *out;
	size_t n;
	int64_t total = 0;

	snprintf(path, sizeof path, "%s/v8.db", f->dir);
	snprintf(bak, sizeof bak, "%s.bak-v8", path);
	assert_non_null(in = fopen("data/db/helsefeed-v8.db", "rb"));
	assert_non_null(out = fopen(path, "wb"));
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(store_open(path, &st, NULL), 0);
	assert_int_equal(store_count_items(st, NULL, &total), 0);
	assert_true(total > 10);
	memset(&g, 0, sizeof g);
	assert_int_equal(store_items_list(st, &(struct store_items_query){
	                 .limit = 8, .since = HF_NOTIME, .search = "sykehus"},
	                 collect, &g), 0);
	assert_true(g.n > 0);
	store_close(st);
	testdb_remove_file(path);
	testdb_remove_file(bak);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_search_keeps_aeoeaa_and_finds_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_item_get_with_enclosures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_items_leave_the_list_and_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_removes_old_items_and_their_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_index_follows_each_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgraded_database_is_searchable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
