/*
 * identity.c - an item's atom:id and the signature of its text: what
 * makes an entry the same entry for readers, and what makes a change a
 * correction.  See store.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "helsefeed/limits.h"
#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "store_int.h"

/*
 * The kernel's CSPRNG, read 4 KiB at a time rather than once an item (a
 * first fetch of a hundred thousand entries made as many system calls).
 * Only the daemon's own process draws from the pool: the parser host is
 * forked before the first id, and its children never make one.
 */
static unsigned char pool[4096];
static size_t pool_left;

static int random_bytes(unsigned char *r, size_t n)
{
	if (pool_left < n) {
		size_t got = 0;

		while (got < sizeof pool) {
			ssize_t k = getrandom(pool + got, sizeof pool - got, 0);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				log_error("getrandom: %s", strerror(errno));
				return HF_EIO;
			}
			got += (size_t)k;
		}
		pool_left = sizeof pool;
	}
	pool_left -= n;
	memcpy(r, pool + pool_left, n);
	memset(pool + pool_left, 0, n);   /* a byte is given out once */
	return HF_OK;
}

int store__new_atom_id(char out[STORE_ATOM_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	struct timespec ts;
	uint64_t ms;
	char *o = out;

	/* An id no feed can predict or choose, so no feed can make its
	 * entry collide with another's. */
	if (random_bytes(r, sizeof r))
		return HF_EIO;
	/* RFC 9562 5.7: version 7, the first 48 bits the Unix time in
	 * milliseconds, 74 random bits after the version and the variant
	 * (10).  Ids in the order they were given: each new one goes to the
	 * end of the index on items.atom_id, not to a random page of it,
	 * which a commit then writes whole (bench/ingest: 7 % more entries
	 * a second).  The time it tells is the item's first_seen, public in
	 * its feed already. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		r[i] = (unsigned char)(ms >> (40 - 8 * i));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x70);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	/* urn:uuid:8-4-4-4-12 hex digits */
	memcpy(o, "urn:uuid:", 9);
	o += 9;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[r[i] >> 4];
		*o++ = hex[r[i] & 15];
	}
	*o = '\0';
	return HF_OK;
}

int store_text_sig(const char *title, const char *summary,
                   const char *content, int64_t *out)
{
	const char *part[3] = {title, summary, content};
	static const size_t max[3] = {HF_MAX_TITLE, HF_MAX_SUMMARY,
	                              HF_MAX_CONTENT};
	struct buf t = BUF_INIT;
	uint64_t h = NORM_FNV_INIT;
	int rc = HF_OK;

	/* The text a reader reads: references decoded, tags gone, white
	 * space collapsed, NFC.  The parts are kept apart by a byte none
	 * of them can hold. */
	for (int i = 0; i < 3; i++) {
		buf_clear(&t);
		if (part[i] && (rc = norm_text(part[i], strlen(part[i]),
		                               i ? NORM_TEXT_HTML : NORM_TEXT_FIELD,
		                               max[i], &t, NULL)))
			goto out;
		h = norm_fnv1a(h, buf_str(&t), t.len);
		h = norm_fnv1a(h, "\x01", 1);
	}
	*out = (int64_t)h;
out:
	buf_free(&t);
	return rc;
}

/* --- the ids of items stored before schema 9 --------------------------- */

static const char *const sql_any_null =
	"SELECT 1 FROM items WHERE atom_id IS NULL LIMIT 1";
static const char *const sql_null_ids =
	"SELECT i.id, f.name, i.key, i.guid FROM items i"
	" JOIN feeds f ON f.id = i.feed_id WHERE i.atom_id IS NULL ORDER BY i.id";
/* Nothing happens when another item holds the id already. */
static const char *const sql_set_id =
	"UPDATE items SET atom_id = ?2 WHERE id = ?1 AND atom_id IS NULL"
	" AND NOT EXISTS (SELECT 1 FROM items WHERE atom_id = ?2)";

int store_assign_atom_ids(struct store *st,
                          int (*legacy)(void *ud, const char *feed,
                                        const char *key, const char *guid,
                                        struct buf *out),
                          void *ud, int64_t *n)
{
	sqlite3_stmt *sel = NULL, *set = NULL;
	struct buf id = BUF_INIT;
	char fresh[STORE_ATOM_ID_SIZE];
	int64_t count = 0;
	int rc, open = 0;

	if ((rc = store__check_idle(st, "assign atom ids")))
		return rc;
	/* Every publish asks; after the first one after an upgrade the
	 * answer is one step of items_atom_id, without the write lock. */
	if (sqlite3_prepare_v2(st->db, sql_any_null, -1, &sel, NULL) != SQLITE_OK)
		return store__fail(st, "cannot look for items without atom:id");
	rc = sqlite3_step(sel);
	sqlite3_finalize(sel);
	sel = NULL;
	if (rc == SQLITE_DONE) {
		if (n)
			*n = 0;
		return HF_OK;
	}
	if (rc != SQLITE_ROW)
		return store__fail(st, "cannot look for items without atom:id");
	if ((rc = store__run_id(st, S_BEGIN, "cannot begin transaction")))
		return rc;
	open = 1;
	if (sqlite3_prepare_v2(st->db, sql_null_ids, -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, sql_set_id, -1, &set, NULL) != SQLITE_OK) {
		rc = store__fail(st, "cannot prepare the atom:id assignment");
		goto out;
	}
	/* In id order: of two items that would share an id, the older keeps
	 * it and the later gets a new one. */
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		int64_t item = sqlite3_column_int64(sel, 0);
		const char *feed = (const char *)sqlite3_column_text(sel, 1);
		const char *key = (const char *)sqlite3_column_text(sel, 2);
		const char *guid = (const char *)sqlite3_column_text(sel, 3);

		if (!feed || !key) {
			rc = store__fail(st, "cannot read item %lld", (long long)item);
			goto out;
		}
		buf_clear(&id);
		if ((rc = legacy(ud, feed, key, guid, &id)))
			goto out;
		if ((rc = store__run(st, set, sqlite3_bind_int64(set, 1, item) |
		                     bind_text(set, 2, buf_str(&id)),
		                     "cannot store atom:id")))
			goto out;
		if (sqlite3_changes(st->db) == 0) {
			log_warn("%s: item %lld: atom:id %s is another item's; it "
			         "gets a new one", st->path, (long long)item,
			         buf_str(&id));
			if ((rc = store__new_atom_id(fresh)) ||
			    (rc = store__run(st, set, sqlite3_bind_int64(set, 1, item) |
			                     bind_text(set, 2, fresh),
			                     "cannot store atom:id")))
				goto out;
		}
		count++;
	}
	if (rc != SQLITE_DONE) {
		rc = store__fail(st, "cannot read items without atom:id");
		goto out;
	}
	sqlite3_finalize(sel);
	sel = NULL;
	rc = store__run_id(st, S_COMMIT, "cannot commit atom ids");
	open = rc != HF_OK;
	if (!rc && n)
		*n = count;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(set);
	if (rc && open)
		store__rollback(st);
	buf_free(&id);
	return rc;
}
