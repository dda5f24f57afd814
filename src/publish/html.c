/*
 * publish_html.c - index.html: the latest items per category, readable
 * on a phone, with no script and nothing loaded from elsewhere.  Every
 * value is escaped on the way out (sanitize_escape); summaries are shown
 * as plain text, so no markup from a feed reaches the page at all.
 */
#include <string.h>

#include "helsefeed/norm.h"
#include "helsefeed/sanitize.h"
#include "publish_int.h"

/* Small, inline, system fonts: nothing to fetch. */
static const char css[] =
	"body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:46em;"
	"padding:0 1em;color:#1b1b1b;background:#fff}"
	"h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:2px solid #0b5;"
	"padding-bottom:.2em;margin-top:1.6em}h3{font-size:1em;margin:0}"
	"a{color:#05a}.item{margin:.9em 0}.meta{color:#555;font-size:.85em;"
	"margin:.1em 0}.item p{margin:.2em 0}nav a,footer a{margin-right:.8em}"
	"footer{border-top:1px solid #ccc;margin:2em 0;padding-top:.5em;"
	"font-size:.85em}";

struct page {
	const struct config *cfg;
	struct pubdb *db;
	struct buf *out;
	struct buf also;       /* titles of the other sources of one item */
	const struct tz *tz;   /* cfg->timezone */
};

static int esc(struct buf *out, const char *s)
{
	return pub_html_text(s, out);
}

/* Only web links become href: a javascript: or data: link from a feed
 * must never be clickable, whatever the parser let through. */
static int web_url(const char *u)
{
	return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7));
}

static int also_cb(void *ud, const char *name, const char *title,
                   const char *link)
{
	struct page *p = ud;
	const struct config_feed *f = config_feed_find(p->cfg, name);

	(void)link;
	if (p->also.len && buf_puts(&p->also, ", "))
		return HF_ENOMEM;
	return esc(&p->also, f && f->title ? f->title : title ? title : name);
}

static int item(struct page *p, const struct pub_item *it)
{
	const struct config_feed *f = config_feed_find(p->cfg, it->feed_name);
	const char *src = f && f->title ? f->title :
	                  it->feed_title ? it->feed_title : it->feed_name;
	int64_t t = pub_item_published(it);
	struct buf *o = p->out;
	char iso[21], nb[32];
	int rc;

	buf_clear(&p->also);
	rc = pubdb_sources(p->db, it->id, it->feed_id, also_cb, p);
	if (rc)
		return rc;
	norm_date_iso(t, iso);
	if (pub_fmt_nb(p->tz, t, nb))
		nb[0] = '\0';
	if (buf_puts(o, "<article class=\"item\">\n<h3>"))
		return HF_ENOMEM;
	if (web_url(it->link) &&
	    (buf_puts(o, "<a href=\"") || esc(o, it->link) || buf_puts(o, "\">")))
		return HF_ENOMEM;
	if (esc(o, it->title && *it->title ? it->title : "(uten tittel)") ||
	    (web_url(it->link) && buf_puts(o, "</a>")) ||
	    buf_puts(o, "</h3>\n<p class=\"meta\">") || esc(o, src) ||
	    buf_printf(o, " · <time datetime=\"%s\">", iso) || esc(o, nb) ||
	    buf_puts(o, "</time>"))
		return HF_ENOMEM;
	if (p->also.len && (buf_puts(o, " · også: ") ||
	                    buf_append(o, p->also.data, p->also.len)))
		return HF_ENOMEM;
	if (buf_puts(o, "</p>\n"))
		return HF_ENOMEM;
	buf_clear(&p->also);
	if (pub_plain(it->summary && *it->summary ? it->summary : it->content,
	              PUBLISH_INDEX_SUMMARY, &p->also))
		return HF_ENOMEM;
	if (p->also.len && (buf_puts(o, "<p>") || esc(o, buf_str(&p->also)) ||
	                    buf_puts(o, "</p>\n")))
		return HF_ENOMEM;
	return buf_puts(o, "</article>\n");
}

static int section(struct page *p, const struct pub_feed *feed,
                   const char *id)
{
	int64_t ids[PUBLISH_INDEX_ITEMS];
	size_t n = 0;
	int rc;

	if (buf_puts(p->out, "<section id=\"") || esc(p->out, id) ||
	    buf_puts(p->out, "\">\n<h2>") || esc(p->out, feed->title) ||
	    buf_puts(p->out, " <small><a href=\"") || esc(p->out, feed->file) ||
	    buf_puts(p->out, "\">Atom</a></small></h2>\n"))
		return HF_ENOMEM;
	rc = pubdb_newest(p->db, feed->filter, feed->arg, PUBLISH_INDEX_ITEMS,
	                  ids, &n);
	if (rc)
		return rc;
	if (!n && buf_puts(p->out, "<p>Ingen saker ennå.</p>\n"))
		return HF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct pub_item it;
		if ((rc = pubdb_item(p->db, ids[i], &it)) || (rc = item(p, &it)))
			return rc;
	}
	return buf_puts(p->out, "</section>\n");
}

int pub_index_html(const struct config *cfg, struct pubdb *db,
                   const struct pub_feed *feeds, size_t nfeeds,
                   struct buf *out)
{
	struct page p = {cfg, db, out, BUF_INIT, NULL};
	const char *title = cfg->title ? cfg->title : "helsefeed";
	struct tz *tz = NULL;
	int rc = HF_ENOMEM;
	size_t i;

	buf_clear(out);
	if (buf_puts(out, "<!DOCTYPE html>\n<html lang=\"nb\">\n<head>\n"
	                  "<meta charset=\"utf-8\">\n"
	                  "<meta name=\"viewport\" content=\"width=device-width,"
	                  " initial-scale=1\">\n<title>") ||
	    esc(out, title) || buf_puts(out, "</title>\n"))
		goto out;
	/* Feed autodiscovery: readers given the page find every feed. */
	for (i = 0; i < nfeeds; i++)
		if (buf_puts(out, "<link rel=\"alternate\" type=\"application/atom+xml\""
		                  " title=\"") ||
		    esc(out, feeds[i].title) || buf_puts(out, "\" href=\"") ||
		    esc(out, feeds[i].file) || buf_puts(out, "\">\n"))
			goto out;
	if (buf_printf(out, "<style>%s</style>\n</head>\n<body>\n<header>\n<h1>",
	               css) ||
	    esc(out, title) || buf_puts(out, "</h1>\n<nav>"))
		goto out;
	for (i = 0; i < nfeeds; i++)
		if (buf_puts(out, "<a href=\"") || esc(out, feeds[i].file) ||
		    buf_puts(out, "\">") || esc(out, feeds[i].title) ||
		    buf_puts(out, "</a> "))
			goto out;
	if (buf_puts(out, "</nav>\n</header>\n<main>\n"))
		goto out;

	if ((rc = pub_tz_open(cfg->timezone, &tz)))
		goto out;
	p.tz = tz;
	/* The first feed is all.atom; then one section per category. */
	for (i = 0; i < nfeeds; i++) {
		if (feeds[i].filter == PUB_KIND)
			continue;
		rc = section(&p, &feeds[i],
		             feeds[i].filter == PUB_ALL ? "siste" : feeds[i].arg);
		if (rc)
			goto out;
	}
	rc = HF_ENOMEM;
	if (buf_puts(out, "</main>\n<footer><a href=\"status.html\">Status for"
	                  " kildene</a><a href=\"feeds.opml\">OPML</a>"
	                  "</footer>\n</body>\n</html>\n"))
		goto out;
	rc = 0;
out:
	tz_free(tz);
	buf_free(&p.also);
	return rc;
}
