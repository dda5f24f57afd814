/*
 * digest.h - the e-mail digests: what goes out, when, and the bookkeeping
 * that makes each window go out exactly once.
 *
 * Every [digest NAME] group gets one message per window of time.  A window
 * runs from the end of the group's previous window (the first one: 24 h
 * before it closes) to the moment the group's daily send time (`time` in
 * the group's `timezone`, DST-correct) has passed.  A daemon that was down
 * for days sends ONE digest covering the whole gap.
 *
 * Content of a window [start, end): the items first seen in it, and under
 * a heading of their own the items changed in it (revision > 1) that were
 * first seen before it; only those in the group's categories (none listed:
 * all, uncategorised ones last).  An item in several categories appears
 * once, under the first of them in the group's order (config order when
 * the group lists none): a press officer reads the digest top down and
 * must not meet the same story twice.  Within a category items are grouped
 * by the kind of their primary source (ministry, directorate, hospital,
 * municipal, other), newest first.
 *
 * Bookkeeping (table digests), one transaction per step:
 *   1. record   a row (group, window_start, window_end) in state pending;
 *               UNIQUE (group_name, window_start) makes a second row for
 *               the same window impossible.  The Message-ID is chosen here
 *               and kept with the row.
 *   2. claim    attempts + 1, state pending, just before the transfer;
 *   3. send     the message of exactly that window;
 *   4. mark     sent (sent_at) after the server's final 250, or failed
 *               (last_error), retried later with the same window and the
 *               same Message-ID, after 5 min x 2^(attempts-1), at most 6 h,
 *               counted from the last attempt (a run that comes late, or
 *               a daemon that was stopped for a day, tries once, not once
 *               for every delay it missed).
 * A group with an unfinished window opens no new one: once it goes out,
 * the next window covers everything since.
 *
 * A pending row with attempts > 0 found by a later run means the process
 * died during a transfer: the message may or may not have been delivered.
 * It is sent once more (a skipped digest is worse than a duplicate, and
 * the duplicate carries the same Message-ID, by which mail clients and
 * servers drop it).  If that second transfer dies as well, the row is
 * closed as sent with sent_at NULL and last_error saying so: never a
 * third copy.  A window that closes with nothing to say is recorded as
 * sent with message_id NULL (unless send_empty), so the schedule moves on
 * and a story arriving later in the day waits for the next send time.
 *
 * One process runs the digests at a time (the daemon, or the `digest`
 * command from cron): a second one could take a pending row of the first
 * for a crashed one.
 */
#ifndef HELSEFEED_DIGEST_H
#define HELSEFEED_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/buf.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"
#include "helsefeed/store.h"

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

/* `helsefeed digest [--dry-run] [--group NAME] [--send-now]`. */
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

/* --- bookkeeping in the store (store_digest.c) ------------------------- */

enum store_digest_state {
	STORE_DIGEST_PENDING = 0,
	STORE_DIGEST_SENT,
	STORE_DIGEST_FAILED,
};

/* One row of table digests.  Strings owned (store_digest_row_clear). */
struct store_digest_row {
	int64_t id;
	int64_t window_start, window_end;
	enum store_digest_state state;
	int attempts;
	int64_t created;
	int64_t last_attempt;     /* of the last claim; 0: none */
	int64_t sent_at;          /* 0: none */
	char *message_id;         /* NULL: nothing was sent (empty window) */
	char *last_error;
};

void store_digest_row_clear(struct store_digest_row *r);

/* The row of `group` with the latest window.  Returns 1 and *out, 0 when
 * the group never had one, HF_EDB, HF_ENOMEM. */
int store_digest_latest(struct store *st, const char *group,
                        struct store_digest_row *out) HF_WUR;

/* Step 1: record window [start, end) of `group`, pending, with
 * `message_id`, created at `now`, in one transaction.  Returns 1 and
 * *id when recorded, 0 when the window was already recorded (by a
 * concurrent run), HF_EDB, HF_ENOMEM. */
int store_digest_record(struct store *st, const char *group, int64_t start,
                        int64_t end, int64_t now, const char *message_id,
                        int64_t *id) HF_WUR;

/* Step 2: attempts + 1, last_attempt = now and state pending, if the row
 * still has `attempts` attempts (compare and set).  Returns 1 when
 * claimed, 0 when another run changed it, HF_EDB. */
int store_digest_claim(struct store *st, int64_t id, int attempts,
                       int64_t now) HF_WUR;

/* Step 4.  sent: state sent, sent_at (0: NULL), last_error = note (NULL
 * clears); for an empty window also message_id NULL (empty != 0).
 * failed: state failed, last_error = why.  Returns 0, HF_EDB. */
int store_digest_mark_sent(struct store *st, int64_t id, int64_t sent_at,
                           int empty, const char *note) HF_WUR;
int store_digest_mark_failed(struct store *st, int64_t id,
                             const char *why) HF_WUR;
/* Replace last_error only, state untouched.  Returns 0, HF_EDB. */
int store_digest_note(struct store *st, int64_t id, const char *note) HF_WUR;

/* One item of a window as the store holds it.  Strings borrowed, valid
 * during the callback only. */
struct store_digest_item {
	int64_t id;
	const char *title, *link;
	const char *summary;      /* sanitised HTML or NULL */
	int64_t published, updated;   /* HF_NOTIME when unknown */
	int64_t first_seen, last_changed;
	int revision;
	int is_update;            /* first seen before the window */
	enum feed_kind kind;      /* of the primary source */
	const char *categories;   /* names separated by ',', "" when none */
	const char *sources;      /* feed titles, primary first, '\n' apart */
};

/* Call `cb` for every item of window [start, end) (see the content rule
 * above), by id.  A non-zero return of `cb` stops and is returned.
 * Returns 0, HF_EDB, HF_ENOMEM or cb's code. */
int store_digest_items(struct store *st, int64_t start, int64_t end,
                       int (*cb)(void *ud, const struct store_digest_item *it),
                       void *ud) HF_WUR;

#endif
