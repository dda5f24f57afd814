/*
 * dedup.h - is this entry a story we already hold?  The text side of
 * levels 2 and 3 of DESIGN.md "Deduplication, in order" (level 1, same
 * feed and key, is the store's), and the SQL side that finds
 * candidates (src/store/dedup.c).  ingest.h puts the levels together.
 *
 * Fingerprint of an item:
 *   title_norm  the title case-folded per code point (utf8proc), with the
 *               publishers' decorations removed: a leading "Nyhet:",
 *               "Nyheit:", "Pressemelding:" ... (DEDUP prefix table) and
 *               trailing source names " – Helsedirektoratet", " | FHI"
 *               (built-in table plus the title and name of every
 *               configured feed); every run of characters that are not
 *               letters or digits becomes one space.  Stored in
 *               items.title_norm.
 *   simhash     64-bit simhash over 2-word shingles (FNV-1a each) of the
 *               folded words of title_norm and the summary's text.
 *               Stored in items.simhash.
 *   signature   (struct dedup_sig) the title's tokens and the first
 *               DEDUP_MAX_WORDS content words of the summary, classified
 *               as stop word, word, number or date word, for the pairwise
 *               decision below.  Rebuilt from title_norm and summary, never
 *               stored.
 *
 * The decision, dedup_same_story().  False merges are worse than missed
 * ones: a reader who misses a republished press release loses nothing,
 * one whose February figures vanish into January's loses the news.  So:
 *
 *  veto   numbers and date words are facts, not wording.  When each title
 *         has a number, month name or ordinal ("første" = 1) that the
 *         other lacks, the items are different stories whatever else
 *         agrees ("ventetider i januar" / "i februar", "uke 2" / "uke 3",
 *         "1. tertial" / "andre tertial").  A title that merely omits the
 *         figure ("2024-2027") is no contradiction.
 *
 *  Two words match when equal or, for words of 4+ letters starting with
 *  the same letter, when their letter bigrams overlap by Dice >=
 *  DEDUP_WORD_SIM_PCT: bokmål and nynorsk spellings of one word
 *  (sykehus/sjukehus, kommuner/kommunar, omsorgstjenester/omsorgstenester)
 *  and inflections (opphever/oppheves) match, different compounds with a
 *  common part (koronavaksine/influensavaksine, Dice 0.52) do not.
 *  title = Jaccard of the titles' content tokens (stop words left out)
 *  under that matching, body = the same over the summaries' words.
 *
 *  same story when the veto does not apply and one of:
 *   DEDUP_RULE_TITLE   every content token of either title matches one of
 *                      the other (2+ tokens each): "Nyhet: X – FHI" / "X",
 *                      reordered "A: B" / "B – A", nb/nn spelling;
 *   DEDUP_RULE_STRONG  title >= DEDUP_TITLE_STRONG_PCT with 4+ matched
 *                      tokens: one side added a word ("400 millioner
 *                      kroner"); or title >= DEDUP_TITLE_LONG_PCT with
 *                      DEDUP_TITLE_LONG_WORDS matched: most of a long
 *                      headline, the rest in the other language form
 *                      ("FHI trur ... meir ... korona" / "FHI tror ...
 *                      mer ... corona");
 *   DEDUP_RULE_SIMHASH title >= DEDUP_TITLE_PCT and simhash distance <=
 *                      DEDUP_SIMHASH_MAX_DIST: the text was copied;
 *   DEDUP_RULE_BODY    title >= DEDUP_TITLE_PCT and body >=
 *                      DEDUP_BODY_PCT: rewritten title and rewritten first
 *                      paragraph that still share half their words;
 *   DEDUP_RULE_WEIGHTED the titles share a number or date word, title >=
 *                      DEDUP_WEIGHTED_TITLE_PCT, and the weighted Dice of
 *                      the title and lead terms >= DEDUP_WEIGHTED_PCT:
 *                      "Kjerkol: 720 millioner kroner til fastlege-
 *                      ordningen" / "... til å styrke basistilskuddet til
 *                      fastlegeordningen i år";
 *   DEDUP_RULE_LEAD    title >= DEDUP_LEAD_TITLE_PCT with 2+ matched
 *                      tokens, body >= DEDUP_BODY_PCT, and no number of
 *                      either lead missing from the other while the other
 *                      has one of its own: the headline rewritten more
 *                      than by half, the lead told again ("Ekspertutvalg
 *                      leverte endelig rapport" / "Ekspertutvalget for
 *                      allmennlegetjenesten leverte sin rapport 18.
 *                      april"; NTB's story and NPK's nynorsk of it), but
 *                      not two daily reports of one template.
 *  Title similarity is required by every rule: two bodies alike under
 *  different headlines are a follow-up story, not the same release.
 *
 *  Terms: each word's nb and nn lemmas (dedup_sig_lemmas: the lexicon
 *  of src/classify/lex.h, built from hunspell-no; Snowball for words it
 *  does not know) are
 *  one term, so "regjeringa"/"regjeringen" and "fastlegeordninga"/
 *  "fastlegeordningen" match; the bigram match above catches the rest
 *  ("styrkjer"/"styrker").  Weights favour rare words: a number or date
 *  word DEDUP_W_FACT, a word neither dictionary knows (names, places,
 *  rare compounds) DEDUP_W_RARE, any other DEDUP_W_WORD.  They are
 *  properties of the word, not counts of the store, so a decision never
 *  depends on the order items arrived in; the store's counts choose the
 *  candidates (dedup_index_candidates: a word of more than HF_DEDUP_RARE
 *  items of the window finds none).
 *
 *  The veto also holds for the deciding body: a title naming the
 *  government and one naming the Storting are two stories (proposal and
 *  vote), "Regjeringen avvikler ..." / "Stortinget avvikler ...".
 *
 * Window and scope (pipeline.c): candidates are items whose published
 * time (else first_seen) lies within cfg->dedup_window of the entry's,
 * and which the entry's own feed does not carry yet (a publisher does
 * not republish its own story under a new URL and a new guid; two such
 * entries are a series: "Ukerapport uke 2", "uke 3").
 *
 * The thresholds were set on tests/data/classify/labelled.tsv (38
 * same-story groups, 13 look-alike groups; tests/test_dedup.c checks the
 * precision and recall they give) and the dev part of tests/data/corpus
 * (tests/corpus/evaluate.py --part dev).
 */
#ifndef HELSEFEED_DEDUP_H
#define HELSEFEED_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/limits.h"
#include "helsefeed/feed.h"
#include "helsefeed/store.h"

/* Title tokens kept in a signature.  A 1 KiB title (HF_MAX_TITLE) could
 * have hundreds; real headlines have under 20. */
#define DEDUP_MAX_TOKENS 32
/* Summary words kept: about the first paragraph, which is what a
 * republisher rewrites, and what is compared. */
#define DEDUP_MAX_WORDS 64
/* Letters kept per word for the bigram comparison: no Norwegian word of
 * the sector is longer (CLASSIFY_MAX_WORD is bytes, this is letters). */
#define DEDUP_MAX_WORD_CP 40
/* Numbers and date words of one title that take part in the veto, and
 * of one lead that take part in the lead rule's. */
#define DEDUP_MAX_FACTS 16

/* Two spellings of one word: bigram Dice in percent.  60 joins
 * sykehus/sjukehus (0.62) and flere/fleire (0.67), keeps
 * koronavaksine/influensavaksine (0.52) apart. */
#define DEDUP_WORD_SIM_PCT 60
/* Title Jaccard (percent) that every near-duplicate rule needs. */
#define DEDUP_TITLE_PCT 50
/* Title Jaccard that is enough alone (with 4+ matched tokens). */
#define DEDUP_TITLE_STRONG_PCT 80
/* ... and with DEDUP_TITLE_LONG_WORDS matched tokens.  Set on the dev
 * part of tests/data/corpus: its pairs of different stories that share
 * half a headline match 4 tokens at most ("FHI byrjar å sjå effekten av
 * vaksinasjon av eldre" / "... effekt av oppfriskingsdosane", 57 %);
 * NTB's and NPK's copies of one headline match 7 and 8 (66-77 %). */
#define DEDUP_TITLE_LONG_PCT 60
#define DEDUP_TITLE_LONG_WORDS 6
/* Summary Jaccard that, with DEDUP_TITLE_PCT, makes a rewrite the same
 * story.  On the labelled set the lowest true pair is 0.40 (nb/nn
 * translations), the highest look-alike under a similar title 0.21. */
#define DEDUP_BODY_PCT 35
/* Simhash distance of copied text: 3 of 64 bits tolerates a changed
 * word or two in a 100-word text, while unrelated texts sit near 32. */
#define DEDUP_SIMHASH_MAX_DIST 3
/* Token weights of the weighted rule: a number or date word, a word no
 * dictionary knows, any other content word.  A title token counts
 * DEDUP_W_TITLE times: the headline says what the story is. */
#define DEDUP_W_FACT 4
#define DEDUP_W_RARE 3
#define DEDUP_W_WORD 1
#define DEDUP_W_TITLE 2
/* Weighted Dice (percent) of title and lead terms that makes two items
 * the same story (DEDUP_RULE_WEIGHTED), when their titles share a number
 * or date word ("720 millioner", "6,2 milliarder") and are alike to
 * DEDUP_WEIGHTED_TITLE_PCT.  Set on the dev part of tests/data/corpus
 * and tests/data/classify/labelled.tsv, whose hard negatives (two daily
 * case counts) score up to 44 with a shared figure.  (The 54 without
 * one was "Fødeavdelingen i Kristiansund flyttes" / "Fødetilbodet i
 * Kristiansund vert flytta til Molde", the bokmål and nynorsk of one
 * board decision, since labelled one story.) */
#define DEDUP_WEIGHTED_PCT 55
/* Title Jaccard (percent) the weighted rule needs beside: a lead alike
 * under unrelated headlines is a follow-up story. */
#define DEDUP_WEIGHTED_TITLE_PCT 35
/* Title Jaccard (percent) of the lead rule, with two title words shared
 * at least.  Set on the dev part of tests/data/corpus: the true pairs it
 * adds share 28-42 % of their headlines and 35-57 % of their leads;
 * the pairs of different stories with two headline words shared share
 * at most 20 % of their leads, but for daily case reports of one
 * template (86 %), whose numbers differ. */
#define DEDUP_LEAD_TITLE_PCT 25

enum dedup_rule {
	DEDUP_RULE_NONE = 0,
	DEDUP_RULE_TITLE,
	DEDUP_RULE_STRONG,
	DEDUP_RULE_SIMHASH,
	DEDUP_RULE_BODY,
	DEDUP_RULE_WEIGHTED,
	DEDUP_RULE_LEAD,
};

/* "none", "title", "strong", "simhash", "body", "weighted", "lead". */
const char *dedup_rule_name(int rule);

/* --- text ------------------------------------------------------------ */

struct dedup;

/*
 * The tables of title_norm: the built-in source names plus the title and
 * name of every feed of `cfg` (may be NULL).  Keeps no pointer into cfg.
 * Returns 0 and *out (dedup_free), or HF_ENOMEM.
 */
int dedup_new(const struct config *cfg, struct dedup **out) HF_WUR;
void dedup_free(struct dedup *d);

/*
 * Append the normalised title of `title` (plain UTF-8 text, NFC; NULL is
 * an empty title) to `out`.  Returns 0 or HF_ENOMEM.
 */
int dedup_title_norm(const struct dedup *d, const char *title,
                     struct buf *out) HF_WUR;

struct dedup_tok {
	uint64_t hash;         /* FNV-1a of the folded word */
	uint64_t lemma[2];     /* FNV-1a of its nb and nn lemmas (0: none
	                        * yet, dedup_sig_lemmas) */
	uint16_t off, ncp;     /* letters in struct dedup_sig.cp */
	uint8_t kind;          /* DEDUP_TOK_* */
	uint8_t weight;        /* rarity, DEDUP_W_* (dedup_sig_lemmas) */
};

#define DEDUP_TOK_STOP 0
#define DEDUP_TOK_WORD 1
#define DEDUP_TOK_FACT 2       /* number, month, ordinal */

/* The comparable form of one item.  About 8 KiB: keep it off small
 * stacks. */
struct dedup_sig {
	struct dedup_tok title[DEDUP_MAX_TOKENS];
	size_t ntitle;
	struct dedup_tok body[DEDUP_MAX_WORDS];
	size_t nbody;
	uint64_t facts[DEDUP_MAX_FACTS];      /* the title's numbers, dates */
	size_t nfacts;
	uint64_t lead_facts[DEDUP_MAX_FACTS]; /* the lead's */
	size_t nlead_facts;
	uint64_t simhash;
	int64_t title_term;    /* of the whole title_norm, 0 for none */
	int has_body;          /* body[] was filled (dedup_sig_body) */
	uint32_t cp[(DEDUP_MAX_TOKENS + DEDUP_MAX_WORDS) * DEDUP_MAX_WORD_CP];
	size_t ncp;
};

/* Build the signature from a title_norm and a summary (sanitised HTML);
 * either may be NULL.  Cannot fail. */
void dedup_sig_make(struct dedup_sig *s, const char *title_norm,
                    const char *summary);

/* The cheap half, for a stored candidate: title tokens and the stored
 * simhash; the body follows with dedup_sig_body only when the decision
 * needs it (most candidates are out on the title alone). */
void dedup_sig_title(struct dedup_sig *s, const char *title_norm,
                     uint64_t simhash);
void dedup_sig_body(struct dedup_sig *s, const char *summary);

/*
 * Lemmas and weights of every token of s (title and body): each word's
 * nb and nn lemmas (the configured lexicon, else the Snowball stem), so
 * that "regjeringa"/"regjeringen" and
 * "fastlegeordninga"/"fastlegeordningen" are one term; and its weight:
 * DEDUP_W_FACT for numbers and date words ("116117", "1,2"),
 * DEDUP_W_RARE for a word no dictionary knows (names, places, rare
 * compounds: "astrazeneca", "kjerkol"), DEDUP_W_WORD for the rest.
 * Words are remembered per struct dedup (a pure function: what the
 * memo holds changes the speed, never the answer).  Cannot fail: a word
 * lex cannot take (out of memory) keeps its own hash as lemma.
 */
void dedup_sig_lemmas(struct dedup *d, struct dedup_sig *s);

/*
 * The same-story index terms of a signature (after dedup_sig_lemmas): an
 * item is indexed by them (struct dedup_index) and an entry's candidates
 * are the items that share one (dedup_index_candidates).  Its headline's
 * content words, longest first (a long word is a rare word), and its
 * lead's numbers, room for two of them: HF_DEDUP_MAX_TERMS words in all;
 * of each, its lemma hashes (lemma[0], and lemma[1] when it differs), so
 * that "regjeringa" finds "regjeringen"; and last the term of the whole
 * title (dedup_sig.title_term), which finds an item of the same headline
 * first.  Distinct, into out; returns how many, at most DEDUP_MAX_INDEX.
 */
#define DEDUP_MAX_INDEX (2 * HF_DEDUP_MAX_TERMS + 1)
size_t dedup_sig_index(const struct dedup_sig *s, int64_t *out);

struct dedup_score {
	int veto;              /* the numbers/date words contradict */
	int title_pct, body_pct;
	int matched;           /* title tokens matched */
	int dist;              /* simhash Hamming distance */
	int weighted_pct;      /* weighted Dice of title and lead terms */
	int rare;              /* the titles share a number or date word */
	int need_body;         /* undecided: load b's body and ask again */
};

/*
 * Why a and b are one story or not, for people (`classify --explain`):
 * one line of the rule and its figures, then the headline words of a
 * with the word of b each matched and how (the same word, one lemma, a
 * spelling), and how many of a's lead words found a partner:
 *   "rule weighted: title 58 %, weighted 66 %, body 21 %, simhash
 *    distance 19\n"
 *   "shared: regjeringa = regjeringen (lemma); 1,2 = 1,2 (same word);
 *    fastlegeordninga = fastlegeordningen (lemma)\n"
 *   "lead: 9 of 31 words found in the other\n"
 * Both signatures with their bodies and lemmas.  Returns the rule, or
 * HF_ENOMEM.
 */
int dedup_explain(const struct dedup_sig *a, const struct dedup_sig *b, struct buf *out) HF_WUR;

/* DEDUP_RULE_* that makes a and b the same story, or DEDUP_RULE_NONE.
 * `sc` (may be NULL) gets the figures; with sc->need_body set, only the
 * summaries can decide and one side has none loaded yet. */
int dedup_same_story(const struct dedup_sig *a, const struct dedup_sig *b,
                     struct dedup_score *sc);

/* --- URL equivalence ------------------------------------------------ */

/*
 * feeds.conf's [helsefeed] same_url: a pattern is an http(s) URL in
 * which "*" stands for any run of characters ("/" too, none too) and
 * "{N}", once, for a run of digits: the publisher's own id of the page.
 * Two links that match one pattern with the same digits are one story,
 * whatever their words: regjeringen.no publishes a release under /no/
 * and /nn/ with one id, and the shipped feeds.conf says so with the
 * site's address, a "*" and "/id{N}/".
 * {N} needs a fixed character before it and, unless it ends the pattern,
 * after it (a "*" there could take some of its digits); at most 4 "*".
 */

/* 1 when p[0..n) is such a pattern, else 0 (config_load's check). */
int dedup_url_pattern_valid(const char *p, size_t n);

/* 1 when url matches pattern (dedup_url_pattern_valid), with the digits
 * of {N} at *id (into url), *idlen of them; 0 when it does not. */
int dedup_url_match(const char *pattern, const char *url, const char **id,
                    size_t *idlen);

/* The SQLite GLOB that matches the URLs of pattern with id[0..idlen) as
 * {N}, appended to out (NUL-terminated).  Returns 0 or HF_ENOMEM. */
int dedup_url_glob(const char *pattern, const char *id, size_t idlen,
                   struct buf *out) HF_WUR;

/* --- the same-story index (src/dedup/index.c) ------------------------ */

/*
 * Which items hold a term (dedup_sig_index), for the newest
 * HF_DEDUP_INDEX_ITEMS items of the store, in memory: a look-up costs a
 * walk of at most HF_DEDUP_RARE + 1 items per term and no read of the
 * store.  It is a function of the store: the pipeline builds it from the
 * stored items (store_dedup_scan: their title_norm and summary give
 * their terms again) and puts in what it writes; whatever it did not
 * write (a rolled-back ingest, a prune, another process's commit) makes
 * it build the index again (store_dedup_epoch).  What it holds therefore
 * never changes an answer: a built index and a kept one are the same.
 * It also holds what the candidate search reads of an item, its primary
 * feed, title_norm and simhash, so that a candidate the headlines rule
 * out costs no read of the store.  Memory, whatever the store holds: at
 * most HF_DEDUP_INDEX_ITEMS items of 256 bytes and their headlines, and
 * a table of their distinct terms at 14 bytes, at most three quarters
 * full and at most 2^19 of them: 10 MiB when every word of every item is
 * new (bench/soak's made-up words), 3-4 MiB for the sector's headlines.
 */
struct dedup_index;

/* An empty index of at most `cap` items (1 to 65,535).  Returns 0,
 * HF_EINVAL, HF_ENOMEM. */
int dedup_index_new(size_t cap, struct dedup_index **out) HF_WUR;
void dedup_index_free(struct dedup_index *ix);
void dedup_index_clear(struct dedup_index *ix);
size_t dedup_index_count(const struct dedup_index *ix);

/* An item as the index holds it, beside its terms. */
struct dedup_index_item {
	int64_t id;
	int64_t first_seen;
	int64_t published;     /* HF_NOTIME: none; out: the item's time */
	int64_t feed_id;       /* of its primary source */
	const char *title_norm;  /* NULL none; out: the index's, until it
	                          * next changes */
	uint64_t simhash;
	int merged;            /* it has merged sources (item_sources);
	                        * -1 in dedup_index_put: as it was */
};

/*
 * Item it->id with terms[0..n): a new item (id above every held one),
 * the oldest item leaving a full index; or a held item's new text,
 * first_seen unchanged; an item older than the held ones stays out.
 * Its time is it->published, else first_seen, as the store's
 * COALESCE(published, first_seen).  Returns 0, HF_ENOMEM (the index is
 * then unusable until dedup_index_clear).
 */
int dedup_index_put(struct dedup_index *ix, const struct dedup_index_item *it,
                    const int64_t *terms, size_t n) HF_WUR;

/* Item `id` as held: 1 and *out, 0 when the index does not hold it. */
int dedup_index_item(const struct dedup_index *ix, int64_t id,
                     struct dedup_index_item *out);

/* Item `id` got a merged source. */
void dedup_index_merged(struct dedup_index *ix, int64_t id);

/*
 * Candidates for entry time t: the items that have a rare term among
 * terms[0..nterms) and whose time lies in [t - window, t + window].  A
 * term is rare when at most HF_DEDUP_RARE items first seen since
 * t - window - HF_DEDUP_AHEAD_S have it (an item dated further ahead of
 * its first fetch than that is missed); the others find nothing.
 * Weight: 1 per rare term shared, plus DEDUP_MAX_INDEX when it is
 * title_term (the same headline).  Best first: by weight, then newest
 * id.  Writes up to `max` ids and weights to ids[], hits[]; returns how
 * many.
 */
size_t dedup_index_candidates(const struct dedup_index *ix,
                              const int64_t *terms, size_t nterms,
                              int64_t title_term, int64_t t, int64_t window,
                              int64_t *ids, int *hits, size_t max);

/* --- storage (src/store/dedup.c), on the store's own connection ------ */

struct store_dedup;

/* Prepare the statements on `st`, which must be idle (no ingest open).
 * Free with store_dedup_close before store_close.  Returns 0, HF_EDB,
 * HF_ENOMEM. */
int store_dedup_open(struct store *st, struct store_dedup **out) HF_WUR;
void store_dedup_close(struct store_dedup *sd);

/* This entry's (feed, key) as the store holds it. */
struct store_dedup_source {
	int64_t item_id;       /* 0: the feed never carried this key */
	int primary;           /* the item's primary source is this entry */
	uint64_t raw_hash;     /* of this entry as last stored */
};

/* Look up (the ingest's feed, key).  Returns 0 (and *out), HF_EDB. */
int store_dedup_source(struct store_dedup *sd, struct store_ingest *in,
                       const char *key, struct store_dedup_source *out) HF_WUR;

/* Feed id and stamp time of the ingest. */
int64_t store_dedup_feed_id(const struct store_ingest *in);
int64_t store_dedup_now(const struct store_ingest *in);

/*
 * What the same-story index is built from: the newest `limit` items,
 * oldest first, each as the index holds it (published: its time) with
 * its summary (NULL: none; both valid during the call), given to fn;
 * fn's nonzero return stops the scan and is returned.  Returns 0,
 * HF_EDB, or fn's code.
 */
int store_dedup_scan(struct store_dedup *sd, struct store_ingest *in,
                     size_t limit,
                     int (*fn)(void *ud, const struct dedup_index_item *it,
                               const char *summary),
                     void *ud) HF_WUR;

/*
 * A number that changes whenever the store's items change by other ways
 * than the pipeline's own writes: an ingest rolled back, items pruned,
 * an item stored without its fingerprint (store_ingest_entry), another
 * connection's commit (PRAGMA data_version, read once per ingest).  An
 * index built at one epoch is the store's until the epoch moves.
 * Returns 0 and *epoch, HF_EDB.
 */
int store_dedup_epoch(struct store_dedup *sd, struct store_ingest *in,
                      uint64_t *epoch) HF_WUR;

/*
 * The newest item of the window [t - window, t + window] whose link, or
 * a merged source's, matches same_url `pattern` with id[0..idlen) as
 * its {N} (dedup_url_match).  *out: its id, 0 when none.  The items of
 * the window are read through items_t, so the cost is the window's;
 * only an entry whose link matches a pattern asks.  Returns 0, HF_EDB,
 * HF_ENOMEM.
 */
int store_dedup_same_url(struct store_dedup *sd, struct store_ingest *in,
                         const char *pattern, const char *id, size_t idlen,
                         int64_t t, int64_t window, int64_t *out) HF_WUR;

/* One item as dedup sees it. */
struct store_dedup_item {
	int64_t id, feed_id, t;
	int carried;           /* the ingest's feed is one of its sources */
	const char *link;      /* its link, NULL none; the store_dedup's
	                        * until its next store_dedup_item */
};

/* Read item `id` and the title half of its signature into *sig
 * (dedup_sig_title, from its stored title_norm and simhash).  Returns 1
 * and *out, 0 when no such item, HF_EDB. */
int store_dedup_item(struct store_dedup *sd, struct store_ingest *in,
                     int64_t id, struct store_dedup_item *out,
                     struct dedup_sig *sig) HF_WUR;

/* Add the body half of item `id`'s signature (dedup_sig_body).
 * Returns 0, HF_EDB. */
int store_dedup_item_body(struct store_dedup *sd, int64_t id,
                          struct dedup_sig *sig) HF_WUR;

/*
 * Make entry `e` of the ingest's feed the primary source of item `id`:
 * the former primary becomes a merged source (its key stays known to
 * store_ingest_known), the entry's own merged row, if any, goes; the
 * item's feed, key, hash and fields (title, link, canonical URL, dates,
 * author, summary, content, entry categories) become the entry's,
 * revision is bumped, and the item's fingerprint is cleared for the
 * caller to set again; its categories too when `revision`, else they
 * stay (a merged story keeps every category of its sources).  The item
 * keeps its id and atom:id; the former primary keeps its own title,
 * summary and link as a merged source.  `revision`: the entry is its own
 * feed's new revision of the story (counted as updated by the ingest).
 * store_ingest_item_id() is then `id`.  Returns 0, HF_EDB, HF_ENOMEM.
 */
int store_dedup_promote(struct store_dedup *sd, struct store_ingest *in,
                        int64_t id, const struct feed_entry *e,
                        int revision) HF_WUR;

/* Add categories (as store_item_set_categories) to item `id`, keeping
 * those it has.  Returns 0, HF_EDB, HF_ENOMEM. */
int store_dedup_add_categories(struct store_dedup *sd, struct store_ingest *in,
                               int64_t id, const struct store_category *cats,
                               size_t n) HF_WUR;

/* Name of feed `feed_id` into `out` (appended).  Returns 1, 0 when
 * unknown, HF_EDB, HF_ENOMEM. */
int store_dedup_feed_name(struct store_dedup *sd, int64_t feed_id,
                          struct buf *out) HF_WUR;

/* Time of an entry as dedup windows it: published, else `now`. */
static inline int64_t dedup_entry_time(const struct feed_entry *e, int64_t now)
{
	return e->published != HF_NOTIME ? e->published : now;
}

#endif
