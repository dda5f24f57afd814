/*
 * dedup_cache.h - the near-duplicate candidate index, in memory.
 * Private to store_dedup.c, which fills it from the items table and
 * keeps it in step with the store (dedup.h, "storage").
 *
 * Items are grouped in buckets of `width` seconds of their time t
 * (published, else first_seen).  A bucket is loaded whole or not at all:
 * a loaded bucket holds every item of its time range that has a
 * title_norm, so a query over loaded buckets misses nothing.  Per item:
 * id, primary feed, t, simhash, title_norm, and postings under its title
 * keys (dedup_sig_keys) and under the hash of its title_norm.
 *
 * Memory is bounded: at most DCACHE_MAX_ITEMS items are held.  Beyond
 * that the least recently used buckets are evicted (a window of width w
 * spans three buckets of width w, and the three newest-used are never
 * evicted, so a query never evicts what it reads); when the window alone
 * holds more, the biggest bucket keeps its newer half only, and a bucket
 * is read with its newest DCACHE_LOAD_MAX items only.  Such a bucket is
 * partial: its older items are no candidates.  That takes more than
 * 50,000 items in two weeks, twenty times what the sector publishes.
 *
 * Memory: about 300 bytes per item held, at most about 15 MB; a sector
 * that publishes a few thousand items a week holds a few MB.
 */
#ifndef HELSEFEED_DEDUP_CACHE_H
#define HELSEFEED_DEDUP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/dedup.h"
#include "helsefeed/err.h"

/* Buckets held at most.  Entries of one fetch come in any order of time
 * (a month of archive in a feed, a thousand feeds at once): every bucket
 * their windows touch should stay, or each entry reloads one. */
#define DCACHE_BUCKETS 64
/* Items held at most (see above). */
#define DCACHE_MAX_ITEMS 50000
/* Items of one bucket read from the store at most: the newest. */
#define DCACHE_LOAD_MAX (DCACHE_MAX_ITEMS / 2)

/* Postings of one key followed per bucket: the newest this many in the
 * window.  A common title word ("helse") has hundreds of items in a week;
 * the rarer words of a title find the rest.  Bounds the work per entry. */
#define DCACHE_KEY_ROWS 16
/* Postings of one key looked at per bucket, in the window or not: a
 * bucket the window only overlaps holds many a common word's items outside
 * it, and entries arrive in no order of time. */
#define DCACHE_KEY_SCAN 32
/* Items of one title_norm followed: more in one window is a series. */
#define DCACHE_TITLE_ROWS 8
/* A candidate with the entry's title_norm outranks any number of shared
 * keys. */
#define DCACHE_TITLE_WEIGHT (DEDUP_MAX_KEYS + 1)

struct dcache;

/* One item as the cache holds it.  title_norm is borrowed from the
 * cache: valid until the item is removed or its bucket evicted. */
struct dcache_item {
	int64_t id, feed_id, t;
	uint64_t simhash;
	const char *title_norm;
	int multi;             /* it may have sources beside its primary */
};

/* Returns 0 and *out (dcache_free), or HF_ENOMEM. */
int dcache_new(struct dcache **out) HF_WUR;
void dcache_free(struct dcache *c);

/* Drop every bucket.  A new width (> 0) takes effect from here on. */
void dcache_clear(struct dcache *c, int64_t width);
int64_t dcache_width(const struct dcache *c);

/* Items held, in all buckets. */
size_t dcache_held(const struct dcache *c);

/* Bucket number of time t. */
int64_t dcache_bucket(const struct dcache *c, int64_t t);

/* Is bucket b loaded?  Marks it used. */
int dcache_has(struct dcache *c, int64_t b);

/* Make bucket b loaded and empty, evicting the least recently used one
 * when full; the caller then adds every item of its range.  `tag` marks
 * it (see dcache_drop_tagged).  0 or HF_ENOMEM (nothing changed). */
int dcache_open_bucket(struct dcache *c, int64_t b, uint64_t tag) HF_WUR;

/* Forget bucket b (it must be loaded again before use). */
void dcache_drop(struct dcache *c, int64_t b);

/* Forget every bucket changed or loaded under `tag`. */
void dcache_drop_tagged(struct dcache *c, uint64_t tag);

/*
 * Add an item (title_norm copied) with its `nkeys` title keys to the
 * bucket of it->t, when that bucket is loaded (else nothing to do: the
 * item is read with the bucket).  0, or HF_ENOMEM: the bucket is then
 * dropped, never left incomplete.
 */
int dcache_add(struct dcache *c, const struct dcache_item *it,
               uint64_t tn_hash, const uint64_t *keys, size_t nkeys,
               uint64_t tag) HF_WUR;

/* Item `id` (time t) has got another source: dcache_item.multi. */
void dcache_mark_multi(struct dcache *c, int64_t id, int64_t t);

/* Remove item `id` from the bucket of time t, if loaded. */
void dcache_remove(struct dcache *c, int64_t id, int64_t t, uint64_t tag);

/*
 * Candidates with t in [lo, hi] (a range of loaded buckets): the items
 * posted under tn_hash (weight DCACHE_TITLE_WEIGHT) or under one of
 * keys[] (weight 1 each), best first (weight, then newest id first).
 * Up to `max` into items[] (title_norm borrowed until the cache next
 * changes) and hits[]; their number into *n.
 */
void dcache_candidates(struct dcache *c, int64_t lo, int64_t hi,
                       uint64_t tn_hash, const uint64_t *keys, size_t nkeys,
                       struct dcache_item *items, int *hits, size_t max,
                       size_t *n);

#endif
