/*
 * tz.h - time zones from the system's zoneinfo, and nothing else.
 *
 * A zone is read from its TZif file (RFC 8536) under $TZDIR, else
 * /usr/share/zoneinfo: the transition table of the 64-bit (version 2+)
 * section, and for instants after the last transition the POSIX TZ rule
 * of the file's footer, which is all that "slim" files carry for the
 * future.  No rule is written by hand here, and the process's TZ is never
 * touched: curl's resolver threads may read the environment at any time,
 * and localtime_r() knows one zone per process.
 *
 * Times are UTC seconds since the epoch (int64_t, as everywhere in
 * helsefeed).  A struct tz is immutable once opened: any number of them
 * may be used at once, each by one caller at a time or shared read-only.
 *
 * Untrusted data: the file's bytes.  Its size and every count in it are
 * bounded (limits.h, HF_TZ_*); a file that breaks a bound or RFC 8536
 * is refused as a whole, never half used.
 */
#ifndef HELSEFEED_TZ_H
#define HELSEFEED_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "helsefeed/buf.h"
#include "helsefeed/err.h"

struct tz;

/*
 * Open zone `name`, an IANA name such as "Europe/Oslo" or "UTC": letters,
 * digits and "/_+-", no "..", no "//", not absolute, at most
 * HF_TZ_MAX_NAME bytes, so that it cannot leave the zoneinfo tree.
 * *out is the caller's (tz_free).  On failure a message that names the
 * zone (and the file, for a bad file) is appended to `err` (may be NULL)
 * and HF_EINVAL (bad name, no such zone, not a valid TZif file),
 * HF_ETOOBIG (a bound of limits.h), HF_EIO or HF_ENOMEM is returned.
 */
int tz_open(const char *name, struct tz **out, struct buf *err) HF_WUR;

/* As tz_open, from the `len` bytes of a TZif file already in memory;
 * `name` only labels the zone and its messages.  For tz_open and the
 * fuzz target. */
int tz_parse(const char *name, const void *data, size_t len, struct tz **out,
             struct buf *err) HF_WUR;

void tz_free(struct tz *tz);

/* The zone's name as opened.  Borrowed, valid until tz_free. */
const char *tz_name(const struct tz *tz);

/* What a zone says about one instant. */
struct tz_info {
	long utoff;            /* seconds east of UTC */
	int isdst;             /* 1 in summer (daylight saving) time */
	const char *abbr;      /* "CEST"; borrowed, valid until tz_free */
};

/* The local time type in force at UTC instant `t`: before the first
 * transition the file's first type (RFC 8536 3.2), after the last one
 * the footer's rule, or the last type when the file has no footer. */
void tz_offset(const struct tz *tz, int64_t t, struct tz_info *out);

/*
 * UTC instant `t` as local wall-clock time in *out, every field set:
 * tm_wday, tm_yday, tm_isdst, tm_gmtoff, and tm_zone (borrowed, valid
 * until tz_free).  Returns 0, or HF_EINVAL when the year does not fit an
 * int (*out untouched then).
 */
int tz_to_local(const struct tz *tz, int64_t t, struct tm *out) HF_WUR;

/* strftime(3) of UTC instant `t` shown in zone `tz` into out[n] ("%Z"
 * and "%z" included).  Returns 0, or HF_EINVAL when the year is out of
 * range or the text does not fit. */
int tz_format(const struct tz *tz, int64_t t, const char *fmt, char *out, size_t n)
	HF_WUR __attribute__((format(strftime, 3, 0)));

/*
 * Local wall-clock time -> UTC instant, returned.  Only tm_year, tm_mon,
 * tm_mday, tm_hour, tm_min and tm_sec are read (tm_isdst is ignored);
 * fields outside their range carry over as in timegm() ("31 April" is
 * 1 May), so a caller may step days by adding to tm_mday.
 *
 * A local time that exists twice (autumn: 02:30 on 2026-10-25 in Oslo)
 * means the first of them, in summer time (00:30Z): a publisher or a
 * schedule that writes it meant it before the clocks went back more
 * often than in that one repeated hour.
 *
 * A local time that never exists (spring: 02:30 on 2026-03-29 in Oslo)
 * is moved forward.  By default it is read with the offset in force
 * before the gap, as RFC 5545 3.3.5 and mktime() do: 02:30 + 01:00 =
 * 01:30Z, i.e. 03:30 CEST.  With TZ_GAP_END it means the first instant
 * after the gap instead (01:00Z, 03:00 CEST): "once the clock has passed
 * 02:30", what a daily schedule needs.
 */
#define TZ_GAP_END 0x1
int64_t tz_from_local(const struct tz *tz, const struct tm *local, unsigned flags);

/* The proleptic Gregorian calendar without zones: days since 1970-01-01
 * of year y, month m (1-12), day d (1-31), and back. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* The zoneinfo directory: $TZDIR when set and not empty, else
 * /usr/share/zoneinfo.  Borrowed. */
const char *tz_dir(void);

#endif
