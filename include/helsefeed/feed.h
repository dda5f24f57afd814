/*
 * feed.h - parse one RSS or Atom document into entries.
 *
 * One streaming pass with libxml2's SAX2 interface; no tree is built, not
 * even for malformed XML, which libxml2 recovers from as it goes.  Memory
 * grows with the largest entry, not with the document.  Formats: RSS
 * 0.90-0.94, RSS 1.0 (RDF), RSS 2.0, Atom 0.3, Atom 1.0, detected from the
 * root element and its namespace, never from the URL.  Atom 0.3 text
 * in mode="base64" is decoded and then read as its type says.
 *
 * Untrusted input: the whole document.  libxml2 is run with XML_PARSE_NONET,
 * no DTD loading and no entity substitution: the five predefined entities
 * and character references expand, a reference to an entity the document
 * declares is dropped, an external one is never opened.  A document whose
 * entities are built to amplify (billion laughs, quadratic blowup) is
 * rejected with HF_ETOOBIG.
 *
 * Every string handed out is valid UTF-8 in NFC, bounded by limits.h,
 * text fields stripped of markup and control characters with whitespace
 * collapsed, and summary/content rebuilt by sanitize_html(); a field that
 * is double-encoded UTF-8 as a whole is repaired first (norm_repair).
 * Malformed markup loses no entry: libxml2 recovers, an item that starts
 * inside another ends it, and an end tag that closes a field or an item
 * past an unclosed element (<title>a <b>b</title>) closes it.
 */
#ifndef HELSEFEED_FEED_H
#define HELSEFEED_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/util.h"
#include "helsefeed/err.h"

/* No date known. */
#define HF_NOTIME INT64_MIN

enum feed_format {
	FEED_FORMAT_UNKNOWN = 0,
	FEED_FORMAT_RSS09X,  /* RSS 0.90 (RDF-based), 0.91-0.94 */
	FEED_FORMAT_RSS10,   /* RSS 1.0 (RDF) */
	FEED_FORMAT_RSS20,
	FEED_FORMAT_ATOM03,
	FEED_FORMAT_ATOM10,
};

/* "rss0.9x", "rss1.0", "rss2.0", "atom0.3", "atom1.0"; "unknown". */
const char *feed_format_name(enum feed_format f);

struct feed_enclosure {
	char *url;            /* absolute URL */
	char *type;           /* MIME type or NULL */
	int64_t length;       /* bytes, -1 when unknown */
};

/* Entry flags */
#define FEED_ENTRY_DATE_CLAMPED 0x1  /* a date lay in the future; clamped */
#define FEED_ENTRY_TRUNCATED 0x2     /* a field was cut at its bound */
#define FEED_ENTRY_UNSAFE_URL 0x4    /* a URL of another scheme than http(s) was dropped */

struct feed_entry {
	/* Stable key for storage, never NULL: the id/guid when present, else
	 * the link, else "title|date" text.  Derived from the raw values,
	 * before normalisation, so it is cheap and does not change when the
	 * sanitiser does. */
	const char *key;
	/* Hash (64-bit FNV-1a) of the raw bytes of every field of the entry.
	 * Same raw entry, same hash: storage can skip unchanged entries. */
	uint64_t raw_hash;

	const char *id;        /* guid / atom:id, or NULL */
	const char *title;     /* plain text; without one, the first words of
	                        * the summary or content (HF_UNTITLED_WORDS);
	                        * NULL when neither has text */
	const char *link;      /* absolute URL, or NULL */
	int64_t published;     /* UTC seconds, or HF_NOTIME */
	int64_t updated;       /* UTC seconds, or HF_NOTIME */
	const char *author;    /* plain text ("A, B" for several), or NULL */
	const char *summary;   /* sanitised HTML, or NULL */
	const char *content;   /* sanitised HTML, or NULL */
	const char *const *categories;
	size_t ncategories;
	const struct feed_enclosure *enclosures;
	size_t nenclosures;
	unsigned flags;
};

struct feed_info {
	enum feed_format format;
	char *title;           /* plain text, or NULL; owned by the info */
	char *link;            /* absolute URL, or NULL; owned by the info */
	int recovered;         /* libxml2 had to recover from malformed XML */
	size_t nentries;       /* entries delivered so far */
};

struct feed_parse_opts {
	/* Charset from the HTTP Content-Type ("text/xml; charset=..."), used
	 * only where the document declares none.  May be NULL. */
	const char *content_type;
	/* URL the document was fetched from: base for relative links.  When
	 * it is NULL or not http(s) (a file:// feed), the feed's own <link>
	 * is the base once read; xml:base applies on top either way. */
	const char *base_url;
	/* "Now" for clamping future dates (UTC seconds); 0 means time(NULL). */
	int64_t now;

	/* Called once per entry, in document order.  The entry and every
	 * string in it are owned by the parser and valid only during the
	 * call.  Return 0 to go on, negative to abort with that code. */
	int (*on_entry)(void *ud, const struct feed_info *info,
	                const struct feed_entry *entry);
	void *ud;

	/* Entries handed out at most; those after are read past and logged
	 * once.  0 means HF_MAX_ENTRIES, a fetch's bound; `helsefeed parse`
	 * of a local file asks for all (SIZE_MAX). */
	size_t max_entries;
};

/*
 * Parse `len` bytes at `data`.  On return (success or not) *info describes
 * the document; its strings stay valid until feed_info_clear().
 *
 * Returns 0, HF_ENOTFEED (empty body, HTML page, other XML, XML beyond
 * recovery: `err` says what was found),
 * HF_ETOOBIG for an entity-expansion attack, HF_ENOMEM, or the negative
 * code a callback returned.  `err` (may be NULL) receives one line.
 */
int feed_parse(const char *data, size_t len, const struct feed_parse_opts *opts,
               struct feed_info *info, struct buf *err) HF_WUR;

void feed_info_clear(struct feed_info *info);

/*
 * Input preparation, the first step of feed_parse, exposed for tests and
 * tools.  libxml2 then sees clean UTF-8 only:
 *  - the charset is chosen as feed readers do (not RFC 7303's HTTP-first
 *    order, because publishers' servers label everything ISO-8859-1 or
 *    nothing at all while the XML declaration is usually right): a byte
 *    order mark first, then the XML declaration's encoding, then the
 *    charset of `content_type`, then UTF-8;
 *  - ISO-8859-1 and US-ASCII are read as Windows-1252 (WHATWG Encoding
 *    section 4.2 does the same: 0x80-0x9F are the typographic quotes and
 *    dashes that Norwegian publishing tools really write; norm_cp1252),
 *    the five bytes Windows-1252 leaves undefined as U+FFFD;
 *  - invalid UTF-8 bytes are read as Windows-1252 too (the usual cause is
 *    Latin-1 text under a UTF-8 label), control characters that XML 1.0
 *    forbids become spaces;
 *  - C1 controls U+0080-U+009F, written as characters or as numeric
 *    references ("don&#146;t"), are the Windows-1252 characters of the
 *    same byte (WHATWG Encoding, index-windows-1252): they are text that
 *    went through a Latin-1 decoder, never controls; the five bytes
 *    Windows-1252 leaves undefined stay as they are;
 *  - anything before the first '<' is dropped;
 *  - HTML 4's named entities (&nbsp; &aring; ..., norm_entity) that XML
 *    does not define become numeric references, and a bare '&' becomes
 *    "&amp;", outside CDATA sections and comments.
 * Copies only when something has to change.
 */
#define FEED_PREP_TRANSCODED 0x1  /* input was not UTF-8 */
#define FEED_PREP_BAD_UTF8 0x2    /* invalid UTF-8 bytes were replaced */
#define FEED_PREP_CONTROLS 0x4    /* forbidden control characters */
#define FEED_PREP_ENTITIES 0x8    /* entities or '&' were rewritten */
#define FEED_PREP_JUNK 0x10       /* bytes before the first '<' dropped */
#define FEED_PREP_C1 0x20         /* C1 controls read as windows-1252 */

struct feed_text {
	const char *data;      /* the clean UTF-8 document (borrowed) */
	size_t len;
	unsigned flags;        /* FEED_PREP_* */
	char charset[32];      /* the charset that was used, lower case */
	struct buf own;        /* storage when a copy was needed */
	struct buf tmp;
};

#define FEED_TEXT_INIT {NULL, 0, 0, {0}, BUF_INIT, BUF_INIT}

/* Prepare `len` bytes at `data` (which must outlive *t).  Returns 0 or
 * HF_ENOMEM.  Release with feed_text_free. */
int feed_text_prepare(const char *data, size_t len, const char *content_type,
                      struct feed_text *t) HF_WUR;
void feed_text_free(struct feed_text *t);

/*
 * Parsing in a child process.  A fetched document is untrusted, and
 * libxml2 does quadratic work on some inputs: the daemon's loop never
 * parses one itself.  A small parser host is forked once
 * (feed_host_start, early, while the daemon is small; else at the first
 * job) and forks a child per document that runs feed_parse (sanitising
 * included) under a CPU-time limit (RLIMIT_CPU), an address-space limit
 * on top of what it maps (RLIMIT_AS; not under the sanitizers, whose
 * shadow memory it would break) and a wall-clock deadline, and writes
 * the entries back on a pipe.  The host holds none of the daemon's
 * descriptors, and a host that was killed is started again at the next
 * job.  The parent reads the entries without blocking as the pipe
 * becomes readable (feed_job_fd, feed_job_poll), so the loop goes on
 * while a document parses.  What comes back is decoded as untrusted
 * bytes: every string bounded as limits.h says, valid UTF-8, no NUL;
 * counts bounded.
 */
struct feed_doc {
	struct feed_info info;       /* title and link borrow from raw */
	struct feed_entry *entries;  /* nentries, in document order */
	size_t nentries;
	int code;                    /* feed_parse's return in the child */
	const char *title, *link, *message;
	const char **cats;           /* storage of the entries' arrays */
	struct feed_enclosure *encs;
	struct buf raw;              /* the child's bytes; strings point here */
};

struct feed_job_opts {
	const char *content_type;    /* as feed_parse_opts */
	const char *base_url;
	int64_t now;
	int cpu_s;                   /* RLIMIT_CPU of the child */
	int wall_s;                  /* killed after this long */
	size_t mem_bytes;            /* address space beyond the inherited */
};

struct feed_job;

/* Start the parser host if it does not run: 0, or HF_EIO (errno says
 * why).  The commands that fetch call it before they open the store. */
int feed_host_start(void) HF_WUR;
/* Stop the parser host and wait for it, once every job is freed (a job
 * still open holds it up to its deadline). */
void feed_host_stop(void);
/* Hand `len` bytes at `data` to a parser child (it reads a copy: the
 * caller may free data at once).  Returns 0 and *out (feed_job_free),
 * HF_ENOMEM, HF_EIO (no memfd, pipe or parser host: errno says why). */
int feed_job_start(const char *data, size_t len, const struct feed_job_opts *o,
                   struct feed_job **out) HF_WUR;
/* The descriptor to wait on for readability; -1 once finished. */
int feed_job_fd(const struct feed_job *j);
/* The monotonic time (ms) at which the job is killed. */
int64_t feed_job_deadline(const struct feed_job *j);
/* Read what the child wrote, never blocking; give it up past its deadline.
 * Returns 1 once the job has finished (then feed_job_result), else 0. */
int feed_job_poll(struct feed_job *j);
/* Block until the job finishes (commands and tests); returns its code. */
int feed_job_wait(struct feed_job *j);
/* A finished job's outcome: 0 and *doc; or HF_ENOTFEED (*msg: what was
 * found), HF_ETOOBIG (a budget: "parsing took more than 10 s of CPU",
 * memory, wall time, output size), HF_ERR (the child crashed or answered
 * malformed bytes), or another feed_parse code.  *msg is NULL or one
 * line; both borrowed until feed_job_free. */
int feed_job_result(struct feed_job *j, const struct feed_doc **doc, const char **msg);
/* Free everything; a child that still runs is killed by its watcher when
 * it finds the pipe closed. */
void feed_job_free(struct feed_job *j);

/* The wire format, exposed for the fuzz target and tests: append one
 * entry record or the final record to b; decode d->raw into d (whose
 * other fields must be zero).  Decoding returns 0, HF_ERR (malformed:
 * err says where), HF_ENOMEM. */
int feed_wire_entry(struct buf *b, const struct feed_entry *e) HF_WUR;
int feed_wire_done(struct buf *b, int code, const struct feed_info *info,
                   const char *msg) HF_WUR;
int feed_doc_decode(struct feed_doc *d, struct buf *err) HF_WUR;
void feed_doc_free(struct feed_doc *d);

#endif
