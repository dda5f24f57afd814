/*
 * lex.h - words to their lemmas, for the gazetteer of classify.c.
 *
 * Hunspell with the nb_NO and nn_NO dictionaries of hunspell-no gives the
 * lemmas of a word it knows, in either written standard ("sjukehusa" ->
 * "sjukehus", "kommunane" -> "kommune"); the Snowball "norwegian" stemmer
 * (libstemmer) stems a word neither dictionary knows ("koronavaksinen" ->
 * "koronavaksin").  Words are folded UTF-8 (classify.c's fold) and so are
 * the lemmas returned.  The dictionaries are ISO-8859-1: a word with a
 * code point above U+00FF goes to Snowball alone.
 *
 * Hunspell and Snowball keep state per handle, so a struct lex serialises
 * its callers with a mutex of its own: one may be used from any thread.
 * Loading the two dictionaries takes about 0.6 s; lex_open shares one
 * struct lex per dictionary directory within a process (counted).
 */
#ifndef HELSEFEED_CLASSIFY_LEX_H
#define HELSEFEED_CLASSIFY_LEX_H

#include <stddef.h>

#include "helsefeed/util.h"
#include "helsefeed/err.h"

struct lex;

/*
 * Open (or share) the dictionaries nb_NO.{aff,dic} and nn_NO.{aff,dic}
 * under `dir`; dir NULL: Snowball alone.  On success *out is the caller's
 * (lex_close).  HF_EIO with a line in err naming the missing file;
 * HF_ENOMEM.
 */
int lex_open(const char *dir, struct lex **out, struct buf *err) HF_WUR;
void lex_close(struct lex *lx);

/*
 * The lemmas of w[0..n): appended to `out` each followed by a NUL.  From
 * hunspell when either dictionary knows the word (*known = 1), else the
 * Snowball stem (*known = 0).  Returns the number appended, or HF_ENOMEM.
 */
int lex_lemmas(struct lex *lx, const char *w, size_t n, struct buf *out,
               int *known) HF_WUR;

/* 1 when either dictionary knows w[0..n) as a word, in any form. */
int lex_known(struct lex *lx, const char *w, size_t n);

#endif
