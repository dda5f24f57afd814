/*
 * fuzz_config.c - feeds.conf parser: any bytes must give either a valid
 * configuration or error lines, never a crash or a leak; and a valid one
 * must compile its category rules or reject them with a message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "helsefeed/classify.h"
#include "helsefeed/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	struct buf err = BUF_INIT;

	if (config_load_mem("fuzz.conf", (const char *)data, size, &cfg, &err) == 0) {
		buf_clear(&err);
		if (classify_compile(cfg, &cls, &err) == 0)
			classify_free(cls);
		config_free(cfg);
	}
	buf_free(&err);
	return 0;
}
