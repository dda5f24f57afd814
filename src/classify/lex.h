/*
 * lex.h - words to their lemmas, for the gazetteer (classify) and the
 * same-story terms (dedup).
 *
 * The lexicon is a table built from hunspell's nb_NO and nn_NO
 * dictionaries of hunspell-no at build time (tools/mklexicon.py, which
 * has hunspell's unmunch expand every entry): 1.3 million forms of both
 * written standards, each with the roots of the entries that yield it
 * ("sjukehusa" -> sjukehus, "sykehusene" -> sykehus, "kommunane" ->
 * kommune).  It is read with mmap: opening costs nothing, a lookup is a
 * hash probe, and only the pages lookups touch are read.  Hunspell itself
 * takes a few microseconds a word, tens for a word it does not know, and
 * 50 MiB and 0.3 s to load in every process (bench/fetch/README.md).
 *
 * A word the table does not hold is tried as a compound of two of its
 * words, the first an entry that may begin a compound and the second a
 * form of one that may end it (the dictionaries' compound flag):
 * "helseforetaket" -> helseforetak.  Else the Snowball "norwegian"
 * stemmer (libstemmer) stems it ("koronavaksinen" -> koronavaksin).
 * Words and lemmas are folded UTF-8 (classify.c's fold).
 *
 * One struct lex per file and process, shared and counted (lex_open);
 * helsefeed is single-threaded and so is a struct lex.
 */
#ifndef HELSEFEED_CLASSIFY_LEX_H
#define HELSEFEED_CLASSIFY_LEX_H

#include <stddef.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"

#ifndef HF_LEXICON
#define HF_LEXICON "/usr/share/helsefeed/lexicon.tab"
#endif

struct lex;

/*
 * Open (or share) the lexicon file `path`; NULL: Snowball alone.  On
 * success *out is the caller's (lex_close).  HF_EIO with a line in err
 * naming the file when it cannot be read or is no lexicon; HF_ENOMEM.
 */
int lex_open(const char *path, struct lex **out, struct buf *err) HF_WUR;
void lex_close(struct lex *lx);

/*
 * lex_open with the configuration's lexicon: the file the admin names
 * (it must be there), "none" (Snowball alone), or by default the installed
 * one, else (a build run from its tree: tests, the offline sample) the
 * build tree's, else Snowball alone.
 */
int lex_open_config(const struct config *cfg, struct lex **out, struct buf *err) HF_WUR;

/*
 * The lemmas of w[0..n): appended to `out` each followed by a NUL.  From
 * the lexicon when it knows the word or the compound (*known = 1), else
 * the Snowball stem (*known = 0).  With nb, a nynorsk word's lemmas are
 * followed by the bokmål lemma Apertium gives the first ("teikn": teikn,
 * tegn; tools/mklexicon.py): the classifier's terms are bokmål and
 * nynorsk alike.  Returns the number appended, or HF_ENOMEM.
 */
int lex_lemmas(struct lex *lx, const char *w, size_t n, int nb, struct buf *out,
               int *known) HF_WUR;

/* 1 when the lexicon knows w[0..n) as a word or a compound of two. */
int lex_known(struct lex *lx, const char *w, size_t n);

#endif
