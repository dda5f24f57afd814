/* fuzz_date.c - norm_date on arbitrary text, in every zone path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const zones[] = {NULL, "Europe/Oslo", "UTC", "Europe/London"};
	char *s = malloc(size + 1);
	int64_t t;
	char iso[21];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (norm_date(s, zones[i], &t) == 0) {
			norm_date_iso(t, iso);
			/* Every accepted date prints as a four-digit year. */
			if (strlen(iso) != 20 || iso[4] != '-' || iso[19] != 'Z')
				abort();
		}
	}
	free(s);
	return 0;
}
