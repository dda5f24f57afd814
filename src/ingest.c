/* ingest.c - fetch -> parse -> store for the due feeds; see ingest.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/buf.h"
#include "helsefeed/feed.h"
#include "helsefeed/fetch.h"
#include "helsefeed/ingest.h"
#include "helsefeed/limits.h"
#include "helsefeed/log.h"
#include "helsefeed/pipeline.h"

/* One selected feed. */
struct job {
	struct store_feed_state *state;   /* borrowed from the run's array */
	const struct config_feed *cf;
};

struct run {
	const struct config *cfg;
	struct store *st;
	struct pipeline *pipe; /* dedup, fingerprint, classify (pipeline.h) */
	int64_t now;
	struct ingest_stats stats;
	int fatal;             /* first store failure: the run stops */
	struct buf err;        /* scratch for messages */
};

/* Per-document context of the parse callbacks. */
struct doc {
	struct store_ingest *in;
	struct pipeline *pipe;
	const struct config_feed *cf;
	int items_new, items_updated, items_merged;
	int store_rc;          /* a store failure, as opposed to a parse one */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: cheap, well-spread jitter from (feed id, time). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int64_t ingest_next_fetch(int64_t now, int interval, int ok, int failures,
                          int64_t max_age, int64_t retry_after, uint64_t seed)
{
	int64_t ival = interval >= HF_INTERVAL_MIN_S ? interval : HF_INTERVAL_MIN_S;
	int64_t delay = ival, span;

	if (!ok) {
		for (int i = 1; i < failures && delay < HF_BACKOFF_MAX_S; i++)
			delay *= 2;
		if (delay > HF_BACKOFF_MAX_S)
			delay = HF_BACKOFF_MAX_S;
	}
	span = delay * HF_INGEST_JITTER_PCT / 100;
	if (span > 0)
		delay += (int64_t)(mix(seed) % (uint64_t)(2 * span + 1)) - span;
	if (!ok && delay > HF_BACKOFF_MAX_S)
		delay = HF_BACKOFF_MAX_S;
	/* RFC 9111 5.2.2.1: the document stays fresh for max-age; asking
	 * earlier only earns a 304.  Never later than the interval, though:
	 * the admin's interval is a promise to the readers. */
	if (ok && max_age > delay)
		delay = max_age < ival ? max_age : ival;
	if (retry_after > now + delay)
		return retry_after < now + HF_BACKOFF_MAX_S ? retry_after : now + HF_BACKOFF_MAX_S;
	return now + delay;
}

/* --- parse callbacks ------------------------------------------------------ */

static int doc_skip(void *ud, const char *key, uint64_t raw_hash)
{
	struct doc *d = ud;
	int rc = store_ingest_known(d->in, key, raw_hash);

	if (rc < 0)
		d->store_rc = rc;
	return rc;
}

static int doc_entry(void *ud, const struct feed_info *info, const struct feed_entry *e)
{
	struct doc *d = ud;
	int outcome = STORE_UNCHANGED, rc;

	(void)info;
	rc = pipeline_entry(d->pipe, d->in, d->cf, e, &outcome);
	if (rc) {
		d->store_rc = rc;
		return rc;
	}
	d->items_new += outcome == STORE_NEW;
	d->items_updated += outcome == STORE_UPDATED;
	d->items_merged += outcome == PIPELINE_MERGED;
	return HF_OK;
}

/* --- one completed transfer ----------------------------------------------- */

static void record_failure(struct run *R, struct job *j, const struct fetch_result *r,
                           const char *error, struct store_fetch_result *res)
{
	const char *name = j->state->name;
	int failures = j->state->failures + 1;
	int64_t retry = 0;
	int rc;

	res->error = error;
	res->etag = NULL;
	res->last_modified = NULL;
	res->moved_to = NULL;
	res->gone = r->code == HF_OK && r->status == 410;
	/* RFC 6585 4 (429) and RFC 9110 15.6.4 (503): Retry-After says when
	 * asking again is welcome. */
	if (r->code == HF_OK && (r->status == 429 || r->status == 503) &&
	    r->retry_after != FETCH_NOTIME)
		retry = r->retry_after;
	res->next_fetch = ingest_next_fetch(R->now, j->cf->interval, 0, failures, -1,
	                                    retry, (uint64_t)j->state->id ^ (uint64_t)R->now);
	res->retry_after = retry ? (retry < R->now + HF_BACKOFF_MAX_S ? retry : R->now + HF_BACKOFF_MAX_S) : 0;
	R->stats.failed++;
	if (res->gone) {
		R->stats.gone++;
		log_warn("feed %s: %s: 410 Gone; paused until its url in feeds.conf "
		         "changes (or 'helsefeed fetch %s')", name, r->url, name);
	} else {
		log_warn("feed %s: %s (failure %d in a row, next attempt in %lld s)",
		         name, error, failures, (long long)(res->next_fetch - R->now));
	}
	rc = store_record_fetch(R->st, name, res);
	if (rc)
		R->fatal = rc;
}

static void note_moved(struct run *R, struct job *j, const struct fetch_result *r)
{
	if (!r->moved_to)
		return;
	R->stats.moved++;
	/* The store fetches the new URL from now on; feeds.conf still names
	 * the old one, and only the admin can fix that. */
	log_warn("feed %s: %s moved permanently to %s; update feeds.conf: url = %s",
	         j->state->name, r->url, r->moved_to, r->moved_to);
}

static void ingest_body(struct run *R, struct job *j, const struct fetch_result *r,
                        struct store_fetch_result *res, int64_t t0)
{
	struct feed_parse_opts opts = {0};
	struct feed_info info = {0};
	struct doc d = {0};
	int rc;

	rc = store_ingest_begin(R->st, j->state->name, R->now, &d.in);
	if (rc) {
		R->fatal = rc;
		return;
	}
	d.cf = j->cf;
	d.pipe = R->pipe;
	opts.content_type = r->content_type;
	opts.base_url = r->final_url;
	opts.now = R->now;
	opts.skip = doc_skip;
	opts.on_entry = doc_entry;
	opts.ud = &d;
	buf_clear(&R->err);
	rc = feed_parse(r->body, r->body_len, &opts, &info, &R->err);
	if (rc || d.store_rc) {
		store_ingest_abort(d.in);
		if (d.store_rc) {
			R->fatal = d.store_rc;
		} else {
			struct buf msg = BUF_INIT;
			/* The old validators stay: the next attempt must fetch
			 * the whole document again, not get a 304 for it. */
			if (buf_printf(&msg, "%s: %s", r->final_url,
			               R->err.len ? buf_str(&R->err) : hf_strerror(rc)))
				R->fatal = HF_ENOMEM;
			else
				record_failure(R, j, r, buf_str(&msg), res);
			buf_free(&msg);
		}
		goto out;
	}
	res->etag = r->etag;
	res->last_modified = r->last_modified;
	res->moved_to = r->moved_to;
	res->next_fetch = ingest_next_fetch(R->now, j->cf->interval, 1, 0, r->max_age, 0,
	                                    (uint64_t)j->state->id ^ (uint64_t)R->now);
	rc = store_ingest_commit(d.in, res);
	if (rc) {
		R->fatal = rc;
		goto out;
	}
	R->stats.ok++;
	R->stats.items_new += d.items_new;
	R->stats.items_updated += d.items_updated;
	R->stats.items_merged += d.items_merged;
	note_moved(R, j, r);
	log_info("feed %s: %ld, %d new, %d updated, %d merged, %zu bytes, %lld ms%s",
	         j->state->name, r->status, d.items_new, d.items_updated, d.items_merged,
	         r->body_len,
	         (long long)(r->duration_ms + mono_ms() - t0),
	         info.recovered ? " (malformed XML recovered)" : "");
out:
	feed_info_clear(&info);
}

static void on_done(void *ctx, const struct fetch_result *r)
{
	struct run *R = ctx;
	struct job *j = r->ud;
	struct store_fetch_result res = {0};
	int64_t t0 = mono_ms();
	int rc;

	if (R->fatal)
		return;
	R->stats.feeds++;
	R->stats.bytes += (int64_t)r->body_len;
	res.started = R->now;
	res.duration_ms = r->duration_ms;
	res.http_status = (int)r->status;
	res.bytes = (int64_t)r->body_len;
	if (r->code == HF_OK && r->status == 304) {
		/* RFC 9110 15.4.5: nothing changed; a 304 may carry refreshed
		 * validators, NULL keeps the stored ones. */
		res.not_modified = 1;
		res.etag = r->etag;
		res.last_modified = r->last_modified;
		res.moved_to = r->moved_to;
		res.next_fetch = ingest_next_fetch(R->now, j->cf->interval, 1, 0, r->max_age, 0,
		                                   (uint64_t)j->state->id ^ (uint64_t)R->now);
		rc = store_record_fetch(R->st, j->state->name, &res);
		if (rc) {
			R->fatal = rc;
			return;
		}
		R->stats.ok++;
		R->stats.not_modified++;
		note_moved(R, j, r);
		log_info("feed %s: 304 not modified, %lld ms", j->state->name,
		         (long long)r->duration_ms);
	} else if (r->code == HF_OK && r->status >= 200 && r->status < 300) {
		ingest_body(R, j, r, &res, t0);
	} else {
		record_failure(R, j, r, r->error ? r->error : hf_strerror(r->code), &res);
	}
}

/* --- the run ------------------------------------------------------------- */

static int run_jobs(struct run *R, struct job *jobs, size_t njobs)
{
	struct fetch_engine *e = NULL;
	int rc, n;

	rc = fetch_engine_new(R->cfg, on_done, R, &e);
	if (rc)
		goto out;
	for (size_t i = 0; i < njobs; i++) {
		struct fetch_request q = {0};

		q.url = jobs[i].state->url;
		q.etag = jobs[i].state->etag;
		q.last_modified = jobs[i].state->last_modified;
		q.user_agent = jobs[i].cf->user_agent;
		q.ud = &jobs[i];
		rc = fetch_engine_add(e, &q);
		if (rc)
			goto out;
	}
	while ((n = fetch_engine_perform(e, 1000, -1)) > 0 && !R->fatal)
		;
	rc = n < 0 ? n : R->fatal;
out:
	fetch_engine_free(e);
	return rc;
}

static int run(const struct config *cfg, struct store *st, int all,
               const char *const *names, size_t nnames, int64_t now,
               struct ingest_stats *out)
{
	struct run R = {0};
	struct store_feed_state *states = NULL;
	struct job *jobs = NULL;
	size_t nstates = 0, njobs = 0;
	int64_t t0 = mono_ms();
	int rc;

	R.cfg = cfg;
	R.st = st;
	R.now = now;
	for (size_t i = 0; i < nnames; i++) {
		if (!config_feed_find(cfg, names[i])) {
			log_error("%s: no feed named '%s'", cfg->path, names[i]);
			rc = HF_EINVAL;
			goto out;
		}
	}
	rc = store_sync_feeds(st, cfg);
	if (rc)
		goto out;
	rc = store_feed_states(st, &states, &nstates);
	if (rc)
		goto out;
	jobs = calloc(nstates ? nstates : 1, sizeof *jobs);
	if (!jobs) {
		rc = HF_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nstates; i++) {
		struct store_feed_state *s = &states[i];
		const struct config_feed *cf = config_feed_find(cfg, s->name);
		int take;

		if (!cf)
			continue;
		if (nnames) {
			take = 0;
			for (size_t k = 0; k < nnames && !take; k++)
				take = strcmp(names[k], s->name) == 0;
		} else {
			take = !s->gone && (all || s->next_fetch <= now);
		}
		if (take) {
			jobs[njobs].state = s;
			jobs[njobs].cf = cf;
			njobs++;
		}
	}
	if (njobs) {
		struct buf perr = BUF_INIT;

		rc = pipeline_new(cfg, st, &R.pipe, &perr);
		if (rc)
			log_error("%s", perr.len ? buf_str(&perr) : hf_strerror(rc));
		buf_free(&perr);
		if (rc)
			goto out;
	}
	rc = run_jobs(&R, jobs, njobs);
out:
	pipeline_free(R.pipe);
	R.stats.elapsed_ms = mono_ms() - t0;
	if (rc == HF_OK && out)
		*out = R.stats;
	free(jobs);
	store_feed_states_free(states, nstates);
	buf_free(&R.err);
	return rc;
}

int ingest_run(const struct config *cfg, struct store *st, int all, int64_t now,
               struct ingest_stats *out)
{
	return run(cfg, st, all, NULL, 0, now, out);
}

int ingest_run_named(const struct config *cfg, struct store *st,
                     const char *const *names, size_t nnames, int64_t now,
                     struct ingest_stats *out)
{
	if (nnames == 0)
		return HF_EINVAL;
	return run(cfg, st, 1, names, nnames, now, out);
}
