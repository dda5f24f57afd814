/*
 * prep.h - the pure part of the pipeline (pipeline.h), done ahead on a
 * helper thread.  Private to pipeline.c.
 *
 * Of an entry, the title_norm, the dedup signature, the keyword rules'
 * hits and the canonical URL depend on the entry and the compiled tables alone, not on the
 * store: the helper computes them for the next entries of a feed while
 * the calling thread stores the earlier ones.  The calling thread is the
 * only one that touches the store, the configuration or the queue's
 * order; the helper reads the tables (const, never changed while the
 * queue lives) and writes the slots it was handed.  It calls no time or
 * environment function (the loop swaps TZ, digest.c) and takes no
 * signal (the daemon blocks them in every thread, daemon.c).
 *
 * A queue of PREP_SLOTS slots, used from one thread: prep_push copies an
 * entry into the newest slot, prep_oldest hands out the oldest once it is
 * prepared, prep_pop frees it.  An entry is handed to the helper as it
 * is pushed, so that the helper starts on a feed's first entry while the
 * caller parses the next; a wake-up is paid only when the helper had run
 * out of work and sleeps.  Without a helper (it could not be started)
 * prep_push prepares the entry itself.
 */
#ifndef HELSEFEED_PREP_H
#define HELSEFEED_PREP_H

#include <stddef.h>

#include "helsefeed/buf.h"
#include "helsefeed/classify.h"
#include "helsefeed/dedup.h"
#include "helsefeed/err.h"
#include "helsefeed/feed.h"

#define PREP_SLOTS 32
/* A slot's copy of an entry keeps its memory up to this size for the
 * next one: the text of most entries is a few kilobytes; content may be
 * up to HF_MAX_CONTENT. */
#define PREP_KEEP_BYTES (64 * 1024)

struct prep_slot {
	struct feed_entry e;        /* a copy: strings in `text` */
	struct buf text;
	const char **cats;          /* e.categories */
	struct feed_enclosure *encs;        /* e.enclosures */
	struct buf tn;              /* title_norm, NUL-terminated */
	struct buf canon;           /* the link's canonical URL (norm_url_canon) */
	int canon_made;             /* the link is http(s): canon is made */
	int canon_none;             /* ... and the link has none */
	struct dedup_sig sig;
	unsigned char *hits;        /* classify_item's, one per rule category */
	int rc;                     /* of the preparation: 0 or HF_ENOMEM */
	int key_new;                /* prep_push's: the feed never carried the key */
};

struct prep;

/* A queue over the tables dd and cls (borrowed: they must outlive it).
 * helper = 0: no thread, prep_push prepares.  Returns 0 and *out
 * (prep_free), or HF_ENOMEM. */
int prep_new(const struct dedup *dd, const struct classify *cls, int helper,
             struct prep **out) HF_WUR;
/* Stops and joins the helper; queued entries are dropped. */
void prep_free(struct prep *q);

/* Entries queued and not popped. */
size_t prep_queued(const struct prep *q);

/* Copy e into a slot (prep_queued < PREP_SLOTS), with key_new as the
 * slot's, and hand it (with any kept before) to the helper; keep = 1
 * keeps it for the caller to make when it asks for it (prep_oldest): a
 * single entry is made sooner than the helper wakes.  Returns 0,
 * HF_EINVAL (queue full, or e beyond the limits.h bounds) or HF_ENOMEM;
 * nothing is queued then. */
int prep_push(struct prep *q, const struct feed_entry *e, int key_new,
              int keep) HF_WUR;

/* The oldest queued slot once it is prepared; NULL when none is queued or
 * (wait = 0) it is not prepared yet.  Valid until prep_pop. */
struct prep_slot *prep_oldest(struct prep *q, int wait);
void prep_pop(struct prep *q);

/* Drop every queued entry (after its ingest was aborted). */
void prep_discard(struct prep *q);

#endif
