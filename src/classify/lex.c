/* lex.c - hunspell nb/nn lemmas with a Snowball fallback; see lex.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hunspell/hunspell.h>
#include <libstemmer.h>

#include "lex.h"

/* Hunspell's own bound on a word (MAXWORDLEN in hunspell.hxx is 100). */
#define LEX_MAX_WORD 100

struct lex {
	Hunhandle *h[2];        /* nb, nn; NULL without dictionaries */
	struct sb_stemmer *sb;
	char *dir;
	int refs;
};

/* One struct lex per directory and process: tests and `check` compile
 * the rules many times, and each load reads 7 MB of dictionaries. */
static struct lex *shared[4];

static void lex_destroy(struct lex *lx)
{
	int i;

	for (i = 0; i < 2; i++)
		if (lx->h[i])
			Hunspell_destroy(lx->h[i]);
	if (lx->sb)
		sb_stemmer_delete(lx->sb);
	free(lx->dir);
	free(lx);
}

static int same_dir(const struct lex *lx, const char *dir)
{
	return lx && (lx->dir ? dir && !strcmp(lx->dir, dir) : !dir);
}

static int load(struct lex *lx, const char *dir, struct buf *err)
{
	static const char *const lang[2] = {"nb_NO", "nn_NO"};
	char aff[4096], dic[4096];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(aff, sizeof aff, "%s/%s.aff", dir, lang[i]);
		snprintf(dic, sizeof dic, "%s/%s.dic", dir, lang[i]);
		if (access(aff, R_OK) || access(dic, R_OK)) {
			if (err)
				buf_printf(err, "%s: cannot read the hunspell dictionary"
				           " (Debian: hunspell-no)\n", access(aff, R_OK) ? aff : dic);
			return HF_EIO;
		}
		if (!(lx->h[i] = Hunspell_create(aff, dic)))
			return HF_ENOMEM;
	}
	return HF_OK;
}

int lex_open(const char *dir, struct lex **out, struct buf *err)
{
	struct lex *lx = NULL;
	size_t i;
	int rc = HF_ENOMEM;

	for (i = 0; i < sizeof shared / sizeof shared[0]; i++)
		if (same_dir(shared[i], dir)) {
			shared[i]->refs++;
			*out = shared[i];
			return HF_OK;
		}
	if (!(lx = calloc(1, sizeof *lx)))
		goto fail;
	if (dir && !(lx->dir = strdup(dir)))
		goto fail;
	if (!(lx->sb = sb_stemmer_new("norwegian", "UTF_8")))
		goto fail;
	if (dir && (rc = load(lx, dir, err)))
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

void lex_close(struct lex *lx)
{
	size_t i;
	int last;

	if (!lx)
		return;
	last = --lx->refs == 0;
	for (i = 0; last && i < sizeof shared / sizeof shared[0]; i++)
		if (shared[i] == lx)
			shared[i] = NULL;
	if (last)
		lex_destroy(lx);
}

/* Folded UTF-8 to ISO-8859-1 (the dictionaries' SET); 0 when some code
 * point does not fit or the word is too long. */
static int to_latin1(const char *w, size_t n, char *dst)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];

		if (o >= LEX_MAX_WORD)
			return 0;
		if (ch < 0x80) {
			dst[o++] = (char)ch;
		} else if ((ch == 0xc2 || ch == 0xc3) && i + 1 < n &&
		           ((unsigned char)w[i + 1] & 0xc0) == 0x80) {
			dst[o++] = (char)((ch & 0x03) << 6 | ((unsigned char)w[++i] & 0x3f));
		} else {
			return 0;
		}
	}
	dst[o] = '\0';
	return o > 0;
}

/* A Latin-1 lemma back to folded UTF-8, appended with its NUL. */
static int put_lemma(struct buf *out, const char *l)
{
	char u[2 * LEX_MAX_WORD + 2];
	size_t o = 0;

	for (; *l && o + 2 < sizeof u; l++) {
		unsigned char ch = (unsigned char)*l;

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch + 32);
		else if (ch >= 0xc0 && ch <= 0xde && ch != 0xd7)
			ch = (unsigned char)(ch + 32);  /* Latin-1 capitals */
		if (ch < 0x80) {
			u[o++] = (char)ch;
		} else {
			u[o++] = (char)(0xc0 | ch >> 6);
			u[o++] = (char)(0x80 | (ch & 0x3f));
		}
	}
	return buf_append(out, u, o) ? HF_ENOMEM : buf_putc(out, '\0');
}

/*
 * The lemma of one analysis of hunspell: " st:sjukehus fl:C" gives
 * sjukehus.  A compound is analysed part by part, " pa:helse st:helse
 * pa:foretaket st:foretak": its lemma is the parts as written and the
 * last one's lemma, helseforetak (Hunspell_stem would give its first
 * part, helse).  Written into dst (Latin-1), "" when there is none.
 */
static void analysis_lemma(const char *a, char *dst, size_t cap)
{
	size_t o = 0, last = 0, n;
	int parts = 0, in_last = 0;

	dst[0] = '\0';
	while (*a) {
		while (*a == ' ' || *a == '\t')
			a++;
		n = strcspn(a, " \t");
		if (n > 3 && !memcmp(a, "pa:", 3)) {
			if (o + n - 3 >= cap)
				return;
			last = o;
			memcpy(dst + o, a + 3, n - 3);
			o += n - 3;
			parts++;
			in_last = 1;
		} else if (n > 3 && !memcmp(a, "st:", 3) && (!parts || in_last)) {
			/* The lemma replaces the last part as written (or is the
			 * word's lemma when it is no compound). */
			if (last + n - 3 >= cap)
				return;
			o = last;
			memcpy(dst + o, a + 3, n - 3);
			o += n - 3;
			in_last = 0;
			if (!parts)
				break;
		}
		a += n;
	}
	dst[o] = '\0';
}

int lex_lemmas(struct lex *lx, const char *w, size_t n, struct buf *out, int *known)
{
	char l1[LEX_MAX_WORD + 1], lem[4 * LEX_MAX_WORD];
	const sb_symbol *st;
	int i, j, cnt = 0, rc = HF_OK;

	*known = 0;
	if (lx->h[0] && to_latin1(w, n, l1)) {
		for (i = 0; i < 2; i++) {
			char **list = NULL;
			int m = Hunspell_analyze(lx->h[i], &list, l1);

			for (j = 0; j < m && !rc; j++) {
				analysis_lemma(list[j], lem, sizeof lem);
				if (lem[0]) {
					rc = put_lemma(out, lem);
					cnt++;
				}
			}
			if (m > 0)
				Hunspell_free_list(lx->h[i], &list, m);
		}
		/* A word the dictionary accepts without an analysis still
		 * counts as known, as itself. */
		if (!cnt && !rc && (Hunspell_spell(lx->h[0], l1) || Hunspell_spell(lx->h[1], l1))) {
			rc = buf_append(out, w, n) ? HF_ENOMEM : buf_putc(out, '\0');
			cnt = 1;
		}
		*known = cnt > 0;
	}
	if (!cnt && !rc) {
		if (!(st = sb_stemmer_stem(lx->sb, (const sb_symbol *)w, (int)n)))
			rc = HF_ENOMEM;
		else if (!(rc = buf_append(out, (const char *)st, (size_t)sb_stemmer_length(lx->sb))))
			rc = buf_putc(out, '\0');
		cnt = 1;
	}
	return rc ? rc : cnt;
}

int lex_known(struct lex *lx, const char *w, size_t n)
{
	char l1[LEX_MAX_WORD + 1];
	int ok = 0;

	if (!lx->h[0] || !to_latin1(w, n, l1))
		return 0;
	ok = Hunspell_spell(lx->h[0], l1) || Hunspell_spell(lx->h[1], l1);
	return ok;
}
