/* fuzz_url.c - norm_url_resolve and norm_url_canon; input is
 * "base\nref".  The resolve's verdict on its result is norm_url_web's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf r = BUF_INIT, c = BUF_INIT, c2 = BUF_INIT;
	char *s = malloc(size + 1), *ref;
	int web;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ref = strchr(s, '\n');
	if (ref)
		*ref++ = '\0';
	if (norm_url_resolve(ref ? s : NULL, ref ? ref : s, &r, &web) == 0) {
		if (web != norm_url_web(buf_str(&r)))
			abort();
		/* The canonical form is a fixed point. */
		if (norm_url_canon(buf_str(&r), &c) == 0 &&
		    (norm_url_canon(buf_str(&c), &c2) != 0 || strcmp(buf_str(&c), buf_str(&c2))))
			abort();
	}
	buf_free(&r);
	buf_free(&c);
	buf_free(&c2);
	free(s);
	return 0;
}
