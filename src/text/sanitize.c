/*
 * sanitize.c - rebuild untrusted HTML from an allowlist; see text.h.
 *
 * libxml2's HTML parser tokenises the input the way a browser would
 * recover it (entities decoded, implied end tags, broken markup), and
 * drives SAX callbacks: no tree is built, so memory stays flat for a
 * megabyte of content.  Output is written from scratch: every name comes
 * from our tables, every text and attribute value is escaped, so nothing
 * the input spelled survives except characters.  Simple markup, most of
 * what feeds carry, is read by a strict tokenizer in front of libxml2
 * (see "the tokenizer for simple markup"): the same callbacks, the same
 * output, about a sixth of the instructions.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <utf8proc.h>

#include "helsefeed/text.h"

/* Deeper nesting than this is unwrapped: no real article needs it and
 * the stack stays fixed. */
#define SAN_MAX_DEPTH 256

#define SAN_OPTIONS (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | \
                     HTML_PARSE_RECOVER | HTML_PARSE_NOIMPLIED | HTML_PARSE_IGNORE_ENC)

enum attr_kind {
	A_TEXT,   /* any text */
	A_HREF,   /* URL: http, https, mailto */
	A_SRC,    /* URL: http, https */
	A_NUM,    /* 1..4 digits */
	A_OLTYPE, /* 1 a A i I */
	A_SCOPE,  /* row col rowgroup colgroup */
};

struct attr {
	const char *name;
	enum attr_kind kind;
};

enum {
	E_VOID = 1, /* no end tag (HTML 13.1.2) */
	E_DROP = 2, /* dropped with everything inside */
	E_KEEP = 4, /* allowlisted */
	E_FAST = 8, /* the tokenizer for simple markup may handle it */
};

struct elem {
	const char *name;
	unsigned flags;
	const struct attr *attrs; /* NULL-name terminated, or NULL */
};

static const struct attr a_abbr[] = {{"title", A_TEXT}, {NULL, A_TEXT}};
static const struct attr a_a[] = {{"href", A_HREF}, {"title", A_TEXT}, {NULL, A_TEXT}};
static const struct attr a_img[] = {{"alt", A_TEXT}, {"height", A_NUM}, {"src", A_SRC},
                                    {"title", A_TEXT}, {"width", A_NUM}, {NULL, A_TEXT}};
static const struct attr a_ol[] = {{"start", A_NUM}, {"type", A_OLTYPE}, {NULL, A_TEXT}};
static const struct attr a_td[] = {{"colspan", A_NUM}, {"rowspan", A_NUM}, {NULL, A_TEXT}};
static const struct attr a_th[] = {{"colspan", A_NUM}, {"rowspan", A_NUM},
                                   {"scope", A_SCOPE}, {NULL, A_TEXT}};
static const struct attr a_time[] = {{"datetime", A_TEXT}, {NULL, A_TEXT}};
static const struct attr a_q[] = {{"cite", A_HREF}, {NULL, A_TEXT}};

#define K E_KEEP
#define F (E_KEEP | E_FAST)
/* Sorted by name for bsearch().  Elements not listed are unwrapped: their
 * text stays, the tag goes. */
static const struct elem elems[] = {
	{"a", F, a_a},
	{"abbr", K, a_abbr},
	{"applet", E_DROP, NULL},
	{"audio", E_DROP, NULL},
	{"b", F, NULL},
	{"base", E_DROP, NULL},
	{"blockquote", F, a_q},
	{"br", F | E_VOID, NULL},
	{"button", E_DROP, NULL},
	{"canvas", E_DROP, NULL},
	{"caption", K, NULL},
	{"cite", K, NULL},
	{"code", F, NULL},
	{"datalist", E_DROP, NULL},
	{"dd", K, NULL},
	{"del", K, NULL},
	{"dialog", E_DROP, NULL},
	{"div", F, NULL},
	{"dl", K, NULL},
	{"dt", K, NULL},
	{"em", F, NULL},
	{"embed", E_DROP, NULL},
	{"figcaption", K, NULL},
	{"figure", K, NULL},
	{"form", E_DROP, NULL},
	{"frame", E_DROP, NULL},
	{"frameset", E_DROP, NULL},
	{"h1", F, NULL},
	{"h2", F, NULL},
	{"h3", F, NULL},
	{"h4", F, NULL},
	{"h5", F, NULL},
	{"h6", F, NULL},
	{"head", E_DROP, NULL},
	{"hr", F | E_VOID, NULL},
	{"i", F, NULL},
	{"iframe", E_DROP, NULL},
	{"img", F | E_VOID, a_img},
	{"input", E_DROP, NULL},
	{"ins", K, NULL},
	{"kbd", K, NULL},
	{"li", F, NULL},
	{"link", E_DROP, NULL},
	{"mark", K, NULL},
	{"math", E_DROP, NULL},
	{"meta", E_DROP, NULL},
	{"noembed", E_DROP, NULL},
	{"noframes", E_DROP, NULL},
	{"noscript", E_DROP, NULL},
	{"object", E_DROP, NULL},
	{"ol", F, a_ol},
	{"option", E_DROP, NULL},
	{"p", F, NULL},
	{"param", E_DROP, NULL},
	{"plaintext", E_DROP, NULL},
	{"pre", K, NULL},
	{"q", K, a_q},
	{"s", F, NULL},
	{"samp", K, NULL},
	{"script", E_DROP, NULL},
	{"select", E_DROP, NULL},
	{"small", F, NULL},
	{"source", E_DROP, NULL},
	{"span", F, NULL},
	{"strong", F, NULL},
	{"style", E_DROP, NULL},
	{"sub", F, NULL},
	{"sup", F, NULL},
	{"svg", E_DROP, NULL},
	{"table", K, NULL},
	{"tbody", K, NULL},
	{"td", K, a_td},
	{"template", E_DROP, NULL},
	{"textarea", E_DROP, NULL},
	{"tfoot", K, NULL},
	{"th", K, a_th},
	{"thead", K, NULL},
	{"time", K, a_time},
	{"title", E_DROP, NULL},
	{"tr", K, NULL},
	{"track", E_DROP, NULL},
	{"u", F, NULL},
	{"ul", F, NULL},
	{"var", K, NULL},
	{"video", E_DROP, NULL},
	{"xmp", E_DROP, NULL},
};
#undef K
#undef F

static int elem_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct elem *)e)->name);
}

static const struct elem *elem_find(const char *name)
{
	return bsearch(name, elems, sizeof(elems) / sizeof(elems[0]), sizeof(elems[0]), elem_cmp);
}

/* --- escaping ---------------------------------------------------------- */

/* Replacement per byte: NULL means copy.  C0 controls other than tab, LF
 * and CR are not allowed in XML 1.0 (2.2) and are dropped (""). */
static const char *const esc[256] = {
	"", "", "", "", "", "", "", "", "", NULL, NULL, "", "", NULL, "", "",
	"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
	['"'] = "&quot;", ['&'] = "&amp;", ['\''] = "&#39;", ['<'] = "&lt;",
	['>'] = "&gt;", [0x7F] = "",
};

/* Bytes copied as they are: everything but the five that esc[] escapes
 * and the controls it drops.  UTF-8 sequences pass whole. */
static const unsigned char plain[256] = {
	[0x09] = 1, [0x0A] = 1, [0x0D] = 1, [0x20 ... 0x21] = 1, [0x23 ... 0x25] = 1,
	[0x28 ... 0x3B] = 1, [0x3D] = 1, [0x3F ... 0x7E] = 1, [0x80 ... 0xFF] = 1,
};

/* plain[] but CR, which libxml2 folds with a following LF: the
 * tokenizer leaves such input to it. */
static const unsigned char text_plain[256] = {
	[0x09] = 1, [0x0A] = 1, [0x20 ... 0x21] = 1, [0x23 ... 0x25] = 1,
	[0x28 ... 0x3B] = 1, [0x3D] = 1, [0x3F ... 0x7E] = 1, [0x80 ... 0xFF] = 1,
};

/*
 * Escape s into out without going past `budget` bytes of output; stops
 * early on a character boundary.  Returns 0, or 1 when cut, or HF_ENOMEM.
 * s is valid UTF-8 (libxml2 and utf8_clean see to it), so a cut
 * inside a run backs off to the lead byte of the character it splits.
 */
static int escape_bounded(const char *s, size_t len, size_t budget, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t used = 0;
	char *w;
	int rc;

	/* Worst case 6 bytes out per byte in ("&quot;"). */
	rc = buf_reserve(out, len > budget / 6 + 8 ? (budget < len * 6 ? budget : len * 6) : len * 6);
	if (rc)
		return rc;
	w = out->data + out->len;
	while (p < end) {
		const unsigned char *r = p;
		const char *e;
		size_t n;

		while (r < end && plain[*r])
			r++;
		n = (size_t)(r - p);
		if (n > budget - used) {
			n = budget - used;
			while (n && (p[n] & 0xC0) == 0x80)
				n--;
			memcpy(w, p, n);
			w += n;
			p += n;
			break;
		}
		memcpy(w, p, n);
		w += n;
		used += n;
		p = r;
		if (p >= end)
			break;
		e = esc[*p];
		n = strlen(e);
		if (used + n > budget)
			break;
		memcpy(w, e, n);
		w += n;
		used += n;
		p++;
	}
	out->len = (size_t)(w - out->data);
	out->data[out->len] = '\0';
	return p < end;
}

int sanitize_escape(const char *s, size_t len, struct buf *out)
{
	int rc = escape_bounded(s, len, SIZE_MAX, out);

	return rc < 0 ? rc : 0;
}

/* --- the walk ---------------------------------------------------------- */

struct san {
	struct buf *out;
	htmlParserCtxtPtr ctxt;
	const char *base;
	size_t start;      /* out->len on entry */
	size_t max;
	size_t closers;    /* bytes the end tags of open elements need */
	int skip;          /* depth inside a dropped element */
	int full;          /* max reached: write nothing more */
	int err;
	unsigned depth;
	const struct elem *stack[SAN_MAX_DEPTH]; /* NULL: unwrapped */
	struct buf tmp;
	struct buf url;
};

static size_t room(const struct san *s)
{
	size_t used = s->out->len - s->start + s->closers;

	return used >= s->max ? 0 : s->max - used;
}

static void fail(struct san *s, int rc)
{
	if (!s->err)
		s->err = rc;
	if (s->ctxt)
		xmlStopParser(s->ctxt);
}

/*
 * An href or src that may stay, after resolving (curl's reading, with
 * the white space and controls a browser ignores taken out first, so
 * that "java\tscript:" is javascript:): http(s) with a host, or for an
 * href a mailto: as written.  A relative URL that could not be made
 * absolute goes: it would be resolved against wherever the output ends
 * up.
 */
static int url_kept(const char *v, int web, int img)
{
	if (web)
		return 1;
	if (img || strncmp(v, "mailto:", 7) != 0)
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

static int num_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 4 && strspn(v, "0123456789") == n;
}

static int word_ok(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(v, *words))
			return 1;
	return 0;
}

static const char *const ol_types[] = {"1", "a", "A", "i", "I", NULL};
static const char *const scopes[] = {"row", "col", "rowgroup", "colgroup", NULL};

/* Write one attribute into s->tmp if it is allowed; returns 1 when a URL
 * attribute was kept, 0 when skipped, <0 on error. */
static int put_attr(struct san *s, const struct attr *a, const char *v)
{
	int rc, web, is_url = a->kind == A_HREF || a->kind == A_SRC;

	switch (a->kind) {
	case A_NUM:
		if (!num_ok(v))
			return 0;
		break;
	case A_OLTYPE:
		if (!word_ok(v, ol_types))
			return 0;
		break;
	case A_SCOPE:
		if (!word_ok(v, scopes))
			return 0;
		break;
	case A_HREF:
	case A_SRC:
		buf_clear(&s->url);
		rc = norm_url_resolve(s->base, v, &s->url, &web);
		if (rc == HF_EINVAL)
			return 0;
		if (rc)
			return rc;
		if (!url_kept(s->url.data, web, a->kind == A_SRC))
			return 0;
		v = s->url.data;
		break;
	case A_TEXT:
		break;
	}
	rc = buf_putc(&s->tmp, ' ');
	if (!rc)
		rc = buf_puts(&s->tmp, a->name);
	if (!rc)
		rc = buf_append(&s->tmp, "=\"", 2);
	if (!rc)
		rc = sanitize_escape(v, strlen(v), &s->tmp);
	if (!rc)
		rc = buf_putc(&s->tmp, '"');
	return rc ? rc : is_url;
}

static void start_elem(struct san *s, const struct elem *e, const xmlChar **atts);

static void on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct san *s = ctx;

	start_elem(s, s->skip ? NULL : elem_find((const char *)name), atts);
}

/* on_start for an element already looked up (NULL: not in elems[]) */
static void start_elem(struct san *s, const struct elem *e, const xmlChar **atts)
{
	int rc = 0, has_url = 0;
	size_t need;

	if (s->skip) {
		s->skip++;
		return;
	}
	if (e && (e->flags & E_DROP)) {
		s->skip = 1;
		return;
	}
	if (s->depth >= SAN_MAX_DEPTH) {
		s->depth++;
		return;
	}
	if (!e || s->full) {
		s->stack[s->depth++] = NULL;
		return;
	}
	buf_clear(&s->tmp);
	rc = buf_putc(&s->tmp, '<');
	if (!rc)
		rc = buf_puts(&s->tmp, e->name);
	for (size_t i = 0; !rc && atts && atts[i]; i += 2) {
		const char *an = (const char *)atts[i];
		const char *av = atts[i + 1] ? (const char *)atts[i + 1] : "";
		const struct attr *a;

		for (a = e->attrs; a && a->name; a++) {
			if (!strcmp(a->name, an)) {
				rc = put_attr(s, a, av);
				if (rc > 0) {
					has_url = 1;
					rc = 0;
				}
				break;
			}
		}
	}
	if (!rc)
		rc = buf_putc(&s->tmp, '>');
	if (rc) {
		fail(s, rc);
		return;
	}
	if (!strcmp(e->name, "img") && !has_url) {
		s->stack[s->depth++] = NULL; /* an image of nothing */
		return;
	}
	need = s->tmp.len + (e->flags & E_VOID ? 0 : strlen(e->name) + 3);
	if (need > room(s)) {
		s->full = 1;
		s->stack[s->depth++] = NULL;
		return;
	}
	rc = buf_append(s->out, s->tmp.data, s->tmp.len);
	if (rc) {
		fail(s, rc);
		return;
	}
	if (!(e->flags & E_VOID))
		s->closers += strlen(e->name) + 3;
	s->stack[s->depth++] = e;
}

static int put_end(struct buf *out, const struct elem *e)
{
	size_t n = strlen(e->name);
	int rc = buf_reserve(out, n + 3);

	if (rc)
		return rc;
	out->data[out->len++] = '<';
	out->data[out->len++] = '/';
	memcpy(out->data + out->len, e->name, n);
	out->len += n;
	out->data[out->len++] = '>';
	out->data[out->len] = '\0';
	return 0;
}

static void on_end(void *ctx, const xmlChar *name)
{
	struct san *s = ctx;
	const struct elem *e;
	int rc;

	(void)name;
	if (s->skip) {
		s->skip--;
		return;
	}
	if (!s->depth)
		return;
	if (s->depth > SAN_MAX_DEPTH) {
		s->depth--;
		return;
	}
	e = s->stack[--s->depth];
	if (!e || (e->flags & E_VOID))
		return;
	s->closers -= strlen(e->name) + 3;
	rc = put_end(s->out, e);
	if (rc)
		fail(s, rc);
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	struct san *s = ctx;
	int rc;

	if (s->skip || s->full || len <= 0)
		return;
	rc = escape_bounded((const char *)ch, (size_t)len, room(s), s->out);
	if (rc < 0)
		fail(s, rc);
	else if (rc > 0)
		s->full = 1;
}

/* on_text for a run of plain[] bytes, which need no escaping: the same
 * output as escape_bounded without looking at the bytes again. */
static void on_plain(struct san *s, const char *p, size_t n)
{
	size_t avail;

	if (s->skip || s->full)
		return;
	avail = room(s);
	if (n > avail) {
		n = avail;
		while (n && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
		s->full = 1;
	}
	if (buf_append(s->out, p, n))
		fail(s, HF_ENOMEM);
}

/* Valid UTF-8 without NUL and noncharacters, which is what libxml2 must
 * be given: it would otherwise fall back to Latin-1 for the rest of the
 * input.  Anything else goes through norm_nfc() first. */
static int utf8_clean(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		utf8proc_int32_t c;
		utf8proc_ssize_t l;

		if (n - i >= 8) {
			/* eight ASCII bytes, none of them NUL, at a time */
			uint64_t v;
			memcpy(&v, p + i, 8);
			if (!((v | ((v - 0x0101010101010101ULL) & ~v)) & 0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
		}
		if (p[i] && p[i] < 0x80) {
			i++;
			continue;
		}
		l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
		/* U+xFFFE and U+xFFFF are not characters in XML 1.0 (2.2) */
		if (l <= 0 || c == 0 || (c & 0xFFFE) == 0xFFFE)
			return 0;
		i += (size_t)l;
	}
	return 1;
}

/* Drop everything that is only white space: nothing was kept. */
static void drop_blank(struct buf *out, size_t start)
{
	for (size_t i = start; i < out->len; i++) {
		char c = out->data[i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
	}
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
}

/* --- the tokenizer for simple markup ------------------------------------ */

/*
 * Most feed HTML is a few paragraphs of text with <strong>, <em> and <a
 * href="...">.  libxml2's HTML parser costs several times the whole XML
 * pass on such input, so it is first read by a strict tokenizer that
 * drives the same callbacks (on_start, on_text, on_end) with the same
 * events libxml2 would give, and gives up on anything it is not sure of:
 * an element outside E_FAST, a comment, a '<' that starts no tag, an
 * unquoted or valueless attribute, an unknown entity, a CR or control
 * character, an end tag that does not close the innermost element, a
 * start tag that libxml2 would answer with an implied end tag.  Then the
 * output is rolled back and libxml2 reads the input.
 *
 * It exists for one reason: with libxml2 alone, libxml2's HTML parser is
 * two thirds of `helsefeed parse`'s instructions and the parse falls
 * below its floor of 0.4 times sfeed's speed (bench/parse/README.md).
 * It must give what libxml2 gives, byte for byte: test_sanitize compares
 * both on fixed and random inputs, fuzz_sanitize on every fuzz input.
 */

#define FAST_MAX_DEPTH 64
#define FAST_MAX_ATTS 16

/*
 * Whether libxml2 answers start tag `new` inside `old` with an implied end
 * tag for `old` (htmlAutoClose; <p> inside <p>, <li> inside <li>, <ul>
 * inside <ol> ...).  The table behind it changed between libxml2
 * releases, so the linked library is asked: one tiny parse per pair, the
 * first time the pair is met, remembered for the process.  Relaxed
 * atomics: two threads can only store the same answer.
 */
#define N_ELEMS (sizeof(elems) / sizeof(elems[0]))
static _Atomic unsigned char closes_known[N_ELEMS][N_ELEMS]; /* 0 ?, 1 no, 2 yes */

struct probe {
	const char *old;
	const char *new;
	int in_old; /* old has started */
	int state;  /* 1 old ended, 2 new started first */
};

static void probe_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct probe *p = ctx;

	(void)atts;
	if (!p->in_old)
		p->in_old = !strcmp((const char *)name, p->old);
	else if (!p->state && !strcmp((const char *)name, p->new))
		p->state = 2;
}

static void probe_end(void *ctx, const xmlChar *name)
{
	struct probe *p = ctx;

	if (p->in_old && !p->state && !strcmp((const char *)name, p->old))
		p->state = 1;
}

/* 1 yes, 0 no, HF_ENOMEM */
static int fast_closes(const struct elem *old, const struct elem *new)
{
	_Atomic unsigned char *k = &closes_known[old - elems][new - elems];
	unsigned char v = atomic_load_explicit(k, memory_order_relaxed);
	htmlSAXHandler sax;
	htmlParserCtxtPtr c;
	struct probe p = {old->name, new->name, 0, 0};
	char doc[64];
	int n;

	if (v)
		return v == 2;
	memset(&sax, 0, sizeof(sax));
	sax.startElement = probe_start;
	sax.endElement = probe_end;
	c = htmlCreatePushParserCtxt(&sax, &p, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!c)
		return HF_ENOMEM;
	htmlCtxtUseOptions(c, SAN_OPTIONS);
	n = snprintf(doc, sizeof(doc), "<body><%s><%s>x", old->name, new->name);
	htmlParseChunk(c, doc, n, 0);
	htmlFreeParserCtxt(c);
	if (!p.state)
		return HF_ENOMEM; /* the parser stopped: it could not allocate */
	atomic_store_explicit(k, p.state == 1 ? 2 : 1, memory_order_relaxed);
	return p.state == 1;
}

static int is_alpha(int c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* XML 1.0 (2.2) Char, as libxml2's IS_CHAR. */
static int xml_char(unsigned long c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/*
 * A character reference at p[0] == '&', as libxml2 decodes it
 * (htmlParseCharRef, htmlParseEntityRef): read by norm_entity, with the
 * ';' libxml2 wants, to an XML Char.  The UTF-8 goes to o[4], its length
 * to *olen.  Returns the bytes read, 0 when the tokenizer must give up.
 */
static size_t fast_ref(const char *p, const char *end, char *o, size_t *olen)
{
	uint32_t v;
	size_t n = norm_entity(p, (size_t)(end - p), &v);

	if (!n || p[n - 1] != ';' || !xml_char(v))
		return 0;
	*olen = (size_t)utf8proc_encode_char((utf8proc_int32_t)v, (utf8proc_uint8_t *)o);
	return n;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * One start tag at p (just after '<').  Returns the bytes read after
 * '<', 0 to give up.  Attribute values are decoded into s->tmp's twin
 * `vals` because on_start writes s->tmp.
 */
static size_t fast_start(struct san *s, const char *p, const char *end,
                         const struct elem **fstack, unsigned *fdepth, struct buf *vals)
{
	const char *q = p;
	char name[12], an[FAST_MAX_ATTS][12];
	size_t nl = 0, voff[FAST_MAX_ATTS], na = 0;
	const xmlChar *atts[2 * FAST_MAX_ATTS + 1];
	const struct elem *e;
	int selfclose = 0;

	for (; q < end && is_alnum((unsigned char)*q); q++) {
		if (nl == sizeof(name) - 1)
			return 0;
		name[nl++] = (char)(*q | (is_alpha((unsigned char)*q) ? 0x20 : 0));
	}
	name[nl] = '\0';
	e = elem_find(name);
	if (!e || !(e->flags & E_FAST))
		return 0;
	if (*fdepth) {
		int rc = fast_closes(fstack[*fdepth - 1], e);
		if (rc < 0) {
			fail(s, rc);
			return 0;
		}
		if (rc)
			return 0;
	}
	buf_clear(vals);
	for (;;) {
		const char *b = q;
		size_t n = 0;
		char quote;

		while (q < end && is_blank((unsigned char)*q))
			q++;
		if (q >= end)
			return 0;
		if (*q == '>') {
			q++;
			break;
		}
		if (*q == '/') {
			if (q + 1 >= end || q[1] != '>')
				return 0;
			selfclose = 1;
			q += 2;
			break;
		}
		if (q == b || na == FAST_MAX_ATTS || !is_alpha((unsigned char)*q))
			return 0;
		for (; q < end && (is_alnum((unsigned char)*q) || *q == '-'); q++) {
			if (n == sizeof(an[0]) - 1)
				return 0;
			an[na][n++] = (char)(*q | (is_alpha((unsigned char)*q) ? 0x20 : 0));
		}
		an[na][n] = '\0';
		for (size_t k = 0; k < na; k++)
			if (!strcmp(an[k], an[na]))
				return 0; /* libxml2 keeps the first: rare, leave it to it */
		if (q + 1 >= end || *q != '=' || (q[1] != '"' && q[1] != '\''))
			return 0;
		quote = q[1];
		q += 2;
		voff[na] = vals->len;
		for (;;) {
			const char *r = q;
			char u[4];
			size_t ul = 0, used;

			while (r < end && *r != quote && *r != '&' && *r != '<' &&
			       (unsigned char)*r >= 0x20)
				r++;
			if (buf_append(vals, q, (size_t)(r - q)))
				goto nomem;
			q = r;
			if (q >= end || (*q != quote && *q != '&'))
				return 0;
			if (*q == quote)
				break;
			used = fast_ref(q, end, u, &ul);
			if (!used)
				return 0;
			if (buf_append(vals, u, ul))
				goto nomem;
			q += used;
		}
		q++; /* the quote */
		if (buf_putc(vals, '\0'))
			goto nomem;
		na++;
		if (q < end && !is_blank((unsigned char)*q) && *q != '>' && *q != '/')
			return 0;
	}
	for (size_t k = 0; k < na; k++) {
		atts[2 * k] = (const xmlChar *)an[k];
		atts[2 * k + 1] = (const xmlChar *)(vals->data + voff[k]);
	}
	atts[2 * na] = NULL;
	start_elem(s, e, na ? atts : NULL);
	if (selfclose || (e->flags & E_VOID)) {
		on_end(s, (const xmlChar *)e->name);
	} else {
		if (*fdepth == FAST_MAX_DEPTH)
			return 0;
		fstack[(*fdepth)++] = e;
	}
	return (size_t)(q - p);
nomem:
	fail(s, HF_ENOMEM);
	return 0;
}

/* Returns 0 when done, 1 when the input needs libxml2, HF_ENOMEM. */
static int fast_walk(struct san *s, const char *html, size_t len)
{
	const char *p = html, *end = html + len;
	const struct elem *fstack[FAST_MAX_DEPTH];
	unsigned fdepth = 0;
	struct buf vals = BUF_INIT;
	int rc = 1;

	/* as the slow path, which feeds "<body>" first */
	on_start(s, (const xmlChar *)"body", NULL);
	while (p < end && !s->err) {
		const unsigned char *q = (const unsigned char *)p;

		while (q < (const unsigned char *)end && text_plain[*q])
			q++;
		if (q > (const unsigned char *)p)
			on_plain(s, p, (size_t)((const char *)q - p));
		p = (const char *)q;
		if (p >= end || s->err)
			break;
		if (*p == '"' || *p == '\'' || *p == '>' || *p == 0x7F) {
			on_text(s, (const xmlChar *)p, 1);
			p++;
		} else if (*p == '&') {
			char u[4];
			size_t ul = 0, used = fast_ref(p, end, u, &ul);

			if (!used)
				goto out;
			on_text(s, (const xmlChar *)u, (int)ul);
			p += used;
		} else if (*p == '<') {
			size_t used;

			if (p + 1 >= end)
				goto out;
			if (p[1] == '/') {
				const struct elem *top;
				size_t n;

				if (!fdepth)
					goto out;
				top = fstack[fdepth - 1];
				n = strlen(top->name);
				if ((size_t)(end - p) < n + 3 || strncasecmp(p + 2, top->name, n) ||
				    p[2 + n] != '>')
					goto out;
				on_end(s, (const xmlChar *)top->name);
				fdepth--;
				p += n + 3;
				continue;
			}
			if (!is_alpha((unsigned char)p[1]))
				goto out;
			used = fast_start(s, p + 1, end, fstack, &fdepth, &vals);
			if (!used)
				goto out;
			p += 1 + used;
		} else {
			goto out; /* CR or a control character */
		}
	}
	/* libxml2 closes what is still open at the end (htmlAutoCloseOnEnd) */
	while (!s->err && fdepth)
		on_end(s, (const xmlChar *)fstack[--fdepth]->name);
	if (!s->err)
		on_end(s, (const xmlChar *)"body");
	rc = 0;
out:
	buf_free(&vals);
	return s->err ? s->err : rc;
}

/* --- entry points -------------------------------------------------------- */

static void san_init(struct san *s, struct buf *out, const char *base, size_t max)
{
	s->out = out;
	s->ctxt = NULL;
	s->base = base;
	s->start = out->len;
	s->max = max;
	s->closers = 0;
	s->skip = 0;
	s->full = 0;
	s->err = 0;
	s->depth = 0;
}

static void rollback(struct buf *out, size_t start)
{
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
}

static int slow_walk(struct san *s, const char *html, size_t len)
{
	htmlSAXHandler sax;
	int rc;

	memset(&sax, 0, sizeof(sax));
	sax.startElement = on_start;
	sax.endElement = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	s->ctxt = htmlCreatePushParserCtxt(&sax, s, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!s->ctxt)
		return HF_ENOMEM;
	htmlCtxtUseOptions(s->ctxt, SAN_OPTIONS);
	/* Inside <body>, libxml2 does not wrap loose text in an implied <p>
	 * (htmlCheckParagraph), and it ignores a stray </body> in the input. */
	htmlParseChunk(s->ctxt, "<body>", 6, 0);
	if (!s->err)
		htmlParseChunk(s->ctxt, html, (int)len, 1);
	rc = s->err;
	htmlFreeParserCtxt(s->ctxt);
	s->ctxt = NULL;
	return rc;
}

/* sanitize_run modes: which reader (0 both, 1 the tokenizer only, 2
 * libxml2 only), and whether the input is known to be clean UTF-8. */
#define SAN_WALK 0x3
#define SAN_CHECKED 0x4

/* mode: 0 both paths, 1 the tokenizer only, 2 libxml2 only.  Returns as
 * sanitize_html, or 1 when mode 1 had to give up (out untouched). */
static int sanitize_run(const char *html, size_t len, const char *base, size_t max,
                        struct buf *out, int mode)
{
	struct san *s = NULL;
	struct buf clean = BUF_INIT;
	size_t start = out->len;
	int rc = 0;

	if (!html || !len || !max)
		return 0;
	if (len > INT32_MAX)
		return HF_ETOOBIG;
	if (!(mode & SAN_CHECKED) && !utf8_clean((const unsigned char *)html, len)) {
		rc = norm_nfc(html, len, &clean);
		if (rc)
			goto out;
		/* NUL survives norm_nfc; libxml2 would stop there. */
		for (size_t i = 0; i < clean.len; i++)
			if (!clean.data[i])
				clean.data[i] = ' ';
		html = clean.data;
		len = clean.len;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		rc = HF_ENOMEM;
		goto out;
	}
	s->tmp = (struct buf)BUF_INIT;
	s->url = (struct buf)BUF_INIT;
	rc = 1;
	if ((mode & SAN_WALK) != 2) {
		san_init(s, out, base, max);
		rc = fast_walk(s, html, len);
		if (rc == 1)
			rollback(out, start);
	}
	if (rc == 1 && (mode & SAN_WALK) != 1) {
		san_init(s, out, base, max);
		rc = slow_walk(s, html, len);
	}
	/* Close what libxml2 left open (it normally closes all at the end). */
	while (!rc && s->depth) {
		if (s->depth > SAN_MAX_DEPTH) {
			s->depth--;
			continue;
		}
		const struct elem *e = s->stack[--s->depth];
		if (e && !(e->flags & E_VOID))
			rc = put_end(out, e);
	}
out:
	if (s) {
		buf_free(&s->tmp);
		buf_free(&s->url);
		free(s);
	}
	buf_free(&clean);
	if (rc == 1) {
		rollback(out, start);
	} else if (rc) {
		rollback(out, start);
	} else {
		drop_blank(out, start);
	}
	return rc;
}

int sanitize_html(const char *html, size_t len, const char *base, size_t max,
                  struct buf *out)
{
	return sanitize_run(html, len, base, max, out, 0);
}

int sanitize_html_checked(const char *html, size_t len, const char *base, size_t max,
                          struct buf *out)
{
	return sanitize_run(html, len, base, max, out, SAN_CHECKED);
}

int sanitize_html_fast(const char *html, size_t len, const char *base, size_t max,
                       struct buf *out)
{
	return sanitize_run(html, len, base, max, out, 1);
}

int sanitize_html_libxml(const char *html, size_t len, const char *base, size_t max,
                         struct buf *out)
{
	return sanitize_run(html, len, base, max, out, 2);
}
