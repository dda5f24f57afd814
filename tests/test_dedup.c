/* test_dedup.c - the three dedup levels through the pipeline, read back
 * from the database file; precision and recall on the labelled set. */
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
#include "helsefeed/text.h"
#include "helsefeed/ingest.h"
#include "helsefeed/store.h"

#define DAY (24 * 3600)
#define T0 1709280000  /* 2024-03-01T08:00:00Z */

/* Feeds, one per kind. */
static char *names[] = {"hod", "helsedir", "hospital", "kommune", "other"};
static char *titles[] = {"Helse- og omsorgsdepartementet", "Helsedirektoratet",
                         "Helse Bergen", "Bergen kommune", "Dagens Medisin"};
#define NFEEDS 5

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct pipeline *p;
	struct config cfg;
	struct config_feed feeds[NFEEDS];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	size_t i;

	assert_non_null(f);
	assert_int_equal(testdb_make(f->dir, sizeof f->dir, f->path, sizeof f->path,
	                             "dedup"), 0);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	for (i = 0; i < NFEEDS; i++) {
		f->feeds[i].name = names[i];
		f->feeds[i].url = "https://example.no/rss";
		f->feeds[i].title = titles[i];
		f->feeds[i].kind = (enum feed_kind)i;
		f->feeds[i].authority = -1;
		f->feeds[i].interval = 900;
	}
	f->cfg.feeds = f->feeds;
	f->cfg.nfeeds = NFEEDS;
	f->cfg.dedup_window = 7 * DAY;
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

/* An entry as the parser hands it out; raw_hash from all the fields. */
static struct feed_entry entry(const char *key, const char *title,
                               const char *link, const char *summary,
                               int64_t published)
{
	struct feed_entry e;
	uint64_t h = NORM_FNV_INIT;

	memset(&e, 0, sizeof e);
	e.key = key;
	e.id = key;
	e.title = title;
	e.link = link;
	e.summary = summary;
	e.published = published;
	e.updated = HF_NOTIME;
	h = norm_fnv1a(h, key, strlen(key));
	h = norm_fnv1a(h, title, strlen(title));
	if (link)
		h = norm_fnv1a(h, link, strlen(link));
	if (summary)
		h = norm_fnv1a(h, summary, strlen(summary));
	e.raw_hash = h;
	return e;
}

/* One ingest of feed `fi` with n entries; outcomes and item ids out. */
static void ingest(struct fx *f, size_t fi, const struct feed_entry *e,
                   size_t n, int *outcomes, int64_t *ids)
{
	struct store_fetch_result res;
	struct store_ingest *in = NULL;
	size_t i;

	memset(&res, 0, sizeof res);
	res.started = T0;
	res.http_status = 200;
	assert_int_equal(store_ingest_begin(f->st, names[fi], T0, &in), 0);
	for (i = 0; i < n; i++) {
		int oc = -1;

		assert_int_equal(pipeline_entry(f->p, in, &f->feeds[fi], &e[i], &oc), 0);
		if (outcomes)
			outcomes[i] = oc;
		if (ids)
			ids[i] = store_ingest_item_id(in);
	}
	assert_int_equal(store_ingest_commit(in, &res), 0);
}

static int64_t q_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Text of the first column of the first row into out. */
static void q_text(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* --- text ----------------------------------------------------------------- */

static void norm_is(const struct dedup *d, const char *title, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(dedup_title_norm(d, title, &b), 0);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

static void title_norm_strips_labels_and_sources(void **state)
{
	struct fx *f = *state;
	struct dedup *d = NULL;

	assert_int_equal(dedup_new(&f->cfg, &d), 0);
	norm_is(d, "Nyhet: Vurderer endringer i regelverket – Helsedirektoratet",
	        "vurderer endringer i regelverket");
	norm_is(d, "NYHEIT: Meir medverknad i LAR | FHI", "meir medverknad i lar");
	norm_is(d, "Pressemelding - Ny plan - Helse- og omsorgsdepartementet",
	        "ny plan");
	/* A dash segment that is no source name is headline. */
	norm_is(d, "Statsbudsjettet 2024 – 1,9 milliarder mer til sykehusene",
	        "statsbudsjettet 2024 1 9 milliarder mer til sykehusene");
	/* A configured feed's title is a source name too. */
	norm_is(d, "Nytt akuttmottak – Helse Bergen", "nytt akuttmottak");
	/* A lone label word is the title, not a prefix. */
	norm_is(d, "Nyhet", "nyhet");
	norm_is(d, "Covid-19-vaksine: ÆØÅ  og   Ålesund!", "covid 19 vaksine æøå og ålesund");
	norm_is(d, NULL, "");
	dedup_free(d);
}

static int same(const struct dedup *d, const char *t1, const char *s1,
                const char *t2, const char *s2, struct dedup_score *sc)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct dedup_sig *x = malloc(sizeof *x), *y = malloc(sizeof *y);
	int rule;

	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(dedup_title_norm(d, t1, &a), 0);
	assert_int_equal(dedup_title_norm(d, t2, &b), 0);
	dedup_sig_make(x, buf_str(&a), s1);
	dedup_sig_make(y, buf_str(&b), s2);
	rule = dedup_same_story(x, y, sc);
	free(x);
	free(y);
	buf_free(&a);
	buf_free(&b);
	return rule;
}

static void numbers_and_months_veto(void **state)
{
	struct fx *f = *state;
	struct dedup *d = NULL;
	struct dedup_score sc;
	const char *s = "Gjennomsnittlig ventetid i spesialisthelsetjenesten var "
	                "66 dager for pasienter som startet behandling.";

	assert_int_equal(dedup_new(&f->cfg, &d), 0);
	/* Identical summaries, titles differing in the month only. */
	assert_int_equal(same(d, "Nye tall om ventetider i januar", s,
	                      "Nye tall om ventetider i februar", s, &sc), 0);
	assert_true(sc.veto);
	assert_int_equal(same(d, "Ukerapport om luftveisinfeksjoner, uke 2", s,
	                      "Ukerapport om luftveisinfeksjoner, uke 3", s, &sc), 0);
	assert_true(sc.veto);
	assert_int_equal(same(d, "Helse Sør-Øst: økonomisk resultat for første tertial", s,
	                      "Helse Sør-Øst: økonomisk resultat for andre tertial", s, &sc), 0);
	assert_true(sc.veto);
	/* "første" is "1.": no contradiction. */
	assert_int_not_equal(same(d, "Helse Sør-Øst: økonomisk resultat for første tertial", s,
	                          "Helse Sør-Øst RHF: økonomisk resultat for 1. tertial", s, &sc), 0);
	/* Omitting a figure is no contradiction either; the rest decides. */
	assert_false(sc.veto);
	dedup_free(d);
}

/* A number is one number however it is written: in digits or in
 * words, with its thousands grouped or not. */
static void written_numbers_are_one_number(void **state)
{
	struct fx *f = *state;
	struct dedup *d = NULL;
	struct dedup_score sc;

	assert_int_equal(dedup_new(&f->cfg, &d), 0);
	norm_is(d, "2.000 pakkar falsk medisin selt", "2000 pakkar falsk medisin selt");
	norm_is(d, "Over 1 200 000 doser sett", "over 1200000 doser sett");
	/* Dates, times and decimals are no groups of thousands. */
	norm_is(d, "Møte 15.03.2020 kl. 10.15 om 1,9 milliarder",
	        "møte 15 03 2020 kl 10 15 om 1 9 milliarder");
	norm_is(d, "I 2019 og 2020", "i 2019 og 2020");
	/* NTB's bokmål and NPK's nynorsk copy of one agency story. */
	assert_int_not_equal(same(d, "2.000 pakkar falsk medisin selt på nett", "",
	                          "2000 pakker falsk medisin solgt på nett", "", &sc), 0);
	assert_false(sc.veto);
	assert_int_equal(same(d, "Regjeringen vil bruke 3 milliarder mer på rusomsorg", "",
	                      "Regjeringa vil bruke tre milliardar meir på rusomsorga", "",
	                      &sc), DEDUP_RULE_TITLE);
	/* An ordinal is also a word ("første spadetak"): it matches no
	 * figure of another story. */
	assert_int_equal(same(d, "Tok det første spadetaket på nytt sjukehus til 1,6 milliardar", "",
	                      "Regjeringa vil styrkje allmennlegetenesta med 1,6 milliardar", "",
	                      &sc), 0);
	dedup_free(d);
}

static void spelling_variants_match_compounds_do_not(void **state)
{
	struct fx *f = *state;
	struct dedup *d = NULL;
	struct dedup_score sc;

	assert_int_equal(dedup_new(&f->cfg, &d), 0);
	assert_int_equal(same(d, "Sjukehus i Nord-Norge får ny ambulansebåt", "",
	                      "Ny ambulansebåt til sjukehusa i Nord-Norge – Helse Nord RHF",
	                      "", &sc), DEDUP_RULE_TITLE);
	assert_int_equal(same(d, "Koronavaksine til risikogrupper og helsepersonell",
	                      "Ny dose koronavaksine tilbys personer i risikogrupper.",
	                      "Influensavaksine til risikogrupper og helsepersonell",
	                      "Sesongens influensavaksine er klar.", &sc), 0);
	assert_false(sc.veto);
	assert_true(sc.title_pct < 100);
	dedup_free(d);
}

/* --- levels through the pipeline ----------------------------------------- */

static void same_url_with_utm_from_two_feeds_is_one_item(void **state)
{
	struct fx *f = *state;
	struct feed_entry a = entry("hod-1", "Nytt sykehus i Stavanger",
	    "https://www.regjeringen.no/no/aktuelt/sykehus/id1/?utm_source=rss",
	    "Det nye sykehuset åpner.", T0);
	struct feed_entry b = entry("https://helsedirektoratet.no/x",
	    "Ein heilt annan tittel",
	    "https://WWW.regjeringen.no/no/aktuelt/sykehus/id1/?utm_medium=feed#top",
	    "Anna tekst.", T0 + 3600);
	int oc[1];
	int64_t ida[1], idb[1];

	ingest(f, 0, &a, 1, oc, ida);
	assert_int_equal(oc[0], STORE_NEW);
	ingest(f, 1, &b, 1, oc, idb);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(ida[0], idb[0]);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), 2);
	assert_int_equal(q_int(f->path, "SELECT count(DISTINCT feed_id) FROM item_sources_all"), 2);
}

static void guid_change_in_same_feed_is_one_item(void **state)
{
	struct fx *f = *state;
	const char *link = "https://www.fhi.no/nyheter/2024/influensa/";
	struct feed_entry a = entry("guid-old", "Influensasesongen er i gang", link,
	                            "Influensaen sprer seg.", T0);
	struct feed_entry b = entry("guid-new", "Influensasesongen er i gang", link,
	                            "Influensaen sprer seg raskt.", T0);
	char title[64];
	int oc[1];

	ingest(f, 1, &a, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_NEW);
	ingest(f, 1, &b, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_UPDATED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), 2);
	q_text(f->path, "SELECT key FROM items", title, sizeof title);
	assert_string_equal(title, "guid-new");
	assert_int_equal(q_int(f->path, "SELECT revision FROM items"), 2);
	/* Both keys are known now: nothing is written for either. */
	ingest(f, 1, &a, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_UNCHANGED);
	ingest(f, 1, &b, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_UNCHANGED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), 2);
}

static const char *hod_title = "Vurderer endringer i regelverket for blodgivning";
static const char *hod_sum =
	"24.05.2022: Helse- og omsorgsdepartementet vil gi Helsedirektoratet i "
	"oppdrag å vurdere endringer i karantenereglene for blodgivning for menn "
	"som har sex med menn.";
static const char *dir_title =
	"Nyhet: Vurderer endringer i regelverket for blodgivning – Helsedirektoratet";
static const char *dir_sum =
	"Helsedirektoratet får i oppdrag å vurdere endringer i "
	"karantenereglene for blodgivning for menn som har sex med menn.";

/* The ministry's release and the directorate's rewrite of it, at t. */
static struct feed_entry hod_release(int64_t t)
{
	return entry("hod-blod", hod_title,
	             "https://www.regjeringen.no/no/aktuelt/blod/id2911/", hod_sum, t);
}

static struct feed_entry dir_release(int64_t t)
{
	return entry("dir-blod", dir_title,
	             "https://www.helsedirektoratet.no/nyheter/blodgivning", dir_sum, t);
}

static void check_ministry_primary(struct fx *f)
{
	char s[128];

	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), 2);
	q_text(f->path, "SELECT f.name FROM items i JOIN feeds f ON f.id = i.feed_id",
	       s, sizeof s);
	assert_string_equal(s, "hod");
	q_text(f->path, "SELECT title FROM items", s, sizeof s);
	assert_string_equal(s, hod_title);
	q_text(f->path, "SELECT title_norm FROM items", s, sizeof s);
	assert_string_equal(s, "vurderer endringer i regelverket for blodgivning");
}

static void republished_release_keeps_ministry_primary(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 + 2 * 3600);
	int oc[1];

	ingest(f, 0, &m, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_NEW);
	ingest(f, 1, &d, 1, oc, NULL);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(pipeline_last_rule(f->p), DEDUP_RULE_TITLE);
	check_ministry_primary(f);
}

static void ministry_arriving_later_becomes_primary(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 - 3600);
	int oc[1];
	int64_t before = 0, after = 0;

	ingest(f, 1, &d, 1, oc, &before);
	assert_int_equal(oc[0], STORE_NEW);
	ingest(f, 0, &m, 1, oc, &after);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(before, after);
	check_ministry_primary(f);
	/* The directorate re-fetching its entry changes nothing. */
	ingest(f, 1, &d, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_UNCHANGED);
	check_ministry_primary(f);
	/* The candidate index follows the primary text: a third copy of the
	 * story finds the item under the ministry's time and wording. */
	{
		struct feed_entry h = entry("hosp-blod", hod_title,
		    "https://helse-bergen.no/nyheter/blod", hod_sum, T0 + 3600);

		ingest(f, 2, &h, 1, oc, &after);
		assert_int_equal(oc[0], PIPELINE_MERGED);
		assert_int_equal(before, after);
		assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
	}
}

/* What a rolled-back ingest stored is no candidate afterwards: the item
 * is not in the database, so nothing may be merged into it. */
static void rolled_back_item_is_no_candidate(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 + 3600);
	struct store_ingest *in = NULL;
	int oc = -1;

	assert_int_equal(store_ingest_begin(f->st, names[0], T0, &in), 0);
	assert_int_equal(pipeline_entry(f->p, in, &f->feeds[0], &m, &oc), 0);
	assert_int_equal(oc, STORE_NEW);
	store_ingest_abort(in);
	ingest(f, 1, &d, 1, &oc, NULL);
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 1);
}

/* Another process (a `fetch` beside the daemon) stores the ministry's
 * release: this pipeline, which had its window read already, sees it. */
static void other_connection_writes_are_seen(void **state)
{
	struct fx *f = *state;
	struct feed_entry x = entry("kom-1", "Kommunen åpner nytt legekontor",
	    "https://bergen.kommune.no/legekontor", "<p>Nytt legekontor.</p>", T0);
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 + 3600);
	struct store *st2 = NULL;
	struct pipeline *p2 = NULL;
	struct store_ingest *in = NULL;
	struct store_fetch_result res;
	int oc = -1;

	ingest(f, 3, &x, 1, &oc, NULL);     /* reads the window */
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(store_open(f->path, &st2, NULL), 0);
	assert_int_equal(pipeline_new(&f->cfg, st2, &p2, NULL), 0);
	memset(&res, 0, sizeof res);
	res.started = T0;
	res.http_status = 200;
	assert_int_equal(store_ingest_begin(st2, names[0], T0, &in), 0);
	assert_int_equal(pipeline_entry(p2, in, &f->feeds[0], &m, &oc), 0);
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(store_ingest_commit(in, &res), 0);
	pipeline_free(p2);
	store_close(st2);
	ingest(f, 1, &d, 1, &oc, NULL);
	assert_int_equal(oc, PIPELINE_MERGED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
}

/*
 * A feed never duplicates itself, also for an item it carries as a merged
 * source: the directorate's second copy of its release (new key, new
 * URL) is an item of its own, not merged into the ministry's item the
 * first copy was merged into, in the process that stored the merge and
 * in a new one after a restart.
 */
static void merged_source_feed_does_not_duplicate_itself(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 + 3600);
	struct feed_entry d2 = dir_release(T0 + 7200);
	struct feed_entry d3 = dir_release(T0 + 9000);
	struct feed_entry x = entry("kom-1", "Kommunen åpner nytt legekontor",
	    "https://bergen.kommune.no/legekontor", "<p>Nytt legekontor.</p>", T0);
	int oc = -1;

	d2.key = d2.id = "dir-blod-2";
	d2.link = "https://www.helsedirektoratet.no/nyheter/blodgivning-2";
	d2.raw_hash ^= 2;
	d3.key = d3.id = "dir-blod-3";
	d3.link = "https://www.helsedirektoratet.no/nyheter/blodgivning-3";
	d3.raw_hash ^= 3;
	/* Item ids and source row ids apart, as in any real database. */
	ingest(f, 3, &x, 1, &oc, NULL);
	ingest(f, 0, &m, 1, &oc, NULL);
	assert_int_equal(oc, STORE_NEW);
	ingest(f, 1, &d, 1, &oc, NULL);
	assert_int_equal(oc, PIPELINE_MERGED);
	ingest(f, 1, &d2, 1, &oc, NULL);
	assert_int_equal(oc, STORE_NEW);
	/* A restart: the candidates come from the database. */
	pipeline_free(f->p);
	store_close(f->st);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	assert_int_equal(pipeline_new(&f->cfg, f->st, &f->p, NULL), 0);
	ingest(f, 1, &d3, 1, &oc, NULL);
	assert_int_equal(oc, STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources"), 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 4);
}

/* Stories far apart in time: each window finds its own items, and a
 * period visited again after many others is found again, not
 * forgotten. */
#define NPERIODS 25
static void old_periods_are_read_again(void **state)
{
	struct fx *f = *state;
	char title[64], dtitle[96], link[64], dlink[64], key[16], dkey[16];
	int64_t when[NPERIODS];
	int oc = -1, i;

	for (i = 0; i < NPERIODS; i++) {
		struct feed_entry m;

		when[i] = T0 - (int64_t)(i * 30) * DAY;
		snprintf(title, sizeof title, "Nasjonal plan for %s lansert",
		         i % 2 ? "fødselsomsorg" : "legemiddelberedskap");
		snprintf(link, sizeof link, "https://regjeringen.no/plan/%d", i);
		snprintf(key, sizeof key, "hod-%d", i);
		m = entry(key, title, link, "<p>Planen er lagt fram.</p>", when[i]);
		ingest(f, 0, &m, 1, &oc, NULL);
		assert_int_equal(oc, STORE_NEW);
	}
	/* Back to the oldest period, and then to every other one. */
	for (i = NPERIODS - 1; i >= 0; i--) {
		struct feed_entry d;

		snprintf(dtitle, sizeof dtitle, "Nyhet: Nasjonal plan for %s lansert",
		         i % 2 ? "fødselsomsorg" : "legemiddelberedskap");
		snprintf(dlink, sizeof dlink, "https://helsedirektoratet.no/p/%d", i);
		snprintf(dkey, sizeof dkey, "dir-%d", i);
		d = entry(dkey, dtitle, dlink, "<p>Planen er lagt fram.</p>",
		          when[i] + 3600);
		ingest(f, 1, &d, 1, &oc, NULL);
		assert_int_equal(oc, PIPELINE_MERGED);
	}
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), NPERIODS);
}

static void january_and_february_stay_apart(void **state)
{
	struct fx *f = *state;
	const char *s = "Gjennomsnittlig ventetid i spesialisthelsetjenesten var "
	                "66 dager for pasienter som startet behandling.";
	struct feed_entry a = entry("jan", "Nye tall om ventetider i januar",
	                            "https://www.helsedirektoratet.no/jan", s, T0);
	struct feed_entry b = entry("feb", "Nye tall om ventetider i februar – Helsedirektoratet",
	                            "https://www.regjeringen.no/feb", s, T0 + DAY);
	int oc[1];

	ingest(f, 1, &a, 1, oc, NULL);
	ingest(f, 0, &b, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
}

static void outside_the_window_is_another_story(void **state)
{
	struct fx *f = *state;
	struct feed_entry m = hod_release(T0);
	struct feed_entry d = dir_release(T0 + 8 * DAY);
	int oc[1];

	ingest(f, 0, &m, 1, oc, NULL);
	ingest(f, 1, &d, 1, oc, NULL);
	assert_int_equal(oc[0], STORE_NEW);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), 2);
}

static void refetch_of_everything_is_unchanged(void **state)
{
	struct fx *f = *state;
	struct feed_entry m[2] = {
		entry("hod-blod", hod_title,
		      "https://www.regjeringen.no/no/aktuelt/blod/id2911/", hod_sum, T0),
		entry("hod-2", "Nytt sykehus i Stavanger",
		      "https://www.regjeringen.no/x?utm_source=a", "Tekst.", T0),
	};
	struct feed_entry d[2] = {
		entry("dir-blod", dir_title,
		      "https://www.helsedirektoratet.no/nyheter/blodgivning", dir_sum, T0),
		entry("dir-2", "Annen tittel",
		      "https://www.regjeringen.no/x?utm_source=b", "Tekst.", T0),
	};
	int oc[2];
	int64_t items, sources, revs;

	ingest(f, 1, d, 2, oc, NULL);
	ingest(f, 0, m, 2, oc, NULL);
	items = q_int(f->path, "SELECT count(*) FROM items");
	sources = q_int(f->path, "SELECT count(*) FROM item_sources_all");
	assert_int_equal(items, 2);
	assert_int_equal(sources, 4);
	revs = q_int(f->path, "SELECT sum(revision) FROM items");
	ingest(f, 1, d, 2, oc, NULL);
	assert_int_equal(oc[0], STORE_UNCHANGED);
	assert_int_equal(oc[1], STORE_UNCHANGED);
	ingest(f, 0, m, 2, oc, NULL);
	assert_int_equal(oc[0], STORE_UNCHANGED);
	assert_int_equal(oc[1], STORE_UNCHANGED);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM items"), items);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), sources);
	assert_int_equal(q_int(f->path, "SELECT sum(revision) FROM items"), revs);
}

/* SQL on the database from another connection. */
static void q_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * Credit: the publisher on whose site the story is wins over a higher
 * kind that relays its link; the kind decides when neither (or both)
 * publish on their own site.
 */
static void the_site_owner_is_credited(void **state)
{
	struct fx *f = *state;
	const char *link = "https://bergen.kommune.no/nyheter/ny-legevakt";
	struct feed_entry own = entry("kom-1", "Ny legevakt i Bergen", link,
	                              "Bergen kommune opnar ny legevakt.", T0);
	struct feed_entry relay = entry("hod-9", "Ny legevakt i Bergen",
	                                "https://www.bergen.kommune.no/nyheter/ny-legevakt?utm_source=hod",
	                                "Departementet viser til kommunen.", T0 + 600);
	int oc[1];
	int64_t a[1], b[1];

	f->feeds[0].url = "https://www.regjeringen.no/no/rss/";
	f->feeds[3].url = "https://www.bergen.kommune.no/rss";
	/* The owner first: the ministry's relay of its link stays merged. */
	ingest(f, 3, &own, 1, oc, a);
	ingest(f, 0, &relay, 1, oc, b);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(a[0], b[0]);
	assert_int_equal(q_int(f->path, "SELECT f.name = 'kommune' FROM items i"
	                       " JOIN feeds f ON f.id = i.feed_id"), 1);
	/* The relay first: the owner's own entry takes the credit. */
	q_exec(f->path, "PRAGMA foreign_keys = ON; DELETE FROM items");
	own.key = own.id = "kom-2";
	relay.key = relay.id = "hod-10";
	ingest(f, 0, &relay, 1, oc, a);
	assert_int_equal(oc[0], STORE_NEW);
	ingest(f, 3, &own, 1, oc, b);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(a[0], b[0]);
	assert_int_equal(q_int(f->path, "SELECT f.name = 'kommune' FROM items i"
	                       " JOIN feeds f ON f.id = i.feed_id"), 1);
	assert_int_equal(q_int(f->path, "SELECT count(*) FROM item_sources_all"), 2);
	/* Neither on its own site: the kind decides, the ministry. */
	f->feeds[3].url = "https://rss.example.no/bergen";
	q_exec(f->path, "PRAGMA foreign_keys = ON; DELETE FROM items");
	own.key = own.id = "kom-3";
	relay.key = relay.id = "hod-11";
	ingest(f, 3, &own, 1, oc, a);
	ingest(f, 0, &relay, 1, oc, b);
	assert_int_equal(a[0], b[0]);
	assert_int_equal(q_int(f->path, "SELECT f.name = 'hod' FROM items i"
	                       " JOIN feeds f ON f.id = i.feed_id"), 1);
}


/*
 * A pipeline builds its same-story index from the stored items: a twin
 * that arrives after a restart (or an upgrade, which leaves the index
 * behind) still finds its story.
 */
static void a_new_pipeline_finds_the_stored_items(void **state)
{
	struct fx *f = *state;
	struct feed_entry a = entry("hod-1",
	    "Regjeringen styrker fastlegeordningen med 1,2 milliarder kroner",
	    "https://www.regjeringen.no/no/aktuelt/fastlege/id7/",
	    "Regjeringen legger fram en plan for fastlegeordningen.", T0);
	struct feed_entry b = entry("dir-1",
	    "Regjeringen styrker fastlegeordningen med 1,2 milliarder kroner",
	    "https://www.helsedirektoratet.no/nyheter/fastlege",
	    "Helsedirektoratet om planen.", T0 + 3600);
	int oc[1];
	int64_t ida[1], idb[1];

	ingest(f, 0, &a, 1, oc, ida);
	assert_int_equal(oc[0], STORE_NEW);
	pipeline_free(f->p);
	assert_int_equal(pipeline_new(&f->cfg, f->st, &f->p, NULL), 0);
	ingest(f, 1, &b, 1, oc, idb);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(idb[0], ida[0]);
}

/* Forty stories of four feeds, some of them twins, by turns. */
static void mixed_entries(struct feed_entry *e, char (*title)[64],
                          char (*key)[16], char (*link)[64], size_t n,
                          size_t salt)
{
	static const char *const what[] = {
		"Ny helseplan for Bergen", "Nytt akuttmottak i Bodø",
		"Fastlegeordningen får 1,2 milliarder", "Ventetidene går ned i Helse Nord",
		"Vaksinasjon mot influensa starter", "Kommunen åpner nytt legekontor",
		"Sykehuset i Førde bygges om", "Rapport om psykisk helse hos unge",
	};
	for (size_t i = 0; i < n; i++) {
		snprintf(title[i], 64, "%s %zu", what[(i + salt) % 8], (i / 3) % 5);
		snprintf(key[i], 16, "k%zu-%zu", salt, i);
		snprintf(link[i], 64, "https://example.no/%zu/%zu", salt, i);
		e[i] = entry(key[i], title[i], link[i], NULL,
		             T0 + (int64_t)((i * 37) % 11) * 3600);
	}
}

/*
 * The index a pipeline kept while it wrote and the one it builds from
 * the store give the same answers: a batch of entries ingested with the
 * kept index, rolled back (which makes the pipeline build it again), and
 * ingested again ends the same way, entry for entry.
 */
static void kept_and_built_index_answer_alike(void **state)
{
	struct fx *f = *state;
	struct feed_entry a[40], b[40];
	char ta[40][64], ka[40][16], la[40][64], tb[40][64], kb[40][16], lb[40][64];
	int oc1[40], oc2[40];
	int64_t id1[40], id2[40];
	struct store_ingest *in = NULL;
	size_t i;

	mixed_entries(a, ta, ka, la, 40, 0);
	mixed_entries(b, tb, kb, lb, 40, 3);
	for (i = 0; i < 4; i++)
		ingest(f, i, a + 10 * i, 10, NULL, NULL);
	for (int round = 0; round < 2; round++) {
		int *oc = round ? oc2 : oc1;
		int64_t *id = round ? id2 : id1;

		assert_int_equal(store_ingest_begin(f->st, names[2], T0, &in), 0);
		for (i = 0; i < 40; i++) {
			assert_int_equal(pipeline_entry(f->p, in, &f->feeds[2], &b[i],
			                                 &oc[i]), 0);
			id[i] = store_ingest_item_id(in);
		}
		store_ingest_abort(in);
	}
	for (i = 0; i < 40; i++) {
		assert_int_equal(oc1[i], oc2[i]);
		assert_int_equal(id1[i], id2[i]);
	}
	/* Some merged, some not: the comparison compared something. */
	for (i = 0; i < 40 && oc1[i] != PIPELINE_MERGED; i++)
		;
	assert_true(i < 40);
	for (i = 0; i < 40 && oc1[i] != STORE_NEW; i++)
		;
	assert_true(i < 40);
}

/* --- the same-story index (src/dedup/index.c) ---------------------------- */

static int64_t word_term(const char *w)
{
	return (int64_t)norm_fnv1a(NORM_FNV_INIT, w, strlen(w));
}

/* dedup_index_put of item id first seen and dated at t. */
static int put(struct dedup_index *ix, int64_t id, int64_t t,
               const int64_t *terms, size_t n)
{
	struct dedup_index_item it;

	memset(&it, 0, sizeof it);
	it.id = id;
	it.first_seen = t;
	it.published = t;
	it.feed_id = 1;
	it.merged = -1;
	return dedup_index_put(ix, &it, terms, n);
}

/* Candidates of an entry titled "ny helseplan 5" at time t, by its word
 * "helseplan" and its headline: ids and hits out, their number returned. */
static size_t helseplan(const struct dedup_index *ix, int64_t t, size_t max,
                        int64_t *ids, int *hits)
{
	static struct dedup_sig sig;
	int64_t terms[2];

	dedup_sig_make(&sig, "ny helseplan 5", NULL);
	terms[0] = word_term("helseplan");
	terms[1] = sig.title_term;
	return dedup_index_candidates(ix, terms, 2, sig.title_term, t, 7 * DAY,
	                              ids, hits, max);
}

/* Item id "ny helseplan i" first seen and dated at t. */
static void put_helseplan(struct dedup_index *ix, int64_t id, size_t i,
                          int64_t t)
{
	static struct dedup_sig sig;
	char title[32];
	int64_t terms[2];

	snprintf(title, sizeof title, "ny helseplan %zu", i);
	dedup_sig_make(&sig, title, NULL);
	terms[0] = word_term("helseplan");
	terms[1] = sig.title_term;
	assert_int_equal(put(ix, id, t, terms, 2), 0);
}

/*
 * Every item of the window that shares a rare word (one of at most
 * HF_DEDUP_RARE items) is a candidate, up to `max`, best first: the
 * same headline, then more shared terms, then the newest.  Nothing
 * outside the window; a word of more items than HF_DEDUP_RARE finds
 * none.
 */
static void candidates_are_every_item_of_the_window_best_first(void **state)
{
	struct dedup_index *ix = NULL;
	int64_t ids[64], other = word_term("legekontor");
	int hits[64];
	size_t i, n;

	(void)state;
	assert_int_equal(dedup_index_new(HF_DEDUP_INDEX_ITEMS, &ix), 0);
	assert_int_equal(helseplan(ix, T0, 64, ids, hits), 0);
	for (i = 0; i < 40; i++)
		put_helseplan(ix, 100 + (int64_t)i, i, T0 + (int64_t)i * 60);
	n = helseplan(ix, T0, 64, ids, hits);
	assert_int_equal(n, 40);
	assert_int_equal(ids[0], 105);
	/* Shares "helseplan" (1) and the headline (1 + DEDUP_MAX_INDEX). */
	assert_int_equal(hits[0], DEDUP_MAX_INDEX + 2);
	for (i = 1; i < n; i++) {
		assert_int_equal(hits[i], 1);
		assert_true(i == 1 || ids[i] < ids[i - 1]);
	}
	assert_int_equal(ids[1], 139);
	assert_int_equal(ids[39], 100);
	assert_int_equal(helseplan(ix, T0, 4, ids, hits), 4);
	/* A week either way of t, both ends in: items 0 to 19, then 20 to 39. */
	n = helseplan(ix, T0 - 7 * DAY + 20 * 60 - 30, 64, ids, hits);
	assert_int_equal(n, 20);
	assert_int_equal(ids[n - 1], 100);
	n = helseplan(ix, T0 + 7 * DAY + 20 * 60, 64, ids, hits);
	assert_int_equal(n, 20);
	assert_int_equal(ids[n - 1], 120);
	assert_int_equal(helseplan(ix, T0 + 8 * DAY + 40 * 60, 64, ids, hits), 0);
	/* Item 139 retitled: found no more by the word, and its new word
	 * finds it. */
	assert_int_equal(put(ix, 139, T0, &other, 1), 0);
	assert_int_equal(helseplan(ix, T0, 64, ids, hits), 39);
	assert_int_equal(ids[1], 138);
	assert_int_equal(dedup_index_candidates(ix, &other, 1, 0, T0, 7 * DAY,
	                                        ids, hits, 64), 1);
	assert_int_equal(ids[0], 139);
	/* Retitled back, it is in its place again, newest first. */
	put_helseplan(ix, 139, 39, T0 + 39 * 60);
	assert_int_equal(helseplan(ix, T0, 64, ids, hits), 40);
	assert_int_equal(ids[1], 139);
	/* Nine more: "helseplan" is a word of 49 items, none rare. */
	for (i = 40; i < 49; i++)
		put_helseplan(ix, 100 + (int64_t)i, i, T0 + (int64_t)i * 60);
	n = helseplan(ix, T0, 64, ids, hits);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 105);
	dedup_index_free(ix);
}

/*
 * A full index keeps the newest items: the oldest leaves for each new
 * one, and what it held is no candidate however its links were made;
 * its terms' table is made anew as it fills.  An item older than the
 * ones held stays out.
 */
static void a_full_index_keeps_the_newest(void **state)
{
	struct dedup_index *ix = NULL;
	int64_t ids[64], terms[3];
	int hits[64];
	size_t i, n;

	(void)state;
	assert_int_equal(dedup_index_new(8, &ix), 0);
	for (i = 0; i < 3000; i++) {
		/* A word of every item, of every other, and of one alone. */
		terms[0] = 7;
		terms[1] = 1000 + (int64_t)(i % 2);
		terms[2] = 100000 + (int64_t)i;
		assert_int_equal(put(ix, 1 + (int64_t)i, T0, terms, 3), 0);
		assert_true(dedup_index_count(ix) <= 8);
	}
	assert_int_equal(dedup_index_count(ix), 8);
	n = dedup_index_candidates(ix, terms, 1, 0, T0, 7 * DAY, ids, hits, 64);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		assert_int_equal(ids[i], 3000 - (int64_t)i);
	terms[0] = 1000;
	n = dedup_index_candidates(ix, terms, 1, 0, T0, 7 * DAY, ids, hits, 64);
	assert_int_equal(n, 4);
	assert_int_equal(ids[3], 2993);
	terms[0] = 100000 + 2991;  /* left */
	terms[1] = 100000 + 2992;  /* the oldest held */
	n = dedup_index_candidates(ix, terms, 2, 0, T0, 7 * DAY, ids, hits, 64);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 2993);
	assert_int_equal(put(ix, 5, T0, terms, 1), 0);
	assert_int_equal(dedup_index_candidates(ix, terms, 1, 0, T0, 7 * DAY,
	                                        ids, hits, 64), 0);
	dedup_index_clear(ix);
	assert_int_equal(dedup_index_count(ix), 0);
	assert_int_equal(dedup_index_candidates(ix, terms, 2, 0, T0, 7 * DAY,
	                                        ids, hits, 64), 0);
	dedup_index_free(ix);
}

/* --- URL equivalence -------------------------------------------------- */

#define REGJ "https://www.regjeringen.no/*/id{N}/"

static void same_url_pattern_takes_the_id(void **state)
{
	const char *id = NULL;
	size_t n = 0;

	(void)state;
	assert_true(dedup_url_pattern_valid(REGJ, strlen(REGJ)));
	assert_false(dedup_url_pattern_valid("https://x.no/*/id/", 18));
	assert_false(dedup_url_pattern_valid("https://x.no/*{N}", 17));
	assert_false(dedup_url_pattern_valid("https://x.no/id{N}*", 19));
	assert_false(dedup_url_pattern_valid("https://x.no/id{N}9", 19));
	assert_true(dedup_url_pattern_valid("https://x.no/id{N}", 18));
	assert_true(dedup_url_match(REGJ, "https://www.regjeringen.no/nn/aktuelt/"
	                            "oppnemning-av-utval/id2923615/", &id, &n));
	assert_int_equal(n, 7);
	assert_memory_equal(id, "2923615", 7);
	assert_true(dedup_url_match(REGJ, "https://www.regjeringen.no/no/dokumenter/"
	                            "meld.-st.-5-20232024/id3015842/", &id, &n));
	assert_memory_equal(id, "3015842", 7);
	/* Not the site, no id, more after the id. */
	assert_false(dedup_url_match(REGJ, "https://www.example.no/no/x/id2923615/", &id, &n));
	assert_false(dedup_url_match(REGJ, "https://www.regjeringen.no/no/x/idabc/", &id, &n));
	assert_false(dedup_url_match(REGJ, "https://www.regjeringen.no/no/x/id29/?x=1", &id, &n));
	assert_false(dedup_url_match(REGJ, NULL, &id, &n));
}

/* The /no/ and /nn/ versions of one release are one item, however
 * unlike their words; another id is another item, and without the rule
 * the two versions stay apart. */
static void same_url_rule_joins_no_and_nn(void **state)
{
	struct fx *f = *state;
	char *pat[] = {REGJ};
	struct feed_entry e[6];
	int64_t id[6];
	int oc[1];

	e[0] = entry("no", "Oppnevning av utvalg som skal gjennomgå tannhelsefeltet",
	             "https://www.regjeringen.no/no/aktuelt/oppnevning/id2923615/",
	             NULL, T0);
	e[1] = entry("nn", "Nasjonalt utval ser på tannhelsa",
	             "https://www.regjeringen.no/nn/aktuelt/utval/id2923615/",
	             NULL, T0 + 3600);
	e[2] = entry("nn2", "Nasjonalt utval ser på tannhelsa",
	             "https://www.regjeringen.no/nn/aktuelt/utval/id2923616/",
	             NULL, T0 + 3600);
	e[3] = entry("no3", "Regjeringen legger fram ny plan for legevakt",
	             "https://www.regjeringen.no/no/aktuelt/legevakt/id2923700/",
	             NULL, T0);
	e[4] = entry("nn3", "Ny plan for legevakta i heile landet",
	             "https://www.regjeringen.no/nn/aktuelt/legevakt/id2923700/",
	             NULL, T0 + 3600);
	/* Without the rule: two items. */
	ingest(f, 0, &e[3], 1, NULL, &id[3]);
	ingest(f, 4, &e[4], 1, oc, &id[4]);
	assert_int_equal(oc[0], STORE_NEW);
	assert_int_not_equal(id[3], id[4]);
	/* With it: one, and another id is another item. */
	f->cfg.same_url = pat;
	f->cfg.nsame_url = 1;
	ingest(f, 0, &e[0], 1, NULL, &id[0]);
	ingest(f, 4, &e[1], 1, oc, &id[1]);
	assert_int_equal(oc[0], PIPELINE_MERGED);
	assert_int_equal(id[1], id[0]);
	ingest(f, 2, &e[2], 1, oc, &id[2]);
	assert_int_equal(oc[0], STORE_NEW);
	assert_int_not_equal(id[2], id[0]);
	f->cfg.same_url = NULL;
	f->cfg.nsame_url = 0;
}

/* --- labelled set ------------------------------------------------------- */

#define MAX_ROWS 512

struct row {
	char id[32], dup[16], nearg[16];
	char *title, *summary;
	int feed;
	int64_t item;
};

static char *dup_field(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	assert_non_null(p);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].title);
		free(rows[i].summary);
	}
	free(rows);
}

static size_t read_labelled(struct row *rows)
{
	FILE *fp = fopen("data/classify/labelled.tsv", "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	assert_non_null(fp);
	while ((len = getline(&line, &cap, fp)) > 0) {
		/* Zeroed: gcc -O3 cannot see that assert_int_equal(k, 7) ends
		 * the test before a short line's fields are read. */
		const char *fld[8] = {0};
		size_t fl[8] = {0}, k = 0;
		char *p = line;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		while (k < 7) {
			char *tab = strchr(p, '\t');
			fld[k] = p;
			fl[k] = tab ? (size_t)(tab - p) : strlen(p);
			k++;
			if (!tab)
				break;
			p = tab + 1;
		}
		assert_int_equal(k, 7);
		assert_true(n < MAX_ROWS);
		snprintf(rows[n].id, sizeof rows[n].id, "%.*s", (int)fl[0], fld[0]);
		snprintf(rows[n].dup, sizeof rows[n].dup, "%.*s", (int)fl[1], fld[1]);
		snprintf(rows[n].nearg, sizeof rows[n].nearg, "%.*s", (int)fl[2], fld[2]);
		rows[n].title = dup_field(fld[5], fl[5]);
		rows[n].summary = dup_field(fld[6], fl[6]);
		n++;
	}
	free(line);
	fclose(fp);
	return n;
}

static int grouped(const char *a, const char *b)
{
	return strcmp(a, "-") != 0 && strcmp(a, b) == 0;
}

/* Rows of one same-story or look-alike group come from different feeds
 * (a feed never duplicates itself, so that would prove nothing); the
 * others rotate over the feeds. */
static void assign_feeds(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int used[NFEEDS] = {0};

		for (size_t j = 0; j < i; j++)
			if (grouped(rows[i].dup, rows[j].dup) ||
			    grouped(rows[i].nearg, rows[j].nearg))
				used[rows[j].feed] = 1;
		rows[i].feed = (int)(i % NFEEDS);
		for (int k = 0; k < NFEEDS && used[rows[i].feed]; k++)
			rows[i].feed = (rows[i].feed + 1) % NFEEDS;
	}
}

static void labelled_set_precision_and_recall(void **state)
{
	struct fx *f = *state;
	struct row *rows = calloc(MAX_ROWS, sizeof *rows);
	size_t n, i, j, tp = 0, pred = 0, truth = 0;
	char link[128];
	double precision, recall;

	assert_non_null(rows);
	n = read_labelled(rows);
	assign_feeds(rows, n);
	for (i = 0; i < n; i++) {
		struct feed_entry e;

		snprintf(link, sizeof link, "https://%s.example.no/nyheter/%s",
		         names[rows[i].feed], rows[i].id);
		e = entry(rows[i].id, rows[i].title, link, rows[i].summary,
		          T0 + (int64_t)i * 60);
		ingest(f, (size_t)rows[i].feed, &e, 1, NULL, &rows[i].item);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			int p = rows[i].item == rows[j].item;
			int t = grouped(rows[i].dup, rows[j].dup);

			pred += (size_t)p;
			truth += (size_t)t;
			tp += (size_t)(p && t);
			if (p != t)
				print_message("%s: %s / %s (%s, %s)\n",
				              p ? "false merge" : "missed", rows[i].id,
				              rows[j].id, rows[i].title, rows[j].title);
		}
	precision = pred ? (double)tp / (double)pred : 1.0;
	recall = truth ? (double)tp / (double)truth : 1.0;
	print_message("labelled set: %zu items, %zu same-story pairs, %zu merged "
	              "pairs, %zu right: precision %.3f recall %.3f\n",
	              n, truth, pred, tp, precision, recall);
	assert_true(truth >= 38);
	assert_true(precision >= 0.95);
	assert_true(recall >= 0.90);
	free_rows(rows, n);
}

/* The headline's term is the last of an item's index terms, the same for
 * the same title_norm only, and no word's term. */
static void headline_term_is_the_last_index_term(void **state)
{
	struct fx *f = *state;
	struct dedup *d = NULL;
	static struct dedup_sig a, b;
	int64_t ta[DEDUP_MAX_INDEX], tb[DEDUP_MAX_INDEX];
	size_t na, nb, i;

	assert_int_equal(dedup_new(&f->cfg, &d), 0);
	dedup_sig_make(&a, "ny helseplan 5", "Helse Vest vedtok planen.");
	dedup_sig_lemmas(d, &a);
	na = dedup_sig_index(&a, ta);
	assert_true(na >= 3 && na <= DEDUP_MAX_INDEX);
	assert_true(a.title_term != 0);
	assert_int_equal(ta[na - 1], a.title_term);
	for (i = 0; i + 1 < na; i++)
		assert_true(ta[i] != a.title_term);
	dedup_sig_title(&b, "ny helseplan 5", 0);
	assert_int_equal(b.title_term, a.title_term);
	dedup_sig_make(&b, "ny helseplan 6", NULL);
	assert_true(b.title_term != a.title_term);
	dedup_sig_make(&b, "helseplan", NULL);
	dedup_sig_lemmas(d, &b);
	nb = dedup_sig_index(&b, tb);
	assert_int_equal(nb, 2);
	assert_true(tb[0] != tb[1]);
	/* No headline, no headline term. */
	dedup_sig_make(&b, "", "Helse Vest vedtok planen.");
	assert_int_equal(b.title_term, 0);
	dedup_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(title_norm_strips_labels_and_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(rolled_back_item_is_no_candidate, setup, teardown),
		cmocka_unit_test_setup_teardown(other_connection_writes_are_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(merged_source_feed_does_not_duplicate_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(old_periods_are_read_again, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_and_months_veto, setup, teardown),
		cmocka_unit_test_setup_teardown(written_numbers_are_one_number, setup, teardown),
		cmocka_unit_test_setup_teardown(spelling_variants_match_compounds_do_not, setup, teardown),
		cmocka_unit_test_setup_teardown(same_url_with_utm_from_two_feeds_is_one_item, setup, teardown),
		cmocka_unit_test_setup_teardown(guid_change_in_same_feed_is_one_item, setup, teardown),
		cmocka_unit_test_setup_teardown(republished_release_keeps_ministry_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(ministry_arriving_later_becomes_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(january_and_february_stay_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(outside_the_window_is_another_story, setup, teardown),
		cmocka_unit_test_setup_teardown(refetch_of_everything_is_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(labelled_set_precision_and_recall, setup, teardown),
		cmocka_unit_test(candidates_are_every_item_of_the_window_best_first),
		cmocka_unit_test_setup_teardown(headline_term_is_the_last_index_term, setup, teardown),
		cmocka_unit_test(same_url_pattern_takes_the_id),
		cmocka_unit_test_setup_teardown(a_new_pipeline_finds_the_stored_items, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_and_built_index_answer_alike, setup, teardown),
		cmocka_unit_test(a_full_index_keeps_the_newest),
		cmocka_unit_test_setup_teardown(the_site_owner_is_credited, setup, teardown),
		cmocka_unit_test_setup_teardown(same_url_rule_joins_no_and_nn, setup, teardown),
	};

	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
