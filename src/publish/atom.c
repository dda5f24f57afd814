/*
 * publish_atom.c - one Atom 1.0 file (RFC 4287) through libxml2's
 * xmlTextWriter, which escapes every text and attribute value.  Text from
 * the store is cleaned of what XML 1.0 forbids before it reaches the
 * writer (pub_xml_clean): one bad byte must not make the feed unreadable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "helsefeed/limits.h"
#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "publish_int.h"

#define ATOM_NS "http://www.w3.org/2005/Atom"
/* RFC 5005 section 4: fh:archive marks an archive document. */
#define FH_NS "http://purl.org/syndication/history/1.0"
/* Our one extension element: an entry's published time in the
 * configured zone (RFC 3339 with its offset), for feed.xsl, which
 * cannot convert time zones. */
#define HF_NS "tag:helsefeed,2026:atom"
#define X(s) ((const xmlChar *)(s))

struct aw {
	xmlTextWriterPtr w;
	const struct config *cfg;
	const char *host;
	const struct tz *tz;
	struct buf tmp;        /* cleaned text, ids */
	int xerr;              /* a writer call failed */
};

/* Every writer call goes through here: the first failure sticks. */
static void xchk(struct aw *a, int rc)
{
	if (rc < 0)
		a->xerr = 1;
}

static int clean(struct aw *a, const char *s)
{
	buf_clear(&a->tmp);
	return pub_xml_clean(s ? s : "", &a->tmp);
}

static int text_el(struct aw *a, const char *name, const char *s)
{
	if (clean(a, s))
		return HF_ENOMEM;
	xchk(a, xmlTextWriterWriteElement(a->w, X(name), X(buf_str(&a->tmp))));
	return 0;
}

static int attr(struct aw *a, const char *name, const char *s)
{
	if (clean(a, s))
		return HF_ENOMEM;
	xchk(a, xmlTextWriterWriteAttribute(a->w, X(name), X(buf_str(&a->tmp))));
	return 0;
}

/* RFC 4287 3.3: a Date construct is an RFC 3339 date-time. */
static void date_el(struct aw *a, const char *name, int64_t t)
{
	char iso[21];

	norm_date_iso(t, iso);
	xchk(a, xmlTextWriterWriteElement(a->w, X(name), X(iso)));
}

static int link_el(struct aw *a, const char *rel, const char *type,
                   const char *href, const char *title)
{
	xchk(a, xmlTextWriterStartElement(a->w, X("link")));
	xchk(a, xmlTextWriterWriteAttribute(a->w, X("rel"), X(rel)));
	if (type)
		xchk(a, xmlTextWriterWriteAttribute(a->w, X("type"), X(type)));
	if (attr(a, "href", href) || (title && attr(a, "title", title)))
		return HF_ENOMEM;
	xchk(a, xmlTextWriterEndElement(a->w));
	return 0;
}

/* base_url + name: base_url ends with '/' (config.h). */
static int base_plus(struct aw *a, const char *name, struct buf *out)
{
	return buf_printf(out, "%s%s", a->cfg->base_url, name);
}

static int category_cb(void *ud, const char *name)
{
	struct aw *a = ud;
	const struct config_category *c = config_category_find(a->cfg, name);
	struct buf scheme = BUF_INIT;
	int rc;

	xchk(a, xmlTextWriterStartElement(a->w, X("category")));
	rc = attr(a, "term", name);
	if (!rc)
		rc = attr(a, "label", c && c->title ? c->title : name);
	if (!rc)
		rc = base_plus(a, "categories", &scheme);
	if (!rc)
		rc = attr(a, "scheme", buf_str(&scheme));
	xchk(a, xmlTextWriterEndElement(a->w));
	buf_free(&scheme);
	return rc;
}

/* RFC 4287 4.2.7.2: rel="via" names where the information came from;
 * here every other feed that carried the same story. */
static int via_cb(void *ud, const char *name, const char *title,
                  const char *link)
{
	struct aw *a = ud;

	if (!pub_is_uri(link))
		return 0;
	return link_el(a, "via", "text/html", link, title ? title : name);
}

/* RFC 4287 4.2.7.2: rel="enclosure", a related resource that may be
 * large (a podcast, a report as PDF).  Web links only. */
static int enclosure_cb(void *ud, const char *url, const char *type,
                        int64_t length)
{
	struct aw *a = ud;
	char len[24];

	if (!pub_web_url(url) || !pub_is_uri(url))
		return 0;
	xchk(a, xmlTextWriterStartElement(a->w, X("link")));
	xchk(a, xmlTextWriterWriteAttribute(a->w, X("rel"), X("enclosure")));
	if (attr(a, "href", url) ||
	    (type && *type && !strchr(type, ' ') && attr(a, "type", type)))
		return HF_ENOMEM;
	if (length >= 0) {
		snprintf(len, sizeof len, "%lld", (long long)length);
		xchk(a, xmlTextWriterWriteAttribute(a->w, X("length"), X(len)));
	}
	xchk(a, xmlTextWriterEndElement(a->w));
	return 0;
}

/* The name of the feed that carried an item, as the config says now. */
static const char *feed_title(const struct config *cfg,
                              const struct pub_item *it)
{
	const struct config_feed *f = config_feed_find(cfg, it->feed_name);

	if (f && f->title)
		return f->title;
	return it->feed_title ? it->feed_title : it->feed_name;
}

static int entry(struct aw *a, struct pubdb *db, const struct pub_item *it)
{
	struct buf id = BUF_INIT;
	const char *src_title = feed_title(a->cfg, it);
	int64_t updated = pub_item_updated(it);
	int rc;

	xchk(a, xmlTextWriterStartElement(a->w, X("entry")));
	/* Our own id (store.h): never the feed's, never recomputed.  The
	 * run gave every item one before it read any (publish_run). */
	if (!it->atom_id) {
		log_error("publish: item %lld has no atom:id", (long long)it->id);
		rc = HF_EDB;
		goto out;
	}
	rc = text_el(a, "id", it->atom_id);
	/* RFC 4287 4.2.14: atom:title is required, even for an untitled
	 * item. */
	if (!rc)
		rc = text_el(a, "title", it->title && *it->title ? it->title :
		             "(uten tittel)");
	if (!rc && pub_is_uri(it->link))
		rc = link_el(a, "alternate", "text/html", it->link, NULL);
	if (!rc)
		rc = pubdb_sources(db, it->id, it->feed_id, via_cb, a);
	if (!rc)
		rc = pubdb_enclosures(db, it->id, enclosure_cb, a);
	if (rc)
		goto out;
	date_el(a, "published", pub_item_published(it));
	date_el(a, "updated", updated);
	if (a->tz) {
		char loc[32];
		if (!tz_format(a->tz, pub_item_published(it), "%Y-%m-%dT%H:%M:%S%z",
		               loc, sizeof loc - 1)) {
			/* %z gives +0200; RFC 3339 wants +02:00. */
			size_t l = strlen(loc);
			memmove(loc + l - 1, loc + l - 2, 3);
			loc[l - 2] = ':';
			xchk(a, xmlTextWriterWriteElementNS(a->w, X("hf"), X("local"),
			                                    NULL, X(loc)));
		}
	}
	/* RFC 4287 4.1.2: an entry needs an author when the feed has none;
	 * the publishing body is the author of its press release. */
	xchk(a, xmlTextWriterStartElement(a->w, X("author")));
	rc = text_el(a, "name", it->author && *it->author ? it->author : src_title);
	xchk(a, xmlTextWriterEndElement(a->w));
	if (!rc)
		rc = pubdb_categories(db, it->id, category_cb, a);
	if (rc)
		goto out;
	/* A corrected entry says so where readers filter (RFC 4287 4.2.2). */
	if (it->corrected != HF_NOTIME) {
		xchk(a, xmlTextWriterStartElement(a->w, X("category")));
		xchk(a, xmlTextWriterWriteAttribute(a->w, X("term"), X(PUB_CORRECTED_TERM)));
		xchk(a, xmlTextWriterWriteAttribute(a->w, X("label"), X("Oppdatert")));
		xchk(a, xmlTextWriterEndElement(a->w));
	}

	/* RFC 4287 4.2.11: the feed the entry was copied from: its URL and
	 * the publisher's site.  A feed read from a file (the offline
	 * sample) has no public URL: a tag id names it, no link shows the
	 * path. */
	xchk(a, xmlTextWriterStartElement(a->w, X("source")));
	if (pub_web_url(it->feed_url) && pub_is_uri(it->feed_url)) {
		rc = text_el(a, "id", it->feed_url);
	} else {
		buf_clear(&id);
		rc = buf_printf(&id, "tag:%s,2024:feed/%s", a->host, it->feed_name);
		if (!rc)
			rc = text_el(a, "id", buf_str(&id));
	}
	if (!rc)
		rc = text_el(a, "title", src_title);
	if (!rc && pub_web_url(it->feed_url) && pub_is_uri(it->feed_url)) {
		const char *h = strstr(it->feed_url, "://") + 3;
		buf_clear(&id);
		rc = link_el(a, "self", NULL, it->feed_url, NULL);
		if (!rc)
			rc = buf_append(&id, it->feed_url, (size_t)(h - it->feed_url) +
			                strcspn(h, "/?#"));
		if (!rc)
			rc = buf_putc(&id, '/');
		if (!rc)
			rc = link_el(a, "alternate", "text/html", buf_str(&id), NULL);
	}
	date_el(a, "updated", updated);
	xchk(a, xmlTextWriterEndElement(a->w));
	if (rc)
		goto out;

	/* Sanitised HTML, escaped once more by the writer: type="html"
	 * (RFC 4287 3.1.1.2).  Without content, the summary stands in; an
	 * entry with neither and no link still needs content (4.1.1.1).  A
	 * correction is said before the text. */
	{
		const char *el = NULL, *body = NULL;
		if (it->content && *it->content) {
			el = "content";
			body = it->content;
		} else if (it->summary && *it->summary) {
			el = "summary";
			body = it->summary;
		} else if (it->corrected != HF_NOTIME || !pub_is_uri(it->link)) {
			el = "content";
		}
		if (el) {
			buf_clear(&a->tmp);
			rc = pub_correction_note(a->tz, it, &a->tmp);
			if (!rc)
				rc = pub_xml_clean(body ? body : "", &a->tmp);
			xchk(a, xmlTextWriterStartElement(a->w, X(el)));
			xchk(a, xmlTextWriterWriteAttribute(a->w, X("type"), X("html")));
			xchk(a, xmlTextWriterWriteString(a->w, X(buf_str(&a->tmp))));
			xchk(a, xmlTextWriterEndElement(a->w));
		}
	}
	xchk(a, xmlTextWriterEndElement(a->w));
out:
	buf_free(&id);
	return rc;
}

int pub_atom(const struct config *cfg, struct pubdb *db, const char *host,
             const struct tz *tz, const struct pub_feed *feed,
             int64_t empty_updated, struct buf *out, int *nentries,
             int64_t *updated)
{
	struct aw a = {NULL, cfg, host, tz, BUF_INIT, 0};
	struct buf url = BUF_INIT;
	xmlBufferPtr xb = NULL;
	int64_t *ids = NULL, newest = HF_NOTIME;
	size_t n = 0, i;
	int limit = cfg->max_entries > 0 ? cfg->max_entries : HF_PUBLISH_MAX_ENTRIES;
	int rc;

	ids = calloc(feed->archive ? feed->nids + 1 : (size_t)limit, sizeof *ids);
	xb = xmlBufferCreate();
	if (!ids || !xb || !(a.w = xmlNewTextWriterMemory(xb, 0))) {
		rc = HF_ENOMEM;
		goto out;
	}
	if (feed->archive) {
		n = feed->nids;
		if (n)
			memcpy(ids, feed->ids, n * sizeof *ids);
	} else if ((rc = pubdb_newest(db, feed->filter, feed->arg, limit, ids, &n))) {
		goto out;
	}
	/* The feed's updated is its newest entry's (RFC 4287 4.2.15), which
	 * is not always the first: a changed item keeps its place. */
	for (i = 0; i < n; i++) {
		struct pub_item it;
		rc = pubdb_item(db, ids[i], &it);
		if (rc)
			goto out;
		if (newest == HF_NOTIME || pub_item_updated(&it) > newest)
			newest = pub_item_updated(&it);
	}
	if (newest == HF_NOTIME)
		newest = empty_updated;

	xchk(&a, xmlTextWriterSetIndent(a.w, 1));
	xchk(&a, xmlTextWriterSetIndentString(a.w, X(" ")));
	xchk(&a, xmlTextWriterStartDocument(a.w, "1.0", "utf-8", NULL));
	/* Browsers render the feed through feed.xsl; readers ignore it. */
	xchk(&a, xmlTextWriterWritePI(a.w, X("xml-stylesheet"),
	                              X(strchr(feed->file, '/') ?
	                                "type=\"text/xsl\" href=\"../feed.xsl\"" :
	                                "type=\"text/xsl\" href=\"feed.xsl\"")));
	xchk(&a, xmlTextWriterStartElementNS(a.w, NULL, X("feed"), X(ATOM_NS)));
	xchk(&a, xmlTextWriterWriteAttribute(a.w, X("xml:lang"), X("nb")));
	if (tz)
		xchk(&a, xmlTextWriterWriteAttribute(a.w, X("xmlns:hf"), X(HF_NS)));
	if (feed->archive) {
		xchk(&a, xmlTextWriterWriteAttribute(a.w, X("xmlns:fh"), X(FH_NS)));
		xchk(&a, xmlTextWriterWriteElementNS(a.w, X("fh"), X("archive"), NULL,
		                                     X("")));
	}
	/* A feed id that no host or run changes: where it is published. */
	if ((rc = base_plus(&a, feed->file, &url)) ||
	    (rc = text_el(&a, "id", buf_str(&url))))
		goto out;
	buf_clear(&url);
	if ((rc = buf_printf(&url, "%s: %s", cfg->title ? cfg->title : "helsefeed",
	                     feed->title)) ||
	    (rc = text_el(&a, "title", buf_str(&url))))
		goto out;
	date_el(&a, "updated", newest);
	buf_clear(&url);
	if ((rc = base_plus(&a, feed->file, &url)) ||
	    (rc = link_el(&a, "self", "application/atom+xml", buf_str(&url), NULL)))
		goto out;
	buf_clear(&url);
	if ((rc = base_plus(&a, feed->page ? feed->page : "index.html", &url)) ||
	    (rc = link_el(&a, "alternate", "text/html", buf_str(&url), NULL)))
		goto out;
	/* RFC 5005 section 4: from the feed or an archive to the archive
	 * before it, and from an archive to the feed. */
	buf_clear(&url);
	if (feed->current &&
	    ((rc = base_plus(&a, feed->current, &url)) ||
	     (rc = link_el(&a, "current", "application/atom+xml", buf_str(&url),
	                   NULL))))
		goto out;
	buf_clear(&url);
	if (feed->prev_archive &&
	    ((rc = base_plus(&a, feed->prev_archive, &url)) ||
	     (rc = link_el(&a, "prev-archive", "application/atom+xml",
	                   buf_str(&url), NULL))))
		goto out;
	xchk(&a, xmlTextWriterStartElement(a.w, X("generator")));
	if ((rc = attr(&a, "uri", cfg->base_url)))
		goto out;
	xchk(&a, xmlTextWriterWriteAttribute(a.w, X("version"), X(HELSEFEED_VERSION)));
	xchk(&a, xmlTextWriterWriteString(a.w, X("helsefeed")));
	xchk(&a, xmlTextWriterEndElement(a.w));

	for (i = 0; i < n && !a.xerr; i++) {
		struct pub_item it;
		if ((rc = pubdb_item(db, ids[i], &it)) || (rc = entry(&a, db, &it)))
			goto out;
	}
	xchk(&a, xmlTextWriterEndDocument(a.w));
	xchk(&a, xmlTextWriterFlush(a.w));
	if (a.xerr) {
		log_error("%s: the XML writer failed", feed->file);
		rc = HF_ERR;
		goto out;
	}
	buf_clear(out);
	if ((rc = buf_append(out, (const char *)xmlBufferContent(xb),
	                     (size_t)xmlBufferLength(xb))))
		goto out;
	if (nentries)
		*nentries = (int)n;
	if (updated)
		*updated = newest;
out:
	if (a.w)
		xmlFreeTextWriter(a.w);
	if (xb)
		xmlBufferFree(xb);
	buf_free(&a.tmp);
	buf_free(&url);
	free(ids);
	return rc;
}
