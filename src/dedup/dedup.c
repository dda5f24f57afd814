/* dedup.c - title normalisation, simhash and the same-story decision; see
 * dedup.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/dedup.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"
#include "../classify/lex.h"

/* Words a republisher puts before the headline ("Nyhet: ..."), folded,
 * sorted by byte value for bsearch. */
static const char *const prefixes[] = {
	"aktuelt", "melding", "nyheit", "nyheiter", "nyhet", "nyheter",
	"oppdatering", "oppdatert", "pressemelding", "pressemeldingar",
	"pressemeldinger",
};

/* Names that follow a headline as its source (" – Helsedirektoratet"),
 * as title_norm writes them.  The configured feeds' titles are added. */
static const char *const sources[] = {
	"direktoratet for medisinske produkter", "dmp", "fhi",
	"folkehelseinstituttet", "helse midt norge", "helse midt norge rhf",
	"helse nord", "helse nord rhf", "helse og omsorgsdepartementet",
	"helse sør øst", "helse sør øst rhf", "helse vest", "helse vest rhf",
	"helsedirektoratet", "helsenorge", "helsetilsynet", "hod", "husbanken",
	"ks", "legemiddelverket", "norsk helsenett", "regjeringa",
	"regjeringa no", "regjeringen", "regjeringen no", "statens helsetilsyn",
	"statens legemiddelverk", "statsforvaltaren", "statsforvalteren",
};

/* Function words of bokmål and nynorsk, and the words every headline of
 * the sector uses ("ny", "nye"): they say nothing about which story it
 * is.  Sorted by byte value (strcmp on UTF-8: "får" < "før") for the
 * reader; kinds_init puts them in the word-kind table. */
static const char *const stops[] = {
	"av", "ble", "blei", "bli", "blir", "de", "dei", "del", "den", "der",
	"det", "ei", "ein", "eit", "en", "er", "et", "etter", "fekk", "fikk",
	"for", "fra", "frå", "får", "før", "har", "i", "ikke", "ikkje", "kan",
	"med", "meir", "mer", "mot", "no", "ny", "nye", "nytt", "nå", "og", "om",
	"over", "på", "seg", "si", "sin", "sine", "sitt", "skal", "som", "til",
	"under", "ut", "vart", "ved", "vert", "vil", "å",
};

/* Number and date words that are facts: months (value 1-12 in the high
 * tag), ordinals, which mean the number ("første tertial" = "1.
 * tertial"), and the numbers up to twelve that headlines write out
 * ("tre milliardar" = "3 milliarder"; not "en"/"ein", the article). */
#define FACT_MONTH 0x4d4f4e5448000000ULL
static const struct fact_word {
	const char *word;
	uint64_t value;
} fact_words[] = {
	{"andre", 2}, {"april", FACT_MONTH | 4}, {"august", FACT_MONTH | 8},
	{"desember", FACT_MONTH | 12}, {"elleve", 11}, {"februar", FACT_MONTH | 2},
	{"fem", 5}, {"femte", 5}, {"fire", 4}, {"fjerde", 4}, {"fyrste", 1},
	{"første", 1}, {"januar", FACT_MONTH | 1}, {"juli", FACT_MONTH | 7},
	{"juni", FACT_MONTH | 6}, {"mai", FACT_MONTH | 5},
	{"mars", FACT_MONTH | 3}, {"ni", 9}, {"november", FACT_MONTH | 11},
	{"oktober", FACT_MONTH | 10}, {"seks", 6}, {"september", FACT_MONTH | 9},
	{"sjette", 6}, {"sju", 7}, {"syv", 7}, {"ti", 10}, {"to", 2},
	{"tolv", 12}, {"tre", 3}, {"tredje", 3}, {"åtte", 8},
};

/* Words whose lemmas a struct dedup remembers: the vocabulary of a few
 * weeks of the sector's headlines and leads fits; when the table is
 * three quarters full it starts again (32 bytes x 2^15 = 1 MiB). */
#define MEMO_BITS 15

struct memo {
	uint64_t word;         /* FNV of the folded word; 0: free slot */
	uint64_t lemma[2];
	uint8_t weight;
};

/* Who decided is a fact too: "Regjeringen avvikler fritt
 * behandlingsvalg" (the proposal) and "Stortinget avvikler fritt
 * behandlingsvalg" (the vote, weeks later) are two stories.  Title words
 * naming the deciding body, folded, sorted for bsearch; the value is the
 * body's. */
#define FACT_ACTOR 0x4143544f52000000ULL
static const struct fact_word actors[] = {
	{"regjeringa", FACT_ACTOR | 1}, {"regjeringen", FACT_ACTOR | 1},
	{"stortinget", FACT_ACTOR | 2},
};

static int cmp_fact(const void *a, const void *b)
{
	return strcmp((const char *)a, ((const struct fact_word *)b)->word);
}

struct dedup {
	uint64_t *names;       /* FNV of source names, sorted */
	size_t nnames;
	struct lex *lex;       /* NULL: dedup_new without a configuration */
	struct memo *memo;
	size_t nmemo;
	struct buf lem;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int in_table(const char *const *t, size_t n, const char *w)
{
	return bsearch(&w, t, n, sizeof *t, cmp_str) != NULL;
}

/* --- folding ------------------------------------------------------------ */

/* Letters and digits make words; marks stay inside them. */
static int is_word_cp(utf8proc_int32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       (c >= '0' && c <= '9');
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return 0;
	}
}

/*
 * The tables of the tokenizer, made once from the functions they stand
 * for: ASCII letters and digits folded (0 for any other byte), the folded
 * UTF-8 of U+0080..U+00FF (Latin-1: æøå ÆØÅ, é, ü, NBSP), which spares
 * four calls into utf8proc per Norwegian letter, and the bit spreading of
 * the simhash counters (shingle_add).
 */
struct latin1 {
	uint32_t lower;        /* utf8proc_tolower */
	uint8_t word;          /* is_word_cp */
	uint8_t n;             /* bytes of the folded UTF-8 */
	unsigned char enc[4];
};
static unsigned char ascii_fold[256];
static struct latin1 latin1[128];
static uint64_t spread[256];
static int tables_made;        /* one thread: a flag is enough */
static void kinds_init(void);

static void tables_init(void)
{
	int c, k;

	if (tables_made)
		return;
	tables_made = 1;

	for (c = 0; c < 0x80; c++)
		ascii_fold[c] = (unsigned char)(!is_word_cp(c) ? 0
		                : c >= 'A' && c <= 'Z' ? c | 0x20 : c);
	for (c = 0x80; c < 0x100; c++) {
		struct latin1 *l = &latin1[c - 0x80];

		l->word = (uint8_t)is_word_cp(c);
		l->lower = (uint32_t)utf8proc_tolower(c);
		l->n = (uint8_t)utf8proc_encode_char((utf8proc_int32_t)l->lower,
		                                     l->enc);
	}
	for (c = 0; c < 256; c++)
		for (k = 0; k < 8; k++)
			spread[c] |= (uint64_t)(c >> k & 1) << 8 * k;
	kinds_init();
}

/* Separators that set a headline apart from its decoration. */
#define SEP_NONE 0
#define SEP_COLON 1
#define SEP_DASH 2

/* One code point of s at *i (invalid bytes are skipped as U+FFFD). */
static utf8proc_int32_t next_cp(const char *s, size_t len, size_t *i)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + *i,
	                                      (utf8proc_ssize_t)(len - *i), &c);

	if (n <= 0) {
		*i += 1;
		return 0xfffd;
	}
	*i += (size_t)n;
	return c;
}

/* A folded word: bytes for hashing and output, letters for bigrams. */
#define WORD_BYTES (4 * DEDUP_MAX_WORD_CP + 8)
struct word {
	char b[WORD_BYTES];    /* NUL-terminated when handed to a word_fn */
	size_t nb;             /* bytes of the word: the hash covers all */
	size_t nkept;          /* bytes of it in b (a prefix) */
	uint64_t hash;
	uint32_t cp[DEDUP_MAX_WORD_CP];
	size_t ncp;
};

static void word_reset(struct word *w)
{
	w->nb = 0;
	w->nkept = 0;
	w->ncp = 0;
	w->hash = NORM_FNV_INIT;
}

/* Append folded code point c, `n` bytes `enc` in UTF-8.  b keeps the
 * whole code points that fit, up to the first one that does not. */
static void word_add(struct word *w, uint32_t c, const unsigned char *enc,
                     size_t n)
{
	w->hash = norm_fnv1a(w->hash, enc, n);
	if (w->nkept == w->nb && w->nkept + n < WORD_BYTES) {
		memcpy(w->b + w->nkept, enc, n);
		w->nkept += n;
	}
	w->nb += n;
	if (w->ncp < DEDUP_MAX_WORD_CP)
		w->cp[w->ncp++] = c;
}

/* word_add of the ASCII letters and digits from s on, most of a text;
 * returns how many. */
static size_t word_add_ascii(struct word *w, const unsigned char *s)
{
	size_t room = w->nkept == w->nb ? WORD_BYTES - 1 - w->nkept : 0;
	size_t cproom = DEDUP_MAX_WORD_CP - w->ncp, n;
	uint64_t h = w->hash;
	unsigned char f;

	for (n = 0; (f = ascii_fold[s[n]]) != 0; n++) {
		h = (h ^ f) * 0x100000001b3ULL;      /* norm_fnv1a */
		if (n < room)
			w->b[w->nkept + n] = (char)f;
		if (n < cproom)
			w->cp[w->ncp + n] = f;
	}
	w->hash = h;
	w->nkept += n < room ? n : room;
	w->nb += n;
	w->ncp += n < cproom ? n : cproom;
	return n;
}

/*
 * Walk the words of text (plain, or HTML when `html`: tags skipped,
 * character references treated as separators) and call fn for each,
 * with the separator kind seen before it.  Stops when fn returns nonzero.
 */
typedef int (*word_fn)(void *ud, const struct word *w, int sep);

/*
 * Whether the separator before s[i] sits inside one number written in
 * groups of three ("2.000", "2 000", "1 200 000" with a space, NBSP or
 * narrow NBSP): the word so far is digits, its last group one to three
 * of them (exactly three after a join), and exactly three digits follow.
 * "2.000" and "2000" are then one word, as they are one number; a date
 * ("15.03.2020") or a decimal ("1,2") is no such group.
 */
static int digit_group(const unsigned char *s, size_t len, size_t i,
                       const struct word *w, size_t joined)
{
	size_t k, run = w->nb - joined;

	if (w->nkept != w->nb || run < 1 || run > 3 || (joined && run != 3) ||
	    i + 3 > len)
		return 0;
	for (k = 0; k < w->nb; k++)
		if (w->b[k] < '0' || w->b[k] > '9')
			return 0;
	for (k = 0; k < 3; k++)
		if (s[i + k] < '0' || s[i + k] > '9')
			return 0;
	return i + 3 == len || s[i + 3] < '0' || s[i + 3] > '9';
}

static void each_word(const char *s, int html, word_fn fn, void *ud)
{
	const unsigned char *u = (const unsigned char *)s;
	struct word w;
	size_t len = s ? strlen(s) : 0, i = 0, joined = 0;
	int sep = SEP_NONE, prev_space = 1;

	tables_init();
	word_reset(&w);
	while (i < len) {
		utf8proc_int32_t c = u[i];

		if (ascii_fold[c]) {
			i += word_add_ascii(&w, u + i);   /* stops at the NUL */
			prev_space = 0;
			continue;
		}
		if (html && c == '<') {
			const char *gt = memchr(s + i, '>', len - i);
			i = gt ? (size_t)(gt - s) + 1 : len;
			c = ' ';
		} else if (html && c == '&') {
			const char *sc = memchr(s + i, ';', len - i < 12 ? len - i : 12);
			i = sc ? (size_t)(sc - s) + 1 : i + 1;
			c = ' ';
		} else if (c < 0x80) {
			i++;
		} else {
			c = next_cp(s, len, &i);
			if (c < 0x100) {   /* U+0080..U+00FF: folded by the table */
				const struct latin1 *l = &latin1[c - 0x80];

				if (l->word) {
					word_add(&w, l->lower, l->enc, l->n);
					prev_space = 0;
					continue;
				}
			}
		}
		if (c >= 0x100 && is_word_cp(c)) {   /* below: decided above */
			unsigned char enc[4];
			utf8proc_int32_t f = utf8proc_tolower(c);

			word_add(&w, (uint32_t)f, enc,
			         (size_t)utf8proc_encode_char(f, enc));
			prev_space = 0;
			continue;
		}
		if (w.nb && (c == '.' || c == ' ' || c == 0xa0 || c == 0x202f) &&
		    digit_group(u, len, i, &w, joined)) {
			joined = w.nb;
			continue;
		}
		if (w.nb) {
			w.b[w.nkept] = '\0';
			if (fn(ud, &w, sep))
				return;
			sep = SEP_NONE;
			word_reset(&w);
			joined = 0;
		}
		/* ':' ends a label; '|', en/em dash and a spaced hyphen set off
		 * a source name.  "helse- og" and "covid-19" are words. */
		if (c == ':')
			sep = SEP_COLON;
		else if (c == '|' || c == 0x2013 || c == 0x2014 ||
		         (c == '-' && prev_space && i < len &&
		          (s[i] == ' ' || s[i] == '\t')))
			sep = SEP_DASH;
		prev_space = c == ' ' || c == '\t' || c == 0xa0;
	}
	if (w.nb) {
		w.b[w.nkept] = '\0';
		fn(ud, &w, sep);
	}
}

/* --- title_norm --------------------------------------------------------- */

/* Title words before stripping: offsets into a buf, separator before. */
#define TITLE_MAX_WORDS (HF_MAX_TITLE / 2 + 1)

struct title_words {
	struct buf text;       /* words, each NUL-terminated */
	size_t off[TITLE_MAX_WORDS], len[TITLE_MAX_WORDS];
	uint8_t sep[TITLE_MAX_WORDS];
	size_t n;
	int rc;
};

static int title_word(void *ud, const struct word *w, int sep)
{
	struct title_words *t = ud;
	size_t nb = w->nkept;

	if (t->n == TITLE_MAX_WORDS)
		return 1;
	t->off[t->n] = t->text.len;
	t->len[t->n] = nb;
	t->sep[t->n] = (uint8_t)sep;
	if ((t->rc = buf_append(&t->text, w->b, nb)) ||
	    (t->rc = buf_putc(&t->text, '\0')))
		return 1;
	t->n++;
	return 0;
}

/* FNV of words [from, to) joined by single spaces. */
static uint64_t words_hash(const struct title_words *t, size_t from, size_t to)
{
	uint64_t h = NORM_FNV_INIT;
	size_t i;

	for (i = from; i < to; i++) {
		if (i > from)
			h = norm_fnv1a(h, " ", 1);
		h = norm_fnv1a(h, t->text.data + t->off[i], t->len[i]);
	}
	return h;
}

static int is_source(const struct dedup *d, uint64_t h)
{
	return d && bsearch(&h, d->names, d->nnames, sizeof h, cmp_u64) != NULL;
}

int dedup_title_norm(const struct dedup *d, const char *title, struct buf *out)
{
	struct title_words *t = malloc(sizeof *t);   /* arrays: written first */
	size_t from = 0, to, i, k;
	int rc = HF_OK;

	if (!t)
		return HF_ENOMEM;
	t->text = (struct buf)BUF_INIT;
	t->n = 0;
	t->rc = HF_OK;
	each_word(title, 0, title_word, t);
	if ((rc = t->rc))
		goto out;
	to = t->n;
	/* "Nyhet: ..." / "Pressemelding – ...": one label word then a
	 * separator, possibly twice ("Oppdatert: Nyhet: ..."). */
	while (to - from > 1 && t->sep[from + 1] != SEP_NONE &&
	       in_table(prefixes, sizeof prefixes / sizeof prefixes[0],
	                t->text.data + t->off[from]))
		from++;
	/* " – Helsedirektoratet", " | FHI": the words after the last dash
	 * separator, when they name a source.  Repeated for "– X – Y". */
	for (;;) {
		for (k = to; k > from + 1 && t->sep[k - 1] != SEP_DASH; k--)
			;
		if (k <= from + 1 || !is_source(d, words_hash(t, k - 1, to)))
			break;
		to = k - 1;
	}
	for (i = from; i < to; i++)
		if ((i > from && (rc = buf_putc(out, ' '))) ||
		    (rc = buf_append(out, t->text.data + t->off[i], t->len[i])))
			goto out;
out:
	buf_free(&t->text);
	free(t);
	return rc;
}

/* --- tables ------------------------------------------------------------- */

/* title_norm of a source name, hashed as is_source compares it. */
static int add_name(struct dedup *d, size_t *cap, const char *name)
{
	struct buf n = BUF_INIT;
	uint64_t *v;
	int rc;

	if (!name)
		return HF_OK;
	if ((rc = dedup_title_norm(NULL, name, &n)) || !n.len)
		goto out;
	if (d->nnames == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if (!(v = realloc(d->names, *cap * sizeof *v))) {
			rc = HF_ENOMEM;
			goto out;
		}
		d->names = v;
	}
	d->names[d->nnames++] = norm_fnv1a(NORM_FNV_INIT, n.data, n.len);
out:
	buf_free(&n);
	return rc;
}

int dedup_new(const struct config *cfg, struct dedup **out)
{
	struct dedup *d = calloc(1, sizeof *d);
	size_t cap = 0, i;
	int rc = HF_OK;

	if (!d)
		return HF_ENOMEM;
	for (i = 0; i < sizeof sources / sizeof sources[0] && !rc; i++)
		rc = add_name(d, &cap, sources[i]);
	for (i = 0; cfg && i < cfg->nfeeds && !rc; i++)
		if (!(rc = add_name(d, &cap, cfg->feeds[i].title)))
			rc = add_name(d, &cap, cfg->feeds[i].name);
	if (!rc && cfg &&
	    (rc = lex_open_config(cfg, &d->lex, NULL)) == HF_OK &&
	    !(d->memo = calloc((size_t)1 << MEMO_BITS, sizeof *d->memo)))
		rc = HF_ENOMEM;
	if (rc) {
		dedup_free(d);
		return rc;
	}
	if (d->nnames)
		qsort(d->names, d->nnames, sizeof *d->names, cmp_u64);
	*out = d;
	return HF_OK;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	free(d->names);
	lex_close(d->lex);
	free(d->memo);
	buf_free(&d->lem);
	free(d);
}

const char *dedup_rule_name(int rule)
{
	static const char *const names[] = {
		[DEDUP_RULE_NONE] = "none", [DEDUP_RULE_TITLE] = "title",
		[DEDUP_RULE_STRONG] = "strong", [DEDUP_RULE_SIMHASH] = "simhash",
		[DEDUP_RULE_BODY] = "body",
		[DEDUP_RULE_WEIGHTED] = "weighted", [DEDUP_RULE_LEAD] = "lead",
	};

	if (rule < 0 || (size_t)rule >= sizeof names / sizeof names[0])
		return "none";
	return names[rule];
}

/* --- simhash ------------------------------------------------------------ */

/*
 * The simhash counters.  Bit b of the simhash is set when more shingles
 * have it set than not.  The ones of each bit are counted eight at a
 * time: spread[] puts bit k of a byte of the shingle's hash into byte k
 * of a word, so lane[j] holds the counts of bits 8j..8j+7, one per byte,
 * and goes to ones[] before a byte can overflow.
 */
#define LANE_MAX 255
struct shingles {
	uint64_t lane[8];
	unsigned nlane;        /* shingles in lane[] since the last flush */
	uint32_t ones[64];
	uint64_t prev;         /* hash of the previous word, 0: none */
	size_t n;              /* shingles */
};

static void lanes_flush(struct shingles *sh)
{
	for (int j = 0; j < 8; j++) {
		for (int k = 0; k < 8; k++)
			sh->ones[8 * j + k] += (uint32_t)(sh->lane[j] >> 8 * k & 0xff);
		sh->lane[j] = 0;
	}
	sh->nlane = 0;
}

static void shingle_add(struct shingles *sh, uint64_t h)
{
	if (sh->prev) {
		/* The shingle "prev cur", hashed as FNV-1a continued over both
		 * word hashes: order matters, and no text is copied. */
		uint64_t x = norm_fnv1a(NORM_FNV_INIT, &sh->prev, sizeof sh->prev);
		x = norm_fnv1a(x, &h, sizeof h);
		for (int j = 0; j < 8; j++)
			sh->lane[j] += spread[x >> 8 * j & 0xff];
		if (++sh->nlane == LANE_MAX)
			lanes_flush(sh);
		sh->n++;
	}
	sh->prev = h;
}

static uint64_t shingles_hash(struct shingles *sh)
{
	uint64_t h = 0;

	/* A single word gives no shingle: its own hash stands for it. */
	if (!sh->n)
		return sh->prev;
	lanes_flush(sh);
	for (int b = 0; b < 64; b++)
		if (2 * (uint64_t)sh->ones[b] > sh->n)
			h |= 1ULL << b;
	return h;
}

/* --- signature ---------------------------------------------------------- */

/*
 * Stop words and fact words by the hash of their folded bytes (what
 * word_add computes), in one open-addressing table made once: a word is
 * looked up with one probe or two instead of two binary searches of
 * string compares.  A hash match is confirmed on the bytes.
 */
#define KIND_BITS 9
struct kind_slot {
	uint64_t hash;         /* 0: empty */
	const char *word;
	uint64_t fact;
	int kind;
};
static struct kind_slot kinds[1 << KIND_BITS];   /* by tables_init */
static size_t kinds_maxlen;    /* bytes of the longest word in kinds[] */

_Static_assert(sizeof stops / sizeof stops[0] +
               sizeof fact_words / sizeof fact_words[0] < (1 << KIND_BITS) / 2,
               "word kind table at most half full");

static void kind_put(const char *word, int kind, uint64_t fact)
{
	uint64_t h = norm_fnv1a(NORM_FNV_INIT, word, strlen(word));
	size_t i = (size_t)(h >> (64 - KIND_BITS));

	if (strlen(word) > kinds_maxlen)
		kinds_maxlen = strlen(word);
	while (kinds[i].hash && strcmp(kinds[i].word, word) != 0)
		i = (i + 1) & ((1 << KIND_BITS) - 1);
	if (!kinds[i].hash)   /* a fact word that is a stop word stays a fact */
		kinds[i] = (struct kind_slot){h ? h : 1, word, fact, kind};
}

static void kinds_init(void)
{
	for (size_t i = 0; i < sizeof fact_words / sizeof fact_words[0]; i++)
		kind_put(fact_words[i].word, DEDUP_TOK_FACT, fact_words[i].value);
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
		kind_put(stops[i], DEDUP_TOK_STOP, 0);
}

static const struct kind_slot *kind_of(const struct word *w)
{
	size_t i = (size_t)(w->hash >> (64 - KIND_BITS));

	/* Most words of a text are longer than any table word. */
	if (w->nkept != w->nb || w->nb > kinds_maxlen)
		return NULL;
	for (; kinds[i].hash; i = (i + 1) & ((1 << KIND_BITS) - 1))
		if (kinds[i].hash == (w->hash ? w->hash : 1) &&
		    strcmp(kinds[i].word, w->b) == 0)
			return &kinds[i];
	return NULL;
}

static int tok_kind(const struct word *w, uint64_t *fact)
{
	const struct kind_slot *k;
	size_t i;

	for (i = 0; i < w->nkept && w->b[i] >= '0' && w->b[i] <= '9'; i++)
		;
	if (i == w->nb) {
		/* "01" and "1" are one number; 19+ digits are an id, kept
		 * as their hash. */
		uint64_t v = 0;
		for (i = 0; i < w->nb && i < 18; i++)
			v = v * 10 + (uint64_t)(w->b[i] - '0');
		*fact = w->nb < 18 ? v : w->hash;
		return DEDUP_TOK_FACT;
	}
	if (!(k = kind_of(w)))
		return DEDUP_TOK_WORD;
	if (k->kind == DEDUP_TOK_FACT)
		*fact = k->fact;
	return k->kind;
}

/* The fact words that are numbers and nothing else ("tre milliardar"):
 * not the ordinals, which are also words ("andre" is "other", "første"
 * "first"), sorted for bsearch. */
static const char *const cardinals[] = {
	"elleve", "fem", "fire", "ni", "seks", "sju", "syv", "ti", "to", "tolv",
	"tre", "åtte",
};

/*
 * The lemma of a number or a cardinal number word is its value written
 * in digits, so that "tre" and "3", "01" and "1" are one term and match;
 * a plain number's lemma is then its own hash, as before.  A month, an
 * ordinal or a long id has none but itself.
 */
static uint64_t fact_lemma(const struct word *w, uint64_t fact)
{
	char d[24];
	size_t i;
	int n;

	for (i = 0; i < w->nb && w->b[i] >= '0' && w->b[i] <= '9'; i++)
		;
	if (w->nkept != w->nb || w->nb >= 18 || (i < w->nb &&
	    !in_table(cardinals, sizeof cardinals / sizeof cardinals[0], w->b)))
		return w->hash;
	n = snprintf(d, sizeof d, "%" PRIu64, fact);
	return norm_fnv1a(NORM_FNV_INIT, d, (size_t)n);
}

struct sig_fill {
	struct dedup_sig *s;
	struct shingles sh;
	int body;
	int noshingle;         /* the simhash is known: skip its work */
};

static int sig_word(void *ud, const struct word *w, int sep)
{
	struct sig_fill *f = ud;
	struct dedup_sig *s = f->s;
	struct dedup_tok *v = f->body ? s->body : s->title;
	size_t *n = f->body ? &s->nbody : &s->ntitle;
	size_t max = f->body ? DEDUP_MAX_WORDS : DEDUP_MAX_TOKENS, i;
	uint64_t fact = 0;
	int kind = tok_kind(w, &fact);

	(void)sep;
	if (!f->noshingle)
		shingle_add(&f->sh, w->hash);
	if (*n == max || (f->body && kind == DEDUP_TOK_STOP))
		return 0;
	for (i = 0; i < *n; i++)
		if (v[i].hash == w->hash)
			return 0;
	if (kind == DEDUP_TOK_WORD && !f->body && w->nkept == w->nb) {
		const struct fact_word *a = bsearch(w->b, actors,
		                                    sizeof actors / sizeof actors[0],
		                                    sizeof actors[0], cmp_fact);
		if (a) {
			kind = DEDUP_TOK_FACT + 1;   /* a word with a fact */
			fact = a->value;
		}
	}
	if (kind == DEDUP_TOK_FACT || kind == DEDUP_TOK_FACT + 1) {
		uint64_t *fv = f->body ? s->lead_facts : s->facts;
		size_t *fn = f->body ? &s->nlead_facts : &s->nfacts;

		for (i = 0; i < *fn && fv[i] != fact; i++)
			;
		if (i == *fn && *fn < DEDUP_MAX_FACTS)
			fv[(*fn)++] = fact;
		if (kind != DEDUP_TOK_FACT)
			kind = DEDUP_TOK_WORD;
	}
	if (kind != DEDUP_TOK_FACT && kind != DEDUP_TOK_STOP)
		kind = DEDUP_TOK_WORD;
	v[*n].hash = w->hash;
	v[*n].lemma[0] = v[*n].lemma[1] =
		kind == DEDUP_TOK_FACT ? fact_lemma(w, fact) : 0;
	v[*n].weight = 0;
	v[*n].kind = (uint8_t)kind;
	v[*n].off = (uint16_t)s->ncp;
	v[*n].ncp = (uint16_t)w->ncp;
	memcpy(s->cp + s->ncp, w->cp, w->ncp * sizeof w->cp[0]);
	s->ncp += w->ncp;
	(*n)++;
	return 0;
}

/* The index term of a whole title_norm: FNV-1a of its bytes after a
 * byte no word has, so that it is no word's term. */
static int64_t title_term(const char *title_norm)
{
	if (!title_norm || !*title_norm)
		return 0;
	return (int64_t)norm_fnv1a(norm_fnv1a(NORM_FNV_INIT, "\n", 1),
	                           title_norm, strlen(title_norm));
}

void dedup_sig_make(struct dedup_sig *s, const char *title_norm,
                    const char *summary)
{
	struct sig_fill f;

	memset(&f, 0, sizeof f);
	s->ntitle = s->nbody = s->nfacts = s->nlead_facts = s->ncp = 0;
	f.s = s;
	each_word(title_norm, 0, sig_word, &f);
	s->title_term = title_term(title_norm);
	f.body = 1;
	each_word(summary, 1, sig_word, &f);
	s->simhash = shingles_hash(&f.sh);
	s->has_body = 1;
}

void dedup_sig_title(struct dedup_sig *s, const char *title_norm,
                     uint64_t simhash)
{
	struct sig_fill f;

	memset(&f, 0, sizeof f);
	s->ntitle = s->nbody = s->nfacts = s->nlead_facts = s->ncp = 0;
	f.s = s;
	f.noshingle = 1;
	each_word(title_norm, 0, sig_word, &f);
	s->title_term = title_term(title_norm);
	s->simhash = simhash;
	s->has_body = 0;
}

void dedup_sig_body(struct dedup_sig *s, const char *summary)
{
	struct sig_fill f;

	memset(&f, 0, sizeof f);
	s->nbody = s->nlead_facts = 0;
	f.s = s;
	f.body = 1;
	f.noshingle = 1;
	each_word(summary, 1, sig_word, &f);
	s->has_body = 1;
}

size_t dedup_sig_index(const struct dedup_sig *s, int64_t *out)
{
	const struct dedup_tok *pick[DEDUP_MAX_TOKENS + DEDUP_MAX_WORDS];
	size_t n = 0, nt, i, j, k, m = 0;

	/* A word cut at DEDUP_MAX_WORD_CP letters is no word of the index. */
	for (i = 0; i < s->ntitle; i++) {
		const struct dedup_tok *t = &s->title[i];

		if (t->kind == DEDUP_TOK_STOP || t->ncp >= DEDUP_MAX_WORD_CP)
			continue;
		for (j = n; j > 0 && pick[j - 1]->ncp < t->ncp; j--)
			pick[j] = pick[j - 1];
		pick[j] = t;
		n++;
	}
	nt = n;
	for (i = 0; i < s->nbody; i++)
		if (s->body[i].kind == DEDUP_TOK_FACT &&
		    s->body[i].ncp < DEDUP_MAX_WORD_CP)
			pick[n++] = &s->body[i];
	/* Room for two of the lead's figures when the headline is long. */
	if (n > HF_DEDUP_MAX_TERMS && nt > HF_DEDUP_MAX_TERMS - 2) {
		size_t keep = HF_DEDUP_MAX_TERMS - 2;

		memmove(pick + keep, pick + nt, (n - nt) * sizeof *pick);
		n -= nt - keep;
	}
	if (n > HF_DEDUP_MAX_TERMS)
		n = HF_DEDUP_MAX_TERMS;
	for (i = 0; i < n; i++) {
		uint64_t h[2] = {pick[i]->lemma[0], pick[i]->lemma[1]};

		if (!h[0])
			h[0] = h[1] = pick[i]->hash;
		for (k = 0; k < 2; k++) {
			for (j = 0; j < m && out[j] != (int64_t)h[k]; j++)
				;
			if (j == m)
				out[m++] = (int64_t)h[k];
		}
	}
	if (s->title_term)
		out[m++] = s->title_term;
	return m;
}

/* --- lemmas and weights ---------------------------------------------- */

/* Lemmas and weight of one token, from lex (d->lex set). */
static void tok_lemmas(struct dedup *d, const struct dedup_sig *s,
                       struct dedup_tok *t, struct memo *m)
{
	unsigned char w[4 * DEDUP_MAX_WORD_CP];
	size_t n = 0, i, at = 0;
	int cnt, known = 0;

	m->lemma[0] = m->lemma[1] = t->lemma[0] ? t->lemma[0] : t->hash;
	m->weight = t->kind == DEDUP_TOK_FACT ? DEDUP_W_FACT : DEDUP_W_WORD;
	if (t->kind != DEDUP_TOK_WORD)
		return;
	for (i = 0; i < t->ncp; i++)
		n += (size_t)utf8proc_encode_char((utf8proc_int32_t)s->cp[t->off + i],
		                                  w + n);
	buf_clear(&d->lem);
	cnt = lex_lemmas(d->lex, (const char *)w, n, 0, &d->lem, &known);
	for (i = 0; cnt > 0 && i < (size_t)cnt; i++) {
		size_t len = strlen(d->lem.data + at);
		uint64_t h = norm_fnv1a(NORM_FNV_INIT, d->lem.data + at, len);

		/* The first lemma, and the last one that differs: hunspell
		 * answers nb's analyses first, then nn's. */
		if (i == 0)
			m->lemma[0] = m->lemma[1] = h;
		else if (h != m->lemma[0])
			m->lemma[1] = h;
		at += len + 1;
	}
	if (cnt > 0 && !known && t->ncp >= 4)
		m->weight = DEDUP_W_RARE;
}

static void toks_lemmas(struct dedup *d, const struct dedup_sig *s,
                        struct dedup_tok *v, size_t n)
{
	size_t mask = ((size_t)1 << MEMO_BITS) - 1, i, b;

	for (i = 0; i < n; i++) {
		struct dedup_tok *t = &v[i];
		uint64_t key = t->hash ? t->hash : 1;
		struct memo *m;

		for (b = key & mask; d->memo[b].word && d->memo[b].word != key;
		     b = (b + 1) & mask)
			;
		m = &d->memo[b];
		if (!m->word) {
			if (d->nmemo >= (3u << MEMO_BITS) / 4) {
				memset(d->memo, 0, sizeof *d->memo << MEMO_BITS);
				d->nmemo = 0;
				m = &d->memo[key & mask];
			}
			tok_lemmas(d, s, t, m);
			m->word = key;
			d->nmemo++;
		}
		t->lemma[0] = m->lemma[0];
		t->lemma[1] = m->lemma[1];
		t->weight = m->weight;
	}
}

void dedup_sig_lemmas(struct dedup *d, struct dedup_sig *s)
{
	size_t i;

	if (!d->lex) {
		/* A number's lemma is its value (sig_word). */
		for (i = 0; i < s->ntitle; i++)
			if (s->title[i].kind != DEDUP_TOK_FACT)
				s->title[i].lemma[0] = s->title[i].lemma[1] =
					s->title[i].hash;
		for (i = 0; i < s->nbody; i++)
			if (s->body[i].kind != DEDUP_TOK_FACT)
				s->body[i].lemma[0] = s->body[i].lemma[1] =
					s->body[i].hash;
		return;
	}
	toks_lemmas(d, s, s->title, s->ntitle);
	toks_lemmas(d, s, s->body, s->nbody);
}

/* --- comparison ---------------------------------------------------------- */

/* Whether the bigram Dice of two words (na, nb >= 2), in whole percent,
 * reaches DEDUP_WORD_SIM_PCT.  Each bigram of a takes the first free equal
 * one of b. */
static int bigram_similar(const uint32_t *a, size_t na, const uint32_t *b,
                          size_t nb)
{
	unsigned char used[DEDUP_MAX_WORD_CP];
	size_t i, j, common = 0, most;
	/* floor(200 * common / total) >= PCT, without the division */
	size_t total = na - 1 + nb - 1, bar = DEDUP_WORD_SIM_PCT * total;

	memset(used, 0, sizeof used);
	for (i = 0; i + 1 < na; i++) {
		/* Out of reach even if every bigram left found a partner. */
		most = common + (na - 1 - i);
		if (200 * (most < nb - 1 ? most : nb - 1) < bar)
			return 0;
		for (j = 0; j + 1 < nb; j++)
			if (!used[j] && a[i] == b[j] && a[i + 1] == b[j + 1]) {
				used[j] = 1;
				common++;
				break;
			}
	}
	return 200 * common >= bar;
}

static int tok_match(const struct dedup_sig *sa, const struct dedup_tok *a,
                     const struct dedup_sig *sb, const struct dedup_tok *b)
{
	if (a->hash == b->hash)
		return 1;
	/* One lemma: "regjeringa"/"regjeringen", "sjukehusa"/"sykehusene". */
	if (a->lemma[0] && (a->lemma[0] == b->lemma[0] || a->lemma[0] == b->lemma[1] ||
	                    a->lemma[1] == b->lemma[0] || a->lemma[1] == b->lemma[1]))
		return 1;
	/* Numbers match only themselves; short words have too few bigrams
	 * to measure; a different first letter is a different word. */
	if (a->kind != DEDUP_TOK_WORD || b->kind != DEDUP_TOK_WORD ||
	    a->ncp < 4 || b->ncp < 4 || sa->cp[a->off] != sb->cp[b->off])
		return 0;
	return bigram_similar(sa->cp + a->off, a->ncp, sb->cp + b->off, b->ncp);
}

/* Jaccard (percent) of the content tokens of a and b under tok_match;
 * *matched gets the tokens of a matched, *all whether every token of
 * both sides found a partner. */
static int jaccard(const struct dedup_sig *sa, const struct dedup_tok *a,
                   size_t na, const struct dedup_sig *sb,
                   const struct dedup_tok *b, size_t nb, int *matched,
                   int *all)
{
	unsigned char hit_b[DEDUP_MAX_WORDS];
	size_t ca = 0, cb = 0, m = 0, i, j;

	memset(hit_b, 0, sizeof hit_b);
	for (j = 0; j < nb; j++)
		cb += b[j].kind != DEDUP_TOK_STOP;
	for (i = 0; i < na; i++) {
		int hit = 0;

		if (a[i].kind == DEDUP_TOK_STOP)
			continue;
		ca++;
		for (j = 0; j < nb; j++)
			if (b[j].kind != DEDUP_TOK_STOP &&
			    tok_match(sa, &a[i], sb, &b[j])) {
				hit = 1;
				hit_b[j] = 1;
			}
		m += (size_t)hit;
	}
	if (all) {
		*all = m == ca;
		for (j = 0; j < nb; j++)
			if (b[j].kind != DEDUP_TOK_STOP && !hit_b[j])
				*all = 0;
	}
	if (matched)
		*matched = (int)m;
	/* m counts a's side; with spelling matches one token of b may serve
	 * two of a, so the union is bounded below by the larger side. */
	if (!ca || !cb)
		return 0;
	{
		size_t uni = ca + cb - (m < cb ? m : cb);
		if (uni < ca)
			uni = ca;
		return (int)(100 * (m < cb ? m : cb) / uni);
	}
}

/* x has a value that y lacks. */
static int one_sided(const uint64_t *x, size_t nx, const uint64_t *y, size_t ny)
{
	size_t i, j;

	for (i = 0; i < nx; i++) {
		for (j = 0; j < ny && y[j] != x[i]; j++)
			;
		if (j == ny)
			return 1;
	}
	return 0;
}

/* Each title has a number or date word the other lacks (the veto). */
static int facts_conflict(const struct dedup_sig *a, const struct dedup_sig *b)
{
	return one_sided(a->facts, a->nfacts, b->facts, b->nfacts) &&
	       one_sided(b->facts, b->nfacts, a->facts, a->nfacts);
}

/* Each lead has a number or date word the other lacks (DEDUP_RULE_LEAD). */
static int leads_conflict(const struct dedup_sig *a, const struct dedup_sig *b)
{
	return one_sided(a->lead_facts, a->nlead_facts, b->lead_facts,
	                 b->nlead_facts) &&
	       one_sided(b->lead_facts, b->nlead_facts, a->lead_facts,
	                 a->nlead_facts);
}

static int popcount64(uint64_t x)
{
	int n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

/*
 * The weighted rule: the title and lead terms of each side (title tokens
 * DEDUP_W_TITLE times their weight, a term of both title and lead counted
 * once, as a title term), weighted Dice in percent of the weight of the
 * terms matched on each side.  *rare: the titles share a number or date
 * word.
 */
struct wterm {
	const struct dedup_tok *t;
	int w;
};

static size_t wterms(const struct dedup_sig *s, struct wterm *out)
{
	size_t n = 0, i, j;

	for (i = 0; i < s->ntitle; i++)
		if (s->title[i].kind != DEDUP_TOK_STOP) {
			out[n].t = &s->title[i];
			out[n++].w = DEDUP_W_TITLE * (s->title[i].weight ? s->title[i].weight : 1);
		}
	for (i = 0; i < s->nbody; i++) {
		if (s->body[i].kind == DEDUP_TOK_STOP)
			continue;
		for (j = 0; j < s->ntitle && s->title[j].hash != s->body[i].hash; j++)
			;
		if (j < s->ntitle)
			continue;
		out[n].t = &s->body[i];
		out[n++].w = s->body[i].weight ? s->body[i].weight : 1;
	}
	return n;
}

static int weighted(const struct dedup_sig *a, const struct dedup_sig *b,
                    int *rare)
{
	struct wterm ta[DEDUP_MAX_TOKENS + DEDUP_MAX_WORDS];
	struct wterm tb[DEDUP_MAX_TOKENS + DEDUP_MAX_WORDS];
	size_t na = wterms(a, ta), nb = wterms(b, tb), i, j;
	long wa = 0, wb = 0, ma = 0, mb = 0;
	unsigned char hb[DEDUP_MAX_TOKENS + DEDUP_MAX_WORDS];

	*rare = 0;
	memset(hb, 0, sizeof hb);
	for (j = 0; j < nb; j++)
		wb += tb[j].w;
	for (i = 0; i < na; i++) {
		int hit = 0;

		wa += ta[i].w;
		for (j = 0; j < nb; j++)
			if (tok_match(a, ta[i].t, b, tb[j].t)) {
				hit = 1;
				if (!hb[j]) {
					hb[j] = 1;
					mb += tb[j].w;
				}
				if (ta[i].t < a->title + DEDUP_MAX_TOKENS &&
				    ta[i].t >= a->title &&
				    tb[j].t < b->title + DEDUP_MAX_TOKENS &&
				    tb[j].t >= b->title &&
				    ta[i].t->kind == DEDUP_TOK_FACT &&
				    tb[j].t->kind == DEDUP_TOK_FACT)
					*rare = 1;
			}
		if (hit)
			ma += ta[i].w;
	}
	if (!wa || !wb)
		return 0;
	return (int)(100 * (ma + mb) / (wa + wb));
}

/* A number or date word of a's title matches one of b's title: the rare
 * of weighted(), without the rest of its work. */
static int titles_share_fact(const struct dedup_sig *a, const struct dedup_sig *b)
{
	size_t i, j;

	for (i = 0; i < a->ntitle; i++)
		if (a->title[i].kind == DEDUP_TOK_FACT)
			for (j = 0; j < b->ntitle; j++)
				if (b->title[j].kind == DEDUP_TOK_FACT &&
				    tok_match(a, &a->title[i], b, &b->title[j]))
					return 1;
	return 0;
}

int dedup_same_story(const struct dedup_sig *a, const struct dedup_sig *b,
                     struct dedup_score *sc)
{
	struct dedup_score z;
	int all = 0, rule = DEDUP_RULE_NONE;

	memset(&z, 0, sizeof z);
	z.dist = popcount64(a->simhash ^ b->simhash);
	z.veto = facts_conflict(a, b);
	if (z.veto)
		goto out;
	z.title_pct = jaccard(a, a->title, a->ntitle, b, b->title, b->ntitle,
	                      &z.matched, &all);
	if (z.title_pct >= DEDUP_TITLE_PCT) {
		if (all && z.matched >= 2) {
			rule = DEDUP_RULE_TITLE;
			goto out;
		}
		if ((z.title_pct >= DEDUP_TITLE_STRONG_PCT && z.matched >= 4) ||
		    (z.title_pct >= DEDUP_TITLE_LONG_PCT &&
		     z.matched >= DEDUP_TITLE_LONG_WORDS)) {
			rule = DEDUP_RULE_STRONG;
			goto out;
		}
		if (z.dist <= DEDUP_SIMHASH_MAX_DIST && a->simhash && b->simhash) {
			rule = DEDUP_RULE_SIMHASH;
			goto out;
		}
	}
	/* Below here every rule wants the body, and either a title half
	 * shared, or a third of it with a number or date of both titles
	 * (weighted()'s rare), or a quarter with two words (the lead rule):
	 * without that, no body can make a story. */
	if (z.title_pct < DEDUP_TITLE_PCT &&
	    (z.title_pct < DEDUP_WEIGHTED_TITLE_PCT || !titles_share_fact(a, b)) &&
	    (z.title_pct < DEDUP_LEAD_TITLE_PCT || z.matched < 2))
		goto out;
	if (!a->has_body || !b->has_body) {
		z.need_body = 1;
		goto out;
	}
	z.weighted_pct = weighted(a, b, &z.rare);
	if (z.title_pct >= DEDUP_TITLE_PCT) {
		z.body_pct = jaccard(a, a->body, a->nbody, b, b->body, b->nbody,
		                     NULL, NULL);
		if (z.body_pct >= DEDUP_BODY_PCT) {
			rule = DEDUP_RULE_BODY;
			goto out;
		}
	}
	if (z.rare && z.weighted_pct >= DEDUP_WEIGHTED_PCT &&
	    z.title_pct >= DEDUP_WEIGHTED_TITLE_PCT) {
		rule = DEDUP_RULE_WEIGHTED;
		goto out;
	}
	if (z.title_pct >= DEDUP_LEAD_TITLE_PCT && z.matched >= 2) {
		if (z.title_pct < DEDUP_TITLE_PCT)
			z.body_pct = jaccard(a, a->body, a->nbody, b, b->body,
			                     b->nbody, NULL, NULL);
		if (z.body_pct >= DEDUP_BODY_PCT && !leads_conflict(a, b))
			rule = DEDUP_RULE_LEAD;
	}
out:
	if (sc)
		*sc = z;
	return rule;
}

/* --- explain ------------------------------------------------------------ */

static int put_tok(const struct dedup_sig *s, const struct dedup_tok *t, struct buf *out)
{
	unsigned char enc[4];
	size_t i;

	for (i = 0; i < t->ncp; i++)
		if (buf_append(out, (const char *)enc, (size_t)utf8proc_encode_char(
		                   (utf8proc_int32_t)s->cp[t->off + i], enc)))
			return HF_ENOMEM;
	return HF_OK;
}

int dedup_explain(const struct dedup_sig *a, const struct dedup_sig *b, struct buf *out)
{
	struct dedup_score sc;
	size_t i, j, n = 0, lead = 0, found = 0;
	int rule = dedup_same_story(a, b, &sc);

	if (sc.veto) {
		if (buf_puts(out, "rule none: the numbers or dates contradict each other\n"))
			return HF_ENOMEM;
	} else if (buf_printf(out, "rule %s: title %d %%", dedup_rule_name(rule), sc.title_pct) ||
	           /* The figures a rule of the titles alone did not need. */
	           (sc.weighted_pct && buf_printf(out, ", weighted %d %%", sc.weighted_pct)) ||
	           (sc.body_pct && buf_printf(out, ", body %d %%", sc.body_pct)) ||
	           buf_printf(out, ", simhash distance %d\n", sc.dist)) {
		return HF_ENOMEM;
	}
	if (buf_puts(out, "shared:"))
		return HF_ENOMEM;
	for (i = 0; i < a->ntitle; i++) {
		const struct dedup_tok *x = &a->title[i], *y = NULL;
		const char *how;

		if (x->kind == DEDUP_TOK_STOP)
			continue;
		for (j = 0; j < b->ntitle && !y; j++)
			if (b->title[j].kind != DEDUP_TOK_STOP && tok_match(a, x, b, &b->title[j]))
				y = &b->title[j];
		if (!y)
			continue;
		how = x->hash == y->hash ? "same word" :
		      x->lemma[0] && (x->lemma[0] == y->lemma[0] || x->lemma[0] == y->lemma[1] ||
		                      x->lemma[1] == y->lemma[0] || x->lemma[1] == y->lemma[1])
		      ? "lemma" : "spelling";
		if (buf_puts(out, n++ ? "; " : " ") || put_tok(a, x, out) ||
		    buf_puts(out, " = ") || put_tok(b, y, out) || buf_printf(out, " (%s)", how))
			return HF_ENOMEM;
	}
	for (i = 0; i < a->nbody; i++) {
		if (a->body[i].kind == DEDUP_TOK_STOP)
			continue;
		lead++;
		for (j = 0; j < b->nbody; j++)
			if (b->body[j].kind != DEDUP_TOK_STOP &&
			    tok_match(a, &a->body[i], b, &b->body[j])) {
				found++;
				break;
			}
	}
	if (buf_puts(out, n ? "\n" : " none\n") ||
	    buf_printf(out, "lead: %zu of %zu words found in the other\n", found, lead))
		return HF_ENOMEM;
	return rule;
}

/* --- URL equivalence (same_url) ----------------------------------------- */

#define URL_CAPTURE "{N}"

/* pattern p[0..pn) against u[0..un); the digits of {N} into *id, *idn. */
static int url_match(const char *p, size_t pn, const char *u, size_t un,
                     const char **id, size_t *idn, unsigned depth)
{
	size_t i;

	/* "*" backtracks: a pattern of a few stars on a URL of HF_MAX_URL
	 * bytes stays cheap, a pathological one is refused. */
	if (depth > 8)
		return 0;
	while (pn) {
		if (*p == '*') {
			for (i = 0; i <= un; i++)
				if (url_match(p + 1, pn - 1, u + i, un - i, id, idn, depth + 1))
					return 1;
			return 0;
		}
		if (pn >= 3 && !memcmp(p, URL_CAPTURE, 3)) {
			for (i = 0; i < un && u[i] >= '0' && u[i] <= '9'; i++)
				;
			/* All the digits: the pattern goes on with no digit. */
			if (!i || !url_match(p + 3, pn - 3, u + i, un - i, id, idn, depth + 1))
				return 0;
			*id = u;
			*idn = i;
			return 1;
		}
		if (!un || *p != *u)
			return 0;
		p++, pn--, u++, un--;
	}
	return un == 0;
}

int dedup_url_pattern_valid(const char *p, size_t n)
{
	const char *cap = NULL;
	size_t i, stars = 0;

	if (n > HF_MAX_URL || !((n > 7 && !memcmp(p, "http://", 7)) ||
	                        (n > 8 && !memcmp(p, "https://", 8))))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || (unsigned char)p[i] < 0x20)
			return 0;
		if (p[i] == '*')
			stars++;
		if (i + 3 <= n && !memcmp(p + i, URL_CAPTURE, 3)) {
			if (cap)
				return 0;
			cap = p + i;
		}
	}
	/* One id, with a fixed character on either side (or the end) so
	 * that no "*" can take some of its digits. */
	return cap && stars <= 4 && cap > p && cap[-1] != '*' &&
	       (cap + 3 == p + n || (cap[3] != '*' && !(cap[3] >= '0' && cap[3] <= '9')));
}

int dedup_url_match(const char *pattern, const char *url, const char **id,
                    size_t *idlen)
{
	const char *d = NULL;
	size_t dn = 0;

	if (!url || !url_match(pattern, strlen(pattern), url, strlen(url), &d, &dn, 0))
		return 0;
	*id = d;
	*idlen = dn;
	return 1;
}

int dedup_url_glob(const char *pattern, const char *id, size_t idlen,
                   struct buf *out)
{
	const char *p;

	for (p = pattern; *p; p++) {
		int rc;

		if (!strncmp(p, URL_CAPTURE, 3)) {
			rc = buf_append(out, id, idlen);
			p += 2;
		} else if (*p == '?' || *p == '[') {
			rc = buf_putc(out, '[') || buf_putc(out, *p) || buf_putc(out, ']');
		} else {
			rc = buf_putc(out, *p);
		}
		if (rc)
			return HF_ENOMEM;
	}
	return buf_reserve(out, 1) ? HF_ENOMEM : (out->data[out->len] = '\0', HF_OK);
}
