/*
 * util.h - what every stage uses (src/util/): the bounded buffer, JSON
 * output, the log, files written atomically.
 *
 * One header for the folder; its parts follow, each with its contract.
 */
#ifndef HELSEFEED_UTIL_H
#define HELSEFEED_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "helsefeed/err.h"

/*
 * buf - a growable byte buffer, the one string builder of helsefeed.
 *
 * Invariant: when data != NULL, data[len] == '\0', so a buf can always be
 * read as a C string.  A struct buf owns its data; buf_free releases it and
 * leaves BUF_INIT behind.  Functions return 0 or HF_ENOMEM / HF_ETOOBIG; on
 * failure the buffer keeps its previous content.
 */

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Make room for at least `extra` more bytes plus the terminating NUL. */
int buf_reserve(struct buf *b, size_t extra) HF_WUR;
int buf_append(struct buf *b, const char *s, size_t n) HF_WUR;
int buf_puts(struct buf *b, const char *s) HF_WUR;
int buf_putc(struct buf *b, char c) HF_WUR;
/* Not warn_unused_result: most callers write error messages, where an
 * allocation failure can only be ignored. */
int buf_printf(struct buf *b, const char *fmt, ...) HF_PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) HF_WUR HF_PRINTF(2, 0);
/* Empty the buffer but keep its memory. */
void buf_clear(struct buf *b);
void buf_free(struct buf *b);
/* Hand the data to the caller (free() it); the buf is left as BUF_INIT.
 * Returns an empty heap string for an empty buf, NULL only on ENOMEM. */
char *buf_detach(struct buf *b);
/* The content as a C string, "" when empty.  Borrowed. */
const char *buf_str(const struct buf *b);

/*
 * json - a small streaming JSON writer (RFC 8259).
 *
 * Output goes into a struct buf, or through a buffer into a FILE * that is
 * written in large chunks (json_flush, or automatically when the buffer
 * passes JSON_FLUSH_AT).  Commas and nesting are tracked by the writer:
 * callers emit keys and values in order.  Strings are escaped per RFC 8259
 * section 7 (quote, backslash and C0 controls; U+2028/U+2029 too, so the
 * text is also safe as JavaScript); invalid UTF-8 is written as U+FFFD, so
 * the output is always valid UTF-8 whatever the input.
 *
 * Errors are sticky: after the first failure (HF_ENOMEM, HF_EIO on a short
 * write, HF_EINVAL on a nesting mistake) every call returns it again and
 * writes nothing.
 */

/* Nesting deeper than this is a programmer mistake (HF_EINVAL). */
#define JSON_MAX_DEPTH 32
/* A FILE writer hands its buffer to fwrite once it holds this much. */
#define JSON_FLUSH_AT (256 * 1024)

struct json {
	struct buf *out;      /* where text goes: the caller's buf or own */
	struct buf own;       /* the FILE writer's buffer */
	FILE *f;              /* NULL: write into *out only */
	int err;              /* first error, sticky */
	int depth;
	/* Per level: bit 0 = a value was written (comma needed),
	 * bit 1 = object (a key is expected before each value). */
	unsigned char state[JSON_MAX_DEPTH + 1];
	int after_key;
};

/* Write into `out` (appending).  The writer owns nothing. */
void json_init_buf(struct json *j, struct buf *out);
/* Write to `f`, buffered.  Call json_finish to flush and free. */
void json_init_file(struct json *j, FILE *f);

int json_begin_object(struct json *j);
int json_end_object(struct json *j);
int json_begin_array(struct json *j);
int json_end_array(struct json *j);
/* An object key; `key` is escaped like any string. */
int json_key(struct json *j, const char *key);
/* A string value of `len` bytes (any bytes). */
int json_string(struct json *j, const char *s, size_t len);
/* A NUL-terminated string, or null when s is NULL. */
int json_str(struct json *j, const char *s);
/* `key` and the time t (UTC seconds) as "YYYY-MM-DDTHH:MM:SSZ", or
 * null when t == none (the caller's "no time": 0 or HF_NOTIME). */
void json_time(struct json *j, const char *key, int64_t t, int64_t none);
int json_int(struct json *j, int64_t v);
int json_bool(struct json *j, int v);
int json_null(struct json *j);

/* Append `len` bytes of s, escaped as the inside of a JSON string (no
 * quotes), to `out`.  Returns 0 or HF_ENOMEM. */
int json_escape(const char *s, size_t len, struct buf *out) HF_WUR;

/* FILE writer: write out what is buffered.  Returns the sticky error. */
int json_flush(struct json *j);
/* Flush (FILE writer), release the writer's memory, return the sticky
 * error or 0.  The struct may be initialised again afterwards. */
int json_finish(struct json *j);

/*
 * log - one line per event on stderr: "LEVEL: message".
 *
 * journald adds the time, so none is printed.  Messages name the thing they
 * are about (feed name, file:line, URL) and carry figures where there are
 * any.  Text from the network is passed through log_write's sanitiser:
 * control characters are replaced, so a feed cannot forge log lines.
 *
 * When JOURNAL_STREAM (systemd.exec(5)) names the stream stderr is, every
 * line starts with its sd-daemon(3) priority, "<3>" error, "<4>" warn,
 * "<6>" info, "<7>" debug, which journald takes off and keeps as the
 * line's priority (journalctl -p warning).
 */

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above this level are dropped.  Default LOG_LVL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug" -> level; returns HF_EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *out) HF_WUR;

void log_write(enum log_level level, const char *fmt, ...) HF_PRINTF(2, 3);

#define log_error(...) log_write(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LVL_DEBUG, __VA_ARGS__)

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations, which a
 * change of the wall clock must not move. */
int64_t mono_ms(void);

/*
 * fsutil - the few file system chores that several modules share.
 */

/* mkdir -p `dir` with `mode` for every directory it creates, exactly
 * (the umask does not narrow it); directories already there are left as
 * they are.  Logs the directory that could not be made.  Returns 0,
 * HF_EIO, HF_ENOMEM. */
int fs_mkdir_p(const char *dir, mode_t mode) HF_WUR;

/* mkdir -p of the directory part of `file` ("a/b/c.db" makes "a/b"); a
 * bare file name needs nothing.  Returns as fs_mkdir_p. */
int fs_mkdir_parent(const char *file, mode_t mode) HF_WUR;

/* Write all of p[0..n) to fd, again after EINTR and short writes.
 * 0, or -1 with errno set. */
int fs_write_all(int fd, const char *p, size_t n) HF_WUR;

/*
 * A file that replaces `dir`/`name` whole or not at all: written to a
 * dot name beside it (".NAME.XXXXXX": rename(2) is atomic only within
 * one file system, and neither web servers nor mail spool readers take
 * dot files), with `mode`, fsync'd, then renamed over `name`.  A reader
 * sees the old file or the new one, never half of one.
 * fs_atomic_open, _write and _commit return 0, HF_EIO (logged with the
 * path) or HF_ENOMEM; after a failure, or to give up, fs_atomic_abort
 * removes the temporary file.  _commit ends w in every case (no abort
 * after it).  The rename is durable once the directory is synced
 * (fs_sync_dir), which a caller that writes many files does once.
 */
struct fs_atomic {
	int dirfd, fd;
	struct buf tmp;        /* the temporary file's path, "" once renamed */
};
int fs_atomic_open(struct fs_atomic *w, const char *dir, const char *name,
                   mode_t mode) HF_WUR;
int fs_atomic_write(struct fs_atomic *w, const char *data, size_t len) HF_WUR;
int fs_atomic_commit(struct fs_atomic *w, const char *name) HF_WUR;
void fs_atomic_abort(struct fs_atomic *w);

/* fsync a directory so that renames in it survive a power loss.
 * Returns 0 or HF_EIO (logged). */
int fs_sync_dir(const char *dir) HF_WUR;

#endif
