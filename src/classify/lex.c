/* lex.c - the lexicon table with a Snowball fallback; see lex.h and the
 * file format in tools/mklexicon.py. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libstemmer.h>

#include "lex.h"

/* A longer word is no word of the lexicon (its longest form has 50). */
#define LEX_MAX_WORD 128
/* The dictionaries' COMPOUNDMIN: a part of a compound has 4 letters. */
#define LEX_PART_MIN 4

#define LEX_HEADER 32
#define V_LAST  0x80000000u
#define V_FIRST 0x40000000u
#define V_LIST  0x20000000u
#define V_OFF   0x1fffffffu
/* A lemma code (tools/mklexicon.py): the form's first K bytes and an
 * ending, or a lemma of the pool. */
#define L_DERIVED 0x10000000u
#define L_K(c)    ((c) & 0x3fu)
#define L_END(c)  (((c) >> 6) & 0x3fffffu)
#define L_OFF(c)  ((c) & 0x0fffffffu)
/* In a list: the bokmål lemma of a nynorsk one (Apertium), which only a
 * caller that asks for it gets (lex_lemmas). */
#define L_NB      0x80000000u

struct lex {
	void *map;                  /* the file, NULL: Snowball alone */
	size_t size;
	const unsigned char *bucket, *key, *val, *lists;
	const char *pool;
	uint32_t nforms, bits, nlists, npool;
	struct sb_stemmer *sb;
	char *path;
	int refs;
};

/* One struct lex per file and process: tests and `check` compile the
 * rules many times. */
static struct lex *shared[4];

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void lex_destroy(struct lex *lx)
{
	if (lx->map)
		munmap(lx->map, lx->size);
	if (lx->sb)
		sb_stemmer_delete(lx->sb);
	free(lx->path);
	free(lx);
}

static int bad(struct buf *err, const char *path, const char *what)
{
	if (err)
		buf_printf(err, "%s: %s (rebuild it with tools/mklexicon.py, or set"
		           " lexicon = none)\n", path, what);
	return HF_EIO;
}

static int load(struct lex *lx, const char *path, struct buf *err)
{
	const unsigned char *m;
	struct stat sb;
	uint64_t need;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (err)
			buf_printf(err, "%s: cannot open the lexicon: %s\n", path, strerror(errno));
		return HF_EIO;
	}
	if (fstat(fd, &sb) || sb.st_size < LEX_HEADER) {
		close(fd);
		return bad(err, path, "not a lexicon (too short)");
	}
	lx->size = (size_t)sb.st_size;
	lx->map = mmap(NULL, lx->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (lx->map == MAP_FAILED) {
		lx->map = NULL;
		if (err)
			buf_printf(err, "%s: cannot map the lexicon: %s\n", path, strerror(errno));
		return HF_EIO;
	}
	m = lx->map;
	if (memcmp(m, "HFLEX\0\0\3", 8))
		return bad(err, path, "not a lexicon of this version");
	lx->nforms = rd32(m + 8);
	lx->bits = rd32(m + 12);
	lx->nlists = rd32(m + 16);
	lx->npool = rd32(m + 20);
	if (lx->bits < 1 || lx->bits > 24)
		return bad(err, path, "damaged lexicon (bucket bits)");
	need = LEX_HEADER + 4 * (((uint64_t)1 << lx->bits) + 1) + 8 * (uint64_t)lx->nforms +
	       lx->nlists + lx->npool;
	if (need != lx->size || (lx->npool && m[lx->size - 1] != '\0'))
		return bad(err, path, "damaged lexicon (sizes)");
	lx->bucket = m + LEX_HEADER;
	lx->key = lx->bucket + 4 * (((size_t)1 << lx->bits) + 1);
	lx->val = lx->key + 4 * (size_t)lx->nforms;
	lx->lists = lx->val + 4 * (size_t)lx->nforms;
	lx->pool = (const char *)lx->lists + lx->nlists;
	if (rd32(lx->bucket + 4 * ((size_t)1 << lx->bits)) != lx->nforms)
		return bad(err, path, "damaged lexicon (buckets)");
	return HF_OK;
}

int lex_open(const char *path, struct lex **out, struct buf *err)
{
	struct lex *lx = NULL;
	size_t i;
	int rc = HF_ENOMEM;

	for (i = 0; i < sizeof shared / sizeof shared[0]; i++)
		if (shared[i] && (shared[i]->path ? path && !strcmp(shared[i]->path, path) : !path)) {
			shared[i]->refs++;
			*out = shared[i];
			return HF_OK;
		}
	if (!(lx = calloc(1, sizeof *lx)))
		goto fail;
	if (path && !(lx->path = strdup(path)))
		goto fail;
	if (!(lx->sb = sb_stemmer_new("norwegian", "UTF_8")))
		goto fail;
	if (path && (rc = load(lx, path, err)))
		goto fail;
	lx->refs = 1;
	for (i = 0; i < sizeof shared / sizeof shared[0]; i++)
		if (!shared[i]) {
			shared[i] = lx;
			break;
		}
	*out = lx;
	return HF_OK;
fail:
	if (lx)
		lex_destroy(lx);
	return rc;
}

int lex_open_config(const struct config *cfg, struct lex **out, struct buf *err)
{
	const char *path = cfg ? cfg->lexicon : NULL;
	struct stat sb;

	if (path && !strcmp(path, "none"))
		path = NULL;
	if (path && !cfg->lexicon_line && stat(path, &sb) != 0) {
#ifdef HF_LEXICON_BUILD
		path = stat(HF_LEXICON_BUILD, &sb) == 0 ? HF_LEXICON_BUILD : NULL;
#else
		path = NULL;
#endif
	}
	return lex_open(path, out, err);
}

void lex_close(struct lex *lx)
{
	size_t i;

	if (!lx || --lx->refs > 0)
		return;
	for (i = 0; i < sizeof shared / sizeof shared[0]; i++)
		if (shared[i] == lx)
			shared[i] = NULL;
	lex_destroy(lx);
}

/* The value of form w[0..n): 1 and *v, or 0 when the table lacks it. */
static int find(const struct lex *lx, const char *w, size_t n, uint32_t *v)
{
	uint64_t h;
	uint32_t b, lo, hi, k;

	if (!lx->map || !n || n > LEX_MAX_WORD)
		return 0;
	h = fnv1a64(w, n);
	b = (uint32_t)(h >> (64 - lx->bits));
	lo = rd32(lx->bucket + 4 * (size_t)b);
	hi = rd32(lx->bucket + 4 * ((size_t)b + 1));
	if (hi > lx->nforms || lo > hi)
		return 0;
	k = (uint32_t)h;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2, km = rd32(lx->key + 4 * (size_t)mid);

		if (km == k) {
			*v = rd32(lx->val + 4 * (size_t)mid);
			return 1;
		}
		if (km < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The lemma at pool offset o, or NULL when the file is damaged there. */
static const char *pool_at(const struct lex *lx, uint32_t o)
{
	return o < lx->npool ? lx->pool + o : NULL;
}

/* Append p[0..pn), then the lemma of code c of form f[0..fn), to out:
 * 1, 0 when the file is damaged there, HF_ENOMEM. */
static int put_lemma(const struct lex *lx, uint32_t c, const char *f, size_t fn,
                     const char *p, size_t pn, struct buf *out)
{
	const char *s = pool_at(lx, c & L_DERIVED ? L_END(c) : L_OFF(c));

	if (!s || (c & L_DERIVED && L_K(c) > fn))
		return 0;
	if (buf_append(out, p, pn) ||
	    (c & L_DERIVED && buf_append(out, f, L_K(c))) ||
	    buf_append(out, s, strlen(s) + 1))
		return HF_ENOMEM;
	return 1;
}

/* Append prefix p[0..pn) + each lemma of value v of form f[0..fn) to
 * out; the number, or HF_ENOMEM. */
static int put_lemmas(const struct lex *lx, uint32_t v, const char *f, size_t fn,
                      const char *p, size_t pn, int nb, struct buf *out)
{
	uint32_t off = v & V_OFF, cnt, i;
	int n = 0, rc;

	if (!(v & V_LIST))
		return put_lemma(lx, off, f, fn, p, pn, out);
	if ((uint64_t)off + 4 > lx->nlists)
		return 0;
	cnt = rd32(lx->lists + off);
	if ((uint64_t)off + 4 + 4 * (uint64_t)cnt > lx->nlists)
		return 0;
	for (i = 0; i < cnt; i++) {
		uint32_t c = rd32(lx->lists + off + 4 + 4 * (size_t)i);

		if (c & L_NB && !nb)
			continue;
		if ((rc = put_lemma(lx, c & ~L_NB, f, fn, p, pn, out)) < 0)
			return rc;
		n += rc;
	}
	return n;
}

/* A compound of two words of the lexicon: the first split (longest last
 * part) with LEX_PART_MIN letters each side, not inside a code point,
 * whose parts qualify; its position, 0 when none.  Three equal letters
 * at the joint are no compound (CHECKCOMPOUNDTRIPLE): "trafikk|kork" is
 * written trafikkork. */
static size_t compound(const struct lex *lx, const char *w, size_t n, uint32_t *vlast)
{
	size_t i, letters = 0, before[LEX_MAX_WORD + 1];
	uint32_t va;

	if (!lx->map || n < 2 * LEX_PART_MIN || n > LEX_MAX_WORD)
		return 0;
	/* before[i]: the letters (code points) in w[0..i). */
	for (i = 0; i < n; i++) {
		before[i] = letters;
		letters += ((unsigned char)w[i] & 0xc0) != 0x80;
	}
	before[n] = letters;
	for (i = LEX_PART_MIN; i + LEX_PART_MIN <= n; i++) {
		if (((unsigned char)w[i] & 0xc0) == 0x80 || before[i] < LEX_PART_MIN ||
		    letters - before[i] < LEX_PART_MIN)
			continue;
		if ((i >= 2 && w[i - 2] == w[i - 1] && w[i - 1] == w[i]) ||
		    (i + 1 < n && w[i - 1] == w[i] && w[i] == w[i + 1]))
			continue;
		if (find(lx, w + i, n - i, vlast) && (*vlast & V_LAST) &&
		    find(lx, w, i, &va) && (va & V_FIRST))
			return i;
	}
	return 0;
}

int lex_lemmas(struct lex *lx, const char *w, size_t n, int nb, struct buf *out,
               int *known)
{
	const sb_symbol *st;
	uint32_t v;
	size_t i;
	int cnt = 0;

	*known = 0;
	if (find(lx, w, n, &v))
		cnt = put_lemmas(lx, v, w, n, "", 0, nb, out);
	else if ((i = compound(lx, w, n, &v)))
		cnt = put_lemmas(lx, v, w + i, n - i, w, i, nb, out);
	if (cnt < 0)
		return cnt;
	if (cnt) {
		*known = 1;
		return cnt;
	}
	if (!(st = sb_stemmer_stem(lx->sb, (const sb_symbol *)w, (int)n)))
		return HF_ENOMEM;
	if (buf_append(out, (const char *)st, (size_t)sb_stemmer_length(lx->sb)) ||
	    buf_putc(out, '\0'))
		return HF_ENOMEM;
	return 1;
}

int lex_known(struct lex *lx, const char *w, size_t n)
{
	uint32_t v;

	return find(lx, w, n, &v) || compound(lx, w, n, &v) > 0;
}
