/*
 * config.c - feeds.conf: read, validate, hold.  See config.h.
 *
 * One pass over the lines fills a struct config through the key tables
 * below (one per section kind); a second pass over the sections checks what
 * needs the whole file (required keys, category references, URLs whose
 * validity depends on allow_file_urls).  Every error is appended to the
 * caller's buffer and parsing goes on, so one run shows them all.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <utf8proc.h>

#include "helsefeed/classify.h"
#include "helsefeed/config.h"
#include "helsefeed/dedup.h"
#include "helsefeed/fetch.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"

/* A configuration is typed by people: a file bigger than this is a wrong
 * path (a database, a log), not a configuration. */
#define CONF_MAX_FILE (4L * 1024 * 1024)
/* Section names become file names (<category>.atom) and mail headers. */
#define CONF_MAX_NAME 64
/* Room for "region/entry" built from a directory listing. */
#define TZ_NAME_BUF (2 * 256 + 2)
/* Keys of the largest table, [helsefeed]. */
#define CONF_MAX_KEYS 32

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- value types ----------------------------------------------------------- */

enum ktype {
	K_STR,      /* text, empty = unset */
	K_PATH,     /* file name, relative to the config's directory */
	K_BASEURL,  /* http(s) URL, '/' appended when missing */
	K_PROXY,    /* proxy URL */
	K_CONTACT,  /* URL or mailto: */
	K_FEEDURL,  /* checked after the pass: allow_file_urls may come later */
	K_SMTPURL,  /* smtp:// or smtps:// */
	K_PWFILE,   /* path of a secret: must exist, mode & 077 == 0 */
	K_DUR,      /* duration -> int seconds */
	K_INT,      /* integer -> int */
	K_SIZE,     /* bytes with k/M/G -> long */
	K_BOOL,     /* -> int */
	K_TZ,       /* IANA time zone name */
	K_TIME,     /* HH:MM -> int minutes */
	K_ENUM,     /* one of key->names -> int index */
	K_ENUMSTR,  /* one of key->names -> char * */
	K_LIST,     /* names -> char ** + size_t */
	K_ADDRS,    /* e-mail addresses -> char ** + size_t */
	K_CIDRS,    /* networks "10.0.0.0/8 ::1" -> char ** + size_t */
	K_SAMEURL,  /* URL patterns with one {N} (dedup.h) -> char ** + size_t */
	K_FROM,     /* "Name <addr>" or "addr" */
	K_MATCH,    /* rule text with [..] conditions */
	K_EXCLUDE,  /* rule text without conditions */
	K_TERMS,    /* gazetteer terms: "WEIGHT TERM, ..." */
	K_WEIGHT,   /* a decimal number, kept as text */
	K_PATHNONE, /* a file name or "none" */
};

/* How a value is stored: decides defaults and freeing. */
enum kstore { ST_STR, ST_INT, ST_LONG, ST_LIST };

struct key {
	const char *name;
	enum ktype type;
	size_t off;                  /* field in the section's struct */
	size_t off2;                 /* ST_LIST: the count */
	long min, max;               /* K_DUR, K_INT, K_SIZE */
	const char *const *names;    /* K_ENUM, K_ENUMSTR */
	const char *defs;            /* ST_STR default */
	long defn;                   /* ST_INT / ST_LONG default */
	int required;
};

static const char *const kind_names[] = {"ministry", "directorate", "hospital",
                                         "municipal", "other", NULL};
static const char *const starttls_names[] = {"opportunistic", "required", NULL};
static const char *const lang_names[] = {"nb", "nn", NULL};
/* enum config_frequency; days in tm_wday order. */
static const char *const freq_names[] = {"daily", "weekly", "immediate", NULL};
static const char *const day_names[] = {"sunday", "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday", NULL};
static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};

#define KS(n, t, st, f, d, req) {n, t, offsetof(st, f), 0, 0, 0, NULL, d, 0, req}
#define KN(n, t, st, f, lo, hi, d) {n, t, offsetof(st, f), 0, lo, hi, NULL, NULL, d, 0}
#define KL(n, t, st, f, c, req) {n, t, offsetof(st, f), offsetof(st, c), 0, 0, NULL, NULL, 0, req}
#define KE(n, t, st, f, names, ds, dn) {n, t, offsetof(st, f), 0, 0, 0, names, ds, dn, 0}

#define DAY (24 * 3600)

static const struct key hf_keys[] = {
	KS("database", K_PATH, struct config, database, "/var/lib/helsefeed/helsefeed.db", 0),
	KS("output", K_PATH, struct config, output, "/var/lib/helsefeed/public", 0),
	KS("spool", K_PATH, struct config, spool, "/var/lib/helsefeed/spool", 0),
	KS("base_url", K_BASEURL, struct config, base_url, NULL, 1),
	KS("title", K_STR, struct config, title, "Helsenytt", 0),
	KS("timezone", K_TZ, struct config, timezone, "Europe/Oslo", 0),
	KN("interval", K_DUR, struct config, interval, HF_INTERVAL_MIN_S, HF_INTERVAL_MAX_S, 15 * 60),
	KN("allow_file_urls", K_BOOL, struct config, allow_file_urls, 0, 1, 0),
	KS("user_agent", K_STR, struct config, user_agent, NULL, 0),
	KS("contact", K_CONTACT, struct config, contact, NULL, 0),
	KS("proxy", K_PROXY, struct config, proxy, NULL, 0),
	KE("log_level", K_ENUMSTR, struct config, log_level, level_names, NULL, 0),
	KN("connect_timeout", K_DUR, struct config, connect_timeout, 1, 600, HF_FETCH_CONNECT_TIMEOUT_S),
	KN("timeout", K_DUR, struct config, timeout, 1, 3600, HF_FETCH_TIMEOUT_S),
	KN("low_speed_limit", K_SIZE, struct config, low_speed_limit, 0, 1L << 30, HF_FETCH_LOW_SPEED_BYTES),
	KN("low_speed_time", K_DUR, struct config, low_speed_time, 1, 3600, HF_FETCH_LOW_SPEED_TIME_S),
	KN("max_body", K_SIZE, struct config, max_body, 1024, 1L << 30, HF_FETCH_MAX_BODY),
	KN("max_redirects", K_INT, struct config, max_redirects, 0, 10, HF_FETCH_MAX_REDIRECTS),
	KL("allow_networks", K_CIDRS, struct config, allow_networks, nallow_networks, 0),
	KN("max_connections", K_INT, struct config, max_connections, 1, 256, HF_FETCH_MAX_CONNECTIONS),
	KN("max_per_host", K_INT, struct config, max_per_host, 1, 64, HF_FETCH_MAX_PER_HOST),
	KN("stale_after", K_DUR, struct config, stale_after, 60, 365 * DAY, HF_STALE_AFTER_S),
	KN("dedup_window", K_DUR, struct config, dedup_window, 3600, 365 * DAY, 7 * DAY),
	KL("same_url", K_SAMEURL, struct config, same_url, nsame_url, 0),
	KN("max_entries", K_INT, struct config, max_entries, 1, 10000, HF_PUBLISH_MAX_ENTRIES),
	KS("gazetteer", K_PATHNONE, struct config, gazetteer, HF_GAZETTEER, 0),
	KS("lexicon", K_PATHNONE, struct config, lexicon, HF_LEXICON, 0),
	KN("silent_after", K_DUR, struct config, silent_after, 3600, 10 * 365 * DAY, HF_SILENT_AFTER_S),
	KN("keep", K_DUR, struct config, keep, 30 * DAY, 50 * 365 * DAY, 0),
	KS("metrics_file", K_PATH, struct config, metrics_file, NULL, 0),
};

static const struct key smtp_keys[] = {
	KS("url", K_SMTPURL, struct config_smtp, url, NULL, 1),
	KS("from", K_FROM, struct config_smtp, from, NULL, 1),
	KS("username", K_STR, struct config_smtp, username, NULL, 0),
	KS("password_file", K_PWFILE, struct config_smtp, password_file, NULL, 0),
	KE("starttls", K_ENUM, struct config_smtp, starttls, starttls_names, NULL, 1),
	KN("timeout", K_DUR, struct config_smtp, timeout, 1, 600, 60),
	KS("contact", K_FROM, struct config_smtp, contact, NULL, 0),
};

static const struct key cat_keys[] = {
	KS("title", K_STR, struct config_category, title, NULL, 0),
	KS("match", K_MATCH, struct config_category, match, NULL, 0),
	KS("exclude", K_EXCLUDE, struct config_category, exclude, NULL, 0),
	KS("terms", K_TERMS, struct config_category, terms, NULL, 0),
	KS("threshold", K_WEIGHT, struct config_category, threshold, NULL, 0),
};

static const struct key feed_keys[] = {
	KS("url", K_FEEDURL, struct config_feed, url, NULL, 1),
	KS("title", K_STR, struct config_feed, title, NULL, 0),
	KE("kind", K_ENUM, struct config_feed, kind, kind_names, NULL, FEED_KIND_OTHER),
	KL("categories", K_LIST, struct config_feed, categories, ncategories, 0),
	/* 0 until the end: then the [helsefeed] interval, wherever it is. */
	KN("interval", K_DUR, struct config_feed, interval, HF_INTERVAL_MIN_S, HF_INTERVAL_MAX_S, 0),
	KS("user_agent", K_STR, struct config_feed, user_agent, NULL, 0),
	KN("authority", K_INT, struct config_feed, authority, 0, 100, -1),
};

static const struct key digest_keys[] = {
	KL("to", K_ADDRS, struct config_digest, to, nto, 1),
	KL("categories", K_LIST, struct config_digest, categories, ncategories, 0),
	KN("time", K_TIME, struct config_digest, time, 0, 0, 7 * 60),
	KS("timezone", K_TZ, struct config_digest, timezone, NULL, 0),
	KS("subject", K_STR, struct config_digest, subject, NULL, 0),
	KE("language", K_ENUMSTR, struct config_digest, language, lang_names, "nb", 0),
	KN("send_empty", K_BOOL, struct config_digest, send_empty, 0, 1, 0),
	KS("title", K_STR, struct config_digest, title, NULL, 0),
	KE("frequency", K_ENUM, struct config_digest, frequency, freq_names, NULL, CONFIG_DAILY),
	KE("day", K_ENUM, struct config_digest, day, day_names, NULL, 1),
	/* Two days: a feed polled late or a weekend's backlog is still news;
	 * an archive that a new feed brings along is not.  At most 20000 d,
	 * within an int of seconds. */
	KN("max_age", K_DUR, struct config_digest, max_age, 3600, 20000 * DAY, 2 * DAY),
	KS("from", K_FROM, struct config_digest, from, NULL, 0),
	KS("contact", K_FROM, struct config_digest, contact, NULL, 0),
};

enum skind { SK_HELSEFEED, SK_SMTP, SK_CATEGORY, SK_FEED, SK_DIGEST, SK__COUNT };

static const struct section_kind {
	const char *name;
	int named;
	const struct key *keys;
	size_t nkeys;
} skinds[SK__COUNT] = {
	[SK_HELSEFEED] = {"helsefeed", 0, hf_keys, NELEM(hf_keys)},
	[SK_SMTP] = {"smtp", 0, smtp_keys, NELEM(smtp_keys)},
	[SK_CATEGORY] = {"category", 1, cat_keys, NELEM(cat_keys)},
	[SK_FEED] = {"feed", 1, feed_keys, NELEM(feed_keys)},
	[SK_DIGEST] = {"digest", 1, digest_keys, NELEM(digest_keys)},
};

/* --- parse state ------------------------------------------------------------ */

struct sect {
	enum skind kind;
	size_t idx;                  /* into the config's array of that kind */
	int line;
	char label[CONF_MAX_NAME + 16];  /* "[feed hod]" */
	int keyline[CONF_MAX_KEYS];  /* where each key was set; 0: not set */
};

struct ctx {
	struct config *cfg;
	struct buf *errors;
	struct sect *sects;
	size_t nsects, capsects;
	long cur;                    /* index into sects; -1 none; -2 skipping */
	int nerr;
	int nomem;
};

#define CUR_NONE (-1)
#define CUR_SKIP (-2)

/*
 * Report one error: "FILE:LINE: [section] key: message".  Parts that do not
 * apply are left out.  Returns HF_ECONFIG so that a setter can end with
 * `return bad(...)`.
 */
static int bad(struct ctx *c, const struct sect *s, int line, const char *key,
               const char *fmt, ...) HF_PRINTF(5, 6);

static int bad(struct ctx *c, const struct sect *s, int line, const char *key,
               const char *fmt, ...)
{
	va_list ap;
	int rc;

	c->nerr++;
	rc = buf_puts(c->errors, c->cfg->path);
	if (!rc && line > 0)
		rc = buf_printf(c->errors, ":%d", line);
	if (!rc)
		rc = buf_puts(c->errors, ": ");
	if (!rc && s)
		rc = buf_printf(c->errors, "%s%s", s->label, key ? " " : ": ");
	if (!rc && key)
		rc = buf_printf(c->errors, "%s: ", key);
	if (!rc) {
		va_start(ap, fmt);
		rc = buf_vprintf(c->errors, fmt, ap);
		va_end(ap);
	}
	if (!rc)
		rc = buf_putc(c->errors, '\n');
	if (rc)
		c->nomem = 1;
	return HF_ECONFIG;
}

/* --- did you mean ------------------------------------------------------------ */

/* Optimal string alignment distance: a swapped pair ("Olso") costs one. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[CONF_MAX_NAME + 1][CONF_MAX_NAME + 1];

	if (la > CONF_MAX_NAME || lb > CONF_MAX_NAME)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* Running best candidate: feed it names, read ->best. */
struct suggest {
	const char *word;
	const char *best;
	size_t dist;
};

static void suggest_try(struct suggest *sg, const char *cand)
{
	size_t d = edit_distance(sg->word, cand);
	/* Short words need a closer match, or every typo finds a "fix". */
	size_t limit = strlen(sg->word) <= 4 ? 1 : strlen(sg->word) <= 8 ? 2 : 3;

	if (d && d <= limit && d < sg->dist) {
		sg->best = cand;
		sg->dist = d;
	}
}

/* --- small parsers --------------------------------------------------------- */

int config_parse_duration(const char *s, int *out)
{
	/* Falling order: "1h30m" reads naturally, "30m1h" is a typo. */
	static const struct { char unit; long mul; } units[] = {
		{'y', 365 * DAY}, {'d', DAY}, {'h', 3600}, {'m', 60}, {'s', 1},
	};
	size_t next = 0, u;
	long total = 0, v;
	char *end;

	if (!s || !*s)
		return HF_EINVAL;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return HF_EINVAL;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || v > INT_MAX)
			return HF_EINVAL;
		if (!*end && next == 0) {  /* a bare number: seconds */
			total = v;
			break;
		}
		for (u = next; u < NELEM(units) && units[u].unit != *end; u++)
			;
		if (u == NELEM(units) || v > (INT_MAX - total) / units[u].mul)
			return HF_EINVAL;
		total += v * units[u].mul;
		next = u + 1;
		s = end + 1;
	}
	*out = (int)total;
	return HF_OK;
}

int config_parse_time(const char *s, int *out)
{
	int h, m;

	if (!isdigit((unsigned char)s[0]))
		return HF_EINVAL;
	h = s[0] - '0';
	s++;
	if (isdigit((unsigned char)*s))
		h = h * 10 + (*s++ - '0');
	if (*s++ != ':' || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2])
		return HF_EINVAL;
	m = (s[0] - '0') * 10 + (s[1] - '0');
	if (h > 23 || m > 59)
		return HF_EINVAL;
	*out = h * 60 + m;
	return HF_OK;
}

/* "1h30m" for messages about durations. */
static const char *fmt_duration(long secs, char *b, size_t n)
{
	static const struct { char unit; long mul; } units[] = {
		{'y', 365 * DAY}, {'d', DAY}, {'h', 3600}, {'m', 60}, {'s', 1},
	};
	size_t i, len = 0;

	b[0] = '\0';
	for (i = 0; i < NELEM(units) && len < n; i++)
		if (secs / units[i].mul || (len == 0 && units[i].unit == 's')) {
			int w = snprintf(b + len, n - len, "%ld%c", secs / units[i].mul, units[i].unit);

			if (w < 0)
				break;
			len += (size_t)w;
			secs %= units[i].mul;
		}
	return b;
}

int config_timezone_valid(const char *name)
{
	struct tz *tz = NULL;

	/* The whole file read and checked, not only its magic: a zone the
	 * digests and pages cannot use is no zone. */
	if (tz_open(name, &tz, NULL))
		return 0;
	tz_free(tz);
	return 1;
}

/*
 * A close zone name: the entries of the same region ("Europe/Olso" ->
 * "Europe/Oslo"), or the regions when the region itself is misspelt.
 * Reads at most one directory.  The result goes to out ("" when none).
 */
static void tz_suggest(const char *name, char *out, size_t n)
{
	char dir[PATH_MAX], region[CONF_MAX_NAME + 1];
	const char *slash = strrchr(name, '/');
	const char *leaf = slash ? slash + 1 : name;
	struct suggest sg = {leaf, NULL, SIZE_MAX};
	struct dirent *de;
	DIR *d;
	size_t prev;
	int byregion = 0;

	out[0] = '\0';
	if (strlen(name) > CONF_MAX_NAME)
		return;
	region[0] = '\0';
	if (slash) {
		snprintf(region, sizeof(region), "%.*s", (int)(slash - name), name);
		snprintf(dir, sizeof(dir), "%s/%s", tz_dir(), region);
		d = opendir(dir);
		if (!d) {
			byregion = 1;
			sg.word = region;
			d = opendir(tz_dir());
		}
	} else {
		d = opendir(tz_dir());
	}
	if (!d)
		return;
	while ((de = readdir(d))) {
		char cand[TZ_NAME_BUF];

		if (de->d_name[0] == '.' || strlen(de->d_name) > CONF_MAX_NAME)
			continue;
		if (byregion)
			snprintf(cand, sizeof(cand), "%s/%s", de->d_name, leaf);
		else if (slash)
			snprintf(cand, sizeof(cand), "%s/%s", region, de->d_name);
		else
			snprintf(cand, sizeof(cand), "%s", de->d_name);
		prev = sg.dist;
		sg.best = NULL;
		suggest_try(&sg, de->d_name);
		if (sg.best && config_timezone_valid(cand))
			snprintf(out, n, "%s", cand);
		else
			sg.dist = prev;  /* closer, but not a zone */
	}
	closedir(d);
}

/* An addr-spec of RFC 5322 3.4.1, dot-atom form only: what press offices
 * use.  Quoted local parts and address literals are refused. */
static int addr_valid(const char *a, size_t n)
{
	const char *at = NULL;
	size_t i, label = 0;

	for (i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	if (!at || at == a || (size_t)(at - a) > 64 || at + 1 == a + n || n > 254)
		return 0;
	for (i = 0; a + i < at; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch == '.') {
			if (i == 0 || a + i + 1 == at || a[i + 1] == '.')
				return 0;
		} else if (!isalnum(ch) && !strchr("!#$%&'*+-/=?^_`{|}~", ch)) {
			return 0;
		}
	}
	/* Domain: LDH labels of RFC 1035 2.3.1. */
	for (const char *p = at + 1; p <= a + n; p++) {
		if (p == a + n || *p == '.') {
			if (!label || p[-1] == '-' || p[-label] == '-' || label > 63)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/*
 * The URL checks: the scheme from `schemes` (checked here, for a precise
 * message), the rest by libcurl's own parser.  Returns 0 or the error text
 * in msg.
 */
static int url_check(const char *url, const char *const *schemes, int allow_file,
                     char *msg, size_t n)
{
	size_t sl = strcspn(url, ":"), i;
	CURLU *h = NULL;
	CURLUcode uc;
	char *host = NULL;
	int ok = -1, isfile = 0;

	if (!url[sl] || sl == 0 || !isalpha((unsigned char)url[0])) {
		snprintf(msg, n, "expected an absolute URL like %s://..., not '%s'", schemes[0], url);
		return -1;
	}
	for (i = 0; schemes[i]; i++)
		if (strlen(schemes[i]) == sl && !strncasecmp(url, schemes[i], sl))
			break;
	isfile = sl == 4 && !strncasecmp(url, "file", 4);
	if (!schemes[i] && !(isfile && allow_file > 0)) {
		if (isfile && allow_file == 0)
			snprintf(msg, n, "file:// URLs are only allowed with allow_file_urls = yes "
			                 "in [helsefeed]");
		else
			snprintf(msg, n, "unsupported scheme '%.*s'; expected %s://%s%s%s", (int)sl, url,
			         schemes[0], schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "",
			         schemes[1] ? "://" : "");
		return -1;
	}
	h = curl_url();
	if (!h) {
		snprintf(msg, n, "out of memory");
		return -1;
	}
	uc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (uc) {
		snprintf(msg, n, "malformed URL '%s': %s", url, curl_url_strerror(uc));
		goto out;
	}
	if (!isfile && (curl_url_get(h, CURLUPART_HOST, &host, 0) || !host || !*host)) {
		snprintf(msg, n, "URL '%s' has no host", url);
		goto out;
	}
	ok = 0;
out:
	curl_free(host);
	curl_url_cleanup(h);
	return ok;
}

/*
 * Rule text of `match` / `exclude` (syntax in classify.h and feeds.conf):
 * the obvious mistakes, with the term in the message.  classify_compile
 * checks the letters of every term as well.
 */
static int rules_check(const char *s, int conditions, char *msg, size_t n)
{
#define RSEP(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == ',')
#define REND(ch) (!(ch) || RSEP(ch) || (ch) == '[' || (ch) == ']')
	const char *p = s, *t;
	int inside = 0;   /* within [...] */
	int haveterm = 0; /* a term just before a '[' */

	while (*p) {
		if (RSEP(*p)) {
			p++;
			continue;
		}
		if (*p == '[') {
			if (!conditions) {
				snprintf(msg, n, "no '[...]' conditions in exclude: '%s'", s);
				return -1;
			}
			if (inside) {
				snprintf(msg, n, "'[' inside '[...]'");
				return -1;
			}
			if (!haveterm) {
				snprintf(msg, n, "'[' without a term before it");
				return -1;
			}
			inside = 1;
			haveterm = 0;
			p++;
			continue;
		}
		if (*p == ']') {
			if (!inside) {
				snprintf(msg, n, "']' without '['");
				return -1;
			}
			if (!haveterm) {
				snprintf(msg, n, "empty '[]'");
				return -1;
			}
			inside = 0;
			haveterm = 0;
			p++;
			continue;
		}
		for (t = p; !REND(*p); p++)
			;
		{
			size_t len = (size_t)(p - t), b = 0, e = len;

			if (b < e && t[b] == '*')
				b++;
			if (b < e && t[e - 1] == '*')
				e--;
			if (b == e) {
				snprintf(msg, n, "empty term '%.*s'", (int)len, t);
				return -1;
			}
			if (memchr(t + b, '*', e - b)) {
				snprintf(msg, n, "'*' inside term '%.*s'; it may only start or end one",
				         (int)len, t);
				return -1;
			}
		}
		haveterm = 1;
		/* A condition belongs to the term right before it. */
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[' && !inside)
			haveterm = 0;
	}
	if (inside) {
		snprintf(msg, n, "'[' without ']'");
		return -1;
	}
	return 0;
#undef RSEP
#undef REND
}

/* --- setters ------------------------------------------------------------------ */

struct val {
	struct ctx *c;
	const struct sect *s;
	const struct key *k;
	int line;
	const char *v;           /* trimmed, ${CONFDIR} expanded */
	void *field;
};

static int set_strdup(struct val *a, const char *s)
{
	char **f = a->field;
	char *d = strdup(s);

	if (!d)
		return HF_ENOMEM;
	free(*f);
	*f = d;
	return HF_OK;
}

static int set_str(struct val *a)
{
	char **f = a->field;

	if (!a->v[0]) {
		free(*f);
		*f = NULL;
		return HF_OK;
	}
	return set_strdup(a, a->v);
}

static int set_path(struct val *a)
{
	const char *dir = a->c->cfg->dir;
	char *p = NULL;
	int rc;

	if (!a->v[0])
		return bad(a->c, a->s, a->line, a->k->name, "expected a file name");
	if (a->v[0] == '/')
		return set_strdup(a, a->v);
	if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", a->v) < 0)
		return HF_ENOMEM;
	rc = set_strdup(a, p);
	free(p);
	return rc;
}

static int set_url(struct val *a, const char *const *schemes)
{
	char msg[512];

	/* -1: file:// is never right here, whatever allow_file_urls says. */
	if (url_check(a->v, schemes, -1, msg, sizeof(msg)))
		return bad(a->c, a->s, a->line, a->k->name, "%s", msg);
	return set_strdup(a, a->v);
}

static int set_baseurl(struct val *a)
{
	static const char *const schemes[] = {"https", "http", NULL};
	char *p = NULL;
	int rc;

	if ((rc = set_url(a, schemes)))
		return rc;
	/* Entry links are resolved against it (RFC 3986 5.2): without the
	 * final '/' the last segment would be replaced. */
	if (a->v[strlen(a->v) - 1] == '/')
		return HF_OK;
	if (asprintf(&p, "%s/", a->v) < 0)
		return HF_ENOMEM;
	rc = set_strdup(a, p);
	free(p);
	return rc;
}

static int set_proxy(struct val *a)
{
	static const char *const schemes[] = {"http", "https", "socks4", "socks4a",
	                                      "socks5", "socks5h", NULL};

	if (!a->v[0])
		return set_str(a);
	return set_url(a, schemes);
}

static int set_contact(struct val *a)
{
	static const char *const schemes[] = {"https", "http", NULL};
	char msg[512];

	if (!a->v[0])
		return set_str(a);
	if (!strncasecmp(a->v, "mailto:", 7)) {
		if (!addr_valid(a->v + 7, strlen(a->v + 7)))
			return bad(a->c, a->s, a->line, a->k->name,
			           "expected mailto:name@example.no or an http(s) URL, not '%s'", a->v);
		return set_str(a);
	}
	if (url_check(a->v, schemes, -1, msg, sizeof(msg)))
		return bad(a->c, a->s, a->line, a->k->name,
		           "expected an http(s) URL or mailto:name@example.no: %s", msg);
	return set_str(a);
}

/* Checked in finish(): allow_file_urls may come after the feed. */
static int set_feedurl(struct val *a)
{
	if (!a->v[0])
		return bad(a->c, a->s, a->line, a->k->name, "expected the URL of the feed");
	return set_str(a);
}

static int set_smtpurl(struct val *a)
{
	static const char *const schemes[] = {"smtps", "smtp", NULL};

	return set_url(a, schemes);
}

static int set_pwfile(struct val *a)
{
	struct stat st;
	const char *p;
	int rc = set_path(a);

	if (rc)
		return rc;
	p = *(char **)a->field;
	if (stat(p, &st))
		return bad(a->c, a->s, a->line, a->k->name, "'%s': %s", p, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return bad(a->c, a->s, a->line, a->k->name, "'%s' is not a regular file", p);
	if (st.st_mode & 077)
		return bad(a->c, a->s, a->line, a->k->name,
		           "'%s' is readable by others (mode %04o); chmod 600 it", p,
		           (unsigned)(st.st_mode & 07777));
	if (access(p, R_OK))
		return bad(a->c, a->s, a->line, a->k->name, "'%s': %s", p, strerror(errno));
	return HF_OK;
}

static int set_dur(struct val *a)
{
	char lo[32], hi[32];
	int v;

	if (config_parse_duration(a->v, &v))
		return bad(a->c, a->s, a->line, a->k->name,
		           "expected a duration like 90s, 15m, 1h30m or 1d, not '%s'", a->v);
	if (v < a->k->min)
		return bad(a->c, a->s, a->line, a->k->name, "%s is below the minimum of %s", a->v,
		           fmt_duration(a->k->min, lo, sizeof(lo)));
	if (v > a->k->max)
		return bad(a->c, a->s, a->line, a->k->name, "%s is above the maximum of %s", a->v,
		           fmt_duration(a->k->max, hi, sizeof(hi)));
	*(int *)a->field = v;
	return HF_OK;
}

static int parse_long(const char *s, long *out, char **end)
{
	if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])))
		return HF_EINVAL;
	errno = 0;
	*out = strtol(s, end, 10);
	return errno ? HF_EINVAL : HF_OK;
}

static int set_int(struct val *a)
{
	char *end;
	long v;

	if (parse_long(a->v, &v, &end) || *end)
		return bad(a->c, a->s, a->line, a->k->name, "expected an integer, not '%s'", a->v);
	if (v < a->k->min || v > a->k->max)
		return bad(a->c, a->s, a->line, a->k->name, "%ld is out of range; expected %ld to %ld",
		           v, a->k->min, a->k->max);
	*(int *)a->field = (int)v;
	return HF_OK;
}

static int set_size(struct val *a)
{
	static const struct { const char *suffix; long mul; } sfx[] = {
		{"", 1}, {"k", 1024}, {"K", 1024}, {"M", 1024L * 1024}, {"G", 1024L * 1024 * 1024},
	};
	char *end;
	long v;
	size_t i;

	if (parse_long(a->v, &v, &end) || v < 0)
		goto badval;
	for (i = 0; i < NELEM(sfx) && strcmp(end, sfx[i].suffix); i++)
		;
	if (i == NELEM(sfx))
		goto badval;
	if (v > a->k->max / sfx[i].mul || v * sfx[i].mul < a->k->min)
		return bad(a->c, a->s, a->line, a->k->name,
		           "%s is out of range; expected %ld to %ld bytes", a->v, a->k->min, a->k->max);
	*(long *)a->field = v * sfx[i].mul;
	return HF_OK;
badval:
	return bad(a->c, a->s, a->line, a->k->name,
	           "expected a size in bytes, with k, M or G for KiB, MiB, GiB, not '%s'", a->v);
}

static int set_bool(struct val *a)
{
	static const struct { const char *name; int v; } words[] = {
		{"yes", 1}, {"true", 1}, {"on", 1}, {"1", 1},
		{"no", 0}, {"false", 0}, {"off", 0}, {"0", 0},
	};
	size_t i;

	for (i = 0; i < NELEM(words); i++)
		if (!strcasecmp(a->v, words[i].name)) {
			*(int *)a->field = words[i].v;
			return HF_OK;
		}
	return bad(a->c, a->s, a->line, a->k->name, "expected yes or no, not '%s'", a->v);
}

static int set_tz(struct val *a)
{
	char sug[TZ_NAME_BUF];

	if (config_timezone_valid(a->v))
		return set_str(a);
	tz_suggest(a->v, sug, sizeof(sug));
	if (sug[0])
		return bad(a->c, a->s, a->line, a->k->name,
		           "unknown time zone '%s'; did you mean '%s'?", a->v, sug);
	return bad(a->c, a->s, a->line, a->k->name,
	           "unknown time zone '%s'; expected an IANA name like Europe/Oslo", a->v);
}

static int set_time(struct val *a)
{
	if (config_parse_time(a->v, a->field))
		return bad(a->c, a->s, a->line, a->k->name,
		           "expected a time of day like 07:00, not '%s'", a->v);
	return HF_OK;
}

static int enum_find(const struct val *a)
{
	int i;

	for (i = 0; a->k->names[i]; i++)
		if (!strcmp(a->v, a->k->names[i]))
			return i;
	return -1;
}

static int enum_bad(struct val *a)
{
	struct suggest sg = {a->v, NULL, SIZE_MAX};
	struct buf list = BUF_INIT;
	int i, rc = HF_OK;

	for (i = 0; a->k->names[i] && !rc; i++) {
		suggest_try(&sg, a->k->names[i]);
		rc = buf_printf(&list, "%s%s", i ? ", " : "", a->k->names[i]);
	}
	if (rc) {
		buf_free(&list);
		return rc;
	}
	if (sg.best)
		bad(a->c, a->s, a->line, a->k->name, "unknown value '%s'; did you mean '%s'? (one of %s)",
		    a->v, sg.best, buf_str(&list));
	else
		bad(a->c, a->s, a->line, a->k->name, "unknown value '%s'; expected one of %s", a->v,
		    buf_str(&list));
	buf_free(&list);
	return HF_ECONFIG;
}

static int set_enum(struct val *a)
{
	int i = enum_find(a);

	if (i < 0)
		return enum_bad(a);
	*(int *)a->field = i;
	return HF_OK;
}

static int set_enumstr(struct val *a)
{
	int i = enum_find(a);

	if (i < 0)
		return enum_bad(a);
	return set_strdup(a, a->k->names[i]);
}

static void list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Split on commas and whitespace; check each item with `ok` (may be NULL). */
static int set_list_with(struct val *a, int (*ok)(const char *, size_t), const char *expected)
{
	char ***arr = a->field;
	size_t *cnt = (size_t *)((char *)a->field - a->k->off + a->k->off2);
	char **v = NULL, **nv;
	size_t n = 0;
	const char *p = a->v;
	int rc = HF_OK;

	for (;;) {
		size_t len;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		len = strcspn(p, " \t,");
		if (ok && !ok(p, len)) {
			rc = bad(a->c, a->s, a->line, a->k->name, "'%.*s' is not %s", (int)len, p,
			         expected);
			p += len;
			continue;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strndup(p, len))) {
			v = nv ? nv : v;
			rc = HF_ENOMEM;
			break;
		}
		v = nv;
		n++;
		p += len;
	}
	if (rc) {
		list_free(v, n);
		return rc;
	}
	list_free(*arr, *cnt);
	*arr = v;
	*cnt = n;
	return HF_OK;
}

static int set_list(struct val *a)
{
	return set_list_with(a, NULL, NULL);
}

static int cidr_valid(const char *s, size_t n)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	struct fetch_cidr c;

	if (n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return fetch_cidr_parse(tmp, &c) == HF_OK;
}

static int set_cidrs(struct val *a)
{
	return set_list_with(a, cidr_valid, "a network like 10.0.0.0/8 or ::1/128");
}

static int set_sameurl(struct val *a)
{
	return set_list_with(a, dedup_url_pattern_valid,
	                     "a URL pattern with one {N}, like https://www.example.no/*/id{N}/");
}

static int set_addrs(struct val *a)
{
	return set_list_with(a, addr_valid, "an e-mail address like name@example.no");
}

/* "Display Name <addr>" or "addr"; RFC 5322 3.4 name-addr, kept simple. */
static int set_from(struct val *a)
{
	const char *v = a->v, *lt = strchr(v, '<');
	size_t n = strlen(v);

	if (!lt ? addr_valid(v, n)
	        : (v[n - 1] == '>' && !strchr(lt + 1, '<') && memchr(v, '>', n - 1) == NULL &&
	           addr_valid(lt + 1, (size_t)(v + n - 1 - (lt + 1)))))
		return set_str(a);
	return bad(a->c, a->s, a->line, a->k->name,
	           "expected 'Name <name@example.no>' or 'name@example.no', not '%s'", v);
}

static int set_rules(struct val *a, int conditions)
{
	char msg[256];

	if (rules_check(a->v, conditions, msg, sizeof(msg)))
		return bad(a->c, a->s, a->line, a->k->name, "%s", msg);
	return set_str(a);
}

static int set_match(struct val *a)
{
	return set_rules(a, 1);
}

static int set_exclude(struct val *a)
{
	return set_rules(a, 0);
}

/* Gazetteer terms: classify_terms_check has the syntax (classify.h). */
static int set_terms(struct val *a)
{
	char msg[256];

	if (classify_terms_check(a->v, msg, sizeof msg))
		return bad(a->c, a->s, a->line, a->k->name, "%s", msg);
	return set_str(a);
}

static int set_weight(struct val *a)
{
	double d;

	if (classify_weight_parse(a->v, strlen(a->v), &d) || d <= 0)
		return bad(a->c, a->s, a->line, a->k->name,
		           "expected a number above 0 and at most 100, such as 1 or 1.5, not '%s'",
		           a->v);
	return set_str(a);
}

static int set_pathnone(struct val *a)
{
	if (!strcmp(a->v, "none"))
		return set_str(a);
	return set_path(a);
}

static const struct ktype_info {
	int (*set)(struct val *);
	enum kstore store;
	int empty_ok;            /* an empty value is accepted (and unsets) */
} ktypes[] = {
	[K_STR] = {set_str, ST_STR, 1},
	[K_PATH] = {set_path, ST_STR, 0},
	[K_BASEURL] = {set_baseurl, ST_STR, 0},
	[K_PROXY] = {set_proxy, ST_STR, 1},
	[K_CONTACT] = {set_contact, ST_STR, 1},
	[K_FEEDURL] = {set_feedurl, ST_STR, 0},
	[K_SMTPURL] = {set_smtpurl, ST_STR, 0},
	[K_PWFILE] = {set_pwfile, ST_STR, 0},
	[K_DUR] = {set_dur, ST_INT, 0},
	[K_INT] = {set_int, ST_INT, 0},
	[K_SIZE] = {set_size, ST_LONG, 0},
	[K_BOOL] = {set_bool, ST_INT, 0},
	[K_TZ] = {set_tz, ST_STR, 0},
	[K_TIME] = {set_time, ST_INT, 0},
	[K_ENUM] = {set_enum, ST_INT, 0},
	[K_ENUMSTR] = {set_enumstr, ST_STR, 0},
	[K_LIST] = {set_list, ST_LIST, 1},
	[K_ADDRS] = {set_addrs, ST_LIST, 0},
	[K_CIDRS] = {set_cidrs, ST_LIST, 1},
	[K_SAMEURL] = {set_sameurl, ST_LIST, 1},
	[K_FROM] = {set_from, ST_STR, 0},
	[K_MATCH] = {set_match, ST_STR, 1},
	[K_EXCLUDE] = {set_exclude, ST_STR, 1},
	[K_TERMS] = {set_terms, ST_STR, 1},
	[K_WEIGHT] = {set_weight, ST_STR, 0},
	[K_PATHNONE] = {set_pathnone, ST_STR, 0},
};

/* --- the object of a section --------------------------------------------- */

static void *sect_base(struct config *cfg, const struct sect *s)
{
	switch (s->kind) {
	case SK_HELSEFEED: return cfg;
	case SK_SMTP: return &cfg->smtp;
	case SK_CATEGORY: return &cfg->categories[s->idx];
	case SK_FEED: return &cfg->feeds[s->idx];
	case SK_DIGEST: return &cfg->digests[s->idx];
	case SK__COUNT: break;
	}
	return NULL;
}

static int apply_defaults(const struct key *keys, size_t n, void *base)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *f = (char *)base + keys[i].off;

		switch (ktypes[keys[i].type].store) {
		case ST_STR:
			if (keys[i].defs && !(*(char **)f = strdup(keys[i].defs)))
				return HF_ENOMEM;
			break;
		case ST_INT: *(int *)f = (int)keys[i].defn; break;
		case ST_LONG: *(long *)f = keys[i].defn; break;
		case ST_LIST: break;
		}
	}
	return HF_OK;
}

static void free_fields(const struct key *keys, size_t n, void *base)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *f = (char *)base + keys[i].off;

		if (ktypes[keys[i].type].store == ST_STR)
			free(*(char **)f);
		else if (ktypes[keys[i].type].store == ST_LIST)
			list_free(*(char ***)f, *(size_t *)((char *)base + keys[i].off2));
	}
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	free_fields(hf_keys, NELEM(hf_keys), cfg);
	free_fields(smtp_keys, NELEM(smtp_keys), &cfg->smtp);
	for (i = 0; i < cfg->ncategories; i++) {
		free(cfg->categories[i].name);
		free_fields(cat_keys, NELEM(cat_keys), &cfg->categories[i]);
	}
	for (i = 0; i < cfg->nfeeds; i++) {
		free(cfg->feeds[i].name);
		free_fields(feed_keys, NELEM(feed_keys), &cfg->feeds[i]);
	}
	for (i = 0; i < cfg->ndigests; i++) {
		free(cfg->digests[i].name);
		free_fields(digest_keys, NELEM(digest_keys), &cfg->digests[i]);
	}
	free(cfg->categories);
	free(cfg->feeds);
	free(cfg->digests);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

/* Append a zeroed object to one of the arrays; *idx gets its index. */
static int grow(void **arr, size_t *n, size_t size, size_t *idx)
{
	char *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return HF_ENOMEM;
	memset(p + *n * size, 0, size);
	*arr = p;
	*idx = (*n)++;
	return HF_OK;
}

static int open_object(struct config *cfg, enum skind kind, const char *name, int line,
                       size_t *idx)
{
	char **pname;
	int *pline;
	int rc;

	switch (kind) {
	case SK_CATEGORY:
		if ((rc = grow((void **)&cfg->categories, &cfg->ncategories,
		               sizeof(*cfg->categories), idx)))
			return rc;
		pname = &cfg->categories[*idx].name;
		pline = &cfg->categories[*idx].line;
		break;
	case SK_FEED:
		if ((rc = grow((void **)&cfg->feeds, &cfg->nfeeds, sizeof(*cfg->feeds), idx)))
			return rc;
		pname = &cfg->feeds[*idx].name;
		pline = &cfg->feeds[*idx].line;
		break;
	case SK_DIGEST:
		if ((rc = grow((void **)&cfg->digests, &cfg->ndigests, sizeof(*cfg->digests), idx)))
			return rc;
		pname = &cfg->digests[*idx].name;
		pline = &cfg->digests[*idx].line;
		break;
	default:
		*idx = 0;
		if (kind == SK_SMTP)
			cfg->smtp.present = 1;
		return HF_OK;
	}
	*pline = line;
	if (!(*pname = strdup(name)))
		return HF_ENOMEM;
	return HF_OK;
}

/* --- lines ------------------------------------------------------------------- */

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Cut a comment: ';' or '#' at the start or after whitespace. */
static size_t strip_comment(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] == ';' || p[i] == '#') && (i == 0 || is_space(p[i - 1])))
			return i;
	return n;
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_space(**p))
		(*p)++, (*n)--;
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

static int name_valid(const char *p, size_t n)
{
	size_t i;

	if (!n || n > CONF_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) &&
		    p[i] != '_' && p[i] != '-')
			return 0;
	return 1;
}

static int do_header(struct ctx *c, const char *p, size_t n, int line)
{
	struct sect probe = {0};
	const char *type, *name;
	size_t tn, nn, i;
	struct sect *s;
	enum skind kind;
	int rc;

	c->cur = CUR_SKIP;
	snprintf(probe.label, sizeof(probe.label), "%.*s", (int)n, p);
	if (n < 2 || p[n - 1] != ']')
		return bad(c, NULL, line, NULL, "%s: expected ']' at the end of the section header",
		           probe.label);
	p++, n -= 2;
	trim(&p, &n);
	type = p;
	for (tn = 0; tn < n && !is_space(p[tn]); tn++)
		;
	name = p + tn;
	nn = n - tn;
	trim(&name, &nn);
	for (i = 0; i < SK__COUNT; i++)
		if (strlen(skinds[i].name) == tn && !strncmp(skinds[i].name, type, tn))
			break;
	if (i == SK__COUNT) {
		char word[CONF_MAX_NAME + 1];
		struct suggest sg = {word, NULL, SIZE_MAX};

		snprintf(word, sizeof(word), "%.*s", (int)(tn < CONF_MAX_NAME ? tn : CONF_MAX_NAME), type);
		for (i = 0; i < SK__COUNT; i++)
			suggest_try(&sg, skinds[i].name);
		if (sg.best)
			return bad(c, &probe, line, NULL, "unknown section type '%s'; did you mean '%s'?",
			           word, sg.best);
		return bad(c, &probe, line, NULL, "unknown section type '%s'; expected [helsefeed], "
		           "[smtp], [category NAME], [feed NAME] or [digest NAME]", word);
	}
	kind = (enum skind)i;
	if (skinds[kind].named && !nn)
		return bad(c, &probe, line, NULL, "missing section name; expected [%s NAME]",
		           skinds[kind].name);
	if (!skinds[kind].named && nn)
		return bad(c, &probe, line, NULL, "[%s] takes no name", skinds[kind].name);
	if (nn && !name_valid(name, nn))
		return bad(c, &probe, line, NULL, "bad name '%.*s'; use 1 to %d of a-z, 0-9, '_' and '-'",
		           (int)nn, name, CONF_MAX_NAME);
	snprintf(probe.label, sizeof(probe.label), "[%s%s%.*s]", skinds[kind].name, nn ? " " : "",
	         (int)nn, name);
	for (i = 0; i < c->nsects; i++)
		if (c->sects[i].kind == kind && !strcmp(c->sects[i].label, probe.label))
			return bad(c, &probe, line, NULL, "duplicate section; the first %s is at line %d",
			           probe.label, c->sects[i].line);

	if (c->nsects == c->capsects) {
		size_t cap = c->capsects ? 2 * c->capsects : 16;
		struct sect *ns = realloc(c->sects, cap * sizeof(*ns));

		if (!ns)
			return HF_ENOMEM;
		c->sects = ns;
		c->capsects = cap;
	}
	s = &c->sects[c->nsects];
	*s = probe;
	s->kind = kind;
	s->line = line;
	{
		char nm[CONF_MAX_NAME + 1];

		snprintf(nm, sizeof(nm), "%.*s", (int)nn, name);
		if ((rc = open_object(c->cfg, kind, nm, line, &s->idx)))
			return rc;
	}
	c->cur = (long)c->nsects++;
	if (kind != SK_HELSEFEED && kind != SK_SMTP)
		return apply_defaults(skinds[kind].keys, skinds[kind].nkeys, sect_base(c->cfg, s));
	return HF_OK;
}

/* Expand ${CONFDIR}; any other ${...} is an error (returns 1). */
static int expand(struct ctx *c, const char *v, size_t n, struct buf *out, int *err)
{
	static const char var[] = "${CONFDIR}";
	size_t i = 0;
	int rc;

	*err = 0;
	while (i < n) {
		const char *d = memchr(v + i, '$', n - i);
		size_t run = d ? (size_t)(d - (v + i)) : n - i;

		if ((rc = buf_append(out, v + i, run)))
			return rc;
		i += run;
		if (i >= n)
			break;
		if (n - i >= sizeof(var) - 1 && !memcmp(v + i, var, sizeof(var) - 1)) {
			if ((rc = buf_puts(out, c->cfg->dir)))
				return rc;
			i += sizeof(var) - 1;
		} else if (i + 1 < n && v[i + 1] == '{') {
			*err = 1;
			return HF_OK;
		} else {
			if ((rc = buf_putc(out, '$')))
				return rc;
			i++;
		}
	}
	return HF_OK;
}

static int find_key(enum skind kind, const char *key)
{
	size_t i;

	for (i = 0; i < skinds[kind].nkeys; i++)
		if (!strcmp(skinds[kind].keys[i].name, key))
			return (int)i;
	return -1;
}

static int unknown_key(struct ctx *c, const struct sect *s, int line, const char *key)
{
	struct suggest sg = {key, NULL, SIZE_MAX};
	char where[128] = "";
	size_t i, k, len = 0;

	for (i = 0; i < skinds[s->kind].nkeys; i++)
		suggest_try(&sg, skinds[s->kind].keys[i].name);
	if (sg.best)
		return bad(c, s, line, key, "unknown key; did you mean '%s'?", sg.best);
	for (k = 0; k < SK__COUNT && len < sizeof(where); k++)
		if (k != s->kind && find_key((enum skind)k, key) >= 0) {
			int w = snprintf(where + len, sizeof(where) - len, "%s[%s%s]", len ? " or " : "",
			                 skinds[k].name, skinds[k].named ? " NAME" : "");
			len += w > 0 ? (size_t)w : 0;
		}
	if (len)
		return bad(c, s, line, key, "unknown key here; it belongs in %s", where);
	return bad(c, s, line, key, "unknown key");
}

static int do_key(struct ctx *c, const char *p, size_t n, int line)
{
	const char *eq = memchr(p, '=', n), *kp = p, *vp;
	size_t kn, vn;
	char key[CONF_MAX_NAME + 1];
	struct buf val = BUF_INIT;
	struct sect *s;
	struct val a;
	int ki, rc = HF_OK, verr;

	if (!eq)
		return bad(c, c->cur >= 0 ? &c->sects[c->cur] : NULL, line, NULL,
		           "expected 'key = value' or '[section]', not '%.*s'", (int)n, p);
	kn = (size_t)(eq - p);
	trim(&kp, &kn);
	if (!kn)
		return bad(c, c->cur >= 0 ? &c->sects[c->cur] : NULL, line, NULL,
		           "missing key before '='");
	snprintf(key, sizeof(key), "%.*s", (int)(kn < CONF_MAX_NAME ? kn : CONF_MAX_NAME), kp);
	if (c->cur == CUR_SKIP)
		return HF_OK;  /* under a broken header: already reported */
	if (c->cur == CUR_NONE) {
		size_t k;

		for (k = 0; k < SK__COUNT && find_key((enum skind)k, key) < 0; k++)
			;
		if (k < SK__COUNT)
			return bad(c, NULL, line, key, "key outside any section; put it under [%s%s]",
			           skinds[k].name, skinds[k].named ? " NAME" : "");
		return bad(c, NULL, line, key, "key outside any section");
	}
	s = &c->sects[c->cur];
	ki = find_key(s->kind, key);
	if (ki < 0)
		return unknown_key(c, s, line, key);
	if (s->keyline[ki])
		return bad(c, s, line, key, "duplicate key; first set at line %d", s->keyline[ki]);
	s->keyline[ki] = line;

	vp = eq + 1;
	vn = n - (size_t)(vp - p);
	vn = strip_comment(vp, vn);
	trim(&vp, &vn);
	if ((rc = expand(c, vp, vn, &val, &verr)))
		goto out;
	if (verr) {
		rc = bad(c, s, line, key, "unknown variable in '%.*s'; only ${CONFDIR} is defined",
		         (int)vn, vp);
		goto out;
	}
	a.c = c;
	a.s = s;
	a.k = &skinds[s->kind].keys[ki];
	a.line = line;
	a.v = buf_str(&val);
	a.field = (char *)sect_base(c->cfg, s) + a.k->off;
	if (!a.v[0] && !ktypes[a.k->type].empty_ok)
		rc = bad(c, s, line, key, "missing value");
	else
		rc = ktypes[a.k->type].set(&a);
out:
	buf_free(&val);
	/* A bad value was reported; parsing goes on. */
	return rc == HF_ECONFIG ? HF_OK : rc;
}

static int do_line(struct ctx *c, const char *p, size_t n, int line)
{
	size_t i;
	int rc;

	if (n && p[n - 1] == '\r')  /* CR LF files from Windows editors */
		n--;
	if (n > HF_CONF_MAX_LINE)
		return bad(c, NULL, line, NULL, "line longer than %d bytes", HF_CONF_MAX_LINE);
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			return bad(c, NULL, line, NULL, "control character 0x%02x in line",
			           (unsigned)(unsigned char)p[i]);
	{
		utf8proc_int32_t cp;

		for (i = 0; i < n;) {
			utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)p + i,
			                                      (utf8proc_ssize_t)(n - i), &cp);
			if (m < 0)
				return bad(c, NULL, line, NULL, "not valid UTF-8");
			i += (size_t)m;
		}
	}
	trim(&p, &n);
	if (!n || *p == ';' || *p == '#')
		return HF_OK;
	if (*p == '[') {
		n = strip_comment(p, n);
		trim(&p, &n);
		rc = do_header(c, p, n, line);
	} else {
		rc = do_key(c, p, n, line);
	}
	return rc == HF_ECONFIG ? HF_OK : rc;
}

/* --- checks that need the whole file -------------------------------------- */

static void check_refs(struct ctx *c, const struct sect *s, const char *key, char **names,
                       size_t n)
{
	const struct config *cfg = c->cfg;
	int line = s->keyline[find_key(s->kind, key)];
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct suggest sg = {names[i], NULL, SIZE_MAX};

		if (config_category_find(cfg, names[i]))
			continue;
		for (j = 0; j < cfg->ncategories; j++)
			suggest_try(&sg, cfg->categories[j].name);
		if (sg.best)
			bad(c, s, line, key, "unknown category '%s'; did you mean '%s'?", names[i],
			    sg.best);
		else
			bad(c, s, line, key, "unknown category '%s'; define it with [category %s]",
			    names[i], names[i]);
	}
}

static int dup_default(char **f, const char *def)
{
	if (*f || !def)
		return HF_OK;
	return (*f = strdup(def)) ? HF_OK : HF_ENOMEM;
}

static int finish(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct sect hf = {.kind = SK_HELSEFEED, .label = "[helsefeed]"};
	struct sect *hfs = &hf;
	size_t i, k;
	int rc;

	for (i = 0; i < c->nsects; i++)
		if (c->sects[i].kind == SK_HELSEFEED)
			hfs = &c->sects[i];
	cfg->gazetteer_line = hfs->keyline[find_key(SK_HELSEFEED, "gazetteer")];
	cfg->lexicon_line = hfs->keyline[find_key(SK_HELSEFEED, "lexicon")];

	/* Required keys, from the tables. */
	for (i = 0; i <= c->nsects; i++) {
		const struct sect *s = i < c->nsects ? &c->sects[i] : hfs == &hf ? hfs : NULL;

		if (!s)
			continue;
		for (k = 0; k < skinds[s->kind].nkeys; k++)
			if (skinds[s->kind].keys[k].required && !s->keyline[k])
				bad(c, s, s->line, NULL, "missing key '%s'", skinds[s->kind].keys[k].name);
	}

	for (i = 0; i < c->nsects; i++) {
		const struct sect *s = &c->sects[i];

		switch (s->kind) {
		case SK_CATEGORY: {
			struct config_category *cc = &cfg->categories[s->idx];

			cc->terms_line = s->keyline[find_key(SK_CATEGORY, "terms")];
			if ((rc = dup_default(&cc->title, cc->name)))
				return rc;
			break;
		}
		case SK_FEED: {
			static const char *const schemes[] = {"https", "http", NULL};
			struct config_feed *f = &cfg->feeds[s->idx];
			char msg[512];

			if (f->url && url_check(f->url, schemes, cfg->allow_file_urls, msg, sizeof(msg)))
				bad(c, s, s->keyline[find_key(SK_FEED, "url")], "url", "%s", msg);
			if (!f->interval)
				f->interval = cfg->interval;
			if ((rc = dup_default(&f->title, f->name)))
				return rc;
			check_refs(c, s, "categories", f->categories, f->ncategories);
			break;
		}
		case SK_DIGEST: {
			struct config_digest *d = &cfg->digests[s->idx];

			if ((rc = dup_default(&d->timezone, cfg->timezone)) ||
			    (rc = dup_default(&d->title, cfg->title ? cfg->title : d->name)))
				return rc;
			check_refs(c, s, "categories", d->categories, d->ncategories);
			if (d->day != 1 && d->frequency != CONFIG_WEEKLY)
				bad(c, s, s->keyline[find_key(SK_DIGEST, "day")], "day",
				    "only a weekly group has a day; add frequency = weekly");
			break;
		}
		default:
			break;
		}
	}

	if (!cfg->user_agent) {
		/* RFC 9110 10.1.5: product/version, then a way to reach us. */
		if (cfg->contact ? asprintf(&cfg->user_agent, "helsefeed/%s (+%s)", HELSEFEED_VERSION,
		                            cfg->contact) < 0
		                 : !(cfg->user_agent = strdup("helsefeed/" HELSEFEED_VERSION))) {
			cfg->user_agent = NULL;
			return HF_ENOMEM;
		}
	}
	if (!cfg->nfeeds)
		bad(c, NULL, 0, NULL, "no [feed NAME] section: nothing to do");
	return HF_OK;
}

/* --- entry points ------------------------------------------------------------ */

struct errline {
	const char *p;
	size_t n;
	long line;               /* LONG_MAX: about the whole file */
	size_t seq;              /* keeps qsort stable */
};

static int errline_cmp(const void *a, const void *b)
{
	const struct errline *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Append the messages of `src` to `dst` in line order: the checks that
 * need the whole file run last, but an admin reads the file top down.
 */
static int append_sorted(struct buf *dst, const struct buf *src, const char *path)
{
	struct errline *v = NULL;
	size_t n = 0, i, plen = strlen(path);
	const char *p = buf_str(src);
	int rc = HF_OK;

	for (i = 0; p[i]; i++)
		n += p[i] == '\n';
	if (n && !(v = calloc(n, sizeof(*v))))
		return HF_ENOMEM;
	for (i = 0; i < n; i++) {
		size_t len = strcspn(p, "\n");

		v[i].p = p;
		v[i].n = len + 1;
		v[i].seq = i;
		v[i].line = LONG_MAX;
		if (len > plen + 1 && !strncmp(p, path, plen) && p[plen] == ':' &&
		    isdigit((unsigned char)p[plen + 1]))
			v[i].line = strtol(p + plen + 1, NULL, 10);
		p += len + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), errline_cmp);
	for (i = 0; i < n && !rc; i++)
		rc = buf_append(dst, v[i].p, v[i].n);
	free(v);
	return rc;
}

/* Errors about the file as a whole.  When even the message cannot be
 * stored, the caller's code (HF_EIO, ...) still says what happened. */
static void file_error(struct buf *errors, const char *fmt, ...) HF_PRINTF(2, 3);

static void file_error(struct buf *errors, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(errors, fmt, ap);
	va_end(ap);
	(void)rc;
}

static int absdir(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	char *d = NULL, *r = NULL;

	if (!slash)
		d = strdup(".");
	else if (slash == path)
		d = strdup("/");
	else
		d = strndup(path, (size_t)(slash - path));
	if (!d)
		return HF_ENOMEM;
	r = realpath(d, NULL);
	free(d);
	if (!r)
		return errno == ENOMEM ? HF_ENOMEM : HF_EIO;
	*out = r;
	return HF_OK;
}

static int load(const char *name, const char *dirof, const char *data, size_t len,
                struct config **out, struct buf *errors)
{
	struct ctx c = {0};
	struct buf errs = BUF_INIT;
	struct config *cfg = NULL;
	const char *p = data, *end = data + len;
	int rc = HF_ENOMEM, line = 0;

	c.errors = &errs;
	c.cur = CUR_NONE;
	if (!(cfg = calloc(1, sizeof(*cfg))))
		goto out;
	c.cfg = cfg;
	if (!(cfg->path = strdup(name)))
		goto out;
	if ((rc = absdir(dirof, &cfg->dir))) {
		if (rc == HF_EIO)
			file_error(errors, "%s: cannot resolve its directory: %s\n", name,
			                 strerror(errno));
		goto out;
	}
	if ((rc = apply_defaults(hf_keys, NELEM(hf_keys), cfg)) ||
	    (rc = apply_defaults(smtp_keys, NELEM(smtp_keys), &cfg->smtp)))
		goto out;
	/* A UTF-8 byte order mark from Windows editors is not text. */
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if ((rc = do_line(&c, p, n, line)))
			goto out;
		p += n + (nl != NULL);
	}
	if ((rc = finish(&c)))
		goto out;
	rc = c.nomem ? HF_ENOMEM : c.nerr ? HF_ECONFIG : HF_OK;
out:
	if (errs.len && append_sorted(errors, &errs, name))
		rc = HF_ENOMEM;
	buf_free(&errs);
	if (rc == HF_OK)
		*out = cfg;
	else
		config_free(cfg);
	free(c.sects);
	return rc;
}

int config_load_mem(const char *name, const char *data, size_t len, struct config **out,
                    struct buf *errors)
{
	return load(name, "./x", data, len, out, errors);
}

int config_load(const char *path, struct config **out, struct buf *errors)
{
	struct buf data = BUF_INIT;
	struct stat st;
	FILE *f = NULL;
	size_t got;
	int rc = HF_EIO;

	f = fopen(path, "rb");
	if (!f) {
		file_error(errors, "%s: cannot open: %s\n", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st)) {
		file_error(errors, "%s: cannot read: %s\n", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		file_error(errors, "%s: cannot read: %s\n", path,
		                 S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		goto out;
	}
	if (st.st_size > CONF_MAX_FILE) {
		file_error(errors, "%s: %lld bytes is too big for a configuration file\n",
		                 path, (long long)st.st_size);
		rc = HF_ETOOBIG;
		goto out;
	}
	if ((rc = buf_reserve(&data, (size_t)st.st_size)))
		goto out;
	got = fread(data.data, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		file_error(errors, "%s: cannot read: %s\n", path, strerror(errno));
		rc = HF_EIO;
		goto out;
	}
	data.len = got;
	data.data[got] = '\0';
	rc = load(path, path, data.data, data.len, out, errors);
out:
	if (f)
		fclose(f);
	buf_free(&data);
	return rc;
}

const char *config_kind_name(enum feed_kind k)
{
	return (unsigned)k < FEED_KIND__COUNT ? kind_names[k] : "other";
}

const struct config_feed *config_feed_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nfeeds; i++)
		if (!strcmp(cfg->feeds[i].name, name))
			return &cfg->feeds[i];
	return NULL;
}

const struct config_category *config_category_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ncategories; i++)
		if (!strcmp(cfg->categories[i].name, name))
			return &cfg->categories[i];
	return NULL;
}
