/* store.c - the SQLite database: open, migrate, feeds, fetch records; see
 * store.h.  Ingest is in store_ingest.c, the SQL in store_schema.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "store_int.h"

/* Another helsefeed process (`fetch` by hand, `digest`) may hold the write
 * lock for one feed's transaction, which takes milliseconds; five seconds
 * of waiting only runs out when something is truly stuck. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* 4 MiB of page cache (SQLite's default is 2 MiB) holds the hot pages
 * of the item indices for the few hundred items a day of the sector; 16
 * MiB made a first pass of 20,000 items 5-10 % quicker, and the daemon's
 * memory 12 MiB larger for good (bench/soak/README.md). */
#define STORE_CACHE_KIB 4096
/* After a transaction of tens of megabytes (a first fetch of a big
 * archive) the WAL file is cut back to 64 MiB at the next checkpoint,
 * not left at its largest.  The checkpoints themselves are SQLite's
 * automatic ones and store_checkpoint's (the daemon's, after each
 * publish). */
#define STORE_WAL_LIMIT 67108864
/* SQLite's automatic checkpoint runs when the WAL holds this many pages
 * (40 MiB; SQLite's default is 1000): each copies a page once however
 * often it changed since, and syncs twice.  At 1000 a first fetch of
 * many feeds spent a sixth of its time in checkpoints (bench/ingest:
 * 5,100 -> 6,400 entries/s).  synchronous=NORMAL syncs the WAL at a
 * checkpoint only: what a power loss may take is the commits since the
 * last one, at most this much, and never consistency. */
#define STORE_WAL_AUTOCHECKPOINT 10000
/* A statement's journal (what it changed of pages its transaction had
 * changed before, to undo the statement alone) stays in memory up to
 * this size, then goes to a temporary file (SQLite's default: 64 KiB).
 * Once one statement of a feed's transaction passed 64 KiB, every later
 * statement of it wrote its journal to that file: a first fetch of
 * 50,000 entries made 265,000 pwrite calls more, and took 3 % more
 * CPU time, most of it in the kernel (bench/fetch/README.md).  4 MiB
 * bounds what a statement may hold in memory. */
#define STORE_STMT_JOURNAL_SPILL (4 * 1024 * 1024)

#define STR_(x) #x
#define STR(x) STR_(x)

/* --- errors and statements --------------------------------------------- */

static int code_of(int sqlite_rc)
{
	return (sqlite_rc & 0xff) == SQLITE_NOMEM ? HF_ENOMEM : HF_EDB;
}

/* Log "PATH: what: sqlite message" and keep it for store_errmsg. */
int store__fail(struct store *st, const char *fmt, ...)
{
	int rc = sqlite3_errcode(st->db);
	va_list ap;

	buf_clear(&st->err);
	va_start(ap, fmt);
	if (buf_printf(&st->err, "%s: ", st->path) == 0 &&
	    buf_vprintf(&st->err, fmt, ap) == 0 &&
	    buf_printf(&st->err, ": %s", sqlite3_errmsg(st->db)) == 0)
		log_error("%s", st->err.data);
	else
		log_error("%s: database error: %s", st->path,
		          sqlite3_errmsg(st->db));
	va_end(ap);
	return rc == SQLITE_OK ? HF_EDB : code_of(rc);
}

int store__failmsg(struct store *st, int code, const char *what,
                    const char *name)
{
	buf_clear(&st->err);
	if (buf_printf(&st->err, "%s: %s '%s'", st->path, what, name) == 0)
		log_error("%s", st->err.data);
	return code;
}

const char *store_errmsg(const struct store *st)
{
	return buf_str(&st->err);
}

/* The cached statement `id`, compiled on first use; NULL on failure (the
 * message is logged). */
sqlite3_stmt *store__stmt(struct store *st, enum stmt_id id)
{
	if (!st->stmt[id] &&
	    sqlite3_prepare_v3(st->db, store__stmt_sql[id], -1,
	                       SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
	                       NULL) != SQLITE_OK) {
		store__fail(st, "cannot prepare statement %d", (int)id);
		return NULL;
	}
	return st->stmt[id];
}

/* Step a statement that returns no row, after binds that returned
 * `brc` (ORed SQLite codes), and reset it; 0 or HF_*. */
int store__run(struct store *st, sqlite3_stmt *s, int brc, const char *what)
{
	int rc = HF_OK;

	if (brc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		rc = store__fail(st, "%s", what);
	sqlite3_reset(s);
	return rc;
}

/* Run a cached statement without parameters. */
int store__run_id(struct store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = store__stmt(st, id);

	return s ? store__run(st, s, SQLITE_OK, what) : HF_EDB;
}

/* Roll back whatever is open; quiet when SQLite already rolled back. */
void store__rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)store__run_id(st, S_ROLLBACK, "cannot roll back");
}

/* --- open, migrate, close ---------------------------------------------- */

static int pragma_int(struct store *st, const char *sql, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc = HF_EDB;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int(s, 0);
	rc = HF_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* helsefeed_fnv1a(TEXT): the 64-bit FNV-1a of its bytes (NULL for NULL),
 * the key of items_canon_hash.  Bound to this connection only and never
 * named by the schema: another tool can read the file without it. */
static void sql_fnv1a(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *t;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    !(t = sqlite3_value_text(argv[0]))) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_int64(ctx, (sqlite3_int64)norm_fnv1a(NORM_FNV_INIT, t,
	                     (size_t)sqlite3_value_bytes(argv[0])));
}

static int open_db(struct store *st, int readonly)
{
	const char *jmode;
	sqlite3_stmt *s = NULL;
	const char *what = "cannot open database";
	int version = 0, rc;

	if (sqlite3_open_v2(st->path, &st->db,
	                    (readonly ? SQLITE_OPEN_READONLY :
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
	                    NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* Nothing from a feed ever becomes schema; refuse what could.  The
	 * schema itself is trusted: it is ours (schema.c), in the service's
	 * own file, and the triggers that keep items_fts current need a
	 * virtual table, which SQLite allows in a trigger only then. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 1, NULL);
	/* The first read of the file: a missing directory, a permission
	 * problem or a file that is no database shows here. */
	if (pragma_int(st, "PRAGMA user_version", &version))
		goto dberr;
	if ((rc = store__schema_check(st, version)))
		return rc;
	/* A reader beside the daemon: never upgrades, never writes. */
	if (readonly && version != STORE_SCHEMA_VERSION) {
		buf_clear(&st->err);
		if (buf_printf(&st->err, "%s: schema version %d; the next fetch or "
		               "start of the service upgrades it to %d", st->path,
		               version, STORE_SCHEMA_VERSION))
			buf_clear(&st->err);
		return HF_EVERSION;
	}
	if (readonly) {
		st->readonly = 1;
		return sqlite3_exec(st->db, "PRAGMA foreign_keys = ON;", NULL, NULL, NULL)
		       == SQLITE_OK ? HF_OK : HF_EDB;
	}
	what = "cannot set up database";
	/* WAL: readers never block the writer, and a crash cannot corrupt
	 * the file.  synchronous=NORMAL syncs the WAL at checkpoints only: a
	 * power loss may lose the last commits, never consistency. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	                       NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		goto dberr;
	jmode = (const char *)sqlite3_column_text(s, 0);
	if (!jmode || sqlite3_stricmp(jmode, "wal") != 0)
		log_warn("%s: journal mode is '%s', not WAL", st->path,
		         jmode ? jmode : "unknown");
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_exec(st->db, "PRAGMA foreign_keys = ON;"
	                 "PRAGMA synchronous = NORMAL;"
	                 "PRAGMA cache_size = -" STR(STORE_CACHE_KIB) ";"
	                 "PRAGMA wal_autocheckpoint = "
	                 STR(STORE_WAL_AUTOCHECKPOINT) ";"
	                 "PRAGMA journal_size_limit = "
	                 STR(STORE_WAL_LIMIT) ";",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "helsefeed_fnv1a", 1,
	                               SQLITE_UTF8 | SQLITE_DETERMINISTIC |
	                               SQLITE_DIRECTONLY, NULL, sql_fnv1a,
	                               NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return store__schema_ensure(st, version);
dberr:
	rc = st->db ? code_of(sqlite3_errcode(st->db)) : HF_ENOMEM;
	/* A reader of a WAL database needs its -wal and -shm files: the
	 * service keeps them while it runs; else they are made beside the
	 * database, which a reader who may not write there cannot. */
	if (readonly && st->db &&
	    (sqlite3_extended_errcode(st->db) & 0xff) == SQLITE_READONLY)
		store__open_fail(st, rc, "%s: %s (reading needs the service running, or "
		        "write access to the database's directory)", what,
		        sqlite3_errmsg(st->db));
	else
		store__open_fail(st, rc, "%s: %s", what,
		        st->db ? sqlite3_errmsg(st->db) : "out of memory");
	sqlite3_finalize(s);
	return rc;
}

static int open_store(const char *path, int readonly, struct store **out,
                      struct buf *err)
{
	struct store *st;
	const char *text = NULL;
	int rc = HF_ENOMEM;

	/* Before SQLite's first use in the process, or not at all (a caller
	 * that opened a database of its own first keeps the default). */
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STORE_STMT_JOURNAL_SPILL);
	st = calloc(1, sizeof *st);
	if (!st || !(st->path = strdup(path)))
		goto fail;
	if ((rc = open_db(st, readonly)))
		goto fail;
	*out = st;
	return HF_OK;
fail:
	if (st && st->err.len)
		text = st->err.data;
	if (!err || (text ? buf_puts(err, text) :
	             buf_printf(err, "%s: cannot open database: %s", path,
	                        hf_strerror(rc)))) {
		if (text)
			log_error("%s", text);
		else
			log_error("%s: cannot open database: %s", path,
			          hf_strerror(rc));
	}
	store_close(st);
	return rc;
}

int store_open(const char *path, struct store **out, struct buf *err)
{
	return open_store(path, 0, out, err);
}

int store_open_readonly(const char *path, struct store **out, struct buf *err)
{
	return open_store(path, 1, out, err);
}

void store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	if (st->ingest)
		store_ingest_abort(st->ingest);
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db && !st->readonly) {
		/* SQLite's advice for long-lived connections: refresh the
		 * planner's statistics where they went stale.  analysis_limit
		 * bounds the ANALYZE it may run: a full one over a million
		 * items takes over a second on every close. */
		sqlite3_exec(st->db, "PRAGMA analysis_limit = 400; PRAGMA optimize",
		             NULL, NULL, NULL);
	}
	sqlite3_close(st->db);
	buf_free(&st->err);
	free(st->path);
	free(st);
}

int store_checkpoint(struct store *st)
{
	int rc;

	if ((rc = store__check_idle(st, "checkpoint")))
		return rc;
	/* PRAGMA wal_checkpoint(PASSIVE): copies what no reader still needs
	 * and waits for nobody. */
	if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	                              NULL, NULL) != SQLITE_OK)
		return store__fail(st, "cannot checkpoint the write-ahead log");
	return HF_OK;
}

/* --- feeds ------------------------------------------------------------- */

/* Id of feed `name`: 0, HF_EINVAL when unknown, HF_EDB. */
int store__feed_id(struct store *st, const char *name, int64_t *id)
{
	sqlite3_stmt *s = store__stmt(st, S_FEED_ID);
	int rc;

	if (!s)
		return HF_EDB;
	if (bind_text(s, 1, name) != SQLITE_OK)
		rc = store__fail(st, "cannot look up feed '%s'", name);
	else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = HF_OK;
	} else if (rc == SQLITE_DONE)
		rc = store__failmsg(st, HF_EINVAL, "unknown feed", name);
	else
		rc = store__fail(st, "cannot look up feed '%s'", name);
	sqlite3_reset(s);
	return rc;
}

/* Writes other than an ingest must not nest inside one. */
int store__check_idle(struct store *st, const char *what)
{
	if (!st->ingest)
		return HF_OK;
	buf_clear(&st->err);
	if (buf_printf(&st->err, "%s: cannot %s while the ingest of feed '%s' "
	               "is open", st->path, what, st->ingest->name) == 0)
		log_error("%s", st->err.data);
	return HF_EINVAL;
}

int store_sync_feeds(struct store *st, const struct config *cfg)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((rc = store__check_idle(st, "sync the feed list")) ||
	    (rc = store__run_id(st, S_BEGIN, "cannot begin transaction")))
		return rc;
	if ((rc = store__run_id(st, S_FEEDS_DEACTIVATE, "cannot mark feeds inactive")))
		goto out;
	if (!(s = store__stmt(st, S_FEED_UPSERT))) {
		rc = HF_EDB;
		goto out;
	}
	for (i = 0; i < cfg->nfeeds; i++) {
		const struct config_feed *f = &cfg->feeds[i];
		int b = bind_text(s, 1, f->name) | bind_text(s, 2, f->url) |
		        bind_text(s, 3, config_kind_name(f->kind)) |
		        bind_text(s, 4, f->title);

		if (b != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
			rc = store__fail(st, "cannot store feed '%s'", f->name);
			sqlite3_reset(s);
			goto out;
		}
		sqlite3_reset(s);
	}
	rc = store__run_id(st, S_COMMIT, "cannot commit the feed list");
out:
	if (rc)
		store__rollback(st);
	return rc;
}

/* Copy text column i (NULL stays NULL). */
static int dup_col(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;

	if (sqlite3_column_type(s, i) == SQLITE_NULL) {
		*out = NULL;
		return HF_OK;
	}
	t = sqlite3_column_text(s, i);
	*out = t ? strdup((const char *)t) : NULL;
	return *out ? HF_OK : HF_ENOMEM;
}

/* Fill o from a row of FEED_STATE_COLS. */
static int read_state(sqlite3_stmt *s, struct store_feed_state *o)
{
	int rc;

	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(s, 0);
	o->next_fetch = sqlite3_column_int64(s, 5);
	o->last_attempt = sqlite3_column_int64(s, 6);
	o->last_success = sqlite3_column_int64(s, 7);
	o->failing_since = sqlite3_column_int64(s, 8);
	o->retry_after = sqlite3_column_int64(s, 9);
	o->failures = sqlite3_column_int(s, 10);
	o->gone = sqlite3_column_int(s, 11);
	o->last_status = sqlite3_column_int(s, 12);
	o->items = sqlite3_column_int64(s, 15);
	o->active = sqlite3_column_int(s, 16);
	o->last_new = sqlite3_column_int64(s, 17);
	if ((rc = dup_col(s, 1, &o->name)) || (rc = dup_col(s, 2, &o->url)) ||
	    (rc = dup_col(s, 3, &o->etag)) ||
	    (rc = dup_col(s, 4, &o->last_modified)) ||
	    (rc = dup_col(s, 13, &o->last_error)) ||
	    (rc = dup_col(s, 14, &o->moved_to)))
		store_feed_state_clear(o);
	return rc;
}

int store_feed_state(struct store *st, const char *name,
                     struct store_feed_state *out)
{
	struct store_feed_state tmp;
	sqlite3_stmt *s = store__stmt(st, S_FEED_STATE);
	int rc;

	if (!s)
		return HF_EDB;
	if (bind_text(s, 1, name) != SQLITE_OK)
		rc = store__fail(st, "cannot read feed '%s'", name);
	else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = read_state(s, &tmp)) == HF_OK)
			*out = tmp;
	} else if (rc == SQLITE_DONE)
		rc = store__failmsg(st, HF_EINVAL, "unknown feed", name);
	else
		rc = store__fail(st, "cannot read feed '%s'", name);
	sqlite3_reset(s);
	return rc;
}

void store_feed_state_clear(struct store_feed_state *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->url);
	free(s->etag);
	free(s->last_modified);
	free(s->last_error);
	free(s->moved_to);
	memset(s, 0, sizeof *s);
}

int store_feed_states(struct store *st, struct store_feed_state **out,
                      size_t *n)
{
	struct store_feed_state *v = NULL, *nv;
	sqlite3_stmt *s = store__stmt(st, S_FEED_STATES);
	size_t len = 0, cap = 0;
	int rc;

	if (!s)
		return HF_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(nv = realloc(v, cap * sizeof *v))) {
				rc = HF_ENOMEM;
				goto out;
			}
			v = nv;
		}
		if ((rc = read_state(s, &v[len])))
			goto out;
		len++;
	}
	if (rc != SQLITE_DONE) {
		rc = store__fail(st, "cannot list feeds");
		goto out;
	}
	*out = v;
	*n = len;
	v = NULL;
	len = 0;
	rc = HF_OK;
out:
	sqlite3_reset(s);
	store_feed_states_free(v, len);
	return rc;
}

void store_feed_states_free(struct store_feed_state *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_feed_state_clear(&v[i]);
	free(v);
}

/* --- fetch records ----------------------------------------------------- */

/* One fetches row and the feed's health, inside the open transaction. */
int store__apply_fetch(struct store *st, int64_t id, const char *name,
                       const struct store_fetch_result *r, int nnew, int nupd)
{
	sqlite3_stmt *s;
	int b;

	if (!(s = store__stmt(st, S_FETCH_INSERT)))
		return HF_EDB;
	b = sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, r->started) |
	    bind_time(s, 3, r->http_status) | sqlite3_bind_int64(s, 4, r->bytes) |
	    sqlite3_bind_int64(s, 5, r->duration_ms) |
	    sqlite3_bind_int(s, 6, nnew) | sqlite3_bind_int(s, 7, nupd) |
	    sqlite3_bind_int(s, 8, !!r->not_modified) |
	    bind_text(s, 9, r->error);
	if (b != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		b = store__fail(st, "cannot record fetch of feed '%s'", name);
		sqlite3_reset(s);
		return b;
	}
	sqlite3_reset(s);

	if (!r->error) {
		if (!(s = store__stmt(st, S_HEALTH_OK)))
			return HF_EDB;
		b = sqlite3_bind_int64(s, 1, id) |
		    sqlite3_bind_int64(s, 2, r->started) |
		    bind_time(s, 3, r->http_status) |
		    bind_time(s, 4, r->next_fetch) |
		    bind_time(s, 5, r->retry_after) |
		    sqlite3_bind_int(s, 6, !!r->gone) |
		    bind_text(s, 7, r->etag) | bind_text(s, 8, r->last_modified) |
		    sqlite3_bind_int(s, 9, !!r->not_modified) |
		    bind_text(s, 10, r->moved_to);
	} else {
		if (!(s = store__stmt(st, S_HEALTH_ERR)))
			return HF_EDB;
		b = sqlite3_bind_int64(s, 1, id) |
		    sqlite3_bind_int64(s, 2, r->started) |
		    bind_time(s, 3, r->http_status) | bind_text(s, 4, r->error) |
		    bind_time(s, 5, r->next_fetch) |
		    bind_time(s, 6, r->retry_after) |
		    sqlite3_bind_int(s, 7, !!r->gone);
	}
	if (b != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		b = store__fail(st, "cannot update health of feed '%s'", name);
		sqlite3_reset(s);
		return b;
	}
	sqlite3_reset(s);
	return HF_OK;
}

int store_record_fetch(struct store *st, const char *feed_name,
                       const struct store_fetch_result *res)
{
	int64_t id;
	int rc;

	if ((rc = store__check_idle(st, "record a fetch")) ||
	    (rc = store__run_id(st, S_BEGIN, "cannot begin transaction")))
		return rc;
	if ((rc = store__feed_id(st, feed_name, &id)) ||
	    (rc = store__apply_fetch(st, id, feed_name, res, res->items_new,
	                      res->items_updated)))
		goto out;
	rc = store__run_id(st, S_COMMIT, "cannot commit fetch record");
out:
	if (rc)
		store__rollback(st);
	return rc;
}

/* --- queries ----------------------------------------------------------- */

int store_count_items(struct store *st, const char *feed_name, int64_t *out)
{
	sqlite3_stmt *s = store__stmt(st, feed_name ? S_COUNT_FEED : S_COUNT_ALL);
	int rc = HF_OK;

	if (!s)
		return HF_EDB;
	if ((feed_name && bind_text(s, 1, feed_name) != SQLITE_OK) ||
	    sqlite3_step(s) != SQLITE_ROW)
		rc = store__fail(st, "cannot count items");
	else
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc;
}

int store_prune_fetches(struct store *st, int64_t before)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store__check_idle(st, "prune fetch records")))
		return rc;
	if (!(s = store__stmt(st, S_PRUNE_FETCHES)))
		return HF_EDB;
	return store__run(st, s, sqlite3_bind_int64(s, 1, before),
	           "cannot prune fetch records");
}
