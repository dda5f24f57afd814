/*
 * daemon.c - the service loop of `helsefeed run` (see daemon.h).
 */
#include <errno.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HF_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/daemon.h"
#include "helsefeed/digest.h"
#include "helsefeed/feed.h"
#include "helsefeed/ingest.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"

/* The database directory holds item text from the feeds; no reason for
 * other users to read it. */
#define DAEMON_DB_DIR_MODE 0750

static const int handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
#define NHANDLED (sizeof handled_signals / sizeof handled_signals[0])

struct daemon {
	const struct daemon_opts *opts;
	struct config *cfg;
	struct store *st;
	struct ingest *ing;       /* NULL after an engine failure, until retry_ms */
	int sfd;                  /* signalfd of handled_signals; -1: none */
	int masked;               /* handled_signals blocked, orig_mask saved */
	sigset_t orig_mask;
	int stop, reload, fetch_all;   /* signals read, not yet acted on */
	/* Monotonic milliseconds; 0: not set. */
	int64_t stop_ms;          /* end of the stop's grace period */
	int64_t scan_ms;          /* next look at the schedule in any case */
	int64_t started_ms;       /* last ingest_start */
	int64_t retry_ms;         /* no start (or session) before this */
	int64_t publish_ms;       /* no publish before this */
	int64_t digest_ms;        /* next digest_run */
	int started;              /* --once: the pass was started */
	int publish_pending;      /* something to publish: a change, a start, a reload */
	int64_t last_prune;       /* UTC seconds, 0: never */
	struct ingest_stats acc;  /* completed since the last publish */
	struct ingest_stats total;  /* completed since the start */
	struct digest_stats ds;   /* digests since the start */
	int rc;                   /* --once: the first error of ingest or publish */
	uint64_t wd_usec;         /* WatchdogSec, 0: no watchdog */
	int64_t wd_last_ms;       /* monotonic time of the last ping */
	char status[160];         /* last STATUS= text */
	struct publish_cycle cycle;  /* for metrics_file */
};

/* metrics_file, when set: after each publish and each round of digests.
 * A failure is logged (with the path) and the service goes on. */
static void metrics(struct daemon *d)
{
	d->cycle.digests_sent = d->ds.sent;
	d->cycle.digests_failed = d->ds.failed;
	if (publish_write_metrics(d->cfg, d->st, (int64_t)time(NULL), &d->cycle))
		log_warn("%s: metrics not written", d->cfg->metrics_file);
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic time at which the wall clock reads `utc` (seconds).  Waits
 * are on the monotonic clock: a step of the wall clock cannot stretch one
 * beyond DAEMON_MAX_SLEEP_S. */
static int64_t mono_at(int64_t utc)
{
	return mono_ms() + (utc * 1000 - clock_ms(CLOCK_REALTIME));
}

static void notify(const char *fmt, ...) HF_PRINTF(1, 2);
static void notify(const char *fmt, ...)
{
#ifdef HF_HAVE_SYSTEMD
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof msg)
		(void)sd_notify(0, msg);
#else
	(void)fmt;
#endif
}

static void watchdog_init(struct daemon *d)
{
#ifdef HF_HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		d->wd_usec = usec;
		log_debug("watchdog: ping every %" PRIu64 " ms", usec / 2000);
	}
#endif
	d->wd_last_ms = mono_ms();
}

/* Ping when half of the watchdog interval has passed since the last. */
static void watchdog_tick(struct daemon *d)
{
	int64_t now = mono_ms();

	if (!d->wd_usec || now - d->wd_last_ms < (int64_t)(d->wd_usec / 2000))
		return;
	notify("WATCHDOG=1");
	d->wd_last_ms = now;
}

/* The watchdog during a long SMTP transfer (mail_set_progress). */
static void watchdog_tick_cb(void *ud)
{
	watchdog_tick(ud);
}

/* -v/-q win; else the configuration's log_level; else info. */
static void apply_log_level(const struct daemon *d)
{
	enum log_level lvl = LOG_LVL_INFO;

	if (d->opts->cli_log_level >= 0)
		lvl = (enum log_level)d->opts->cli_log_level;
	else if (d->cfg->log_level && log_level_parse(d->cfg->log_level, &lvl))
		lvl = LOG_LVL_INFO;
	log_set_level(lvl);
}

/* Log each line of `errs` on its own at error level. */
static void log_lines(const struct buf *errs)
{
	const char *p = buf_str(errs);

	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len > 0)
			log_error("%.*s", len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* Configuration errors at start go to stderr, one per line. */
static void print_lines(const char *path, int rc, const struct buf *errs)
{
	fputs(buf_str(errs), stderr);
	if (errs->len && errs->data[errs->len - 1] != '\n')
		fputc('\n', stderr);
	if (!errs->len)
		fprintf(stderr, "%s: %s\n", path, hf_strerror(rc));
}

/* --- signals --------------------------------------------------------------- */

/*
 * No handlers: the signals are blocked in every thread (libcurl's resolver
 * threads inherit the mask) and read from a signalfd, which the loop waits
 * on beside the transfers' sockets, so none is lost between a look at the
 * flags and the wait.
 */
static int signals_open(struct daemon *d)
{
	struct sigaction sa;
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NHANDLED; i++)
		sigaddset(&set, handled_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, &d->orig_mask) != 0)
		return HF_ERR;
	d->masked = 1;
	d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sfd < 0)
		return HF_ERR;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return HF_ERR;
	return HF_OK;
}

static void signals_close(struct daemon *d)
{
	if (d->sfd >= 0)
		close(d->sfd);
	d->sfd = -1;
	if (d->masked)
		sigprocmask(SIG_SETMASK, &d->orig_mask, NULL);
	d->masked = 0;
}

static void signals_read(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGHUP:
			d->reload = 1;
			break;
		case SIGUSR1:
			d->fetch_all = 1;
			break;
		default:
			/* A second SIGTERM/SIGINT ends the grace period. */
			if (d->stop_ms)
				d->stop_ms = mono_ms();
			d->stop = 1;
			break;
		}
	}
}

/* --- the steps ------------------------------------------------------------- */

static size_t in_flight(const struct daemon *d)
{
	return d->ing ? ingest_in_flight(d->ing) : 0;
}

static void stats_add(struct ingest_stats *a, const struct ingest_stats *b)
{
	a->feeds += b->feeds;
	a->ok += b->ok;
	a->not_modified += b->not_modified;
	a->failed += b->failed;
	a->recovered += b->recovered;
	a->gone += b->gone;
	a->moved += b->moved;
	a->items_new += b->items_new;
	a->items_updated += b->items_updated;
	a->items_merged += b->items_merged;
	a->bytes += b->bytes;
}

/* Take what the transfers completed since the last look. */
static void collect(struct daemon *d)
{
	struct ingest_stats s;

	ingest_take_stats(d->ing, &s);
	stats_add(&d->acc, &s);
	stats_add(&d->total, &s);
	/* Published output shows items, their sources and the feeds' health. */
	if (s.items_new + s.items_updated + s.items_merged + s.failed + s.recovered > 0)
		d->publish_pending = 1;
}

/*
 * Wait up to `ms` for the transfers, a libcurl timer or a signal, and
 * ingest what completed.  After a store failure no transfer starts for
 * DAEMON_RETRY_S; after an engine failure the session is closed (aborting
 * its transfers) and opened again after that time.
 */
static void serve(struct daemon *d, int ms)
{
	struct pollfd p = {d->sfd, POLLIN, 0};
	int rc;

	if (!d->ing) {
		if (ms > 0)
			(void)poll(&p, 1, ms);
		return;
	}
	rc = ingest_step(d->ing, ms, d->sfd);
	collect(d);
	if (rc >= 0)
		return;
	if (!d->rc)
		d->rc = rc;
	d->retry_ms = mono_ms() + DAEMON_RETRY_S * 1000;
	if (rc == HF_ERR) {
		log_error("the transfer engine failed; starting it again in %d s", DAEMON_RETRY_S);
		ingest_close(d->ing);
		d->ing = NULL;
	} else {
		log_error("storing a feed failed: %s; no new transfers for %d s",
		          hf_strerror(rc), DAEMON_RETRY_S);
	}
}

/* Monotonic time of the next ingest_start; INT64_MAX: none. */
static int64_t start_at(const struct daemon *d)
{
	int64_t t, due;

	if (!d->ing || d->stop_ms || (d->opts->once && d->started))
		return INT64_MAX;
	if (d->opts->once || d->fetch_all) {
		t = 0;
	} else {
		due = ingest_next_due(d->ing);
		t = due == INT64_MIN ? 0 : due == INT64_MAX ? INT64_MAX : mono_at(due);
		if (d->scan_ms < t)
			t = d->scan_ms;
		if (t < d->started_ms + DAEMON_START_GAP_MS)
			t = d->started_ms + DAEMON_START_GAP_MS;
	}
	return t > d->retry_ms ? t : d->retry_ms;
}

static void start(struct daemon *d)
{
	/* SIGUSR1 is the admin asking for every feed now: forced.  --once
	 * honours a running Retry-After unless --force. */
	int all = d->fetch_all ? INGEST_ALL | INGEST_FORCE :
	          d->opts->once ? INGEST_ALL | (d->opts->force ? INGEST_FORCE : 0) : 0;
	int n;

	if (d->fetch_all)
		log_info("SIGUSR1: fetching every feed now");
	d->fetch_all = 0;
	d->started = 1;
	d->started_ms = mono_ms();
	d->scan_ms = d->started_ms + DAEMON_MAX_SLEEP_S * 1000;
	n = ingest_start(d->ing, (int64_t)time(NULL), all);
	if (n < 0) {
		if (!d->rc)
			d->rc = n;
		d->retry_ms = mono_ms() + DAEMON_RETRY_S * 1000;
		log_error("cannot start the due feeds: %s; next try in %d s",
		          hf_strerror(n), DAEMON_RETRY_S);
	} else if (n > 0) {
		log_debug("started %d feeds, %zu in flight", n, in_flight(d));
	}
}

/* STATUS=: "6 feeds, 1 failing, next digest 07:00". */
static void status(struct daemon *d, int64_t now)
{
	struct store_feed_state *v = NULL;
	size_t n = 0, failing = 0;
	int64_t next_digest = 0;
	const char *digest_tz = NULL;
	char when[32] = "";

	if (store_feed_states(d->st, &v, &n) == HF_OK) {
		for (size_t i = 0; i < n; i++)
			failing += v[i].failures > 0 || v[i].gone;
		store_feed_states_free(v, n);
	} else {
		n = d->cfg->nfeeds;
	}
	for (size_t i = 0; i < d->cfg->ndigests; i++) {
		const struct config_digest *g = &d->cfg->digests[i];
		int64_t t;

		if (digest_next_send(g, now, &t) == HF_OK && (!next_digest || t < next_digest)) {
			next_digest = t;
			digest_tz = g->timezone;
		}
	}
	if (next_digest && publish_date_nb(next_digest, digest_tz, when) == HF_OK) {
		/* "23.05.2022 kl. 07:00": the time is what a reader wants. */
		const char *kl = strstr(when, "kl. ");
		snprintf(d->status, sizeof d->status, "%zu feeds, %zu failing, next digest %s",
		         n, failing, kl ? kl + 4 : when);
	} else {
		snprintf(d->status, sizeof d->status, "%zu feeds, %zu failing", n, failing);
	}
	notify("STATUS=%s", d->status);
}

static void publish(struct daemon *d)
{
	struct publish_stats ps = {0};
	const struct ingest_stats *s = &d->acc;
	int64_t t0 = mono_ms(), now = (int64_t)time(NULL);
	int rc;

	watchdog_tick(d);
	rc = publish_run(d->cfg, d->st, now, &ps);
	if (rc) {
		log_error("publish failed: %s; next try in %d s", hf_strerror(rc), DAEMON_RETRY_S);
		if (!d->rc)
			d->rc = rc;
		d->publish_ms = mono_ms() + DAEMON_RETRY_S * 1000;
	} else {
		/* A failure is logged; the next publish or SQLite's automatic
		 * checkpoint copies what this one could not. */
		(void)store_checkpoint(d->st);
#ifdef __GLIBC__
		/* A publish builds its pages and feeds in memory (a month's
		 * archive page goes to its file in pieces); glibc keeps what
		 * was freed in its heap unless asked to give it back. */
		malloc_trim(0);
#endif
		log_info("published %d files (%d changed); since the last: %d feeds fetched "
		         "(%d ok, %d not modified, %d failed), %d new, %d updated, %d merged; "
		         "%zu in flight; %" PRId64 " ms",
		         ps.files, ps.changed, s->feeds, s->ok, s->not_modified, s->failed,
		         s->items_new, s->items_updated, s->items_merged, in_flight(d),
		         mono_ms() - t0);
		d->publish_pending = 0;
		d->publish_ms = mono_ms() + DAEMON_PUBLISH_EVERY_S * 1000;
		d->cycle.cycle_ms = s->elapsed_ms;
		d->cycle.publish_ms = mono_ms() - t0;
		memset(&d->acc, 0, sizeof d->acc);
		metrics(d);
	}
	status(d, now);
	watchdog_tick(d);
}

/*
 * The digests that are due, one group at a time: a delivery blocks the
 * loop for at most the [smtp] timeout, and the transfers in flight are
 * served between two groups.  digest_run records a failed delivery for
 * retry and logs it; it never stops the loop.  Then the daily prune, and
 * the next look: the earliest scheduled send, at most DAEMON_MAX_SLEEP_S
 * away (a retry is not a scheduled send).
 */
static void digests(struct daemon *d)
{
	int64_t now, next = INT64_MAX, t;
	struct digest_stats ds = {0};
	int rc;

	for (size_t i = 0; i < d->cfg->ndigests && !d->stop; i++) {
		const char *group = d->cfg->digests[i].name;

		watchdog_tick(d);
		/* Read just now: every item stored before is in this window,
		 * every later one in the next. */
		rc = digest_run(d->cfg, d->st, (int64_t)time(NULL), 0, group, NULL, &ds);
		if (rc && rc != HF_ENET)
			log_error("digest %s failed: %s", group, hf_strerror(rc));
		watchdog_tick(d);
		signals_read(d);
		serve(d, 0);
	}
	if (ds.sent || ds.failed)
		log_info("digests: %d sent, %d failed", ds.sent, ds.failed);
	d->ds.sent += ds.sent;
	d->ds.failed += ds.failed;

	if (ds.sent || ds.failed)
		metrics(d);

	now = (int64_t)time(NULL);
	if (now - d->last_prune >= DAEMON_PRUNE_EVERY_S &&
	    store_prune_fetches(d->st, now - DAEMON_KEEP_FETCHES_S) == HF_OK) {
		int64_t gone = 0;
		d->last_prune = now;
		/* keep = ...: older items leave the database; the next publish
		 * leaves them out of every page. */
		if (d->cfg->keep > 0 &&
		    store_prune_items(d->st, now - d->cfg->keep, &gone) == HF_OK && gone) {
			log_info("pruned %lld items older than keep", (long long)gone);
			d->publish_pending = 1;
		}
	}
	for (size_t i = 0; i < d->cfg->ndigests; i++)
		if (digest_next_send(&d->cfg->digests[i], now, &t) == HF_OK && t < next)
			next = t;
	d->digest_ms = mono_ms() + DAEMON_MAX_SLEEP_S * 1000;
	if (next != INT64_MAX && mono_at(next) < d->digest_ms)
		d->digest_ms = mono_at(next);
	status(d, now);
}

/*
 * SIGHUP: load the file again.  A configuration that loads, whose output
 * directory can be made and whose session opens (the category rules
 * compile) replaces the running one; anything else is logged and the
 * running configuration stays.  Returns 0 when swapped.
 */
static int reload(struct daemon *d)
{
	const char *path = d->opts->config_path;
	struct config *nc = NULL;
	struct ingest *ni = NULL;
	struct buf errs = BUF_INIT;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	       (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	rc = config_load(path, &nc, &errs);
	if (rc == HF_OK && (rc = fs_mkdir_p(nc->output, PUBLISH_DIR_MODE)) == HF_OK)
		rc = ingest_open(nc, d->st, &ni, &errs);
	if (rc) {
		log_lines(&errs);
		if (!errs.len && rc != HF_EIO)
			log_error("%s: %s", path, hf_strerror(rc));
		log_error("reload of %s failed; keeping the running configuration", path);
		config_free(nc);
		goto out;
	}
	if (strcmp(nc->database, d->cfg->database) != 0)
		log_warn("%s: database changed to %s: takes effect at the next restart; "
		         "still using %s", path, nc->database, d->cfg->database);
	/* The transfers in flight belong to the old configuration: aborted,
	 * unrecorded, and due at once under the new one. */
	ingest_close(d->ing);
	config_free(d->cfg);
	d->cfg = nc;
	d->ing = ni;
	d->retry_ms = 0;
	d->digest_ms = 0;
	d->publish_pending = 1;
	apply_log_level(d);
	log_info("reloaded %s: %zu feeds, %zu categories, %zu digests",
	         path, nc->nfeeds, nc->ncategories, nc->ndigests);
out:
	notify("READY=1");
	buf_free(&errs);
	return rc;
}

/* How long the loop may wait now: until the earliest of its deadlines. */
static int wait_ms(const struct daemon *d)
{
	int64_t now = mono_ms(), until = now + DAEMON_MAX_SLEEP_S * 1000, t;

	if (d->stop_ms) {
		until = d->stop_ms;
	} else {
		if ((t = start_at(d)) < until)
			until = t;
		if (!d->ing && d->retry_ms < until)
			until = d->retry_ms;
		if (!d->opts->once && d->publish_pending && d->publish_ms < until)
			until = d->publish_ms;
		if (!d->opts->once && d->digest_ms < until)
			until = d->digest_ms;
	}
	if (d->wd_usec && (t = d->wd_last_ms + (int64_t)(d->wd_usec / 2000)) < until)
		until = t;
	return until > now ? (int)(until - now) : 0;
}

/* One turn of the loop, before its wait.  Returns 0 to go on, 1 when the
 * loop is done. */
static int turn(struct daemon *d)
{
	signals_read(d);
	if (d->stop && !d->stop_ms) {
		d->stop_ms = mono_ms() + DAEMON_STOP_GRACE_S * 1000;
		if (!d->opts->once)
			notify("STOPPING=1");
		log_info("stopping: %zu feeds in flight, waiting up to %d s for them",
		         in_flight(d), DAEMON_STOP_GRACE_S);
	}
	if (d->stop_ms)
		return !in_flight(d) || mono_ms() >= d->stop_ms;
	if (d->opts->once) {
		/* SIGHUP and SIGUSR1 mean nothing to a single pass. */
		d->reload = d->fetch_all = 0;
	} else if (d->reload) {
		d->reload = 0;
		(void)reload(d);
	}
	if (!d->ing && mono_ms() >= d->retry_ms &&
	    ingest_open(d->cfg, d->st, &d->ing, NULL) != HF_OK)
		d->retry_ms = mono_ms() + DAEMON_RETRY_S * 1000;
	if (mono_ms() >= start_at(d))
		start(d);
	if (d->opts->once)
		return d->started && !in_flight(d);
	if (d->publish_pending && mono_ms() >= d->publish_ms) {
		publish(d);
		/* Groups of frequency immediate: news within this cycle. */
		d->digest_ms = 0;
	}
	if (mono_ms() >= d->digest_ms)
		digests(d);
	return 0;
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d;
	struct buf errs = BUF_INIT;
	int64_t t0 = mono_ms();
	int rc;

	memset(&d, 0, sizeof d);
	d.opts = o;
	d.sfd = -1;
	d.publish_pending = 1;

	rc = config_load(o->config_path, &d.cfg, &errs);
	if (rc) {
		print_lines(o->config_path, rc, &errs);
		goto out;
	}
	apply_log_level(&d);
	if ((rc = fs_mkdir_parent(d.cfg->database, DAEMON_DB_DIR_MODE)) ||
	    (rc = fs_mkdir_p(d.cfg->output, PUBLISH_DIR_MODE)))
		goto out;
	if ((rc = signals_open(&d))) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	/* The parser host is forked while the daemon is small (feed.h); if
	 * it cannot be now, the first document tries again. */
	if (feed_host_start())
		log_warn("cannot start the parser process yet: %s", strerror(errno));
	rc = store_open(d.cfg->database, &d.st, NULL);
	if (rc)
		goto out;
	rc = ingest_open(d.cfg, d.st, &d.ing, &errs);
	if (rc) {
		print_lines(o->config_path, rc, &errs);
		goto out;
	}

	if (!o->once) {
		watchdog_init(&d);
		mail_set_progress(watchdog_tick_cb, &d);
		notify("READY=1\nSTATUS=starting: %zu feeds", d.cfg->nfeeds);
		log_info("running: %s, %zu feeds, database %s, output %s", o->config_path,
		         d.cfg->nfeeds, d.cfg->database, d.cfg->output);
		/* The first publish takes the first few seconds of fetching. */
		d.publish_ms = mono_ms() + DAEMON_PUBLISH_EVERY_S * 1000;
	}
	while (!turn(&d)) {
		watchdog_tick(&d);
		serve(&d, wait_ms(&d));
	}
	mail_set_progress(NULL, NULL);
	ingest_close(d.ing);
	d.ing = NULL;
	if (d.stop_ms) {
		/* What the last seconds stored, unless the stop came before
		 * anything was fetched; digests wait for the next start. */
		if (d.publish_pending && d.total.feeds > 0)
			publish(&d);
		log_info("stopped after %d feeds fetched, %d new items, %d digests sent",
		         d.total.feeds, d.total.items_new, d.ds.sent);
		rc = HF_OK;
		goto out;
	}
	/* --once: the pass is over. */
	publish(&d);
	digests(&d);
	log_info("once done: %d feeds fetched (%d ok, %d not modified, %d failed), "
	         "%d new, %d updated; digests %d sent, %d failed; %" PRId64 " ms",
	         d.total.feeds, d.total.ok, d.total.not_modified, d.total.failed,
	         d.total.items_new, d.total.items_updated, d.ds.sent, d.ds.failed,
	         mono_ms() - t0);
	rc = d.rc;
out:
	if (!o->once && !d.stop_ms)
		notify("STOPPING=1");
	ingest_close(d.ing);
	feed_host_stop();
	store_close(d.st);
	config_free(d.cfg);
	signals_close(&d);
	buf_free(&errs);
	return rc;
}
