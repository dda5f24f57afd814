/*
 * gaz.h - the gazetteer inside classify.c: weighted terms of the sector
 * (data/gazetteer.conf and the `terms` keys of feeds.conf) matched through
 * their lemmas and the parts of compounds (lex.h).  Syntax and method in
 * classify.h.
 */
#ifndef HELSEFEED_CLASSIFY_GAZ_H
#define HELSEFEED_CLASSIFY_GAZ_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"

/* Distinct terms an item can hold evidence of: beyond that, evidence is
 * already overwhelming (the shipped file has a few hundred terms). */
#define GAZ_MAX_HITS 128
/* Phrases begun and not finished at one time: "Helse Møre og Romsdal". */
#define GAZ_MAX_PARTIAL 32

struct gaz;

/* How a word reached a term: the word itself, its genitive, a lemma, a
 * part of a compound. */
enum gaz_how { GAZ_SAME, GAZ_GEN, GAZ_LEMMA, GAZ_PART };

struct gaz_hit {
	uint32_t term;
	uint32_t field, off, len;   /* the words in the field text */
	uint8_t how;
};

struct gaz_state {
	struct gaz_hit hit[GAZ_MAX_HITS];
	size_t nhit;
	struct {
		uint32_t term, tok, off;
		uint16_t pos;
		uint8_t how;
	} part[GAZ_MAX_PARTIAL];
	size_t npart;
	uint32_t tok;
};

/*
 * Compile the gazetteer file of cfg (unless "none", or the default that
 * is not installed) and every category's `terms`.  *out is NULL when no
 * category has a term.  HF_ECONFIG with "FILE:LINE: ..." lines in err,
 * HF_EIO (dictionaries), HF_ENOMEM.
 */
int gaz_compile(const struct config *cfg, struct gaz **out, struct buf *err);
void gaz_free(struct gaz *g);

/* Weights and thresholds in thousandths (1.5 is 1500): sums are exact. */
long gaz_threshold(const struct gaz *g, size_t cat);

/* The word w[0..n) (folded, no '-'; `caps`: written without a lower-case
 * letter) at [off, end) of `field`: record the terms it completes.  A term
 * of category k is skipped when excluded(arg, k, w, n) says so. */
void gaz_word(const struct gaz *g, struct gaz_state *st, const char *w, size_t n,
              int caps, uint32_t field, size_t off, size_t end,
              int (*excluded)(void *arg, size_t cat, const char *w, size_t n), void *arg);

/* Between fields: no phrase goes across. */
void gaz_gap(struct gaz_state *st);

/* Does hit i of st count?  Not a partner-only term, and for a term with
 * partners one of them hit too: that hit is returned (else NULL). */
const struct gaz_hit *gaz_counts(const struct gaz *g, const struct gaz_state *st, size_t i,
                                 int *counts);

/* A term's category, weight, text ("Helse Fonna"), source file and line. */
size_t gaz_term_cat(const struct gaz *g, uint32_t t);
long gaz_term_weight(const struct gaz *g, uint32_t t);
const char *gaz_term_text(const struct gaz *g, uint32_t t);
const char *gaz_term_src(const struct gaz *g, uint32_t t, int *line);

#endif
