/*
 * dedup/index.c - the same-story index: the newest items of the store by
 * the terms they hold; see dedup.h.
 *
 * Our own structure rather than SQLite's: as a table keyed by term, the
 * index cost a third of every ingest and grew with the database
 * (bench/ingest: 3,837 entries/s at a million against the floor of
 * 10,000; 12,430 with this).  fuzz/fuzz_index.c holds it to a plain
 * reading of dedup.h's rules on every input.
 */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/limits.h"

/* A position of no slot; STALE: a table entry whose chain is empty. */
#define NONE UINT32_MAX
#define STALE (UINT32_MAX - 1)

/* A link: a slot's position and the index of the term in it. */
#define LINK(p, k) ((uint32_t)(p) << 5 | (uint32_t)(k))
#define LINK_POS(l) ((l) >> 5)
#define LINK_K(l) ((int)((l) & 31))
_Static_assert(DEDUP_MAX_INDEX <= 32, "a term's index fits a link");

/* One item: its terms, and for each a link to the next older item of
 * the ring that holds that term (NONE: none). */
struct slot {
	int64_t id, first_seen, t;
	int64_t feed_id;
	uint64_t simhash;
	char *title_norm;      /* owned; NULL none */
	uint8_t merged;
	int64_t term[DEDUP_MAX_INDEX];
	uint32_t next[DEDUP_MAX_INDEX];
	uint8_t n;
};

struct dedup_index {
	struct slot *ring;     /* items by id, oldest at tail */
	size_t cap;            /* at most this many items */
	size_t alloc;          /* slots allocated, up to cap */
	size_t tail, count;
	/* term -> position of its newest item, open addressing */
	int64_t *key;
	uint32_t *head;        /* NONE: a free entry */
	uint16_t *cnt;         /* items of the ring that hold it */
	size_t size, used;     /* size a power of two */
};

int dedup_index_new(size_t cap, struct dedup_index **out)
{
	struct dedup_index *ix;

	if (!cap || cap > UINT16_MAX)
		return HF_EINVAL;
	if (!(ix = calloc(1, sizeof *ix)))
		return HF_ENOMEM;
	ix->cap = cap;
	*out = ix;
	return HF_OK;
}

void dedup_index_free(struct dedup_index *ix)
{
	if (!ix)
		return;
	dedup_index_clear(ix);
	free(ix->ring);
	free(ix->key);
	free(ix->head);
	free(ix->cnt);
	free(ix);
}

static void table_clear(struct dedup_index *ix)
{
	if (ix->head)
		memset(ix->head, 0xff, ix->size * sizeof *ix->head);
	ix->used = 0;
}

static size_t pos_of(const struct dedup_index *ix, size_t i);

void dedup_index_clear(struct dedup_index *ix)
{
	for (size_t i = 0; i < ix->count; i++)
		free(ix->ring[pos_of(ix, i)].title_norm);
	ix->tail = ix->count = 0;
	table_clear(ix);
}

size_t dedup_index_count(const struct dedup_index *ix)
{
	return ix->count;
}

/* The slot of the i-th oldest item (i < alloc): no division. */
static size_t pos_of(const struct dedup_index *ix, size_t i)
{
	size_t p = ix->tail + i;

	return p < ix->alloc ? p : p - ix->alloc;
}

/* The index in slot s of term, or -1. */
static int term_at(const struct slot *s, int64_t term)
{
	for (int k = 0; k < s->n; k++)
		if (s->term[k] == term)
			return k;
	return -1;
}

/* Whether link l leads to an item still held and older than `below`.
 * Inside a chain that is enough (a splice keeps only such links); a
 * head is checked by valid(). */
static int in_ring(const struct dedup_index *ix, uint32_t l, int64_t below)
{
	uint32_t p = LINK_POS(l);
	size_t rel;

	if (l >= STALE || p >= ix->alloc)
		return 0;
	rel = p >= ix->tail ? p - ix->tail : p + ix->alloc - ix->tail;
	return rel < ix->count && ix->ring[p].id < below;
}

/* in_ring(), and the item holds `term` there: a head may name a slot
 * another item took since. */
static int valid(const struct dedup_index *ix, uint32_t l, int64_t term,
                 int64_t below)
{
	const struct slot *s;

	if (!in_ring(ix, l, below))
		return 0;
	s = &ix->ring[LINK_POS(l)];
	return LINK_K(l) < s->n && s->term[LINK_K(l)] == term;
}

static size_t bucket(const struct dedup_index *ix, int64_t term)
{
	return (size_t)(((uint64_t)term * 0x9e3779b97f4a7c15ULL) >> 32) &
	       (ix->size - 1);
}

/* The table entry of term, or of the free entry where it would go. */
static size_t entry_of(const struct dedup_index *ix, int64_t term)
{
	size_t e = bucket(ix, term);

	while (ix->head[e] != NONE && ix->key[e] != term)
		e = (e + 1) & (ix->size - 1);
	return e;
}

/* Link term k of the item at p as its newest holder. */
static void link_newest(struct dedup_index *ix, uint32_t p, int k)
{
	struct slot *s = &ix->ring[p];
	size_t e = entry_of(ix, s->term[k]);

	if (ix->head[e] == NONE) {
		ix->key[e] = s->term[k];
		ix->cnt[e] = 0;
		ix->used++;
		s->next[k] = NONE;
	} else {
		s->next[k] = valid(ix, ix->head[e], s->term[k], s->id) ?
		             ix->head[e] : NONE;
	}
	ix->head[e] = LINK(p, k);
	ix->cnt[e]++;
}

/* The table anew from the ring, at least `size` entries and twice what
 * it holds: stale entries go. */
static int relink(struct dedup_index *ix, size_t size)
{
	size_t i;

	for (;;) {
		if (size != ix->size) {
			int64_t *key = realloc(ix->key, size * sizeof *key);
			uint32_t *head;
			uint16_t *cnt;

			if (!key)
				return HF_ENOMEM;
			ix->key = key;
			if (!(head = realloc(ix->head, size * sizeof *head)))
				return HF_ENOMEM;
			ix->head = head;
			if (!(cnt = realloc(ix->cnt, size * sizeof *cnt)))
				return HF_ENOMEM;
			ix->cnt = cnt;
			ix->size = size;
		}
		table_clear(ix);
		for (i = 0; i < ix->count; i++) {
			uint32_t p = (uint32_t)pos_of(ix, i);

			for (int k = 0; k < ix->ring[p].n; k++)
				link_newest(ix, p, k);
		}
		if (2 * ix->used <= ix->size)
			return HF_OK;
		size *= 2;
	}
}

/* Room in the table for n more terms, at most 3/4 full. */
static int table_room(struct dedup_index *ix, size_t n)
{
	if (4 * (ix->used + n) <= 3 * ix->size)
		return HF_OK;
	return relink(ix, ix->size ? ix->size : 1024);
}

/* One more slot: the ring grows to cap, then the oldest item leaves. */
static int ring_room(struct dedup_index *ix)
{
	struct slot *r;
	size_t alloc, i;

	if (ix->count < ix->alloc)
		return HF_OK;
	if (ix->alloc == ix->cap) {
		struct slot *old = &ix->ring[ix->tail];

		for (int k = 0; k < old->n; k++)
			ix->cnt[entry_of(ix, old->term[k])]--;
		free(old->title_norm);
		ix->tail = pos_of(ix, 1);
		ix->count--;
		return HF_OK;
	}
	alloc = ix->alloc ? 2 * ix->alloc : 256;
	if (alloc > ix->cap)
		alloc = ix->cap;
	if (!(r = malloc(alloc * sizeof *r)))
		return HF_ENOMEM;
	/* Positions change: every link is made again. */
	for (i = 0; i < ix->count; i++)
		r[i] = ix->ring[pos_of(ix, i)];
	free(ix->ring);
	ix->ring = r;
	ix->alloc = alloc;
	ix->tail = 0;
	return relink(ix, ix->size ? ix->size : 1024);
}

/* The ring index (0 oldest) of the first item whose id, or first_seen
 * when `seen`, is at least v; count when none.  Both grow along the
 * ring (ids with first_seen). */
static size_t first_from(const struct dedup_index *ix, int64_t v, int seen)
{
	size_t lo = 0, hi = ix->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct slot *s = &ix->ring[pos_of(ix, mid)];

		if ((seen ? s->first_seen : s->id) < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The ring index of item id, or count. */
static size_t find(const struct dedup_index *ix, int64_t id)
{
	size_t i = first_from(ix, id, 0);

	return i < ix->count && ix->ring[pos_of(ix, i)].id == id ? i : ix->count;
}

/* Take term k of the item at p out of its chain. */
static void unlink_term(struct dedup_index *ix, uint32_t p, int k)
{
	struct slot *s = &ix->ring[p];
	int64_t term = s->term[k];
	size_t e = entry_of(ix, term);
	uint32_t l, me = LINK(p, k);

	if (ix->head[e] == NONE)
		return;
	if (ix->head[e] == me) {
		ix->head[e] = valid(ix, s->next[k], term, s->id) ? s->next[k] : STALE;
		ix->cnt[e]--;
		return;
	}
	for (l = ix->head[e]; valid(ix, l, term, INT64_MAX);) {
		struct slot *o = &ix->ring[LINK_POS(l)];
		uint32_t *nx = &o->next[LINK_K(l)];

		if (*nx == me) {
			/* What s linked to may have left since: a link is
			 * valid for the item that holds it, not for another. */
			*nx = valid(ix, s->next[k], term, s->id) ? s->next[k] : NONE;
			ix->cnt[e]--;
			return;
		}
		if (!valid(ix, *nx, term, o->id))
			return;
		l = *nx;
	}
}

/* Link term k of the item at p, which is not the newest, in id order. */
static void link_sorted(struct dedup_index *ix, uint32_t p, int k)
{
	struct slot *s = &ix->ring[p];
	int64_t term = s->term[k];
	size_t e = entry_of(ix, term);
	uint32_t l;

	if (ix->head[e] == NONE) {
		ix->key[e] = term;
		ix->cnt[e] = 0;
		ix->used++;
	}
	ix->cnt[e]++;
	l = ix->head[e];
	if (!valid(ix, l, term, INT64_MAX) || ix->ring[LINK_POS(l)].id < s->id) {
		s->next[k] = valid(ix, l, term, s->id) ? l : NONE;
		ix->head[e] = LINK(p, k);
		return;
	}
	for (;;) {
		struct slot *o = &ix->ring[LINK_POS(l)];
		uint32_t *nx = &o->next[LINK_K(l)];

		if (!valid(ix, *nx, term, o->id) ||
		    ix->ring[LINK_POS(*nx)].id < s->id) {
			s->next[k] = valid(ix, *nx, term, o->id) ? *nx : NONE;
			*nx = LINK(p, k);
			return;
		}
		l = *nx;
	}
}

/* The fields of *it into slot s; returns HF_ENOMEM with s unchanged. */
static int set_item(struct slot *s, const struct dedup_index_item *it)
{
	char *tn = NULL;

	if (it->title_norm && !(tn = strdup(it->title_norm)))
		return HF_ENOMEM;
	free(s->title_norm);
	s->title_norm = tn;
	s->feed_id = it->feed_id;
	s->simhash = it->simhash;
	if (it->merged >= 0)
		s->merged = (uint8_t)(it->merged != 0);
	s->t = it->published != HF_NOTIME ? it->published : s->first_seen;
	return HF_OK;
}

int dedup_index_put(struct dedup_index *ix, const struct dedup_index_item *it,
                    const int64_t *terms, size_t n)
{
	struct slot *s;
	uint32_t p;
	size_t i;
	int rc;

	if (n > DEDUP_MAX_INDEX)
		n = DEDUP_MAX_INDEX;
	if ((rc = table_room(ix, n)))
		return rc;
	if (ix->count && it->id <= ix->ring[pos_of(ix, ix->count - 1)].id) {
		/* A held item's new text; one older than the ring stays out. */
		if ((i = find(ix, it->id)) == ix->count)
			return HF_OK;
		p = (uint32_t)pos_of(ix, i);
		s = &ix->ring[p];
		if ((rc = set_item(s, it)))
			return rc;
		while (s->n)
			unlink_term(ix, p, --s->n);
		for (i = 0; i < n; i++)
			if (term_at(s, terms[i]) < 0) {
				s->term[s->n] = terms[i];
				link_sorted(ix, p, s->n++);
			}
		return HF_OK;
	}
	if ((rc = ring_room(ix)))
		return rc;
	p = (uint32_t)pos_of(ix, ix->count);
	s = &ix->ring[p];
	s->id = it->id;
	s->first_seen = it->first_seen;
	s->title_norm = NULL;
	s->merged = 0;
	s->n = 0;
	if ((rc = set_item(s, it)))
		return rc;
	ix->count++;
	for (i = 0; i < n; i++)
		if (term_at(s, terms[i]) < 0) {
			s->term[s->n] = terms[i];
			link_newest(ix, p, s->n++);
		}
	return HF_OK;
}

int dedup_index_item(const struct dedup_index *ix, int64_t id,
                     struct dedup_index_item *out)
{
	const struct slot *s;
	size_t i = find(ix, id);

	if (i == ix->count)
		return 0;
	s = &ix->ring[pos_of(ix, i)];
	out->id = s->id;
	out->first_seen = s->first_seen;
	out->published = s->t;
	out->feed_id = s->feed_id;
	out->title_norm = s->title_norm;
	out->simhash = s->simhash;
	out->merged = s->merged;
	return 1;
}

void dedup_index_merged(struct dedup_index *ix, int64_t id)
{
	size_t i = find(ix, id);

	if (i < ix->count)
		ix->ring[pos_of(ix, i)].merged = 1;
}

/* Add id with weight h to the best-first list ids/hits of k (max). */
static void rank_put(int64_t *ids, int *hits, size_t *k, size_t max,
                     int64_t id, int h)
{
	size_t i;

	for (i = *k < max ? (*k)++ : max;
	     i > 0 && (hits[i - 1] < h || (hits[i - 1] == h && ids[i - 1] < id));
	     i--)
		if (i < max) {
			ids[i] = ids[i - 1];
			hits[i] = hits[i - 1];
		}
	if (i < max) {
		ids[i] = id;
		hits[i] = h;
	}
}

/* An item found by a term, and the weight of that term. */
struct found {
	int64_t id;
	int w;
};

static int id_desc(const void *a, const void *b)
{
	int64_t x = ((const struct found *)a)->id;
	int64_t y = ((const struct found *)b)->id;

	return (x < y) - (x > y);
}

/* An item of the same headline outranks any number of shared words. */
#define TITLE_WEIGHT DEDUP_MAX_INDEX

size_t dedup_index_candidates(const struct dedup_index *ix,
                              const int64_t *terms, size_t nterms,
                              int64_t title_term, int64_t t, int64_t window,
                              int64_t *ids, int *hits, size_t max)
{
	struct found found[DEDUP_MAX_INDEX * HF_DEDUP_RARE];
	int64_t since = t - window - HF_DEDUP_AHEAD_S, lo;
	size_t nfound = 0, k = 0, i, u, a;

	if (nterms > DEDUP_MAX_INDEX)
		nterms = DEDUP_MAX_INDEX;
	if (!nterms || !max || !ix->count)
		return 0;
	/* The first item first seen since the window opened. */
	if ((a = first_from(ix, since, 1)) == ix->count)
		return 0;
	lo = ix->ring[pos_of(ix, a)].id;
	for (i = 0; i < nterms; i++) {
		int w = terms[i] == title_term ? 1 + TITLE_WEIGHT : 1;
		struct found got[HF_DEDUP_RARE];
		size_t ngot = 0, seen = 0, e = entry_of(ix, terms[i]);
		int64_t below = INT64_MAX;
		uint32_t l = ix->head[e];

		/* The window holds every item of the ring: the term's count
		 * says whether it is rare. */
		if (l == NONE || (a == 0 && ix->cnt[e] > HF_DEDUP_RARE))
			continue;

		/* Newest first, down to the window's first item: a term of
		 * more than HF_DEDUP_RARE of them finds no story, a rare one
		 * (a name, a place, a figure) does. */
		if (!valid(ix, l, terms[i], below))
			continue;
		/* A head may name a slot another item took since (its term
		 * says so); a link of the chain may not, but by naming an
		 * item that left, or a newer one that took its slot. */
		do {
			const struct slot *s = &ix->ring[LINK_POS(l)];

			if (s->id < lo || ++seen > HF_DEDUP_RARE)
				break;
			if (s->t >= t - window && s->t <= t + window) {
				got[ngot].id = s->id;
				got[ngot++].w = w;
			}
			below = s->id;
			l = s->next[LINK_K(l)];
		} while (in_ring(ix, l, below));
		if (seen > HF_DEDUP_RARE)
			continue;
		memcpy(found + nfound, got, ngot * sizeof *got);
		nfound += ngot;
	}
	/* Each item once, weighed by the rare terms it has. */
	qsort(found, nfound, sizeof *found, id_desc);
	for (i = 0; i < nfound; i = u) {
		int h = 0;

		for (u = i; u < nfound && found[u].id == found[i].id; u++)
			h += found[u].w;
		rank_put(ids, hits, &k, max, found[i].id, h);
	}
	return k;
}
