/*
 * classify.h - categories of an item: the weighted terms of a gazetteer,
 * and the keyword rules of the [category NAME] sections.
 *
 * Gazetteer.  The shipped knowledge of the sector (data/gazetteer.conf,
 * installed as HF_GAZETTEER; [helsefeed] gazetteer = FILE or none) and
 * the `terms` key of a [category NAME] section give weighted terms:
 *
 *   [category hospitals]        ; in the file; feeds.conf's own sections
 *   threshold = 1               ; evidence that sets the category (1)
 *   1     sykehus               ; WEIGHT TERM; the weight is 1 when absent
 *   1     Helse Fonna           ; several words: one after the other
 *   1     UNN                   ; capitals: only a word written in capitals
 *   -1    fylkeskommune         ; a negative weight counts against
 *
 *   terms = 1 Helse Fonna, 0.5 ventetid, UNN        ; in feeds.conf
 *   threshold = 1.5                                 ; in feeds.conf
 *
 * Weights and thresholds are decimal numbers from -100 to 100 (thresholds
 * above 0), counted in thousandths.  A term is written in its dictionary
 * form, bokmål or nynorsk; an item's word reaches it by (the first that
 * finds any term):
 *   1. the same folded word, or it with a genitive s ("Haukelands");
 *   2. a lemma of the word from the lexicon (hunspell-no's nb_NO and nn_NO
 *      as a table, src/classify/lex.h)
 *      ("sjukehusa", "sykehuset" -> sykehus), or its Snowball stem when
 *      neither knows the word ("koronavaksinen" -> koronavaksin);
 *   3. the parts of a compound the dictionaries know: a term then a word
 *      ("korona|vaksine" reaches korona and vaksine; "legevakt|sentral"),
 *      or a word then a form of a term ("lokal|sjukehuset" -> sykehus);
 *      a joining s or e is allowed between the parts.
 * "koronar" is not korona (no word "r"), "hospitalitet" not hospital, and
 * "Unn deg" not UNN.  Every term counts once per item with its weight;
 * the category is set when the sum reaches its threshold.  Words an
 * `exclude` term of the category matches give no evidence either.
 * Gazetteer sections of categories the configuration has not are skipped.
 *
 * Rules.  An admin's `match` sets the category whatever the evidence
 * (match adds), its `exclude` keeps words from counting (exclude removes).
 *
 * Rule language of the keys `match` and `exclude` (raw text in struct
 * config_category):
 *
 *   terms are separated by whitespace and/or commas;
 *   word     the whole word                      sykehus
 *   word*    a word that starts with it          sjukehus*  -> sjukehusa
 *   *word    a word that ends with it            *sykehus   -> lokalsykehus
 *   *word*   anywhere inside a word              *vaksin*   -> influensavaksine
 *   t[a b]   t counts only when one of the bracketed terms (same syntax,
 *            no brackets) also counts somewhere in the same item:
 *            kommun*[helse* omsorg*]
 *
 * `exclude` lists terms (no brackets) whose matching words never count for
 * the category, neither as a match nor as a bracketed partner: with
 * exclude = koronar*, "koronar hjertesykdom" does not satisfy korona*.
 *
 * Words.  A word is a maximal run of letters, digits and '-'; everything
 * else separates words (HTML tags and entities included).  Hyphens at the
 * edges of a word are dropped ("helse- og omsorgstjenester" gives "helse").
 * A word with inner hyphens is tested whole and then part by part, so
 * "covid-19-forskriften" matches covid*, covid-19*, *forskrift* and
 * sars-cov-2 matches "SARS-CoV-2".  An exclude that matches the whole
 * hyphenated word drops its parts too; one that matches a part drops only
 * that part.  Words of more than CLASSIFY_MAX_WORD bytes once folded
 * (base64, hashes) are skipped whole: no word of a language is that long.
 *
 * Case.  Terms and words are compared after simple case folding per code
 * point (utf8proc_tolower), terms after NFC: "SJUKEHUS", "Ålesund" and
 * "ÆØÅ" fold like their lower-case forms.  Item text must already be valid
 * UTF-8 in NFC (the normaliser's job); invalid bytes only separate words.
 *
 * Fields.  title and the item's own category texts are plain text; summary
 * and content are sanitised HTML: tags are skipped and the entities the
 * sanitiser emits (&amp; &lt; &gt; &quot; &#39;, and numeric ones) are
 * decoded.
 *
 * A compiled struct classify may be shared by any number of classify_item
 * calls, on any threads: its one mutable part, a bounded table of the
 * words seen and the terms they reach, is behind a mutex.
 */
#ifndef HELSEFEED_CLASSIFY_H
#define HELSEFEED_CLASSIFY_H

#include <stddef.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"

#ifndef HF_GAZETTEER
#define HF_GAZETTEER "/usr/share/helsefeed/gazetteer.conf"
#endif

/* The longest word (bytes of UTF-8) tested against the rules.  The longest
 * Norwegian compounds of the sector ("spesialisthelsetjenesteloven") are
 * under 40 letters; 128 bytes leaves room for ÆØÅ and hyphenated chains. */
#define CLASSIFY_MAX_WORD 128

struct classify;

/*
 * Compile the rules of every category of `cfg` (match and exclude; either
 * may be NULL or empty: such a category is never set by rules, only by
 * feed-level categories, or by gazetteer terms), and the gazetteer: the
 * file cfg->gazetteer (the default one only when it is installed) and the
 * categories' `terms`.  Hunspell's dictionaries are read from
 * cfg->dictionaries (about 0.6 s, once per process).  The result keeps no
 * pointer into cfg.  Gazetteer errors are lines "FILE:LINE: what", the
 * FILE being the gazetteer or feeds.conf (its terms key); HF_EIO with a
 * line when the gazetteer or a dictionary cannot be read.
 * On success *out is the caller's (classify_free).  On failure returns
 * HF_ECONFIG and appends one line per bad term to `err` (may be NULL), e.g.
 * "category covid: match: empty term" or
 * "category covid: exclude: '*' inside term 'ko*rona'";
 * HF_ENOMEM when memory runs out.  At most 512 distinct patterns and 512
 * terms in all (production uses about 60): an item's match state is kept
 * on the stack.
 */
int classify_compile(const struct config *cfg, struct classify **out,
                     struct buf *err) HF_WUR;
void classify_free(struct classify *c);

/* Number of categories compiled: the length of the hits array. */
size_t classify_count(const struct classify *c);

struct classify_input {
	const char *title;                /* plain text, or NULL */
	const char *summary;              /* sanitised HTML, or NULL */
	const char *content;              /* sanitised HTML, or NULL */
	const char *const *categories;    /* the item's own <category> texts */
	size_t ncategories;
};

/*
 * Match one item against every category.  `hits` has one flag per
 * category of the config, in config order; the flag of each category whose
 * rules match is set to 1, the others are left as they are (so the caller
 * may first set the feed-level categories, or clear the array).
 *
 * `explain`, when not NULL, gets one line per matching category, naming
 * every counting term, the word that matched it and the field:
 *   "covid: korona* ← 'Koronavaksine' (summary)\n"
 *   "municipal: kommun* ← 'kommunar' (title) with helse* ← 'helsetenester' (summary)\n"
 * several counting terms of one category are joined with "; ".
 *
 * Returns 0, or HF_ENOMEM when explain cannot grow (hits is complete
 * even then).  Allocates nothing else.
 */
int classify_item(const struct classify *c, const struct classify_input *in,
                  unsigned char *hits, struct buf *explain) HF_WUR;

/*
 * classify_item, and the score of every category in scores[k] (NULL: not
 * wanted): the sum of the weights of its gazetteer terms in the item, and
 * at least the category's threshold when a `match` rule set it.  Explain
 * gets, after the rule lines, one line per category with gazetteer
 * evidence, set or not:
 *   "covid: 1 ≥ 1 (set): korona +0.700 ← 'Koronavaksine' (title, compound
 *    part; data/gazetteer.conf:212); vaksine +0.300 ← ..."
 *
 * Where a story lands: a digest that shows an item once, under one of its
 * categories, takes classify_best(c, scores, in_group_and_set).
 */
int classify_item_scores(const struct classify *c, const struct classify_input *in,
                         unsigned char *hits, double *scores, struct buf *explain) HF_WUR;

/* The index of the highest score among the categories k with among[k]
 * set (the first in config order on a tie), or classify_count(c) when
 * none is. */
size_t classify_best(const struct classify *c, const double *scores,
                     const unsigned char *among);

/* The threshold of category k. */
double classify_threshold(const struct classify *c, size_t cat);

/* A weight: a decimal number from -100 to 100 ("1", "-0.5", "1.25").
 * 0 or HF_EINVAL. */
int classify_weight_parse(const char *s, size_t n, double *out) HF_WUR;

/* The value of a `terms` key: 0, or -1 with the reason in msg. */
int classify_terms_check(const char *s, char *msg, size_t n);

/* Check a gazetteer file's text without compiling it (for the fuzzer):
 * 0, HF_ECONFIG with "NAME:LINE: ..." lines in err, HF_ENOMEM. */
int classify_gazetteer_check(const char *name, const char *text, size_t len,
                             struct buf *err) HF_WUR;

#endif
