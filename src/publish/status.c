/*
 * publish_status.c - status.html and status.json (every feed's health)
 * and feeds.opml (OPML 2.0, http://opml.org/spec2.opml).
 *
 * The status files depend on `now` only through the stale flags and the
 * digest groups' overdue flags, so they change when a feed's health or a
 * group's delivery does, not on every run.
 */
#include <string.h>

#include <libxml/xmlwriter.h>

#include "helsefeed/digest.h"
#include "helsefeed/json.h"
#include "helsefeed/limits.h"
#include "helsefeed/log.h"
#include "helsefeed/norm.h"
#include "publish_int.h"

#define X(s) ((const xmlChar *)(s))

int pub_feed_stale(const struct config *cfg, const struct store_feed_state *s,
                   int64_t now)
{
	int64_t after = cfg->stale_after > 0 ? cfg->stale_after : HF_STALE_AFTER_S;

	return s->failing_since && now - s->failing_since > after;
}

static const char *cfg_title(const struct config *cfg,
                             const struct store_feed_state *s)
{
	const struct config_feed *f = config_feed_find(cfg, s->name);

	return f && f->title ? f->title : s->name;
}

static const char *cfg_kind(const struct config *cfg,
                            const struct store_feed_state *s)
{
	const struct config_feed *f = config_feed_find(cfg, s->name);

	return config_kind_name(f ? f->kind : FEED_KIND_OTHER);
}

/* One word for the state of a feed, worst first. */
static const char *state_word(const struct config *cfg,
                              const struct store_feed_state *s, int64_t now)
{
	if (s->gone)
		return "gone";
	if (pub_feed_stale(cfg, s, now))
		return "stale";
	if (s->failures)
		return "failing";
	if (!s->last_success)
		return "never";
	return "ok";
}

/* --- status.json ------------------------------------------------------- */

static void jtime(struct json *j, const char *key, int64_t t)
{
	char iso[21];

	json_key(j, key);
	if (!t) {
		json_null(j);
		return;
	}
	norm_date_iso(t, iso);
	json_str(j, iso);
}

int pub_status_json(const struct config *cfg,
                    const struct store_feed_state *fs, size_t n, int64_t now,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out)
{
	struct buf advice = BUF_INIT;
	struct json j;
	int nok = 0, nfail = 0, nstale = 0, ngone = 0, rc;

	buf_clear(out);
	json_init_buf(&j, out);
	json_begin_object(&j);
	json_key(&j, "title");
	json_str(&j, cfg->title);
	json_key(&j, "feeds");
	json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &fs[i];
		const struct config_feed *cf = config_feed_find(cfg, s->name);
		int stale = pub_feed_stale(cfg, s, now);

		nok += !s->failures && s->last_success;
		nfail += s->failures > 0;
		nstale += stale;
		ngone += s->gone != 0;
		json_begin_object(&j);
		json_key(&j, "name");
		json_str(&j, s->name);
		json_key(&j, "title");
		json_str(&j, cfg_title(cfg, s));
		json_key(&j, "kind");
		json_str(&j, cfg_kind(cfg, s));
		json_key(&j, "url");
		json_str(&j, cf ? cf->url : s->url);
		json_key(&j, "state");
		json_str(&j, state_word(cfg, s, now));
		jtime(&j, "last_attempt", s->last_attempt);
		jtime(&j, "last_success", s->last_success);
		json_key(&j, "last_status");
		if (s->last_status)
			json_int(&j, s->last_status);
		else
			json_null(&j);
		json_key(&j, "last_error");
		json_str(&j, s->last_error);
		json_key(&j, "failures");
		json_int(&j, s->failures);
		jtime(&j, "failing_since", s->failing_since);
		json_key(&j, "stale");
		json_bool(&j, stale);
		json_key(&j, "gone");
		json_bool(&j, s->gone);
		json_key(&j, "moved_to");
		json_str(&j, s->moved_to);
		buf_clear(&advice);
		if (s->moved_to &&
		    buf_printf(&advice, "update feeds.conf: url = %s", s->moved_to)) {
			json_finish(&j);
			rc = HF_ENOMEM;
			goto out;
		}
		json_key(&j, "advice");
		json_str(&j, s->moved_to ? buf_str(&advice) : NULL);
		if (s->items >= 0) {
			json_key(&j, "items");
			json_int(&j, s->items);
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_key(&j, "summary");
	json_begin_object(&j);
	json_key(&j, "feeds");
	json_int(&j, (int64_t)n);
	json_key(&j, "ok");
	json_int(&j, nok);
	json_key(&j, "failing");
	json_int(&j, nfail);
	json_key(&j, "stale");
	json_int(&j, nstale);
	json_key(&j, "gone");
	json_int(&j, ngone);
	json_end_object(&j);
	digest_status_json(&j, dg, ndg);
	json_end_object(&j);
	rc = json_finish(&j);
	if (!rc)
		rc = buf_putc(out, '\n');
out:
	buf_free(&advice);
	return rc;
}

/* --- status.html ------------------------------------------------------- */

static const char status_css[] =
	"body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:60em;"
	"padding:0 1em}table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;"
	"vertical-align:top}.ok{color:#075}.failing,.never{color:#a60}"
	".stale,.gone{color:#b00;font-weight:bold}.err{font-size:.85em;"
	"color:#555;word-break:break-word}code{word-break:break-all}";

/* Norwegian labels of state_word. */
static const struct {
	const char *word, *label;
} state_labels[] = {
	{"ok", "OK"},
	{"failing", "feiler"},
	{"stale", "utdatert"},
	{"gone", "borte (410)"},
	{"never", "aldri hentet"},
};

static const char *state_label(const char *word)
{
	for (size_t i = 0; i < sizeof state_labels / sizeof state_labels[0]; i++)
		if (!strcmp(state_labels[i].word, word))
			return state_labels[i].label;
	return word;
}

static int put_time(struct buf *o, const struct tz *tz, int64_t t)
{
	char nb[32], iso[21];

	if (!t || pub_fmt_nb(tz, t, nb))
		return buf_puts(o, "–");
	norm_date_iso(t, iso);
	return buf_printf(o, "<time datetime=\"%s\">%s</time>", iso, nb);
}

static int cell_time(struct buf *o, const struct tz *tz, int64_t t)
{
	return buf_puts(o, "<td>") || put_time(o, tz, t) || buf_puts(o, "</td>") ?
	       HF_ENOMEM : 0;
}

static int status_row(const struct config *cfg, const struct tz *tz,
                      const struct store_feed_state *s, int64_t now,
                      struct buf *o)
{
	const struct config_feed *cf = config_feed_find(cfg, s->name);
	const char *word = state_word(cfg, s, now);

	if (buf_puts(o, "<tr id=\"feed-") || pub_html_text(s->name, o) ||
	    buf_puts(o, "\"><td><b>") || pub_html_text(cfg_title(cfg, s), o) ||
	    buf_puts(o, "</b><br><code>") ||
	    pub_html_text(cf ? cf->url : s->url, o) ||
	    buf_printf(o, "</code></td><td class=\"%s\">%s</td>", word,
	               state_label(word)) ||
	    cell_time(o, tz, s->last_success) || cell_time(o, tz, s->last_attempt))
		return HF_ENOMEM;
	if ((s->last_status ? buf_printf(o, "<td>%d</td>", s->last_status)
	                    : buf_puts(o, "<td>–</td>")) ||
	    buf_printf(o, "<td>%d</td><td class=\"err\">", s->failures) ||
	    pub_html_text(s->last_error, o))
		return HF_ENOMEM;
	if (s->failing_since && (buf_puts(o, s->last_error ? "<br>" : "") ||
	                         buf_puts(o, "feiler siden ") ||
	                         put_time(o, tz, s->failing_since)))
		return HF_ENOMEM;
	/* A permanent redirect is followed already; the admin should still
	 * fix the configuration so it survives a database reset. */
	if (s->moved_to &&
	    (buf_puts(o, "<br>Flyttet. update feeds.conf: url = <code>") ||
	     pub_html_text(s->moved_to, o) || buf_puts(o, "</code>")))
		return HF_ENOMEM;
	return buf_puts(o, "</td></tr>\n");
}

/*
 * The digest groups' section of status.html, on its own: a group's
 * state, last success, next send, the error of its last window and its
 * refused addresses (digest.h).
 */
static int status_digests_html(const struct tz *tz, const struct digest_group_status *v,
                               size_t n, struct buf *o)
{
	static const struct {
		const char *word, *label, *class;
	} words[] = {
		{"ok", "OK", "ok"},
		{"new", "ny, første sending kommer", "never"},
		{"failing", "feiler, prøves igjen", "failing"},
		{"rejected", "avvist av e-posttjeneren", "stale"},
		{"recipients", "mottaker avvist", "failing"},
		{"overdue", "forsinket", "stale"},
	};

	if (!n)
		return HF_OK;
	if (buf_puts(o, "<h2 id=\"digests\">E-postsammendrag</h2>\n<table>\n<thead><tr>"
	                "<th>Liste</th><th>Tilstand</th><th>Sist sendt</th>"
	                "<th>Neste</th><th>Merknad</th></tr></thead>\n<tbody>\n"))
		return HF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct digest_group_status *s = &v[i];
		const char *w = digest_status_word(s), *label = w, *cls = "failing";
		for (size_t k = 0; k < sizeof words / sizeof *words; k++)
			if (!strcmp(words[k].word, w)) {
				label = words[k].label;
				cls = words[k].class;
			}
		if (buf_puts(o, "<tr id=\"digest-") || pub_html_text(s->group->name, o) ||
		    buf_puts(o, "\"><td><b>") || pub_html_text(s->group->title, o) ||
		    buf_puts(o, "</b><br><code>") || pub_html_text(s->group->name, o) ||
		    buf_printf(o, "</code></td><td class=\"%s\">%s</td>", cls, label) ||
		    cell_time(o, tz, s->last_success) || cell_time(o, tz, s->next_due) ||
		    buf_puts(o, "<td class=\"err\">") || pub_html_text(s->last_error, o))
			return HF_ENOMEM;
		for (const char *p = s->recipients; p && *p;) {
			size_t len = strcspn(p, "\n");
			struct buf line = BUF_INIT;
			int rc = buf_append(&line, p, len) || buf_puts(o, "<br>") ||
			         pub_html_text(buf_str(&line), o);
			buf_free(&line);
			if (rc)
				return HF_ENOMEM;
			p += len + (p[len] == '\n');
		}
		if (buf_puts(o, "</td></tr>\n"))
			return HF_ENOMEM;
	}
	return buf_puts(o, "</tbody>\n</table>\n");
}

int pub_status_html(const struct config *cfg,
                    const struct store_feed_state *fs, size_t n, int64_t now,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out)
{
	const char *title = cfg->title ? cfg->title : "helsefeed";
	struct tz *tz = NULL;
	int rc;

	buf_clear(out);
	if (buf_puts(out, "<!DOCTYPE html>\n<html lang=\"nb\">\n<head>\n"
	                  "<meta charset=\"utf-8\">\n"
	                  "<meta name=\"viewport\" content=\"width=device-width,"
	                  " initial-scale=1\">\n<title>Status: ") ||
	    pub_html_text(title, out) ||
	    buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n"
	                    "<h1>Status for kildene</h1>\n<p><a href=\"index.html\">",
	               status_css) ||
	    pub_html_text(title, out) ||
	    buf_puts(out, "</a> · <a href=\"status.json\">JSON</a></p>\n"
	                  "<table>\n<thead><tr><th>Kilde</th><th>Tilstand</th>"
	                  "<th>Sist vellykket</th><th>Sist forsøkt</th>"
	                  "<th>HTTP</th><th>Feil på rad</th>"
	                  "<th>Merknad</th></tr></thead>\n<tbody>\n"))
		return HF_ENOMEM;
	if ((rc = pub_tz_open(cfg->timezone, &tz)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++)
		rc = status_row(cfg, tz, &fs[i], now, out);
	if (!rc)
		rc = buf_puts(out, "</tbody>\n</table>\n");
	if (!rc)
		rc = status_digests_html(tz, dg, ndg, out);
	tz_free(tz);
	if (!rc)
		rc = buf_puts(out, "</body>\n</html>\n");
	return rc;
}

/* --- feeds.opml -------------------------------------------------------- */

/* scheme://authority/ of an http(s) URL: the site a source belongs to. */
static int site_of(const char *url, struct buf *out)
{
	const char *h;

	if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
		return 0;
	h = strstr(url, "://") + 3;
	if (buf_append(out, url, (size_t)(h - url) + strcspn(h, "/?#")))
		return HF_ENOMEM;
	return buf_putc(out, '/');
}

struct ow {
	xmlTextWriterPtr w;
	struct buf tmp;
	int xerr;
};

static int ow_attr(struct ow *o, const char *name, const char *v)
{
	buf_clear(&o->tmp);
	if (pub_xml_clean(v, &o->tmp))
		return HF_ENOMEM;
	if (xmlTextWriterWriteAttribute(o->w, X(name), X(buf_str(&o->tmp))) < 0)
		o->xerr = 1;
	return 0;
}

/* OPML 2.0: type="rss" is what readers expect for any feed, Atom too. */
static int outline(struct ow *o, const char *title, const char *xml,
                   const char *html)
{
	if (xmlTextWriterStartElement(o->w, X("outline")) < 0)
		o->xerr = 1;
	if (ow_attr(o, "type", "rss") || ow_attr(o, "text", title) ||
	    ow_attr(o, "title", title) || ow_attr(o, "xmlUrl", xml) ||
	    (html && *html && ow_attr(o, "htmlUrl", html)))
		return HF_ENOMEM;
	if (xmlTextWriterEndElement(o->w) < 0)
		o->xerr = 1;
	return 0;
}

static int group(struct ow *o, const char *title)
{
	if (xmlTextWriterStartElement(o->w, X("outline")) < 0)
		o->xerr = 1;
	return ow_attr(o, "text", title) || ow_attr(o, "title", title) ?
	       HF_ENOMEM : 0;
}

int pub_opml(const struct config *cfg, const struct pub_feed *feeds,
             size_t nfeeds, struct buf *out)
{
	struct ow o = {NULL, BUF_INIT, 0};
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *title = cfg->title ? cfg->title : "helsefeed";
	xmlBufferPtr xb = xmlBufferCreate();
	int rc = HF_ENOMEM;
	size_t i;

	if (!xb || !(o.w = xmlNewTextWriterMemory(xb, 0)))
		goto out;
	if (xmlTextWriterSetIndent(o.w, 1) < 0 ||
	    xmlTextWriterSetIndentString(o.w, X(" ")) < 0 ||
	    xmlTextWriterStartDocument(o.w, "1.0", "utf-8", NULL) < 0 ||
	    xmlTextWriterStartElement(o.w, X("opml")) < 0 ||
	    xmlTextWriterWriteAttribute(o.w, X("version"), X("2.0")) < 0 ||
	    xmlTextWriterStartElement(o.w, X("head")) < 0)
		o.xerr = 1;
	buf_clear(&o.tmp);
	if (pub_xml_clean(title, &o.tmp))
		goto out;
	if (xmlTextWriterWriteElement(o.w, X("title"), X(buf_str(&o.tmp))) < 0 ||
	    xmlTextWriterWriteElement(o.w, X("docs"),
	                              X("http://opml.org/spec2.opml")) < 0 ||
	    xmlTextWriterEndElement(o.w) < 0 ||
	    xmlTextWriterStartElement(o.w, X("body")) < 0)
		o.xerr = 1;

	if (group(&o, "Kilder"))
		goto out;
	for (i = 0; i < cfg->nfeeds; i++) {
		const struct config_feed *f = &cfg->feeds[i];
		buf_clear(&a);
		if (site_of(f->url, &a) ||
		    outline(&o, f->title ? f->title : f->name, f->url, buf_str(&a)))
			goto out;
	}
	if (xmlTextWriterEndElement(o.w) < 0)
		o.xerr = 1;

	if (group(&o, title))
		goto out;
	buf_clear(&b);
	if (buf_printf(&b, "%sindex.html", cfg->base_url))
		goto out;
	for (i = 0; i < nfeeds; i++) {
		buf_clear(&a);
		if (buf_printf(&a, "%s%s", cfg->base_url, feeds[i].file) ||
		    outline(&o, feeds[i].title, buf_str(&a), buf_str(&b)))
			goto out;
	}
	if (xmlTextWriterEndDocument(o.w) < 0 || xmlTextWriterFlush(o.w) < 0)
		o.xerr = 1;
	if (o.xerr) {
		log_error("feeds.opml: the XML writer failed");
		rc = HF_ERR;
		goto out;
	}
	buf_clear(out);
	rc = buf_append(out, (const char *)xmlBufferContent(xb),
	                (size_t)xmlBufferLength(xb));
out:
	if (o.w)
		xmlFreeTextWriter(o.w);
	if (xb)
		xmlBufferFree(xb);
	buf_free(&o.tmp);
	buf_free(&a);
	buf_free(&b);
	return rc;
}
