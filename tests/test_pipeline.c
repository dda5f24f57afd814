/* test_pipeline.c - categories and fingerprints of the per-entry pipeline,
 * read back from the database file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testdb.h"
#include <sqlite3.h>

#include "helsefeed/dedup.h"
#include "helsefeed/util.h"
#include "helsefeed/ingest.h"
#include "helsefeed/store.h"

#define T0 1709280000

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct pipeline *p;
	struct config cfg;
	struct config_feed feeds[2];
	struct config_category cats[3];
};

static char *hosp_cats[] = {"hospitals"};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	assert_int_equal(testdb_make(f->dir, sizeof f->dir, f->path, sizeof f->path,
	                             "pipe"), 0);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	f->cats[0] = (struct config_category){"covid", "Covid-19", "korona* covid*", NULL, 1, NULL, NULL, 0};
	f->cats[1] = (struct config_category){"hospitals", "Sykehus", "sykehus* sjukehus*", NULL, 2, NULL, NULL, 0};
	f->cats[2] = (struct config_category){"municipal", "Kommunale tjenester", NULL, NULL, 3, NULL, NULL, 0};
	f->feeds[0] = (struct config_feed){"hod", "https://example.no/hod", "HOD", NULL,
	                                   FEED_KIND_MINISTRY, -1, NULL, 0, 900, 4};
	f->feeds[1] = (struct config_feed){"ahus", "https://example.no/ahus", "Ahus", NULL,
	                                   FEED_KIND_HOSPITAL, -1, hosp_cats, 1, 900, 5};
	f->cfg.categories = f->cats;
	f->cfg.ncategories = 3;
	f->cfg.feeds = f->feeds;
	f->cfg.nfeeds = 2;
	f->cfg.dedup_window = 7 * 24 * 3600;
	assert_int_equal(store_sync_feeds(f->st, &f->cfg), 0);
	assert_int_equal(pipeline_new(&f->cfg, f->st, &f->p, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pipeline_free(f->p);
	store_close(f->st);
	testdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

static int run(struct fx *f, size_t fi, const struct feed_entry *e)
{
	struct store_fetch_result res;
	struct store_ingest *in = NULL;
	int oc = -1;

	memset(&res, 0, sizeof res);
	res.started = T0;
	assert_int_equal(store_ingest_begin(f->st, f->feeds[fi].name, T0, &in), 0);
	assert_int_equal(pipeline_entry(f->p, in, &f->feeds[fi], e, &oc), 0);
	assert_int_equal(store_ingest_commit(in, &res), 0);
	return oc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "category/origin" pairs of all items, sorted, joined by spaces. */
static void cats(const char *path, char *out, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char all[4096], *tok[256], *save = NULL, *t;
	size_t len = 0, ntok = 0, i;

	out[0] = all[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT category || '/' || origin"
	                 " FROM item_categories", -1, &s, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && len < sizeof all)
		len += (size_t)snprintf(all + len, sizeof all - len, " %s",
		                        (const char *)sqlite3_column_text(s, 0));
	assert_true(len < sizeof all);
	sqlite3_finalize(s);
	sqlite3_close(db);
	for (t = strtok_r(all, " ", &save); t && ntok < 256; t = strtok_r(NULL, " ", &save))
		tok[ntok++] = t;
	qsort(tok, ntok, sizeof tok[0], cmp_str);
	for (i = 0, len = 0; i < ntok && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? " " : "", tok[i]);
}

static int64_t q_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static struct feed_entry mk(const char *key, const char *title, const char *link,
                            const char *summary, uint64_t hash)
{
	struct feed_entry e;

	memset(&e, 0, sizeof e);
	e.key = key;
	e.title = title;
	e.link = link;
	e.summary = summary;
	e.published = T0;
	e.updated = HF_NOTIME;
	e.raw_hash = hash;
	return e;
}

static void new_item_gets_feed_rule_and_entry_categories(void **state)
{
	struct fx *f = *state;
	static const char *const ecats[] = {"KOMMUNALE TJENESTER", "Diverse"};
	struct feed_entry e = mk("a1", "Koronautbrudd på Ahus", "https://ahus.no/a1",
	                         "<p>Smitte i akuttmottaket.</p>", 1);
	char got[256];

	e.categories = ecats;
	e.ncategories = 2;
	assert_int_equal(run(f, 1, &e), STORE_NEW);
	cats(f->path, got, sizeof got);
	assert_string_equal(got, "covid/rule hospitals/feed municipal/entry");
	assert_int_equal(q_int(f->path, "SELECT title_norm = 'koronautbrudd på ahus'"
	                                " AND simhash IS NOT NULL FROM items"), 1);
}

static void update_sets_categories_again(void **state)
{
	struct fx *f = *state;
	struct feed_entry e = mk("a1", "Koronautbrudd på Ahus", "https://ahus.no/a1", NULL, 1);
	struct feed_entry u = mk("a1", "Nytt sjukehusbygg på Ahus", "https://ahus.no/a1", NULL, 2);
	char got[256];

	assert_int_equal(run(f, 1, &e), STORE_NEW);
	assert_int_equal(run(f, 1, &u), STORE_UPDATED);
	cats(f->path, got, sizeof got);
	assert_string_equal(got, "hospitals/feed hospitals/rule");
	assert_int_equal(q_int(f->path, "SELECT title_norm = 'nytt sjukehusbygg på ahus'"
	                                " FROM items"), 1);
	assert_int_equal(run(f, 1, &u), STORE_UNCHANGED);
	/* Dedup follows the new title: another feed's copy of the old
	 * headline is a story of its own, its copy of the new one merges. */
	{
		struct feed_entry o = mk("h1", "Koronautbrudd på Ahus",
		                         "https://hod.example.no/h1", NULL, 3);
		struct feed_entry n = mk("h2", "Nytt sjukehusbygg på Ahus",
		                         "https://hod.example.no/h2", NULL, 4);

		assert_int_equal(run(f, 0, &o), STORE_NEW);
		assert_int_equal(run(f, 0, &n), PIPELINE_MERGED);
		assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
	}
}

/* A merged story stays in every category any of its sources gives it:
 * a merged source adds its feed's (not those of the rules on its text),
 * and the ministry's version, when it arrives later and becomes primary,
 * keeps what the item had. */
static void merged_source_adds_its_categories(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = mk("m1", "Nytt sykehus i Stavanger", "https://regjeringen.no/s", NULL, 1);
	struct feed_entry h = mk("h1", "Nyhet: Nytt sykehus i Stavanger – Ahus",
	                         "https://ahus.no/s", NULL, 2);
	struct feed_entry h2 = mk("h2", "Koronatiltak ved sykehuset i Bodø – Ahus",
	                          "https://ahus.no/b", NULL, 3);
	struct feed_entry m2 = mk("m2", "Koronatiltak ved sykehuset i Bodø",
	                          "https://regjeringen.no/b", NULL, 4);
	char got[256];

	assert_int_equal(run(f, 0, &m), STORE_NEW);
	assert_int_equal(run(f, 1, &h), PIPELINE_MERGED);
	cats(f->path, got, sizeof got);
	assert_string_equal(got, "hospitals/feed hospitals/rule");
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	assert_int_equal(run(f, 1, &h2), STORE_NEW);
	assert_int_equal(run(f, 0, &m2), PIPELINE_MERGED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_categories c"
	                 " JOIN items i ON i.id = c.item_id"
	                 " WHERE i.link = 'https://regjeringen.no/b'"
	                 " AND c.category = 'hospitals' AND c.origin = 'feed'"), 1);
}

static void authority_override_beats_kind(void **state)
{
	struct fx *f = *state;
	struct feed_entry h = mk("h1", "Nytt sykehus i Stavanger", "https://ahus.no/s", NULL, 2);
	struct feed_entry m = mk("m1", "Nytt sykehus i Stavanger", "https://regjeringen.no/s", NULL, 1);

	assert_int_equal(pipeline_rank(&f->feeds[0]), 0);
	assert_int_equal(pipeline_rank(&f->feeds[1]), 2);
	f->feeds[0].authority = 50;           /* the ministry ranks last */
	assert_int_equal(run(f, 1, &h), STORE_NEW);
	assert_int_equal(run(f, 0, &m), PIPELINE_MERGED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items i JOIN feeds f"
	                                " ON f.id = i.feed_id WHERE f.name = 'ahus'"), 1);
}

/* Entries of a two-feed test: NQ per feed, every fifth a copy of an
 * earlier one of the other feed (reworded title, other URL), every
 * seventh the same URL as an earlier one with tracking added. */
#define NQ 90
struct qentry {
	char key[16], title[96], link[96], summary[160];
	const char *cats[1];
	struct feed_entry e;
};

static void q_make(struct qentry *q, size_t fi, size_t i)
{
	static const char *const w[] = {"sykehus", "korona", "ventetid", "budsjett",
	                                "sjukeheim", "vaksine", "fastlege", "psykisk"};
	size_t src = i;

	memset(q, 0, sizeof *q);
	snprintf(q->key, sizeof q->key, "%c%zu", fi ? 'a' : 'h', i);
	if (fi && i % 5 == 0 && i > 0)
		src = i - 3;                   /* the ministry's story i - 3 */
	snprintf(q->title, sizeof q->title, "%sTiltak %zu for %s i region %zu%s",
	         src != i ? "Nyhet: " : "", src * 7 + 3, w[src % 8], src % 11,
	         src != i ? " – Ahus" : "");
	if (i % 7 == 6)
		snprintf(q->link, sizeof q->link, "https://hod.example.no/%zu?utm_source=x",
		         i - 6);
	else
		snprintf(q->link, sizeof q->link, "https://%s.example.no/%zu",
		         fi ? "ahus" : "hod", i);
	snprintf(q->summary, sizeof q->summary, "<p>Om %s og %s, sak %zu.</p>",
	         w[src % 8], w[(src + 3) % 8], src);
	q->cats[0] = i % 4 ? "Diverse" : "Kommunale tjenester";
	q->e = mk(q->key, q->title, q->link, q->summary, 1000 * fi + i + 1);
	q->e.published = T0 + (int64_t)i * 60;
	q->e.categories = q->cats;
	q->e.ncategories = 1;
}

/* Items, sources and categories as text, for comparison. */
static void dump(const char *path, char *out, size_t n)
{
	static const char *const sql[] = {
		"SELECT id, feed_id, key, title, link, canon_url, title_norm,"
		" simhash, revision, (SELECT group_concat(category || '/' ||"
		" origin, ' ') FROM item_categories WHERE item_id = items.id)"
		" FROM items ORDER BY id",
		"SELECT item_id, feed_id, key, link FROM item_sources"
		" ORDER BY item_id, feed_id, key",
	};
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	size_t len = 0, k;
	int c;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (k = 0; k < 2; k++) {
		assert_int_equal(sqlite3_prepare_v2(db, sql[k], -1, &s, NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW && len < n) {
			for (c = 0; c < sqlite3_column_count(s); c++) {
				const unsigned char *v = sqlite3_column_text(s, c);

				len += (size_t)snprintf(out + len, n - len, "%s|",
				                        v ? (const char *)v : "-");
			}
			if (len < n)
				out[len++] = '\n';
		}
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	assert_true(len < n);
	out[len] = '\0';
}

/* Ingest both feeds' NQ entries, one feed after the other, each feed in
 * one transaction; `fresh`: with a pipeline of its own for each feed, so
 * that nothing learnt from an earlier feed is held in memory. */
static void ingest_all(struct fx *f, int fresh, size_t counts[PIPELINE_OUTCOMES])
{
	struct qentry q;
	struct store_fetch_result res;
	struct store_ingest *in = NULL;
	size_t fi, i;
	int oc;

	for (fi = 0; fi < 2; fi++) {
		if (fresh) {
			pipeline_free(f->p);
			f->p = NULL;
			assert_int_equal(pipeline_new(&f->cfg, f->st, &f->p, NULL), 0);
		}
		memset(&res, 0, sizeof res);
		res.started = T0;
		assert_int_equal(store_ingest_begin(f->st, f->feeds[fi].name, T0, &in), 0);
		for (i = 0; i < NQ; i++) {
			q_make(&q, fi, i);
			oc = -1;
			assert_int_equal(pipeline_entry(f->p, in, &f->feeds[fi], &q.e, &oc), 0);
			assert_true(oc >= 0 && oc < PIPELINE_OUTCOMES);
			counts[oc]++;
		}
		assert_int_equal(store_ingest_commit(in, &res), 0);
	}
}

/* Two feeds of new items, guid changes (level 2 in the feed), tracking
 * URLs (level 2 across feeds) and reworded copies (level 3): every entry
 * has its outcome, and what is stored depends on the database alone, not
 * on what a pipeline saw before. */
static void two_feeds_store_the_same_whatever_the_pipeline_saw(void **state)
{
	struct fx *f = *state, *g = NULL;
	size_t a[PIPELINE_OUTCOMES] = {0}, b[PIPELINE_OUTCOMES] = {0};
	static char da[1 << 16], db[1 << 16];

	ingest_all(f, 0, a);
	assert_int_equal(setup((void **)&g), 0);
	ingest_all(g, 1, b);
	assert_memory_equal(a, b, sizeof a);
	assert_int_equal(a[STORE_NEW] + a[STORE_UPDATED] + a[PIPELINE_MERGED], 2 * NQ);
	/* level 2 in the feed (a guid change) and across, level 3 */
	assert_true(a[STORE_UPDATED] > 0);
	assert_true(a[PIPELINE_MERGED] >= NQ / 5);
	dump(f->path, da, sizeof da);
	dump(g->path, db, sizeof db);
	assert_string_equal(da, db);
	assert_non_null(strstr(da, "covid/rule"));
	assert_non_null(strstr(da, "municipal/entry"));
	teardown((void **)&g);
}

/* A feed given up leaves nothing behind; an entry with a content of
 * 300 kB is stored whole. */
static void abort_leaves_nothing_and_big_content_is_stored(void **state)
{
	struct fx *f = *state;
	struct store_fetch_result res;
	struct store_ingest *in = NULL;
	struct qentry q;
	char *big;
	size_t i;
	int oc;

	assert_int_equal(store_ingest_begin(f->st, "hod", T0, &in), 0);
	for (i = 0; i < 40; i++) {
		q_make(&q, 0, i);
		assert_int_equal(pipeline_entry(f->p, in, &f->feeds[0], &q.e, &oc), 0);
	}
	store_ingest_abort(in);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 0);
	/* The same entries again: nothing of the aborted ingest is known. */
	memset(&res, 0, sizeof res);
	assert_int_equal(store_ingest_begin(f->st, "hod", T0, &in), 0);
	q_make(&q, 0, 1);
	assert_non_null(big = malloc(300000));
	memset(big, 'a', 299999);
	big[299999] = '\0';
	q.e.content = big;
	assert_int_equal(pipeline_entry(f->p, in, &f->feeds[0], &q.e, &oc), 0);
	free(big);
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(store_ingest_commit(in, &res), 0);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	assert_int_equal(q_int(f->path, "SELECT length(content) FROM items"), 299999);
}

/* One document with the same key twice: the second entry, looked up
 * after the first was stored, updates it. */
static void repeated_key_in_one_document_updates_its_item(void **state)
{
	struct fx *f = *state;
	struct store_fetch_result res;
	struct store_ingest *in = NULL;
	size_t counts[PIPELINE_OUTCOMES] = {0};
	struct feed_entry v[3] = {
		mk("k1", "Nytt sykehus i Bodø", "https://hod.example.no/1", NULL, 1),
		mk("k1", "Kreftbehandling flyttes til Tromsø",
		   "https://hod.example.no/1b", NULL, 2),
		mk("k2", "Ventetider i mars", "https://hod.example.no/2", NULL, 3),
	};
	int oc;

	memset(&res, 0, sizeof res);
	assert_int_equal(store_ingest_begin(f->st, "hod", T0, &in), 0);
	for (size_t i = 0; i < 3; i++) {
		/* as ingest.c: the parser asks before it hands the entry on */
		assert_int_equal(store_ingest_known(in, v[i].key, v[i].raw_hash), 0);
		assert_int_equal(pipeline_entry(f->p, in, &f->feeds[0], &v[i], &oc), 0);
		counts[oc]++;
	}
	assert_int_equal(store_ingest_commit(in, &res), 0);
	assert_int_equal(counts[STORE_NEW], 2);
	assert_int_equal(counts[STORE_UPDATED], 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
	assert_int_equal(q_int(f->path, "SELECT revision FROM items WHERE key = 'k1'"), 2);
	/* and the answers of the look-up, next time */
	assert_int_equal(store_ingest_begin(f->st, "hod", T0, &in), 0);
	assert_int_equal(store_ingest_known(in, "k1", 2), 1);
	assert_int_equal(store_ingest_known(in, "k1", 1), 0);
	assert_int_equal(store_ingest_known(in, "k3", 1), 0);
	store_ingest_abort(in);
}

static void bad_rule_is_a_config_error(void **state)
{
	struct fx *f = *state;
	struct pipeline *p = NULL;
	struct buf err = BUF_INIT;

	f->cats[0].match = "ko*rona";
	assert_int_equal(pipeline_new(&f->cfg, f->st, &p, &err), HF_ECONFIG);
	assert_null(p);
	assert_non_null(strstr(buf_str(&err), "covid"));
	buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(new_item_gets_feed_rule_and_entry_categories, setup, teardown),
		cmocka_unit_test_setup_teardown(update_sets_categories_again, setup, teardown),
		cmocka_unit_test_setup_teardown(merged_source_adds_its_categories, setup, teardown),
		cmocka_unit_test_setup_teardown(authority_override_beats_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_rule_is_a_config_error, setup, teardown),
		cmocka_unit_test_setup_teardown(two_feeds_store_the_same_whatever_the_pipeline_saw, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_leaves_nothing_and_big_content_is_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(repeated_key_in_one_document_updates_its_item, setup, teardown),
	};

	log_set_level(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
