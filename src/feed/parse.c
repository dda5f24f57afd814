/*
 * parse.c - RSS and Atom in one streaming pass of libxml2's SAX2 parser;
 * see feed.h.
 *
 * The document is first brought to clean UTF-8 (input.c).  libxml2's
 * parser then reads it a window of a few kilobytes at a time (read_text)
 * and calls startElementNs, endElementNs, characters and cdataBlock here;
 * no node is built.  It runs in recovery mode: after a well-formedness
 * error it goes on calling (a '<' that starts no tag is dropped, the rest
 * read), and the depth kept here is the one it reports (an end for every
 * start, in its order; none for what is still open when the document
 * ends).
 *
 * Elements are recognised by namespace URI and local name through one
 * table; libxml2 interns both in its dictionary, so a small cache keyed by
 * the two pointers answers most look-ups without a string compare.  Each
 * entry's raw fields are collected in buffers that live as long as the
 * parse and are reused from entry to entry.  xml:base is a stack of
 * resolved URIs, one frame per open element that carries the attribute.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/uri.h>

#include "helsefeed/feed.h"
#include "helsefeed/limits.h"
#include "helsefeed/util.h"
#include "helsefeed/text.h"

/* A raw field longer than this stops growing: no bound of limits.h is
 * near it, and it keeps a hostile document from holding gigabytes. */
#define RAW_MAX (8u * 1024 * 1024)
/* Longest key: the id bound, the key is an id. */
#define KEY_MAX HF_MAX_ID
/* xml:base frames: libxml2 refuses documents nested deeper than 256
 * elements (xmlParserMaxDepth without XML_PARSE_HUGE). */
#define BASE_FRAMES 256
/* Entities of the internal subset are never expanded (feed.h), but a
 * document declaring one that would expand to more than ten times its own
 * size, or nest deeper than libxml2's 40 levels, or loop, is an expansion
 * attack ("billion laughs") and rejected as one. */
#define ENTITY_GROWTH 10
#define ENTITY_NESTING 40

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
	M_BASE64,     /* Atom 0.3 mode="base64": decoded when it ends */
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

/* Attributes we read, by local name (any namespace). */
enum attr { A_REL, A_HREF, A_TYPE, A_LENGTH, A_URL, A_FILESIZE, A_TERM,
            A_LABEL, A_ISPERMALINK, A_VERSION, A_ABOUT, A_MODE, A_SRC, A__N };
static const char *const attr_names[A__N] = {
	"rel", "href", "type", "length", "url", "fileSize", "term", "label",
	"isPermaLink", "version", "about", "mode", "src",
};

/* Name cache: (local name, namespace URI) pointers from libxml2's
 * dictionary -> index into elems + 1, or 0 for "nothing". */
#define CACHE_SIZE 256
struct cache_slot {
	const xmlChar *name, *uri;
	int elem;
};

#define MAX_LIST_RAW 256  /* raw authors/categories kept per entry */

/* A list of strings, each NUL-terminated, packed in one buf; for the
 * first MAX_LIST_RAW, the capture mode each was read in. */
struct list {
	struct buf b;
	size_t n;
	unsigned char mode[MAX_LIST_RAW];
};

/* Base URIs that an entry (or the feed link) refers to, copied off the
 * xml:base stack so that they outlive the element that set them.  A
 * reference is 0 for the document's base, else 1 + the copy's offset. */
struct bases {
	struct buf b;
	size_t last;                   /* reference of the latest copy, or 0 */
};

struct raw {
	struct buf f[F__N];
	unsigned char rank[F__N];
	unsigned char mode[F__N];      /* how each was captured (enum mode) */
	size_t base[F__N];             /* references into `bases` */
	int permalink;                 /* guid isPermaLink is not "false" */
	struct list authors, cats;
	struct list encl;              /* url, type, length: three strings each */
	size_t encl_base[HF_MAX_ENCLOSURES];
	struct bases bases;
	int truncated;
	int any;                       /* something was seen */
};

struct out {
	struct buf key, id, title, link, author, summary, content, cats, encl, tmp;
	const char *cat_ptr[HF_MAX_CATEGORIES];
	struct feed_enclosure encls[HF_MAX_ENCLOSURES];
};

/* A general entity of the internal subset, measured, never expanded. */
struct decl {
	size_t off, len;               /* replacement text in decl_text */
	uint64_t size;                 /* expanded length, once measured */
	unsigned char state;           /* 0 new, 1 being measured, 2 measured */
};

struct state {
	xmlParserCtxtPtr ctxt;
	const struct feed_parse_opts *opts;
	int base_web;                  /* opts->base_url is a web URL */
	size_t max_entries;            /* opts->max_entries, or HF_MAX_ENTRIES */
	struct feed_info *info;
	struct buf *err;
	int64_t now;
	int rc;                        /* first failure: the rest is ignored */
	int xml_errors;                /* errors libxml2 recovered from */
	int broken;                    /* one was fatal: nesting may be off */
	int entity_attack;
	struct buf first_error;

	const char *in;                /* text libxml2 has not read yet */
	size_t in_left, in_len;

	/* The element being started, as startElementNs gave it. */
	const xmlChar **atts;          /* 5 pointers per attribute */
	int natts;
	const xmlChar **nsdecl;        /* prefix, URI per declaration */
	int nnsdecl;

	int depth;                     /* elements open, as libxml2 reports */
	/* Elements the document closed but libxml2 still holds open: an end
	 * tag that did not match ("<title>a <b>b</title>") ends only the
	 * innermost element, so everything after it would sit inside.  Such
	 * "ghost" levels, by libxml2's depth, are left out of every depth
	 * the rest of the parser sees (see mismatch()). */
	unsigned char ghost[BASE_FRAMES + 1];
	int nghosts;
	int pushed[BASE_FRAMES + 1];   /* the depth an element started with */
	int raw_depth;                 /* libxml2's depth of the element starting */
	int cap_raw, item_raw;         /* libxml2's depths of capture and item */
	const xmlChar *cap_name, *item_name;  /* from libxml2's dictionary */
	unsigned char none_ns;         /* what "no namespace" means here */
	int chan_depth, item_depth, skip_depth, author_depth;

	/* Current capture. */
	struct buf *cap;
	int cap_depth;
	int too_many_atts;             /* an element beyond HF_MAX_ATTRS */
	int cap_empty;                 /* depth of an empty child just written */
	unsigned char cap_mode, cap_role;
	unsigned char cap_base64;      /* M_BASE64: what the decoded bytes are */
	int cap_div;                   /* XHTML wrapper div being skipped */

	/* xml:base: resolved URIs, NUL-terminated, one per open frame. */
	struct {
		int depth;
		size_t off;
	} frame[BASE_FRAMES];
	int nframes;
	struct buf frame_text;

	struct raw e;
	struct buf aname, aemail, item_text;
	struct buf feed_title, feed_link;
	unsigned char feed_link_rank, feed_title_rank, feed_title_mode;
	size_t feed_link_base;         /* reference into feed_bases */
	struct bases feed_bases;
	struct buf attr[A__N];
	unsigned attr_set;

	struct decl *decls;
	size_t ndecls, decls_cap;
	struct buf decl_text;
	xmlHashTablePtr decl_names;    /* name -> index into decls + 1 */

	struct out o;
	int entries_capped;
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

/* Append an attribute value as SAX2 gives it: without XML_PARSE_NOENT
 * libxml2 writes each '&' of a value as "&#38;", for a tree builder to
 * tell it from an entity reference; everything else is decoded. */
static int put_attr(struct buf *b, const xmlChar *value, const xmlChar *end)
{
	const char *s = (const char *)value, *e = (const char *)end, *amp;
	int rc;

	while ((amp = memchr(s, '&', (size_t)(e - s))) != NULL) {
		if ((rc = buf_append(b, s, (size_t)(amp - s))) || (rc = buf_putc(b, '&')))
			return rc;
		s = amp + 1;
		if (e - s >= 4 && memcmp(s, "#38;", 4) == 0)
			s += 4;
	}
	return buf_append(b, s, (size_t)(e - s));
}

/* Copy the attributes we know of the element being started into
 * st->attr; libxml2's pointers live only as long as the callback. */
static int read_attrs(struct state *st)
{
	int rc;

	for (unsigned a = 0; a < A__N; a++)
		if (st->attr_set & (1u << a))
			buf_clear(&st->attr[a]);
	st->attr_set = 0;
	for (int i = 0; i < st->natts; i++) {
		const xmlChar **at = st->atts + 5 * i;

		for (unsigned a = 0; a < A__N; a++) {
			if (strcmp((const char *)at[0], attr_names[a]) != 0 || (st->attr_set & (1u << a)))
				continue;
			if ((rc = put_attr(&st->attr[a], at[3], at[4])))
				return rc;
			st->attr_set |= 1u << a;
			break;
		}
	}
	return HF_OK;
}

static const char *attr(const struct state *st, enum attr a)
{
	return (st->attr_set & (1u << a)) ? buf_str(&st->attr[a]) : NULL;
}

/* --- xml:base ---------------------------------------------------------- */

/*
 * The document's base: the URL it was fetched from when that is a web
 * URL.  A feed read from a file (file://, or no URL at all) has its own
 * <link> instead, once that has been read, as a browser viewing the
 * feed's site would resolve the same references; otherwise a relative
 * link would resolve to a file: URL and be dropped.
 */
static const char *doc_base(const struct state *st)
{
	if (!st->base_web && st->info->link)
		return st->info->link;
	return st->opts->base_url;
}

/*
 * An element with xml:base opens a frame: its value resolved against the
 * base in force (XML Base section 4.2; the document's URL at the top), as
 * xmlNodeGetBase resolves it for a tree.  A value libxml2 cannot resolve
 * leaves the enclosing base in force.
 */
static int base_push(struct state *st, int depth)
{
	const xmlChar **at = NULL;
	const char *parent;
	xmlChar *uri;
	size_t off;
	int rc;

	for (int i = 0; i < st->natts && !at; i++)
		if (st->atts[5 * i + 2] && strcmp((const char *)st->atts[5 * i], "base") == 0 &&
		    strcmp((const char *)st->atts[5 * i + 2], (const char *)XML_XML_NAMESPACE) == 0)
			at = st->atts + 5 * i;
	if (!at || st->nframes == BASE_FRAMES)
		return HF_OK;
	buf_clear(&st->o.tmp);
	if ((rc = put_attr(&st->o.tmp, at[3], at[4])))
		return rc;
	parent = st->nframes ? st->frame_text.data + st->frame[st->nframes - 1].off : doc_base(st);
	if (!(uri = xmlBuildURI((const xmlChar *)buf_str(&st->o.tmp), (const xmlChar *)parent)))
		return HF_OK;
	off = st->frame_text.len;
	rc = buf_append(&st->frame_text, (const char *)uri, strlen((const char *)uri) + 1);
	xmlFree(uri);
	if (rc)
		return rc;
	st->frame[st->nframes].depth = depth;
	st->frame[st->nframes].off = off;
	st->nframes++;
	return HF_OK;
}

static void base_pop(struct state *st, int depth)
{
	if (st->nframes && st->frame[st->nframes - 1].depth == depth) {
		st->nframes--;
		st->frame_text.len = st->frame[st->nframes].off;
		st->frame_text.data[st->frame_text.len] = '\0';
	}
}

/* Keep the base of the current element in `a`; *ref names it. */
static int base_keep(struct state *st, struct bases *a, size_t *ref)
{
	const char *cur;
	size_t off;
	int rc;

	*ref = 0;
	if (st->nframes == 0)
		return HF_OK;
	cur = st->frame_text.data + st->frame[st->nframes - 1].off;
	if (a->last && strcmp(a->b.data + a->last - 1, cur) == 0) {
		*ref = a->last;
		return HF_OK;
	}
	off = a->b.len;
	if ((rc = buf_append(&a->b, cur, strlen(cur) + 1)))
		return rc;
	*ref = a->last = off + 1;
	return HF_OK;
}

static const char *base_at(const struct state *st, const struct bases *a, size_t ref)
{
	return ref ? a->b.data + ref - 1 : doc_base(st);
}

static void bases_clear(struct bases *a)
{
	buf_clear(&a->b);
	a->last = 0;
}

/* --- raw entry --------------------------------------------------------- */

static void raw_clear(struct raw *e)
{
	for (int f = 0; f < F__N; f++) {
		buf_clear(&e->f[f]);
		e->rank[f] = 0;
		e->mode[f] = M_NONE;
		e->base[f] = 0;
	}
	bases_clear(&e->bases);
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

static int list_push(struct list *l, const char *s, size_t n, unsigned char mode)
{
	int rc;

	if ((rc = buf_append(&l->b, s, n)) || (rc = buf_putc(&l->b, '\0')))
		return rc;
	if (l->n < MAX_LIST_RAW)
		l->mode[l->n] = mode;
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
	st->cap_empty = -1;
}

static int escape_into(struct buf *b, const char *s, size_t n)
{
	return sanitize_escape(s, n, b);
}

/* buf_append without a call while the buffer has room: libxml2 hands
 * text over in many short pieces, one for each entity reference. */
static int append(struct buf *b, const char *s, size_t n)
{
	if (n >= b->cap - b->len)
		return buf_append(b, s, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HF_OK;
}

/* Text or CDATA inside the capture; libxml2 may hand a run over in pieces. */
static int on_text(struct state *st, const char *s, size_t n)
{
	if (st->cap->len + n > RAW_MAX) {
		st->e.truncated = 1;
		return HF_OK;
	}
	switch (st->cap_mode) {
	case M_TEXT:
	case M_BASE64:
		return append(st->cap, s, n);
	case M_HTML:
		if (st->depth == st->cap_raw + 1)  /* libxml2's depths both */
			return append(st->cap, s, n);
		return escape_into(st->cap, s, n);
	case M_ESCAPE:
	case M_XHTML:
		return escape_into(st->cap, s, n);
	default:
		return HF_OK;
	}
}

/* A child element inside HTML or XHTML content, written back as markup. */
static int serialise_start(struct state *st, const char *name, int depth, int empty)
{
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
	for (int i = 0; i < st->natts; i++) {
		const xmlChar **at = st->atts + 5 * i;
		const char *v = (const char *)at[3];
		size_t n = (size_t)(at[4] - at[3]);

		if (memchr(v, '&', n)) {
			buf_clear(&st->o.tmp);
			if ((rc = put_attr(&st->o.tmp, at[3], at[4])))
				return rc;
			v = buf_str(&st->o.tmp);
			n = st->o.tmp.len;
		}
		if ((rc = buf_putc(b, ' ')) || (rc = buf_puts(b, (const char *)at[0])) ||
		    (rc = buf_append(b, "=\"", 2)) || (rc = escape_into(b, v, n)) ||
		    (rc = buf_putc(b, '"')))
			return rc;
	}
	if (empty)
		st->cap_empty = depth;
	return buf_puts(b, empty ? "/>" : ">");
}

static int serialise_end(struct state *st, const char *name, int depth)
{
	int rc;

	if (depth == st->cap_empty) {
		st->cap_empty = -1;
		return HF_OK;
	}
	if (st->cap_mode == M_XHTML && depth == st->cap_depth + 1 && st->cap_div)
		return HF_OK;
	if (st->cap->len > RAW_MAX)
		return HF_OK;
	if ((rc = buf_append(st->cap, "</", 2)) || (rc = buf_puts(st->cap, name)))
		return rc;
	return buf_putc(st->cap, '>');
}

/* What the type attribute of an Atom text construct says the text is
 * (RFC 4287 section 3.1; Atom 0.3 section 3.1.1's MIME types). */
static unsigned char atom_type(const char *type)
{
	if (!type || !strcasecmp(type, "text") || !strcasecmp(type, "text/plain"))
		return M_ESCAPE;
	if (!strcasecmp(type, "xhtml") || !strcasecmp(type, "application/xhtml+xml"))
		return M_XHTML;
	if (!strcasecmp(type, "html") || !strcasecmp(type, "text/html"))
		return M_HTML;
	return strncasecmp(type, "text/", 5) == 0 ? M_ESCAPE : M_NONE;
}

/* Atom text constructs (RFC 4287 section 3.1; Atom 0.3 mode="escaped"
 * and mode="base64", section 3.1.2). */
static unsigned char atom_mode(const struct state *st)
{
	const char *type = attr(st, A_TYPE), *mode = attr(st, A_MODE);

	if (attr(st, A_SRC))
		return M_NONE;
	if (mode && strcasecmp(mode, "base64") == 0)
		return atom_type(type) == M_NONE ? M_NONE : M_BASE64;
	if (mode && !strcasecmp(mode, "escaped") && !type)
		return M_HTML;
	return atom_type(type);
}

/* RFC 4648 section 4, white space skipped (Atom 0.3 content wraps its
 * lines), '=' ends it.  Decodes s[0..n) in place; -1 on another byte. */
static int base64_decode(char *s, size_t *n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	for (size_t i = 0; i < *n && s[i] != '='; i++) {
		const char *d;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			continue;
		if (!s[i] || !(d = strchr(digits, s[i])))
			return -1;
		acc = (acc << 6 | (uint32_t)(d - digits)) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			s[o++] = (char)(acc >> bits & 0xff);
		}
	}
	*n = o;
	return 0;
}

/*
 * A base64 field ends: the bytes are decoded and stand as the text
 * construct of their type would have, HTML as HTML source, text
 * HTML-escaped (as M_ESCAPE captures it); invalid UTF-8 in them becomes
 * U+FFFD.  Undecodable base64 leaves the field empty.
 */
static int base64_end(struct state *st, struct buf *b, unsigned char *mode)
{
	struct buf *tmp = &st->o.tmp;
	size_t n = b->len;
	int rc;

	buf_clear(tmp);
	if (b->len == 0 || base64_decode(b->data, &n) != 0 || n == 0) {
		buf_clear(b);
		*mode = M_ESCAPE;
		return HF_OK;
	}
	if ((rc = norm_nfc(b->data, n, tmp)))
		return rc;
	buf_clear(b);
	if (st->cap_base64 == M_ESCAPE) {
		*mode = M_ESCAPE;
		return escape_into(b, tmp->data, tmp->len);
	}
	*mode = M_HTML;
	return buf_append(b, tmp->data, tmp->len);
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

/*
 * A text field, captured in `mode`.  Text as libxml2 delivered it
 * (M_TEXT) is decoded no further unless it holds markup, so that
 * "&amp;hellip;" stays the text "&hellip;" (NORM_TEXT_FIELD); escaped
 * text is unescaped once, HTML and XHTML lose their tags.
 */
static int put_text(struct buf *out, const char *s, size_t n, unsigned char mode, size_t max,
                    unsigned *flags)
{
	int cut = 0, rc;

	buf_clear(out);
	if ((rc = norm_text(s, n, mode == M_TEXT ? NORM_TEXT_FIELD :
	                          mode == M_ESCAPE ? NORM_TEXT_ESCAPED : NORM_TEXT_HTML,
	                    max, out, &cut)))
		return rc;
	if (cut)
		*flags |= FEED_ENTRY_TRUNCATED;
	return HF_OK;
}

static int put_url(struct buf *out, const char *base, const char *ref, unsigned *flags)
{
	int rc, web;

	buf_clear(out);
	rc = norm_url_resolve(base, ref, out, &web);
	if (rc == HF_EINVAL) {
		buf_clear(out);
		return HF_OK;
	}
	if (rc)
		return rc;
	/* Only http(s) goes out (javascript:, data:, file:, mailto: ...). */
	if (!web) {
		buf_clear(out);
		*flags |= FEED_ENTRY_UNSAFE_URL;
		return HF_OK;
	}
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

/* HTML from `raw`, repaired when it is double-encoded (norm_repair),
 * sanitised; `tmp` is scratch space. */
static int put_html(struct buf *out, const struct buf *raw, const char *base, size_t max,
                    struct buf *tmp)
{
	int rc;

	buf_clear(out);
	if (raw->len == 0)
		return HF_OK;
	buf_clear(tmp);
	if ((rc = norm_repair(raw->data, raw->len, tmp)) < 0)
		return rc;
	if (rc == 1)
		return sanitize_html_checked(tmp->data, tmp->len, base, max, out);
	/* Whole characters libxml2 delivered: on_text() drops, never cuts. */
	return sanitize_html_checked(raw->data, raw->len, base, max, out);
}

/*
 * A title for an entry that has none: the first HF_UNTITLED_WORDS words
 * of the sanitised `html` as plain text, at most HF_UNTITLED_BYTES,
 * with "…" when words were left out.  Nothing when html has no text.
 */
static int untitled(struct buf *out, const char *html, struct buf *tmp)
{
	size_t words = 0, end = 0, i;
	int rc;

	buf_clear(out);
	buf_clear(tmp);
	if (!html)
		return HF_OK;
	/* Plain text, whitespace collapsed to single spaces. */
	if ((rc = norm_text(html, strlen(html), NORM_TEXT_HTML, HF_MAX_TITLE, tmp, NULL)))
		return rc;
	for (i = 0; i <= tmp->len; i++) {
		if (i < tmp->len && tmp->data[i] != ' ')
			continue;
		if (i > HF_UNTITLED_BYTES || words == HF_UNTITLED_WORDS)
			break;
		end = i;
		words++;
	}
	if (end == 0 && tmp->len)
		/* One word longer than the bound: cut on a character. */
		for (end = HF_UNTITLED_BYTES; end > 0 && ((unsigned char)tmp->data[end] & 0xc0) == 0x80; end--)
			;
	if ((rc = buf_append(out, tmp->data, end)))
		return rc;
	/* Words were left out; don't end on a comma or a colon. */
	if (end < tmp->len) {
		while (out->len && strchr(",;:-", out->data[out->len - 1]))
			out->data[--out->len] = '\0';
		rc = buf_puts(out, "\xe2\x80\xa6");
	}
	return rc;
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

		if ((rc = put_text(&o->tmp, p, strlen(p), st->e.authors.mode[i], HF_MAX_AUTHOR, flags)))
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
		if ((rc = put_text(&o->tmp, p, strlen(p), st->e.cats.mode[i], HF_MAX_CATEGORY, flags)))
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
		if ((rc = put_url(&o->tmp, base_at(st, &st->e.bases, st->e.encl_base[i / 3]), u, flags)))
			return rc;
		if (o->tmp.len == 0)
			continue;
		url[n] = o->encl.len;
		if ((rc = buf_append(&o->encl, o->tmp.data, o->tmp.len + 1)))
			return rc;
		type[n] = (size_t)-1;
		if ((rc = put_text(&o->tmp, t, strlen(t), M_TEXT, 255, flags)))
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
	size_t link_base = e->base[F_LINK];
	const struct buf *link = &e->f[F_LINK];
	const struct buf *pub = &e->f[F_PUB];
	int rc;

	if (!e->any)
		return HF_OK;
	if (st->info->nentries >= st->max_entries) {
		if (!st->entries_capped)
			log_warn("feed has more than %zu entries; the rest are ignored",
			         st->max_entries);
		st->entries_capped = 1;
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
		if ((rc = put_text(&o->title, e->f[F_TITLE].data, e->f[F_TITLE].len, e->mode[F_TITLE],
		                   HF_MAX_TITLE, &ent.flags)))
			return rc;
		ent.title = nz(&o->title);
	}
	buf_clear(&o->link);
	if (e->f[F_LINK].len) {
		if ((rc = put_url(&o->link, base_at(st, &e->bases, link_base), e->f[F_LINK].data, &ent.flags)))
			return rc;
		ent.link = nz(&o->link);
	}
	ent.published = put_date(st, pub, &ent.flags);
	ent.updated = put_date(st, &e->f[F_UPD], &ent.flags);
	if ((rc = put_authors(st, &ent.flags)))
		return rc;
	ent.author = nz(&o->author);
	if ((rc = put_html(&o->summary, &e->f[F_SUMMARY], base_at(st, &e->bases, e->base[F_SUMMARY]),
	                   HF_MAX_SUMMARY, &o->tmp)))
		return rc;
	ent.summary = nz(&o->summary);
	if ((rc = put_html(&o->content, &e->f[F_CONTENT], base_at(st, &e->bases, e->base[F_CONTENT]),
	                   HF_MAX_CONTENT, &o->tmp)))
		return rc;
	ent.content = nz(&o->content);
	if (!ent.title) {
		if ((rc = untitled(&o->title, ent.summary ? ent.summary : ent.content, &o->tmp)))
			return rc;
		ent.title = nz(&o->title);
	}
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
	                   st->feed_title.len, st->feed_title_mode, HF_MAX_TITLE, &flags)))
		return rc;
	return set_str(&st->info->title, &st->o.tmp);
}

static int feed_link_end(struct state *st)
{
	unsigned flags = 0;
	int rc;

	if ((rc = put_url(&st->o.tmp, base_at(st, &st->feed_bases, st->feed_link_base),
	                  buf_str(&st->feed_link), &flags)))
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

static int decls_check(struct state *st);

static int on_root(struct state *st, const xmlChar *name, const xmlChar *uri)
{
	const char *n = (const char *)name;
	unsigned char fmt = 0;
	unsigned char ns = ns_of(st, uri, &fmt);
	const char *v;
	int rc;

	/* The internal subset, if any, is complete. */
	if (st->ndecls && (rc = decls_check(st)))
		return rc;
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
		for (int i = 0; i < st->nnsdecl; i++) {
			unsigned char f2 = 0;
			if (ns_of(st, st->nsdecl[2 * i + 1], &f2) == NS_RSS && f2)
				st->info->format = f2;
		}
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
static int field_start(struct state *st, const struct elem *el, int depth, unsigned char mode)
{
	struct raw *e = &st->e;
	int f = el->field;
	int rc;

	if (mode == M_NONE || el->rank <= e->rank[f])
		return HF_OK;
	buf_clear(&e->f[f]);
	e->rank[f] = el->rank;
	e->mode[f] = mode;
	if (mode == M_BASE64)
		st->cap_base64 = atom_type(attr(st, A_TYPE));
	if ((f == F_LINK || f == F_SUMMARY || f == F_CONTENT || f == F_ID) &&
	    (rc = base_keep(st, &e->bases, &e->base[f])))
		return rc;
	cap_start(st, &e->f[f], depth, mode, R_FIELD);
	return HF_OK;
}

/* The feed link comes from the element being started. */
static int feed_link_start(struct state *st, unsigned char rank)
{
	st->feed_link_rank = rank;
	buf_clear(&st->feed_link);
	bases_clear(&st->feed_bases);
	return base_keep(st, &st->feed_bases, &st->feed_link_base);
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
	if ((rc = base_keep(st, &st->e.bases, &st->e.encl_base[l->n / 3])) ||
	    (rc = list_push(l, url, strlen(url), M_TEXT)) ||
	    (rc = list_push(l, type ? type : "", type ? strlen(type) : 0, M_TEXT)) ||
	    (rc = list_push(l, len ? len : "", len ? strlen(len) : 0, M_TEXT)))
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
		if ((rc = base_keep(st, &e->bases, &e->base[F_LINK])))
			return rc;
		return buf_puts(&e->f[F_LINK], href);
	}
	if (rank <= st->feed_link_rank)
		return HF_OK;
	if ((rc = feed_link_start(st, rank)) || (rc = buf_puts(&st->feed_link, href)))
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
		if (el->mode != M_ATOM)
			return field_start(st, el, depth, el->mode);
		if ((rc = read_attrs(st)))
			return rc;
		return field_start(st, el, depth, atom_mode(st));
	case R_GUID:
		if (empty || el->rank <= e->rank[F_ID])
			return HF_OK;
		if ((rc = read_attrs(st)))
			return rc;
		/* RSS 2.0: isPermaLink defaults to true. */
		e->permalink = !(attr(st, A_ISPERMALINK) && strcasecmp(attr(st, A_ISPERMALINK), "false") == 0);
		return field_start(st, el, depth, el->mode);
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
		return list_push(&e->cats, v, strlen(v), M_TEXT);
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
		if (mode == M_BASE64)
			st->cap_base64 = atom_type(attr(st, A_TYPE));
		st->feed_title_rank = el->rank;
		st->feed_title_mode = mode;
		buf_clear(&st->feed_title);
		cap_start(st, &st->feed_title, depth, mode, R_CHANNEL);
	} else if (el->field == F_LINK && el->rank > st->feed_link_rank) {
		if ((rc = feed_link_start(st, el->rank)))
			return rc;
		cap_start(st, &st->feed_link, depth, el->mode, R_RSS);
	}
	return HF_OK;
}

/* The capture ends: what it collected goes where it belongs. */
static int cap_end(struct state *st)
{
	int rc = HF_OK;

	switch (st->cap_role) {
	case R_FIELD:
		if (st->cap_mode == M_BASE64 && st->cap >= st->e.f && st->cap < st->e.f + F__N)
			rc = base64_end(st, st->cap, &st->e.mode[st->cap - st->e.f]);
		break;
	case R_AUTHOR:
		if (st->e.authors.n < MAX_LIST_RAW)
			rc = list_push(&st->e.authors, buf_str(&st->item_text), st->item_text.len,
			               st->cap_mode);
		break;
	case R_CATEGORY:
		if (st->e.cats.n < MAX_LIST_RAW)
			rc = list_push(&st->e.cats, buf_str(&st->item_text), st->item_text.len,
			               st->cap_mode);
		break;
	case R_CHANNEL:
		if (st->cap_mode == M_BASE64)
			rc = base64_end(st, &st->feed_title, &st->feed_title_mode);
		if (!rc)
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

/* atom:author ends: its name, or its e-mail when it has none. */
static int author_end(struct state *st)
{
	const struct buf *b = st->aname.len ? &st->aname : &st->aemail;

	st->author_depth = -1;
	if (b->len && st->e.authors.n < MAX_LIST_RAW)
		return list_push(&st->e.authors, b->data, b->len, M_ESCAPE);
	return HF_OK;
}

/*
 * An item starts inside another (a missing </item>, or libxml2's recovery
 * from a fatal error: it closes an unclosed element only at the next end
 * tag, which then closes the wrong one, and so on up), or the item's own
 * end tag came while a deeper element was open (mismatch()).  Whatever
 * the document meant to close is closed here, so that each item is an
 * entry of its own.
 */
static int item_break(struct state *st)
{
	int rc = HF_OK;

	if (st->cap)
		rc = cap_end(st);
	/* An atom:author the document never closed still names someone. */
	if (!rc && st->author_depth >= 0 && st->item_depth >= 0)
		rc = author_end(st);
	st->skip_depth = st->author_depth = -1;
	if (!rc && st->item_depth >= 0) {
		st->item_depth = -1;
		rc = entry_end(st);
	}
	return rc;
}

static int on_start(struct state *st, const xmlChar *name, const xmlChar *uri, int depth,
                    int empty)
{
	const struct elem *el;
	int rc = HF_OK;

	if (st->info->format == FEED_FORMAT_UNKNOWN)
		return on_root(st, name, uri);
	/* Items never nest: one that starts inside another means the
	 * other's end tag is missing (or libxml2 recovered as above). */
	if ((st->broken || st->item_depth >= 0) &&
	    (st->cap || st->skip_depth >= 0 || st->item_depth >= 0) &&
	    (el = lookup(st, name, uri)) != NULL && el->role == R_ITEM && (rc = item_break(st)))
		return rc;
	if (st->cap) {
		if (st->cap_mode == M_HTML || st->cap_mode == M_XHTML)
			rc = serialise_start(st, (const char *)name, depth, empty);
		return rc;
	}
	if (st->skip_depth >= 0)
		return HF_OK;
	el = lookup(st, name, uri);
	if (!el)
		return HF_OK;
	if (st->item_depth >= 0)
		return item_elem(st, el, depth, empty);
	if (el->role == R_ITEM) {
		st->item_name = name;
		st->item_raw = st->raw_depth;
		return item_start(st, depth);
	}
	if (el->role == R_CHANNEL && st->chan_depth < 0)
		st->chan_depth = depth;
	else if (st->chan_depth >= 0 && depth == st->chan_depth + 1)
		return feed_elem(st, el, depth, empty);
	return HF_OK;
}

static int on_end(struct state *st, const xmlChar *name, int depth)
{
	int rc = HF_OK;

	if (st->cap) {
		if (depth > st->cap_depth) {
			if (st->cap_mode == M_HTML || st->cap_mode == M_XHTML)
				return serialise_end(st, (const char *)name, depth);
			return HF_OK;
		}
		return cap_end(st);
	}
	if (depth == st->skip_depth) {
		st->skip_depth = -1;
	} else if (depth == st->author_depth) {
		rc = author_end(st);
	} else if (depth == st->item_depth) {
		st->item_depth = -1;
		rc = entry_end(st);
	} else if (depth == st->chan_depth) {
		st->chan_depth = -1;
	}
	return rc;
}

/* --- libxml2 plumbing -------------------------------------------------- */

/* NONET and no NOENT/DTDLOAD/DTDATTR/DTDVALID: nothing is fetched or
 * substituted; IGNORE_ENC because the text is UTF-8 by now, whatever its
 * declaration says.  Without XML_PARSE_HUGE libxml2's own limits on depth,
 * node sizes and entity references hold. */
#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_IGNORE_ENC | \
                       XML_PARSE_NOWARNING)

static void fail(struct state *st, int rc)
{
	if (!st->rc)
		st->rc = rc;
}

/* Never load anything: no DTD, no external entity, no network. */
static xmlParserInputPtr no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/* libxml2 reads the document through here, a window at a time, without
 * copying it whole (xmlCreateMemoryParserCtxt would); once a callback
 * has failed, the document ends. */
static int read_text(void *ctx, char *buf, int len)
{
	struct state *st = ctx;
	size_t n = st->in_left;

	if (st->rc || len <= 0)
		return 0;
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, st->in, n);
	st->in += n;
	st->in_left -= n;
	return (int)n;
}

/*
 * An end tag for `name` that libxml2 found while a deeper element was
 * open (XML_ERR_TAG_NAME_MISMATCH): it ends only the innermost element.
 * When `name` is the field being captured or the open item, the document
 * meant to close that: it is closed here, and the levels libxml2 keeps
 * open from it up become ghosts, so that an unclosed <b> in a title does
 * not take the link and description with it.
 */
static int mismatch(struct state *st, const char *name)
{
	int cur = st->depth - 1, from, rc;

	if (!name || cur > BASE_FRAMES)
		return HF_OK;
	if (st->cap && st->cap_name && cur > st->cap_raw &&
	    strcmp(name, (const char *)st->cap_name) == 0) {
		from = st->cap_raw;
		rc = cap_end(st);
	} else if (st->item_depth >= 0 && st->item_name && cur > st->item_raw &&
	           strcmp(name, (const char *)st->item_name) == 0) {
		/* The capture, if any, ends with it. */
		from = st->item_raw;
		rc = item_break(st);
	} else {
		return HF_OK;
	}
	for (int d = from; d <= cur; d++) {
		st->nghosts += !st->ghost[d];
		st->ghost[d] = 1;
	}
	return rc;
}

/* libxml2's depth `raw` without the ghosts below it. */
static int unghosted(const struct state *st, int raw)
{
	int d = raw;

	for (int i = 0; st->nghosts && i < raw && i <= BASE_FRAMES; i++)
		d -= st->ghost[i];
	return d;
}

static void sax_error(void *ud, xmlErrorPtr e)
{
	struct state *st = ud;

	if (st->rc || !e || e->level < XML_ERR_ERROR)
		return;
	if (e->code == XML_ERR_NO_MEMORY) {
		fail(st, HF_ENOMEM);
		return;
	}
	/* 2.9.14's name for entity amplification: here, the quadratic
	 * blowup's thousands of references to an entity it does not know. */
	if (e->code == XML_ERR_ENTITY_LOOP) {
		st->entity_attack = 1;
		fail(st, HF_ETOOBIG);
		return;
	}
	/* A reference to an entity of the DTD: dropped, as intended. */
	if ((e->code == XML_WAR_UNDECLARED_ENTITY || e->code == XML_ERR_UNDECLARED_ENTITY) &&
	    e->str1 && st->decl_names && xmlHashLookup(st->decl_names, (const xmlChar *)e->str1))
		return;
	st->xml_errors++;
	if (e->level == XML_ERR_FATAL)
		st->broken = 1;
	if (e->code == XML_ERR_TAG_NAME_MISMATCH) {
		int rc = mismatch(st, e->str2);
		if (rc)
			fail(st, rc);
	}
	if (st->first_error.len == 0 && e->message) {
		size_t n = strcspn(e->message, "\n");
		if (buf_printf(&st->first_error, "line %d: %.*s", e->line, (int)(n > 120 ? 120 : n), e->message))
			buf_clear(&st->first_error);
	}
}

/*
 * Entities.  getEntity knows none, so libxml2 expands only the five
 * predefined ones (which it resolves before asking): a reference to any
 * other is dropped, an external one is never opened, and nothing can
 * amplify.  The internal subset's general entities are measured all the
 * same, so that a document built to amplify is rejected as such.
 */
static xmlEntityPtr sax_get_entity(void *ud, const xmlChar *name)
{
	(void)ud;
	(void)name;
	return NULL;
}

static void sax_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
                            const xmlChar *system_id, xmlChar *content)
{
	struct state *st = ud;
	struct decl *d;
	size_t len;

	(void)public_id;
	(void)system_id;
	if (st->rc || (type != XML_INTERNAL_GENERAL_ENTITY && type != XML_EXTERNAL_GENERAL_PARSED_ENTITY))
		return;
	if (!st->decl_names && !(st->decl_names = xmlHashCreate(16)))
		goto nomem;
	/* XML 1.0 section 4.2: the first declaration is binding. */
	if (xmlHashLookup(st->decl_names, name))
		return;
	if (st->ndecls == st->decls_cap) {
		size_t cap = st->decls_cap ? 2 * st->decls_cap : 16;
		struct decl *p = realloc(st->decls, cap * sizeof *p);
		if (!p)
			goto nomem;
		st->decls = p;
		st->decls_cap = cap;
	}
	len = type == XML_INTERNAL_GENERAL_ENTITY && content ? strlen((const char *)content) : 0;
	d = &st->decls[st->ndecls];
	d->off = st->decl_text.len;
	d->len = len;
	d->size = 0;
	d->state = 0;
	if ((len && buf_append(&st->decl_text, (const char *)content, len)) ||
	    xmlHashAddEntry(st->decl_names, name, (void *)(uintptr_t)(st->ndecls + 1)) != 0)
		goto nomem;
	st->ndecls++;
	return;
nomem:
	fail(st, HF_ENOMEM);
}

/*
 * The length of declaration i with every reference expanded, or UINT64_MAX
 * once it passes `max`, loops, or needs references followed deeper than
 * ENTITY_NESTING (which also bounds the recursion).
 */
static uint64_t decl_size(struct state *st, size_t i, int level, uint64_t max)
{
	struct decl *d = &st->decls[i];
	uint64_t size = 0;

	if (d->state == 2)
		return d->size;
	if (d->state == 1 || level > ENTITY_NESTING)
		return UINT64_MAX;
	d->state = 1;
	if (d->len) {
		char *p = st->decl_text.data + d->off, *end = p + d->len;

		while (p < end && size <= max) {
			char *amp = memchr(p, '&', (size_t)(end - p)), *semi;
			void *ref;

			if (!amp) {
				size += (uint64_t)(end - p);
				break;
			}
			size += (uint64_t)(amp - p);
			p = amp + 1;
			if (p < end && *p != '#' && (semi = memchr(p, ';', (size_t)(end - p))) != NULL) {
				*semi = '\0';
				ref = xmlHashLookup(st->decl_names, (const xmlChar *)p);
				*semi = ';';
				if (ref) {
					uint64_t n = decl_size(st, (size_t)(uintptr_t)ref - 1, level + 1, max);
					if (n == UINT64_MAX) {
						size = UINT64_MAX;
						break;
					}
					size += n;
					p = semi + 1;
					continue;
				}
			}
			size++;  /* the '&' itself */
		}
	}
	d->size = size > max ? UINT64_MAX : size;
	d->state = 2;
	return d->size;
}

/* The internal subset is complete: is one of its entities an attack? */
static int decls_check(struct state *st)
{
	uint64_t max = (uint64_t)st->in_len * ENTITY_GROWTH;

	for (size_t i = 0; i < st->ndecls; i++)
		if (decl_size(st, i, 0, max) == UINT64_MAX) {
			st->entity_attack = 1;
			return HF_ETOOBIG;
		}
	return HF_OK;
}

/*
 * A DOCTYPE.  Its declarations are not used, so to libxml2 the document
 * has declarations it cannot see; XML 1.0 section 4.1 (WFC: Entity
 * Declared) then makes a reference to an entity it does not know a plain
 * error rather than a fatal one: the document is not taken for broken.
 */
static void sax_doctype(void *ud, const xmlChar *name, const xmlChar *external_id,
                        const xmlChar *system_id)
{
	struct state *st = ud;

	(void)name;
	(void)external_id;
	(void)system_id;
	st->ctxt->hasExternalSubset = 1;
}

/*
 * Every event sets ctxt->wellFormed back to 1: libxml2 2.9's
 * xmlParseReference drops every entity reference, &amp; and &lt; included,
 * once it is 0, so after one error all the escaped markup of the rest of
 * the document would vanish.  sax_error has counted the error already.
 */
static void sax_start(void *ud, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                      int nnsdecl, const xmlChar **nsdecl, int natts, int ndefaulted,
                      const xmlChar **atts)
{
	struct state *st = ud;
	const xmlChar *cur = st->ctxt->input ? st->ctxt->input->cur : NULL;
	int raw = st->depth++, depth = unghosted(st, raw);
	int rc = HF_OK;

	(void)prefix;
	if (st->rc)
		return;
	st->ctxt->wellFormed = 1;
	if (natts > HF_MAX_ATTRS) {
		st->too_many_atts = 1;
		fail(st, HF_ETOOBIG);
		xmlStopParser(st->ctxt);
		return;
	}
	st->atts = atts;
	st->natts = natts - ndefaulted;  /* DTD defaults come last: not ours */
	st->nsdecl = nsdecl;
	st->nnsdecl = nnsdecl;
	st->raw_depth = raw;
	if (raw <= BASE_FRAMES)
		st->pushed[raw] = depth;
	if (st->natts)
		rc = base_push(st, depth);
	/* startElementNs comes before libxml2 reads the "/>" of an empty
	 * element; its own xmlTextReader tells them apart the same way. */
	if (!rc)
		rc = on_start(st, name, uri, depth, cur && cur[0] == '/' && cur[1] == '>');
	if (!rc && st->cap && st->cap_depth == depth) {
		st->cap_name = name;
		st->cap_raw = raw;
	}
	if (rc)
		fail(st, rc);
}

static void sax_end(void *ud, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
	struct state *st = ud;
	int raw = --st->depth, depth;
	int rc;

	(void)prefix;
	(void)uri;
	if (st->rc)
		return;
	st->ctxt->wellFormed = 1;
	depth = raw <= BASE_FRAMES ? st->pushed[raw] : unghosted(st, raw);
	if (raw <= BASE_FRAMES && st->ghost[raw]) {
		/* The document closed this one long ago. */
		st->ghost[raw] = 0;
		st->nghosts--;
	} else if ((rc = on_end(st, name, depth))) {
		fail(st, rc);
	}
	base_pop(st, depth);
}

/* Characters, ignorable whitespace and CDATA alike. */
static void sax_text(void *ud, const xmlChar *s, int n)
{
	struct state *st = ud;
	int rc;

	st->ctxt->wellFormed = 1;
	if (!st->cap || st->rc)
		return;
	if ((rc = on_text(st, (const char *)s, (size_t)n)))
		fail(st, rc);
}

static void state_free(struct state *st)
{
	struct out *o = &st->o;

	for (int f = 0; f < F__N; f++)
		buf_free(&st->e.f[f]);
	buf_free(&st->e.authors.b);
	buf_free(&st->e.cats.b);
	buf_free(&st->e.encl.b);
	buf_free(&st->e.bases.b);
	for (int a = 0; a < A__N; a++)
		buf_free(&st->attr[a]);
	buf_free(&st->aname);
	buf_free(&st->aemail);
	buf_free(&st->item_text);
	buf_free(&st->feed_title);
	buf_free(&st->feed_link);
	buf_free(&st->feed_bases.b);
	buf_free(&st->frame_text);
	buf_free(&st->first_error);
	free(st->decls);
	buf_free(&st->decl_text);
	xmlHashFree(st->decl_names, NULL);
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

int feed_parse(const char *data, size_t len, const struct feed_parse_opts *opts,
               struct feed_info *info, struct buf *err)
{
	static const struct feed_parse_opts none;
	struct feed_text text = FEED_TEXT_INIT;
	struct state *st = NULL;
	xmlSAXHandler sax;
	int rc;

	memset(info, 0, sizeof *info);
	if (!opts)
		opts = &none;
	if (!(st = calloc(1, sizeof *st))) {
		rc = HF_ENOMEM;
		goto out;
	}
	st->opts = opts;
	st->base_web = opts->base_url && norm_url_web(opts->base_url);
	st->max_entries = opts->max_entries ? opts->max_entries : HF_MAX_ENTRIES;
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
	st->in = text.data;
	st->in_left = st->in_len = text.len;

	/* These callbacks and no others: nothing builds a tree, resolves a
	 * name or loads a file. */
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = sax_start;
	sax.endElementNs = sax_end;
	sax.characters = sax_text;
	sax.ignorableWhitespace = sax_text;
	sax.cdataBlock = sax_text;
	sax.internalSubset = sax_doctype;
	sax.entityDecl = sax_entity_decl;
	sax.getEntity = sax_get_entity;
	sax.getParameterEntity = sax_get_entity;
	sax.serror = sax_error;

	xmlSetExternalEntityLoader(no_loader);
	st->ctxt = xmlCreateIOParserCtxt(&sax, st, read_text, NULL, st, XML_CHAR_ENCODING_NONE);
	if (!st->ctxt) {
		rc = HF_ENOMEM;
		goto out;
	}
	(void)xmlCtxtUseOptions(st->ctxt, PARSE_OPTIONS);
	(void)xmlParseDocument(st->ctxt);

	if (st->entity_attack) {
		if (err) {
			buf_clear(err);
			if (buf_puts(err, "entity expansion attack: document rejected"))
				buf_clear(err);
		}
		rc = HF_ETOOBIG;
		goto out;
	}
	if (st->too_many_atts) {
		if (err) {
			buf_clear(err);
			buf_printf(err, "an element has more than %d attributes: document rejected",
			           HF_MAX_ATTRS);
		}
		rc = HF_ETOOBIG;
		goto out;
	}
	if ((rc = st->rc))
		goto out;
	if (st->xml_errors)
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
		if (st->ctxt) {
			xmlFreeDoc(st->ctxt->myDoc);
			xmlFreeParserCtxt(st->ctxt);
		}
		state_free(st);
		free(st);
	}
	feed_text_free(&text);
	return rc;
}
