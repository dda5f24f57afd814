/*
 * daemon.c - the service loop of `helsefeed run` (see daemon.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifdef HF_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "helsefeed/buf.h"
#include "helsefeed/config.h"
#include "helsefeed/daemon.h"
#include "helsefeed/fsutil.h"
#include "helsefeed/digest.h"
#include "helsefeed/ingest.h"
#include "helsefeed/log.h"
#include "helsefeed/pipeline.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"

/* The database directory holds item text from the feeds; no reason for
 * other users to read it. */
#define DAEMON_DB_DIR_MODE 0750

static volatile sig_atomic_t sig_stop, sig_reload, sig_fetch_all;

static void on_signal(int signo)
{
	if (signo == SIGHUP)
		sig_reload = 1;
	else if (signo == SIGUSR1)
		sig_fetch_all = 1;
	else
		sig_stop = 1;
}

static const int handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
#define NHANDLED (sizeof handled_signals / sizeof handled_signals[0])

struct daemon {
	const struct daemon_opts *opts;
	struct config *cfg;
	struct store *st;
	unsigned long cycles;     /* completed */
	int publish_pending;      /* first cycle, or a reload since */
	int64_t last_prune;       /* UTC seconds, 0: never */
	uint64_t wd_usec;         /* WatchdogSec, 0: no watchdog */
	int64_t wd_last_ms;       /* monotonic time of the last ping */
	char status[160];         /* last STATUS= text */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NHANDLED; i++)
		if (sigaction(handled_signals[i], &sa, NULL) != 0)
			return HF_ERR;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return HF_ERR;
	return HF_OK;
}

/*
 * config_load does not compile the keyword rules: compile them once, so
 * that a configuration the ingest would refuse is refused up front.
 * Returns 0, or HF_ECONFIG with one line per error in `errs`, HF_EDB,
 * HF_ENOMEM.
 */
static int check_rules(const struct config *cfg, struct store *st, struct buf *errs)
{
	struct pipeline *p = NULL;
	int rc = pipeline_new(cfg, st, &p, errs);

	pipeline_free(p);
	return rc;
}

/*
 * SIGHUP: load the file again.  A configuration that loads and whose
 * category rules compile replaces the running one; anything else is
 * logged and the running configuration stays.  Returns 0 when swapped.
 */
static int reload(struct daemon *d)
{
	const char *path = d->opts->config_path;
	struct config *nc = NULL;
	struct buf errs = BUF_INIT;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	       (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	rc = config_load(path, &nc, &errs);
	if (rc == HF_OK)
		rc = check_rules(nc, d->st, &errs);
	if (rc) {
		log_lines(&errs);
		if (!errs.len)
			log_error("%s: %s", path, hf_strerror(rc));
	} else {
		rc = fs_mkdir_p(nc->output, PUBLISH_DIR_MODE);   /* logs itself */
	}
	if (rc) {
		log_error("reload of %s failed; keeping the running configuration", path);
		config_free(nc);
		goto out;
	}
	if (strcmp(nc->database, d->cfg->database) != 0)
		log_warn("%s: database changed to %s: takes effect at the next restart; "
		         "still using %s", path, nc->database, d->cfg->database);
	config_free(d->cfg);
	d->cfg = nc;
	apply_log_level(d);
	d->publish_pending = 1;
	log_info("reloaded %s: %zu feeds, %zu categories, %zu digests",
	         path, nc->nfeeds, nc->ncategories, nc->ndigests);
out:
	notify("READY=1");
	buf_free(&errs);
	return rc;
}

/*
 * One cycle (see daemon.h).  Returns 0, or the first error of the ingest
 * or the publish (logged); the loop goes on after either.
 */
static int cycle(struct daemon *d, int all)
{
	struct ingest_stats is = {0};
	struct publish_stats ps = {0};
	struct digest_stats ds = {0};
	int64_t now = (int64_t)time(NULL), t0 = mono_ms();
	int rc, prc = HF_OK, drc, published = 0;
	char pub[64] = "nothing to publish";

	watchdog_tick(d);
	rc = ingest_run(d->cfg, d->st, all, now, &is);
	if (rc)
		log_error("cycle %lu: ingest failed: %s", d->cycles + 1, hf_strerror(rc));
	watchdog_tick(d);
	if (sig_stop)
		goto out;

	now = (int64_t)time(NULL);
	if (d->publish_pending || is.items_new + is.items_updated > 0 || is.failed > 0) {
		prc = publish_run(d->cfg, d->st, now, &ps);
		if (prc)
			log_error("cycle %lu: publish failed: %s", d->cycles + 1, hf_strerror(prc));
		else
			d->publish_pending = 0;
		published = 1;
		watchdog_tick(d);
	}
	if (sig_stop)
		goto out;

	/* A failed delivery is recorded by digest_run for retry and logged
	 * there; it never stops the loop. */
	drc = digest_run(d->cfg, d->st, now, 0, NULL, NULL, &ds);
	if (drc && drc != HF_ENET)
		log_error("cycle %lu: digests failed: %s", d->cycles + 1, hf_strerror(drc));
	watchdog_tick(d);

	if (now - d->last_prune >= DAEMON_PRUNE_EVERY_S) {
		if (store_prune_fetches(d->st, now - DAEMON_KEEP_FETCHES_S) == HF_OK)
			d->last_prune = now;
	}
out:
	d->cycles++;
	if (published)
		snprintf(pub, sizeof pub, "published %d files (%d changed)", ps.files, ps.changed);
	log_info("cycle %lu done: %d feeds fetched (%d ok, %d not modified, %d failed), "
	         "%d new, %d updated; %s; digests %d sent, %d failed; %" PRId64 " ms",
	         d->cycles, is.feeds, is.ok, is.not_modified, is.failed,
	         is.items_new, is.items_updated, pub, ds.sent, ds.failed, mono_ms() - t0);
	return rc ? rc : prc;
}

/*
 * The next time the loop has work (UTC seconds): the earliest
 * next_fetch of an active feed that is not gone, the next digest time,
 * at most now + DAEMON_MAX_SLEEP_S.  Also refreshes STATUS=.
 */
static int64_t plan(struct daemon *d)
{
	struct store_feed_state *v = NULL;
	size_t n = 0, failing = 0;
	int64_t now = (int64_t)time(NULL), wake = now + DAEMON_MAX_SLEEP_S;
	int64_t next_digest = 0;
	const char *digest_tz = NULL;
	char when[32] = "";

	if (store_feed_states(d->st, &v, &n) == HF_OK) {
		for (size_t i = 0; i < n; i++) {
			if (v[i].failures > 0 || v[i].gone)
				failing++;
			if (!v[i].gone && v[i].next_fetch < wake)
				wake = v[i].next_fetch;
		}
		store_feed_states_free(v, n);
	} else {
		n = d->cfg->nfeeds;
	}
	for (size_t i = 0; i < d->cfg->ndigests; i++) {
		const struct config_digest *g = &d->cfg->digests[i];
		int64_t t;

		if (digest_next_send(g, now, &t) != HF_OK)
			continue;
		if (!next_digest || t < next_digest) {
			next_digest = t;
			digest_tz = g->timezone;
		}
	}
	if (next_digest && next_digest < wake)
		wake = next_digest;
	if (next_digest && publish_date_nb(next_digest, digest_tz, when) == HF_OK) {
		/* "23.05.2022 kl. 07:00": the time is what a reader wants. */
		const char *kl = strstr(when, "kl. ");
		snprintf(d->status, sizeof d->status, "%zu feeds, %zu failing, next digest %s",
		         n, failing, kl ? kl + 4 : when);
	} else {
		snprintf(d->status, sizeof d->status, "%zu feeds, %zu failing", n, failing);
	}
	notify("STATUS=%s", d->status);
	log_debug("status: %s; next wake in %" PRId64 " s", d->status,
	          wake > now ? wake - now : 0);
	return wake;
}

/*
 * Sleep until the monotonic time `deadline_ms` or a signal, pinging the
 * watchdog on the way.  The handled signals are blocked while the flags
 * are checked and unblocked atomically by ppoll(), so none is lost
 * between the check and the wait.
 */
static void sleep_until(struct daemon *d, int64_t deadline_ms)
{
	sigset_t block, orig;

	sigemptyset(&block);
	for (size_t i = 0; i < NHANDLED; i++)
		sigaddset(&block, handled_signals[i]);
	for (;;) {
		int64_t ms = deadline_ms - mono_ms();
		struct timespec ts;

		watchdog_tick(d);
		if (ms <= 0)
			return;
		if (d->wd_usec) {
			int64_t next_ping = d->wd_last_ms + (int64_t)(d->wd_usec / 2000) - mono_ms();
			if (next_ping < ms)
				ms = next_ping > 0 ? next_ping : 0;
		}
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		sigprocmask(SIG_BLOCK, &block, &orig);
		if (sig_stop || sig_reload || sig_fetch_all) {
			sigprocmask(SIG_SETMASK, &orig, NULL);
			return;
		}
		(void)ppoll(NULL, 0, &ts, &orig);
		sigprocmask(SIG_SETMASK, &orig, NULL);
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

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d;
	struct buf errs = BUF_INIT;
	int64_t deadline = 0;
	int rc, run_now = 1, all = 0;

	memset(&d, 0, sizeof d);
	d.opts = o;
	d.publish_pending = 1;
	sig_stop = sig_reload = sig_fetch_all = 0;

	rc = config_load(o->config_path, &d.cfg, &errs);
	if (rc) {
		print_lines(o->config_path, rc, &errs);
		goto out;
	}
	apply_log_level(&d);
	if ((rc = fs_mkdir_parent(d.cfg->database, DAEMON_DB_DIR_MODE)) ||
	    (rc = fs_mkdir_p(d.cfg->output, PUBLISH_DIR_MODE)))
		goto out;
	if ((rc = install_signals())) {
		log_error("cannot install signal handlers: %s", strerror(errno));
		goto out;
	}
	rc = store_open(d.cfg->database, &d.st, NULL);
	if (rc)
		goto out;
	rc = check_rules(d.cfg, d.st, &errs);
	if (rc) {
		print_lines(o->config_path, rc, &errs);
		goto out;
	}

	if (o->once) {
		rc = cycle(&d, 1);
		goto out;
	}
	watchdog_init(&d);
	notify("READY=1\nSTATUS=starting: %zu feeds", d.cfg->nfeeds);
	log_info("running: %s, %zu feeds, database %s, output %s", o->config_path,
	         d.cfg->nfeeds, d.cfg->database, d.cfg->output);

	while (!sig_stop) {
		if (sig_reload) {
			sig_reload = 0;
			if (reload(&d) == HF_OK)
				run_now = 1;
		}
		if (sig_fetch_all) {
			sig_fetch_all = 0;
			log_info("SIGUSR1: fetching every feed now");
			all = 1;
			run_now = 1;
		}
		if (run_now || mono_ms() >= deadline) {
			int crc = cycle(&d, all);
			int64_t now, wake;

			run_now = all = 0;
			if (sig_stop)
				break;
			wake = plan(&d);
			/* Never spin: at least a second between cycles, a minute
			 * after the store or the engine failed. */
			now = (int64_t)time(NULL);
			if (wake < now + (crc ? DAEMON_RETRY_S : 1))
				wake = now + (crc ? DAEMON_RETRY_S : 1);
			/* Waited for on the monotonic clock: a step of the wall
			 * clock cannot stretch a sleep beyond the plan. */
			deadline = mono_ms() + (wake - now) * 1000;
		}
		sleep_until(&d, deadline);
	}
	log_info("stopping after %lu cycles", d.cycles);
	rc = HF_OK;
out:
	if (!o->once)
		notify("STOPPING=1");
	store_close(d.st);
	config_free(d.cfg);
	buf_free(&errs);
	return rc;
}
