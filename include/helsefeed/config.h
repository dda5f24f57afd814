/*
 * config.h - feeds.conf: parse, validate, hold.
 *
 * INI-style file with the sections [helsefeed], [smtp], [category NAME],
 * [feed NAME] and [digest NAME].  `;` and `#` start a comment (at the start
 * of a line, or after whitespace in a value).  Keys are looked up in one
 * table per section; an unknown key is an error with a "did you mean".
 * Durations: "90s", "15m", "2h", "1d", combinations ("1h30m"); times:
 * "07:00"; lists: separated by commas and/or whitespace.
 *
 * Relative paths (database, output, spool, password_file) are taken
 * relative to the directory of the configuration file, and "${CONFDIR}"
 * in any value expands to that directory's absolute path: this is how the
 * offline sample writes file:// URLs that work from any checkout.
 *
 * The file is untrusted in the sense that every error is reported, never
 * crashes or half-applies: config_load either returns a complete, valid
 * configuration or none.
 */
#ifndef HELSEFEED_CONFIG_H
#define HELSEFEED_CONFIG_H

#include <stddef.h>

#include "helsefeed/util.h"
#include "helsefeed/err.h"

enum feed_kind {
	FEED_KIND_MINISTRY = 0,
	FEED_KIND_DIRECTORATE,
	FEED_KIND_HOSPITAL,
	FEED_KIND_MUNICIPAL,
	FEED_KIND_OTHER,
	FEED_KIND__COUNT
};

/* "ministry", ... */
const char *config_kind_name(enum feed_kind k);

struct config_category {
	char *name;           /* [category NAME]: [a-z0-9_-]+ */
	char *title;          /* defaults to the name */
	char *match;          /* keyword rules, raw text (classify compiles it) */
	char *exclude;        /* terms that never count, raw text, or NULL */
	int line;             /* line of the section header */
	char *terms;          /* gazetteer terms of the admin, raw text, or NULL
	                         (syntax in classify.h; classify compiles it) */
	char *threshold;      /* weighted evidence that sets the category, a
	                         number as text, or NULL: the gazetteer's, 1 */
	int terms_line;       /* line of the terms key, 0 when absent */
};

struct config_feed {
	char *name;           /* [feed NAME]: [a-z0-9_-]+ */
	char *url;            /* http(s)://, or file:// when allowed */
	char *title;          /* defaults to the name */
	char *user_agent;     /* NULL: the global one */
	enum feed_kind kind;  /* default FEED_KIND_OTHER */
	int authority;        /* dedup rank override; -1 = from kind */
	char **categories;    /* names of [category] sections */
	size_t ncategories;
	int interval;         /* seconds */
	int line;
};

/* How often a [digest] group gets its message. */
enum config_frequency {
	CONFIG_DAILY = 0,     /* at `time` every day */
	CONFIG_WEEKLY,        /* at `time` on `day` */
	CONFIG_IMMEDIATE,     /* after every fetch cycle that brought news */
};

struct config_digest {
	char *name;
	char *title;          /* heading and subject; defaults to the name */
	char **to;            /* addresses */
	size_t nto;
	char **categories;    /* empty: all */
	size_t ncategories;
	int time;             /* minutes after local midnight */
	char *timezone;       /* IANA name */
	char *subject;        /* template or NULL */
	char *language;       /* "nb" or "nn" */
	int send_empty;       /* send a "no news" message on an empty day */
	int frequency;        /* enum config_frequency */
	int day;              /* weekly: 0 sunday .. 6 saturday (tm_wday) */
	int max_age;          /* seconds: older when first seen is not new */
	char *from;           /* NULL: [smtp] from */
	char *contact;        /* for changes and List-Unsubscribe; NULL:
	                         [smtp] contact, else the From address */
	int line;
};

struct config_smtp {
	int present;          /* an [smtp] section exists */
	char *url;            /* smtp:// or smtps:// */
	char *from;
	char *username;       /* may be NULL */
	char *password_file;  /* absolute path or NULL; not world-readable */
	int starttls;         /* 0 opportunistic, 1 required */
	int timeout;          /* seconds */
	char *contact;        /* address for digest readers; may be NULL */
};

struct config {
	char *path;           /* as given */
	char *dir;            /* absolute directory of the file */

	/* [helsefeed] */
	char *database;
	char *output;
	char *spool;          /* digests as .eml without [smtp] */
	char *base_url;       /* ends with '/' */
	char *title;
	char *timezone;
	char *user_agent;     /* built from version + contact when unset */
	char *contact;        /* URL or mailto: put into the User-Agent */
	char *proxy;          /* NULL: libcurl's environment variables */
	char *log_level;      /* NULL: info */
	char *gazetteer;      /* the shipped knowledge of the sector (classify.h):
	                         a file, or "none"; default HF_GAZETTEER */
	int gazetteer_line;   /* line of the key, 0 when it is the default */
	char *lexicon;        /* the word table (src/classify/lex.h), or "none"
	                         (Snowball alone); default HF_LEXICON */
	int lexicon_line;     /* line of the key, 0 when it is the default */
	int interval;         /* default per feed, seconds */
	int allow_file_urls;
	/* Networks a redirect may lead into (fetch.h, Addresses): CIDRs as
	 * written, checked by config_load. */
	char **allow_networks;
	size_t nallow_networks;
	int connect_timeout, timeout;            /* seconds */
	long low_speed_limit; int low_speed_time;
	long max_body;                            /* bytes */
	int max_redirects, max_connections, max_per_host;
	int stale_after;                          /* seconds */
	int dedup_window;                         /* seconds */
	/* URL patterns whose links with one id are one story (dedup.h, URL
	 * equivalence), checked by config_load. */
	char **same_url;
	size_t nsame_url;
	int max_entries;                          /* per published feed */
	int silent_after;     /* a feed that answers but brought no new story
	                         for this long is "silent" (status), seconds */
	int keep;             /* items older than this are pruned, seconds;
	                         0 (unset): kept for ever */
	char *metrics_file;   /* Prometheus text after each cycle, or NULL */

	struct config_smtp smtp;

	struct config_category *categories;
	size_t ncategories;
	struct config_feed *feeds;
	size_t nfeeds;
	struct config_digest *digests;
	size_t ndigests;
};

/*
 * Read and validate `path`.  On success *out is the caller's (config_free).
 * On failure returns HF_ECONFIG (or HF_EIO/HF_ENOMEM) and appends one line
 * per error to `errors`, each "FILE:LINE: [section] key: what was expected"
 * (the section/key part where there is one).  All errors of the file are
 * reported, not only the first.
 */
int config_load(const char *path, struct config **out, struct buf *errors) HF_WUR;
void config_free(struct config *cfg);

/*
 * The same as config_load, for a configuration already in memory: `name`
 * stands for the file in messages and the current directory for its
 * directory (relative paths, ${CONFDIR}).  For tests and the fuzzer.
 */
int config_load_mem(const char *name, const char *data, size_t len,
                    struct config **out, struct buf *errors) HF_WUR;

/* Lookups; NULL when absent.  Borrowed. */
const struct config_feed *config_feed_find(const struct config *cfg, const char *name);
const struct config_category *config_category_find(const struct config *cfg, const char *name);

/* Parse a duration ("15m", "1h30m", "90s", "2d", bare number = seconds).
 * Units in falling order, each at most once.  0 or HF_EINVAL. */
int config_parse_duration(const char *s, int *out) HF_WUR;

/* "HH:MM" (or "H:MM") -> minutes after midnight.  0 or HF_EINVAL. */
int config_parse_time(const char *s, int *out) HF_WUR;

/* 1 when `name` is an IANA time zone whose TZif file under $TZDIR or
 * /usr/share/zoneinfo tz_open() reads, else 0. */
int config_timezone_valid(const char *name);

#endif
