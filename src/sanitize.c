/*
 * sanitize.c - rebuild untrusted HTML from an allowlist; see sanitize.h.
 *
 * libxml2's HTML parser tokenises the input the way a browser would
 * recover it (entities decoded, implied end tags, broken markup), and
 * drives SAX callbacks: no tree is built, so memory stays flat for a
 * megabyte of content.  Output is written from scratch: every name comes
 * from our tables, every text and attribute value is escaped, so nothing
 * the input spelled survives except characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "helsefeed/norm.h"
#include "helsefeed/sanitize.h"

/* Deeper nesting than this is unwrapped: no real article needs it and
 * the stack stays fixed. */
#define SAN_MAX_DEPTH 256

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
/* Sorted by name for bsearch().  Elements not listed are unwrapped: their
 * text stays, the tag goes. */
static const struct elem elems[] = {
	{"a", K, a_a},
	{"abbr", K, a_abbr},
	{"applet", E_DROP, NULL},
	{"audio", E_DROP, NULL},
	{"b", K, NULL},
	{"base", E_DROP, NULL},
	{"blockquote", K, a_q},
	{"br", K | E_VOID, NULL},
	{"button", E_DROP, NULL},
	{"canvas", E_DROP, NULL},
	{"caption", K, NULL},
	{"cite", K, NULL},
	{"code", K, NULL},
	{"datalist", E_DROP, NULL},
	{"dd", K, NULL},
	{"del", K, NULL},
	{"dialog", E_DROP, NULL},
	{"div", K, NULL},
	{"dl", K, NULL},
	{"dt", K, NULL},
	{"em", K, NULL},
	{"embed", E_DROP, NULL},
	{"figcaption", K, NULL},
	{"figure", K, NULL},
	{"form", E_DROP, NULL},
	{"frame", E_DROP, NULL},
	{"frameset", E_DROP, NULL},
	{"h1", K, NULL},
	{"h2", K, NULL},
	{"h3", K, NULL},
	{"h4", K, NULL},
	{"h5", K, NULL},
	{"h6", K, NULL},
	{"head", E_DROP, NULL},
	{"hr", K | E_VOID, NULL},
	{"i", K, NULL},
	{"iframe", E_DROP, NULL},
	{"img", K | E_VOID, a_img},
	{"input", E_DROP, NULL},
	{"ins", K, NULL},
	{"kbd", K, NULL},
	{"li", K, NULL},
	{"link", E_DROP, NULL},
	{"mark", K, NULL},
	{"math", E_DROP, NULL},
	{"meta", E_DROP, NULL},
	{"noembed", E_DROP, NULL},
	{"noframes", E_DROP, NULL},
	{"noscript", E_DROP, NULL},
	{"object", E_DROP, NULL},
	{"ol", K, a_ol},
	{"option", E_DROP, NULL},
	{"p", K, NULL},
	{"param", E_DROP, NULL},
	{"plaintext", E_DROP, NULL},
	{"pre", K, NULL},
	{"q", K, a_q},
	{"s", K, NULL},
	{"samp", K, NULL},
	{"script", E_DROP, NULL},
	{"select", E_DROP, NULL},
	{"small", K, NULL},
	{"source", E_DROP, NULL},
	{"span", K, NULL},
	{"strong", K, NULL},
	{"style", E_DROP, NULL},
	{"sub", K, NULL},
	{"sup", K, NULL},
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
	{"u", K, NULL},
	{"ul", K, NULL},
	{"var", K, NULL},
	{"video", E_DROP, NULL},
	{"xmp", E_DROP, NULL},
};
#undef K

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

/* Bytes the next character takes (1 for a lone continuation byte). */
static size_t char_len(const unsigned char *s, size_t n)
{
	size_t l = s[0] < 0xC0 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;

	return l > n ? n : l;
}

/*
 * Escape s into out without going past `budget` bytes of output; stops
 * early on a character boundary.  Returns 0, or 1 when cut, or HF_ENOMEM.
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
		const char *e = esc[*p];
		size_t n;

		if (*p < 0x80) {
			n = e ? strlen(e) : 1;
			if (used + n > budget)
				break;
			if (e)
				memcpy(w, e, n);
			else
				*w = (char)*p;
			w += n;
			used += n;
			p++;
			continue;
		}
		n = char_len(p, (size_t)(end - p));
		if (used + n > budget)
			break;
		/* libxml2 and norm hand us valid UTF-8; copy it whole. */
		memcpy(w, p, n);
		w += n;
		used += n;
		p += n;
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
	xmlStopParser(s->ctxt);
}

static int lower_eq(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(a, lit, n);
}

/*
 * Browsers ignore ASCII white space and control characters inside a
 * URL's scheme ("java\tscript:", " javascript:") and fold its case: look
 * at the scheme exactly as they will.  Returns 1 when the URL may stay.
 */
static int url_allowed(const char *v, int img)
{
	char scheme[16];
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= 0x20 || *p == 0x7F)
			continue;
		if (*p == ':')
			break;
		if (*p == '/' || *p == '?' || *p == '#')
			return 1; /* relative: no scheme at all */
		if (n == sizeof(scheme) - 1)
			return 0;
		scheme[n++] = (char)*p;
		if (!*(p + 1))
			return 1; /* no ':' anywhere */
	}
	if (n == 0)
		return 0; /* ":foo" or only spaces before ':' */
	if (lower_eq(scheme, n, "http") || lower_eq(scheme, n, "https"))
		return 1;
	return !img && lower_eq(scheme, n, "mailto");
}

static int url_absolute(const char *v, int img)
{
	/* RFC 3986 has no white space or controls in a URL; curl keeps them
	 * in a host it cannot judge ("http://x style=") */
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p == 0x7F)
			return 0;
	if (!strncmp(v, "https://", 8) || !strncmp(v, "http://", 7))
		return v[v[4] == 's' ? 8 : 7] != '\0';
	return !img && !strncmp(v, "mailto:", 7);
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
	int rc, is_url = a->kind == A_HREF || a->kind == A_SRC;

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
		if (!url_allowed(v, a->kind == A_SRC))
			return 0;
		buf_clear(&s->url);
		rc = norm_url_resolve(s->base, v, &s->url);
		if (rc == HF_EINVAL)
			return 0;
		if (rc)
			return rc;
		/* The base may have been anything, or missing: only an absolute
		 * URL of an allowed scheme goes out, since a relative one would
		 * be resolved against wherever the output ends up. */
		if (!url_absolute(s->url.data, a->kind == A_SRC))
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

static void on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct san *s = ctx;
	const struct elem *e;
	int rc = 0, has_url = 0;
	size_t need;

	if (s->skip) {
		s->skip++;
		return;
	}
	e = elem_find((const char *)name);
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

/* Valid UTF-8 without NUL and noncharacters, which is what libxml2 must
 * be given: it would otherwise fall back to Latin-1 for the rest of the
 * input.  Anything else goes through norm_nfc() first. */
static int utf8_clean(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t l;
		if (c && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			l = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			l = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			l = 4;
		else
			return 0;
		if (n - i < l)
			return 0;
		for (size_t k = 1; k < l; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
		if ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] > 0x9F) ||
		    (c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] > 0x8F))
			return 0;
		/* U+xFFFE and U+xFFFF are not characters in XML 1.0 (2.2) */
		if (p[i + l - 2] == 0xBF && p[i + l - 1] >= 0xBE &&
		    ((l == 3 && c == 0xEF) || (l == 4 && (p[i + 1] & 0x0F) == 0x0F)))
			return 0;
		i += l;
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

static int sanitize_text(const char *html, size_t len, size_t max, struct buf *out)
{
	struct buf t = BUF_INIT;
	int rc = 0;

	if (memchr(html, '&', len)) {
		rc = norm_unescape(html, len, &t);
		if (rc)
			goto out;
		html = t.data;
		len = t.len;
	} else if (!utf8_clean((const unsigned char *)html, len)) {
		rc = norm_nfc(html, len, &t);
		if (rc)
			goto out;
		html = t.data;
		len = t.len;
	}
	rc = escape_bounded(html, len, max, out);
	if (rc > 0)
		rc = 0;
out:
	buf_free(&t);
	return rc;
}

int sanitize_html(const char *html, size_t len, const char *base, size_t max,
                  struct buf *out)
{
	static const int opts = HTML_PARSE_NONET | HTML_PARSE_NOERROR |
	                        HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |
	                        HTML_PARSE_NOIMPLIED | HTML_PARSE_IGNORE_ENC;
	htmlSAXHandler sax;
	struct san *s = NULL;
	struct buf clean = BUF_INIT;
	size_t start = out->len;
	int rc = 0;

	if (!html || !len || !max)
		return 0;
	if (len > INT32_MAX)
		return HF_ETOOBIG;
	/* Plain text, the common case in RSS descriptions: no parser. */
	if (!memchr(html, '<', len)) {
		rc = sanitize_text(html, len, max, out);
		goto out;
	}
	if (!utf8_clean((const unsigned char *)html, len)) {
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
	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = HF_ENOMEM;
		goto out;
	}
	s->out = out;
	s->base = base;
	s->start = start;
	s->max = max;
	memset(&sax, 0, sizeof(sax));
	sax.startElement = on_start;
	sax.endElement = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	s->ctxt = htmlCreatePushParserCtxt(&sax, s, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!s->ctxt) {
		rc = HF_ENOMEM;
		goto out;
	}
	htmlCtxtUseOptions(s->ctxt, opts);
	/* Inside <body>, libxml2 does not wrap loose text in an implied <p>
	 * (htmlCheckParagraph), and it ignores a stray </body> in the input. */
	htmlParseChunk(s->ctxt, "<body>", 6, 0);
	if (!s->err)
		htmlParseChunk(s->ctxt, html, (int)len, 1);
	rc = s->err;
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
		if (s->ctxt)
			htmlFreeParserCtxt(s->ctxt);
		buf_free(&s->tmp);
		buf_free(&s->url);
		free(s);
	}
	buf_free(&clean);
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	} else {
		drop_blank(out, start);
	}
	return rc;
}
