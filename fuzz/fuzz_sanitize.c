/*
 * fuzz_sanitize.c - sanitize_html on arbitrary bytes.  The output is
 * tokenised again: it must be bounded, every tag well-formed, no element
 * or attribute outside the allowlist's shape, no script-capable URL, and
 * sanitising it a second time must keep it safe.  The output is the
 * same, byte for byte, as libxml2's HTML parser alone gives
 * (sanitize_html_libxml), whether the tokenizer for simple markup took
 * the input or not.  The first input byte picks the bound, the second
 * the base URL.  norm_text, the other reader of HTML-ish text, runs on
 * the same input in each of its modes: valid UTF-8, bounded, no
 * controls, collapsed spaces; and so does what norm_more_len keeps of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_lower(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void check(const char *out)
{
	static const char *const bad_elems[] = {
		"script", "style", "iframe", "svg", "math", "object", "embed",
		"form", "meta", "base", "link", "template", "noscript", NULL,
	};
	const char *p = out;

	while ((p = strchr(p, '<'))) {
		const char *name;
		size_t n;

		p++;
		if (*p == '/')
			p++;
		name = p;
		while (is_lower((unsigned char)*p))
			p++;
		n = (size_t)(p - name);
		if (!n)
			abort(); /* a '<' that is not our tag */
		for (const char *const *b = bad_elems; *b; b++)
			if (strlen(*b) == n && !strncmp(name, *b, n))
				abort();
		while (*p == ' ') {
			const char *an = ++p, *av;
			while (*p >= 'a' && *p <= 'z')
				p++;
			if (p - an >= 2 && an[0] == 'o' && an[1] == 'n')
				abort();
			if (p - an == 5 && !strncmp(an, "style", 5))
				abort();
			if (p[0] != '=' || p[1] != '"')
				abort();
			av = p += 2;
			while (*p && *p != '"' && *p != '<' && *p != '>')
				p++;
			if (*p != '"')
				abort();
			if (!strncmp(an, "href", 4) || !strncmp(an, "src", 3)) {
				if (strncmp(av, "http://", 7) && strncmp(av, "https://", 8) &&
				    strncmp(av, "mailto:", 7))
					abort();
			}
			p++;
		}
		if (*p != '>')
			abort();
	}
}

static void check_text(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	if (n > max || (n && (s[0] == ' ' || s[n - 1] == ' ')))
		abort();
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xC2) || c > 0xF4 || i + l > n)
			abort();
		for (size_t k = 1; k < l; k++)
			if (((unsigned char)s[i + k] & 0xC0) != 0x80)
				abort();
		if (c == ' ' && i + 1 < n && s[i + 1] == ' ')
			abort();
		i += l;
	}
}

/* sanitize_html and libxml2 alone agree byte for byte. */
static void check_same(const char *in, size_t len, const char *base, size_t max,
                       const struct buf *got)
{
	struct buf lib = BUF_INIT;

	if (sanitize_html_libxml(in, len, base, max, &lib) != 0)
		abort();
	if (lib.len != got->len || (lib.len && memcmp(lib.data, got->data, lib.len)))
		abort();
	buf_free(&lib);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bases[] = {
		"https://www.fhi.no/a/", NULL, "javascript:alert(1)//", "http://Eks.NO:80/a/b?q#f",
	};
	struct buf out = BUF_INIT, again = BUF_INIT;
	size_t max = size > 0 ? (size_t)data[0] * 16 + 1 : 1;
	const char *base = bases[size > 1 ? data[1] % 4 : 0];

	for (int mode = NORM_TEXT_ESCAPED; mode <= NORM_TEXT_FIELD; mode++) {
		int cut;
		if (norm_text((const char *)data, size, mode, max, &out, &cut) != 0)
			goto out;
		check_text(out.data ? out.data : "", out.len, max);
		/* Without a "read more" at its end: a prefix, still whole
		 * UTF-8 with no space at its end. */
		if (out.len) {
			size_t n = norm_more_len(out.data, out.len);

			if (n > out.len || (n && out.data[n - 1] == ' '))
				abort();
			out.data[n] = '\0';
			check_text(out.data, n, max);
		}
		buf_clear(&out);
	}
	if (sanitize_html((const char *)data, size, base, max, &out) != 0)
		goto out;
	if (out.len > max)
		abort();
	check(buf_str(&out));
	check_same((const char *)data, size, base, max, &out);
	if (sanitize_html(out.data, out.len, base, (size_t)-1, &again) != 0)
		goto out;
	check(buf_str(&again));
	check_same(out.data, out.len, base, (size_t)-1, &again);
out:
	buf_free(&out);
	buf_free(&again);
	return 0;
}
