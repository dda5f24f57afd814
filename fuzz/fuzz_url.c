/* fuzz_url.c - norm_url_resolve and norm_url_canon; input is
 * "base\nref".  The resolve's verdict on its result is norm_url_web's,
 * and its answer is the library path's (norm_url_resolve_lib) byte for
 * byte, whether the fast path for plain links took the input or not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf r = BUF_INIT, c = BUF_INIT, c2 = BUF_INIT, lib = BUF_INIT;
	char *s = malloc(size + 1), *ref;
	int web = 0, web2 = 0, rc, rc2;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ref = strchr(s, '\n');
	if (ref)
		*ref++ = '\0';
	rc = norm_url_resolve(ref ? s : NULL, ref ? ref : s, &r, &web);
	/* The fast path for plain links says what curl says, byte for byte. */
	rc2 = norm_url_resolve_lib(ref ? s : NULL, ref ? ref : s, &lib, &web2);
	if (rc != rc2 || web != web2 || strcmp(buf_str(&r), buf_str(&lib)))
		abort();
	if (rc == 0) {
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
	buf_free(&lib);
	free(s);
	return 0;
}
