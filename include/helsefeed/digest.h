#ifndef HELSEFEED_DIGEST_H
#define HELSEFEED_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/store.h"

/*
 * digest - the e-mail digests: what goes out, when, and the bookkeeping
 * that makes each window go out exactly once.
 *
 * Every [digest NAME] group gets one message per window.  frequency
 * daily: a window closes when the group's send time (`time` in its
 * `timezone`, DST-correct) has passed; weekly: the same on `day`;
 * immediate: after every fetch cycle that stored news for the group (new
 * stories only, no changes).  A
 * group helsefeed meets for the first time (a new section, a reload) is
 * remembered with that moment (table digest_groups): its first digest
 * goes out at its first send time after it, never at once, and covers
 * the news since the send time before that one.  A window runs from the
 * end of the group's previous one to the moment it is recorded; a
 * daemon that was down for days sends ONE digest covering the gap.
 *
 * Content of a window: the new items, those stored between the previous
 * window's record and this one's (the item ids in (item_from,
 * item_upto], fixed in the record's transaction, so an item stored in
 * the same second as `--send-now` started is in it, and every item is
 * in exactly one window); under a heading of their own the items stored
 * before whose new revision was written in [start, end).  An item
 * published more than the group's max_age before helsefeed first saw it
 * (a new feed's archive) is never new: it is stored and published, not
 * mailed.  Only items of the group's categories (none listed: all,
 * uncategorised ones last).  An item in several categories appears
 * once, under one of them with the others named beside it (place() in
 * digest.c: today the first in the group's order; the classifier's
 * score when it has one).  Within a category items are grouped by the
 * kind of their primary source, newest first.  The dates shown are the
 * publication dates covered, in the group's time.
 *
 * The message: To is the list (the group's title at the From address),
 * the recipients are in the envelope only; List-Id and List-Unsubscribe
 * (mailto: the contact, the group in the subject); a footer that names
 * the list, its categories, the contact and the published pages.
 *
 * Bookkeeping (table digests), one transaction per step:
 *   1. record   a row (group, window, item range) in state pending, if
 *               the group's latest row is still the one the run saw.
 *               The Message-ID is chosen here and kept with the row.
 *   2. claim    attempts + 1, state pending, just before the transfer;
 *   3. send     the message of exactly that window;
 *   4. mark     sent (sent_at) after the server's final 250; failed
 *               (last_error) after a transient failure, retried later
 *               with the same window and Message-ID after 5 min x
 *               2^(attempts-1), at most 6 h, counted from the last
 *               attempt; rejected after a permanent refusal (5xx) of the
 *               message or of every recipient: never retried, logged at
 *               error, shown by status, and the group's next window
 *               starts where the rejected one started, so its stories
 *               go out with the next digest.
 * Per recipient (table digest_recipients): a 5xx is that address's
 * refusal (the others get the message; status shows it); a 4xx is
 * retried for that address alone, DIGEST_RCPT_TRIES times, then
 * reported as refused.
 * A group with an unfinished window (pending, failed) opens no new one:
 * once it goes out, the next window covers everything since.
 *
 * A pending row with attempts > 0 found by a later run means the process
 * died during a transfer: the message may or may not have been delivered.
 * It is sent once more (a skipped digest is worse than a duplicate, and
 * the duplicate carries the same Message-ID, by which mail clients and
 * servers drop it).  If that second transfer dies as well, the row is
 * closed as sent with sent_at NULL and last_error saying so: never a
 * third copy.  A window that closes with nothing to say is recorded as
 * sent with message_id NULL (unless send_empty), so the schedule moves on.
 *
 * Across processes (the daemon, and `digest` from cron or by hand): a
 * run holds the group's lock (flock of DATABASE.digest-GROUP.lock) for
 * the whole of the group's steps, so two processes never transfer the
 * same digest; the other one leaves the group alone.  The kernel lets
 * go of the lock when its process dies, so a pending row found under
 * the lock is a crashed transfer, never a running one.
 */

/* A digest lists at most this many stories; the rest are counted in a
 * closing line.  Five hundred is a week of the whole sector: a mail
 * longer than that is not read, and mail servers reject huge ones. */
#define DIGEST_MAX_ITEMS 500
/* Plain-text summary of an item: about this many bytes, cut at a word. */
#define DIGEST_SUMMARY_MAX 300
/* The first window of a group reaches back this far. */
#define DIGEST_FIRST_WINDOW_S (24 * 3600)
/* Retry after a failed attempt n (>= 1): DIGEST_RETRY_BASE_S * 2^(n-1),
 * at most DIGEST_RETRY_MAX_S: a 4xx of a greylisting server clears in
 * minutes, a longer outage is retried four times a day. */
#define DIGEST_RETRY_BASE_S (5 * 60)
#define DIGEST_RETRY_MAX_S (6 * 3600)
/* A window shorter than this is not opened by --send-now: two digests of
 * one group in the same minute would only repeat each other. */
#define DIGEST_MIN_WINDOW_S 60

/* A recipient answered 4xx is tried again alone, after the delays of a
 * failed window, this many times in all (about an hour and a quarter);
 * then it is reported refused. */
#define DIGEST_RCPT_TRIES 5
/* status flags a group overdue without a digest for this long: a day and
 * two hours (a week and a day), the delivery check GOV.UK runs for its
 * medical safety alerts. */
#define DIGEST_OVERDUE_DAILY_S (26 * 3600)
#define DIGEST_OVERDUE_WEEKLY_S (8 * 86400)

/* status shows the refused addresses of the newest window, among this
 * many, that went to any address. */
#define DIGEST_STATUS_WINDOWS 30
/* `digest --list` shows this many rows, newest first: a year of a daily
 * group and then some. */
#define DIGEST_LIST_MAX 500

/* Flags of digest_run. */
#define DIGEST_DRY_RUN  0x1  /* render to `out`, record and send nothing */
#define DIGEST_SEND_NOW 0x2  /* ignore the schedule and the retry delay */

/*
 * The first scheduled send instant of group `g` strictly after `after`
 * (UTC seconds): g->time minutes after local midnight in g->timezone.
 * A time that does not exist that day (spring forward) means the first
 * instant after the gap (02:30 on 2025-03-30 in Europe/Oslo: 03:00 CEST);
 * a time that exists twice (fall back) means its first occurrence only.
 * Pure: reads only the zone data.  Returns 0, HF_EINVAL (unknown zone).
 */
int digest_next_send(const struct config_digest *g, int64_t after,
                     int64_t *out) HF_WUR;

/* What one run did. */
struct digest_stats {
	int sent;        /* messages delivered (SMTP 250 or spool file) */
	int empty;       /* windows closed with nothing to send */
	int failed;      /* attempts that failed (will be retried) */
	int waiting;     /* groups not due, or waiting for their retry */
};

/*
 * Run the digests due at `now` (UTC seconds; the only clock the logic
 * sees): every group, or only the one named `group` (NULL: all).  Each
 * group is settled independently; a failure of one does not stop the
 * others.
 *   flags 0                send what is due (SMTP when [smtp] is present,
 *                          else .eml files in cfg->spool);
 *   DIGEST_SEND_NOW        the window up to now, regardless of schedule,
 *                          and an unfinished window retried at once;
 *   DIGEST_DRY_RUN         append each message that would go out, as
 *                          complete RFC 5322 text, to `out`; nothing is
 *                          recorded and nothing sent.
 * `stats` may be NULL.  Returns 0 when every group was settled (a failed
 * delivery that was recorded for retry counts as settled), HF_EINVAL for
 * an unknown `group`, HF_EDB or HF_ENOMEM (first error; the other groups
 * were still tried), HF_ENET when a delivery failed.
 */
int digest_run(const struct config *cfg, struct store *st, int64_t now,
               int flags, const char *group, struct buf *out,
               struct digest_stats *stats) HF_WUR;

/*
 * Render the digest of group `g` for the window [start, end) from the
 * store into a complete message (mail_render), with `message_id`
 * (NULL: a fresh one).  *count (may be NULL) is the number of stories.
 * For tests and --dry-run.  Returns 0, HF_EDB, HF_ENOMEM, HF_EINVAL.
 */
int digest_render(const struct config *cfg, struct store *st,
                  const struct config_digest *g, int64_t start, int64_t end,
                  const char *message_id, struct buf *out, size_t *count) HF_WUR;

/*
 * Send past digest `id` (see `digest --list`) again as a new row of kind
 * resend: the same window and items, a new Message-ID, " (sendt på
 * nytt)" in the subject, to the group's present recipients.  Returns 0,
 * HF_EINVAL (no such digest or group), HF_ENET (refused, failed, or the
 * group is being sent by another process), HF_EDB, HF_ENOMEM.
 */
int digest_resend(const struct config *cfg, struct store *st, int64_t now,
                  int64_t id, struct digest_stats *stats) HF_WUR;

/* One group's delivery, for `status` and the status page. */
struct digest_group_status {
	const struct config_digest *group;   /* borrowed */
	int has_window;           /* any window recorded */
	int state;                /* enum store_digest_state of the latest */
	char *last_error;         /* of the latest window, or NULL */
	char *recipients;         /* "addr refused: reply" lines of the refused
	                             or deferred addresses of the newest
	                             window that went out to any */
	int64_t last_success;     /* 0: never */
	int64_t next_due;         /* next send or retry; 0: immediate */
	int overdue;              /* DIGEST_OVERDUE_* passed without success */
};

/* Fill *out (the caller's, digest_group_status_clear) for group `g` at
 * `now`.  Reads only.  Returns 0, HF_EDB, HF_ENOMEM. */
int digest_group_status(const struct config *cfg, struct store *st,
                        const struct config_digest *g, int64_t now,
                        struct digest_group_status *out) HF_WUR;
void digest_group_status_clear(struct digest_group_status *s);

/* Every group's status into *v (the caller's, digest_status_free), *n =
 * cfg->ndigests.  Returns 0, HF_EDB, HF_ENOMEM. */
int digest_status_all(const struct config *cfg, struct store *st, int64_t now,
                      struct digest_group_status **v, size_t *n) HF_WUR;
void digest_status_free(struct digest_group_status *v, size_t n);
/* "ok", "new", "failing", "rejected", "recipients" (one refused or
 * deferred), "overdue". */
const char *digest_status_word(const struct digest_group_status *s);
/* The key "digests" and an array of one object per group, into `j`. */
struct json;
void digest_status_json(struct json *j, const struct digest_group_status *v, size_t n);
/* A table after the feeds' one, for `helsefeed status`. */
void digest_status_print(FILE *f, const struct digest_group_status *v, size_t n);

/* `helsefeed digest [--dry-run] [--group NAME] [--send-now | --list |
 * --resend ID]`. */
int cmd_digest(const struct cli *cli, int argc, char **argv);

/*
 * The two test hooks below exist only in builds configured with
 * -DHF_TEST_HOOKS=ON (tests/run.sh, CI); an installed binary reads neither.
 *
 * Test hook, for the crash tests only: when the environment variable
 * HELSEFEED_TEST_CRASH names a point ("after-record": right after step 1
 * committed; "after-send": after the transfer succeeded, before step 4),
 * the process kills itself there with SIGKILL, as a power cut would.
 */
#define DIGEST_TEST_CRASH_ENV "HELSEFEED_TEST_CRASH"
/* Test hook of cmd_digest: HELSEFEED_TEST_NOW=SECONDS (UTC, since the
 * epoch) replaces the clock, so that schedules and retry delays are
 * tested without waiting for them. */
#define DIGEST_TEST_NOW_ENV "HELSEFEED_TEST_NOW"

/* --- bookkeeping in the store (src/store/digest.c) --------------------- */

enum store_digest_state {
	STORE_DIGEST_PENDING = 0,
	STORE_DIGEST_SENT,
	STORE_DIGEST_FAILED,      /* will be retried */
	STORE_DIGEST_REJECTED,    /* refused for good (5xx); never retried */
};

enum store_digest_kind {
	STORE_DIGEST_SCHEDULED = 0,   /* at the group's send time */
	STORE_DIGEST_NOW,             /* --send-now */
	STORE_DIGEST_IMMEDIATE,       /* frequency = immediate */
	STORE_DIGEST_RESEND,          /* --resend of another row */
};

/* "pending", "sent", ...; "scheduled", "now", ... */
const char *store_digest_state_name(enum store_digest_state s);
const char *store_digest_kind_name(enum store_digest_kind k);

/* One row of table digests.  Strings owned (store_digest_row_clear). */
struct store_digest_row {
	int64_t id;
	char *group;
	int64_t window_start, window_end;
	enum store_digest_state state;
	enum store_digest_kind kind;
	int attempts;
	int64_t created;
	int64_t last_attempt;     /* of the last claim; 0: none */
	int64_t sent_at;          /* 0: none */
	char *message_id;         /* NULL: nothing was sent (empty window) */
	char *last_error;
	int64_t item_from, item_upto;   /* -1: a row of schema 8 (by time) */
	int64_t item_count;       /* -1: not known yet */
	int64_t resend_of;        /* 0: none */
	/* Recipients, filled by store_digest_get and store_digest_list:
	 * how many got it, wait for a retry, were refused. */
	int nsent, ndeferred, nrefused;
};

void store_digest_row_clear(struct store_digest_row *r);

/* The window of `group` recorded last (resends aside).  Returns 1 and
 * *out, 0 when the group never had one, HF_EDB, HF_ENOMEM. */
int store_digest_latest(struct store *st, const char *group,
                        struct store_digest_row *out) HF_WUR;

/* Row `id`.  Returns 1 and *out, 0 when there is none, HF_EDB, HF_ENOMEM. */
int store_digest_get(struct store *st, int64_t id,
                     struct store_digest_row *out) HF_WUR;

/* When helsefeed first met `group`: recorded now (with the newest item
 * id as *item_mark) the first time it is asked.  Returns 0, HF_EDB. */
int store_digest_group(struct store *st, const char *group, int64_t now,
                       int64_t *created, int64_t *item_mark) HF_WUR;

/* What step 1 records.  item_from < 0: the newest item first seen
 * before `from_time`; item_upto < 0: the newest item now (in the same
 * transaction: everything stored before the record is in the window). */
struct store_digest_new {
	const char *group;
	enum store_digest_kind kind;
	int64_t start, end, now;
	const char *message_id;
	int64_t after_id;         /* the latest row the caller saw; 0: none */
	int64_t item_from, from_time, item_upto;
	int64_t resend_of;        /* 0: none */
};

/* Step 1: record a window, pending, in one transaction, if the group's
 * latest window is still `after_id` (resends: always).  Returns 1 and
 * *id when recorded, 0 when another run recorded one first, HF_EDB,
 * HF_ENOMEM. */
int store_digest_record(struct store *st, const struct store_digest_new *w,
                        int64_t *id) HF_WUR;

/* Step 2: attempts + 1, last_attempt = now and state pending, if the row
 * still has `attempts` attempts (compare and set).  Returns 1 when
 * claimed, 0 when another run changed it, HF_EDB. */
int store_digest_claim(struct store *st, int64_t id, int attempts,
                       int64_t now) HF_WUR;

/* Step 4.  sent: state sent, sent_at (0: NULL), last_error = note (NULL
 * clears), item_count; for an empty window also message_id NULL (empty
 * != 0).  failed: state failed (retried), last_error = why.  rejected:
 * state rejected (never retried), last_error = why.  Returns 0, HF_EDB. */
int store_digest_mark_sent(struct store *st, int64_t id, int64_t sent_at,
                           int empty, const char *note, int64_t item_count) HF_WUR;
int store_digest_mark_failed(struct store *st, int64_t id,
                             const char *why) HF_WUR;
int store_digest_mark_rejected(struct store *st, int64_t id,
                               const char *why) HF_WUR;
/* Replace last_error only, state untouched.  Returns 0, HF_EDB. */
int store_digest_note(struct store *st, int64_t id, const char *note) HF_WUR;

enum store_rcpt_state {
	STORE_RCPT_SENT = 0,
	STORE_RCPT_DEFERRED,      /* 4xx: tried again for this address alone */
	STORE_RCPT_REFUSED,       /* 5xx, or 4xx too often */
};

/* The outcome of a transfer of window `id` for `address`: a first one
 * inserts the row, a later one counts an attempt.  Returns 0, HF_EDB. */
int store_digest_rcpt_set(struct store *st, int64_t id, const char *address,
                          enum store_rcpt_state state, int64_t now,
                          const char *reply) HF_WUR;

/* One recipient row.  Strings borrowed, valid during the callback. */
struct store_digest_rcpt {
	int64_t digest_id;
	const char *address;
	enum store_rcpt_state state;
	int attempts;
	int64_t last_attempt;
	const char *reply;
};

/* The recipients of window `id` (id > 0), or the deferred ones of every
 * window of `group` (id == 0), by window and address.  A non-zero return
 * of `cb` stops and is returned.  Returns 0, HF_EDB or cb's code. */
int store_digest_rcpts(struct store *st, int64_t id, const char *group,
                       int (*cb)(void *ud, const struct store_digest_rcpt *r),
                       void *ud) HF_WUR;

/* The rows of `group` (NULL: all), newest first, at most `limit`, with
 * their recipient counts.  The row is the callback's to read, not keep.
 * Returns 0, HF_EDB, HF_ENOMEM or cb's code. */
int store_digest_list(struct store *st, const char *group, int limit,
                      int (*cb)(void *ud, const struct store_digest_row *r),
                      void *ud) HF_WUR;

/* The last sent_at of `group` with a message or an empty window closed
 * (0: never).  Returns 0, HF_EDB. */
int store_digest_last_success(struct store *st, const char *group,
                              int64_t *out) HF_WUR;

/* The newest item first seen before `t` (0: none).  Returns 0, HF_EDB. */
int store_digest_item_before(struct store *st, int64_t t, int64_t *out) HF_WUR;

/* When helsefeed first met `group` (0: not yet).  Returns 0, HF_EDB. */
int store_digest_group_created(struct store *st, const char *group,
                               int64_t *out) HF_WUR;

/* The newest item id (0: none).  Returns 0, HF_EDB. */
int store_digest_item_mark(struct store *st, int64_t *out) HF_WUR;

/* One item of a window as the store holds it.  Strings borrowed, valid
 * during the callback only. */
struct store_digest_item {
	int64_t id;
	const char *title, *link;
	const char *summary;      /* sanitised HTML or NULL */
	int64_t published, updated;   /* HF_NOTIME when unknown */
	int64_t first_seen, last_changed;
	int revision;
	int is_update;            /* not new in this window: changed in it */
	enum feed_kind kind;      /* of the primary source */
	const char *categories;   /* names separated by ',', "" when none */
	const char *sources;      /* feed titles, primary first, '\n' apart */
};

/* Call `cb` for every item of window `w` (see the content rule above),
 * by id: new, the items stored in its range (or, for a row of schema 8,
 * first seen in its time) that were not published more than `max_age`
 * seconds before helsefeed first saw them; changed, the items stored
 * before the range whose new revision was written in [start, end).  A
 * non-zero return of `cb` stops and is returned.  Returns 0, HF_EDB,
 * HF_ENOMEM or cb's code. */
int store_digest_items(struct store *st, const struct store_digest_row *w,
                       int64_t max_age,
                       int (*cb)(void *ud, const struct store_digest_item *it),
                       void *ud) HF_WUR;

/*
 * mail - one e-mail message: its header fields, its two bodies, and the
 * two ways it leaves: SMTP through libcurl, or an .eml file in a spool
 * directory.
 *
 * A message is a multipart/alternative (RFC 2046 5.1.4) of a text/plain
 * and a text/html part, both UTF-8 in quoted-printable (RFC 2045 6.7).
 * Header fields follow RFC 5322; text outside ASCII is written as RFC 2047
 * encoded-words of at most 75 characters, lines folded before 78.
 *
 * Untrusted data: subject, bodies and display names may come from feeds.
 * Every character below U+0020 and DEL is replaced by a space before a
 * string goes into a header field, so no feed can end a field or add one
 * (RFC 5322 2.2).  Addresses come from feeds.conf, where config checked
 * them, and are control-stripped as well.
 *
 * SMTP and the spool carry the same bytes: mail_render() is the one
 * builder of a message.  The spool and --dry-run write what it returns;
 * mail_send() uploads it as it is, and curl adds only SMTP's framing
 * (RFC 5321 4.5.2: a leading "." doubled, the final "." line), which the
 * receiving server takes off again.
 */

/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters; RFC 2047 2:
 * an encoded-word at most 75, a line holding one at most 76. */
#define MAIL_LINE_MAX 78
#define MAIL_EWORD_MAX 75
#define MAIL_EWORD_LINE_MAX 76
/* A password file holds one line; more than this is not a password. */
#define MAIL_PASSWORD_MAX 1024

/* One message.  All strings are borrowed and UTF-8. */
struct mail {
	const char *from;              /* "Name <addr>" or "addr" */
	const char *const *to;         /* addresses: the envelope, and the To
	                                  field unless to_header is set */
	size_t nto;
	const char *to_header;         /* NULL, or the one mailbox of To ("Name
	                                  <list@addr>"): the recipients are
	                                  then in the envelope only */
	const char *list_id;           /* NULL, or List-Id's value, ASCII */
	const char *list_unsubscribe;  /* NULL, or "<mailto:...>", ASCII */
	const char *subject;
	int64_t date;                  /* UTC seconds */
	long utc_offset;               /* seconds east of UTC, for Date */
	const char *message_id;        /* "<...@...>", angle brackets included */
	const char *text;              /* text/plain body, lines end in CRLF */
	const char *html;              /* text/html body */
};

/*
 * The header fields of `m` (From, To, Subject, Date, Message-ID,
 * Auto-Submitted, and List-Id, List-Unsubscribe when set), each a complete, possibly folded field without the
 * final CRLF, as one string per field in *out (the caller's,
 * mail_fields_free).  MIME-Version and Content-Type are not included:
 * they belong to the MIME structure.  Returns 0, HF_EINVAL (no recipient,
 * no From address), HF_ENOMEM.
 */
int mail_fields(const struct mail *m, char ***out, size_t *n) HF_WUR;
void mail_fields_free(char **v, size_t n);

/*
 * Append the complete RFC 5322 message (CRLF line ends) to `out`: the
 * fields of mail_fields, MIME-Version, the multipart/alternative with a
 * boundary derived from the Message-ID, both parts quoted-printable.
 * Returns 0, HF_EINVAL, HF_ENOMEM.
 */
int mail_render(const struct mail *m, struct buf *out) HF_WUR;

/* What the server answered: its last reply, and per envelope recipient
 * (m->to[i]) the reply to RCPT TO. */
#define MAIL_REPLY_MAX 200
struct mail_reply {
	int code;                      /* 250, 4xx, 5xx; 0: not asked */
	char text[MAIL_REPLY_MAX];     /* the server's line, for status */
};
struct mail_outcome {
	int code;                      /* last reply code; 0: none (no
	                                  connection, time-out) */
	struct mail_reply *rcpt;       /* m->nto entries, the caller's; or NULL */
};

/*
 * Send `m`, rendered by mail_render(), through the server of `smtp` with
 * libcurl: smtp:// with STARTTLS (required or opportunistic, as
 * configured) or smtps://, AUTH with username and the first line of
 * password_file when a username is set, smtp->timeout for the whole
 * transaction.  A recipient the server refuses is logged and skipped
 * (CURLOPT_MAIL_RCPT_ALLOWFAILS) as long as one is accepted; `res` (may
 * be NULL) tells which, and with what reply.  Success means the server
 * answered 250 to the end of DATA (RFC 5321 4.1.1.4): only then is 0
 * returned.  On failure a one-line reason is put into `why` (may be
 * NULL), res->code is the reply that ended it (5xx: refused for good),
 * and HF_ENET (transfer or SMTP reply), HF_EIO (password file),
 * HF_EINVAL or HF_ENOMEM is returned.
 */
int mail_send(const struct config_smtp *smtp, const struct mail *m,
              struct mail_outcome *res, struct buf *why) HF_WUR;

/* Call `fn(ud)` from libcurl's progress callback during every transfer
 * of mail_send (NULL: none): the daemon pings its watchdog there.  One
 * hook per process, as there is one loop. */
void mail_set_progress(void (*fn)(void *ud), void *ud);

/*
 * Write the rendered message `msg` to DIR/NAME.eml atomically: a
 * temporary file in DIR, fsync, rename, fsync of DIR.  DIR is created
 * (mode 0750) when missing.  When DIR/NAME.eml exists and holds another
 * message (its Message-ID differs from `message_id`), NAME-2.eml, -3 ...
 * are tried: a re-delivery of the same message replaces its file, a
 * different one never does.  The path written is appended to `path`
 * (may be NULL).  Returns 0, HF_EIO (message logged), HF_ENOMEM.
 */
int mail_spool(const char *dir, const char *name, const char *message_id,
               const struct buf *msg, struct buf *path) HF_WUR;

/*
 * Encode `s` as the body of a header field named `field` (for the length
 * of the first line), appending to `out`: control characters replaced by
 * spaces, then plain ASCII folded at spaces, or else RFC 2047 B
 * encoded-words split at character boundaries, one per line.
 * Returns 0, HF_ENOMEM.
 */
int mail_encode_header(const char *field, const char *s, struct buf *out) HF_WUR;

/*
 * Append "<PREFIX.RANDOM@DOMAIN>" to `out`, RANDOM 16 hex digits from
 * getrandom(2), DOMAIN the domain of address `from` ("Name <a@b>" or
 * "a@b"); "localhost" when it has none.  Returns 0, HF_EIO, HF_ENOMEM.
 */
int mail_message_id(const char *prefix, const char *from, struct buf *out) HF_WUR;

/* RFC 5322 3.3 date-time, "Mon, 23 May 2022 10:00:00 +0200", of UTC
 * seconds `t` shown at `utc_offset` seconds east: into out[MAIL_DATE_MAX]. */
#define MAIL_DATE_MAX 64
void mail_date(int64_t t, long utc_offset, char out[MAIL_DATE_MAX]);

/* Append `len` bytes as quoted-printable (RFC 2045 6.7): CRLF kept as
 * hard line breaks, lines of at most 76 characters with soft breaks,
 * '=', non-ASCII and trailing white space encoded.  Returns 0, HF_ENOMEM. */
int mail_qp_encode(const char *s, size_t len, struct buf *out) HF_WUR;

#endif
