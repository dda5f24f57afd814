/* test_classify.c - keyword rules: each feature of the rule language, the
 * compile errors; the gazetteer (../data/gazetteer.conf): inflections and
 * compounds in bokmål and nynorsk, false friends, weights and threshold in
 * explain, the admin's terms, match and exclude, scores, errors with
 * file:line; and precision/recall of the shipped configuration
 * (data/classify/rules.conf) on the labelled headlines
 * (data/classify/labelled.tsv).  Runs with tests/ as working directory. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helsefeed/classify.h"
#include "helsefeed/config.h"

#define RULES "data/classify/rules.conf"
#define LABELLED "data/classify/labelled.tsv"
#define MIN_PRECISION 0.95
#define MIN_RECALL 0.90

/* --- one category built in memory ------------------------------------------- */

static struct classify *compile1(const char *match, const char *exclude)
{
	struct config_category cat = {0};
	struct config cfg = {0};
	struct buf err = BUF_INIT;
	struct classify *c = NULL;
	int rc;

	cat.name = (char *)"t";
	cat.match = (char *)match;
	cat.exclude = (char *)exclude;
	cfg.categories = &cat;
	cfg.ncategories = 1;
	rc = classify_compile(&cfg, &c, &err);
	if (rc)
		print_message("compile: %s", buf_str(&err));
	assert_int_equal(rc, 0);
	assert_non_null(c);
	assert_int_equal(classify_count(c), 1);
	buf_free(&err);
	return c;
}

/* Does the item (title, summary) hit the one category? */
static int hit_ts(const char *match, const char *exclude, const char *title,
                  const char *summary)
{
	struct classify *c = compile1(match, exclude);
	struct classify_input in = {0};
	unsigned char hit = 0;

	in.title = title;
	in.summary = summary;
	assert_int_equal(classify_item(c, &in, &hit, NULL), 0);
	classify_free(c);
	return hit;
}

static int hit(const char *match, const char *exclude, const char *title)
{
	return hit_ts(match, exclude, title, NULL);
}

/* The explain text of one item against one category. */
static char *explain_of(const char *match, const char *exclude, const struct classify_input *in)
{
	struct classify *c = compile1(match, exclude);
	struct buf ex = BUF_INIT;
	unsigned char h = 0;
	char *s;

	assert_int_equal(classify_item(c, in, &h, &ex), 0);
	classify_free(c);
	s = buf_detach(&ex);
	assert_non_null(s);
	return s;
}

/* --- rule features ------------------------------------------------------------ */

static void test_whole_word(void **state)
{
	(void)state;
	assert_true(hit("sykehus", NULL, "Nytt sykehus i Drammen"));
	assert_true(hit("sykehus", NULL, "Sykehus"));
	assert_false(hit("sykehus", NULL, "Sykehuset i Drammen"));
	assert_false(hit("sykehus", NULL, "Nytt lokalsykehus"));
	assert_false(hit("hf", NULL, "Helse Bergen, HFK"));
	assert_true(hit("hf", NULL, "Helse Bergen HF."));
}

static void test_prefix(void **state)
{
	(void)state;
	assert_true(hit("sykehus*", NULL, "Sykehusene får mer penger"));
	assert_true(hit("sykehus*", NULL, "Nytt sykehus"));
	assert_false(hit("sykehus*", NULL, "Lokalsykehusene består"));
	assert_false(hit("sykehus*", NULL, "Syke hus"));
}

static void test_infix(void **state)
{
	(void)state;
	assert_true(hit("*sykehus*", NULL, "Lokalsykehusene består"));
	assert_true(hit("*sjukehus*", NULL, "Universitetssjukehuset Nord-Noreg"));
	assert_true(hit("*vaksin*", NULL, "Influensavaksinen er klar"));
	assert_true(hit("*vaksin*", NULL, "Vaksine"));
	assert_false(hit("*vaksin*", NULL, "Vaks in"));
}

static void test_suffix(void **state)
{
	(void)state;
	assert_true(hit("*sykehus", NULL, "Lokalsykehus i nord"));
	assert_true(hit("*sykehus", NULL, "Sykehus"));
	assert_false(hit("*sykehus", NULL, "Lokalsykehuset i nord"));
}

static void test_hyphenated_words(void **state)
{
	(void)state;
	/* Whole word first, then each part. */
	assert_true(hit("covid*", NULL, "Covid-19-forskriften endres"));
	assert_true(hit("covid-19*", NULL, "Covid-19-forskriften endres"));
	assert_true(hit("*forskrift*", NULL, "Covid-19-forskriften endres"));
	assert_true(hit("forskriften", NULL, "Covid-19-forskriften endres"));
	assert_false(hit("covid-19", NULL, "Covid-19-forskriften endres"));
	assert_true(hit("covid-19", NULL, "Covid-19: nye tall"));
	assert_true(hit("sars-cov-2", NULL, "Testing for SARS-CoV-2 i skolen"));
	assert_false(hit("sars-cov-2", NULL, "SARS CoV 2"));
	/* Edge hyphens belong to no word: "helse- og omsorgstjenester". */
	assert_true(hit("helse", NULL, "Kommunale helse- og omsorgstjenester"));
	assert_true(hit("omsorg*", NULL, "Kommunale helse- og -omsorgstjenester"));
	/* An en dash separates words, U+2011 joins them. */
	assert_true(hit("sykehus", NULL, "Sykehus–kommune"));
	assert_true(hit("nord-norge", NULL, "Sjukehus i Nord\xe2\x80\x91Norge"));
}

static void test_conditional_terms(void **state)
{
	const char *rule = "kommun*[helse* omsorg* sykehjem* sjukeheim*]";
	struct classify *c;
	struct classify_input in = {0};
	const char *cats[] = {"Omsorg"};
	unsigned char h = 0;

	(void)state;
	assert_false(hit(rule, NULL, "Kommunen bygger ny vei"));
	assert_true(hit(rule, NULL, "Kommunen bygger nytt sykehjem"));
	assert_true(hit(rule, NULL, "Sjukeheimar i kommunane"));
	/* The partner may stand in another field, before or after the term. */
	assert_true(hit_ts(rule, NULL, "Nye helsetjenester", "Kommunene får ansvaret."));
	assert_true(hit_ts(rule, NULL, "Kommunene får ansvaret", "<p>Det gjelder omsorg.</p>"));
	assert_false(hit_ts(rule, NULL, "Kommunene får ansvaret", "<p>Det gjelder veier.</p>"));
	/* A partner alone is not enough. */
	assert_false(hit(rule, NULL, "Nytt sykehjem i Bergen"));
	/* The item's own category texts are partners too. */
	c = compile1(rule, NULL);
	in.title = "Kommunene får ansvaret";
	in.categories = cats;
	in.ncategories = 1;
	assert_int_equal(classify_item(c, &in, &h, NULL), 0);
	assert_int_equal(h, 1);
	classify_free(c);
	/* Several conditional terms and plain ones side by side. */
	assert_true(hit("sykehus* vaksin*[covid* korona*] kommun*[helse*]", NULL,
	                "Vaksine mot covid-19"));
	assert_false(hit("sykehus* vaksin*[covid* korona*] kommun*[helse*]", NULL,
	                 "Influensavaksine og vaksinering i kommunen"));
}

static void test_exclude(void **state)
{
	(void)state;
	assert_true(hit("korona*", NULL, "Koronar hjertesykdom"));
	assert_false(hit("korona*", "koronar*", "Koronar hjertesykdom"));
	assert_false(hit("korona*", "koronar*", "Koronare hendelser"));
	assert_true(hit("korona*", "koronar*", "Koronar hjertesykdom og koronaviruset"));
	/* Excluded words are no partners either. */
	assert_false(hit("vaksin*[korona*]", "koronar*", "Vaksine og koronar sykdom"));
	assert_true(hit("vaksin*[korona*]", "koronar*", "Vaksine mot korona"));
	/* A whole hyphenated word excluded drops its parts; an excluded part
	 * drops only itself. */
	assert_false(hit("*sykdom*", "koronar*", "Koronar-sykdom"));
	assert_true(hit("*sykdom*", "koronar", "Hjerte-koronar-sykdom"));
	assert_false(hit("koronar", "koronar", "Hjerte-koronar-sykdom"));
	/* Exclude with all pattern kinds. */
	assert_false(hit("kommun*", "*fylkeskommun*", "Fylkeskommunen vedtok budsjett"));
	assert_false(hit("kommun*", "kommuneval*", "Kommunevalet 2023"));
	assert_true(hit("kommun*", "kommuneval*", "Kommunevalet 2023 og kommunene"));
	assert_false(hit("*sykehus*", "*sykehusparkering", "Ny sykehusparkering"));
	assert_false(hit("*sykehus*", "sykehus", "Sykehus"));
}

static void test_case_folding_norwegian(void **state)
{
	(void)state;
	assert_true(hit("sjukeheim*", NULL, "SJUKEHEIMANE I ÅLESUND"));
	assert_true(hit("ålesund", NULL, "Sjukehuset i ÅLESUND"));
	assert_true(hit("ÅLESUND", NULL, "sjukehuset i ålesund"));
	assert_true(hit("*føretak*", NULL, "HELSEFØRETAKA"));
	assert_true(hit("ærlig*", NULL, "Ærlighet varer lengst"));
	assert_true(hit("*øy*", NULL, "ØYEBLIKKELIG HJELP"));
	assert_false(hit("øre", NULL, "ore"));
	assert_false(hit("å", NULL, "a"));
	/* A decomposed term (a + COMBINING RING ABOVE) is composed first. */
	assert_true(hit("a\xcc\x8alesund", NULL, "Ålesund"));
	/* Soft hyphens hide inside words of web text. */
	assert_true(hit("sykehus", NULL, "Syke\xc2\xadhus"));
}

static void test_bokmal_and_nynorsk(void **state)
{
	const char *hosp = "*sykehus* *sjukehus* *helseforetak* *helseføretak*";
	const char *muni = "*sykehjem* *sjukeheim* *hjemmetjenest* *heimetenest*";

	(void)state;
	assert_true(hit(hosp, NULL, "Sykehusene i Helse Vest"));
	assert_true(hit(hosp, NULL, "Sjukehusa i Helse Vest"));
	assert_true(hit(hosp, NULL, "Helseforetakene"));
	assert_true(hit(hosp, NULL, "Helseføretaka"));
	assert_true(hit(muni, NULL, "Sykehjemmene"));
	assert_true(hit(muni, NULL, "Sjukeheimane"));
	assert_true(hit(muni, NULL, "Hjemmetjenesten"));
	assert_true(hit(muni, NULL, "Heimetenesta"));
	assert_false(hit(muni, NULL, "Heimen og hjemmet"));
}

static void test_html_fields(void **state)
{
	struct classify *c;
	struct classify_input in = {0};
	unsigned char h = 0;

	(void)state;
	/* Tags separate words and attributes are not text. */
	assert_false(hit_ts("korona*", NULL, NULL,
	                    "<a href=\"https://x.no/korona\" title='korona'>lenke</a>"));
	assert_true(hit_ts("korona*", NULL, NULL, "<p class=\"a>b\">Korona</p>"));
	assert_false(hit_ts("sykehus", NULL, NULL, "<p>Syke<b>hus</b></p>"));
	/* Entities are decoded, and an entity is never a word. */
	assert_false(hit_ts("amp", NULL, NULL, "Helse &amp; omsorg"));
	assert_true(hit_ts("amp", NULL, "Helse &amp; omsorg", NULL));
	assert_true(hit_ts("ålesund", NULL, NULL, "&#197;lesund og &#xC5;lesund"));
	assert_true(hit_ts("quot", NULL, NULL, "&quot;quot&quot;"));
	assert_true(hit_ts("sykehus", NULL, NULL, "Sykehus&#39;"));
	assert_true(hit_ts("sykehus", NULL, NULL, "&lt;Sykehus&gt;"));
	assert_true(hit_ts("sykehus", NULL, NULL, "&bogus;Sykehus & co &"));
	/* Content is read like the summary. */
	c = compile1("*legevakt*", NULL);
	in.content = "<div><p>Ny <em>legevakt</em> i Bergen.</p></div>";
	assert_int_equal(classify_item(c, &in, &h, NULL), 0);
	assert_int_equal(h, 1);
	classify_free(c);
}

static void test_long_words_are_skipped(void **state)
{
	char text[600];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++)
		text[i] = 'x';
	memcpy(text + 300, "korona", 6);
	memcpy(text + 306, " sykehus", 9);
	assert_false(hit("*korona*", NULL, text));
	assert_true(hit("sykehus", NULL, text));
	/* A word of exactly CLASSIFY_MAX_WORD bytes is still tested, one
	 * more is not; multi-byte letters count in bytes. */
	memset(text, 'x', sizeof(text));
	memcpy(text + CLASSIFY_MAX_WORD - 6, "korona", 7);
	assert_true(hit("*korona", NULL, text));
	memcpy(text + CLASSIFY_MAX_WORD - 5, "korona", 7);
	assert_false(hit("*korona", NULL, text));
	memset(text, 'x', sizeof(text));
	memcpy(text + CLASSIFY_MAX_WORD - 7, "\xc3\xb8korona", 9);
	assert_false(hit("*korona", NULL, text));
	memcpy(text + CLASSIFY_MAX_WORD - 8, "\xc3\xb8korona", 9);
	assert_true(hit("*\xc3\xb8korona", NULL, text));
	/* Upper-case letters count like their folded forms. */
	memset(text, 'X', sizeof(text));
	memcpy(text + CLASSIFY_MAX_WORD - 6, "KORONA", 7);
	assert_true(hit("*korona", NULL, text));
	memcpy(text + CLASSIFY_MAX_WORD - 5, "KORONA", 7);
	assert_false(hit("*korona", NULL, text));
}

static void test_hits_left_alone_when_no_match(void **state)
{
	struct config_category cats[3] = {{0}};
	struct config cfg = {0};
	struct classify *c = NULL;
	struct classify_input in = {0};
	unsigned char hits[3] = {1, 0, 0};

	(void)state;
	cats[0].name = (char *)"feedlevel";
	cats[1].name = (char *)"covid";
	cats[1].match = (char *)"covid*";
	cats[2].name = (char *)"empty";
	cats[2].match = (char *)" , ";
	cfg.categories = cats;
	cfg.ncategories = 3;
	assert_int_equal(classify_compile(&cfg, &c, NULL), 0);
	assert_int_equal(classify_count(c), 3);
	in.title = "Ingen treff her";
	assert_int_equal(classify_item(c, &in, hits, NULL), 0);
	assert_memory_equal(hits, ((unsigned char[]){1, 0, 0}), 3);
	in.title = "Covid-19";
	assert_int_equal(classify_item(c, &in, hits, NULL), 0);
	assert_memory_equal(hits, ((unsigned char[]){1, 1, 0}), 3);
	classify_free(c);
}

static void test_explain_text(void **state)
{
	struct classify_input in = {0};
	const char *cats[] = {"Helse", "Omsorgstenester"};
	char *s;

	(void)state;
	in.title = "Kommunar får tilskot";
	in.summary = "<p>Tilskotet går til <b>Koronavaksine</b> og covid-19-testing.</p>";
	s = explain_of("korona* *covid*", "koronar*", &in);
	assert_string_equal(s, "t: korona* \xe2\x86\x90 'Koronavaksine' (summary); "
	                       "*covid* \xe2\x86\x90 'covid-19-testing' (summary)\n");
	free(s);

	in.categories = cats;
	in.ncategories = 2;
	s = explain_of("kommun*[helse* *omsorg*]", NULL, &in);
	assert_string_equal(s, "t: kommun* \xe2\x86\x90 'Kommunar' (title) with "
	                       "helse* \xe2\x86\x90 'Helse' (category)\n");
	free(s);

	/* The first partner in rule order is named, the first word of each. */
	in.summary = "Helsetenester, helse";
	s = explain_of("kommun*[helse *omsorg*]", NULL, &in);
	assert_string_equal(s, "t: kommun* \xe2\x86\x90 'Kommunar' (title) with "
	                       "helse \xe2\x86\x90 'helse' (summary)\n");
	free(s);

	/* Nothing matched: nothing explained. */
	in.title = "Veier";
	in.summary = NULL;
	in.ncategories = 0;
	s = explain_of("kommun*[helse]", NULL, &in);
	assert_string_equal(s, "");
	free(s);
}

/* --- compile errors ------------------------------------------------------------ */

static void expect_error(const char *match, const char *exclude, const char *msg)
{
	struct config_category cat = {0};
	struct config cfg = {0};
	struct buf err = BUF_INIT;
	struct classify *c = (struct classify *)&cat;   /* must stay untouched */

	cat.name = (char *)"covid";
	cat.match = (char *)match;
	cat.exclude = (char *)exclude;
	cfg.categories = &cat;
	cfg.ncategories = 1;
	assert_int_equal(classify_compile(&cfg, &c, &err), HF_ECONFIG);
	assert_ptr_equal(c, (struct classify *)&cat);
	assert_string_equal(buf_str(&err), msg);
	buf_free(&err);
}

static void test_compile_errors(void **state)
{
	(void)state;
	expect_error("korona* *", NULL, "category covid: match: empty term\n");
	expect_error("**", NULL, "category covid: match: empty term\n");
	expect_error("covid* ko*rona", NULL,
	             "category covid: match: '*' inside term 'ko*rona'\n");
	expect_error("covid", "ko*rona", "category covid: exclude: '*' inside term 'ko*rona'\n");
	expect_error("covid kor.ona", NULL,
	             "category covid: match: not a letter, digit or '-' in term 'kor.ona'\n");
	expect_error("-covid", NULL,
	             "category covid: match: '-' at the edge of a term never matches '-covid'\n");
	expect_error("vaksin*[covid", NULL, "category covid: match: '[' without ']'\n");
	expect_error("vaksin*[covid [korona]]", NULL, "category covid: match: '[' inside '[...]'\n");
	expect_error("[covid]", NULL, "category covid: match: '[' without a term before it\n");
	expect_error("covid]", NULL, "category covid: match: ']' without '['\n");
	expect_error("vaksin*[ , ]", NULL, "category covid: match: empty '[...]' after term\n");
	expect_error("covid", "koronar*[hjerte*]",
	             "category covid: exclude: no '[...]' conditions in exclude 'koronar*'\n");
	expect_error("covid \xff", NULL, "category covid: match: invalid UTF-8 in term '\xff'\n");
	/* Every bad term is reported, not only the first. */
	expect_error("* ko*rona vaksin*[*]", "-x",
	             "category covid: match: empty term\n"
	             "category covid: match: '*' inside term 'ko*rona'\n"
	             "category covid: match: empty term\n"
	             "category covid: exclude: '-' at the edge of a term never matches '-x'\n");
	/* Hyphens next to a star are fine. */
	assert_true(hit("covid-*", NULL, "Covid-19"));
	assert_true(hit("*-19", NULL, "Covid-19"));
}

static void test_too_many_terms(void **state)
{
	struct config_category cat = {0};
	struct config cfg = {0};
	struct buf rules = BUF_INIT, err = BUF_INIT;
	struct classify *c = NULL;
	int i;

	(void)state;
	for (i = 0; i < 600; i++)
		assert_int_equal(buf_printf(&rules, "term%d ", i), 0);
	cat.name = (char *)"big";
	cat.match = rules.data;
	cfg.categories = &cat;
	cfg.ncategories = 1;
	assert_int_equal(classify_compile(&cfg, &c, &err), HF_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(buf_str(&err), "category big: match: more terms than the limit"));
	buf_free(&rules);
	buf_free(&err);
}

/* --- the shipped rules on the labelled set --------------------------------------- */


/* --- the gazetteer ---------------------------------------------------------------- */

#define GAZETTEER "../data/gazetteer.conf"

/* A configuration of hospitals, municipal and covid (in that order) with
 * `extra` lines after [helsefeed] and `cats` appended to the category
 * sections (each NULL or "key = value\n" lines for that category). */
static struct classify *gcompile(const char *extra, const char *hosp, const char *muni,
                                 const char *covid, struct config **cfgp)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct config *cfg = NULL;
	struct classify *c = NULL;

	assert_int_equal(buf_printf(&text, "[helsefeed]\nbase_url = https://example.no/\n%s"
	                            "[category hospitals]\n%s[category municipal]\n%s"
	                            "[category covid]\n%s[feed x]\nurl = https://example.no/f\n",
	                            extra ? extra : "gazetteer = " GAZETTEER "\n",
	                            hosp ? hosp : "", muni ? muni : "", covid ? covid : ""), 0);
	if (config_load_mem("g.conf", text.data, text.len, &cfg, &err))
		fail_msg("config: %s", buf_str(&err));
	if (classify_compile(cfg, &c, &err))
		fail_msg("compile: %s", buf_str(&err));
	buf_free(&text);
	buf_free(&err);
	*cfgp = cfg;
	return c;
}

enum { HOSP = 1, MUNI = 2, COVID = 4 };

/* The categories of one item as a bit set; explain into ex when given. */
static int cats_of(const struct classify *c, const char *title, const char *summary,
                   double *scores, struct buf *ex)
{
	struct classify_input in = {0};
	unsigned char h[3] = {0};

	in.title = title;
	in.summary = summary;
	assert_int_equal(classify_item_scores(c, &in, h, scores, ex), 0);
	return h[0] * HOSP | h[1] * MUNI | h[2] * COVID;
}

static struct classify *shipped(struct config **cfg)
{
	return gcompile(NULL, NULL, NULL, NULL, cfg);
}

static void test_gazetteer_inflections_reach_the_lemma(void **state)
{
	struct config *cfg;
	struct classify *c = shipped(&cfg);

	(void)state;
	/* Bokmål and nynorsk inflections through hunspell nb/nn. */
	assert_int_equal(cats_of(c, "Sykehuset får nytt bygg", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Sjukehusa får meir pengar", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Fødeavdelinga stengjer i sommar", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Helseføretaka legg fram planar", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Sjukeheimen manglar tilsette", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Sykehjemmene får besøksvenner", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Heimetenestene er pressa", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Fastlegen har fått nye oppgåver", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Kommunen bygger omsorgsboliger", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Karantenen blir kortare", NULL, NULL, NULL), 0);
	assert_int_equal(cats_of(c, "Karantenen blir kortare", "Smittevernet i kommunane",
	                         NULL, NULL), COVID);
	assert_int_equal(cats_of(c, "Koronasituasjonen i Oslo", NULL, NULL, NULL), COVID);
	classify_free(c);
	config_free(cfg);
}

static void test_gazetteer_compounds_reach_their_parts(void **state)
{
	struct config *cfg;
	struct classify *c = shipped(&cfg);
	struct buf ex = BUF_INIT;

	(void)state;
	assert_int_equal(cats_of(c, "Akuttmottaket er fullt", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Ny legevaktsentral i Bodø", NULL, NULL, NULL), MUNI);
	/* A term, then a word: korona + vaksine, sykehus + direktør. */
	assert_int_equal(cats_of(c, "Sykehusdirektøren går av", NULL, NULL, &ex), HOSP);
	assert_non_null(strstr(buf_str(&ex), "sykehus +1.000 \xe2\x86\x90 'Sykehusdirektøren' "
	                                     "(title, compound part;"));
	assert_int_equal(cats_of(c, "Koronatestinga held fram", NULL, NULL, NULL), COVID);
	/* A word, then a form of a term: lokal + sjukehusa. */
	assert_int_equal(cats_of(c, "Dei små lokalsjukehusa", NULL, NULL, NULL), HOSP);
	/* A joining s: sykehjem + s + plassene. */
	assert_int_equal(cats_of(c, "Sykehjemsplassene fylles opp", NULL, NULL, NULL), MUNI);
	/* Parts of a hyphenated word are words in a row. */
	assert_int_equal(cats_of(c, "Covid-19-vaksinen er her", NULL, NULL, NULL), COVID);
	assert_int_equal(cats_of(c, "SUS-direktøren går av", NULL, NULL, NULL), HOSP);
	buf_free(&ex);
	classify_free(c);
	config_free(cfg);
}

static void test_gazetteer_names_and_short_forms(void **state)
{
	static const char *const hospitals[] = {
		"Styret i Helse Vest vedtok budsjettet", "Helse Sør-Øst kutter",
		"Helse Midt-Norge RHF", "Helse Fonnas nye bygg", "UNN byggjer nytt",
		"Ullevål får ny sengepost", "Ahus vokser", "Haukeland har fått ny direktør",
		"St. Olavs hospital", "OUS flytter", "Nordlandssykehuset i Bodø",
		"Sykehuset Innlandet samler tilbudet", "Vestre Viken åpner nye Drammen",
		"Lån til nytt bygg på Kalnes", "Rikshospitalet", "Sunnaas utvider",
		"Ventetid ved DPS", "BUP får flere stillinger",
	};
	struct config *cfg;
	struct classify *c = shipped(&cfg);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof hospitals / sizeof hospitals[0]; i++)
		if (cats_of(c, hospitals[i], NULL, NULL, NULL) != HOSP)
			fail_msg("not hospitals: %s", hospitals[i]);
	assert_int_equal(cats_of(c, "Leve hele livet i kommunene", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Leve heile livet", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Smittestopp-appen blir lagd ned", NULL, NULL, NULL), COVID);
	assert_int_equal(cats_of(c, "Koronakommisjonen legg fram rapport", NULL, NULL, NULL),
	                 COVID);
	classify_free(c);
	config_free(cfg);
}

static void test_gazetteer_false_friends(void **state)
{
	static const char *const none[] = {
		"Koronar hjertesykdom øker blant eldre menn",
		"Ny behandling av koronarsykdom",
		"Unn deg ein tur i fjellet",
		"Hospitalitet i hotellbransjen",
		"Kommunen overtar pleie av parkene",
		"Influensavaksine for risikogrupper",
		"HPV-vaksine til gutter",
		"Bergen kommune bygger ny vei",
		"Korona bar åpner i sentrum",
		"Tiltak mot mobbing i skolen",
		"Fylkeskommunen vedtok budsjett for vidaregåande",
		"Sus i serken",
		"Russland stenger grensen",
		"Ullevål stadion fylles for landskampen",
	};
	struct config *cfg;
	struct classify *c = shipped(&cfg);
	struct buf ex = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof none / sizeof none[0]; i++) {
		buf_clear(&ex);
		if (cats_of(c, none[i], NULL, NULL, &ex))
			fail_msg("false hit: %s\n%s", none[i], buf_str(&ex));
	}
	buf_free(&ex);
	classify_free(c);
	config_free(cfg);
}

static void test_explain_names_weights_and_threshold(void **state)
{
	struct config *cfg;
	struct classify *c = shipped(&cfg);
	struct buf ex = BUF_INIT;
	const char *s;

	(void)state;
	assert_int_equal(cats_of(c, "Korona", "Ny pandemi?", NULL, &ex), COVID);
	s = buf_str(&ex);
	/* 0.7 + 0.6 >= 1, each term with its weight, word, field and line. */
	assert_non_null(strstr(s, "covid: 1.3 \xe2\x89\xa5 1.0 (set): "));
	assert_non_null(strstr(s, "korona +0.700 \xe2\x86\x90 'Korona' (title; "));
	assert_non_null(strstr(s, "/data/gazetteer.conf:"));
	assert_non_null(strstr(s, "pandemi +0.600 \xe2\x86\x90 'pandemi' (summary; "));
	buf_clear(&ex);
	/* Below the threshold: shown, and said not to set the category. */
	assert_int_equal(cats_of(c, "Korona", NULL, NULL, &ex), 0);
	assert_non_null(strstr(buf_str(&ex), "covid: 0.7 < 1.0 (not set by the terms): korona"));
	buf_clear(&ex);
	/* A partner is named beside its term. */
	assert_int_equal(cats_of(c, "Kommunane", "Fleire pasientar", NULL, &ex), MUNI);
	assert_non_null(strstr(buf_str(&ex), "kommune +1.000 \xe2\x86\x90 'Kommunane' (title, "
	                                     "lemma; "));
	assert_non_null(strstr(buf_str(&ex), " with pasient \xe2\x86\x90 'pasientar' (summary, "
	                                     "lemma)"));
	assert_int_equal(cats_of(c, "Kommunane", NULL, NULL, NULL), 0);
	buf_free(&ex);
	classify_free(c);
	config_free(cfg);
}

static void test_admin_terms_and_threshold(void **state)
{
	struct config *cfg;
	struct classify *c;
	struct buf ex = BUF_INIT;
	double sc[3];

	(void)state;
	/* No gazetteer file: the admin's terms alone. */
	c = gcompile("gazetteer = none\n", "terms = 2 Bjørkeli sjukehus, 0.5 ventetid, 0.6 "
	             "operasjon, XYZ\nthreshold = 1.5\n", NULL, NULL, &cfg);
	assert_int_equal(cats_of(c, "Bjørkeli sjukehus", NULL, sc, NULL), HOSP);
	assert_true(sc[0] == 2.0);
	assert_int_equal(cats_of(c, "Ventetid for operasjonar", NULL, sc, &ex), 0);
	assert_true(sc[0] == 1.1);
	assert_non_null(strstr(buf_str(&ex), "hospitals: 1.1 < 1.5 (not set by the terms): "));
	assert_non_null(strstr(buf_str(&ex), "; g.conf:5)"));
	assert_int_equal(cats_of(c, "Lang ventetid før operasjonen på XYZ", NULL, sc, NULL), HOSP);
	assert_int_equal(cats_of(c, "xyz", NULL, NULL, NULL), 0);
	assert_true(classify_threshold(c, 0) == 1.5);
	assert_true(classify_threshold(c, 1) == 1.0);
	classify_free(c);
	config_free(cfg);
	/* With the shipped file: the admin's terms add to it. */
	c = gcompile(NULL, "terms = Bjørkeli\n", NULL, NULL, &cfg);
	assert_int_equal(cats_of(c, "Bjørkeli", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Sykehuset", NULL, NULL, NULL), HOSP);
	classify_free(c);
	config_free(cfg);
	buf_free(&ex);
}

static void test_match_and_exclude_still_win(void **state)
{
	struct config *cfg;
	struct classify *c;
	struct buf ex = BUF_INIT;
	double sc[3];

	(void)state;
	/* match adds: a rule sets the category whatever the weights say,
	 * and its score is at least the threshold. */
	c = gcompile(NULL, NULL, "match = vei*\n", "exclude = *korona* smitte*\n", &cfg);
	assert_int_equal(cats_of(c, "Veiene i kommunen", NULL, sc, NULL), MUNI);
	assert_true(sc[1] == 1.0);
	/* exclude removes: its words give no evidence to the gazetteer. */
	assert_int_equal(cats_of(c, "Koronavaksine", "Smitte i bygda", sc, &ex), 0);
	assert_true(sc[2] == 0.0);
	assert_int_equal(cats_of(c, "Covid-19", NULL, NULL, NULL), COVID);
	classify_free(c);
	config_free(cfg);
	buf_free(&ex);
}

static void test_scores_say_where_a_story_belongs(void **state)
{
	struct config *cfg;
	struct classify *c = shipped(&cfg);
	unsigned char among[3] = {1, 1, 1};
	double sc[3];

	(void)state;
	/* A municipality that vaccinates is the place, not a care service
	 * (LABELS.md): covid alone. */
	assert_int_equal(cats_of(c, "Koronavaksine til alle over 65 år",
	                         "Kommunene setter i gang vaksineringen", NULL, NULL), COVID);
	/* In config order municipal came first; by score covid does. */
	assert_int_equal(cats_of(c, "Koronavaksine til alle over 65 år",
	                         "Kommunene vaksinerer først beboerne på sykehjemmene", sc, NULL),
	                 MUNI | COVID);
	assert_true(sc[2] > sc[1]);
	assert_int_equal(classify_best(c, sc, among), 2);
	among[2] = 0;
	assert_int_equal(classify_best(c, sc, among), 1);
	among[1] = 0;
	among[0] = 0;
	assert_int_equal(classify_best(c, sc, among), classify_count(c));
	classify_free(c);
	config_free(cfg);
}

static void test_snowball_alone_without_lexicon(void **state)
{
	struct config *cfg;
	struct classify *c;

	(void)state;
	c = gcompile("gazetteer = " GAZETTEER "\nlexicon = none\n", NULL, NULL, NULL, &cfg);
	assert_int_equal(cats_of(c, "Akuttmottaket er fullt", NULL, NULL, NULL), HOSP);
	assert_int_equal(cats_of(c, "Sjukeheimen", NULL, NULL, NULL), MUNI);
	assert_int_equal(cats_of(c, "Unn deg ein tur", NULL, NULL, NULL), 0);
	classify_free(c);
	config_free(cfg);
}

static void expect_conf_error(const char *conf, const char *msg)
{
	struct buf err = BUF_INIT;
	struct config *cfg = NULL;
	struct classify *c = NULL;
	int rc;

	rc = config_load_mem("e.conf", conf, strlen(conf), &cfg, &err);
	if (!rc) {
		rc = classify_compile(cfg, &c, &err);
		classify_free(c);
		config_free(cfg);
	}
	assert_int_not_equal(rc, 0);
	if (!strstr(buf_str(&err), msg))
		fail_msg("want '%s' in:\n%s", msg, buf_str(&err));
	buf_free(&err);
}

/* A lexicon the admin names must be there and be one: the error names
 * the file (`check` prints it). */
static void test_lexicon_errors_name_the_file(void **state)
{
	char path[] = "/tmp/hf-lexicon-XXXXXX";
	char conf[256];
	int fd;

	(void)state;
	snprintf(conf, sizeof conf, "[helsefeed]\nbase_url = https://example.no/\n"
	         "gazetteer = " GAZETTEER "\nlexicon = /nonexistent/lexicon.tab\n"
	         "[category covid]\n[feed x]\nurl = https://example.no/f\n");
	expect_conf_error(conf, "/nonexistent/lexicon.tab: cannot open the lexicon");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, "HFLEX\0\0\3 and then nothing of a table....", 40), 40);
	close(fd);
	snprintf(conf, sizeof conf, "[helsefeed]\nbase_url = https://example.no/\n"
	         "gazetteer = " GAZETTEER "\nlexicon = %s\n"
	         "[category covid]\n[feed x]\nurl = https://example.no/f\n", path);
	expect_conf_error(conf, "damaged lexicon");
	/* A table of an older format is named as such. */
	assert_int_equal(pwrite(fd = open(path, O_WRONLY), "HFLEX\0\0\1", 8, 0), 8);
	close(fd);
	expect_conf_error(conf, "not a lexicon of this version");
	unlink(path);
}

static void test_gazetteer_errors_name_file_and_line(void **state)
{
	const char *head = "[helsefeed]\nbase_url = https://example.no/\n";
	struct buf conf = BUF_INIT, err = BUF_INIT;
	static const char bad[] = "; comment\n1 orphan\n[category covid]\nthreshold = 0\n"
	                          "1.2.3 ord\n2 korona [vaksine\n[covid]\n"
	                          "1 a b c d e f g h i\n";
	char path[] = "/tmp/hf-gazetteer-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(classify_gazetteer_check("gaz", bad, sizeof bad - 1, &err), HF_ECONFIG);
	assert_string_equal(buf_str(&err),
	                    "gaz:2: a term before any [category NAME]: '1 orphan'\n"
	                    "gaz:4: expected threshold = NUMBER above 0, not 'threshold = 0'\n"
	                    "gaz:5: a weight from -100 to 100 expected, not '1.2.3'\n"
	                    "gaz:6: expected TERM [PARTNER ...], the ']' last, in 'korona [vaksine'\n"
	                    "gaz:7: expected [category NAME], not '[covid]'\n"
	                    "gaz:8: more than 8 words in term 'a b c d e f g h i'\n");
	buf_clear(&err);
	assert_int_equal(classify_gazetteer_check("ok", "[category x]\n2 Helse Fonna\n", 26, &err),
	                 0);
	buf_clear(&err);

	/* feeds.conf's own terms: the line of the key. */
	assert_int_equal(buf_printf(&conf, "%s[category covid]\nterms = korona, 1.5.5 x\n"
	                            "[feed x]\nurl = https://example.no/f\n", head), 0);
	expect_conf_error(conf.data, "e.conf:4: [category covid] terms: a weight from -100 to 100"
	                             " expected, not '1.5.5'");
	buf_clear(&conf);
	assert_int_equal(buf_printf(&conf, "%s[category covid]\nthreshold = -1\n"
	                            "[feed x]\nurl = https://example.no/f\n", head), 0);
	expect_conf_error(conf.data, "e.conf:4: [category covid] threshold: expected a number");
	/* A gazetteer file of the admin: its own name and line. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[category covid]\n1 korona\n0,5 smitte\n", f);
	fclose(f);
	buf_clear(&conf);
	assert_int_equal(buf_printf(&conf, "%sgazetteer = %s\n[category covid]\n"
	                            "[feed x]\nurl = https://example.no/f\n", head, path), 0);
	assert_int_equal(buf_printf(&err, "%s:3: a weight from -100 to 100 expected, not '0,5'",
	                            path), 0);
	expect_conf_error(conf.data, buf_str(&err));
	remove(path);
	buf_clear(&conf);
	assert_int_equal(buf_printf(&conf, "%sgazetteer = no-such-gazetteer.conf\n"
	                            "[category covid]\n[feed x]\nurl = https://example.no/f\n",
	                            head), 0);
	expect_conf_error(conf.data, "no-such-gazetteer.conf: cannot open the gazetteer");
	buf_free(&conf);
	buf_free(&err);
}

/* --- precision and recall on the labelled set ----------------------------------- */
struct row {
	char *id, *cats, *title, *summary;
};

static size_t load_rows(char *text, struct row *rows, size_t max)
{
	size_t n = 0;
	char *line = text, *next;

	for (; line && *line; line = next) {
		char *f[7];
		int k;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		for (k = 0; k < 7; k++) {
			f[k] = line;
			line = strchr(line, '\t');
			if (k < 6) {
				if (!line)
					fail_msg("%s: malformed line starting '%.20s'", LABELLED, f[0]);
				*line++ = '\0';
			}
		}
		assert_true(n < max);
		rows[n].id = f[0];
		rows[n].cats = f[4];
		rows[n].title = f[5];
		rows[n].summary = f[6];
		n++;
	}
	return n;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long len;

	if (!fp)
		fail_msg("cannot open %s (run from tests/)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len > 0);
	rewind(fp);
	s = malloc((size_t)len + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)len, fp), (size_t)len);
	s[len] = '\0';
	fclose(fp);
	return s;
}

/* Is category `name` listed in the comma-separated `list`? */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void test_labelled_precision_recall(void **state)
{
	static const char *const names[] = {"hospitals", "municipal", "covid"};
	enum { NNAMES = 3, MAXROWS = 1024 };
	struct config *cfg = NULL;
	struct classify *c = NULL;
	struct buf err = BUF_INIT;
	struct row *rows;
	unsigned char *hits;
	size_t idx[NNAMES], nrows, i, k, rep, reps = 50;
	int tp[NNAMES] = {0}, fp[NNAMES] = {0}, fn[NNAMES] = {0};
	char *text;
	double t0, t1;
	struct timespec ts;
	int ok = 1;

	(void)state;
	if (config_load(RULES, &cfg, &err))
		fail_msg("%s: %s", RULES, buf_str(&err));
	if (classify_compile(cfg, &c, &err))
		fail_msg("%s: %s", RULES, buf_str(&err));
	for (k = 0; k < NNAMES; k++) {
		const struct config_category *cc = config_category_find(cfg, names[k]);

		if (!cc)
			fail_msg("%s: no [category %s]", RULES, names[k]);
		idx[k] = (size_t)(cc - cfg->categories);
	}
	text = slurp(LABELLED);
	rows = calloc(MAXROWS, sizeof(*rows));
	hits = calloc(cfg->ncategories, 1);
	assert_non_null(rows);
	assert_non_null(hits);
	nrows = load_rows(text, rows, MAXROWS);
	assert_true(nrows >= 150);

	for (i = 0; i < nrows; i++) {
		struct classify_input in = {0};
		struct buf ex = BUF_INIT;

		in.title = rows[i].title;
		in.summary = rows[i].summary;
		memset(hits, 0, cfg->ncategories);
		assert_int_equal(classify_item(c, &in, hits, &ex), 0);
		for (k = 0; k < NNAMES; k++) {
			int want = listed(rows[i].cats, names[k]), got = hits[idx[k]];

			tp[k] += want && got;
			fp[k] += !want && got;
			fn[k] += want && !got;
			if (want != got)
				print_message("%s %s %s: %s | %s\n%s", want ? "missed" : "wrong",
				              names[k], rows[i].id, rows[i].title, rows[i].summary,
				              buf_str(&ex));
		}
		buf_free(&ex);
	}
	for (k = 0; k < NNAMES; k++) {
		double p = tp[k] + fp[k] ? (double)tp[k] / (tp[k] + fp[k]) : 0;
		double r = tp[k] + fn[k] ? (double)tp[k] / (tp[k] + fn[k]) : 0;

		print_message("%-9s precision %.3f recall %.3f (tp %d, fp %d, fn %d; %zu items)\n",
		              names[k], p, r, tp[k], fp[k], fn[k], nrows);
		if (p < MIN_PRECISION || r < MIN_RECALL)
			ok = 0;
	}

	/* Throughput, for the record (sanitizers and valgrind slow it down). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	for (rep = 0; rep < reps; rep++)
		for (i = 0; i < nrows; i++) {
			struct classify_input in = {0};

			in.title = rows[i].title;
			in.summary = rows[i].summary;
			assert_int_equal(classify_item(c, &in, hits, NULL), 0);
		}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	print_message("classify_item: %.0f items/s\n", (double)(reps * nrows) / (t1 - t0));

	free(hits);
	free(rows);
	free(text);
	classify_free(c);
	config_free(cfg);
	buf_free(&err);
	if (!ok)
		fail_msg("precision below %.2f or recall below %.2f", MIN_PRECISION, MIN_RECALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_word),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_infix),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_hyphenated_words),
		cmocka_unit_test(test_conditional_terms),
		cmocka_unit_test(test_exclude),
		cmocka_unit_test(test_case_folding_norwegian),
		cmocka_unit_test(test_bokmal_and_nynorsk),
		cmocka_unit_test(test_html_fields),
		cmocka_unit_test(test_long_words_are_skipped),
		cmocka_unit_test(test_hits_left_alone_when_no_match),
		cmocka_unit_test(test_explain_text),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_too_many_terms),
		cmocka_unit_test(test_gazetteer_inflections_reach_the_lemma),
		cmocka_unit_test(test_gazetteer_compounds_reach_their_parts),
		cmocka_unit_test(test_gazetteer_names_and_short_forms),
		cmocka_unit_test(test_gazetteer_false_friends),
		cmocka_unit_test(test_explain_names_weights_and_threshold),
		cmocka_unit_test(test_admin_terms_and_threshold),
		cmocka_unit_test(test_match_and_exclude_still_win),
		cmocka_unit_test(test_scores_say_where_a_story_belongs),
		cmocka_unit_test(test_snowball_alone_without_lexicon),
		cmocka_unit_test(test_lexicon_errors_name_the_file),
		cmocka_unit_test(test_gazetteer_errors_name_file_and_line),
		cmocka_unit_test(test_labelled_precision_recall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
