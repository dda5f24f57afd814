/*
 * text.c - text fields: entities, tags, controls, whitespace, UTF-8 and
 * NFC in one pass; the one decoder of character references and the one
 * windows-1252 table; see text.h.
 *
 * This runs for every title and summary of every feed, so the decoder is
 * one loop writing straight into the output buffer (reserved once, at the
 * worst-case expansion), printable ASCII is copied without a branch per
 * class, and utf8proc's NFC (which allocates) only runs when a code point
 * that NFC could change was actually seen.  Named references are looked
 * up in libxml2's HTML 4 table, UTF-8 is read and written by utf8proc.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <utf8proc.h>

#include "helsefeed/text.h"

enum {
	NT_ENT = 1,      /* decode character references */
	NT_STRIP = 2,    /* drop tags, comments, script and style */
	NT_COLLAPSE = 4, /* collapse and trim white space */
	NT_CTRL = 8,     /* drop control and invisible format characters */
};

#define REPLACEMENT 0xFFFD

/* windows-1252 bytes 0x80-0x9F: index-windows-1252 of the WHATWG Encoding
 * Standard, which maps the five bytes Microsoft left undefined to the C1
 * controls of the same value.  The one table of helsefeed (text.h). */
static const uint16_t cp1252_c1[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

uint32_t norm_cp1252(unsigned char b)
{
	return b >= 0x80 && b < 0xA0 ? cp1252_c1[b - 0x80] : b;
}

/* --- double-encoded UTF-8 ------------------------------------------------ */

/* The byte that code point cp stood for when UTF-8 was read as
 * windows-1252 (or as Latin-1, which gives the C1 controls), or -1. */
static int mojibake_byte(uint32_t cp)
{
	if (cp < 0x100)
		return (int)cp;
	for (int i = 0; i < 32; i++)
		if (cp1252_c1[i] == cp)
			return 0x80 + i;
	return -1;
}

/*
 * One pass over s: 1 when every character maps back to a byte
 * (mojibake_byte) and those bytes are valid UTF-8 holding at least one
 * multi-byte sequence; with `out`, the bytes are appended.  It stops at
 * the first character that cannot be mojibake, so clean Norwegian text
 * ("Første": 'ø' is the byte 0xF8, which starts no UTF-8 sequence) costs a
 * few bytes of look.
 */
static int mojibake_scan(const unsigned char *s, size_t len, char *out, size_t *nout)
{
	unsigned char seq[4];
	size_t need = 0, have = 0, multi = 0, o = 0;

	for (size_t i = 0; i < len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
		int b;

		if (m <= 0 || (b = mojibake_byte((uint32_t)cp)) < 0)
			return 0;
		i += (size_t)m;
		if (need == 0) {
			if (b >= 0xC2 && b <= 0xF4) {
				need = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
				seq[0] = (unsigned char)b;
				have = 1;
			} else if (b >= 0x80) {
				return 0;
			}
		} else {
			if ((b & 0xC0) != 0x80)
				return 0;
			seq[have++] = (unsigned char)b;
			if (--need == 0) {
				/* overlong forms, surrogates, > U+10FFFF */
				if (norm_utf8_seq(seq, have) != have)
					return 0;
				multi++;
			}
		}
		if (out)
			out[o] = (char)b;
		o++;
	}
	*nout = o;
	return need == 0 && multi > 0;
}

int norm_repair(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;
	int rc;

	/* Every double-encoded sequence starts with U+00C2..U+00F4, written
	 * C3 82..C3 B4: without a C3 byte there is nothing to repair. */
	if (len == 0 || !memchr(s, 0xC3, len) || !mojibake_scan(u, len, NULL, &n))
		return 0;
	if ((rc = buf_reserve(out, n)))
		return rc;
	mojibake_scan(u, len, out->data + out->len, &n);
	out->len += n;
	out->data[out->len] = '\0';
	return 1;
}

/* Inline elements: stripping them must not split a word ("<b>H</b>else"),
 * every other tag separates words like the block it stands for. */
static const char *const inline_tags[] = {
	"a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code",
	"data", "del", "dfn", "em", "font", "i", "ins", "kbd", "mark", "q",
	"s", "samp", "small", "span", "strike", "strong", "sub", "sup",
	"time", "tt", "u", "var", "wbr",
};

static int str_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

struct dec {
	char *w;     /* write position */
	char *start; /* first byte written by this call */
	int flags;
	int space;   /* a white-space run is pending */
	int nfc;     /* a code point NFC may change was written */
};

/* Can NFC change a text because of this code point (>= U+0300)?  Below
 * U+0300 nothing composes with what precedes it and nothing decomposes
 * canonically without recomposing, so only the rare rest is looked up. */
static int nfc_unstable(int32_t cp)
{
	const utf8proc_property_t *p;

	if (cp >= 0x1100 && cp <= 0x11FF)
		return 1; /* Hangul jamo compose algorithmically */
	p = utf8proc_get_property(cp);
	return p->combining_class != 0 || p->comp_exclusion ||
	       p->comb_index != UINT16_MAX ||
	       (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0);
}

static int is_space_cp(unsigned cp)
{
	return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
	       cp == '\f' || cp == 0xA0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Characters no reader should see: C0 (but tab, LF, CR), DEL, C1. */
static int is_control_cp(unsigned cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
	       (cp >= 0x7F && cp <= 0x9F);
}

/* Invisible in a title, where they would only make equal titles differ:
 * soft hyphen, zero-width space, BOM. */
static int is_invisible_cp(unsigned cp)
{
	return cp == 0xAD || cp == 0x200B || cp == 0xFEFF;
}

static void emit(struct dec *d, unsigned cp)
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
	    (cp & 0xFFFE) == 0xFFFE)
		cp = REPLACEMENT;
	if ((d->flags & NT_CTRL) && is_control_cp(cp))
		return;
	if (d->flags & NT_COLLAPSE) {
		if (is_invisible_cp(cp))
			return;
		if (is_space_cp(cp)) {
			d->space = d->w != d->start;
			return;
		}
		if (d->space) {
			*d->w++ = ' ';
			d->space = 0;
		}
	}
	if (cp >= 0x300 && !d->nfc && nfc_unstable((int32_t)cp))
		d->nfc = 1;
	d->w += utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)d->w);
}

/* Decode one UTF-8 sequence at s (< end); *cp is U+FFFD for an invalid
 * byte, which is then consumed alone (Unicode 3.9, U+FFFD substitution). */
static size_t utf8_dec(const char *s, const char *end, unsigned *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, end - s, &c);

	if (n <= 0) {
		*cp = REPLACEMENT;
		return 1;
	}
	*cp = (unsigned)c;
	return (size_t)n;
}

size_t norm_utf8_seq(const unsigned char *s, size_t n)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)(n < 4 ? n : 4), &c);

	return k > 1 ? (size_t)k : 0;
}

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t norm_entity(const char *s, size_t n, uint32_t *cp)
{
	const char *p = s + 1, *end = s + n;
	char name[16];
	size_t k = 0;
	const htmlEntityDesc *e;

	if (p < end && *p == '#') {
		uint32_t v = 0;
		int hex = 0, digits = 0, h;

		p++;
		if (p < end && (*p == 'x' || *p == 'X')) {
			hex = 1;
			p++;
		}
		while (p < end && (h = hex ? hexval(*p) : (*p >= '0' && *p <= '9' ? *p - '0' : -1)) >= 0) {
			if (v <= 0x10FFFF)
				v = v * (hex ? 16 : 10) + (unsigned)h;
			digits++;
			p++;
		}
		if (!digits)
			return 0;
		/* HTML 5 13.2.5.80: a missing ';' is tolerated here. */
		if (p < end && *p == ';')
			p++;
		*cp = v > 0x10FFFF ? 0x110000 : v;
		return (size_t)(p - s);
	}
	while (p < end && is_alnum((unsigned char)*p)) {
		if (k == sizeof(name) - 1)
			return 0;
		name[k++] = *p++;
	}
	if (!k || p >= end || *p != ';')
		return 0;
	name[k] = '\0';
	e = htmlEntityLookup((const xmlChar *)name);
	if (!e)
		return 0;
	*cp = e->value;
	return (size_t)(p + 1 - s);
}

/* A character reference at s ('&') as HTML reads it: numeric references
 * to 0x80..0x9F are the windows-1252 character (HTML 5 13.2.5.80, which
 * is what a CMS that wrote them meant), to no character U+FFFD.  Returns
 * the bytes consumed, 0 when there is none (the '&' is then literal). */
static size_t entity(const char *s, const char *end, unsigned *cp)
{
	uint32_t v;
	size_t n = norm_entity(s, (size_t)(end - s), &v);

	if (!n)
		return 0;
	if (s[1] == '#') {
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = REPLACEMENT;
		else if (v >= 0x80 && v <= 0x9F)
			v = norm_cp1252((unsigned char)v);
	}
	*cp = v;
	return n;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive search for an ASCII needle. */
static const char *find_ci(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; (size_t)(end - s) >= n; s++) {
		size_t i = 0;
		while (i < n && lower((unsigned char)s[i]) == needle[i])
			i++;
		if (i == n)
			return s;
	}
	return NULL;
}

/*
 * A tag at s ('<' followed by a letter, '/', '!' or '?'): returns the end
 * of what to skip and sets *inl when it was an inline element.  Comments
 * and the content of script and style go with it.
 */
static const char *skip_tag(const char *s, const char *end, int *inl)
{
	const char *p = s + 1, *gt;
	char name[16];
	size_t n = 0;
	int closing = 0;

	*inl = 0;
	if (end - p >= 3 && p[0] == '!' && p[1] == '-' && p[2] == '-') {
		const char *c = find_ci(p + 3, end, "-->");
		*inl = 1;
		return c ? c + 3 : end;
	}
	if (p < end && *p == '/') {
		closing = 1;
		p++;
	}
	while (p < end && is_alnum((unsigned char)*p) && n < sizeof(name) - 1)
		name[n++] = (char)lower((unsigned char)*p++);
	name[n] = '\0';
	gt = p < end ? memchr(p, '>', (size_t)(end - p)) : NULL;
	gt = gt ? gt + 1 : end;
	if (n && bsearch(name, inline_tags, sizeof(inline_tags) / sizeof(inline_tags[0]),
	                 sizeof(inline_tags[0]), str_cmp))
		*inl = 1;
	if (!closing && (!strcmp(name, "script") || !strcmp(name, "style"))) {
		const char *c = find_ci(gt, end, name[1] == 'c' ? "</script" : "</style");
		if (!c)
			return end;
		gt = memchr(c, '>', (size_t)(end - c));
		return gt ? gt + 1 : end;
	}
	return gt;
}

static int tag_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' ||
	       c == '!' || c == '?';
}

/* Printable ASCII that needs no thought ('&' and '<' do): the class
 * table of the copy loop.  Bytes from 0x80 on are all 0. */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

/*
 * The one pass.  Writes at most 3 bytes per input byte (U+FFFD for one
 * invalid byte) plus nothing else; `limit` stops early once that many
 * bytes were written and the text is at an ASCII starter, where NFC of
 * the prefix cannot depend on what follows.
 */
static const char *decode(struct dec *d, const char *s, const char *end, size_t limit)
{
	while (s < end) {
		unsigned char c = (unsigned char)*s;

		if (plain[c]) {
			if (d->space) {
				*d->w++ = ' ';
				d->space = 0;
			}
			do {
				*d->w++ = (char)c;
				s++;
			} while (s < end && plain[c = (unsigned char)*s]);
			if ((size_t)(d->w - d->start) > limit)
				return s;
			continue;
		}
		if (c == '&' && (d->flags & NT_ENT)) {
			unsigned cp;
			size_t n = entity(s, end, &cp);
			if (n) {
				emit(d, cp);
				s += n;
				continue;
			}
		} else if (c == '<' && (d->flags & NT_STRIP) && s + 1 < end &&
		           tag_start((unsigned char)s[1])) {
			int inl;
			s = skip_tag(s, end, &inl);
			if (!inl && d->w != d->start)
				d->space = 1;
			continue;
		}
		if (c < 0x80) {
			emit(d, c);
			s++;
		} else {
			unsigned cp;
			s += utf8_dec(s, end, &cp);
			emit(d, cp);
		}
	}
	return s;
}

/* Recompose out[start..] to NFC in place. */
static int nfc_tail(struct buf *out, size_t start)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n;
	int rc;

	n = utf8proc_map((const utf8proc_uint8_t *)out->data + start,
	                 (utf8proc_ssize_t)(out->len - start), &dst,
	                 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return n == UTF8PROC_ERROR_NOMEM ? HF_ENOMEM : HF_EINVAL;
	out->len = start;
	out->data[start] = '\0';
	rc = buf_append(out, (const char *)dst, (size_t)n);
	free(dst);
	return rc;
}

static int run(const char *s, size_t len, int flags, size_t max,
               struct buf *out, int *truncated)
{
	struct dec d;
	const char *end = s + len, *stop;
	size_t start = out->len, limit;
	int rc, cut = 0;

	if (len > (SIZE_MAX - 8) / 3)
		return HF_ETOOBIG;
	rc = buf_reserve(out, len * 3 + 4);
	if (rc)
		return rc;
	d.w = d.start = out->data + start;
	d.flags = flags;
	d.space = 0;
	d.nfc = 0;
	limit = max > SIZE_MAX - 64 ? SIZE_MAX : max + 64;
	stop = decode(&d, s, end, limit);
	cut = stop < end;
	out->len = (size_t)(d.w - out->data);
	out->data[out->len] = '\0';
	if (d.nfc) {
		rc = nfc_tail(out, start);
		if (rc) {
			out->len = start;
			out->data[start] = '\0';
			return rc;
		}
	}
	if (out->len - start > max) {
		size_t n = max;
		/* back to a character boundary */
		while (n > 0 && ((unsigned char)out->data[start + n] & 0xC0) == 0x80)
			n--;
		out->len = start + n;
		cut = 1;
	}
	if (flags & NT_COLLAPSE) {
		while (out->len > start && out->data[out->len - 1] == ' ')
			out->len--;
	}
	out->data[out->len] = '\0';
	if (truncated)
		*truncated = cut;
	return 0;
}

/* Does s hold a tag or a comment (what skip_tag would take)? */
static int has_markup(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL && ++p < end)
		if (tag_start((unsigned char)*p))
			return 1;
	return 0;
}

int norm_text(const char *s, size_t len, int mode, size_t max,
              struct buf *out, int *truncated)
{
	struct buf fixed = BUF_INIT;
	int flags = NT_CTRL | NT_COLLAPSE, rc;

	if ((rc = norm_repair(s, len, &fixed)) < 0)
		goto out;
	if (rc == 1) {
		s = fixed.data;
		len = fixed.len;
	}
	if (mode == NORM_TEXT_HTML || (mode == NORM_TEXT_FIELD && has_markup(s, len)))
		flags |= NT_ENT | NT_STRIP;
	else if (mode == NORM_TEXT_ESCAPED)
		flags |= NT_ENT;
	rc = run(s, len, flags, max, out, truncated);
out:
	buf_free(&fixed);
	return rc;
}

int norm_nfc(const char *s, size_t len, struct buf *out)
{
	return run(s, len, 0, SIZE_MAX, out, NULL);
}

/* The words of "read more" links in the sector's feeds: bokmål, nynorsk
 * and English. */
static const char *const more_words[] = {
	"les hele artikkelen", "les heile artikkelen", "les hele saken",
	"les heile saka", "les mer om dette", "les meir om dette",
	"les mer her", "les meir her", "les saken", "les saka", "les mer",
	"les meir", "continue reading", "read more",
};

/* A mark after the words: white space, ".", ">", "»" (U+00BB), "…"
 * (U+2026), "→" (U+2192), "›" (U+203A); its length in bytes, 0 if
 * s[0..n) does not end in one. */
static size_t more_mark(const char *s, size_t n)
{
	static const char *const marks[] = {
		"\xc2\xbb", "\xe2\x80\xa6", "\xe2\x86\x92", "\xe2\x80\xba",
	};

	if (n && (s[n - 1] == ' ' || s[n - 1] == '.' || s[n - 1] == '>'))
		return 1;
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		size_t m = strlen(marks[i]);

		if (n >= m && !memcmp(s + n - m, marks[i], m))
			return m;
	}
	return 0;
}

size_t norm_more_len(const char *s, size_t len)
{
	size_t n = len, m;

	while ((m = more_mark(s, n)))
		n -= m;
	for (size_t i = 0; i < sizeof more_words / sizeof more_words[0]; i++) {
		size_t w = strlen(more_words[i]);

		if (n < w || strncasecmp(s + n - w, more_words[i], w))
			continue;
		/* Words of their own: "Trykk les mer", "…les mer", not
		 * "ples mer". */
		if (n > w) {
			size_t b = n - w - 1;
			utf8proc_int32_t cp = -1;
			utf8proc_category_t cat;

			while (b > 0 && ((unsigned char)s[b] & 0xc0) == 0x80)
				b--;
			(void)utf8proc_iterate((const utf8proc_uint8_t *)s + b,
			                       (utf8proc_ssize_t)(n - w - b), &cp);
			cat = cp < 0 ? UTF8PROC_CATEGORY_CN : utf8proc_category(cp);
			if ((cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
			    cat == UTF8PROC_CATEGORY_ND)
				continue;
		}
		n -= w;
		while (n && s[n - 1] == ' ')
			n--;
		return n;
	}
	return len;
}
