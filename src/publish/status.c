/*
 * status.c - the health of the feeds as admins read it: status.html,
 * status.json (one schema, shared with `helsefeed status --json`), the
 * summary line of `status --check`, and feeds.opml (OPML 2.0,
 * http://opml.org/spec2.opml).
 *
 * The status files say when they were generated, so they change on
 * every run; problems come first.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "helsefeed/digest.h"
#include "helsefeed/util.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"
#include "publish_int.h"

#define X(s) ((const xmlChar *)(s))

/* --- health ------------------------------------------------------------ */

/* The states, worst first: the order of the page and of the summary's
 * problems. */
static const struct {
	const char *state, *label;
} states[] = {
	{"gone", "borte"},
	{"failing", "feiler"},
	{"moved", "flyttet"},
	{"silent", "stille"},
	{"never", "aldri hentet"},
	{"ok", "OK"},
};
#define NSTATES (sizeof states / sizeof states[0])

static size_t state_index(const char *state)
{
	size_t i;

	for (i = 0; i < NSTATES - 1 && strcmp(states[i].state, state); i++)
		;
	return i;
}

void publish_feed_health(const struct config *cfg,
                         const struct store_feed_state *s, int64_t now,
                         struct publish_health *out)
{
	int64_t stale = cfg->stale_after > 0 ? cfg->stale_after : HF_STALE_AFTER_S;
	int64_t quiet = cfg->silent_after > 0 ? cfg->silent_after : HF_SILENT_AFTER_S;
	size_t k;

	memset(out, 0, sizeof *out);
	out->stale = s->failures > 0 && s->failing_since &&
	             now - s->failing_since > stale;
	/* Answers, but nothing new: the publisher may have moved its news
	 * to another feed without a redirect. */
	out->silent = s->last_success && s->last_new &&
	              now - s->last_new > quiet;
	if (s->gone) {
		k = 0;
		out->severity = PUBLISH_CRITICAL;
	} else if (s->failures) {
		k = 1;
		out->severity = out->stale ? PUBLISH_CRITICAL : PUBLISH_WARNING;
	} else if (s->moved_to) {
		k = 2;
		out->severity = PUBLISH_WARNING;
	} else if (out->silent) {
		k = 3;
		out->severity = PUBLISH_WARNING;
	} else if (!s->last_success) {
		k = 4;
		out->severity = PUBLISH_WARNING;
	} else {
		k = 5;
		out->severity = PUBLISH_OK;
	}
	out->state = states[k].state;
	out->label = states[k].label;
}

/* "23.05.2022 kl. 10:00" in the configured zone, "?" when it cannot be
 * shown. */
static void local_time(const struct tz *tz, int64_t t, char out[32])
{
	if (!tz || pub_fmt_nb(tz, t, out))
		strcpy(out, "?");
}

static int advice(const struct config *cfg, const struct tz *tz,
                  const struct store_feed_state *s, int64_t now,
                  struct buf *out)
{
	struct publish_health h;
	char a[32], b[32];
	int rc = 0;

	publish_feed_health(cfg, s, now, &h);
	if (s->gone)
		rc = buf_printf(out, "Tjeneren svarer 410 Gone: kilden hentes ikke "
		                "lenger. Rett url i feeds.conf, eller prøv igjen med "
		                "«helsefeed fetch %s».", s->name);
	else if (s->failures) {
		local_time(tz, s->failing_since, a);
		rc = buf_printf(out, "Feiler siden %s%s.", a,
		                h.stale ? ", lenger enn stale_after" : "");
		if (!rc && s->retry_after > now) {
			local_time(tz, s->retry_after, b);
			rc = buf_printf(out, " Tjeneren ba om å vente (Retry-After) til %s.",
			                b);
		} else if (!rc && s->next_fetch) {
			local_time(tz, s->next_fetch, b);
			rc = buf_printf(out, " Neste forsøk %s.", b);
		}
		if (!rc)
			rc = buf_puts(out, " Sjekk adressen i en nettleser; varer feilen, "
			              "rett url i feeds.conf.");
	}
	if (!rc && s->moved_to)
		rc = buf_printf(out, "%sFlyttet permanent: sett url = %s i feeds.conf.",
		                out->len ? " " : "", s->moved_to);
	if (!rc && h.silent) {
		local_time(tz, s->last_new, a);
		rc = buf_printf(out, "%sSvarer, men ingen nye saker siden %s: sjekk om "
		                "kilden har fått en ny nyhetsstrøm.",
		                out->len ? " " : "", a);
	}
	if (!rc && !s->last_success && !s->failures && !s->gone)
		rc = buf_printf(out, "Ikke hentet ennå: «helsefeed fetch %s» henter den "
		                "nå.", s->name);
	return rc ? HF_ENOMEM : 0;
}

int publish_feed_advice(const struct config *cfg,
                        const struct store_feed_state *s, int64_t now,
                        struct buf *out)
{
	struct tz *tz = NULL;
	int rc;

	/* A zone that cannot be read shows "?" for dates: advice still. */
	if (pub_tz_open(cfg->timezone, &tz) == HF_ENOMEM)
		return HF_ENOMEM;
	rc = advice(cfg, tz, s, now, out);
	tz_free(tz);
	return rc;
}

struct sort_ctx {
	const struct config *cfg;
	int64_t now;
};

static int cmp_health(const void *pa, const void *pb, void *ud)
{
	const struct store_feed_state *a = pa, *b = pb;
	const struct sort_ctx *c = ud;
	struct publish_health ha, hb;

	publish_feed_health(c->cfg, a, c->now, &ha);
	publish_feed_health(c->cfg, b, c->now, &hb);
	if (ha.severity != hb.severity)
		return ha.severity > hb.severity ? -1 : 1;
	if (state_index(ha.state) != state_index(hb.state))
		return state_index(ha.state) < state_index(hb.state) ? -1 : 1;
	return strcmp(a->name, b->name);
}

void publish_status_sort(const struct config *cfg, struct store_feed_state *v,
                         size_t n, int64_t now)
{
	struct sort_ctx c = {cfg, now};

	if (n > 1)
		qsort_r(v, n, sizeof *v, cmp_health, &c);
}

/* Feeds per state (states[] order) and the worst severity. */
static enum publish_severity count(const struct config *cfg,
                                   const struct store_feed_state *v, size_t n,
                                   int64_t now, size_t per[NSTATES])
{
	enum publish_severity worst = PUBLISH_OK;

	memset(per, 0, NSTATES * sizeof *per);
	for (size_t i = 0; i < n; i++) {
		struct publish_health h;
		publish_feed_health(cfg, &v[i], now, &h);
		per[state_index(h.state)]++;
		if (h.severity > worst)
			worst = h.severity;
	}
	return worst;
}

int publish_status_summary(const struct config *cfg,
                           const struct store_feed_state *v, size_t n,
                           int64_t now, struct buf *out,
                           enum publish_severity *severity)
{
	size_t per[NSTATES];
	enum publish_severity worst = count(cfg, v, n, now, per);

	/* OK first, then the problems worst first. */
	if (buf_printf(out, "%zu OK", per[NSTATES - 1]))
		return HF_ENOMEM;
	for (size_t k = 0; k < NSTATES - 1; k++)
		if (per[k] && buf_printf(out, " · %zu %s", per[k], states[k].label))
			return HF_ENOMEM;
	if (severity)
		*severity = worst;
	return 0;
}

static const char *const severity_names[] = {"ok", "warning", "critical"};

/* --- status.json ------------------------------------------------------- */

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

/* The feed's URL as the public may see it: a web URL, never a path. */
static const char *public_url(const struct config *cfg,
                              const struct store_feed_state *s)
{
	const struct config_feed *f = config_feed_find(cfg, s->name);
	const char *u = f ? f->url : s->url;

	return pub_web_url(u) ? u : NULL;
}

/* The last error as the public may read it: a file:// URL in it (the
 * offline sample) is a path on this machine and becomes "[lokal fil]". */
static int public_error(const char *e, struct buf *out)
{
	const char *p;

	buf_clear(out);
	if (!e)
		return 0;
	while ((p = strstr(e, "file://"))) {
		const char *end = p + 7;
		while (*end && *end != ' ' && !(end[0] == ':' && end[1] == ' '))
			end++;
		if (buf_append(out, e, (size_t)(p - e)) || buf_puts(out, "[lokal fil]"))
			return HF_ENOMEM;
		e = end;
	}
	return buf_puts(out, e);
}

int publish_status_json(const struct config *cfg,
                        const struct store_feed_state *v, size_t n, int64_t now,
                        const struct digest_group_status *dg, size_t ndg,
                        struct buf *out)
{
	struct buf text = BUF_INIT;
	struct tz *tz = NULL;
	struct json j;
	size_t per[NSTATES];
	enum publish_severity worst;
	int rc;

	if ((rc = pub_tz_open(cfg->timezone, &tz)))
		return rc;
	worst = count(cfg, v, n, now, per);
	if ((rc = publish_status_summary(cfg, v, n, now, &text, NULL)))
		goto out;
	buf_clear(out);
	json_init_buf(&j, out);
	json_begin_object(&j);
	json_key(&j, "schema");
	json_int(&j, 1);
	json_key(&j, "title");
	json_str(&j, cfg->title);
	json_time(&j, "generated", now, 0);
	json_key(&j, "summary");
	json_begin_object(&j);
	json_key(&j, "text");
	json_str(&j, buf_str(&text));
	json_key(&j, "severity");
	json_str(&j, severity_names[worst]);
	json_key(&j, "feeds");
	json_int(&j, (int64_t)n);
	for (size_t k = 0; k < NSTATES; k++) {
		json_key(&j, states[k].state);
		json_int(&j, (int64_t)per[k]);
	}
	json_end_object(&j);
	json_key(&j, "feeds");
	json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		struct publish_health h;

		publish_feed_health(cfg, s, now, &h);
		json_begin_object(&j);
		json_key(&j, "name");
		json_str(&j, s->name);
		json_key(&j, "title");
		json_str(&j, cfg_title(cfg, s));
		json_key(&j, "kind");
		json_str(&j, cfg_kind(cfg, s));
		json_key(&j, "url");
		json_str(&j, public_url(cfg, s));
		json_key(&j, "state");
		json_str(&j, h.state);
		json_key(&j, "label");
		json_str(&j, h.label);
		json_key(&j, "severity");
		json_str(&j, severity_names[h.severity]);
		json_key(&j, "stale");
		json_bool(&j, h.stale);
		json_key(&j, "silent");
		json_bool(&j, h.silent);
		json_key(&j, "gone");
		json_bool(&j, s->gone);
		json_key(&j, "moved_to");
		json_str(&j, pub_web_url(s->moved_to) ? s->moved_to : NULL);
		json_time(&j, "last_attempt", s->last_attempt, 0);
		json_time(&j, "last_success", s->last_success, 0);
		json_time(&j, "last_new", s->last_new, 0);
		json_time(&j, "next_attempt", s->gone ? 0 : s->next_fetch ? s->next_fetch : now, 0);
		json_time(&j, "retry_after", s->retry_after > now ? s->retry_after : 0, 0);
		json_key(&j, "last_status");
		if (s->last_status)
			json_int(&j, s->last_status);
		else
			json_null(&j);
		if ((rc = public_error(s->last_error, &text))) {
			json_finish(&j);
			goto out;
		}
		json_key(&j, "last_error");
		json_str(&j, s->last_error ? buf_str(&text) : NULL);
		json_key(&j, "failures");
		json_int(&j, s->failures);
		json_time(&j, "failing_since", s->failing_since, 0);
		buf_clear(&text);
		if ((rc = advice(cfg, tz, s, now, &text))) {
			json_finish(&j);
			goto out;
		}
		json_key(&j, "advice");
		json_str(&j, text.len ? buf_str(&text) : NULL);
		json_key(&j, "items");
		if (s->items >= 0)
			json_int(&j, s->items);
		else
			json_null(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	digest_status_json(&j, dg, ndg);
	json_end_object(&j);
	rc = json_finish(&j);
	if (!rc)
		rc = buf_putc(out, '\n');
out:
	tz_free(tz);
	buf_free(&text);
	return rc;
}

/* --- status.html ------------------------------------------------------- */

static const char status_css[] =
	"body{max-width:76em}table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;"
	"vertical-align:top}td.note{min-width:18em}.st-ok{color:#075}"
	".st-never,.st-silent,.st-moved,.st-failing{color:#a60;font-weight:bold}"
	".st-gone,.crit{color:#b00;font-weight:bold}.small{font-size:.85em;"
	"color:#444}.summary{font-size:1.15em;font-weight:bold}"
	"code{word-break:break-all}td code.name{display:block;"
	"word-break:normal;font-size:.85em;color:#444}"
	"@media (max-width:40em){thead{display:none}table,tr,td{display:block}"
	"tr{border-bottom:2px solid #ccc;padding:.4em 0}td{border:0;"
	"padding:.1em 0}td.note{min-width:0}td:empty{display:none}"
	"td[data-label]::before{content:attr(data-label) \": \";"
	"color:#555;font-size:.85em}}";

static int put_time(struct buf *o, const struct tz *tz, int64_t t)
{
	char nb[32], iso[21];

	if (!t || pub_fmt_nb(tz, t, nb))
		return buf_puts(o, "–");
	norm_date_iso(t, iso);
	return buf_printf(o, "<time datetime=\"%s\">%s</time>", iso, nb);
}

static int cell_time(struct buf *o, const char *label, const struct tz *tz,
                     int64_t t)
{
	return buf_printf(o, "<td data-label=\"%s\">", label) ||
	       put_time(o, tz, t) || buf_puts(o, "</td>") ? HF_ENOMEM : 0;
}

static int status_row(const struct pub_site *site,
                      const struct store_feed_state *s, struct buf *o)
{
	const struct config *cfg = site->cfg;
	const char *url = public_url(cfg, s);
	struct publish_health h;
	struct buf adv = BUF_INIT;
	int rc = HF_ENOMEM, had_advice;

	publish_feed_health(cfg, s, site->now, &h);
	if (buf_puts(o, "<tr id=\"feed-") || pub_html_text(s->name, o) ||
	    buf_puts(o, "\"><td><b>") || pub_html_text(cfg_title(cfg, s), o) ||
	    buf_puts(o, "</b> <code class=\"name\">") || pub_html_text(s->name, o) ||
	    buf_puts(o, "</code>"))
		goto out;
	if (url && (buf_puts(o, "<br><code class=\"small\">") ||
	            pub_html_text(url, o) || buf_puts(o, "</code>")))
		goto out;
	if (buf_printf(o, "</td><td data-label=\"Tilstand\" class=\"st-%s%s\">%s",
	               h.state, h.severity == PUBLISH_CRITICAL ? " crit" : "",
	               h.label) ||
	    (h.stale && buf_puts(o, " (utdatert)")) ||
	    (h.silent && strcmp(h.state, "silent") && buf_puts(o, " · stille")) ||
	    buf_puts(o, "</td>") ||
	    cell_time(o, "Sist vellykket", site->tz, s->last_success) ||
	    cell_time(o, "Sist ny sak", site->tz, s->last_new) ||
	    cell_time(o, "Neste forsøk", site->tz, s->gone ? 0 :
	              s->next_fetch ? s->next_fetch : site->now) ||
	    cell_time(o, "Retry-After", site->tz,
	              s->retry_after > site->now ? s->retry_after : 0))
		goto out;
	if ((s->last_status ? buf_printf(o, "<td data-label=\"HTTP\">%d</td>",
	                                 s->last_status)
	                    : buf_puts(o, "<td data-label=\"HTTP\">–</td>")) ||
	    buf_puts(o, "<td class=\"note\" data-label=\"Merknad\">"))
		goto out;
	if ((rc = advice(cfg, site->tz, s, site->now, &adv)) ||
	    (rc = pub_html_text(buf_str(&adv), o)))
		goto out;
	had_advice = adv.len > 0;
	if ((rc = public_error(s->last_error, &adv)))
		goto out;
	rc = HF_ENOMEM;
	if ((s->last_error && (buf_puts(o, had_advice ? "<br><span class=\"small\">" :
	                                "<span class=\"small\">") ||
	                       pub_html_text(buf_str(&adv), o) ||
	                       buf_puts(o, "</span>"))) ||
	    buf_puts(o, "</td></tr>\n"))
		goto out;
	rc = 0;
out:
	buf_free(&adv);
	return rc;
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
		    cell_time(o, "Sist sendt", tz, s->last_success) || cell_time(o, "Neste", tz, s->next_due) ||
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

int pub_status_html(const struct pub_site *site,
                    const struct store_feed_state *fs, size_t n,
                    const struct digest_group_status *dg, size_t ndg,
                    struct buf *out)
{
	struct buf sum = BUF_INIT;
	enum publish_severity worst = PUBLISH_OK;
	int rc;

	if ((rc = publish_status_summary(site->cfg, fs, n, site->now, &sum, &worst)) ||
	    (rc = pub_page_begin(site, out, "", "Status for kildene", "status.html",
	                         NULL, status_css)))
		goto out;
	rc = HF_ENOMEM;
	if (buf_printf(out, "<p class=\"summary %s\">", worst == PUBLISH_CRITICAL ?
	               "crit" : worst == PUBLISH_WARNING ? "st-failing" : "st-ok") ||
	    pub_html_text(buf_str(&sum), out) ||
	    buf_puts(out, "</p>\n<p class=\"small\">Problemer står først. "
	                  "Maskinlesbar: <a href=\"status.json\">status.json</a>."
	                  "</p>\n<table>\n<thead><tr><th>Kilde</th><th>Tilstand</th>"
	                  "<th>Sist vellykket</th><th>Sist ny sak</th>"
	                  "<th>Neste forsøk</th><th>Retry-After</th><th>HTTP</th>"
	                  "<th>Merknad</th></tr></thead>\n<tbody>\n"))
		goto out;
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = status_row(site, &fs[i], out);
	if (!rc && buf_puts(out, "</tbody>\n</table>\n"))
		rc = HF_ENOMEM;
	if (!rc)
		rc = status_digests_html(site->tz, dg, ndg, out);
	if (!rc)
		rc = pub_page_end(site, out, "");
out:
	buf_free(&sum);
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
		/* A feed read from a file has no address to share. */
		if (!pub_web_url(f->url))
			continue;
		buf_clear(&a);
		if (site_of(f->url, &a) ||
		    outline(&o, f->title ? f->title : f->name, f->url, buf_str(&a)))
			goto out;
	}
	if (xmlTextWriterEndElement(o.w) < 0)
		o.xerr = 1;

	if (group(&o, title))
		goto out;
	for (i = 0; i < nfeeds; i++) {
		if (feeds[i].legacy)
			continue;
		buf_clear(&a);
		buf_clear(&b);
		if (buf_printf(&a, "%s%s", cfg->base_url, feeds[i].file) ||
		    buf_printf(&b, "%s%s", cfg->base_url, feeds[i].page) ||
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
