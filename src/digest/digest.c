/*
 * digest.c - schedule, content and bookkeeping of the e-mail digests; see
 * digest.h for the rules.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/digest.h"
#include "helsefeed/limits.h"
#include "helsefeed/log.h"
#include "helsefeed/mail.h"
#include "helsefeed/norm.h"
#include "helsefeed/sanitize.h"
#include "helsefeed/tz.h"

/* Plain-text lines are wrapped here, leaving room for the indent inside
 * RFC 5322's 78 (quoted-printable keeps them short on the wire too). */
#define TEXT_WIDTH 72
/* Marks last_error of a row whose transfer was cut off: see digest.h. */
#define INTERRUPTED "interrupted: "

/* --- time --------------------------------------------------------------- */

/* The group's zone, or HF_EINVAL with the reason logged. */
static int group_tz(const struct config_digest *g, struct tz **out)
{
	struct buf err = BUF_INIT;
	int rc = tz_open(g->timezone, out, &err);

	if (rc)
		log_error("digest %s: %s", g->name, buf_str(&err));
	buf_free(&err);
	return rc == HF_ENOMEM ? rc : rc ? HF_EINVAL : HF_OK;
}

int digest_next_send(const struct config_digest *g, int64_t after, int64_t *out)
{
	struct tz *tz = NULL;
	struct tm day;
	int64_t t = 0;
	int rc;

	if (g->time < 0 || g->time >= 24 * 60)
		return HF_EINVAL;
	if ((rc = group_tz(g, &tz)))
		return rc;
	if ((rc = tz_to_local(tz, after, &day)))
		goto out;
	/* From the local day before `after`'s, so that a send time shifted
	 * across midnight is not missed; a time in the spring gap means the
	 * end of the gap (digest.h). */
	for (int k = -1; k <= 3; k++) {
		struct tm want = {.tm_year = day.tm_year, .tm_mon = day.tm_mon,
		                  .tm_mday = day.tm_mday + k, .tm_hour = g->time / 60,
		                  .tm_min = g->time % 60};
		t = tz_from_local(tz, &want, TZ_GAP_END);
		if (t > after)
			break;
	}
	*out = t;
out:
	tz_free(tz);
	return rc;
}

/* "23.05.2022 kl. 10:00" (with_time) or "23.05.2022", in zone tz. */
static int put_local(struct buf *out, const struct tz *tz, int64_t t, int with_time)
{
	char s[32];

	if (tz_format(tz, t, with_time ? "%d.%m.%Y kl. %H:%M" : "%d.%m.%Y", s, sizeof s))
		return buf_puts(out, "?");
	return buf_puts(out, s);
}

/* --- language ---------------------------------------------------------- */

struct lang {
	const char *code;
	const char *subject;           /* default template */
	const char *from, *to;         /* "Saker fra" A "til" B */
	const char *new_items, *updated_items, *none, *uncategorised;
	const char *source, *sources, *updated_at;
	const char *more;              /* after the count left out */
	const char *zero;              /* {count} of an empty digest */
	const char *footer;
	const char *kinds[FEED_KIND__COUNT];
};

static const struct lang langs[] = {
	{"nb", "Helsenytt {date}: {count} nye saker", "Saker fra", "til",
	 "Nye saker", "Oppdaterte saker", "Ingen nye saker.", "Andre saker",
	 "Kilde", "Kilder", "oppdatert",
	 "saker til er ikke tatt med her.", "ingen",
	 "Denne e-posten er sendt automatisk. Lenkene går til kildene.",
	 {"Departement", "Direktorater og etater", "Sykehus og helseforetak",
	  "Kommuner", "Andre kilder"}},
	{"nn", "Helsenytt {date}: {count} nye saker", "Saker frå", "til",
	 "Nye saker", "Oppdaterte saker", "Ingen nye saker.", "Andre saker",
	 "Kjelde", "Kjelder", "oppdatert",
	 "saker til er ikkje tekne med her.", "ingen",
	 "Denne e-posten er send automatisk. Lenkjene går til kjeldene.",
	 {"Departement", "Direktorat og etatar", "Sjukehus og helseføretak",
	  "Kommunar", "Andre kjelder"}},
};

static const struct lang *lang_of(const struct config_digest *g)
{
	for (size_t i = 0; i < sizeof langs / sizeof *langs; i++)
		if (g->language && strcmp(g->language, langs[i].code) == 0)
			return &langs[i];
	return &langs[0];
}

/* --- content ----------------------------------------------------------- */

struct item {
	int is_update;
	size_t cat;                    /* index in the group's order */
	enum feed_kind kind;
	int64_t when, id;
	char *title, *link, *summary, *sources;
};

struct content {
	const struct config *cfg;
	const struct config_digest *g;
	struct item *v;
	size_t n, cap;
	size_t dropped;                /* beyond DIGEST_MAX_ITEMS */
	struct buf scratch;
};

static void content_free(struct content *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].title);
		free(c->v[i].link);
		free(c->v[i].summary);
		free(c->v[i].sources);
	}
	free(c->v);
	buf_free(&c->scratch);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* The group's category order: its own list, or every category. */
static size_t ncats(const struct content *c)
{
	return c->g->ncategories ? c->g->ncategories : c->cfg->ncategories;
}

static const char *cat_name(const struct content *c, size_t i)
{
	return c->g->ncategories ? c->g->categories[i] : c->cfg->categories[i].name;
}

static const char *cat_title(const struct content *c, size_t i, const struct lang *l)
{
	const struct config_category *cc;

	if (i >= ncats(c))
		return l->uncategorised;
	cc = config_category_find(c->cfg, cat_name(c, i));
	return cc && cc->title ? cc->title : cat_name(c, i);
}

/* First of the item's categories in the group's order; ncats() for an
 * item without any when the group takes all; SIZE_MAX: not for us. */
static size_t first_cat(const struct content *c, const char *cats)
{
	size_t n = ncats(c);

	for (size_t i = 0; i < n; i++) {
		const char *name = cat_name(c, i), *p = cats;
		size_t len = strlen(name);
		while ((p = strstr(p, name))) {
			if ((p == cats || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
				return i;
			p += len;
		}
	}
	return c->g->ncategories || cats[0] ? SIZE_MAX : n;
}

/* Sanitised HTML -> a few lines of text, cut at a word near
 * DIGEST_SUMMARY_MAX bytes. */
static int summarise(struct buf *scratch, const char *html, char **out)
{
	size_t cut;
	int rc;

	*out = NULL;
	if (!html || !*html)
		return HF_OK;
	buf_clear(scratch);
	if ((rc = norm_text(html, strlen(html), 1, HF_MAX_SUMMARY, scratch, NULL)))
		return rc;
	if (scratch->len > DIGEST_SUMMARY_MAX) {
		cut = DIGEST_SUMMARY_MAX;
		while (cut > DIGEST_SUMMARY_MAX / 2 && scratch->data[cut] != ' ')
			cut--;
		if (scratch->data[cut] != ' ') /* one huge word: a character boundary */
			for (cut = DIGEST_SUMMARY_MAX; ((unsigned char)scratch->data[cut] & 0xc0) == 0x80;)
				cut--;
		scratch->len = cut;
		scratch->data[cut] = '\0';
		if ((rc = buf_puts(scratch, " …")))
			return rc;
	}
	return (*out = buf_detach(scratch)) ? HF_OK : HF_ENOMEM;
}

static int collect(void *ud, const struct store_digest_item *it)
{
	struct content *c = ud;
	struct item *x;
	size_t cat = first_cat(c, it->categories);
	int64_t t;
	int rc;

	if (cat == SIZE_MAX)
		return HF_OK;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct item *v = realloc(c->v, cap * sizeof *v);
		if (!v)
			return HF_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	x = &c->v[c->n];
	memset(x, 0, sizeof *x);
	x->is_update = it->is_update;
	x->cat = cat;
	x->kind = it->kind;
	x->id = it->id;
	t = it->is_update ? it->updated : it->published;
	x->when = t != HF_NOTIME ? t : it->is_update ? it->last_changed : it->first_seen;
	c->n++; /* owned by c from here: content_free releases the fields */
	buf_clear(&c->scratch);
	if ((rc = norm_text(it->title ? it->title : "", it->title ? strlen(it->title) : 0, 0,
	                    HF_MAX_TITLE, &c->scratch, NULL)))
		return rc;
	if (!(x->title = buf_detach(&c->scratch)) ||
	    (it->link && !(x->link = strdup(it->link))) ||
	    !(x->sources = strdup(it->sources)))
		return HF_ENOMEM;
	return summarise(&c->scratch, it->summary, &x->summary);
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->is_update != y->is_update)
		return x->is_update - y->is_update;
	if (x->cat != y->cat)
		return x->cat < y->cat ? -1 : 1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->when != y->when)
		return x->when > y->when ? -1 : 1; /* newest first */
	return x->id < y->id ? -1 : x->id > y->id;
}

static int content_load(struct content *c, struct store *st, int64_t start, int64_t end)
{
	int rc = store_digest_items(st, start, end, collect, c);

	if (rc)
		return rc;
	if (c->n)
		qsort(c->v, c->n, sizeof *c->v, item_cmp);
	if (c->n > DIGEST_MAX_ITEMS) {
		for (size_t i = DIGEST_MAX_ITEMS; i < c->n; i++) {
			free(c->v[i].title);
			free(c->v[i].link);
			free(c->v[i].summary);
			free(c->v[i].sources);
		}
		c->dropped = c->n - DIGEST_MAX_ITEMS;
		c->n = DIGEST_MAX_ITEMS;
	}
	return HF_OK;
}

/* --- rendering --------------------------------------------------------- */

/* Only http(s) links become links: a feed's javascript: stays text. */
static int link_ok(const char *u)
{
	return u && (strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0);
}

static size_t u8len(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

/* Words of `s` on lines of TEXT_WIDTH characters, each line indented. */
static int put_wrapped(struct buf *out, const char *s, const char *indent)
{
	size_t col = 0, ind = strlen(indent);
	int rc;

	while (*s) {
		size_t n = strcspn(s, " ");
		size_t w = u8len(s, n);
		if (n) {
			if (col && col + 1 + w > TEXT_WIDTH) {
				if ((rc = buf_puts(out, "\r\n")))
					return rc;
				col = 0;
			}
			if ((rc = col ? buf_putc(out, ' ') : buf_puts(out, indent)) ||
			    (rc = buf_append(out, s, n)))
				return rc;
			col += (col ? 1 : ind) + w;
		}
		s += n;
		s += strspn(s, " ");
	}
	return col ? buf_puts(out, "\r\n") : HF_OK;
}

static int put_underlined(struct buf *out, const char *s, char ch)
{
	size_t w = u8len(s, strlen(s));
	int rc;

	if ((rc = buf_printf(out, "%s\r\n", s)))
		return rc;
	while (w--)
		if ((rc = buf_putc(out, ch)))
			return rc;
	return buf_puts(out, "\r\n\r\n");
}

static int esc(struct buf *out, const char *s)
{
	return sanitize_escape(s, strlen(s), out);
}

/* Sources, "A, B", from the store's newline-separated list. */
static int put_sources(struct buf *out, const char *src, int html)
{
	int rc = HF_OK;

	for (const char *p = src; *p && !rc;) {
		size_t n = strcspn(p, "\n");
		if (p != src)
			rc = buf_puts(out, ", ");
		if (!rc)
			rc = html ? sanitize_escape(p, n, out) : buf_append(out, p, n);
		p += n;
		p += *p == '\n';
	}
	return rc;
}

#define CSS_BODY "margin:0;padding:16px;background:#f3f5f7;" \
	"font-family:Arial,Helvetica,sans-serif;color:#1b1b1b;line-height:1.4"
#define CSS_BOX "max-width:680px;margin:0 auto;background:#ffffff;padding:24px"
#define CSS_H1 "font-size:22px;margin:0 0 4px 0"
#define CSS_H2 "font-size:19px;margin:28px 0 8px 0;border-bottom:2px solid #00509e"
#define CSS_H3 "font-size:17px;margin:20px 0 6px 0;color:#00509e"
#define CSS_H4 "font-size:14px;margin:14px 0 6px 0;color:#555555;text-transform:uppercase"
#define CSS_UL "list-style:none;padding:0;margin:0"
#define CSS_LI "margin:0 0 14px 0"
#define CSS_A "color:#00509e;font-weight:bold;text-decoration:underline"
#define CSS_META "font-size:13px;color:#555555"
#define CSS_P "margin:4px 0 0 0;font-size:14px"
#define CSS_SMALL "font-size:12px;color:#777777;margin-top:24px"

struct render {
	const struct content *c;
	const struct lang *l;
	const struct tz *tz;
	struct buf text, html;
};

static int render_item(struct render *r, const struct item *x)
{
	struct buf *t = &r->text, *h = &r->html;
	const char *label = strchr(x->sources, '\n') ? r->l->sources : r->l->source;
	int rc;

	/* text */
	if ((rc = buf_puts(t, "* ")) || (rc = buf_puts(t, x->title)) ||
	    (rc = buf_puts(t, "\r\n")))
		return rc;
	if (link_ok(x->link) && (rc = buf_printf(t, "  %s\r\n", x->link)))
		return rc;
	/* Time first: source titles may hold dashes of their own. */
	if ((rc = buf_puts(t, "  ")) ||
	    (x->is_update && (rc = buf_printf(t, "%s ", r->l->updated_at))) ||
	    (rc = put_local(t, r->tz, x->when, 1)) || (rc = buf_printf(t, " · %s: ", label)) ||
	    (rc = put_sources(t, x->sources, 0)) || (rc = buf_puts(t, "\r\n")))
		return rc;
	if (x->summary && (rc = put_wrapped(t, x->summary, "  ")))
		return rc;
	if ((rc = buf_puts(t, "\r\n")))
		return rc;

	/* html */
	if ((rc = buf_puts(h, "<li style=\"" CSS_LI "\">")))
		return rc;
	if (link_ok(x->link)) {
		if ((rc = buf_puts(h, "<a style=\"" CSS_A "\" href=\"")) || (rc = esc(h, x->link)) ||
		    (rc = buf_puts(h, "\">")) || (rc = esc(h, x->title)) || (rc = buf_puts(h, "</a>")))
			return rc;
	} else if ((rc = buf_puts(h, "<strong>")) || (rc = esc(h, x->title)) ||
	           (rc = buf_puts(h, "</strong>"))) {
		return rc;
	}
	if ((rc = buf_puts(h, "\n<div style=\"" CSS_META "\">")) ||
	    (x->is_update && (rc = buf_printf(h, "%s ", r->l->updated_at))) ||
	    (rc = put_local(h, r->tz, x->when, 1)) || (rc = buf_printf(h, " · %s: ", label)) ||
	    (rc = put_sources(h, x->sources, 1)) || (rc = buf_puts(h, "</div>\n")))
		return rc;
	if (x->summary && ((rc = buf_puts(h, "<p style=\"" CSS_P "\">")) ||
	                   (rc = esc(h, x->summary)) || (rc = buf_puts(h, "</p>\n"))))
		return rc;
	return buf_puts(h, "</li>\n");
}

static int render_items(struct render *r)
{
	const struct content *c = r->c;
	struct buf *t = &r->text, *h = &r->html;
	int rc, open = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct item *x = &c->v[i], *p = i ? &c->v[i - 1] : NULL;
		int sect = !p || p->is_update != x->is_update;
		int cat = sect || p->cat != x->cat;
		int kind = cat || p->kind != x->kind;
		const char *s = x->is_update ? r->l->updated_items : r->l->new_items;

		if (kind && open && (rc = buf_puts(h, "</ul>\n")))
			return rc;
		if (sect && ((rc = put_underlined(t, s, '=')) ||
		             (rc = buf_puts(h, "<h2 style=\"" CSS_H2 "\">")) || (rc = esc(h, s)) ||
		             (rc = buf_puts(h, "</h2>\n"))))
			return rc;
		if (cat && ((rc = put_underlined(t, cat_title(c, x->cat, r->l), '-')) ||
		            (rc = buf_puts(h, "<h3 style=\"" CSS_H3 "\">")) ||
		            (rc = esc(h, cat_title(c, x->cat, r->l))) || (rc = buf_puts(h, "</h3>\n"))))
			return rc;
		if (kind && ((rc = buf_printf(t, "[%s]\r\n\r\n", r->l->kinds[x->kind])) ||
		             (rc = buf_puts(h, "<h4 style=\"" CSS_H4 "\">")) ||
		             (rc = esc(h, r->l->kinds[x->kind])) ||
		             (rc = buf_puts(h, "</h4>\n<ul style=\"" CSS_UL "\">\n"))))
			return rc;
		open = 1;
		if ((rc = render_item(r, x)))
			return rc;
	}
	return open ? buf_puts(h, "</ul>\n") : HF_OK;
}

/* {group}, {date}, {count}; any other brace is kept as written. */
static int expand_subject(const char *tpl, const char *group, const char *date,
                          size_t count, const struct lang *l, struct buf *out)
{
	static const char *const keys[] = {"{group}", "{date}", "{count}"};
	int rc = HF_OK;

	for (const char *p = tpl; *p && !rc;) {
		size_t k;
		for (k = 0; k < 3; k++)
			if (strncmp(p, keys[k], strlen(keys[k])) == 0)
				break;
		switch (k) {
		case 0: rc = buf_puts(out, group); break;
		case 1: rc = buf_puts(out, date); break;
		case 2: rc = count ? buf_printf(out, "%zu", count) : buf_puts(out, l->zero); break;
		default: rc = buf_putc(out, *p); p++; continue;
		}
		p += strlen(keys[k]);
	}
	return rc;
}

struct window {
	const struct config_digest *g;
	int64_t start, end;
	const char *message_id;
	/* filled by build_window */
	struct content c;
	struct buf subject, text, html, msg;
	struct mail m;                 /* points into the buffers above */
	char spool_name[128];
	struct tz *tz;                 /* the group's zone */
};

static void window_free(struct window *w)
{
	content_free(&w->c);
	buf_free(&w->subject);
	buf_free(&w->text);
	buf_free(&w->html);
	buf_free(&w->msg);
	tz_free(w->tz);
	w->tz = NULL;
}

static long utc_offset(const struct tz *tz, int64_t t)
{
	struct tz_info in;

	tz_offset(tz, t, &in);
	return in.utoff;
}

/* Both bodies, the subject and the message of window `w`, items already
 * loaded and the group's zone open. */
static int render_message(const struct config *cfg, struct window *w)
{
	const struct config_digest *g = w->g;
	const struct lang *l = lang_of(g);
	struct render r = {&w->c, l, w->tz, BUF_INIT, BUF_INIT};
	struct buf a = BUF_INIT, b = BUF_INIT, date = BUF_INIT, head = BUF_INIT;
	struct buf span = BUF_INIT;
	int rc;

	if ((rc = put_local(&a, w->tz, w->start, 1)) || (rc = put_local(&b, w->tz, w->end, 1)) ||
	    (rc = put_local(&date, w->tz, w->end, 0)) ||
	    (rc = expand_subject(g->subject ? g->subject : l->subject, g->name, date.data,
	                         w->c.n + w->c.dropped, l, &w->subject)) ||
	    (rc = buf_printf(&head, "%s – %s", cfg->title ? cfg->title : "Helsenytt", g->name)))
		goto out;
	/* text/plain */
	if ((rc = put_underlined(&r.text, head.data, '#')) ||
	    (rc = buf_printf(&span, "%s %s %s %s", l->from, a.data, l->to, b.data)) ||
	    (rc = buf_printf(&r.text, "%s\r\n\r\n", span.data)))
		goto out;
	/* text/html: inline CSS only, no images, no scripts: mail clients
	 * drop <style> blocks and block remote content. */
	if ((rc = buf_printf(&r.html, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	                     "<meta charset=\"utf-8\">\n"
	                     "<meta name=\"viewport\" content=\"width=device-width\">\n<title>",
	                     l->code)) ||
	    (rc = esc(&r.html, buf_str(&w->subject))) ||
	    (rc = buf_puts(&r.html, "</title>\n</head>\n<body style=\"" CSS_BODY "\">\n"
	                            "<div style=\"" CSS_BOX "\">\n<h1 style=\"" CSS_H1 "\">")) ||
	    (rc = esc(&r.html, head.data)) ||
	    (rc = buf_puts(&r.html, "</h1>\n<p style=\"" CSS_META "\">")))
		goto out;
	if ((rc = esc(&r.html, span.data)) ||
	    (rc = buf_puts(&r.html, "</p>\n")))
		goto out;
	if (!w->c.n) {
		if ((rc = buf_printf(&r.text, "%s\r\n\r\n", l->none)) ||
		    (rc = buf_puts(&r.html, "<p>")) || (rc = esc(&r.html, l->none)) ||
		    (rc = buf_puts(&r.html, "</p>\n")))
			goto out;
	} else if ((rc = render_items(&r))) {
		goto out;
	}
	if (w->c.dropped) {
		buf_clear(&head);
		if ((rc = buf_printf(&head, "%zu %s", w->c.dropped, l->more)) ||
		    (rc = buf_printf(&r.text, "%s\r\n\r\n", head.data)) ||
		    (rc = buf_puts(&r.html, "<p>")) || (rc = esc(&r.html, head.data)) ||
		    (rc = buf_puts(&r.html, "</p>\n")))
			goto out;
	}
	if ((rc = buf_printf(&r.text, "-- \r\n%s\r\n", l->footer)) ||
	    (rc = buf_puts(&r.html, "<p style=\"" CSS_SMALL "\">")) ||
	    (rc = esc(&r.html, l->footer)) ||
	    (rc = buf_puts(&r.html, "</p>\n</div>\n</body>\n</html>\n")))
		goto out;

	/* Lines end in CRLF in both parts (RFC 5322 2.3): a bare LF would be
	 * encoded as =0A by curl's quoted-printable encoder, and the spool
	 * copy would no longer match what SMTP carries. */
	for (size_t i = 0; i < r.html.len; i++)
		if ((rc = r.html.data[i] == '\n' ? buf_append(&w->html, "\r\n", 2)
		                                 : buf_putc(&w->html, r.html.data[i])))
			goto out;
	w->text = r.text;
	r.text = (struct buf)BUF_INIT;
	w->m = (struct mail){
		.from = cfg->smtp.from ? cfg->smtp.from : "helsefeed@localhost",
		.to = (const char *const *)g->to,
		.nto = g->nto,
		.subject = buf_str(&w->subject),
		/* The window's end, not the moment of the attempt: a retry is
		 * then the same message, Date and Message-ID alike. */
		.date = w->end,
		.utc_offset = utc_offset(w->tz, w->end),
		.message_id = w->message_id,
		.text = buf_str(&w->text),
		.html = buf_str(&w->html),
	};
	rc = mail_render(&w->m, &w->msg);
out:
	buf_free(&r.text);
	buf_free(&r.html);
	buf_free(&a);
	buf_free(&b);
	buf_free(&date);
	buf_free(&head);
	buf_free(&span);
	return rc;
}

/* --- one window, end to end -------------------------------------------- */

static int build_window(const struct config *cfg, struct store *st, struct window *w)
{
	char when[16];
	int rc;

	w->c.cfg = cfg;
	w->c.g = w->g;
	if ((rc = content_load(&w->c, st, w->start, w->end)) || (rc = group_tz(w->g, &w->tz)) ||
	    (rc = render_message(cfg, w)))
		return rc;
	/* GROUP-YYYYMMDDTHHMM, the window's end in the group's time. */
	if (tz_format(w->tz, w->end, "%Y%m%dT%H%M", when, sizeof when) == 0)
		snprintf(w->spool_name, sizeof w->spool_name, "%.64s-%s", w->g->name, when);
	return HF_OK;
}

static int new_message_id(const struct config *cfg, const char *group, int64_t start,
                          struct buf *out)
{
	struct buf prefix = BUF_INIT;
	int rc;

	/* <digest.GROUP.WINDOWSTART.RANDOM@host-of-from>: the window can be
	 * read off a copy, the random part keeps two installations apart. */
	if (!(rc = buf_printf(&prefix, "digest.%s.%lld", group, (long long)start)))
		rc = mail_message_id(prefix.data, cfg->smtp.from, out);
	buf_free(&prefix);
	return rc;
}

int digest_render(const struct config *cfg, struct store *st,
                  const struct config_digest *g, int64_t start, int64_t end,
                  const char *message_id, struct buf *out, size_t *count)
{
	struct window w = {.g = g, .start = start, .end = end, .message_id = message_id};
	struct buf id = BUF_INIT;
	int rc;

	if (!message_id) {
		if ((rc = new_message_id(cfg, g->name, start, &id)))
			goto out;
		w.message_id = id.data;
	}
	if ((rc = build_window(cfg, st, &w)) || (rc = buf_append(out, w.msg.data, w.msg.len)))
		goto out;
	if (count)
		*count = w.c.n + w.c.dropped;
out:
	window_free(&w);
	buf_free(&id);
	return rc;
}

/* The test hook of digest.h: compiled in test builds only. */
static void crash_point(const char *where)
{
#ifdef HF_TEST_HOOKS
	const char *v = getenv(DIGEST_TEST_CRASH_ENV);

	if (v && strcmp(v, where) == 0)
		raise(SIGKILL);
#else
	(void)where;
#endif
}

struct run {
	const struct config *cfg;
	struct store *st;
	int64_t now;
	int flags;
	struct buf *out;
	struct digest_stats *stats;
	int mbox;                      /* several messages: From_ lines */
};

/* When a failed row may be tried again: the last attempt plus the delay
 * after that many attempts (digest.h).  A row from before schema step 5
 * has no last attempt: its creation stands in. */
static int64_t retry_due(const struct store_digest_row *row)
{
	int64_t d = DIGEST_RETRY_BASE_S;

	if (row->attempts == 0)
		return row->created;
	for (int i = 1; i < row->attempts && d < DIGEST_RETRY_MAX_S; i++)
		d = d * 2 < DIGEST_RETRY_MAX_S ? d * 2 : DIGEST_RETRY_MAX_S;
	return (row->last_attempt ? row->last_attempt : row->created) + d;
}

/* --dry-run: the message as it would go out, appended to r->out. */
static int show(struct run *r, const struct config_digest *g, int64_t start, int64_t end,
                const char *message_id)
{
	struct window w = {.g = g, .start = start, .end = end, .message_id = message_id};
	int rc;

	if ((rc = build_window(r->cfg, r->st, &w)))
		goto out;
	if (!w.c.n && !g->send_empty) {
		log_info("digest %s: nothing new since the last digest; nothing would be sent",
		         g->name);
		r->stats->empty++;
		goto out;
	}
	/* Several messages on one stdout: an mbox (RFC 4155), readable by
	 * any mail reader; a single one stays a plain RFC 5322 message. */
	if (r->out && ((r->mbox && (rc = buf_puts(r->out, "From helsefeed@localhost Thu Jan  1 00:00:00 1970\r\n"))) ||
	               (rc = buf_append(r->out, w.msg.data, w.msg.len)) ||
	               (r->mbox && (rc = buf_puts(r->out, "\r\n")))))
		goto out;
	r->stats->sent++;
out:
	window_free(&w);
	return rc;
}

/* Steps 2-4 for recorded row `row`: build, claim, send, mark. */
static int deliver(struct run *r, const struct config_digest *g,
                   const struct store_digest_row *row)
{
	struct window w = {.g = g, .start = row->window_start, .end = row->window_end,
	                   .message_id = row->message_id};
	struct buf why = BUF_INIT, where = BUF_INIT;
	int rc, sent;

	if ((rc = build_window(r->cfg, r->st, &w)))
		goto out;
	/* Empty only before any attempt: a window that was tried once keeps
	 * its Message-ID, whatever happened to its items since. */
	if (!w.c.n && !g->send_empty && row->attempts == 0) {
		if (!(rc = store_digest_mark_sent(r->st, row->id, r->now, 1, NULL))) {
			log_info("digest %s: nothing new since the last digest; nothing sent", g->name);
			r->stats->empty++;
		}
		goto out;
	}
	if ((rc = store_digest_claim(r->st, row->id, row->attempts, r->now)) <= 0) {
		if (rc == 0)
			log_warn("digest %s: the window was taken by another run", g->name);
		goto out;
	}
	if (r->cfg->smtp.present) {
		sent = mail_send(&r->cfg->smtp, &w.m, &why);
		if (!sent && (sent = buf_puts(&where, r->cfg->smtp.url)))
			goto out;
	} else {
		sent = mail_spool(r->cfg->spool, w.spool_name, row->message_id, &w.msg, &where);
		if (sent && !why.len)
			(void)buf_printf(&why, "cannot write %s/%s.eml: %s", r->cfg->spool,
			                 w.spool_name, hf_strerror(sent));
	}
	if (!sent) {
		crash_point("after-send");
		if (!(rc = store_digest_mark_sent(r->st, row->id, r->now, 0, NULL))) {
			log_info("digest %s: %zu stories sent to %s as %s", g->name,
			         w.c.n + w.c.dropped, where.data, row->message_id);
			r->stats->sent++;
		}
		goto out;
	}
	if (sent == HF_ENOMEM) {
		rc = sent;
		goto out;
	}
	{
		struct store_digest_row next = *row;
		char at[21];
		next.attempts++;
		next.last_attempt = r->now;
		norm_date_iso(retry_due(&next), at);
		log_error("digest %s: attempt %d failed: %s; next try not before %s", g->name,
		          next.attempts, buf_str(&why), at);
	}
	r->stats->failed++;
	if (!(rc = store_digest_mark_failed(r->st, row->id, why.len ? why.data : hf_strerror(sent))))
		rc = HF_ENET;
out:
	window_free(&w);
	buf_free(&why);
	buf_free(&where);
	return rc;
}

/* A window recorded and not yet sent: a crash, or a failure to retry. */
static int settle(struct run *r, const struct config_digest *g, struct store_digest_row *row)
{
	int rc;

	if (row->state == STORE_DIGEST_FAILED && !(r->flags & DIGEST_SEND_NOW) &&
	    r->now < retry_due(row)) {
		r->stats->waiting++;
		return HF_OK;
	}
	if (r->flags & DIGEST_DRY_RUN)
		return show(r, g, row->window_start, row->window_end, row->message_id);
	if (row->state == STORE_DIGEST_PENDING && row->attempts > 0) {
		/* The process died during a transfer: delivered or not,
		 * nobody knows.  Send once more (digest.h), never twice. */
		if (row->last_error && strncmp(row->last_error, INTERRUPTED, strlen(INTERRUPTED)) == 0) {
			log_error("digest %s: the transfer of %s was cut off twice; it may have "
			          "arrived and is not sent again", g->name, row->message_id);
			return store_digest_mark_sent(r->st, row->id, 0, 0,
			                              "outcome unknown: two transfers cut off; "
			                              "not sent again");
		}
		log_warn("digest %s: the transfer of %s was cut off; sending it once more",
		         g->name, row->message_id);
		if ((rc = store_digest_note(r->st, row->id,
		                            INTERRUPTED "a transfer was cut off; sent once more")))
			return rc;
	}
	return deliver(r, g, row);
}

static int run_group(struct run *r, const struct config_digest *g)
{
	struct store_digest_row last = {0}, row = {0};
	struct buf id = BUF_INIT;
	int64_t start, due;
	int have, rc;

	if ((have = store_digest_latest(r->st, g->name, &last)) < 0)
		return have;
	rc = HF_OK;
	if (have && last.state != STORE_DIGEST_SENT) {
		/* One window at a time: the next opens once this one is out. */
		rc = settle(r, g, &last);
		goto out;
	}
	start = have ? last.window_end : r->now - DIGEST_FIRST_WINDOW_S;
	if (!(r->flags & DIGEST_SEND_NOW)) {
		if ((rc = digest_next_send(g, start, &due)))
			goto out;
		if (due > r->now) {
			r->stats->waiting++;
			goto out;
		}
	} else if (r->now - start < DIGEST_MIN_WINDOW_S) {
		log_info("digest %s: the last digest closed less than %d s ago; nothing to send",
		         g->name, DIGEST_MIN_WINDOW_S);
		goto out;
	}
	if ((rc = new_message_id(r->cfg, g->name, start, &id)))
		goto out;
	if (r->flags & DIGEST_DRY_RUN) {
		rc = show(r, g, start, r->now, id.data);
		goto out;
	}
	/* Step 1. */
	if ((rc = store_digest_record(r->st, g->name, start, r->now, r->now, id.data, &row.id)) <= 0) {
		if (rc == 0)
			log_warn("digest %s: the window was recorded by another run", g->name);
		goto out;
	}
	crash_point("after-record");
	row.window_start = start;
	row.window_end = r->now;
	row.message_id = id.data;
	row.created = r->now;
	rc = deliver(r, g, &row);
out:
	store_digest_row_clear(&last);
	buf_free(&id);
	return rc;
}

int digest_run(const struct config *cfg, struct store *st, int64_t now, int flags,
               const char *group, struct buf *out, struct digest_stats *stats)
{
	struct digest_stats dummy = {0};
	struct run r = {cfg, st, now, flags, out, stats ? stats : &dummy,
	                !group && cfg->ndigests > 1};
	int rc = HF_OK, found = 0;

	for (size_t i = 0; i < cfg->ndigests; i++) {
		const struct config_digest *g = &cfg->digests[i];
		int grc;

		if (group && strcmp(group, g->name) != 0)
			continue;
		found = 1;
		/* Each group on its own: one bad group stops no other. */
		grc = run_group(&r, g);
		if (grc && (!rc || (rc == HF_ENET && grc != HF_ENET)))
			rc = grc;
	}
	if (group && !found) {
		log_error("digest: no [digest %s] in the configuration", group);
		return HF_EINVAL;
	}
	return rc;
}
