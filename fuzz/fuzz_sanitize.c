/*
 * fuzz_sanitize.c - sanitize_html on arbitrary bytes.  The output is
 * tokenised again: it must be bounded, every tag well-formed, no element
 * or attribute outside the allowlist's shape, no script-capable URL, and
 * sanitising it a second time must keep it safe.  The first input byte
 * picks the bound.  norm_text, the other reader of HTML-ish text, runs on
 * the same input: valid UTF-8, bounded, no controls, collapsed spaces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helsefeed/norm.h"
#include "helsefeed/sanitize.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, again = BUF_INIT;
	size_t max = size > 0 ? (size_t)data[0] * 16 + 1 : 1;

	for (int strip = 0; strip < 2; strip++) {
		int cut;
		if (norm_text((const char *)data, size, strip, max, &out, &cut) != 0)
			goto out;
		check_text(out.data ? out.data : "", out.len, max);
		buf_clear(&out);
	}
	if (sanitize_html((const char *)data, size, "https://www.fhi.no/a/", max, &out) != 0)
		goto out;
	if (out.len > max)
		abort();
	check(buf_str(&out));
	if (sanitize_html(out.data, out.len, "https://www.fhi.no/a/", (size_t)-1, &again) != 0)
		goto out;
	check(buf_str(&again));
out:
	buf_free(&out);
	buf_free(&again);
	return 0;
}
