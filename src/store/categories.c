/*
 * categories.c - the categories of an item: a row of item_categories per
 * category and origin (schema.c), written in the open ingest; see
 * store.h, store_item_set_categories.
 */
#include <stdio.h>

#include "store_int.h"

/* The origins of store.h, as item_categories names them. */
static const struct {
	unsigned bit;
	const char *name;
} origins[] = {
	{STORE_CAT_ENTRY, "entry"},
	{STORE_CAT_FEED, "feed"},
	{STORE_CAT_RULE, "rule"},
};

#define ORIGINS_ALL (STORE_CAT_ENTRY | STORE_CAT_FEED | STORE_CAT_RULE)

/* A [category] name: [a-z0-9_-]+ (config.h). */
static int valid_name(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int store__categories_check(struct store *st,
                            const struct store_category *cats, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!valid_name(cats[i].name))
			return store__failmsg(st, HF_EINVAL, "bad category name",
			                      cats[i].name ? cats[i].name : "(null)");
		if (!cats[i].origins || (cats[i].origins & ~ORIGINS_ALL))
			return store__failmsg(st, HF_EINVAL,
			                      "bad origins of category", cats[i].name);
	}
	return HF_OK;
}

int store__categories_put(struct store *st, int64_t id,
                          const struct store_category *cats, size_t n,
                          int clear)
{
	sqlite3_stmt *s;
	int rc;

	if (clear) {
		if (!(s = store__stmt(st, S_CATS_CLEAR)))
			return HF_EDB;
		if ((rc = store__run(st, s, sqlite3_bind_int64(s, 1, id),
		                     "cannot clear item categories")))
			return rc;
	}
	if (!n)
		return HF_OK;
	if (!(s = store__stmt(st, S_CAT_ADD)))
		return HF_EDB;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof origins / sizeof origins[0]; k++) {
			if (!(cats[i].origins & origins[k].bit))
				continue;
			if ((rc = store__run(st, s,
			                     sqlite3_bind_int64(s, 1, id) |
			                     bind_text(s, 2, cats[i].name) |
			                     bind_text(s, 3, origins[k].name),
			                     "cannot store item category")))
				return rc;
		}
	return HF_OK;
}

/* 1 when item `id` exists, 0 when not, HF_EDB. */
static int item_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store__stmt(st, S_ITEM_EXISTS);
	int rc;

	if (!s)
		return HF_EDB;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc == SQLITE_ROW;
	return store__fail(st, "cannot look up item %lld", (long long)id);
}

int store_item_set_categories(struct store_ingest *in, int64_t item_id,
                              const struct store_category *cats, size_t n)
{
	struct store *st = in->st;
	int rc;

	if (in->failed)
		return in->failed;
	/* A bad argument changes nothing, and the ingest goes on. */
	if ((rc = store__categories_check(st, cats, n)))
		return rc;
	if ((rc = item_exists(st, item_id)) == 0) {
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)item_id);
		return store__failmsg(st, HF_EINVAL, "no item", id);
	}
	if (rc < 0 || (rc = store__categories_put(st, item_id, cats, n, 1)))
		return in->failed = rc;
	return HF_OK;
}
