/*
 * date.c - dates as feeds write them; see text.h.
 *
 * One small hand-written scanner instead of curl_getdate(): curl_getdate
 * reads a date without zone as GMT, does not know CEST and accepts
 * leftovers, while we must read "23. mai 2022 10:00" as Oslo time and
 * reject anything we did not understand completely.
 *
 * A date without zone is local time, converted by the tz module from the
 * system's zoneinfo: no rule of our own, no TZ swapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/text.h"

#define DAY 86400

struct dt {
	int y, mon, d, h, mi, s;
	int have_zone;
	long off; /* seconds east of UTC */
};

static int mdays(int y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
	                                       31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Wall-clock time in zone `name` (NULL: Europe/Oslo) -> UTC, with the
 * gap and overlap rules of tz_from_local, which text.h promises. */
static int local_to_utc(const char *name, const struct dt *t, int64_t *out)
{
	struct tm tm = {.tm_year = t->y - 1900, .tm_mon = t->mon - 1, .tm_mday = t->d,
	                .tm_hour = t->h, .tm_min = t->mi, .tm_sec = t->s};
	struct tz *tz = NULL;
	int rc;

	if ((rc = tz_open(name && *name ? name : "Europe/Oslo", &tz, NULL)))
		return rc == HF_ENOMEM ? rc : HF_EINVAL;
	*out = tz_from_local(tz, &tm, 0);
	tz_free(tz);
	return 0;
}

/* --- words ------------------------------------------------------------- */

struct word {
	const char *w;
	int v;
};

/* Months, English and Norwegian (bokmål and nynorsk agree). */
static const struct word months[] = {
	{"apr", 4}, {"april", 4}, {"aug", 8}, {"august", 8}, {"dec", 12},
	{"december", 12}, {"des", 12}, {"desember", 12}, {"feb", 2},
	{"februar", 2}, {"february", 2}, {"jan", 1}, {"januar", 1},
	{"january", 1}, {"jul", 7}, {"juli", 7}, {"july", 7}, {"jun", 6},
	{"june", 6}, {"juni", 6}, {"mai", 5}, {"mar", 3}, {"march", 3},
	{"mars", 3}, {"may", 5}, {"nov", 11}, {"november", 11}, {"oct", 10},
	{"october", 10}, {"okt", 10}, {"oktober", 10}, {"sep", 9},
	{"sept", 9}, {"september", 9},
};

/* Weekdays are skipped, never checked: feeds get them wrong.  Norwegian
 * calendars and Outlook abbreviate them to two letters ("ti, 04 jun"). */
static const struct word weekdays[] = {
	{"fr", 5}, {"fre", 5}, {"fredag", 5}, {"fri", 5}, {"friday", 5},
	{"laurdag", 6}, {"l\xc3\xb8", 6}, {"l\xc3\xb8r", 6}, {"l\xc3\xb8rdag", 6},
	{"ma", 1}, {"man", 1}, {"mandag", 1}, {"mon", 1}, {"monday", 1},
	{"m\xc3\xa5ndag", 1}, {"on", 3}, {"ons", 3}, {"onsdag", 3}, {"sat", 6},
	{"saturday", 6}, {"sun", 0}, {"sundag", 0}, {"sunday", 0},
	{"s\xc3\xb8", 0}, {"s\xc3\xb8n", 0}, {"s\xc3\xb8ndag", 0}, {"thu", 4},
	{"thur", 4}, {"thurs", 4}, {"thursday", 4}, {"ti", 2}, {"tir", 2},
	{"tirsdag", 2}, {"to", 4}, {"tor", 4}, {"torsdag", 4}, {"tue", 2},
	{"tues", 2}, {"tuesday", 2}, {"tys", 2}, {"tysdag", 2}, {"wed", 3},
	{"wednesday", 3},
};

/* Zone names, hours east.  US names as RFC 822 5.1 defines them; the
 * European ones are what Norwegian CMSs print. */
static const struct word zonenames[] = {
	{"akdt", -8}, {"akst", -9}, {"bst", 1}, {"cdt", -5}, {"cest", 2},
	{"cet", 1}, {"cst", -6}, {"edt", -4}, {"eest", 3}, {"eet", 2},
	{"est", -5}, {"gmt", 0}, {"hst", -10}, {"mdt", -6}, {"mest", 2},
	{"met", 1}, {"mst", -7}, {"pdt", -7}, {"pst", -8}, {"ut", 0},
	{"utc", 0}, {"west", 1}, {"wet", 0}, {"z", 0},
};

static int word_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct word *)elem)->w);
}

static int lookup(const struct word *tab, size_t n, const char *w, int *v)
{
	const struct word *e = bsearch(w, tab, n, sizeof(*tab), word_cmp);

	if (!e)
		return 0;
	*v = e->v;
	return 1;
}

#define LOOKUP(tab, w, v) lookup(tab, sizeof(tab) / sizeof(tab[0]), w, v)

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Read a word, lower-cased (ASCII, and Æ Ø Å), into w[16].  0 if none or
 * too long to be a month, weekday or zone. */
static int read_word(const char **pp, char w[16])
{
	const unsigned char *p = (const unsigned char *)*pp;
	size_t n = 0;

	while (is_alpha(*p)) {
		unsigned char c = *p++;
		if (n == 15)
			return 0;
		if (c >= 'A' && c <= 'Z')
			c += 32;
		else if (n > 0 && (unsigned char)w[n - 1] == 0xc3 && c >= 0x80 && c <= 0x9e)
			c += 0x20; /* U+00C0..U+00DE -> lower case */
		w[n++] = (char)c;
	}
	w[n] = '\0';
	*pp = (const char *)p;
	return n > 0;
}

/* Read 1..max digits; returns the digit count (0: none or too many). */
static int read_num(const char **pp, int max, int *v)
{
	const char *p = *pp;
	int n = 0, x = 0;

	while (is_digit(*p)) {
		if (++n > max)
			return 0;
		x = x * 10 + (*p++ - '0');
	}
	*v = x;
	*pp = p;
	return n;
}

/* RFC 2822 4.3: two-digit years below 50 are 20xx, others 19xx; three
 * digits are added to 1900. */
static int fix_year(int y, int digits)
{
	if (digits == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (digits == 3)
		return 1900 + y;
	return digits == 4 ? y : -1;
}

/* hh:mm[:ss[.frac]]; with `dot`, "10.00" (Norwegian "kl. 10.00") too. */
static int read_time(const char **pp, struct dt *t, int dot)
{
	const char *p = *pp;
	char sep;

	if (read_num(&p, 2, &t->h) == 0)
		return HF_EINVAL;
	sep = *p;
	if (sep != ':' && !(dot && sep == '.'))
		return HF_EINVAL;
	p++;
	if (read_num(&p, 2, &t->mi) != 2)
		return HF_EINVAL;
	if (*p == sep && is_digit(p[1])) {
		p++;
		if (read_num(&p, 2, &t->s) != 2)
			return HF_EINVAL;
		if ((*p == '.' || *p == ',') && is_digit(p[1])) {
			p++;
			while (is_digit(*p))
				p++; /* fractions are dropped */
		}
	}
	*pp = p;
	return 0;
}

/* +hhmm, +hh:mm, +hh. */
static int read_offset(const char **pp, long *off)
{
	const char *p = *pp;
	int sign = *p == '-' ? -1 : 1, h, m = 0, n;

	p++;
	n = read_num(&p, 4, &h);
	if (n == 4) {
		m = h % 100;
		h /= 100;
	} else if (n == 2 || n == 1) {
		if (*p == ':') {
			p++;
			if (read_num(&p, 2, &m) != 2)
				return HF_EINVAL;
		}
	} else {
		return HF_EINVAL;
	}
	if (h > 23 || m > 59)
		return HF_EINVAL;
	*off = sign * (h * 3600L + m * 60L);
	*pp = p;
	return 0;
}

/* An optional zone, an optional "(comment)", then the end. */
static int read_zone_end(const char *p, struct dt *t)
{
	char w[16];
	int v = -1;

	p = skip_ws(p);
	if (*p == '+' || *p == '-') {
		if (read_offset(&p, &t->off))
			return HF_EINVAL;
		t->have_zone = 1;
	} else if (is_alpha((unsigned char)*p)) {
		if (!read_word(&p, w))
			return HF_EINVAL;
		if (LOOKUP(zonenames, w, &v)) {
			t->off = v * 3600L;
		} else if (w[1] == '\0' && w[0] != 'j') {
			/* RFC 2822 4.3: military zones are unreliable (RFC 822 got
			 * their signs wrong) and mean -0000, i.e. UTC. */
			t->off = 0;
		} else {
			return HF_EINVAL;
		}
		t->have_zone = 1;
		/* "GMT+0200", "UTC+02:00" */
		if ((*p == '+' || *p == '-') && (v == 0 || w[1] == '\0')) {
			long off;
			if (read_offset(&p, &off))
				return HF_EINVAL;
			t->off += off;
		}
	}
	p = skip_ws(p);
	if (*p == '(') {
		/* RFC 2822 comment, e.g. "+0200 (CEST)": no nesting needed. */
		p = strchr(p, ')');
		if (!p)
			return HF_EINVAL;
		p = skip_ws(p + 1);
	}
	return *p == '\0' ? 0 : HF_EINVAL;
}

/* After the date: [","] ["kl" ["."]] [time] [zone]. */
static int read_tail(const char *p, struct dt *t)
{
	int dot = 0;

	p = skip_ws(p);
	if (*p == ',')
		p = skip_ws(p + 1);
	if ((p[0] == 'k' || p[0] == 'K') && (p[1] == 'l' || p[1] == 'L') && !is_alpha((unsigned char)p[2])) {
		p += 2;
		if (*p == '.')
			p++;
		p = skip_ws(p);
		dot = 1;
	}
	if (is_digit(*p)) {
		if (read_time(&p, t, dot))
			return HF_EINVAL;
	} else if (dot) {
		return HF_EINVAL;
	}
	return read_zone_end(p, t);
}

/* RFC 3339 / ISO 8601 after "YYYY". */
static int read_iso(const char *p, struct dt *t)
{
	if (*p++ != '-' || read_num(&p, 2, &t->mon) != 2 || *p++ != '-' ||
	    read_num(&p, 2, &t->d) != 2)
		return HF_EINVAL;
	if ((*p == 'T' || *p == 't' || *p == ' ') && is_digit(p[1])) {
		p++;
		if (read_time(&p, t, 0))
			return HF_EINVAL;
		if (*p == 'Z' || *p == 'z') {
			t->have_zone = 1;
			p++;
		}
	}
	return read_zone_end(p, t);
}

/* "23 May 2022", "23. mai 2022", "23-May-2022": day already read. */
static int read_dmy(const char *p, struct dt *t)
{
	char w[16];
	int n;

	if (*p == '.')
		p++;
	p = skip_ws(p);
	if (*p == '-')
		p++;
	if (!read_word(&p, w) || !LOOKUP(months, w, &t->mon))
		return HF_EINVAL;
	if (*p == '.')
		p++;
	if (*p == '-')
		p++;
	p = skip_ws(p);
	if (*p == ',')
		p = skip_ws(p + 1);
	n = read_num(&p, 4, &t->y);
	if ((t->y = fix_year(t->y, n)) < 0)
		return HF_EINVAL;
	return read_tail(p, t);
}

/* "May 23, 2022 10:00" and asctime "May 23 10:00:00 2022": month read. */
static int read_mdy(const char *p, struct dt *t)
{
	int n;

	if (*p == '.')
		p++;
	p = skip_ws(p);
	if (read_num(&p, 2, &t->d) == 0)
		return HF_EINVAL;
	p = skip_ws(p);
	if (*p == ',')
		p = skip_ws(p + 1);
	if (is_digit(*p) && (p[1] == ':' || (is_digit(p[1]) && p[2] == ':'))) {
		/* asctime: the year comes last, after time and maybe a zone */
		const char *q;
		if (read_time(&p, t, 0))
			return HF_EINVAL;
		p = skip_ws(p);
		q = p;
		while (*q && !is_digit(*q))
			q++;
		if (q > p) {
			char w[16];
			int v;
			if (!read_word(&p, w) || !LOOKUP(zonenames, w, &v))
				return HF_EINVAL;
			t->have_zone = 1;
			t->off = v * 3600L;
			p = skip_ws(p);
		}
		n = read_num(&p, 4, &t->y);
		if ((t->y = fix_year(t->y, n)) < 0)
			return HF_EINVAL;
		p = skip_ws(p);
		return *p == '\0' ? 0 : HF_EINVAL;
	}
	n = read_num(&p, 4, &t->y);
	if ((t->y = fix_year(t->y, n)) < 0)
		return HF_EINVAL;
	return read_tail(p, t);
}

static int parse(const char *p, struct dt *t)
{
	char w[16];
	int v, n;

	p = skip_ws(p);
	if (is_alpha((unsigned char)*p)) {
		if (!read_word(&p, w))
			return HF_EINVAL;
		if (LOOKUP(weekdays, w, &v)) {
			if (*p == '.')
				p++;
			p = skip_ws(p);
			if (*p == ',')
				p = skip_ws(p + 1);
			if (is_alpha((unsigned char)*p)) {
				if (!read_word(&p, w) || !LOOKUP(months, w, &t->mon))
					return HF_EINVAL;
				return read_mdy(p, t);
			}
		} else if (LOOKUP(months, w, &t->mon)) {
			return read_mdy(p, t);
		} else {
			return HF_EINVAL;
		}
	}
	n = read_num(&p, 4, &v);
	if (n == 4 && *p == '-') {
		t->y = v;
		return read_iso(p, t);
	}
	if (n == 0 || n > 2)
		return HF_EINVAL;
	t->d = v;
	if (*p == '.' && is_digit(p[1])) {
		/* Norwegian "23.05.2022" */
		p++;
		if (read_num(&p, 2, &t->mon) == 0 || *p++ != '.')
			return HF_EINVAL;
		n = read_num(&p, 4, &t->y);
		if ((t->y = fix_year(t->y, n)) < 0)
			return HF_EINVAL;
		return read_tail(p, t);
	}
	return read_dmy(p, t);
}

int norm_date(const char *s, const char *tz, int64_t *out)
{
	struct dt t;
	int64_t r;
	int rc;

	if (!s)
		return HF_EINVAL;
	memset(&t, 0, sizeof(t));
	rc = parse(s, &t);
	if (rc)
		return rc;
	/* Years outside 1900..9999 are typos or garbage, never news. */
	if (t.y < 1900 || t.y > 9999 || t.mon < 1 || t.mon > 12 || t.d < 1 ||
	    t.d > mdays(t.y, t.mon) || t.h > 23 || t.mi > 59 || t.s > 60)
		return HF_EINVAL;
	if (t.have_zone) {
		r = tz_days_from_civil(t.y, t.mon, t.d) * DAY + t.h * 3600 + t.mi * 60 + t.s - t.off;
	} else {
		rc = local_to_utc(tz, &t, &r);
		if (rc)
			return rc;
	}
	*out = r;
	return 0;
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void norm_date_iso(int64_t t, char out[21])
{
	/* Clamp to what four year digits can hold. */
	const int64_t lo = tz_days_from_civil(0, 1, 1) * DAY;
	const int64_t hi = tz_days_from_civil(10000, 1, 1) * DAY - 1;
	int64_t days, y, rem;
	int m, d;

	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	days = t >= 0 ? t / DAY : (t - DAY + 1) / DAY;
	rem = t - days * DAY;
	tz_civil_from_days(days, &y, &m, &d);
	put2(out, (int)(y / 100));
	put2(out + 2, (int)(y % 100));
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, (int)(rem / 3600));
	out[13] = ':';
	put2(out + 14, (int)(rem / 60 % 60));
	out[16] = ':';
	put2(out + 17, (int)(rem % 60));
	out[19] = 'Z';
	out[20] = '\0';
}
