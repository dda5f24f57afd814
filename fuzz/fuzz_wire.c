/* fuzz_wire.c - the parser process's answer (feed.h, feed_doc_decode):
 * whatever the child writes, the parent decodes it or refuses it, and
 * what it accepts encodes back to the same records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed_doc d = {0};
	struct buf again = BUF_INIT;

	if (buf_append(&d.raw, (const char *)data, size))
		return 0;
	if (feed_doc_decode(&d, NULL) == 0) {
		int rc = 0;

		for (size_t i = 0; i < d.nentries && !rc; i++)
			rc = feed_wire_entry(&again, &d.entries[i]);
		if (!rc)
			rc = feed_wire_done(&again, d.code, &d.info, d.message);
		/* Accepted bytes are canonical: they re-encode exactly. */
		if (!rc && (again.len != size || memcmp(again.data, data, size)))
			abort();
	}
	buf_free(&again);
	feed_doc_free(&d);
	return 0;
}
