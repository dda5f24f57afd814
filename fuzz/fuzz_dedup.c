/* fuzz_dedup.c - the same-story signature of untrusted text (dedup.h):
 * input "title\nsummary\nother title\nother summary".  Whatever the
 * bytes, the signatures are made and compared both ways without a fault,
 * and the index terms are distinct and at most DEDUP_MAX_INDEX.  (The verdict is not
 * yet the same both ways for every input: the pipeline always compares
 * the new entry with the stored candidate, and this target does not
 * require it.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/dedup.h"
#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dedup *dd;

static void sig(struct dedup_sig *s, const char *title, const char *summary,
                struct buf *norm)
{
	buf_clear(norm);
	if (dedup_title_norm(dd, title, norm))
		abort();
	dedup_sig_make(s, buf_str(norm), summary);
	dedup_sig_lemmas(dd, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dedup_sig a, b;
	struct buf in = BUF_INIT, clean = BUF_INIT, na = BUF_INIT, nb = BUF_INIT;
	char *f[4] = {NULL, NULL, NULL, NULL}, *p;

	if (!dd && dedup_new(NULL, &dd))
		abort();
	/* The store holds only valid UTF-8 in NFC (the normaliser's job). */
	if (norm_nfc((const char *)data, size, &clean))
		goto out;
	if (buf_puts(&in, buf_str(&clean)))
		goto out;
	p = in.data ? in.data : (char *)"";
	for (int i = 0; i < 4 && p; i++) {
		f[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	sig(&a, f[0], f[1], &na);
	sig(&b, f[2], f[3], &nb);
	(void)dedup_same_story(&a, &b, NULL);
	(void)dedup_same_story(&b, &a, NULL);
	{
		int64_t t[DEDUP_MAX_INDEX];
		size_t m = dedup_sig_index(&a, t);

		if (m > DEDUP_MAX_INDEX)
			abort();
		for (size_t i = 0; i < m; i++)
			for (size_t k = i + 1; k < m; k++)
				if (t[i] == t[k])
					abort();
	}
out:
	buf_free(&in);
	buf_free(&clean);
	buf_free(&na);
	buf_free(&nb);
	return 0;
}
