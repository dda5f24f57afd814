/*
 * sanitize.h - rebuild untrusted HTML from an allowlist.
 *
 * The input is parsed with libxml2's HTML parser (never the network), or
 * for simple markup by a strict tokenizer that gives the same events, and
 * written out again element by element: only allowlisted elements and
 * attributes survive; everything else is dropped, and the content of
 * script, style, iframe, object, embed, template, noscript, svg and math
 * is dropped with it.  URLs in a[href] must be http, https or mailto, in
 * img[src] http or https, after entity decoding, whitespace and control
 * characters removed and case folded: javascript:, data:, vbscript: in any
 * spelling never survive.  Relative URLs are made absolute against `base`.
 * The output is well-formed, escaped HTML: safe inside an Atom
 * content type="html", an HTML page or an e-mail.
 */
#ifndef HELSEFEED_SANITIZE_H
#define HELSEFEED_SANITIZE_H

#include <stddef.h>

#include "helsefeed/buf.h"
#include "helsefeed/err.h"

/*
 * Sanitise `len` bytes of HTML (UTF-8) and append the result to `out`,
 * at most `max` bytes: the cut falls between elements or inside a text on
 * a character boundary, and every open element is still closed.  Invalid
 * UTF-8 becomes U+FFFD; characters XML 1.0 forbids are dropped or
 * replaced.  `base` may be NULL: URLs that cannot be made absolute are
 * then dropped (an img without src goes entirely).
 * Returns 0, HF_ENOMEM.  Empty or all-removed input appends nothing.
 */
int sanitize_html(const char *html, size_t len, const char *base, size_t max,
                  struct buf *out) HF_WUR;

/*
 * sanitize_html() for text an XML parser has checked already: `html` must
 * be valid UTF-8 without NUL, U+FFFE or U+FFFF (feed.c hands over what
 * libxml2 delivered from a document feed_input.c made clean), so the
 * second check of every byte is skipped.  Anything else: sanitize_html().
 */
int sanitize_html_checked(const char *html, size_t len, const char *base, size_t max,
                          struct buf *out) HF_WUR;

/*
 * The two readers behind sanitize_html(), for tests and fuzzing.
 * sanitize_html() first tries a strict tokenizer that handles simple
 * markup (a set of common elements, quoted attributes, known entities)
 * and falls back to libxml2's HTML parser on anything else; both give
 * the same output, byte for byte, for every input the tokenizer accepts
 * (fuzz_sanitize checks it).  sanitize_html_fast() returns 1, appending
 * nothing, where the tokenizer gives up; sanitize_html_libxml() never
 * uses it.  Otherwise as sanitize_html().
 */
int sanitize_html_fast(const char *html, size_t len, const char *base, size_t max,
                       struct buf *out) HF_WUR;
int sanitize_html_libxml(const char *html, size_t len, const char *base, size_t max,
                         struct buf *out) HF_WUR;

/* Append `len` bytes of text to `out`, escaped for HTML/XML content and
 * attribute values (& < > " ').  Returns 0, HF_ENOMEM. */
int sanitize_escape(const char *s, size_t len, struct buf *out) HF_WUR;

#endif
