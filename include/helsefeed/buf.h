/*
 * buf.h - a growable byte buffer, the one string builder of helsefeed.
 *
 * Invariant: when data != NULL, data[len] == '\0', so a buf can always be
 * read as a C string.  A struct buf owns its data; buf_free releases it and
 * leaves BUF_INIT behind.  Functions return 0 or HF_ENOMEM / HF_ETOOBIG; on
 * failure the buffer keeps its previous content.
 */
#ifndef HELSEFEED_BUF_H
#define HELSEFEED_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "helsefeed/err.h"

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

#endif
