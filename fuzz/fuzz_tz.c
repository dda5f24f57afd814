/* fuzz_tz.c - the TZif reader (tz_parse) on arbitrary bytes, and every
 * lookup on what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t when[] = {
		INT64_MIN, -2208988800, -1, 0, 1774746000, 1792890000, 2147483648,
		4109878800, (int64_t)1 << 40, INT64_MAX,
	};
	struct tz *tz = NULL;

	if (tz_parse("fuzz", data, size, &tz, NULL) != 0)
		return 0;
	for (size_t i = 0; i < sizeof when / sizeof *when; i++) {
		struct tz_info in;
		struct tm tm;

		tz_offset(tz, when[i], &in);
		/* RFC 8536 bounds on types, POSIX ones on the footer's rule. */
		if (!in.abbr || in.utoff < -26 * 3600 || in.utoff > 26 * 3600 ||
		    (in.isdst != 0 && in.isdst != 1))
			abort();
		if (tz_to_local(tz, when[i], &tm) == 0) {
			if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
			    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_wday < 0 || tm.tm_wday > 6)
				abort();
			(void)tz_from_local(tz, &tm, 0);
			(void)tz_from_local(tz, &tm, TZ_GAP_END);
		}
	}
	tz_free(tz);
	return 0;
}
