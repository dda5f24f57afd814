/*
 * feed.c - RSS and Atom in one streaming pass over libxml2's xmlTextReader;
 * see feed.h.
 *
 * The document is first brought to clean UTF-8 (feed_input.c).  Elements
 * are recognised by namespace URI and local name through one table; the
 * reader's names are interned in its dictionary, so a small cache keyed by
 * the two pointers answers most look-ups without a string compare.  Each
 * entry's raw fields are collected in buffers that live as long as the
 * parse and are reused from entry to entry; nothing is built as a tree.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>

#include "helsefeed/feed.h"
#include "helsefeed/limits.h"
#include "helsefeed/log.h"
#include "helsefeed/norm.h"
#include "helsefeed/sanitize.h"

/* A raw field longer than this stops growing: no bound of limits.h is
 * near it, and it keeps a hostile document from holding gigabytes. */
#define RAW_MAX (8u * 1024 * 1024)
/* Longest key handed to skip(): the id bound, the key is an id. */
#define KEY_MAX HF_MAX_ID

enum ns {
	NS_NONE, NS_RSS, NS_ATOM, NS_RDF, NS_DC, NS_DCTERMS, NS_CONTENT,
	NS_MEDIA, NS_XHTML, NS_XMLNS, NS_OTHER,
};

static const struct {
	const char *uri;
	unsigned char ns;
	unsigned char format;   /* for the RDF root and the Atom root */
} namespaces[] = {
	{"http://purl.org/rss/1.0/", NS_RSS, FEED_FORMAT_RSS10},
	{"http://my.netscape.com/rdf/simple/0.9/", NS_RSS, FEED_FORMAT_RSS09X},
	{"http://backend.userland.com/rss2", NS_RSS, FEED_FORMAT_RSS20},
	{"http://backend.userland.com/rss", NS_RSS, FEED_FORMAT_RSS20},
	{"http://www.w3.org/2005/Atom", NS_ATOM, FEED_FORMAT_ATOM10},
	{"http://purl.org/atom/ns#", NS_ATOM, FEED_FORMAT_ATOM03},
	{"http://www.w3.org/1999/02/22-rdf-syntax-ns#", NS_RDF, 0},
	{"http://purl.org/dc/elements/1.1/", NS_DC, 0},
	{"http://purl.org/dc/terms/", NS_DCTERMS, 0},
	{"http://purl.org/rss/1.0/modules/content/", NS_CONTENT, 0},
	{"http://search.yahoo.com/mrss/", NS_MEDIA, 0},
	{"http://search.yahoo.com/mrss", NS_MEDIA, 0},
	{"http://www.w3.org/1999/xhtml", NS_XHTML, 0},
	{"http://www.w3.org/2000/xmlns/", NS_XMLNS, 0},
};

/* The fields of an entry that hold one value. */
enum field { F_ID, F_TITLE, F_LINK, F_SUMMARY, F_CONTENT, F_PUB, F_UPD, F__N };

/* What an element is. */
enum role {
	R_NONE,
	R_RSS,        /* <rss> root */
	R_RDF,        /* <rdf:RDF> root */
	R_FEED,       /* <atom:feed> root, also the channel */
	R_CHANNEL,
	R_ITEM,       /* item or entry */
	R_SKIP,       /* image, textinput, atom:source: nothing inside counts */
	R_FIELD,      /* one of enum field, by `how` */
	R_AUTHOR,     /* text author (RSS author, dc:creator) */
	R_CATEGORY,   /* text category (RSS category, dc:subject) */
	R_ENCLOSURE,  /* RSS enclosure attributes */
	R_MEDIA,      /* media:content, media:thumbnail */
	R_ALINK,      /* atom:link */
	R_ACAT,       /* atom:category */
	R_AAUTHOR,    /* atom:author container */
	R_ANAME,      /* atom:name */
	R_AEMAIL,     /* atom:email */
	R_GUID,       /* RSS guid: text plus isPermaLink */
};

/* How the text of a field is taken. */
enum mode {
	M_NONE,
	M_TEXT,       /* text as the reader gives it, child tags ignored */
	M_ESCAPE,     /* plain text, stored HTML-escaped */
	M_HTML,       /* direct text is HTML source; child elements serialised */
	M_XHTML,      /* everything is markup; the wrapping div dropped */
	M_ATOM,       /* decided by the type/mode attributes */
};

struct elem {
	unsigned char ns;
	const char *name;
	unsigned char role;
	unsigned char field;
	unsigned char mode;
	unsigned char rank;     /* higher wins; equal: the first wins */
};

/* Every element that means something.  Adding one is one line. */
static const struct elem elems[] = {
	{NS_NONE, "rss", R_RSS, 0, 0, 0},
	{NS_RDF, "RDF", R_RDF, 0, 0, 0},
	{NS_RSS, "channel", R_CHANNEL, 0, 0, 0},
	{NS_RSS, "item", R_ITEM, 0, 0, 0},
	{NS_RSS, "image", R_SKIP, 0, 0, 0},
	{NS_RSS, "textinput", R_SKIP, 0, 0, 0},
	{NS_RSS, "textInput", R_SKIP, 0, 0, 0},
	{NS_RSS, "title", R_FIELD, F_TITLE, M_TEXT, 2},
	{NS_RSS, "link", R_FIELD, F_LINK, M_TEXT, 3},
	{NS_RSS, "description", R_FIELD, F_SUMMARY, M_HTML, 2},
	{NS_RSS, "pubDate", R_FIELD, F_PUB, M_TEXT, 3},
	{NS_RSS, "guid", R_GUID, F_ID, M_TEXT, 2},
	{NS_RSS, "author", R_AUTHOR, 0, M_TEXT, 0},
	{NS_RSS, "category", R_CATEGORY, 0, M_TEXT, 0},
	{NS_RSS, "enclosure", R_ENCLOSURE, 0, 0, 0},
	{NS_CONTENT, "encoded", R_FIELD, F_CONTENT, M_HTML, 2},
	{NS_DC, "title", R_FIELD, F_TITLE, M_TEXT, 1},
	{NS_DC, "creator", R_AUTHOR, 0, M_TEXT, 0},
	{NS_DC, "subject", R_CATEGORY, 0, M_TEXT, 0},
	{NS_DC, "date", R_FIELD, F_PUB, M_TEXT, 2},
	{NS_DC, "description", R_FIELD, F_SUMMARY, M_HTML, 1},
	{NS_DCTERMS, "issued", R_FIELD, F_PUB, M_TEXT, 2},
	{NS_DCTERMS, "date", R_FIELD, F_PUB, M_TEXT, 2},
	{NS_DCTERMS, "created", R_FIELD, F_PUB, M_TEXT, 1},
	{NS_DCTERMS, "modified", R_FIELD, F_UPD, M_TEXT, 2},
	{NS_MEDIA, "content", R_MEDIA, 0, 0, 0},
	{NS_MEDIA, "thumbnail", R_MEDIA, 0, 0, 0},
	{NS_ATOM, "feed", R_FEED, 0, 0, 0},
	{NS_ATOM, "entry", R_ITEM, 0, 0, 0},
	{NS_ATOM, "source", R_SKIP, 0, 0, 0},
	{NS_ATOM, "id", R_FIELD, F_ID, M_TEXT, 2},
	{NS_ATOM, "title", R_FIELD, F_TITLE, M_ATOM, 2},
	{NS_ATOM, "link", R_ALINK, F_LINK, 0, 0},
	{NS_ATOM, "published", R_FIELD, F_PUB, M_TEXT, 3},
	{NS_ATOM, "issued", R_FIELD, F_PUB, M_TEXT, 3},      /* Atom 0.3 */
	{NS_ATOM, "created", R_FIELD, F_PUB, M_TEXT, 1},     /* Atom 0.3 */
	{NS_ATOM, "updated", R_FIELD, F_UPD, M_TEXT, 3},
	{NS_ATOM, "modified", R_FIELD, F_UPD, M_TEXT, 3},    /* Atom 0.3 */
	{NS_ATOM, "summary", R_FIELD, F_SUMMARY, M_ATOM, 2},
	{NS_ATOM, "content", R_FIELD, F_CONTENT, M_ATOM, 2},
	{NS_ATOM, "category", R_ACAT, 0, 0, 0},
	{NS_ATOM, "author", R_AAUTHOR, 0, 0, 0},
	{NS_ATOM, "name", R_ANAME, 0, M_ESCAPE, 0},
	{NS_ATOM, "email", R_AEMAIL, 0, M_ESCAPE, 0},
};

/* Attributes we read, by local name (any namespace but xmlns). */
enum attr { A_REL, A_HREF, A_TYPE, A_LENGTH, A_URL, A_FILESIZE, A_TERM,
            A_LABEL, A_ISPERMALINK, A_VERSION, A_ABOUT, A_MODE, A_SRC, A__N };
static const char *const attr_names[A__N] = {
	"rel", "href", "type", "length", "url", "fileSize", "term", "label",
	"isPermaLink", "version", "about", "mode", "src",
};

/* Name cache: (local name, namespace URI) pointers from the reader's
 * dictionary -> index into elems + 1, or 0 for "nothing". */
#define CACHE_SIZE 256
struct cache_slot {
	const xmlChar *name, *uri;
	int elem;
};

/* A list of strings, each NUL-terminated, packed in one buf. */
struct list {
	struct buf b;
	size_t n;
};

#define MAX_LIST_RAW 256  /* raw authors/categories kept per entry */

struct raw {
	struct buf f[F__N];
	unsigned char rank[F__N];
	const xmlChar *base[F__N];
	int permalink;                 /* guid isPermaLink is not "false" */
	struct list authors, cats;
	struct list encl;              /* url, type, length: three strings each */
	const xmlChar *encl_base[HF_MAX_ENCLOSURES];
	int truncated;
	int any;                       /* something was seen */
};

struct out {
	struct buf key, id, title, link, author, summary, content, cats, encl, tmp;
	const char *cat_ptr[HF_MAX_CATEGORIES];
	struct feed_enclosure encls[HF_MAX_ENCLOSURES];
};

struct state {
	xmlTextReaderPtr r;
	const struct feed_parse_opts *opts;
	struct feed_info *info;
	struct buf *err;
	int64_t now;
	int rc;
	int xml_errors;
	int entity_attack;
	struct buf first_error;

	unsigned char none_ns;         /* what "no namespace" means here */
	int has_xml_base;
	int chan_depth, item_depth, skip_depth, author_depth;

	/* Current capture. */
	struct buf *cap;
	int cap_depth;
	unsigned char cap_mode, cap_role;
	int cap_div;                   /* XHTML wrapper div being skipped */

	struct raw e;
	struct buf aname, aemail, item_text;
	struct buf feed_title, feed_link;
	unsigned char feed_link_rank, feed_title_rank, feed_title_mode;
	const xmlChar *feed_link_base;
	struct buf attr[A__N];
	unsigned attr_set;

	struct out o;
	int entries_capped;
	xmlDocPtr doc;                 /* the tree of a recovered document */
	size_t replay;                 /* entries of a recovery pass already delivered */
	struct cache_slot cache[CACHE_SIZE];
};

const char *feed_format_name(enum feed_format f)
{
	static const char *const names[] = {
		[FEED_FORMAT_UNKNOWN] = "unknown", [FEED_FORMAT_RSS09X] = "rss0.9x",
		[FEED_FORMAT_RSS10] = "rss1.0", [FEED_FORMAT_RSS20] = "rss2.0",
		[FEED_FORMAT_ATOM03] = "atom0.3", [FEED_FORMAT_ATOM10] = "atom1.0",
	};
	return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

void feed_info_clear(struct feed_info *info)
{
	free(info->title);
	free(info->link);
	memset(info, 0, sizeof *info);
}

/* --- names ------------------------------------------------------------- */

static unsigned char ns_of(const struct state *st, const xmlChar *uri, unsigned char *format)
{
	if (format)
		*format = 0;
	if (!uri || !*uri)
		return st->none_ns;
	for (size_t i = 0; i < sizeof namespaces / sizeof namespaces[0]; i++)
		if (strcmp((const char *)uri, namespaces[i].uri) == 0) {
			if (format)
				*format = namespaces[i].format;
			return namespaces[i].ns;
		}
	return NS_OTHER;
}

static const struct elem *lookup(struct state *st, const xmlChar *name, const xmlChar *uri)
{
	size_t h = (((uintptr_t)name >> 3) ^ ((uintptr_t)uri >> 5) ^ ((uintptr_t)name >> 11)) % CACHE_SIZE;
	struct cache_slot *slot = &st->cache[h];
	unsigned char ns;

	if (slot->name == name && slot->uri == uri && name)
		return slot->elem ? &elems[slot->elem - 1] : NULL;
	slot->name = name;
	slot->uri = uri;
	slot->elem = 0;
	ns = ns_of(st, uri, NULL);
	for (size_t i = 0; name && i < sizeof elems / sizeof elems[0]; i++)
		if (elems[i].ns == ns && strcmp(elems[i].name, (const char *)name) == 0) {
			slot->elem = (int)i + 1;
			break;
		}
	return slot->elem ? &elems[slot->elem - 1] : NULL;
}

/* Copy the attributes we know into st->attr; the reader's values may live
 * in a buffer it reuses, so they are copied at once. */
static int read_attrs(struct state *st)
{
	xmlTextReaderPtr r = st->r;
	int rc = HF_OK;

	for (unsigned a = 0; a < A__N; a++)
		if (st->attr_set & (1u << a))
			buf_clear(&st->attr[a]);
	st->attr_set = 0;
	if (!xmlTextReaderHasAttributes(r))
		return HF_OK;
	while (xmlTextReaderMoveToNextAttribute(r) == 1) {
		const char *name = (const char *)xmlTextReaderConstLocalName(r);
		const xmlChar *uri = xmlTextReaderConstNamespaceUri(r);
		const char *v;

		if (!name || (uri && strcmp((const char *)uri, "http://www.w3.org/2000/xmlns/") == 0))
			continue;
		for (unsigned a = 0; a < A__N; a++) {
			if (strcmp(name, attr_names[a]) != 0 || (st->attr_set & (1u << a)))
				continue;
			v = (const char *)xmlTextReaderConstValue(r);
			if (v && (rc = buf_puts(&st->attr[a], v)))
				goto out;
			st->attr_set |= 1u << a;
			break;
		}
	}
out:
	xmlTextReaderMoveToElement(r);
	return rc;
}

static const char *attr(const struct state *st, enum attr a)
{
	return (st->attr_set & (1u << a)) ? buf_str(&st->attr[a]) : NULL;
}

static const xmlChar *base_here(struct state *st)
{
	if (!st->has_xml_base)
		return (const xmlChar *)st->opts->base_url;
	return xmlTextReaderConstBaseUri(st->r);
}

/* --- raw entry --------------------------------------------------------- */

static void raw_clear(struct raw *e)
{
	for (int f = 0; f < F__N; f++) {
		buf_clear(&e->f[f]);
		e->rank[f] = 0;
		e->base[f] = NULL;
	}
	e->permalink = 0;
	buf_clear(&e->authors.b);
	e->authors.n = 0;
	buf_clear(&e->cats.b);
	e->cats.n = 0;
	buf_clear(&e->encl.b);
	e->encl.n = 0;
	e->truncated = 0;
	e->any = 0;
}

static int list_push(struct list *l, const char *s, size_t n)
{
	int rc;

	if ((rc = buf_append(&l->b, s, n)) || (rc = buf_putc(&l->b, '\0')))
		return rc;
	l->n++;
	return HF_OK;
}

static const char *trim(const char *s, size_t *n)
{
	while (*n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, (*n)--;
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\n' || s[*n - 1] == '\r'))
		(*n)--;
	return s;
}

/* --- capture ----------------------------------------------------------- */

static void cap_start(struct state *st, struct buf *b, int depth, unsigned char mode,
                      unsigned char role)
{
	st->cap = b;
	st->cap_depth = depth;
	st->cap_mode = mode;
	st->cap_role = role;
	st->cap_div = 0;
}

static int escape_into(struct buf *b, const char *s, size_t n)
{
	return sanitize_escape(s, n, b);
}

static int on_text(struct state *st, int depth)
{
	const char *v = (const char *)xmlTextReaderConstValue(st->r);
	size_t n;

	if (!v)
		return HF_OK;
	n = strlen(v);
	if (st->cap->len + n > RAW_MAX) {
		st->e.truncated = 1;
		return HF_OK;
	}
	switch (st->cap_mode) {
	case M_TEXT:
		return buf_append(st->cap, v, n);
	case M_HTML:
		if (depth == st->cap_depth + 1)
			return buf_append(st->cap, v, n);
		return escape_into(st->cap, v, n);
	case M_ESCAPE:
	case M_XHTML:
		return escape_into(st->cap, v, n);
	default:
		return HF_OK;
	}
}

/* A child element inside HTML or XHTML content, written back as markup. */
static int serialise_start(struct state *st, int depth, int empty)
{
	xmlTextReaderPtr r = st->r;
	const char *name = (const char *)xmlTextReaderConstLocalName(r);
	struct buf *b = st->cap;
	int rc;

	if (st->cap_mode == M_XHTML && depth == st->cap_depth + 1 && !st->cap_div &&
	    strcmp(name, "div") == 0) {
		st->cap_div = 1;
		return HF_OK;
	}
	if (b->len > RAW_MAX)
		return HF_OK;
	if ((rc = buf_putc(b, '<')) || (rc = buf_puts(b, name)))
		return rc;
	if (xmlTextReaderHasAttributes(r)) {
		while (xmlTextReaderMoveToNextAttribute(r) == 1) {
			const xmlChar *uri = xmlTextReaderConstNamespaceUri(r);
			const char *an = (const char *)xmlTextReaderConstLocalName(r);
			const char *av = (const char *)xmlTextReaderConstValue(r);

			if (uri && strcmp((const char *)uri, "http://www.w3.org/2000/xmlns/") == 0)
				continue;
			if ((rc = buf_putc(b, ' ')) || (rc = buf_puts(b, an)) ||
			    (rc = buf_append(b, "=\"", 2)) ||
			    (rc = escape_into(b, av ? av : "", av ? strlen(av) : 0)) ||
			    (rc = buf_putc(b, '"')))
				break;
		}
		xmlTextReaderMoveToElement(r);
		if (rc)
			return rc;
	}
	return buf_puts(b, empty ? "/>" : ">");
}

static int serialise_end(struct state *st, int depth)
{
	const char *name = (const char *)xmlTextReaderConstLocalName(st->r);
	int rc;

	if (st->cap_mode == M_XHTML && depth == st->cap_depth + 1 && st->cap_div)
		return HF_OK;
	if (st->cap->len > RAW_MAX)
		return HF_OK;
	if ((rc = buf_append(st->cap, "</", 2)) || (rc = buf_puts(st->cap, name)))
		return rc;
	return buf_putc(st->cap, '>');
}

/* Atom text constructs (RFC 4287 section 3.1; Atom 0.3 mode="escaped"). */
static unsigned char atom_mode(const struct state *st)
{
	const char *type = attr(st, A_TYPE), *mode = attr(st, A_MODE);

	if (attr(st, A_SRC) || (mode && strcasecmp(mode, "base64") == 0))
		return M_NONE;
	if (!type || !strcasecmp(type, "text") || !strcasecmp(type, "text/plain"))
		return mode && !strcasecmp(mode, "escaped") && !type ? M_HTML : M_ESCAPE;
	if (!strcasecmp(type, "xhtml") || !strcasecmp(type, "application/xhtml+xml"))
		return M_XHTML;
	if (!strcasecmp(type, "html") || !strcasecmp(type, "text/html"))
		return M_HTML;
	return strncasecmp(type, "text/", 5) == 0 ? M_ESCAPE : M_NONE;
}

/* --- the normalised entry ---------------------------------------------- */

static int bounded(struct buf *b, size_t max, unsigned *flags)
{
	if (b->len <= max)
		return 0;
	/* Back up to a UTF-8 character boundary. */
	size_t n = max;
	while (n > 0 && ((unsigned char)b->data[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	b->data[n] = '\0';
	*flags |= FEED_ENTRY_TRUNCATED;
	return 1;
}

static int put_text(struct buf *out, const char *s, size_t n, size_t max, unsigned *flags)
{
	int cut = 0, rc;

	buf_clear(out);
	if ((rc = norm_text(s, n, 1, max, out, &cut)))
		return rc;
	if (cut)
		*flags |= FEED_ENTRY_TRUNCATED;
	return HF_OK;
}

static int put_url(struct buf *out, const xmlChar *base, const char *ref, unsigned *flags)
{
	int rc;

	buf_clear(out);
	rc = norm_url_resolve((const char *)base, ref, out);
	if (rc == HF_EINVAL) {
		buf_clear(out);
		return HF_OK;
	}
	if (rc)
		return rc;
	if (out->len > HF_MAX_URL) {
		/* A cut URL points elsewhere: drop it. */
		buf_clear(out);
		*flags |= FEED_ENTRY_TRUNCATED;
	}
	return HF_OK;
}

static int64_t put_date(const struct state *st, const struct buf *raw, unsigned *flags)
{
	int64_t t;

	if (raw->len == 0 || norm_date(raw->data, NULL, &t) != 0)
		return HF_NOTIME;
	if (t > st->now + HF_FUTURE_SLACK_S) {
		t = st->now;
		*flags |= FEED_ENTRY_DATE_CLAMPED;
	}
	return t;
}

static int put_html(struct buf *out, const struct buf *raw, const xmlChar *base, size_t max)
{
	buf_clear(out);
	if (raw->len == 0)
		return HF_OK;
	return sanitize_html(raw->data, raw->len, (const char *)base, max, out);
}

static const char *nz(const struct buf *b)
{
	return b->len ? b->data : NULL;
}

/* Key and hash from the raw fields (feed.h: before normalisation). */
static int entry_key(struct state *st, uint64_t *hash)
{
	struct raw *e = &st->e;
	struct buf *key = &st->o.key;
	const char *s;
	size_t n;
	uint64_t h = NORM_FNV_INIT;
	unsigned dummy = 0;
	int rc;

	buf_clear(key);
	n = e->f[F_ID].len;
	s = trim(buf_str(&e->f[F_ID]), &n);
	if (n == 0) {
		n = e->f[F_LINK].len;
		s = trim(buf_str(&e->f[F_LINK]), &n);
	}
	if (n) {
		rc = buf_append(key, s, n);
	} else {
		const struct buf *d = e->f[F_PUB].len ? &e->f[F_PUB] : &e->f[F_UPD];
		n = e->f[F_TITLE].len;
		s = trim(buf_str(&e->f[F_TITLE]), &n);
		if ((rc = buf_append(key, s, n)) || (rc = buf_putc(key, '|')))
			return rc;
		n = d->len;
		s = trim(buf_str(d), &n);
		rc = buf_append(key, s, n);
	}
	if (rc)
		return rc;
	bounded(key, KEY_MAX, &dummy);

	/* Field number, then bytes, then a separator no field contains. */
	for (int f = 0; f < F__N; f++) {
		unsigned char tag = (unsigned char)f;
		h = norm_fnv1a(h, &tag, 1);
		h = norm_fnv1a(h, e->f[f].data ? e->f[f].data : "", e->f[f].len);
		h = norm_fnv1a(h, "", 1);
	}
	h = norm_fnv1a(h, e->authors.b.data ? e->authors.b.data : "", e->authors.b.len);
	h = norm_fnv1a(h, "\x01", 1);
	h = norm_fnv1a(h, e->cats.b.data ? e->cats.b.data : "", e->cats.b.len);
	h = norm_fnv1a(h, "\x02", 1);
	h = norm_fnv1a(h, e->encl.b.data ? e->encl.b.data : "", e->encl.b.len);
	h = norm_fnv1a(h, &e->permalink, sizeof e->permalink);
	*hash = h;
	return HF_OK;
}

static int put_authors(struct state *st, unsigned *flags)
{
	struct out *o = &st->o;
	const char *p = buf_str(&st->e.authors.b);
	size_t i;
	int rc;

	buf_clear(&o->author);
	for (i = 0; i < st->e.authors.n; i++, p += strlen(p) + 1) {
		const char *q;
		size_t at;

		if ((rc = put_text(&o->tmp, p, strlen(p), HF_MAX_AUTHOR, flags)))
			return rc;
		if (o->tmp.len == 0)
			continue;
		/* RSS author and dc:creator often name the same person: skip a
		 * name that is already a whole ", "-separated part. */
		for (q = buf_str(&o->author); (q = strstr(q, o->tmp.data)) != NULL; q++) {
			size_t pos = (size_t)(q - o->author.data);
			if ((pos == 0 || (pos >= 2 && q[-2] == ',' && q[-1] == ' ')) &&
			    (q[o->tmp.len] == '\0' || q[o->tmp.len] == ','))
				break;
		}
		if (q)
			continue;
		at = o->author.len;
		if (at + (at ? 2 : 0) + o->tmp.len > HF_MAX_AUTHOR) {
			*flags |= FEED_ENTRY_TRUNCATED;
			break;
		}
		if ((at && (rc = buf_append(&o->author, ", ", 2))) ||
		    (rc = buf_append(&o->author, o->tmp.data, o->tmp.len)))
			return rc;
	}
	return HF_OK;
}

static int put_categories(struct state *st, size_t *count, unsigned *flags)
{
	struct out *o = &st->o;
	size_t off[HF_MAX_CATEGORIES], n = 0;
	const char *p = buf_str(&st->e.cats.b);
	int rc;

	buf_clear(&o->cats);
	for (size_t i = 0; i < st->e.cats.n; i++, p += strlen(p) + 1) {
		size_t at = o->cats.len, k;

		if (n == HF_MAX_CATEGORIES) {
			*flags |= FEED_ENTRY_TRUNCATED;
			break;
		}
		buf_clear(&o->tmp);
		if ((rc = put_text(&o->tmp, p, strlen(p), HF_MAX_CATEGORY, flags)))
			return rc;
		if (o->tmp.len == 0)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(o->cats.data + off[k], o->tmp.data) == 0)
				break;
		if (k < n)
			continue;
		if ((rc = buf_append(&o->cats, o->tmp.data, o->tmp.len + 1)))
			return rc;
		off[n++] = at;
	}
	for (size_t k = 0; k < n; k++)
		o->cat_ptr[k] = o->cats.data + off[k];
	*count = n;
	return HF_OK;
}

static int put_enclosures(struct state *st, size_t *count, unsigned *flags)
{
	struct out *o = &st->o;
	size_t url[HF_MAX_ENCLOSURES], type[HF_MAX_ENCLOSURES], n = 0;
	const char *p = buf_str(&st->e.encl.b);
	int rc;

	buf_clear(&o->encl);
	for (size_t i = 0; i + 3 <= st->e.encl.n && n < HF_MAX_ENCLOSURES; i += 3) {
		const char *u = p, *t = u + strlen(u) + 1, *l = t + strlen(t) + 1;
		char *end;
		long long len;

		p = l + strlen(l) + 1;
		if ((rc = put_url(&o->tmp, st->e.encl_base[i / 3], u, flags)))
			return rc;
		if (o->tmp.len == 0)
			continue;
		url[n] = o->encl.len;
		if ((rc = buf_append(&o->encl, o->tmp.data, o->tmp.len + 1)))
			return rc;
		type[n] = (size_t)-1;
		if ((rc = put_text(&o->tmp, t, strlen(t), 255, flags)))
			return rc;
		if (o->tmp.len) {
			type[n] = o->encl.len;
			if ((rc = buf_append(&o->encl, o->tmp.data, o->tmp.len + 1)))
				return rc;
		}
		len = strtoll(l, &end, 10);
		o->encls[n].length = (end != l && *end == '\0' && len >= 0) ? len : -1;
		n++;
	}
	for (size_t k = 0; k < n; k++) {
		o->encls[k].url = o->encl.data + url[k];
		o->encls[k].type = type[k] == (size_t)-1 ? NULL : o->encl.data + type[k];
	}
	*count = n;
	return HF_OK;
}

static int entry_end(struct state *st)
{
	struct raw *e = &st->e;
	struct out *o = &st->o;
	struct feed_entry ent;
	const xmlChar *link_base = e->base[F_LINK];
	const struct buf *link = &e->f[F_LINK];
	const struct buf *pub = &e->f[F_PUB];
	const xmlChar *cbase;
	int rc;

	if (!e->any)
		return HF_OK;
	if (st->info->nentries >= HF_MAX_ENTRIES) {
		if (!st->entries_capped)
			log_warn("feed has more than %d entries; the rest are ignored", HF_MAX_ENTRIES);
		st->entries_capped = 1;
		return HF_OK;
	}
	if (st->replay) {
		st->replay--;
		return HF_OK;
	}
	memset(&ent, 0, sizeof ent);
	ent.flags = e->truncated ? FEED_ENTRY_TRUNCATED : 0;
	/* RSS 2.0: a guid that is a permalink is the link when none is given. */
	if (link->len == 0 && e->permalink && e->f[F_ID].len) {
		if ((rc = buf_append(&e->f[F_LINK], e->f[F_ID].data, e->f[F_ID].len)))
			return rc;
		e->base[F_LINK] = link_base = e->base[F_ID];
	}
	if ((rc = entry_key(st, &ent.raw_hash)))
		return rc;
	ent.key = o->key.data;
	if (st->opts->skip) {
		rc = st->opts->skip(st->opts->ud, ent.key, ent.raw_hash);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return HF_OK;
	}

	if (e->f[F_ID].len) {
		size_t n = e->f[F_ID].len;
		const char *s = trim(e->f[F_ID].data, &n);
		buf_clear(&o->id);
		if ((rc = norm_nfc(s, n, &o->id)))
			return rc;
		bounded(&o->id, HF_MAX_ID, &ent.flags);
		ent.id = nz(&o->id);
	}
	buf_clear(&o->title);
	if (e->f[F_TITLE].len) {
		if ((rc = put_text(&o->title, e->f[F_TITLE].data, e->f[F_TITLE].len, HF_MAX_TITLE, &ent.flags)))
			return rc;
		ent.title = nz(&o->title);
	}
	buf_clear(&o->link);
	if (e->f[F_LINK].len) {
		if ((rc = put_url(&o->link, link_base, e->f[F_LINK].data, &ent.flags)))
			return rc;
		ent.link = nz(&o->link);
	}
	ent.published = put_date(st, pub, &ent.flags);
	ent.updated = put_date(st, &e->f[F_UPD], &ent.flags);
	if ((rc = put_authors(st, &ent.flags)))
		return rc;
	ent.author = nz(&o->author);
	cbase = e->base[F_SUMMARY] ? e->base[F_SUMMARY] : (const xmlChar *)st->opts->base_url;
	if ((rc = put_html(&o->summary, &e->f[F_SUMMARY], cbase, HF_MAX_SUMMARY)))
		return rc;
	ent.summary = nz(&o->summary);
	cbase = e->base[F_CONTENT] ? e->base[F_CONTENT] : (const xmlChar *)st->opts->base_url;
	if ((rc = put_html(&o->content, &e->f[F_CONTENT], cbase, HF_MAX_CONTENT)))
		return rc;
	ent.content = nz(&o->content);
	if ((rc = put_categories(st, &ent.ncategories, &ent.flags)))
		return rc;
	ent.categories = o->cat_ptr;
	if ((rc = put_enclosures(st, &ent.nenclosures, &ent.flags)))
		return rc;
	ent.enclosures = o->encls;

	if (st->opts->on_entry && (rc = st->opts->on_entry(st->opts->ud, st->info, &ent)) < 0)
		return rc;
	st->info->nentries++;
	return HF_OK;
}

/* --- feed-level fields ------------------------------------------------- */

static int set_str(char **dst, const struct buf *b)
{
	char *s = NULL;

	if (b->len && !(s = strdup(b->data)))
		return HF_ENOMEM;
	free(*dst);
	*dst = s;
	return HF_OK;
}

static int feed_title_end(struct state *st)
{
	unsigned flags = 0;
	int rc;

	if ((rc = put_text(&st->o.tmp, st->feed_title.data ? st->feed_title.data : "",
	                   st->feed_title.len, HF_MAX_TITLE, &flags)))
		return rc;
	return set_str(&st->info->title, &st->o.tmp);
}

static int feed_link_end(struct state *st)
{
	unsigned flags = 0;
	int rc;

	if ((rc = put_url(&st->o.tmp, st->feed_link_base, buf_str(&st->feed_link), &flags)))
		return rc;
	return set_str(&st->info->link, &st->o.tmp);
}

/* --- elements ---------------------------------------------------------- */

/* "not a feed: " pre what post, with `what` (document text) made
 * printable and bounded. */
static int not_a_feed(struct state *st, const char *pre, const char *what, const char *post)
{
	char clean[160];
	size_t i;

	for (i = 0; what && what[i] && i < sizeof clean - 1; i++)
		clean[i] = (unsigned char)what[i] < 0x20 ? '?' : what[i];
	clean[i] = '\0';
	if (st->err) {
		buf_clear(st->err);
		if (buf_printf(st->err, "not a feed: %s%s%s", pre, clean, post))
			return HF_ENOMEM;
	}
	return HF_ENOTFEED;
}

static int on_root(struct state *st, const xmlChar *name, const xmlChar *uri)
{
	const char *n = (const char *)name;
	unsigned char fmt = 0;
	unsigned char ns = ns_of(st, uri, &fmt);
	const char *v;
	int rc;

	if ((rc = read_attrs(st)))
		return rc;
	v = attr(st, A_VERSION);
	if (strcmp(n, "rss") == 0 && (ns == NS_NONE || ns == NS_RSS)) {
		st->info->format = v && strncmp(v, "0.9", 3) == 0 ? FEED_FORMAT_RSS09X : FEED_FORMAT_RSS20;
		st->none_ns = NS_RSS;
	} else if (strcmp(n, "feed") == 0 && ns == NS_ATOM) {
		st->info->format = fmt;
	} else if (strcmp(n, "feed") == 0 && ns == NS_NONE) {
		/* Atom 0.3 was often written without its namespace. */
		st->info->format = v && strcmp(v, "0.3") == 0 ? FEED_FORMAT_ATOM03 : FEED_FORMAT_ATOM10;
		st->none_ns = NS_ATOM;
	} else if (strcmp(n, "RDF") == 0 && ns == NS_RDF) {
		/* RSS 0.90 and 1.0 differ only in the channel's namespace. */
		xmlTextReaderPtr r = st->r;
		while (xmlTextReaderMoveToNextAttribute(r) == 1) {
			const xmlChar *au = xmlTextReaderConstNamespaceUri(r);
			unsigned char f2 = 0;
			if (au && strcmp((const char *)au, "http://www.w3.org/2000/xmlns/") == 0 &&
			    ns_of(st, xmlTextReaderConstValue(r), &f2) == NS_RSS && f2)
				st->info->format = f2;
		}
		xmlTextReaderMoveToElement(r);
		if (!st->info->format)
			return not_a_feed(st, "RDF document without an RSS namespace", "", "");
	} else {
		return not_a_feed(st, "root element <", n, ">");
	}
	if (st->info->format == FEED_FORMAT_ATOM03 || st->info->format == FEED_FORMAT_ATOM10)
		st->chan_depth = 0;
	return HF_OK;
}

static int item_start(struct state *st, int depth)
{
	int rc;

	raw_clear(&st->e);
	st->item_depth = depth;
	st->e.any = 1;
	/* RSS 1.0 section 5.5: rdf:about is the item's URI, the id of last
	 * resort. */
	if (st->info->format == FEED_FORMAT_RSS10 || st->info->format == FEED_FORMAT_RSS09X) {
		if ((rc = read_attrs(st)))
			return rc;
		if (attr(st, A_ABOUT) && *attr(st, A_ABOUT)) {
			if ((rc = buf_puts(&st->e.f[F_ID], attr(st, A_ABOUT))))
				return rc;
			st->e.rank[F_ID] = 1;
		}
	}
	return HF_OK;
}

/* Start capturing field f into the entry when `rank` beats what it has. */
static void field_start(struct state *st, const struct elem *el, int depth, unsigned char mode)
{
	struct raw *e = &st->e;
	int f = el->field;

	if (mode == M_NONE || el->rank <= e->rank[f])
		return;
	buf_clear(&e->f[f]);
	e->rank[f] = el->rank;
	if (f == F_LINK || f == F_SUMMARY || f == F_CONTENT || f == F_ID)
		e->base[f] = base_here(st);
	cap_start(st, &e->f[f], depth, mode, R_FIELD);
}

static int push_enclosure(struct state *st, const char *url, const char *type, const char *len)
{
	struct list *l = &st->e.encl;
	int rc;

	if (!url || !*url)
		return HF_OK;
	if (l->n / 3 >= HF_MAX_ENCLOSURES) {
		st->e.truncated = 1;
		return HF_OK;
	}
	st->e.encl_base[l->n / 3] = base_here(st);
	if ((rc = list_push(l, url, strlen(url))) ||
	    (rc = list_push(l, type ? type : "", type ? strlen(type) : 0)) ||
	    (rc = list_push(l, len ? len : "", len ? strlen(len) : 0)))
		return rc;
	return HF_OK;
}

/* atom:link (RFC 4287 section 4.2.7): no rel means "alternate". */
static int alink(struct state *st, int in_item)
{
	const char *rel = attr(st, A_REL), *href = attr(st, A_HREF), *type = attr(st, A_TYPE);
	unsigned char rank;
	int rc;

	if (!href)
		return HF_OK;
	if (rel && strcmp(rel, "http://www.iana.org/assignments/relation/alternate") == 0)
		rel = "alternate";
	if (rel && strcmp(rel, "enclosure") == 0)
		return in_item ? push_enclosure(st, href, type, attr(st, A_LENGTH)) : HF_OK;
	if (rel && strcmp(rel, "alternate") != 0)
		return HF_OK;
	/* An alternate in HTML beats one in another type. */
	rank = (!type || !strcasecmp(type, "text/html") || !strcasecmp(type, "application/xhtml+xml")) ? 2 : 1;
	if (in_item) {
		struct raw *e = &st->e;
		if (rank <= e->rank[F_LINK])
			return HF_OK;
		buf_clear(&e->f[F_LINK]);
		e->rank[F_LINK] = rank;
		e->base[F_LINK] = base_here(st);
		return buf_puts(&e->f[F_LINK], href);
	}
	if (rank <= st->feed_link_rank)
		return HF_OK;
	st->feed_link_rank = rank;
	st->feed_link_base = base_here(st);
	buf_clear(&st->feed_link);
	if ((rc = buf_puts(&st->feed_link, href)))
		return rc;
	return feed_link_end(st);
}

/* An element inside an item, at any depth outside a capture. */
static int item_elem(struct state *st, const struct elem *el, int depth, int empty)
{
	struct raw *e = &st->e;
	int direct = depth == st->item_depth + 1;
	int rc;

	switch (el->role) {
	case R_SKIP:
		if (direct)
			st->skip_depth = depth;
		return HF_OK;
	case R_MEDIA:
		/* media:content may sit in a media:group: any depth. */
		if ((rc = read_attrs(st)))
			return rc;
		return push_enclosure(st, attr(st, A_URL), attr(st, A_TYPE), attr(st, A_FILESIZE));
	case R_ANAME:
	case R_AEMAIL:
		if (st->author_depth >= 0 && depth == st->author_depth + 1 && !empty) {
			struct buf *b = el->role == R_ANAME ? &st->aname : &st->aemail;
			buf_clear(b);
			cap_start(st, b, depth, el->mode, el->role);
		}
		return HF_OK;
	default:
		break;
	}
	if (!direct)
		return HF_OK;
	switch (el->role) {
	case R_FIELD:
		if (empty)
			return HF_OK;
		if (el->mode == M_ATOM) {
			if ((rc = read_attrs(st)))
				return rc;
			field_start(st, el, depth, atom_mode(st));
		} else {
			field_start(st, el, depth, el->mode);
		}
		return HF_OK;
	case R_GUID:
		if (empty || el->rank <= e->rank[F_ID])
			return HF_OK;
		if ((rc = read_attrs(st)))
			return rc;
		/* RSS 2.0: isPermaLink defaults to true. */
		e->permalink = !(attr(st, A_ISPERMALINK) && strcasecmp(attr(st, A_ISPERMALINK), "false") == 0);
		field_start(st, el, depth, el->mode);
		return HF_OK;
	case R_AUTHOR:
	case R_CATEGORY:
		if (!empty) {
			buf_clear(&st->item_text);
			cap_start(st, &st->item_text, depth, el->mode, el->role);
		}
		return HF_OK;
	case R_ENCLOSURE:
		if ((rc = read_attrs(st)))
			return rc;
		return push_enclosure(st, attr(st, A_URL), attr(st, A_TYPE), attr(st, A_LENGTH));
	case R_ALINK:
		if ((rc = read_attrs(st)))
			return rc;
		return alink(st, 1);
	case R_ACAT: {
		const char *v;
		if ((rc = read_attrs(st)))
			return rc;
		v = attr(st, A_TERM);
		if (!v || !*v)
			v = attr(st, A_LABEL);
		if (!v || !*v || e->cats.n >= MAX_LIST_RAW)
			return HF_OK;
		return list_push(&e->cats, v, strlen(v));
	}
	case R_AAUTHOR:
		if (!empty) {
			st->author_depth = depth;
			buf_clear(&st->aname);
			buf_clear(&st->aemail);
		}
		return HF_OK;
	default:
		return HF_OK;
	}
}

/* A child of the channel (RSS) or feed (Atom), outside items. */
static int feed_elem(struct state *st, const struct elem *el, int depth, int empty)
{
	int rc;

	if (el->role == R_SKIP) {
		st->skip_depth = depth;
		return HF_OK;
	}
	if (el->role == R_ALINK) {
		if ((rc = read_attrs(st)))
			return rc;
		return alink(st, 0);
	}
	if (el->role != R_FIELD || empty)
		return HF_OK;
	if (el->field == F_TITLE && el->rank > st->feed_title_rank) {
		unsigned char mode = el->mode;
		if (mode == M_ATOM) {
			if ((rc = read_attrs(st)))
				return rc;
			mode = atom_mode(st);
		}
		if (mode == M_NONE)
			return HF_OK;
		st->feed_title_rank = el->rank;
		buf_clear(&st->feed_title);
		cap_start(st, &st->feed_title, depth, mode, R_CHANNEL);
	} else if (el->field == F_LINK && el->rank > st->feed_link_rank) {
		st->feed_link_rank = el->rank;
		st->feed_link_base = base_here(st);
		buf_clear(&st->feed_link);
		cap_start(st, &st->feed_link, depth, el->mode, R_RSS);
	}
	return HF_OK;
}

static int on_end(struct state *st, int depth);

static int on_start(struct state *st, int depth)
{
	xmlTextReaderPtr r = st->r;
	const xmlChar *name = xmlTextReaderConstLocalName(r);
	const xmlChar *uri = xmlTextReaderConstNamespaceUri(r);
	int empty = xmlTextReaderIsEmptyElement(r);
	const struct elem *el;
	int rc = HF_OK;

	if (st->info->format == FEED_FORMAT_UNKNOWN)
		return on_root(st, name, uri);
	if (st->cap) {
		if (st->cap_mode == M_HTML || st->cap_mode == M_XHTML)
			rc = serialise_start(st, depth, empty);
		return rc;
	}
	if (st->skip_depth >= 0)
		return HF_OK;
	el = lookup(st, name, uri);
	if (!el)
		return HF_OK;
	if (st->item_depth >= 0) {
		rc = item_elem(st, el, depth, empty);
	} else if (el->role == R_ITEM) {
		rc = item_start(st, depth);
	} else if (el->role == R_CHANNEL && st->chan_depth < 0) {
		st->chan_depth = depth;
	} else if (st->chan_depth >= 0 && depth == st->chan_depth + 1) {
		rc = feed_elem(st, el, depth, empty);
	}
	if (!rc && empty)
		rc = on_end(st, depth);
	return rc;
}

static int on_end(struct state *st, int depth)
{
	int rc = HF_OK;

	if (st->cap) {
		if (depth > st->cap_depth) {
			if (st->cap_mode == M_HTML || st->cap_mode == M_XHTML)
				return serialise_end(st, depth);
			return HF_OK;
		}
		switch (st->cap_role) {
		case R_AUTHOR:
			if (st->e.authors.n < MAX_LIST_RAW)
				rc = list_push(&st->e.authors, st->item_text.data ? st->item_text.data : "", st->item_text.len);
			break;
		case R_CATEGORY:
			if (st->e.cats.n < MAX_LIST_RAW)
				rc = list_push(&st->e.cats, st->item_text.data ? st->item_text.data : "", st->item_text.len);
			break;
		case R_CHANNEL:
			rc = feed_title_end(st);
			break;
		case R_RSS:
			rc = feed_link_end(st);
			break;
		default:
			break;
		}
		st->cap = NULL;
		return rc;
	}
	if (depth == st->skip_depth) {
		st->skip_depth = -1;
	} else if (depth == st->author_depth) {
		const struct buf *b = st->aname.len ? &st->aname : &st->aemail;
		st->author_depth = -1;
		if (b->len && st->e.authors.n < MAX_LIST_RAW)
			rc = list_push(&st->e.authors, b->data, b->len);
	} else if (depth == st->item_depth) {
		st->item_depth = -1;
		rc = entry_end(st);
	} else if (depth == st->chan_depth) {
		st->chan_depth = -1;
	}
	return rc;
}

/* --- libxml2 plumbing -------------------------------------------------- */

/* NONET and no NOENT/DTDLOAD/DTDATTR/DTDVALID: entities stay references
 * and nothing is fetched; IGNORE_ENC because the text is UTF-8 by now,
 * whatever its declaration says.  Without XML_PARSE_HUGE libxml2's own
 * limits on entity amplification and node sizes hold. */
#define READ_OPTIONS (XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_COMPACT | \
                      XML_PARSE_IGNORE_ENC | XML_PARSE_NOWARNING)

/* Never load anything: no DTD, no external entity, no network. */
static xmlParserInputPtr no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static void on_xml_error(void *arg, xmlErrorPtr e)
{
	struct state *st = arg;

	if (!e || e->level < XML_ERR_ERROR)
		return;
	st->xml_errors++;
	/* 2.9.14 reports entity amplification (billion laughs, quadratic
	 * blowup) as an entity loop. */
	if (e->code == XML_ERR_ENTITY_LOOP)
		st->entity_attack = 1;
	if (st->first_error.len == 0 && e->message) {
		size_t n = strcspn(e->message, "\n");
		if (buf_printf(&st->first_error, "line %d: %.*s", e->line, (int)(n > 120 ? 120 : n), e->message))
			buf_clear(&st->first_error);
	}
}

static void state_free(struct state *st)
{
	struct out *o = &st->o;

	for (int f = 0; f < F__N; f++)
		buf_free(&st->e.f[f]);
	buf_free(&st->e.authors.b);
	buf_free(&st->e.cats.b);
	buf_free(&st->e.encl.b);
	for (int a = 0; a < A__N; a++)
		buf_free(&st->attr[a]);
	buf_free(&st->aname);
	buf_free(&st->aemail);
	buf_free(&st->item_text);
	buf_free(&st->feed_title);
	buf_free(&st->feed_link);
	buf_free(&st->first_error);
	buf_free(&o->key);
	buf_free(&o->id);
	buf_free(&o->title);
	buf_free(&o->link);
	buf_free(&o->author);
	buf_free(&o->summary);
	buf_free(&o->content);
	buf_free(&o->cats);
	buf_free(&o->encl);
	buf_free(&o->tmp);
}

/* Feed the reader's events to the handlers.  *res gets the last result
 * of xmlTextReaderRead: 0 at the end, -1 when libxml2 gave up. */
static int run(struct state *st, int *res)
{
	int rc = HF_OK, r;

	while (!rc && (r = xmlTextReaderRead(st->r)) == 1) {
		switch (xmlTextReaderNodeType(st->r)) {
		case XML_READER_TYPE_ELEMENT:
			rc = on_start(st, xmlTextReaderDepth(st->r));
			break;
		case XML_READER_TYPE_END_ELEMENT:
			rc = on_end(st, xmlTextReaderDepth(st->r));
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			if (st->cap)
				rc = on_text(st, xmlTextReaderDepth(st->r));
			break;
		default:
			/* Entity references stay unexpanded (no NOENT): their
			 * text is not ours to trust, so they add nothing. */
			break;
		}
		if (st->entity_attack)
			break;
	}
	*res = r;
	return rc;
}

/*
 * libxml2 2.9's reader stops at the first well-formedness error even in
 * recovery mode (an unclosed <b> inside a description ends the stream).
 * The tree parser does recover, so a broken document is parsed again into
 * a tree and walked with the same handlers through xmlReaderWalker; the
 * entries delivered before the error are not delivered twice.  Only broken
 * documents pay for the tree, and they are bounded by the fetch limit.
 */
static int recover_tree(struct state *st, const struct feed_text *text, int *res)
{
	size_t done = st->info->nentries;
	xmlDocPtr doc;
	int rc;

	xmlSetStructuredErrorFunc(st, on_xml_error);
	doc = xmlReadMemory(text->data, (int)(text->len > INT32_MAX ? INT32_MAX : text->len),
	                    st->opts->base_url, "UTF-8", READ_OPTIONS);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc || st->entity_attack) {
		/* The stream's reader stays: the open entry's strings live
		 * in its dictionary. */
		xmlFreeDoc(doc);
		return HF_OK;
	}
	xmlFreeTextReader(st->r);
	st->r = NULL;
	st->doc = doc;
	if (!(st->r = xmlReaderWalker(doc)))
		return HF_ENOMEM;
	st->info->format = FEED_FORMAT_UNKNOWN;
	st->none_ns = NS_NONE;
	st->chan_depth = st->item_depth = st->skip_depth = st->author_depth = -1;
	st->cap = NULL;
	st->feed_title_rank = st->feed_link_rank = 0;
	st->feed_link_base = NULL;
	memset(st->cache, 0, sizeof st->cache);
	st->replay = done;
	rc = run(st, res);
	/* The walker ends cleanly; the document was still broken. */
	*res = -1;
	return rc;
}

int feed_parse(const char *data, size_t len, const struct feed_parse_opts *opts,
               struct feed_info *info, struct buf *err)
{
	static const struct feed_parse_opts none;
	struct feed_text text = FEED_TEXT_INIT;
	struct state *st = NULL;
	int rc, r = 0;

	memset(info, 0, sizeof *info);
	if (!opts)
		opts = &none;
	if (!(st = calloc(1, sizeof *st))) {
		rc = HF_ENOMEM;
		goto out;
	}
	st->opts = opts;
	st->info = info;
	st->err = err;
	st->now = opts->now ? opts->now : (int64_t)time(NULL);
	st->chan_depth = st->item_depth = st->skip_depth = st->author_depth = -1;
	st->none_ns = NS_NONE;

	if ((rc = feed_text_prepare(data, len, opts->content_type, &text)))
		goto out;
	if (text.len == 0) {
		rc = not_a_feed(st, text.flags & FEED_PREP_JUNK ? "no XML markup" : "empty document", "", "");
		goto out;
	}
	if (text.flags & (FEED_PREP_BAD_UTF8 | FEED_PREP_CONTROLS | FEED_PREP_ENTITIES | FEED_PREP_JUNK))
		info->recovered = 1;
	st->has_xml_base = memmem(text.data, text.len, "xml:base", 8) != NULL;

	xmlSetExternalEntityLoader(no_loader);
	st->r = xmlReaderForMemory(text.data, (int)(text.len > INT32_MAX ? INT32_MAX : text.len),
	                           opts->base_url, "UTF-8", READ_OPTIONS);
	if (!st->r) {
		rc = HF_ENOMEM;
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(st->r, on_xml_error, st);

	rc = run(st, &r);
	if (!rc && r < 0 && !st->entity_attack)
		rc = recover_tree(st, &text, &r);
	if (rc)
		goto out;
	if (st->entity_attack) {
		if (err) {
			buf_clear(err);
			if (buf_puts(err, "entity expansion attack: document rejected"))
				buf_clear(err);
		}
		rc = HF_ETOOBIG;
		goto out;
	}
	if (r < 0 || st->xml_errors)
		info->recovered = 1;
	if (info->format == FEED_FORMAT_UNKNOWN) {
		if (st->first_error.len)
			rc = not_a_feed(st, "malformed XML (", st->first_error.data, ")");
		else
			rc = not_a_feed(st, "no root element", "", "");
		goto out;
	}
	/* A truncated document: the entry that was open still counts. */
	if (st->item_depth >= 0) {
		st->cap = NULL;
		rc = entry_end(st);
	}
out:
	if (st) {
		if (st->r)
			xmlFreeTextReader(st->r);
		xmlFreeDoc(st->doc);
		state_free(st);
		free(st);
	}
	feed_text_free(&text);
	return rc;
}
