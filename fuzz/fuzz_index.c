/* fuzz_index.c - the same-story index (dedup.h, src/dedup/index.c)
 * against a plain reading of its rules.  The input is a program: the
 * index's size, then items put (new ones, new terms of held ones, ones
 * older than those held), clears and look-ups, each from a few bytes,
 * with terms of a small alphabet so that chains cross, grow past
 * HF_DEDUP_RARE and lose their oldest links.  The model keeps every
 * held item in an array and answers each look-up by reading all of
 * them; any difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXCAP 128

struct item {
	int64_t id, first_seen, t;
	int64_t term[DEDUP_MAX_INDEX];
	size_t n;
};

struct model {
	struct item held[MAXCAP];
	size_t n, cap;
};

static size_t at;
static const uint8_t *in;
static size_t len;

/* dedup_index_put of item id, its feed a function of it. */
static int put(struct dedup_index *ix, int64_t id, int64_t fs, int64_t pub,
               const int64_t *terms, size_t n)
{
	struct dedup_index_item it;

	memset(&it, 0, sizeof it);
	it.id = id;
	it.first_seen = fs;
	it.published = pub;
	it.feed_id = id % 5;
	it.title_norm = id % 2 ? "ny plan" : NULL;
	it.merged = id % 3 == 0;
	return dedup_index_put(ix, &it, terms, n);
}

static unsigned next(void)
{
	return at < len ? in[at++] : 0;
}

static void set_terms(struct item *it, const int64_t *terms, size_t n)
{
	it->n = 0;
	if (n > DEDUP_MAX_INDEX)
		n = DEDUP_MAX_INDEX;
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < it->n && it->term[j] != terms[i]; j++)
			;
		if (j == it->n)
			it->term[it->n++] = terms[i];
	}
}

static void model_put(struct model *m, int64_t id, int64_t fs, int64_t pub,
                      const int64_t *terms, size_t n)
{
	struct item *it;

	if (m->n && id <= m->held[m->n - 1].id) {
		for (size_t i = 0; i < m->n; i++)
			if (m->held[i].id == id) {
				m->held[i].t = pub != HF_NOTIME ? pub : m->held[i].first_seen;
				set_terms(&m->held[i], terms, n);
			}
		return;
	}
	if (m->n == m->cap) {
		memmove(m->held, m->held + 1, (m->n - 1) * sizeof *m->held);
		m->n--;
	}
	it = &m->held[m->n++];
	it->id = id;
	it->first_seen = fs;
	it->t = pub != HF_NOTIME ? pub : fs;
	set_terms(it, terms, n);
}

static int has(const struct item *it, int64_t term)
{
	for (size_t k = 0; k < it->n; k++)
		if (it->term[k] == term)
			return 1;
	return 0;
}

/* dedup.h's rules, read plainly. */
static size_t model_candidates(const struct model *m, const int64_t *terms,
                               size_t nterms, int64_t title_term, int64_t t,
                               int64_t window, int64_t *ids, int *hits,
                               size_t max)
{
	int weight[MAXCAP] = {0};
	size_t a, i, j, k = 0;

	for (a = 0; a < m->n && m->held[a].first_seen < t - window - HF_DEDUP_AHEAD_S;
	     a++)
		;
	for (i = 0; i < nterms; i++) {
		size_t with = 0;

		for (j = a; j < m->n; j++)
			with += has(&m->held[j], terms[i]);
		if (with > HF_DEDUP_RARE)
			continue;
		for (j = a; j < m->n; j++)
			if (has(&m->held[j], terms[i]) && m->held[j].t >= t - window &&
			    m->held[j].t <= t + window)
				weight[j] += terms[i] == title_term ? 1 + DEDUP_MAX_INDEX : 1;
	}
	/* Best first: by weight, then the newest. */
	while (k < max) {
		size_t best = m->n;

		for (j = 0; j < m->n; j++)
			if (weight[j] > 0 && (best == m->n || weight[j] > weight[best] ||
			    (weight[j] == weight[best] && m->held[j].id > m->held[best].id)))
				best = j;
		if (best == m->n)
			break;
		ids[k] = m->held[best].id;
		hits[k++] = weight[best];
		weight[best] = 0;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct dedup_index *ix = NULL;
	int64_t id = 0, fs = 1000000, terms[DEDUP_MAX_INDEX + 2];
	int64_t ids[2][24];
	int hits[2][24];

	in = data;
	len = size;
	at = 0;
	m.n = 0;
	m.cap = 1 + next() % MAXCAP;
	if (dedup_index_new(m.cap, &ix))
		abort();
	while (at < len) {
		unsigned op = next(), n = next() % (DEDUP_MAX_INDEX + 2);
		int64_t pub = HF_NOTIME, t, window;
		size_t i, got, want, max;

		for (i = 0; i < n; i++)
			terms[i] = (int64_t)(next() % 12) - 2;   /* 0 and negatives too */
		if (next() & 1)
			pub = fs + (int64_t)(next() % 9) * 3600 * 24 - 4 * 3600 * 24;
		switch (op % 8) {
		case 0: case 1: case 2:   /* a new item */
			id += 1 + op / 8 % 3;
			fs += (int64_t)(op / 32) * 3600 * 12;
			if (put(ix, id, fs, pub, terms, n))
				abort();
			model_put(&m, id, fs, pub, terms, n);
			break;
		case 3: case 4:           /* new terms of an item, held or not */
			t = id - (int64_t)(op / 8);
			if (put(ix, t, fs, pub, terms, n))
				abort();
			model_put(&m, t, fs, pub, terms, n);
			break;
		case 5:
			if (op / 8 == 0) {
				dedup_index_clear(ix);
				m.n = 0;
			}
			break;
		default:                  /* a look-up */
			t = fs - (int64_t)(op / 8 % 16) * 3600 * 12;
			window = (int64_t)(1 + next() % 10) * 3600 * 24;
			max = 1 + next() % 24;
			got = dedup_index_candidates(ix, terms, n, n ? terms[n - 1] : 0,
			                             t, window, ids[0], hits[0], max);
			want = model_candidates(&m, terms, n > DEDUP_MAX_INDEX ?
			                        DEDUP_MAX_INDEX : n,
			                        n ? terms[n - 1] : 0, t, window,
			                        ids[1], hits[1], max);
			if (got != want || memcmp(ids[0], ids[1], got * sizeof ids[0][0]) ||
			    memcmp(hits[0], hits[1], got * sizeof hits[0][0]))
				abort();
			/* What it holds of each found item. */
			for (i = 0; i < got; i++) {
				struct dedup_index_item it;

				if (!dedup_index_item(ix, ids[0][i], &it) ||
				    it.feed_id != ids[0][i] % 5 ||
				    !it.title_norm != !(ids[0][i] % 2) ||
				    it.merged != (ids[0][i] % 3 == 0))
					abort();
			}
			break;
		}
		if (dedup_index_count(ix) != m.n)
			abort();
	}
	dedup_index_free(ix);
	return 0;
}
