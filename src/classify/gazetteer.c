/* gazetteer.c - weighted terms of the sector, matched through lemmas and
 * compound parts; see gaz.h and classify.h.
 *
 * Compiled form: every term is a phrase of one or more words; every
 * distinct word of every term is a key (its folded form, and whether it
 * must be written in capitals).  A hash table maps strings to keys: the
 * key's own form, and its lemmas from lex.h.  A word of an item reaches
 * keys by (in order, the first that finds any):
 *
 *   1. its folded form, or that form less a genitive 's' ("Haukelands");
 *   2. its lemmas (hunspell nb/nn; Snowball for a word they do not know)
 *      against the keys' lemmas ("sjukehusa" -> sjukehus);
 *   3. the parts of a compound: a key then a word the dictionaries know,
 *      maybe after a joining s or e ("korona|vaksine", "legevakt|sentral"),
 *      or a known word then a form of a key ("lokal|sjukehusa").
 *
 * Capital-only keys (UNN, OUS, KS) take step 1 only, and only from a
 * word written without lower-case letters.  The keys of a word are the
 * same for every item, so they are kept per word in a bounded table: a
 * news text repeats its vocabulary, and a miss costs a few dictionary
 * look-ups (a few microseconds each).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <utf8proc.h>

#include "helsefeed/classify.h"
#include "gaz.h"
#include "lex.h"

#define HASH_BITS 12
/* The word table: 32768 words of up to 40 bytes, about 2 MB; a day of
 * the sector's feeds uses some 20,000 distinct words.  When 3/4 full it
 * is cleared whole: simple, and the next items fill it again.  A miss
 * costs some 10 us (two hunspell analyses, a few look-ups of parts), a
 * hit well under 1 us. */
#define CACHE_BITS 15
#define CACHE_WORD 40
/* Keys one word can reach: the parts of a compound, several lemmas; the
 * table keeps them all, so that a word gives the same keys each time. */
#define WORD_KEYS 8
/* Words in one term ("Helse Møre og Romsdal" has four). */
#define MAX_PHRASE 8
/* Terms in all: a per-item bound is GAZ_MAX_HITS, this one keeps ids
 * small. */
#define MAX_TERMS 8192

struct gterm {
	uint32_t cat;
	int32_t weight;         /* thousandths: sums are exact */
	uint32_t kw, nw;        /* keys of its words: tkeys[kw .. kw + nw) */
	uint32_t text;          /* display text in pool */
	uint32_t src;           /* index into srcs */
	int line;
	int hidden;             /* a partner only: counts for nothing itself */
	uint32_t pbeg, pend;    /* partners: partners[pbeg .. pend) */
};

struct gkey {
	uint32_t off, len;      /* folded form in pool */
	int caps;
	uint32_t obeg, oend;    /* occurrences: occ[obeg .. oend) */
};

struct gocc {
	uint32_t term, pos;
};

enum { E_FORM, E_LEMMA };

struct hent {
	uint32_t h, off, len, key;
	int kind;
	int32_t next;
};

struct centry {
	uint32_t h;
	uint8_t len, nk;
	uint16_t key[WORD_KEYS];
	uint8_t how[WORD_KEYS];
	char w[CACHE_WORD];
};

struct gaz {
	struct gterm *terms;
	size_t nterms;
	struct gkey *keys;
	size_t nkeys;
	uint32_t *tkeys;
	size_t ntkeys;
	struct gocc *occ;
	uint32_t *partners;     /* term ids */
	size_t npartners;
	struct hent *ent;
	size_t nent;
	int32_t head[1 << HASH_BITS];
	uint64_t pre3[(1 << HASH_BITS) / 64];   /* first 3 bytes of lemmas */
	char *pool;
	size_t npool;
	double *threshold;      /* per category, as given */
	size_t ncats;
	char *srcs[2];
	struct lex *lex;
	struct centry *cache;
	size_t ncache;
};

/* --- parsing (shared with config.c and the fuzzer) ------------------------ */

int classify_weight_parse(const char *s, size_t n, double *out)
{
	char tmp[32], *end = NULL;
	double d;
	size_t i = 0;

	if (!n || n >= sizeof tmp)
		return HF_EINVAL;
	if (s[0] == '-' || s[0] == '+')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return HF_EINVAL;
	for (; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return HF_EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	d = strtod(tmp, &end);
	if (errno || *end || d < -100 || d > 100)
		return HF_EINVAL;
	*out = d;
	return HF_OK;
}

/* A word of a term: folded bytes and whether written in capitals. */
struct tword {
	char w[CLASSIFY_MAX_WORD + 8];
	size_t n;
	int caps;
};

/*
 * Split a term's text (NFC UTF-8) into words as classify.c splits item
 * text, with '-' a separator too ("covid-19" is the phrase covid 19).
 * Returns the number of words, or -1 with a message.
 */
static int term_words(const char *t, size_t n, struct tword *out, char *msg, size_t mn)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t nl, i;
	int nw = 0, lower = 0, upper = 0, rc = -1;
	struct tword *cur = NULL;

	nl = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)n, &nfc,
	                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (nl < 0) {
		snprintf(msg, mn, "invalid UTF-8 in term '%.*s'", (int)n, t);
		return -1;
	}
	for (i = 0; i <= nl;) {
		utf8proc_int32_t cp = 0;
		utf8proc_ssize_t m = 1;
		utf8proc_category_t k = UTF8PROC_CATEGORY_CN;

		if (i < nl) {
			m = utf8proc_iterate(nfc + i, nl - i, &cp);
			if (m <= 0) {
				snprintf(msg, mn, "invalid UTF-8 in term '%.*s'", (int)n, t);
				goto out;
			}
			k = utf8proc_category(cp);
		}
		if (i < nl && k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ND) {
			if (!cur) {
				if (nw == MAX_PHRASE) {
					snprintf(msg, mn, "more than %d words in term '%.*s'",
					         MAX_PHRASE, (int)n, t);
					goto out;
				}
				cur = &out[nw++];
				cur->n = 0;
				lower = upper = 0;
			}
			lower |= k == UTF8PROC_CATEGORY_LL;
			upper += k == UTF8PROC_CATEGORY_LU;
			if (cur->n + 4 > CLASSIFY_MAX_WORD) {
				snprintf(msg, mn, "a word too long in term '%.*s'", (int)n, t);
				goto out;
			}
			cur->n += (size_t)utf8proc_encode_char(utf8proc_tolower(cp),
			                                       (utf8proc_uint8_t *)cur->w + cur->n);
		} else if (cur) {
			/* UNN, OUS, KS: two capitals or more, nothing lower-case. */
			cur->caps = !lower && upper >= 2;
			cur = NULL;
		}
		i += m;
	}
	if (!nw)
		snprintf(msg, mn, "no word in term '%.*s'", (int)n, t);
	rc = nw ? nw : -1;
out:
	free(nfc);
	return rc;
}

/*
 * One entry "[WEIGHT] WORDS": the weight (1 when absent) and the term
 * text after it.  -1 with a message.
 */
static int parse_entry(const char *s, size_t n, double *w, const char **t, size_t *tn,
                       const char **p, size_t *pn, char *msg, size_t mn)
{
	size_t a = 0, b;
	const char *lb, *rb;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (a < n && (s[a] == ' ' || s[a] == '\t'))
		a++;
	for (b = a; b < n && s[b] != ' ' && s[b] != '\t'; b++)
		;
	*w = 1;
	if (a < n && ((s[a] >= '0' && s[a] <= '9') || s[a] == '-' || s[a] == '+') && b < n) {
		if (classify_weight_parse(s + a, b - a, w)) {
			snprintf(msg, mn, "a weight from -100 to 100 expected, not '%.*s'",
			         (int)(b - a), s + a);
			return -1;
		}
		for (a = b; a < n && (s[a] == ' ' || s[a] == '\t'); a++)
			;
	}
	if (a == n) {
		snprintf(msg, mn, "empty term");
		return -1;
	}
	*t = s + a;
	*tn = n - a;
	*p = NULL;
	*pn = 0;
	/* "TERM [PARTNER PARTNER ...]": the term counts only beside one. */
	lb = memchr(*t, '[', *tn);
	rb = memchr(*t, ']', *tn);
	if (!lb && !rb)
		return 0;
	if (!lb || !rb || rb < lb || rb != *t + *tn - 1 || memchr(lb + 1, '[', (size_t)(rb - lb))) {
		snprintf(msg, mn, "expected TERM [PARTNER ...], the ']' last, in '%.*s'",
		         (int)*tn, *t);
		return -1;
	}
	*p = lb + 1;
	*pn = (size_t)(rb - lb - 1);
	*tn = (size_t)(lb - *t);
	while (*tn && ((*t)[*tn - 1] == ' ' || (*t)[*tn - 1] == '\t'))
		(*tn)--;
	if (!*tn) {
		snprintf(msg, mn, "no term before '['");
		return -1;
	}
	return 0;
}

/* Check the words of a term and of its partners; -1 with a message. */
static int entry_words(const char *t, size_t tn, const char *p, size_t pn, char *msg,
                       size_t mn)
{
	struct tword words[MAX_PHRASE];
	size_t i = 0, e, seen = 0;

	if (term_words(t, tn, words, msg, mn) < 0)
		return -1;
	while (p && i < pn) {
		for (; i < pn && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (e = i; e < pn && p[e] != ' ' && p[e] != '\t'; e++)
			;
		if (e > i) {
			if (term_words(p + i, e - i, words, msg, mn) < 0)
				return -1;
			seen++;
		}
		i = e;
	}
	if (p && !seen) {
		snprintf(msg, mn, "empty '[]' after '%.*s'", (int)tn, t);
		return -1;
	}
	return 0;
}

int classify_terms_check(const char *s, char *msg, size_t mn)
{
	const char *t, *p;
	size_t n, tn, pn;
	double w;

	for (;;) {
		n = strcspn(s, ",");
		if (parse_entry(s, n, &w, &t, &tn, &p, &pn, msg, mn) ||
		    entry_words(t, tn, p, pn, msg, mn))
			return -1;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

/* --- compiling -------------------------------------------------------------- */

struct gcomp {
	struct gaz *g;
	const struct config *cfg;
	struct buf pool;
	size_t capterms, capkeys, captk, capent, cappart;
	struct buf lem;
	struct buf *err;
	int nerr;
};

static void *grow_arr(void *p, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *np;

	if (n < *cap)
		return p;
	nc = *cap ? *cap * 2 : 64;
	if (!(np = realloc(p, nc * size)))
		return NULL;
	*cap = nc;
	return np;
}

static uint32_t hash_str(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int pool_add(struct gcomp *k, const char *s, size_t n, uint32_t *off)
{
	*off = (uint32_t)k->pool.len;
	if (buf_append(&k->pool, s, n) || buf_putc(&k->pool, '\0'))
		return HF_ENOMEM;
	return HF_OK;
}

static int hash_add(struct gcomp *k, const char *s, size_t n, uint32_t key, int kind)
{
	struct gaz *g = k->g;
	struct hent *e;
	uint32_t h = hash_str(s, n), b = h >> (32 - HASH_BITS);
	int32_t i;

	for (i = g->head[b]; i >= 0; i = g->ent[i].next)
		if (g->ent[i].h == h && g->ent[i].key == key && g->ent[i].kind == kind &&
		    g->ent[i].len == n &&
		    !memcmp(k->pool.data + g->ent[i].off, s, n))
			return HF_OK;
	if (!(e = grow_arr(g->ent, &k->capent, g->nent, sizeof *e)))
		return HF_ENOMEM;
	g->ent = e;
	e = &g->ent[g->nent];
	e->h = h;
	e->len = (uint32_t)n;
	e->key = key;
	e->kind = kind;
	if (pool_add(k, s, n, &e->off))
		return HF_ENOMEM;
	e->next = g->head[b];
	g->head[b] = (int32_t)g->nent++;
	if (kind == E_LEMMA && n >= 3) {
		uint32_t p = hash_str(s, 3) >> (32 - HASH_BITS);

		g->pre3[p / 64] |= 1ULL << p % 64;
	}
	return HF_OK;
}

/* The key of word tw, made when new. */
static int key_of(struct gcomp *k, const struct tword *tw, uint32_t *out)
{
	struct gaz *g = k->g;
	struct gkey *kk;
	size_t i;

	for (i = 0; i < g->nkeys; i++)
		if (g->keys[i].caps == tw->caps && g->keys[i].len == tw->n &&
		    !memcmp(k->pool.data + g->keys[i].off, tw->w, tw->n)) {
			*out = (uint32_t)i;
			return HF_OK;
		}
	if (g->nkeys >= UINT16_MAX)
		return HF_ETOOBIG;
	if (!(kk = grow_arr(g->keys, &k->capkeys, g->nkeys, sizeof *kk)))
		return HF_ENOMEM;
	g->keys = kk;
	kk = &g->keys[g->nkeys];
	memset(kk, 0, sizeof *kk);
	kk->caps = tw->caps;
	kk->len = (uint32_t)tw->n;
	if (pool_add(k, tw->w, tw->n, &kk->off))
		return HF_ENOMEM;
	*out = (uint32_t)g->nkeys++;
	return HF_OK;
}

static int add_one(struct gcomp *k, size_t cat, double weight, const char *t, size_t tn,
                   uint32_t src, int line, int hidden)
{
	struct gaz *g = k->g;
	struct tword words[MAX_PHRASE];
	char msg[256];
	struct gterm *gt;
	uint32_t *tk;
	int nw, i, rc;

	if ((nw = term_words(t, tn, words, msg, sizeof msg)) < 0) {
		k->nerr++;
		return k->err ? buf_printf(k->err, "%s:%d: %s\n", g->srcs[src], line, msg) : 0;
	}
	if (g->nterms >= MAX_TERMS) {
		k->nerr++;
		return k->err ? buf_printf(k->err, "%s:%d: more than %d terms\n", g->srcs[src],
		                           line, MAX_TERMS) : 0;
	}
	if (!(gt = grow_arr(g->terms, &k->capterms, g->nterms, sizeof *gt)))
		return HF_ENOMEM;
	g->terms = gt;
	gt = &g->terms[g->nterms];
	gt->cat = (uint32_t)cat;
	gt->weight = (int32_t)lround(weight * 1000);
	gt->kw = (uint32_t)g->ntkeys;
	gt->nw = (uint32_t)nw;
	gt->src = src;
	gt->line = line;
	gt->hidden = hidden;
	gt->pbeg = gt->pend = 0;
	if ((rc = pool_add(k, t, tn, &gt->text)))
		return rc;
	for (i = 0; i < nw; i++) {
		if (!(tk = grow_arr(g->tkeys, &k->captk, g->ntkeys, sizeof *tk)))
			return HF_ENOMEM;
		g->tkeys = tk;
		if ((rc = key_of(k, &words[i], &g->tkeys[g->ntkeys])))
			return rc;
		g->ntkeys++;
	}
	g->nterms++;
	return HF_OK;
}

/* A term and its partners (p, pn: the text inside '[...]', or NULL). */
static int add_term(struct gcomp *k, size_t cat, double weight, const char *t, size_t tn,
                    const char *p, size_t pn, uint32_t src, int line)
{
	struct gaz *g = k->g;
	size_t term = g->nterms, i = 0, e, j;
	uint32_t *pp;
	int rc;

	if ((rc = add_one(k, cat, weight, t, tn, src, line, 0)) || g->nterms == term)
		return rc;
	g->terms[term].pbeg = g->terms[term].pend = (uint32_t)g->npartners;
	while (p && i < pn) {
		for (; i < pn && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (e = i; e < pn && p[e] != ' ' && p[e] != '\t'; e++)
			;
		if (e == i)
			break;
		/* One hidden term per partner text and category. */
		for (j = 0; j < g->nterms; j++)
			if (g->terms[j].hidden && g->terms[j].cat == cat &&
			    strlen(k->pool.data + g->terms[j].text) == e - i &&
			    !memcmp(k->pool.data + g->terms[j].text, p + i, e - i))
				break;
		if (j == g->nterms && ((rc = add_one(k, cat, 0, p + i, e - i, src, line, 1)) ||
		                       g->nterms == j))
			return rc;
		if (!(pp = grow_arr(g->partners, &k->cappart, g->npartners, sizeof *pp)))
			return HF_ENOMEM;
		g->partners = pp;
		g->partners[g->npartners++] = (uint32_t)j;
		g->terms[term].pend = (uint32_t)g->npartners;
		i = e;
	}
	return HF_OK;
}

static long cat_index(const struct config *cfg, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < cfg->ncategories; i++)
		if (strlen(cfg->categories[i].name) == n && !memcmp(cfg->categories[i].name, name, n))
			return (long)i;
	return -1;
}

static int gerr(struct gcomp *k, const char *file, int line, const char *what, const char *s,
                size_t n)
{
	k->nerr++;
	if (!k->err)
		return HF_OK;
	return buf_printf(k->err, "%s:%d: %s%s%.*s%s\n", file, line, what, s ? " '" : "",
	                  (int)n, s ? s : "", s ? "'" : "");
}

/*
 * The gazetteer file's text: "[category NAME]" sections of "threshold =
 * N" and "[WEIGHT] TERM" lines; ';' or '#' start a comment.  Sections of
 * categories the configuration has not are skipped.  With k->g NULL only
 * checks (the fuzzer, classify_gazetteer_check).
 */
static int parse_file(struct gcomp *k, const char *file, const char *s, size_t len,
                      double *thr)
{
	const char *p = s, *e = s + len;
	long cat = -2;          /* -2: before any section, -1: unknown category */
	int line = 0, rc;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p)), *q;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p), i;
		char msg[256];

		line++;
		/* Comments: at the start, or after a blank. */
		for (i = 0; i < n; i++)
			if ((p[i] == ';' || p[i] == '#') && (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t'))
				break;
		n = i;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		while (n && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		q = p;
		p = nl ? nl + 1 : e;
		if (!n)
			continue;
		if (memchr(q, '\0', n)) {
			if ((rc = gerr(k, file, line, "NUL byte in line", NULL, 0)))
				return rc;
			continue;
		}
		if (q[0] == '[') {
			const char *name = q + 10;

			if (n < 12 || memcmp(q, "[category ", 10) || q[n - 1] != ']') {
				if ((rc = gerr(k, file, line, "expected [category NAME], not", q, n)))
					return rc;
				cat = -1;
				continue;
			}
			cat = k->cfg ? cat_index(k->cfg, name, n - 11) : 0;
			continue;
		}
		if (cat == -2) {
			if ((rc = gerr(k, file, line, "a term before any [category NAME]:", q, n)))
				return rc;
			continue;
		}
		if (n > 9 && !memcmp(q, "threshold", 9) && (q[9] == ' ' || q[9] == '=')) {
			const char *v = memchr(q, '=', n);
			double d = 0;

			if (v)
				for (v++; v < q + n && (*v == ' ' || *v == '\t'); v++)
					;
			if (!v || classify_weight_parse(v, (size_t)(q + n - v), &d) || d <= 0) {
				if ((rc = gerr(k, file, line, "expected threshold = NUMBER above 0, not", q, n)))
					return rc;
				continue;
			}
			if (cat >= 0 && thr)
				thr[cat] = d;
			continue;
		}
		{
			const char *t, *pt;
			size_t tn, pn;
			double w;

			if (parse_entry(q, n, &w, &t, &tn, &pt, &pn, msg, sizeof msg) ||
			    (!k->g && entry_words(t, tn, pt, pn, msg, sizeof msg))) {
				if ((rc = gerr(k, file, line, msg, NULL, 0)))
					return rc;
				continue;
			}
			if (k->g && cat >= 0 &&
			    (rc = add_term(k, (size_t)cat, w, t, tn, pt, pn, 0, line)))
				return rc;
		}
	}
	return HF_OK;
}

int classify_gazetteer_check(const char *name, const char *text, size_t len, struct buf *err)
{
	struct gcomp k = {0};
	int rc;

	k.err = err;
	if ((rc = parse_file(&k, name, text, len, NULL)))
		return rc;
	return k.nerr ? HF_ECONFIG : HF_OK;
}

static int read_file(const char *path, char **out, size_t *len, struct buf *err)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (!f) {
		if (err)
			buf_printf(err, "%s: cannot open the gazetteer: %s\n", path, strerror(errno));
		return HF_EIO;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(&b, chunk, n)) {
			fclose(f);
			buf_free(&b);
			return HF_ENOMEM;
		}
	if (ferror(f)) {
		if (err)
			buf_printf(err, "%s: cannot read the gazetteer: %s\n", path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return HF_EIO;
	}
	fclose(f);
	*len = b.len;
	if (!(*out = buf_detach(&b)) && !(*out = strdup("")))
		return HF_ENOMEM;
	return HF_OK;
}

/* Keys' lemmas into the hash; occurrences of keys in terms. */
static int index_keys(struct gcomp *k)
{
	struct gaz *g = k->g;
	size_t i, j, *cnt = NULL;
	int rc = HF_ENOMEM, known;

	for (i = 0; i < g->nkeys; i++) {
		const struct gkey *kk = &g->keys[i];
		char form[CLASSIFY_MAX_WORD + 8];   /* the pool grows below */
		int m;

		memcpy(form, k->pool.data + kk->off, kk->len);

		if ((rc = hash_add(k, form, kk->len, (uint32_t)i, E_FORM)))
			goto out;
		if (kk->caps)
			continue;
		buf_clear(&k->lem);
		if ((m = lex_lemmas(g->lex, form, kk->len, 1, &k->lem, &known)) < 0) {
			rc = m;
			goto out;
		}
		for (j = 0; j < k->lem.len; j += strlen(k->lem.data + j) + 1)
			if ((rc = hash_add(k, k->lem.data + j, strlen(k->lem.data + j),
			                   (uint32_t)i, E_LEMMA)))
				goto out;
		/* The form itself as a lemma: "tiltak" is a lemma of "tiltaka". */
		if ((rc = hash_add(k, form, kk->len, (uint32_t)i, E_LEMMA)))
			goto out;
	}
	rc = HF_ENOMEM;
	if (!(g->occ = calloc(g->ntkeys + 1, sizeof *g->occ)) ||
	    !(cnt = calloc(g->nkeys + 1, sizeof *cnt)))
		goto out;
	for (i = 0; i < g->ntkeys; i++)
		cnt[g->tkeys[i] + 1]++;
	for (i = 0; i < g->nkeys; i++) {
		cnt[i + 1] += cnt[i];
		g->keys[i].obeg = g->keys[i].oend = (uint32_t)cnt[i];
	}
	for (i = 0; i < g->nterms; i++)
		for (j = 0; j < g->terms[i].nw; j++) {
			struct gkey *kk = &g->keys[g->tkeys[g->terms[i].kw + j]];

			g->occ[kk->oend].term = (uint32_t)i;
			g->occ[kk->oend].pos = (uint32_t)j;
			kk->oend++;
		}
	rc = HF_OK;
out:
	free(cnt);
	return rc;
}

int gaz_compile(const struct config *cfg, struct gaz **out, struct buf *err)
{
	struct gcomp k = {0};
	struct gaz *g = NULL;
	char *text = NULL;
	const char *path;
	size_t len = 0, i;
	int rc = HF_ENOMEM, use_file;
	struct stat sb;

	*out = NULL;
	k.pool = (struct buf)BUF_INIT;
	k.lem = (struct buf)BUF_INIT;
	k.err = err;
	k.cfg = cfg;
	/* A file the admin names must be there.  The default is the
	 * installed one, else (a build run from its tree: tests, the offline
	 * sample) the source tree's; without either, no gazetteer. */
	path = cfg->gazetteer;
#ifdef HF_GAZETTEER_SRC
	if (path && !cfg->gazetteer_line && stat(path, &sb) != 0)
		path = HF_GAZETTEER_SRC;
#endif
	use_file = path && strcmp(path, "none") && (cfg->gazetteer_line || stat(path, &sb) == 0);
	if (!cfg->ncategories)
		return HF_OK;
	if (!(g = calloc(1, sizeof *g)))
		goto fail;
	k.g = g;
	memset(g->head, 0xff, sizeof g->head);
	g->ncats = cfg->ncategories;
	if (!(g->threshold = calloc(g->ncats, sizeof *g->threshold)))
		goto fail;
	for (i = 0; i < g->ncats; i++)
		g->threshold[i] = 1;
	if (use_file) {
		if (!(g->srcs[0] = strdup(path)))
			goto fail;
		if ((rc = read_file(path, &text, &len, err)))
			goto fail;
		if ((rc = parse_file(&k, path, text, len, g->threshold)))
			goto fail;
	}
	if (!(g->srcs[1] = strdup(cfg->path ? cfg->path : "feeds.conf")))
		goto fail;
	for (i = 0; i < cfg->ncategories; i++) {
		const struct config_category *cc = &cfg->categories[i];
		const char *s = cc->terms, *t, *pt;
		char msg[256];
		size_t n, tn, pn;
		double w;

		if (cc->threshold && classify_weight_parse(cc->threshold, strlen(cc->threshold),
		                                           &g->threshold[i]) == 0 &&
		    g->threshold[i] <= 0)
			g->threshold[i] = 1;
		while (s && *s) {
			n = strcspn(s, ",");
			if (parse_entry(s, n, &w, &t, &tn, &pt, &pn, msg, sizeof msg)) {
				if ((rc = gerr(&k, g->srcs[1], cc->terms_line, msg, NULL, 0)))
					goto fail;
			} else if ((rc = add_term(&k, i, w, t, tn, pt, pn, 1, cc->terms_line))) {
				goto fail;
			}
			s += n + (s[n] == ',');
		}
	}
	rc = HF_ECONFIG;
	if (k.nerr)
		goto fail;
	if (!g->nterms) {
		gaz_free(g);
		g = NULL;
		rc = HF_OK;
		goto done;
	}
	if ((rc = lex_open_config(cfg, &g->lex, err)))
		goto fail;
	if ((rc = index_keys(&k)))
		goto fail;
	rc = HF_ENOMEM;
	if (!(g->cache = calloc((size_t)1 << CACHE_BITS, sizeof *g->cache)))
		goto fail;
	g->npool = k.pool.len;
	if (!(g->pool = buf_detach(&k.pool)))
		goto fail;
	*out = g;
	g = NULL;
	rc = HF_OK;
	goto done;
fail:
	gaz_free(g);
done:
	buf_free(&k.pool);
	buf_free(&k.lem);
	free(text);
	return rc;
}

void gaz_free(struct gaz *g)
{
	if (!g)
		return;
	free(g->terms);
	free(g->keys);
	free(g->tkeys);
	free(g->occ);
	free(g->partners);
	free(g->ent);
	free(g->pool);
	free(g->threshold);
	free(g->srcs[0]);
	free(g->srcs[1]);
	free(g->cache);
	lex_close(g->lex);
	free(g);
}

long gaz_threshold(const struct gaz *g, size_t cat)
{
	return g ? lround(g->threshold[cat] * 1000) : 1000;
}

size_t gaz_term_cat(const struct gaz *g, uint32_t t)
{
	return g->terms[t].cat;
}

long gaz_term_weight(const struct gaz *g, uint32_t t)
{
	return g->terms[t].weight;
}

const struct gaz_hit *gaz_counts(const struct gaz *g, const struct gaz_state *st, size_t i,
                                 int *counts)
{
	const struct gterm *t = &g->terms[st->hit[i].term];
	size_t p, j;

	*counts = 0;
	if (t->hidden)
		return NULL;
	*counts = t->pbeg == t->pend;
	for (p = t->pbeg; p < t->pend; p++)
		for (j = 0; j < st->nhit; j++)
			if (st->hit[j].term == g->partners[p]) {
				*counts = 1;
				return &st->hit[j];
			}
	return NULL;
}

const char *gaz_term_text(const struct gaz *g, uint32_t t)
{
	return g->pool + g->terms[t].text;
}

const char *gaz_term_src(const struct gaz *g, uint32_t t, int *line)
{
	*line = g->terms[t].line;
	return g->srcs[g->terms[t].src];
}

/* --- a word's keys ------------------------------------------------------------ */

struct wkeys {
	uint16_t key[WORD_KEYS];
	uint8_t how[WORD_KEYS];
	size_t n;
};

static void wk_add(struct wkeys *wk, uint32_t key, int how)
{
	size_t i;

	for (i = 0; i < wk->n; i++)
		if (wk->key[i] == key)
			return;
	if (wk->n < WORD_KEYS) {
		wk->key[wk->n] = (uint16_t)key;
		wk->how[wk->n++] = (uint8_t)how;
	}
}

/* Keys with string s[0..n) of `kind` (forms: caps keys too when caps_ok). */
static size_t lookup(const struct gaz *g, const char *s, size_t n, int kind, int caps_ok,
                     struct wkeys *wk, int how)
{
	uint32_t h = hash_str(s, n);
	int32_t i;
	size_t found = 0;

	for (i = g->head[h >> (32 - HASH_BITS)]; i >= 0; i = g->ent[i].next) {
		const struct hent *e = &g->ent[i];

		if (e->h == h && e->kind == kind && e->len == n && !memcmp(g->pool + e->off, s, n) &&
		    (caps_ok || !g->keys[e->key].caps)) {
			wk_add(wk, e->key, how);
			found++;
		}
	}
	return found;
}

/* Lemmas of s[0..n) that are keys' lemmas; *known as lex_lemmas. */
static size_t lemma_keys(const struct gaz *g, const char *s, size_t n, struct wkeys *wk,
                         int how, int *known)
{
	struct buf lem = BUF_INIT;
	size_t found = 0, j;

	*known = 0;
	if (lex_lemmas(g->lex, s, n, 1, &lem, known) > 0)
		for (j = 0; j < lem.len; j += strlen(lem.data + j) + 1)
			found += lookup(g, lem.data + j, strlen(lem.data + j), E_LEMMA, 0, wk, how);
	buf_free(&lem);
	return found;
}

/* Does a known word (or a key) make up s[0..n), maybe with a joining
 * s or e at its end (the part before a compound's head)? */
static int modifier_ok(const struct gaz *g, const char *s, size_t n)
{
	struct wkeys tmp = {0};

	if (n < 2)
		return 0;
	if (lex_known(g->lex, s, n) || lookup(g, s, n, E_LEMMA, 0, &tmp, 0))
		return 1;
	return n > 3 && (s[n - 1] == 's' || s[n - 1] == 'e') &&
	       (lex_known(g->lex, s, n - 1) || lookup(g, s, n - 1, E_LEMMA, 0, &tmp, 0));
}

/* Does a word (in any form) make up s[0..n), the head of a compound? */
static int head_ok(const struct gaz *g, const char *s, size_t n)
{
	struct wkeys tmp = {0};

	return n >= 4 && (lex_known(g->lex, s, n) || lookup(g, s, n, E_LEMMA, 0, &tmp, 0));
}

static void word_keys(const struct gaz *g, const char *w, size_t n, struct wkeys *wk)
{
	size_t i, found;
	int known;

	found = lookup(g, w, n, E_FORM, 1, wk, GAZ_SAME);
	if (n > 2 && w[n - 1] == 's')
		found += lookup(g, w, n - 1, E_FORM, 1, wk, GAZ_GEN);
	found += lemma_keys(g, w, n, wk, GAZ_LEMMA, &known);
	if (found || n < 6)
		return;
	/* Compounds: a split after i bytes (never inside a code point). */
	for (i = 3; i + 3 <= n; i++) {
		struct wkeys part = {0};
		size_t j;

		if (((unsigned char)w[i] & 0xc0) == 0x80)
			continue;
		/* A key, then a word: "korona|vaksine", "legevakt|sentral". */
		/* A joining s or e only after a key of four bytes or more:
		 * "russland" is no "rus|s|land". */
		if (lookup(g, w, i, E_LEMMA, 0, &part, GAZ_PART) &&
		    (head_ok(g, w + i, n - i) ||
		     (i >= 4 && (w[i] == 's' || w[i] == 'e') && head_ok(g, w + i + 1, n - i - 1))))
			for (j = 0; j < part.n; j++)
				wk_add(wk, part.key[j], GAZ_PART);
		/* A word, then a form of a key: "lokal|sjukehusa"; a head of
		 * three letters is too often a mere ending ("set|tes"). */
		part.n = 0;
		if (n - i < 4)
			continue;
		{
			uint32_t p = hash_str(w + i, 3) >> (32 - HASH_BITS);

			if (!(g->pre3[p / 64] >> p % 64 & 1))
				continue;
		}
		if ((lookup(g, w + i, n - i, E_LEMMA, 0, &part, GAZ_PART) ||
		     lemma_keys(g, w + i, n - i, &part, GAZ_PART, &known)) &&
		    modifier_ok(g, w, i))
			for (j = 0; j < part.n; j++)
				wk_add(wk, part.key[j], GAZ_PART);
	}
}

/* The keys of word w from the table, or worked out and put there. */
static void cached_keys(const struct gaz *g, const char *w, size_t n, struct wkeys *wk)
{
	struct gaz *mg = (struct gaz *)g;    /* the table is the one mutable part */
	uint32_t h = hash_str(w, n), b, mask = (1u << CACHE_BITS) - 1;
	struct centry *e;
	size_t i;

	wk->n = 0;
	if (n >= CACHE_WORD) {
		word_keys(g, w, n, wk);
		return;
	}
	for (b = h & mask;; b = (b + 1) & mask) {
		e = &mg->cache[b];
		if (!e->len)
			break;
		if (e->h == h && e->len == n && !memcmp(e->w, w, n)) {
			for (i = 0; i < e->nk; i++) {
				wk->key[i] = e->key[i];
				wk->how[i] = e->how[i];
			}
			wk->n = e->nk;
			return;
		}
	}
	word_keys(g, w, n, wk);
	if (mg->ncache >= (3u << CACHE_BITS) / 4) {
		memset(mg->cache, 0, sizeof(*mg->cache) << CACHE_BITS);
		mg->ncache = 0;
	}
	for (b = h & mask; mg->cache[b].len; b = (b + 1) & mask)
		;
	e = &mg->cache[b];
	e->h = h;
	e->len = (uint8_t)n;
	memcpy(e->w, w, n);
	e->nk = (uint8_t)wk->n;
	for (i = 0; i < e->nk; i++) {
		e->key[i] = wk->key[i];
		e->how[i] = wk->how[i];
	}
	mg->ncache++;
}

/* --- an item ------------------------------------------------------------------ */

static void add_hit(struct gaz_state *st, uint32_t term, uint32_t field, size_t off,
                    size_t end, int how)
{
	size_t i;

	for (i = 0; i < st->nhit; i++)
		if (st->hit[i].term == term)
			return;
	if (st->nhit == GAZ_MAX_HITS)
		return;
	st->hit[st->nhit].term = term;
	st->hit[st->nhit].field = field;
	st->hit[st->nhit].off = (uint32_t)off;
	st->hit[st->nhit].len = (uint32_t)(end - off);
	st->hit[st->nhit].how = (uint8_t)how;
	st->nhit++;
}

void gaz_gap(struct gaz_state *st)
{
	st->tok += 2;
}

void gaz_word(const struct gaz *g, struct gaz_state *st, const char *w, size_t n, int caps,
              uint32_t field, size_t off, size_t end,
              int (*excluded)(void *arg, size_t cat, const char *w, size_t n), void *arg)
{
	struct wkeys wk;
	uint32_t tok = ++st->tok;
	size_t i, o, j;

	cached_keys(g, w, n, &wk);
	for (i = 0; i < wk.n; i++) {
		const struct gkey *k = &g->keys[wk.key[i]];

		if (k->caps && !caps)
			continue;
		for (o = k->obeg; o < k->oend; o++) {
			const struct gocc *oc = &g->occ[o];
			const struct gterm *t = &g->terms[oc->term];

			if (excluded && excluded(arg, t->cat, w, n))
				continue;
			if (t->nw == 1) {
				add_hit(st, oc->term, field, off, end, wk.how[i]);
				continue;
			}
			if (oc->pos == 0) {
				/* A fresh phrase, in the slot of a stale one. */
				for (j = 0; j < st->npart && st->part[j].tok + 1 >= tok; j++)
					;
				if (j == GAZ_MAX_PARTIAL)
					continue;
				if (j == st->npart)
					st->npart++;
				st->part[j].term = oc->term;
				st->part[j].pos = 1;
				st->part[j].tok = tok;
				st->part[j].off = (uint32_t)off;
				st->part[j].how = wk.how[i];
				continue;
			}
			for (j = 0; j < st->npart; j++)
				if (st->part[j].term == oc->term && st->part[j].pos == oc->pos &&
				    st->part[j].tok + 1 == tok)
					break;
			if (j == st->npart)
				continue;
			st->part[j].pos++;
			st->part[j].tok = tok;
			if (wk.how[i] > st->part[j].how)
				st->part[j].how = wk.how[i];
			if (st->part[j].pos == t->nw) {
				add_hit(st, oc->term, field, st->part[j].off, end, st->part[j].how);
				st->part[j].tok = 0;        /* done: stale */
			}
		}
	}
}
