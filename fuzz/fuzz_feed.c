/*
 * fuzz_feed.c - feed_parse on arbitrary bytes.  The first byte picks the
 * options (content type, base URL, whether skip() skips, whether on_entry
 * stops the parse at the second entry), the rest is the document, so one
 * corpus exercises every charset path, both the skip and the full
 * normalisation path, and a parse abandoned half-way.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "helsefeed/feed.h"
#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* feed.h promises valid UTF-8 in every string handed out: no NUL inside
 * (strlen ends it), no invalid sequence, no U+FFFE/U+FFFF. */
static void check_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0, k;

	for (size_t i = 0; i < n; i += k) {
		if (p[i] < 0x80) {
			k = 1;
			continue;
		}
		if (!(k = norm_utf8_seq(p + i, n - i)) ||
		    (k == 3 && p[i] == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe))
			__builtin_trap();
	}
}

struct count {
	size_t calls;
	size_t stop;       /* return HF_EABORT from this call, 0: never */
};

static int check_entry(void *ud, const struct feed_info *info, const struct feed_entry *e)
{
	struct count *c = ud;
	size_t n = 0;

	(void)info;
	/* Touch every string so the sanitizers see bad pointers. */
	n += strlen(e->key);
	n += e->id ? strlen(e->id) : 0;
	n += e->title ? strlen(e->title) : 0;
	n += e->link ? strlen(e->link) : 0;
	n += e->author ? strlen(e->author) : 0;
	n += e->summary ? strlen(e->summary) : 0;
	n += e->content ? strlen(e->content) : 0;
	for (size_t i = 0; i < e->ncategories; i++)
		n += strlen(e->categories[i]);
	for (size_t i = 0; i < e->nenclosures; i++)
		n += strlen(e->enclosures[i].url) + (e->enclosures[i].type ? strlen(e->enclosures[i].type) : 0);
	check_utf8(e->title);
	check_utf8(e->summary);
	check_utf8(e->content);
	check_utf8(e->author);
	if (++c->calls == c->stop)
		return HF_EABORT;
	return n == (size_t)-1 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		NULL, "text/xml; charset=iso-8859-1", "application/rss+xml; charset=utf-16",
		"text/xml; charset=koi8-r",
	};
	struct feed_parse_opts opts = {0};
	struct feed_info info;
	struct buf err = BUF_INIT;
	uint8_t sel = size ? data[0] : 0;
	struct count c = {0, (sel & 16) ? 2 : 0};
	int rc;

	if (size) {
		data++;
		size--;
	}
	opts.content_type = types[sel & 3];
	opts.base_url = (sel & 4) ? "https://www.regjeringen.no/no/rss/" : NULL;
	opts.on_entry = check_entry;
	opts.ud = &c;
	opts.now = 1717200000;
	rc = feed_parse((const char *)data, size, &opts, &info, &err);
	if (rc == HF_OK && info.format == FEED_FORMAT_UNKNOWN)
		__builtin_trap();  /* success means a feed was recognised */
	if ((c.stop && c.calls == c.stop) != (rc == HF_EABORT))
		__builtin_trap();  /* a callback's code comes back, and only then */
	if (info.nentries != c.calls - (rc == HF_EABORT))
		__builtin_trap();  /* every entry is counted once */
	feed_info_clear(&info);
	buf_free(&err);
	return 0;
}
