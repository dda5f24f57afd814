/* classify.c - keyword rules of categories; see classify.h.
 *
 * Compiled form: every distinct pattern of a category is one atom (kind +
 * folded bytes in a shared pool).  Each match term points at its atom and
 * at a range of partner atoms; excludes are atoms of their own.  An item is
 * scanned once: every word is folded once into a stack buffer and looked up
 * in hash tables of the atoms of all categories by their first bytes,
 * recording the first word that satisfied each atom.  The terms are
 * evaluated at the end, so a partner may come before or after its term, in
 * any field.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/classify.h"
#include "gaz.h"
#include "helsefeed/text.h"

/* Per-item state lives on the stack, one slot per atom: the bound keeps it
 * a few kilobytes.  The production rules have about 60 patterns. */
#define MAX_ATOMS 512

enum kind { K_EXACT, K_PREFIX, K_SUFFIX, K_INFIX };

struct atom {
	uint32_t off;           /* into pool */
	uint16_t len;
	uint32_t cat;           /* index of its category */
	uint8_t kind;
};

/*
 * Atoms are indexed by their head: the first HEAD bytes of the pattern, or
 * all of it when shorter.  A word probes the bucket of the head at each of
 * its positions, so an item costs about one probe per letter whatever the
 * number of rules; with four bytes few positions find a bucket that is not
 * empty (two would send every "he" to the ten "*helse...*" patterns).  A
 * pattern that must start the word (exact, prefix) is in a table of its
 * own that is probed at the start only.  Heads shorter than HEAD are
 * probed with their own length, for the lengths that occur.
 */
#define HEAD sizeof(uint32_t)
#define HEAD_BITS 11

/* An atom as its bucket lists it: the head's bytes, as a number, and a
 * mask of those bytes. */
struct slot {
	uint32_t head, mask;
	uint16_t atom;
};

struct heads {
	uint64_t used[(1 << HEAD_BITS) / 64];   /* bit b: bucket b has slots */
	uint16_t bucket[(1 << HEAD_BITS) + 1];  /* bucket b: slot[bucket[b]..bucket[b+1]) */
	struct slot *slot;
	unsigned lens;          /* bit l: some head has l bytes */
};

static unsigned head_hash(uint32_t h)
{
	return (unsigned)((h * 2654435761u) >> (32 - HEAD_BITS));
}

struct term {
	uint16_t atom;
	uint16_t cbeg, cend;    /* partner atoms: conds[cbeg..cend) */
};

struct cat {
	char *name;
	uint16_t abeg, aend;    /* atoms of the category (terms and partners) */
	uint16_t tbeg, tend;    /* match terms */
	uint16_t xbeg, xend;    /* exclude atoms, in xatoms */
};

/* A Latin-1 code point (U+0080..U+00FF: æøå ÆØÅ é ü NBSP) as is_word_cp
 * and fold_cp see it, worked out once: Norwegian text has a few in every
 * sentence, and each would cost four calls into utf8proc. */
struct latin1 {
	uint8_t word;
	uint8_t lower;          /* a lower-case letter */
	uint8_t n;              /* bytes of fold */
	char fold[4];
};

struct classify {
	struct cat *cats;
	size_t ncats;
	struct atom *atoms, *xatoms;
	size_t natoms, nxatoms;
	struct term *terms;
	size_t nterms;
	uint16_t *conds;
	size_t nconds;
	char *pool;
	struct heads start;     /* exact and prefix atoms */
	struct heads any;       /* suffix and infix atoms */
	uint32_t mask[HEAD + 1];        /* of the first l bytes of a head */
	struct latin1 latin1[0x80];     /* U+0080 + i */
	struct gaz *gaz;        /* weighted terms, or NULL */
};

/* --- characters ----------------------------------------------------------- */

/* Letters, marks and decimal digits make words; '-' joins their parts. */
static int is_word_cp(int32_t cp)
{
	utf8proc_category_t k;

	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || cp == '-';
	/* U+2011 NON-BREAKING HYPHEN is a hyphen as far as words go. */
	if (cp == 0x2011)
		return 1;
	k = utf8proc_category(cp);
	return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ND;
}

/* An ASCII letter or digit, folded; 0 for any other byte (NUL too). */
static unsigned char ascii_word(unsigned char ch)
{
	unsigned char f = (unsigned char)(ch | 0x20);

	if ((unsigned)(f - 'a') < 26)
		return f;
	return (unsigned)(ch - '0') < 10 ? ch : 0;
}

/* Append the folded form of a word code point; returns bytes written. */
static size_t fold_cp(int32_t cp, char *dst)
{
	if (cp < 0x80) {
		dst[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
		return 1;
	}
	if (cp == 0x2011)
		cp = '-';
	return (size_t)utf8proc_encode_char(utf8proc_tolower(cp), (utf8proc_uint8_t *)dst);
}

/* Make room for element n of an array of `size`-byte elements with *cap
 * slots: returns the (maybe moved) array, or NULL with p untouched. */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 16;
	np = realloc(p, ncap * size);
	if (np)
		*cap = ncap;
	return np;
}

/* --- compiling -------------------------------------------------------------- */

struct comp {
	struct classify *c;
	size_t cap_atoms, cap_xatoms, cap_terms, cap_conds;
	struct buf pool;
	struct buf *err;
	const char *cat, *key;  /* for messages */
	size_t cati;
	int nerr;
	int full;               /* the limit was reported once already */
};

static int comp_error(struct comp *k, const char *what, const char *t, size_t n)
{
	k->nerr++;
	if (!k->err)
		return HF_OK;
	if (t)
		return buf_printf(k->err, "category %s: %s: %s '%.*s'\n", k->cat,
		                  k->key, what, (int)n, t);
	return buf_printf(k->err, "category %s: %s: %s\n", k->cat, k->key, what);
}

static int comp_full(struct comp *k)
{
	if (k->full)
		return HF_OK;
	k->full = 1;
	return comp_error(k, "more terms than the limit of 512", NULL, 0);
}

/*
 * Parse one term (t, n: raw text without brackets) into an atom of the
 * current category (atoms in [abeg, natoms), or the exclude list).
 * *idx gets the atom index; -1 when the term was reported as bad.
 */
static int comp_atom(struct comp *k, const char *t, size_t n, size_t abeg,
                     int exclude, int *idx)
{
	struct classify *c = k->c;
	utf8proc_uint8_t *nfc = NULL;
	const char *b = t;
	size_t bn = n, i, flen = 0;
	struct atom a, *arr;
	size_t *cnt, *cap;
	char fold[CLASSIFY_MAX_WORD + 8];
	int rc = HF_OK, pre = 0, suf = 0;
	utf8proc_ssize_t nl;

	*idx = -1;
	if (bn && b[0] == '*') {
		b++, bn--;
		suf = 1;
	}
	if (bn && b[bn - 1] == '*') {
		bn--;
		pre = 1;
	}
	if (!bn) {
		rc = comp_error(k, "empty term", NULL, 0);
		goto out;
	}
	if (memchr(b, '*', bn)) {
		rc = comp_error(k, "'*' inside term", t, n);
		goto out;
	}
	if (bn > CLASSIFY_MAX_WORD) {          /* before utf8proc_map allocates */
		rc = comp_error(k, "term longer than a word can be", t, n);
		goto out;
	}
	/* Terms are typed by people: compose them like the item text is. */
	nl = utf8proc_map((const utf8proc_uint8_t *)b, (utf8proc_ssize_t)bn, &nfc,
	                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (nl < 0) {
		rc = nl == UTF8PROC_ERROR_NOMEM ? HF_ENOMEM
		                                 : comp_error(k, "invalid UTF-8 in term", t, n);
		goto out;
	}
	for (i = 0; i < (size_t)nl;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m = utf8proc_iterate(nfc + i, nl - (utf8proc_ssize_t)i, &cp);

		if (m < 0 || !is_word_cp(cp)) {
			rc = comp_error(k, "not a letter, digit or '-' in term", t, n);
			goto out;
		}
		flen += fold_cp(cp, fold + flen);
		if (flen > CLASSIFY_MAX_WORD) {
			rc = comp_error(k, "term longer than a word can be", t, n);
			goto out;
		}
		i += (size_t)m;
	}
	/* Words lose their edge hyphens, so such a term could never match. */
	if ((!suf && fold[0] == '-') || (!pre && fold[flen - 1] == '-')) {
		rc = comp_error(k, "'-' at the edge of a term never matches", t, n);
		goto out;
	}

	a.kind = (uint8_t)(pre && suf ? K_INFIX : pre ? K_PREFIX : suf ? K_SUFFIX : K_EXACT);
	a.len = (uint16_t)flen;
	a.cat = (uint32_t)k->cati;
	arr = exclude ? c->xatoms : c->atoms;
	cnt = exclude ? &c->nxatoms : &c->natoms;
	cap = exclude ? &k->cap_xatoms : &k->cap_atoms;
	for (i = abeg; i < *cnt; i++)
		if (arr[i].kind == a.kind && arr[i].len == a.len &&
		    !memcmp(k->pool.data + arr[i].off, fold, flen)) {
			*idx = (int)i;
			goto out;
		}
	if (*cnt >= MAX_ATOMS) {
		rc = comp_full(k);
		goto out;
	}
	if (!(arr = grow(arr, cap, *cnt, sizeof(*arr)))) {
		rc = HF_ENOMEM;
		goto out;
	}
	if (exclude)
		c->xatoms = arr;
	else
		c->atoms = arr;
	a.off = (uint32_t)k->pool.len;
	if ((rc = buf_append(&k->pool, fold, flen)))
		goto out;
	arr[*cnt] = a;
	*idx = (int)(*cnt)++;
out:
	free(nfc);
	return rc;
}

#define IS_SEP(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == '\n' || (ch) == '\r' || (ch) == ',')
#define IS_END(ch) (!(ch) || IS_SEP(ch) || (ch) == '[' || (ch) == ']')

/* After a reported error: skip a bracket group from its '[' on, nested
 * ones included, so that one mistake gives one message. */
static const char *skip_group(const char *p)
{
	int depth = 0;

	do {
		depth += *p == '[';
		depth -= *p == ']';
		p++;
	} while (*p && depth > 0);
	return p;
}

static int add_term(struct comp *k, int atom)
{
	struct classify *c = k->c;
	struct term *t;

	if (c->nterms >= MAX_ATOMS)
		return comp_full(k);
	if (!(t = grow(c->terms, &k->cap_terms, c->nterms, sizeof(*t))))
		return HF_ENOMEM;
	c->terms = t;
	t[c->nterms].atom = (uint16_t)atom;
	t[c->nterms].cbeg = t[c->nterms].cend = (uint16_t)c->nconds;
	c->nterms++;
	return HF_OK;
}

static int add_cond(struct comp *k, int atom)
{
	struct classify *c = k->c;
	uint16_t *cd;

	if (c->nconds >= MAX_ATOMS)
		return comp_full(k);
	if (!(cd = grow(c->conds, &k->cap_conds, c->nconds, sizeof(*cd))))
		return HF_ENOMEM;
	c->conds = cd;
	c->conds[c->nconds++] = (uint16_t)atom;
	c->terms[c->nterms - 1].cend = (uint16_t)c->nconds;
	return HF_OK;
}

/*
 * Parse "[a b ...]" at p (on the '['): the partners of the term just added
 * (term_ok: it compiled).  *end gets the position after the group.
 */
static int comp_group(struct comp *k, const char *p, size_t abeg, int term_ok,
                      const char **end)
{
	const char *g = p, *t;
	int rc, idx, seen = 0;

	for (p++;;) {
		while (IS_SEP(*p))
			p++;
		if (*p == ']' || *p == '[' || !*p)
			break;
		for (t = p; !IS_END(*p); p++)
			;
		seen = 1;
		if ((rc = comp_atom(k, t, (size_t)(p - t), abeg, 0, &idx)))
			return rc;
		if (term_ok && idx >= 0 && (rc = add_cond(k, idx)))
			return rc;
	}
	*end = p + (*p == ']');
	if (*p == '[') {
		*end = skip_group(g);
		return comp_error(k, "'[' inside '[...]'", NULL, 0);
	}
	if (!*p)
		return comp_error(k, "'[' without ']'", NULL, 0);
	if (!seen)
		return comp_error(k, "empty '[...]' after term", NULL, 0);
	return HF_OK;
}

/* Compile one rule text (match or exclude) of the current category. */
static int comp_rules(struct comp *k, const char *s, size_t abeg, int exclude)
{
	const char *p = s, *t;
	int rc, idx;

	while (*p) {
		if (IS_SEP(*p)) {
			p++;
			continue;
		}
		if (*p == '[' || *p == ']') {
			rc = comp_error(k, *p == '[' ? "'[' without a term before it"
			                             : "']' without '['", NULL, 0);
			if (rc)
				return rc;
			p = *p == '[' ? skip_group(p) : p + 1;
			continue;
		}
		for (t = p; !IS_END(*p); p++)
			;
		if ((rc = comp_atom(k, t, (size_t)(p - t), abeg, exclude, &idx)))
			return rc;
		if (!exclude && idx >= 0 && (rc = add_term(k, idx)))
			return rc;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[')
			continue;
		if (exclude) {
			if ((rc = comp_error(k, "no '[...]' conditions in exclude", t,
			                     strcspn(t, " \t["))))
				return rc;
			p = skip_group(p);
			continue;
		}
		if ((rc = comp_group(k, p, abeg, idx >= 0, &p)))
			return rc;
	}
	return HF_OK;
}

/* The first l bytes at p as a head value (the bytes in memory order). */
static uint32_t head_of(const char *p, size_t l)
{
	unsigned char b[HEAD] = {0};
	uint32_t h;

	memcpy(b, p, l);
	memcpy(&h, b, sizeof h);
	return h;
}

static int starts_word(const struct atom *a)
{
	return a->kind == K_EXACT || a->kind == K_PREFIX;
}

/* Index the atoms that must start a word (`start`) or the others. */
static int build_heads(struct classify *c, struct heads *t, int start)
{
	uint16_t fill[1 << HEAD_BITS];
	size_t i, b, n = 0;

	memset(t->bucket, 0, sizeof t->bucket);
	memset(t->used, 0, sizeof t->used);
	for (i = 0; i < c->natoms; i++) {
		const struct atom *a = &c->atoms[i];
		size_t l = a->len < HEAD ? a->len : HEAD;

		if (starts_word(a) != start)
			continue;
		b = head_hash(head_of(c->pool + a->off, l));
		t->bucket[b + 1]++;
		t->used[b / 64] |= 1ULL << b % 64;
		t->lens |= 1u << l;
		n++;
	}
	if (n && !(t->slot = malloc(n * sizeof(*t->slot))))
		return HF_ENOMEM;
	for (b = 0; b < 1u << HEAD_BITS; b++) {
		t->bucket[b + 1] = (uint16_t)(t->bucket[b + 1] + t->bucket[b]);
		fill[b] = t->bucket[b];
	}
	for (i = 0; i < c->natoms; i++) {
		const struct atom *a = &c->atoms[i];
		size_t l = a->len < HEAD ? a->len : HEAD;
		struct slot *sl;

		if (starts_word(a) != start)
			continue;
		sl = &t->slot[fill[head_hash(head_of(c->pool + a->off, l))]++];
		sl->head = head_of(c->pool + a->off, l);
		sl->mask = c->mask[l];
		sl->atom = (uint16_t)i;
	}
	return HF_OK;
}

static int build_index(struct classify *c)
{
	size_t l;

	for (l = 0; l <= HEAD; l++)
		c->mask[l] = head_of("\xff\xff\xff\xff", l);
	if (build_heads(c, &c->start, 1) || build_heads(c, &c->any, 0))
		return HF_ENOMEM;
	return HF_OK;
}

int classify_compile(const struct config *cfg, struct classify **out, struct buf *err)
{
	struct comp k = {0};
	struct classify *c = NULL;
	size_t i;
	int rc = HF_ENOMEM;

	k.pool = (struct buf)BUF_INIT;
	k.err = err;
	if (!(c = calloc(1, sizeof(*c))))
		goto fail;
	for (i = 0; i < 0x80; i++) {
		c->latin1[i].word = (uint8_t)is_word_cp((int32_t)i + 0x80);
		c->latin1[i].lower = utf8proc_category((int32_t)i + 0x80) == UTF8PROC_CATEGORY_LL;
		c->latin1[i].n = (uint8_t)fold_cp((int32_t)i + 0x80, c->latin1[i].fold);
	}
	k.c = c;
	if (cfg->ncategories && !(c->cats = calloc(cfg->ncategories, sizeof(*c->cats))))
		goto fail;
	c->ncats = cfg->ncategories;
	for (i = 0; i < cfg->ncategories; i++) {
		const struct config_category *cc = &cfg->categories[i];
		struct cat *ct = &c->cats[i];

		rc = HF_ENOMEM;
		if (!(ct->name = strdup(cc->name)))
			goto fail;
		k.cat = cc->name;
		k.cati = i;
		ct->abeg = (uint16_t)c->natoms;
		ct->tbeg = (uint16_t)c->nterms;
		ct->xbeg = (uint16_t)c->nxatoms;
		k.key = "match";
		if (cc->match && (rc = comp_rules(&k, cc->match, ct->abeg, 0)))
			goto fail;
		k.key = "exclude";
		if (cc->exclude && (rc = comp_rules(&k, cc->exclude, ct->xbeg, 1)))
			goto fail;
		ct->aend = (uint16_t)c->natoms;
		ct->tend = (uint16_t)c->nterms;
		ct->xend = (uint16_t)c->nxatoms;
	}
	/* The gazetteer's errors too before giving up: all in one go. */
	rc = gaz_compile(cfg, &c->gaz, err);
	if (rc && rc != HF_ECONFIG)
		goto fail;
	if (k.nerr)
		rc = HF_ECONFIG;
	if (rc)
		goto fail;
	rc = HF_ENOMEM;
	if (!(c->pool = buf_detach(&k.pool)) || build_index(c))
		goto fail;
	*out = c;
	return HF_OK;
fail:
	buf_free(&k.pool);
	classify_free(c);
	return rc;
}

void classify_free(struct classify *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->ncats; i++)
		free(c->cats[i].name);
	free(c->cats);
	free(c->atoms);
	free(c->xatoms);
	free(c->terms);
	free(c->conds);
	free(c->pool);
	free(c->start.slot);
	free(c->any.slot);
	gaz_free(c->gaz);
	free(c);
}

size_t classify_count(const struct classify *c)
{
	return c->ncats;
}

/* --- matching --------------------------------------------------------------- */

enum { F_NONE, F_TITLE, F_SUMMARY, F_CONTENT, F_CATEGORY };

/* First word that satisfied an atom: field (F_NONE: not yet), where. */
struct wit {
	uint32_t field;         /* F_CATEGORY + i for the i-th category text */
	uint32_t off, len;
};

struct scan {
	const struct classify *c;
	struct wit *st;
	uint32_t field;
	size_t ostart, oend;    /* the word in the field text, edge '-' excluded */
	size_t wn;              /* folded bytes in w */
	int toolong;
	int hyphen;             /* w holds a '-' */
	uint32_t lower;         /* bit p: part p (between '-') has a lower-case letter */
	unsigned part;          /* '-' seen in the word so far */
	struct gaz_state *gs;
	char w[CLASSIFY_MAX_WORD + 8];  /* HEAD - 1 bytes readable past a word */
};

/* Does pattern a occur in w[0..n) at offset i, as its kind requires? */
static int atom_at(const struct atom *a, const char *pool, const char *w, size_t n, size_t i)
{
	size_t m = a->len;

	if (i + m > n)
		return 0;
	switch (a->kind) {
	case K_EXACT: if (i || n != m) return 0; break;
	case K_PREFIX: if (i) return 0; break;
	case K_SUFFIX: if (i + m != n) return 0; break;
	default: break;
	}
	return !memcmp(w + i, pool + a->off, m);
}

static int atom_match(const struct atom *a, const char *pool, const char *w, size_t n)
{
	size_t i;

	for (i = 0; i + a->len <= n; i++)
		if (atom_at(a, pool, w, n, i))
			return 1;
	return 0;
}

static int excluded(const struct classify *c, const struct cat *ct, const char *w, size_t n)
{
	size_t i;

	for (i = ct->xbeg; i < ct->xend; i++)
		if (atom_match(&c->xatoms[i], c->pool, w, n))
			return 1;
	return 0;
}

/* Atom id matched the word unit w (a part of `whole` when that is set):
 * record the first such word, unless the category excludes it. */
static void found(struct scan *s, size_t id, const char *w, size_t n, const char *whole,
                  size_t wholen)
{
	const struct classify *c = s->c;
	const struct cat *ct = &c->cats[c->atoms[id].cat];

	if (excluded(c, ct, w, n) || (whole && excluded(c, ct, whole, wholen)))
		return;
	s->st[id].field = s->field;
	s->st[id].off = (uint32_t)s->ostart;
	s->st[id].len = (uint32_t)(s->oend - s->ostart);
}

/* Probe table t with the head of l bytes at position i of the unit. */
static inline void probe(struct scan *s, const struct heads *t, size_t l, const char *w,
                         size_t n, size_t i, const char *whole, size_t wholen)
{
	const struct classify *c = s->c;
	uint32_t at;
	size_t j, b;

	/* Bytes past the unit (w has room) are masked out, or belong to a
	 * pattern too long to fit, which atom_at turns away. */
	memcpy(&at, w + i, sizeof at);
	b = head_hash(at & c->mask[l]);
	/* Most buckets are empty: the bitmap, small enough to stay in the
	 * cache, says so without a look at the bucket. */
	if (!(t->used[b / 64] >> b % 64 & 1))
		return;
	for (j = t->bucket[b]; j < t->bucket[b + 1]; j++) {
		const struct slot *sl = &t->slot[j];

		if ((at & sl->mask) == sl->head && s->st[sl->atom].field == F_NONE &&
		    atom_at(&c->atoms[sl->atom], c->pool, w, n, i))
			found(s, sl->atom, w, n, whole, wholen);
	}
}

static void match_unit(struct scan *s, const char *w, size_t n, const char *whole,
                       size_t wholen)
{
	const struct classify *c = s->c;
	size_t i, l;

	/* Every atom that occurs in the unit gets this word, whichever
	 * probe finds it first. */
	for (l = 1; l <= HEAD && l <= n; l++) {
		if (c->start.lens >> l & 1)
			probe(s, &c->start, l, w, n, 0, whole, wholen);
		if (c->any.lens >> l & 1)
			for (i = 0; i + l <= n; i++)
				probe(s, &c->any, l, w, n, i, whole, wholen);
	}
}

/* classify.h: exclude terms hold for the gazetteer's terms too. */
static int gaz_excluded(void *arg, size_t cat, const char *w, size_t n)
{
	const struct scan *s = arg;
	const struct cat *ct = &s->c->cats[cat];

	return ct->xbeg != ct->xend && excluded(s->c, ct, w, n);
}

/* The gazetteer sees the parts of a hyphenated word as words in a row:
 * "covid-19-vaksine" is covid, 19, vaksine; "SUS-direktøren" starts
 * with SUS in capitals. */
static void gaz_parts(struct scan *s, const char *w, size_t n, uint32_t lower)
{
	size_t j, e;
	unsigned p = 0;

	for (j = 0; j < n; j = e + 1, p++) {
		for (e = j; e < n && w[e] != '-'; e++)
			;
		if (e > j)
			gaz_word(s->c->gaz, s->gs, w + j, e - j,
			         !(lower >> (p < 31 ? p : 31) & 1), s->field, s->ostart,
			         s->oend, gaz_excluded, s);
	}
}

static void flush_word(struct scan *s)
{
	size_t n = s->wn, j, e;
	const char *w = s->w;
	int hyphen = s->hyphen;
	uint32_t lower = s->lower;

	s->wn = 0;
	s->hyphen = 0;
	s->lower = 0;
	s->part = 0;
	if (s->toolong) {
		s->toolong = 0;
		return;
	}
	while (n && w[n - 1] == '-')
		n--;
	if (!n)
		return;
	match_unit(s, w, n, NULL, 0);
	if (s->c->gaz)
		gaz_parts(s, w, n, lower);
	if (!hyphen || !memchr(w, '-', n))
		return;
	for (j = 0; j < n; j = e + 1) {
		for (e = j; e < n && w[e] != '-'; e++)
			;
		if (e > j)
			match_unit(s, w + j, e - j, w, n);
	}
}

/* One code point of the text at [off, end) of the field. */
static void put_cp(struct scan *s, int32_t cp, size_t off, size_t end)
{
	const struct latin1 *l = cp >= 0x80 && cp < 0x100 ? &s->c->latin1[cp - 0x80] : NULL;

	/* U+00AD SOFT HYPHEN: invisible, the word goes on. */
	if (cp == 0xAD)
		return;
	if (!(l ? l->word : is_word_cp(cp))) {
		if (s->wn || s->toolong)
			flush_word(s);
		return;
	}
	if (cp == '-' || cp == 0x2011) {
		if (!s->wn)
			return;          /* leading hyphens belong to no word */
		s->part++;
	} else {
		if (l ? l->lower : utf8proc_category(cp) == UTF8PROC_CATEGORY_LL)
			s->lower |= 1u << (s->part < 31 ? s->part : 31);
		if (!s->wn)
			s->ostart = off;
		s->oend = end;
	}
	if (s->toolong)
		return;
	/* Only these fold to '-': no letter's lower case is one. */
	s->hyphen |= cp == '-' || cp == 0x2011;
	/* wn <= CLASSIFY_MAX_WORD here, and w has room for one more code point. */
	if (l) {
		memcpy(s->w + s->wn, l->fold, sizeof l->fold);
		s->wn += l->n;
	} else {
		s->wn += fold_cp(cp, s->w + s->wn);
	}
	s->toolong = s->wn > CLASSIFY_MAX_WORD;
}

/* A character reference (norm_entity: HTML 4's names and numeric ones)
 * ended by ';' within 12 bytes; -1 for any other such "&...;" (which then
 * separates words like the punctuation it would stand for); a lone '&'
 * is itself. */
static int32_t entity(const char *t, size_t *len)
{
	uint32_t cp;
	size_t i;

	for (i = 1; i < 12 && t[i] && t[i] != ';' && t[i] != '&' && t[i] != '<'; i++)
		;
	if (t[i] != ';') {
		*len = 1;
		return '&';
	}
	*len = i + 1;
	if (norm_entity(t, i + 1, &cp) != i + 1 || !utf8proc_codepoint_valid((int32_t)cp))
		return -1;
	return (int32_t)cp;
}

static void scan_field(struct scan *s, const char *t, int html, uint32_t field)
{
	size_t i = 0, n;

	if (!t)
		return;
	n = strlen(t);
	s->field = field;
	if (s->gs)
		gaz_gap(s->gs);
	while (i < n) {
		unsigned char ch = (unsigned char)t[i];

		if (ascii_word(ch)) {
			/* A run of ASCII letters and digits, most of a text: at
			 * once when it fits the word, else as any code point. */
			size_t e = i + 1;

			while (ascii_word((unsigned char)t[e]))
				e++;
			if (!s->toolong && s->wn + (e - i) <= CLASSIFY_MAX_WORD) {
				if (!s->wn)
					s->ostart = i;
				s->oend = e;
				for (; i < e; i++) {
					if (t[i] >= 'a' && t[i] <= 'z')
						s->lower |= 1u << (s->part < 31 ? s->part : 31);
					s->w[s->wn++] = (char)ascii_word((unsigned char)t[i]);
				}
			} else {
				for (; i < e; i++)
					put_cp(s, (unsigned char)t[i], i, i + 1);
			}
		} else if (html && ch == '<') {
			/* Sanitised HTML: a tag ends at the first '>' outside quotes. */
			char q = 0;

			for (i++; i < n && (q || t[i] != '>'); i++)
				if (q ? t[i] == q : (t[i] == '"' || t[i] == '\''))
					q = q ? 0 : t[i];
			put_cp(s, ' ', i, i);
			i += i < n;
		} else if (html && ch == '&') {
			size_t len;
			int32_t cp = entity(t + i, &len);

			put_cp(s, cp < 0 ? ' ' : cp, i, i + len);
			i += len;
		} else if (ch < 0x80) {
			put_cp(s, ch, i, i + 1);
			i++;
		} else {
			utf8proc_int32_t cp;
			utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)t + i,
			                                      (utf8proc_ssize_t)(n - i), &cp);
			if (m <= 0) {
				put_cp(s, ' ', i, i + 1);  /* stray byte: a separator */
				i++;
				continue;
			}
			put_cp(s, cp, i, i + (size_t)m);
			i += (size_t)m;
		}
	}
	put_cp(s, ' ', n, n);
}

static const char *field_text(const struct classify_input *in, uint32_t f, const char **name)
{
	static const char *const names[] = {"", "title", "summary", "content", "category"};

	*name = names[f < F_CATEGORY ? f : F_CATEGORY];
	switch (f) {
	case F_TITLE: return in->title;
	case F_SUMMARY: return in->summary;
	case F_CONTENT: return in->content;
	default: return in->categories[f - F_CATEGORY];
	}
}

static int explain_atom(struct buf *out, const struct classify *c, const struct atom *a,
                        const struct wit *w, const struct classify_input *in)
{
	const char *name, *t = field_text(in, w->field, &name);
	int suf = a->kind == K_SUFFIX || a->kind == K_INFIX;
	int pre = a->kind == K_PREFIX || a->kind == K_INFIX;

	return buf_printf(out, "%s%.*s%s \xe2\x86\x90 '%.*s' (%s)", suf ? "*" : "", (int)a->len,
	                  c->pool + a->off, pre ? "*" : "", (int)w->len, t + w->off, name);
}

/* One counting term of the gazetteer, for explain. */
static int explain_gaz(struct buf *out, const struct classify *c, const struct gaz_hit *h,
                       const struct gaz_hit *partner, const struct classify_input *in)
{
	static const char *const how[] = {"", ", genitive", ", lemma", ", compound part"};
	const char *name, *t = field_text(in, h->field, &name), *src;
	long w = gaz_term_weight(c->gaz, h->term);
	int line;

	src = gaz_term_src(c->gaz, h->term, &line);
	if (buf_printf(out, "%s %c%ld.%03ld \xe2\x86\x90 '%.*s' (%s%s; %s:%d)",
	               gaz_term_text(c->gaz, h->term), w < 0 ? '-' : '+', labs(w) / 1000,
	               labs(w) % 1000, (int)h->len, t + h->off, name,
	               how[h->how < 4 ? h->how : 0], src, line))
		return HF_ENOMEM;
	if (!partner)
		return HF_OK;
	t = field_text(in, partner->field, &name);
	return buf_printf(out, " with %s \xe2\x86\x90 '%.*s' (%s%s)",
	                  gaz_term_text(c->gaz, partner->term), (int)partner->len,
	                  t + partner->off, name, how[partner->how < 4 ? partner->how : 0]);
}

/* "1.5" for 1500 thousandths, "-0.25" for -250. */
static int put_milli(struct buf *out, long v)
{
	char d[8];
	int n;

	n = snprintf(d, sizeof d, "%03ld", labs(v) % 1000);
	while (n > 1 && d[n - 1] == '0')
		n--;
	return buf_printf(out, "%s%ld.%.*s", v < 0 ? "-" : "", labs(v) / 1000, n, d);
}

int classify_item(const struct classify *c, const struct classify_input *in,
                  unsigned char *hits, struct buf *explain)
{
	return classify_item_scores(c, in, hits, NULL, explain);
}

double classify_threshold(const struct classify *c, size_t cat)
{
	return (double)gaz_threshold(c->gaz, cat) / 1000;
}

size_t classify_best(const struct classify *c, const double *scores,
                     const unsigned char *among)
{
	size_t k, best = c->ncats;

	for (k = 0; k < c->ncats; k++)
		if (among[k] && (best == c->ncats || scores[k] > scores[best]))
			best = k;
	return best;
}

int classify_item_scores(const struct classify *c, const struct classify_input *in,
                         unsigned char *hits, double *scores, struct buf *explain)
{
	struct wit st[MAX_ATOMS];
	struct gaz_state gs;
	struct scan s;
	size_t i, k;
	int rc = HF_OK;

	memset(st, 0, c->natoms * sizeof(st[0]));
	memset(s.w, 0, sizeof s.w);     /* match_unit reads a word's next bytes */
	s.c = c;
	s.st = st;
	s.wn = 0;
	s.toolong = 0;
	s.hyphen = 0;
	s.lower = 0;
	s.part = 0;
	s.ostart = s.oend = 0;
	s.gs = NULL;
	if (c->gaz) {
		gs.nhit = gs.npart = 0;
		gs.tok = 0;
		s.gs = &gs;
	}
	scan_field(&s, in->title, 0, F_TITLE);
	scan_field(&s, in->summary, 1, F_SUMMARY);
	scan_field(&s, in->content, 1, F_CONTENT);
	for (i = 0; i < in->ncategories; i++)
		scan_field(&s, in->categories[i], 0, F_CATEGORY + (uint32_t)i);

	for (k = 0; k < c->ncats; k++) {
		const struct cat *ct = &c->cats[k];
		long sum = 0, thr = gaz_threshold(c->gaz, k);
		int any = 0, ruled = 0, terms = 0;

		for (i = ct->tbeg; i < ct->tend; i++) {
			const struct term *tm = &c->terms[i];
			const struct wit *partner = NULL;
			size_t j, pj = 0;

			if (st[tm->atom].field == F_NONE)
				continue;
			for (j = tm->cbeg; j < tm->cend && !partner; j++)
				if (st[c->conds[j]].field != F_NONE)
					partner = &st[pj = c->conds[j]];
			if (tm->cbeg != tm->cend && !partner)
				continue;
			hits[k] = 1;
			ruled = 1;
			if (!explain || rc)
				continue;
			rc = any ? buf_puts(explain, "; ") : buf_printf(explain, "%s: ", ct->name);
			if (!rc)
				rc = explain_atom(explain, c, &c->atoms[tm->atom], &st[tm->atom], in);
			if (!rc && partner && !(rc = buf_puts(explain, " with ")))
				rc = explain_atom(explain, c, &c->atoms[pj], partner, in);
			any = 1;
		}
		if (any && !rc)
			rc = buf_putc(explain, '\n');
		if (c->gaz)
			for (i = 0; i < gs.nhit; i++) {
				int counts;

				if (gaz_term_cat(c->gaz, gs.hit[i].term) != k)
					continue;
				(void)gaz_counts(c->gaz, &gs, i, &counts);
				if (counts) {
					sum += gaz_term_weight(c->gaz, gs.hit[i].term);
					terms++;
				}
			}
		if (sum >= thr && terms)
			hits[k] = 1;
		if (scores)
			scores[k] = (double)(ruled && sum < thr ? thr : sum) / 1000;
		if (!explain || rc || !terms)
			continue;
		/* "covid: 1.0 >= 1.0: korona +0.700 <- 'Koronavaksine' (title, compound part; FILE:LINE); ..." */
		rc = buf_printf(explain, "%s: ", ct->name);
		if (!rc)
			rc = put_milli(explain, sum);
		if (!rc)
			rc = buf_puts(explain, sum >= thr ? " \xe2\x89\xa5 " : " < ");
		if (!rc)
			rc = put_milli(explain, thr);
		if (!rc)
			rc = buf_puts(explain, sum >= thr ? " (set): " : " (not set by the terms): ");
		for (i = 0, any = 0; i < gs.nhit && !rc; i++) {
			const struct gaz_hit *partner;
			int counts;

			if (gaz_term_cat(c->gaz, gs.hit[i].term) != k)
				continue;
			partner = gaz_counts(c->gaz, &gs, i, &counts);
			if (!counts)
				continue;
			if (any && (rc = buf_puts(explain, "; ")))
				break;
			rc = explain_gaz(explain, c, &gs.hit[i], partner, in);
			any = 1;
		}
		if (!rc)
			rc = buf_putc(explain, '\n');
	}
	return rc;
}
