/*
 * digest.c - schedule, content and bookkeeping of the e-mail digests; see
 * digest.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "helsefeed/digest.h"
#include "helsefeed/util.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"

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

/* Day of the week (0 sunday) of a civil date, whatever the zone. */
static int weekday(int year, int mon, int mday)
{
	struct tm x = {.tm_year = year, .tm_mon = mon, .tm_mday = mday, .tm_hour = 12};
	time_t u = timegm(&x);

	gmtime_r(&u, &x);
	return x.tm_wday;
}

int digest_next_send(const struct config_digest *g, int64_t after, int64_t *out)
{
	struct tz *tz = NULL;
	struct tm day;
	int64_t t = 0;
	int rc;

	if (g->time < 0 || g->time >= 24 * 60 || g->frequency == CONFIG_IMMEDIATE)
		return HF_EINVAL;
	if ((rc = group_tz(g, &tz)))
		return rc;
	if ((rc = tz_to_local(tz, after, &day)))
		goto out;
	/* From the local day before `after`'s, so that a send time shifted
	 * across midnight is not missed; a time in the spring gap means the
	 * end of the gap (digest.h).  A weekly group skips the other days. */
	for (int k = -1; k <= 9; k++) {
		struct tm want = {.tm_year = day.tm_year, .tm_mon = day.tm_mon,
		                  .tm_mday = day.tm_mday + k, .tm_hour = g->time / 60,
		                  .tm_min = g->time % 60};
		if (g->frequency == CONFIG_WEEKLY &&
		    weekday(day.tm_year, day.tm_mon, day.tm_mday + k) != g->day)
			continue;
		t = tz_from_local(tz, &want, TZ_GAP_END);
		if (t > after)
			break;
	}
	*out = t;
out:
	tz_free(tz);
	return rc;
}

/* The scheduled send before the one at `due`: a day (a week) back, give
 * or take the hour a clock change moves it. */
static int prev_send(const struct config_digest *g, int64_t due, int64_t *out)
{
	int64_t period = g->frequency == CONFIG_WEEKLY ? 7 * 86400 : 86400;

	return digest_next_send(g, due - period - 3600 - 1, out);
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
	const char *published;         /* "Publisert" A "–" B */
	const char *new_items, *updated_items, *none, *uncategorised;
	const char *source, *sources, *updated_at, *also;
	const char *more;              /* after the count left out */
	const char *zero;              /* {count} of an empty digest */
	const char *one_new, *many_new;        /* "1 ny sak", N "nye saker" */
	const char *one_upd, *many_upd;        /* "1 oppdatert", N "oppdaterte" */
	const char *why;               /* "... listen" «TITLE» */
	const char *cats, *all_cats;   /* "kategorier", every category */
	const char *write_to;          /* changes: write to */
	const char *pages;             /* every story on the web */
	const char *unsubscribe;       /* subject of List-Unsubscribe's mailto */
	const char *resent;            /* subject suffix of a resend */
	const char *footer;
	const char *kinds[FEED_KIND__COUNT];
};

static const struct lang langs[] = {
	{"nb", "{title} {date}: {counts}", "Saker fra", "til", "Publisert",
	 "Nye saker", "Oppdaterte saker", "Ingen nye saker.", "Andre saker",
	 "Kilde", "Kilder", "oppdatert", "Også under",
	 "saker til er ikke tatt med her.", "ingen",
	 "1 ny sak", "nye saker", "1 oppdatert", "oppdaterte",
	 "Du får denne e-posten fordi du står på listen",
	 "kategorier", "alle kategorier",
	 "Endringer og avmelding: skriv til",
	 "Alle saker på nett:",
	 "Avmelding", " (sendt på nytt)",
	 "Denne e-posten er sendt automatisk. Lenkene går til kildene.",
	 {"Departement", "Direktorater og etater", "Sykehus og helseforetak",
	  "Kommuner", "Andre kilder"}},
	{"nn", "{title} {date}: {counts}", "Saker frå", "til", "Publisert",
	 "Nye saker", "Oppdaterte saker", "Ingen nye saker.", "Andre saker",
	 "Kjelde", "Kjelder", "oppdatert", "Også under",
	 "saker til er ikkje tekne med her.", "ingen",
	 "1 ny sak", "nye saker", "1 oppdatert", "oppdaterte",
	 "Du får denne e-posten fordi du står på lista",
	 "kategoriar", "alle kategoriar",
	 "Endringar og avmelding: skriv til",
	 "Alle saker på nett:",
	 "Avmelding", " (sendt på nytt)",
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
	char *others;                  /* titles of its other categories of
	                                  the group, ", " apart, or NULL */
};

struct content {
	const struct config *cfg;
	const struct config_digest *g;
	struct item *v;
	size_t n, cap;
	size_t dropped;                /* beyond DIGEST_MAX_ITEMS */
	size_t nnew, nupd;             /* before the cut */
	int64_t first, last;           /* publication times covered; 0: none */
	int64_t max_age;
	struct buf scratch;
};

static void content_free(struct content *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].title);
		free(c->v[i].link);
		free(c->v[i].summary);
		free(c->v[i].sources);
		free(c->v[i].others);
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

/* 1 when the comma-separated `cats` holds `name`. */
static int has_cat(const char *cats, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = cats; (p = strstr(p, name)); p += len)
		if ((p == cats || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return 1;
	return 0;
}

/*
 * Where a story lands in the group: the index of one of its categories
 * in the group's order (ncats() for an item without any when the group
 * takes all; SIZE_MAX: not for this group), and in *others (the
 * caller's) the titles of its other categories of the group.  A story
 * in several lands once (digest.h).  For now the first in the group's
 * order wins; when the classifier gives a score per category, the
 * highest score decides here and nowhere else.
 */
static int place(struct content *c, const char *cats, size_t *cat, char **others)
{
	const struct lang *l = lang_of(c->g);
	size_t n = ncats(c), best = SIZE_MAX;
	struct buf o = BUF_INIT;
	int rc = HF_OK;

	*others = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		if (!has_cat(cats, cat_name(c, i)))
			continue;
		if (best == SIZE_MAX)
			best = i;
		else if (!(rc = o.len ? buf_puts(&o, ", ") : HF_OK))
			rc = buf_puts(&o, cat_title(c, i, l));
	}
	if (best == SIZE_MAX && !c->g->ncategories && !cats[0])
		best = n;
	if (!rc && o.len && !(*others = buf_detach(&o)))
		rc = HF_ENOMEM;
	buf_free(&o);
	*cat = best;
	return rc;
}

/* Sanitised HTML -> a few lines of text, cut at a word near
 * DIGEST_SUMMARY_MAX bytes; none for a summary of "Les mer" alone. */
static int summarise(struct buf *scratch, const char *html, char **out)
{
	size_t cut;
	int rc, truncated;

	*out = NULL;
	if (!html || !*html)
		return HF_OK;
	buf_clear(scratch);
	if ((rc = norm_text(html, strlen(html), 1, HF_MAX_SUMMARY, scratch, &truncated)))
		return rc;
	/* A "read more" whose link the message does not carry. */
	if (!truncated && scratch->len) {
		scratch->len = norm_more_len(scratch->data, scratch->len);
		scratch->data[scratch->len] = '\0';
	}
	if (!scratch->len)
		return HF_OK;
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
	char *others = NULL;
	size_t cat;
	int64_t t;
	int rc;

	/* An immediate group mails new stories only: a change is no alert. */
	if (it->is_update && c->g->frequency == CONFIG_IMMEDIATE)
		return HF_OK;
	if ((rc = place(c, it->categories, &cat, &others)))
		return rc;
	if (cat == SIZE_MAX)
		return HF_OK;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct item *v = realloc(c->v, cap * sizeof *v);
		if (!v) {
			free(others);
			return HF_ENOMEM;
		}
		c->v = v;
		c->cap = cap;
	}
	x = &c->v[c->n];
	memset(x, 0, sizeof *x);
	x->is_update = it->is_update;
	x->cat = cat;
	x->kind = it->kind;
	x->id = it->id;
	x->others = others;
	t = it->is_update ? it->updated : it->published;
	x->when = t != HF_NOTIME ? t : it->is_update ? it->last_changed : it->first_seen;
	c->n++; /* owned by c from here: content_free releases the fields */
	*(it->is_update ? &c->nupd : &c->nnew) += 1;
	/* The dates the digest covers: publication, else first seen. */
	if (!c->first || x->when < c->first)
		c->first = x->when;
	if (x->when > c->last)
		c->last = x->when;
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

static int content_load(struct content *c, struct store *st, const struct store_digest_row *w)
{
	int rc = store_digest_items(st, w, c->g->max_age, collect, c);

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
			free(c->v[i].others);
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
	if (x->others && (rc = buf_printf(t, "  %s: %s\r\n", r->l->also, x->others)))
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
	if (x->others && ((rc = buf_printf(h, "<div style=\"" CSS_META "\">%s: ", r->l->also)) ||
	                  (rc = esc(h, x->others)) || (rc = buf_puts(h, "</div>\n"))))
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

/* --- the message ------------------------------------------------------- */

/* The addr-spec of "Name <addr>" or "addr". */
static int addr_of(const char *mailbox, struct buf *out)
{
	const char *lt = strrchr(mailbox, '<'), *gt;

	if (!lt)
		return buf_puts(out, mailbox);
	gt = strchr(lt, '>');
	return buf_append(out, lt + 1, gt ? (size_t)(gt - lt - 1) : strlen(lt + 1));
}

static const char *from_of(const struct config *cfg, const struct config_digest *g)
{
	/* Without [smtp] and a group `from` there is no sender to name;
	 * config.h: the sample and feeds.conf set one. */
	return g->from ? g->from : cfg->smtp.from ? cfg->smtp.from : "helsefeed@localhost";
}

static const char *contact_of(const struct config *cfg, const struct config_digest *g)
{
	return g->contact ? g->contact : cfg->smtp.contact ? cfg->smtp.contact : from_of(cfg, g);
}

/* "1 ny sak, 2 oppdaterte"; "ingen nye saker". */
static int put_counts(struct buf *out, const struct lang *l, size_t nnew, size_t nupd)
{
	int rc = HF_OK;

	if (!nnew && !nupd)
		return buf_printf(out, "%s %s", l->zero, l->many_new);
	if (nnew)
		rc = nnew == 1 ? buf_puts(out, l->one_new) : buf_printf(out, "%zu %s", nnew, l->many_new);
	if (!rc && nupd && nnew)
		rc = buf_puts(out, ", ");
	if (!rc && nupd)
		rc = nupd == 1 ? buf_puts(out, l->one_upd) : buf_printf(out, "%zu %s", nupd, l->many_upd);
	return rc;
}

/* {title}, {group}, {date}, {count}, {counts}, {headline}; any other
 * brace is kept as written. */
static int expand_subject(const char *tpl, const struct config_digest *g, const char *date,
                          const struct content *c, const struct lang *l, struct buf *out)
{
	static const char *const keys[] = {"{group}", "{date}", "{counts}", "{count}",
	                                   "{title}", "{headline}"};
	size_t nk = sizeof keys / sizeof *keys, count = c->n + c->dropped;
	int rc = HF_OK;

	for (const char *p = tpl; *p && !rc;) {
		size_t k;
		for (k = 0; k < nk; k++)
			if (strncmp(p, keys[k], strlen(keys[k])) == 0)
				break;
		switch (k) {
		case 0: rc = buf_puts(out, g->name); break;
		case 1: rc = buf_puts(out, date); break;
		case 2: rc = put_counts(out, l, c->nnew, c->nupd); break;
		case 3: rc = count ? buf_printf(out, "%zu", count) : buf_puts(out, l->zero); break;
		case 4: rc = buf_puts(out, g->title ? g->title : g->name); break;
		case 5: rc = buf_puts(out, c->n ? c->v[0].title : ""); break;
		default: rc = buf_putc(out, *p); p++; continue;
		}
		p += strlen(keys[k]);
	}
	return rc;
}

struct window {
	const struct config_digest *g;
	struct store_digest_row row;   /* borrowed strings: not cleared */
	const char *message_id;
	const char *const *rcpt;       /* the envelope; NULL: the group's */
	size_t nrcpt;
	/* filled by build_window */
	struct content c;
	struct buf subject, text, html, msg, to, list_id, unsub;
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
	buf_free(&w->to);
	buf_free(&w->list_id);
	buf_free(&w->unsub);
	tz_free(w->tz);
	w->tz = NULL;
}

static long utc_offset(const struct tz *tz, int64_t t)
{
	struct tz_info in;

	tz_offset(tz, t, &in);
	return in.utoff;
}

/* RFC 3986 unreserved, '@' and '.', else %XX: a mailto: URI's parts. */
static int put_uri_part(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = HF_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++)
		rc = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr("-._~@", *p) ? buf_putc(out, (char)*p)
		                         : buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	return rc;
}

/* List-Id (RFC 2919: GROUP <GROUP.DOMAIN>, DOMAIN that of From), To (the
 * list: the group's title at the From address; the recipients are in
 * the envelope only) and List-Unsubscribe (RFC 2369: a mailto: to the
 * contact, the group in the subject). */
static int list_fields(const struct config *cfg, struct window *w, const struct lang *l)
{
	const struct config_digest *g = w->g;
	struct buf from = BUF_INIT, contact = BUF_INIT, subj = BUF_INIT;
	const char *at;
	int rc;

	if ((rc = addr_of(from_of(cfg, g), &from)) ||
	    (rc = addr_of(contact_of(cfg, g), &contact)))
		goto out;
	at = strrchr(buf_str(&from), '@');
	if ((rc = buf_printf(&w->list_id, "%s <%s.%s>", g->name, g->name,
	                     at && at[1] ? at + 1 : "localhost")) ||
	    (rc = buf_printf(&w->to, "%s <%s>", g->title ? g->title : g->name, buf_str(&from))) ||
	    (rc = buf_printf(&subj, "%s %s", l->unsubscribe, g->name)) ||
	    (rc = buf_puts(&w->unsub, "<mailto:")) || (rc = put_uri_part(&w->unsub, buf_str(&contact))) ||
	    (rc = buf_puts(&w->unsub, "?subject=")) || (rc = put_uri_part(&w->unsub, subj.data)) ||
	    (rc = buf_putc(&w->unsub, '>')))
		goto out;
out:
	buf_free(&from);
	buf_free(&contact);
	buf_free(&subj);
	return rc;
}

/* The closing lines: which list, its categories, whom to write to, the
 * published pages. */
static int put_footer(const struct config *cfg, struct window *w, const struct lang *l,
                      struct render *r)
{
	const struct config_digest *g = w->g;
	struct buf why = BUF_INIT, cats = BUF_INIT, contact = BUF_INIT;
	int rc;

	if ((rc = buf_printf(&why, "%s «%s»", l->why, g->title ? g->title : g->name)) ||
	    (rc = addr_of(contact_of(cfg, g), &contact)))
		goto out;
	for (size_t i = 0; i < g->ncategories && !rc; i++) {
		const struct config_category *cc = config_category_find(cfg, g->categories[i]);
		rc = buf_printf(&cats, "%s%s", i ? ", " : "", cc && cc->title ? cc->title : g->categories[i]);
	}
	if (!rc && !g->ncategories)
		rc = buf_puts(&cats, l->all_cats);
	if (rc || (rc = buf_printf(&why, " (%s: %s).", l->cats, cats.data)))
		goto out;
	if ((rc = buf_puts(&r->text, "-- \r\n")) || (rc = put_wrapped(&r->text, why.data, "")) ||
	    (rc = buf_printf(&r->text, "%s %s\r\n", l->write_to, contact.data)) ||
	    (link_ok(cfg->base_url) &&
	     (rc = buf_printf(&r->text, "%s %s\r\n", l->pages, cfg->base_url))) ||
	    (rc = buf_printf(&r->text, "%s\r\n", l->footer)))
		goto out;
	if ((rc = buf_puts(&r->html, "<div style=\"" CSS_SMALL "\">\n<p>")) ||
	    (rc = esc(&r->html, why.data)) ||
	    (rc = buf_printf(&r->html, "<br>\n%s <a href=\"mailto:", l->write_to)) ||
	    (rc = esc(&r->html, contact.data)) || (rc = buf_puts(&r->html, "\">")) ||
	    (rc = esc(&r->html, contact.data)) || (rc = buf_puts(&r->html, "</a>")))
		goto out;
	if (link_ok(cfg->base_url) &&
	    ((rc = buf_printf(&r->html, "<br>\n%s <a href=\"", l->pages)) ||
	     (rc = esc(&r->html, cfg->base_url)) || (rc = buf_puts(&r->html, "\">")) ||
	     (rc = esc(&r->html, cfg->base_url)) || (rc = buf_puts(&r->html, "</a>"))))
		goto out;
	if ((rc = buf_puts(&r->html, "</p>\n<p>")) || (rc = esc(&r->html, l->footer)) ||
	    (rc = buf_puts(&r->html, "</p>\n</div>\n")))
		goto out;
out:
	buf_free(&why);
	buf_free(&cats);
	buf_free(&contact);
	return rc;
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
	const char *title = g->title ? g->title : g->name;
	int rc;

	/* The dates covered: the items' publication times when there are
	 * items, else the window. */
	if ((rc = put_local(&a, w->tz, w->c.n ? w->c.first : w->row.window_start, 1)) ||
	    (rc = put_local(&b, w->tz, w->c.n ? w->c.last : w->row.window_end, 1)) ||
	    (rc = put_local(&date, w->tz, w->row.window_end, 0)) ||
	    (rc = expand_subject(g->subject ? g->subject : l->subject, g, date.data, &w->c, l,
	                         &w->subject)) ||
	    (w->row.kind == STORE_DIGEST_RESEND && (rc = buf_puts(&w->subject, l->resent))) ||
	    (rc = buf_puts(&head, title)))
		goto out;
	if ((rc = w->c.n ? buf_printf(&span, "%s %s – %s", l->published, a.data, b.data)
	                 : buf_printf(&span, "%s %s %s %s", l->from, a.data, l->to, b.data)))
		goto out;
	/* text/plain */
	if ((rc = put_underlined(&r.text, head.data, '#')) ||
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
	if ((rc = put_footer(cfg, w, l, &r)) ||
	    (rc = buf_puts(&r.html, "</div>\n</body>\n</html>\n")) ||
	    (rc = list_fields(cfg, w, l)))
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
		.from = from_of(cfg, g),
		.to = w->rcpt ? w->rcpt : (const char *const *)g->to,
		.nto = w->rcpt ? w->nrcpt : g->nto,
		.to_header = buf_str(&w->to),
		.list_id = buf_str(&w->list_id),
		.list_unsubscribe = buf_str(&w->unsub),
		.subject = buf_str(&w->subject),
		/* The window's end, not the moment of the attempt: a retry is
		 * then the same message, Date and Message-ID alike. */
		.date = w->row.window_end,
		.utc_offset = utc_offset(w->tz, w->row.window_end),
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
	if ((rc = content_load(&w->c, st, &w->row)) || (rc = group_tz(w->g, &w->tz)) ||
	    (rc = render_message(cfg, w)))
		return rc;
	/* GROUP-YYYYMMDDTHHMM, the window's end in the group's time; a
	 * resend gets its own file. */
	if (tz_format(w->tz, w->row.window_end, "%Y%m%dT%H%M", when, sizeof when) == 0)
		snprintf(w->spool_name, sizeof w->spool_name, "%.64s-%s%s", w->g->name, when,
		         w->row.kind == STORE_DIGEST_RESEND ? "-resend" : "");
	return HF_OK;
}

static int new_message_id(const struct config *cfg, const struct config_digest *g,
                          int64_t start, struct buf *out)
{
	struct buf prefix = BUF_INIT;
	int rc;

	/* <digest.GROUP.WINDOWSTART.RANDOM@host-of-from>: the window can be
	 * read off a copy, the random part keeps two installations apart. */
	if (!(rc = buf_printf(&prefix, "digest.%s.%lld", g->name, (long long)start)))
		rc = mail_message_id(prefix.data, from_of(cfg, g), out);
	buf_free(&prefix);
	return rc;
}

int digest_render(const struct config *cfg, struct store *st,
                  const struct config_digest *g, int64_t start, int64_t end,
                  const char *message_id, struct buf *out, size_t *count)
{
	struct window w = {.g = g, .message_id = message_id};
	struct buf id = BUF_INIT;
	int rc;

	w.row.window_start = start;
	w.row.window_end = end;
	w.row.item_from = w.row.item_upto = -1;
	if (!message_id) {
		if ((rc = new_message_id(cfg, g, start, &id)))
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

/* The delay after `attempts` failed attempts (digest.h). */
static int64_t backoff(int attempts)
{
	int64_t d = DIGEST_RETRY_BASE_S;

	for (int i = 1; i < attempts && d < DIGEST_RETRY_MAX_S; i++)
		d = d * 2 < DIGEST_RETRY_MAX_S ? d * 2 : DIGEST_RETRY_MAX_S;
	return d;
}

/* When a failed row may be tried again: the last attempt plus the delay
 * after that many attempts (digest.h).  A row from before schema step 5
 * has no last attempt: its creation stands in. */
static int64_t retry_due(const struct store_digest_row *row)
{
	if (row->attempts == 0)
		return row->created;
	return (row->last_attempt ? row->last_attempt : row->created) + backoff(row->attempts);
}

/* --dry-run: the message as it would go out, appended to r->out. */
static int show(struct run *r, const struct config_digest *g,
                const struct store_digest_row *row, const char *message_id)
{
	struct window w = {.g = g, .row = *row, .message_id = message_id};
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

/* --- recipients -------------------------------------------------------- */

/* Addresses of one window: those done (sent or refused) or deferred. */
struct addrs {
	char **v;
	size_t n;
	int with_deferred;
};

static void addrs_free(struct addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int addrs_add(struct addrs *a, const char *s)
{
	char **v = realloc(a->v, (a->n + 1) * sizeof *v);

	if (!v)
		return HF_ENOMEM;
	a->v = v;
	if (!(a->v[a->n] = strdup(s)))
		return HF_ENOMEM;
	a->n++;
	return HF_OK;
}

static int addrs_has(const struct addrs *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i], s) == 0)
			return 1;
	return 0;
}

static int collect_done(void *ud, const struct store_digest_rcpt *rc)
{
	struct addrs *a = ud;

	if (rc->state == STORE_RCPT_DEFERRED && !a->with_deferred)
		return HF_OK;
	return addrs_add(a, rc->address);
}

/* The envelope of the next transfer of row `id`: the group's addresses
 * that neither got it nor were refused for good. */
static int envelope(struct run *r, const struct config_digest *g, int64_t id,
                    struct addrs *out)
{
	struct addrs done = {0};
	int rc;

	if ((rc = store_digest_rcpts(r->st, id, NULL, collect_done, &done)))
		goto out;
	for (size_t i = 0; i < g->nto && !rc; i++)
		if (!addrs_has(&done, g->to[i]))
			rc = addrs_add(out, g->to[i]);
out:
	addrs_free(&done);
	return rc;
}

enum outcome { DELIVERED, FAILED, REJECTED };

/*
 * One SMTP transfer of window `w` to its envelope, and each recipient's
 * outcome recorded for row `id`: 250 sent, 4xx deferred (tried again for
 * that address alone), 5xx refused.  *out: DELIVERED when the server
 * took the message for at least one address; REJECTED when it refused
 * the message, or every address, for good (5xx); FAILED otherwise (a
 * retry may succeed).  *per_address: 1 when the outcome was recorded per
 * address (else the caller records it).  `why` gets the reason of a
 * failure.
 */
static int transfer(struct run *r, const struct config_digest *g, struct window *w,
                    int64_t id, enum outcome *out, int *per_address, struct buf *why)
{
	struct mail_outcome res = {0};
	size_t n = w->m.nto, refused = 0;
	int rc, sent;

	*per_address = 0;
	if (!(res.rcpt = calloc(n ? n : 1, sizeof *res.rcpt)))
		return HF_ENOMEM;
	sent = mail_send(&r->cfg->smtp, &w->m, &res, why);
	/* Before anything of the transfer is recorded: a crash here leaves
	 * the outcome unknown (digest.h). */
	if (!sent)
		crash_point("after-send");
	if (sent == HF_ENOMEM) {
		rc = sent;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		refused += res.rcpt[i].code >= 400;
	/* Per address when the message went out, or when every address was
	 * refused at RCPT TO: the outcome is theirs, not the message's. */
	if (!sent || (n && refused == n)) {
		int deferred = 0;
		rc = HF_OK;
		for (size_t i = 0; i < n && !rc; i++) {
			const struct mail_reply *p = &res.rcpt[i];
			enum store_rcpt_state s = p->code >= 500 ? STORE_RCPT_REFUSED
			                        : p->code >= 400 ? STORE_RCPT_DEFERRED : STORE_RCPT_SENT;
			if (s == STORE_RCPT_REFUSED)
				log_error("digest %s: %s refused by the server: %s; the others get it",
				          g->name, w->m.to[i], p->text);
			else if (s == STORE_RCPT_DEFERRED)
				log_warn("digest %s: %s not accepted for now: %s; tried again for this "
				         "address alone", g->name, w->m.to[i], p->text);
			deferred += s == STORE_RCPT_DEFERRED;
			rc = store_digest_rcpt_set(r->st, id, w->m.to[i], s, r->now,
			                           s == STORE_RCPT_SENT ? NULL : p->text);
		}
		if (rc)
			goto done;
		*per_address = 1;
		*out = !sent ? DELIVERED : deferred ? FAILED : REJECTED;
		if (sent && !deferred) {
			buf_clear(why);
			rc = buf_puts(why, "every recipient refused");
		}
		goto done;
	}
	rc = HF_OK;
	*out = res.code >= 500 ? REJECTED : FAILED;
done:
	free(res.rcpt);
	return rc;
}

/* --- delivery ---------------------------------------------------------- */

/* Mark a failed attempt of row `row`: retried later, or (rejected) never,
 * its stories going with the group's next digest. */
static int mark_failure(struct run *r, const struct config_digest *g,
                        const struct store_digest_row *row, enum outcome o, const char *why)
{
	int rc;

	r->stats->failed++;
	if (o == REJECTED) {
		log_error("digest %s: %s refused for good: %s; its stories go with the next "
		          "digest", g->name, row->message_id ? row->message_id : "the digest", why);
		rc = store_digest_mark_rejected(r->st, row->id, why);
	} else {
		struct store_digest_row next = *row;
		char at[21];
		next.attempts++;
		next.last_attempt = r->now;
		norm_date_iso(retry_due(&next), at);
		log_error("digest %s: attempt %d failed: %s; next try not before %s", g->name,
		          next.attempts, why, at);
		rc = store_digest_mark_failed(r->st, row->id, why);
	}
	return rc ? rc : HF_ENET;
}

/* Steps 2-4 for recorded row `row`: build, claim, send, mark. */
static int deliver(struct run *r, const struct config_digest *g,
                   const struct store_digest_row *row)
{
	struct window w = {.g = g, .row = *row, .message_id = row->message_id};
	struct buf why = BUF_INIT, where = BUF_INIT;
	struct addrs env = {0};
	enum outcome o = FAILED;
	int rc, sent;

	if (r->cfg->smtp.present) {
		if ((rc = envelope(r, g, row->id, &env)))
			goto out;
		w.rcpt = (const char *const *)env.v;
		w.nrcpt = env.n;
	}
	if ((rc = build_window(r->cfg, r->st, &w)))
		goto out;
	/* Empty only before any attempt: a window that was tried once keeps
	 * its Message-ID, whatever happened to its items since. */
	if ((!w.c.n && !g->send_empty && row->attempts == 0) ||
	    (r->cfg->smtp.present && !env.n)) {
		if (!(rc = store_digest_mark_sent(r->st, row->id, r->now,
		                                  !w.c.n && row->attempts == 0, NULL,
		                                  (int64_t)(w.c.n + w.c.dropped)))) {
			log_info("digest %s: %s", g->name, w.c.n || g->send_empty
			         ? "every recipient has it already; nothing sent"
			         : "nothing new since the last digest; nothing sent");
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
		int per = 0;
		if ((rc = transfer(r, g, &w, row->id, &o, &per, &why)))
			goto out;
		sent = o == DELIVERED ? HF_OK : HF_ENET;
		if (!sent && (sent = buf_puts(&where, r->cfg->smtp.url)))
			goto out;
	} else {
		sent = mail_spool(r->cfg->spool, w.spool_name, row->message_id, &w.msg, &where);
		if (sent && !why.len)
			(void)buf_printf(&why, "cannot write %s/%s.eml: %s", r->cfg->spool,
			                 w.spool_name, hf_strerror(sent));
		if (sent == HF_ENOMEM) {
			rc = sent;
			goto out;
		}
	}
	if (!sent) {
		if (!r->cfg->smtp.present)
			crash_point("after-send");
		if (!(rc = store_digest_mark_sent(r->st, row->id, r->now, 0, NULL,
		                                  (int64_t)(w.c.n + w.c.dropped)))) {
			log_info("digest %s: %zu stories sent to %s as %s", g->name,
			         w.c.n + w.c.dropped, where.data, row->message_id);
			r->stats->sent++;
		}
		goto out;
	}
	rc = mark_failure(r, g, row, o, why.len ? why.data : hf_strerror(sent));
out:
	window_free(&w);
	addrs_free(&env);
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
		return show(r, g, row, row->message_id);
	if (row->state == STORE_DIGEST_PENDING && row->attempts > 0) {
		/* The process died during a transfer (a live one would hold
		 * the group's lock): delivered or not, nobody knows.  Send once
		 * more (digest.h), never twice. */
		if (row->last_error && strncmp(row->last_error, INTERRUPTED, strlen(INTERRUPTED)) == 0) {
			log_error("digest %s: the transfer of %s was cut off twice; it may have "
			          "arrived and is not sent again", g->name, row->message_id);
			return store_digest_mark_sent(r->st, row->id, 0, 0,
			                              "outcome unknown: two transfers cut off; "
			                              "not sent again", row->item_count);
		}
		log_warn("digest %s: the transfer of %s was cut off; sending it once more",
		         g->name, row->message_id);
		if ((rc = store_digest_note(r->st, row->id,
		                            INTERRUPTED "a transfer was cut off; sent once more")))
			return rc;
	}
	return deliver(r, g, row);
}

/* Deferred recipients (4xx) of the group's windows, retried alone. */
struct deferred {
	int64_t id;
	char *address, *reply;
	int attempts;
	int64_t last_attempt;
};

struct deferreds {
	struct deferred *v;
	size_t n;
};

static int collect_deferred(void *ud, const struct store_digest_rcpt *p)
{
	struct deferreds *d = ud;
	struct deferred *v = realloc(d->v, (d->n + 1) * sizeof *v);

	if (!v)
		return HF_ENOMEM;
	d->v = v;
	v[d->n] = (struct deferred){p->digest_id, strdup(p->address),
	                            p->reply ? strdup(p->reply) : NULL, p->attempts,
	                            p->last_attempt};
	d->n++;
	return v[d->n - 1].address ? HF_OK : HF_ENOMEM;
}

static int retry_deferred(struct run *r, const struct config_digest *g)
{
	struct deferreds d = {0};
	int rc, first = HF_OK;

	if ((rc = store_digest_rcpts(r->st, 0, g->name, collect_deferred, &d)))
		goto out;
	for (size_t i = 0; i < d.n && !first; i++) {
		struct deferred *p = &d.v[i];
		struct store_digest_row row = {0};
		struct window w = {.g = g};
		struct buf why = BUF_INIT;
		const char *one[1] = {p->address};
		enum outcome o = FAILED;
		int per = 0;

		if (r->now < p->last_attempt + backoff(p->attempts) && !(r->flags & DIGEST_SEND_NOW))
			continue;
		if (p->attempts >= DIGEST_RCPT_TRIES) {
			buf_clear(&why);
			if (!(rc = buf_printf(&why, "gave up after %d attempts: %s", p->attempts,
			                      p->reply ? p->reply : "")))
				rc = store_digest_rcpt_set(r->st, p->id, p->address, STORE_RCPT_REFUSED,
				                           r->now, why.data);
			log_error("digest %s: %s: %s", g->name, p->address, buf_str(&why));
			buf_free(&why);
			if (rc)
				first = rc;
			continue;
		}
		if ((rc = store_digest_get(r->st, p->id, &row)) <= 0) {
			first = rc;
			continue;
		}
		w.row = row;
		w.message_id = row.message_id;
		w.rcpt = one;
		w.nrcpt = 1;
		if (!(rc = build_window(r->cfg, r->st, &w)) &&
		    !(rc = transfer(r, g, &w, p->id, &o, &per, &why)) && o == DELIVERED) {
			log_info("digest %s: %s sent to %s on attempt %d", g->name, row.message_id,
			         p->address, p->attempts + 1);
			r->stats->sent++;
		}
		if (!rc && o != DELIVERED)
			r->stats->failed++;
		if (!rc && o != DELIVERED && !per) {
			/* The whole transfer failed: the address waits on. */
			if (o == FAILED && !why.len)
				rc = buf_puts(&why, "transfer failed");
			if (!rc)
				rc = store_digest_rcpt_set(r->st, p->id, p->address, o == REJECTED
				                           ? STORE_RCPT_REFUSED : STORE_RCPT_DEFERRED,
				                           r->now, why.len ? why.data : NULL);
		}
		window_free(&w);
		store_digest_row_clear(&row);
		buf_free(&why);
		if (rc)
			first = rc;
	}
	rc = first;
out:
	for (size_t i = 0; i < d.n; i++) {
		free(d.v[i].address);
		free(d.v[i].reply);
	}
	free(d.v);
	return rc;
}

/* --- across processes -------------------------------------------------- */

/* Hold the group's lock, DATABASE.digest-GROUP.lock, for the whole of its
 * run: another helsefeed process (the daemon and a `digest` by hand)
 * leaves the group alone meanwhile, and the kernel lets go of it when
 * the process dies, however it dies.  *fd: the lock, -1 when another
 * process holds it.  Returns 0, HF_EIO. */
static int group_lock(const struct config *cfg, const struct config_digest *g, int *fd)
{
	struct buf path = BUF_INIT;
	int rc = HF_OK, f = -1;

	*fd = -1;
	if ((rc = buf_printf(&path, "%s.digest-%s.lock", cfg->database, g->name)))
		return rc;
	if ((f = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		log_error("digest %s: %s: cannot open: %s", g->name, path.data, strerror(errno));
		rc = HF_EIO;
		goto out;
	}
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			log_error("digest %s: %s: cannot lock: %s", g->name, path.data, strerror(errno));
			rc = HF_EIO;
		}
		close(f);
		goto out;
	}
	*fd = f;
out:
	buf_free(&path);
	return rc;
}

/* --- a group's run ----------------------------------------------------- */

/* Where the group's next window starts: after its last one, or where a
 * rejected one started (its stories come along); for a group without a
 * window, at the scheduled send before its first (`first`). */
static void next_start(const struct store_digest_row *last, int have, int64_t first_start,
                       int64_t first_from, int64_t *start, int64_t *from)
{
	if (!have) {
		*start = first_start;
		*from = first_from;
	} else if (last->state == STORE_DIGEST_REJECTED) {
		*start = last->window_start;
		*from = last->item_from;
	} else {
		*start = last->window_end;
		*from = last->item_upto;
	}
}

static int run_group(struct run *r, const struct config_digest *g)
{
	struct store_digest_row last = {0}, row = {0};
	struct store_digest_new nw;
	struct buf id = BUF_INIT;
	int64_t start, from, due, created = r->now, mark = 0, first_start = 0, first_from = -1;
	int have, rc, immediate = g->frequency == CONFIG_IMMEDIATE;

	if ((have = store_digest_latest(r->st, g->name, &last)) < 0)
		return have;
	rc = HF_OK;
	if (!(r->flags & DIGEST_DRY_RUN) && (rc = retry_deferred(r, g)))
		goto out;
	if (have && (last.state == STORE_DIGEST_PENDING || last.state == STORE_DIGEST_FAILED)) {
		/* One window at a time: the next opens once this one is out. */
		rc = settle(r, g, &last);
		goto out;
	}
	/* A group helsefeed meets for the first time starts its schedule
	 * now: its first digest goes out at its first send time, never at
	 * once, with that day's (week's) news. */
	if (!have && !(r->flags & DIGEST_DRY_RUN) &&
	    (rc = store_digest_group(r->st, g->name, r->now, &created, &mark)))
		goto out;
	if (!have && (r->flags & DIGEST_DRY_RUN) &&
	    ((rc = store_digest_group_created(r->st, g->name, &created)) ||
	     (rc = store_digest_item_mark(r->st, &mark))))
		goto out;
	if (!created)
		created = r->now;
	if (!have && !immediate) {
		if ((rc = digest_next_send(g, created, &due)) || (rc = prev_send(g, due, &first_start)))
			goto out;
	} else if (!have) {
		first_start = created;
		first_from = mark;
	}
	next_start(&last, have, first_start, first_from, &start, &from);
	if (r->flags & DIGEST_SEND_NOW) {
		if (r->now - start < DIGEST_MIN_WINDOW_S && !(have && last.state == STORE_DIGEST_REJECTED)) {
			log_info("digest %s: the last digest closed less than %d s ago; nothing to send",
			         g->name, DIGEST_MIN_WINDOW_S);
			goto out;
		}
	} else if (!immediate) {
		if ((rc = digest_next_send(g, have ? last.window_end : created, &due)))
			goto out;
		if (due > r->now) {
			r->stats->waiting++;
			goto out;
		}
	}
	if ((rc = new_message_id(r->cfg, g, start, &id)))
		goto out;
	if (from < 0 && (rc = store_digest_item_before(r->st, start, &from)))
		goto out;
	row.window_start = start;
	row.window_end = r->now;
	row.item_from = from;
	row.message_id = id.data;
	row.created = r->now;
	row.kind = r->flags & DIGEST_SEND_NOW ? STORE_DIGEST_NOW
	         : immediate ? STORE_DIGEST_IMMEDIATE : STORE_DIGEST_SCHEDULED;
	if ((rc = store_digest_item_mark(r->st, &row.item_upto)))
		goto out;
	if (immediate) {
		/* Every cycle looks; a row only when there is news for the
		 * group, or the table would fill with empty windows. */
		struct window w = {.g = g, .row = row, .message_id = id.data};
		size_t n;
		w.c.cfg = r->cfg;
		w.c.g = g;
		rc = content_load(&w.c, r->st, &w.row);
		n = w.c.n;
		window_free(&w);
		if (rc || !n)
			goto out;
	}
	if (r->flags & DIGEST_DRY_RUN) {
		rc = show(r, g, &row, id.data);
		goto out;
	}
	/* Step 1. */
	nw = (struct store_digest_new){g->name, row.kind, start, r->now, r->now, id.data,
	                               have ? last.id : 0, from, start,
	                               immediate ? row.item_upto : -1, 0};
	if ((rc = store_digest_record(r->st, &nw, &row.id)) <= 0) {
		if (rc == 0)
			log_warn("digest %s: the window was recorded by another run", g->name);
		goto out;
	}
	crash_point("after-record");
	/* Read back: the item range is the one the record fixed. */
	store_digest_row_clear(&last);
	if ((rc = store_digest_get(r->st, row.id, &last)) > 0)
		rc = deliver(r, g, &last);
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
		int grc, fd = -1;

		if (group && strcmp(group, g->name) != 0)
			continue;
		found = 1;
		/* A dry run writes nothing and needs no lock. */
		if (!(flags & DIGEST_DRY_RUN)) {
			if ((grc = group_lock(cfg, g, &fd)))
				goto next;
			if (fd < 0) {
				log_info("digest %s: another helsefeed process is sending it; "
				         "left to that one", g->name);
				r.stats->waiting++;
				continue;
			}
		}
		/* Each group on its own: one bad group stops no other. */
		grc = run_group(&r, g);
		if (fd >= 0)
			close(fd); /* lets go of the lock */
next:
		if (grc && (!rc || (rc == HF_ENET && grc != HF_ENET)))
			rc = grc;
	}
	if (group && !found) {
		log_error("digest: no [digest %s] in the configuration", group);
		return HF_EINVAL;
	}
	return rc;
}

int digest_resend(const struct config *cfg, struct store *st, int64_t now, int64_t id,
                  struct digest_stats *stats)
{
	struct digest_stats dummy = {0};
	struct run r = {cfg, st, now, 0, NULL, stats ? stats : &dummy, 0};
	struct store_digest_row old = {0}, row = {0};
	const struct config_digest *g = NULL;
	struct store_digest_new nw;
	struct buf mid = BUF_INIT;
	int rc, fd = -1;

	if ((rc = store_digest_get(st, id, &old)) <= 0) {
		if (rc == 0) {
			log_error("digest: no digest %lld; see digest --list", (long long)id);
			rc = HF_EINVAL;
		}
		goto out;
	}
	for (size_t i = 0; i < cfg->ndigests; i++)
		if (strcmp(cfg->digests[i].name, old.group) == 0)
			g = &cfg->digests[i];
	if (!g) {
		log_error("digest %lld: its group '%s' is no longer in the configuration",
		          (long long)id, old.group);
		rc = HF_EINVAL;
		goto out;
	}
	if ((rc = group_lock(cfg, g, &fd)))
		goto out;
	if (fd < 0) {
		log_error("digest %s: another helsefeed process is sending it; try again later",
		          g->name);
		rc = HF_ENET;
		goto out;
	}
	/* The same window and items, a new Message-ID: mail clients would
	 * drop a copy with the old one as a duplicate. */
	if ((rc = new_message_id(cfg, g, old.window_start, &mid)))
		goto out;
	nw = (struct store_digest_new){g->name, STORE_DIGEST_RESEND, old.window_start,
	                               old.window_end, now, mid.data, 0,
	                               old.item_from, old.window_start, old.item_upto, old.id};
	if ((rc = store_digest_record(st, &nw, &row.id)) <= 0)
		goto out;
	store_digest_row_clear(&old);
	if ((rc = store_digest_get(st, row.id, &old)) <= 0)
		goto out;
	/* A resend of a schema-8 row keeps its time range. */
	rc = deliver(&r, g, &old);
	if (!rc)
		log_info("digest %s: digest %lld resent as %s", g->name, (long long)id, mid.data);
out:
	if (fd >= 0)
		close(fd);
	store_digest_row_clear(&old);
	buf_free(&mid);
	return rc;
}

/* --- status ------------------------------------------------------------ */

static int collect_problem(void *ud, const struct store_digest_rcpt *p)
{
	struct buf *b = ud;

	if (p->state == STORE_RCPT_SENT)
		return HF_OK;
	return buf_printf(b, "%s%s %s: %s", b->len ? "\n" : "", p->address,
	                  p->state == STORE_RCPT_REFUSED ? "refused" : "deferred",
	                  p->reply ? p->reply : "");
}

/* The newest window that went to any address: whose recipients status
 * shows (an empty window since does not hide a refusal). */
static int last_transfer(void *ud, const struct store_digest_row *r)
{
	int64_t *id = ud;

	if (*id < 0 && r->nsent + r->ndeferred + r->nrefused > 0)
		*id = r->id;
	return HF_OK;
}

void digest_group_status_clear(struct digest_group_status *s)
{
	free(s->last_error);
	free(s->recipients);
	memset(s, 0, sizeof *s);
}

int digest_group_status(const struct config *cfg, struct store *st,
                        const struct config_digest *g, int64_t now,
                        struct digest_group_status *out)
{
	struct store_digest_row last = {0};
	struct digest_group_status s = {0};
	struct buf probs = BUF_INIT;
	int64_t created = 0, base, limit, tid = -1;
	int have, rc;

	(void)cfg;
	s.group = g;
	if ((have = store_digest_latest(st, g->name, &last)) < 0)
		return have;
	if ((rc = store_digest_last_success(st, g->name, &s.last_success)) ||
	    (rc = store_digest_list(st, g->name, DIGEST_STATUS_WINDOWS, last_transfer, &tid)) ||
	    (rc = store_digest_rcpts(st, tid, g->name, collect_problem, &probs)))
		goto out;
	if (have) {
		s.state = last.state;
		s.has_window = 1;
		if (last.last_error && !(s.last_error = strdup(last.last_error)))
			rc = HF_ENOMEM;
	}
	if (!rc && probs.len && !(s.recipients = buf_detach(&probs)))
		rc = HF_ENOMEM;
	if (rc)
		goto out;
	if ((rc = store_digest_group_created(st, g->name, &created)))
		goto out;
	if (!created)
		created = now;
	/* A group met and not yet sent: its first send time, even past. */
	if (have && last.state == STORE_DIGEST_FAILED)
		s.next_due = retry_due(&last);
	else if (g->frequency != CONFIG_IMMEDIATE &&
	         digest_next_send(g, have ? last.window_end : created, &s.next_due))
		s.next_due = 0;
	/* GOV.UK's delivery check: a day and two hours without a digest (a
	 * week and a day for a weekly group) is overdue.  Counted from the
	 * group's first run while it has none. */
	base = s.last_success > created ? s.last_success : created;
	limit = g->frequency == CONFIG_WEEKLY ? DIGEST_OVERDUE_WEEKLY_S : DIGEST_OVERDUE_DAILY_S;
	s.overdue = g->frequency != CONFIG_IMMEDIATE && now - base > limit;
	*out = s;
	s = (struct digest_group_status){0};
out:
	digest_group_status_clear(&s);
	store_digest_row_clear(&last);
	buf_free(&probs);
	return rc;
}

int digest_status_all(const struct config *cfg, struct store *st, int64_t now,
                      struct digest_group_status **out, size_t *n)
{
	struct digest_group_status *v = NULL;
	int rc = HF_OK;

	if (cfg->ndigests && !(v = calloc(cfg->ndigests, sizeof *v)))
		return HF_ENOMEM;
	for (size_t i = 0; i < cfg->ndigests && !rc; i++)
		rc = digest_group_status(cfg, st, &cfg->digests[i], now, &v[i]);
	if (rc) {
		digest_status_free(v, cfg->ndigests);
		return rc;
	}
	*out = v;
	*n = cfg->ndigests;
	return HF_OK;
}

void digest_status_free(struct digest_group_status *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		digest_group_status_clear(&v[i]);
	free(v);
}

static const char *const freq_words[] = {"daily", "weekly", "immediate"};

/* One word for a group: overdue, failed (retried), rejected, ok, new. */
static const char *group_word(const struct digest_group_status *s)
{
	if (s->overdue)
		return "overdue";
	if (!s->has_window)
		return "new";
	if (s->state == STORE_DIGEST_REJECTED)
		return "rejected";
	if (s->state == STORE_DIGEST_FAILED)
		return "failing";
	if (s->recipients)
		return "recipients";
	return "ok";
}

const char *digest_status_word(const struct digest_group_status *s)
{
	return group_word(s);
}

void digest_status_json(struct json *j, const struct digest_group_status *v, size_t n)
{
	json_key(j, "digests");
	json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		const struct digest_group_status *s = &v[i];
		json_begin_object(j);
		json_key(j, "group");
		json_str(j, s->group->name);
		json_key(j, "title");
		json_str(j, s->group->title);
		json_key(j, "frequency");
		json_str(j, freq_words[s->group->frequency]);
		json_key(j, "state");
		json_str(j, group_word(s));
		json_key(j, "last_window");
		json_str(j, s->has_window ? store_digest_state_name(s->state) : NULL);
		json_time(j, "last_success", s->last_success, 0);
		json_time(j, "next_due", s->next_due, 0);
		json_key(j, "overdue");
		json_bool(j, s->overdue);
		json_key(j, "last_error");
		json_str(j, s->last_error);
		json_key(j, "recipients");
		json_begin_array(j);
		for (const char *p = s->recipients; p && *p;) {
			size_t len = strcspn(p, "\n");
			json_string(j, p, len);
			p += len + (p[len] == '\n');
		}
		json_end_array(j);
		json_end_object(j);
	}
	json_end_array(j);
}

/* The table's words, in the language of the rest of `status`. */
static const char *const freq_words_nb[] = {"daglig", "ukentlig", "straks"};
static const struct {
	const char *word, *nb;
} state_words_nb[] = {
	{"overdue", "forsinket"}, {"new", "ny"}, {"rejected", "avvist"},
	{"failing", "feiler"}, {"recipients", "mottaker-avvist"}, {"ok", "OK"},
};

void digest_status_print(FILE *f, const struct digest_group_status *v, size_t n)
{
	if (!n)
		return;
	fprintf(f, "\n%-16s %-9s %-16s %-20s %-20s %s\n", "E-POSTLISTE", "HYPPIGHET",
	        "TILSTAND", "SIST SENDT", "NESTE", "MERKNAD");
	for (size_t i = 0; i < n; i++) {
		const struct digest_group_status *s = &v[i];
		const char *w = group_word(s);
		char a[32] = "aldri", b[32] = "-";
		struct tz *tz = NULL;

		for (size_t k = 0; k < sizeof state_words_nb / sizeof *state_words_nb; k++)
			if (!strcmp(state_words_nb[k].word, w))
				w = state_words_nb[k].nb;
		/* The group's own zone, as its send times are read; config_load
		 * checked it, so a failure here leaves UTC. */
		if (!s->group->timezone || tz_open(s->group->timezone, &tz, NULL))
			tz = NULL;
		if (s->last_success && (!tz || tz_format(tz, s->last_success, "%Y-%m-%d %H:%M",
		                                         a, sizeof a)))
			norm_date_iso(s->last_success, a);
		if (s->next_due && (!tz || tz_format(tz, s->next_due, "%Y-%m-%d %H:%M", b,
		                                     sizeof b)))
			norm_date_iso(s->next_due, b);
		tz_free(tz);
		fprintf(f, "%-16s %-9s %-16s %-20s %-20s %s%s\n", s->group->name,
		        freq_words_nb[s->group->frequency], w, a, b,
		        s->overdue ? "FORSINKET: " : "", s->last_error ? s->last_error : "");
		for (const char *p = s->recipients; p && *p;) {
			size_t len = strcspn(p, "\n");
			fprintf(f, "%-16s   %.*s\n", "", (int)len, p);
			p += len + (p[len] == '\n');
		}
	}
}
