/*
 * norm_text.c - text fields: entities, tags, controls, whitespace, UTF-8
 * and NFC in one pass; see norm.h.
 *
 * This runs for every title and summary of every feed, so the decoder is
 * one loop writing straight into the output buffer (reserved once, at the
 * worst-case expansion), printable ASCII is copied without a branch per
 * class, and utf8proc's NFC (which allocates) only runs when a code point
 * that NFC could change was actually seen.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/norm.h"

enum {
	NT_ENT = 1,      /* decode character references */
	NT_STRIP = 2,    /* drop tags, comments, script and style */
	NT_COLLAPSE = 4, /* collapse and trim white space */
	NT_CTRL = 8,     /* drop control and invisible format characters */
};

#define REPLACEMENT 0xFFFD

struct ent {
	const char *name;
	unsigned cp;
};

/* HTML 4 (all of it) and the HTML 5 names seen in the wild; an unknown
 * name is kept literally.  Generated, one line per few entries. */
static const struct ent ents[] = {
/* 364 entities, sorted by strcmp() for bsearch(). */
	{"AElig", 198}, {"AMP", 38}, {"Aacute", 193}, {"Acirc", 194},
	{"Agrave", 192}, {"Alpha", 913}, {"Amacr", 256}, {"Aogon", 260},
	{"Aring", 197}, {"Atilde", 195}, {"Auml", 196}, {"Beta", 914},
	{"COPY", 169}, {"Cacute", 262}, {"Ccaron", 268}, {"Ccedil", 199},
	{"Chi", 935}, {"Dagger", 8225}, {"Dcaron", 270}, {"Delta", 916},
	{"ENG", 330}, {"ETH", 208}, {"Eacute", 201}, {"Ecaron", 282},
	{"Ecirc", 202}, {"Egrave", 200}, {"Emacr", 274}, {"Eogon", 280},
	{"Epsilon", 917}, {"Eta", 919}, {"Euml", 203}, {"GT", 62},
	{"Gamma", 915}, {"Gbreve", 286}, {"Hat", 94}, {"Iacute", 205},
	{"Icirc", 206}, {"Idot", 304}, {"Igrave", 204}, {"Imacr", 298},
	{"Iota", 921}, {"Iuml", 207}, {"Kappa", 922}, {"LT", 60},
	{"Lambda", 923}, {"Lstrok", 321}, {"MediumSpace", 8287}, {"Mu", 924},
	{"Nacute", 323}, {"Ncaron", 327}, {"NewLine", 10}, {"NoBreak", 8288},
	{"NonBreakingSpace", 160}, {"Ntilde", 209}, {"Nu", 925},
	{"OElig", 338}, {"Oacute", 211}, {"Ocirc", 212}, {"Odblac", 336},
	{"Ograve", 210}, {"Omega", 937}, {"Omicron", 927}, {"Oslash", 216},
	{"Otilde", 213}, {"Ouml", 214}, {"Phi", 934}, {"Pi", 928},
	{"Prime", 8243}, {"Psi", 936}, {"QUOT", 34}, {"REG", 174},
	{"Rcaron", 344}, {"Rho", 929}, {"Sacute", 346}, {"Scaron", 352},
	{"Scedil", 350}, {"Sigma", 931}, {"THORN", 222}, {"TRADE", 8482},
	{"Tab", 9}, {"Tau", 932}, {"Tcaron", 356}, {"Theta", 920},
	{"Uacute", 218}, {"Ucirc", 219}, {"Udblac", 368}, {"Ugrave", 217},
	{"Umacr", 362}, {"Upsilon", 933}, {"Uring", 366}, {"Uuml", 220},
	{"Xi", 926}, {"Yacute", 221}, {"Yuml", 376}, {"Zacute", 377},
	{"Zcaron", 381}, {"Zdot", 379}, {"ZeroWidthSpace", 8203},
	{"Zeta", 918}, {"aacute", 225}, {"acirc", 226}, {"acute", 180},
	{"aelig", 230}, {"agrave", 224}, {"alefsym", 8501}, {"alpha", 945},
	{"amacr", 257}, {"amp", 38}, {"and", 8743}, {"ang", 8736},
	{"aogon", 261}, {"apos", 39}, {"aring", 229}, {"ast", 42},
	{"asymp", 8776}, {"atilde", 227}, {"auml", 228}, {"bdquo", 8222},
	{"beta", 946}, {"brvbar", 166}, {"bsol", 92}, {"bull", 8226},
	{"bullet", 8226}, {"cacute", 263}, {"cap", 8745}, {"ccaron", 269},
	{"ccedil", 231}, {"cedil", 184}, {"cent", 162}, {"check", 10003},
	{"chi", 967}, {"circ", 710}, {"clubs", 9827}, {"colon", 58},
	{"comma", 44}, {"commat", 64}, {"cong", 8773}, {"copy", 169},
	{"crarr", 8629}, {"cross", 10007}, {"cup", 8746}, {"curren", 164},
	{"dArr", 8659}, {"dagger", 8224}, {"darr", 8595}, {"dash", 8208},
	{"dcaron", 271}, {"deg", 176}, {"delta", 948}, {"diams", 9830},
	{"divide", 247}, {"dollar", 36}, {"eacute", 233}, {"ecaron", 283},
	{"ecirc", 234}, {"egrave", 232}, {"emacr", 275}, {"empty", 8709},
	{"emsp", 8195}, {"emsp13", 8196}, {"emsp14", 8197}, {"eng", 331},
	{"ensp", 8194}, {"eogon", 281}, {"epsilon", 949}, {"equals", 61},
	{"equiv", 8801}, {"eta", 951}, {"eth", 240}, {"euml", 235},
	{"euro", 8364}, {"excl", 33}, {"exist", 8707}, {"fnof", 402},
	{"forall", 8704}, {"frac12", 189}, {"frac14", 188}, {"frac34", 190},
	{"frasl", 8260}, {"gamma", 947}, {"gbreve", 287}, {"ge", 8805},
	{"grave", 96}, {"gt", 62}, {"hArr", 8660}, {"hairsp", 8202},
	{"half", 189}, {"harr", 8596}, {"hearts", 9829}, {"hellip", 8230},
	{"horbar", 8213}, {"hyphen", 8208}, {"iacute", 237}, {"icirc", 238},
	{"iexcl", 161}, {"igrave", 236}, {"imacr", 299}, {"image", 8465},
	{"imath", 305}, {"infin", 8734}, {"inodot", 305}, {"int", 8747},
	{"iota", 953}, {"iquest", 191}, {"isin", 8712}, {"iuml", 239},
	{"kappa", 954}, {"lArr", 8656}, {"lambda", 955}, {"lang", 10216},
	{"laquo", 171}, {"larr", 8592}, {"larrow", 8592}, {"lceil", 8968},
	{"lcub", 123}, {"ldquo", 8220}, {"ldquor", 8222}, {"le", 8804},
	{"lfloor", 8970}, {"lowast", 8727}, {"lowbar", 95}, {"loz", 9674},
	{"lpar", 40}, {"lrm", 8206}, {"lsaquo", 8249}, {"lsqb", 91},
	{"lsquo", 8216}, {"lsquor", 8218}, {"lstrok", 322}, {"lt", 60},
	{"macr", 175}, {"mdash", 8212}, {"micro", 181}, {"middot", 183},
	{"minus", 8722}, {"mldr", 8230}, {"mu", 956}, {"nabla", 8711},
	{"nacute", 324}, {"nbsp", 160}, {"ncaron", 328}, {"ndash", 8211},
	{"ne", 8800}, {"ni", 8715}, {"nldr", 8229}, {"not", 172},
	{"notin", 8713}, {"nsub", 8836}, {"ntilde", 241}, {"nu", 957},
	{"num", 35}, {"numsp", 8199}, {"oacute", 243}, {"ocirc", 244},
	{"odblac", 337}, {"oelig", 339}, {"ograve", 242}, {"oline", 8254},
	{"omega", 969}, {"omicron", 959}, {"oplus", 8853}, {"or", 8744},
	{"ordf", 170}, {"ordm", 186}, {"oslash", 248}, {"otilde", 245},
	{"otimes", 8855}, {"ouml", 246}, {"para", 182}, {"part", 8706},
	{"percnt", 37}, {"period", 46}, {"permil", 8240}, {"perp", 8869},
	{"phi", 966}, {"pi", 960}, {"piv", 982}, {"plus", 43}, {"plusmn", 177},
	{"pound", 163}, {"prime", 8242}, {"prod", 8719}, {"prop", 8733},
	{"psi", 968}, {"puncsp", 8200}, {"quest", 63}, {"quot", 34},
	{"rArr", 8658}, {"radic", 8730}, {"rang", 10217}, {"raquo", 187},
	{"rarr", 8594}, {"rarrow", 8594}, {"rcaron", 345}, {"rceil", 8969},
	{"rcub", 125}, {"rdquo", 8221}, {"rdquor", 8221}, {"real", 8476},
	{"reg", 174}, {"rfloor", 8971}, {"rho", 961}, {"rlm", 8207},
	{"rpar", 41}, {"rsaquo", 8250}, {"rsqb", 93}, {"rsquo", 8217},
	{"rsquor", 8217}, {"sacute", 347}, {"sbquo", 8218}, {"scaron", 353},
	{"scedil", 351}, {"sdot", 8901}, {"sect", 167}, {"semi", 59},
	{"shy", 173}, {"sigma", 963}, {"sigmaf", 962}, {"sim", 8764},
	{"sol", 47}, {"spades", 9824}, {"sub", 8834}, {"sube", 8838},
	{"sum", 8721}, {"sup", 8835}, {"sup1", 185}, {"sup2", 178},
	{"sup3", 179}, {"supe", 8839}, {"szlig", 223}, {"tau", 964},
	{"tcaron", 357}, {"there4", 8756}, {"theta", 952}, {"thetasym", 977},
	{"thinsp", 8201}, {"thorn", 254}, {"tilde", 732}, {"times", 215},
	{"trade", 8482}, {"uArr", 8657}, {"uacute", 250}, {"uarr", 8593},
	{"ucirc", 251}, {"udblac", 369}, {"ugrave", 249}, {"umacr", 363},
	{"uml", 168}, {"upsih", 978}, {"upsilon", 965}, {"uring", 367},
	{"uuml", 252}, {"verbar", 124}, {"weierp", 8472}, {"xi", 958},
	{"yacute", 253}, {"yen", 165}, {"yuml", 255}, {"zacute", 378},
	{"zcaron", 382}, {"zdot", 380}, {"zeta", 950}, {"zwj", 8205},
	{"zwnj", 8204},
};

static int ent_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ent *)elem)->name);
}

/* HTML 5 (13.2.5.80): numeric references to 0x80..0x9F mean the
 * windows-1252 character, which is what a CMS that wrote them meant. */
static const unsigned short cp1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

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

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xC0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xE0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (char)(0xF0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	}
	return w;
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
	d->w = put_utf8(d->w, cp);
}

/* Decode one UTF-8 sequence at s (< end); *cp is U+FFFD for an invalid
 * byte, which is then consumed alone (Unicode 3.9, U+FFFD substitution). */
static size_t utf8_dec(const unsigned char *s, const unsigned char *end, unsigned *cp)
{
	unsigned c = s[0], v, min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = REPLACEMENT;
		return 1;
	}
	if ((size_t)(end - s) < n)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return n;
bad:
	*cp = REPLACEMENT;
	return 1;
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

/* A character reference at s ('&'); returns the bytes consumed, 0 when it
 * is none (the '&' is then literal). */
static size_t entity(const char *s, const char *end, unsigned *cp)
{
	const char *p = s + 1;
	char name[24];
	size_t n = 0;
	const struct ent *e;

	if (p < end && *p == '#') {
		unsigned long v = 0;
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
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = REPLACEMENT;
		else if (v >= 0x80 && v <= 0x9F)
			v = cp1252[v - 0x80];
		*cp = (unsigned)v;
		return (size_t)(p - s);
	}
	while (p < end && is_alnum((unsigned char)*p)) {
		if (n == sizeof(name) - 1)
			return 0;
		name[n++] = *p++;
	}
	if (!n || p >= end || *p != ';')
		return 0;
	name[n] = '\0';
	e = bsearch(name, ents, sizeof(ents) / sizeof(ents[0]), sizeof(ents[0]), ent_cmp);
	if (!e)
		return 0;
	*cp = e->cp;
	return (size_t)(p + 1 - s);
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
			s += utf8_dec((const unsigned char *)s, (const unsigned char *)end, &cp);
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

int norm_text(const char *s, size_t len, int strip_html, size_t max,
              struct buf *out, int *truncated)
{
	return run(s, len, NT_ENT | NT_CTRL | NT_COLLAPSE | (strip_html ? NT_STRIP : 0),
	           max, out, truncated);
}

int norm_nfc(const char *s, size_t len, struct buf *out)
{
	return run(s, len, 0, SIZE_MAX, out, NULL);
}

int norm_unescape(const char *s, size_t len, struct buf *out)
{
	return run(s, len, NT_ENT | NT_CTRL, SIZE_MAX, out, NULL);
}
