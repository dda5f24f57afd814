/* ingest.c - fetch -> parse -> store, each feed as soon as its transfer
 * completes; see ingest.h. */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/util.h"
#include "helsefeed/feed.h"
#include "helsefeed/fetch.h"
#include "helsefeed/ingest.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"

/* A configured feed, in the session's table: at most one transfer each. */
struct job {
	const struct config_feed *cf;
	int64_t id;            /* the feed's row in the store */
	int64_t started;       /* the `now` it was started with */
	int failures;          /* consecutive failures before this attempt */
	int busy;              /* queued or running */
	int warned_guid;       /* a repeated guid was logged (unique_keys) */
};

struct ingest {
	const struct config *cfg;
	struct store *st;
	struct pipeline *pipe; /* dedup, fingerprint, classify (ingest.h) */
	struct fetch_engine *e;
	struct job *jobs;      /* one per cfg->feeds[i], same order */
	const struct config_feed **by_name;  /* cfg->feeds sorted, for bsearch */
	int64_t next_due;      /* see ingest_next_due */
	int64_t since_ms;      /* monotonic start of the stats */
	struct ingest_stats stats;
	unsigned long completed;       /* transfers completed, ever */
	unsigned long store_failures;  /* ever */
	int err;               /* first store failure since ingest_step returned */
	struct buf msg;        /* scratch for messages */
	struct parse *parses;  /* documents being parsed or waiting, in order */
	int nparsing;          /* of which have a child (HF_PARSE_MAX_JOBS) */
};

/*
 * A document whose transfer completed, parsed in a child process (feed.h)
 * so that the loop never waits on it: what the transfer said is copied
 * (a fetch_result is borrowed for the call only), and the body too while
 * the document waits for a free child.
 */
struct parse {
	struct parse *next;
	struct job *j;
	struct feed_job *fj;   /* NULL while waiting */
	struct buf body;       /* while waiting */
	struct fetch_result r; /* strings below, body none */
	char *url, *final_url, *etag, *last_modified, *moved_to, *content_type;
	struct store_fetch_result res;
	int64_t t0;            /* monotonic, when the transfer completed */
};

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

/* --- one completed transfer ----------------------------------------------- */

static void store_failed(struct ingest *I, int rc)
{
	if (!I->err)
		I->err = rc;
	I->store_failures++;
}

/* The schedule's seed: feeds of one host drift apart, and one feed's
 * attempts too. */
static uint64_t seed_of(const struct job *j)
{
	return (uint64_t)j->id ^ (uint64_t)j->started;
}

static void record_failure(struct ingest *I, struct job *j, const struct fetch_result *r,
                           const char *error, struct store_fetch_result *res)
{
	const char *name = j->cf->name;
	int64_t now = j->started;
	int failures = j->failures + 1;
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
	res->next_fetch = ingest_next_fetch(now, j->cf->interval, 0, failures, -1, retry,
	                                    seed_of(j));
	res->retry_after = retry ? (retry < now + HF_BACKOFF_MAX_S ? retry : now + HF_BACKOFF_MAX_S) : 0;
	rc = store_record_fetch(I->st, name, res);
	if (rc) {
		store_failed(I, rc);
		return;
	}
	j->failures = failures;
	I->stats.failed++;
	if (res->gone) {
		I->stats.gone++;
		log_warn("feed %s: %s: 410 Gone; paused until its url in feeds.conf "
		         "changes (or 'helsefeed fetch %s')", name, r->url, name);
	} else {
		log_warn("feed %s: %s (failure %d in a row, next attempt in %lld s)",
		         name, error, failures, (long long)(res->next_fetch - now));
	}
}

/* After a success was committed. */
static void count_ok(struct ingest *I, struct job *j, const struct fetch_result *r)
{
	I->stats.ok++;
	if (j->failures > 0)
		I->stats.recovered++;
	j->failures = 0;
	if (!r->moved_to)
		return;
	I->stats.moved++;
	/* The store fetches the new URL from now on; feeds.conf still names
	 * the old one, and only the admin can fix that. */
	log_warn("feed %s: %s moved permanently to %s; update feeds.conf: url = %s",
	         j->cf->name, r->url, r->moved_to, r->moved_to);
}

/* Entry order by key, then by position. */
static const struct feed_doc *sort_doc;

static int by_key(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_doc->entries[x].key, sort_doc->entries[y].key);

	return c ? c : (x > y) - (x < y);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * A feed that gives one guid to two entries would have them overwrite one
 * item in turn, an "update" on every fetch (the key is the guid, feed.h).
 * Such entries are keyed by guid and link instead, which tells them apart
 * whatever their order; an entry whose guid and link both repeat an
 * earlier one's is left out.  keys[i]: entry i's key, NULL to leave it
 * out (strings in *tmp or the doc's); *rekeyed and *dropped count them.
 */
static int unique_keys(const struct feed_doc *doc, const char **keys, struct buf *tmp,
                       size_t *rekeyed, size_t *dropped)
{
	size_t n = doc->nentries, *idx, *off, i, j, k;
	int rc = HF_OK;

	*rekeyed = *dropped = 0;
	for (i = 0; i < n; i++)
		keys[i] = doc->entries[i].key;
	if (n < 2)
		return HF_OK;
	if (!(idx = malloc(n * sizeof *idx)) || !(off = malloc(n * sizeof *off))) {
		free(idx);
		return HF_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		idx[i] = i;
		off[i] = SIZE_MAX;
	}
	sort_doc = doc;
	qsort(idx, n, sizeof *idx, by_key);
	for (i = 0; i < n && !rc; i = j) {
		for (j = i + 1; j < n && !strcmp(doc->entries[idx[j]].key,
		                                 doc->entries[idx[i]].key); j++)
			;
		if (j - i < 2)
			continue;
		for (k = i; k < j && !rc; k++) {
			const struct feed_entry *e = &doc->entries[idx[k]];
			size_t m;

			/* Same guid and link as one before it: the same entry. */
			for (m = i; m < k && !same_str(doc->entries[idx[m]].link, e->link); m++)
				;
			if (m < k) {
				keys[idx[k]] = NULL;
				(*dropped)++;
				continue;
			}
			off[idx[k]] = tmp->len;
			rc = buf_puts(tmp, e->key) || buf_putc(tmp, ' ') ||
			     buf_puts(tmp, e->link ? e->link : "") || buf_putc(tmp, '\0')
			     ? HF_ENOMEM : HF_OK;
			(*rekeyed)++;
		}
	}
	for (i = 0; i < n && !rc; i++)
		if (off[i] != SIZE_MAX)
			keys[i] = tmp->data + off[i];
	free(idx);
	free(off);
	return rc;
}

/* Store the entries of a parsed document in one transaction, the
 * attempt and its validators with them. */
static void store_doc(struct ingest *I, struct parse *p, const struct feed_doc *doc)
{
	struct job *j = p->j;
	const struct fetch_result *r = &p->r;
	struct store_fetch_result *res = &p->res;
	struct store_ingest *in = NULL;
	size_t counts[PIPELINE_OUTCOMES] = {0}, unsafe = 0, rekeyed, dropped;
	/* Not j->started: a digest window may have closed since (ingest.h). */
	int64_t now = (int64_t)time(NULL);
	const char **keys = calloc(doc->nentries + 1, sizeof *keys);
	struct buf kbuf = BUF_INIT;
	int rc;

	if (!keys || (rc = unique_keys(doc, keys, &kbuf, &rekeyed, &dropped))) {
		store_failed(I, HF_ENOMEM);
		goto done;
	}
	if ((rekeyed || dropped) && !j->warned_guid) {
		log_warn("feed %s: %zu entries share a guid with another; they are told apart"
		         " by their links%s", j->cf->name, rekeyed + dropped,
		         dropped ? ", and those with the same link too are left out" : "");
		j->warned_guid = 1;
	}
	if ((rc = store_ingest_begin(I->st, j->cf->name, now, &in))) {
		store_failed(I, rc);
		goto done;
	}
	for (size_t i = 0; i < doc->nentries; i++) {
		struct feed_entry ent = doc->entries[i];
		const struct feed_entry *e = &ent;
		int oc;

		if (!keys[i])
			continue;
		ent.key = keys[i];

		if (e->flags & FEED_ENTRY_UNSAFE_URL)
			unsafe++;
		/* An entry the feed carried unchanged is left alone. */
		rc = store_ingest_known(in, e->key, e->raw_hash);
		if (rc == 1)
			continue;
		if (rc < 0 || (rc = pipeline_entry(I->pipe, in, j->cf, e, &oc))) {
			store_ingest_abort(in);
			store_failed(I, rc);
			goto done;
		}
		counts[oc]++;
	}
	res->etag = r->etag;
	res->last_modified = r->last_modified;
	res->moved_to = r->moved_to;
	res->next_fetch = ingest_next_fetch(j->started, j->cf->interval, 1, 0, r->max_age, 0,
	                                    seed_of(j));
	if ((rc = store_ingest_commit(in, res))) {
		store_failed(I, rc);
		goto done;
	}
	I->stats.items_new += (int)counts[STORE_NEW];
	I->stats.items_updated += (int)counts[STORE_UPDATED];
	I->stats.items_merged += (int)counts[PIPELINE_MERGED];
	if (unsafe)
		log_warn("feed %s: %zu links of a scheme other than http(s) dropped "
		         "(javascript:, data:, file: ...)", j->cf->name, unsafe);
	log_info("feed %s: %ld, %zu new, %zu updated, %zu merged, %zu bytes, %lld ms%s",
	         j->cf->name, r->status, counts[STORE_NEW], counts[STORE_UPDATED],
	         counts[PIPELINE_MERGED], r->body_len,
	         (long long)(r->duration_ms + mono_ms() - p->t0),
	         doc->info.recovered ? " (malformed XML recovered)" : "");
	count_ok(I, j, r);
done:
	free(keys);
	buf_free(&kbuf);
}

static void parse_free(struct parse *p)
{
	if (!p)
		return;
	feed_job_free(p->fj);
	buf_free(&p->body);
	free(p->url);
	free(p->final_url);
	free(p->etag);
	free(p->last_modified);
	free(p->moved_to);
	free(p->content_type);
	free(p);
}

static int dup_or_null(const char *s, char **out)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? HF_ENOMEM : HF_OK;
}

/* Start the child of `p`, from `data` (the transfer's body or p's own
 * copy).  A failure to start it is the feed's failure, retried later. */
static int parse_start(struct ingest *I, struct parse *p, const char *data, size_t len)
{
	struct feed_job_opts o = {0};
	int rc;

	o.content_type = p->content_type;
	o.base_url = p->final_url;
	o.now = (int64_t)time(NULL);
	o.cpu_s = HF_PARSE_CPU_S;
	o.wall_s = HF_PARSE_WALL_S;
	o.mem_bytes = HF_PARSE_MEM;
	rc = feed_job_start(data, len, &o, &p->fj);
	if (rc)
		return rc;
	I->nparsing++;
	buf_free(&p->body);
	return HF_OK;
}

/* The transfer of a 2xx document completed: hand it to a child, or keep
 * it until one is free. */
static void parse_queue(struct ingest *I, struct job *j, const struct fetch_result *r,
                        const struct store_fetch_result *res, int64_t t0)
{
	struct parse *p = calloc(1, sizeof *p), **tail = &I->parses;
	int rc = HF_ENOMEM;

	if (!p)
		goto fail;
	p->j = j;
	p->res = *res;
	p->t0 = t0;
	p->r = *r;
	p->r.body = "";
	if ((rc = dup_or_null(r->url, &p->url)) ||
	    (rc = dup_or_null(r->final_url, &p->final_url)) ||
	    (rc = dup_or_null(r->etag, &p->etag)) ||
	    (rc = dup_or_null(r->last_modified, &p->last_modified)) ||
	    (rc = dup_or_null(r->moved_to, &p->moved_to)) ||
	    (rc = dup_or_null(r->content_type, &p->content_type)))
		goto fail;
	p->r.url = p->url;
	p->r.final_url = p->final_url;
	p->r.etag = p->etag;
	p->r.last_modified = p->last_modified;
	p->r.moved_to = p->moved_to;
	p->r.content_type = p->content_type;
	if (I->nparsing < HF_PARSE_MAX_JOBS)
		rc = parse_start(I, p, r->body, r->body_len);
	else
		rc = buf_append(&p->body, r->body, r->body_len);
	if (rc)
		goto fail;
	j->busy = 1;  /* until it is stored */
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	return;
fail:
	parse_free(p);
	if (rc == HF_ENOMEM) {
		store_failed(I, rc);
	} else {
		struct store_fetch_result fr = *res;

		record_failure(I, j, r, "cannot start the parser process", &fr);
	}
}

/* A child finished: store what it gave, or record why not. */
static void parse_done(struct ingest *I, struct parse *p)
{
	const struct feed_doc *doc = NULL;
	const char *why = NULL;
	unsigned long failures = I->store_failures;
	int rc = feed_job_result(p->fj, &doc, &why);

	I->nparsing--;
	p->j->busy = 0;
	if (rc == HF_OK) {
		store_doc(I, p, doc);
	} else {
		struct buf msg = BUF_INIT;

		/* The old validators stay: the next attempt must fetch the
		 * whole document again, not get a 304 for it. */
		if (buf_printf(&msg, "%s: %s", p->final_url, why ? why : hf_strerror(rc)))
			store_failed(I, HF_ENOMEM);
		else
			record_failure(I, p->j, &p->r, buf_str(&msg), &p->res);
		buf_free(&msg);
	}
	I->completed++;
	if (I->store_failures != failures) {
		if (p->j->started < I->next_due)
			I->next_due = p->j->started;
	} else if (!p->res.gone && p->res.next_fetch < I->next_due) {
		I->next_due = p->res.next_fetch;
	}
}

/* Read from every child without blocking; store what finished; start
 * the waiting documents as children become free. */
static void parses_poll(struct ingest *I)
{
	struct parse **pp = &I->parses;

	while (*pp) {
		struct parse *p = *pp;

		if (p->fj && feed_job_poll(p->fj)) {
			parse_done(I, p);
			*pp = p->next;
			parse_free(p);
			continue;
		}
		pp = &p->next;
	}
	for (struct parse *p = I->parses; p && I->nparsing < HF_PARSE_MAX_JOBS; p = p->next) {
		if (p->fj)
			continue;
		if (parse_start(I, p, p->body.data ? p->body.data : "", p->body.len)) {
			/* Try again at the next turn; the body stays. */
			log_warn("feed %s: cannot start the parser process, will try again",
			         p->j->cf->name);
			break;
		}
	}
}

static size_t nparses(const struct ingest *I)
{
	size_t n = 0;

	for (const struct parse *p = I->parses; p; p = p->next)
		n++;
	return n;
}

static void on_done(void *ctx, const struct fetch_result *r)
{
	struct ingest *I = ctx;
	struct job *j = r->ud;
	struct store_fetch_result res = {0};
	int64_t t0 = mono_ms();
	unsigned long failures = I->store_failures;
	int rc;

	j->busy = 0;
	I->completed++;
	I->stats.feeds++;
	I->stats.bytes += (int64_t)r->body_len;
	res.started = j->started;
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
		res.next_fetch = ingest_next_fetch(j->started, j->cf->interval, 1, 0, r->max_age,
		                                   0, seed_of(j));
		rc = store_record_fetch(I->st, j->cf->name, &res);
		if (rc) {
			store_failed(I, rc);
		} else {
			I->stats.not_modified++;
			log_info("feed %s: 304 not modified, %lld ms", j->cf->name,
			         (long long)r->duration_ms);
			count_ok(I, j, r);
		}
	} else if (r->code == HF_OK && r->status >= 200 && r->status < 300) {
		/* Stored once parsed (parse_done), which keeps the schedule. */
		parse_queue(I, j, r, &res, t0);
		if (j->busy)
			return;
	} else {
		record_failure(I, j, r, r->error ? r->error : hf_strerror(r->code), &res);
	}
	if (I->store_failures != failures) {
		/* Not recorded: the feed keeps its schedule and is due again. */
		if (j->started < I->next_due)
			I->next_due = j->started;
	} else if (!res.gone && res.next_fetch < I->next_due) {
		I->next_due = res.next_fetch;
	}
}

/* --- the session ---------------------------------------------------------- */

static int cmp_feed(const void *a, const void *b)
{
	const struct config_feed *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int cmp_name(const void *key, const void *elem)
{
	const struct config_feed *const *f = elem;

	return strcmp(key, (*f)->name);
}

static struct job *job_of(struct ingest *I, const char *name)
{
	const struct config_feed **f = bsearch(name, I->by_name, I->cfg->nfeeds,
	                                       sizeof *I->by_name, cmp_name);

	return f ? &I->jobs[*f - I->cfg->feeds] : NULL;
}

int ingest_open(const struct config *cfg, struct store *st, struct ingest **out,
                struct buf *err)
{
	struct ingest *I = NULL;
	struct buf perr = BUF_INIT;
	size_t n = cfg->nfeeds;
	int rc = HF_ENOMEM;

	if (!(I = calloc(1, sizeof *I)))
		goto out;
	I->cfg = cfg;
	I->st = st;
	if (!(I->jobs = calloc(n ? n : 1, sizeof *I->jobs)) ||
	    !(I->by_name = calloc(n ? n : 1, sizeof *I->by_name)))
		goto out;
	I->next_due = INT64_MIN;
	I->since_ms = mono_ms();
	for (size_t i = 0; i < n; i++) {
		I->jobs[i].cf = &cfg->feeds[i];
		I->by_name[i] = &cfg->feeds[i];
	}
	qsort(I->by_name, n, sizeof *I->by_name, cmp_feed);
	rc = pipeline_new(cfg, st, &I->pipe, err ? err : &perr);
	if (rc) {
		if (!err)
			log_error("%s", perr.len ? buf_str(&perr) : hf_strerror(rc));
		goto out;
	}
	if ((rc = fetch_engine_new(cfg, on_done, I, &I->e)) ||
	    (rc = store_sync_feeds(st, cfg)))
		goto out;
	*out = I;
	I = NULL;
out:
	ingest_close(I);
	buf_free(&perr);
	return rc;
}

void ingest_close(struct ingest *I)
{
	if (!I)
		return;
	for (struct parse *p = I->parses; p; p = p->next)
		p->j->busy = 0;
	for (size_t i = 0; I->jobs && i < I->cfg->nfeeds; i++)
		if (I->jobs[i].busy)
			log_info("feed %s: transfer aborted, not recorded", I->cfg->feeds[i].name);
	while (I->parses) {
		struct parse *p = I->parses;

		I->parses = p->next;
		log_info("feed %s: parse aborted, not recorded", p->j->cf->name);
		parse_free(p);
	}
	fetch_engine_free(I->e);
	pipeline_free(I->pipe);
	free(I->jobs);
	free(I->by_name);
	buf_free(&I->msg);
	free(I);
}

static int queue(struct ingest *I, struct job *j, const struct store_feed_state *s,
                 int64_t now)
{
	struct fetch_request q = {0};
	int rc;

	q.url = s->url;
	q.etag = s->etag;
	q.last_modified = s->last_modified;
	q.user_agent = j->cf->user_agent;
	q.ud = j;
	rc = fetch_engine_add(I->e, &q);
	if (rc)
		return rc;
	j->id = s->id;
	j->started = now;
	j->failures = s->failures;
	j->busy = 1;
	return HF_OK;
}

/* When `s` is due (ingest.h, Schedule). */
static int64_t due_at(const struct store_feed_state *s, const struct config_feed *cf)
{
	int64_t ival = cf->interval >= HF_INTERVAL_MIN_S ? cf->interval : HF_INTERVAL_MIN_S;
	int64_t cut = s->last_attempt + ival;

	if (!s->failures && s->last_attempt &&
	    s->next_fetch > cut + ival * HF_INGEST_JITTER_PCT / 100)
		return cut;
	return s->next_fetch;
}

/* Start the feeds named in `names`, or else the due ones (`all`: every
 * one), that are not in flight.  Returns how many, or an error. */
static int start(struct ingest *I, int64_t now, int all, const char *const *names,
                 size_t nnames)
{
	struct store_feed_state *v = NULL;
	size_t n = 0;
	int64_t next = INT64_MAX;
	int rc, queued = 0;

	rc = store_feed_states(I->st, &v, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct job *j = job_of(I, v[i].name);
		int64_t due;
		int take;

		if (!j || j->busy)
			continue;
		due = due_at(&v[i], j->cf);
		if (nnames) {
			take = 0;
			for (size_t k = 0; k < nnames && !take; k++)
				take = strcmp(names[k], v[i].name) == 0;
		} else {
			int waits = v[i].retry_after > now && !(all & INGEST_FORCE);

			take = !v[i].gone && (((all & INGEST_ALL) && !waits) || due <= now);
			if (!take && !v[i].gone && (all & INGEST_ALL) && waits) {
				char at[21];
				norm_date_iso(v[i].retry_after, at);
				log_info("%s: the server asked for no fetch before %s (Retry-After); "
				         "skipped, --force fetches it", v[i].name, at);
			}
		}
		if (take) {
			if ((rc = queue(I, j, &v[i], now)))
				goto out;
			queued++;
		} else if (!v[i].gone && due < next) {
			next = due;
		}
	}
	I->next_due = next;
	rc = queued;
out:
	store_feed_states_free(v, n);
	return rc;
}

int ingest_start(struct ingest *I, int64_t now, int all)
{
	return start(I, now, all, NULL, 0);
}

int ingest_step(struct ingest *I, int timeout_ms, int wake_fd)
{
	unsigned long before = I->completed;
	int fds[1 + HF_PARSE_MAX_JOBS];
	size_t nfds = 0;
	int64_t now, wait = timeout_ms;
	int n, rc;

	n = fetch_engine_perform(I->e, 0, NULL, 0);
	if (n < 0)
		return n;
	parses_poll(I);
	if (I->completed == before && timeout_ms > 0) {
		/* Wait for the transfers, the children's pipes and wake_fd, no
		 * longer than the first child's deadline. */
		if (wake_fd >= 0)
			fds[nfds++] = wake_fd;
		now = mono_ms();
		for (struct parse *p = I->parses; p; p = p->next) {
			if (!p->fj || feed_job_fd(p->fj) < 0 || nfds == sizeof fds / sizeof *fds)
				continue;
			fds[nfds++] = feed_job_fd(p->fj);
			if (feed_job_deadline(p->fj) - now < wait)
				wait = feed_job_deadline(p->fj) - now > 0 ? feed_job_deadline(p->fj) - now : 0;
		}
		if (fetch_engine_pending(I->e)) {
			n = fetch_engine_perform(I->e, (int)wait, fds, nfds);
			if (n < 0)
				return n;
		} else if (wait > 0) {
			struct pollfd pfd[1 + HF_PARSE_MAX_JOBS];

			for (size_t k = 0; k < nfds; k++)
				pfd[k] = (struct pollfd){fds[k], POLLIN, 0};
			(void)poll(pfd, nfds, (int)wait);
		}
		parses_poll(I);
	}
	rc = I->err;
	I->err = HF_OK;
	return rc ? rc : (int)ingest_in_flight(I);
}

size_t ingest_in_flight(const struct ingest *I)
{
	return fetch_engine_pending(I->e) + nparses(I);
}

int64_t ingest_next_due(const struct ingest *I)
{
	return I->next_due;
}

void ingest_take_stats(struct ingest *I, struct ingest_stats *out)
{
	int64_t t = mono_ms();

	*out = I->stats;
	out->elapsed_ms = t - I->since_ms;
	memset(&I->stats, 0, sizeof I->stats);
	I->since_ms = t;
}

/* --- one run: the `fetch` command ---------------------------------------- */

static int run(const struct config *cfg, struct store *st, int all,
               const char *const *names, size_t nnames, int64_t now,
               struct ingest_stats *out)
{
	struct ingest *I = NULL;
	int rc;

	for (size_t i = 0; i < nnames; i++) {
		if (!config_feed_find(cfg, names[i])) {
			log_error("%s: no feed named '%s'", cfg->path, names[i]);
			return HF_EINVAL;
		}
	}
	rc = ingest_open(cfg, st, &I, NULL);
	if (rc)
		return rc;
	rc = start(I, now, all, names, nnames);
	while (rc >= 0 && ingest_in_flight(I) > 0)
		rc = ingest_step(I, 1000, -1);
	if (rc >= 0) {
		rc = HF_OK;
		if (out)
			ingest_take_stats(I, out);
	}
	ingest_close(I);
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
