/* test_dedup_cache.c - the candidate index in memory (src/store/dedup_cache.h):
 * windows, removal, and its bound on memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/store/dedup_cache.h"

#define W (7 * 24 * 3600)
#define T0 1709280000

static struct dedup_sig sig;

/* The index keys of title_norm "sak<i> helseplan", as the store makes
 * them: the item's own word and one that every item shares. */
static size_t keys_of(int64_t i, char *title, size_t size, uint64_t *keys)
{
	snprintf(title, size, "sak%lld helseplan", (long long)i);
	dedup_sig_title(&sig, title, 0);
	return dedup_sig_keys(&sig, keys, DEDUP_MAX_KEYS);
}

static void add(struct dcache *c, int64_t i, int64_t t)
{
	uint64_t keys[DEDUP_MAX_KEYS];
	char title[64];
	size_t n = keys_of(i, title, sizeof title, keys);
	struct dcache_item it = {i + 1, 1, t, 0, title, 0};

	assert_int_equal(n, 2);
	assert_int_equal(dcache_add(c, &it, 0, keys, n, 1), 0);
}

/* Candidates of item i's own word at time t: how many, the best's id. */
static size_t find(struct dcache *c, int64_t i, int64_t t, int64_t *id)
{
	struct dcache_item items[4];
	uint64_t keys[DEDUP_MAX_KEYS];
	char title[64];
	int hits[4];
	size_t n = 0, k;

	keys_of(i, title, sizeof title, keys);
	/* the word of i: the key that is not "helseplan" (longest first) */
	k = strlen(title) - strlen(" helseplan") > strlen("helseplan") ? 0 : 1;
	dcache_candidates(c, t - W, t + W, 0, &keys[k], 1, items, hits, 4, &n);
	if (n)
		*id = items[0].id;
	return n;
}

static void window_finds_only_what_it_spans(void **state)
{
	struct dcache *c = NULL;
	int64_t b, id = 0;

	(void)state;
	assert_int_equal(dcache_new(&c), 0);
	dcache_clear(c, W);
	for (b = dcache_bucket(c, T0 - 3 * W); b <= dcache_bucket(c, T0 + 3 * W); b++)
		assert_int_equal(dcache_open_bucket(c, b, 1), 0);
	add(c, 0, T0);
	add(c, 1, T0 + 2 * W + 60);
	assert_int_equal(find(c, 0, T0 + 3600, &id), 1);
	assert_int_equal(id, 1);
	/* two windows away: not a candidate */
	assert_int_equal(find(c, 1, T0, &id), 0);
	assert_int_equal(find(c, 1, T0 + 2 * W, &id), 1);
	assert_int_equal(id, 2);
	dcache_remove(c, 1, T0, 1);
	assert_int_equal(find(c, 0, T0, &id), 0);
	dcache_free(c);
}

/* Candidates of the word every item shares in [lo, hi]: their ids in
 * ids[], newest first. */
static size_t shared(struct dcache *c, int64_t lo, int64_t hi, int64_t *ids)
{
	struct dcache_item items[64];
	uint64_t key;
	int hits[64];
	size_t n = 0, i;

	dedup_sig_title(&sig, "helseplan", 0);
	assert_int_equal(dedup_sig_keys(&sig, &key, 1), 1);
	dcache_candidates(c, lo, hi, 0, &key, 1, items, hits, 64, &n);
	for (i = 0; i < n; i++) {
		assert_int_equal(hits[i], 1);
		ids[i] = items[i].id;
	}
	return n;
}

/* A common word's walk: the newest DCACHE_KEY_ROWS in the window, the
 * dead skipped, no more than DCACHE_KEY_SCAN postings looked at; past a
 * few postings a word's newest are kept apart from the rest. */
static void common_word_reads_its_newest_postings(void **state)
{
	struct dcache *c = NULL;
	int64_t ids[64], i;

	(void)state;
	assert_int_equal(dcache_new(&c), 0);
	dcache_clear(c, W);
	for (i = dcache_bucket(c, T0 - W); i <= dcache_bucket(c, T0 + W); i++)
		assert_int_equal(dcache_open_bucket(c, i, 1), 0);
	assert_int_equal(dcache_bucket(c, T0), dcache_bucket(c, T0 + 40));
	for (i = 0; i < 40; i++)
		add(c, i, T0 + i);               /* id i + 1 */
	assert_int_equal(shared(c, T0 - W, T0 + W, ids), DCACHE_KEY_ROWS);
	for (i = 0; i < DCACHE_KEY_ROWS; i++)
		assert_int_equal(ids[i], 40 - i);
	dcache_remove(c, 40, T0 + 39, 1);
	assert_int_equal(shared(c, T0 - W, T0 + W, ids), DCACHE_KEY_ROWS);
	assert_int_equal(ids[0], 39);
	assert_int_equal(ids[DCACHE_KEY_ROWS - 1], 40 - DCACHE_KEY_ROWS);
	/* ids 1-20 in the window; the scan stops at the 32 newest, id 9 */
	assert_int_equal(shared(c, T0 - W, T0 + 19, ids), 20 - 40 + DCACHE_KEY_SCAN);
	assert_int_equal(ids[0], 20);
	assert_int_equal(ids[20 - 40 + DCACHE_KEY_SCAN - 1], 40 - DCACHE_KEY_SCAN + 1);
	dcache_free(c);
}

/* More items than the bound in the one window being read: the cache
 * keeps the newer ones and never holds more than DCACHE_MAX_ITEMS. */
static void memory_is_bounded_when_the_window_overflows(void **state)
{
	struct dcache *c = NULL;
	int64_t b, i, id = 0, n = DCACHE_MAX_ITEMS + DCACHE_MAX_ITEMS / 2;

	(void)state;
	assert_int_equal(dcache_new(&c), 0);
	dcache_clear(c, W);
	for (b = dcache_bucket(c, T0 - W); b <= dcache_bucket(c, T0 + W); b++)
		assert_int_equal(dcache_open_bucket(c, b, 1), 0);
	for (i = 0; i < n; i++) {
		add(c, i, T0 + i % 3600);
		assert_true(dcache_held(c) <= DCACHE_MAX_ITEMS);
	}
	assert_true(dcache_held(c) >= DCACHE_MAX_ITEMS / 2);
	/* the newest are still found, also those that went through a
	 * compaction; the oldest were let go */
	assert_int_equal(find(c, n - 1, T0, &id), 1);
	assert_int_equal(id, n);
	i = DCACHE_MAX_ITEMS - DCACHE_MAX_ITEMS / 5;   /* kept by a compaction */
	assert_int_equal(find(c, i, T0, &id), 1);
	assert_int_equal(id, i + 1);
	assert_int_equal(find(c, 0, T0, &id), 0);
	dcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_finds_only_what_it_spans),
		cmocka_unit_test(common_word_reads_its_newest_postings),
		cmocka_unit_test(memory_is_bounded_when_the_window_overflows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
