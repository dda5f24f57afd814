/*
 * daemon.h - `helsefeed run`: the long-running service.
 *
 * One process, one thread, one loop around libcurl's multi interface
 * (ingest.h).  helsefeed starts no thread of its own: the only others
 * are libcurl's threaded resolver's, one per name lookup in flight.
 * Each turn:
 *   1. acts on the signals read since the last turn (below);
 *   2. starts every feed that is due and not already in flight (every
 *      feed for --once and after SIGUSR1), looking at most every
 *      DAEMON_START_GAP_MS; each transfer is stored as soon as it
 *      completes, one transaction per feed, whatever the others do;
 *   3. publishes (publish_run) when items were added, changed or merged,
 *      a fetch failed or a failing feed recovered, at start and after a
 *      reload; at most once per DAEMON_PUBLISH_EVERY_S, so that feeds
 *      completing one after another share a publish; a publish that
 *      succeeded is followed by a passive checkpoint (store_checkpoint);
 *   4. runs the digests (digest_run, which decides what is due) at the
 *      next scheduled send time of any group and at least every
 *      DAEMON_MAX_SLEEP_S for retries, one group at a time; prunes the
 *      fetch records once a day, keeping DAEMON_KEEP_FETCHES_S;
 *   5. waits for the transfers' sockets, libcurl's timers and the signals
 *      until the earliest of: the next due feed, the next publish or
 *      digest, the next watchdog ping, DAEMON_MAX_SLEEP_S.
 * A slow or broken feed holds nothing but its own transfer slot (bounded
 * by `timeout`, `connect_timeout` and the low-speed abort).  The steps
 * that block the loop are short: parsing and storing one document,
 * publishing, and a digest delivery, which waits at most the [smtp]
 * `timeout` (default 60 s) per group and only when a group is due or
 * being retried; transfers in flight pause meanwhile, and their own
 * time-outs keep running, so a long SMTP stall can time a slow transfer
 * out (recorded as its failure, retried with backoff).
 *
 * --once: one pass over every feed (gone ones aside), then publish and the
 * due digests, then return.
 *
 * Signals (no handlers: they are blocked and read from a signalfd that
 * the loop waits on, so each ends the wait at once):
 *   SIGHUP          reload the configuration file.  Valid: a new session
 *                   (ingest_open) replaces the running one; transfers in
 *                   flight are aborted, unrecorded, and start again at
 *                   once under the new configuration; feeds removed stop,
 *                   new feeds are due at once, the others keep their
 *                   schedule (a shorter interval applies at once, see
 *                   ingest.h); a publish and the digests follow.
 *                   Invalid: every error is logged with its file:line and
 *                   the running configuration stays, its transfers
 *                   untouched.  The database is opened once: a changed
 *                   `database` needs a restart (a warning says so).
 *   SIGUSR1         fetch every feed not in flight now, as `fetch --all`.
 *   SIGTERM/SIGINT  start nothing new; the transfers in flight get
 *                   DAEMON_STOP_GRACE_S to complete (each one that does is
 *                   stored), the rest are aborted unrecorded (fetched at
 *                   the next start); a publish still pending is made,
 *                   digests are left to the next start; then the store
 *                   is closed, return 0.  A second SIGTERM/SIGINT ends
 *                   the grace at once.
 *                   A digest delivery under way finishes first (see
 *                   above), and the abort of a transfer still resolving
 *                   its host name waits for the resolver (ingest_close).
 *
 * systemd (Type=notify, when built with libsystemd): READY=1 once the
 * store is open; STATUS= after every publish and digest look ("6 feeds, 1
 * failing, next digest 07:00"); RELOADING=1 with MONOTONIC_USEC= and
 * READY=1 around a reload; STOPPING=1 when the stop begins; WATCHDOG=1 at
 * half of WatchdogSec, from the loop, which turns at least that often
 * while transfers run; only a digest delivery can hold it longer, so
 * WatchdogSec must exceed the [smtp] `timeout` (the unit ships 120 s for
 * the default 60 s).
 */
#ifndef HELSEFEED_DAEMON_H
#define HELSEFEED_DAEMON_H

#include "helsefeed/cli.h"
#include "helsefeed/err.h"
#include "helsefeed/util.h"

/* Longest sleep between two looks at the schedule: a feed or digest
 * changed behind our back (another `fetch` process, a clock step) is
 * noticed within a minute, the floor of any feed's interval. */
#define DAEMON_MAX_SLEEP_S 60
/* Due feeds are started at most this often (SIGUSR1 and a reload aside):
 * the schedule counts in seconds, and 1,000 feeds spread over a minute
 * would otherwise read the feed table from the store 17 times a second.
 * A feed starts at most this late. */
#define DAEMON_START_GAP_MS 1000
/* After the store or the engine failed, start no transfer (and retry a
 * failed publish) only after this long instead of at once. */
#define DAEMON_RETRY_S 60
/* Publish at most this often: 1,000 feeds completing one by one cost
 * twenty publishes a minute, not 1,000, and a new item is out at most
 * this long after it is stored, plus the publish itself: within the 5 s
 * from a feed's fetch to its publication that the daemon promises while
 * other feeds are parsed (tests/it_hostile.py), with room for the
 * publish on a loaded machine. */
#define DAEMON_PUBLISH_EVERY_S 3
/* SIGTERM: how long transfers in flight may take to complete.  A feed
 * answers in well under a second; the rest is fetched again at the next
 * start.  systemd's TimeoutStopSec (90 s in the unit) must exceed it plus
 * one digest delivery. */
#define DAEMON_STOP_GRACE_S 5
/* Fetch records feed the status page's history: a month shows every
 * weekly pattern; older ones only grow the database. */
#define DAEMON_KEEP_FETCHES_S (30 * 24 * 3600)
#define DAEMON_PRUNE_EVERY_S (24 * 3600)

struct daemon_opts {
	const char *config_path;
	int once;               /* one pass over every feed, then return */
	/* The level set by -v/-q, which wins over the configuration's
	 * log_level; -1 when none was given. */
	int cli_log_level;
	/* With `once`: fetch the feeds whose server asked to wait with a
	 * Retry-After still running too (ingest.h, INGEST_FORCE). */
	int force;
};

/*
 * Run the service until SIGTERM/SIGINT (or one pass with `once`).
 * Returns 0 after a clean stop; HF_ECONFIG when the configuration could
 * not be loaded at start (its errors printed on stderr, one file:line per
 * line); HF_EIO, HF_EDB, HF_EVERSION, HF_ENOMEM, HF_ERR when the
 * directories, the signals, the store or the session could not be set
 * up; with `once`, the first error of the pass's ingest or publish.
 */
int daemon_run(const struct daemon_opts *o) HF_WUR;

/* `helsefeed [-c FILE] run [--once]`: see cli.h for the conventions. */
int cmd_run(const struct cli *cli, int argc, char **argv);

#endif
