/*
 * tz.c - time zones from TZif files (RFC 8536); see text.h.
 *
 * The reader takes the 64-bit (version 2+) data block, or the 32-bit one
 * of a version 1 file, and the footer's POSIX TZ rule (POSIX.1-2017 8.3,
 * with RFC 8536 3.3.1's extensions), which answers for every instant
 * after the last transition: Debian's tzdata may ship "slim" files whose
 * table stops at the last rule change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helsefeed/limits.h"
#include "helsefeed/text.h"

#define DAY 86400
/* The footer's rule is evaluated within +-2^59 s (18 billion years): no
 * calendar arithmetic below can overflow there. */
#define RULE_T_MAX ((int64_t)1 << 59)
/* RFC 8536 3.2: utoff SHOULD be in -89999..93599 (-24:59:59..25:59:59). */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599

struct ttype {
	long utoff;
	int isdst;
	unsigned abbr;             /* index into chars */
};

/* One end of summer time in a POSIX rule: a day and a local time. */
struct when {
	char kind;                 /* 'J' (Jn), 'D' (n), 'M' (Mm.w.d) */
	int n, m, w, d;
	long secs;                 /* local time of day, may exceed a day */
};

struct rule {
	char std_abbr[HF_TZ_MAX_FOOTER], dst_abbr[HF_TZ_MAX_FOOTER];
	long std_off, dst_off;     /* seconds east */
	int has_dst;
	struct when start, end;
};

struct tz {
	char *name;
	size_t ntimes, ntypes;
	int64_t *times;
	unsigned char *idx;
	struct ttype *types;
	char *chars;
	int has_rule;
	struct rule rule;
};

/* --- calendar (proleptic Gregorian, Howard Hinnant's algorithms) ------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
	                                       31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* --- the POSIX TZ rule of the footer ----------------------------------- */

/* Day (since the epoch) of `w` in year y. */
static int64_t rule_day(const struct when *w, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1), first;
	int day;

	switch (w->kind) {
	case 'J': /* 1..365, February 29 never counted */
		return jan1 + w->n - 1 + (is_leap(y) && w->n >= 60);
	case 'D': /* 0..365, February 29 counted */
		return jan1 + w->n;
	default: /* day d (0 = Sunday) of week w (5 = last) of month m */
		first = tz_days_from_civil(y, w->m, 1);
		/* 1970-01-01 was a Thursday (4). */
		day = 1 + (int)(((w->d - (first + 4) % 7) % 7 + 14) % 7) + 7 * (w->w - 1);
		while (day > month_days(y, w->m))
			day -= 7;
		return first + day - 1;
	}
}

static void rule_info(const struct tz *tz, int64_t t, struct tz_info *out)
{
	const struct rule *r = &tz->rule;
	int64_t y, s, e;
	int m, d, dst;

	if (r->has_dst) {
		if (t > RULE_T_MAX)
			t = RULE_T_MAX;
		if (t < -RULE_T_MAX)
			t = -RULE_T_MAX;
		tz_civil_from_days(floor_div(t + r->std_off, DAY), &y, &m, &d);
		/* The start is given in standard time, the end in summer time. */
		s = rule_day(&r->start, y) * DAY + r->start.secs - r->std_off;
		e = rule_day(&r->end, y) * DAY + r->end.secs - r->dst_off;
		dst = s < e ? t >= s && t < e : !(t >= e && t < s);
	} else {
		dst = 0;
	}
	out->utoff = dst ? r->dst_off : r->std_off;
	out->isdst = dst;
	out->abbr = dst ? r->dst_abbr : r->std_abbr;
}

/* [+-]hh[:mm[:ss]], hh at most `hmax`.  NULL when malformed. */
static const char *rule_secs(const char *p, int hmax, long *out)
{
	long sign = 1, v[3] = {0, 0, 0};
	int i;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		int digits = 0;
		if (i && *p != ':')
			break;
		if (i)
			p++;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			v[i] = v[i] * 10 + (*p++ - '0');
			digits++;
		}
		if (!digits || (i && (digits != 2 || v[i] > 59)))
			return NULL;
	}
	if (v[0] > hmax)
		return NULL;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

/* An abbreviation: three or more letters, or <...> of letters, digits,
 * '+' and '-'. */
static const char *rule_abbr(const char *p, char *out)
{
	size_t n = 0;

	if (*p == '<') {
		for (p++; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		          (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'; p++)
			out[n++] = *p;
		if (*p++ != '>')
			return NULL;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			out[n++] = *p++;
	}
	out[n] = '\0';
	return n >= 3 ? p : NULL;
}

static const char *rule_num(const char *p, int lo, int hi, int *out)
{
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

/* ",date[/time]" */
static const char *rule_when(const char *p, struct when *w)
{
	if (*p++ != ',')
		return NULL;
	w->kind = *p == 'J' || *p == 'M' ? *p++ : 'D';
	if (w->kind == 'J')
		p = rule_num(p, 1, 365, &w->n);
	else if (w->kind == 'D')
		p = rule_num(p, 0, 365, &w->n);
	else if ((p = rule_num(p, 1, 12, &w->m)) && *p++ == '.' &&
	         (p = rule_num(p, 1, 5, &w->w)) && *p++ == '.')
		p = rule_num(p, 0, 6, &w->d);
	else
		p = NULL;
	w->secs = 2 * 3600;
	/* RFC 8536 3.3.1: the hours of a rule time range over -167..167. */
	if (p && *p == '/')
		p = rule_secs(p + 1, 167, &w->secs);
	return p;
}

/* "std offset[dst[offset],start[/time],end[/time]]".  POSIX offsets
 * count west, ours east.  0 or -1. */
static int rule_parse(const char *s, struct rule *r)
{
	const char *p = s;
	long off;

	memset(r, 0, sizeof *r);
	if (!(p = rule_abbr(p, r->std_abbr)) || !(p = rule_secs(p, 24, &off)))
		return -1;
	r->std_off = -off;
	if (!*p)
		return 0;
	if (!(p = rule_abbr(p, r->dst_abbr)))
		return -1;
	r->dst_off = r->std_off + 3600;
	if (*p != ',') {
		if (!(p = rule_secs(p, 24, &off)))
			return -1;
		r->dst_off = -off;
	}
	/* A footer with summer time states its rule: POSIX's default
	 * ("M3.2.0,M11.1.0", the US one) is no rule of the tz database. */
	if (!(p = rule_when(p, &r->start)) || !(p = rule_when(p, &r->end)) || *p)
		return -1;
	r->has_dst = 1;
	return 0;
}

/* --- TZif -------------------------------------------------------------- */

struct reader {
	const unsigned char *p, *end;
};

static int take(struct reader *rd, size_t n, const unsigned char **out)
{
	if ((size_t)(rd->end - rd->p) < n)
		return -1;
	*out = rd->p;
	rd->p += n;
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* RFC 8536 3.1: the header's six counts. */
enum { ISUTCNT, ISSTDCNT, LEAPCNT, TIMECNT, TYPECNT, CHARCNT };

static int header(struct reader *rd, int *version, uint32_t c[6], const char **why)
{
	const unsigned char *h;

	if (take(rd, 44, &h) || memcmp(h, "TZif", 4)) {
		*why = "not a TZif file (RFC 8536)";
		return HF_EINVAL;
	}
	*version = h[4];
	if (*version != 0 && *version < '2') {
		*why = "unknown TZif version";
		return HF_EINVAL;
	}
	for (int i = 0; i < 6; i++)
		c[i] = be32(h + 20 + 4 * i);
	return 0;
}

static size_t block_size(const uint32_t c[6], size_t tsize)
{
	return c[TIMECNT] * (tsize + 1) + c[TYPECNT] * 6 + c[CHARCNT] +
	       c[LEAPCNT] * (tsize + 4) + c[ISSTDCNT] + c[ISUTCNT];
}

static int body(struct tz *tz, struct reader *rd, const uint32_t c[6], size_t tsize,
                const char **why)
{
	const unsigned char *t, *ix, *ty, *ch, *ind;

	*why = "bad counts";
	if (c[TYPECNT] == 0 || c[CHARCNT] == 0 ||
	    (c[ISUTCNT] != 0 && c[ISUTCNT] != c[TYPECNT]) ||
	    (c[ISSTDCNT] != 0 && c[ISSTDCNT] != c[TYPECNT]))
		return HF_EINVAL;
	*why = "more transitions, types or abbreviations than limits.h allows";
	if (c[TIMECNT] > HF_TZ_MAX_TIMES || c[TYPECNT] > HF_TZ_MAX_TYPES ||
	    c[CHARCNT] > HF_TZ_MAX_CHARS)
		return HF_ETOOBIG;
	/* Leap-second zones ("right/...") count TAI-like seconds, not the
	 * POSIX time every clock of ours keeps. */
	*why = "leap-second zones are not supported";
	if (c[LEAPCNT])
		return HF_EINVAL;
	*why = "truncated";
	if (take(rd, c[TIMECNT] * tsize, &t) || take(rd, c[TIMECNT], &ix) ||
	    take(rd, c[TYPECNT] * 6, &ty) || take(rd, c[CHARCNT], &ch) ||
	    take(rd, c[ISSTDCNT] + c[ISUTCNT], &ind))
		return HF_EINVAL;
	*why = "out of memory";
	tz->ntimes = c[TIMECNT];
	tz->ntypes = c[TYPECNT];
	if ((tz->ntimes && (!(tz->times = calloc(tz->ntimes, sizeof *tz->times)) ||
	                    !(tz->idx = malloc(tz->ntimes)))) ||
	    !(tz->types = calloc(tz->ntypes, sizeof *tz->types)) ||
	    !(tz->chars = malloc(c[CHARCNT])))
		return HF_ENOMEM;
	*why = "bad transition table";
	for (size_t i = 0; i < tz->ntimes; i++) {
		tz->times[i] = tsize == 8 ? be64(t + 8 * i) : (int32_t)be32(t + 4 * i);
		tz->idx[i] = ix[i];
		if (ix[i] >= tz->ntypes || (i && tz->times[i] <= tz->times[i - 1]))
			return HF_EINVAL;
	}
	*why = "bad local time type";
	for (size_t i = 0; i < tz->ntypes; i++) {
		const unsigned char *p = ty + 6 * i;
		int32_t off = (int32_t)be32(p);
		if (off < UTOFF_MIN || off > UTOFF_MAX || p[4] > 1 || p[5] >= c[CHARCNT])
			return HF_EINVAL;
		tz->types[i] = (struct ttype){off, p[4], p[5]};
	}
	*why = "abbreviations not NUL-terminated";
	if (ch[c[CHARCNT] - 1] != '\0')
		return HF_EINVAL;
	memcpy(tz->chars, ch, c[CHARCNT]);
	return 0;
}

static int footer(struct tz *tz, struct reader *rd, const char **why)
{
	const unsigned char *nl;
	size_t n;
	char s[HF_TZ_MAX_FOOTER];

	*why = "bad footer";
	if (rd->p == rd->end || *rd->p != '\n')
		return HF_EINVAL;
	rd->p++;
	nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
	if (!nl || nl + 1 != rd->end)
		return HF_EINVAL;
	n = (size_t)(nl - rd->p);
	if (n == 0)
		return 0; /* no rule: the last type stays in force */
	if (n >= sizeof s) {
		*why = "footer longer than limits.h allows";
		return HF_ETOOBIG;
	}
	memcpy(s, rd->p, n);
	s[n] = '\0';
	if (rule_parse(s, &tz->rule)) {
		*why = "bad POSIX TZ rule in the footer";
		return HF_EINVAL;
	}
	tz->has_rule = 1;
	return 0;
}

static int parse(const char *name, const char *where, const void *data, size_t len,
                 struct tz **out, struct buf *err)
{
	struct reader rd = {data, (const unsigned char *)data + len};
	struct tz *tz = NULL;
	const char *why = "out of memory";
	uint32_t c[6];
	int version, rc = HF_ENOMEM;

	if (!(tz = calloc(1, sizeof *tz)) || !(tz->name = strdup(name)))
		goto out;
	if ((rc = header(&rd, &version, c, &why)))
		goto out;
	if (version) {
		/* Skip the 32-bit block (its counts are bounded by the file's
		 * size) for the second header and the 64-bit data. */
		size_t skip = block_size(c, 4);
		const unsigned char *unused;
		if (c[TIMECNT] > HF_TZ_MAX_FILE || c[TYPECNT] > HF_TZ_MAX_FILE ||
		    c[CHARCNT] > HF_TZ_MAX_FILE || c[LEAPCNT] > HF_TZ_MAX_FILE ||
		    c[ISSTDCNT] > HF_TZ_MAX_FILE || c[ISUTCNT] > HF_TZ_MAX_FILE ||
		    take(&rd, skip, &unused)) {
			why = "truncated";
			rc = HF_EINVAL;
			goto out;
		}
		if ((rc = header(&rd, &version, c, &why)) || (rc = body(tz, &rd, c, 8, &why)) ||
		    (rc = footer(tz, &rd, &why)))
			goto out;
	} else if ((rc = body(tz, &rd, c, 4, &why))) {
		goto out;
	}
	*out = tz;
	tz = NULL;
out:
	if (rc && err)
		buf_printf(err, "%s: time zone '%s': %s", where, name, why);
	tz_free(tz);
	return rc;
}

int tz_parse(const char *name, const void *data, size_t len, struct tz **out,
             struct buf *err)
{
	return parse(name, "(memory)", data, len, out, err);
}

const char *tz_dir(void)
{
	const char *d = getenv("TZDIR");

	return d && *d ? d : "/usr/share/zoneinfo";
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > HF_TZ_MAX_NAME || name[0] == '/' || strstr(name, "..") ||
	    strstr(name, "//"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

int tz_open(const char *name, struct tz **out, struct buf *err)
{
	char path[4096];
	unsigned char *data = NULL;
	struct stat st;
	size_t got = 0;
	int fd = -1, rc = HF_EINVAL;

	if (!name || !name_ok(name)) {
		if (err)
			buf_printf(err, "unknown time zone '%s': expected an IANA name like "
			                "Europe/Oslo", name ? name : "(none)");
		return HF_EINVAL;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/%s", tz_dir(), name) >= sizeof path) {
		if (err)
			buf_printf(err, "unknown time zone '%s': path too long", name);
		return HF_EINVAL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (err)
			buf_printf(err, "unknown time zone '%s': %s: %s", name, path, strerror(errno));
		rc = errno == ENOENT || errno == ENOTDIR ? HF_EINVAL : HF_EIO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (err)
			buf_printf(err, "unknown time zone '%s': %s is not a file", name, path);
		goto out;
	}
	if (st.st_size > HF_TZ_MAX_FILE) {
		if (err)
			buf_printf(err, "%s: time zone '%s': larger than %d bytes", path, name,
			           HF_TZ_MAX_FILE);
		rc = HF_ETOOBIG;
		goto out;
	}
	rc = HF_ENOMEM;
	if (!(data = malloc((size_t)st.st_size + 1)))
		goto out;
	/* Read to the end, one byte beyond the size seen: a file that grew
	 * meanwhile must not be cut silently. */
	for (;;) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (err)
				buf_printf(err, "%s: time zone '%s': %s", path, name, strerror(errno));
			rc = HF_EIO;
			goto out;
		}
		if (r == 0 || (got += (size_t)r) > (size_t)st.st_size)
			break;
	}
	if (got > (size_t)st.st_size) {
		if (err)
			buf_printf(err, "%s: time zone '%s': changed while read", path, name);
		rc = HF_EIO;
		goto out;
	}
	rc = parse(name, path, data, got, out, err);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return rc;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->times);
	free(tz->idx);
	free(tz->types);
	free(tz->chars);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz->name;
}

/* --- lookups ----------------------------------------------------------- */

void tz_offset(const struct tz *tz, int64_t t, struct tz_info *out)
{
	const struct ttype *ty;
	size_t lo = 0, hi = tz->ntimes;

	if (tz->has_rule && (tz->ntimes == 0 || t >= tz->times[tz->ntimes - 1])) {
		rule_info(tz, t, out);
		return;
	}
	if (tz->ntimes == 0 || t < tz->times[0]) {
		ty = &tz->types[0];
	} else {
		/* The last transition at or before t. */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (tz->times[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &tz->types[tz->idx[lo]];
	}
	out->utoff = ty->utoff;
	out->isdst = ty->isdst;
	out->abbr = tz->chars + ty->abbr;
}

int tz_to_local(const struct tz *tz, int64_t t, struct tm *out)
{
	struct tz_info in;
	int64_t days, secs, y;
	int m, d;

	/* Years of an int, with room for the offset. */
	if (t > RULE_T_MAX || t < -RULE_T_MAX)
		return HF_EINVAL;
	tz_offset(tz, t, &in);
	days = floor_div(t + in.utoff, DAY);
	secs = t + in.utoff - days * DAY;
	tz_civil_from_days(days, &y, &m, &d);
	if (y - 1900 > 2147483647 || y - 1900 < -2147483647 - 1)
		return HF_EINVAL;
	memset(out, 0, sizeof *out);
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (int)(((days + 4) % 7 + 7) % 7);
	out->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
	out->tm_isdst = in.isdst;
	out->tm_gmtoff = in.utoff;
	out->tm_zone = in.abbr;
	return 0;
}

int tz_format(const struct tz *tz, int64_t t, const char *fmt, char *out, size_t n)
{
	struct tm tm;

	if (tz_to_local(tz, t, &tm) || n == 0)
		return HF_EINVAL;
	/* The callers' formats are checked at their call (text.h declares
	 * tz_format strftime-like); gcc does not pass that on to here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, n, fmt, &tm);
#pragma GCC diagnostic pop
	/* 0 bytes is a failure unless the format is empty. */
	return n || !*fmt ? 0 : HF_EINVAL;
}

static long utoff_at(const struct tz *tz, int64_t t)
{
	struct tz_info in;

	tz_offset(tz, t, &in);
	return in.utoff;
}

int64_t tz_from_local(const struct tz *tz, const struct tm *local, unsigned flags)
{
	int64_t y = (int64_t)local->tm_year + 1900 + floor_div(local->tm_mon, 12);
	int mon = (int)(local->tm_mon - floor_div(local->tm_mon, 12) * 12);
	int64_t l = (tz_days_from_civil(y, mon + 1, 1) + local->tm_mday - 1) * DAY +
	            (int64_t)local->tm_hour * 3600 + (int64_t)local->tm_min * 60 + local->tm_sec;
	/* The offsets in force a day either side are the only candidates:
	 * no zone changes twice within two days. */
	long before = utoff_at(tz, l - DAY), after = utoff_at(tz, l + DAY);
	int ok_before = utoff_at(tz, l - before) == before;
	int ok_after = utoff_at(tz, l - after) == after;
	int64_t lo, hi;

	if (ok_before && ok_after)
		return l - before < l - after ? l - before : l - after; /* the first */
	if (ok_before)
		return l - before;
	if (ok_after)
		return l - after;
	/* The gap: l - after < transition <= l - before. */
	if (!(flags & TZ_GAP_END))
		return l - before;
	lo = l - after;
	hi = l - before;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (utoff_at(tz, mid) == before)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}
