/* json.c - streaming JSON writer; see util.h. */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "helsefeed/util.h"
#include "helsefeed/text.h"

#define ST_COMMA 0x1
#define ST_OBJECT 0x2

/* Bytes that may be copied as they are inside a JSON string: printable
 * ASCII but '"' and '\\'.  Everything else takes the slow path. */
static const unsigned char plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1,
};

static const char hex[] = "0123456789abcdef";

/* Eight plain[] bytes at p: no byte >= 0x7f, below 0x20, '"' or '\\'
 * (the "has a byte less than n" tests of Hacker's Delight 6-1, exact when
 * no byte has its high bit set, which the first term checks). */
static int word_plain(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t v, q, b, d;

	memcpy(&v, p, 8);
	q = v ^ (ones * '"');
	b = v ^ (ones * '\\');
	d = v ^ (ones * 0x7f);
	return !((v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b) |
	          ((d - ones) & ~d)) & high);
}

int json_escape(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	int rc;

	/* Escapes at most grow a byte sixfold; reserve for the common case
	 * and let buf_append grow for the rest. */
	if ((rc = buf_reserve(out, len + 16)))
		return rc;
	while (p < end) {
		const unsigned char *run = p;
		char esc[6];
		size_t n;

		for (;;) {
			while (end - p >= 8 && word_plain(p))
				p += 8;
			while (p < end && plain[*p])
				p++;
			/* valid UTF-8 but U+2028/U+2029 joins the run */
			if (p < end && *p >= 0x80 && (n = norm_utf8_seq(p, (size_t)(end - p))) &&
			    !(n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)))
				p += n;
			else
				break;
		}
		if (p > run && (rc = buf_append(out, (const char *)run, (size_t)(p - run))))
			return rc;
		if (p >= end)
			break;
		if (*p >= 0x80) {
			n = norm_utf8_seq(p, (size_t)(end - p));
			if (n == 0) {
				rc = buf_append(out, "\xef\xbf\xbd", 3);
				p++;
			} else if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			           (p[2] == 0xa8 || p[2] == 0xa9)) {
				/* U+2028/U+2029 are valid JSON but end a
				 * line in JavaScript (ECMA-262 before 2019). */
				rc = buf_append(out, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
				p += 3;
			} else {
				rc = buf_append(out, (const char *)p, n);
				p += n;
			}
		} else {
			/* RFC 8259 section 7: quote, backslash and U+0000
			 * to U+001F must be escaped; the short forms first. */
			switch (*p) {
			case '"': rc = buf_append(out, "\\\"", 2); break;
			case '\\': rc = buf_append(out, "\\\\", 2); break;
			case '\n': rc = buf_append(out, "\\n", 2); break;
			case '\r': rc = buf_append(out, "\\r", 2); break;
			case '\t': rc = buf_append(out, "\\t", 2); break;
			case '\b': rc = buf_append(out, "\\b", 2); break;
			case '\f': rc = buf_append(out, "\\f", 2); break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 0xf];
				rc = buf_append(out, esc, 6);
			}
			p++;
		}
		if (rc)
			return rc;
	}
	return HF_OK;
}

void json_init_buf(struct json *j, struct buf *out)
{
	memset(j, 0, sizeof *j);
	j->out = out;
}

void json_init_file(struct json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->out = &j->own;
	j->f = f;
}

int json_flush(struct json *j)
{
	if (j->err || !j->f || j->out->len == 0)
		return j->err;
	if (fwrite(j->out->data, 1, j->out->len, j->f) != j->out->len)
		j->err = HF_EIO;
	buf_clear(j->out);
	return j->err;
}

int json_finish(struct json *j)
{
	int rc = json_flush(j);

	if (!rc && j->f && fflush(j->f) != 0)
		rc = HF_EIO;
	buf_free(&j->own);
	return rc;
}

/* Before any value: the comma, and the check that an object got its key. */
static int value_start(struct json *j)
{
	unsigned char *st = &j->state[j->depth];

	if (j->err)
		return j->err;
	if (j->after_key) {
		j->after_key = 0;
		return HF_OK;
	}
	if (*st & ST_OBJECT)
		return j->err = HF_EINVAL;
	if (*st & ST_COMMA)
		j->err = buf_putc(j->out, ',');
	*st |= ST_COMMA;
	return j->err;
}

static int value_end(struct json *j)
{
	if (!j->err && j->f && j->out->len >= JSON_FLUSH_AT)
		return json_flush(j);
	return j->err;
}

static int open_level(struct json *j, char c, unsigned char kind)
{
	if (value_start(j))
		return j->err;
	if (j->depth >= JSON_MAX_DEPTH)
		return j->err = HF_EINVAL;
	if ((j->err = buf_putc(j->out, c)))
		return j->err;
	j->state[++j->depth] = kind;
	return HF_OK;
}

static int close_level(struct json *j, char c, unsigned char kind)
{
	if (j->err)
		return j->err;
	if (j->depth == 0 || j->after_key || (j->state[j->depth] & ST_OBJECT) != kind)
		return j->err = HF_EINVAL;
	j->depth--;
	if ((j->err = buf_putc(j->out, c)))
		return j->err;
	return value_end(j);
}

int json_begin_object(struct json *j) { return open_level(j, '{', ST_OBJECT); }
int json_end_object(struct json *j) { return close_level(j, '}', ST_OBJECT); }
int json_begin_array(struct json *j) { return open_level(j, '[', 0); }
int json_end_array(struct json *j) { return close_level(j, ']', 0); }

static int put_quoted(struct json *j, const char *s, size_t len)
{
	if ((j->err = buf_putc(j->out, '"')) ||
	    (j->err = json_escape(s, len, j->out)) ||
	    (j->err = buf_putc(j->out, '"')))
		return j->err;
	return HF_OK;
}

int json_key(struct json *j, const char *key)
{
	unsigned char *st = &j->state[j->depth];

	if (j->err)
		return j->err;
	if (!(*st & ST_OBJECT) || j->after_key)
		return j->err = HF_EINVAL;
	if ((*st & ST_COMMA) && (j->err = buf_putc(j->out, ',')))
		return j->err;
	*st |= ST_COMMA;
	if (put_quoted(j, key, strlen(key)) || (j->err = buf_putc(j->out, ':')))
		return j->err;
	j->after_key = 1;
	return HF_OK;
}

int json_string(struct json *j, const char *s, size_t len)
{
	if (value_start(j) || put_quoted(j, s, len))
		return j->err;
	return value_end(j);
}

int json_str(struct json *j, const char *s)
{
	return s ? json_string(j, s, strlen(s)) : json_null(j);
}

int json_int(struct json *j, int64_t v)
{
	if (value_start(j) || (j->err = buf_printf(j->out, "%" PRId64, v)))
		return j->err;
	return value_end(j);
}

static int put_word(struct json *j, const char *w)
{
	if (value_start(j) || (j->err = buf_puts(j->out, w)))
		return j->err;
	return value_end(j);
}

int json_bool(struct json *j, int v) { return put_word(j, v ? "true" : "false"); }
int json_null(struct json *j) { return put_word(j, "null"); }

void json_time(struct json *j, const char *key, int64_t t, int64_t none)
{
	char iso[21];

	json_key(j, key);
	if (t == none) {
		json_null(j);
		return;
	}
	norm_date_iso(t, iso);
	json_str(j, iso);
}
