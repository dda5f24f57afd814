/*
 * bench_ingest.c - NFEEDS feeds x NITEMS entries through the real pipeline
 * (pipeline_entry: dedup levels 1-3, store, fingerprint, classify) into
 * one database, one transaction per feed, as ingest.c runs it.  Prints
 * the rate of every 100,000 entries (of every tenth of a smaller run), so
 * that the first and the last show whether the cost per entry grows with
 * the database.  Only the ingest is timed: each feed's entries are
 * generated before its transaction begins.
 *
 *   bench_ingest DB [NFEEDS [NITEMS [FEEDS.CONF]]]
 *
 * FEEDS.CONF lends its categories and keyword rules (run.sh passes the
 * shipped feeds.conf), so that classification costs what it costs in
 * production.
 *
 * Entries: synthetic headlines of 5-8 words (one in three from a list of
 * common words of the sector, the others made-up compounds of Norwegian
 * syllables) and a 25-word summary from the common list, one every 60 s of published time (so the 7-day
 * dedup window holds about 20,000 items, ten times what the sector
 * publishes in a week).  Of every 100 entries, 4 republish a story of up
 * to 2,000 entries back under another feed ("Nyhet: " prefix, source
 * suffix, first summary word dropped, new URL) and 2 carry an earlier
 * story's URL with utm_* parameters: both must merge.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/config.h"
#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "helsefeed/ingest.h"
#include "helsefeed/store.h"

#define T0 1577869200  /* 2020-01-01T09:00:00Z */
#define STEP 60        /* published seconds between entries */
#define REPORT 100000    /* entries per line of a run of a million or more */

static const char *const words[] = {
	"sykehus", "sjukehus", "kommune", "kommunar", "helse", "omsorg",
	"ventetid", "ventetider", "pasient", "pasientar", "pasienter", "lege",
	"fastlege", "legevakt", "ambulanse", "akuttmottak", "psykisk",
	"helsevern", "rus", "barn", "unge", "eldre", "sykehjem", "sjukeheim",
	"hjemmetjeneste", "heimeteneste", "tilskudd", "tilskot", "budsjett",
	"millioner", "milliarder", "regjeringen", "regjeringa", "statsråd",
	"minister", "direktorat", "tilsyn", "rapport", "veileder", "rettleiar",
	"forskrift", "lov", "høring", "endring", "endringar", "vaksine",
	"influensa", "korona", "covid", "smitte", "tiltak", "råd", "strategi",
	"plan", "reform", "finansiering", "innsatsstyrt", "digital", "journal",
	"e-helse", "kjernejournal", "legemiddel", "apotek", "antibiotika",
	"mangel", "beredskap", "pandemi", "kreft", "hjerte", "diabetes",
	"demens", "rehabilitering", "habilitering", "fysioterapi", "tannhelse",
	"jordmor", "fødeavdeling", "fødetilbud", "nyfødt", "helsestasjon",
	"skolehelsetjeneste", "helsesykepleier", "sykepleier", "spesialist",
	"utdanning", "forskning", "innovasjon", "kvalitet", "pasientsikkerhet",
	"avvik", "klage", "erstatning", "pasientreiser", "drosje", "fritt",
	"behandlingsvalg", "nasjonal", "regional", "lokal", "Nord-Norge",
	"Vestlandet", "Trøndelag", "Innlandet", "Agder", "Oslo", "Bergen",
	"Tromsø", "Stavanger", "Bodø", "Ålesund", "Molde", "Kristiansund",
	"Haukeland", "Ahus", "Rikshospitalet", "Ullevål", "St. Olavs", "UNN",
	"Helse Nord", "Helse Vest", "Helse Midt", "Helse Sør-Øst", "styre",
	"direktør", "leder", "ansatte", "turnus", "bemanning", "overtid",
	"streik", "lønn", "avtale", "samhandling", "utskrivingsklare",
	"korttidsplasser", "døgnplasser", "poliklinikk", "operasjon", "kø",
	"frist", "brudd", "rettighet", "screening", "tarmkreft", "brystkreft",
	"livmorhals", "HPV", "mpox", "tuberkulose", "luftveisinfeksjoner",
	"overvåking", "statistikk", "tall", "kvartal", "tertial", "årsrapport",
	"evaluering", "utredning", "melding", "stortinget", "vedtak",
	"åpner", "opnar", "stenger", "flytter", "styrker", "kutter", "øker",
	"reduserer", "lanserer", "foreslår", "godkjenner", "avslutter",
};
#define NWORDS (sizeof words / sizeof words[0])

/* Syllables of made-up compounds: news vocabulary is large and skewed
 * (Zipf); a headline mixes a few common words with names and compounds
 * that are rare.  40^3 = 64,000 compounds stand for the rare ones. */
static const char *const syll[] = {
	"hel", "se", "sjuk", "hus", "kom", "mu", "ne", "om", "sorg", "ven",
	"te", "tid", "pa", "sient", "le", "ge", "vakt", "am", "bu", "lan",
	"ak", "utt", "mot", "tak", "til", "skudd", "bud", "sjett", "fyl",
	"ke", "nord", "vest", "sør", "øst", "lands", "dal", "fjord", "by",
	"berg", "vik",
};
#define NSYLL (sizeof syll / sizeof syll[0])

static const char *const decor[] = {
	"Helsedirektoratet", "FHI", "Helsetilsynet", "regjeringen.no",
};

/* splitmix64: the story of index i is a pure function of i. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Headline and summary of story i. */
static void story(uint64_t i, int skip_first, char *title, size_t tn,
                  char *summary, size_t sn)
{
	uint64_t r = mix(i);
	size_t n = 5 + r % 4, k, len = 0;

	title[0] = summary[0] = '\0';
	/* One word in three common, the others rare compounds. */
	for (k = 0; k < n && len < tn; k++) {
		r = mix(r);
		if (r % 3 == 0)
			len += (size_t)snprintf(title + len, tn - len, "%s%s",
			                        k ? " " : "", words[(r >> 8) % NWORDS]);
		else
			len += (size_t)snprintf(title + len, tn - len, "%s%s%s%s",
			                        k ? " " : "", syll[(r >> 8) % NSYLL],
			                        syll[(r >> 16) % NSYLL],
			                        syll[(r >> 24) % NSYLL]);
	}
	len = 0;
	for (k = (size_t)skip_first; k < 25 && len < sn; k++) {
		r = mix(r ^ k);
		len += (size_t)snprintf(summary + len, sn - len, "%s%s", len ? " " : "",
		                        words[r % NWORDS]);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One generated entry and the text it points into. */
struct gen {
	struct feed_entry e;
	char key[32], link[128], title[256], summary[1024], deco[300];
};

/* Entry j of feed f (global index i): the story, republished or not. */
static void generate(struct gen *g, size_t f, uint64_t i)
{
	uint64_t src = i, r = mix(i ^ 0xabcdef);
	int kind = (int)(r % 100);

	/* 4 % republished, 2 % same URL with tracking. */
	if (i > 2000 && kind < 6)
		src = i - 1 - (mix(r) % 2000);
	story(src, kind < 4 && src != i, g->title, sizeof g->title,
	      g->summary, sizeof g->summary);
	memset(&g->e, 0, sizeof g->e);
	snprintf(g->key, sizeof g->key, "urn:item:%" PRIu64, i);
	if (src != i && kind >= 4)
		snprintf(g->link, sizeof g->link,
		         "https://example.no/story/%" PRIu64 "?utm_source=f%zu", src, f);
	else
		snprintf(g->link, sizeof g->link, "https://example.no/story/%" PRIu64, i);
	if (src != i && kind < 4) {
		snprintf(g->deco, sizeof g->deco, "Nyhet: %s – %s", g->title,
		         decor[r % 4]);
		g->e.title = g->deco;
	} else {
		g->e.title = g->title;
	}
	g->e.key = g->key;
	g->e.id = g->key;
	g->e.link = g->link;
	g->e.summary = g->summary;
	g->e.published = T0 + (int64_t)i * STEP;
	g->e.updated = HF_NOTIME;
	g->e.raw_hash = norm_fnv1a(norm_fnv1a(NORM_FNV_INIT, g->key, strlen(g->key)),
	                           g->e.title, strlen(g->e.title));
}

int main(int argc, char **argv)
{
	static const enum feed_kind kinds[] = {
		FEED_KIND_MINISTRY, FEED_KIND_DIRECTORATE, FEED_KIND_HOSPITAL,
		FEED_KIND_MUNICIPAL, FEED_KIND_OTHER,
	};
	struct config cfg, *rules = NULL;
	struct config_feed *feeds = NULL;
	char (*names)[24] = NULL;
	struct gen *batch = NULL;
	struct store *st = NULL;
	struct pipeline *p = NULL;
	struct buf err = BUF_INIT;
	size_t nfeeds = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	size_t nitems = argc > 3 ? strtoul(argv[3], NULL, 10) : 50;
	size_t f, j, done = 0, counts[PIPELINE_OUTCOMES] = {0}, cats = 0, step;
	double busy = 0, busy_last = 0, first_rate = 0, last_rate = 0;
	int rc = 1;

	if (argc < 2 || !nfeeds || !nitems) {
		fprintf(stderr, "usage: %s DB [NFEEDS [NITEMS [FEEDS.CONF]]]\n",
		        argv[0]);
		return 2;
	}
	log_set_level(LOG_LVL_WARN);
	memset(&cfg, 0, sizeof cfg);
	/* The categories and rules of a real configuration, when given: the
	 * keyword rules run on every new item. */
	if (argc > 4 && config_load(argv[4], &rules, &err)) {
		fprintf(stderr, "%s", buf_str(&err));
		goto out;
	}
	feeds = calloc(nfeeds, sizeof *feeds);
	names = calloc(nfeeds, sizeof *names);
	batch = calloc(nitems, sizeof *batch);
	if (!feeds || !names || !batch)
		goto out;
	for (f = 0; f < nfeeds; f++) {
		snprintf(names[f], sizeof names[f], "feed%05zu", f);
		feeds[f].name = names[f];
		feeds[f].url = "https://example.no/rss";
		feeds[f].title = names[f];
		feeds[f].kind = kinds[f % 5];
		feeds[f].authority = -1;
		feeds[f].interval = 900;
	}
	cfg.feeds = feeds;
	cfg.nfeeds = nfeeds;
	cfg.dedup_window = 7 * 24 * 3600;
	if (rules) {
		cfg.categories = rules->categories;
		cfg.ncategories = rules->ncategories;
		cats = rules->ncategories;
	}
	if (store_open(argv[1], &st, &err) || store_sync_feeds(st, &cfg) ||
	    pipeline_new(&cfg, st, &p, &err)) {
		fprintf(stderr, "%s", buf_str(&err));
		goto out;
	}
	step = nfeeds * nitems >= 10 * REPORT ? REPORT : nfeeds * nitems / 10;
	if (!step)
		step = 1;
	printf("%zu feeds x %zu entries, %zu categories with keyword rules\n",
	       nfeeds, nitems, cats);
	for (f = 0; f < nfeeds; f++) {
		struct store_ingest *in = NULL;
		struct store_fetch_result res;
		double t0;

		/* The generator is not what is measured: a feed's entries
		 * are made before its ingest starts the clock. */
		for (j = 0; j < nitems; j++)
			generate(&batch[j], f, f * nitems + j);
		memset(&res, 0, sizeof res);
		res.started = T0 + (int64_t)((f + 1) * nitems) * STEP;
		res.http_status = 200;
		t0 = now_s();
		if (store_ingest_begin(st, names[f], res.started, &in))
			goto out;
		for (j = 0; j < nitems; j++) {
			int oc;

			if (pipeline_entry(p, in, &feeds[f], &batch[j].e, &oc)) {
				store_ingest_abort(in);
				goto out;
			}
			counts[oc]++;
		}
		if (store_ingest_commit(in, &res))
			goto out;
		busy += now_s() - t0;
		for (j = 0; j < nitems; j++)
			if (++done % step == 0) {
				double rate = (double)step / (busy - busy_last);

				if (done == step)
					first_rate = rate;
				last_rate = rate;
				printf("%8zu entries  %8.0f entries/s\n", done, rate);
				fflush(stdout);
				busy_last = busy;
			}
	}
	printf("total: %zu entries in %.1f s of ingest = %.0f entries/s\n", done,
	       busy, (double)done / busy);
	printf("new %zu, merged %zu, updated %zu, unchanged %zu\n",
	       counts[STORE_NEW], counts[PIPELINE_MERGED],
	       counts[STORE_UPDATED], counts[STORE_UNCHANGED]);
	if (first_rate > 0)
		printf("first %zu %.0f/s, last %zu %.0f/s, last/first %.2f\n",
		       step, first_rate, step, last_rate, last_rate / first_rate);
	rc = 0;
out:
	pipeline_free(p);
	store_close(st);
	config_free(rules);
	buf_free(&err);
	free(batch);
	free(feeds);
	free(names);
	return rc;
}
