/*
 * store_catset.c - category sets: the categories of an item, with their
 * origins, stored once per database (category_sets) and referenced by
 * every item that has the same ones (items.catset).  A feed's items share
 * a handful of sets, so the ids are cached: a new item's categories cost
 * a hash probe here and one integer in its row.  See store_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "helsefeed/norm.h"
#include "store_int.h"

/* Slots of the cache (a power of two), and the sets it holds before it
 * starts over: a database has a few dozen sets. */
#define CATSET_SLOTS 1024u
#define CATSET_MAX   (CATSET_SLOTS / 2)

#define FNV_OFFSET 0xcbf29ce484222325ULL

struct catset_slot {
	uint64_t hash;                /* of detail */
	int64_t id;                   /* 0: empty slot */
	char *detail;
};

struct store_catsets {
	struct catset_slot slot[CATSET_SLOTS];
	size_t used;
	size_t *order;                /* scratch: indexes sorted by name */
	size_t cap;
	struct buf detail, names;
};

static const char *const origin_name[] = {"entry", "feed", "rule"};
static const unsigned origin_bit[] = {STORE_CAT_ENTRY, STORE_CAT_FEED,
                                      STORE_CAT_RULE};

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

void store__catsets_forget(struct store *st)
{
	struct store_catsets *cs = st->catsets;

	if (!cs)
		return;
	for (size_t i = 0; i < CATSET_SLOTS; i++) {
		free(cs->slot[i].detail);
		cs->slot[i].detail = NULL;
		cs->slot[i].id = 0;
	}
	cs->used = 0;
}

void store__catsets_free(struct store *st)
{
	struct store_catsets *cs = st->catsets;

	if (!cs)
		return;
	store__catsets_forget(st);
	free(cs->order);
	buf_free(&cs->detail);
	buf_free(&cs->names);
	free(cs);
	st->catsets = NULL;
}

/* cs->detail and cs->names of the n categories: sorted by name, a name
 * given twice merged.  HF_EINVAL names the bad category. */
static int describe(struct store *st, struct store_catsets *cs,
                    const struct store_category *c, size_t n)
{
	size_t i, j, k;
	unsigned o;
	int rc = HF_OK;

	if (n > cs->cap) {
		size_t *v = realloc(cs->order, n * sizeof *v);

		if (!v)
			return HF_ENOMEM;
		cs->order = v;
		cs->cap = n;
	}
	for (i = 0; i < n; i++) {
		if (!valid_name(c[i].name))
			return store__failmsg(st, HF_EINVAL, "bad category name",
			                      c[i].name ? c[i].name : "(null)");
		if (!c[i].origins || (c[i].origins & ~(STORE_CAT_FEED |
		    STORE_CAT_RULE | STORE_CAT_ENTRY)))
			return store__failmsg(st, HF_EINVAL,
			                      "bad origins of category", c[i].name);
		/* Insertion sort: an item has a few categories. */
		for (j = i; j > 0 && strcmp(c[cs->order[j - 1]].name, c[i].name) > 0; j--)
			cs->order[j] = cs->order[j - 1];
		cs->order[j] = i;
	}
	buf_clear(&cs->detail);
	buf_clear(&cs->names);
	for (i = 0; i < n && !rc; i = j) {
		const char *name = c[cs->order[i]].name;

		o = 0;
		for (j = i; j < n && strcmp(c[cs->order[j]].name, name) == 0; j++)
			o |= c[cs->order[j]].origins;
		if (cs->names.len)
			rc = buf_putc(&cs->names, ',');
		if (!rc)
			rc = buf_puts(&cs->names, name);
		for (k = 0; k < 3 && !rc; k++) {
			if (!(o & origin_bit[k]))
				continue;
			if (cs->detail.len)
				rc = buf_putc(&cs->detail, ' ');
			if (!rc && !(rc = buf_puts(&cs->detail, name)) &&
			    !(rc = buf_putc(&cs->detail, '/')))
				rc = buf_puts(&cs->detail, origin_name[k]);
		}
	}
	return rc;
}

/* The set's id from category_sets, inserting it when absent. */
static int lookup(struct store *st, struct store_catsets *cs, int64_t *id)
{
	sqlite3_stmt *s = store__stmt(st, S_CATSET_FIND);
	int rc;

	if (!s)
		return HF_EDB;
	if (bind_text(s, 1, cs->detail.data) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store__fail(st, "cannot look up category set '%s'",
		                   cs->detail.data);
	if (*id)
		return HF_OK;
	if (!(s = store__stmt(st, S_CATSET_ADD)))
		return HF_EDB;
	if ((rc = store__run(st, s, bind_text(s, 1, cs->detail.data) |
	                     bind_text(s, 2, cs->names.data),
	                     "cannot store category set")))
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	return HF_OK;
}

int store__catset(struct store *st, const struct store_category *cats,
                  size_t n, int64_t *id)
{
	struct store_catsets *cs = st->catsets;
	struct catset_slot *sl;
	uint64_t h;
	size_t i;
	int rc;

	*id = 0;
	if (!n)
		return HF_OK;
	if (!cs && !(cs = st->catsets = calloc(1, sizeof *cs)))
		return HF_ENOMEM;
	if ((rc = describe(st, cs, cats, n)))
		return rc;
	h = norm_fnv1a(FNV_OFFSET, cs->detail.data, cs->detail.len);
	for (i = h & (CATSET_SLOTS - 1); cs->slot[i].id;
	     i = (i + 1) & (CATSET_SLOTS - 1))
		if (cs->slot[i].hash == h && strcmp(cs->slot[i].detail,
		                                    cs->detail.data) == 0) {
			*id = cs->slot[i].id;
			return HF_OK;
		}
	if ((rc = lookup(st, cs, id)))
		return rc;
	if (cs->used == CATSET_MAX) {
		store__catsets_forget(st);
		i = h & (CATSET_SLOTS - 1);
	}
	sl = &cs->slot[i];
	if (!(sl->detail = strdup(cs->detail.data)))
		return HF_OK;         /* not cached: asked again next time */
	sl->hash = h;
	sl->id = *id;
	cs->used++;
	return HF_OK;
}
