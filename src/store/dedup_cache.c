/* dedup_cache.c - the near-duplicate candidate index in memory; see
 * dedup_cache.h. */
#include <stdlib.h>
#include <string.h>

#include "dedup_cache.h"

/* Postings of a bucket, off an open-addressing table of keys (at most
 * half full).  A key of few postings has a chain of them, newest first;
 * `next` and `first` hold index + 1, 0 ends.  A key of more than HOT
 * postings has a ring of its newest RING postings instead: a walk reads
 * no more than DCACHE_KEY_SCAN of a key anyway, and a ring is read in a
 * few cache lines where a chain of a common word ("helse") costs a miss
 * per posting.  A rare word never walks a common word's postings. */
struct post {
	int64_t t;             /* the item's: a walk reads no item outside
	                        * the window */
	uint32_t item, next;
};

#define HOT 8
#define RING DCACHE_KEY_SCAN
_Static_assert(HOT <= RING, "a chain fits the ring it becomes");

struct ring {
	int64_t t[RING];
	uint32_t item[RING];
};

struct head {
	uint64_t key;
	uint32_t first;        /* n <= HOT: the chain; else the ring, index + 1 */
	uint32_t n;            /* postings of the key; 0: the slot is free */
};

struct slot {
	int64_t id, feed_id, t;
	uint64_t simhash, tn_hash;
	char *title_norm;      /* owned */
	int dead, multi;
};

struct bucket {
	int64_t no;
	int live;              /* loaded */
	uint64_t used;         /* LRU clock */
	uint64_t tag;          /* last loaded or changed under */
	struct slot *items;
	uint32_t nitems, citems;
	int64_t *ids;           /* items[i].id, 0 once dead: all a walk reads
	                         * of an item, in an eighth of the lines */
	uint32_t cids;
	struct post *posts;
	uint32_t nposts, cposts;
	struct ring *rings;
	uint32_t nrings, crings;
	struct head *heads;
	uint32_t nkeys;
	unsigned bits;         /* heads has 1 << bits entries */
};

struct cand {
	const struct slot *s;
	int64_t id;
	int hits;
};

/* Candidates of one query, counted through a small open-addressing
 * table of indices into c[] (index + 1, 0 empty).  A window of two widths
 * spans three buckets at most; c[] holds every row they can give, so the
 * order of counting never matters. */
#define CAND_CAP (3 * (DCACHE_TITLE_ROWS + DEDUP_MAX_KEYS * DCACHE_KEY_ROWS))
#define TAB_BITS 10
_Static_assert(CAND_CAP < (1 << TAB_BITS) / 2, "table at most half full");

struct tally {
	struct cand c[CAND_CAP];
	size_t n;
	uint16_t tab[1 << TAB_BITS];
};

struct dcache {
	int64_t width;
	uint64_t clock;
	size_t items;          /* held in all buckets */
	struct bucket b[DCACHE_BUCKETS];
	struct tally t;        /* of the query under way */
	struct dedup_sig sig;  /* scratch: the keys of an item kept */
};

#define DEFAULT_WIDTH (7 * 24 * 3600)
#define MIN_BITS 8

/* The table slot of key: its own, or the free one it would take. */
static struct head *head_of(struct head *heads, unsigned bits, uint64_t key)
{
	uint32_t mask = (1u << bits) - 1;
	uint32_t i = (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));

	while (heads[i].n && heads[i].key != key)
		i = (i + 1) & mask;
	return &heads[i];
}

static void bucket_reset(struct dcache *c, struct bucket *bk)
{
	c->items -= bk->nitems;
	for (uint32_t i = 0; i < bk->nitems; i++)
		free(bk->items[i].title_norm);
	free(bk->items);
	free(bk->ids);
	free(bk->posts);
	free(bk->rings);
	free(bk->heads);
	memset(bk, 0, sizeof *bk);
}

int dcache_new(struct dcache **out)
{
	struct dcache *c = calloc(1, sizeof *c);

	if (!c)
		return HF_ENOMEM;
	c->width = DEFAULT_WIDTH;
	*out = c;
	return HF_OK;
}

void dcache_free(struct dcache *c)
{
	if (!c)
		return;
	dcache_clear(c, 0);
	free(c);
}

void dcache_clear(struct dcache *c, int64_t width)
{
	for (int i = 0; i < DCACHE_BUCKETS; i++)
		bucket_reset(c, &c->b[i]);
	if (width > 0)
		c->width = width;
}

int64_t dcache_width(const struct dcache *c)
{
	return c->width;
}

size_t dcache_held(const struct dcache *c)
{
	return c->items;
}

int64_t dcache_bucket(const struct dcache *c, int64_t t)
{
	int64_t w = c->width;

	return t >= 0 ? t / w : -((-(t + 1)) / w) - 1;
}

static struct bucket *find(const struct dcache *c, int64_t b)
{
	for (int i = 0; i < DCACHE_BUCKETS; i++)
		if (c->b[i].live && c->b[i].no == b)
			return (struct bucket *)&c->b[i];
	return NULL;
}

int dcache_has(struct dcache *c, int64_t b)
{
	struct bucket *bk = find(c, b);

	if (bk)
		bk->used = ++c->clock;
	return bk != NULL;
}

/* The least recently used loaded bucket, unless it is one of the three
 * newest-used (the window being read); NULL when there is none. */
static struct bucket *lru(struct dcache *c)
{
	struct bucket *v = NULL;
	int live = 0;

	for (int i = 0; i < DCACHE_BUCKETS; i++)
		if (c->b[i].live) {
			live++;
			if (!v || c->b[i].used < v->used)
				v = &c->b[i];
		}
	return live > 3 ? v : NULL;
}

int dcache_open_bucket(struct dcache *c, int64_t b, uint64_t tag)
{
	struct bucket *bk = find(c, b), *v;
	struct head *heads;

	if (!(heads = calloc((size_t)1 << MIN_BITS, sizeof *heads)))
		return HF_ENOMEM;
	if (bk)
		bucket_reset(c, bk);
	while (c->items > DCACHE_MAX_ITEMS && (v = lru(c)))
		bucket_reset(c, v);
	for (int i = 0; !bk && i < DCACHE_BUCKETS; i++)
		if (!c->b[i].live)
			bk = &c->b[i];
	if (!bk)
		bucket_reset(c, bk = lru(c));
	bk->no = b;
	bk->live = 1;
	bk->used = ++c->clock;
	bk->tag = tag;
	bk->heads = heads;
	bk->bits = MIN_BITS;
	return HF_OK;
}

void dcache_drop(struct dcache *c, int64_t b)
{
	struct bucket *bk = find(c, b);

	if (bk)
		bucket_reset(c, bk);
}

void dcache_drop_tagged(struct dcache *c, uint64_t tag)
{
	for (int i = 0; i < DCACHE_BUCKETS; i++)
		if (c->b[i].live && c->b[i].tag == tag)
			bucket_reset(c, &c->b[i]);
}

/* Double the table of keys; the chains stay as they are. */
static int rehash(struct bucket *bk)
{
	unsigned bits = bk->bits + 1;
	struct head *heads = calloc((size_t)1 << bits, sizeof *heads);

	if (!heads)
		return HF_ENOMEM;
	for (uint32_t i = 0; i < (1u << bk->bits); i++)
		if (bk->heads[i].n)
			*head_of(heads, bits, bk->heads[i].key) = bk->heads[i];
	free(bk->heads);
	bk->heads = heads;
	bk->bits = bits;
	return HF_OK;
}

static int grow(void **v, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return HF_OK;
	while (n < need) {
		if (n > UINT32_MAX / 2)
			return HF_ENOMEM;
		n *= 2;
	}
	if (!(p = realloc(*v, (size_t)n * size)))
		return HF_ENOMEM;
	*v = p;
	*cap = n;
	return HF_OK;
}

/* Make h's chain of HOT postings a ring. */
static int heat(struct bucket *bk, struct head *h)
{
	struct ring *r;
	uint32_t p = h->first, k = h->n;
	int rc;

	if ((rc = grow((void **)&bk->rings, &bk->crings, bk->nrings + 1,
	               sizeof *bk->rings)))
		return rc;
	r = &bk->rings[bk->nrings];
	while (p && k > 0) {
		k--;
		r->t[k % RING] = bk->posts[p - 1].t;
		r->item[k % RING] = bk->posts[p - 1].item;
		p = bk->posts[p - 1].next;
	}
	h->first = ++bk->nrings;
	return HF_OK;
}

static int post(struct bucket *bk, uint64_t key, int64_t t, uint32_t item)
{
	struct head *h;
	struct ring *r;
	int rc;

	if ((size_t)bk->nkeys + 1 > ((size_t)1 << bk->bits) / 2 && (rc = rehash(bk)))
		return rc;
	h = head_of(bk->heads, bk->bits, key);
	if (!h->n) {
		h->key = key;
		bk->nkeys++;
	}
	if (h->n == HOT && (rc = heat(bk, h)))
		return rc;
	if (h->n >= HOT) {
		r = &bk->rings[h->first - 1];
		r->t[h->n % RING] = t;
		r->item[h->n % RING] = item;
		h->n++;
		return HF_OK;
	}
	if ((rc = grow((void **)&bk->posts, &bk->cposts, bk->nposts + 1,
	               sizeof *bk->posts)))
		return rc;
	bk->posts[bk->nposts] = (struct post){t, item, h->first};
	h->first = ++bk->nposts;
	h->n++;
	return HF_OK;
}

/* Append slot s and its postings.  The bucket takes s's title_norm in
 * every case (freed here when it could not be appended). */
static int put(struct dcache *c, struct bucket *bk, const struct slot *s,
               const uint64_t *keys, size_t nkeys)
{
	uint32_t i = bk->nitems;
	int rc;

	if ((rc = grow((void **)&bk->items, &bk->citems, bk->nitems + 1,
	               sizeof *bk->items)) ||
	    (rc = grow((void **)&bk->ids, &bk->cids, bk->nitems + 1,
	               sizeof *bk->ids))) {
		free(s->title_norm);
		return rc;
	}
	bk->items[i] = *s;
	bk->ids[i] = s->dead ? 0 : s->id;
	bk->nitems++;
	c->items++;
	if (s->tn_hash && (rc = post(bk, s->tn_hash, s->t, i)))
		return rc;
	for (size_t k = 0; k < nkeys; k++)
		if ((rc = post(bk, keys[k], s->t, i)))
			return rc;
	return HF_OK;
}

/*
 * Keep the newer half of bucket bk (by arrival), its postings made again
 * from the items' title_norm.  The bucket is partial from then on: its
 * older items are no candidates.  0, or HF_ENOMEM with bk dropped.
 */
static int compact(struct dcache *c, struct bucket *bk)
{
	struct bucket nb;
	uint64_t keys[DEDUP_MAX_KEYS];
	struct head *heads = calloc((size_t)1 << MIN_BITS, sizeof *heads);
	int rc = heads ? HF_OK : HF_ENOMEM;

	memset(&nb, 0, sizeof nb);
	nb.no = bk->no;
	nb.live = 1;
	nb.used = bk->used;
	nb.tag = bk->tag;
	nb.heads = heads;
	nb.bits = MIN_BITS;
	for (uint32_t i = bk->nitems / 2; i < bk->nitems && !rc; i++) {
		struct slot *s = &bk->items[i];
		size_t n;

		if (s->dead)
			continue;
		dedup_sig_title(&c->sig, s->title_norm, s->simhash);
		n = dedup_sig_keys(&c->sig, keys, DEDUP_MAX_KEYS);
		rc = put(c, &nb, s, keys, n);
		s->title_norm = NULL;               /* nb's now */
	}
	bucket_reset(c, bk);
	if (rc)
		bucket_reset(c, &nb);
	else
		*bk = nb;
	return rc;
}

/* Hold at most DCACHE_MAX_ITEMS: evict the least recently used buckets
 * the window under way does not read, then halve the biggest. */
static void shrink(struct dcache *c)
{
	struct bucket *v;

	while (c->items > DCACHE_MAX_ITEMS && (v = lru(c)))
		bucket_reset(c, v);
	while (c->items > DCACHE_MAX_ITEMS) {
		v = NULL;
		for (int i = 0; i < DCACHE_BUCKETS; i++)
			if (c->b[i].live && (!v || c->b[i].nitems > v->nitems))
				v = &c->b[i];
		if (!v || compact(c, v))
			break;              /* dropped: read again when needed */
	}
}

int dcache_add(struct dcache *c, const struct dcache_item *it,
               uint64_t tn_hash, const uint64_t *keys, size_t nkeys,
               uint64_t tag)
{
	struct bucket *bk = find(c, dcache_bucket(c, it->t));
	struct slot s;
	int rc;

	if (!bk)
		return HF_OK;
	bk->tag = tag;
	memset(&s, 0, sizeof s);
	s.id = it->id;
	s.feed_id = it->feed_id;
	s.t = it->t;
	s.simhash = it->simhash;
	s.tn_hash = tn_hash;
	s.multi = it->multi;
	if (it->title_norm && !(s.title_norm = strdup(it->title_norm))) {
		rc = HF_ENOMEM;
		goto fail;
	}
	if ((rc = put(c, bk, &s, keys, nkeys)))
		goto fail;
	if (c->items > DCACHE_MAX_ITEMS)
		shrink(c);
	return HF_OK;
fail:
	/* An incomplete bucket would hide candidates: read it again. */
	bucket_reset(c, bk);
	return rc;
}

void dcache_mark_multi(struct dcache *c, int64_t id, int64_t t)
{
	struct bucket *bk = find(c, dcache_bucket(c, t));

	for (uint32_t i = bk ? bk->nitems : 0; i-- > 0;)
		if (bk->ids[i] == id)
			bk->items[i].multi = 1;
}

void dcache_remove(struct dcache *c, int64_t id, int64_t t, uint64_t tag)
{
	struct bucket *bk = find(c, dcache_bucket(c, t));

	if (!bk)
		return;
	bk->tag = tag;
	/* Newest first: what is changed is mostly what came in lately. */
	for (uint32_t i = bk->nitems; i-- > 0;)
		if (bk->ids[i] == id) {
			bk->ids[i] = 0;
			bk->items[i].dead = 1;
			free(bk->items[i].title_norm);
			bk->items[i].title_norm = NULL;
		}
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->hits != y->hits)
		return y->hits - x->hits;
	return (y->id > x->id) - (y->id < x->id);
}

static void tally_add(struct tally *t, const struct slot *s, int64_t id,
                      int weight)
{
	uint32_t h = (uint32_t)(((uintptr_t)s * UINT64_C(0x9E3779B97F4A7C15)) >>
	                        (64 - TAB_BITS));

	for (;; h = (h + 1) & ((1u << TAB_BITS) - 1)) {
		uint16_t i = t->tab[h];

		if (!i) {
			if (t->n == CAND_CAP)
				return;
			t->c[t->n] = (struct cand){s, id, weight};
			t->tab[h] = (uint16_t)++t->n;
			return;
		}
		if (t->c[i - 1].s == s) {
			t->c[i - 1].hits += weight;
			return;
		}
	}
}

/* The walk of one key's postings in a bucket. */
struct walk {
	const struct ring *r;  /* the key's ring, or NULL: its chain */
	uint32_t p;            /* chain: next posting, index + 1; ring: the
	                        * postings left; 0: done */
	int rows, scan, weight;
};

static struct walk walk_of(const struct bucket *bk, uint64_t key, int rows,
                           int weight)
{
	const struct head *h = head_of(bk->heads, bk->bits, key);

	if (h->n > HOT)
		return (struct walk){&bk->rings[h->first - 1], h->n, rows,
		                     DCACHE_KEY_SCAN, weight};
	return (struct walk){NULL, h->first, rows, DCACHE_KEY_SCAN, weight};
}

/*
 * Count the postings of the title hash (`tn_hash`, 0: none) and of the
 * keys in bucket bk with t in [lo, hi], newest first: per key at most
 * `rows` of them, looking at DCACHE_KEY_SCAN at most.  The keys are
 * walked side by side, a step of each in turn: a step of a chain is a
 * cache miss, and the misses of different chains overlap instead of
 * queueing.
 */
static void count(const struct bucket *bk, uint64_t tn_hash,
                  const uint64_t *keys, size_t nkeys, int64_t lo, int64_t hi,
                  struct tally *t)
{
	struct walk w[DEDUP_MAX_KEYS + 1];
	size_t nw = 0, i, live;

	if (tn_hash)
		w[nw++] = walk_of(bk, tn_hash, DCACHE_TITLE_ROWS, DCACHE_TITLE_WEIGHT);
	for (i = 0; i < nkeys; i++)
		w[nw++] = walk_of(bk, keys[i], DCACHE_KEY_ROWS, 1);
	do {
		live = 0;
		for (i = 0; i < nw; i++) {
			struct walk *x = &w[i];
			int64_t pt, id;
			uint32_t item;

			if (!x->p || x->rows <= 0 || x->scan <= 0)
				continue;
			live++;
			if (x->r) {
				x->p--;
				pt = x->r->t[x->p % RING];
				item = x->r->item[x->p % RING];
			} else {
				const struct post *ps = &bk->posts[x->p - 1];

				x->p = ps->next;
				pt = ps->t;
				item = ps->item;
			}
			x->scan--;
			if (pt < lo || pt > hi)
				continue;
			if (!(id = bk->ids[item]))
				continue;           /* dead */
			x->rows--;
			tally_add(t, &bk->items[item], id, x->weight);
		}
	} while (live);
}

void dcache_candidates(struct dcache *c, int64_t lo, int64_t hi,
                       uint64_t tn_hash, const uint64_t *keys, size_t nkeys,
                       struct dcache_item *items, int *hits, size_t max,
                       size_t *n)
{
	struct tally *t = &c->t;
	size_t k = 0, i;
	int64_t b;

	t->n = 0;
	memset(t->tab, 0, sizeof t->tab);
	if (nkeys > DEDUP_MAX_KEYS)
		nkeys = DEDUP_MAX_KEYS;
	/* Newest bucket first: the newest items are the likeliest match. */
	for (b = dcache_bucket(c, hi); b >= dcache_bucket(c, lo); b--) {
		const struct bucket *bk = find(c, b);

		if (bk)
			count(bk, tn_hash, keys, nkeys, lo, hi, t);
	}
	/* The best `max` only, by insertion into the head of c[]: the
	 * caller tries a handful, and most candidates share one common word
	 * and fail against the last kept at once. */
	for (i = 0; i < t->n; i++) {
		struct cand x = t->c[i];
		size_t j = k < max ? k++ : max;

		if (j == max && (!max || cmp_cand(&x, &t->c[max - 1]) >= 0))
			continue;
		if (j == max)
			j = max - 1;
		for (; j > 0 && cmp_cand(&x, &t->c[j - 1]) < 0; j--)
			t->c[j] = t->c[j - 1];
		t->c[j] = x;
	}
	for (i = 0; i < k; i++) {
		const struct slot *s = t->c[i].s;

		items[i] = (struct dcache_item){s->id, s->feed_id, s->t, s->simhash,
		                                s->title_norm, s->multi};
		hits[i] = t->c[i].hits;
	}
	*n = k;
}
