/* prep.c - title_norm, signature and keyword rules of the next entries,
 * on a helper thread; see prep.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helsefeed/limits.h"
#include "helsefeed/norm.h"
#include "prep.h"

/*
 * A slot goes EMPTY -> QUEUED (the caller copied an entry in) -> TAKEN
 * (by whichever thread wins the compare-and-swap) -> READY -> EMPTY (the
 * caller popped it).  The helper walks the slots in order of pushing; the
 * caller takes a QUEUED slot itself rather than wait for the helper, and
 * waits only for a slot the helper is working on.  Whoever takes a slot
 * makes it, so a slot is made once; the helper may come to a slot after
 * the caller refilled it, and then makes the new entry, which is as good.
 */
enum { EMPTY, QUEUED, TAKEN, READY };

struct prep {
	const struct dedup *dd;
	const struct classify *cls;
	size_t nhits;
	struct prep_slot slots[PREP_SLOTS];
	atomic_int state[PREP_SLOTS];
	size_t pushed, tail;        /* the caller's */
	/* Under mu: */
	size_t shown;               /* pushed as far as the helper knows */
	int idle, waiting, stop;
	pthread_mutex_t mu;
	pthread_cond_t work, ready;
	pthread_t tid;
	int helper;                 /* running */
};

/* The preparation of one slot: what pipeline.c's sign and categorise
 * would compute. */
static void make(const struct prep *q, struct prep_slot *s)
{
	struct classify_input ci;
	const char *link = s->e.link;

	/* As store_ingest_canon: http(s) links only. */
	buf_clear(&s->canon);
	s->canon_made = link && (strncasecmp(link, "http://", 7) == 0 ||
	                         strncasecmp(link, "https://", 8) == 0);
	s->canon_none = 0;
	if (s->canon_made) {
		s->rc = norm_url_canon(link, &s->canon);
		if (s->rc == HF_EINVAL) {
			s->canon_none = 1;
		} else if (s->rc) {
			s->canon_made = 0;  /* nothing half made is handed on */
			return;
		}
	}
	buf_clear(&s->tn);
	if ((s->rc = dedup_title_norm(q->dd, s->e.title, &s->tn)) ||
	    (s->rc = buf_reserve(&s->tn, 1)))
		return;
	s->tn.data[s->tn.len] = '\0';
	dedup_sig_make(&s->sig, s->tn.data, s->e.summary);
	ci.title = s->e.title;
	ci.summary = s->e.summary;
	ci.content = s->e.content;
	ci.categories = s->e.categories;
	ci.ncategories = s->e.ncategories;
	memset(s->hits, 0, q->nhits);
	s->rc = classify_item(q->cls, &ci, s->hits, NULL);
}

/* Take slot i if it is QUEUED: 1 when taken. */
static int take(struct prep *q, size_t i)
{
	int expect = QUEUED;

	return atomic_compare_exchange_strong_explicit(&q->state[i], &expect, TAKEN,
	                                               memory_order_acquire,
	                                               memory_order_relaxed);
}

static void *helper(void *arg)
{
	struct prep *q = arg;
	size_t next = 0, i;

	pthread_mutex_lock(&q->mu);
	while (!q->stop) {
		if (next == q->shown) {
			q->idle = 1;
			pthread_cond_wait(&q->work, &q->mu);
			q->idle = 0;
			continue;
		}
		i = next++ % PREP_SLOTS;
		pthread_mutex_unlock(&q->mu);
		if (take(q, i)) {
			make(q, &q->slots[i]);
			atomic_store_explicit(&q->state[i], READY, memory_order_release);
			pthread_mutex_lock(&q->mu);
			if (q->waiting)
				pthread_cond_signal(&q->ready);
		} else {
			pthread_mutex_lock(&q->mu);
		}
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int prep_new(const struct dedup *dd, const struct classify *cls, int helper_on,
             struct prep **out)
{
	struct prep *q = calloc(1, sizeof *q);
	size_t i;

	if (!q)
		return HF_ENOMEM;
	q->dd = dd;
	q->cls = cls;
	q->nhits = classify_count(cls);
	for (i = 0; i < PREP_SLOTS; i++)
		atomic_init(&q->state[i], EMPTY);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->ready, NULL);
	for (i = 0; i < PREP_SLOTS; i++) {
		struct prep_slot *s = &q->slots[i];

		if (!(s->hits = calloc(q->nhits + 1, 1)) ||
		    !(s->cats = calloc(HF_MAX_CATEGORIES, sizeof *s->cats)) ||
		    !(s->encs = calloc(HF_MAX_ENCLOSURES, sizeof *s->encs))) {
			prep_free(q);
			return HF_ENOMEM;
		}
	}
	/* It inherits the signal mask: the daemon blocks its signals in
	 * every thread and reads them from a signalfd (daemon.c). */
	if (helper_on)
		q->helper = pthread_create(&q->tid, NULL, helper, q) == 0;
	*out = q;
	return HF_OK;
}

void prep_free(struct prep *q)
{
	if (!q)
		return;
	if (q->helper) {
		pthread_mutex_lock(&q->mu);
		q->stop = 1;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->tid, NULL);
	}
	pthread_cond_destroy(&q->ready);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	for (size_t i = 0; i < PREP_SLOTS; i++) {
		struct prep_slot *s = &q->slots[i];

		buf_free(&s->text);
		buf_free(&s->tn);
		buf_free(&s->canon);
		free(s->cats);
		free(s->encs);
		free(s->hits);
	}
	free(q);
}

size_t prep_queued(const struct prep *q)
{
	return q->pushed - q->tail;
}

/* Bytes of a string copy, NUL included; 0 for NULL. */
static size_t size_of(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *put(struct buf *b, const char *s)
{
	char *d;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = b->data + b->len;
	memcpy(d, s, n);
	b->len += n;
	return d;
}

/* A deep copy of e into s, its strings in s->text (one reservation, so
 * that no pointer moves). */
static int copy_entry(struct prep_slot *s, const struct feed_entry *e)
{
	size_t need = 0, i;
	int rc;

	if (e->ncategories > HF_MAX_CATEGORIES || e->nenclosures > HF_MAX_ENCLOSURES)
		return HF_EINVAL;
	need += size_of(e->key) + size_of(e->id) + size_of(e->title) +
	        size_of(e->link) + size_of(e->author) + size_of(e->summary) +
	        size_of(e->content);
	for (i = 0; i < e->ncategories; i++)
		need += size_of(e->categories[i]);
	for (i = 0; i < e->nenclosures; i++)
		need += size_of(e->enclosures[i].url) +
		        size_of(e->enclosures[i].type);
	buf_clear(&s->text);
	if ((rc = buf_reserve(&s->text, need)))
		return rc;
	s->e = *e;
	s->e.key = put(&s->text, e->key);
	s->e.id = put(&s->text, e->id);
	s->e.title = put(&s->text, e->title);
	s->e.link = put(&s->text, e->link);
	s->e.author = put(&s->text, e->author);
	s->e.summary = put(&s->text, e->summary);
	s->e.content = put(&s->text, e->content);
	for (i = 0; i < e->ncategories; i++)
		s->cats[i] = put(&s->text, e->categories[i]);
	s->e.categories = e->ncategories ? s->cats : NULL;
	for (i = 0; i < e->nenclosures; i++) {
		s->encs[i] = e->enclosures[i];
		s->encs[i].url = (char *)put(&s->text, e->enclosures[i].url);
		s->encs[i].type = (char *)put(&s->text, e->enclosures[i].type);
	}
	s->e.enclosures = e->nenclosures ? s->encs : NULL;
	return HF_OK;
}

/* Hand everything pushed to the helper.  Under q->mu. */
static void show(struct prep *q)
{
	q->shown = q->pushed;
	if (q->idle)
		pthread_cond_signal(&q->work);
}

int prep_push(struct prep *q, const struct feed_entry *e, int key_new,
              int keep)
{
	size_t i = q->pushed % PREP_SLOTS;
	struct prep_slot *s = &q->slots[i];
	int rc;

	if (prep_queued(q) >= PREP_SLOTS)
		return HF_EINVAL;
	if ((rc = copy_entry(s, e)))
		return rc;
	s->key_new = key_new;
	q->pushed++;
	if (!q->helper) {
		make(q, s);
		atomic_store_explicit(&q->state[i], READY, memory_order_relaxed);
		return HF_OK;
	}
	atomic_store_explicit(&q->state[i], QUEUED, memory_order_release);
	if (!keep) {
		pthread_mutex_lock(&q->mu);
		show(q);
		pthread_mutex_unlock(&q->mu);
	}
	return HF_OK;
}

/* Make the newest QUEUED slot after the oldest: 1 when there was one. */
static int steal(struct prep *q)
{
	for (size_t k = q->pushed; k-- > q->tail + 1;)
		if (take(q, k % PREP_SLOTS)) {
			make(q, &q->slots[k % PREP_SLOTS]);
			atomic_store_explicit(&q->state[k % PREP_SLOTS], READY,
			                      memory_order_relaxed);
			return 1;
		}
	return 0;
}

/* Wait until the helper has made slot i. */
static void await(struct prep *q, size_t i)
{
	pthread_mutex_lock(&q->mu);
	q->waiting = 1;
	while (atomic_load_explicit(&q->state[i], memory_order_acquire) != READY)
		pthread_cond_wait(&q->ready, &q->mu);
	q->waiting = 0;
	pthread_mutex_unlock(&q->mu);
}

struct prep_slot *prep_oldest(struct prep *q, int wait)
{
	size_t i = q->tail % PREP_SLOTS;
	struct prep_slot *s = &q->slots[i];

	if (q->tail == q->pushed)
		return NULL;
	for (;;) {
		if (atomic_load_explicit(&q->state[i], memory_order_acquire) == READY)
			return s;
		if (!wait)
			return NULL;
		if (take(q, i)) {
			/* Not begun: quicker made here than waited for (the
			 * end of a feed, or the helper off the CPU). */
			make(q, s);
			atomic_store_explicit(&q->state[i], READY, memory_order_relaxed);
			return s;
		}
		/* The helper is at it: make a later one meanwhile. */
		if (!steal(q))
			await(q, i);
	}
}

void prep_pop(struct prep *q)
{
	struct prep_slot *s;

	if (q->tail == q->pushed)
		return;
	s = &q->slots[q->tail % PREP_SLOTS];
	/* An entry with a content of a megabyte leaves no slot that big
	 * behind: 32 of them would hold as many megabytes for good. */
	if (s->text.cap > PREP_KEEP_BYTES)
		buf_free(&s->text);
	atomic_store_explicit(&q->state[q->tail++ % PREP_SLOTS], EMPTY,
	                      memory_order_relaxed);
}

void prep_discard(struct prep *q)
{
	while (q->tail < q->pushed) {
		size_t i = q->tail % PREP_SLOTS;

		/* A slot the helper is making is let finish. */
		if (!take(q, i) &&
		    atomic_load_explicit(&q->state[i], memory_order_acquire) != READY)
			await(q, i);
		prep_pop(q);
	}
}
