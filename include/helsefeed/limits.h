/*
 * limits.h - every bound of helsefeed, in one place, with the reason for
 * the number.  Values that an admin may change are only the defaults here;
 * feeds.conf overrides them (see config.h).
 */
#ifndef HELSEFEED_LIMITS_H
#define HELSEFEED_LIMITS_H

/* --- feeds.conf -------------------------------------------------------- */
/* A config line longer than this is an error, not a silent truncation. */
#define HF_CONF_MAX_LINE 4096
/* The shortest per-feed interval: below one minute we would hammer the
 * publisher; no health-sector feed changes that often. */
#define HF_INTERVAL_MIN_S 60
/* Longest interval accepted: a week.  Anything longer is surely a typo. */
#define HF_INTERVAL_MAX_S (7 * 24 * 3600)

/* --- fetching (defaults; [helsefeed] keys override) -------------------- */
#define HF_FETCH_CONNECT_TIMEOUT_S 15
/* Whole transfer, redirects included. */
#define HF_FETCH_TIMEOUT_S 60
/* A server sending less than 1 KiB/s for 20 s loses its slot. */
#define HF_FETCH_LOW_SPEED_BYTES 1024
#define HF_FETCH_LOW_SPEED_TIME_S 20
/* The largest real feed of the sector is well under 2 MiB; 16 MiB leaves
 * room for full-content feeds while stopping a decompression bomb early. */
#define HF_FETCH_MAX_BODY (16L * 1024 * 1024)
/* RFC 9110 15.4 asks clients to detect loops; five is what browsers and
 * curl's own docs treat as plenty for a feed that moved. */
#define HF_FETCH_MAX_REDIRECTS 5
#define HF_FETCH_MAX_CONNECTIONS 16
/* Several of our feeds live on www.regjeringen.no: two at once is polite. */
#define HF_FETCH_MAX_PER_HOST 2
/* Exponential backoff on failure is capped at a day. */
#define HF_BACKOFF_MAX_S (24 * 3600)
/* A feed failing this long is flagged stale on the status page. */
#define HF_STALE_AFTER_S (24 * 3600)

/* --- parsing ----------------------------------------------------------- */
/* Bounds on one entry's fields, in bytes of UTF-8.  Longer text is cut at
 * a character boundary: a title of 1 KiB is already absurd. */
#define HF_MAX_TITLE 1024
/* An entry without a title takes the first words of its summary (or
 * content) instead, as Miniflux does: ten words is a
 * headline's length in Norwegian news, and 120 bytes keeps one line. */
#define HF_UNTITLED_WORDS 10
#define HF_UNTITLED_BYTES 120
#define HF_MAX_URL 4096
#define HF_MAX_ID 2048
#define HF_MAX_AUTHOR 512
#define HF_MAX_CATEGORY 256
/* A summary is a lead; a whole press release of the sector, tables and
 * all, is 20-40 KiB of HTML.  These bound what one entry can put into
 * every published file: all.atom holds HF_PUBLISH_MAX_ENTRIES of them,
 * so at most about 14 MiB, however big the documents were. */
#define HF_MAX_SUMMARY (16 * 1024)
#define HF_MAX_CONTENT (128 * 1024)
#define HF_MAX_CATEGORIES 64
#define HF_MAX_ENCLOSURES 32
/* Entries beyond this in one document are ignored (with a warning): the
 * sector's feeds carry 10-100, an archive dump a few hundred. */
#define HF_MAX_ENTRIES 1000
/* Attributes of one element: a feed element has a handful (an enclosure
 * three, an Atom link five).  libxml2 2.9 compares each new attribute
 * with all before it, so 500,000 of them cost minutes.  libxml2 reads a
 * whole start tag before it tells us, so the parser process's CPU budget
 * (HF_PARSE_CPU_S) is what bounds that one tag; past it, the document is
 * rejected at the first element with more than this. */
#define HF_MAX_ATTRS 256
/* A date more than this far ahead of the fetch time is clamped to it. */
#define HF_FUTURE_SLACK_S (24 * 3600)

/* --- time zones (tz.c) ------------------------------------------------ */
/* The largest TZif file of tzdata ("fat", 64-bit data and all) is under
 * 4 KiB; 64 KiB leaves room for any real zone and stops a huge file. */
#define HF_TZ_MAX_FILE (64 * 1024)
/* Transitions in one file: tzcode's own TZ_MAX_TIMES.  A fat file has a
 * few hundred, up to 2037. */
#define HF_TZ_MAX_TIMES 2000
/* Local time types: RFC 8536 3.2 indexes them with one octet. */
#define HF_TZ_MAX_TYPES 256
/* Bytes of abbreviations ("LMT\0CEST\0CET\0..."): tzcode's TZ_MAX_CHARS
 * is 50; a real zone needs about 20. */
#define HF_TZ_MAX_CHARS 256
/* The POSIX TZ rule of a footer ("CET-1CEST,M3.5.0,M10.5.0/3"). */
#define HF_TZ_MAX_FOOTER 128
/* IANA names are at most 30 bytes today ("America/Argentina/ComodRivadavia"
 * is 32); the tz project keeps components at 14 characters. */
#define HF_TZ_MAX_NAME 64

/* --- the parser process (feed.h) -------------------------------------- */
/* The sector's largest feed (2 MiB) parses and sanitises in well under a
 * second of CPU; libxml2's quadratic cases (an element of 500,000
 * attributes, 400,000 unmatched end tags in a description) take minutes.
 * Ten seconds separates the two by an order of magnitude either way. */
#define HF_PARSE_CPU_S 10
/* Wall time: the CPU budget plus room for a loaded machine. */
#define HF_PARSE_WALL_S 20
/* Niceness the parser process adds to the daemon's: while hostile feeds
 * burn their budget on every core, the loop that stores, publishes and
 * pings the watchdog is still the one the scheduler prefers. */
#define HF_PARSE_NICE 10
/* Address space on top of the daemon's own: libxml2 needs a few times
 * the document (16 MiB at most) for a recovered parse. */
#define HF_PARSE_MEM (256UL * 1024 * 1024)
/* Sanitised entries are smaller than the document they came from, except
 * for the entity references they expand: four times the largest body. */
#define HF_PARSE_MAX_OUTPUT (4UL * HF_FETCH_MAX_BODY)
/* Documents parsed at once: one per core of a small server; the others
 * wait their turn with their bodies held. */
#define HF_PARSE_MAX_JOBS 2

/* A feed that answers 200 but brought no new story for a month has most
 * likely been replaced by another URL on the publisher's site: the
 * sector's feeds publish weekly at the least. */
#define HF_SILENT_AFTER_S (30 * 24 * 3600)

/* --- deduplication ------------------------------------------------------ */
/* A word of more items of the dedup window than this finds no story:
 * the sector publishes about 2,000 items a week, and a name, a place or
 * a figure of one story is in a handful of them, while "sykehus" or
 * "vaksine" is in hundreds.  Bounds the rows read per word. */
#define HF_DEDUP_RARE 48
/* Words of an entry put to that search: the content words of a headline
 * (real ones have under 20) and the numbers and rare words of its lead. */
#define HF_DEDUP_MAX_TERMS 8
/* Items the same-story index holds, the newest (dedup.h): about four
 * weeks of the sector at 2,000 items a week, three times the dedup
 * window and HF_DEDUP_AHEAD_S; 3-4 MiB.  An entry dated further back (a
 * feed's archive) finds its story only among these. */
#define HF_DEDUP_INDEX_ITEMS 8192
/* How far ahead of its first fetch an item's date may lie and the item
 * still be found by the candidate search, which walks items newest
 * first and stops at those first seen this long before the window: a
 * feed that writes local time as UTC is 14 hours ahead at most. */
#define HF_DEDUP_AHEAD_S (24 * 3600)

/* --- publishing -------------------------------------------------------- */
#define HF_PUBLISH_MAX_ENTRIES 100

#endif
