/*
 * daemon.h - `helsefeed run`: the long-running service.
 *
 * One process, one thread.  A cycle is:
 *   1. ingest_run(): every due feed fetched at once (all of them for
 *      --once and after SIGUSR1), parsed and stored.  The cycle cannot be
 *      interrupted, but it is bounded: each transfer ends after the
 *      configured `timeout` (whole transfer, default HF_FETCH_TIMEOUT_S)
 *      or earlier by `connect_timeout` / the low-speed abort, and the
 *      transfers run concurrently, so one cycle lasts at most about
 *      `timeout` seconds plus the parsing, however many feeds are slow.
 *   2. publish_run() when items were added or changed, a fetch failed,
 *      on the first cycle and after a reload.
 *   3. digest_run() on every cycle: it decides itself what is due; a
 *      delivery failure is recorded there for retry and never stops the
 *      loop.
 *   4. store_prune_fetches() once a day, keeping DAEMON_KEEP_FETCHES_S.
 * Then it sleeps until the earliest next_fetch of the active feeds, the
 * next digest time of any group, or DAEMON_MAX_SLEEP_S, whichever comes
 * first (and wakes in between for the systemd watchdog).
 *
 * Signals (the handlers only set flags; the sleep is a ppoll() that
 * unblocks them atomically, so a signal ends it at once, and a signal
 * that arrives during a cycle is acted on right after that cycle):
 *   SIGHUP          reload the configuration file.  Valid: it replaces the
 *                   running one, and a cycle runs at once (new feeds are
 *                   due immediately, the others keep their schedule) and
 *                   publishes.  Invalid: every error is logged with its
 *                   file:line and the running configuration stays.  The
 *                   database is opened once: a changed `database` needs a
 *                   restart (a warning says so).
 *   SIGUSR1         fetch every feed now, as `fetch --all`.
 *   SIGTERM/SIGINT  take no new work: the step under way finishes (a
 *                   cycle's transfers are bounded as above; publish and
 *                   digests of that cycle are skipped, the next start
 *                   does them), the store is closed, exit 0.
 *
 * systemd (Type=notify, when built with libsystemd): READY=1 once the
 * store is open; STATUS= after every cycle ("6 feeds, 1 failing, next
 * digest 07:00"); RELOADING=1 with MONOTONIC_USEC= and READY=1 around a
 * reload; STOPPING=1 on the way out; WATCHDOG=1 at half of WatchdogSec.
 * A cycle pings before and after each step, so WatchdogSec must exceed
 * the transfer `timeout` (the unit ships 120 s for the default 60 s).
 */
#ifndef HELSEFEED_DAEMON_H
#define HELSEFEED_DAEMON_H

#include "helsefeed/cli.h"
#include "helsefeed/err.h"
#include "helsefeed/log.h"

/* Longest sleep between two looks at the schedule: a feed or digest
 * changed behind our back (another `fetch` process, a clock step) is
 * noticed within a minute, the floor of any feed's interval. */
#define DAEMON_MAX_SLEEP_S 60
/* After a cycle whose store or engine failed, wait this long before the
 * next one instead of retrying the due feeds at once. */
#define DAEMON_RETRY_S 60
/* Fetch records feed the status page's history: a month shows every
 * weekly pattern; older ones only grow the database. */
#define DAEMON_KEEP_FETCHES_S (30 * 24 * 3600)
#define DAEMON_PRUNE_EVERY_S (24 * 3600)

struct daemon_opts {
	const char *config_path;
	int once;               /* one full cycle (every feed), then return */
	/* The level set by -v/-q, which wins over the configuration's
	 * log_level; -1 when none was given. */
	int cli_log_level;
};

/*
 * Run the service until SIGTERM/SIGINT (or one cycle with `once`).
 * Returns 0 after a clean stop; HF_ECONFIG when the configuration could
 * not be loaded at start (its errors printed on stderr, one file:line per
 * line); HF_EIO, HF_EDB, HF_EVERSION, HF_ENOMEM when the directories or
 * the store could not be set up; with `once`, the first error of the
 * cycle's ingest or publish.
 */
int daemon_run(const struct daemon_opts *o) HF_WUR;

/* `helsefeed [-c FILE] run [--once]`: see cli.h for the conventions. */
int cmd_run(const struct cli *cli, int argc, char **argv);

#endif
