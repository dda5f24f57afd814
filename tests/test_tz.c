/* test_tz.c - time zones from the system's zoneinfo: offsets around the
 * changes, local time in the gap and the overlap, the footer rule beyond
 * the table, and files that are not zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helsefeed/limits.h"
#include "helsefeed/text.h"

#define T_20260329_0100Z 1774746000   /* Oslo: 02:00 CET -> 03:00 CEST */
#define T_20261025_0100Z 1792890000   /* Oslo: 03:00 CEST -> 02:00 CET */
#define T_21000328_0100Z 4109878800   /* the same rule, far beyond 2037 */
#define T_21001031_0100Z 4128627600

static struct tz *open_ok(const char *name)
{
	struct tz *tz = NULL;
	struct buf err = BUF_INIT;

	if (tz_open(name, &tz, &err) != 0)
		fail_msg("tz_open(%s): %s", name, buf_str(&err));
	buf_free(&err);
	return tz;
}

static void expect_offset(const struct tz *tz, int64_t t, long utoff, int isdst,
                          const char *abbr)
{
	struct tz_info in;

	tz_offset(tz, t, &in);
	if (in.utoff != utoff || in.isdst != isdst || strcmp(in.abbr, abbr))
		fail_msg("%s at %lld: %ld %d %s, want %ld %d %s", tz_name(tz), (long long)t,
		         in.utoff, in.isdst, in.abbr, utoff, isdst, abbr);
}

static void test_oslo_offsets_around_the_2026_changes(void **state)
{
	struct tz *tz = open_ok("Europe/Oslo");

	(void)state;
	expect_offset(tz, T_20260329_0100Z - 1, 3600, 0, "CET");
	expect_offset(tz, T_20260329_0100Z, 7200, 1, "CEST");
	expect_offset(tz, T_20261025_0100Z - 1, 7200, 1, "CEST");
	expect_offset(tz, T_20261025_0100Z, 3600, 0, "CET");
	tz_free(tz);
}

static void test_oslo_in_2100_follows_the_footer_rule(void **state)
{
	struct tz *tz = open_ok("Europe/Oslo");
	struct tm tm;

	(void)state;
	expect_offset(tz, T_21000328_0100Z - 1, 3600, 0, "CET");
	expect_offset(tz, T_21000328_0100Z, 7200, 1, "CEST");
	expect_offset(tz, T_21001031_0100Z - 1, 7200, 1, "CEST");
	expect_offset(tz, T_21001031_0100Z, 3600, 0, "CET");
	assert_int_equal(tz_to_local(tz, 4118126400, &tm), 0); /* 2100-07-01 12:00Z */
	assert_int_equal(tm.tm_year, 200);
	assert_int_equal(tm.tm_mon, 6);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_hour, 14);
	assert_int_equal(tm.tm_wday, 4); /* a Thursday */
	assert_int_equal(tm.tm_yday, 181);
	assert_int_equal(tm.tm_isdst, 1);
	assert_int_equal(tm.tm_gmtoff, 7200);
	assert_string_equal(tm.tm_zone, "CEST");
	tz_free(tz);
}

static void test_to_local_fields(void **state)
{
	struct tz *tz = open_ok("Europe/Oslo");
	struct tm tm;

	(void)state;
	/* 2026-10-25 00:59:59Z is 02:59:59 CEST; one second later 02:00 CET. */
	assert_int_equal(tz_to_local(tz, T_20261025_0100Z - 1, &tm), 0);
	assert_int_equal(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 2 * 3600 + 3599);
	assert_int_equal(tm.tm_isdst, 1);
	assert_int_equal(tz_to_local(tz, T_20261025_0100Z, &tm), 0);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_min, 0);
	assert_int_equal(tm.tm_isdst, 0);
	assert_int_equal(tm.tm_mday, 25);
	assert_int_equal(tm.tm_wday, 0); /* a Sunday */
	/* before 1970 */
	assert_int_equal(tz_to_local(tz, -1, &tm), 0);
	assert_int_equal(tm.tm_year, 70);
	assert_int_equal(tm.tm_hour, 0);
	assert_int_equal(tm.tm_min, 59);
	assert_int_equal(tz_to_local(tz, INT64_MAX, &tm), HF_EINVAL);
	tz_free(tz);
}

static int64_t from_local(const struct tz *tz, int y, int mon, int d, int h, int mi,
                          unsigned flags)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
	                .tm_hour = h, .tm_min = mi, .tm_isdst = -1};

	return tz_from_local(tz, &tm, flags);
}

static void test_from_local_gap_and_overlap(void **state)
{
	struct tz *tz = open_ok("Europe/Oslo");

	(void)state;
	/* ordinary times either side */
	assert_int_equal(from_local(tz, 2026, 3, 29, 1, 59, 0), T_20260329_0100Z - 60);
	assert_int_equal(from_local(tz, 2026, 3, 29, 3, 0, 0), T_20260329_0100Z);
	/* 02:30 never happens on 29 March: read with the offset before the
	 * gap (01:30Z = 03:30 CEST), or the end of the gap (01:00Z). */
	assert_int_equal(from_local(tz, 2026, 3, 29, 2, 30, 0), T_20260329_0100Z + 1800);
	assert_int_equal(from_local(tz, 2026, 3, 29, 2, 30, TZ_GAP_END), T_20260329_0100Z);
	assert_int_equal(from_local(tz, 2026, 3, 29, 2, 0, TZ_GAP_END), T_20260329_0100Z);
	/* 02:30 happens twice on 25 October: the first, summer time. */
	assert_int_equal(from_local(tz, 2026, 10, 25, 2, 30, 0), T_20261025_0100Z - 1800);
	assert_int_equal(from_local(tz, 2026, 10, 25, 2, 30, TZ_GAP_END), T_20261025_0100Z - 1800);
	assert_int_equal(from_local(tz, 2026, 10, 25, 3, 0, 0), T_20261025_0100Z + 3600);
	/* fields out of range carry over: 30 March minus one day */
	assert_int_equal(from_local(tz, 2026, 4, 0, 3, 0, 0), T_20260329_0100Z + 86400 * 2);
	assert_int_equal(from_local(tz, 2026, 13, 1, 0, 0, 0), from_local(tz, 2027, 1, 1, 0, 0, 0));
	/* the footer's rule, 2100 */
	assert_int_equal(from_local(tz, 2100, 3, 28, 2, 30, TZ_GAP_END), T_21000328_0100Z);
	assert_int_equal(from_local(tz, 2100, 10, 31, 2, 30, 0), T_21001031_0100Z - 1800);
	tz_free(tz);
}

/* Every instant of 2026 in steps of 37 minutes, to local time and back. */
static void test_roundtrip_2026(void **state)
{
	struct tz *tz = open_ok("Europe/Oslo");

	(void)state;
	for (int64_t t = 1767222000; t < 1798758000; t += 37 * 60) {
		struct tm tm;
		int64_t want = t;
		assert_int_equal(tz_to_local(tz, t, &tm), 0);
		/* the second pass of the repeated hour reads as the first */
		if (t >= T_20261025_0100Z && t < T_20261025_0100Z + 3600)
			want = t - 3600;
		if (tz_from_local(tz, &tm, 0) != want)
			fail_msg("%lld -> %02d:%02d -> %lld", (long long)t, tm.tm_hour, tm.tm_min,
			         (long long)tz_from_local(tz, &tm, 0));
	}
	tz_free(tz);
}

static void test_utc(void **state)
{
	struct tz *tz = open_ok("UTC");
	struct tm tm;

	(void)state;
	expect_offset(tz, 0, 0, 0, "UTC");
	expect_offset(tz, T_20260329_0100Z, 0, 0, "UTC");
	expect_offset(tz, T_21000328_0100Z, 0, 0, "UTC");
	assert_int_equal(tz_to_local(tz, 1653292800, &tm), 0);
	assert_int_equal(tm.tm_hour, 8);
	assert_int_equal(from_local(tz, 2022, 5, 23, 8, 0, 0), 1653292800);
	tz_free(tz);
}

static void test_unknown_or_unsafe_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"Europe/Atlantis", "../../etc/passwd", "/etc/localtime", "", "Europe",
		"Europe//Oslo", "Europe/Oslo\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct tz *tz = NULL;
		struct buf err = BUF_INIT;
		assert_int_equal(tz_open(bad[i], &tz, &err), HF_EINVAL);
		assert_null(tz);
		if (!strstr(buf_str(&err), bad[i]) || !strstr(buf_str(&err), "time zone"))
			fail_msg("message does not name '%s': %s", bad[i], buf_str(&err));
		buf_free(&err);
	}
}

/* --- files that are not what they claim -------------------------------- */

struct dir {
	char path[64];
	char *old;
};

static void put_file(const char *dir, const char *name, const void *data, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = malloc(HF_TZ_MAX_FILE);

	assert_non_null(f);
	assert_non_null(p);
	*n = fread(p, 1, HF_TZ_MAX_FILE, f);
	fclose(f);
	return p;
}

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);
	const char *old = getenv("TZDIR");

	if (!d)
		return -1;
	snprintf(d->path, sizeof d->path, "/tmp/test_tz.XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	d->old = old ? strdup(old) : NULL;
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	if (d->old)
		setenv("TZDIR", d->old, 1);
	else
		unsetenv("TZDIR");
	/* Only this test's own directory, made by mkdtemp above. */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d->old);
	free(d);
	return 0;
}

static void expect_refused(const char *name, int code)
{
	struct tz *tz = NULL;
	struct buf err = BUF_INIT;

	assert_int_equal(tz_open(name, &tz, &err), code);
	assert_null(tz);
	if (!strstr(buf_str(&err), name))
		fail_msg("message does not name '%s': %s", name, buf_str(&err));
	buf_free(&err);
}

/* A minimal version 2 TZif file: no transitions, one type, the footer
 * `rule` (RFC 8536 3.3). */
static size_t make_tzif(unsigned char *out, const char *rule)
{
	static const unsigned char hdr[44] = {
		'T', 'Z', 'i', 'f', '2', [20 + 4 * 4 + 3] = 1, [20 + 5 * 4 + 3] = 4,
	};
	static const unsigned char data[6 + 4] = {0, 0, 0x0e, 0x10, 0, 0, 'C', 'E', 'T', 0};
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		memcpy(out + n, hdr, sizeof hdr);
		n += sizeof hdr;
		memcpy(out + n, data, sizeof data);
		n += sizeof data;
	}
	n += (size_t)sprintf((char *)out + n, "\n%s\n", rule);
	return n;
}

static void test_slim_file_uses_its_footer(void **state)
{
	struct dir *d = *state;
	unsigned char f[256];
	size_t n = make_tzif(f, "CET-1CEST,M3.5.0,M10.5.0/3");
	struct tz *tz = NULL;

	put_file(d->path, "Slim", f, n);
	setenv("TZDIR", d->path, 1);
	assert_int_equal(tz_open("Slim", &tz, NULL), 0);
	expect_offset(tz, T_20260329_0100Z - 1, 3600, 0, "CET");
	expect_offset(tz, T_20260329_0100Z, 7200, 1, "CEST");
	expect_offset(tz, T_20261025_0100Z - 1, 7200, 1, "CEST");
	expect_offset(tz, T_20261025_0100Z, 3600, 0, "CET");
	expect_offset(tz, T_21000328_0100Z, 7200, 1, "CEST");
	tz_free(tz);
	/* a southern rule, summer across new year (Australia/Sydney) */
	n = make_tzif(f, "AEST-10AEDT,M10.1.0,M4.1.0/3");
	assert_int_equal(tz_parse("Sydney", f, n, &tz, NULL), 0);
	expect_offset(tz, 1767225600, 39600, 1, "AEDT");  /* 2026-01-01 00:00Z */
	expect_offset(tz, 1782864000, 36000, 0, "AEST");  /* 2026-07-01 00:00Z */
	tz_free(tz);
	tz = NULL;
	/* rules that are not rules */
	n = make_tzif(f, "CET-1CEST");
	assert_int_equal(tz_parse("x", f, n, &tz, NULL), HF_EINVAL);
	n = make_tzif(f, "CET-1CEST,M13.5.0,M10.5.0");
	assert_int_equal(tz_parse("x", f, n, &tz, NULL), HF_EINVAL);
	n = make_tzif(f, "C-1");
	assert_int_equal(tz_parse("x", f, n, &tz, NULL), HF_EINVAL);
	assert_null(tz);
}

static void test_garbage_and_truncated_files_fail_cleanly(void **state)
{
	struct dir *d = *state;
	char real[4096];
	unsigned char big[HF_TZ_MAX_FILE + 1];
	unsigned char *oslo, *bad;
	size_t n;

	snprintf(real, sizeof real, "%s/Europe/Oslo", tz_dir());
	oslo = slurp(real, &n);
	assert_true(n > 100);
	assert_non_null(bad = malloc(n));
	memcpy(bad, oslo, n);
	/* the first header's transition count beyond every bound */
	bad[32] = 0x7f;
	put_file(d->path, "Counts", bad, n);
	put_file(d->path, "Garbage", "this is not a zone\n", 19);
	put_file(d->path, "Empty", "", 0);
	put_file(d->path, "Half", oslo, n / 2);
	put_file(d->path, "Header", oslo, 44);
	put_file(d->path, "NoFooter", oslo, n - 1);
	memset(big, 0, sizeof big);
	memcpy(big, oslo, 44);
	put_file(d->path, "Big", big, sizeof big);
	setenv("TZDIR", d->path, 1);
	expect_refused("Garbage", HF_EINVAL);
	expect_refused("Empty", HF_EINVAL);
	expect_refused("Half", HF_EINVAL);
	expect_refused("Header", HF_EINVAL);
	expect_refused("NoFooter", HF_EINVAL);
	expect_refused("Big", HF_ETOOBIG);
	expect_refused("Counts", HF_EINVAL);
	expect_refused("Europe/Oslo", HF_EINVAL); /* not in this TZDIR */
	/* every prefix of a real file is refused, never half read */
	for (size_t k = 0; k < n; k++) {
		struct tz *tz = NULL;
		assert_int_not_equal(tz_parse("prefix", oslo, k, &tz, NULL), 0);
		assert_null(tz);
	}
	/* and the whole file is a zone */
	{
		struct tz *tz = NULL;
		assert_int_equal(tz_parse("whole", oslo, n, &tz, NULL), 0);
		expect_offset(tz, T_20260329_0100Z, 7200, 1, "CEST");
		tz_free(tz);
	}
	free(bad);
	free(oslo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oslo_offsets_around_the_2026_changes),
		cmocka_unit_test(test_oslo_in_2100_follows_the_footer_rule),
		cmocka_unit_test(test_to_local_fields),
		cmocka_unit_test(test_from_local_gap_and_overlap),
		cmocka_unit_test(test_roundtrip_2026),
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_unknown_or_unsafe_names_are_refused),
		cmocka_unit_test_setup_teardown(test_slim_file_uses_its_footer, dir_setup,
		                                dir_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_and_truncated_files_fail_cleanly,
		                                dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
