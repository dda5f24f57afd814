/*
 * html.c - the pages for people: index.html, one page per category
 * (tema/) and per kind of source (kjelde/), the monthly archive
 * (arkiv/).  Every page has the same frame: the menu grouped "Tema" and
 * "Avsendere", a subscribe link to the page's own feed, the time it was
 * made.  No script, nothing loaded from elsewhere, readable on a phone.
 * Every value is escaped on the way out (sanitize_escape); summaries are
 * plain text, so no markup from a feed reaches a page at all.  Dates are
 * in the configured zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"
#include "publish_int.h"

/* Small, inline, system fonts: nothing to fetch.  The menu wraps on a
 * narrow screen; long words and URLs break instead of widening it. */
static const char css[] =
	"body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:46em;"
	"padding:0 1em;color:#1b1b1b;background:#fff;overflow-wrap:break-word}"
	"header{border-bottom:2px solid #0b5;padding:.6em 0}"
	".site{font-weight:bold;font-size:1.15em;margin:0 0 .3em}"
	".site a{color:inherit;text-decoration:none}"
	"nav div{display:flex;flex-wrap:wrap;align-items:baseline;"
	"gap:.1em .8em;margin:.15em 0}"
	"nav .label{color:#555;font-size:.8em;text-transform:uppercase;"
	"letter-spacing:.05em;min-width:7.5em}"
	"nav ul{display:flex;flex-wrap:wrap;gap:.1em .8em;list-style:none;"
	"margin:0;padding:0}nav a.here{font-weight:bold;color:#1b1b1b;"
	"text-decoration:none}"
	"h1{font-size:1.5em;margin:.6em 0 .2em}"
	"h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;"
	"margin-top:1.6em}h3{font-size:1em;margin:0}"
	"a{color:#05a}.item{margin:.9em 0}.meta{color:#555;font-size:.85em;"
	"margin:.1em 0}.item p{margin:.2em 0}"
	".sub{font-size:.9em;color:#555;margin:.2em 0 1em}"
	".subscribe{display:inline-block;background:#eef6f1;border:1px solid #9cb;"
	"border-radius:.3em;padding:.05em .5em;text-decoration:none}"
	".months{columns:12em}.more{margin:1.2em 0}"
	"footer{border-top:1px solid #ccc;margin:2em 0;padding-top:.5em;"
	"font-size:.85em}footer a{margin-right:.8em}"
	"@media (max-width:40em){nav .label{width:100%}}";

static int esc(struct buf *out, const char *s)
{
	return pub_html_text(s, out);
}

/* One group of the menu: the pages of `group`. */
static int nav_group(const struct pub_site *site, struct buf *out,
                     const char *root, enum pub_group group,
                     const char *label, const char *here)
{
	int any = 0;

	for (size_t i = 0; i < site->nfeeds; i++) {
		const struct pub_feed *f = &site->feeds[i];
		if (f->group != group || f->legacy)
			continue;
		if (!any && (buf_puts(out, "<div><span class=\"label\">") ||
		             esc(out, label) || buf_puts(out, "</span><ul>")))
			return HF_ENOMEM;
		any = 1;
		if (buf_printf(out, "<li><a href=\"%s", root) || esc(out, f->page) ||
		    buf_puts(out, here && !strcmp(here, f->page) ?
		             "\" class=\"here\">" : "\">") ||
		    esc(out, f->title) || buf_puts(out, "</a></li>"))
			return HF_ENOMEM;
	}
	return any && buf_puts(out, "</ul></div>\n") ? HF_ENOMEM : 0;
}

/* The "made" stamp: pub_write_page finds it by PUB_MADE_OPEN. */
static int made(const struct pub_site *site, struct buf *out)
{
	char iso[21], nb[32];

	norm_date_iso(site->now, iso);
	if (pub_fmt_nb(site->tz, site->now, nb))
		nb[0] = '\0';
	return buf_printf(out, "Laget " PUB_MADE_OPEN "%s\">%s" PUB_MADE_CLOSE,
	                  iso, nb);
}

int pub_page_begin(const struct pub_site *site, struct buf *out,
                   const char *root, const char *title, const char *here,
                   const struct pub_feed *feed, const char *extra_css)
{
	const char *site_title = site->cfg->title ? site->cfg->title : "helsefeed";
	int is_index = here && !strcmp(here, "index.html");

	buf_clear(out);
	if (buf_puts(out, "<!DOCTYPE html>\n<html lang=\"nb\">\n<head>\n"
	                  "<meta charset=\"utf-8\">\n"
	                  "<meta name=\"viewport\" content=\"width=device-width,"
	                  " initial-scale=1\">\n<title>") ||
	    esc(out, title) ||
	    (!is_index && (buf_puts(out, " – ") || esc(out, site_title))) ||
	    buf_puts(out, "</title>\n"))
		return HF_ENOMEM;
	/* Feed autodiscovery: a reader given the page finds its feed; the
	 * front page offers every one. */
	for (size_t i = 0; i < site->nfeeds; i++) {
		const struct pub_feed *f = &site->feeds[i];
		if (f->legacy || (!is_index && f != feed))
			continue;
		if (buf_puts(out, "<link rel=\"alternate\" type=\"application/atom+xml\""
		                  " title=\"") ||
		    esc(out, f->title) || buf_printf(out, "\" href=\"%s", root) ||
		    esc(out, f->file) || buf_puts(out, "\">\n"))
			return HF_ENOMEM;
	}
	if (buf_printf(out, "<style>%s%s</style>\n</head>\n<body>\n<header>\n"
	                    "<p class=\"site\"><a href=\"%sindex.html\">",
	               css, extra_css ? extra_css : "", root) ||
	    esc(out, site_title) ||
	    buf_puts(out, "</a></p>\n<nav aria-label=\"Meny\">\n"))
		return HF_ENOMEM;
	if (nav_group(site, out, root, PUB_GROUP_TOPIC, "Tema", here) ||
	    nav_group(site, out, root, PUB_GROUP_KIND, "Avsendere", here))
		return HF_ENOMEM;
	if (buf_printf(out, "<div><span class=\"label\">Mer</span><ul>"
	                    "<li><a href=\"%sindex.html\"%s>Forsiden</a></li>"
	                    "<li><a href=\"%sarkiv/index.html\"%s>Arkiv</a></li>"
	                    "<li><a href=\"%sstatus.html\"%s>Status</a></li>"
	                    "</ul></div>\n</nav>\n</header>\n<main>\n<h1>",
	               root, is_index ? " class=\"here\"" : "",
	               root, here && !strcmp(here, "arkiv/index.html") ?
	               " class=\"here\"" : "",
	               root, here && !strcmp(here, "status.html") ?
	               " class=\"here\"" : "") ||
	    esc(out, title) || buf_puts(out, "</h1>\n<p class=\"sub\">"))
		return HF_ENOMEM;
	if (feed && (buf_printf(out, "<a class=\"subscribe\" type=\"application/"
	                             "atom+xml\" href=\"%s", root) ||
	             esc(out, feed->file) ||
	             buf_puts(out, "\">Abonner (Atom)</a> · ")))
		return HF_ENOMEM;
	if (made(site, out) || buf_puts(out, "</p>\n"))
		return HF_ENOMEM;
	return 0;
}

int pub_page_end(const struct pub_site *site, struct buf *out,
                 const char *root)
{
	(void)site;
	return buf_printf(out, "</main>\n<footer><a href=\"%sstatus.html\">Status"
	                       " for kildene</a><a href=\"%sfeeds.opml\">Alle "
	                       "strømmene (OPML)</a><a href=\"%sarkiv/index.html\">"
	                       "Arkiv</a></footer>\n</body>\n</html>\n",
	                  root, root, root);
}

/* --- items ------------------------------------------------------------- */

struct page {
	const struct pub_site *site;
	struct buf *out;
	struct fs_atomic *sink;   /* where out goes as it fills, or NULL */
	struct buf also;       /* the other sources of one item, linked */
	struct buf cats;       /* the titles of its categories */
};

static int also_cb(void *ud, const char *name, const char *title,
                   const char *link)
{
	struct page *p = ud;
	const struct config_feed *f = config_feed_find(p->site->cfg, name);

	if (p->also.len && buf_puts(&p->also, ", "))
		return HF_ENOMEM;
	if (pub_web_url(link) && (buf_puts(&p->also, "<a href=\"") ||
	                          esc(&p->also, link) || buf_puts(&p->also, "\">")))
		return HF_ENOMEM;
	if (esc(&p->also, f && f->title ? f->title : title ? title : name))
		return HF_ENOMEM;
	return pub_web_url(link) ? buf_puts(&p->also, "</a>") : 0;
}

static int cat_cb(void *ud, const char *name)
{
	struct page *p = ud;
	const struct config_category *c = config_category_find(p->site->cfg, name);

	if (!c)
		return 0;
	if (p->cats.len && buf_puts(&p->cats, ", "))
		return HF_ENOMEM;
	return esc(&p->cats, c->title ? c->title : c->name);
}

static int enc_cb(void *ud, const char *url, const char *type, int64_t length)
{
	struct page *p = ud;
	const char *slash = strrchr(url, '/');

	(void)type;
	(void)length;
	if (!pub_web_url(url))
		return 0;
	if (buf_puts(p->out, p->also.len ? ", " : "<p class=\"meta\">Vedlegg: ") ||
	    buf_puts(p->out, "<a href=\"") || esc(p->out, url) ||
	    buf_puts(p->out, "\">") ||
	    esc(p->out, slash && slash[1] ? slash + 1 : url) ||
	    buf_puts(p->out, "</a>") || buf_putc(&p->also, '.'))
		return HF_ENOMEM;
	return 0;
}

/* One story: title (linked), source, time, other sources, categories,
 * a plain-text lead, enclosures.  data-id is the id `helsefeed items
 * show` takes. */
static int item(struct page *p, const struct pub_item *it, int cats)
{
	const struct config_feed *f = config_feed_find(p->site->cfg, it->feed_name);
	const char *src = f && f->title ? f->title :
	                  it->feed_title ? it->feed_title : it->feed_name;
	int64_t t = pub_item_published(it);
	struct buf *o = p->out;
	char iso[21], nb[32];
	int rc;

	buf_clear(&p->also);
	rc = pubdb_sources(p->site->db, it->id, it->feed_id, also_cb, p);
	if (rc)
		return rc;
	norm_date_iso(t, iso);
	if (pub_fmt_nb(p->site->tz, t, nb))
		nb[0] = '\0';
	if (buf_printf(o, "<article class=\"item\" data-id=\"%lld\">\n<h3>",
	               (long long)it->id))
		return HF_ENOMEM;
	if (pub_web_url(it->link) &&
	    (buf_puts(o, "<a href=\"") || esc(o, it->link) || buf_puts(o, "\">")))
		return HF_ENOMEM;
	if (esc(o, it->title && *it->title ? it->title : "(uten tittel)") ||
	    (pub_web_url(it->link) && buf_puts(o, "</a>")) ||
	    buf_puts(o, "</h3>\n<p class=\"meta\">") || esc(o, src) ||
	    buf_printf(o, " · <time datetime=\"%s\">", iso) || esc(o, nb) ||
	    buf_puts(o, "</time>"))
		return HF_ENOMEM;
	buf_clear(&p->cats);
	if (cats && (rc = pubdb_categories(p->site->db, it->id, cat_cb, p)))
		return rc;
	if (p->cats.len && (buf_puts(o, " · ") ||
	                    buf_append(o, p->cats.data, p->cats.len)))
		return HF_ENOMEM;
	if (buf_puts(o, "</p>\n"))
		return HF_ENOMEM;
	/* Every other publisher of the story, with its own link. */
	if (p->also.len && (buf_puts(o, "<p class=\"also\">Også omtalt av: ") ||
	                    buf_append(o, p->also.data, p->also.len) ||
	                    buf_puts(o, "</p>\n")))
		return HF_ENOMEM;
	buf_clear(&p->also);
	if ((rc = pub_correction_note(p->site->tz, it, o)) ||
	    (it->corrected != HF_NOTIME && (rc = buf_putc(o, '\n'))))
		return rc;
	if (pub_plain(it->summary && *it->summary ? it->summary : it->content,
	              PUBLISH_INDEX_SUMMARY, &p->also))
		return HF_ENOMEM;
	if (p->also.len && (buf_puts(o, "<p>") || esc(o, buf_str(&p->also)) ||
	                    buf_puts(o, "</p>\n")))
		return HF_ENOMEM;
	/* p->also counts the enclosures written: the first opens the line. */
	buf_clear(&p->also);
	if ((rc = pubdb_enclosures(p->site->db, it->id, enc_cb, p)))
		return rc;
	if (p->also.len && buf_puts(o, "</p>\n"))
		return HF_ENOMEM;
	return buf_puts(o, "</article>\n");
}

static int items(struct page *p, const int64_t *ids, size_t n, int cats)
{
	int rc;

	if (!n && buf_puts(p->out, "<p>Ingen saker ennå.</p>\n"))
		return HF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct pub_item it;
		if ((rc = pubdb_item(p->site->db, ids[i], &it)) ||
		    (rc = item(p, &it, cats)))
			return rc;
		if (p->sink && p->out->len >= PUB_STREAM_CHUNK) {
			if ((rc = fs_atomic_write(p->sink, p->out->data, p->out->len)))
				return rc;
			buf_clear(p->out);
		}
	}
	return 0;
}

/* --- index.html -------------------------------------------------------- */

static int section(struct page *p, const struct pub_feed *feed, const char *id)
{
	int64_t ids[PUBLISH_INDEX_ITEMS];
	size_t n = 0;
	int rc;

	if (buf_puts(p->out, "<section id=\"") || esc(p->out, id) ||
	    buf_puts(p->out, "\">\n<h2>"))
		return HF_ENOMEM;
	if (feed->group == PUB_GROUP_ALL ?
	    buf_puts(p->out, "Siste saker") :
	    (buf_puts(p->out, "<a href=\"") || esc(p->out, feed->page) ||
	     buf_puts(p->out, "\">") || esc(p->out, feed->title) ||
	     buf_puts(p->out, "</a>")))
		return HF_ENOMEM;
	if (buf_puts(p->out, "</h2>\n"))
		return HF_ENOMEM;
	rc = pubdb_newest(p->site->db, feed->filter, feed->arg,
	                  PUBLISH_INDEX_ITEMS, ids, &n);
	if (rc || (rc = items(p, ids, n, feed->group == PUB_GROUP_ALL)))
		return rc;
	if (feed->group != PUB_GROUP_ALL && n &&
	    (buf_puts(p->out, "<p class=\"more\"><a href=\"") ||
	     esc(p->out, feed->page) || buf_puts(p->out, "\">Flere saker om ") ||
	     esc(p->out, feed->title) || buf_puts(p->out, "</a> · <a href=\"") ||
	     esc(p->out, feed->file) ||
	     buf_puts(p->out, "\" type=\"application/atom+xml\">Abonner (Atom)"
	                      "</a></p>\n")))
		return HF_ENOMEM;
	return buf_puts(p->out, "</section>\n");
}

int pub_index_html(const struct pub_site *site, struct buf *out)
{
	struct page p = {site, out, NULL, BUF_INIT, BUF_INIT};
	const char *title = site->cfg->title ? site->cfg->title : "helsefeed";
	int rc;

	if ((rc = pub_page_begin(site, out, "", title, "index.html",
	                         &site->feeds[0], NULL)))
		goto out;
	/* The first feed is all.atom; then one section per category. */
	for (size_t i = 0; i < site->nfeeds && !rc; i++) {
		const struct pub_feed *f = &site->feeds[i];
		if (f->legacy || f->group == PUB_GROUP_KIND)
			continue;
		rc = section(&p, f, f->group == PUB_GROUP_ALL ? "siste" : f->arg);
	}
	if (!rc)
		rc = pub_page_end(site, out, "");
out:
	buf_free(&p.also);
	buf_free(&p.cats);
	return rc;
}

/* --- tema/NAME.html, kjelde/KIND.html ---------------------------------- */

int pub_list_html(const struct pub_site *site, const struct pub_feed *feed,
                  struct buf *out)
{
	struct page p = {site, out, NULL, BUF_INIT, BUF_INIT};
	int64_t ids[PUBLISH_PAGE_ITEMS];
	size_t n = 0;
	int rc;

	if ((rc = pub_page_begin(site, out, "../", feed->title, feed->page, feed,
	                         NULL)) ||
	    (rc = pubdb_newest(site->db, feed->filter, feed->arg,
	                       PUBLISH_PAGE_ITEMS, ids, &n)) ||
	    (rc = items(&p, ids, n, feed->group == PUB_GROUP_KIND)))
		goto out;
	rc = HF_ENOMEM;
	if (n == PUBLISH_PAGE_ITEMS &&
	    buf_puts(out, "<p class=\"more\">Eldre saker står i <a href=\"../arkiv/"
	                  "index.html\">arkivet</a>.</p>\n"))
		goto out;
	rc = pub_page_end(site, out, "../");
out:
	buf_free(&p.also);
	buf_free(&p.cats);
	return rc;
}

/* --- arkiv/ ------------------------------------------------------------ */

int pub_month_html(const struct pub_site *site, const struct pub_month *months,
                   size_t nmonths, size_t which, const int64_t *ids,
                   size_t nids, uint64_t sig, struct fs_atomic *sink,
                   struct buf *out)
{
	struct page p = {site, out, sink, BUF_INIT, BUF_INIT};
	char name[32], file[16], title[64];
	int rc;

	pub_month_name(months[which].ym, name);
	snprintf(title, sizeof title, "Arkiv: %s", name);
	if ((rc = pub_page_begin(site, out, "../", title, NULL, NULL, NULL)))
		goto out;
	rc = HF_ENOMEM;
	/* After "<!DOCTYPE html>\n": where publish.c looks for it. */
	{
		char line[64];
		int len = snprintf(line, sizeof line, PUB_SIG "%016llx -->\n",
		                   (unsigned long long)sig);
		const char *nl = memchr(out->data, '\n', out->len);
		size_t at = nl ? (size_t)(nl - out->data) + 1 : 0;
		if (buf_reserve(out, (size_t)len))
			goto out;
		memmove(out->data + at + len, out->data + at, out->len - at + 1);
		memcpy(out->data + at, line, (size_t)len);
		out->len += (size_t)len;
	}
	if (buf_printf(out, "<p>%zu %s.", nids, nids == 1 ? "sak" : "saker"))
		goto out;
	/* months[] is newest first: which + 1 is the month before. */
	if (which + 1 < nmonths) {
		pub_month_file(months[which + 1].ym, file);
		pub_month_name(months[which + 1].ym, name);
		if (buf_printf(out, " <a rel=\"prev\" href=\"%s.html\">← %s</a>",
		               file, name))
			goto out;
	}
	if (which > 0) {
		pub_month_file(months[which - 1].ym, file);
		pub_month_name(months[which - 1].ym, name);
		if (buf_printf(out, " <a rel=\"next\" href=\"%s.html\">%s →</a>",
		               file, name))
			goto out;
	}
	if (buf_puts(out, "</p>\n"))
		goto out;
	if ((rc = items(&p, ids, nids, 1)))
		goto out;
	rc = pub_page_end(site, out, "../");
out:
	buf_free(&p.also);
	buf_free(&p.cats);
	return rc;
}

int pub_archive_index_html(const struct pub_site *site,
                           const struct pub_month *months, size_t nmonths,
                           struct buf *out)
{
	char name[32], file[16];
	int64_t year = -1;
	int rc;

	if ((rc = pub_page_begin(site, out, "../", "Arkiv", "arkiv/index.html",
	                         NULL, NULL)))
		return rc;
	if (buf_puts(out, "<p>Alle saker vi har publisert, måned for måned. "
	                  "Nyhetsstrømmen <a href=\"../all.atom\">all.atom</a> "
	                  "peker til arkivet sitt (RFC 5005).</p>\n"))
		return HF_ENOMEM;
	if (!nmonths && buf_puts(out, "<p>Ingen saker ennå.</p>\n"))
		return HF_ENOMEM;
	for (size_t i = 0; i < nmonths; i++) {
		if (months[i].ym / 12 != year) {
			if (year >= 0 && buf_puts(out, "</ul>\n"))
				return HF_ENOMEM;
			year = months[i].ym / 12;
			if (buf_printf(out, "<h2>%lld</h2>\n<ul class=\"months\">\n",
			               (long long)year))
				return HF_ENOMEM;
		}
		pub_month_file(months[i].ym, file);
		pub_month_name(months[i].ym, name);
		if (buf_printf(out, "<li><a href=\"%s.html\">%s</a> (%zu)</li>\n",
		               file, name, months[i].n))
			return HF_ENOMEM;
	}
	if (year >= 0 && buf_puts(out, "</ul>\n"))
		return HF_ENOMEM;
	return pub_page_end(site, out, "../");
}
