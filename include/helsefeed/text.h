/*
 * text.h - the text utilities of src/text/: entities and normalisation,
 * the HTML allowlist, URLs, time zones.
 *
 * One header for the folder; its parts follow, each with its contract.
 */
#ifndef HELSEFEED_TEXT_H
#define HELSEFEED_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "helsefeed/util.h"
#include "helsefeed/err.h"

/*
 * norm - normalisation of the untrusted strings inside a feed: dates,
 * text and URLs.  Pure functions, no global state but the time zone data
 * read through the C library.
 */

/* --- dates ------------------------------------------------------------- */

/*
 * Parse a date as feeds write them and return UTC seconds in *out:
 *  - RFC 822/1123/2822 ("Mon, 23 May 2022 10:00:00 +0200"), any zone form
 *    (GMT, UT, Z, +0200, +02:00, CET/CEST and the US names, military
 *    letters), optional weekday, missing seconds, two-digit years;
 *  - RFC 3339 / ISO 8601 ("2022-05-23T10:00:00+02:00", fractions, "Z",
 *    no zone, date only, "2022-05-23 10:00");
 *  - Norwegian forms "23.05.2022", "23.05.2022 10:00", "23. mai 2022".
 * A time without a zone is local time in `tz` (IANA name, e.g.
 * "Europe/Oslo"; NULL means Europe/Oslo), DST included, through
 * tz_from_local: a local time in the spring gap takes the offset before
 * the gap (02:30 -> 01:30Z on 2022-03-27 in Oslo); one in the autumn
 * overlap is its first occurrence, summer time (02:30 -> 00:30Z on
 * 2022-10-30).  An unknown zone makes such a date HF_EINVAL.
 * Military zone letters mean UTC (RFC 2822 4.3); two-digit years below
 * 50 are 20xx.  Years outside 1900..9999 are rejected.
 * Returns 0 or HF_EINVAL when the text is not a date we understand
 * entirely; *out is written only on success.
 */
int norm_date(const char *s, const char *tz, int64_t *out) HF_WUR;

/* Format UTC seconds as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void norm_date_iso(int64_t t, char out[21]);

/* --- text -------------------------------------------------------------- */

/* What norm_text is given. */
enum norm_text_mode {
	/* Text with character references: they are decoded, '<' is text. */
	NORM_TEXT_ESCAPED = 0,
	/* HTML: references decoded, tags stripped. */
	NORM_TEXT_HTML = 1,
	/* A text field as an XML parser delivered it (an RSS title, a
	 * category): HTML when it holds a tag or a comment, as feeds put
	 * escaped markup into titles; otherwise plain text whose '&' was
	 * decoded once already and stays: "&amp;hellip;" in the document
	 * is the text "&hellip;". */
	NORM_TEXT_FIELD = 2,
};

/*
 * Clean a text field into `out` (appending), read as `mode` says:
 * double-encoded UTF-8 repaired first (norm_repair),
 * character references decoded where the mode decodes them (HTML 4's
 * names, numeric ones; an unknown one is kept literally), tags stripped
 * where it strips them, control characters removed, whitespace collapsed
 * and trimmed (NBSP and the Unicode spaces too), soft hyphens,
 * zero-width spaces and BOMs dropped, invalid UTF-8 replaced by U+FFFD,
 * result in NFC and cut at `max` bytes on a character boundary.
 * Stripped inline tags (b, i, a, span, ...) join their neighbours, every
 * other tag separates words; script and style go with their content.
 * Returns 0, HF_ENOMEM; sets *truncated (may be NULL) to 1 when cut,
 * else 0.
 */
int norm_text(const char *s, size_t len, int mode, size_t max,
              struct buf *out, int *truncated) HF_WUR;

/*
 * The length of plain text s (norm_text's output) without a "read more"
 * link's words at its end: "les mer", "les meir", "les hele saken",
 * "read more" ... in any case, with the marks publishers put after them
 * (".", "…", "»", "→", ">"), and the white space before them.  What such
 * a link said is noise in a summary shown without its link (the pages'
 * plain summaries, the digests), and gone once the link itself was
 * dropped (sanitize.h).  `len` when there is none.
 */
size_t norm_more_len(const char *s, size_t len);

/*
 * Repair double-encoded UTF-8 ("mojibake": UTF-8 bytes read as
 * windows-1252 or Latin-1 and encoded again, so that "ø" arrives as
 * "Ã¸", "å" as "Ã¥" and "’" as "â€™").  Conservative: the field is
 * re-decoded only when every character of it maps back to one byte
 * (windows-1252, or Latin-1 for U+0080..U+00FF) and those bytes are
 * valid UTF-8 with at least one multi-byte sequence.  A field with one
 * honest non-ASCII character among the mojibake, or a real "Ã" before a
 * letter ("Ãsa"), is left alone.  Costs one memchr on text without the
 * byte 0xC3.  Returns 1 and appends the repaired text to out, 0 when s
 * is not mojibake (out untouched), or HF_ENOMEM.  norm_text repairs
 * every field it is given.
 */
int norm_repair(const char *s, size_t len, struct buf *out) HF_WUR;

/* Convert `len` bytes of UTF-8 to NFC, appending to out; invalid UTF-8
 * becomes U+FFFD.  Returns 0 or HF_ENOMEM. */
int norm_nfc(const char *s, size_t len, struct buf *out) HF_WUR;

/*
 * The character reference at s[0] == '&' (`n` bytes readable): a numeric
 * one, decimal or hex, whose ';' may be missing as HTML allows, or one of
 * HTML 4's named ones with its ';', looked up in libxml2's table
 * (htmlEntityLookup).  Returns the bytes it spans, 0 when there is none
 * (an unknown name, no digits).  *cp is the value as written, unchecked:
 * it may be 0, a surrogate, or 0x110000 for anything above U+10FFFF;
 * norm_text maps those to U+FFFD and 0x80-0x9F through norm_cp1252, as
 * HTML 5 does.
 */
size_t norm_entity(const char *s, size_t n, uint32_t *cp);

/* The code point of byte `b` in windows-1252, after the WHATWG Encoding
 * Standard (index-windows-1252: the five bytes Microsoft left undefined
 * are the C1 controls of the same value).  The one copy of the table. */
uint32_t norm_cp1252(unsigned char b);

/* --- URLs -------------------------------------------------------------- */

/*
 * Resolve `ref` against `base` (either may be NULL or relative) and
 * append the absolute URL to out (RFC 3986 5.2; white space around and
 * tab/CR/LF inside ref removed as browsers do).  A ref with a scheme
 * other than http(s) (mailto:, urn:) is kept as written; a
 * protocol-relative "//host/x" without base becomes https.  When nothing
 * absolute can be made, the trimmed ref is appended as is.
 * Returns 0, HF_ENOMEM, or HF_EINVAL for a NULL, empty or all-blank ref
 * (unlike RFC 3986 5.2.2, which would give the base: an empty <link> in
 * a feed is no link), appending nothing then.  *web (when web is not
 * NULL) is what norm_url_web() says of the appended URL, judged on
 * curl's reading of it here rather than by a second one; 0 on error.
 */
int norm_url_resolve(const char *base, const char *ref, struct buf *out, int *web) HF_WUR;

/* norm_url_resolve through curl's URL API alone, without the fast path
 * for plain links (url.c): the answer the fast path must give, which
 * fuzz_url compares on every input. */
int norm_url_resolve_lib(const char *base, const char *ref, struct buf *out,
                         int *web) HF_WUR;

/*
 * 1 when `url` may reach a reader: an absolute http or https URL with a
 * host, judged as a browser would read it (white space and controls
 * around it ignored, tab/CR/LF inside removed), so that "JaVa\tScRiPt:",
 * " data:" and "vbscript:" are 0; no other control character inside.
 * Every link, source, enclosure and author URI that goes out in a
 * published file, page or mail has passed this test.
 */
int norm_url_web(const char *url);

/*
 * Whether two http(s) URLs are on one site: the same host, lower-cased,
 * a leading "www." aside ("https://www.regjeringen.no/no/..." and
 * "https://regjeringen.no/rss" are).  0 when either is no URL.
 */
int norm_url_same_site(const char *a, const char *b);

/* Whether two URLs have one canonical form (norm_url_canon); 0 when
 * either is no URL. */
int norm_url_same_canon(const char *a, const char *b);

/*
 * Canonical form of an absolute http(s) URL, for deduplication, through
 * libcurl's URL API: scheme and host lower-cased, default port dropped,
 * fragment dropped, tracking parameters (utm_*, fbclid, gclid, ...)
 * removed, the other parameters kept in order, percent-encoding
 * normalised (unreserved characters decoded, hex upper-cased), empty path
 * made "/".  Appends to out.  Returns 0, HF_EINVAL (not a URL), HF_ENOMEM.
 */
int norm_url_canon(const char *url, struct buf *out) HF_WUR;

/* --- UTF-8 ------------------------------------------------------------- */

/* Length of the valid multi-byte UTF-8 sequence at s (RFC 3629 section
 * 4; utf8proc_iterate), 0 when invalid or ASCII: overlong forms,
 * surrogates and values above U+10FFFF are invalid.  `n` (> 0) bytes are
 * readable. */
size_t norm_utf8_seq(const unsigned char *s, size_t n);

/* --- hashing ----------------------------------------------------------- */

/* 64-bit FNV-1a (draft-eastlake-fnv), continued from `h` (start with
 * NORM_FNV_INIT).  Inline: the dedup tokenizer hashes a byte at a time. */
#define NORM_FNV_INIT 0xcbf29ce484222325ULL
static inline uint64_t norm_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * sanitize - rebuild untrusted HTML from an allowlist.
 *
 * The input is parsed with libxml2's HTML parser (never the network), or
 * for simple markup by a strict tokenizer that gives the same events, and
 * written out again element by element: only allowlisted elements and
 * attributes survive; everything else is dropped, and the content of
 * script, style, iframe, object, embed, template, noscript, svg and math
 * is dropped with it.  URLs in a[href] must be http, https or mailto, in
 * img[src] http or https, after entity decoding, whitespace and control
 * characters removed and case folded: javascript:, data:, vbscript: in any
 * spelling never survive.  Relative URLs are made absolute against `base`.
 * The output is well-formed, escaped HTML: safe inside an Atom
 * content type="html", an HTML page or an e-mail.
 */

/*
 * Sanitise `len` bytes of HTML (UTF-8) and append the result to `out`,
 * at most `max` bytes: the cut falls between elements or inside a text on
 * a character boundary, and every open element is still closed.  Invalid
 * UTF-8 becomes U+FFFD; characters XML 1.0 forbids are dropped or
 * replaced.  `base` may be NULL: URLs that cannot be made absolute are
 * then dropped (an img without src goes entirely).
 * Returns 0, HF_ENOMEM.  Empty or all-removed input appends nothing.
 */
int sanitize_html(const char *html, size_t len, const char *base, size_t max,
                  struct buf *out) HF_WUR;

/*
 * sanitize_html() for text an XML parser has checked already: `html` must
 * be valid UTF-8 without NUL, U+FFFE or U+FFFF (feed.c hands over what
 * libxml2 delivered from a document feed_input.c made clean), so the
 * second check of every byte is skipped.  Anything else: sanitize_html().
 */
int sanitize_html_checked(const char *html, size_t len, const char *base, size_t max,
                          struct buf *out) HF_WUR;

/*
 * The two readers behind sanitize_html(), for tests and fuzzing.
 * sanitize_html() first tries a strict tokenizer that handles simple
 * markup (a set of common elements, quoted attributes, known entities)
 * and falls back to libxml2's HTML parser on anything else; both give
 * the same output, byte for byte, for every input the tokenizer accepts
 * (fuzz_sanitize checks it).  sanitize_html_fast() returns 1, appending
 * nothing, where the tokenizer gives up; sanitize_html_libxml() never
 * uses it.  Otherwise as sanitize_html().
 */
int sanitize_html_fast(const char *html, size_t len, const char *base, size_t max,
                       struct buf *out) HF_WUR;
int sanitize_html_libxml(const char *html, size_t len, const char *base, size_t max,
                         struct buf *out) HF_WUR;

/* Append `len` bytes of text to `out`, escaped for HTML/XML content and
 * attribute values (& < > " ').  Returns 0, HF_ENOMEM. */
int sanitize_escape(const char *s, size_t len, struct buf *out) HF_WUR;

/*
 * tz - time zones from the system's zoneinfo, and nothing else.
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
