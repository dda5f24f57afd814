/*
 * json.h - a small streaming JSON writer (RFC 8259).
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
#ifndef HELSEFEED_JSON_H
#define HELSEFEED_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "helsefeed/buf.h"
#include "helsefeed/err.h"

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

#endif
