/*
 * store_vfs.c - the store's SQLite VFS: the default one, except that the
 * frames a connection appends to its write-ahead log reach the file a
 * commit at a time; see store_int.h.
 *
 * SQLite writes a WAL frame as two writes, its 24-byte header and its
 * page, each a system call and each a partial page of the file's page
 * cache (a frame is not page aligned).  A commit of fifty entries is some
 * forty frames, eighty calls.  Here a run of appends is gathered in memory
 * and written in one call (or a few) when the frame that carries the
 * commit mark is complete: in the write that completes it, so that a
 * failure (a full disk) is that write's error and fails the commit.
 *
 * What makes it safe:
 *   - Only appends are gathered, and only while the connection holds the
 *     log's write lock (slot 0 of the database file's shared memory, which
 *     SQLite takes for a write transaction and gives up after it; never in
 *     exclusive locking mode, which does not use it): a write that starts
 *     where the last one ended.  Anything else (a page changed again in
 *     place, the checksums SQLite rewrites after such a change, the log
 *     header) writes out what is gathered and goes straight through,
 *     inside the call that makes the commit.  So does everything after a
 *     sync but the one that follows the log header (after it, the padding
 *     of a commit to a sector).
 *   - Other connections and processes read frames only up to the end of
 *     a commit, which SQLite publishes in the wal-index after the commit's
 *     last write, the one that writes out.  This connection's own reads of
 *     the log (a page it spilled earlier in the transaction) and its
 *     syncs, truncations and size queries write out first.
 *   - What is still gathered when the transaction ends was never committed
 *     (it was rolled back): it is dropped, never written, when SQLite
 *     takes or gives up the write lock and when the log is closed.
 *     Written later, it could overwrite the frames another writer has
 *     committed since.  So the database file is wrapped too, to see that
 *     lock, and each log is tied to its connection's database file
 *     (sqlite3_database_file_object).  A log that cannot be tied is
 *     written through, as by the default VFS.
 *   - A write-out that fails makes every later read and write of the log
 *     fail too, until the transaction ends: the transaction cannot commit
 *     frames that were lost, whatever SQLite makes of the first error.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define VFS_NAME "helsefeed"
#define FRAME_HDR 24
#define LOG_HDR 32
/* Gathered at most: a bigger transaction goes out in parts of this size.
 * Below 128 KiB: the default VFS writes at most 128 KiB - 1 bytes a call
 * (it masks the length) and takes a short write for a full disk. */
#define GATHER_MAX (124 * 1024)

struct db;

struct wal {
	sqlite3_file base;
	sqlite3_file *real;        /* the default VFS's file, at REAL_OFF */
	struct db *db;             /* its connection's database file, or NULL:
	                            * write through (both are used by the
	                            * connection's thread only) */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off;         /* file offset of buf[0] */
	sqlite3_int64 next;        /* where the last write ended, or -1 */
	int commit;                /* the last write was a commit frame's
	                            * header: its page completes the commit */
	int through;               /* a sync came: write through until the
	                            * transaction ends */
	int lost;                  /* a write-out failed in this transaction */
};

struct db {
	sqlite3_file base;
	sqlite3_file *real;
	struct wal *wal;           /* the connection's log, while open */
	int held;                  /* it holds the log's write lock */
};

/* Where a wrapper's default file starts: after the bigger of the two
 * structs, aligned. */
#define REAL_OFF ((((sizeof(struct wal) > sizeof(struct db) ?              \
                    sizeof(struct wal) : sizeof(struct db)) + 15) / 16 * 16))

static sqlite3_vfs *root;
static sqlite3_vfs vfs;
static int registered;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const sqlite3_io_methods db_methods;

/* --- the log --------------------------------------------------------- */

static int put_out(struct wal *w)
{
	int rc;

	if (!w->len)
		return SQLITE_OK;
	rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
	w->len = 0;
	if (rc != SQLITE_OK)
		w->lost = 1;      /* gathered under the write lock: forget clears it */
	return rc;
}

static int gathering(const struct wal *w)
{
	return w->db && w->db->held;
}

/* The transaction ended (or begins): what is gathered was rolled back. */
static void forget(struct wal *w)
{
	w->len = 0;
	w->commit = 0;
	w->through = 0;
	w->lost = 0;
	w->next = -1;
}

static int w_close(sqlite3_file *f)
{
	struct wal *w = (struct wal *)f;
	int rc;

	if (w->db)
		w->db->wal = NULL;
	rc = w->real->pMethods->xClose(w->real);
	free(w->buf);
	w->buf = NULL;
	return rc;
}

static int w_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	struct wal *w = (struct wal *)f;
	int rc;

	if (w->lost)
		return SQLITE_IOERR_READ;
	if ((rc = put_out(w)) != SQLITE_OK)
		return rc;
	return w->real->pMethods->xRead(w->real, p, n, off);
}

/* Is this the header of a frame that marks a commit (its second word,
 * the database size after the commit, non-zero)? */
static int commit_header(const void *p, int n)
{
	const unsigned char *h = p;

	return n == FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int w_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct wal *w = (struct wal *)f;
	/* A commit frame's page, after its header: the commit's last write. */
	int end = w->commit && n != FRAME_HDR, append = off == w->next, rc;
	size_t need;

	if (w->lost)
		return SQLITE_IOERR_WRITE;
	w->commit = commit_header(p, n);
	w->next = off + n;
	if (!gathering(w) || w->through || !append || (size_t)n > GATHER_MAX ||
	    w->len + (size_t)n > GATHER_MAX) {
		if ((rc = put_out(w)) != SQLITE_OK)
			return rc;
		if (!gathering(w) || w->through || !append ||
		    (size_t)n > GATHER_MAX) {
			rc = w->real->pMethods->xWrite(w->real, p, n, off);
			if (rc != SQLITE_OK && gathering(w))
				w->lost = 1;
			return rc;
		}
	}
	need = w->len + (size_t)n;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		unsigned char *b;

		while (cap < need)
			cap *= 2;
		if (!(b = realloc(w->buf, cap))) {
			/* Unbuffered, as the default VFS would. */
			if ((rc = put_out(w)) != SQLITE_OK ||
			    (rc = w->real->pMethods->xWrite(w->real, p, n, off)) != SQLITE_OK)
				w->lost = 1;
			return rc;
		}
		w->buf = b;
		w->cap = cap;
	}
	if (!w->len)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)n);
	w->len += (size_t)n;
	return end ? put_out(w) : SQLITE_OK;
}

static int w_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wal *w = (struct wal *)f;
	int rc = w->lost ? SQLITE_IOERR_TRUNCATE : put_out(w);

	w->next = -1;
	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int w_sync(sqlite3_file *f, int flags)
{
	struct wal *w = (struct wal *)f;
	int rc = w->lost ? SQLITE_IOERR_FSYNC : put_out(w);

	/* After the sync of a new log's header come its frames; after any
	 * other sync (a commit padded to a sector: the rest of a frame split
	 * at the sync point, more padding) nothing may wait. */
	if (w->next != LOG_HDR)
		w->through = 1;
	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int w_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wal *w = (struct wal *)f;
	int rc = w->lost ? SQLITE_IOERR_FSTAT : put_out(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int w_lock(sqlite3_file *f, int lock)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xLock(w->real, lock);
}

static int w_unlock(sqlite3_file *f, int lock)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xUnlock(w->real, lock);
}

static int w_reserved(sqlite3_file *f, int *out)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int w_control(sqlite3_file *f, int op, void *arg)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xFileControl(w->real, op, arg);
}

static int w_sector(sqlite3_file *f)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xSectorSize(w->real);
}

static int w_device(sqlite3_file *f)
{
	struct wal *w = (struct wal *)f;

	return w->real->pMethods->xDeviceCharacteristics(w->real);
}

/* Version 1: a log has no shared memory and is never memory-mapped. */
static const sqlite3_io_methods wal_methods = {
	1, w_close, w_read, w_write, w_truncate, w_sync, w_size, w_lock,
	w_unlock, w_reserved, w_control, w_sector, w_device,
	NULL, NULL, NULL, NULL, NULL, NULL,
};

/* --- the database file: the default one's, and the write lock --------- */

#define REAL(f) (((struct db *)(f))->real)

static int d_close(sqlite3_file *f)
{
	struct db *d = (struct db *)f;

	if (d->wal)
		d->wal->db = NULL;
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int d_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int d_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int d_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int d_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int d_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int d_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int d_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int d_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int d_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int d_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int d_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int d_shm_map(sqlite3_file *f, int region, int size, int extend,
                     void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}

/* Slot 0 is the log's write lock (wal.c: WAL_WRITE_LOCK): taken
 * exclusively when a write transaction begins, given up when it ends. */
static int d_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	struct db *d = (struct db *)f;
	int slot0 = ofst == 0 && n >= 1 && (flags & SQLITE_SHM_EXCLUSIVE), rc;

	if (slot0) {
		if (d->wal)
			forget(d->wal);
		if (flags & SQLITE_SHM_UNLOCK)
			d->held = 0;
	}
	rc = REAL(f)->pMethods->xShmLock(REAL(f), ofst, n, flags);
	if (slot0 && (flags & SQLITE_SHM_LOCK) && rc == SQLITE_OK)
		d->held = 1;
	return rc;
}

static void d_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int d_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int d_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int d_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods db_methods = {
	3, d_close, d_read, d_write, d_truncate, d_sync, d_size, d_lock,
	d_unlock, d_reserved, d_control, d_sector, d_device,
	d_shm_map, d_shm_lock, d_shm_barrier, d_shm_unmap, d_fetch, d_unfetch,
};

/* --- the VFS -------------------------------------------------------- */

/* A main database file is a struct db and a log a struct wal, each with
 * the default VFS's file at REAL_OFF; any other file is the default
 * VFS's own, in place. */
static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f,
                  int flags, int *out)
{
	sqlite3_file *real = (sqlite3_file *)((char *)f + REAL_OFF);
	struct wal *w = (struct wal *)f;
	struct db *d = (struct db *)f;
	int rc;

	(void)v;
	if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) || !name)
		return root->xOpen(root, name, f, flags, out);
	memset(f, 0, REAL_OFF);
	rc = root->xOpen(root, name, real, flags, out);
	if (rc != SQLITE_OK) {
		if (real->pMethods)
			real->pMethods->xClose(real);
		f->pMethods = NULL;
		return rc;
	}
	if (flags & SQLITE_OPEN_MAIN_DB) {
		/* Its own methods beyond the default file's version are
		 * never called: SQLite reads iVersion first. */
		if (real->pMethods->iVersion < 3) {
			real->pMethods->xClose(real);
			return root->xOpen(root, name, f, flags, out);
		}
		d->real = real;
		d->base.pMethods = &db_methods;
		return SQLITE_OK;
	}
	w->real = real;
	w->next = -1;
	/* The database file of the connection that opens this log. */
	d = (struct db *)sqlite3_database_file_object(name);
	if (d && d->base.pMethods == &db_methods && !d->wal) {
		w->db = d;
		d->wal = w;
	}
	w->base.pMethods = &wal_methods;
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return root->xDelete(root, name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return root->xAccess(root, name, flags, out);
}

static int v_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return root->xFullPathname(root, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return root->xDlOpen ? root->xDlOpen(root, name) : NULL;
}

static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	if (root->xDlError)
		root->xDlError(root, n, msg);
	else if (n > 0)
		msg[0] = '\0';
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return root->xDlSym ? root->xDlSym(root, h, sym) : NULL;
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	if (root->xDlClose)
		root->xDlClose(root, h);
}

static int v_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xRandomness(root, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return root->xSleep(root, us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return root->xCurrentTime(root, out);
}

static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xGetLastError ? root->xGetLastError(root, n, out) : 0;
}

static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	double d;
	int rc;

	(void)v;
	if (root->iVersion >= 2 && root->xCurrentTimeInt64)
		return root->xCurrentTimeInt64(root, out);
	rc = root->xCurrentTime(root, &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

static void init(void)
{
	/* Before SQLite initialises: no count of memory in use, which takes
	 * a global mutex at every allocation (helsefeed never asks for it).
	 * Refused, harmlessly, when the program used SQLite before. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (!(root = sqlite3_vfs_find(NULL)))
		return;
	vfs.iVersion = 2;
	vfs.szOsFile = (int)REAL_OFF + root->szOsFile;
	vfs.mxPathname = root->mxPathname;
	vfs.zName = VFS_NAME;
	vfs.xOpen = v_open;
	vfs.xDelete = v_delete;
	vfs.xAccess = v_access;
	vfs.xFullPathname = v_full;
	vfs.xDlOpen = v_dlopen;
	vfs.xDlError = v_dlerror;
	vfs.xDlSym = v_dlsym;
	vfs.xDlClose = v_dlclose;
	vfs.xRandomness = v_random;
	vfs.xSleep = v_sleep;
	vfs.xCurrentTime = v_time;
	vfs.xGetLastError = v_lasterr;
	vfs.xCurrentTimeInt64 = v_time64;
	registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

const char *store__vfs(void)
{
	pthread_once(&once, init);
	return registered ? VFS_NAME : NULL;
}
