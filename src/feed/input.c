/*
 * feed_input.c - bring a feed document to clean UTF-8 before libxml2 sees
 * it: charset detection and transcoding, invalid bytes, forbidden control
 * characters, junk before the prolog, HTML entities and bare ampersands.
 * See feed_text_prepare in feed.h for the rules and why.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/feed.h"
#include "helsefeed/text.h"

enum charset { CS_UTF8, CS_1252, CS_LATIN9, CS_UTF16, CS_UTF16LE, CS_UTF16BE, CS_OTHER };

/* Charset labels we decode ourselves; anything else goes to iconv(3).
 * ISO-8859-1 and ASCII are Windows-1252, as in the WHATWG Encoding
 * standard's label table. */
static const struct {
	const char *label;
	enum charset cs;
} charsets[] = {
	{"utf-8", CS_UTF8}, {"utf8", CS_UTF8}, {"unicode-1-1-utf-8", CS_UTF8},
	{"iso-8859-1", CS_1252}, {"iso8859-1", CS_1252}, {"iso_8859-1", CS_1252},
	{"latin1", CS_1252}, {"latin-1", CS_1252}, {"l1", CS_1252},
	{"us-ascii", CS_1252}, {"ascii", CS_1252}, {"windows-1252", CS_1252},
	{"cp1252", CS_1252}, {"x-cp1252", CS_1252}, {"cp819", CS_1252},
	{"iso-8859-15", CS_LATIN9}, {"iso8859-15", CS_LATIN9},
	{"iso_8859-15", CS_LATIN9}, {"latin9", CS_LATIN9}, {"latin-9", CS_LATIN9},
	{"utf-16", CS_UTF16}, {"utf16", CS_UTF16},
	{"utf-16le", CS_UTF16LE}, {"utf-16be", CS_UTF16BE},
};

/* The eight places where ISO-8859-15 differs from ISO-8859-1. */
static const struct {
	unsigned char byte;
	uint16_t cp;
} latin9[] = {
	{0xa4, 0x20ac}, {0xa6, 0x0160}, {0xa8, 0x0161}, {0xb4, 0x017d},
	{0xb8, 0x017e}, {0xbc, 0x0152}, {0xbd, 0x0153}, {0xbe, 0x0178},
};

/* Byte classes for the UTF-8 scan: 0 passes, 1 forbidden control
 * character (XML 1.0 section 2.2 allows only TAB, LF and CR below
 * U+0020), 2 start of a multi-byte sequence or an invalid byte. */
static const unsigned char byte_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x80] = 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static int put_cp(struct buf *b, uint32_t cp)
{
	utf8proc_uint8_t u[4];

	return buf_append(b, (const char *)u,
	                  (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, u));
}

/* windows-1252 (norm_cp1252), but the five bytes it leaves undefined
 * become U+FFFD rather than C1 controls: in a feed they are always text
 * in some other charset. */
static uint32_t cp1252(unsigned char c)
{
	uint32_t cp = norm_cp1252(c);

	return cp >= 0x80 && cp < 0xa0 ? 0xfffd : cp;
}

/* A 64-bit word with no byte >= 0x80 and none < 0x20 (Hacker's Delight
 * "has less than" test): eight bytes that need no look. */
static int word_plain(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
	return ((w | ((w - 0x2020202020202020ULL) & ~w)) & 0x8080808080808080ULL) == 0;
}

/*
 * Check UTF-8; copy into out only from the first byte that must change.
 * Invalid bytes are read as Windows-1252, forbidden controls and the
 * non-characters U+FFFE/U+FFFF become a space or U+FFFD.  *copied tells
 * whether out holds the result.
 */
static int clean_utf8(const unsigned char *s, size_t n, struct buf *out,
                      unsigned *flags, int *copied)
{
	size_t i = 0, done = 0;
	int rc;

	*copied = 0;
	while (i < n) {
		size_t lim, k;

		if (i + 8 <= n && word_plain(s + i)) {
			i += 8;
			continue;
		}
		lim = i + 8 < n ? i + 8 : n;
		while (i < lim) {
			unsigned char c = s[i];
			uint32_t rep;
			utf8proc_int32_t cp;
			utf8proc_ssize_t m;

			if (byte_class[c] == 0) {
				i++;
				continue;
			}
			if (byte_class[c] == 1) {
				rep = ' ';
				k = 1;
				*flags |= FEED_PREP_CONTROLS;
			} else if ((m = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp)) > 0) {
				k = (size_t)m;
				if (cp >= 0x80 && cp < 0xa0 && norm_cp1252((unsigned char)cp) != (uint32_t)cp) {
					/* A C1 control is a windows-1252 byte that
					 * went through a Latin-1 decoder. */
					rep = norm_cp1252((unsigned char)cp);
					*flags |= FEED_PREP_C1;
				} else if (cp != 0xfffe && cp != 0xffff) {
					i += k;
					continue;
				} else {
					rep = 0xfffd;
					*flags |= FEED_PREP_CONTROLS;
				}
			} else {
				rep = cp1252(c);
				k = 1;
				*flags |= FEED_PREP_BAD_UTF8;
			}
			if ((rc = buf_append(out, (const char *)s + done, i - done)) ||
			    (rc = put_cp(out, rep)))
				return rc;
			i += k;
			done = i;
			*copied = 1;
		}
	}
	if (*copied)
		return buf_append(out, (const char *)s + done, n - done);
	return HF_OK;
}

/* Windows-1252 or ISO-8859-15 to UTF-8. */
static int from_single_byte(const unsigned char *s, size_t n, enum charset cs,
                            struct buf *out, unsigned *flags)
{
	size_t i = 0;
	int rc;

	if ((rc = buf_reserve(out, n + n / 8)))
		return rc;
	while (i < n) {
		size_t run = i;
		uint32_t cp;

		while (i < n && byte_class[s[i]] == 0)
			i++;
		if (i > run && (rc = buf_append(out, (const char *)s + run, i - run)))
			return rc;
		if (i >= n)
			break;
		cp = s[i] < 0x80 ? ' ' : cp1252(s[i]);
		if (s[i] < 0x80)
			*flags |= FEED_PREP_CONTROLS;
		/* 0x80-0x9F stay Windows-1252 under a Latin-9 label too:
		 * C1 controls in a feed are always mislabelled text. */
		for (size_t k = 0; cs == CS_LATIN9 && k < sizeof latin9 / sizeof latin9[0]; k++)
			if (latin9[k].byte == s[i])
				cp = latin9[k].cp;
		if ((rc = put_cp(out, cp)))
			return rc;
		i++;
	}
	return HF_OK;
}

/* UTF-16 (RFC 2781) to UTF-8; unpaired surrogates become U+FFFD. */
static int from_utf16(const unsigned char *s, size_t n, int be, struct buf *out)
{
	int rc;

	if ((rc = buf_reserve(out, n)))
		return rc;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t u = be ? (uint32_t)(s[i] << 8 | s[i + 1]) : (uint32_t)(s[i + 1] << 8 | s[i]);

		if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
			uint32_t l = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3])
			                : (uint32_t)(s[i + 3] << 8 | s[i + 2]);
			if (l >= 0xdc00 && l < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
				i += 2;
			}
		}
		if (u >= 0xd800 && u < 0xe000)
			u = 0xfffd;
		if ((rc = put_cp(out, u)))
			return rc;
	}
	return HF_OK;
}

/* Any other charset, through iconv(3); undecodable bytes become U+FFFD.
 * Returns HF_EINVAL when iconv does not know the charset. */
static int from_iconv(const char *cs, const char *s, size_t n, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", cs);
	char *in = (char *)s;
	size_t left = n;
	int rc = HF_OK;

	if (cd == (iconv_t)-1)
		return HF_EINVAL;
	while (left > 0) {
		char *o;
		size_t room, r;

		if ((rc = buf_reserve(out, left * 2 + 16)))
			break;
		o = out->data + out->len;
		room = out->cap - out->len - 1;
		r = iconv(cd, &in, &left, &o, &room);
		out->len = (size_t)(o - out->data);
		out->data[out->len] = '\0';
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated at the end): skip a byte. */
		if ((rc = put_cp(out, 0xfffd)))
			break;
		in++;
		left--;
	}
	iconv_close(cd);
	return rc;
}

static enum charset charset_find(const char *label)
{
	for (size_t i = 0; i < sizeof charsets / sizeof charsets[0]; i++)
		if (strcmp(charsets[i].label, label) == 0)
			return charsets[i].cs;
	return CS_OTHER;
}

/* Copy a charset label, lower-cased, into t->charset; 0 when it fits. */
static int take_label(struct feed_text *t, const char *s, size_t n)
{
	if (n == 0 || n >= sizeof t->charset)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':')
			return -1;
		t->charset[i] = (char)tolower(c);
	}
	t->charset[n] = '\0';
	return 0;
}

/* encoding="..." of an XML declaration at s (XML 1.0 section 4.3.3). */
static int decl_charset(const char *s, size_t n, struct feed_text *t)
{
	const char *end, *p, *q;

	if (n < 6 || memcmp(s, "<?xml", 5) != 0)
		return -1;
	end = memmem(s, n < 512 ? n : 512, "?>", 2);
	if (!end || !(p = memmem(s, (size_t)(end - s), "encoding", 8)))
		return -1;
	p += 8;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '='))
		p++;
	if (p >= end || (*p != '"' && *p != '\''))
		return -1;
	q = memchr(p + 1, *p, (size_t)(end - p - 1));
	return q ? take_label(t, p + 1, (size_t)(q - p - 1)) : -1;
}

/* charset=... of a Content-Type (RFC 9110 section 8.3). */
static int type_charset(const char *ct, struct feed_text *t)
{
	const char *p;
	size_t n;

	if (!ct)
		return -1;
	for (p = ct; *p; p++)
		if (strncasecmp(p, "charset", 7) == 0)
			break;
	if (!*p)
		return -1;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '=')
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"')
		p++;
	n = strcspn(p, "\"; \t,");
	return take_label(t, p, n);
}

/* A character reference to something XML 1.0 section 2.2 forbids. */
static int bad_char(unsigned long v)
{
	return (v < 0x20 && v != 9 && v != 10 && v != 13) ||
	       (v >= 0xd800 && v < 0xe000) || v == 0xfffe || v == 0xffff || v > 0x10ffff;
}

/* The length of "amp;", "lt;", "gt;", "quot;" or "apos;" at p, XML's
 * five predefined entities (XML 1.0 section 4.6), or 0: most '&' in a
 * feed start one, and they need no look-up. */
static size_t xml_predefined(const char *p, const char *end)
{
	static const char *const names[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]);
		if ((size_t)(end - p) >= n && memcmp(p, names[i], n) == 0)
			return n;
	}
	return 0;
}

static const char *find(const char *p, const char *end, const char *pat, size_t n)
{
	const char *r = memmem(p, (size_t)(end - p), pat, n);
	return r ? r : end;
}

/*
 * Inside a CDATA section or a comment '&' is only text.  Called only for
 * an '&' that would be rewritten, so a document that needs no rewriting
 * is never scanned for sections.  *scan is how far the section structure
 * is known; returns the end of the section holding p, or NULL.
 */
static const char *section_end(const char **scan, const char *end, const char *p)
{
	while (*scan < p) {
		const char *c = memmem(*scan, (size_t)(p - *scan), "<!", 2), *e;

		if (!c) {
			*scan = p;
			return NULL;
		}
		if ((size_t)(end - c) >= 9 && memcmp(c, "<![CDATA[", 9) == 0)
			e = find(c + 9, end, "]]>", 3);
		else if ((size_t)(end - c) >= 4 && memcmp(c, "<!--", 4) == 0)
			e = find(c + 4, end, "-->", 3);
		else {
			*scan = c + 2;
			continue;
		}
		if (e >= p)
			return e;
		*scan = e + 3;
	}
	return NULL;
}

/*
 * Rewrite the references libxml2 would reject (see feed.h).  s is clean
 * UTF-8; copies into out only from the first change.
 */
static int fix_entities(const char *s, size_t n, struct buf *out, int *copied)
{
	const char *end = s + n, *p = s, *done = s, *scan = s, *sec;
	int dtd = -1, rc;

	*copied = 0;
	while ((p = memchr(p, '&', (size_t)(end - p))) != NULL) {
		const char *q = p + 1, *rep = NULL, *e;
		char num[16];
		size_t skip = 1, k;
		uint32_t cp;

		if ((k = xml_predefined(q, end)) != 0) {
			p = q + k;
			continue;
		}
		k = norm_entity(p, (size_t)(end - p), &cp);
		if (q < end && *q == '#') {
			/* XML 1.0 section 4.1 wants the ';' HTML may leave out. */
			if (k && p[k - 1] == ';') {
				if (cp >= 0x80 && cp < 0xa0 && norm_cp1252((unsigned char)cp) != cp) {
					/* "&#146;": the windows-1252 byte, as HTML 5
					 * and feed readers read it. */
					snprintf(num, sizeof num, "&#%u;", (unsigned)norm_cp1252((unsigned char)cp));
					rep = num;
				} else if (!bad_char(cp)) {
					p += k;
					continue;
				} else {
					rep = "&#xFFFD;";
				}
				skip = k;
			} else {
				rep = "&amp;";
			}
		} else if (k) {
			/* One of HTML 4's names that XML does not know. */
			snprintf(num, sizeof num, "&#%u;", (unsigned)cp);
			rep = num;
			skip = k;
		} else {
			for (e = q; e < end && e - q < 32 && isalnum((unsigned char)*e); e++)
				;
			if (e > q && e < end && *e == ';' && isalpha((unsigned char)*q)) {
				/* Declared in an internal DTD subset: leave it to
				 * libxml2, which will not expand it. */
				if (dtd < 0)
					dtd = memmem(s, n, "<!ENTITY", 8) != NULL;
				if (dtd) {
					p = e + 1;
					continue;
				}
				rep = "&amp;";
			} else if (e > q && e < end && *e == ';') {
				p = e + 1;
				continue;
			} else {
				rep = "&amp;";
			}
		}
		if ((sec = section_end(&scan, end, p)) != NULL) {
			if (sec >= end)
				break;
			p = sec + 3;
			continue;
		}
		if ((rc = buf_append(out, done, (size_t)(p - done))) || (rc = buf_puts(out, rep)))
			return rc;
		p += skip;
		done = p;
		*copied = 1;
	}
	if (*copied)
		return buf_append(out, done, (size_t)(end - done));
	return HF_OK;
}

static void swap(struct feed_text *t)
{
	struct buf b = t->own;

	t->own = t->tmp;
	t->tmp = b;
	buf_clear(&t->tmp);
}

int feed_text_prepare(const char *data, size_t len, const char *content_type,
                      struct feed_text *t)
{
	const unsigned char *s = (const unsigned char *)data;
	enum charset cs = CS_UTF8;
	int copied = 0, bom = 0, rc = HF_OK;
	const char *p;

	t->flags = 0;
	t->data = "";
	t->len = 0;
	buf_clear(&t->own);
	buf_clear(&t->tmp);
	snprintf(t->charset, sizeof t->charset, "utf-8");

	/* 1. Byte order mark, or the UTF-16 form of "<?" (XML 1.0 appendix F). */
	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) {
		s += 3, len -= 3, bom = 1;
	} else if (len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff))) {
		cs = s[0] == 0xfe ? CS_UTF16BE : CS_UTF16LE;
		s += 2, len -= 2, bom = 1;
	} else if (len >= 4 && s[0] == '<' && s[1] == 0 && s[2] == '?' && s[3] == 0) {
		cs = CS_UTF16LE;
	} else if (len >= 4 && s[0] == 0 && s[1] == '<' && s[2] == 0 && s[3] == '?') {
		cs = CS_UTF16BE;
	}

	if (cs == CS_UTF16LE || cs == CS_UTF16BE) {
		snprintf(t->charset, sizeof t->charset, cs == CS_UTF16BE ? "utf-16be" : "utf-16le");
		t->flags |= FEED_PREP_TRANSCODED;
		if ((rc = from_utf16(s, len, cs == CS_UTF16BE, &t->tmp)))
			goto out;
		if ((rc = clean_utf8((const unsigned char *)t->tmp.data, t->tmp.len, &t->own, &t->flags, &copied)))
			goto out;
		if (!copied)
			swap(t);
		s = (const unsigned char *)t->own.data;
		len = t->own.len;
		cs = CS_UTF8;
		copied = 1;
	}

	/* 2. Junk before the prolog: a PHP warning, a stray newline. */
	p = len ? memchr(s, '<', len) : NULL;
	if (!p) {
		for (size_t i = 0; i < len; i++)
			if (!isspace(s[i]))
				t->flags |= FEED_PREP_JUNK;
		goto out;
	}
	if ((const unsigned char *)p != s) {
		for (const unsigned char *c = s; c < (const unsigned char *)p; c++)
			if (!isspace(*c))
				t->flags |= FEED_PREP_JUNK;
		len -= (size_t)((const unsigned char *)p - s);
		s = (const unsigned char *)p;
	}

	/* 3. The charset: declaration, then HTTP, then UTF-8. */
	if (!copied && !bom && (decl_charset((const char *)s, len, t) == 0 ||
	                        type_charset(content_type, t) == 0)) {
		cs = charset_find(t->charset);
		if (cs == CS_UTF16) /* declared but no BOM and no 00 bytes */
			cs = CS_UTF8;
	}
	if (cs == CS_UTF8 && !copied) {
		if ((rc = clean_utf8(s, len, &t->own, &t->flags, &copied)))
			goto out;
	} else if (cs == CS_1252 || cs == CS_LATIN9) {
		t->flags |= FEED_PREP_TRANSCODED;
		if ((rc = from_single_byte(s, len, cs, &t->own, &t->flags)))
			goto out;
		copied = 1;
	} else if (cs != CS_UTF8) {
		rc = from_iconv(t->charset, (const char *)s, len, &t->tmp);
		if (rc == HF_EINVAL) {
			/* Unknown label: read as UTF-8, with the fallback. */
			snprintf(t->charset, sizeof t->charset, "utf-8");
			rc = clean_utf8(s, len, &t->own, &t->flags, &copied);
		} else if (rc == HF_OK) {
			t->flags |= FEED_PREP_TRANSCODED;
			rc = clean_utf8((const unsigned char *)t->tmp.data, t->tmp.len, &t->own, &t->flags, &copied);
			if (!rc && !copied)
				swap(t);
			copied = 1;
		}
		if (rc)
			goto out;
	}
	if (copied) {
		s = (const unsigned char *)t->own.data;
		len = t->own.len;
	}

	/* 4. References libxml2 would reject. */
	if (memchr(s, '&', len)) {
		int fixed = 0;
		buf_clear(&t->tmp);
		if ((rc = fix_entities((const char *)s, len, &t->tmp, &fixed)))
			goto out;
		if (fixed) {
			swap(t);
			s = (const unsigned char *)t->own.data;
			len = t->own.len;
			t->flags |= FEED_PREP_ENTITIES;
		}
	}
	t->data = (const char *)s;
	t->len = len;
out:
	return rc;
}

void feed_text_free(struct feed_text *t)
{
	buf_free(&t->own);
	buf_free(&t->tmp);
	t->data = NULL;
	t->len = 0;
}
