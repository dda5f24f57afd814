/* pipeline.c - dedup, store, fingerprint and classify one entry; see
 * ingest.h. */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/classify.h"
#include "helsefeed/dedup.h"
#include "helsefeed/text.h"
#include "helsefeed/ingest.h"

_Static_assert(PIPELINE_MERGED != STORE_UNCHANGED &&
               PIPELINE_MERGED != STORE_NEW &&
               PIPELINE_MERGED != STORE_UPDATED,
               "PIPELINE_MERGED is an outcome of its own");

/* Rank of a feed the configuration no longer names: below every kind. */
#define RANK_UNKNOWN FEED_KIND__COUNT

struct pipeline {
	const struct config *cfg;
	struct store *st;
	struct store_dedup *sd;
	struct dedup *dd;
	struct classify *cls;
	unsigned *origins;            /* STORE_CAT_* per category */
	struct store_category *cats;  /* of the entry */
	size_t ncats;
	char **cat_fold;              /* folded name and title per category */
	unsigned char *hits;          /* classify_item's, one per category */
	struct dedup_sig *sig;        /* of the entry */
	struct dedup_sig *other;      /* of a candidate or the old revision */
	int64_t terms[DEDUP_MAX_INDEX];  /* dedup_sig_index of sig */
	size_t nterms;
	struct dedup_index *ix;       /* the same-story index (dedup.h) */
	uint64_t ix_epoch;            /* the store's when ix was built */
	int ix_ok;                    /* ix is the store's at ix_epoch */
	struct buf tn;                /* title_norm of the entry, NUL-terminated */
	struct buf tmp;
	int64_t window;
	int last_rule;
};

int pipeline_rank(const struct config_feed *feed)
{
	return feed->authority >= 0 ? feed->authority : (int)feed->kind;
}

int pipeline_last_rule(const struct pipeline *p)
{
	return p->last_rule;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	store_dedup_close(p->sd);
	dedup_index_free(p->ix);
	dedup_free(p->dd);
	classify_free(p->cls);
	if (p->cat_fold)
		for (size_t i = 0; i < 2 * p->cfg->ncategories; i++)
			free(p->cat_fold[i]);
	free(p->cat_fold);
	free(p->origins);
	free(p->cats);
	free(p->hits);
	free(p->sig);
	free(p->other);
	buf_free(&p->tn);
	buf_free(&p->tmp);
	free(p);
}

/* Category names and titles as entry <category> texts are compared. */
static int fold_categories(struct pipeline *p)
{
	const struct config *cfg = p->cfg;
	size_t i;
	int rc;

	if (!(p->cat_fold = calloc(2 * cfg->ncategories + 1, sizeof *p->cat_fold)))
		return HF_ENOMEM;
	for (i = 0; i < 2 * cfg->ncategories; i++) {
		const struct config_category *c = &cfg->categories[i / 2];

		buf_clear(&p->tmp);
		if ((rc = dedup_title_norm(NULL, i % 2 ? c->title : c->name, &p->tmp)))
			return rc;
		if (!(p->cat_fold[i] = strdup(buf_str(&p->tmp))))
			return HF_ENOMEM;
	}
	return HF_OK;
}

int pipeline_new(const struct config *cfg, struct store *st,
                 struct pipeline **out, struct buf *err)
{
	struct pipeline *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return HF_ENOMEM;
	p->cfg = cfg;
	p->st = st;
	p->window = cfg->dedup_window;
	if ((rc = classify_compile(cfg, &p->cls, err)))
		goto fail;
	if (!(p->origins = calloc(cfg->ncategories + 1, sizeof *p->origins)) ||
	    !(p->cats = calloc(cfg->ncategories + 1, sizeof *p->cats)) ||
	    !(p->hits = calloc(cfg->ncategories + 1, 1)) ||
	    !(p->sig = malloc(sizeof *p->sig)) ||
	    !(p->other = malloc(sizeof *p->other))) {
		rc = HF_ENOMEM;
		goto fail;
	}
	if ((rc = fold_categories(p)) ||
	    (rc = dedup_new(cfg, &p->dd)) ||
	    (rc = dedup_index_new(HF_DEDUP_INDEX_ITEMS, &p->ix)) ||
	    (rc = store_dedup_open(st, &p->sd)))
		goto fail;
	*out = p;
	return HF_OK;
fail:
	if (err && rc != HF_ECONFIG)
		buf_printf(err, "cannot prepare the item pipeline: %s\n",
		           hf_strerror(rc));
	pipeline_free(p);
	return rc;
}

/* Rank of the feed with store id `feed_id`, and its configuration (NULL
 * when it left feeds.conf): a configuration of a few dozen feeds is
 * searched in order. */
static int rank_of(struct pipeline *p, int64_t feed_id, int *out,
                   const struct config_feed **cfp)
{
	const struct config_feed *cf = NULL;
	int rc;

	buf_clear(&p->tmp);
	if ((rc = store_dedup_feed_name(p->sd, feed_id, &p->tmp)) < 0)
		return rc;
	if (rc)
		cf = config_feed_find(p->cfg, buf_str(&p->tmp));
	*out = cf ? pipeline_rank(cf) : RANK_UNKNOWN;
	*cfp = cf;
	return HF_OK;
}

/* The feed publishes the story on its own site: the link is on the
 * feed's host (ingest.h, Credit). */
static int owns(const struct config_feed *cf, const char *link)
{
	return cf && link && norm_url_same_site(link, cf->url);
}

/* Categories of a new or changed primary (ingest.h) into p->cats. */
static int categorise(struct pipeline *p, const struct config_feed *feed,
                      const struct feed_entry *e)
{
	const struct config *cfg = p->cfg;
	const struct config_category *c;
	struct classify_input ci;
	size_t i, j;
	int rc;

	memset(p->origins, 0, cfg->ncategories * sizeof *p->origins);
	for (i = 0; i < feed->ncategories; i++)
		if ((c = config_category_find(cfg, feed->categories[i])))
			p->origins[c - cfg->categories] |= STORE_CAT_FEED;
	ci.title = e->title;
	ci.summary = e->summary;
	ci.content = e->content;
	ci.categories = e->categories;
	ci.ncategories = e->ncategories;
	memset(p->hits, 0, cfg->ncategories);
	if ((rc = classify_item(p->cls, &ci, p->hits, NULL)))
		return rc;
	for (i = 0; i < cfg->ncategories; i++)
		if (p->hits[i])
			p->origins[i] |= STORE_CAT_RULE;
	for (j = 0; j < e->ncategories; j++) {
		buf_clear(&p->tmp);
		if ((rc = dedup_title_norm(NULL, e->categories[j], &p->tmp)))
			return rc;
		if (!p->tmp.len)
			continue;
		for (i = 0; i < 2 * cfg->ncategories; i++)
			if (strcmp(p->cat_fold[i], p->tmp.data) == 0)
				p->origins[i / 2] |= STORE_CAT_ENTRY;
	}
	p->ncats = 0;
	for (i = 0; i < cfg->ncategories; i++)
		if (p->origins[i]) {
			p->cats[p->ncats].name = cfg->categories[i].name;
			p->cats[p->ncats++].origins = p->origins[i];
		}
	return HF_OK;
}

/* The entry's title_norm as stored: NULL for an empty one. */
static const char *title_norm(const struct pipeline *p)
{
	return p->tn.len ? p->tn.data : NULL;
}

static int index_put(struct pipeline *p, struct store_ingest *in, int64_t id,
                     const struct feed_entry *e, int merged);

/* After item `id` took entry e as its primary text (store_dedup_promote,
 * which cleared them): its fingerprint and categories.  p->tn and p->sig
 * are the entry's. */
static int finish(struct pipeline *p, struct store_ingest *in, int64_t id,
                  const struct config_feed *feed, const struct feed_entry *e,
                  int revision)
{
	int rc;

	if ((rc = store_item_set_fingerprint(in, id, title_norm(p),
	                                     p->sig->simhash)) ||
	    (rc = index_put(p, in, id, e, 1)) ||
	    (rc = categorise(p, feed, e)))
		return rc;
	if (!revision)
		return store_dedup_add_categories(p->sd, in, id, p->cats, p->ncats);
	return store_item_set_categories(in, id, p->cats, p->ncats);
}

/* The categories a merged source gives its item (ingest.h): its feed's
 * and its entry's own.  The keyword rules read the primary text only: a
 * relay that mentions a hospital in passing does not move the story. */
static int add_categories(struct pipeline *p, struct store_ingest *in,
                          int64_t id, const struct config_feed *feed,
                          const struct feed_entry *e)
{
	size_t i, n = 0;
	int rc;

	if ((rc = categorise(p, feed, e)))
		return rc;
	for (i = 0; i < p->ncats; i++) {
		unsigned o = p->cats[i].origins & (STORE_CAT_FEED | STORE_CAT_ENTRY);

		if (o) {
			p->cats[n] = p->cats[i];
			p->cats[n++].origins = o;
		}
	}
	return n ? store_dedup_add_categories(p->sd, in, id, p->cats, n) : HF_OK;
}

/* One stored item into the index being built: its terms from its
 * stored title_norm and summary, as sign() made them when it came. */
static int index_item(void *ud, const struct dedup_index_item *it,
                      const char *summary)
{
	struct pipeline *p = ud;
	int64_t terms[DEDUP_MAX_INDEX];

	dedup_sig_make(p->other, it->title_norm, summary);
	dedup_sig_lemmas(p->dd, p->other);
	return dedup_index_put(p->ix, it, terms, dedup_sig_index(p->other, terms));
}

/*
 * The same-story index as the store is now: kept while only this
 * pipeline changed the items, built again from the newest of them when
 * anything else did (store_dedup_epoch), so that what it holds never
 * changes an answer (dedup.h).
 */
static int index_ready(struct pipeline *p, struct store_ingest *in)
{
	uint64_t epoch;
	int rc;

	if ((rc = store_dedup_epoch(p->sd, in, &epoch)))
		return rc;
	if (p->ix_ok && epoch == p->ix_epoch)
		return HF_OK;
	p->ix_ok = 0;
	dedup_index_clear(p->ix);
	if ((rc = store_dedup_scan(p->sd, in, HF_DEDUP_INDEX_ITEMS, index_item, p)))
		return rc;
	p->ix_epoch = epoch;
	p->ix_ok = 1;
	return HF_OK;
}

/* Whether the index is the store's now; an index out of date is built
 * again when next asked (index_ready). */
static int index_current(struct pipeline *p, struct store_ingest *in, int *yes)
{
	uint64_t epoch;
	int rc;

	*yes = 0;
	if (!p->ix_ok)
		return HF_OK;
	if ((rc = store_dedup_epoch(p->sd, in, &epoch)))
		return rc;
	*yes = epoch == p->ix_epoch;
	return HF_OK;
}

/* Item `id`, just written with entry e's text and fingerprint (p->tn,
 * p->sig, p->terms) as the ingest's feed's, into the index; `merged`
 * as dedup_index_item's. */
static int index_put(struct pipeline *p, struct store_ingest *in, int64_t id,
                     const struct feed_entry *e, int merged)
{
	struct dedup_index_item it;
	int rc, yes;

	if ((rc = index_current(p, in, &yes)) || !yes)
		return rc;
	it.id = id;
	it.first_seen = store_dedup_now(in);
	it.published = e->published;
	it.feed_id = store_dedup_feed_id(in);
	it.title_norm = title_norm(p);
	it.simhash = p->sig->simhash;
	it.merged = merged;
	if ((rc = dedup_index_put(p->ix, &it, p->terms, p->nterms)))
		p->ix_ok = 0;
	return rc;
}

/* Level 3: the best near-duplicate of the entry, 0 when none. */
static int near_dup(struct pipeline *p, struct store_ingest *in,
                    const struct feed_entry *e, int64_t *out)
{
	int64_t ids[2 * PIPELINE_MAX_CANDIDATES];
	int hits[2 * PIPELINE_MAX_CANDIDATES];
	struct store_dedup_item it;
	struct dedup_score sc;
	size_t n = 0, i, tried = 0;
	int best = -1, rc, rule;
	int64_t t = dedup_entry_time(e, store_dedup_now(in));

	*out = 0;
	if ((rc = index_ready(p, in)))
		return rc;
	if (!p->nterms)
		return HF_OK;
	n = dedup_index_candidates(p->ix, p->terms, p->nterms, p->sig->title_term,
	                           t, p->window, ids, hits,
	                           sizeof ids / sizeof ids[0]);
	for (i = 0; i < n && tried < PIPELINE_MAX_CANDIDATES; i++) {
		struct dedup_index_item c;

		/* The entry's own feed never duplicates itself (dedup.h).  An
		 * item of one source is read from the index; one with merged
		 * sources from the store, which knows them. */
		if (!dedup_index_item(p->ix, ids[i], &c) || c.merged) {
			if ((rc = store_dedup_item(p->sd, in, ids[i], &it,
			                           p->other)) < 0)
				return rc;
			if (!rc || it.carried)
				continue;
		} else {
			if (c.feed_id == store_dedup_feed_id(in))
				continue;
			dedup_sig_title(p->other, c.title_norm, c.simhash);
		}
		tried++;
		dedup_sig_lemmas(p->dd, p->other);
		rule = dedup_same_story(p->sig, p->other, &sc);
		if (sc.need_body) {
			if ((rc = store_dedup_item_body(p->sd, ids[i], p->other)))
				return rc;
			dedup_sig_lemmas(p->dd, p->other);
			rule = dedup_same_story(p->sig, p->other, &sc);
		}
		if (rule && sc.title_pct > best) {
			best = sc.title_pct;
			*out = ids[i];
			p->last_rule = rule;
		}
	}
	return HF_OK;
}

/* Record e as a source of item `id` and make it primary when its feed
 * ranks higher, or when it is the same feed's new guid (level 2). */
static int merge(struct pipeline *p, struct store_ingest *in,
                 const struct config_feed *feed, const struct feed_entry *e,
                 int64_t id, int *outcome)
{
	const struct config_feed *cf;
	struct store_dedup_item it;
	int rc, rank, same, mine, theirs;

	if ((rc = store_dedup_item(p->sd, in, id, &it, p->other)) < 0)
		return rc;
	same = it.feed_id == store_dedup_feed_id(in);
	if (!same) {
		if ((rc = rank_of(p, it.feed_id, &rank, &cf)))
			return rc;
		/* The publisher on whose site the story is, then the rank. */
		mine = owns(feed, e->link);
		theirs = owns(cf, it.link);
		if (theirs > mine || (theirs == mine && pipeline_rank(feed) >= rank)) {
			int yes;

			*outcome = PIPELINE_MERGED;
			if ((rc = store_ingest_add_source(in, id, e)) ||
			    (rc = index_current(p, in, &yes)))
				return rc;
			if (yes)
				dedup_index_merged(p->ix, id);
			return add_categories(p, in, id, feed, e);
		}
	}
	if ((rc = store_dedup_promote(p->sd, in, id, e, same)) ||
	    (rc = finish(p, in, id, feed, e, same)))
		return rc;
	*outcome = same ? STORE_UPDATED : PIPELINE_MERGED;
	return HF_OK;
}

/* The entry's title_norm and signature into p->tn, p->sig. */
static int sign(struct pipeline *p, const struct feed_entry *e)
{
	int rc;

	buf_clear(&p->tn);
	if ((rc = dedup_title_norm(p->dd, e->title, &p->tn)) ||
	    (rc = buf_reserve(&p->tn, 1)))
		return rc;
	p->tn.data[p->tn.len] = '\0';
	dedup_sig_make(p->sig, p->tn.data, e->summary);
	dedup_sig_lemmas(p->dd, p->sig);
	p->nterms = dedup_sig_index(p->sig, p->terms);
	return HF_OK;
}

static int canon_item(struct store_ingest *in, const char *link, int64_t *out)
{
	const char *canon;
	int rc;

	*out = 0;
	if ((rc = store_ingest_canon(in, link, &canon)) || !canon)
		return rc;
	rc = store_ingest_find_canon(in, canon, out);
	return rc < 0 ? rc : HF_OK;
}

/* Level 2b: an item whose link is the entry's under a same_url pattern
 * of the configuration (dedup.h), 0 when none.  An item the entry's own
 * feed carries is no twin (as for near_dup). */
static int same_url(struct pipeline *p, struct store_ingest *in,
                    const struct feed_entry *e, int64_t *out)
{
	struct store_dedup_item it;
	const char *id;
	size_t i, idlen;
	int64_t found = 0;
	int rc;

	*out = 0;
	for (i = 0; i < p->cfg->nsame_url; i++) {
		if (!dedup_url_match(p->cfg->same_url[i], e->link, &id, &idlen))
			continue;
		if ((rc = store_dedup_same_url(p->sd, in, p->cfg->same_url[i], id,
		                               idlen, dedup_entry_time(e,
		                               store_dedup_now(in)), p->window,
		                               &found)))
			return rc;
		if (!found)
			continue;
		if ((rc = store_dedup_item(p->sd, in, found, &it, p->other)) < 0)
			return rc;
		if (rc && !it.carried) {
			*out = found;
			return HF_OK;
		}
	}
	return HF_OK;
}

int pipeline_entry(struct pipeline *p, struct store_ingest *in,
                   const struct config_feed *feed, const struct feed_entry *e,
                   int *outcome)
{
	struct store_dedup_source src = {0, 0, 0};
	struct store_entry_hint hint;
	int64_t id = 0;
	int oc = STORE_UNCHANGED, rc;

	p->last_rule = DEDUP_RULE_NONE;
	if ((rc = store_dedup_source(p->sd, in, e->key, &src)))
		goto out;
	/* The same raw entry as stored: nothing to do (store_ingest_known). */
	if (src.item_id && src.raw_hash == e->raw_hash)
		goto out;
	if (src.item_id && !src.primary) {
		/* A merged source's revision: the item follows its primary. */
		if (!(rc = store_ingest_add_source(in, src.item_id, e)))
			rc = add_categories(p, in, src.item_id, feed, e);
		oc = PIPELINE_MERGED;
		goto out;
	}
	if ((rc = sign(p, e)))
		goto out;
	hint.item_id = src.item_id;
	hint.raw_hash = src.raw_hash;
	hint.title_norm = title_norm(p);
	hint.simhash = p->sig->simhash;
	hint.cats = p->cats;
	if (src.item_id) {
		if ((rc = categorise(p, feed, e)))
			goto out;
		hint.ncats = p->ncats;
		if (!(rc = store_ingest_entry_with(in, e, &hint, &oc)) &&
		    oc != STORE_UNCHANGED)
			rc = index_put(p, in, store_ingest_item_id(in), e, -1);
		goto out;
	}
	if ((rc = canon_item(in, e->link, &id)))
		goto out;
	if (!id && (rc = same_url(p, in, e, &id)))
		goto out;
	if (!id && (rc = near_dup(p, in, e, &id)))
		goto out;
	if (id) {
		rc = merge(p, in, feed, e, id, &oc);
		goto out;
	}
	if ((rc = categorise(p, feed, e)))
		goto out;
	hint.ncats = p->ncats;
	if (!(rc = store_ingest_entry_with(in, e, &hint, &oc)) &&
	    oc != STORE_UNCHANGED)
		rc = index_put(p, in, store_ingest_item_id(in), e, 0);
out:
	if (!rc && outcome)
		*outcome = oc;
	return rc;
}
