/*
 * classify.h - keyword rules of the [category NAME] sections.
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
 * A compiled struct classify is immutable: one may be shared by any number
 * of classify_item calls.
 */
#ifndef HELSEFEED_CLASSIFY_H
#define HELSEFEED_CLASSIFY_H

#include <stddef.h>

#include "helsefeed/buf.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"

/* The longest word (bytes of UTF-8) tested against the rules.  The longest
 * Norwegian compounds of the sector ("spesialisthelsetjenesteloven") are
 * under 40 letters; 128 bytes leaves room for ÆØÅ and hyphenated chains. */
#define CLASSIFY_MAX_WORD 128

struct classify;

/*
 * Compile the rules of every category of `cfg` (match and exclude; either
 * may be NULL or empty: such a category is never set by rules, only by
 * feed-level categories).  The result keeps no pointer into cfg.
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

#endif
