/* fuzz_repair.c - norm_repair on arbitrary bytes: what it makes is valid
 * UTF-8, it changes only text that is double-encoded UTF-8 (every input
 * character is the byte at the same place of the output), and the
 * double encoding of any valid UTF-8 text comes back as that text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "helsefeed/util.h"
#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 (utf8proc's reading, not norm_utf8_seq's), and whether a
 * multi-byte character occurs. */
static int valid(const uint8_t *s, size_t n, int *multi)
{
	*multi = 0;
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
		if (m <= 0)
			return 0;
		if (m > 1)
			*multi = 1;
		i += (size_t)m;
	}
	return 1;
}

/* The byte a character of mojibake stands for, from norm_cp1252's
 * forward table: -1 when it stands for none. */
static int byte_of(utf8proc_int32_t cp)
{
	if (cp < 0x100)
		return cp;
	for (int b = 0x80; b < 0xa0; b++)
		if (norm_cp1252((unsigned char)b) == (uint32_t)cp)
			return b;
	return -1;
}

static void check(const uint8_t *s, size_t n)
{
	struct buf out = BUF_INIT;
	int multi = 0, in_valid = valid(s, n, &multi);
	int rc = norm_repair((const char *)s, n, &out);
	size_t o = 0;

	if (rc < 0)
		goto done;
	if (rc == 0) {
		if (out.len != 0)
			abort();
		goto done;
	}
	if (rc != 1 || !in_valid || out.len >= n || !valid((const uint8_t *)out.data, out.len, &multi) ||
	    !multi)
		abort();
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
		if (m <= 0 || o >= out.len || byte_of(cp) != (unsigned char)out.data[o])
			abort();
		i += (size_t)m;
		o++;
	}
	if (o != out.len)
		abort();
done:
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf moji = BUF_INIT, back = BUF_INIT;
	int multi = 0;

	check(data, size);
	/* The double encoding of valid text with a non-ASCII character. */
	if (valid(data, size, &multi) && multi) {
		for (size_t i = 0; i < size; i++) {
			utf8proc_uint8_t u[4];
			utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)norm_cp1252(data[i]), u);
			if (buf_append(&moji, (const char *)u, (size_t)k))
				goto done;
		}
		check((const uint8_t *)moji.data, moji.len);
		if (norm_repair(moji.data, moji.len, &back) == 1 &&
		    (back.len != size || memcmp(back.data, data, size) != 0))
			abort();
		if (back.len == 0 && moji.len > 0)
			abort();
	}
done:
	buf_free(&moji);
	buf_free(&back);
	return 0;
}
