/*
 * store_vfs.c - the store's SQLite VFS: the default one, except that the
 * frames a connection appends to its write-ahead log reach the file a
 * commit at a time; see store_int.h.
 *
 * SQLite writes a WAL frame as two writes, its 24-byte header and its
 * page, each a system call and each a partial page of the file's page
 * cache (a frame is not page aligned).  A commit of fifty entries is some
 * forty frames, eighty calls.  Here the appends are gathered in memory
 * and written in one call when the frame that carries the commit mark is
 * complete: in the write that completes it, so that a failure (a full
 * disk) is that write's error and fails the commit.
 *
 * Safe because nothing reads the appended frames before then:
 *   - other connections read frames only up to the end of a commit,
 *     which they learn from the wal-index; SQLite publishes a commit
 *     there after its last frame is written, and that write is where the
 *     gathered frames go out;
 *   - this connection's own reads of the log (a page spilled earlier in
 *     the transaction, a checkpoint) write out what is gathered first;
 *   - so does everything else that looks at the file: sync, truncate,
 *     size, file controls, close, and any write that is not an append.
 * A failed write-out drops what was gathered; until the log is written
 * again at or before the first lost byte, reads from there on fail too, so
 * that no stale frame is ever read as one that was lost (SQLite rolls the
 * transaction back, and the next one appends from the last commit).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define VFS_NAME "helsefeed"
#define FRAME_HDR 24
/* Gathered at most: a bigger transaction goes out in parts of this size.
 * Below 128 KiB: the default VFS writes at most 128 KiB - 1 bytes a call
 * (it masks the length) and takes a short write for a full disk. */
#define GATHER_MAX (124 * 1024)

struct wal {
	sqlite3_file base;
	sqlite3_file *real;        /* the default VFS's file, at REAL_OFF */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off;         /* file offset of buf[0] */
	sqlite3_int64 lost;        /* first byte of a failed write-out, or -1 */
	int commit;                /* the last append was a commit frame's
	                            * header: its page completes the commit */
};

/* Where a log's default file starts: after struct wal, aligned. */
#define REAL_OFF ((sizeof(struct wal) + 15) / 16 * 16)

static sqlite3_vfs *root;
static sqlite3_vfs vfs;
static int registered;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int put_out(struct wal *w)
{
	int rc;

	if (!w->len)
		return SQLITE_OK;
	rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
	if (rc != SQLITE_OK && (w->lost < 0 || w->off < w->lost))
		w->lost = w->off;
	w->len = 0;
	return rc;
}

static int w_close(sqlite3_file *f)
{
	struct wal *w = (struct wal *)f;
	int rc = put_out(w), rc2 = w->real->pMethods->xClose(w->real);

	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	struct wal *w = (struct wal *)f;
	int rc;

	if ((rc = put_out(w)) != SQLITE_OK)
		return rc;
	if (w->lost >= 0 && off + n > w->lost)
		return SQLITE_IOERR_READ;
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
	int end = w->commit && n != FRAME_HDR, rc;
	size_t need;

	w->commit = commit_header(p, n);
	if (w->lost >= 0 && off <= w->lost)
		w->lost = -1;          /* written again from the start of it */
	if (w->len && (off != w->off + (sqlite3_int64)w->len ||
	               w->len + (size_t)n > GATHER_MAX) &&
	    (rc = put_out(w)) != SQLITE_OK)
		return rc;
	if ((size_t)n > GATHER_MAX)     /* never: a page is 64 KiB at most */
		return w->real->pMethods->xWrite(w->real, p, n, off);
	need = w->len + (size_t)n;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		unsigned char *b;

		while (cap < need)
			cap *= 2;
		if (!(b = realloc(w->buf, cap))) {
			/* Unbuffered, as the default VFS would. */
			if ((rc = put_out(w)) != SQLITE_OK)
				return rc;
			return w->real->pMethods->xWrite(w->real, p, n, off);
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
	int rc = put_out(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int w_sync(sqlite3_file *f, int flags)
{
	struct wal *w = (struct wal *)f;
	int rc = put_out(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int w_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wal *w = (struct wal *)f;
	int rc = put_out(w);

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
	int rc = put_out(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
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

/* A log is a struct wal with the default VFS's file after it; any other
 * file is the default VFS's own, in place. */
static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f,
                  int flags, int *out)
{
	struct wal *w = (struct wal *)f;
	int rc;

	(void)v;
	if (!(flags & SQLITE_OPEN_WAL))
		return root->xOpen(root, name, f, flags, out);
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)((char *)w + REAL_OFF);
	w->lost = -1;
	rc = root->xOpen(root, name, w->real, flags, out);
	if (rc != SQLITE_OK) {
		if (w->real->pMethods)
			w->real->pMethods->xClose(w->real);
		w->base.pMethods = NULL;
		return rc;
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
	return root->xDlOpen(root, name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	root->xDlError(root, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return root->xDlSym(root, h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
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
